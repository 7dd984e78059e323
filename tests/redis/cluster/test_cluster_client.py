"""RedisCluster against a real 6-node cluster (the session's): API, routing, pipelines, replicas.

Nothing here moves slots or kills nodes (tests/redis/cluster/test_cluster_faults.py
does, on clusters of its own).  Every test writes keys under a prefix of its own.
"""

from __future__ import annotations

import inspect
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
import redis.cluster

from greenpool.errors import ConfigurationError, NoConnectionAvailable
from greenpool.redis import RedisCluster as ExportedRedisCluster
from greenpool.redis import ResponseError, WatchError
from greenpool.redis.cluster import (
    ClusterConfigurationError,
    ClusterNode,
    CrossSlotTransactionError,
    LoadBalancingStrategy,
    MovedError,
    RedisCluster,
    RedisClusterException,
    key_slot,
)
from greenpool.testing import RedisClusterServer, TcpProxy
from tests.helpers import interrupt_after, wait_until


@pytest.fixture(scope="module")
def rc(redis_cluster: RedisClusterServer) -> Iterator[RedisCluster]:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes)
    yield client
    client.close()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def keys_on_every_primary(client: RedisCluster, prefix: str, per_node: int = 3) -> list[str]:
    """Keys of ``prefix``, ``per_node`` on each primary (so a command set touches every node)."""
    wanted = {node.name: [] for node in client.get_primaries()}  # type: dict[str, list[str]]
    i = 0
    while any(len(v) < per_node for v in wanted.values()):
        key = f"{prefix}:{i}"
        owner = client.get_node_from_key(key)
        assert owner is not None
        if len(wanted[owner.name]) < per_node:
            wanted[owner.name].append(key)
        i += 1
    return [k for keys in wanted.values() for k in keys]


def holder(cluster: RedisClusterServer, key: str) -> list[int]:
    """Ports of the primaries that hold ``key`` (asked directly, not through the client)."""
    return [
        node.port for node in cluster.primaries()
        if cluster.pipeline(node, [("EXISTS", key)])[0] == 1  # MOVED (in place) elsewhere
    ]


# ---------------------------------------------------------------------------- construction


