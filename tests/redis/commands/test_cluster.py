"""The cluster group (CLUSTER INFO, NODES, SLOTS, SHARDS ..., READONLY) against real nodes.

Reads run on a primary of the session's cluster (``redis_cluster``) through
the reference executor under the four client configurations; what changes
a cluster (ADDSLOTS, SETSLOT, RESET ...) runs on a cluster-enabled node of
this module's own, which belongs to no cluster.  ``Redis.cluster`` is
compared with redis-py's; the ``cluster_*`` methods, which redis-py has on
``RedisCluster`` only, are compared with its ``RedisCluster`` reply parsing
applied to the same replies (RESP2 shapes on both protocols).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from commands_executor import (
    Canned,
    SocketRedis,
    assert_same,
    open_client,
    redis_py_shaped,
    t,
)
from redis.commands.cluster import ClusterManagementCommands
from test_signatures import render
from wire import assert_sends_same, assert_sends_same_as

from greenpool.errors import ConfigurationError
from greenpool.redis import Redis
from greenpool.redis.commands import DataError
from greenpool.redis.exceptions import RedisError, ResponseError
from greenpool.testing import RedisClusterNode, RedisClusterServer, RedisServer

KEY = "gp-cluster-cmd:{k1}"


class _TheirCluster(ClusterManagementCommands):
    """redis-py's RedisCluster management methods, without a cluster behind them."""


def their_cluster_shaped(command: str, reply: Any) -> Any:
    """What redis-py's RedisCluster (RESP2) makes of ``reply`` to ``command``."""
    shaped = redis_py_shaped(command, reply, 2)
    callback = redis.RedisCluster.CLUSTER_COMMANDS_RESPONSE_CALLBACKS.get(command)
    return shaped if callback is None else callback(shaped)


def test_redis_cluster_s_management_methods_are_here_with_its_signatures() -> None:
    theirs = {name for name in dir(redis.RedisCluster) if name.startswith("cluster_")}
    assert theirs <= set(dir(Redis))
    for name in sorted(theirs):
        assert render(getattr(Redis, name)) == render(getattr(redis.RedisCluster, name)), name


# ============================================================================
# What is sent


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("cluster", ("info",)),
        ("cluster", ("Nodes",)),
        ("cluster", ("countkeysinslot", 7)),
        ("cluster", ("setslot", 7, "stable")),
        ("readonly", ()),
        ("readwrite", ()),
    ],
)
def test_redis_methods_send_what_redis_py_sends(method: str, args: tuple[Any, ...]) -> None:
    assert_sends_same(method, *args)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("cluster_info", (), {}),
        ("cluster_info", (), {"target_nodes": "all"}),
        ("cluster_nodes", (), {}),
        ("cluster_replicas", ("id1",), {}),
        ("cluster_slots", (), {}),
        ("cluster_shards", (), {}),
        ("cluster_links", ("node",), {}),
        ("cluster_myid", ("node",), {}),
        ("cluster_myshardid", (), {}),
        ("cluster_keyslot", ("key",), {}),
        ("cluster_countkeysinslot", (12,), {}),
        ("cluster_get_keys_in_slot", (12, 5), {}),
        ("cluster_count_failure_report", ("id1",), {}),
        ("cluster_addslots", ("node", 1, 2, 3), {}),
        ("cluster_addslotsrange", ("node", 1, 5, 10, 20), {}),
        ("cluster_delslots", (1, 2, 3), {}),
        ("cluster_delslotsrange", (1, 5), {}),
        ("cluster_failover", ("node",), {}),
        ("cluster_failover", ("node", "force"), {}),
        ("cluster_failover", ("node", "TAKEOVER"), {}),
        ("cluster_meet", ("127.0.0.1", 7000), {}),
        ("cluster_replicate", ("node", "id1"), {}),
        ("cluster_reset", (), {}),
        ("cluster_reset", (False,), {}),
        ("cluster_save_config", (), {}),
        ("cluster_set_config_epoch", (3,), {}),
        ("cluster_setslot", ("node", "id1", 7, "importing"), {}),
        ("cluster_setslot", ("node", "id1", 7, "MIGRATING"), {}),
        ("cluster_setslot", ("node", "id1", 7, "node"), {}),
        ("cluster_setslot_stable", (7,), {}),
    ],
)
def test_cluster_management_methods_send_what_redis_py_s_cluster_sends(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_sends_same_as(_TheirCluster(), method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("cluster_failover", (None, "NOW")),
        ("cluster_failover", (None, 1)),
        ("cluster_setslot", (None, "id", 7, "stable")),
        ("cluster_setslot", (None, "id", 7, "moving")),
        ("cluster", ("",)),
        ("cluster", (b"info",)),
    ],
)
def test_bad_cluster_arguments_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...]
) -> None:
    ours = Canned(b"OK")
    with pytest.raises(DataError) as info:
        getattr(ours, method)(*args)
    assert isinstance(info.value, RedisError)  # what redis-py raises for these
    assert ours.sent == []
    if method != "cluster" and all(isinstance(arg, (str, type(None))) for arg in args[1:2]):
        with pytest.raises(redis.RedisError):
            getattr(_TheirCluster(), method)(*args)


