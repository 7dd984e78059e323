"""The sentinel group (SENTINEL MASTER, GET-MASTER-ADDR-BY-NAME ...) against real sentinels.

The session's sentinel set (``redis_sentinel``: a primary, two replicas,
three sentinels watching ``mymaster``) answers, through the reference
executor under the four client configurations and through the real client;
the scenarios are compared with redis-py.  The commands that change a
sentinel's state act on a service of the test's own (a ``fresh_redis``
server), never on ``mymaster``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from commands_executor import SocketRedis, assert_same, t
from wire import assert_sends_same

from greenpool.redis import Redis
from greenpool.redis.exceptions import ResponseError
from greenpool.testing import RedisSentinelSet, RedisServer

Results = dict[str, Any]

SERVICE = "mymaster"
EXTRA = "gp-extra-service"

# The fields of a sentinel's state that do not move while nothing fails.
STABLE = ("name", "ip", "port", "flags", "quorum", "num-slaves", "num-other-sentinels",
          "config-epoch", "is_master", "is_slave", "is_sdown", "is_odown", "is_sentinel",
          "is_disconnected", "is_master_down", "down-after-milliseconds", "role-reported",
          "master-port", "master-host", "parallel-syncs", "failover-timeout")


def _stable(state: dict[str, Any]) -> dict[str, Any]:
    """A state's stable fields as they are, and the type of every field."""
    return {
        "values": {name: state[name] for name in STABLE if name in state},
        "types": {name: type(value) for name, value in state.items()},
    }


def _by_port(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_stable(state) for state in sorted(states, key=lambda s: s["port"])]


@pytest.fixture
def sentinel_address(redis_sentinel: RedisSentinelSet) -> tuple[str, int]:
    return redis_sentinel.sentinel_addresses[0]


@pytest.fixture
def s(config: tuple[int, bool], sentinel_address: tuple[str, int]) -> Iterator[SocketRedis]:
    client = SocketRedis(*sentinel_address, *config)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def theirs(config: tuple[int, bool], sentinel_address: tuple[str, int]) -> Iterator[redis.Redis]:
    protocol, decode = config
    client = redis.Redis(*sentinel_address, protocol=2 if protocol == 2 else None,
                         decode_responses=decode)
    try:
        yield client
    finally:
        client.close()


def _compare(scenario: Callable[[Any], Results], ours: Any, reference: Any) -> None:
    mine = scenario(ours)
    expected = scenario(reference)
    assert list(mine) == list(expected)
    for label in mine:
        assert_same(mine[label], expected[label], label)


# ============================================================================
# What is sent


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("sentinel_get_master_addr_by_name", (SERVICE,)),
        ("sentinel_master", (SERVICE,)),
        ("sentinel_masters", ()),
        ("sentinel_slaves", (SERVICE,)),
        ("sentinel_sentinels", (SERVICE,)),
        ("sentinel_monitor", (EXTRA, "127.0.0.1", 6380, 2)),
        ("sentinel_remove", (EXTRA,)),
        ("sentinel_set", (EXTRA, "down-after-milliseconds", 5000)),
        ("sentinel_reset", ("gp-*",)),
        ("sentinel_failover", (EXTRA,)),
        ("sentinel_ckquorum", (SERVICE,)),
        ("sentinel_flushconfig", ()),
    ],
)
def test_sentinel_methods_send_what_redis_py_sends(method: str, args: tuple[Any, ...]) -> None:
    assert_sends_same(method, *args)


def test_sentinel_passes_redis_py_s_options_for_a_sentinel_executor() -> None:
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    class Recording(SocketRedis):
        def __init__(self) -> None:
            self.protocol, self.decode_responses = 2, False

        def execute_command(self, *args: Any, **options: Any) -> Any:
            seen.append((args, {k: v for k, v in options.items() if k != "_parse"}))

    ours = Recording()
    ours.sentinel_get_master_addr_by_name(SERVICE, return_responses=True)
    ours.sentinel_master(SERVICE)
    ours.sentinel_sentinels(SERVICE, True)
    ours.sentinel_reset("x")
    ours.sentinel_ckquorum(SERVICE)
    ours.sentinel_masters()
    assert [options for _, options in seen] == [
        {"once": True, "return_responses": True},
        {"return_responses": False},
        {"return_responses": True},
        {"once": True},
        {"once": True},
        {},
    ]


def test_the_generic_sentinel_method_sends_the_command(
    s: SocketRedis, redis_sentinel: RedisSentinelSet
) -> None:
    # redis-py's only warns and sends nothing; greenpool's sends it.
    with warnings.catch_warnings(record=True):
        assert redis.Redis().sentinel("masters") is None
    host, port = redis_sentinel.primary_address()
    assert s.sentinel("get-master-addr-by-name", SERVICE) == t(s, [host, str(port)])


