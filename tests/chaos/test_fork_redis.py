"""fork() and the Redis components beyond the plain client: docs/reliability.md, "fork()".

Pub/sub (plain, sharded, keyspace notifications, their worker greenlets),
MONITOR, Lock, the cluster client and the Sentinel-managed clients, each
made (and mostly used) in the parent, then forked.  In the child every
component works on first use over connections of the child's own, and
whatever the child inherited (the parent's subscriptions, queued messages,
a lock's token, a slot-map refresh or a sentinel poller under way) stays
the parent's: the child neither reads it nor acts on it.  The parent goes
on as if nothing happened: its subscribers get every message, each once.

The child reports through its exit code (tests/helpers.py ``in_child``);
it uses only new connections of its own, never a helper connection the
parent opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from chaos_load import fork_storm
from gevent.event import Event
from helpers import in_child, wait_until

from greenpool.errors import ConnectionError
from greenpool.redis import Redis, RedisCluster, Sentinel
from greenpool.redis.exceptions import LockError

pytestmark = pytest.mark.chaos


def _port(conn: Any) -> tuple[int, int]:
    """(local port, server port): a local port alone may serve two servers at once."""
    sock = conn._sock
    return int(sock.getsockname()[1]), int(sock.getpeername()[1])


def _ports(conns: Any) -> set[tuple[int, int]]:
    return {_port(c) for c in conns if c._sock is not None}


def _sub_port(pubsub: Any) -> tuple[int, int] | None:
    conn = pubsub._sub.conn
    return None if conn is None or conn._sock is None else _port(conn)


def _data(messages: list[dict[str, Any]]) -> list[Any]:
    return [m["data"] for m in messages if m["type"] in ("message", "pmessage", "smessage")]


def _next_data(pubsub: Any, timeout: float = 5.0) -> Any:
    """The next data message's payload (subscribe confirmations skipped)."""
    with gevent.Timeout(timeout, AssertionError("no message came")):
        while True:
            message = pubsub.get_message(timeout=timeout)
            if message is not None and message["type"] in ("message", "pmessage"):
                return message["data"]


