"""Server-wide commands on the real client, whose connections are shared.

CONFIG SET, FLUSHALL, SWAPDB, SAVE, CLIENT PAUSE, ACL SETUSER ... act on
the server, not on the connection that carries them, so they run on a
shared connection among other greenlets' commands: each of those must
still get its own reply.  SHUTDOWN ends every connection: its caller gets
None, the others' commands in flight a ConnectionError, never a wrong
reply.  SYNC and PSYNC are refused.  Each test has a server of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
import pytest

from greenpool.errors import ConfigurationError, ConnectionError
from greenpool.protocol.resp import encode_command
from greenpool.redis import Redis
from greenpool.testing import RedisServer


def _echoes_alongside(client: Redis, work: Callable[[], Any], greenlets: int = 50) -> Any:
    """Run ``work`` while ``greenlets`` greenlets send tagged ECHOs; return its result.

    Asserts that every ECHO got its own tag back.
    """
    wrong: list[str] = []
    stop = False

    def echo(n: int) -> None:
        i = 0
        while not stop:
            tag = f"tag-{n}-{i}"
            reply = client.echo(tag)
            if reply != (tag if client.decode_responses else tag.encode()):
                wrong.append(f"{tag} got {reply!r}")
            i += 1

    glets = [gevent.spawn(echo, n) for n in range(greenlets)]
    gevent.sleep(0.01)
    try:
        result = work()
    finally:
        stop = True
        gevent.joinall(glets, timeout=10, raise_error=True)
    assert wrong == []
    return result


def test_server_wide_commands_leave_every_caller_its_own_reply(fresh_redis: RedisServer) -> None:
    with Redis(fresh_redis.host, fresh_redis.port, decode_responses=True, pool_size=2) as r:
        r.set("a", 1)

        def admin() -> list[Any]:
            return [
                r.config_set("maxmemory-policy", "allkeys-lru"),
                r.config_get("maxmemory-policy"),
                r.swapdb(0, 1), r.get("a"), r.swapdb(0, 1), r.get("a"),
                r.flushall(), r.dbsize(),
                r.save(), r.memory_purge(), r.slowlog_reset(), r.config_resetstat(),
                r.acl_setuser("gp-someone", enabled=True, nopass=True), r.acl_deluser("gp-someone"),
                type(r.command_count()), type(r.lolwut()), r.role()[0],
            ]

        assert _echoes_alongside(r, admin) == [
            True, {"maxmemory-policy": "allkeys-lru"}, True, None, True, "1", True, 0,
            True, True, True, True, True, 1, int, str, "master",
        ]
        # The setting is the server's: every shared connection sees it.
        for conn in r.shared_pool.connected_connections:
            reply = conn.request(encode_command("CONFIG", "GET", "maxmemory-policy"))
            assert reply == ["maxmemory-policy", "allkeys-lru"]


def test_client_pause_holds_writes_on_shared_connections_then_releases_them(
    fresh_redis: RedisServer,
) -> None:
    with Redis(fresh_redis.host, fresh_redis.port, pool_size=2) as r:
        r.ping()

        def pause_then_write() -> float:
            assert r.execute_command("CLIENT", "PAUSE", 200, "WRITE") == b"OK"
            began = time.monotonic()
            assert r.incr("paused-counter") == 1  # waits for the pause to end
            return time.monotonic() - began

        # Reads (ECHO) carry on during a WRITE pause, each with its own reply.
        assert _echoes_alongside(r, pause_then_write) >= 0.15


def test_shutdown_returns_none_and_other_callers_get_connection_errors(
    fresh_redis: RedisServer,
) -> None:
    r = Redis(fresh_redis.host, fresh_redis.port, pool_size=1, socket_connect_timeout=0.5)
    outcomes: list[Any] = []

    def counter(n: int) -> None:
        try:
            while True:
                value = r.incr(f"counter-{n}")
                assert type(value) is int
                gevent.sleep(0)
        except ConnectionError as exc:
            outcomes.append(exc)

    try:
        r.ping()
        glets = [gevent.spawn(counter, n) for n in range(20)]
        gevent.sleep(0.02)
        assert r.shutdown(nosave=True) is None
        gevent.joinall(glets, timeout=10, raise_error=True)
        assert len(outcomes) == 20  # each ended with ConnectionError, none with a wrong reply
        deadline = time.monotonic() + 5
        while fresh_redis.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not fresh_redis.running
        with pytest.raises(ConnectionError):
            r.ping()
    finally:
        r.close()


def test_sync_and_psync_are_refused_and_the_connections_stay_usable(
    fresh_redis: RedisServer,
) -> None:
    with Redis(fresh_redis.host, fresh_redis.port) as r:
        for call in (r.sync, lambda: r.psync("?", -1)):
            with pytest.raises(ConfigurationError, match="replication stream"):
                _echoes_alongside(r, call, greenlets=5)
        with r.pipeline() as pipe, pytest.raises(ConfigurationError, match="replication stream"):
            pipe.sync()
        assert r.echo("still fine") == b"still fine"
        assert "cmdstat_sync" not in r.info("commandstats")


def test_acl_whoami_is_the_client_s_user_on_every_connection() -> None:
    with RedisServer(username="gp-admin", password="gp-secret") as server, Redis(
        server.host, server.port, username="gp-admin", password="gp-secret", pool_size=2,
        decode_responses=True,
    ) as r:
        assert {r.acl_whoami() for _ in range(10)} == {"gp-admin"}
        with r.pipeline() as pipe:
            pipe.acl_whoami()
            assert pipe.execute() == ["gp-admin"]
        assert "gp-secret" not in str(r.acl_getuser("gp-admin"))  # passwords come hashed


def test_server_and_acl_methods_in_a_pipeline(fresh_redis: RedisServer) -> None:
    with Redis(fresh_redis.host, fresh_redis.port, decode_responses=True) as r:
        r.config_set("slowlog-log-slower-than", 0)
        r.set("k", "v" * 50)
        with r.pipeline() as pipe:
            pipe.command_count().acl_getuser("default").memory_usage("k")
            pipe.config_get("slowlog-log-slower-than").slowlog_get(1).acl_log_reset()
            count, user, usage, config, slowlog, reset = pipe.execute()
        assert type(count) is int and count > 200
        assert user is not None and user["enabled"] is True and user["keys"] == ["~*"]
        assert type(usage) is int and usage > 50
        assert config == {"slowlog-log-slower-than": "0"}
        # SLOWLOG GET's strings stay bytes even when decoding, in a pipeline too.
        [entry] = slowlog
        assert type(entry["command"]) is bytes and type(entry["client_address"]) is bytes
        assert reset is True
