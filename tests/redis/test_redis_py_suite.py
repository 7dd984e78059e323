"""What redis-py's own test suite found: each case cross-checked against redis-py.

These are the incompatibilities found by running redis-py's tests against
``greenpool.redis.Redis`` (docs/redis.md, "redis-py's own tests"); each test
runs the same steps through redis-py and through greenpool on one live server
and compares what they give (or raise).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import gevent
import pytest
import redis

from greenpool import ConfigurationError, ConnectionError
from greenpool.redis import PubSubError, Redis, Subscription, WatchError
from greenpool.testing import RedisServer
from tests.helpers import poll_twice_without_yielding


@pytest.fixture
def ours(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.delete("t:rps:a", "t:rps:b", "t:rps:src", "t:rps:dst")
    client.close()


@pytest.fixture
def theirs(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=2)
    yield client
    client.close()


def _outcome(step: Callable[[], Any]) -> Any:
    """What a step gives, or the name of the error class it raises."""
    try:
        return step()
    except Exception as exc:  # the class's name: redis-py's and ours are distinct classes
        return ("raised", type(exc).__name__)


# ---------------------------------------------------------------------- pipelines


def _empty_watched_transaction(client: Any) -> Any:
    client.set("t:rps:a", 1)
    with client.pipeline() as pipe:
        pipe.watch("t:rps:a")
        client.set("t:rps:a", 2)  # another client's write: EXEC must fail
        pipe.multi()
        return _outcome(pipe.execute)


def test_an_empty_transaction_still_checks_the_watched_keys(ours: Redis,
                                                            theirs: redis.Redis) -> None:
    mine = _empty_watched_transaction(ours)
    assert mine == _empty_watched_transaction(theirs) == ("raised", "WatchError")
    with ours.pipeline() as pipe:  # unchanged keys: the empty transaction runs, gives []
        pipe.watch("t:rps:a")
        pipe.multi()
        assert pipe.execute() == []
        assert pipe.watching is False


def _discarded(client: Any, transaction: bool) -> Any:
    with client.pipeline(transaction=transaction) as pipe:
        pipe.set("t:rps:a", "x")
        pipe.discard()
        failed = _outcome(pipe.execute)
    with client.pipeline(transaction=transaction) as pipe:  # the pipeline works afterwards
        return failed, pipe.set("t:rps:b", "y").get("t:rps:b").execute(), client.get("t:rps:a")


@pytest.mark.parametrize("transaction", [True, False])
def test_discard_runs_nothing_and_execute_raises(ours: Redis, theirs: redis.Redis,
                                                 transaction: bool) -> None:
    theirs.delete("t:rps:a")
    reference = _discarded(theirs, transaction)
    theirs.delete("t:rps:a", "t:rps:b")
    assert _discarded(ours, transaction) == reference
    assert reference[0] == ("raised", "ResponseError")
    if transaction:
        assert reference[2] is None  # in a transaction nothing buffered ran


def test_close_resets_and_closing_works(ours: Redis) -> None:
    pipe = ours.pipeline()
    pipe.watch("t:rps:a")
    pipe.set("t:rps:a", 1)
    pipe.close()
    assert pipe.watching is False and len(pipe) == 0
    assert ours.dedicated_pool.checkedout() == 0
    with contextlib.closing(ours.pipeline()) as pipe:
        assert pipe.ping().execute() == [True]


def _unwatch_seen(client: Any, watched: Redis) -> bool:
    """Whether UNWATCH reached the server after a successful watched transaction."""
    with watched.monitor() as m:
        with client.pipeline() as pipe:
            pipe.watch("t:rps:a")
            pipe.multi()
            pipe.set("t:rps:b", 1)
            assert pipe.execute() == [True]
        watched.get("t:rps:marker")  # the end of the commands to look at
        while True:
            command = m.next_command(timeout=2)["command"]
            if "t:rps:marker" in command:
                return False
            if command.startswith("UNWATCH"):
                return True


def test_exec_forgets_the_watched_keys_without_an_unwatch(ours: Redis,
                                                          theirs: redis.Redis) -> None:
    assert _unwatch_seen(ours, ours) is _unwatch_seen(theirs, ours) is False
    with ours.pipeline() as pipe:  # a reset while watching still sends UNWATCH
        pipe.watch("t:rps:a")
        assert pipe.watching is True
    with pytest.raises(WatchError), ours.pipeline() as pipe:  # a change is still seen
        pipe.watch("t:rps:a")
        ours.set("t:rps:a", "changed")
        pipe.multi()
        pipe.get("t:rps:a")
        pipe.execute()


def _empty_mget(client: Any, transaction: bool) -> Any:
    with client.pipeline(transaction=transaction) as pipe:
        queued = pipe.set("t:rps:a", 1).mget([]).set("t:rps:b", 2).mget("t:rps:a", "t:rps:b")
        got = [queued is pipe, len(pipe), pipe.execute(raise_on_error=False)]
    with client.pipeline(transaction=transaction) as pipe:
        got.append(pipe.mget([]).execute())
    return got, client.mget([])


@pytest.mark.parametrize("transaction", [True, False])
def test_mget_of_no_keys_is_queued_in_a_pipeline(ours: Redis, theirs: redis.Redis,
                                                 transaction: bool) -> None:
    mine = _empty_mget(ours, transaction)
    assert mine == _empty_mget(theirs, transaction)
    assert mine == ([True, 4, [True, [], True, [b"1", b"2"]], [[]]], [])


def _refused_after_mget(client: Any, transaction: bool) -> str:
    with client.pipeline(transaction=transaction) as pipe:
        pipe.mget([]).set("t:rps:a", 1).execute_command("GET")  # GET without its key
        with pytest.raises(Exception) as caught:
            pipe.execute()
    return str(caught.value)


@pytest.mark.parametrize("transaction", [True, False])
def test_a_refused_command_is_numbered_among_queued_mgets(ours: Redis, theirs: redis.Redis,
                                                          transaction: bool) -> None:
    mine = _refused_after_mget(ours, transaction)
    assert mine.startswith("Command # 3 (GET) of pipeline caused error: ")
    # redis-py's transaction fails on its own queued [] here (TypeError): compare
    # with its pipeline, which numbers the same way.
    assert _refused_after_mget(theirs, False).startswith("Command # 3 (GET) of pipeline")


# ---------------------------------------------------------------------- MONITOR


def _monitored(monitoring: Any, client: Redis, *args: Any) -> dict[str, Any]:
    with monitoring.monitor() as m:  # MONITOR has started once the context is entered
        client.execute_command(*args)
        for _ in range(50):
            seen = m.next_command()
            if "t:rps:" in seen["command"]:
                return dict(seen)
    raise AssertionError("the command was not seen")


@pytest.mark.parametrize("args", [
    ("SET", "t:rps:a", "plain"),
    ("SET", "t:rps:a", 'with "quotes" and \\ a backslash'),
    ("SET", "t:rps:a b", "spaces in a key"),
    ("SET", "t:rps:a", b"\xff\x00binary"),
    ("SET", "t:rps:a", ""),
])
def test_monitor_gives_the_command_as_redis_py_does(ours: Redis, theirs: redis.Redis,
                                                    args: tuple[Any, ...]) -> None:
    mine = _monitored(ours, ours, *args)
    reference = _monitored(theirs, ours, *args)
    assert mine["command"] == reference["command"]
    assert (mine["db"], mine["client_address"]) == (reference["db"], reference["client_address"])
    ours.delete("t:rps:a b")


# ---------------------------------------------------------------------- commands


@pytest.mark.parametrize("wrap", [bytes, memoryview], ids=["bytes", "memoryview"])
def test_lmove_takes_directions_as_bytes(ours: Redis, theirs: redis.Redis,
                                         wrap: Callable[[bytes], Any]) -> None:
    results = []
    for client in (theirs, ours):
        client.delete("t:rps:src", "t:rps:dst")
        client.rpush("t:rps:src", "a", "b", "c")
        results.append((
            client.lmove("t:rps:src", "t:rps:dst", wrap(b"LEFT"), wrap(b"RIGHT")),
            client.blmove("t:rps:src", "t:rps:dst", 1, wrap(b"right"), wrap(b"left")),
            client.lrange("t:rps:dst", 0, -1),
        ))
    assert results[0] == results[1] == (b"a", b"c", [b"c", b"a"])


@pytest.mark.parametrize("call", [
    lambda c: c.hmset("t:rps:a", {"f": "v"}),
    lambda c: c.setex("t:rps:b", 10, "v"),
], ids=["hmset", "setex"])
def test_deprecated_methods_warn_as_redis_py_does(ours: Redis, theirs: redis.Redis,
                                                  call: Callable[[Any], Any]) -> None:
    kinds = []
    for client in (theirs, ours):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert call(client) is True
        kinds.append([w.category for w in caught])
    assert kinds[0] == kinds[1] == [DeprecationWarning]


# ---------------------------------------------------------------------- connecting


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_nopass_acl_user_connects_with_a_username_alone(ours: Redis, theirs: redis.Redis,
                                                          redis_server: RedisServer,
                                                          protocol: int) -> None:
    ours.acl_setuser("t-rps-nopass", enabled=True, reset=True, nopass=True,
                     commands=["+get", "+acl|whoami"], keys=["t:rps:*"])
    try:
        whoami = []
        for cls in (redis.Redis, Redis):
            client = cls(host=redis_server.host, port=redis_server.port,
                         username="t-rps-nopass", protocol=protocol)
            whoami.append((client.acl_whoami(), _outcome(partial(client.set, "t:rps:a", 1))))
            client.close()
        # (pinned to RESP3 both give the reply as sent, bytes; RESP2's shape is str)
        assert whoami[0][0] == whoami[1][0] == (b"t-rps-nopass" if protocol == 3
                                                else "t-rps-nopass")
        assert whoami[0][1] == whoami[1][1] == ("raised", "NoPermissionError")
    finally:
        ours.acl_deluser("t-rps-nopass")


def test_a_username_alone_is_refused_by_a_user_with_a_password(ours: Redis,
                                                               redis_server: RedisServer) -> None:
    ours.acl_setuser("t-rps-pw", enabled=True, reset=True, passwords=["+secret"],
                     commands=["+@all"], keys=["*"])
    try:
        client = Redis(host=redis_server.host, port=redis_server.port, username="t-rps-pw")
        with pytest.raises(ConnectionError) as caught:  # AuthenticationError is one too
            client.get("t:rps:a")
        assert "WRONGPASS" in str(caught.value) and "secret" not in str(caught.value)
        client.close()
    finally:
        ours.acl_deluser("t-rps-pw")


# ---------------------------------------------------------------------- pub/sub


def _polled(client: Any, publisher: Redis) -> list[Any]:
    """redis-py's documented loop: get_message() and time.sleep (not gevent's)."""
    p = client.pubsub()
    p.subscribe("t:rps:chan")
    seen = poll_twice_without_yielding(p.get_message,
                                       lambda: publisher.publish("t:rps:chan", "hello"))
    p.close()
    return seen


def test_polling_get_message_without_yielding_sees_the_messages(ours: Redis,
                                                                theirs: redis.Redis) -> None:
    mine = _polled(ours, ours)
    assert mine == _polled(theirs, ours)
    assert [m["type"] for m in mine] == ["subscribe", "message"]


def _confirmations(client: Any) -> list[Any]:
    p = client.pubsub()
    p.psubscribe("t:rps:p*")
    p.subscribe("t:rps:chan")
    p.punsubscribe("t:rps:p*")
    p.unsubscribe("t:rps:chan")
    seen = [p.get_message(timeout=2) for _ in range(4)]
    p.close()
    return seen


def test_subscribe_confirmations_have_redis_py_shape(ours: Redis, theirs: redis.Redis) -> None:
    mine = _confirmations(ours)
    assert mine == _confirmations(theirs)
    assert mine[0] == {"type": "psubscribe", "pattern": None, "channel": b"t:rps:p*", "data": 1}


@pytest.mark.parametrize("kwargs", [{}, {"daemon": True}, {"sleep_time": 0.0, "daemon": False}])
def test_run_in_thread_takes_redis_py_arguments(ours: Redis, kwargs: dict[str, Any]) -> None:
    got: list[Any] = []
    p = ours.pubsub()
    p.subscribe(**{"t:rps:chan": got.append})
    worker = p.run_in_thread(**kwargs)
    try:
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            ours.publish("t:rps:chan", "x")
            gevent.sleep(0.01)
        assert got and got[0]["data"] == b"x"
    finally:
        worker.stop()
    worker.join(timeout=2)
    assert worker.dead


def _next(p: Any, read: str = "get_message", seconds: float = 2.0) -> Any:
    """The next message a poll gives (None after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = getattr(p, read)(timeout=0.1)
        if message is not None:
            return message
    return None


def _sharded(client: Any, subscription: Any, publisher: Redis) -> Any:
    handled: list[Any] = []
    p = client.pubsub()
    p.ssubscribe("t:rps:s1", subscription("t:rps:s2", handled.append))
    steps: list[Any] = [p.subscribed, _next(p, "get_sharded_message"), _next(p)]
    publisher.spublish("t:rps:s1", "one")
    publisher.spublish("t:rps:s2", "two")
    steps += [_next(p, "get_sharded_message"), p.get_sharded_message(timeout=2)]
    p.sunsubscribe("t:rps:s1")
    steps += [sorted(p.shard_channels), set(p.pending_unsubscribe_shard_channels)]
    steps += [_next(p), sorted(p.shard_channels), set(p.pending_unsubscribe_shard_channels)]
    publisher.spublish("t:rps:s2", "three")
    p.sunsubscribe()
    # listen() gives what comes until the last unsubscription is confirmed.
    steps += [list(p.listen()), p.subscribed, p.shard_channels]
    p.close()
    return steps, handled


def test_sharded_pubsub_on_one_server_as_redis_py(ours: Redis, theirs: redis.Redis) -> None:
    mine = _sharded(ours, Subscription, ours)
    assert mine == _sharded(theirs, redis.Subscription, ours)
    steps, handled = mine
    assert steps[1] == {"type": "ssubscribe", "pattern": None, "channel": b"t:rps:s1", "data": 1}
    assert steps[3] == {"type": "smessage", "pattern": None, "channel": b"t:rps:s1",
                        "data": b"one"}
    assert steps[4] is None  # handled
    assert steps[5:7] == [[b"t:rps:s1", b"t:rps:s2"], {b"t:rps:s1"}]  # until confirmed
    assert steps[8:10] == [[b"t:rps:s2"], set()]
    assert [m["type"] for m in steps[10]] == ["sunsubscribe"]
    assert steps[11:] == [False, {}]
    assert [m["data"] for m in handled] == [b"two", b"three"]


def _renewed(client: Any, publisher: Redis, kind: str) -> Any:
    subscribe, publish = {"shard": ("ssubscribe", publisher.spublish),
                          "plain": ("subscribe", publisher.publish)}[kind]
    p = client.pubsub()
    getattr(p, subscribe)("t:rps:r1", "t:rps:r2")
    seen = [_next(p), _next(p)]
    publisher.client_kill_filter(_type="pubsub")
    seen += [_next(p), _next(p)]  # the reconnection's confirmations, in any order
    publish("t:rps:r1", "back")
    seen.append(_next(p))
    p.close()
    return seen[:2], sorted(m["channel"] for m in seen[2:4]), seen[4]


@pytest.mark.parametrize("kind", ["shard", "plain"])
def test_a_broken_connection_is_subscribed_again(ours: Redis, theirs: redis.Redis,
                                                 kind: str) -> None:
    mine = _renewed(ours, ours, kind)
    assert mine == _renewed(theirs, ours, kind)
    assert mine[1] == [b"t:rps:r1", b"t:rps:r2"]
    assert mine[2]["data"] == b"back"


def test_a_sharded_worker_greenlet(ours: Redis) -> None:
    got: list[Any] = []
    p = ours.pubsub()
    p.ssubscribe("t:rps:s9")
    with pytest.raises(PubSubError, match="shard channel"):
        p.run_in_thread(sharded_pubsub=True)  # no handler
    p.ssubscribe(Subscription("t:rps:s9", got.append))
    worker = p.run_in_thread(sleep_time=0.05, sharded_pubsub=True)
    try:
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            ours.spublish("t:rps:s9", "x")
            gevent.sleep(0.02)
        assert got and got[0]["type"] == "smessage" and got[0]["data"] == b"x"
    finally:
        worker.stop()
    worker.join(timeout=2)
    assert worker.dead


@pytest.mark.parametrize("kind", ["channel", "pattern", "shard"])
def test_subscription_objects_name_binary_channels(ours: Redis, theirs: redis.Redis,
                                                   kind: str) -> None:
    name = b"t:rps:\x80\x81"
    subscribe, publish, send = {
        "channel": ("subscribe", ours.publish, name),
        "pattern": ("psubscribe", ours.publish, b"t:rps:\x80*"),
        "shard": ("ssubscribe", ours.spublish, name),
    }[kind]

    def run(client: Any, subscription: Any) -> Any:
        handled: list[Any] = []
        p = client.pubsub()
        getattr(p, subscribe)(subscription(send, handled.append))
        confirmed = _next(p)
        publish(name, "hi")
        given = p.get_message(timeout=2)
        p.close()
        return confirmed, given, handled

    mine = run(ours, Subscription)
    assert mine == run(theirs, redis.Subscription)
    assert mine[0]["channel"] == send and mine[1] is None
    assert [m["data"] for m in mine[2]] == [b"hi"]


def _flags(client: Any, kind: str) -> list[Any]:
    sub, unsub = {"channel": ("subscribe", "unsubscribe"),
                  "pattern": ("psubscribe", "punsubscribe"),
                  "shard": ("ssubscribe", "sunsubscribe")}[kind]
    p = client.pubsub()
    flags = [p.subscribed]
    getattr(p, sub)("t:rps:f1")
    flags += [p.subscribed, _next(p)["type"], p.subscribed]
    getattr(p, unsub)()
    flags.append(p.subscribed)  # the confirmation is not read yet
    flags += [_next(p)["type"], p.subscribed]
    getattr(p, sub)("t:rps:f1")
    getattr(p, unsub)("t:rps:f1")
    getattr(p, sub)("t:rps:f2")  # before the unsubscription is confirmed
    flags += [_next(p)["data"], _next(p)["data"], p.subscribed, _next(p)["data"], p.subscribed]
    p.close()
    return flags


@pytest.mark.parametrize("kind", ["channel", "pattern", "shard"])
def test_subscribed_turns_false_when_the_confirmation_is_read(ours: Redis, theirs: redis.Redis,
                                                              kind: str) -> None:
    mine = _flags(ours, kind)
    assert mine == _flags(theirs, kind)
    assert mine[:7] == [False, True, mine[2], True, True, mine[5], False]
    assert mine[-3:] == [True, 1, True]


def _pongs(client: Any) -> list[Any]:
    p = client.pubsub(ignore_subscribe_messages=True)
    p.subscribe("t:rps:chan")
    p.ping()
    p.ping("hello")
    seen = [_next(p), _next(p)]
    p.close()
    return seen


@pytest.mark.parametrize("protocol", [2, 3])
def test_pubsub_ping_answers_are_pong_messages(redis_server: RedisServer, protocol: int) -> None:
    ours = Redis(host=redis_server.host, port=redis_server.port, protocol=protocol)
    theirs = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=protocol)
    try:
        mine = _pongs(ours)
        assert mine == _pongs(theirs)
        assert [m["data"] for m in mine] == [b"", b"hello"]
        assert {m["type"] for m in mine} == {"pong"}
    finally:
        ours.close()
        theirs.close()


