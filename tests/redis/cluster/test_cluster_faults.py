"""RedisCluster while the cluster changes under it: slot migrations (ASK, then MOVED),
resharding under pipelines, a primary SIGKILLed, a node SIGSTOPped.

Each test gets a cluster of its own (``fresh_redis_cluster``) and runs many
greenlets that check every reply against their own last write, so a reply
meant for another key or another caller is counted as wrong.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

import gevent
import pytest
from helpers import wait_until

from greenpool.errors import TimeoutError
from greenpool.redis.cluster import RedisCluster, TryAgainError, key_slot
from greenpool.testing import RedisClusterServer


class Load:
    """``greenlets`` greenlets doing SET then GET on keys of their own until stopped."""

    def __init__(self, client: RedisCluster, greenlets: int, keys_each: int = 2,
                 tag: str = "k") -> None:
        self.client = client
        self.keys = [[f"{tag}:{i}:{j}" for j in range(keys_each)] for i in range(greenlets)]
        self.errors: collections.Counter[str] = collections.Counter()
        self.error_times: list[float] = []
        self.wrong: list[tuple[str, Any, Any]] = []
        self.successes: dict[int, list[float]] = collections.defaultdict(list)
        self.acked: dict[str, int] = {}  # key -> the step of its last acknowledged SET
        self.ok = 0
        self._stop = False
        self._jobs: list[gevent.Greenlet] = []

    def _one(self, index: int) -> None:
        step = 0
        while not self._stop:
            for key in self.keys[index]:
                started = time.monotonic()
                value = f"{index}:{step}".encode()
                try:
                    self.client.set(key, value)
                    self.acked[key] = step
                    got = self.client.get(key)
                except Exception as exc:  # counted, then the caller carries on
                    self.errors[type(exc).__name__] += 1
                    self.error_times.append(time.monotonic())
                    gevent.sleep(0.001)
                    continue
                if got != value:
                    self.wrong.append((key, value, got))
                self.ok += 1
                self.successes[index].append(started)
            step += 1
            gevent.sleep(0)

    def start(self) -> Load:
        self._jobs = [gevent.spawn(self._one, i) for i in range(len(self.keys))]
        return self

    def stop(self) -> None:
        self._stop = True
        gevent.joinall(self._jobs, raise_error=True)

    def wait_written(self, timeout: float = 10.0) -> None:
        """Until every key has been written once (a fixed wait missed some on a slow machine)."""
        total = sum(len(keys) for keys in self.keys)
        wait_until(lambda: len(self.acked) == total, timeout)

    def slots(self) -> list[int]:
        return sorted({key_slot(k) for keys in self.keys for k in keys})


def _other_primary(cluster: RedisClusterServer, slot: int) -> Any:
    owner = cluster.slot_owner(slot)
    return next(p for p in cluster.primaries() if p is not owner)


def test_ask_then_moved_during_a_migration_under_1000_greenlets(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes)
    load = Load(client, 1000).start()
    try:
        load.wait_written()
        # Every slot that the load uses and the first primary serves moves to another one.
        owner = cluster.primaries()[0]
        mine = [s for s in load.slots() if cluster.slot_owner(s) is owner][:200]
        target = _other_primary(cluster, mine[0])
        migration = cluster.begin_migration(mine, target)
        gevent.sleep(0.3)
        migration.move_keys(count=100)  # half-way: moved keys answer ASK on the source
        gevent.sleep(0.5)
        migration.move_keys(count=100)
        gevent.sleep(0.5)
        migration.finish()  # now MOVED
        gevent.sleep(1.0)
    finally:
        load.stop()
        client.close()
    stats = client.stats()
    assert load.wrong == []
    assert dict(load.errors) == {}
    assert stats["ask"] > 0 and stats["moved"] > 0
    # MOVED patched the slots; the refreshes it scheduled are single-flight and spaced.
    assert stats["refreshes"] < 30, stats
    assert load.ok > 2000


def test_moved_after_resharding_under_1000_greenlets(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes)
    load = Load(client, 1000).start()
    try:
        load.wait_written()
        slots = load.slots()
        target = _other_primary(cluster, slots[0])  # the low slots are not all its own
        for part in (slots[:300], slots[300:600]):
            assert cluster.reshard(part, target) > 0  # keys moved
            gevent.sleep(0.5)
    finally:
        load.stop()
        client.close()
    assert load.wrong == []
    assert dict(load.errors) == {}
    assert client.stats()["moved"] > 0
    assert client.stats()["refreshes"] < 30


def test_pipelines_during_resharding_see_their_own_writes(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes)
    wrong: list[Any] = []
    errors: collections.Counter[str] = collections.Counter()
    stop = False
    rounds = [0]

    def worker(index: int) -> None:
        keys = [f"p:{index}:{j}" for j in range(6)]  # spread over the nodes
        count = 0
        while not stop:
            count += 1
            pipe = client.pipeline()
            for key in keys:
                pipe.set(key, f"{index}:{count}").incr(f"{key}:n").get(key).get(f"{key}:n")
            try:
                results = pipe.execute()
            except Exception as exc:
                errors[type(exc).__name__] += 1
                return
            for n, key in enumerate(keys):
                ok, counter, value, counter_read = results[4 * n: 4 * n + 4]
                expected = f"{index}:{count}".encode()
                if ok is not True or value != expected or counter != count or (
                        counter_read != str(count).encode()):
                    wrong.append((key, results[4 * n: 4 * n + 4], count))
            rounds[0] += 1
            gevent.sleep(0)

    jobs = [gevent.spawn(worker, i) for i in range(200)]
    try:
        gevent.sleep(0.3)
        owners = cluster.slot_owners()
        slots = sorted({key_slot(f"p:{i}:{j}{suffix}") for i in range(200) for j in range(6)
                        for suffix in ("", ":n")})
        first = owners[slots[0]]
        moving = [s for s in slots if owners[s] is first][:100]
        migration = cluster.begin_migration(moving, _other_primary(cluster, slots[0]))
        gevent.sleep(0.3)
        migration.move_keys(count=50)
        gevent.sleep(0.3)
        migration.finish()
        gevent.sleep(0.3)
        assert cluster.reshard(slots[:200], _other_primary(cluster, slots[0])) > 0
        gevent.sleep(0.5)
    finally:
        stop = True
        gevent.joinall(jobs, raise_error=True)
        client.close()
    assert wrong == []
    assert dict(errors) == {}
    assert rounds[0] > 200
    assert client.stats()["moved"] > 0


def test_a_primary_killed_under_load_recovers_after_promotion(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes, socket_timeout=2.0)
    load = Load(client, 1000).start()
    try:
        # Every key written at least once (a loaded machine takes longer than
        # usual to start 1,000 greenlets on a new cluster).
        wait_until(lambda: len(load.acked) == 2000, timeout=30)
        victim = cluster.slot_owner(0)
        refreshes_before = client.stats()["refreshes"]
        # What the replica had: the helpers' connections block the hub, so no greenlet
        # runs between this snapshot and the marker SET; WAIT 1 returning 1 proves the
        # replica has the replication stream up to the marker, so every write
        # acknowledged before the snapshot.
        replicated = dict(load.acked)
        marker = next(f"marker:{i}" for i in range(10_000)
                      if cluster.slot_owner(key_slot(f"marker:{i}")) is victim)
        assert cluster.pipeline(victim, [("SET", marker, "m"), ("WAIT", 1, 2000)]) == [
            "OK", 1]
        victim_slots = set(cluster.slots_of(victim))
        killed_at = cluster.kill(victim)
        # wait_failover polls with blocking sockets: in a real thread, so that the
        # load keeps running (and failing) through the outage.
        outcome: list[Any] = []
        watcher = threading.Thread(
            target=lambda: outcome.append(cluster.wait_failover(victim, 20.0)), daemon=True)
        watcher.start()
        while watcher.is_alive():
            gevent.sleep(0.05)
        failover = outcome[0]
        errors_in_outage = sum(load.errors.values())
        gevent.sleep(2.5)
        load.stop()
        # 0 acknowledged writes lost that the replica had: each key holds that write
        # or a later one of its owner (steps only grow) ...
        assert client.get(marker) == b"m"
        stored = dict(zip(load.acked, client.mget_nonatomic(list(load.acked)), strict=True))
        lost = {k: (step, stored[k]) for k, step in replicated.items()
                if stored[k] is None or int(stored[k].split(b":")[1]) < step}
        # ... and the writes acknowledged after recovery are all there: each key
        # holds exactly its last acknowledged value.
        latest = {k: (step, stored[k]) for k, step in load.acked.items()
                  if stored[k] != f"{k.split(':')[1]}:{step}".encode()}
    finally:
        load.stop()
        client.close()
    # The check covered the killed primary's keys (a third of the 2,000).
    assert len([k for k in replicated if key_slot(k) in victim_slots]) > 300
    assert lost == {}, list(lost.items())[:5]
    assert latest == {}, list(latest.items())[:5]
    ok_at = failover.ok_at
    assert load.wrong == []
    # While a primary is down the survivors answer CLUSTERDOWN for every slot.
    assert set(load.errors) <= {"ConnectionError", "TimeoutError", "ClusterDownError"}, load.errors
    assert errors_in_outage > 0  # the load did run through the outage
    # Errors only until the survivors agreed on the new primary, plus a little.
    late = [t - ok_at for t in load.error_times if t > ok_at + 2.0]
    assert late == [], late[:5]
    # Every greenlet works again: a success that started 2 s after cluster_state:ok.
    idle = [i for i in range(1000) if not any(t >= ok_at + 2.0 for t in load.successes[i])]
    assert idle == []
    refreshes = client.stats()["refreshes"] - refreshes_before
    print(f"errors {dict(load.errors)} refreshes {refreshes} ok {load.ok} "
          f"promoted {failover.promoted_at - killed_at:.2f}s ok {ok_at - killed_at:.2f}s "
          f"checked {len(replicated)} keys replicated before the kill")
    assert refreshes < 30, refreshes  # about two per second of outage, not one per greenlet
    assert failover.promoted_at > killed_at


def test_a_paused_node_bounds_calls_and_pipelines_by_the_timeout(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes, socket_timeout=0.5)
    try:
        keys = {}
        i = 0
        while len(keys) < 3:
            owner = client.get_node_from_key(f"s:{i}")
            assert owner is not None
            keys.setdefault(owner.name, f"s:{i}")
            i += 1
        for key in keys.values():
            client.set(key, "v")
        victim_name = next(iter(keys))
        victim = cluster.node(int(victim_name.rsplit(":", 1)[1]))
        cluster.pause(victim)
        try:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                client.get(keys[victim_name])
            assert time.monotonic() - started < 1.5
            others = [k for name, k in keys.items() if name != victim_name]
            assert [client.get(k) for k in others] == [b"v", b"v"]
            pipe = client.pipeline()
            for key in keys.values():
                pipe.get(key)
            started = time.monotonic()
            results = pipe.execute(raise_on_error=False)
            assert time.monotonic() - started < 1.5
            by_key = dict(zip(keys.values(), results, strict=True))
            assert isinstance(by_key[keys[victim_name]], TimeoutError)
            assert [by_key[k] for k in others] == [b"v", b"v"]
            used = client.connections_used()
            # Only the paused node's pipeline connection was closed.
            assert used[victim_name]["dedicated"] == 0
            assert all(used[name]["dedicated"] == 1 for name in keys if name != victim_name)
            # The caller's own gevent.Timeout reaches it unchanged; the pipeline's
            # connection to the paused node is closed, never reused.
            pipe = client.pipeline()
            pipe.get(keys[victim_name]).get(others[0])
            mine = gevent.Timeout(0.2)
            with pytest.raises(gevent.Timeout) as caught, mine:
                pipe.execute()
            assert caught.value is mine
            assert client.connections_used()[victim_name]["dedicated"] == 0
        finally:
            cluster.resume(victim)
        assert [client.get(k) for k in keys.values()] == [b"v", b"v", b"v"]
        pipe = client.pipeline()
        for key in keys.values():
            pipe.get(key)
        assert pipe.execute() == [b"v", b"v", b"v"]
    finally:
        client.close()


@pytest.mark.parametrize("with_retry", [False, True], ids=["own-backoff", "redis-py-retry"])
def test_a_write_is_not_resent_after_its_connection_broke(
    fresh_redis_cluster: RedisClusterServer, with_retry: bool,
) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    cluster = fresh_redis_cluster
    # Not even a redis-py Retry (which knows greenpool's ConnectionError) resends it.
    client = RedisCluster(startup_nodes=cluster.startup_nodes, socket_timeout=5.0,
                          retry=Retry(NoBackoff(), 10) if with_retry else None)
    try:
        key = "incr-once"
        client.set(key, 0)
        owner = cluster.node(client.get_node_from_key(key).port)  # type: ignore[union-attr]
        # Pause the owner, queue INCRs on its connection, then kill it: each INCR
        # was written and its fate is unknown, so each must fail, none be resent.
        cluster.pause(owner)
        calls = [gevent.spawn(client.incr, key) for _ in range(20)]
        gevent.sleep(0.2)
        cluster.kill(owner)
        gevent.joinall(calls)
        assert all(isinstance(c.exception, ConnectionError) for c in calls), [
            c.exception for c in calls]
        cluster.wait_failover(owner)
        client.refresh_slots()
        # The promoted replica never saw the INCRs (the primary was paused); none was replayed.
        assert client.get(key) == b"0"
        assert client.incr(key) == 1
    finally:
        client.close()


def test_reads_move_to_the_primary_when_a_replica_dies(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes,
                          load_balancing_strategy="round_robin_replicas")
    keys = [f"r:{i}" for i in range(300)]
    client.mset_nonatomic({k: k for k in keys})
    for primary in cluster.primaries():  # every replica has every key before we start
        assert cluster.execute(primary, "WAIT", 1, 5000) == 1
    errors: collections.Counter[str] = collections.Counter()
    wrong: list[Any] = []
    reads = [0]
    stop = False

    def reader(i: int) -> None:
        while not stop:
            key = keys[(i * 7 + reads[0]) % len(keys)]
            try:
                got = client.get(key)
            except Exception as exc:
                errors[type(exc).__name__] += 1
                gevent.sleep(0.001)
                continue
            if got != key.encode():
                wrong.append((key, got))
            reads[0] += 1

    jobs = [gevent.spawn(reader, i) for i in range(200)]
    try:
        victim = cluster.replicas()[0]
        # It serves reads (its shared connections are up): waited for, not a
        # fixed 0.3 s, which a loaded machine once missed.
        wait_until(
            lambda: client.connections_used()[f"127.0.0.1:{victim.port}"]["shared"] > 0,
            timeout=5)
        cluster.kill(victim)
        before = reads[0]
        gevent.sleep(1.5)
        after = reads[0]
    finally:
        stop = True
        gevent.joinall(jobs, raise_error=True)
        client.close()
    assert wrong == []
    assert dict(errors) == {}  # a read is retried on the primary: nobody noticed
    assert after - before > 1000


def test_sharded_pubsub_follows_a_slot_migration(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes)
    channels: dict[str, str] = {}  # primary name -> a channel it serves
    i = 0
    while len(channels) < 3:
        owner = client.get_node_from_key(f"ch:{i}")
        assert owner is not None
        channels.setdefault(owner.name, f"ch:{i}")
        i += 1
    sub = client.pubsub()
    try:
        sub.ssubscribe(*channels.values())
        confirmations = [sub.get_sharded_message(timeout=2.0) for _ in channels]
        assert sorted(m["channel"] for m in confirmations if m) == sorted(
            c.encode() for c in channels.values())
        assert {m["type"] for m in confirmations if m} == {"ssubscribe"}

        def receive_all(tag: str) -> set[Any]:
            for channel in channels.values():
                assert client.spublish(channel, f"{tag}:{channel}") == 1
            got = set()
            deadline = time.monotonic() + 3.0
            while len(got) < len(channels) and time.monotonic() < deadline:
                message = sub.get_sharded_message(ignore_subscribe_messages=True, timeout=0.2)
                if message is not None and message["data"] != b"probe":
                    assert message["type"] == "smessage"
                    got.add(message["data"])
            return got

        assert receive_all("before") == {f"before:{c}".encode() for c in channels.values()}
        # Move the first channel's slot: its node drops the subscription (sunsubscribe).
        moving = next(iter(channels.values()))
        slot = key_slot(moving)
        cluster.migrate_slot(slot, _other_primary(cluster, slot))
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            sub.get_sharded_message(timeout=0.2)  # handles the drop, subscribes again
            owner = client.get_node_from_key(moving)
            if owner is not None and owner.port == cluster.slot_owner(slot).port and (
                    client.spublish(moving, "probe") == 1):
                break
        assert client.stats()["refreshes"] >= 2  # the drop refreshed the map
        assert receive_all("after") == {f"after:{c}".encode() for c in channels.values()}
        sub.sunsubscribe()
        assert sub.subscribed  # until the confirmations are read, as redis-py's
        deadline = time.monotonic() + 3.0
        while sub.subscribed and time.monotonic() < deadline:
            sub.get_sharded_message(timeout=0.2)
        assert not sub.subscribed and not sub.shard_channels
    finally:
        sub.close()
        client.close()


def test_a_planned_failover_under_load_costs_no_error(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes)
    load = Load(client, 500).start()
    try:
        gevent.sleep(0.3)
        replica = cluster.replicas_of(cluster.slot_owner(0))[0]
        outcome: list[Any] = []
        watcher = threading.Thread(target=lambda: outcome.append(cluster.failover(replica)),
                                   daemon=True)
        watcher.start()
        while watcher.is_alive():
            gevent.sleep(0.05)
        assert outcome, "the failover did not complete"
        ok_before = load.ok
        gevent.sleep(1.0)
        assert load.ok - ok_before > 1000  # working on the new primary
    finally:
        load.stop()
        client.close()
    assert load.wrong == []
    # The old primary answers MOVED (nothing written) and the slot follows: no error.
    assert dict(load.errors) == {}
    assert client.stats()["moved"] > 0


def test_tryagain_waits_for_the_migration_within_the_attempts(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes, cluster_error_retry_attempts=10)
    a, b = "{mig}:a", "{mig}:b"
    client.mset({a: "1", b: "2"})
    slot = key_slot(a)
    migration = cluster.begin_migration(slot, _other_primary(cluster, slot))
    assert migration.move_keys(count=1) == 1  # one key on each side: MGET gets TRYAGAIN
    pending = gevent.spawn(client.mget, a, b)
    gevent.sleep(0.1)
    assert not pending.ready()  # waiting with back-off, not failed
    migration.finish()
    assert pending.get(timeout=5) == [b"1", b"2"]
    assert client.stats()["moved"] >= 1
    # With no attempt left the server's error is raised, as redis-py's TryAgainError.
    impatient = RedisCluster(startup_nodes=cluster.startup_nodes, cluster_error_retry_attempts=0)
    try:
        back = cluster.begin_migration(slot, _other_primary(cluster, slot))
        back.move_keys(count=1)
        with pytest.raises(TryAgainError):
            impatient.mget(a, b)
        back.finish()
        assert impatient.mget(a, b) == [b"1", b"2"]
    finally:
        impatient.close()
        client.close()


def test_a_pipeline_read_after_a_retried_write_sees_that_write(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    cluster = fresh_redis_cluster
    client = RedisCluster(startup_nodes=cluster.startup_nodes, cluster_error_retry_attempts=10)
    try:
        a, b = "{pl}:a", "{pl}:b"
        client.mset({a: "old", b: "old"})
        slot = key_slot(a)
        source = cluster.slot_owner(slot)
        migration = cluster.begin_migration(slot, _other_primary(cluster, slot))
        assert migration.move_keys(count=1) == 1
        stay = a if cluster.pipeline(source, [("EXISTS", a)])[0] == 1 else b
        gone = b if stay == a else a
        pipe = client.pipeline()
        # MSET is answered TRYAGAIN (its keys are split); the GET after it runs on the
        # source at once and sees the old value: it must be sent again after the MSET.
        pipe.mset({stay: "new", gone: "new"}).get(stay).get(gone)
        running = gevent.spawn(pipe.execute)
        gevent.sleep(0.1)
        assert not running.ready()
        migration.finish()
        assert running.get(timeout=5) == [True, b"new", b"new"]
    finally:
        client.close()


def test_a_redis_py_retry_decides_attempts_and_waits(
    fresh_redis_cluster: RedisClusterServer,
) -> None:
    from redis.backoff import AbstractBackoff
    from redis.retry import Retry

    class Recorded(AbstractBackoff):  # type: ignore[misc]
        def __init__(self) -> None:
            self.failures: list[int] = []

        def compute(self, failures: int) -> float:
            self.failures.append(failures)
            return 0.01  # redis-py's Retry sleeps with time.sleep: keep it short

    cluster = fresh_redis_cluster
    patient = Recorded()
    client = RedisCluster(startup_nodes=cluster.startup_nodes, retry=Retry(patient, 1000))
    try:
        a, b = "{rt}:a", "{rt}:b"
        client.mset({a: "1", b: "2"})
        slot = key_slot(a)
        migration = cluster.begin_migration(slot, _other_primary(cluster, slot))
        assert migration.move_keys(count=1) == 1  # MGET gets TRYAGAIN until the end
        pending = gevent.spawn(client.mget, a, b)
        gevent.sleep(0.1)
        assert not pending.ready()
        migration.finish()
        assert pending.get(timeout=5) == [b"1", b"2"]
        # The retry's backoff was asked for each wait, failure after failure.
        assert len(patient.failures) >= 2
        assert patient.failures == list(range(1, len(patient.failures) + 1))
        # Its count bounds the attempts: 2 retries, then the server's error.
        impatient = Recorded()
        client.set_retry(Retry(impatient, 2))
        back = cluster.begin_migration(slot, _other_primary(cluster, slot))
        back.move_keys(count=1)
        with pytest.raises(TryAgainError):
            client.mget(a, b)
        assert impatient.failures == [1, 2]
        back.finish()
        assert client.mget(a, b) == [b"1", b"2"]
    finally:
        client.close()
