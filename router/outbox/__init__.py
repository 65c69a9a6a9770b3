"""Decisions out: gateway events committed with their decisions, delivered from a durable
outbox to subscribers (signed webhooks, built-in sinks such as Twilio call control)."""
