"""greenpool.redis.Sentinel against a real primary, 2 replicas and 3 sentinels.

The read-only tests share the session's set-up (``redis_sentinel``); the
failover tests get one of their own (``fresh_redis_sentinel``).  The
fixture's own calls use blocking sockets, so the failover tests run them in
a thread of gevent's pool while the writers run in the hub: the time the
sentinels first report the new primary (``reported_at``) is taken by that
thread, polling every 10 ms, whatever the load on the hub.
"""

from __future__ import annotations

import gc
import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
import gevent.monkey
import pytest
import redis
import redis.backoff
import redis.exceptions
import redis.retry
import redis.sentinel
from helpers import wait_until

from greenpool.errors import ConfigurationError, ConnectionError, ReplyError, TimeoutError
from greenpool.redis import (
    MasterNotFoundError,
    PrimaryDemotedError,
    ReadOnlyError,
    Redis,
    ResponseError,
    Sentinel,
    SlaveNotFoundError,
)
from greenpool.redis.exceptions import DemotedReply, error_from_reply
from greenpool.redis.sentinel import TRUST_SECONDS
from greenpool.testing import RedisSentinelSet, SentinelFailover, TcpProxy, free_port

SERVICE = "mymaster"


@pytest.fixture
def sentinel(redis_sentinel: RedisSentinelSet) -> Iterator[Sentinel]:
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2)
    yield manager
    manager.close()


def _in_thread(work: Callable[[], Any]) -> Any:
    """Run a blocking fixture call in a real thread, leaving the hub to the greenlets."""
    return gevent.get_hub().threadpool.apply(work)


# --------------------------------------------------------------------------- API and discovery


def test_signatures_follow_redis_py() -> None:
    def names(func: Any) -> list[str]:
        return [p.name for p in inspect.signature(func).parameters.values()
                if p.kind is not p.KEYWORD_ONLY]

    assert names(Sentinel.__init__) == names(redis.sentinel.Sentinel.__init__)
    for method in ("master_for", "slave_for", "discover_master", "discover_slaves",
                   "check_master_state", "filter_slaves", "execute_command"):
        assert names(getattr(Sentinel, method)) == names(
            getattr(redis.sentinel.Sentinel, method)), method
    assert issubclass(MasterNotFoundError, ConnectionError)
    assert issubclass(SlaveNotFoundError, ConnectionError)


def test_discovery_matches_the_sentinels_and_redis_py(
    redis_sentinel: RedisSentinelSet, sentinel: Sentinel
) -> None:
    primary = redis_sentinel.primary()
    reference = redis.sentinel.Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2)
    assert sentinel.discover_master(SERVICE) == ("127.0.0.1", primary.port)
    assert sentinel.discover_master(SERVICE) == reference.discover_master(SERVICE)
    assert sorted(sentinel.discover_slaves(SERVICE)) == sorted(
        ("127.0.0.1", s.port) for s in redis_sentinel.replicas()
    )
    assert sorted(sentinel.discover_slaves(SERVICE)) == sorted(reference.discover_slaves(SERVICE))
    with pytest.raises(MasterNotFoundError, match="nosuch"):
        sentinel.discover_master("nosuch")
    assert sentinel.discover_slaves("nosuch") == []
    state = sentinel.sentinels[0].sentinel_master(SERVICE)
    assert sentinel.check_master_state(state, SERVICE)
    assert not sentinel.check_master_state({**state, "is_sdown": True}, SERVICE)
    down = {"ip": "127.0.0.1", "port": 1, "is_odown": False, "is_sdown": True}
    up = {"ip": "127.0.0.1", "port": 2, "is_odown": False, "is_sdown": False}
    assert sentinel.filter_slaves([down, up]) == [("127.0.0.1", 2)]
    # Fan-out and once, with redis-py's results.
    assert sentinel.execute_command("PING") is True
    assert sentinel.execute_command("PING", return_responses=True) == [b"PONG"] * 3
    assert sentinel.execute_command("PING", once=True, return_responses=True) == [b"PONG"]
    assert sentinel.execute_command("PING", once=True) is True
    assert sentinel.sentinel_get_master_addr_by_name(SERVICE) is True  # as redis-py's
    assert reference.sentinel_get_master_addr_by_name(SERVICE) is True
    picky = Sentinel(redis_sentinel.sentinel_addresses, min_other_sentinels=3, socket_timeout=2)
    with pytest.raises(MasterNotFoundError):
        picky.discover_master(SERVICE)  # each sentinel sees only 2 others
    picky.close()
    reference.close()


def test_bad_arguments_name_themselves(redis_sentinel: RedisSentinelSet) -> None:
    addresses = redis_sentinel.sentinel_addresses
    for kwargs, argument in (
        ({"sentinels": []}, "sentinels"),
        ({"sentinels": [("127.0.0.1",)]}, "sentinels"),
        ({"sentinels": addresses, "min_other_sentinels": -1}, "min_other_sentinels"),
        ({"sentinels": addresses, "sentinel_kwargs": "x"}, "sentinel_kwargs"),
        ({"sentinels": addresses, "poll_interval": 0}, "poll_interval"),
        ({"sentinels": addresses, "subscribe": "no"}, "subscribe"),
    ):
        with pytest.raises(ConfigurationError) as info:
            Sentinel(**kwargs)
        assert info.value.argument == argument
    manager = Sentinel(addresses, password="s3cret-sentinel")
    for call in (
        lambda: manager.master_for(SERVICE, connection_pool_class=object),
        lambda: manager.master_for(SERVICE, host="127.0.0.1"),
        lambda: manager.slave_for(SERVICE, redis_class=dict),
    ):
        with pytest.raises(ConfigurationError):
            call()
    client = manager.master_for(SERVICE)
    assert "s3cret" not in repr(client) and "s3cret" not in repr(client.settings)
    assert "mymaster" in repr(client)
    client.close()
    manager.close()


