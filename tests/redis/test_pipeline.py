"""Pipelines on a node's dedicated connection: per-command options and refused commands."""

from __future__ import annotations

from collections.abc import Iterator

import gevent
import pytest
from helpers import interrupt_after

from greenpool import ConfigurationError
from greenpool.redis import Redis, ResponseError
from greenpool.testing import RedisServer


@pytest.fixture
def r(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    yield client
    client.close()


@pytest.mark.parametrize("transaction", [True, False])
def test_a_pipeline_honours_never_decode(r: Redis, transaction: bool) -> None:
    r.set("t:pipe-text", "héllo")
    expected = r.dump("t:pipe-text")
    assert isinstance(expected, bytes)
    with r.pipeline(transaction=transaction) as pipe:
        pipe.dump("t:pipe-text").get("t:pipe-text").hset("t:pipe-h", "f", "v")
        pipe.hgetall("t:pipe-h")
        assert pipe.execute() == [expected, "héllo", 1, {"f": "v"}]
    r.delete("t:pipe-h")


def test_a_pipeline_decodes_while_watching_too(r: Redis) -> None:
    r.set("t:pipe-w", "ü")
    with r.pipeline() as pipe:
        pipe.watch("t:pipe-w")
        assert pipe.get("t:pipe-w") == "ü"
        assert isinstance(pipe.dump("t:pipe-w"), bytes)
        pipe.multi()
        pipe.set("t:pipe-w", "v").dump("t:pipe-w")
        done, dumped = pipe.execute()
        assert done is True and isinstance(dumped, bytes)


def test_an_undecodable_reply_fails_only_its_command(r: Redis) -> None:
    raw = Redis(host=r.settings.address.host or "", port=r.settings.address.port or 0)
    raw.set("t:pipe-bin", b"\xff\xfe")
    raw.close()
    with r.pipeline(transaction=False) as pipe:
        pipe.get("t:pipe-bin").echo("fine")
        bad, good = pipe.execute(raise_on_error=False)
    assert isinstance(bad, UnicodeDecodeError) and good == "fine"


@pytest.mark.parametrize(
    "command",
    [("SELECT", 1), ("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "c"), ("CLIENT", "SETNAME", "x")],
)
def test_a_pipeline_refuses_what_would_change_its_connection(
    r: Redis, command: tuple[object, ...]
) -> None:
    with r.pipeline() as pipe, pytest.raises(ConfigurationError, match="pipeline"):
        pipe.execute_command(*command)


def test_blocking_commands_in_a_pipeline_wait_for_their_reply(redis_server: RedisServer) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, socket_timeout=0.2) as client:
        with client.pipeline(transaction=False) as pipe:
            pipe.blpop(["t:pipe-never"], timeout=0.5).echo("after")
            assert pipe.execute() == [None, b"after"]
        with client.pipeline(transaction=False) as pipe:
            pipe.incr("t:pipe-str-ok")
            pipe.lpush("t:pipe-str-ok", "x")
            with pytest.raises(ResponseError, match="Command # 2"):
                pipe.execute()
        client.delete("t:pipe-str-ok")


BUSY_HALF_A_SECOND = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 500000
return 'done'
"""


def test_a_never_decode_command_keeps_socket_timeout(fresh_redis: RedisServer) -> None:
    # never_decode runs on a dedicated connection (they don't decode):
    # socket_timeout still bounds it, as it bounds a shared connection's commands.
    from greenpool import TimeoutError

    with Redis(
        host=fresh_redis.host, port=fresh_redis.port, decode_responses=True, socket_timeout=0.2
    ) as client:
        with pytest.raises(TimeoutError):
            client.execute_command("EVAL", BUSY_HALF_A_SECOND, 0, never_decode=True)
        gevent.sleep(0.5)  # the script runs on
        client.set("t:after-busy", "v")
        assert client.dump("t:after-busy") is not None


def _paused(server: RedisServer, ms: int) -> None:
    """Make the server hold every client's commands for ``ms`` milliseconds."""
    admin = Redis(host=server.host, port=server.port)
    try:
        admin.execute_command("CLIENT", "PAUSE", ms, "ALL")
    finally:
        admin.close()


@pytest.mark.parametrize("interrupt", ["timeout", "kill"])
def test_an_interrupted_unwatch_on_leaving_closes_the_connection_and_frees_its_slot(
    redis_server: RedisServer, interrupt: str
) -> None:
    # Leaving a watching pipeline sends UNWATCH; a caller's Timeout (or a
    # kill) during it must still give the dedicated slot back, with the
    # connection closed (its WATCH may be live), never kept checked out.
    r = Redis(host=redis_server.host, port=redis_server.port, max_connections=1)
    try:
        r.set("t:pipe-unwatch", "1")

        def leave_while_paused() -> None:
            with r.pipeline() as pipe:
                pipe.watch("t:pipe-unwatch")
                assert pipe.get("t:pipe-unwatch") == b"1"
                _paused(redis_server, 300)

        interrupt_after(leave_while_paused, interrupt)  # in the UNWATCH
        assert r.dedicated_pool.checkedout() == 0
        gevent.sleep(0.3)  # the pause ends
        # The one slot is free again: a transaction runs at once.
        with gevent.Timeout(2), r.pipeline() as pipe:
            assert pipe.set("t:pipe-unwatch", "2").get("t:pipe-unwatch").execute() == [True, b"2"]
    finally:
        r.delete("t:pipe-unwatch")
        r.close()