def test_the_constructor_takes_redis_pys_arguments() -> None:
    ours = inspect.signature(RedisCluster).parameters
    theirs = inspect.signature(redis.cluster.RedisCluster).parameters
    for name in ("host", "port", "startup_nodes", "require_full_coverage", "read_from_replicas",
                 "load_balancing_strategy", "reinitialize_steps", "cluster_error_retry_attempts",
                 "retry", "address_remap", "dynamic_startup_nodes", "url"):
        assert name in theirs and name in ours, name
    assert list(ours)[:3] == list(theirs)[:3] == ["host", "port", "startup_nodes"]
    assert ExportedRedisCluster is RedisCluster
    for flag in ("PRIMARIES", "REPLICAS", "ALL_NODES", "RANDOM", "DEFAULT_NODE"):
        assert getattr(RedisCluster, flag) == getattr(redis.cluster.RedisCluster, flag)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({}, "startup_nodes"),
        ({"host": "127.0.0.1", "db": 1}, "db"),
        ({"host": "127.0.0.1", "load_balancing_strategy": "nearest"}, "load_balancing_strategy"),
        ({"host": "127.0.0.1", "reinitialize_steps": -1}, "reinitialize_steps"),
        ({"host": "127.0.0.1", "cluster_error_retry_attempts": "3"},
         "cluster_error_retry_attempts"),
        ({"host": "127.0.0.1", "no_such_option": 1}, "no_such_option"),
        ({"host": "127.0.0.1", "max_connections": 0}, "max_connections"),
        ({"host": "127.0.0.1", "host_port_remap": [{"from_host": "a"}]}, "host_port_remap"),
        ({"startup_nodes": ["nonsense"]}, "startup_nodes"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisCluster(**kwargs)
    assert caught.value.argument == argument


def test_bad_config_is_also_redis_pys_cluster_exception() -> None:
    with pytest.raises(RedisClusterException):
        RedisCluster()
    assert issubclass(ClusterConfigurationError, ConfigurationError)


def test_no_reachable_seed_raises_cluster_exception() -> None:
    from greenpool.testing import free_port  # a port nobody listens on

    with pytest.raises(RedisClusterException, match="cannot be connected"):
        RedisCluster(host="127.0.0.1", port=free_port())


def test_password_never_shown(redis_cluster: RedisClusterServer) -> None:
    with pytest.raises(RedisClusterException) as caught:
        RedisCluster(host="127.0.0.1", port=redis_cluster.startup_nodes[0][1],
                     password="s3cret-pw", username="nobody")
    assert "s3cret-pw" not in str(caught.value)


def test_seeds_by_host_port_url_and_startup_nodes(redis_cluster: RedisClusterServer) -> None:
    host, port = redis_cluster.startup_nodes[0]
    for client in (
        RedisCluster(host=host, port=port),
        RedisCluster.from_url(f"redis://{host}:{port}/0"),
        RedisCluster(startup_nodes=[ClusterNode(host, port)]),
        RedisCluster(startup_nodes=[(h, p) for h, p in redis_cluster.startup_nodes[1:2]]),
    ):
        try:
            assert len(client.get_nodes()) == 6
            assert len(client.get_primaries()) == 3
            assert len(client.get_replicas()) == 3
            assert client.set("seed-check", "1") is True
        finally:
            client.close()
    with pytest.raises(ClusterConfigurationError):
        RedisCluster.from_url("unix:///tmp/redis.sock")


def test_node_lookups_agree_with_the_servers(
    rc: RedisCluster, redis_cluster: RedisClusterServer, prefix: str
) -> None:
    for key in (f"{prefix}:a", f"{prefix}:b", "{user1000}.following", b"\xff", 7):
        slot = rc.keyslot(key)
        assert slot == key_slot(key) == redis_cluster.key_slot(key)
        owner = rc.get_node_from_key(key)
        assert owner is not None and owner.port == redis_cluster.slot_owner(slot).port
        replica = rc.get_node_from_key(key, replica=True)
        assert replica is not None and replica.server_type == "replica"
    node = rc.get_primaries()[0]
    assert rc.get_node(node.host, node.port) is node
    assert rc.get_node(node_name=node.name) is node
    assert rc.get_node("127.0.0.1", 1) is None
    assert rc.get_random_node() in rc.get_nodes()
    assert rc.get_default_node().server_type == "primary"


# ---------------------------------------------------------------------------- routing


def test_every_command_group_lands_on_the_keys_primary(
    rc: RedisCluster, redis_cluster: RedisClusterServer, prefix: str
) -> None:
    keys = iter(keys_on_every_primary(rc, prefix, per_node=4))
    written: list[str] = []

    def key() -> str:
        k = next(keys)
        written.append(k)
        return k

    k = key()
    assert rc.set(k, "v") and rc.get(k) == b"v" and rc.append(k, "w") == 2
    k = key()
    assert rc.hset(k, mapping={"f": 1, "g": 2}) == 2 and rc.hgetall(k) == {b"f": b"1", b"g": b"2"}
    k = key()
    assert rc.rpush(k, 1, 2, 3) == 3 and rc.lrange(k, 0, -1) == [b"1", b"2", b"3"]
    k = key()
    assert rc.sadd(k, "a", "b") == 2 and rc.smembers(k) == {b"a", b"b"}
    k = key()
    assert rc.zadd(k, {"a": 1.0, "b": 2.0}) == 2 and rc.zrange(k, 0, -1, withscores=True) == [
        (b"a", 1.0), (b"b", 2.0)]
    k = key()
    assert rc.xadd(k, {"f": "v"}) and rc.xlen(k) == 1
    k = key()
    assert rc.geoadd(k, (13.36, 38.11, "palermo")) == 1 and rc.geopos(k, "palermo")[0] is not None
    k = key()
    assert rc.pfadd(k, "a", "b") == 1 and rc.pfcount(k) == 2
    k = key()
    assert rc.setbit(k, 7, 1) == 0 and rc.bitcount(k) == 1
    k = key()
    assert rc.set(k, 1) and rc.expire(k, 100) and 0 < rc.ttl(k) <= 100
    k = key()
    assert rc.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, k, "x") == b"OK"
    assert rc.get(k) == b"x"
    assert rc.object("encoding", k) == b"embstr"  # a subcommand's key (OBJECT ENCODING key)
    assert rc.memory_usage(k) > 0
    k = key()
    rc.xadd(k, {"a": 1})
    streams = rc.xread({k: 0}, block=100)  # the keys after STREAMS; blocking: dedicated
    assert streams and streams[0][0] == k.encode()
    tag = f"{{{k}}}"
    assert rc.zadd(f"{tag}:a", {"x": 1}) == 1 and rc.zadd(f"{tag}:b", {"y": 1}) == 1
    assert rc.zunionstore(f"{tag}:dest", [f"{tag}:a", f"{tag}:b"]) == 2  # numkeys key specs
    written.append(f"{tag}:dest")
    for k in written:
        assert holder(redis_cluster, k) == [rc.get_node_from_key(k).port]  # type: ignore[union-attr]


def test_hash_tags_keep_multi_key_commands_on_one_slot(rc: RedisCluster, prefix: str) -> None:
    a, b, c = f"{{{prefix}}}:a", f"{{{prefix}}}:b", f"{{{prefix}}}:c"
    assert rc.keyslot(a) == rc.keyslot(b) == rc.keyslot(c)
    assert rc.mset({a: 1, b: 2}) is True
    assert rc.mget(a, b, c) == [b"1", b"2", None]
    assert rc.sadd(c, "x") == 1
    assert rc.rename(a, f"{{{prefix}}}:renamed") is True
    assert rc.delete(b, c, f"{{{prefix}}}:renamed") == 3


def test_cross_slot_commands_raise_before_sending(rc: RedisCluster, prefix: str) -> None:
    a, b = f"{prefix}:a", f"{prefix}:b"
    assert rc.keyslot(a) != rc.keyslot(b)
    with pytest.raises(RedisClusterException, match="MGET - all keys must map to the same"):
        rc.mget(a, b)
    with pytest.raises(RedisClusterException, match="MSET"):
        rc.mset({a: 1, b: 2})
    with pytest.raises(RedisClusterException, match="SUNIONSTORE"):
        rc.sunionstore(a, [b])
    assert rc.exists(a, b) == 0  # nothing was written


def test_multi_key_commands_split_by_slot(rc: RedisCluster, prefix: str) -> None:
    keys = keys_on_every_primary(rc, prefix, per_node=2)
    mapping = {k: f"v{i}" for i, k in enumerate(keys)}
    replies = rc.mset_nonatomic(mapping)
    assert replies and all(r is True for r in replies)
    assert rc.mget_nonatomic([*keys, f"{prefix}:missing"]) == [
        *(v.encode() for v in mapping.values()), None]
    assert rc.mget_nonatomic(keys[0], keys[-1]) == [b"v0", f"v{len(keys) - 1}".encode()]
    assert rc.exists(*keys, f"{prefix}:missing") == len(keys)
    assert rc.touch(*keys) == len(keys)
    assert rc.unlink(*keys[:2]) == 2
    assert rc.delete(*keys) == len(keys) - 2
    assert rc.exists(*keys) == 0