# ---------------------------------------------------------------------- scripts


@pytest.mark.parametrize("decode", [False, True])
def test_script_get_encoder_is_the_clients(redis_server: RedisServer, decode: bool) -> None:
    ours = Redis(host=redis_server.host, port=redis_server.port, decode_responses=decode)
    theirs = redis.Redis(host=redis_server.host, port=redis_server.port,
                         decode_responses=decode)
    try:
        mine = ours.register_script("return 1").get_encoder()
        reference = theirs.register_script("return 1").get_encoder()
        for value in ("é", b"\xc3\xa9", 5, 1.5):
            assert mine.encode(value) == reference.encode(value)
            assert mine.decode(mine.encode(value)) == reference.decode(reference.encode(value))
    finally:
        ours.close()
        theirs.close()


# ---------------------------------------------------------------------- constructor


def test_redis_py_options_asking_for_what_greenpool_does_are_accepted(
        redis_server: RedisServer) -> None:
    accepted = {"socket_keepalive": True, "retry_on_timeout": False, "retry_on_error": [],
                "legacy_responses": True}
    for name, value in accepted.items():
        with warnings.catch_warnings():  # redis-py deprecates retry_on_timeout
            warnings.simplefilter("ignore", DeprecationWarning)
            redis.Redis(host=redis_server.host, port=redis_server.port, **{name: value}).close()
        client = Redis(host=redis_server.host, port=redis_server.port, **{name: value})
        assert client.ping() is True
        client.close()
    Redis(retry_on_error=None).close()
    for name, value in {"socket_keepalive": False, "retry_on_timeout": True,
                        "retry_on_error": [TimeoutError], "legacy_responses": "no"}.items():
        with pytest.raises(ConfigurationError) as caught:
            Redis(**{name: value})
        assert caught.value.argument == name


