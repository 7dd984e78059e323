"""A real Redis Cluster: ``redis-server`` processes in cluster mode, joined by ``redis-cli``.

:class:`RedisClusterServer` starts ``primaries * (1 + replicas_per_primary)``
nodes (3 primaries and 3 replicas by default) on free loopback ports, each a
:class:`RedisClusterNode` in its own temporary directory, joins them with
``redis-cli --cluster create ... --cluster-replicas N --cluster-yes`` and
waits until every node reports ``cluster_state:ok``, agrees on the slot map
and sees every replica in sync.

Faults are real: :meth:`RedisClusterServer.kill` (SIGKILL),
:meth:`~RedisClusterServer.pause` (SIGSTOP) and
:meth:`~RedisClusterServer.resume` (SIGCONT) act on one node's PID, and
:meth:`~RedisClusterServer.wait_failover` waits until Redis itself has
promoted a replica.  Slots move with the commands an operator would type
(``CLUSTER SETSLOT ... IMPORTING/MIGRATING``, ``MIGRATE ... KEYS``,
``CLUSTER SETSLOT ... NODE``), one step at a time through
:class:`SlotMigration`, so a test can hold a slot half-way (ASK replies)
and then finish it (MOVED replies).

Timing knobs, chosen so that a test waits seconds, not tens of seconds:
``cluster-node-timeout`` 2000 ms (a dead primary is replaced after about
3-5 s), ``repl-diskless-sync-delay 0`` (replicas sync at once) and
``repl-ping-replica-period 1`` (replicas show as ``online`` in ``CLUSTER
SHARDS``/``CLUSTER SLOTS`` within a second: Redis hides a replica whose
replication offset is still 0).  Every node announces 127.0.0.1 and has its
cluster bus on a port of its own (not ``port + 10000``, which may be out of
range for an ephemeral port).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import select
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._process import (
    HOST,
    ServerGroup,
    ServerStartError,
    find_program,
    free_port,
    poll_until,
    stop_all,
)
from ._resp import Arg, RedisReplyError, RespClient
from .redis import RedisServer

__all__ = [
    "ClusterFailover",
    "ClusterNodeInfo",
    "RedisClusterNode",
    "RedisClusterServer",
    "SlotMigration",
]

#: Number of hash slots in a Redis Cluster.
SLOTS = 16384

#: Errors a poll shrugs off: a node restarting, or refusing while it loads.
_TRANSIENT = (OSError, ConnectionError, RedisReplyError)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ClusterNodeInfo:
    """One line of ``CLUSTER NODES``: a node as another node (or itself) sees it.

    ``slots`` are inclusive ``(first, last)`` ranges the node serves;
    ``migrating``/``importing`` map a slot to the other node's id (only
    reported on the node's own line).
    """

    node_id: str
    host: str
    port: int
    bus_port: int
    flags: frozenset[str]
    primary_id: str | None
    config_epoch: int
    link_state: str
    slots: tuple[tuple[int, int], ...]
    migrating: Mapping[int, str] = field(default_factory=dict)
    importing: Mapping[int, str] = field(default_factory=dict)

    @property
    def role(self) -> str:
        """``"primary"`` or ``"replica"``."""
        return "replica" if "slave" in self.flags else "primary"

    @property
    def address(self) -> str:
        """``"host:port"``."""
        return f"{self.host}:{self.port}"

    @property
    def failed(self) -> bool:
        """True when flagged ``fail`` or ``fail?`` (the viewer cannot reach it)."""
        return "fail" in self.flags or "fail?" in self.flags

    def serves(self, slot: int) -> bool:
        """True when ``slot`` is in one of :attr:`slots`."""
        return any(first <= slot <= last for first, last in self.slots)


def parse_cluster_nodes(text: str | bytes) -> list[ClusterNodeInfo]:
    """Parse a ``CLUSTER NODES`` reply into :class:`ClusterNodeInfo` records."""
    if isinstance(text, bytes):
        text = text.decode()
    nodes: list[ClusterNodeInfo] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        node_id, addr, flags, primary, _ping, _pong, epoch, link, *slot_specs = parts
        hostport = addr.split(",", 1)[0]
        hostport, _, bus = hostport.partition("@")
        host, _, port = hostport.rpartition(":")
        slots: list[tuple[int, int]] = []
        migrating: dict[int, str] = {}
        importing: dict[int, str] = {}
        for spec in slot_specs:
            if spec.startswith("["):
                body = spec.strip("[]")
                if "->-" in body:
                    slot, other = body.split("->-")
                    migrating[int(slot)] = other
                elif "-<-" in body:
                    slot, other = body.split("-<-")
                    importing[int(slot)] = other
                continue
            first, _, last = spec.partition("-")
            slots.append((int(first), int(last or first)))
        nodes.append(
            ClusterNodeInfo(
                node_id=node_id,
                host=host,
                port=int(port) if port else 0,
                bus_port=int(bus) if bus else 0,
                flags=frozenset(flags.split(",")),
                primary_id=None if primary == "-" else primary,
                config_epoch=int(epoch),
                link_state=link,
                slots=tuple(slots),
                migrating=migrating,
                importing=importing,
            )
        )
    return nodes


def _info_dict(text: str | bytes) -> dict[str, str]:
    if isinstance(text, bytes):
        text = text.decode()
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not key.startswith("#"):
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class ClusterFailover:
    """What :meth:`RedisClusterServer.wait_failover` saw (times are ``time.monotonic()``).

    ``promoted_at``: the first poll at which the new primary answered
    ``ROLE`` as a master.  ``ok_at``: the first poll at which every
    surviving node reported ``cluster_state:ok`` with the failed primary's
    slots on the new primary.  ``fault_at`` is when :meth:`~RedisClusterServer.kill`
    or :meth:`~RedisClusterServer.pause` signalled the node (``None`` when the
    test signalled it itself).
    """

    failed: RedisClusterNode
    new_primary: RedisClusterNode
    promoted_at: float
    ok_at: float
    fault_at: float | None


# --------------------------------------------------------------------------- one node


class RedisClusterNode(RedisServer):
    """One ``redis-server`` with ``cluster-enabled yes`` (no persistence but ``nodes.conf``).

    ``nodes.conf`` stays in the temporary directory, so a node that is
    killed and started again rejoins the cluster with its old id (as a
    replica, if its slots were failed over meanwhile).  :attr:`bus_port` is
    the cluster bus port, picked free like :attr:`port`.
    """

    name = "redis-cluster"

    def __init__(
        self,
        port: int | None = None,
        *,
        bus_port: int | None = None,
        node_timeout_ms: int = 2000,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port, extra_args=extra_args)
        self.node_timeout_ms = node_timeout_ms
        self.bus_port: int = bus_port if bus_port is not None else free_port()
        self._bus_for_port = self.port
        self._node_id: str | None = None

    @property
    def node_id(self) -> str:
        """The node's cluster id (40 hex digits), known once it first answered."""
        if self._node_id is None:
            self._node_id = _text(self.execute("CLUSTER", "MYID"))
        return self._node_id

    def _command(self) -> list[str]:
        if self._bus_for_port != self.port:  # start() moved us to a new port: move the bus too
            self.bus_port = free_port()
            self._bus_for_port = self.port
        cluster_args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--cluster-port", str(self.bus_port),
            "--cluster-announce-ip", HOST,
            "--repl-diskless-sync-delay", "0",
            "--repl-ping-replica-period", "1",
        ]  # fmt: skip
        cmd = super()._command()
        extra = len(self.extra_args)
        return cmd[: len(cmd) - extra] + cluster_args + cmd[len(cmd) - extra :]

    def _after_first_ready(self) -> None:
        self._node_id = _text(self.execute("CLUSTER", "MYID"))

    def cluster_info(self) -> dict[str, str]:
        """``CLUSTER INFO`` as a dict (``cluster_state`` -> ``"ok"`` ...)."""
        return _info_dict(self.execute("CLUSTER", "INFO"))

    def cluster_nodes(self) -> list[ClusterNodeInfo]:
        """``CLUSTER NODES`` as this node sees the cluster."""
        return parse_cluster_nodes(self.execute("CLUSTER", "NODES"))

    def role(self) -> str:
        """``"primary"`` or ``"replica"``, from the node's own ``ROLE`` reply."""
        reply = self.execute("ROLE")
        return "primary" if _text(reply[0]) == "master" else "replica"

    @property
    def live(self) -> bool:
        """Running and not paused: it can answer."""
        return self.running and not self.paused


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------- the cluster