def test_master_for_and_slave_for(redis_sentinel: RedisSentinelSet, sentinel: Sentinel) -> None:
    primary = redis_sentinel.primary()
    master = sentinel.master_for(SERVICE, decode_responses=True)
    replica = sentinel.slave_for(SERVICE, decode_responses=True, pool_size=4)
    assert master.set("t:sentinel:a", "1") is True
    assert master.execute_command("ROLE")[0] == "master"
    assert int(master.info("server")["tcp_port"]) == primary.port
    assert master.execute_command("WAIT", 2, 2000) == 2
    # Replicated to both (WAIT), read back through the replicas' client.
    wait_until(lambda: replica.get("t:sentinel:a") == "1", timeout=2)
    assert replica.execute_command("ROLE")[0] == "slave"
    with pytest.raises(ReadOnlyError) as info:
        replica.set("t:sentinel:a", "2")
    assert type(info.value) is ReadOnlyError  # a replicas' client: not PrimaryDemotedError
    # The replica client's connections go to the replicas in turn.
    wait_until(lambda: len(replica.shared_pool.connected_connections) == 4, timeout=2)
    ports = {int(c.address.port or 0) for c in replica.shared_pool.connected_connections}
    assert ports == {s.port for s in redis_sentinel.replicas()}
    # Pipelines and pub/sub of the primary's client find the primary too.
    with master.pipeline() as pipe:
        pipe.incr("t:sentinel:n").get("t:sentinel:a")
        assert pipe.execute()[1] == "1"
    pubsub = master.pubsub()
    pubsub.subscribe("t:sentinel:ch")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    master.publish("t:sentinel:ch", "hi")
    assert pubsub.get_message(timeout=2)["data"] == "hi"
    pubsub.close()
    master.delete("t:sentinel:a", "t:sentinel:n")
    master.close()
    replica.close()


def test_1000_greenlets_connecting_cause_one_discovery(
    redis_sentinel: RedisSentinelSet,
) -> None:
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2, poll_interval=600)
    client = manager.master_for(SERVICE, max_connections=1000, pool_timeout=10)
    before = manager.stats()["discoveries"]

    def one(i: int) -> Any:
        # A blocking command holds a dedicated connection each: 1,000 connects at once.
        return client.blpop([f"t:sentinel:none:{i}"], timeout=0.2)

    greenlets = [gevent.spawn(one, i) for i in range(1000)]
    gevent.joinall(greenlets, raise_error=True)
    assert [g.value for g in greenlets] == [None] * 1000
    assert client.dedicated_pool.stats()["connections_num"] == 1000
    assert manager.stats()["discoveries"] - before == 1
    client.close()
    manager.close()


def _ours(prefix: str = "greenpool-sentinel") -> list[Any]:
    return [o for o in gc.get_objects() if isinstance(o, gevent.Greenlet) and not o.dead
            and str(getattr(o, "name", "")).startswith(prefix)]


def test_close_leaves_the_clients_working_until_they_close(
    redis_sentinel: RedisSentinelSet,
) -> None:
    addresses = redis_sentinel.sentinel_addresses
    # Without clients, close() ends everything at once.
    manager = Sentinel(addresses, socket_timeout=2)
    assert manager.discover_master(SERVICE)
    manager.close()
    assert all(s.node.closed for s in manager.sentinels)
    for call in (lambda: manager.discover_master(SERVICE), lambda: manager.master_for(SERVICE),
                 lambda: manager.slave_for(SERVICE), lambda: manager.execute_command("PING")):
        with pytest.raises(ConnectionError, match="closed"):
            call()
    manager.close()  # again: nothing

    manager = Sentinel(addresses, socket_timeout=2, poll_interval=0.2)
    client = manager.master_for(SERVICE)
    replica = manager.slave_for(SERVICE)
    assert client.ping() and replica.ping()
    assert len(_ours()) == 4  # a listener per sentinel and the service's poller
    manager.close()
    with pytest.raises(ConnectionError, match="closed"):
        manager.discover_slaves(SERVICE)
    # The clients go on: polls go on, new connects ask the sentinels and succeed.
    polls = manager.stats()["polls"]
    gevent.sleep(max(0.5, TRUST_SECONDS + 0.1))
    assert manager.stats()["polls"] > polls
    assert len(_ours("greenpool-sentinel-listen")) == 3
    client.node.reconnect_all("test")
    replica.node.reconnect_all("test")  # its connects ask the sentinels (nothing polls for it)
    assert client.set("t:sentinel:closed", "1") is True
    assert client.blpop(["t:sentinel:closed:none"], timeout=0.05) is None  # a new dedicated one
    assert replica.execute_command("ROLE")[0] == b"slave"
    client.delete("t:sentinel:closed")
    # The last client closed: the sentinels' connections and the greenlets end.
    client.close()
    assert not all(s.node.closed for s in manager.sentinels)  # the replicas' client is open
    replica.close()
    wait_until(lambda: not _ours(), timeout=3)
    assert all(s.node.closed for s in manager.sentinels)


def test_the_greenlets_end_when_dropped(redis_sentinel: RedisSentinelSet) -> None:
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2)
    client = manager.master_for(SERVICE)
    client.ping()
    assert _ours()
    del manager, client
    gc.collect()
    wait_until(lambda: (gc.collect(), not _ours())[1], timeout=3)


