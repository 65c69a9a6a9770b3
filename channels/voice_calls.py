"""Voice call control, Twilio style: the TwiML that holds a caller, and the REST call that
bridges a held call to the agent who accepted it.

TwiML is generated with Twilio's own library (escaping, verb attributes). The REST call is
made with httpx to ``{base_url}/2010-04-01/Accounts/{sid}/Calls/{CallSid}.json`` so the
base URL can point at a regional edge, a proxy or a test server. Provider errors become
our own: ``CallGone`` (the caller hung up: nothing to do), ``ProviderRefused`` (a request
Twilio will never accept), ``ProviderUnavailable`` (try again later).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx
from twilio.twiml.voice_response import Dial, VoiceResponse

DEFAULT_BASE_URL = "https://api.twilio.com"
# the hold music Twilio's own examples use; set CENTRALINO_VOICE_HOLD_MUSIC_URL for yours
DEFAULT_HOLD_MUSIC = "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"
SAY_LANGUAGES = {"it": "it-IT", "en": "en-GB", "de": "de-DE", "fr": "fr-FR", "es": "es-ES"}
GREETING = {
    "it": "Grazie per aver chiamato. Tutti i nostri operatori sono occupati: resti in linea, "
    "la sua chiamata sarà passata al primo operatore libero.",
    "en": "Thank you for calling. All our agents are busy: please hold, your call will be "
    "answered by the first available agent.",
}
WAIT = {
    "it": ("L'attesa stimata è inferiore a un minuto.", "L'attesa stimata è di circa {n} minuti."),
    "en": ("The estimated wait is less than a minute.", "The estimated wait is about {n} minutes."),
}
ENDPOINT_KINDS = ("client", "phone", "sip")


class CallControlError(Exception):
    """A call-control request that did not happen; ``retry`` says whether it may later."""

    retry = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CallGone(CallControlError):
    """The call is over (or unknown): the caller hung up before the bridge."""


class ProviderRefused(CallControlError):
    """The provider refused the request (credentials, a bad endpoint): retrying won't help."""


class ProviderUnavailable(CallControlError):
    """The provider did not answer or failed on its side: try again later."""

    retry = True


def wait_sentence(language: str, estimated_wait: float | None) -> str:
    if estimated_wait is None:
        return ""
    short, long = WAIT.get(language, WAIT["it"])
    minutes = math.ceil(estimated_wait / 60)
    return short if minutes <= 1 else long.format(n=minutes)


def hold_twiml(
    language: str | None, estimated_wait: float | None, hold_music_url: str = DEFAULT_HOLD_MUSIC
) -> str:
    """The answer to a new call: a greeting in the caller's language (Italian unless we know
    better), the estimated wait once known, then hold music until an agent takes the call."""
    code = language if language in GREETING else "it"
    response = VoiceResponse()
    text = " ".join(filter(None, [GREETING[code], wait_sentence(code, estimated_wait)]))
    response.say(text, language=SAY_LANGUAGES[code])
    response.play(hold_music_url, loop=0)
    return str(response)


def bridge_twiml(endpoint: Mapping[str, Any] | None) -> str:
    """Connect the call to the agent's endpoint: a Twilio Client identity, a number or a
    SIP URI. ProviderRefused if the agent has no usable endpoint."""
    if not endpoint or endpoint.get("kind") not in ENDPOINT_KINDS or not endpoint.get("value"):
        raise ProviderRefused(f"the agent has no voice endpoint (client, phone or sip): {endpoint}")
    value = str(endpoint["value"])
    dial = Dial()
    if endpoint["kind"] == "client":
        dial.client(value)
    elif endpoint["kind"] == "phone":
        dial.number(value)
    else:
        dial.sip(value)
    response = VoiceResponse()
    response.append(dial)
    return str(response)


class TwilioCalls:
    """Twilio's Calls resource: redirect a live call to new TwiML."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str = DEFAULT_BASE_URL,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def redirect(self, call_sid: str, twiml: str) -> None:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json"
        try:
            response = await self._client.post(url, data={"Twiml": twiml}, auth=self._auth)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Twilio did not answer: {type(exc).__name__}") from exc
        if response.status_code < 300:
            return
        reason = provider_reason(response)
        if response.status_code == 404 or "not in-progress" in reason:
            raise CallGone(f"call {call_sid} is over: {reason}")
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailable(f"Twilio answered {response.status_code}: {reason}")
        raise ProviderRefused(f"Twilio refused the redirect ({response.status_code}): {reason}")


def provider_reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body)[:200]
    return str(body)[:200]