@pytest.mark.parametrize(
    ("method", "args"), [("cluster_flushslots", ()), ("cluster_bumpepoch", ())]
)
def test_methods_redis_py_leaves_unimplemented_raise_the_same(
    method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(NotImplementedError):
        getattr(_TheirCluster(), method)(*args)
    ours = Canned(b"OK")
    with pytest.raises(NotImplementedError):
        getattr(ours, method)(*args)
    assert ours.sent == []


def test_target_nodes_are_passed_on_only_when_given() -> None:
    seen: list[dict[str, Any]] = []

    class Recording(Canned):
        def execute_command(self, *args: Any, **options: Any) -> Any:
            seen.append({k: v for k, v in options.items() if k != "_parse"})

    ours = Recording(None)
    ours.cluster_info()
    ours.cluster_info(target_nodes="primaries")
    ours.cluster_myid("a-node")
    ours.cluster_myid(None)
    assert seen == [{}, {"target_nodes": "primaries"}, {"target_nodes": "a-node"}, {}]


# ============================================================================
# READONLY and READWRITE on a client whose connections are shared


def test_readonly_and_readwrite_are_refused_with_the_table_s_hint(
    redis_cluster: RedisClusterServer,
) -> None:
    node = redis_cluster.replicas()[0]
    with Redis(node.host, node.port, decode_responses=True) as client:
        before = client.info("commandstats").get("cmdstat_readonly", {}).get("calls", 0)
        for method in (client.readonly, client.readwrite):
            with pytest.raises(ConfigurationError, match="cluster client"):
                method()
        with client.pipeline() as pipe, pytest.raises(ConfigurationError, match="pipeline"):
            pipe.readonly()
        after = client.info("commandstats").get("cmdstat_readonly", {}).get("calls", 0)
        assert after == before  # nothing reached the server


# ============================================================================
# Against the session cluster (reads only)


@pytest.fixture
def node(redis_cluster: RedisClusterServer) -> RedisServer:
    """The primary that owns :data:`KEY`."""
    return redis_cluster.slot_owner(redis_cluster.key_slot(KEY))


@pytest.fixture
def c(config: tuple[int, bool], node: RedisServer) -> Iterator[SocketRedis]:
    yield from open_client(node, config)


@pytest.fixture
def resp2(config: tuple[int, bool], node: RedisServer) -> Iterator[SocketRedis]:
    """A RESP2 connection to the same node, decoding alike: redis-py's reference replies."""
    yield from open_client(node, (2, config[1]))


def _steady(value: Any) -> Any:
    """A reply's shape with the fields that move by themselves (ping times,
    message counters, replication offsets) left out."""
    moving = ("last_ping_sent", "last_pong_rcvd", "replication-offset", "events",
              "create-time", "send-buffer-allocated", "send-buffer-used")
    if isinstance(value, dict):
        return {
            key: _steady(item) for key, item in value.items()
            if _plain(key) not in moving
            and not str(_plain(key)).startswith("cluster_stats_messages")
        }
    if isinstance(value, list):
        return [_steady(item) for item in value]
    return value


def _plain(key: Any) -> Any:
    return key.decode() if isinstance(key, bytes) else key


READS: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = [
    # (method, its arguments, the command it sends)
    ("cluster_info", (), ("CLUSTER", "INFO")),
    ("cluster_nodes", (), ("CLUSTER", "NODES")),
    ("cluster_slots", (), ("CLUSTER", "SLOTS")),
    ("cluster_shards", (), ("CLUSTER", "SHARDS")),
    ("cluster_links", (None,), ("CLUSTER", "LINKS")),
    ("cluster_keyslot", (KEY,), ("CLUSTER", "KEYSLOT", KEY)),
]


@pytest.mark.parametrize(("method", "args", "command"), READS, ids=[r[0] for r in READS])
def test_cluster_reads_are_shaped_as_redis_py_s_cluster_shapes_them(
    c: SocketRedis, resp2: SocketRedis, method: str, args: tuple[Any, ...],
    command: tuple[Any, ...],
) -> None:
    name = " ".join(command[:2])
    raw = c.raw(*command)
    mine = getattr(Canned(raw), method)(*args)
    reference = their_cluster_shaped(name, resp2.raw(*command))
    if c.protocol == 2:
        assert_same(mine, their_cluster_shaped(name, raw))
    if method == "cluster_links":  # its counters move: compare the fields' names and types
        mine = [[_plain(x) if i % 2 == 0 else type(x) for i, x in enumerate(e)] for e in mine]
        reference = [[_plain(x) if i % 2 == 0 else type(x) for i, x in enumerate(e)]
                     for e in reference]
    assert_same(_steady(mine), _steady(reference))
    live = getattr(c, method)(*args)
    assert type(live) is type(mine)


def test_cluster_views(
    c: SocketRedis, node: RedisServer, redis_cluster: RedisClusterServer
) -> None:
    assert c.cluster_info()["cluster_state"] == "ok"
    myid = c.cluster_myid(None)
    assert myid == t(c, c.cluster_nodes()[f"{node.host}:{node.port}"]["node_id"])
    nodes = c.cluster_nodes()
    assert len(nodes) == len(redis_cluster.nodes)
    me = nodes[f"{node.host}:{node.port}"]
    assert "myself" in me["flags"] and me["connected"] is True
    assert all(type(bounds) is list and all(type(x) is str for x in bounds)
               for bounds in me["slots"])
    replicas = c.cluster_replicas(t(None, myid) if isinstance(myid, bytes) else myid)
    assert len(replicas) == 1 and "slave" in next(iter(replicas.values()))["flags"]
    slots = c.cluster_slots()
    assert sum(last - first + 1 for first, last in slots) == 16384
    shards = c.cluster_shards()
    assert sum(last - first + 1 for shard in shards for first, last in shard["slots"]) == 16384
    assert c.cluster_count_failure_report(myid) == 0
    assert c.cluster_save_config() is True
    slot = c.cluster_keyslot(KEY)
    assert slot == redis_cluster.key_slot(KEY)
    c.raw("SET", KEY, "v")
    try:
        assert c.cluster_countkeysinslot(slot) >= 1
        assert KEY in c.cluster_get_keys_in_slot(slot, 10)  # str, whatever the decoding
    finally:
        c.raw("DEL", KEY)
    with pytest.raises(ResponseError):  # Redis 7.2's; the test server is 7.0
        c.cluster_myshardid()


def cluster_redis_scenario(cl: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["info"] = _steady(cl.cluster("info"))
    out["nodes"] = _steady(cl.cluster("nodes"))
    out["slots"] = cl.cluster("slots")
    out["keyslot"] = cl.cluster("keyslot", KEY)
    out["countkeysinslot"] = cl.cluster("countkeysinslot", 0)
    out["getkeysinslot"] = cl.cluster("getkeysinslot", 0, 1)
    out["saveconfig"] = cl.cluster("saveconfig")
    out["myid"] = cl.cluster("MyId")
    return out


def test_redis_cluster_method_matches_redis_py(
    c: SocketRedis, config: tuple[int, bool], node: RedisServer
) -> None:
    protocol, decode = config
    theirs = redis.Redis(node.host, node.port, protocol=2 if protocol == 2 else None,
                         decode_responses=decode)
    try:
        mine, reference = cluster_redis_scenario(c), cluster_redis_scenario(theirs)
    finally:
        theirs.close()
    for label in mine:
        assert_same(mine[label], reference[label], label)


# ============================================================================
# Changing a cluster: a cluster-enabled node of this module's own


@pytest.fixture(scope="module")
def lone_node() -> Iterator[RedisServer]:
    # RedisClusterNode, not RedisServer --cluster-enabled: it picks the bus
    # port itself (Redis's default, port + 10000, fails above port 55535).
    with RedisClusterNode() as server:
        yield server


@pytest.fixture
def lone(config: tuple[int, bool], lone_node: RedisServer) -> Iterator[SocketRedis]:
    for client in open_client(lone_node, config):
        client.cluster_reset(soft=False)
        yield client
        client.cluster_reset(soft=False)


def test_slot_assignment_on_a_lone_node(lone: SocketRedis) -> None:
    myid = lone.cluster_myid(None)
    assert lone.cluster_set_config_epoch(1) is True
    assert lone.cluster_addslots(None, 0, 1, 2) is True
    assert lone.cluster_addslotsrange(None, 10, 19, 30, 30) is True
    assert lone.cluster_countkeysinslot(0) == 0
    assert lone.cluster_delslots(1, 2) == [True, True]
    assert lone.cluster_delslotsrange(15, 19) is True
    me = next(iter(lone.cluster_nodes().values()))
    assert me["slots"] == [["0"], ["10", "14"], ["30"]]
    assert lone.cluster_setslot(None, myid, 40, "NODE") is True
    with pytest.raises(ResponseError, match="already the owner"):
        lone.cluster_setslot(None, myid, 0, "importing")
    assert lone.cluster_setslot_stable(0) is True
    assert lone.cluster("delslots", 40) is True
    with pytest.raises(ResponseError):
        lone.cluster_failover(None)  # a primary can't fail over
    with pytest.raises(ResponseError):
        lone.cluster_replicate(None, "0" * 40)
    assert lone.cluster_meet("127.0.0.1", 1) is True
    assert lone.cluster_reset() is True
    assert lone.cluster_info()["cluster_known_nodes"] == "1"
    assert lone.cluster_slots() == {}
    assert lone.cluster_shards()[0]["slots"] == []


def test_cluster_commands_on_a_server_without_cluster_mode(r: SocketRedis) -> None:
    with pytest.raises(ResponseError, match="cluster support disabled"):
        r.cluster_info()
    with pytest.raises(ConfigurationError):
        r.readonly()