def test_one_poller_per_service_however_many_clients(redis_sentinel: RedisSentinelSet) -> None:
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2, poll_interval=0.1,
                       subscribe=False)
    clients = [manager.master_for(SERVICE, decode_responses=bool(i % 2)) for i in range(10)]
    for client in clients:
        assert client.ping()
    stats = manager.stats()
    assert stats["discoveries"] <= stats["polls"] + 2, stats  # the connects shared one
    assert len(_ours("greenpool-sentinel-poll")) == 1
    before = manager.stats()
    gevent.sleep(1.0)
    after = manager.stats()
    polls = after["polls"] - before["polls"]
    discoveries = after["discoveries"] - before["discoveries"]
    # One poll per 0.1 s for the service (10 per client would be 100).
    assert 2 <= polls <= 11, after
    assert polls - 1 <= discoveries <= polls + 1, after
    # It goes on while one client is open, and ends with the last.
    for client in clients[:-1]:
        client.close()
    polls = manager.stats()["polls"]
    gevent.sleep(0.5)
    assert manager.stats()["polls"] > polls
    assert len(_ours("greenpool-sentinel-poll")) == 1
    clients[-1].close()
    wait_until(lambda: not _ours("greenpool-sentinel-poll"), timeout=2)
    # A new client of the service starts one again.
    client = manager.master_for(SERVICE)
    assert client.ping()
    assert len(_ours("greenpool-sentinel-poll")) == 1
    client.close()
    manager.close()
    wait_until(lambda: not _ours(), timeout=3)


# --------------------------------------------------------------------------- failovers under load


@dataclass
class _Load:
    """1,000 writers, each SETting new keys and reading each one back."""

    client: Redis
    writers: int = 1000
    stop: bool = False
    acks: list[tuple[int, str, str, float, float]] = field(default_factory=list)
    errors: dict[int, list[float]] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
    wrong: list[Any] = field(default_factory=list)
    greenlets: list[Any] = field(default_factory=list)

    def start(self) -> None:
        self.greenlets = [gevent.spawn(self._write, i) for i in range(self.writers)]

    def finish(self) -> None:
        self.stop = True
        gevent.joinall(self.greenlets, raise_error=True)

    def _write(self, i: int) -> None:
        n = 0
        while not self.stop:
            n += 1
            key, value = f"fo:{i}:{n}", f"{i}:{n}"
            began = time.monotonic()
            try:
                reply = self.client.set(key, value)
                acked = time.monotonic()
                if reply is not True:
                    self.wrong.append((key, reply))
                self.acks.append((i, key, value, began, acked))
                read = self.client.get(key)
                if read not in (value.encode(), None):  # None: moved in between
                    self.wrong.append((key, read))
            except (ConnectionError, TimeoutError, ResponseError) as exc:
                self.errors.setdefault(i, []).append(began)
                kind = type(exc).__name__
                self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
                gevent.sleep(0.01)

    def recovered_after(self, reported: float) -> list[float]:
        """For each writer: seconds from ``reported`` to its first write that began
        after both the report and its own last error and was acknowledged."""
        first: dict[int, float] = {}
        for i, _key, _value, began, acked in self.acks:
            last_error = max(self.errors.get(i, [0.0]))
            if began >= reported and began > last_error and i not in first:
                first[i] = acked
        return [first.get(i, float("inf")) - reported for i in range(self.writers)]


def _lost(load: _Load, primary: Redis, since: float) -> tuple[int, int]:
    """(writes acknowledged but missing on ``primary``, of which acknowledged after ``since``)."""
    lost = lost_after = 0
    acks = load.acks
    for start in range(0, len(acks), 2000):
        chunk = acks[start:start + 2000]
        found = primary.mget([key for _, key, _, _, _ in chunk])
        for (_, _, value, _, acked), got in zip(chunk, found, strict=True):
            if got != value.encode():
                lost += 1
                lost_after += acked > since
    return lost, lost_after


def _failover_under_load(
    sets: RedisSentinelSet,
    fault: Callable[[], SentinelFailover],
    made: Callable[[Redis], Any] = lambda client: None,
) -> tuple[_Load, SentinelFailover, Sentinel]:
    manager = Sentinel(sets.sentinel_addresses, socket_timeout=1, socket_connect_timeout=1)
    client = manager.master_for(SERVICE)
    made(client)
    load = _Load(client)
    load.start()
    try:
        gevent.sleep(1.0)
        assert load.acks and not load.errors, load.error_kinds
        failover = _in_thread(fault)
        gevent.sleep(max(0.0, failover.reported_at + 2.5 - time.monotonic()))
    except BaseException:
        # Not 1,000 writers left running into the next test.
        load.stop = True
        gevent.killall(load.greenlets)
        client.close()
        manager.close()
        raise
    load.finish()
    _in_thread(sets.wait_settled)
    return load, failover, manager


def _failover_log(sets: RedisSentinelSet) -> str:
    """The sentinels' log lines about the failover (shown when a check fails)."""
    lines = []
    for sentinel in sets.sentinels:
        text = sentinel.log_path.read_text(errors="replace")
        lines += [f"{sentinel.port} {line}" for line in text.splitlines()
                  if any(word in line for word in ("failover", "promot", "switch", "abort",
                                                   "selected", "elected", "odown"))]
    return "\n".join(lines)


