"""Property-based fuzzing (hypothesis) of every HTTP operation in the OpenAPI schema and of
the desktop and chat websocket protocols: whatever arrives, never a 5xx, never a dropped
session, and nothing stored on rejection.

Deterministic (derandomize: a fixed seed) and bounded (a few hundred examples each, well
under a minute on the development VM), so it runs in CI with the rest of the suite.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from tests.live import ADMIN, REPO, ThreadServer, count_rows

CONFIG = (REPO / "config.yaml").read_text()
FUZZ = settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE_LITERALS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e400",
    "9" * 40,
    '"\\ud800"',
    '"a\\udfff"',
    '"\\u0000"',
    '"' + "x" * 30_000 + '"',
    "[" * 40 + "]" * 40,
    "[" * 3000 + "]" * 3000,
    '{"a": ' * 200 + "1" + "}" * 200,
    "null",
    "true",
    "[]",
    "{}",
    '""',
]


def _json_text() -> st.SearchStrategy[str]:
    """JSON text, sometimes not quite JSON: NaN, huge numbers, lone surrogates, depth."""
    leaves = st.one_of(
        st.sampled_from(HOSTILE_LITERALS),
        st.integers().map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.text(max_size=40).map(json.dumps),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
            st.dictionaries(st.text(max_size=12).map(json.dumps), inner, max_size=4).map(
                lambda items: "{" + ", ".join(f"{k}: {v}" for k, v in items.items()) + "}"
            ),
        ),
        max_leaves=12,
    )


CONTACT = {
    "gateway": '"fuzz"',
    "message_id": '"m"',
    "channel": '"chat"',
    "text": '"buongiorno"',
    "customer": '{"email": "a@example.it"}',
}
FIELDS = [
    "gateway",
    "message_id",
    "channel",
    "customer",
    "language",
    "intent",
    "subject",
    "text",
    "attributes",
    "urgency",
    "sentiment",
    "kind",
    "csat",
    "nps",
    "comment",
    "call_id",
    "segment_id",
    "skills",
    "languages",
    "name",
    "capacity",
    "checked",
]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A near-valid body with a field or two made hostile, arbitrary JSON, or junk."""
    kind = draw(st.sampled_from(["mutated", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return draw(_json_text()).encode("utf-8", "surrogatepass")
    members = dict(CONTACT)
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
        members[field] = draw(_json_text())
    members["message_id"] = json.dumps(draw(st.text(string.ascii_letters, min_size=8)))
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in members.items()) + "}"
    return text.encode("utf-8", "surrogatepass")


def operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for path, methods in schema["paths"].items():
        for method in methods:
            if method in ("post", "put", "patch", "delete", "get"):
                found.append((method.upper(), path))
    return sorted(found)


@pytest.fixture
def fuzz_server(tmp_path: Path) -> Any:
    server = ThreadServer(
        tmp_path / "fuzz.db",
        config=CONFIG,
        gateway_rate=0,
        chat_start_rate=0,
        chat_message_rate=0,
        chat_address_rate=0,
        email_webhook_token="e",
        meta_app_secret="m",
        meta_verify_token="v",
        twilio_auth_token="t",
        x_consumer_secret="x",
    ).start()
    try:
        yield server
    finally:
        server.stop()


def test_http_api_never_answers_5xx_and_stores_nothing_it_refused(
    fuzz_server: ThreadServer, tmp_path: Path
) -> None:
    database = tmp_path / "fuzz.db"
    with httpx.Client(base_url=fuzz_server.url, timeout=20) as http:
        ops = operations(http.get("/openapi.json").json())
        assert ("POST", "/v1/contacts") in ops and len(ops) > 10

        @FUZZ
        @given(
            operation=st.sampled_from(ops),
            body=bodies(),
            path_part=st.text(max_size=20),
            as_admin=st.booleans(),
            content_type=st.sampled_from(
                ["application/json", "application/x-www-form-urlencoded", "text/plain", None]
            ),
        )
        def one(
            operation: tuple[str, str],
            body: bytes,
            path_part: str,
            as_admin: bool,
            content_type: str | None,
        ) -> None:
            method, template = operation
            path = template
            while "{" in path:
                start, end = path.index("{"), path.index("}")
                path = path[:start] + quote(path_part or "x", safe="") + path[end + 1 :]
            headers = {"Authorization": f"Bearer {ADMIN}"} if as_admin else {}
            if content_type:
                headers["content-type"] = content_type
            before = count_rows(database, "contacts")
            if method == "GET" and template.endswith("/stream"):
                # server-sent events never end (pings keep them open): the status, then close
                with http.stream(method, path, headers=headers) as streamed:
                    assert streamed.status_code < 500, (method, path)
                return
            reply = http.request(
                method, path, content=body if method != "GET" else None, headers=headers
            )
            assert reply.status_code < 500, (method, path, body[:300], reply.text[:300])
            if reply.status_code >= 400:
                assert count_rows(database, "contacts") == before, (method, path, body[:300])
                assert len(reply.content) <= 8 * 1024

        one()


FRAMES = st.one_of(
    _json_text(),
    st.text(max_size=200),
    st.builds(
        lambda kind, field, value: (
            "{" + f'"type": {json.dumps(kind)}, {json.dumps(field)}: {value}' + "}"
        ),
        st.sampled_from(
            [
                "login",
                "presence",
                "accept",
                "reject",
                "end",
                "wrap_up",
                "transfer",
                "message",
                "ping",
                "start",
                "leave",
                "nope",
            ]
        ),
        st.sampled_from(
            [
                "ref",
                "token",
                "offer_id",
                "contact_id",
                "text",
                "notes",
                "skills",
                "resume",
                "identity",
                "email",
                "presence",
                "follow_up_in",
            ]
        ),
        _json_text(),
    ),
)


def test_desktop_protocol_keeps_the_session_whatever_arrives(
    fuzz_server: ThreadServer,
) -> None:
    with httpx.Client(base_url=fuzz_server.url) as http:
        created = http.put(
            "/v1/agents/fuzzy",
            json={"skills": {"billing": 5}},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        token = created.json()["token"]
    with connect(fuzz_server.ws_url, max_size=None) as ws:
        ws.send(json.dumps({"type": "login", "token": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        pings = 0

        @FUZZ
        @given(frame=FRAMES.filter(lambda f: len(f.encode("utf-8", "surrogatepass")) < 60_000))
        def one(frame: str) -> None:
            nonlocal pings
            if '"leave"' in frame or '"offline"' in frame:
                return  # a legitimate goodbye is not what this test is about
            ws.send(frame.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
            pings += 1
            ws.send(json.dumps({"type": "ping", "ref": f"p{pings}"}))
            while True:  # the session answers: it is alive
                message = json.loads(ws.recv(timeout=10))
                if message.get("type") == "pong" and message.get("ref") == f"p{pings}":
                    return

        one()


def test_chat_protocol_keeps_the_session_and_stores_no_refused_message(
    fuzz_server: ThreadServer, tmp_path: Path
) -> None:
    chat_url = fuzz_server.ws_url.replace("/v1/desktop", "/v1/chat")
    with connect(chat_url, max_size=None) as ws:
        ws.send(json.dumps({"type": "start", "text": "ciao", "language": "it"}))
        started = json.loads(ws.recv(timeout=10))
        assert started["type"] == "started"
        where = f"contact_id = '{started['contact_id']}'"
        sent = 0

        @FUZZ
        @given(frame=FRAMES.filter(lambda f: len(f.encode("utf-8", "surrogatepass")) < 60_000))
        def one(frame: str) -> None:
            nonlocal sent
            text = frame.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict) and parsed.get("type") in ("leave", "message"):
                return  # legitimate messages are not what this test is about
            ws.send(text)
            sent += 1
            reply = json.loads(ws.recv(timeout=10))
            assert reply["type"] == "error", reply  # refused with a reason, still open
            assert count_rows(tmp_path / "fuzz.db", "messages", where) == 0

        one()
        assert sent > 50
        ws.send(json.dumps({"type": "message", "text": "ancora qui"}))