def test_target_nodes_and_merged_replies(
    rc: RedisCluster, redis_cluster: RedisClusterServer, prefix: str
) -> None:
    keys = keys_on_every_primary(rc, prefix, per_node=1)
    for k in keys:
        rc.set(k, 1)
    assert rc.ping(target_nodes=RedisCluster.ALL_NODES) is True
    total = sum(redis_cluster.execute(n, "DBSIZE") for n in redis_cluster.primaries())
    assert rc.dbsize(target_nodes=RedisCluster.PRIMARIES) == total
    found = rc.keys(f"{prefix}:*", target_nodes=RedisCluster.PRIMARIES)
    assert sorted(found) == sorted(k.encode() for k in keys)
    # The default node only, like redis-py.
    assert len(rc.keys(f"{prefix}:*")) == 1
    one = rc.get_primaries()[0]
    direct = redis_cluster.execute(redis_cluster.node(one.port), "DBSIZE")
    assert rc.dbsize(target_nodes=one) == direct
    per_node = rc.execute_command("DBSIZE", target_nodes=rc.get_primaries())
    assert per_node == rc.dbsize(target_nodes=RedisCluster.PRIMARIES)  # merged: summed
    info = rc.execute_command("INFO", "server", target_nodes=RedisCluster.REPLICAS)
    assert sorted(info) == sorted(n.name for n in rc.get_replicas())
    assert rc.ping(target_nodes=RedisCluster.RANDOM) is True
    with pytest.raises(TypeError, match="target_nodes"):
        rc.ping(target_nodes=42)


def test_scan_iter_visits_every_primary(rc: RedisCluster, prefix: str) -> None:
    keys = keys_on_every_primary(rc, prefix, per_node=5)
    rc.mset_nonatomic({k: 1 for k in keys})
    found = list(rc.scan_iter(match=f"{prefix}:*", count=2))
    assert sorted(found) == sorted(k.encode() for k in keys)
    one = rc.get_node_from_key(keys[0])
    mine = list(rc.scan_iter(match=f"{prefix}:*", target_nodes=one))
    assert sorted(mine) == sorted(k.encode() for k in keys[:5])
    # Only the keys of the type asked for.
    rc.hset(f"{prefix}:h", "f", "v")
    assert list(rc.scan_iter(match=f"{prefix}:*", _type="hash")) == [f"{prefix}:h".encode()]


def test_scan_returns_redis_pys_per_node_cursors(
    rc: RedisCluster, redis_cluster: RedisClusterServer, prefix: str
) -> None:
    keys = keys_on_every_primary(rc, prefix, per_node=40)
    rc.mset_nonatomic({k: 1 for k in keys})
    theirs = redis.cluster.RedisCluster(
        startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes])
    try:
        # One step on every primary: {node name: cursor} and the keys of all of them.
        cursors, found = rc.scan(0, match=f"{prefix}:*", count=10)
        their_cursors, _ = theirs.scan(0, match=f"{prefix}:*", count=10)
        assert sorted(cursors) == sorted(their_cursors) == sorted(
            n.name for n in rc.get_primaries())
        assert all(c != 0 for c in cursors.values())  # 40 keys each, 10 a step
        assert set(found) <= {k.encode() for k in keys} and found
        # The dict goes back in: each node continues from its own cursor until 0.
        seen = list(found)
        rounds = 1
        while any(cursors.values()):
            cursors, found = rc.scan(cursors, match=f"{prefix}:*", count=10)
            assert set(cursors) <= {n.name for n in rc.get_primaries()}
            seen.extend(found)
            rounds += 1
        assert sorted(set(seen)) == sorted(k.encode() for k in keys)
        assert rounds > 1
        # target_nodes: one node's cursor, keyed by its name, as redis-py returns it.
        one = rc.get_node_from_key(keys[0])
        assert one is not None
        cursor, found = rc.scan(0, match=f"{prefix}:*", count=1000, target_nodes=one)
        their = theirs.scan(0, match=f"{prefix}:*", count=1000,
                            target_nodes=theirs.get_node(node_name=one.name))
        assert cursor == their[0] == {one.name: 0}
        assert sorted(found) == sorted(their[1]) == sorted(k.encode() for k in keys[:40])
        replicas = rc.scan(0, match=f"{prefix}:*", target_nodes=RedisCluster.REPLICAS)[0]
        assert sorted(replicas) == sorted(n.name for n in rc.get_replicas())
        # scan_iter yields what redis-py's does.
        assert sorted(rc.scan_iter(match=f"{prefix}:*", count=7)) == sorted(
            theirs.scan_iter(match=f"{prefix}:*", count=7))
        with pytest.raises(ClusterConfigurationError, match="cursor"):
            rc.scan({"127.0.0.1:1": 5})
    finally:
        theirs.close()


def test_a_node_client_talks_to_its_node_only(
    rc: RedisCluster, redis_cluster: RedisClusterServer, prefix: str
) -> None:
    key = f"{prefix}:n"
    owner = rc.get_node_from_key(key)
    other = next(n for n in rc.get_primaries() if n is not owner)
    assert owner is not None
    assert rc.get_redis_connection(owner).set(key, "x") is True
    assert rc.get_redis_connection(owner).dbsize() == redis_cluster.execute(
        redis_cluster.node(owner.port), "DBSIZE")
    with pytest.raises(MovedError):
        rc.get_redis_connection(other).get(key)