def _last_report(sets: RedisSentinelSet, failover: SentinelFailover) -> tuple[float, int]:
    """(when the last failover was reported, how many failovers the sentinels made).

    On a busy machine the sentinels may take a new primary starved of CPU
    for down and fail over once more; the checks then hold for the last
    failover, reported no later than its first ``+switch-master`` log line.
    """
    switches: dict[tuple[Any, Any], float] = {}
    for sentinel in sets.sentinels:
        for wall, was, now in sentinel.switch_times():
            switches[(was, now)] = min(wall, switches.get((was, now), wall))
    if len(switches) <= 1:
        return failover.reported_at, len(switches)
    return max(switches.values()) + time.monotonic() - time.time(), len(switches)


def _check(
    load: _Load, failover: SentinelFailover, manager: Sentinel, sets: RedisSentinelSet
) -> None:
    reported, failovers = _last_report(sets, failover)
    final = sets.primary()
    reader = Redis(final.host, final.port)
    lost, lost_after = _lost(load, reader, reported)
    reader.close()
    recovered = load.recovered_after(reported)
    summary = (f"{len(load.acks)} writes, errors {load.error_kinds}, lost {lost} "
               f"({lost_after} acknowledged after the report), slowest writer "
               f"{max(recovered):.2f} s after the report, failovers {failovers}, "
               f"stats {manager.stats()}")
    if lost_after or max(recovered) > 2.0:
        summary += "\n" + _failover_log(sets)
    print(summary)
    assert not load.wrong, load.wrong[:5]
    assert lost_after == 0, summary
    assert max(recovered) <= 2.0, summary
    assert manager.stats()["moves"] >= failovers >= 1
    load.client.close()
    manager.close()


def test_sentinel_failover_under_1000_writers(fresh_redis_sentinel: RedisSentinelSet) -> None:
    # A caller blocked on the old primary (on a dedicated connection) is
    # failed when the client moves, not left waiting there.
    blocked: list[Any] = []
    load, failover, manager = _failover_under_load(
        fresh_redis_sentinel, fresh_redis_sentinel.failover,
        lambda client: blocked.append(gevent.spawn(_blpop_until_moved, client)),
    )
    assert manager.stats()["announcements"] >= 1
    outcome, waited = blocked[0].get(timeout=5)
    assert outcome == "ConnectionError" and waited < 10, (outcome, waited)
    _check(load, failover, manager, fresh_redis_sentinel)


def _blpop_until_moved(client: Redis) -> tuple[str, float]:
    began = time.monotonic()
    try:
        client.blpop(["t:sentinel:never"], timeout=30)
    except ConnectionError as exc:
        return type(exc).__name__, time.monotonic() - began
    return "returned", time.monotonic() - began


def test_killed_primary_under_1000_writers(fresh_redis_sentinel: RedisSentinelSet) -> None:
    sets = fresh_redis_sentinel

    def kill() -> SentinelFailover:
        return sets.wait_new_primary(sets.kill())

    load, failover, manager = _failover_under_load(sets, kill)
    _check(load, failover, manager, sets)


def test_readonly_reply_moves_the_client(
    fresh_redis_sentinel: RedisSentinelSet, tcp_proxy: Callable[[Any], TcpProxy]
) -> None:
    """Without announcements or polls (the sentinels are unreachable while the
    primary changes), a READONLY reply from the demoted primary moves the client."""
    sets = fresh_redis_sentinel
    proxies = [tcp_proxy(address) for address in sets.sentinel_addresses]
    manager = Sentinel([(p.host, p.port) for p in proxies], socket_timeout=1, poll_interval=600)
    client = manager.master_for(SERVICE, decode_responses=True)
    assert client.set("t:ro", "old") is True
    with client.pipeline() as pipe:
        assert pipe.get("t:ro").execute() == ["old"]
    reference = redis.sentinel.Sentinel([(p.host, p.port) for p in proxies], socket_timeout=1)
    reference_client = reference.master_for(
        SERVICE, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    assert reference_client.set("t:ro", "old") is True

    def reference_error() -> Exception:
        try:
            reference_client.set("t:ro", "new")
        except redis.exceptions.RedisError as exc:
            return exc
        raise AssertionError("redis-py wrote to the demoted primary")

    old = sets.primary()
    for proxy in proxies:
        proxy.refuse()
        proxy.cut()
    failover = _in_thread(sets.failover)
    _in_thread(sets.wait_settled)  # the old primary now replicates the new one
    assert old.execute("ROLE")[0] == b"slave"
    # A pipeline on its (idle, dedicated) connection to the demoted primary.
    with pytest.raises(PrimaryDemotedError), client.pipeline() as pipe:
        pipe.set("t:ro", "new").get("t:ro").execute()
    with pytest.raises(PrimaryDemotedError, match="^READONLY") as info:
        client.set("t:ro", "new")
    # redis-py's type (a ConnectionError), and still a ReadOnlyError.
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, ReadOnlyError)
    assert isinstance(reference_error(), redis.exceptions.ConnectionError)
    for proxy in proxies:
        proxy.normal()
    wait_until(lambda: _try_set(client), timeout=2)
    assert failover.new_primary.execute("GET", "t:ro") == b"new"
    assert manager.stats()["announcements"] == 0 and manager.stats()["moves"] == 1
    client.close()
    reference_client.close()
    manager.close()