@pytest.fixture
def r(redis_server: Any) -> Iterator[Redis]:
    client = Redis(port=redis_server.port, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()


# --------------------------------------------------------------------------- PubSub


def test_a_pubsub_subscribed_before_fork_stays_the_parents_and_subscribes_anew_in_the_child(
    r: Redis,
) -> None:
    """The parent's subscriptions (a reader, a worker) get every message, each once;
    the child's copies get nothing the parent received, and are subscribed again
    over connections of the child's own on first use (the worker's copy by itself)."""
    channel = f"fork-pubsub-{os.getpid()}"
    reader = r.pubsub()
    reader.subscribe(channel)
    assert reader.get_message(timeout=5)["type"] == "subscribe"
    handled: list[Any] = []
    worker_pubsub = r.pubsub()
    worker_pubsub.subscribe(**{channel: lambda m: handled.append(m["data"])})
    worker = worker_pubsub.run_in_thread(sleep_time=0.05)
    assert r.publish(channel, "before") == 2
    # Received and queued, not yet read: the parent's to read, never the child's.
    wait_until(lambda: not reader._sub.queue.empty() and handled == [b"before"])
    parent_ports = {_sub_port(reader), _sub_port(worker_pubsub)}
    wait_until(lambda: worker_pubsub._sub.waiting == 1, step=0)  # the worker waits at the fork
    untouched = r.pubsub()  # made here, first used in the child

    def check() -> bool:
        # Not "before" (the parent's): subscribed again, over a connection of the child's.
        assert reader.get_message(timeout=5)["type"] == "subscribe"
        untouched.subscribe(channel)
        assert untouched.get_message(timeout=5)["type"] == "subscribe"
        # The worker's copy subscribed again by itself: parent's two, child's three.
        wait_until(lambda: r.pubsub_numsub(channel)[0][1] == 5)
        assert r.publish(channel, "from-child") == 5
        assert _next_data(reader) == b"from-child"
        assert _next_data(untouched) == b"from-child"
        wait_until(lambda: handled == [b"before", b"from-child"])
        mine = {_sub_port(reader), _sub_port(untouched), _sub_port(worker_pubsub)}
        return None not in mine and not mine & parent_ports

    in_child(check)
    assert _next_data(reader) == b"before"
    assert r.publish(channel, "after") == 2  # the child's subscriptions ended with it
    assert _next_data(reader) == b"from-child"
    assert _next_data(reader) == b"after"
    assert reader.get_message(timeout=0.05) is None
    wait_until(lambda: handled == [b"before", b"from-child", b"after"])
    assert {_sub_port(reader), _sub_port(worker_pubsub)} == parent_ports
    assert not worker.dead
    worker.stop()
    reader.close()


def test_greenlets_reading_an_inherited_pubsub_at_once_subscribe_it_once(r: Redis) -> None:
    """Two readers in the child (a worker's copy and a new one, say) share one
    connect: a second subscribed connection would queue every message twice."""
    channel = f"fork-twice-{os.getpid()}"
    pubsub = r.pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"

    def check() -> bool:
        gevent.joinall([gevent.spawn(pubsub.get_message, timeout=0.3) for _ in range(2)])
        assert r.pubsub_numsub(channel)[0][1] == 2  # the parent's and the child's
        assert r.publish(channel, "once") == 2
        assert _next_data(pubsub) == b"once"
        return pubsub.get_message(timeout=0.1) is None

    in_child(check)
    pubsub.close()


def test_a_monitor_reading_before_fork_fails_in_the_child_and_goes_on_in_the_parent(
    r: Redis,
) -> None:
    marker = f"fork-monitor-{os.getpid()}"
    with r.monitor() as monitor:
        r.echo(marker + "-before")
        wait_until(lambda: not monitor._sub.queue.empty())
        parent_port = _sub_port(monitor)

        def check() -> bool:
            with pytest.raises(ConnectionError):
                monitor.next_command(timeout=2)  # neither the parent's commands nor a hang
            with r.monitor() as mine:  # a MONITOR of the child's own works
                assert _sub_port(mine) != parent_port
                r.echo(marker + "-child")
                while marker + "-child" not in mine.next_command(timeout=5)["command"]:
                    pass
            return True

        in_child(check)
        r.echo(marker + "-after")
        seen = []
        while not seen or marker + "-after" not in seen[-1]:
            seen.append(monitor.next_command(timeout=5)["command"])
        assert any(marker + "-before" in c for c in seen)  # nothing was taken from the parent
        assert _sub_port(monitor) == parent_port


# --------------------------------------------------------------------------- keyspace


def _pattern_subscribers(r: Redis) -> int:
    return sum(1 for client in r.client_list() if int(client["psub"]) > 0)


def test_keyspace_notifications_listening_before_fork_listen_in_both(
    redis_server: Any, r: Redis
) -> None:
    redis_server.execute("CONFIG", "SET", "notify-keyspace-events", "KA")
    prefix = f"fork-ks-{os.getpid()}:"
    seen: list[tuple[str, str]] = []
    notes = r.keyspace_notifications(key_prefix=prefix)
    notes.subscribe_keyspace(prefix + "*", handler=lambda n: seen.append((n.key, n.event_type)))
    worker = notes.run_in_thread(poll_timeout=0.05)
    try:
        r.set(prefix + "parent", 1)
        wait_until(lambda: seen == [("parent", "set")])
        patterns = _pattern_subscribers(r)

        def check() -> bool:
            # The worker's copy subscribed again, over a connection of the child's.
            wait_until(lambda: _pattern_subscribers(r) == patterns + 1)
            r.set(prefix + "child", 1)
            wait_until(lambda: seen == [("parent", "set"), ("child", "set")])
            return True

        in_child(check)
        r.set(prefix + "after", 1)
        wait_until(lambda: len(seen) == 3)
        assert seen == [("parent", "set"), ("child", "set"), ("after", "set")]
        assert not worker.dead
    finally:
        worker.stop()
        redis_server.execute("CONFIG", "SET", "notify-keyspace-events", "")


# --------------------------------------------------------------------------- Lock


@pytest.mark.parametrize("thread_local", [True, False])
def test_a_lock_held_across_fork_stays_the_parents(r: Redis, thread_local: bool) -> None:
    """The child's copy of a greenlet inside ``with lock:`` can't release the
    parent's lock, nor can anything else in the child."""
    name = f"fork-lock-{os.getpid()}-{thread_local}"
    lock = r.lock(name, timeout=30, thread_local=thread_local, raise_on_release_error=False)
    go_on = Event()

    def hold() -> None:
        with lock:
            go_on.wait()

    holder = gevent.spawn(hold)
    wait_until(lambda: r.get(name) is not None)
    token = r.get(name)

    def check() -> bool:
        go_on.set()
        holder.join(5)  # the copy leaves its with-block: it must not release
        assert holder.dead
        assert r.get(name) == token
        assert not lock.owned()
        with pytest.raises(LockError):
            lock.release()
        with pytest.raises(LockError):
            lock.extend(10)
        assert r.get(name) == token
        assert lock.acquire(blocking=False) is False  # the parent holds it
        return True

    in_child(check)
    assert r.get(name) == token
    assert not holder.dead
    go_on.set()
    holder.join(5)
    assert r.get(name) is None  # the parent released it


# --------------------------------------------------------------------------- Cluster


def _cluster_ports(rc: RedisCluster) -> set[tuple[int, int]]:
    ports: set[tuple[int, int]] = set()
    for node in rc.get_nodes():
        assert node.node is not None
        ports |= _ports(node.node.shared_pool.connections)
    return ports


def _cluster_work(rc: RedisCluster, tag: str) -> bool:
    keys = [f"{{fork{i}}}{tag}" for i in range(12)]  # spread over the shards
    for key in keys:
        rc.set(key, tag)
    assert rc.mget_nonatomic(keys) == [tag.encode()] * len(keys)
    with rc.pipeline() as pipe:
        for key in keys:
            pipe.get(key)
        assert pipe.execute() == [tag.encode()] * len(keys)
    with rc.pipeline(transaction=True) as pipe:
        pipe.set(keys[0], tag + "!").get(keys[0])
        assert pipe.execute() == [True, (tag + "!").encode()]
    return True


def test_a_cluster_client_used_before_fork_works_in_both_over_their_own_connections(
    redis_cluster: Any,
) -> None:
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes, socket_timeout=5)
    made_only = RedisCluster(startup_nodes=redis_cluster.startup_nodes, socket_timeout=5)
    _cluster_work(rc, f"parent{os.getpid()}")
    parent_ports = _cluster_ports(rc)
    made_only_ports = _cluster_ports(made_only)  # the slot-map read's

    def check() -> bool:
        _cluster_work(rc, "child")
        _cluster_work(made_only, "child2")
        mine = _cluster_ports(rc) | _cluster_ports(made_only)
        return bool(mine) and not mine & (parent_ports | made_only_ports)

    in_child(check)
    _cluster_work(rc, "parent-after")
    assert _cluster_ports(rc) == parent_ports
    rc.close()
    made_only.close()