# ---------------------------------------------------------------------- numbers as text


def _numbers_as_text(client: Any) -> Any:
    # Code written for redis-py passes numbers as text (read from a URL, an
    # environment variable, a form): redis-py sends the text as it is.
    client.delete("t:rps:a", "t:rps:b")
    client.rpush("t:rps:a", "x", "y", "z")
    client.set("t:rps:b", "hello")
    steps = [
        lambda: client.lindex("t:rps:a", "1"),
        lambda: client.lindex("t:rps:a", b"-1"),
        lambda: client.lrange("t:rps:a", "0", "-1"),
        lambda: client.lmpop("1", "t:rps:a", direction="LEFT", count="2"),
        lambda: client.getrange("t:rps:b", "1", "3"),
        lambda: client.incrbyfloat("t:rps:n", "1.5"),
        lambda: client.incrby("t:rps:n2", "2"),
        lambda: client.expire("t:rps:b", "100"),
        lambda: client.zadd("t:rps:z", {"m": 1}) and client.zrange("t:rps:z", "0", "-1"),
        # Text the server would refuse: a ResponseError either way (greenpool's
        # before sending, a RefusedArgumentError; redis-py's from the server).
        lambda: client.lindex("t:rps:a", "one") is not None,
        lambda: client.lindex("t:rps:a", "01") is not None,
    ]
    out = [_outcome(step) for step in steps]
    client.delete("t:rps:a", "t:rps:b", "t:rps:n", "t:rps:n2", "t:rps:z")
    return out