def test_locks_on_keys_of_every_node(rc: RedisCluster, prefix: str) -> None:
    names = keys_on_every_primary(rc, prefix, per_node=1)
    held: dict[str, list[int]] = {name: [] for name in names}

    def worker(name: str, i: int) -> None:
        with rc.lock(name, timeout=5, blocking_timeout=5):
            held[name].append(i)
            gevent.sleep(0.01)
            assert held[name][-1] == i  # nobody else got this lock meanwhile

    gevent.joinall([gevent.spawn(worker, name, i) for name in names for i in range(5)],
                   raise_error=True)
    assert all(sorted(v) == list(range(5)) for v in held.values())
    assert rc.exists(*names) == 0  # every lock released


def test_monitor_one_node(rc: RedisCluster, prefix: str) -> None:
    key = f"{prefix}:watched"
    node = rc.get_node_from_key(key)
    with rc.monitor(target_node=node) as monitor:
        rc.set(key, "x")
        seen = monitor.next_command(timeout=2.0)
        while key not in seen["command"]:
            seen = monitor.next_command(timeout=2.0)
        assert seen["command"] == f"SET {key} x"  # unquoted, as redis-py gives it


def test_script_load_reaches_every_primary(rc: RedisCluster, prefix: str) -> None:
    sha = rc.script_load(f"return '{prefix}' .. KEYS[1]")
    assert isinstance(sha, str) and len(sha) == 40
    assert rc.script_exists(sha) == [True]  # merged: loaded on every primary
    for key in keys_on_every_primary(rc, prefix, per_node=1):
        assert rc.evalsha(sha, 1, key) == f"{prefix}{key}".encode()


def test_error_replies_and_blocking_commands(rc: RedisCluster, prefix: str) -> None:
    k = f"{prefix}:list"
    rc.set(f"{prefix}:str", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        rc.lpush(f"{prefix}:str", 1)
    pusher = gevent.spawn_later(0.1, rc.rpush, k, "late")
    assert rc.blpop([k], timeout=5) == (k.encode(), b"late")
    pusher.get()
    assert rc.blpop([k], timeout=0.1) is None


def test_per_connection_settings_reach_every_node(redis_cluster: RedisClusterServer) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes)
    try:
        assert client.client_setname("cluster-name-check") is True
        names = client.execute_command(
            "CLIENT", "GETNAME", target_nodes=RedisCluster.ALL_NODES)
        assert set(names.values()) == {b"cluster-name-check"}
    finally:
        client.close()


# ---------------------------------------------------------------------------- pipelines


def test_pipeline_over_every_node_keeps_order(rc: RedisCluster, prefix: str) -> None:
    keys = keys_on_every_primary(rc, prefix, per_node=3)
    with rc.pipeline() as pipe:
        for i, k in enumerate(keys):
            pipe.set(k, i).incr(k).get(k)
        results = pipe.execute()
    expected: list[Any] = []
    for i in range(len(keys)):
        expected += [True, i + 1, str(i + 1).encode()]
    assert results == expected


def test_pipeline_errors_in_place_or_raised(rc: RedisCluster, prefix: str) -> None:
    k = f"{prefix}:s"
    pipe = rc.pipeline()
    pipe.set(k, "x").lpush(k, 1).get(k)
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True and isinstance(results[1], ResponseError) and results[2] == b"x"
    pipe.set(k, "x").lpush(k, 1)
    with pytest.raises(ResponseError, match="Command # 2"):
        pipe.execute()
    with pytest.raises(RedisClusterException, match="no key"):
        rc.pipeline().ping()


def test_one_slot_transaction_and_cross_slot_refused(rc: RedisCluster, prefix: str) -> None:
    a, b = f"{{{prefix}}}:a", f"{{{prefix}}}:b"
    with rc.pipeline(transaction=True) as tx:
        tx.set(a, 1).incr(a).set(b, "x").get(b)
        assert tx.execute() == [True, 2, True, b"x"]
    tx = rc.pipeline(transaction=True)
    tx.set(f"{prefix}:x", 1).set(f"{prefix}:y", 1)
    with pytest.raises(CrossSlotTransactionError):
        tx.execute()
    assert rc.exists(f"{prefix}:x", f"{prefix}:y") == 0  # nothing was sent


def test_watch_and_the_transaction_helper(rc: RedisCluster, prefix: str) -> None:
    counter, log = f"{{{prefix}}}:n", f"{{{prefix}}}:log"
    rc.set(counter, 0)

    def bump(pipe: Any) -> int:
        value = int(pipe.get(counter))  # runs at once while watching
        gevent.sleep(0)  # let the others interleave: some attempts must be retried
        pipe.multi()
        pipe.set(counter, value + 1).rpush(log, value)
        return value

    seen = gevent.joinall(
        [gevent.spawn(rc.transaction, bump, counter, value_from_callable=True)
         for _ in range(50)], raise_error=True)
    assert sorted(job.value for job in seen) == list(range(50))
    assert rc.get(counter) == b"50"
    assert rc.lrange(log, 0, -1) == [str(i).encode() for i in range(50)]
    # Each transaction gave its connection back, and some had to retry.
    node = rc.get_node_from_key(counter)
    assert node is not None and node.node is not None
    stats = node.node.dedicated_pool.stats()
    assert stats["pool_in_use"] == 0
    assert stats["requests_num"] > 50


