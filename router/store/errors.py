"""The store's own error types: callers never see a driver exception."""

from __future__ import annotations


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