def test_a_readonly_reply_is_seen_wherever_the_reads_split_it(
    redis_sentinel: RedisSentinelSet,
) -> None:
    """The primary's codec finds READONLY replies split across reads, in EXEC's
    replies too, and leaves a value that merely holds the text alone."""
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2, poll_interval=600)
    client = manager.master_for(SERVICE)
    locator = client.settings.locator
    readonly = b"-READONLY You can't write against a read only replica.\r\n"
    streams = {  # the bytes, then where a READONLY reply is among the replies
        b"+OK\r\n" + readonly + b":7\r\n": [(1,)],
        b"$8\r\nREADONLY\r\n*2\r\n:1\r\n" + readonly + b"+OK\r\n": [(1, 1)],
    }
    for stream, where in streams.items():
        for cut in range(1, len(stream)):
            for second in (cut, min(len(stream), cut + 5)):  # two or three reads
                codec = locator.watch(client.settings.codec())
                parts = [stream[:cut], stream[cut:second], stream[second:]]
                replies = [reply for part in parts if part for reply in codec.feed(part)]
                assert len(replies) == 3 and replies[-1] in (7, b"OK"), replies
                for path in where:
                    demoted = replies[path[0]] if len(path) == 1 else replies[path[0]][path[1]]
                    assert type(demoted) is DemotedReply, (stream, cut, second, replies)
                    error = error_from_reply(demoted)
                    assert isinstance(error, PrimaryDemotedError) and error.kind == "READONLY"
                if len(where[0]) == 2:
                    assert replies[0] == b"READONLY" and replies[1][0] == 1
        codec = locator.watch(client.settings.codec())  # a byte per read
        replies = [reply for i in range(len(stream)) for reply in codec.feed(stream[i:i + 1])]
        target = replies[1][-1] if type(replies[1]) is list else replies[1]
        assert len(replies) == 3 and type(target) is DemotedReply, replies
    # A replicas' client's codec leaves the reply as it is.
    replica = manager.slave_for(SERVICE)
    codec = replica.settings.locator.watch(replica.settings.codec())
    assert type(codec.feed(readonly)[0]) is ReplyError
    client.close()
    replica.close()
    manager.close()


def _try_set(client: Redis) -> bool:
    try:
        return bool(client.set("t:ro", "new"))
    except (ConnectionError, ResponseError):
        return False


def test_polls_alone_follow_a_failover(fresh_redis_sentinel: RedisSentinelSet) -> None:
    """Without the announcements (``subscribe=False``), a poll moves every connection."""
    sets = fresh_redis_sentinel
    manager = Sentinel(sets.sentinel_addresses, socket_timeout=1, subscribe=False,
                       poll_interval=0.2)
    client = manager.master_for(SERVICE, decode_responses=True)
    replica = manager.slave_for(SERVICE, pool_size=4)
    assert client.set("t:poll", "old") is True
    _spread_over_the_replicas(replica, sets)
    failover = _in_thread(sets.failover)

    def on_new_primary() -> bool:
        try:
            return int(client.info("server")["tcp_port"]) == failover.new_primary.port
        except (ConnectionError, ResponseError):
            return False

    wait_until(on_new_primary, timeout=2)  # reported_at has passed: at most a poll later
    assert client.set("t:poll", "new") is True
    assert failover.new_primary.execute("GET", "t:poll") == b"new"
    assert manager.stats()["announcements"] == 0 and manager.stats()["moves"] == 1
    # The replicas' client left the promoted replica when the primary's moved.
    _left_the_new_primary(replica, failover.new_primary.port)
    assert manager.stats()["replica_moves"] >= 1
    client.close()
    replica.close()
    manager.close()


def _spread_over_the_replicas(replica: Redis, sets: RedisSentinelSet) -> None:
    assert replica.ping()
    wait_until(lambda: len(replica.shared_pool.connected_connections) == 4, timeout=2)
    ports = {int(c.address.port or 0) for c in replica.shared_pool.connected_connections}
    assert ports == {s.port for s in sets.replicas()}


def _left_the_new_primary(replica: Redis, new_primary: int) -> None:
    def moved() -> bool:
        ports = [int(c.address.port or 0) for c in replica.shared_pool.connected_connections]
        return bool(ports) and new_primary not in ports

    wait_until(moved, timeout=3)
    # Every shared connection in turn answers as a replica.  (Waited for: the
    # demoted primary, listed as a replica at once, says "master" until its
    # sentinel has reconfigured it; the promoted one would say so for ever.)
    wait_until(lambda: all(replica.execute_command("ROLE")[0] == b"slave" for _ in range(8)),
               timeout=5)


def test_a_replicas_client_leaves_the_promoted_replica(
    fresh_redis_sentinel: RedisSentinelSet,
) -> None:
    """With no primary's client, a sentinel's +switch-master moves a replicas' client."""
    sets = fresh_redis_sentinel
    manager = Sentinel(sets.sentinel_addresses, socket_timeout=1, poll_interval=600)
    replica = manager.slave_for(SERVICE, pool_size=4)
    _spread_over_the_replicas(replica, sets)
    failover = _in_thread(sets.failover)
    _left_the_new_primary(replica, failover.new_primary.port)
    assert manager.stats()["announcements"] >= 1 and manager.stats()["replica_moves"] >= 1
    assert manager.stats()["moves"] == 0
    replica.close()
    manager.close()


def _outcome(call: Callable[[], Any]) -> Any:
    """What ``call()`` returned, or the ConnectionError it raised."""
    try:
        return call()
    except ConnectionError as exc:
        return exc


