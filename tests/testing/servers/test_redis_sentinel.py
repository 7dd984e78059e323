"""Tests of greenpool.testing.servers.redis_sentinel, with redis-py's Sentinel as the client."""

from __future__ import annotations

import time

import redis
import redis.sentinel
from servers_helpers import pid_alive

from greenpool.testing import RedisSentinelSet


def sentinel_client(sentinels: RedisSentinelSet) -> redis.sentinel.Sentinel:
    return redis.sentinel.Sentinel(
        sentinels.sentinel_addresses, socket_timeout=2, sentinel_kwargs={"socket_timeout": 2}
    )


def test_sentinel_set_is_ready(redis_sentinel: RedisSentinelSet) -> None:
    primary = redis_sentinel.primary()
    assert primary is redis_sentinel.servers[0]
    assert len(redis_sentinel.sentinels) == 3 and len(redis_sentinel.servers) == 3
    client = sentinel_client(redis_sentinel)
    assert client.discover_master("mymaster") == ("127.0.0.1", primary.port)
    replicas = sorted(client.discover_slaves("mymaster"))
    assert replicas == sorted(("127.0.0.1", s.port) for s in redis_sentinel.replicas())
    assert len(replicas) == 2
    for sentinel in redis_sentinel.sentinels:
        master = sentinel.master()
        assert master["flags"] == "master"
        assert master["num-slaves"] == "2" and master["num-other-sentinels"] == "2"
        assert master["down-after-milliseconds"] == "1000"
    writer = client.master_for("mymaster")
    writer.set("fixture:sentinel", "v")
    assert writer.execute_command("WAIT", 2, 2000) == 2
    reader = client.slave_for("mymaster")
    assert reader.get("fixture:sentinel") == b"v"
    writer.delete("fixture:sentinel")


def test_sentinel_failover_command_moves_the_primary(
    fresh_redis_sentinel: RedisSentinelSet,
) -> None:
    sentinels = fresh_redis_sentinel
    old = sentinels.primary()
    wall_before = time.time()
    failover = sentinels.failover()
    assert failover.old_primary is old and failover.new_primary is not old
    assert failover.fault_at is not None
    assert failover.fault_at < failover.reported_at <= failover.all_switched_at
    assert failover.switched_at is not None and wall_before <= failover.switched_at <= time.time()
    for sentinel in sentinels.sentinels:
        assert sentinel.primary_address() == ("127.0.0.1", failover.new_primary.port)
    assert sentinel_client(sentinels).discover_master("mymaster") == (
        "127.0.0.1",
        failover.new_primary.port,
    )
    assert failover.new_primary.execute("ROLE")[0] == b"master"
    sentinels.wait_settled()  # the old primary now replicates the new one
    role = old.execute("ROLE")
    assert role[0] == b"slave" and role[2] == failover.new_primary.port


def test_sigkill_of_the_primary_is_detected_and_it_comes_back_as_a_replica(
    fresh_redis_sentinel: RedisSentinelSet,
) -> None:
    sentinels = fresh_redis_sentinel
    writer = sentinel_client(sentinels).master_for("mymaster")
    writer.set("k", "acked")
    assert writer.execute_command("WAIT", 2, 2000) == 2
    pid = sentinels.primary().pid
    old = sentinels.kill()
    assert pid is not None and not pid_alive(pid)
    failover = sentinels.wait_new_primary(old)
    assert failover.new_primary in sentinels.servers[1:]
    assert failover.fault_at is not None and failover.fault_at < failover.reported_at
    assert failover.switched_at is not None
    assert failover.new_primary.execute("GET", "k") == b"acked"
    # redis-py's client follows the new primary.
    assert sentinel_client(sentinels).master_for("mymaster").get("k") == b"acked"
    sentinels.restart(old)
    role = old.execute("ROLE")
    assert role[0] == b"slave" and role[2] == failover.new_primary.port
    assert old.execute("GET", "k") == b"acked"  # synced from the new primary