def test_a_cluster_client_forked_under_load_never_crosses_replies(redis_cluster: Any) -> None:
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes, socket_timeout=10)

    def call(value: str) -> Any:
        rc.set(value, value, px=60000)  # keys on every shard
        return rc.get(value)

    for i in range(32):  # every primary's shared connections are open before the storm
        call(f"warm{i}")
    parent_ports = _cluster_ports(rc)

    def in_child() -> bool:
        ok = all(call(f"child{i}") == f"child{i}".encode() for i in range(20))
        return ok and not _cluster_ports(rc) & parent_ports

    result = fork_storm(call, in_child=in_child, greenlets=200, forks=10)
    assert result.hung == 0 and result.crossed == [] and result.errors == []
    assert result.children == [0] * 10
    assert _cluster_ports(rc) == parent_ports
    rc.close()


def test_a_slot_map_refresh_under_way_at_fork_is_left_to_the_parent(redis_cluster: Any) -> None:
    """The child's copy of the refresh asks nobody else: the child opens nothing
    until it uses the client, and its own refresh is not the parent's."""
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes, socket_timeout=5)
    refreshes = rc.stats()["refreshes"]
    nodes = [n.node for n in rc.get_nodes() if n.node is not None]
    # Started, its greenlet not yet run: the child's copy would run it from the start.
    refreshing = rc.topology._start()

    def check() -> bool:
        gevent.sleep(0.3)  # the copy of the refresh had its chance
        opened = [n for n in nodes if n.shared_pool.connected_connections]
        assert opened == [], f"the child connected to {opened}"
        rc.refresh_slots(timeout=5)
        return _cluster_work(rc, "child")

    in_child(check)
    refreshing.get(timeout=5)  # the parent's refresh was never the child's
    assert rc.stats()["refreshes"] > refreshes
    _cluster_work(rc, "parent")
    rc.close()