class RedisClusterServer(ServerGroup):
    """A Redis Cluster of real processes on 127.0.0.1; see the module docstring.

    ``RedisClusterServer(primaries=3, replicas_per_primary=1)`` makes the
    nodes; :meth:`start` launches and joins them (``redis-cli --cluster
    create``) and returns once the cluster is ready; :meth:`stop` stops every
    node by PID and removes the directories.  A context manager.

    The roles change as the test runs (failovers, a restarted primary comes
    back as a replica): :meth:`primaries`, :meth:`replicas` and
    :meth:`slot_owner` ask the live nodes each time.  Every helper talks to
    live nodes only (running and not SIGSTOPped) and raises
    :class:`TimeoutError` when its wait runs out.
    """

    def __init__(
        self,
        primaries: int = 3,
        replicas_per_primary: int = 1,
        *,
        node_timeout_ms: int = 2000,
        extra_args: Sequence[str] = (),
    ) -> None:
        if primaries < 3:
            raise ValueError(f"primaries={primaries!r}: redis-cli needs at least 3")
        if replicas_per_primary < 0:
            raise ValueError(f"replicas_per_primary={replicas_per_primary!r}")
        self.redis_cli = find_program("redis-cli", "redis-tools")
        self.stdbuf = find_program("stdbuf", "coreutils")
        self.replicas_per_primary = replicas_per_primary
        self.node_timeout_ms = node_timeout_ms
        self._count = primaries * (1 + replicas_per_primary)
        self._extra_args = list(extra_args)
        self.nodes: list[RedisClusterNode] = self._new_nodes()
        self._idle: dict[int, list[RespClient]] = {}
        self._open: collections.Counter[int] = collections.Counter()
        self._fault: dict[str, tuple[float, list[ClusterNodeInfo]]] = {}
        #: Seconds the last :meth:`start` took, from launch to ready.
        self.startup_seconds: float | None = None

    # ---------------------------------------------------------------- life cycle

    def start(self, timeout: float = 30.0) -> RedisClusterServer:
        """Launch every node, join them, and wait until the cluster is ready.

        Ready means every node reports ``cluster_state:ok``, all agree on the
        slot map and the roles, every replica is in sync and shown
        ``online``.  Blocks at most about ``timeout`` seconds; raises
        :class:`~greenpool.testing.ServerStartError` (and stops every node)
        when a node or ``redis-cli`` fails, :class:`TimeoutError` when the
        cluster does not settle.
        """
        began = time.monotonic()
        try:
            self._launch_waves(lambda: [self.nodes], self._renew_nodes, timeout)
            self._create(timeout)
            self.wait_ok(max(1.0, timeout - (time.monotonic() - began)))
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _renew_nodes(self) -> None:
        self.nodes = self._new_nodes()

    def _new_nodes(self) -> list[RedisClusterNode]:
        ports: set[int] = set()
        while len(ports) < 2 * self._count:
            ports.add(free_port())
        plist = sorted(ports)
        return [
            RedisClusterNode(
                plist[2 * i],
                bus_port=plist[2 * i + 1],
                node_timeout_ms=self.node_timeout_ms,
                extra_args=self._extra_args,
            )
            for i in range(self._count)
        ]

    def _create(self, timeout: float) -> None:
        """Run ``redis-cli --cluster create``; its output goes to ``redis-cli-create.log``.

        redis-cli has every node meet the first one, sleeps a second, then
        checks every second that all nodes agree on the slots; gossip alone
        makes that two seconds about half the time.  When it says it sends
        its meets (its output is made line-buffered with ``stdbuf``) we
        have every node meet every other directly too, so the first check
        passes.
        """
        first = self.nodes[0]
        assert first.tmpdir is not None
        log_path = Path(first.tmpdir) / "redis-cli-create.log"
        cmd = [
            self.stdbuf, "-oL",
            self.redis_cli, "--cluster", "create",
            *(node.address for node in self.nodes),
            "--cluster-replicas", str(self.replicas_per_primary),
            "--cluster-yes",
        ]  # fmt: skip
        deadline = time.monotonic() + timeout
        marker = b"Sending CLUSTER MEET messages"
        seen = b""
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            try:
                assert proc.stdout is not None
                fd = proc.stdout.fileno()
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise ServerStartError(
                            f"redis-cli --cluster create took more than {timeout:g}s"
                        )
                    readable, _, _ = select.select([fd], [], [], remaining)
                    if not readable:
                        continue
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    log.write(chunk)
                    if marker not in seen:
                        seen += chunk
                        if marker in seen:
                            self._hurry_join(seen)
                code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
        if code != 0:
            tail = log_path.read_text(errors="replace")[-4000:]
            raise ServerStartError(f"redis-cli --cluster create failed with exit code {code}", tail)

    def _hurry_join(self, output: bytes) -> None:
        """Do at once what gossip would spread in the next second or two.

        Every node meets every other; each replica is given its primary
        (as redis-cli printed the plan) as soon as it knows it, and each
        primary gets a ``FLUSHALL`` (a no-op on empty nodes) once its
        replica is in sync, so the replication offsets leave 0: Redis
        lists a replica in ``CLUSTER SHARDS``/``SLOTS`` only then.
        redis-cli sends its own ``CLUSTER REPLICATE`` later; same plan.
        """
        for node in self.nodes:
            meets = [
                ("CLUSTER", "MEET", other.host, other.port, other.bus_port)
                for other in self.nodes
                if other is not node
            ]
            self.pipeline(node, meets)
        text = re.sub(rb"\x1b\[[0-9;]*m", b"", output).decode(errors="replace")
        plan = re.findall(r"S: ([0-9a-f]{40}) \S+\s+replicates ([0-9a-f]{40})", text)
        pairs = [(self.node(r), self.node(p)) for r, p in plan]

        def replicating(replica: RedisClusterNode, primary: RedisClusterNode) -> bool:
            return bool(self.execute(replica, "CLUSTER", "REPLICATE", primary.node_id) == "OK")

        def in_sync(replica: RedisClusterNode) -> bool:
            return _text(self.execute(replica, "ROLE")[3]) == "connected"

        with contextlib.suppress(TimeoutError):  # redis-cli and wait_ok have the last word
            for replica, primary in pairs:
                poll_until(
                    lambda: replicating(replica, primary),  # noqa: B023 - called at once
                    2.0,
                    "CLUSTER REPLICATE",
                    interval=0.005,
                    ignore=_TRANSIENT,
                )
            for replica, primary in pairs:
                poll_until(
                    lambda: in_sync(replica),  # noqa: B023 - called at once
                    2.0,
                    "replica sync",
                    interval=0.005,
                    ignore=_TRANSIENT,
                )
                self.execute(primary, "FLUSHALL")

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL) and remove the directories.

        Paused nodes are resumed to let them exit.  Safe to call twice.
        """
        self.close_connections()
        stop_all(self.nodes)

    def __repr__(self) -> str:
        live = sum(1 for node in self.nodes if node.live)
        return f"<RedisClusterServer {len(self.nodes)} nodes, {live} live>"

    # ---------------------------------------------------------------- addresses

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every node, in creation order."""
        return [(node.host, node.port) for node in self.nodes]

    @property
    def addresses(self) -> list[str]:
        """``"127.0.0.1:P"`` of every node, in creation order."""
        return [node.address for node in self.nodes]

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:P/0`` of the first node (a seed for cluster clients)."""
        return self.nodes[0].url

    def node(self, which: int | str) -> RedisClusterNode:
        """The node with this port, ``"host:port"`` address, or node id.

        Raises :class:`KeyError` when no node matches.
        """
        for node in self.nodes:
            if which in (node.port, node.address) or (
                isinstance(which, str) and node._node_id == which
            ):
                return node
        raise KeyError(which)

    def live_nodes(self) -> list[RedisClusterNode]:
        """The nodes that can answer now (running and not SIGSTOPped)."""
        return [node for node in self.nodes if node.live]

    # ---------------------------------------------------------------- commands

    @contextlib.contextmanager
    def _client(self, node: RedisClusterNode) -> Iterator[RespClient]:
        idle = self._idle.setdefault(node.port, [])
        if idle:
            conn = idle.pop()
        else:
            conn = node.client()
            self._open[node.port] += 1
        try:
            yield conn
        except RedisReplyError:
            idle.append(conn)  # the stream is intact
            raise
        except BaseException:
            conn.close()
            self._open[node.port] -= 1
            raise
        self._idle.setdefault(node.port, []).append(conn)

    def close_connections(self, node: RedisClusterNode | None = None) -> None:
        """Close the idle connections the helpers keep to ``node`` (default: every node)."""
        ports = [node.port] if node is not None else list(self._idle)
        for port in ports:
            for conn in self._idle.pop(port, []):
                conn.close()
                self._open[port] -= 1

    def own_connections(self, node: RedisClusterNode) -> int:
        """How many connections the helpers hold open to ``node`` now (idle or in use).

        For tests and benchmarks that count the clients a server has.
        """
        return self._open[node.port]

    def execute(self, node: RedisClusterNode, *args: Arg) -> Any:
        """Run one command on ``node`` over a kept connection and return the reply.

        A kept connection that turns out broken (the node was restarted) is
        replaced once.  Error replies raise
        :class:`~greenpool.testing.RedisReplyError`.
        """
        for attempt in (0, 1):
            try:
                with self._client(node) as conn:
                    return conn.execute(*args)
            except (ConnectionError, BrokenPipeError):
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def pipeline(self, node: RedisClusterNode, commands: Iterable[Sequence[Arg]]) -> list[Any]:
        """Run several commands on ``node`` in one write; error replies in place."""
        with self._client(node) as conn:
            return conn.pipeline(commands)

    def key_slot(self, key: Arg) -> int:
        """``CLUSTER KEYSLOT key``, asked of a live node."""
        return int(self.execute(self._any_live(), "CLUSTER", "KEYSLOT", key))

    def flushall(self) -> None:
        """``FLUSHALL`` on every live primary."""
        for node in self.primaries():
            self.execute(node, "FLUSHALL")

    # ---------------------------------------------------------------- topology

    def _any_live(self, exclude: Iterable[RedisClusterNode] = ()) -> RedisClusterNode:
        skip = set(map(id, exclude))
        for node in self.nodes:
            if id(node) not in skip and node.live:
                return node
        raise RuntimeError(f"{self!r}: no live node to ask")

    def topology(self, via: RedisClusterNode | None = None) -> list[ClusterNodeInfo]:
        """``CLUSTER NODES`` as ``via`` (default: the first live node) sees the cluster."""
        node = via if via is not None else self._any_live()
        return parse_cluster_nodes(self.execute(node, "CLUSTER", "NODES"))

    def _by_role(self, role: str) -> list[RedisClusterNode]:
        out = []
        for info in self.topology():
            if info.role == role and not info.failed:
                with contextlib.suppress(KeyError):
                    out.append(self.node(info.port))
        return out

    def primaries(self) -> list[RedisClusterNode]:
        """The primaries a live node sees (not flagged failed), in its order."""
        return self._by_role("primary")

    def replicas(self) -> list[RedisClusterNode]:
        """The replicas a live node sees (not flagged failed)."""
        return self._by_role("replica")

    def replicas_of(self, primary: RedisClusterNode) -> list[RedisClusterNode]:
        """The nodes a live node sees replicating ``primary``."""
        return [
            self.node(info.port)
            for info in self.topology()
            if info.primary_id == primary.node_id and "slave" in info.flags
        ]

    def primary_of(self, replica: RedisClusterNode) -> RedisClusterNode:
        """The primary ``replica`` replicates, as a live node sees it."""
        for info in self.topology():
            if info.node_id == replica.node_id and info.primary_id is not None:
                return self.node(info.primary_id)
        raise KeyError(f"{replica!r} is not a replica")

    def slot_owner(self, slot: int) -> RedisClusterNode:
        """The primary serving ``slot``, as a live node sees it."""
        for info in self.topology():
            if info.role == "primary" and info.serves(slot):
                return self.node(info.node_id)
        raise KeyError(f"slot {slot} is not served")

    def slots_of(self, primary: RedisClusterNode) -> list[int]:
        """Every slot ``primary`` serves, as a live node sees it."""
        for info in self.topology():
            if info.node_id == primary.node_id:
                return [s for first, last in info.slots for s in range(first, last + 1)]
        raise KeyError(primary)

    # ---------------------------------------------------------------- waiting

    def _settled(self) -> bool:
        """One poll: do all live nodes report ok, agree, and see replicas online?"""
        views: list[frozenset[tuple[str, str, str | None, tuple[tuple[int, int], ...]]]] = []
        live = self.live_nodes()
        live_ids = {node.node_id for node in live}
        for node in live:
            replies = self.pipeline(
                node, [("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("ROLE",), ("CLUSTER", "SHARDS")]
            )
            if any(isinstance(r, RedisReplyError) for r in replies):
                return False
            info, nodes_text, role, shards = replies
            if _info_dict(info).get("cluster_state") != "ok":
                return False
            if _text(role[0]) == "slave" and _text(role[3]) != "connected":
                return False
            seen = parse_cluster_nodes(nodes_text)
            if any(n.failed for n in seen if n.node_id in live_ids):
                return False
            if any(not n.failed and n.node_id not in live_ids for n in seen):
                return False  # a dead or paused node not yet flagged
            views.append(
                frozenset(
                    (n.node_id, n.role, n.primary_id, n.slots)
                    for n in seen
                    if n.node_id in live_ids
                )
            )
            if not _replicas_online(shards, live_ids):
                return False
        return len(set(views)) == 1

    def wait_ok(self, timeout: float = 20.0) -> float:
        """Block until the live nodes have settled; return ``time.monotonic()`` then.

        Settled: each live node reports ``cluster_state:ok``; none flags a
        live node as failing and each flags every dead or paused one; all
        agree on every live node's role, primary and slots; each live
        replica is connected to its primary and shown ``online`` in
        ``CLUSTER SHARDS``.  Polls every 10 ms; raises :class:`TimeoutError`.
        """
        return poll_until(self._settled, timeout, f"{self!r} did not settle", ignore=_TRANSIENT)

    # ---------------------------------------------------------------- faults

    def _note_fault(self, node: RedisClusterNode) -> None:
        snapshot = self.topology(via=self._any_live(exclude=[node]))
        self._fault[node.node_id] = (time.monotonic(), snapshot)

    def kill(self, node: RedisClusterNode) -> float:
        """SIGKILL ``node``; return ``time.monotonic()`` just before the signal.

        The topology seen just before is kept for :meth:`wait_failover`.
        """
        self._note_fault(node)
        at = self._fault[node.node_id][0]
        node.kill()
        self.close_connections(node)
        return at

    def pause(self, node: RedisClusterNode) -> float:
        """SIGSTOP ``node`` (its sockets stay open; it answers nothing); return the time."""
        self._note_fault(node)
        at = self._fault[node.node_id][0]
        node.pause()
        return at

    def resume(self, node: RedisClusterNode) -> None:
        """SIGCONT ``node`` after :meth:`pause`."""
        node.resume()

    def restart(self, node: RedisClusterNode, *, wait: bool = True, timeout: float = 30.0) -> None:
        """Start ``node`` again (SIGKILL first if it runs) on its port with its ``nodes.conf``.

        A primary whose slots were failed over comes back as a replica.
        With ``wait`` (default), blocks until :meth:`wait_ok`.
        """
        self.close_connections(node)
        if node.running:
            node.resume()
        node.restart(hard=True)
        if wait:
            self.wait_ok(timeout)

    def wait_failover(self, failed: RedisClusterNode, timeout: float = 30.0) -> ClusterFailover:
        """Block until a replica of the dead or paused primary ``failed`` replaced it.

        Watches the replicas ``failed`` had just before :meth:`kill` or
        :meth:`pause` (or now, if the test signalled the node itself: then
        call this before the failover can have happened, within
        ``node_timeout_ms``).  Returns when every other live node reports
        ``cluster_state:ok`` with ``failed``'s slots on the new primary;
        raises :class:`TimeoutError`.  Polls every 10 ms.
        """
        fault_at, snapshot = self._fault.pop(failed.node_id, (None, None))
        if snapshot is None:
            snapshot = self.topology(via=self._any_live(exclude=[failed]))
        mine = next((n for n in snapshot if n.node_id == failed.node_id), None)
        if mine is None or mine.role != "primary" or not mine.slots:
            raise ValueError(f"{failed!r} was not a primary serving slots")
        candidates = [self.node(n.node_id) for n in snapshot if n.primary_id == failed.node_id]
        if not candidates:
            raise ValueError(f"{failed!r} had no replica to fail over to")
        probe_slot = mine.slots[0][0]
        promoted: list[tuple[RedisClusterNode, float]] = []

        def done() -> bool:
            if not promoted:
                for node in candidates:
                    if node.live and self._is_primary(node):
                        promoted.append((node, time.monotonic()))
                        break
            return bool(promoted) and self._failover_done(failed, promoted[0][0], probe_slot)

        ok_at = poll_until(done, timeout, f"no replica of {failed!r} took over", ignore=_TRANSIENT)
        new_primary, promoted_at = promoted[0]
        # Both may be seen in one poll, the promotion last.
        ok_at = max(ok_at, promoted_at)
        return ClusterFailover(failed, new_primary, promoted_at, ok_at, fault_at)

    def _is_primary(self, node: RedisClusterNode) -> bool:
        return _text(self.execute(node, "ROLE")[0]) == "master"

    def _failover_done(
        self, failed: RedisClusterNode, new_primary: RedisClusterNode, slot: int
    ) -> bool:
        for node in self.live_nodes():
            if node is failed:
                continue
            info, nodes_text = self.pipeline(node, [("CLUSTER", "INFO"), ("CLUSTER", "NODES")])
            if isinstance(info, RedisReplyError) or isinstance(nodes_text, RedisReplyError):
                return False
            if _info_dict(info).get("cluster_state") != "ok":
                return False
            owners = [
                n.node_id
                for n in parse_cluster_nodes(nodes_text)
                if n.role == "primary" and n.serves(slot)
            ]
            if owners != [new_primary.node_id]:
                return False
        return True

    def failover(
        self, replica: RedisClusterNode, *, option: str = "", timeout: float = 30.0
    ) -> ClusterFailover:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` on ``replica``; wait until it took over.

        A planned failover: the old primary stays up and becomes a replica.
        Returns like :meth:`wait_failover` (``fault_at`` is when the command
        was sent).
        """
        old = self.primary_of(replica)
        snapshot = self.topology(via=replica)
        args: list[Arg] = ["CLUSTER", "FAILOVER"]
        if option:
            args.append(option)
        at = time.monotonic()
        self.execute(replica, *args)
        self._fault[old.node_id] = (at, snapshot)
        slot = next(n for n in snapshot if n.node_id == old.node_id).slots[0][0]
        ok_at = poll_until(
            lambda: self._is_primary(replica) and self._failover_done(old, replica, slot),
            timeout,
            f"{replica!r} did not take over",
            ignore=_TRANSIENT,
        )
        self._fault.pop(old.node_id, None)
        return ClusterFailover(old, replica, ok_at, ok_at, at)

    # ---------------------------------------------------------------- slots

    def slot_owners(self) -> dict[int, RedisClusterNode]:
        """Every served slot and its primary, as a live node sees them."""
        owners: dict[int, RedisClusterNode] = {}
        for info in self.topology():
            if info.role == "primary" and info.slots:
                node = self.node(info.node_id)
                for first, last in info.slots:
                    for slot in range(first, last + 1):
                        owners[slot] = node
        return owners

    def begin_migration(
        self, slots: int | Iterable[int], target: RedisClusterNode
    ) -> SlotMigration:
        """Mark ``slots`` importing on ``target`` and migrating on their owner; return the handle.

        ``slots`` is one slot or several with the same owner.  From now on
        the owner answers ``-ASK`` for keys of those slots it no longer
        holds.  Move keys with :meth:`SlotMigration.move_keys`, end with
        :meth:`SlotMigration.finish` (or :meth:`SlotMigration.abort`).
        Raises :class:`ValueError` when a slot is already on ``target`` or
        the slots have different owners.
        """
        wanted = [slots] if isinstance(slots, int) else list(slots)
        owners = self.slot_owners()
        sources = {id(owners[s]): owners[s] for s in wanted}
        if len(sources) != 1:
            raise ValueError(f"slots {wanted[:5]}...: one owner needed, found {len(sources)}")
        (source,) = sources.values()
        if source is target:
            raise ValueError(f"slots {wanted[:5]}... are already on {target!r}")
        migration = SlotMigration(self, wanted, source, target)
        migration.begin()
        return migration

    def migrate_slot(self, slot: int, target: RedisClusterNode) -> int:
        """Move ``slot`` and its keys to ``target`` in one go; return the keys moved."""
        return self.begin_migration(slot, target).finish()

    def reshard(self, slots: Iterable[int], target: RedisClusterNode) -> int:
        """Move every slot in ``slots`` (with its keys) to ``target``; return the keys moved.

        Slots already on ``target`` are skipped.  The slots of each owner
        move together: their ``CLUSTER SETSLOT`` commands go in one write per
        node, so Redis saves its ``nodes.conf`` once per batch, not once per
        slot (a thousand slots take about a second, not ten).  The cluster
        serves throughout.
        """
        owners = self.slot_owners()
        by_source: dict[int, list[int]] = {}
        for slot in slots:
            if slot not in owners:
                raise KeyError(f"slot {slot} is not served")
            if owners[slot] is not target:
                by_source.setdefault(id(owners[slot]), []).append(slot)
        moved = 0
        for group in by_source.values():
            moved += SlotMigration(self, group, owners[group[0]], target).run()
        return moved