class _GatedLocator:
    """A locator that answers where it was pointed when asked, once its gate opens."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.gate = gevent.event.Event()
        self.gate.set()

    def __str__(self) -> str:
        return "gated"

    def locate(self) -> tuple[str, int]:
        address = self.address
        self.gate.wait()
        return address

    def watch(self, codec: Any) -> Any:
        return codec


def test_a_connect_under_way_when_the_node_moves_fails(
    redis_server: Any, fresh_redis: Any
) -> None:
    """A connect told the old address just before the move never serves requests."""
    old, new = (redis_server.host, redis_server.port), (fresh_redis.host, fresh_redis.port)
    locator = _GatedLocator(old)
    client = Redis(locator=locator, pool_size=1, health_check_interval=0)
    locator.gate.clear()
    first = gevent.spawn(_outcome, lambda: client.info("server")["tcp_port"])
    blocked = gevent.spawn(_outcome, lambda: client.blpop(["t:sentinel:gated"], timeout=1))
    gevent.sleep(0.05)  # both connects have asked where, and wait at the gate
    locator.address = new
    client.node.reconnect_all("moved")
    locator.gate.set()
    for greenlet in (first, blocked):
        assert isinstance(greenlet.get(timeout=5), ConnectionError), greenlet.value
    assert int(client.info("server")["tcp_port"]) == fresh_redis.port
    assert client.blpop(["t:sentinel:gated"], timeout=0.01) is None
    wait_until(lambda: all(c.address.port == fresh_redis.port
                           for c in client.shared_pool.connections if c.live()))
    assert all(c.address.port == fresh_redis.port for c in client.shared_pool.connections
               if c.live())
    client.close()


@pytest.mark.parametrize("kwargs", [{"protocol": 3}, {"legacy_responses": False},
                                    {"protocol": 2, "legacy_responses": False}, {}],
                         ids=["p3", "unified", "p2-unified", "default"])
def test_sentinel_replies_follow_the_clients_mode_as_redis_py(
    redis_sentinel: RedisSentinelSet, kwargs: dict[str, Any]
) -> None:
    # Values change between two calls (ping times): keys, value types and flags compared.
    def shape(state: Any) -> Any:
        if isinstance(state, list):
            return [shape(item) for item in state]
        return {k: v if k == "flags" else type(v).__name__ for k, v in state.items()}

    host, port = redis_sentinel.sentinel_addresses[0]
    name = redis_sentinel.service_name
    with redis.Redis(host=host, port=port, **kwargs) as theirs, \
            Redis(host=host, port=port, **kwargs) as ours:
        for method in ("sentinel_master", "sentinel_slaves", "sentinel_sentinels"):
            assert shape(getattr(ours, method)(name)) == shape(getattr(theirs, method)(name))
        assert shape(ours.sentinel_masters()[name]) == shape(theirs.sentinel_masters()[name])


# ------------------------------------------------------------------ redis-py's sentinel API


def _raised(call: Callable[[], Any]) -> type[BaseException] | None:
    try:
        call()
    except Exception as exc:
        return type(exc)
    return None


def test_a_service_nobody_knows_raises_the_not_found_errors_as_redis_py(
    redis_sentinel: RedisSentinelSet, sentinel: Sentinel
) -> None:
    # redis-py's clients raise MasterNotFoundError / SlaveNotFoundError from the
    # command itself; greenpool's raised a plain ConnectionError naming
    # localhost:6379, which `except MasterNotFoundError` did not catch.
    reference = redis.sentinel.Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2)
    assert _raised(reference.master_for("nosuch").ping) is redis.sentinel.MasterNotFoundError
    assert _raised(reference.slave_for("nosuch").ping) is redis.sentinel.SlaveNotFoundError
    reference.close()
    master = sentinel.master_for("nosuch")
    replica = sentinel.slave_for("nosuch")
    for call in (master.ping, lambda: master.blpop(["t:sentinel:none"], timeout=0.01),
                 lambda: master.pipeline().incr("t:sentinel:n").execute()):
        with pytest.raises(MasterNotFoundError, match="nosuch") as info:
            call()
        assert "localhost" not in str(info.value)
    for call in (replica.ping, lambda: replica.blpop(["t:sentinel:none"], timeout=0.01)):
        with pytest.raises(SlaveNotFoundError, match="nosuch"):
            call()
    master.close()
    replica.close()


def _last_command(sentinel_set: RedisSentinelSet, name: str) -> str:
    """The last command of the primary's connection named ``name`` (CLIENT LIST)."""
    with redis.Redis(host="127.0.0.1", port=sentinel_set.primary().port) as admin:
        for entry in admin.client_list():
            if entry["name"] == name:
                return str(entry["cmd"])
    raise AssertionError(f"no connection named {name}")


