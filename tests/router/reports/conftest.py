"""The report tests use the store tests' fixture: the store on real SQLite and PostgreSQL."""

from tests.router.store.conftest import store

__all__ = ["store"]
