"""Fixtures that start real servers for the tests.

Session-scoped servers (``redis_server``, ``redis_cluster``,
``redis_sentinel``, ``tarantool_server``, ``postgres_server``,
``mariadb_server``) are shared: a test must never kill, pause or restart
them, fail them over or move their slots.  A test that does uses the
function-scoped ``fresh_*`` fixtures, which give it servers of its own.

Every fixture stops its processes by PID at teardown, whether the test
passed or not.  A missing server program makes the fixture raise
:class:`~greenpool.testing.ServerNotInstalled`, naming the Debian package to
install: the project runs no skipped tests, so it fails loudly instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from greenpool.testing import (
    MariaDBServer,
    PostgresServer,
    PostgresStandby,
    RedisClusterServer,
    RedisSentinelSet,
    RedisServer,
    ServerGroup,
    ServerProcess,
    TarantoolReplicaSet,
    TarantoolServer,
    TcpProxy,
)

# Tests are named after the module they test (tests/tarantool/test_pool.py,
# tests/postgres/test_pool.py), so pytest imports them by path
# (``--import-mode=importlib`` in pyproject.toml) and puts no test directory
# on sys.path.  The helpers the tests import by name (helpers, scripted_server,
# pg_helpers, wire ...) are found through these directories instead.
_TESTS = Path(__file__).parent
for _directory in sorted({p.parent for p in _TESTS.rglob("*.py")}, reverse=True):
    if not (_directory / "__init__.py").exists() and str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))


def _serve(server: ServerProcess | ServerGroup) -> Iterator[Any]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server shared by the whole session; never kill or pause it."""
    yield from _serve(RedisServer())


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    """A Redis server of the test's own: it may be stopped, killed, paused, restarted."""
    yield from _serve(RedisServer())


# --------------------------------------------------------------------------- Cluster, Sentinel


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServer]:
    """A Redis Cluster (3 primaries, 3 replicas) shared by the session.

    Never kill, pause, fail over or reshard it; write keys of your own and
    leave the slot map alone.  Started on first use (about 2 s).
    """
    yield from _serve(RedisClusterServer())


@pytest.fixture
def fresh_redis_cluster() -> Iterator[RedisClusterServer]:
    """A Redis Cluster of the test's own (3 primaries, 3 replicas): break it at will."""
    yield from _serve(RedisClusterServer())


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelSet]:
    """A primary, 2 replicas and 3 sentinels (service ``mymaster``) shared by the session.

    Never kill a server or fail it over.
    """
    yield from _serve(RedisSentinelSet())


@pytest.fixture
def fresh_redis_sentinel() -> Iterator[RedisSentinelSet]:
    """A primary, 2 replicas and 3 sentinels of the test's own."""
    yield from _serve(RedisSentinelSet())


# --------------------------------------------------------------------------- Tarantool


@pytest.fixture(scope="session")
def tarantool_server() -> Iterator[TarantoolServer]:
    """A Tarantool instance shared by the whole session (guest has full access)."""
    yield from _serve(TarantoolServer())


@pytest.fixture
def fresh_tarantool() -> Iterator[TarantoolServer]:
    """A Tarantool instance of the test's own."""
    yield from _serve(TarantoolServer())


@pytest.fixture
def tarantool_replicaset() -> Iterator[TarantoolReplicaSet]:
    """Three Tarantool instances replicating full-mesh; member 0 is the master."""
    replicaset = TarantoolReplicaSet(3)
    try:
        replicaset.start()
        yield replicaset
    finally:
        replicaset.stop()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster shared by the whole session; never kill or pause it."""
    yield from _serve(PostgresServer())


@pytest.fixture
def fresh_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the test's own (the primary of ``postgres_standby``)."""
    yield from _serve(PostgresServer())


@pytest.fixture
def postgres_standby(fresh_postgres: PostgresServer) -> Iterator[PostgresStandby]:
    """A hot standby streaming from ``fresh_postgres`` (``standby.primary``)."""
    yield from _serve(PostgresStandby(fresh_postgres))


# --------------------------------------------------------------------------- MariaDB


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A MariaDB server shared by the whole session, with an empty ``test`` database."""
    yield from _serve(MariaDBServer())


@pytest.fixture
def fresh_mariadb() -> Iterator[MariaDBServer]:
    """A MariaDB server of the test's own."""
    yield from _serve(MariaDBServer())


# --------------------------------------------------------------------------- the proxy


def _split_target(target: Any) -> tuple[str, int]:
    if isinstance(target, ServerProcess):
        return target.host, target.port
    if isinstance(target, tuple):
        host, port = target
        return str(host), int(port)
    if isinstance(target, str):
        host, sep, port = target.rpartition(":")
        if sep and host and port.isdigit():
            return host.strip("[]"), int(port)
    raise ValueError(f"target {target!r}: give 'host:port', (host, port) or a server")


@pytest.fixture
def tcp_proxy() -> Iterator[Callable[[Any], TcpProxy]]:
    """A factory: ``tcp_proxy("127.0.0.1:6379")`` (or a tuple, or a server) -> started proxy.

    Every proxy made is stopped at teardown.
    """
    proxies: list[TcpProxy] = []

    def make(target: Any) -> TcpProxy:
        host, port = _split_target(target)
        proxy = TcpProxy(host, port)
        proxies.append(proxy)
        proxy.start()
        return proxy

    try:
        yield make
    finally:
        for proxy in proxies:
            proxy.stop()


# --------------------------------------------------------------------------- no skips


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any test was skipped: CI must run every test.

    A missing server program is installed by ``scripts/setup.sh``, never
    skipped over.
    """
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped[:5])
        print(f"\nERROR: {len(skipped)} test(s) were skipped ({names}); none may be.")
        session.exitstatus = 1
