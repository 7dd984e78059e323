"""What redis-py's own cluster tests found: each case cross-checked against redis-py.

These are the incompatibilities found by running redis-py's tests/test_cluster.py
against ``greenpool.redis.RedisCluster`` (docs/redis-cluster.md, "redis-py's own
cluster tests"); where practical a test runs the same steps through redis-py's
``RedisCluster`` and greenpool's on the session's cluster and compares them.
Nothing here moves slots or kills nodes.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis.cluster

from greenpool import ConfigurationError
from greenpool.redis.cluster import ClusterNode, RedisCluster, RedisClusterException
from greenpool.testing import RedisClusterServer
from tests.helpers import poll_twice_without_yielding, wait_until


@pytest.fixture(scope="module")
def ours(redis_cluster: RedisClusterServer) -> Iterator[RedisCluster]:
    client = RedisCluster(startup_nodes=redis_cluster.startup_nodes)
    yield client
    client.close()


@pytest.fixture(scope="module")
def theirs(redis_cluster: RedisClusterServer) -> Iterator[redis.cluster.RedisCluster]:
    host, port = redis_cluster.startup_nodes[0]
    client = redis.cluster.RedisCluster(host=host, port=port, protocol=2)
    yield client
    client.close()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _outcome(step: Any) -> Any:
    """What a step gives, or the name of the error class it raises."""
    try:
        return step()
    except Exception as exc:  # the class's name: redis-py's and ours are distinct classes
        return ("raised", type(exc).__name__)


# ---------------------------------------------------------------------- nodes


def test_every_node_has_its_own_client_as_redis_connection(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # redis-py's tests (and users) call node.redis_connection.<command>() on a node
    key = f"{prefix}:conn"
    ours.set(key, "v")
    for client in (ours, theirs):
        node = client.get_node_from_key(key)
        assert node is not None and node.redis_connection is not None
        assert node.redis_connection.get(key) == b"v"
        assert node.redis_connection.info()["tcp_port"] == node.port
    for node in ours.get_nodes():
        assert node.redis_connection is ours.get_redis_connection(node)
    ours.delete(key)


def test_the_retried_errors_have_redis_pys_names() -> None:
    # a class attribute redis-py's users (and its tests) read
    names = [e.__name__ for e in RedisCluster.ERRORS_ALLOW_RETRY]
    assert names == [e.__name__ for e in redis.cluster.RedisCluster.ERRORS_ALLOW_RETRY]


# ---------------------------------------------------------------------- pub/sub


def test_pubsub_node_and_its_client(ours: RedisCluster, theirs: redis.cluster.RedisCluster) -> None:
    for client in (ours, theirs):
        node = client.get_nodes()[-1]
        for p in (client.pubsub(node=node), client.pubsub(host=node.host, port=node.port)):
            assert p.get_pubsub_node() == node
            assert p.get_redis_connection() is node.redis_connection
            p.close()


def test_cluster_pubsub_made_directly_as_redis_pys(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # redis.cluster.ClusterPubSub(rc, node=None, host=None, port=None, **kwargs):
    # greenpool's took a resolved node, positionally, and nothing else
    from greenpool.redis.cluster import ClusterPubSub

    channel = f"{prefix}:direct"
    for client, cls in ((ours, ClusterPubSub), (theirs, redis.cluster.ClusterPubSub)):
        node = client.get_nodes()[-1]
        for p in (cls(client, node=node), cls(client, host=node.host, port=node.port),
                  cls(client, node, ignore_subscribe_messages=True)):
            assert p.get_pubsub_node() == node
            p.subscribe(channel)
            there = ours.get_redis_connection(node)
            wait_until(lambda: there.pubsub_numsub(channel) == [(channel.encode(), 1)])  # noqa: B023
            ours.publish(channel, "hi")
            seen = [p.get_message(timeout=1) for _ in range(2)]
            assert {"type": "message", "pattern": None, "channel": channel.encode(),
                    "data": b"hi"} in seen
            p.close()
    assert ClusterPubSub(ours).get_pubsub_node() == ours.get_default_node()
    assert _outcome(lambda: ClusterPubSub(ours, host="127.0.0.1")) == ("raised", "DataError")


@pytest.mark.parametrize("kwargs", [{"host": "127.0.0.1"}, {"port": 7000}])
def test_pubsub_host_without_port_is_a_data_error(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, kwargs: dict[str, Any],
) -> None:
    assert _outcome(lambda: ours.pubsub(**kwargs)) == ("raised", "DataError")
    assert _outcome(lambda: theirs.pubsub(**kwargs)) == ("raised", "DataError")


def test_pubsub_on_a_node_not_in_the_cluster_is_refused(ours: RedisCluster) -> None:
    with pytest.raises(RedisClusterException):
        ours.pubsub(ClusterNode("127.0.0.2", 1111))
    with pytest.raises(RedisClusterException):
        ours.pubsub(host="127.0.0.2", port=1111)


# ---------------------------------------------------------------------- default node


def test_the_default_node_is_redis_pys(
    redis_cluster: RedisClusterServer, theirs: redis.cluster.RedisCluster,
) -> None:
    # slot 0's primary: keyless commands (ACL SETUSER, CLIENT KILL ...) land where
    # redis-py's would, whichever node the client is seeded with
    for seed in reversed(redis_cluster.startup_nodes):
        with RedisCluster(startup_nodes=[seed]) as client:
            assert client.get_default_node().name == theirs.get_default_node().name
            assert client.get_default_node() == client.get_node_from_key("la2")  # slot 0


def test_replace_default_node(redis_cluster: RedisClusterServer) -> None:
    with RedisCluster(startup_nodes=redis_cluster.startup_nodes) as client:
        first = client.get_default_node()
        client.replace_default_node()
        moved = client.get_default_node()
        assert moved != first and moved.server_type == "primary"
        client.replace_default_node(first)
        assert client.get_default_node() == first
        assert client.ping() is True


# ---------------------------------------------------------------------- routing


def test_a_keyed_command_without_its_key_is_refused_before_sending(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster,
) -> None:
    for client in (ours, theirs):
        with pytest.raises(Exception) as caught:
            client.execute_command("GET")
        assert type(caught.value).__name__ == "RedisClusterException"
        assert str(caught.value).startswith(
            "No way to dispatch this command to Redis Cluster. Missing key."
        )
    # target_nodes= says where, and the server answers
    node = ours.get_default_node()
    assert _outcome(lambda: ours.execute_command("GET", target_nodes=node)) == (
        "raised", "ResponseError"
    )
    # a script or function without keys still goes to some primary
    assert ours.eval("return 7", 0) == 7


def test_slot_commands_go_to_the_slots_node(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # a slot away from the default node, where keyless commands go
    tag = next(
        f"{prefix}{i}" for i in range(100)
        if ours.get_node_from_key(f"{prefix}{i}") != ours.get_default_node()
    )
    keys = [f"{{{tag}}}:{i}" for i in range(3)]
    slot = ours.keyslot(keys[0])
    # other tests' keys may share the slot: count ours by the difference
    before = theirs.cluster_countkeysinslot(slot)
    ours.mset_nonatomic(dict.fromkeys(keys, "v"))
    for client in (ours, theirs):
        assert client.cluster_countkeysinslot(slot) == before + 3
        assert set(keys) <= set(client.cluster_get_keys_in_slot(slot, before + 10))
    ours.delete(*keys)


def test_pubsub_numsub_on_several_nodes_sums_the_counts(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # one subscriber to `a` on each node, one to `b` on the first node only
    a, b = f"{prefix}:a".encode(), f"{prefix}:b".encode()
    subscribers = [ours.pubsub(node=node) for node in ours.get_nodes()]
    try:
        for p in subscribers:
            p.subscribe(a)
        subscribers[0].subscribe(b)
        want = [(a, len(subscribers)), (b, 1)]
        for client in (ours, theirs):
            wait_until(lambda c=client: c.pubsub_numsub(a, b, target_nodes="all") == want)
    finally:
        for p in subscribers:
            p.close()


# ---------------------------------------------------------------------- pipelines


def test_pipeline_discard(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    key = f"{{{prefix}}}:k"
    for client in (ours, theirs):
        with client.pipeline() as pipe:  # not a transaction: refused, as redis-py
            pipe.set(key, "1")
            assert _outcome(pipe.discard) == ("raised", "RedisClusterException")
        with client.pipeline(transaction=True) as pipe:  # a transaction: dropped
            pipe.set(key, "dropped")
            pipe.discard()
            pipe.set(f"{key}2", "kept")
            assert len(pipe.execute()) == 1  # redis-py's transaction gives SET's b"OK"
        assert client.get(key) is None and client.get(f"{key}2") == b"kept"
        client.delete(f"{key}2")


def _polled_sharded(client: Any, publisher: RedisCluster, channel: str) -> list[Any]:
    """redis-py's loop: get_sharded_message() and time.sleep (not gevent's)."""
    p = client.pubsub()
    p.ssubscribe(channel)
    seen = poll_twice_without_yielding(p.get_sharded_message,
                                       lambda: publisher.spublish(channel, "hello"))
    p.close()
    return seen


def test_polling_get_sharded_message_without_yielding_sees_the_messages(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    channel = f"{prefix}:sch"
    mine = _polled_sharded(ours, ours, channel)
    assert [m["type"] for m in mine] == ["ssubscribe", "smessage"]
    assert mine == _polled_sharded(theirs, ours, channel)


def test_watch_on_several_slots_says_so_as_redis_py(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster,
) -> None:
    for client in (ours, theirs):
        with client.pipeline(transaction=True) as pipe, pytest.raises(Exception) as caught:
            pipe.watch("{a}x", "{b}x")
        assert isinstance(caught.value, (RedisClusterException,
                                         redis.exceptions.RedisClusterException))
        assert str(caught.value) == "WATCH - all keys must map to the same key slot"


def _subscribers(cluster: RedisClusterServer, channel: str) -> int:
    """Subscribers of shard channel ``channel``, asked of every primary directly."""
    return sum(int(cluster.execute(node, "PUBSUB", "SHARDNUMSUB", channel)[1])
               for node in cluster.primaries())


def test_a_dropped_sharded_subscriber_unsubscribes(
    redis_cluster: RedisClusterServer, ours: RedisCluster, theirs: redis.cluster.RedisCluster,
    prefix: str,
) -> None:
    channel = f"{prefix}:drop"
    for client in (ours, theirs):
        p = client.pubsub()
        p.ssubscribe(channel)
        wait_until(lambda: _subscribers(redis_cluster, channel) == 1)
        del p  # never closed, as redis-py's tests and many programs leave it
        gc.collect()
        wait_until(lambda: _subscribers(redis_cluster, channel) == 0)


def _sub_unsub_resub(client: Any, channel: str) -> list[Any]:
    p = client.pubsub()
    p.ssubscribe(channel)
    p.sunsubscribe(channel)
    p.ssubscribe(channel)
    seen = []
    for _ in range(3):
        message = p.get_sharded_message(timeout=2)
        seen.append(message and (message["type"], message["data"]))
    client.spublish(channel, "hello")
    message = p.get_sharded_message(timeout=2)
    seen.append(message and (message["type"], message["data"]))
    p.close()
    return seen


def test_a_channel_unsubscribed_and_subscribed_again_stays_subscribed(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # the caller's own SUNSUBSCRIBE confirmation was taken for a slot move
    # (the channel being subscribed again by then): swallowed, and subscribed twice
    want = [("ssubscribe", 1), ("sunsubscribe", 0), ("ssubscribe", 1), ("smessage", b"hello")]
    for client in (ours, theirs):
        assert _sub_unsub_resub(client, f"{prefix}:resub") == want


def _shard_unsubscribe_states(client: Any, channel: str) -> list[Any]:
    """``subscribed`` and the channel's place in ``shard_channels`` at each step."""
    p = client.pubsub()
    key = channel.encode()
    states: list[Any] = []

    def note(step: str) -> None:
        states.append((step, p.subscribed, key in p.shard_channels))

    note("start")
    p.ssubscribe(channel)
    note("ssubscribe sent")
    message = p.get_sharded_message(timeout=2)
    note(message and message["type"])
    p.sunsubscribe()
    note("sunsubscribe sent")  # not yet confirmed: still subscribed
    message = p.get_sharded_message(timeout=2)
    note(message and message["type"])
    p.close()
    return states


