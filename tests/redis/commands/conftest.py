"""Fixtures for the command-group tests: the four client configurations, and the cross-check.

Every test taking ``r`` runs four times (``commands_executor.CONFIGS``:
RESP2/RESP3, bytes/decoded) through :class:`~commands_executor.SocketRedis`,
the reference executor: one plain socket, one command at a time.  ``k``
names keys unique to the test and deletes them afterwards.

``crosscheck(scenario)`` runs one scenario function twice on the same key
names, through ``r`` and through redis-py configured alike (``theirs``),
and asserts equal results of identical types, all the way down.
``crosscheck_resp2(scenario)`` does the same against redis-py on RESP2, for
the few replies redis-py 8 shapes otherwise on RESP3 (greenpool gives the
RESP2 shape on both protocols).  Adding a
case to a group is adding a line to its scenario; adding a scenario is
adding a function and a one-line test calling ``crosscheck``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from commands_executor import (
    CONFIG_IDS,
    CONFIGS,
    Keys,
    SocketRedis,
    assert_same,
    key_namer,
    open_client,
    open_redis_py,
)

from greenpool.testing import RedisServer

Results = dict[str, Any]
Scenario = Callable[[Any, Keys], Results]


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def config(request: pytest.FixtureRequest) -> tuple[int, bool]:
    param: tuple[int, bool] = request.param
    return param


@pytest.fixture
def r(config: tuple[int, bool], redis_server: RedisServer) -> Iterator[SocketRedis]:
    yield from open_client(redis_server, config)


@pytest.fixture
def theirs(config: tuple[int, bool], redis_server: RedisServer) -> Iterator[redis.Redis]:
    yield from open_redis_py(redis_server, config)


@pytest.fixture
def k(r: SocketRedis, request: pytest.FixtureRequest) -> Iterator[Keys]:
    yield from key_namer(r, request)


@pytest.fixture
def crosscheck(r: SocketRedis, theirs: redis.Redis, k: Keys) -> Callable[[Scenario], None]:
    """Run a scenario through greenpool's methods and redis-py's; compare every result."""
    return lambda scenario: _compare(scenario, r, theirs, k)


def _compare(scenario: Scenario, r: SocketRedis, theirs: redis.Redis, k: Keys) -> None:
    k.cleanup()
    mine = scenario(r, k)
    k.cleanup()
    reference = scenario(theirs, k)
    k.cleanup()
    assert list(mine) == list(reference)
    for label in mine:
        assert_same(mine[label], reference[label], label)


@pytest.fixture
def theirs_resp2(config: tuple[int, bool], redis_server: RedisServer) -> Iterator[redis.Redis]:
    """redis-py on RESP2, decoding as ``config`` says, whatever ``config``'s protocol."""
    yield from open_redis_py(redis_server, (2, config[1]))


@pytest.fixture
def crosscheck_resp2(
    r: SocketRedis, theirs_resp2: redis.Redis, k: Keys
) -> Callable[[Scenario], None]:
    """``crosscheck`` against redis-py on RESP2, for greenpool on both protocols.

    For the replies redis-py 8 shapes differently on its RESP3 connections
    (a RESP3 map left as a dict, scores left as doubles re-encoded to
    bytes ...): greenpool gives the RESP2 shape whatever the protocol.
    """
    return lambda scenario: _compare(scenario, r, theirs_resp2, k)


@pytest.fixture
def r_own(config: tuple[int, bool]) -> Iterator[SocketRedis]:
    """``r`` on a server of the test's own: for what must not touch the shared one
    (FUNCTION FLUSH, a busy script, server settings)."""
    server = RedisServer()
    server.start()
    try:
        yield from open_client(server, config)
    finally:
        server.stop()
