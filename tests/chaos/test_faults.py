"""Servers killed, paused and cut off under load, and a soak with random cancellations.

The promises of docs/reliability.md, "Servers that fail": with hundreds of
greenlets calling,

- a server SIGKILLed: every call under way ends (with an error) within a
  bound, and once the server is back every caller works again within a
  bound, with no configuration and no restart of the client;
- a server SIGSTOPped: calls end by their timeouts; after SIGCONT all work;
- a connection cut (RST) or black-holed by a TCP proxy: the same;
- a soak with 10% of calls cancelled by their callers' own timeouts and
  callers killed at random: 0 crossed replies, 0 stuck greenlets, file
  descriptors and memory flat.

In every case no caller ever receives a reply that is not its own.  The
bounds are generous for a loaded 2-core machine; they catch a hang or a
caller left waiting for a default timeout (tens of seconds), not speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
import pytest

from greenpool.testing import PostgresServer, RedisServer, ServerProcess, TarantoolServer
from greenpool.testing.load import Load, in_thread, open_fds, rss_mb

pytestmark = pytest.mark.chaos

#: Every call under way when a server dies ends within this (seconds).
IN_FLIGHT_BOUND = 3.0
#: Every caller works again within this after the server is back (seconds).
RECOVERY_BOUND = 6.0


@dataclass
class Driver:
    """A client of one server under test, as the load sees it."""

    call: Callable[[str], Any]
    expect: Callable[[str], Any]
    close: Callable[[], None]
    greenlets: int


def redis_driver(port: int, socket_timeout: float | None = None) -> Driver:
    from greenpool.redis import Redis

    r = Redis(port=port, socket_timeout=socket_timeout, socket_connect_timeout=1)
    return Driver(r.echo, lambda v: v.encode(), r.close, 300)


def tarantool_driver(port: int, socket_timeout: float | None = None) -> Driver:
    from greenpool.tarantool import ConnectionPool, Mode

    pool = ConnectionPool([{"host": "127.0.0.1", "port": port}], refresh_delay=0.2,
                          socket_timeout=socket_timeout, connection_timeout=1,
                          connections_per_instance=2)

    def echo(value: str) -> Any:
        return pool.call("echo", value, mode=Mode.ANY).data[0]

    return Driver(echo, lambda v: v, pool.close, 300)


def postgres_driver(server: PostgresServer, socket_timeout: float | None = None) -> Driver:
    from greenpool.postgres import PostgresPool

    pool = PostgresPool(server.dsn, pool_size=8, max_overflow=0, pool_timeout=10,
                        connect_timeout=1, prefill=False, autocommit=True)

    def echo(value: str) -> Any:
        # psycopg2 has no per-query timeout of its own: the caller bounds it.
        with gevent.Timeout(socket_timeout, TimeoutError), pool.cursor() as cur:
            cur.execute("SELECT %s", (value,))
            return cur.fetchone()[0]

    return Driver(echo, lambda v: v, pool.close, 100)


_ECHO_LUA = "function echo(v) return v end"


def _server(kind: str) -> ServerProcess:
    if kind == "redis":
        return RedisServer()
    if kind == "tarantool":
        return TarantoolServer(lua=_ECHO_LUA)
    return PostgresServer()


def _driver(kind: str, server: Any, socket_timeout: float | None = None,
            port: int | None = None) -> Driver:
    if kind == "redis":
        return redis_driver(port or server.port, socket_timeout)
    if kind == "tarantool":
        return tarantool_driver(port or server.port, socket_timeout)
    return postgres_driver(server, socket_timeout)


#: The loads a test started, with their drivers: ``fresh`` stops and closes
#: them when the test ends, however it ends.  (A failed assertion once left a
#: load's 100 callers running into the following tests, against a stopped
#: server: they failed too, and the run's memory grew by gigabytes of
#: captured log lines.)
_STARTED: list[tuple[Load, Driver]] = []


@pytest.fixture(params=["redis", "tarantool", "postgres"])
def fresh(request: pytest.FixtureRequest) -> Iterator[tuple[str, ServerProcess]]:
    server = _server(request.param)
    server.start()
    try:
        yield request.param, server
    finally:
        while _STARTED:
            load, driver = _STARTED.pop()
            load.stop(timeout=5)
            driver.close()
        server.stop()


def _start_load(driver: Driver, **kwargs: Any) -> Load:
    load = Load(driver.call, driver.expect, greenlets=driver.greenlets, **kwargs)
    _STARTED.append((load, driver))
    return load.start()


def _run_load(driver: Driver, **kwargs: Any) -> Load:
    load = _start_load(driver, **kwargs)
    gevent.sleep(0.3)
    assert load.ok > 0, f"no call succeeded: {load.errors}"
    return load


def _finish(load: Load, driver: Driver) -> None:
    stuck = load.stop()
    driver.close()
    assert stuck == 0, "callers stuck"
    assert load.crossed == []


# --------------------------------------------------------------------------- SIGKILL


def test_a_server_killed_under_load(fresh: tuple[str, ServerProcess]) -> None:
    kind, server = fresh
    driver = _driver(kind, server, socket_timeout=5)
    load = _run_load(driver)
    fds = open_fds()
    killed_at = time.monotonic()
    in_thread(server.kill)
    failed_within = load.calls_in_flight_at(killed_at, IN_FLIGHT_BOUND)
    gevent.sleep(0.2)
    in_thread(server.start)
    back_at = time.monotonic()
    recovered_within = load.all_working_since(back_at, RECOVERY_BOUND)
    _finish(load, driver)
    assert sum(load.errors.values()) > 0  # the kill was seen
    assert open_fds() <= fds + 2
    print(f"{kind}: calls under way ended within {failed_within:.3f}s of SIGKILL; "
          f"all {driver.greenlets} callers worked again {recovered_within:.3f}s after restart")


# --------------------------------------------------------------------------- SIGSTOP


def test_a_server_paused_under_load(fresh: tuple[str, ServerProcess]) -> None:
    kind, server = fresh
    timeout = 0.5
    driver = _driver(kind, server, socket_timeout=timeout)
    load = _run_load(driver)
    server.pause()
    gevent.sleep(0.1)
    stopped_at = time.monotonic()  # every call under way now waits on a stopped server
    try:
        ended_within = load.calls_in_flight_at(stopped_at, timeout + 2.0)
        gevent.sleep(0.5)
    finally:
        server.resume()
    back_at = time.monotonic()
    recovered_within = load.all_working_since(back_at, RECOVERY_BOUND)
    _finish(load, driver)
    assert sum(load.errors.values()) > 0
    print(f"{kind}: calls under way ended within {ended_within:.3f}s of SIGSTOP "
          f"(timeout {timeout}s); all callers worked again {recovered_within:.3f}s after SIGCONT")


# --------------------------------------------------------------------------- the network


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
def test_connections_cut_or_black_holed_under_load(
    fresh: tuple[str, ServerProcess], tcp_proxy: Any, fault: str
) -> None:
    kind, server = fresh
    if kind == "postgres":
        # PostgresPool takes its address from the DSN: point it at the proxy.
        proxy = tcp_proxy(server)
        driver = postgres_driver(_through(server, proxy.port), socket_timeout=0.5)
    else:
        proxy = tcp_proxy(server)
        driver = _driver(kind, server, socket_timeout=0.5, port=proxy.port)
    load = _run_load(driver)
    if fault == "cut":
        proxy.cut()
    else:
        proxy.blackhole()
        gevent.sleep(0.1)  # every call under way now waits on a black hole
    struck_at = time.monotonic()
    ended_within = load.calls_in_flight_at(struck_at, IN_FLIGHT_BOUND)
    if fault == "blackhole":
        gevent.sleep(0.5)
        proxy.normal()
    healed_at = time.monotonic()
    recovered_within = load.all_working_since(healed_at, RECOVERY_BOUND)
    _finish(load, driver)
    print(f"{kind} {fault}: calls under way ended within {ended_within:.3f}s; "
          f"all callers worked again {recovered_within:.3f}s after")


class _through:
    """A PostgresServer seen through a proxy: same DSN, the proxy's port."""

    def __init__(self, server: PostgresServer, port: int) -> None:
        self.dsn = server.dsn.replace(f"port={server.port}", f"port={port}")
        assert self.dsn != server.dsn


# --------------------------------------------------------------------------- soak


@pytest.mark.timeout(180)
def test_soak_with_random_cancellations(fresh: tuple[str, ServerProcess]) -> None:
    kind, server = fresh
    seconds = 8.0
    driver = _driver(kind, server, socket_timeout=10)
    load = _start_load(driver, cancel_share=0.1, kills_per_second=50)
    gevent.sleep(1.0)  # warm up: connections open, caches filled
    fds, rss = open_fds(), rss_mb()
    gevent.sleep(seconds)
    calls = load.ok + load.cancelled
    _finish(load, driver)
    assert load.errors == {}, load.errors
    assert load.cancelled > 0 and load.killed > 0
    assert open_fds() <= fds + 2
    grown = rss_mb() - rss
    assert grown < 20, f"RSS grew by {grown:.1f} MB"
    print(f"{kind}: {calls} calls in {seconds + 1:.0f}s, {load.cancelled} cancelled, "
          f"{load.killed} callers killed, 0 crossed, RSS {grown:+.1f} MB")