def test_watch_errors(rc: RedisCluster, prefix: str) -> None:
    a = f"{{{prefix}}}:a"
    with rc.pipeline(transaction=True) as pipe:
        pipe.watch(a)
        rc.set(a, "changed")  # by someone else
        pipe.multi()
        pipe.set(a, "mine")
        with pytest.raises(WatchError):
            pipe.execute()
    assert rc.get(a) == b"changed"
    with rc.pipeline(transaction=True) as pipe:
        pipe.watch(a)
        with pytest.raises(CrossSlotTransactionError):
            pipe.watch(f"{prefix}:other")
        with pytest.raises(CrossSlotTransactionError):
            pipe.get(f"{prefix}:other")
    with pytest.raises(RedisClusterException, match="transaction"):
        rc.pipeline().watch(a)


def _pause_node_of(rc: RedisCluster, key: str, ms: int) -> None:
    """Make the primary of ``key`` hold every client's commands for ``ms`` milliseconds."""
    node = rc.get_node_from_key(key)
    rc.get_redis_connection(node).execute_command("CLIENT", "PAUSE", ms, "ALL")


def _dedicated_in_use(rc: RedisCluster, key: str) -> int:
    node = rc.get_node_from_key(key)
    assert node is not None and node.node is not None
    return int(node.node.dedicated_pool.stats()["pool_in_use"])


def test_an_interrupted_watch_is_undone_before_its_connection_is_reused(
    rc: RedisCluster, prefix: str
) -> None:
    # A caller's Timeout after WATCH was sent: the WATCH runs on the server
    # all the same, so reset() must UNWATCH before the connection goes back;
    # the next transaction on that node must not fail on a key it never watched.
    key = f"{{{prefix}}}:w"
    rc.set(key, "0")
    pipe = rc.pipeline(transaction=True)
    _pause_node_of(rc, key, 300)
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.1):
        pipe.watch(key)
    gevent.sleep(0.35)  # the pause ends; the WATCH has run
    pipe.reset()
    assert _dedicated_in_use(rc, key) == 0
    rc.set(key, "changed by someone else")
    with rc.pipeline(transaction=True) as other:
        assert other.set(key, "mine").get(key).execute() == [True, b"mine"]


@pytest.mark.parametrize("interrupt", ["timeout", "kill"])
def test_an_interrupted_unwatch_frees_the_watching_connections_slot(
    rc: RedisCluster, prefix: str, interrupt: str
) -> None:
    key = f"{{{prefix}}}:w"
    rc.set(key, "0")

    def leave_while_paused() -> None:
        with rc.pipeline(transaction=True) as pipe:
            pipe.watch(key)
            _pause_node_of(rc, key, 300)
        # leaving: reset() sends UNWATCH, held by the pause

    interrupt_after(leave_while_paused, interrupt)  # in the UNWATCH
    assert _dedicated_in_use(rc, key) == 0
    gevent.sleep(0.3)


def test_no_unwatch_after_a_watched_transaction_ran(rc: RedisCluster, prefix: str) -> None:
    # EXEC forgets the watched keys itself: an UNWATCH after it is a round
    # trip for nothing (and one more place for a caller's Timeout to land).
    key = f"{{{prefix}}}:w"
    node = rc.get_redis_connection(rc.get_node_from_key(key))

    def unwatches() -> int:
        stats = node.info("commandstats").get("cmdstat_unwatch", {})
        return int(stats.get("calls", 0))

    before = unwatches()
    with rc.pipeline(transaction=True) as pipe:
        pipe.watch(key)
        pipe.multi()
        pipe.set(key, "1")
        assert pipe.execute() == [True]
    assert unwatches() == before


def _shard_messages(sub: Any, seconds: float) -> list[tuple[Any, Any]]:
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = sub.get_sharded_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            got.append((message["channel"], message["data"]))
    return got


def _until_heard(rc: RedisCluster, sub: Any, channels: list[str]) -> set[str]:
    """Publish on each channel until its message comes (or 3 s pass); the channels heard."""
    heard: set[str] = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and heard != set(channels):
        for channel in set(channels) - heard:
            rc.spublish(channel, "ping")
        heard.update(c.decode() for c, _ in _shard_messages(sub, 0.2))
    return heard


def test_a_shard_connection_replaced_before_its_break_is_read_keeps_its_channels(
    rc: RedisCluster, prefix: str
) -> None:
    # The break of a shard connection is read by get_sharded_message; an
    # ssubscribe on the same node before that opened a new connection with
    # only its own channel, and the old channels were never subscribed again.
    first = f"{prefix}:s0"
    node = rc.get_node_from_key(first)
    second = next(f"{prefix}:s{i}" for i in range(1, 1000)
                  if rc.get_node_from_key(f"{prefix}:s{i}") is node)
    sub = rc.pubsub()
    try:
        sub.ssubscribe(first)
        assert _until_heard(rc, sub, [first]) == {first}
        sub.disconnect()
        sub.ssubscribe(second)
        assert _until_heard(rc, sub, [first, second]) == {first, second}
        counts = rc.get_redis_connection(node).execute_command(
            "PUBSUB", "SHARDNUMSUB", first, second)
        assert counts == [first.encode(), 1, second.encode(), 1]
    finally:
        sub.close()


