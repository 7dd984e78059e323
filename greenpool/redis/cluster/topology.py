"""The cluster's nodes and slot map, and how they are kept current.

:class:`ClusterNode` is redis-py's name for one server of the cluster; here
it carries the server's green :class:`~greenpool.redis.node.Node` (a few
shared, auto-pipelined connections and a checkout pool of dedicated ones).

:class:`Topology` holds the slot map (slot -> shard: a primary and its
replicas) and refreshes it from ``CLUSTER SHARDS`` (``CLUSTER SLOTS`` on a
server without it):

* **single-flight**: one refresh runs at a time, in a greenlet of its own;
  every caller that asks for one while it runs waits for that one instead
  of starting another, so a failover under 1,000 greenlets costs a handful
  of slot-map reads, not 1,000.  Refreshes asked for in the background
  (after a MOVED or a connection error) are at most one per
  :data:`MIN_REFRESH_INTERVAL`;
* the nodes asked are the known ones (shuffled, so that many clients do not
  all ask the same node; suspect ones last) and then the startup nodes, so a
  DNS name among the seeds is resolved again;
* **MOVED** patches one slot at once (:meth:`Topology.moved`), before the
  refresh it schedules;
* **fork()**: a refresh under way at the fork is the parent's.  Its copy in
  the child asks no other node (it ends with an error for the copies of its
  waiters), and the child's first refresh is one of its own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import Any

import gevent
from gevent.event import AsyncResult

from ... import _fork
from ...errors import ConnectionError, GreenpoolError, ReplyError, TimeoutError
from .. import _execute
from ..node import Node
from .errors import ClusterConfigurationError, RedisClusterException, SlotNotCoveredError
from .slots import SLOTS

__all__ = [
    "MIN_REFRESH_INTERVAL",
    "PRIMARY",
    "REPLICA",
    "AddressRemap",
    "ClusterNode",
    "NodesManager",
    "Shard",
    "Topology",
]

PRIMARY = "primary"
REPLICA = "replica"

MIN_REFRESH_INTERVAL = 0.5
"""Seconds between two background refreshes of the slot map (at most)."""

_SUSPECT_FOR = 5.0
_SHARDS = _execute.encode(("CLUSTER", "SHARDS"))
_SLOTS = _execute.encode(("CLUSTER", "SLOTS"))


class ClusterNode:
    """One server of the cluster (redis-py's ``ClusterNode``).

    ``host``, ``port``, ``name`` (``"host:port"``), ``server_type``
    (``"primary"``, ``"replica"``, or None for a seed not yet seen in a slot
    map).  Equal (and hashed) by name.  :attr:`node` is the server's green
    :class:`~greenpool.redis.node.Node` once the cluster client made it, and
    ``redis_connection`` (as in redis-py) the client of that one node
    (:meth:`RedisCluster.get_redis_connection`: ``node.redis_connection.info()``);
    before that it is what was passed.
    """

    def __init__(
        self, host: str, port: int | str, server_type: str | None = None,
        redis_connection: Any = None,
    ) -> None:
        if not isinstance(host, str) or not host:
            raise ClusterConfigurationError("host", host, "must be a host name or address")
        try:
            number = int(port)
        except (TypeError, ValueError):
            raise ClusterConfigurationError("port", port, "must be a port number") from None
        if not 0 < number < 65536:
            raise ClusterConfigurationError("port", port, "must be between 1 and 65535")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = number
        self.name = f"{self.host}:{self.port}"
        self.server_type = server_type
        self.redis_connection = redis_connection
        self.node: Node | None = None

    def __repr__(self) -> str:
        return f"<ClusterNode {self.name} {self.server_type}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClusterNode) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class Shard:
    """A primary and its replicas, as the slot map holds them (one per served range set).

    ``replicas`` lists the replicas able to serve reads (online ones);
    ``turn`` is the round-robin counter of the load-balancing strategies.
    """

    __slots__ = ("primary", "replicas", "turn")

    def __init__(self, primary: ClusterNode, replicas: list[ClusterNode]) -> None:
        self.primary = primary
        self.replicas = replicas
        self.turn = 0

    def __repr__(self) -> str:
        return f"<Shard {self.primary.name} replicas={[r.name for r in self.replicas]}>"


AddressRemap = Callable[[tuple[str, int]], tuple[str, int]]
_ShardInfo = tuple[list[tuple[int, int]], list[dict[str, Any]]]


class Topology:
    """The nodes and the slot map of one cluster client (see the module docs).

    ``make_node(node)`` builds the green Node of a server (and may attach
    its per-node client to ``node``);
    ``seeds`` are the startup nodes.  Nothing connects here: :meth:`refresh`
    does.
    """

    def __init__(
        self,
        seeds: Sequence[ClusterNode],
        make_node: Callable[[ClusterNode], Node],
        *,
        require_full_coverage: bool = True,
        address_remap: AddressRemap | None = None,
        dynamic_startup_nodes: bool = True,
        ask_timeout: float = 2.0,
    ) -> None:
        self._make_node = make_node
        self._remap = address_remap
        self._require_full = require_full_coverage
        self._dynamic_seeds = dynamic_startup_nodes
        self._ask_timeout = ask_timeout
        self.startup_nodes: dict[str, ClusterNode] = {}
        self.nodes: dict[str, ClusterNode] = {}
        self._made: dict[str, ClusterNode] = {}  # every node ever built, to close them all
        for seed in seeds:
            self.startup_nodes[seed.name] = self._adopt(seed)
        self.slots: list[Shard | None] = [None] * SLOTS
        self._led_by: dict[str, Shard] = {}  # primary name -> its shard
        self.default_node: ClusterNode | None = None
        self._suspects: dict[str, float] = {}
        self._running: AsyncResult | None = None
        self._last_started = -1e9
        self._closed = False
        #: How many slot-map reads were made (successful or not), and redirects seen.
        self.counters = {"refreshes": 0, "moved": 0, "ask": 0}
        _fork.register(self, owner=False)  # its nodes are the owners

    # ------------------------------------------------------------------ nodes

    def _adopt(self, node: ClusterNode) -> ClusterNode:
        known = self._made.get(node.name)
        if known is not None:
            if node.server_type is not None:
                known.server_type = node.server_type
            return known
        if node.node is None:
            node.node = self._make_node(node)
        self._made[node.name] = node
        return node

    def node_at(self, host: str, port: int, server_type: str | None = None) -> ClusterNode:
        """The node at ``host:port`` (remapped), made if it is new."""
        host, port = self._remapped(host, port)
        return self._adopt(ClusterNode(host, port, server_type))

    def named(
        self, host: str | None = None, port: int | None = None, node_name: str | None = None
    ) -> ClusterNode | None:
        """The node of the slot map named ``host:port`` (or ``node_name``), None if unknown."""
        if node_name is None:
            if host is None or port is None:
                return None
            node_name = f"{'127.0.0.1' if host == 'localhost' else host}:{port}"
        return self.nodes.get(node_name)

    def _remapped(self, host: str, port: int) -> tuple[str, int]:
        if self._remap is None:
            return host, port
        host, port = self._remap((host, port))
        return host, int(port)

    def suspect(self, node: ClusterNode) -> None:
        """``node`` failed a request: ask it last for the slot map, and refresh soon."""
        self._suspects[node.name] = time.monotonic()
        self.refresh_soon()

    def is_suspect(self, node: ClusterNode) -> bool:
        at = self._suspects.get(node.name)
        return at is not None and time.monotonic() - at < _SUSPECT_FOR

    def primaries(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.server_type == PRIMARY]

    def replicas(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.server_type == REPLICA]

    def shard_of(self, slot: int) -> Shard:
        """The shard serving ``slot``; raises SlotNotCoveredError when none does."""
        shard = self.slots[slot]
        if shard is None:
            self.refresh_soon()
            raise SlotNotCoveredError(f"slot {slot} is not covered by the cluster")
        return shard

    # ------------------------------------------------------------------ redirects

    def moved(self, slot: int, host: str, port: int, *, refresh: bool = True) -> ClusterNode:
        """Apply ``MOVED slot host:port``: the slot's primary is that node from now on.

        Patches the one slot at once (to the shard that node leads, or a new
        one with no replica) and, with ``refresh``, schedules a refresh when
        the map changed.
        Returns the node.
        """
        self.counters["moved"] += 1
        target = self.node_at(host, port, PRIMARY)
        current = self.slots[slot]
        if current is not None and current.primary is target:
            return target  # another caller patched it already
        shard = self._led_by.get(target.name)
        if shard is None:
            shard = self._led_by[target.name] = Shard(target, [])
        self.slots[slot] = shard
        self.nodes.setdefault(target.name, target)
        if refresh:
            self.refresh_soon()
        return target

    def assign(self, slot: int, primary: ClusterNode | None) -> None:
        """Route ``slot`` to ``primary`` (its shard, or a new one with no replica);
        None leaves it uncovered.  The next refresh replaces the patch."""
        if primary is None:
            self.slots[slot] = None
            return
        # the address as given (a node of this map is remapped already)
        node = self._adopt(ClusterNode(primary.host, primary.port, PRIMARY))
        shard = self._led_by.get(node.name)
        if shard is None:
            shard = self._led_by[node.name] = Shard(node, [])
        self.slots[slot] = shard
        self.nodes.setdefault(node.name, node)

    # ------------------------------------------------------------------ refresh

    def refresh_soon(self) -> None:
        """Start a background refresh unless one runs or one started too recently."""
        if self._running is None and not self._closed and (
            time.monotonic() - self._last_started >= MIN_REFRESH_INTERVAL
        ):
            self._start()

    def refresh(self, timeout: float | None = None) -> None:
        """Refresh the slot map now, or wait for the refresh already running.

        Blocks up to ``timeout`` (None: until it ends).  Raises
        :class:`RedisClusterException` when no node gave a usable map (the
        map in place is kept).
        """
        running = self._running or self._start()
        running.wait(timeout)
        if running.ready():
            running.get(block=False)

    def _start(self) -> AsyncResult:
        running = self._running = AsyncResult()
        self._last_started = time.monotonic()
        gevent.spawn(self._run, running, _fork.pid)
        return running

    def _run(self, running: AsyncResult, pid: int) -> None:
        try:
            self._read_map(pid)
        except BaseException as exc:  # handed to every waiter
            running.set_exception(exc)
        else:
            running.set(None)
        finally:
            if self._running is running:  # not a child's own refresh, after fork()
                self._running = None

    def _forget_inherited(self) -> None:
        """In a child after fork(): a refresh under way is the parent's (see the module
        docs); the next one asked for starts afresh.  The counters start from zero."""
        self._running = None
        for key in self.counters:
            self.counters[key] = 0

    def _candidates(self) -> list[ClusterNode]:
        known = list(self.nodes.values())
        random.shuffle(known)
        known.sort(key=self.is_suspect)  # stable: suspects last, shuffled otherwise
        seeds = [s for s in self.startup_nodes.values() if s not in known]
        random.shuffle(seeds)
        return known + seeds

    def _read_map(self, pid: int) -> None:
        """Read the map for the process ``pid`` (the one that started the refresh)."""
        errors: list[str] = []
        best: tuple[int, list[Shard | None], dict[str, ClusterNode]] | None = None
        for candidate in self._candidates():
            if self._closed:
                raise RedisClusterException("the cluster client is closed")
            if _fork.pid != pid:
                raise RedisClusterException("fork() while reading the slot map: the parent's")
            self.counters["refreshes"] += 1
            try:
                shards = self._ask(candidate)
            except (GreenpoolError, OSError) as exc:
                errors.append(f"{candidate.name}: {exc}")
                continue
            slots, nodes = self._build(shards)
            covered = sum(1 for s in slots if s is not None)
            if best is None or covered > best[0]:
                best = (covered, slots, nodes)
            if covered == SLOTS:
                break
        if best is None:
            raise RedisClusterException(
                "Redis Cluster cannot be connected: no startup or known node answered "
                f"({'; '.join(errors[-6:])})"
            )
        covered, slots, nodes = best
        if covered < SLOTS and self._require_full and self.default_node is None:
            raise RedisClusterException(
                f"All slots are not covered after query all startup_nodes: {covered} of "
                f"{SLOTS} covered (pass require_full_coverage=False to accept this)"
            )
        self.slots = slots
        self.nodes = nodes
        self._led_by = {s.primary.name: s for s in slots if s is not None}
        if self.default_node is None or self.default_node.name not in nodes or (
            nodes[self.default_node.name].server_type != PRIMARY
        ):
            # slot 0's primary, as redis-py picks it (the first of its slot-ordered map)
            primaries = [slots[0].primary] if slots[0] is not None else self.primaries()
            self.default_node = primaries[0] if primaries else None
        if self._dynamic_seeds:
            for node in nodes.values():
                self.startup_nodes.setdefault(node.name, node)

    def _ask(self, candidate: ClusterNode) -> list[_ShardInfo]:
        node = candidate.node
        assert node is not None
        reply: Any = None
        with gevent.Timeout(self._ask_timeout, TimeoutError(f"{candidate.name}: no slot map")):
            conn = node.shared_connection()
            reply = conn.request(_SHARDS)
            if isinstance(reply, ReplyError) and reply.kind in ("ERR", "UNKNOWN"):
                reply = conn.request(_SLOTS)
                if not isinstance(reply, ReplyError):
                    return _from_slots(reply)
        if isinstance(reply, ReplyError):
            raise ConnectionError(f"{candidate.name}: {reply.message}", candidate.name)
        return _from_shards(reply)

    def _build(
        self, shards: Iterable[_ShardInfo]
    ) -> tuple[list[Shard | None], dict[str, ClusterNode]]:
        slots: list[Shard | None] = [None] * SLOTS
        nodes: dict[str, ClusterNode] = {}
        for ranges, members in shards:
            primary: ClusterNode | None = None
            replicas: list[ClusterNode] = []
            for member in members:
                role = PRIMARY if member["role"] in ("master", "primary") else REPLICA
                node = self.node_at(member["host"], member["port"], role)
                nodes[node.name] = node
                if role == PRIMARY and (primary is None or member["health"] == "online"):
                    primary = node
                elif role == REPLICA and member["health"] == "online":
                    replicas.append(node)
            if primary is None or not ranges:
                continue
            shard = Shard(primary, replicas)
            for first, last in ranges:
                for slot in range(first, last + 1):
                    slots[slot] = shard
        return slots, nodes

    def made_nodes(self) -> list[Node]:
        """The connections of every node ever made (the slot map's and those that
        left it), for statistics that must never go down."""
        return [node.node for node in list(self._made.values()) if node.node is not None]

    def close(self) -> None:
        """Close every node's connections; refreshes stop."""
        self._closed = True
        for node in self._made.values():
            if node.node is not None:
                node.node.close()


