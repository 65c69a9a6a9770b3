"""Voice call control, Twilio style: the TwiML that holds a caller, and the REST call that
bridges a held call to the agent who accepted it.

TwiML is generated with Twilio's own library (escaping, verb attributes). The REST call is
made with httpx to ``{base_url}/2010-04-01/Accounts/{sid}/Calls/{CallSid}.json`` so the
base URL can point at a regional edge, a proxy or a test server. Provider errors become
the outbound senders' own (``Permanent``, ``Retryable``, ``Ambiguous``), plus ``CallGone``:
the caller hung up, nothing to do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from twilio.twiml.voice_response import Dial, VoiceResponse

from channels.outbound.base import Permanent, by_status, http_client, json_body, post

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
NOT_IN_PROGRESS = 21220  # Twilio: "Call is not in-progress. Cannot redirect."


class CallGone(Permanent):
    """The call is over (or unknown): the caller hung up before the bridge."""


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
    SIP URI. Permanent if the agent has no usable endpoint."""
    if not endpoint or endpoint.get("kind") not in ENDPOINT_KINDS or not endpoint.get("value"):
        raise Permanent(f"the agent has no voice endpoint (client, phone or sip): {endpoint}")
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
    """Twilio's Calls resource: redirect a live call to new TwiML. Transport and status
    errors are converted as for every outbound sender (channels/outbound/base.py)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self._client = http_client(base_url, timeout, auth=(account_sid, auth_token))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def redirect(self, call_sid: str, twiml: str) -> None:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json"
        response = await post(self._client, path, data={"Twiml": twiml})
        if response.status_code < 300:
            return
        data = json_body(response)
        code = data.get("code")
        message = str(data.get("message") or response.text[:200])
        reason = f"Twilio {code}: {message}" if code else f"Twilio: {message}"
        if response.status_code == 404 or code == NOT_IN_PROGRESS or "not in-progress" in message:
            raise CallGone(f"call {call_sid} is over: {reason}")
        raise by_status(response.status_code, reason, str(code or ""))
