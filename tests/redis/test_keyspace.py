"""``Redis.keyspace_notifications()`` against a real server, compared with redis-py 8.1's.

The server is the test's own (``notify-keyspace-events`` is set on it).
The same operations are watched through greenpool's KeyspaceNotifications
and redis-py's; the parsed notifications must be equal, field by field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
import redis
import redis.keyspace_notifications as theirs_module

from greenpool.redis import Redis
from greenpool.redis.exceptions import PubSubError
from greenpool.redis.keyspace import (
    ChannelType,
    EventType,
    KeyeventChannel,
    KeyNotification,
    KeyspaceChannel,
    KeyspaceNotifications,
    get_channel_type,
)
from greenpool.testing import RedisServer


@pytest.fixture
def server(fresh_redis: RedisServer) -> RedisServer:
    with redis.Redis(port=fresh_redis.port) as admin:
        admin.config_set("notify-keyspace-events", "KEA")
    return fresh_redis


@pytest.fixture(params=[(2, False), (3, True)], ids=["resp2-bytes", "resp3-str"])
def clients(request: pytest.FixtureRequest, server: RedisServer) -> Iterator[tuple[Any, Any]]:
    protocol, decode = request.param
    mine = Redis(port=server.port, protocol=protocol, decode_responses=decode)
    reference = redis.Redis(port=server.port, protocol=protocol, decode_responses=decode)
    yield mine, reference
    mine.close()
    reference.close()


def _drain(notes: Any, count: int) -> list[dict[str, Any]]:
    out = []
    deadline = 50
    while len(out) < count and deadline:
        note = notes.get_message(timeout=0.1)
        if note is None:
            deadline -= 1
            continue
        out.append(dataclasses.asdict(note))
    return out


def _scenario(client: Any) -> list[dict[str, Any]]:
    notes = client.keyspace_notifications(key_prefix="ks:")
    try:
        notes.subscribe_keyspace("ks:*")
        notes.subscribe_keyevent(EventType.DEL)
        notes.subscribe("__keyspace@0__:other", KeyeventChannel("expired"))
        notes.get_message(timeout=0.2)  # let the subscriptions settle
        client.set("ks:a", 1)
        client.incr("ks:a")
        client.delete("ks:a")
        client.set("other", 1)  # no prefix: filtered out
        client.set("ks:short", 1, px=1)
        return _drain(notes, 5)
    finally:
        notes.close()


def test_notifications_match_redis_pys(clients: tuple[Any, Any]) -> None:
    mine, reference = clients
    ours = _scenario(mine)
    gevent.sleep(0.1)
    assert ours == _scenario(reference)
    assert [(n["key"], n["event_type"], n["is_keyspace"]) for n in ours][:4] == [
        ("a", "set", True), ("a", "incrby", True), ("a", "del", True), ("a", "del", False),
    ]


def test_handlers_and_the_worker_greenlet(clients: tuple[Any, Any]) -> None:
    mine, _ = clients
    seen: list[KeyNotification] = []
    notes = mine.keyspace_notifications()
    assert isinstance(notes, KeyspaceNotifications)
    notes.subscribe_keyspace("hk:*")
    with pytest.raises(PubSubError, match="no handler"):
        notes.run_in_thread(poll_timeout=0.05)
    notes.unsubscribe(KeyspaceChannel("hk:*"))
    notes.subscribe_keyspace("hk:*", handler=seen.append)
    worker = notes.run_in_thread(poll_timeout=0.05)
    gevent.sleep(0.1)
    mine.set("hk:1", "x")
    for _ in range(100):
        if seen:
            break
        gevent.sleep(0.02)
    worker.stop()
    assert [(n.key, n.event_type, n.database) for n in seen] == [("hk:1", "set", 0)]
    assert not notes.subscribed and notes.get_message() is None


def test_parsing_and_channels_match_redis_pys() -> None:
    cases = [
        ("__keyspace@0__:user:1", "set", None),
        (b"__keyevent@3__:expired", b"user:2", None),
        ("__keyspace@*__:a b", "del", None),
        ("__keyspace@0__:user:1", "set", "user:"),
        ("__keyspace@0__:item:1", "set", "user:"),
        ("news", "hello", None),
    ]
    for channel, data, prefix in cases:
        mine = KeyNotification.try_parse(channel, data, prefix)
        reference = theirs_module.KeyNotification.try_parse(channel, data, prefix)
        assert (None if mine is None else dataclasses.asdict(mine)) == (
            None if reference is None else dataclasses.asdict(reference)), channel
    message = {"type": "pmessage", "pattern": "p", "channel": "__keyevent@0__:set",
               "data": "k"}
    assert dataclasses.asdict(KeyNotification.from_message(message)) == dataclasses.asdict(
        theirs_module.KeyNotification.from_message(message))
    assert KeyNotification.from_message({"type": "subscribe", "channel": "x", "data": 1}) is None
    for name in ("user:*", "a?", "a[bc]", "my[key", r"a\*", "plain"):
        assert KeyspaceChannel(name).is_pattern == theirs_module.KeyspaceChannel(name).is_pattern
    assert str(KeyspaceChannel("k", db=2)) == str(theirs_module.KeyspaceChannel("k", db=2))
    assert KeyeventChannel.all_events(1) == "__keyevent@1__:*"
    assert KeyspaceChannel("u:*").is_pattern and not KeyeventChannel("set").is_pattern
    assert get_channel_type(b"__keyspace@0__:k") is ChannelType.KEYSPACE
    assert get_channel_type("__keyevent@0__:set") is ChannelType.KEYEVENT
    assert get_channel_type("news") is None
    names = {n for n in vars(theirs_module.EventType) if not n.startswith("_")}
    assert names <= {n for n in vars(EventType) if not n.startswith("_")}