@pytest.mark.parametrize("interrupt", ["timeout", "kill"])
def test_an_interrupted_ssubscribe_is_completed_by_the_next_read(
    rc: RedisCluster, prefix: str, interrupt: str
) -> None:
    channels = keys_on_every_primary(rc, prefix, per_node=1)
    sub = rc.pubsub()  # no shard connection yet: ssubscribe connects, and yields
    try:
        if interrupt == "timeout":
            with pytest.raises(gevent.Timeout), gevent.Timeout(0.0001):
                sub.ssubscribe(*channels)
        else:
            job = gevent.spawn(sub.ssubscribe, *channels)
            gevent.sleep(0)
            job.kill()
        assert set(sub.shard_channels) == {c.encode() for c in channels}
        assert _until_heard(rc, sub, channels) == set(channels)
    finally:
        sub.close()


def test_pubsub_on_any_node_hears_publish_on_another(rc: RedisCluster, prefix: str) -> None:
    listener = rc.get_replicas()[0]
    channel = f"{prefix}:news"
    with rc.pubsub(host=listener.host, port=listener.port,
                   ignore_subscribe_messages=True) as sub:
        sub.subscribe(channel)
        sub.get_message(timeout=1.0)  # the subscribe confirmation
        assert rc.get_default_node() is not listener
        rc.publish(channel, "hello")  # counts the publishing node's subscribers only: 0
        message = sub.get_message(timeout=2.0)
        assert message is not None and message["data"] == b"hello"
    assert rc.spublish(channel, "nobody") == 0  # routed by the channel's slot


def _channels_on_every_primary(rc: RedisCluster, prefix: str) -> dict[str, str]:
    """Primary name -> a shard channel its slot puts there."""
    found: dict[str, str] = {}
    i = 0
    while len(found) < len(rc.get_primaries()):
        owner = rc.get_node_from_key(f"{prefix}:ch{i}")
        assert owner is not None
        found.setdefault(owner.name, f"{prefix}:ch{i}")
        i += 1
    return found


def test_sharded_messages_of_one_node_with_target_node(rc: RedisCluster, prefix: str) -> None:
    channels = _channels_on_every_primary(rc, prefix)
    with rc.pubsub() as sub:
        sub.ssubscribe(*channels.values())
        for _ in channels:
            assert sub.get_sharded_message(timeout=2.0)["type"] == "ssubscribe"  # type: ignore[index]
        for channel in channels.values():
            assert rc.spublish(channel, f"one:{channel}") == 1
            assert rc.spublish(channel, f"two:{channel}") == 1
        wanted = rc.get_node(node_name=next(iter(channels)))
        first = next(iter(channels.values()))
        # Only that node's messages, in order, however the others arrived.
        got = [sub.get_sharded_message(timeout=2.0, target_node=wanted) for _ in range(2)]
        assert [m["data"] for m in got if m] == [f"one:{first}".encode(), f"two:{first}".encode()]
        assert {m["channel"] for m in got if m} == {first.encode()}
        assert sub.get_sharded_message(timeout=0.2, target_node=wanted) is None
        # The other nodes' messages were kept for later calls, none lost or repeated.
        rest = []
        while (message := sub.get_sharded_message(timeout=0.5)) is not None:
            rest.append(message["data"])
        assert sorted(rest) == sorted(
            f"{tag}:{c}".encode() for c in list(channels.values())[1:] for tag in ("one", "two"))


def test_sharded_handlers_and_the_worker_greenlet(rc: RedisCluster, prefix: str) -> None:
    from greenpool.redis import PubSubError

    channels = list(_channels_on_every_primary(rc, prefix).values())
    received: list[tuple[Any, Any]] = []
    sub = rc.pubsub()
    try:
        sub.ssubscribe(channels[0])  # no handler: no worker, as in redis-py
        with pytest.raises(PubSubError, match="shard channel"):
            sub.run_in_thread(sleep_time=0.05, sharded_pubsub=True)
        with pytest.raises(PubSubError, match="shard channel"):
            sub.run_in_greenlet(sleep_time=0.05)  # a plain worker checks them too
        sub.sunsubscribe(channels[0])
        sub.ssubscribe(**{c: lambda m: received.append((m["channel"], m["data"]))
                          for c in channels})
        worker = sub.run_in_thread(sleep_time=0.05, daemon=True, sharded_pubsub=True)
        try:
            wait_until(lambda: all(rc.spublish(c, "probe") == 1 for c in channels))
            for n in range(5):
                for channel in channels:
                    rc.spublish(channel, f"m{n}")
            wait_until(lambda: sum(d != b"probe" for _, d in received) == 5 * len(channels))
            for channel in channels:  # each channel's messages in order, to its handler
                assert [d for c, d in received if c == channel.encode() and d != b"probe"] == [
                    f"m{n}".encode() for n in range(5)]
        finally:
            worker.stop()
        worker.join(timeout=2.0)
        assert worker.dead
        assert not sub.subscribed  # stop() closed it
    finally:
        sub.close()


def test_a_sharded_worker_hands_errors_to_its_handler(rc: RedisCluster, prefix: str) -> None:
    channel = f"{prefix}:boom"
    failures: list[BaseException] = []

    def handler(message: dict[str, Any]) -> None:
        raise ValueError(message["data"])

    sub = rc.pubsub()
    sub.ssubscribe(**{channel: handler})
    worker = sub.run_in_greenlet(
        sleep_time=0.05, sharded_pubsub=True,
        exception_handler=lambda exc, pubsub, w: failures.append(exc))
    try:
        wait_until(lambda: rc.spublish(channel, "x") == 1 and bool(failures))
        assert isinstance(failures[0], ValueError) and not worker.dead  # it carries on
    finally:
        worker.stop()
        sub.close()


