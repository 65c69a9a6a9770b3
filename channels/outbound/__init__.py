"""Outbound senders: the two-way half of the channel adapters (see base.py)."""