class _SlotsCache(MutableMapping[int, list[ClusterNode]]):
    """redis-py's ``nodes_manager.slots_cache`` over a :class:`Topology`'s map:
    ``{slot: [primary, *replicas]}`` for every covered slot."""

    def __init__(self, topology: Topology) -> None:
        self._topology = topology

    def __getitem__(self, slot: int) -> list[ClusterNode]:
        shard = self._topology.slots[slot] if 0 <= slot < SLOTS else None
        if shard is None:
            raise KeyError(slot)
        return [shard.primary, *shard.replicas]

    def __setitem__(self, slot: int, nodes: list[ClusterNode]) -> None:
        if not 0 <= slot < SLOTS or not nodes:
            raise ClusterConfigurationError(
                "slots_cache", (slot, nodes), "set a slot (0-16383) to [primary, ...]")
        self._topology.assign(slot, nodes[0])

    def __delitem__(self, slot: int) -> None:
        self[slot]  # KeyError for a slot not covered
        self._topology.assign(slot, None)

    def __iter__(self) -> Iterator[int]:
        slots = self._topology.slots
        return (slot for slot in range(SLOTS) if slots[slot] is not None)

    def __len__(self) -> int:
        return sum(1 for shard in self._topology.slots if shard is not None)


class NodesManager:
    """redis-py's ``RedisCluster.nodes_manager``, as a view of the client's
    :class:`Topology` (what code written for redis-py reads of it).

    ``slots_cache`` maps each covered slot to ``[primary, *replicas]``;
    setting a slot routes it to the first node given until the next
    refresh of the map (as a ``MOVED`` would, without scheduling one).
    ``nodes_cache`` and ``startup_nodes`` are ``{name: ClusterNode}``
    copies; ``initialize()`` reads the map again (blocking until it is
    read, or :class:`RedisClusterException` when no node answers).
    """

    def __init__(self, topology: Topology) -> None:
        self._topology = topology
        self.slots_cache = _SlotsCache(topology)

    def __repr__(self) -> str:
        return f"<NodesManager nodes={len(self._topology.nodes)}>"

    @property
    def nodes_cache(self) -> dict[str, ClusterNode]:
        """Every node of the slot map, by name (a copy)."""
        return dict(self._topology.nodes)

    @property
    def startup_nodes(self) -> dict[str, ClusterNode]:
        """The startup nodes by name (with ``dynamic_startup_nodes``, every node
        seen in a slot map too; a copy)."""
        return dict(self._topology.startup_nodes)

    @property
    def default_node(self) -> ClusterNode | None:
        """The node keyless commands go to."""
        return self._topology.default_node

    def get_node(
        self, host: str | None = None, port: int | None = None, node_name: str | None = None
    ) -> ClusterNode | None:
        """The node named ``host:port`` (or ``node_name``), None if unknown."""
        return self._topology.named(host, port, node_name)

    def get_node_from_slot(
        self, slot: int, read_from_replicas: bool = False,
        load_balancing_strategy: Any = None, server_type: str | None = None,
    ) -> ClusterNode:
        """The primary serving ``slot``; with ``read_from_replicas``, a
        ``load_balancing_strategy`` or ``server_type="replica"`` its first
        replica (the primary when it has none; redis-py's balances instead).
        Raises :class:`SlotNotCoveredError` for a slot no node serves (and
        schedules a refresh)."""
        shard = self._topology.shard_of(slot)
        if (read_from_replicas or load_balancing_strategy is not None
                or server_type == REPLICA) and shard.replicas:
            return shard.replicas[0]
        return shard.primary

    def get_nodes_by_server_type(self, server_type: str) -> list[ClusterNode]:
        """The nodes of that type (``"primary"`` or ``"replica"``)."""
        return [n for n in self._topology.nodes.values() if n.server_type == server_type]

    def initialize(self) -> None:
        """Read the slot map again now (see :meth:`Topology.refresh`)."""
        self._topology.refresh()


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {_text(k): v for k, v in value.items()}
    items = list(value)
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def _from_shards(reply: Any) -> list[_ShardInfo]:
    out = []
    for raw in reply:
        shard = _as_dict(raw)
        bounds = [int(x) for x in shard.get("slots", [])]
        ranges = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
        members = []
        for raw_node in shard.get("nodes", []):
            info = _as_dict(raw_node)
            host = _text(info.get("endpoint") or info.get("ip") or "")
            if host in ("", "?"):
                host = _text(info.get("ip", ""))
            members.append({
                "host": host, "port": int(info.get("port") or info.get("tls-port") or 0),
                "role": _text(info.get("role", "")), "health": _text(info.get("health", "")),
            })
        out.append((ranges, members))
    return out


def _from_slots(reply: Any) -> list[_ShardInfo]:
    out = []
    for entry in reply:
        first, last = int(entry[0]), int(entry[1])
        members = []
        for index, raw_node in enumerate(entry[2:]):
            members.append({
                "host": _text(raw_node[0]), "port": int(raw_node[1]),
                "role": "master" if index == 0 else "replica", "health": "online",
            })
        out.append(([(first, last)], members))
    return out
