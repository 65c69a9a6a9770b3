from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.providers import FakeProviders, Relay


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    running = FakeProviders().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def relay() -> Iterator[Relay]:
    running = Relay().start()
    try:
        yield running
    finally:
        running.stop()
