"""The pubsub group (PUBLISH and PUBSUB) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Keys, SocketRedis, t
from wire import assert_sends_same, case

from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_publish_and_pubsub_introspection(
    r: SocketRedis, k: Keys, redis_server: RedisServer
) -> None:
    channel = k("chan")
    assert r.publish(channel, "nobody") == 0
    subscriber = redis_server.connect_raw()
    try:
        subscriber.sendall(
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel.encode())
        )
        deadline = time.monotonic() + 5
        while r.pubsub_numsub(channel)[0][1] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert r.publish(channel, "hi") == 1
        assert r.pubsub_channels(k("*")) == [t(r, channel)]
        numsub = r.pubsub_numsub(channel, k("none"))
        assert numsub == [(t(r, channel), 1), (t(r, k("none")), 0)]
        assert type(numsub[0]) is tuple
        assert r.pubsub_numsub() == []
    finally:
        subscriber.close()
    assert r.pubsub_channels(k("nothing*")) == []


def test_sharded_pubsub_and_patterns(
    r: SocketRedis, k: Keys, redis_server: RedisServer
) -> None:
    channel = k("shard")
    assert r.spublish(channel, "nobody") == 0
    patterns = r.pubsub_numpat()
    subscriber = redis_server.connect_raw()
    try:
        for command in (b"SSUBSCRIBE", b"PSUBSCRIBE"):
            subscriber.sendall(
                b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(command), command, len(channel), channel.encode())
            )
        deadline = time.monotonic() + 5
        while r.pubsub_shardnumsub(channel)[0][1] == 0 or r.pubsub_numpat() == patterns:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert r.pubsub_numpat() == patterns + 1
        assert r.spublish(channel, "hi") == 1
        assert r.pubsub_shardchannels(k("*")) == [t(r, channel)]
        numsub = r.pubsub_shardnumsub(channel, k("none"))
        assert numsub == [(t(r, channel), 1), (t(r, k("none")), 0)]
        assert type(numsub[0]) is tuple
        assert r.pubsub_shardnumsub() == []
    finally:
        subscriber.close()
    assert r.pubsub_shardchannels(k("nothing*")) == []


PUBSUB_WIRE = [
    case("publish", "c", "m"),
    case("spublish", "c", "m"),
    case("pubsub_channels"),
    case("pubsub_channels", "news.*"),
    case("pubsub_shardchannels"),
    case("pubsub_shardchannels", "s.*"),
    case("pubsub_numpat"),
    case("pubsub_numsub", "a", "b"),
    case("pubsub_shardnumsub", "a", "b"),
    case("pubsub_shardnumsub"),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), PUBSUB_WIRE)
def test_sends_what_redis_py_sends(method: str, args: Any, kwargs: Any) -> None:
    assert_sends_same(method, *args, **kwargs)


# ============================================================================
# The same calls through redis-py


def pubsub_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["publish"] = c.publish(k("chan"), "hello")
    out["pubsub_channels"] = c.pubsub_channels(k("*"))
    out["pubsub_numsub"] = c.pubsub_numsub(k("chan"), k("other"))
    out["pubsub_numsub none"] = c.pubsub_numsub()
    out["spublish"] = c.spublish(k("shard"), "hello")
    out["pubsub_shardchannels"] = c.pubsub_shardchannels(k("*"))
    out["pubsub_shardchannels all"] = type(c.pubsub_shardchannels())
    out["pubsub_shardnumsub"] = c.pubsub_shardnumsub(k("shard"), k("other"))
    out["pubsub_shardnumsub none"] = c.pubsub_shardnumsub()
    out["pubsub_numpat"] = type(c.pubsub_numpat())
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pubsub_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(pubsub_scenario)