def test_a_full_node_pool_makes_pipelines_wait_not_fail(
    redis_cluster: RedisClusterServer, prefix: str
) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes, max_connections=2)
    wrong: list[Any] = []

    def work(i: int) -> None:
        keys = [f"{prefix}:{i}:{j}" for j in range(4)]
        with client.pipeline() as pipe:
            for k in keys:
                pipe.set(k, i).get(k)
            results = pipe.execute()
        if results != [True, str(i).encode()] * 4:
            wrong.append(results)

    try:
        gevent.joinall([gevent.spawn(work, i) for i in range(300)], raise_error=True)
        assert wrong == []
        assert all(u["dedicated"] <= 2 for u in client.connections_used().values())
    finally:
        client.close()


def test_a_full_node_pool_times_out_after_pool_timeout(
    redis_cluster: RedisClusterServer, prefix: str
) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes, max_connections=1,
                          pool_timeout=0.2)
    key = f"{prefix}:q"
    try:
        holder = gevent.spawn(client.blpop, [key], timeout=1)  # holds the only connection
        gevent.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(NoConnectionAvailable):
            client.blpop([key], timeout=1)
        assert 0.15 < time.monotonic() - started < 0.8
        client.rpush(key, "x")  # shared connections are not limited by the pool
        assert holder.get() == (key.encode(), b"x")
    finally:
        client.close()


def test_retry_takes_redis_pys_retry(redis_cluster: RedisClusterServer, prefix: str) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    retry = Retry(NoBackoff(), 7)
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes, retry=retry)
    try:
        assert client.get_retry() is retry
        assert client.set(f"{prefix}:a", "1") is True
        assert client.get(f"{prefix}:a") == b"1"
        assert client.mget_nonatomic([f"{prefix}:a", f"{prefix}:b"]) == [b"1", None]
        assert client.ping(target_nodes=RedisCluster.PRIMARIES) is True
        with pytest.raises(ResponseError):  # an ordinary error reply is not retried
            client.execute_command("INCR", f"{prefix}:a", "extra")
        client.set_retry(None)
        assert client.get_retry() is None
        with pytest.raises(ConfigurationError, match="retry"):
            client.set_retry(object())
        with pytest.raises(ConfigurationError, match="retry"):
            RedisCluster(startup_nodes=redis_cluster.startup_nodes, retry=42)
    finally:
        client.close()


def test_redis_py_cluster_names(redis_cluster: RedisClusterServer) -> None:
    client = RedisCluster(
        startup_nodes=[{"host": h, "port": p} for h, p in redis_cluster.startup_nodes[:1]],
        max_connections_per_node=7, skip_full_coverage_check=True, readonly_mode=True,
    )
    try:
        assert client.require_full_coverage is False
        assert client.read_from_replicas is True
        node = client.get_primaries()[0].node
        assert node is not None and node.dedicated_pool.stats()["pool_max"] == 7
        assert client.set("rpc-names", 1) is True
    finally:
        client.close()


# ---------------------------------------------------------------------------- replicas


def _gets(cluster: RedisClusterServer, node: Any) -> int:
    info = cluster.execute(node, "INFO", "commandstats")
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("cmdstat_get:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


@pytest.mark.parametrize(
    "strategy", [LoadBalancingStrategy.ROUND_ROBIN_REPLICAS, LoadBalancingStrategy.RANDOM_REPLICA]
)
def test_replica_reads(redis_cluster: RedisClusterServer, prefix: str, strategy: str) -> None:
    client = RedisCluster(
        startup_nodes=redis_cluster.startup_nodes, load_balancing_strategy=strategy)
    try:
        k = f"{prefix}:r"
        assert client.set(k, "v")
        primary = redis_cluster.node(client.get_node_from_key(k).port)  # type: ignore[union-attr]
        replica = redis_cluster.node(client.get_node_from_key(k, replica=True).port)  # type: ignore[union-attr]
        wait_until(lambda: redis_cluster.execute(replica, "READONLY") and
                   _replicated(redis_cluster, replica, k))
        before_p, before_r = _gets(redis_cluster, primary), _gets(redis_cluster, replica)
        assert all(client.get(k) == b"v" for _ in range(20))
        assert _gets(redis_cluster, replica) - before_r >= 20  # served by the replica
        assert _gets(redis_cluster, primary) - before_p < 5  # (the fixture's own probes aside)
        assert client.incr(f"{prefix}:n") == 1  # writes still go to primaries
    finally:
        client.close()


def _replicated(cluster: RedisClusterServer, replica: Any, key: str) -> bool:
    return cluster.execute(replica, "READONLY") is not None and (
        cluster.pipeline(replica, [("READONLY",), ("GET", key)])[1] == b"v")


def test_read_from_replicas_round_robin_spreads_reads(
    redis_cluster: RedisClusterServer, prefix: str
) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes, read_from_replicas=True)
    assert client.load_balancing_strategy == LoadBalancingStrategy.ROUND_ROBIN
    try:
        k = f"{prefix}:rr"
        client.set(k, "v")
        replica = redis_cluster.node(client.get_node_from_key(k, replica=True).port)  # type: ignore[union-attr]
        wait_until(lambda: _replicated(redis_cluster, replica, k))
        before = _gets(redis_cluster, replica)
        results = [client.get(k) for _ in range(20)]
        assert set(results) == {b"v"}
        assert 8 <= _gets(redis_cluster, replica) - before <= 12
    finally:
        client.close()


# ---------------------------------------------------------------------------- refreshes