def test_numbers_given_as_text_work_as_in_redis_py(ours: Redis, theirs: redis.Redis) -> None:
    mine, reference = _numbers_as_text(ours), _numbers_as_text(theirs)
    assert mine[:9] == reference[:9]
    assert mine[:4] == [b"y", b"z", [b"x", b"y", b"z"], [b"t:rps:a", [b"x", b"y"]]]
    # The refused ones: greenpool's before sending, with an error that is both
    # a DataError and the ResponseError redis-py gets from the server.
    assert mine[9:] == [("raised", "RefusedArgumentError")] * 2
    assert reference[9:] == [("raised", "ResponseError")] * 2


# ---------------------------------------------------------------------- connection_pool


def _through_connection_pool(client: Any) -> Any:
    # redis-py code reaches the pool for its settings and to drop connections.
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    before = client.client_id()
    pool.disconnect()
    after = client.client_id()  # works again, over a new connection
    pool.reset()
    client.set("t:rps:a", "1")
    return (
        {k: kwargs.get(k) for k in ("host", "port", "db", "username", "password")},
        before != after,
        client.get("t:rps:a"),
        type(pool.max_connections) is int and pool.max_connections > 0,
        pool.get_encoder().encode(1),
    )


def test_connection_pool_disconnect_reset_and_kwargs_as_in_redis_py(
    ours: Redis, theirs: redis.Redis
) -> None:
    assert _through_connection_pool(ours) == _through_connection_pool(theirs)
    # Idle dedicated connections only: the shared one stays.
    ours.blpop(["t:rps:none"], timeout=0.01)  # opens a dedicated connection
    assert ours.connection_pool.connections_used()["dedicated"] == 1
    shared = ours.client_id()
    ours.connection_pool.disconnect(inuse_connections=False)
    assert ours.connection_pool.connections_used()["dedicated"] == 0
    assert ours.client_id() == shared