def test_sentinel_connection_pool_as_redis_py(redis_sentinel: RedisSentinelSet) -> None:
    # redis-py's pool class and its members, which code written for
    # redis.sentinel uses: master_for's client's connection_pool, its
    # master_address, get_master_address(), rotate_slaves(), check_connection,
    # Redis(connection_pool=SentinelConnectionPool(...)).
    from greenpool.redis.sentinel import (
        ReplicaNotFoundError,
        SentinelConnectionPool,
        SentinelManagedConnection,
        SentinelManagedSSLConnection,
    )

    addresses = redis_sentinel.sentinel_addresses
    primary = ("127.0.0.1", redis_sentinel.primary().port)
    replicas = {("127.0.0.1", s.port) for s in redis_sentinel.replicas()}
    assert ReplicaNotFoundError is SlaveNotFoundError
    theirs = redis.sentinel.Sentinel(addresses, socket_timeout=2)
    ours = Sentinel(addresses, socket_timeout=2)
    for manager, pool_class, not_found in (
        (theirs, redis.sentinel.SentinelConnectionPool, redis.sentinel.SlaveNotFoundError),
        (ours, SentinelConnectionPool, SlaveNotFoundError),
    ):
        master = manager.master_for(SERVICE, db=0, check_connection=True)
        pool = master.connection_pool
        assert type(pool) is pool_class
        assert (pool.service_name, pool.is_master, pool.check_connection) == (SERVICE, True, True)
        assert pool.master_address is None  # nothing asked yet
        assert master.ping() is True
        assert pool.master_address == primary
        assert pool.get_master_address() == primary
        assert master.auto_close_connection_pool is True
        replica = manager.slave_for(SERVICE)
        assert replica.connection_pool.is_master is False
        assert replica.connection_pool.master_address is None
        rotation = replica.connection_pool.rotate_slaves()
        assert {next(rotation), next(rotation)} == replicas
        assert next(rotation) == primary  # then the primary
        with pytest.raises(not_found, match=SERVICE):
            next(rotation)
        # Round robin across calls: the next rotation starts at the other replica.
        first = next(replica.connection_pool.rotate_replicas())
        assert next(replica.connection_pool.rotate_replicas()) == (replicas - {first}).pop()
        # A pool built by hand and shared, as redis-py's code does.
        shared = pool_class(SERVICE, manager, is_master=True)
        client = (Redis if manager is ours else redis.Redis)(connection_pool=shared)
        assert client.auto_close_connection_pool is False
        assert client.set("t:sentinel:pool", "1") is True
        client.close()
        owner = (Redis if manager is ours else redis.Redis).from_pool(shared)
        assert owner.get("t:sentinel:pool") == b"1"  # close() left the pool open
        assert owner.auto_close_connection_pool is True
        owner.delete("t:sentinel:pool")
        owner.close()
        master.close()
        replica.close()
    theirs.close()

    # check_connection: a PING on each new connection before its first command.
    for check, last in ((True, "ping"), (False, "client|setname")):
        name = f"t-check-{check}".lower()
        client = ours.master_for(SERVICE, client_name=name, pool_size=1, check_connection=check)
        client.node.shared_connection()
        assert _last_command(redis_sentinel, name) == last
        client.close()
    # master_for's pool class: greenpool's or a subclass; redis-py's is refused.

    class Counted(SentinelConnectionPool):
        made = 0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            Counted.made += 1
            super().__init__(*args, **kwargs)

    class Mine(Redis):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.mine = True

    client = ours.master_for(SERVICE, redis_class=Mine, connection_pool_class=Counted,
                             connection_class=SentinelManagedConnection)
    assert Counted.made == 1 and client.mine and client.ping()
    assert type(client.connection_pool) is Counted
    client.close()
    assert client.connection_pool.closed  # the client's own pool
    # retry and connect_now are the client's, not the pool's.
    retry = redis.retry.Retry(redis.backoff.NoBackoff(), 1)
    client = ours.master_for(SERVICE, retry=retry, connect_now=True)
    assert client.get_retry() is retry
    assert client.connections_used()["shared"] >= 1
    client.close()
    tls = ours.slave_for(SERVICE, connection_class=SentinelManagedSSLConnection)
    assert tls.settings.ssl_context is not None
    tls.close()
    for call, argument in (
        (lambda: ours.master_for(
            SERVICE, connection_pool_class=redis.sentinel.SentinelConnectionPool),
         "connection_pool_class"),
        (lambda: ours.master_for(SERVICE, connection_class=redis.connection.Connection),
         "connection_class"),
        (lambda: ours.master_for(SERVICE, check_connection="yes"), "check_connection"),
        (lambda: SentinelConnectionPool(SERVICE, theirs), "sentinel_manager"),  # type: ignore[arg-type]
        (lambda: SentinelConnectionPool(SERVICE, ours, port=1), "port"),
        (lambda: SentinelManagedConnection(), "connection_class"),
    ):
        with pytest.raises(ConfigurationError) as info:
            call()
        assert info.value.argument == argument
    secret = Sentinel(addresses, password="s3cret-sentinel")
    pool = SentinelConnectionPool(SERVICE, secret, password="s3cret-pool")
    assert "s3cret" not in repr(pool) and SERVICE in repr(pool)
    pool.close()
    secret.close()
    ours.close()
    with pytest.raises(ConnectionError, match="closed"):
        SentinelConnectionPool(SERVICE, ours)


def test_a_sentinel_down_or_silent_is_skipped_as_redis_py(
    redis_sentinel: RedisSentinelSet,
) -> None:
    # What redis-py's fake-sentinel tests (test_discover_master_sentinel_down,
    # ..._timeout, test_discover_slaves) check, with real sentinels: one that
    # refuses and one that never answers, first in the list.
    silent = TcpProxy(*redis_sentinel.sentinel_addresses[0])
    silent.start()
    try:
        silent.blackhole()
        addresses = [("127.0.0.1", free_port()), (silent.host, silent.port),
                     *redis_sentinel.sentinel_addresses]
        primary = ("127.0.0.1", redis_sentinel.primary().port)
        replicas = sorted(("127.0.0.1", s.port) for s in redis_sentinel.replicas())
        # Without retries: redis-py 8 retries a silent sentinel's timeout
        # three times with growing waits (about 11 s for discover_master).
        no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        theirs = redis.sentinel.Sentinel(
            addresses, socket_timeout=0.3,
            sentinel_kwargs={"socket_timeout": 0.3, "retry": no_retry})
        ours = Sentinel(addresses, socket_timeout=0.3)
        for manager in (theirs, ours):
            assert manager.discover_master(SERVICE) == primary
            assert sorted(manager.discover_slaves(SERVICE)) == replicas
            assert sorted(manager.discover_replicas(SERVICE)) == replicas
        client = ours.master_for(SERVICE)
        assert client.ping() is True
        client.close()
        ours.close()
        theirs.close()
    finally:
        silent.stop()


