"""The few lines ``centralino serve`` prints once it listens: where, with which token,
which pages, which channel adapters are on and the SMTP port."""

from __future__ import annotations

from api.base.settings import Settings
from api.gateways.webhooks import ADAPTER_SETTINGS

ADAPTER_NAMES = {
    "email": "email webhook",
    "meta": "Meta",
    "x": "X",
    "twilio": "voice (Twilio)",
    "twilio_sms": "SMS/WhatsApp (Twilio)",
}
ADAPTER_ENV = {
    "email": "CENTRALINO_EMAIL_WEBHOOK_TOKEN",
    "meta": "CENTRALINO_META_APP_SECRET + _VERIFY_TOKEN",
    "x": "CENTRALINO_X_CONSUMER_SECRET",
    "twilio": "CENTRALINO_TWILIO_AUTH_TOKEN",
    "twilio_sms": "CENTRALINO_TWILIO_AUTH_TOKEN",
}


def base_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def banner(settings: Settings, host: str, port: int, *, token_chosen: bool) -> str:
    """``token_chosen``: the admin token came from the environment (then it is not shown)."""
    url = base_url(host, port)
    token = (
        "from CENTRALINO_ADMIN_TOKEN"
        if token_chosen
        else f"{settings.admin_token}   (set CENTRALINO_ADMIN_TOKEN to choose one)"
    )
    on = ["web chat", "POST /v1/contacts"]
    off = []
    for name, wanted in ADAPTER_SETTINGS.items():
        if wanted(settings) is not None:
            on.append(ADAPTER_NAMES.get(name, name))
        else:
            off.append(f"{ADAPTER_NAMES.get(name, name)} ({ADAPTER_ENV.get(name, '?')})")
    smtp = (
        f"{settings.smtp_host}:{settings.smtp_port}"
        if settings.smtp_port
        else "off (CENTRALINO_SMTP_PORT)"
    )
    lines = [
        f"centralino is ready on {url}",
        f"  admin token  {token}",
        f"  pages        {url}/desktop  {url}/wallboard  {url}/chat",
        f"  channels on  {', '.join(on)}",
        f"  off          {', '.join(off)}" if off else "",
        f"  SMTP         {smtp}",
    ]
    return "\n".join(line for line in lines if line)