def _replicas_online(shards: Any, live_ids: set[str]) -> bool:
    """True when ``CLUSTER SHARDS`` shows every live replica's health as ``online``."""
    for shard in shards:
        fields = dict(zip(shard[::2], shard[1::2], strict=True))
        for node in fields.get(b"nodes", []):
            attrs = {_text(k): v for k, v in zip(node[::2], node[1::2], strict=True)}
            if _text(attrs.get("id", b"")) not in live_ids:
                continue
            if (
                _text(attrs.get("role", b"")) == "replica"
                and _text(attrs.get("health")) != "online"
            ):
                return False
    return True


# --------------------------------------------------------------------------- slot migration


class SlotMigration:
    """Slots on their way from ``source`` to ``target``, step by step.

    Made by :meth:`RedisClusterServer.begin_migration`.  While it is open,
    ``source`` answers ``-ASK`` for keys of the slots it does not hold
    (moved ones, new ones) and ``target`` accepts them after ``ASKING``.
    Each step sends its commands to a node in one write.
    """

    #: Keys per ``MIGRATE ... KEYS`` call.
    batch = 100
    #: Milliseconds ``MIGRATE`` may take.
    migrate_timeout_ms = 5000

    def __init__(
        self,
        cluster: RedisClusterServer,
        slots: Sequence[int],
        source: RedisClusterNode,
        target: RedisClusterNode,
    ) -> None:
        for slot in slots:
            if not 0 <= slot < SLOTS:
                raise ValueError(f"slot={slot!r}: 0..{SLOTS - 1}")
        if not slots:
            raise ValueError("no slot to migrate")
        self.cluster = cluster
        self.slots = tuple(slots)
        self.source = source
        self.target = target
        self.state = "new"

    @property
    def slot(self) -> int:
        """The first (often the only) slot."""
        return self.slots[0]

    def __repr__(self) -> str:
        route = f"{self.source.address} -> {self.target.address}"
        return f"<SlotMigration {len(self.slots)} slot(s) from {self.slot}: {route} {self.state}>"

    def _each(self, node: RedisClusterNode, build: Callable[[int], Sequence[Arg]]) -> list[Any]:
        """One command per slot on ``node``, in one write; raise the first error reply."""
        replies = self.cluster.pipeline(node, [build(slot) for slot in self.slots])
        for reply in replies:
            if isinstance(reply, RedisReplyError):
                raise reply
        return replies

    def begin(self) -> None:
        """``SETSLOT IMPORTING`` on the target, then ``SETSLOT MIGRATING`` on the source."""
        source_id, target_id = self.source.node_id, self.target.node_id
        self._each(self.target, lambda s: ("CLUSTER", "SETSLOT", s, "IMPORTING", source_id))
        self._each(self.source, lambda s: ("CLUSTER", "SETSLOT", s, "MIGRATING", target_id))
        self.state = "migrating"

    def keys_left(self) -> int:
        """Keys of the slots still on the source (``CLUSTER COUNTKEYSINSLOT``)."""
        return sum(self._each(self.source, lambda s: ("CLUSTER", "COUNTKEYSINSLOT", s)))

    def move_keys(self, count: int | None = None) -> int:
        """``MIGRATE`` up to ``count`` keys (all when ``None``) to the target; return how many."""
        return self._migrate(self.slots, self.source, self.target, count)

    def finish(self) -> int:
        """Move the remaining keys, then ``SETSLOT NODE`` on target, source and the rest.

        From then on every node answers ``-MOVED`` to the target.  Returns
        the keys moved by this call.
        """
        moved = self.move_keys()
        moved += self._assign(self.target)
        self.state = "done"
        return moved

    def abort(self) -> int:
        """Call the migration off: the slots stay with the source, with every key.

        ``SETSLOT STABLE`` on the source (while it is migrating it would
        answer the returning keys with ``-ASK``), ``MIGRATE`` the moved keys
        back, then ``SETSLOT STABLE`` on the target.  Returns the keys moved
        back.  Raises :class:`RuntimeError` once :meth:`finish` is done.
        """
        if self.state != "migrating":
            raise RuntimeError(f"{self!r}: only an open migration can be aborted")
        self._each(self.source, lambda s: ("CLUSTER", "SETSLOT", s, "STABLE"))
        moved = self._migrate(self.slots, self.target, self.source, None)
        self._each(self.target, lambda s: ("CLUSTER", "SETSLOT", s, "STABLE"))
        self.state = "aborted"
        return moved

    def _assign(self, owner: RedisClusterNode) -> int:
        """``SETSLOT NODE owner`` on the target, the source, then every other live primary.

        A node still holding keys of a slot refuses: keys written there
        since the last move are moved, and the command is sent again.
        Returns the keys moved meanwhile.
        """
        other = self.source if owner is self.target else self.target
        owner_id = owner.node_id
        moved = 0
        order = [self.target, self.source]
        order += [n for n in self.cluster.primaries() if n not in order]
        for node in order:
            if not node.live:
                continue
            for _attempt in range(10):
                replies = self.cluster.pipeline(
                    node, [("CLUSTER", "SETSLOT", s, "NODE", owner_id) for s in self.slots]
                )
                refused = [
                    s for s, r in zip(self.slots, replies, strict=True)
                    if isinstance(r, RedisReplyError)
                ]  # fmt: skip
                if not refused:
                    break
                if node is not other:
                    raise next(r for r in replies if isinstance(r, RedisReplyError))
                moved += self._migrate(refused, other, owner, None)
            else:
                raise RuntimeError(f"{self!r}: {node!r} keeps refusing SETSLOT NODE")
        return moved

    def _migrate(
        self,
        slots: Sequence[int],
        source: RedisClusterNode,
        target: RedisClusterNode,
        count: int | None,
    ) -> int:
        """``MIGRATE`` up to ``count`` keys of ``slots`` from ``source`` to ``target``."""
        moved = 0
        pending = list(slots)
        while pending and (count is None or moved < count):
            want = self.batch if count is None else min(self.batch, count - moved)
            replies = self.cluster.pipeline(
                source, [("CLUSTER", "GETKEYSINSLOT", s, want) for s in pending]
            )
            still: list[int] = []
            for slot, keys in zip(pending, replies, strict=True):
                if isinstance(keys, RedisReplyError):
                    raise keys
                if not keys or (count is not None and moved >= count):
                    continue
                keys = keys[: want if count is None else count - moved]
                self.cluster.execute(
                    source,
                    "MIGRATE", target.host, target.port, "", 0, self.migrate_timeout_ms,
                    "KEYS", *keys,
                )  # fmt: skip
                moved += len(keys)
                still.append(slot)
            pending = still
        return moved

    def run(self) -> int:
        """:meth:`begin` then :meth:`finish`; return the keys moved."""
        self.begin()
        return self.finish()
