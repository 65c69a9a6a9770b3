"""HTTP endpoints of the channel adapters: one generic webhook route per adapter name.

``/v1/channels/{name}/webhook`` — GET for verification handshakes (Meta, X), POST for
events. An adapter is enabled when its secret is configured; others answer 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from api.base.auth import require_gateway
from api.base.settings import Settings
from channels.base import REGISTRY, Attachment, ChannelAdapter, ChannelError, Message, RawRequest
from channels.contact import IntakeError
from channels.voice import call_thread
from router.dispatch import Dispatcher

router = APIRouter(prefix="/v1/channels", tags=["channels"])

# adapter name -> the settings that enable it (all must be set) and its constructor args
ADAPTER_SETTINGS: dict[str, Callable[[Settings], dict[str, str] | None]] = {
    "twilio": lambda s: (
        {
            "auth_token": s.twilio_auth_token,
            "hold_music_url": s.voice_hold_music_url,
            "language": s.voice_language,
        }
        if s.twilio_auth_token
        else None
    ),
    "twilio_sms": lambda s: {"auth_token": s.twilio_auth_token} if s.twilio_auth_token else None,
    "meta": lambda s: (
        {"app_secret": s.meta_app_secret, "verify_token": s.meta_verify_token}
        if s.meta_app_secret and s.meta_verify_token
        else None
    ),
    "x": lambda s: {"consumer_secret": s.x_consumer_secret} if s.x_consumer_secret else None,
    "email": lambda s: (
        {"token": s.email_webhook_token, "authserv_ids": s.email_authserv_ids}
        if s.email_webhook_token
        else None
    ),
}


def build_adapters(settings: Settings) -> dict[str, ChannelAdapter]:
    """The adapters whose secrets are configured, built through the registry."""
    import channels.email
    import channels.messaging
    import channels.social
    import channels.voice  # noqa: F401

    adapters: dict[str, ChannelAdapter] = {}
    for name, wanted in ADAPTER_SETTINGS.items():
        arguments = wanted(settings)
        if arguments is not None:
            adapters[name] = REGISTRY[name](**arguments)
    return adapters


def adapter_for(request: Request, name: str) -> ChannelAdapter:
    adapter: ChannelAdapter | None = request.app.state.channels.get(name)
    if adapter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"channel {name!r} is not enabled")
    return adapter


async def raw_request(request: Request) -> RawRequest:
    settings: Settings = request.app.state.settings
    url = str(request.url)
    if settings.public_url:
        url = settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
    body = await request.body()
    form: dict[str, str] = {}
    files: list[Attachment] = []
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            parsed = await request.form(max_files=100, max_fields=500)
        except Exception as exc:  # starlette raises several kinds for broken forms
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"unreadable form: {exc}") from exc
        for key, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                size = value.size if value.size is not None else len(await value.read())
                files.append(Attachment(value.filename or key, value.content_type or "", size))
            else:
                form[key] = value
    return RawRequest(
        method=request.method,
        url=url,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
        form=form,
        files=tuple(files),
    )


def channel_error(exc: ChannelError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, exc.status)


@router.get("/{name}/webhook")
async def handshake(name: str, request: Request) -> Response:
    adapter = adapter_for(request, name)
    try:
        reply = adapter.handshake(await raw_request(request))
    except ChannelError as exc:
        return channel_error(exc)
    return Response(reply.body, reply.status, media_type=reply.media_type)


@router.post("/{name}/webhook")
async def webhook(name: str, request: Request) -> Response:
    adapter = adapter_for(request, name)
    dispatcher: Dispatcher = request.app.state.dispatcher
    try:
        events = adapter.parse(await raw_request(request))
        results = await dispatcher.apply(events)
    except ChannelError as exc:
        return channel_error(exc)
    except IntakeError as exc:
        return JSONResponse({"detail": str(exc)}, status.HTTP_422_UNPROCESSABLE_CONTENT)
    reply = adapter.acknowledge(events, results)
    return Response(reply.body, reply.status, media_type=reply.media_type)


class TranscriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: str = Field(min_length=1, max_length=200, description="the telephony call id")
    text: str = Field(min_length=1, max_length=20000)
    segment_id: str | None = Field(None, max_length=200, description="makes retries harmless")
    sentiment: float | None = Field(None, ge=-1, le=1, allow_inf_nan=False)
    gateway: str = Field("twilio", max_length=64)


@router.post("/voice/transcripts", dependencies=[Depends(require_gateway)])
async def transcript(body: TranscriptIn, request: Request) -> dict[str, Any]:
    """A live transcript segment of a call, from any speech-analytics provider."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    event = Message(
        body.gateway,
        call_thread(body.call_id),
        body.text,
        "transcript",
        body.segment_id,
        body.sentiment,
    )
    try:
        (result,) = await dispatcher.apply([event])
    except ChannelError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return result