def test_cluster_pubsub_subscribed_before_fork_stays_the_parents_and_subscribes_anew_in_the_child(
    redis_cluster: Any,
) -> None:
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes, socket_timeout=5)
    tag = os.getpid()
    shard_channels = [f"{{fork{i}}}-s{tag}" for i in range(6)]  # on several primaries
    plain = f"fork-plain-{tag}"
    got: list[Any] = []
    sharded = rc.pubsub()
    sharded.ssubscribe(**{c: (lambda m: got.append(m["data"])) for c in shard_channels})
    sharded.subscribe(**{plain: lambda m: got.append(m["data"])})
    worker = sharded.run_in_thread(sleep_time=0.05, sharded_pubsub=True)
    plain_worker = sharded.run_in_thread(sleep_time=0.05)
    def subscribers(kind: str, channel: str, node: Any) -> int:
        server = redis_cluster.node(node.port)  # a new connection each time
        return int(server.execute("PUBSUB", kind, channel)[1])

    def shard_subscribers(channel: str) -> int:
        return subscribers("SHARDNUMSUB", channel, rc.get_node_from_key(channel))

    plain_node = rc.get_default_node()  # where rc.pubsub() subscribes plain channels
    for channel in shard_channels:
        wait_until(lambda c=channel: shard_subscribers(c) == 1)
    for channel in shard_channels:
        rc.spublish(channel, "before-" + channel)
    rc.publish(plain, "before-plain")
    expected_before = {("before-" + c).encode() for c in shard_channels} | {b"before-plain"}
    wait_until(lambda: set(got) == expected_before)
    parent_ports = {_port(c) for c in sharded._shard_conns.values()}
    untouched = rc.pubsub()

    def check() -> bool:
        got.clear()
        # The workers' copies subscribe again in the child, each channel on its primary.
        for channel in shard_channels:
            wait_until(lambda c=channel: shard_subscribers(c) == 2)
        wait_until(lambda: subscribers("NUMSUB", plain, plain_node) == 2)
        untouched.ssubscribe(shard_channels[0])
        for channel in shard_channels:
            rc.spublish(channel, "child-" + channel)
        rc.publish(plain, "child-plain")
        wanted = {("child-" + c).encode() for c in shard_channels} | {b"child-plain"}
        wait_until(lambda: set(got) == wanted and len(got) == len(wanted))
        message = None
        while message is None or message["type"] != "smessage":
            message = untouched.get_sharded_message(timeout=5)
        assert message["data"] == ("child-" + shard_channels[0]).encode()
        mine = {_port(c) for c in sharded._shard_conns.values()}
        return bool(mine) and not mine & parent_ports

    in_child(check)
    wait_until(lambda: len(got) == 2 * len(expected_before))
    assert sorted(got) == sorted(
        expected_before
        | {("child-" + c).encode() for c in shard_channels}
        | {b"child-plain"}
    )  # every message once: none lost to the child, none twice
    got.clear()
    for channel in shard_channels:
        rc.spublish(channel, "after-" + channel)
    wait_until(lambda: len(got) == len(shard_channels))
    assert {_port(c) for c in sharded._shard_conns.values()} == parent_ports
    assert not worker.dead and not plain_worker.dead
    worker.stop()
    plain_worker.stop()
    rc.close()


