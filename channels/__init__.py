"""Channel adapters (email, chat, social, voice): verify, parse, normalize to intake."""
