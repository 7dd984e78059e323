"""Tests of greenpool.testing.servers.redis_cluster, with redis-py and raw RESP as clients."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest
import redis
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry
from servers_helpers import pid_alive, refused, run_child

from greenpool.testing import (
    RedisClusterNode,
    RedisClusterServer,
    RedisReplyError,
    RespClient,
)
from greenpool.testing.servers import parse_cluster_nodes

SLOTS = 16384


def node_client(node: RedisClusterNode) -> redis.Redis:
    return redis.Redis(
        host=node.host, port=node.port, socket_timeout=2, retry=Retry(NoBackoff(), 0)
    )


def cluster_client(cluster: RedisClusterServer) -> redis.cluster.RedisCluster:
    nodes = [redis.cluster.ClusterNode(h, p) for h, p in cluster.startup_nodes]
    return redis.cluster.RedisCluster(startup_nodes=nodes, socket_timeout=2)


def slot_ranges(client: redis.Redis) -> list[tuple[int, int]]:
    return sorted((first, last) for first, last, *_ in client.execute_command("CLUSTER SLOTS"))


# --------------------------------------------------------------------------- the shared cluster


def test_cluster_is_ready_with_three_primaries_and_three_replicas(
    redis_cluster: RedisClusterServer,
) -> None:
    assert len(redis_cluster.nodes) == 6
    assert all(node.host == "127.0.0.1" for node in redis_cluster.nodes)
    for node in redis_cluster.nodes:
        client = node_client(node)
        info = client.execute_command("CLUSTER INFO")  # redis-py parses it into a dict
        assert info["cluster_state"] == "ok"
        assert int(info["cluster_known_nodes"]) == 6
        assert int(info["cluster_slots_assigned"]) == SLOTS
    primaries, replicas = redis_cluster.primaries(), redis_cluster.replicas()
    assert len(primaries) == 3 and len(replicas) == 3
    assert {redis_cluster.primary_of(r).port for r in replicas} == {p.port for p in primaries}
    served = sorted(s for p in primaries for s in redis_cluster.slots_of(p))
    assert served == list(range(SLOTS))
    # Every replica is listed by CLUSTER SLOTS (Redis hides a replica at offset 0).
    reply = node_client(primaries[0]).execute_command("CLUSTER SLOTS")
    assert sorted(len(entry) - 2 for entry in reply) == [2, 2, 2]


def test_redis_py_cluster_client_reads_and_writes_every_node(
    redis_cluster: RedisClusterServer,
) -> None:
    client = cluster_client(redis_cluster)
    try:
        keys = [f"fixture:rw:{i}" for i in range(300)]
        for key in keys:
            client.set(key, key)
        assert [client.get(key) for key in keys] == [key.encode() for key in keys]
        owners = redis_cluster.slot_owners()
        used = {owners[redis_cluster.key_slot(key)].port for key in keys}
        assert len(used) == 3  # keys landed on every primary
        key = keys[0]
        owner = owners[redis_cluster.key_slot(key)]
        assert node_client(owner).get(key) == key.encode()
    finally:
        client.delete(*keys)
        client.close()


def test_node_lookup_and_raw_commands(redis_cluster: RedisClusterServer) -> None:
    node = redis_cluster.nodes[0]
    assert redis_cluster.node(node.port) is node
    assert redis_cluster.node(node.address) is node
    assert redis_cluster.node(node.node_id) is node
    assert redis_cluster.key_slot("foo") == 12182  # the value Redis documents
    assert redis_cluster.key_slot("{user1000}.following") == redis_cluster.key_slot("{user1000}")
    owner = redis_cluster.slot_owner(12182)
    stranger = next(n for n in redis_cluster.primaries() if n is not owner)
    try:
        redis_cluster.execute(stranger, "GET", "foo")
    except RedisReplyError as exc:
        assert exc.code == "MOVED"
        assert exc.reply == f"MOVED 12182 {owner.address}"
    else:
        raise AssertionError("a primary that does not own the slot answered")


def test_parse_cluster_nodes_reads_every_field() -> None:
    text = (
        "07c3 127.0.0.1:30004@31004,host1 slave e7d1 0 1426238317239 4 connected\n"
        "e7d1 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-2 7 [8->-67ed] "
        "[9-<-292f]\n"
        "67ed 127.0.0.1:30002@31002 master,fail - 1426238316232 1426238317741 2 disconnected\n"
    )
    replica, me, failed = parse_cluster_nodes(text)
    assert (replica.role, replica.primary_id, replica.port, replica.bus_port) == (
        "replica",
        "e7d1",
        30004,
        31004,
    )
    assert me.role == "primary" and "myself" in me.flags
    assert me.slots == ((0, 2), (7, 7)) and me.serves(1) and not me.serves(8)
    assert dict(me.migrating) == {8: "67ed"} and dict(me.importing) == {9: "292f"}
    assert failed.failed and failed.link_state == "disconnected" and not replica.failed


# --------------------------------------------------------------------------- faults


def test_kill_a_primary_fails_over_then_it_comes_back_as_a_replica(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    victim = cluster.slot_owner(0)
    replica = cluster.replicas_of(victim)[0]
    client = node_client(victim)
    key = next(f"k{i}" for i in range(100_000) if cluster.key_slot(f"k{i}") == 0)
    client.set(key, "acked")
    assert client.execute_command("WAIT", 1, 2000) == 1  # the replica has it
    pid = victim.pid
    assert pid is not None

    killed_at = cluster.kill(victim)
    assert not pid_alive(pid) and refused(victim.port)
    failover = cluster.wait_failover(victim)
    assert failover.failed is victim and failover.new_primary is replica
    assert failover.fault_at == killed_at
    assert killed_at < failover.promoted_at <= failover.ok_at
    assert cluster.slot_owner(0) is replica and replica.role() == "primary"
    assert node_client(replica).get(key) == b"acked"
    for node in cluster.live_nodes():
        assert node.cluster_info()["cluster_state"] == "ok"

    cluster.restart(victim)  # same port, same nodes.conf: it rejoins as a replica
    assert victim.role() == "replica"
    assert cluster.primary_of(victim) is replica
    assert cluster.slot_owner(0) is replica

    # A planned failover (CLUSTER FAILOVER) hands the slots back.
    back = cluster.failover(victim)
    assert back.new_primary is victim and back.failed is replica
    assert cluster.slot_owner(0) is victim
    assert node_client(victim).get(key) == b"acked"
    cluster.wait_ok()


def test_pause_a_primary_fails_over_and_resume_demotes_it(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    victim = cluster.primaries()[1]
    cluster.pause(victim)
    assert victim.paused and victim.running and not victim.live
    failover = cluster.wait_failover(victim)
    assert failover.new_primary in cluster.primaries()
    assert victim not in [n for n in cluster.live_nodes()]
    cluster.resume(victim)
    assert not victim.paused
    cluster.wait_ok()
    assert victim.role() == "replica"
    assert cluster.primary_of(victim) is failover.new_primary


# --------------------------------------------------------------------------- slots


def test_slot_migration_step_by_step_gives_ask_then_moved(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    keys = [f"{{mig}}:{i}" for i in range(50)]  # one slot, thanks to the hash tag
    slot = cluster.key_slot(keys[0])
    source = cluster.slot_owner(slot)
    target = next(n for n in cluster.primaries() if n is not source)
    src = RespClient.connect(source.port)
    dst = RespClient.connect(target.port)
    try:
        for key in keys:
            src.execute("SET", key, key)

        migration = cluster.begin_migration(slot, target)
        assert migration.state == "migrating" and migration.slots == (slot,)
        (me,) = [n for n in cluster.topology(via=source) if "myself" in n.flags]
        assert dict(me.migrating) == {slot: target.node_id}
        (them,) = [n for n in cluster.topology(via=target) if "myself" in n.flags]
        assert dict(them.importing) == {slot: source.node_id}

        assert migration.move_keys(20) == 20
        assert migration.keys_left() == 30
        # A key the source no longer has gets -ASK (even EXISTS would).
        moved = [k for k in keys if isinstance(src.pipeline([("GET", k)])[0], RedisReplyError)]
        kept = [k for k in keys if k not in moved]
        assert len(moved) == 20
        assert src.execute("GET", kept[0]) == kept[0].encode()  # still served here
        ask = src.pipeline([("GET", moved[0])])[0]
        assert isinstance(ask, RedisReplyError)
        assert ask.reply == f"ASK {slot} {target.address}"
        refused_reply = dst.pipeline([("GET", moved[0])])[0]
        assert isinstance(refused_reply, RedisReplyError) and refused_reply.code == "MOVED"
        assert dst.pipeline([("ASKING",), ("GET", moved[0])]) == ["OK", moved[0].encode()]
        new = src.pipeline([("SET", "{mig}:new", "x")])[0]  # a new key goes to the target
        assert isinstance(new, RedisReplyError) and new.code == "ASK"
        # redis-py follows the ASK and reads every key right mid-migration.
        client = cluster_client(cluster)
        try:
            assert [client.get(k) for k in keys] == [k.encode() for k in keys]
        finally:
            client.close()

        assert migration.finish() == 30
        assert migration.state == "done"
        assert cluster.slot_owner(slot) is target
        moved_reply = src.pipeline([("GET", keys[0])])[0]
        assert isinstance(moved_reply, RedisReplyError)
        assert moved_reply.reply == f"MOVED {slot} {target.address}"
        assert dst.execute("CLUSTER", "COUNTKEYSINSLOT", slot) == 50
        cluster.wait_ok()  # every node agrees on the new owner

        back = cluster.begin_migration(slot, source)
        back.move_keys(10)
        assert back.abort() == 10  # keys and slot stay with the target
        assert cluster.slot_owner(slot) is target
        assert dst.execute("CLUSTER", "COUNTKEYSINSLOT", slot) == 50
        assert back.state == "aborted"
    finally:
        src.close()
        dst.close()


def test_reshard_moves_many_slots_with_their_keys(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = cluster_client(cluster)
    try:
        keys = [f"reshard:{i}" for i in range(2000)]
        for key in keys:
            client.set(key, key)
        owners = cluster.slot_owners()
        target = owners[0]
        wanted = [s for s in range(SLOTS) if owners[s] is not target][:1500]
        moved = cluster.reshard(wanted, target)
        assert moved == sum(1 for k in keys if cluster.key_slot(k) in set(wanted))
        assert moved > 0
        after = cluster.slot_owners()
        assert all(after[s] is target for s in wanted)
        assert len(cluster.slots_of(target)) == len(set(cluster.slots_of(target)))
        assert len(after) == SLOTS
        cluster.wait_ok()
        assert [client.get(k) for k in keys] == [k.encode() for k in keys]  # follows MOVED
        assert slot_ranges(node_client(target))[0][0] == 0
    finally:
        client.close()


# --------------------------------------------------------------------------- no leaks


@pytest.mark.parametrize("ending", ["return normally", "os._exit(3)"])
def test_no_orphans_when_the_test_process_dies(ending: str) -> None:
    # A process that starts a cluster and a sentinel set and never stops them.
    result = run_child(
        f"""
        import os
        from greenpool.testing import RedisClusterServer, RedisSentinelSet
        cluster = RedisClusterServer().start()
        sentinels = RedisSentinelSet().start()
        processes = [*cluster.nodes, *sentinels.servers, *sentinels.sentinels]
        print(*[p.pid for p in processes], flush=True)
        print(*[p.tmpdir for p in processes], flush=True)
        if {ending == "os._exit(3)"}:
            os._exit(3)
        """
    )
    assert result.stdout, result.stderr
    pid_line, dir_line = result.stdout.splitlines()
    pids = [int(pid) for pid in pid_line.split()]
    assert len(pids) == 12
    deadline = time.monotonic() + 5
    while any(map(pid_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(pid_alive, pids))  # atexit, or the kernel's parent-death signal
    if ending == "return normally":
        assert not any(os.path.exists(d) for d in dir_line.split())


def test_a_taken_port_is_replaced_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenpool.testing.servers import redis_cluster, redis_sentinel

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        for module in (redis_cluster, redis_sentinel):
            handed = []

            def first_taken(real: Any = module.free_port, handed: list[int] = handed) -> int:
                handed.append(taken if not handed else real())
                return handed[-1]

            monkeypatch.setattr(module, "free_port", first_taken)
            group: Any = (
                redis_cluster.RedisClusterServer()
                if module is redis_cluster
                else redis_sentinel.RedisSentinelSet()
            )
            def ports(group: Any) -> set[int]:
                if isinstance(group, redis_cluster.RedisClusterServer):
                    return {p for n in group.nodes for p in (n.port, n.bus_port)}
                return {p.port for p in [*group.servers, *group.sentinels]}

            assert taken in ports(group)
            with group:
                assert taken not in ports(group)
                processes = group.nodes if module is redis_cluster else group.servers
                assert all(p.execute("PING") == "PONG" for p in processes)
