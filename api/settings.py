"""Server settings: environment variables ``CENTRALINO_*`` or CLI options."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from router.store.repository import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENTRALINO_", extra="ignore")

    config_path: str = Field("config.yaml", description="routing rules file")
    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy async URL")
    admin_token: str = Field("", description="bearer token for ops endpoints; generated if empty")
    gateway_token: str = Field("", description="bearer token gateways must send; none if empty")
    max_body_bytes: int = Field(256 * 1024, gt=0, description="largest accepted request body")
    login_timeout: float = Field(10.0, gt=0, description="seconds a desktop has to log in")
    replay_buffer: int = Field(500, gt=0, description="desktop messages kept for resume")

    def with_admin_token(self) -> Settings:
        """These settings, with a random admin token if none was configured."""
        if self.admin_token:
            return self
        return self.model_copy(update={"admin_token": secrets.token_urlsafe(24)})