def _connection_story(client: Any, publisher: Redis) -> list[Any]:
    """p.connection through a PubSub's life, a disconnect() and a reuse after reset()."""
    seen: list[Any] = []
    p = client.pubsub()
    seen.append(p.connection is None)  # nothing subscribed yet
    p.subscribe("t:rps:c1")
    seen.append(p.connection is not None)
    seen.append(_next_data(p))  # the confirmation: subscribed on the server now
    publisher.publish("t:rps:c1", "first")
    seen.append(_next_data(p))
    p.connection.disconnect()
    seen.append(p.connection is not None)  # kept, reconnected by the next read
    seen.append(_next_data(p))  # reconnected, subscribed again: the confirmation
    publisher.publish("t:rps:c1", "after disconnect")
    seen.append(_next_data(p))
    publisher.publish("t:rps:c1", "never read")
    time.sleep(0.05)
    p.reset()
    seen += [p.connection is None, dict(p.channels), p.subscribed]
    p.subscribe("t:rps:c2")  # used again: a new connection, nothing old on it
    seen.append(_next_data(p))
    publisher.publish("t:rps:c2", "reused")
    seen.append(_next_data(p))
    seen.append(_next_data(p, 0.1))
    p.close()
    return seen


def _next_data(p: Any, timeout: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = p.get_message(timeout=0.05)
        if message is not None:
            return message["data"]
    return None


def test_pubsub_connection_disconnect_and_reuse_after_reset(
    ours: Redis, theirs: redis.Redis,
) -> None:
    mine = _connection_story(ours, ours)
    assert mine == _connection_story(theirs, ours)
    assert mine == [
        True, True, 1, b"first", True, 1, b"after disconnect", True, {}, False, 1, b"reused",
        None,
    ]


def _shared_pool_story(module: Any, port: int) -> list[Any]:
    """redis-py's ConnectionPool pattern: clients sharing one pool, one closed."""
    pool = module.ConnectionPool(host="localhost", port=port, max_connections=4,
                                 decode_responses=True)
    first, second = module.Redis(connection_pool=pool), module.Redis(connection_pool=pool)
    seen: list[Any] = [first.connection_pool is pool, second.connection_pool is pool]
    seen.append(first.set("t:rps:pool", "shared"))
    seen.append(second.get("t:rps:pool"))
    first.close()  # the pool is shared: the other client goes on
    seen.append(second.get("t:rps:pool"))
    seen.append(second.pipeline().incr("t:rps:pool:n").incr("t:rps:pool:n").execute())
    pool.disconnect()
    seen.append(second.get("t:rps:pool"))  # connects again
    from_url = module.ConnectionPool.from_url(f"redis://localhost:{port}/0?decode_responses=True")
    third = module.Redis(connection_pool=from_url)
    seen.append(third.get("t:rps:pool"))
    seen.append(module.from_url(f"redis://localhost:{port}/0").get("t:rps:pool"))
    seen.append(module.StrictRedis is module.Redis)
    second.delete("t:rps:pool:n")
    for closable in (second, third, pool, from_url):
        closable.close() if hasattr(closable, "close") else closable.disconnect()
    return seen


def test_clients_sharing_a_connection_pool_as_redis_py(
    ours: Redis, theirs: redis.Redis, redis_server: RedisServer,
) -> None:
    import greenpool.redis as gp_redis

    mine = _shared_pool_story(gp_redis, redis_server.port)
    assert mine == _shared_pool_story(redis, redis_server.port)
    assert mine == [True, True, True, "shared", "shared", [1, 2], "shared", "shared",
                    b"shared", True]


def test_a_blocking_connection_pool_waits_its_timeout(redis_server: RedisServer) -> None:
    from greenpool.redis import BlockingConnectionPool, MaxConnectionsError

    pool = BlockingConnectionPool(host="localhost", port=redis_server.port,
                                  max_connections=1, timeout=0.1)
    r = Redis(connection_pool=pool)
    try:
        holder = r.pipeline()
        holder.watch("t:rps:block")  # holds the one dedicated connection
        started = time.monotonic()
        waiter = gevent.spawn(lambda: r.pipeline().get("t:rps:block").execute())
        waiter.join(5)
        assert isinstance(waiter.exception, MaxConnectionsError)
        assert 0.09 < time.monotonic() - started < 2
        holder.reset()
        assert r.pipeline().get("t:rps:block").execute() == [None]
    finally:
        r.close()
        pool.close()


def test_connection_pool_arguments_are_checked() -> None:
    from greenpool.redis import ConnectionPool

    with pytest.raises(ConfigurationError, match="connection_class"):
        ConnectionPool(connection_class=redis.SSLConnection)
    with pytest.raises(ConfigurationError, match="not a Redis"):
        ConnectionPool(host="localhost", no_such_option=1)
    with pytest.raises(ConfigurationError, match="connect_now"):
        ConnectionPool(connect_now=True)
    with pytest.raises(ConfigurationError, match="max_connections"):
        ConnectionPool(max_connections=0)
    with pytest.raises(ConfigurationError, match="connection_pool"):
        Redis(connection_pool=redis.ConnectionPool())
    with pytest.raises(ConfigurationError, match="connection_pool"):
        Redis.from_pool(object())  # type: ignore[arg-type]


class _Rotating:
    """A provider whose password the test rotates (a short-lived token)."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.asked = 0

    def get_credentials(self) -> tuple[str, str]:
        self.asked += 1
        return ("t-rps-cred", self.password)


def _provider_story(module: Any, port: int, admin: Redis) -> list[Any]:
    seen: list[Any] = []
    fixed = module.Redis(
        port=port, credential_provider=module.UsernamePasswordCredentialProvider(
            "t-rps-cred", "first"),
    )
    seen.append(fixed.acl_whoami())
    fixed.close()
    rotating = _Rotating("first")
    client = module.Redis(port=port, credential_provider=rotating)
    seen.append(client.acl_whoami())
    asked = rotating.asked
    admin.acl_setuser("t-rps-cred", enabled=True, passwords=["+second", "-first"])
    rotating.password = "second"
    client.connection_pool.disconnect()  # the next connect asks the provider again
    seen.append(client.acl_whoami())
    seen.append(rotating.asked > asked)
    client.close()
    admin.acl_setuser("t-rps-cred", enabled=True, passwords=["+first", "-second"])
    return seen


def test_a_credential_provider_is_asked_at_every_connect(
    ours: Redis, redis_server: RedisServer,
) -> None:
    import greenpool.redis as gp_redis

    ours.acl_setuser("t-rps-cred", enabled=True, reset=True, passwords=["+first"],
                     commands=["+@all"], keys=["*"])
    try:
        mine = _provider_story(gp_redis, redis_server.port, ours)
        assert mine == _provider_story(redis, redis_server.port, ours)
        assert mine[:3] == ["t-rps-cred"] * 3 and mine[3] is True
        # redis-py's own provider class works as it is.
        theirs = redis.UsernamePasswordCredentialProvider("t-rps-cred", "first")
        client = Redis(port=redis_server.port, credential_provider=theirs)
        assert client.acl_whoami() == "t-rps-cred"
        client.close()
        # A provider that fails: the connect fails, without the provider's text.
        class Broken:
            def get_credentials(self) -> tuple[str]:
                raise RuntimeError("vault said: hunter2")

        client = Redis(port=redis_server.port, credential_provider=Broken())
        with pytest.raises(ConnectionError) as caught:  # an AuthenticationError, chained
            client.ping()
        assert isinstance(caught.value.__cause__, gp_redis.AuthenticationError)
        assert "hunter2" not in str(caught.value) and "RuntimeError" in str(caught.value)
        client.close()
        assert "first" not in repr(gp_redis.UsernamePasswordCredentialProvider("u", "first"))
    finally:
        ours.acl_deluser("t-rps-cred")


def test_credential_provider_arguments_are_checked() -> None:
    from greenpool.redis import UsernamePasswordCredentialProvider

    provider = UsernamePasswordCredentialProvider("u", "p")
    with pytest.raises(ConfigurationError, match="one or the other"):
        Redis(password="p", credential_provider=provider)
    with pytest.raises(ConfigurationError, match="get_credentials"):
        Redis(credential_provider="u:p")


def test_a_worker_ends_at_close_even_if_the_pubsub_is_used_again_at_once(ours: Redis) -> None:
    got: list[Any] = []
    p = ours.pubsub()
    p.subscribe(**{"t:rps:w1": got.append})
    worker = p.run_in_thread(sleep_time=0.05)
    try:
        gevent.sleep(0.1)
        p.close()
        p.subscribe(**{"t:rps:w2": got.append})  # reused before the worker looks
        worker.join(timeout=2)
        assert worker.dead
        assert p.connection is not None and p.subscribed
    finally:
        worker.stop()
        p.close()