# ============================================================================
# Against the sentinels


def test_sentinel_views(s: SocketRedis, redis_sentinel: RedisSentinelSet) -> None:
    host, port = redis_sentinel.primary_address()
    assert s.sentinel_get_master_addr_by_name(SERVICE) == (t(s, host), port)
    assert s.sentinel_get_master_addr_by_name("no-such-service") is None
    master = s.sentinel_master(SERVICE)
    assert master["name"] == SERVICE and master["port"] == port
    assert master["is_master"] is True and master["is_odown"] is False
    assert master["flags"] == "master" and type(master["quorum"]) is int
    assert list(s.sentinel_masters()) == [SERVICE]
    replicas = s.sentinel_slaves(SERVICE)
    assert sorted(r["port"] for r in replicas) == sorted(
        server.port for server in redis_sentinel.replicas()
    )
    assert all(r["is_slave"] and type(r["slave-repl-offset"]) is int for r in replicas)
    others = s.sentinel_sentinels(SERVICE)
    assert len(others) == len(redis_sentinel.sentinels) - 1
    assert all(other["is_sentinel"] for other in others)
    # CKQUORUM answers "OK 3 usable Sentinels ...": not exactly OK, so False, as redis-py.
    assert s.sentinel_ckquorum(SERVICE) is False
    assert s.sentinel_flushconfig() is True
    with pytest.raises(ResponseError):
        s.sentinel_master("no-such-service")


def sentinel_read_scenario(c: Any) -> Results:
    out: Results = {}
    out["get_master_addr_by_name"] = c.sentinel_get_master_addr_by_name(SERVICE)
    out["get_master_addr_by_name none"] = c.sentinel_get_master_addr_by_name("none")
    out["master"] = _stable(c.sentinel_master(SERVICE))
    out["masters"] = {name: _stable(state) for name, state in c.sentinel_masters().items()}
    out["slaves"] = _by_port(c.sentinel_slaves(SERVICE))
    out["sentinels"] = _by_port(c.sentinel_sentinels(SERVICE))
    out["ckquorum"] = c.sentinel_ckquorum(SERVICE)
    out["flushconfig"] = c.sentinel_flushconfig()
    return out


def test_sentinel_reads_match_redis_py(s: SocketRedis, theirs: redis.Redis) -> None:
    _compare(sentinel_read_scenario, s, theirs)


def sentinel_write_scenario(target: RedisServer) -> Callable[[Any], Results]:
    def scenario(c: Any) -> Results:
        out: Results = {}
        out["monitor"] = c.sentinel_monitor(EXTRA, target.host, target.port, 1)
        try:
            out["set"] = c.sentinel_set(EXTRA, "down-after-milliseconds", 4321)
            out["master after set"] = c.sentinel_master(EXTRA)["down-after-milliseconds"]
            out["reset"] = c.sentinel_reset(EXTRA)  # answers 1: not OK, so False
            try:
                c.sentinel_failover(EXTRA)
            except (redis.ResponseError, ResponseError) as exc:
                out["failover without replicas"] = str(exc).split()[0]
        finally:
            out["remove"] = c.sentinel_remove(EXTRA)
        out["masters after remove"] = list(c.sentinel_masters())
        return out

    return scenario


def test_sentinel_writes_match_redis_py(
    s: SocketRedis, theirs: redis.Redis, fresh_redis: RedisServer
) -> None:
    _compare(sentinel_write_scenario(fresh_redis), s, theirs)


# ============================================================================
# The real client on a sentinel


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_client_talks_to_a_sentinel(
    redis_sentinel: RedisSentinelSet, sentinel_address: tuple[str, int], protocol: int
) -> None:
    host, port = sentinel_address
    with Redis(host, port, protocol=protocol, client_name="gp-sentinel-user",
               decode_responses=True, pool_size=2, health_check_interval=0.2) as client:
        assert client.ping() is True
        assert client.sentinel_get_master_addr_by_name(SERVICE) == redis_sentinel.primary_address()
        assert client.sentinel_master(SERVICE)["is_master"] is True
        assert client.client_getname() == "gp-sentinel-user"
        with client.pipeline(transaction=False) as pipe:
            pipe.sentinel_masters()
            pipe.sentinel_get_master_addr_by_name(SERVICE)
            masters, address = pipe.execute()
        assert list(masters) == [SERVICE] and address == redis_sentinel.primary_address()


def test_a_sentinel_has_one_database(sentinel_address: tuple[str, int]) -> None:
    with Redis(*sentinel_address, db=1) as client, pytest.raises(ResponseError, match="SELECT"):
        client.ping()
