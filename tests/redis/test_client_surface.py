"""The client's own redis-py surface through the real client: auth, quit/reset, the
refused connection modes, watch/unwatch, transaction(), response callbacks, retry,
the encoder, the connection kwargs, from_pool and client().

Each runs against a real redis-server; where redis-py can do the same thing, its
result is compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.event
import pytest
import redis
from helpers import wait_until
from redis.backoff import ConstantBackoff, NoBackoff
from redis.retry import Retry

from greenpool import ConfigurationError, ConnectionError
from greenpool.redis import Node, Pipeline, Redis
from greenpool.redis.exceptions import AuthenticationError, WatchError
from greenpool.testing import RedisServer
from greenpool.testing.proxy import TcpProxy


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=redis_server.host, port=redis_server.port, protocol=request.param)
    yield client
    client.close()


@pytest.fixture
def theirs(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.close()


@pytest.fixture
def key() -> str:
    return f"gp-surface:{uuid.uuid4().hex[:10]}"


def _names_of(r: Redis, name: str) -> list[dict[str, str]]:
    return [c for c in r.client_list() if c["name"] == name]


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize("protocol", [2, 3])
def test_auth_authenticates_every_connection_and_reconnections(protocol: int) -> None:
    secret = "au7h-Secret"
    with RedisServer(password=secret, username="app") as server:
        if protocol == 2:
            with Redis(host=server.host, port=server.port) as anonymous:
                with pytest.raises(AuthenticationError):
                    anonymous.ping()  # NOAUTH
                assert anonymous.auth(secret) is True
                assert anonymous.execute_command("ACL", "WHOAMI") == b"default"
        client = Redis(host=server.host, port=server.port, pool_size=2, protocol=protocol,
                       password=secret)
        with client:
            assert client.execute_command("ACL", "WHOAMI") in (b"default", "default")
            with pytest.raises(AuthenticationError):
                client.auth("wrong", "app")
            assert client.execute_command("ACL", "WHOAMI") == b"default"  # unchanged
            assert client.auth(secret, "app") is True
            assert client.execute_command("ACL", "WHOAMI") == b"app"
            # Every shared connection is authenticated, and so are dedicated ones.
            for _ in range(20):
                assert client.ping() is True
            assert client.blpop(["gp:nothing"], timeout=0.01) is None
            with client.pipeline() as pipe:
                assert pipe.ping().execute() == [True]
            # Connections opened later (after the server closed these) authenticate too.
            with Redis(host=server.host, port=server.port, username="app",
                       password=secret) as admin:
                admin.client_kill_filter(_type="normal", skipme=True)
            wait_until(lambda: _pings(client))
            assert client.execute_command("ACL", "WHOAMI") == b"app"
            assert client.get_connection_kwargs()["username"] == "app"
            assert secret not in repr(client) and secret not in repr(client.settings)
            with pytest.raises(ConfigurationError) as bad:
                client.auth([secret])  # type: ignore[arg-type]
            assert secret not in str(bad.value)


def _pings(client: Redis) -> bool:
    try:
        return client.ping()
    except ConnectionError:
        return False


# ------------------------------------------------------------------ quit, reset, refused modes


def test_quit_and_reset_leave_the_shared_connections_alone(r: Redis, theirs: redis.Redis) -> None:
    assert r.client_setname("gp-kept") is True
    assert r.quit() is theirs.quit() is True
    # redis-py's protocol=3 shape is the reply as sent (bytes), RESP2's str
    assert theirs.reset() == "RESET"
    assert r.reset() == (b"RESET" if r.protocol == 3 else "RESET")
    assert r.client_getname() == (b"gp-kept" if r.protocol == 3 else "gp-kept")
    assert r.ping() is True
    assert r.connections_used()["dedicated"] == 0  # the connections they ran on are closed


def test_refused_modes_say_why(r: Redis) -> None:
    with pytest.raises(ConfigurationError, match="CLIENT REPLY.*other callers"):
        r.client_reply("OFF")
    with pytest.raises(ConfigurationError, match="CLIENT TRACKING"):
        r.client_tracking_on()
    with pytest.raises(ConfigurationError, match="pipeline"):
        r.pipeline().client_reply("SKIP")
    with pytest.raises(NotImplementedError):
        r.hello()
    assert r.ping() is True


def test_no_evict_is_set_on_every_connection(redis_server: RedisServer) -> None:
    name = f"gp-noevict-{uuid.uuid4().hex[:6]}"
    with Redis(host=redis_server.host, port=redis_server.port, client_name=name,
               pool_size=2, connect_now=True) as client:
        wait_until(lambda: len(_names_of(client, name)) == 2)
        assert client.client_no_evict("ON") == b"OK"
        assert client.blpop(["gp:nothing"], timeout=0.01) is None  # opens a dedicated one
        entries = _names_of(client, name)
        assert len(entries) == 3 and all("e" in c["flags"] for c in entries)


def test_watch_and_unwatch_warn_and_do_nothing_as_in_redis_py(
    r: Redis, theirs: redis.Redis, key: str
) -> None:
    for client in (r, theirs):
        with pytest.warns(DeprecationWarning, match="Pipeline"):
            assert client.watch(key) is None
        with pytest.warns(DeprecationWarning, match="Pipeline"):
            assert client.unwatch() is None


# ------------------------------------------------------------------ transaction()


def test_transaction_retries_until_no_watched_key_changed(r: Redis, key: str) -> None:
    r.set(key, 0)
    attempts = []

    def add_one(pipe: Pipeline) -> Any:
        attempts.append(1)
        value = int(pipe.get(key))  # immediate mode while watching
        gevent.sleep(0.001)  # let the others change it meanwhile
        pipe.multi()
        pipe.set(key, value + 1)
        return value

    workers = [gevent.spawn(r.transaction, add_one, key) for _ in range(20)]
    gevent.joinall(workers, raise_error=True)
    assert int(r.get(key)) == 20
    assert all(w.value == [True] for w in workers)
    assert len(attempts) > 20  # some ran again after a WatchError


def test_transaction_options_match_redis_py(r: Redis, theirs: redis.Redis, key: str) -> None:
    for client in (r, theirs):
        client.delete(key)

        def func(pipe: Any) -> str:
            pipe.multi()
            pipe.incr(key)
            pipe.incr(key)
            return "from func"

        assert client.transaction(func, key) == [1, 2]
        assert client.transaction(func, key, value_from_callable=True) == "from func"
        assert client.transaction(func, shard_hint="x", watch_delay=0.01) == [5, 6]


def test_transaction_watch_delay_and_errors(r: Redis, key: str) -> None:
    r.set(key, 0)
    changes = iter([True, True, False])

    def func(pipe: Pipeline) -> None:
        pipe.get(key)
        if next(changes):
            r.incr(key)  # from another connection: the transaction must start over
        pipe.multi()
        pipe.incr(key)

    start = gevent.get_hub().loop.now()
    assert r.transaction(func, key, watch_delay=0.05) == [3]
    assert gevent.get_hub().loop.now() - start >= 0.1

    def fails(pipe: Pipeline) -> None:
        raise KeyError("mine")

    with pytest.raises(KeyError):
        r.transaction(fails, key)
    with r.pipeline() as pipe:  # explicit WatchError still reaches a pipeline's user
        pipe.watch(key)
        r.incr(key)
        pipe.multi()
        pipe.incr(key)
        with pytest.raises(WatchError):
            pipe.execute()


# ------------------------------------------------------------------ response callbacks, retry


def test_response_callbacks(r: Redis, theirs: redis.Redis, key: str) -> None:
    r.set(key, "v")
    theirs.set(key, "v")
    for client in (r, theirs):
        client.set_response_callback("GET", lambda reply, **options: ("got", reply))
        client.set_response_callback("CLIENT GETNAME", lambda reply, **options: "named")
    assert r.get(key) == theirs.get(key) == ("got", b"v")
    assert r.client_getname() == theirs.client_getname() == "named"
    assert r.exists(key) == 1  # others as before
    with r.pipeline() as pipe:
        assert pipe.get(key).exists(key).execute() == [("got", b"v"), 1]
    with pytest.raises(ConfigurationError):
        r.set_response_callback("GET", "not callable")  # type: ignore[arg-type]


def test_response_callbacks_attribute(r: Redis, theirs: redis.Redis, key: str) -> None:
    # redis-py's public dict of callbacks: set an item, read it back, delete it
    r.set(key, "v")
    theirs.set(key, "v")
    for client in (r, theirs):
        client.response_callbacks["get"] = lambda reply, **options: ("item", reply)
    assert r.get(key) == theirs.get(key) == ("item", b"v")
    callbacks = r.response_callbacks
    assert "GET" in callbacks and "Get" in callbacks and 42 not in callbacks
    assert callbacks["GET"] is callbacks["get"]
    assert list(callbacks) == ["GET"] and len(callbacks) == 1
    r.response_callbacks["client  getname"] = lambda reply, **options: "named"
    assert r.client_getname() == "named"
    with r.pipeline() as pipe:
        assert pipe.get(key).execute() == [("item", b"v")]
    del r.response_callbacks["Get"]
    del r.response_callbacks["CLIENT GETNAME"]
    assert r.get(key) == b"v" and r.client_getname() is None  # the methods' own shapes
    assert dict(r.response_callbacks) == {}
    with pytest.raises(KeyError):
        del r.response_callbacks["GET"]
    with pytest.raises(ConfigurationError, match="callback"):
        r.response_callbacks["GET"] = "not callable"  # type: ignore[assignment]


def test_set_retry_takes_redis_py_retry_and_backoff(redis_server: RedisServer, key: str) -> None:
    proxy = TcpProxy(redis_server.host, redis_server.port)
    proxy.start()
    try:
        with Redis(host=proxy.host, port=proxy.port, socket_connect_timeout=0.5) as client:
            assert client.get_retry() is None
            assert client.set(key, "x") is True
            proxy.refuse()
            proxy.cut()
            with pytest.raises(ConnectionError):
                client.get(key)  # no retry: fails at once
            retry = Retry(ConstantBackoff(0.05), 40)
            client.set_retry(retry)
            assert client.get_retry() is retry
            gevent.spawn_later(0.3, proxy.normal)
            assert client.get(key) == b"x"  # retried until the proxy let it through
            client.set_retry(None)
            client.set_retry(Retry(NoBackoff(), 1))
            assert client.get(key) == b"x"
            with pytest.raises(ConfigurationError):
                client.set_retry("three")
            client.delete(key)
        given = Retry(ConstantBackoff(0.01), 2)
        with Redis(host=proxy.host, port=proxy.port, retry=given) as client:
            assert client.get_retry() is given
            proxy.refuse()
            proxy.cut()
            gevent.spawn_later(0.05, proxy.normal)
            given.update_retries(100)
            assert client.ping() is True
    finally:
        proxy.stop()


# ------------------------------------------------------------------ encoder, kwargs, pools


@pytest.mark.parametrize("decode", [False, True])
def test_get_encoder_matches_redis_pys(redis_server: RedisServer, decode: bool) -> None:
    with Redis(port=redis_server.port, decode_responses=decode) as mine:
        theirs = redis.Redis(port=redis_server.port, decode_responses=decode).get_encoder()
        encoder = mine.get_encoder()
        for value in ("héllo", b"raw", 42, 1.5, memoryview(b"mv")):
            assert encoder.encode(value) == bytes(theirs.encode(value))
        for value in (b"h\xc3\xa9", "text", 5):
            assert encoder.decode(value) == theirs.decode(value)
            assert encoder.decode(value, force=True) == theirs.decode(value, force=True)
        assert (encoder.encoding, encoder.decode_responses) == ("utf-8", decode)
        for bad in (None, True, [1]):
            with pytest.raises(redis.exceptions.DataError):
                theirs.encode(bad)
            with pytest.raises(ValueError):  # greenpool's DataError is a ValueError too
                encoder.encode(bad)


def test_connection_kwargs_make_an_equal_client(r: Redis) -> None:
    kwargs = r.get_connection_kwargs()
    assert kwargs["protocol"] == r.protocol and kwargs["db"] == 0
    with Redis(**kwargs) as again:
        assert again.settings == r.settings
        assert again.ping() is True
    other = r.client()
    try:
        assert other is not r and other.get_connection_kwargs() == kwargs
        assert other.client_id() != r.client_id()
    finally:
        other.close()
    assert r.get_cache() is None


def test_from_pool_takes_a_node_and_owns_it(r: Redis) -> None:
    node = Node(r.settings)
    client = Redis.from_pool(node)
    assert client.node is node and client.ping() is True
    client.close()
    assert node.closed
    with pytest.raises(ConfigurationError, match="connection_pool"):
        Redis.from_pool(redis.ConnectionPool())  # type: ignore[arg-type]


def test_pipeline_watch_multi_misuse_matches_redis_py(
    r: Redis, theirs: redis.Redis, key: str
) -> None:
    outcomes = []
    for client in (r, theirs):
        seen = []
        with client.pipeline() as pipe:
            seen.append(pipe.watch(key))
            seen.append(pipe.get(key))  # immediate mode
            pipe.multi()
            for misuse in (pipe.multi, lambda: pipe.watch(key)):
                try:
                    misuse()
                except Exception as exc:
                    seen.append((_name(exc), str(exc)))
            pipe.set(key, "v")
            seen.append(pipe.execute())
        with client.pipeline() as pipe:
            pipe.get(key)
            try:
                pipe.multi()
            except Exception as exc:
                seen.append((_name(exc), str(exc)))
            seen.append(pipe.unwatch())
        outcomes.append(seen)
        client.delete(key)
    assert outcomes[0] == outcomes[1]


def _name(exc: Exception) -> str:
    # greenpool.redis.exceptions.RedisError is greenpool's base error under its own name.
    name = type(exc).__name__
    return "RedisError" if name == "GreenpoolError" else name


@pytest.mark.parametrize("how", ["kill", "timeout"])
def test_a_transaction_interrupted_in_its_function_leaves_nothing_behind(
    r: Redis, key: str, how: str
) -> None:
    r.set(key, 0)
    entered = gevent.event.Event()

    def slow(pipe: Pipeline) -> None:
        pipe.get(key)  # WATCH is active on the dedicated connection now
        entered.set()
        gevent.sleep(10)

    if how == "kill":
        worker = gevent.spawn(r.transaction, slow, key)
        entered.wait(5)
        worker.kill()
    else:
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.1):
            r.transaction(slow, key)
    # The connection that held the WATCH was closed, not reused: a later
    # transaction is not aborted by the key changing now.
    stats = r.dedicated_pool.stats()
    assert (stats["pool_in_use"], stats["connections"]) == (0, 0)
    r.set(key, 5)

    def add(pipe: Pipeline) -> None:
        pipe.multi()
        pipe.incr(key)

    assert r.transaction(add) == [6]


def test_callbacks_and_retry_keep_no_cycle(redis_server: RedisServer) -> None:
    import gc
    import weakref

    gc.disable()
    try:
        client = Redis(host=redis_server.host, port=redis_server.port)
        client.set_response_callback("PING", lambda reply, **options: "pong")
        client.set_retry(Retry(NoBackoff(), 1))
        assert client.ping() == "pong"
        pipe = client.pipeline()
        assert pipe.ping().execute() == ["pong"]
        dropped = weakref.ref(client), weakref.ref(pipe)
        del client, pipe
        assert [ref() for ref in dropped] == [None, None]  # freed without the collector
    finally:
        gc.enable()


def test_dedicated_connections_all_busy_raise_redis_pys_connection_error(
    redis_server: RedisServer, key: str
) -> None:
    from greenpool import NoConnectionAvailable
    from greenpool.redis.exceptions import MaxConnectionsError

    with Redis(host=redis_server.host, port=redis_server.port, max_connections=1,
               pool_timeout=0.05) as client:
        holder = gevent.spawn(client.blpop, [key], timeout=2)
        gevent.sleep(0.05)
        for call in (lambda: client.blpop([key], timeout=1),
                     lambda: client.pipeline().ping().execute(),
                     client.quit):
            with pytest.raises(MaxConnectionsError) as caught:
                call()
            error = caught.value
            assert isinstance(error, ConnectionError)  # what redis-py's pools raise
            assert isinstance(error, NoConnectionAvailable)  # greenpool's, with its report
            assert "redis-dedicated" in str(error)
        client.lpush(key, "x")
        assert holder.get(timeout=5) == (key.encode(), b"x")
