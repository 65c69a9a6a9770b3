"""The store's own error types: callers never see a driver exception."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError


class StoreError(Exception):
    """The database refused or failed; the message is safe to show."""


class StoreBusy(StoreError):
    """Too many writes are waiting (the journal's queue is full): retry shortly."""


class FencedOut(StoreError):
    """A newer router holds the fence: this one may no longer write routing decisions."""

    def __init__(self, message: str, current: int = 0) -> None:
        super().__init__(message)
        self.current = current  # the epoch holding the fence, when known


class CustomerRecordError(StoreError):
    """A customer change that cannot be made; ``status`` is the HTTP answer it calls for."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def read_errors() -> Iterator[None]:
    """A read's driver errors (and a connection's OSError) become StoreError, which the
    gateway and HTTP API answer with 503 and Retry-After; the message names the type."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"could not read: {type(exc).__name__}") from exc
