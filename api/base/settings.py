"""Server settings: environment variables ``CENTRALINO_*`` or CLI options."""

from __future__ import annotations

import secrets

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.base.limits import parse_networks
from channels.signed_identity import parse_keys
from channels.voice_calls import DEFAULT_HOLD_MUSIC
from router.store.repository import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENTRALINO_", extra="ignore")

    config_path: str = Field("config.yaml", description="routing rules file")
    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy async URL")
    admin_token: str = Field("", description="bearer token for ops endpoints; generated if empty")
    supervisor_token: str = Field(
        "", description="read-only ops token for supervisors (views, explain, wallboard)"
    )
    gateway_token: str = Field("", description="bearer token gateways must send; none if empty")
    max_body_bytes: int = Field(256 * 1024, gt=0, description="largest accepted request body")
    body_timeout: float = Field(
        15.0, gt=0, description="seconds a client has to send its whole request body (408)"
    )
    max_connections: int = Field(
        10_000,
        gt=0,
        description="open connections and tasks per node before 503 (uvicorn); desktops' "
        "websockets count too, so leave room above the agents logged in to one node",
    )
    ws_max_bytes: int = Field(64 * 1024, gt=0, description="largest websocket message")
    trusted_proxies: str = Field(
        "",
        description="addresses/networks of your reverse proxies, comma-separated: only from "
        "them is X-Forwarded-For believed (for rate limits)",
    )
    decision_linger_ms: float | None = Field(
        None,
        ge=0,
        le=1000,
        description="milliseconds a batch of routing decisions and agent actions waits for "
        "more before its commit (fewer commits under light load; desktops' acks up to that "
        "much later); 0 = at once; unset: 5 on SQLite, 0 on PostgreSQL. New contacts, and "
        "requests waiting for their own writes, never wait for it",
    )
    stall_log_ms: float = Field(
        0,
        ge=0,
        le=60_000,
        description="log a WARNING with the event loop's stacks whenever something holds it "
        "longer than this many ms (a sampling thread: for finding pauses, not for running all "
        "the time); 0 = off, else at least 1",
    )
    login_timeout: float = Field(10.0, gt=0, description="seconds a desktop has to log in")
    replay_buffer: int = Field(500, gt=0, description="desktop messages kept for resume")
    replay_buffer_bytes: int = Field(
        128 * 1024,
        gt=0,
        description="memory the desktop messages kept for resume may take, per agent "
        "(one node; with Redis, its streams keep replay_buffer messages)",
    )
    public_url: str = Field(
        "",
        description="base URL gateways call (for signatures behind a proxy), e.g. "
        "https://centralino.example.com",
    )
    twilio_auth_token: str = Field("", description="voice webhooks (X-Twilio-Signature)")
    twilio_account_sid: str = Field(
        "",
        description="with twilio_auth_token: bridge accepted calls to the agent and send "
        "SMS/WhatsApp replies (REST API)",
    )
    twilio_api_url: str = Field(
        "https://api.twilio.com", description="Twilio REST base URL (a regional edge, a proxy)"
    )
    voice_hold_music_url: str = Field(
        DEFAULT_HOLD_MUSIC, description="audio a held caller hears (played in a loop)"
    )
    voice_language: str = Field(
        "it", pattern=r"^[a-z]{2}$", description="greeting language when the caller's is unknown"
    )
    webhook_retry_first: float = Field(
        0.5, gt=0, description="seconds before an event delivery is first retried (doubling)"
    )
    event_retention_days: float = Field(
        7.0,
        ge=0,
        description="days gateway events are kept once every subscription has them; 0 = forever",
    )
    webhook_retry_max: float = Field(
        60.0, gt=0, description="longest wait between retries of an event delivery"
    )
    meta_app_secret: str = Field("", description="Meta webhooks (X-Hub-Signature-256)")
    meta_verify_token: str = Field("", description="Meta webhook GET verification")
    x_consumer_secret: str = Field("", description="X account activity (CRC, signature)")
    email_webhook_token: str = Field("", description="inbound-parse webhook shared token")
    smtp_port: int = Field(0, ge=0, le=65535, description="SMTP listener port; 0 = off")
    reply_smtp_host: str = Field(
        "", description="SMTP relay for email replies from the desktop; empty = no email replies"
    )
    reply_smtp_port: int = Field(587, ge=1, le=65535, description="the relay's port")
    reply_smtp_username: str = Field("", description="relay login (empty: none)")
    reply_smtp_password: str = Field("", description="relay password")
    reply_smtp_starttls: bool = Field(True, description="require STARTTLS on the relay")
    reply_email_from: str = Field(
        "", description="From of email replies, e.g. 'Support <support@example.com>'"
    )
    meta_access_token: str = Field(
        "", description="Meta send API token (Messenger, Instagram, WhatsApp replies)"
    )
    meta_graph_url: str = Field(
        "https://graph.facebook.com/v21.0", description="Meta Graph API base URL with version"
    )
    meta_page_id: str = Field("me", description="Facebook page that sends Messenger replies")
    meta_instagram_id: str = Field("me", description="Instagram account that sends replies")
    meta_whatsapp_phone_id: str = Field("", description="WhatsApp Cloud API phone number id")
    x_access_token: str = Field(
        "", description="X OAuth 2.0 user token with dm.write (optional: X's API is paid)"
    )
    x_api_url: str = Field("https://api.x.com", description="X API base URL")
    twilio_sms_from: str = Field("", description="number (E.164) SMS replies are sent from")
    twilio_whatsapp_from: str = Field("", description="number WhatsApp-via-Twilio replies use")
    reply_timeout: float = Field(10.0, gt=0, le=120, description="seconds a provider may take")
    reply_retry_delay: float = Field(
        1.0,
        gt=0,
        le=60,
        description="seconds before resending a reply the provider certainly did not take "
        "(x5 each time, 3 times); an ambiguous timeout is never resent",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP listener address")
    reload_interval: float = Field(
        2.0, ge=0, description="seconds between checks of config.yaml for changes; 0 = off"
    )
    followup_interval: float = Field(5.0, gt=0, description="seconds between due checks")
    gateway_rate: float = Field(
        200.0, ge=0, description="requests/s one gateway may send (token bucket); 0 = no limit"
    )
    gateway_burst: float = Field(400.0, ge=1, description="short bursts above the rate")
    cors_origins: str = Field("", description="origins allowed by CORS, comma-separated")
    log_personal_data: bool = Field(
        False, description="keep emails and phone numbers in logs (off: they are masked)"
    )
    chat_origins: str = Field("*", description="origins allowed to open the chat websocket")
    chat_start_rate: float = Field(
        0.2, ge=0, description="chats/s one address may start (token bucket); 0 = no limit"
    )
    chat_start_burst: float = Field(10, ge=1, description="chat starts in a burst")
    chat_message_rate: float = Field(
        1.0, ge=0, description="messages/s a customer may send in one chat; 0 = no limit"
    )
    chat_message_burst: float = Field(20, ge=1, description="chat messages in a burst")
    chat_address_rate: float = Field(
        5.0, ge=0, description="chat messages/s from one address over all its chats"
    )
    chat_address_burst: float = Field(60, ge=1, description="same, in a burst")
    chat_resume_grace: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="seconds a chat whose connection dropped waits for the customer to "
        "resume it with its token; 0 = a dropped connection ends the chat",
    )
    chat_identity_keys: str = Field(
        "",
        description="key id:secret pairs, comma-separated, with which embedding sites sign "
        "who their logged-in customer is (several: rotation)",
    )
    chat_identity_max_age: float = Field(
        600.0, gt=0, description="seconds a signed chat identity stays valid after issue"
    )
    email_authserv_ids: str = Field(
        "",
        description="authserv-ids of your receiving relays whose Authentication-Results "
        "(DKIM/DMARC) count, comma-separated; empty: the topmost such header",
    )
    state_backend: str = Field(
        "",
        description="'memory' (one process) or 'redis' (several nodes); default: "
        "'redis' when redis_url is set, else 'memory'",
    )
    redis_url: str = Field("", description="Redis URL for several nodes, e.g. redis://host:6379/0")
    routing_domain: str = Field(
        "default", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="one active router per domain"
    )
    node_name: str = Field(
        "", description="this node's name in logs and the lease; default: host:pid"
    )
    lease_ttl: float = Field(
        3.0,
        gt=0,
        le=60,
        description="seconds the router lease lasts unless renewed; a "
        "standby takes over this long after the active router dies",
    )
    command_timeout: float = Field(
        5.0, gt=0, description="seconds a node waits for the active router before a 503"
    )
    node_intake: bool = Field(
        True,
        description="several nodes on PostgreSQL: new contacts (POST /v1/contacts) are "
        "triaged and stored by the node that receives them, only routed by the router; "
        "false: forwarded whole to the router (as always with SQLite)",
    )

    session_ttl: float = Field(
        8 * 3600.0, gt=0, description="seconds a sign-in session lasts (then sign in again)"
    )
    session_check_interval: float = Field(
        15.0, gt=0, description="seconds between checks that a signed-in websocket's session holds"
    )
    session_cookie_secure: bool = Field(
        False, description="mark the session cookie Secure (on whenever pages are on https)"
    )
    signin_rate: float = Field(
        0.2, ge=0, description="sign-in attempts/s per address and per user name; 0 = no limit"
    )
    signin_burst: float = Field(5, ge=1, description="sign-in attempts in a burst")
    oidc_issuer: str = Field(
        "", description="single sign-on: the OpenID Connect issuer URL; empty = off"
    )
    oidc_client_id: str = Field("", description="single sign-on: this app's client id")
    oidc_client_secret: str = Field("", description="single sign-on: this app's client secret")
    oidc_username_claim: str = Field(
        "preferred_username",
        description="the id_token claim matched to a user's name (when no user has its sub)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("stall_log_ms")
    @classmethod
    def _stall_threshold(cls, value: float) -> float:
        if 0 < value < 1:  # the loop and a thread would wake 4,000 times a second and more
            raise ValueError("0 (off) or at least 1 ms")
        return value

    @field_validator("chat_identity_keys")
    @classmethod
    def _keys(cls, value: str) -> str:
        parse_keys(value)
        return value

    def backend_name(self) -> str:
        return self.state_backend or ("redis" if self.redis_url else "memory")

    def with_admin_token(self) -> Settings:
        """These settings, with a random admin token if none was configured."""
        if self.admin_token:
            return self
        return self.model_copy(update={"admin_token": secrets.token_urlsafe(24)})
