"""Social: Meta webhooks (Messenger, Instagram, WhatsApp Cloud API) and X account activity.

Meta: GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=.. echoes the challenge;
POST bodies are signed with X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret,
raw body). X: GET ?crc_token=.. answers {"response_token": "sha256=" + base64 HMAC-SHA256
(consumer secret, crc_token)}; POST bodies are signed with x-twitter-webhooks-signature =
"sha256=" + base64 HMAC-SHA256(consumer secret, raw body).

Private messages continue the live contact of the same platform user; public comments and
mentions are flagged ``public`` (moments of truth: answer them publicly and fast).
Identity comes from the platform user id (a WhatsApp id is a phone number).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from channels import strict_json
from channels.base import (
    BadPayload,
    ChannelAdapter,
    Forbidden,
    Inbound,
    InboundEvent,
    RawRequest,
    Reply,
    Unauthorized,
    hmac_hex,
    register,
    same,
)
from channels.contact import CustomerRef, InboundContact
from skills.vocabulary import Channel

MAX_TEXT = 20000


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = strict_json.loads(body)
    except strict_json.UnsafeJson as exc:
        raise BadPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    return data


def _list(node: Any, key: str, where: str) -> list[Any]:
    value = node.get(key, []) if isinstance(node, dict) else None
    if not isinstance(value, list):
        raise BadPayload(f"{where}.{key} must be a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadPayload(f"{where} must be a string")
    return value[:MAX_TEXT]


def _message(
    platform: str,
    gateway: str,
    message_id: str,
    user_id: str,
    text: str,
    name: str = "",
    public: bool = False,
    thread: str | None = None,
) -> Inbound:
    attributes: dict[str, Any] = {"platform": platform, "public": public}
    contact = InboundContact(
        gateway=gateway,
        external_id=f"{platform}:{message_id}",
        channel=Channel.SOCIAL,
        customer=CustomerRef(name=name[:200], handles={platform: user_id}),
        text=text,
        attributes=attributes,
    )
    return Inbound(contact, thread_keys=(thread or f"{platform}:{user_id}",))


@register
class MetaWebhooks(ChannelAdapter):
    name = "meta"

    def __init__(self, app_secret: str, verify_token: str, gateway: str = "meta") -> None:
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.gateway = gateway

    def handshake(self, request: RawRequest) -> Reply:
        query = request.query
        if query.get("hub.mode") != "subscribe" or "hub.challenge" not in query:
            raise BadPayload("expected hub.mode=subscribe with a hub.challenge")
        if not same(query.get("hub.verify_token", ""), self.verify_token):
            raise Forbidden("hub.verify_token does not match")
        return Reply(query["hub.challenge"], "text/plain")

    def parse(self, request: RawRequest) -> list[InboundEvent]:
        signature = request.header("x-hub-signature-256")
        if not signature:
            raise Unauthorized("missing X-Hub-Signature-256")
        expected = "sha256=" + hmac_hex(self.app_secret, request.body)
        if not same(signature.strip(), expected):
            raise Forbidden("X-Hub-Signature-256 does not match the body")
        data = _json(request.body)
        kind = data.get("object")
        events: list[InboundEvent] = []
        for index, entry in enumerate(_list(data, "entry", "body")):
            where = f"entry[{index}]"
            if kind in ("page", "instagram"):
                platform = "messenger" if kind == "page" else "instagram"
                events += self._messaging(platform, entry, where)
                events += self._comments(platform, entry, where)
            elif kind == "whatsapp_business_account":
                events += self._whatsapp(entry, where)
            else:
                raise BadPayload(f"unsupported object {kind!r}")
        return events

    def _messaging(self, platform: str, entry: Any, where: str) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for i, item in enumerate(_list(entry, "messaging", where)):
            message = item.get("message") if isinstance(item, dict) else None
            if not isinstance(message, dict) or message.get("is_echo"):
                continue  # deliveries, reads and our own echoes
            try:
                sender = str(item["sender"]["id"])
                mid = str(message["mid"])
            except (KeyError, TypeError) as exc:
                raise BadPayload(f"{where}.messaging[{i}] needs sender.id and message.mid") from exc
            text = _text(message.get("text", ""), f"{where}.messaging[{i}].message.text")
            if not text and message.get("attachments"):
                text = "[attachment]"
            events.append(_message(platform, self.gateway, mid, sender, text))
        return events

    def _comments(self, platform: str, entry: Any, where: str) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for i, change in enumerate(_list(entry, "changes", where)):
            value = change.get("value") if isinstance(change, dict) else None
            field = change.get("field") if isinstance(change, dict) else None
            if not isinstance(value, dict) or field not in ("feed", "comments"):
                continue
            if field == "feed" and (value.get("item") != "comment" or value.get("verb") != "add"):
                continue
            try:
                author = value["from"]
                comment_id = str(value.get("comment_id") or value["id"])
                user_id = str(author["id"])
            except (KeyError, TypeError) as exc:
                raise BadPayload(f"{where}.changes[{i}].value needs from.id and an id") from exc
            text = _text(
                value.get("message", value.get("text", "")), f"{where}.changes[{i}].value.message"
            )
            post = value.get("post_id") or (value.get("media") or {}).get("id", "")
            name = str(author.get("name") or author.get("username") or "")
            events.append(
                _message(
                    platform,
                    self.gateway,
                    comment_id,
                    user_id,
                    text,
                    name,
                    public=True,
                    thread=f"{platform}:post:{post}:{user_id}",
                )
            )
        return events

    def _whatsapp(self, entry: Any, where: str) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for i, change in enumerate(_list(entry, "changes", where)):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise BadPayload(f"{where}.changes[{i}].value must be an object")
            names = {
                str(c.get("wa_id")): str((c.get("profile") or {}).get("name", ""))
                for c in value.get("contacts", [])
                if isinstance(c, dict)
            }
            for j, message in enumerate(_list(value, "messages", f"{where}.changes[{i}].value")):
                try:
                    sender = str(message["from"])
                    wamid = str(message["id"])
                except (KeyError, TypeError) as exc:
                    raise BadPayload(
                        f"{where}.changes[{i}].value.messages[{j}] needs from and id"
                    ) from exc
                if message.get("type") == "text":
                    text = _text(
                        (message.get("text") or {}).get("body", ""), f"messages[{j}].text.body"
                    )
                else:
                    text = f"[{message.get('type', 'message')}]"
                events.append(
                    _message("whatsapp", self.gateway, wamid, sender, text, names.get(sender, ""))
                )
        return events


def x_signature(consumer_secret: str, payload: bytes) -> str:
    digest = hmac.new(consumer_secret.encode(), payload, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


@register
class XActivity(ChannelAdapter):
    name = "x"

    def __init__(self, consumer_secret: str, gateway: str = "x") -> None:
        self.consumer_secret = consumer_secret
        self.gateway = gateway

    def handshake(self, request: RawRequest) -> Reply:
        token = request.query.get("crc_token")
        if not token:
            raise BadPayload("missing crc_token")
        body = json.dumps({"response_token": x_signature(self.consumer_secret, token.encode())})
        return Reply(body, "application/json")

    def parse(self, request: RawRequest) -> list[InboundEvent]:
        signature = request.header("x-twitter-webhooks-signature")
        if not signature:
            raise Unauthorized("missing x-twitter-webhooks-signature")
        if not same(signature.strip(), x_signature(self.consumer_secret, request.body)):
            raise Forbidden("x-twitter-webhooks-signature does not match the body")
        data = _json(request.body)
        ours = str(data.get("for_user_id", ""))
        raw_users = data.get("users")
        users: dict[str, Any] = raw_users if isinstance(raw_users, dict) else {}
        events: list[InboundEvent] = []
        for i, event in enumerate(_list(data, "direct_message_events", "body")):
            if not isinstance(event, dict) or event.get("type") != "message_create":
                continue
            try:
                create = event["message_create"]
                sender = str(create["sender_id"])
                text = _text(create["message_data"]["text"], f"direct_message_events[{i}] text")
                message_id = str(event["id"])
            except (KeyError, TypeError) as exc:
                raise BadPayload(
                    f"direct_message_events[{i}] needs id, sender_id and message_data.text"
                ) from exc
            if sender == ours:
                continue  # our own reply
            name = str((users.get(sender) or {}).get("name", ""))
            events.append(_message("x", self.gateway, message_id, sender, text, name))
        for i, tweet in enumerate(_list(data, "tweet_create_events", "body")):
            try:
                author = tweet["user"]
                user_id = str(author["id_str"])
                tweet_id = str(tweet["id_str"])
                text = _text(tweet.get("text", ""), f"tweet_create_events[{i}].text")
            except (KeyError, TypeError) as exc:
                raise BadPayload(f"tweet_create_events[{i}] needs id_str and user.id_str") from exc
            if user_id == ours:
                continue
            events.append(
                _message(
                    "x",
                    self.gateway,
                    tweet_id,
                    user_id,
                    text,
                    str(author.get("name", "")),
                    public=True,
                    thread=f"x:public:{user_id}",
                )
            )
        return events
