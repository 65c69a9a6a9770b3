"""The outbound senders whose settings are configured, built through the registry keyed
by config name (channels/outbound/): a channel replies only when its provider is set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.base.settings import Settings
from channels.outbound.base import SENDERS, Sender


def _smtp(s: Settings) -> dict[str, Any] | None:
    if not (s.reply_smtp_host and s.reply_email_from):
        return None
    return {
        "host": s.reply_smtp_host,
        "port": s.reply_smtp_port,
        "sender": s.reply_email_from,
        "username": s.reply_smtp_username,
        "password": s.reply_smtp_password,
        "starttls": s.reply_smtp_starttls,
        "timeout": s.reply_timeout,
    }


def _meta(s: Settings) -> dict[str, Any] | None:
    if not s.meta_access_token:
        return None
    return {
        "access_token": s.meta_access_token,
        "graph_url": s.meta_graph_url,
        "page_id": s.meta_page_id,
        "instagram_id": s.meta_instagram_id,
        "whatsapp_phone_id": s.meta_whatsapp_phone_id,
        "timeout": s.reply_timeout,
    }


def _x(s: Settings) -> dict[str, Any] | None:
    if not s.x_access_token:
        return None
    return {"access_token": s.x_access_token, "api_url": s.x_api_url, "timeout": s.reply_timeout}


def _twilio(s: Settings) -> dict[str, Any] | None:
    if not (s.twilio_account_sid and s.twilio_auth_token):
        return None
    return {
        "account_sid": s.twilio_account_sid,
        "auth_token": s.twilio_auth_token,
        "sms_from": s.twilio_sms_from,
        "whatsapp_from": s.twilio_whatsapp_from,
        "api_url": s.twilio_api_url,
        "timeout": s.reply_timeout,
    }


SENDER_SETTINGS: dict[str, Callable[[Settings], dict[str, Any] | None]] = {
    "smtp": _smtp,
    "meta": _meta,
    "x": _x,
    "twilio": _twilio,
}


def build_senders(settings: Settings) -> dict[str, Sender]:
    import channels.outbound.meta
    import channels.outbound.smtp
    import channels.outbound.twilio
    import channels.outbound.x  # noqa: F401

    senders: dict[str, Sender] = {}
    for name, wanted in SENDER_SETTINGS.items():
        arguments = wanted(settings)
        if arguments is not None:
            senders[name] = SENDERS[name](**arguments)
    return senders


def retry_delays(settings: Settings) -> tuple[float, ...]:
    base = settings.reply_retry_delay
    return (base, base * 5, base * 25)