def test_greenlets_reading_an_inherited_cluster_pubsub_at_once_subscribe_it_once(
    redis_cluster: Any,
) -> None:
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes, socket_timeout=5)
    channel = f"fork-twice-s{os.getpid()}"
    server = redis_cluster.node(rc.get_node_from_key(channel).port)
    pubsub = rc.pubsub()
    pubsub.ssubscribe(channel)
    assert pubsub.get_sharded_message(timeout=5)["type"] == "ssubscribe"

    def check() -> bool:
        gevent.joinall([gevent.spawn(pubsub.get_sharded_message, timeout=0.3)
                        for _ in range(2)])
        assert int(server.execute("PUBSUB", "SHARDNUMSUB", channel)[1]) == 2
        rc.spublish(channel, "once")
        message = None
        while message is None or message["type"] != "smessage":
            message = pubsub.get_sharded_message(timeout=5)
        return pubsub.get_sharded_message(timeout=0.1) is None

    in_child(check)
    pubsub.close()
    rc.close()


# --------------------------------------------------------------------------- Sentinel


def _subscribed(sentinels: Any) -> list[int]:
    """Per sentinel: how many clients are subscribed to channels (a listener each)."""
    counts = []
    for server in sentinels:
        lines = server.execute("CLIENT", "LIST").decode().splitlines()
        counts.append(sum(1 for line in lines if " sub=0 " not in line and " psub=0 " in line))
    return counts


@pytest.mark.parametrize("used", [True, False], ids=["used", "made"])
def test_sentinel_clients_made_before_fork_open_nothing_in_the_child_until_used(
    redis_sentinel: Any, used: bool
) -> None:
    """The copies of the listeners, the poller and a discovery stop in the child;
    the child's first use finds the primary, connects, and listens and polls
    for itself."""
    sentinel = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2, poll_interval=0.05)
    primary = sentinel.master_for(redis_sentinel.service_name)
    replica = sentinel.slave_for(redis_sentinel.service_name)
    key = f"fork-sentinel-{os.getpid()}"
    setter = Redis(*redis_sentinel.primary_address(), socket_timeout=2)
    setter.set(key, "parent")
    setter.close()
    wait_until(lambda: all(server.execute("GET", key) == b"parent"
                           for server in redis_sentinel.replicas()))
    if used:
        wait_until(lambda: replica.get(key) == b"parent" and primary.get(key) == b"parent")
    # The parent's poller has asked the sentinels (connecting to them) at least once.
    wait_until(lambda: sentinel.stats()["polls"] > 0 and all(
        len(s.shared_pool.connected_connections) == s.shared_pool.pool_size
        for s in sentinel.sentinels))
    wait_until(lambda: _subscribed(redis_sentinel.sentinels) == [1, 1, 1])  # the listeners
    parent_ports = _ports(primary.shared_pool.connections) | _ports(
        replica.shared_pool.connections)

    def check() -> bool:
        at_fork = sentinel.stats()
        gevent.sleep(0.3)  # six poll periods, a listener's wake-up: nothing may ask
        assert sentinel.stats() == at_fork  # no poll, no discovery by a copy
        asked = [s for s in sentinel.sentinels if s.shared_pool.connected_connections]
        assert asked == [], f"the child connected to {asked}"
        assert primary.get(key) == b"parent"
        assert replica.get(key) == b"parent"
        mine = _ports(primary.shared_pool.connections) | _ports(replica.shared_pool.connections)
        assert mine and not mine & parent_ports
        # Listening again, over connections of the child's own.
        wait_until(lambda: _subscribed(redis_sentinel.sentinels) == [2, 2, 2])
        polls = sentinel.stats()["polls"]
        wait_until(lambda: sentinel.stats()["polls"] > polls)
        return True

    if used:
        # A discovery asked for at the fork: its greenlet is spawned (by the caller,
        # which runs first) but runs only after the fork, in both processes.
        asking = gevent.spawn(primary.settings.locator.refresh)
        forking = gevent.spawn(in_child, check)
        forking.get()
        asking.get(timeout=5)
    else:
        in_child(check)
    assert primary.get(key) == b"parent"
    wait_until(lambda: _subscribed(redis_sentinel.sentinels) == [1, 1, 1])  # the parent's
    primary.close()
    replica.close()
    sentinel.close()