def test_a_blocked_hub_does_not_fail_the_next_discovery(
    redis_sentinel: RedisSentinelSet,
) -> None:
    # A discovery waits for the sentinels' answers up to socket_timeout.  That
    # wait was a loop timer read from the hub's cached time, stale after the
    # hub was blocked (blocking code, a CPU-bound greenlet) for longer than
    # the timeout: the next discovery gave up at once, MasterNotFoundError
    # with every sentinel up (redis-py's tests met it, after redis-py's own
    # blocking calls).
    blocking_sleep = gevent.monkey.get_original("time", "sleep")
    primary = ("127.0.0.1", redis_sentinel.primary().port)
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=0.2)
    client = manager.master_for(SERVICE)
    for _ in range(3):
        gevent.sleep(0.001)
        blocking_sleep(0.4)
        assert manager.discover_master(SERVICE) == primary
    gevent.sleep(0.001)
    blocking_sleep(0.4)
    assert client.ping() is True  # its first connect discovers
    client.close()
    manager.close()


def test_a_sentinel_clients_connections_are_named_by_the_service(
    redis_sentinel: RedisSentinelSet,
) -> None:
    # Their names are in the transport's log lines ("... closed while
    # connecting"): they named "localhost:6379", the settings' unused default.
    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=1.0)
    client = manager.master_for(SERVICE)
    made: list[Any] = []
    client.dedicated_pool.add_listener({"connection_created": made.append})
    try:
        client.ping()
        with client.pipeline() as pipe:
            pipe.ping().execute()
        sub = client.pubsub()
        sub.subscribe("named")
        assert sub.get_message(timeout=2) is not None
        names = [c.name for c in client.shared_pool.connections]
        names += [event["connection"].name for event in made]
        names.append(repr(sub.connection))
        sub.close()
        assert names and all(SERVICE in n and "localhost" not in n for n in names), names
    finally:
        client.close()
        manager.close()


def test_a_connect_timing_out_names_the_service_not_a_default_address(
    redis_sentinel: RedisSentinelSet,
) -> None:
    # Every sentinel silent: the connect times out while asking them.  The
    # error named "localhost:6379", the unused default of the client's settings.
    silent = [TcpProxy(host, port) for host, port in redis_sentinel.sentinel_addresses]
    for proxy in silent:
        proxy.start()
        proxy.blackhole()
    try:
        manager = Sentinel([(p.host, p.port) for p in silent], socket_timeout=1.0)
        for client in (manager.master_for(SERVICE, socket_connect_timeout=0.3),
                       manager.slave_for(SERVICE, socket_connect_timeout=0.3)):
            with pytest.raises(ConnectionError) as info:
                client.ping()
            assert "localhost" not in str(info.value) and SERVICE in str(info.value)
            assert info.value.address is not None and SERVICE in info.value.address
            client.close()
        manager.close()
        # No socket_timeout: a discovery still ends, within one ask's time
        # (the connect's timeout and 1 s for each of its two requests).
        manager = Sentinel([(p.host, p.port) for p in silent],
                           sentinel_kwargs={"socket_connect_timeout": 0.2})
        started = time.monotonic()
        with pytest.raises(MasterNotFoundError):
            manager.discover_master(SERVICE)
        assert 1.0 <= time.monotonic() - started < 3.0
        manager.close()
    finally:
        for proxy in silent:
            proxy.stop()


def test_distant_sentinels_answer_within_socket_timeout_as_with_redis_py(
    redis_sentinel: RedisSentinelSet,
) -> None:
    # Sentinels 100 ms away: every round trip takes 0.2 s, within a
    # socket_timeout of 0.3 s, so redis-py's discovery succeeds.  greenpool's
    # gave the whole discovery (two round trips per sentinel) that 0.3 s and
    # failed with MasterNotFoundError when none had answered both by then.
    far = [TcpProxy(host, port) for host, port in redis_sentinel.sentinel_addresses]
    for proxy in far:
        proxy.start()
        proxy.delay(0.1)
    try:
        addresses = [(p.host, p.port) for p in far]
        primary = ("127.0.0.1", redis_sentinel.primary().port)
        theirs = redis.sentinel.Sentinel(addresses, socket_timeout=0.3)
        ours = Sentinel(addresses, socket_timeout=0.3)
        for manager in (ours, theirs):
            assert manager.discover_master(SERVICE) == primary
        client = ours.master_for(SERVICE)
        assert client.ping() is True
        client.close()
        ours.close()
        theirs.close()
    finally:
        for proxy in far:
            proxy.stop()



def test_retry_on_error_and_on_timeout_reach_the_sentinels_clients(
    redis_sentinel: RedisSentinelSet,
) -> None:
    # master_for(retry=..., retry_on_timeout=True, retry_on_error=[...]) went
    # to the pool's own Redis(), which saw them without the retry and refused
    # them ("pass it with retry=Retry(...)", which the caller had done).
    from greenpool.redis import BusyLoadingError
    from greenpool.redis.backoff import NoBackoff
    from greenpool.redis.retry import Retry

    manager = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2,
                       retry_on_timeout=True)
    given = Retry(NoBackoff(), 2)
    primary = manager.master_for(SERVICE, retry=given, retry_on_error=[BusyLoadingError])
    replica = manager.slave_for(SERVICE, retry=Retry(NoBackoff(), 1))
    try:
        assert primary.ping() is True and replica.ping() is True
        errors = set(primary.get_retry()._supported_errors)
        assert {BusyLoadingError, TimeoutError} <= errors
        assert BusyLoadingError not in set(given._supported_errors)  # a copy was changed
        assert TimeoutError in set(replica.get_retry()._supported_errors)
        with pytest.raises(ConfigurationError, match="retry_on_(error|timeout)"):
            manager.master_for(SERVICE, retry_on_error=[BusyLoadingError])  # without a retry
    finally:
        primary.close()
        replica.close()
        manager.close()