def test_concurrent_refreshes_are_single_flight(rc: RedisCluster) -> None:
    before = rc.stats()["refreshes"]
    gevent.joinall([gevent.spawn(rc.refresh_slots) for _ in range(1000)], raise_error=True)
    # One refresh asks one node when its map covers every slot; allow a second wave.
    assert 1 <= rc.stats()["refreshes"] - before <= 2


def test_many_greenlets_few_sockets(
    redis_cluster: RedisClusterServer, prefix: str
) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes)
    wrong = []

    def work(i: int) -> None:
        for j in range(20):
            k = f"{prefix}:{i}:{j}"
            client.set(k, j)
            if client.get(k) != str(j).encode():
                wrong.append(k)

    try:
        gevent.joinall([gevent.spawn(work, i) for i in range(1000)], raise_error=True)
        assert wrong == []
        used = client.connections_used()
        assert all(u["shared"] <= 2 and u["dedicated"] == 0 for u in used.values())
    finally:
        client.close()


@pytest.mark.parametrize(("protocol", "decode"), [(2, True), (3, False), (3, True)])
def test_protocols_and_decoding(
    redis_cluster: RedisClusterServer, prefix: str, protocol: int, decode: bool
) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes, protocol=protocol,
                          decode_responses=decode)
    try:
        assert len(client.get_nodes()) == 6
        value: Any = "v" if decode else b"v"
        keys = keys_on_every_primary(client, prefix, per_node=1)
        for k in keys:
            assert client.set(k, "v") is True and client.get(k) == value
        assert client.mget_nonatomic(keys) == [value] * len(keys)
        with client.pipeline() as pipe:
            for k in keys:
                pipe.get(k).hset(f"{k}:h", "f", "x").hgetall(f"{k}:h")
            results = pipe.execute()
        field = "f" if decode else b"f"
        x = "x" if decode else b"x"
        assert results == [value, 1, {field: x}] * len(keys)
        assert client.dump(keys[0]).startswith(b"\x00")  # never decoded
    finally:
        client.close()


def test_address_remap_sends_everything_through_the_new_addresses(
    redis_cluster: RedisClusterServer, prefix: str
) -> None:
    proxies = {port: TcpProxy("127.0.0.1", port).start() for _, port in redis_cluster.startup_nodes}
    remapped: list[tuple[str, int]] = []

    def remap(address: tuple[str, int]) -> tuple[str, int]:
        remapped.append(address)
        return ("127.0.0.1", proxies[address[1]].port)

    table = [{"from_host": "127.0.0.1", "from_port": port, "to_host": "127.0.0.1",
              "to_port": proxy.port} for port, proxy in proxies.items()]
    seed = ("127.0.0.1", next(iter(proxies.values())).port)
    clients = [
        RedisCluster(startup_nodes=[seed], address_remap=remap),
        RedisCluster(startup_nodes=[seed], host_port_remap=table),
    ]
    try:
        proxy_ports = {p.port for p in proxies.values()}
        for client in clients:
            assert {n.port for n in client.get_nodes()} == proxy_ports
            keys = keys_on_every_primary(client, prefix, per_node=1)
            client.mset_nonatomic({k: "1" for k in keys})
            assert client.mget_nonatomic(keys) == [b"1"] * len(keys)
        assert {port for _, port in remapped} == set(proxies)
    finally:
        for client in clients:
            client.close()
        for proxy in proxies.values():
            proxy.stop()


def test_callers_killed_at_any_point_leave_no_wrong_reply_or_lost_permit(
    redis_cluster: RedisClusterServer, prefix: str
) -> None:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes, max_connections=4)
    wrong: list[Any] = []
    done = [0]

    def work(i: int, life: int) -> None:
        n = 0
        # Keys of this life of worker i only: a killed worker's last write may
        # still be on its way to the server (sent before the kill, on another
        # connection than the next life's), and may run after the next life's.
        key, other = f"{prefix}:{i}:{life}", f"{prefix}:{i}:{life}:b"
        while True:
            n += 1
            value = f"{i}:{n}".encode()
            client.set(key, value)
            got = client.get(key)
            if got != value:
                wrong.append((key, value, got))
            with client.pipeline() as pipe:
                results = pipe.set(other, value).get(other).get(key).execute()
            if results != [True, value, value]:
                wrong.append((other, value, results))
            with client.pipeline(transaction=True) as tx:
                tx.set(f"{{{key}}}:t", n).incr(f"{{{key}}}:t")
                if tx.execute() != [True, n + 1]:
                    wrong.append(("tx", key))
            done[0] += 1

    workers = [gevent.spawn(work, i, 0) for i in range(200)]
    deadline = time.monotonic() + 2.0
    try:
        # Kill a random worker at a random moment (GreenletExit or a Timeout of its
        # own), and start a new one under the same index, with keys of its own.
        rng = random.Random(12)
        life = 0
        while time.monotonic() < deadline:
            gevent.sleep(rng.random() * 0.004)
            i = rng.randrange(len(workers))
            if rng.random() < 0.5:
                workers[i].kill(block=True)
            else:
                workers[i].kill(gevent.Timeout(), block=True)
            life += 1
            workers[i] = gevent.spawn(work, i, life)
    finally:
        gevent.killall(workers, block=True)
    assert wrong == []
    assert done[0] > 100
    for node in client.get_primaries():
        assert node.node is not None
        assert node.node.dedicated_pool.stats()["pool_in_use"] == 0  # no permit lost
    keys = keys_on_every_primary(client, f"{prefix}:after", per_node=2)
    with client.pipeline() as pipe:
        for k in keys:
            pipe.set(k, k).get(k)
        assert pipe.execute() == [x for k in keys for x in (True, k.encode())]
    client.close()
