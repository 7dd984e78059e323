"""Methods whose reply needs shaping, or that block, through the real client and its pipelines.

The group tests run on the reference executor; here the same methods go
through :class:`greenpool.redis.Redis` (shared and dedicated connections)
and through pipelines, where the reply shapes apply at ``execute()``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import gevent
import pytest

from greenpool.redis import Redis
from greenpool.testing import RedisServer

PLACES = [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"]


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Redis]:
    r = Redis(host=redis_server.host, port=redis_server.port, protocol=request.param,
              decode_responses=True)
    yield r
    r.close()


@pytest.fixture
def key(client: Redis) -> Iterator[str]:
    prefix = f"gp-through:{uuid.uuid4().hex[:8]}:"
    yield prefix
    found = list(client.scan_iter(match=prefix + "*"))
    if found:
        client.delete(*found)


@pytest.mark.parametrize("transaction", [True, False])
def test_shaped_replies_in_a_pipeline(client: Redis, key: str, transaction: bool) -> None:
    client.geoadd(key + "g", PLACES)
    client.rpush(key + "l", 2, 1)
    client.mset({key + "o_1": "one", key + "o_2": "two"})
    with client.pipeline(transaction=transaction) as pipe:
        pipe.bitfield(key + "b").set("u8", 0, 7).incrby("u8", 0, 1).execute()
        pipe.geosearch(key + "g", member="Palermo", radius=100, unit="km", withdist=True,
                       withhash=True)
        pipe.geopos(key + "g", "Catania")
        pipe.geohash(key + "g", "Palermo")
        pipe.sort(key + "l", get=["#", key + "o_*"], groups=True)
        pipe.lmpop(1, key + "l", direction="RIGHT")
        pipe.pfadd(key + "p", "a").pfmerge(key + "q", key + "p").hmset(key + "h", {"f": 1})
        results = pipe.execute()
    assert results[0] == [0, 8]
    assert results[1] == [["Palermo", 0.0, 3479099956230698]]
    assert results[2] == [pytest.approx((15.087269, 37.502669), abs=1e-5)]
    # redis-py's protocol=3 shape is the server's [lon, lat]; RESP2's a tuple
    assert type(results[2][0]) is (list if client.protocol == 3 else tuple)
    assert results[3] == ["sqc8b49rny0"]
    assert results[4] == [("1", "one"), ("2", "two")]
    assert results[5] == [key + "l", ["1"]]
    assert results[6:] == [1, True, True]


def test_blocking_commands_wait_on_dedicated_connections(client: Redis, key: str) -> None:
    # Shared connections keep serving while BLMPOP and WAIT block.
    blocked = gevent.spawn(client.blmpop, 0, 1, key + "l", direction="LEFT", count=2)
    waiting = gevent.spawn(client.wait, 1, 300)
    gevent.sleep(0.1)
    start = time.monotonic()
    assert client.rpush(key + "l", "a", "b", "c") == 3
    assert time.monotonic() - start < 0.25
    assert blocked.get(timeout=5) == [key + "l", ["a", "b"]]
    assert waiting.get(timeout=5) == 0
    assert client.blmpop(0.05, 1, key + "none", direction="LEFT") is None


def test_wait_in_a_pipeline_counts_the_pipeline_writes(client: Redis, key: str) -> None:
    with client.pipeline(transaction=False) as pipe:
        pipe.set(key + "a", 1).wait(0, 100)
        assert pipe.execute() == [True, 0]


def test_himport_fieldsets_are_kept_for_every_connection() -> None:
    # Redis 7.0 has no HIMPORT, so the bookkeeping runs against a server
    # process that answers +OK to everything: what is kept for the handshake
    # of every new connection, and forgotten.
    from scripted_server import ScriptedServer

    server = ScriptedServer(b"+OK\r\n")
    try:
        host, port = server.address.rsplit(":", 1)
        with Redis(host=host, port=int(port), health_check_interval=0) as r:
            kept = r.settings.connection_commands
            r.execute_command("CLIENT", "NO-EVICT", "ON")
            assert r.himport_prepare("fs1", ["a", "b"]) is True
            assert r.himport_prepare("fs2", iter(["c"])) is True
            assert r.himport_prepare("fs1", ["a", "b", "z"]) is True  # replaced
            assert list(kept.values()) == [
                ("CLIENT", "NO-EVICT", "ON"),
                ("HIMPORT", "PREPARE", "fs1", "a", "b", "z"),
                ("HIMPORT", "PREPARE", "fs2", "c"),
            ]
            r.himport_discard("fs1")
            assert list(kept.values())[1:] == [("HIMPORT", "PREPARE", "fs2", "c")]
            r.himport_prepare_internal("fs3", ["d"])
            r.himport_discard_all()
            assert list(kept.values()) == [("CLIENT", "NO-EVICT", "ON")]
    finally:
        server.stop()


def test_himport_on_a_server_without_it(client: Redis, key: str) -> None:
    from greenpool import ConfigurationError
    from greenpool.redis import ResponseError

    with pytest.raises(ResponseError, match="unknown command"):
        client.himport_prepare(key + "fs", ["a", "b"])
    assert client.settings.connection_commands == {}  # nothing kept
    with pytest.raises(ResponseError, match="unknown command"):
        client.himport_set(key + "h", key + "fs", ["1", "2"])  # not refused: any connection
    assert client.ping() is True
    with client.pipeline() as pipe, pytest.raises(ConfigurationError, match="every connection"):
        pipe.himport_prepare(key + "fs", ["a"])