def test_a_shard_channel_stays_subscribed_until_its_unsubscribe_is_confirmed(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # ClusterPubSub dropped the channel at sunsubscribe(): `subscribed` went False
    # before the confirmation was read, where redis-py's (and PubSub's) stays True
    mine = _shard_unsubscribe_states(ours, f"{prefix}:leave")
    assert mine == [("start", False, False), ("ssubscribe sent", True, True),
                    ("ssubscribe", True, True), ("sunsubscribe sent", True, True),
                    ("sunsubscribe", False, False)]
    assert mine == _shard_unsubscribe_states(theirs, f"{prefix}:leave")


def _after_disconnect(client: Any, publisher: RedisCluster, prefix: str) -> list[Any]:
    """Messages of a ClusterPubSub (a channel, a shard channel) disconnected and read again."""
    p = client.pubsub(ignore_subscribe_messages=True)
    plain, shard = f"{prefix}:plain", f"{prefix}:shard"

    def read_and_count() -> bool:
        p.get_message(timeout=0.05)
        p.get_sharded_message(timeout=0.05)
        numsub = publisher.pubsub_numsub(plain, target_nodes=RedisCluster.ALL_NODES)
        return bool(numsub == [(plain.encode(), 1)]
                    and publisher.pubsub_shardnumsub(shard, target_nodes=RedisCluster.ALL_NODES)
                    == [(shard.encode(), 1)])

    p.subscribe(plain)
    p.ssubscribe(shard)
    wait_until(read_and_count)
    p.disconnect()
    wait_until(lambda: publisher.pubsub_numsub(plain, target_nodes=RedisCluster.ALL_NODES)
               == [(plain.encode(), 0)])
    wait_until(read_and_count)  # subscribed again by the reads
    publisher.publish(plain, "a")
    publisher.spublish(shard, "b")
    seen = []
    for read in (p.get_message, p.get_sharded_message):
        message = None
        for _ in range(20):  # an ignored confirmation still queued reads as None
            message = read(timeout=0.1)
            if message is not None:
                break
        seen.append(message and (message["type"], message["data"]))
    p.close()
    return seen


def test_cluster_pubsub_disconnect_then_subscribed_again(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # redis-py's ClusterPubSub.disconnect(): every subscriber connection closes and
    # the next read renews the subscriptions (greenpool's had no disconnect())
    want = [("message", b"a"), ("smessage", b"b")]
    assert _after_disconnect(ours, ours, f"{prefix}a") == want
    assert _after_disconnect(theirs, ours, f"{prefix}b") == want


# ---------------------------------------------------------------------- nodes_manager


def _nodes_manager_view(client: Any, key: str) -> dict[str, Any]:
    manager = client.nodes_manager
    slot = client.keyslot(key)
    owners = manager.slots_cache[slot]
    return {
        "slot's node": manager.get_node_from_slot(slot).name,
        "slots_cache": [node.name for node in owners],
        "same as get_node_from_key": manager.get_node_from_slot(slot)
        == client.get_node_from_key(key) == owners[0],
        "covered": len(manager.slots_cache),
        "nodes_cache": sorted(manager.nodes_cache),
        "every node a startup node": set(manager.nodes_cache) <= set(manager.startup_nodes),
        "default": manager.default_node.name,
    }


def test_nodes_manager_shows_the_slot_map_as_redis_pys(
    ours: RedisCluster, theirs: redis.cluster.RedisCluster, prefix: str,
) -> None:
    # `rc.nodes_manager.get_node_from_slot(slot)`, `.slots_cache`, `.nodes_cache`:
    # redis-py's public attribute, which greenpool's client did not have
    for key in (f"{prefix}:a", f"{prefix}:b", "la2"):
        mine = _nodes_manager_view(ours, key)
        assert mine["same as get_node_from_key"] and mine["covered"] == 16384
        assert mine == _nodes_manager_view(theirs, key)
    ours.nodes_manager.initialize()
    theirs.nodes_manager.initialize()
    assert _nodes_manager_view(ours, "x") == _nodes_manager_view(theirs, "x")


def _watch_after_a_stale_slot(client: Any, key: str) -> list[Any]:
    """A slot pointed at the wrong primary through slots_cache, then WATCH on it."""
    manager = client.nodes_manager
    slot = client.keyslot(key)
    owner = manager.get_node_from_slot(slot)
    other = next(n for n in client.get_primaries() if n.name != owner.name)
    manager.slots_cache[slot] = [other]
    steps: list[Any] = [client.get_node_from_key(key).name == other.name]
    with client.pipeline(transaction=True) as pipe:
        pipe.watch(key)  # answered MOVED: the client follows it, no WatchError
        pipe.multi()
        pipe.set(key, "val")
        steps.append(pipe.execute())
    steps.append(client.get_node_from_key(key).name == owner.name)
    steps.append(client.get(key))
    return steps


def test_a_slot_set_in_slots_cache_is_routed_there_until_moved(
    redis_cluster: RedisClusterServer, prefix: str,
) -> None:
    host, port = redis_cluster.startup_nodes[0]
    key = f"{prefix}:book"
    with RedisCluster(startup_nodes=redis_cluster.startup_nodes) as mine:
        assert _watch_after_a_stale_slot(mine, key) == [True, [True], True, b"val"]
    theirs = redis.cluster.RedisCluster(host=host, port=port, protocol=2, reinitialize_steps=1)
    try:  # redis-py's cluster transaction gives SET's raw b"OK"
        assert _watch_after_a_stale_slot(theirs, key) == [True, [b"OK"], True, b"val"]
    finally:
        theirs.delete(key)
        theirs.close()


def test_the_retry_attribute_is_the_clients_retry(redis_cluster: RedisClusterServer) -> None:
    # redis-py's RedisCluster has a `retry` attribute (read by code that tunes it);
    # greenpool's had get_retry()/set_retry() only
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.retry import Retry

    host, port = redis_cluster.startup_nodes[0]
    first, second = Retry(NoBackoff(), 2), Retry(ExponentialBackoff(), 3)
    mine = RedisCluster(startup_nodes=redis_cluster.startup_nodes, retry=first)
    theirs = redis.cluster.RedisCluster(host=host, port=port, protocol=2, retry=first)
    try:
        for client in (mine, theirs):
            assert client.retry is first and client.retry.get_retries() == 2
            client.set_retry(second)
            assert client.retry is second
        assert mine.get_retry() is second
        mine.retry = first  # assigned: as set_retry(), checked
        assert mine.get_retry() is first
        with pytest.raises(ConfigurationError, match="retry"):
            mine.retry = object()
    finally:
        mine.close()
        theirs.close()


def test_a_shard_channel_being_unsubscribed_is_not_subscribed_again_after_moved(
    redis_cluster: RedisClusterServer, prefix: str,
) -> None:
    # A MOVED for its slot re-subscribes that slot's channels: not one whose
    # SUNSUBSCRIBE is still to be confirmed (it would have stayed subscribed)
    leaving, joining = f"{{{prefix}}}:leaving", f"{{{prefix}}}:joining"
    with RedisCluster(startup_nodes=redis_cluster.startup_nodes) as client:
        slot = client.keyslot(leaving)
        owner = client.nodes_manager.get_node_from_slot(slot)
        other = next(n for n in client.get_primaries() if n.name != owner.name)
        p = client.pubsub()
        p.ssubscribe(leaving)
        assert p.get_sharded_message(timeout=2)["type"] == "ssubscribe"  # type: ignore[index]
        p.sunsubscribe(leaving)
        client.nodes_manager.slots_cache[slot] = [other]  # a stale map: MOVED
        p.ssubscribe(joining)
        assert p.get_sharded_message(timeout=1, target_node=other) is None  # the MOVED
        seen = []
        while (message := p.get_sharded_message(timeout=0.5)) is not None:
            seen.append((message["type"], message["channel"]))
        assert sorted(seen) == [("ssubscribe", joining.encode()),
                                ("sunsubscribe", leaving.encode())]
        assert list(p.shard_channels) == [joining.encode()]
        counts = dict(client.pubsub_shardnumsub(leaving, joining,
                                                target_nodes=RedisCluster.ALL_NODES))
        assert counts == {leaving.encode(): 0, joining.encode(): 1}
        p.close()
