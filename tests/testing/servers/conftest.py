"""Fixtures for the tests of greenpool.testing itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greenpool.testing import RedisServer


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()
