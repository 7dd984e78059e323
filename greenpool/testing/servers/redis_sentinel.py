"""A real Redis Sentinel set-up: a primary, its replicas and the sentinels watching them.

:class:`RedisSentinelSet` starts ``1 + replicas`` ``redis-server`` processes
(the first one primary, the others ``--replicaof`` it) and ``sentinels``
:class:`RedisSentinel` processes (``redis-sentinel``, Debian package
``redis-sentinel``) monitoring them under one service name, all on free
loopback ports, and waits until every sentinel sees the primary, every
replica and every other sentinel.

Each sentinel's config file names its own id and lists the replicas and
the other sentinels (the lines a sentinel writes itself once it has
discovered them), so the set is ready as soon as the processes answer
instead of after the two-second hello and ten-second ``INFO`` periods.
``down-after-milliseconds`` (1000 by default) and ``failover-timeout``
(3000) are short, so a killed primary is replaced within a few seconds.

Faults are real: :meth:`RedisSentinelSet.kill` SIGKILLs one server by
PID, :meth:`~RedisSentinelSet.failover` sends ``SENTINEL FAILOVER``, and
:meth:`~RedisSentinelSet.wait_new_primary` returns when the sentinels
report another primary, with the time they first did.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._process import (
    HOST,
    ServerGroup,
    find_program,
    free_port,
    poll_until,
    stop_all,
)
from ._resp import RedisReplyError
from .redis import RedisServer

__all__ = ["RedisSentinel", "RedisSentinelSet", "SentinelFailover"]

_TRANSIENT = (OSError, ConnectionError, RedisReplyError)

#: Arguments every data server of the set gets: replicas sync at once, and
#: replication offsets move every second even with no writes.
_SERVER_ARGS = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(reply: Any) -> dict[str, str]:
    """A flat ``[key, value, ...]`` reply (``SENTINEL MASTER``) as a dict of text."""
    items = list(reply or [])
    return {_text(k): _text(v) for k, v in zip(items[::2], items[1::2], strict=True)}


class RedisSentinel(RedisServer):
    """One ``redis-sentinel`` process monitoring one primary under ``service_name``.

    Writes ``sentinel.conf`` into its temporary directory on the first
    start only: the sentinel rewrites that file as it learns (the current
    primary, replicas, other sentinels, epochs), and a :meth:`restart`
    keeps what it learned.  Ready once ``PING`` answers.
    """

    name = "redis-sentinel"

    def __init__(
        self,
        port: int | None = None,
        *,
        service_name: str,
        primary: tuple[str, int],
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        parallel_syncs: int = 1,
        myid: str | None = None,
        known_replicas: Sequence[tuple[str, int]] = (),
        known_sentinels: Sequence[tuple[str, int, str]] = (),
    ) -> None:
        super().__init__(port)
        self.program = find_program("redis-sentinel", "redis-sentinel")
        if not re.fullmatch(r"[\w.-]+", service_name):
            raise ValueError(f"service_name={service_name!r}: letters, digits, '.', '-', '_'")
        self.service_name = service_name
        self.primary = primary
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.parallel_syncs = parallel_syncs
        self.myid = myid if myid is not None else os.urandom(20).hex()
        self.known_replicas = list(known_replicas)
        self.known_sentinels = list(known_sentinels)

    @property
    def config_path(self) -> Path:
        """``<tmpdir>/sentinel.conf``, which the sentinel rewrites."""
        assert self.tmpdir is not None
        return Path(self.tmpdir) / "sentinel.conf"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:P/0``: the sentinel speaks RESP on its port."""
        return f"redis://{self.address}/0"

    def _prepare(self) -> None:
        assert self.tmpdir is not None
        name = self.service_name
        host, port = self.primary
        lines = [
            "# written by greenpool.testing; redis-sentinel rewrites it",
            f"port {self.port}",
            f"bind {HOST}",
            "daemonize no",
            'logfile ""',
            f"dir {self.tmpdir}",
            f"sentinel myid {self.myid}",
            f"sentinel monitor {name} {host} {port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} {self.parallel_syncs}",
        ]
        lines += [f"sentinel known-replica {name} {h} {p}" for h, p in self.known_replicas]
        lines += [
            f"sentinel known-sentinel {name} {h} {p} {sid}" for h, p, sid in self.known_sentinels
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def _command(self) -> list[str]:
        return [self.program, str(self.config_path)]

    def master(self) -> dict[str, str]:
        """``SENTINEL MASTER <service_name>`` as a dict of text."""
        return _pairs(self.execute("SENTINEL", "MASTER", self.service_name))

    def primary_address(self) -> tuple[str, int] | None:
        """``SENTINEL GET-MASTER-ADDR-BY-NAME``: where this sentinel says the primary is."""
        reply = self.execute("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name)
        if not reply:
            return None
        return _text(reply[0]), int(reply[1])

    def switch_times(self) -> list[tuple[float, tuple[str, int], tuple[str, int]]]:
        """Every ``+switch-master`` in this sentinel's log: (wall time, old, new address).

        The wall time is the log line's own millisecond timestamp, as
        ``time.time()`` counts (local time zone).
        """
        out: list[tuple[float, tuple[str, int], tuple[str, int]]] = []
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return out
        for match in _SWITCH_RE.finditer(text):
            stamp, millis, name, old_host, old_port, new_host, new_port = match.groups()
            if name != self.service_name:
                continue
            wall = time.mktime(time.strptime(stamp, "%d %b %Y %H:%M:%S")) + int(millis) / 1000
            out.append((wall, (old_host, int(old_port)), (new_host, int(new_port))))
        return out


_SWITCH_RE = re.compile(
    r"^\d+:X (\d\d \w{3} \d{4} \d\d:\d\d:\d\d)\.(\d{3}) # \+switch-master "
    r"(\S+) (\S+) (\d+) (\S+) (\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class SentinelFailover:
    """What :meth:`RedisSentinelSet.wait_new_primary` saw.

    A sentinel reports a new primary in two steps.  The sentinel leading
    the failover answers ``GET-MASTER-ADDR-BY-NAME`` with the promoted
    replica as soon as it starts reconfiguring the other replicas; only
    later (all replicas reconfigured, or ``failover-timeout``) does it
    announce ``+switch-master``, after which ``SENTINEL MASTER(S)`` show the
    new address too, and the other sentinels follow at its next hello.
    Clients that read ``SENTINEL MASTERS`` (redis-py's ``discover_master``)
    see the new primary only from the second step.

    ``reported_at``: ``time.monotonic()`` at the first poll in which a
    sentinel answered ``GET-MASTER-ADDR-BY-NAME`` with the new primary.
    ``all_switched_at``: the first poll in which every live sentinel showed
    it in ``SENTINEL MASTER`` as well.  ``switched_at``: the earliest
    ``+switch-master`` timestamp in the sentinels' logs, on the
    ``time.time()`` scale (``None`` if no log line was found); it does not
    depend on how busy the test process was.  ``fault_at``:
    ``time.monotonic()`` when :meth:`~RedisSentinelSet.kill` or
    :meth:`~RedisSentinelSet.failover` acted, if they did.
    """

    old_primary: RedisServer
    new_primary: RedisServer
    reported_at: float
    all_switched_at: float
    switched_at: float | None
    fault_at: float | None


class RedisSentinelSet(ServerGroup):
    """A primary, ``replicas`` replicas and ``sentinels`` sentinels; see the module docstring.

    :meth:`start` launches everything and returns once ready; :meth:`stop`
    stops every process by PID and removes the directories.  A context
    manager.  :attr:`servers` lists the data servers (the first one starts
    as primary), :attr:`sentinels` the sentinels; which server is primary
    changes with failovers: ask :meth:`primary`.
    """

    def __init__(
        self,
        replicas: int = 2,
        sentinels: int = 3,
        *,
        service_name: str = "mymaster",
        quorum: int | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        if replicas < 0 or sentinels < 1:
            raise ValueError(f"replicas={replicas!r}, sentinels={sentinels!r}")
        self.service_name = service_name
        self._sizes = (replicas, sentinels)
        self._sentinel_options: dict[str, Any] = {
            "service_name": service_name,
            "quorum": quorum if quorum is not None else sentinels // 2 + 1,
            "down_after_ms": down_after_ms,
            "failover_timeout_ms": failover_timeout_ms,
        }
        self.servers: list[RedisServer] = []
        self.sentinels: list[RedisSentinel] = []
        self._build()
        #: Seconds the last :meth:`start` took, from launch to ready.
        self.startup_seconds: float | None = None
        self._fault_at: float | None = None

    def _build(self) -> None:
        """Make the processes' objects on fresh ports (nothing is started)."""
        replicas, sentinels = self._sizes
        ports: list[int] = []
        while len(ports) < 1 + replicas + sentinels:
            port = free_port()
            if port not in ports:
                ports.append(port)
        server_ports, sentinel_ports = ports[: 1 + replicas], ports[1 + replicas :]
        primary = (HOST, server_ports[0])
        self.servers = [
            RedisServer(port, extra_args=self._server_args(None if i == 0 else primary))
            for i, port in enumerate(server_ports)
        ]
        ids = [os.urandom(20).hex() for _ in sentinel_ports]
        self.sentinels = [
            RedisSentinel(
                port,
                primary=primary,
                myid=ids[i],
                known_replicas=[(HOST, p) for p in server_ports[1:]],
                known_sentinels=[(HOST, p, ids[j]) for j, p in enumerate(sentinel_ports) if j != i],
                **self._sentinel_options,
            )
            for i, port in enumerate(sentinel_ports)
        ]

    def _waves(self) -> list[list[RedisServer]]:
        return [self.servers, list(self.sentinels)]  # the servers first

    @staticmethod
    def _server_args(replica_of: tuple[str, int] | None) -> list[str]:
        args = list(_SERVER_ARGS)
        if replica_of is not None:
            args += ["--replicaof", replica_of[0], str(replica_of[1])]
        return args

    # ---------------------------------------------------------------- life cycle

    def start(self, timeout: float = 30.0) -> RedisSentinelSet:
        """Launch the servers, then the sentinels; wait until everything is ready.

        Ready: every replica is in sync with the primary, and every sentinel
        reports the primary up (flags ``master``), all the replicas and all
        the other sentinels, with enough of them linked for a quorum
        (``SENTINEL CKQUORUM``).  Raises
        :class:`~greenpool.testing.ServerStartError` or
        :class:`TimeoutError` (and stops everything) otherwise.
        """
        began = time.monotonic()
        try:
            self._launch_waves(self._waves, self._build, timeout)
            # At start, also wait until each sentinel has seen each replica's own
            # INFO report a working link (it polls every second until it does).
            poll_until(
                lambda: self._settled(convert=False, link_ok=True),
                max(1.0, timeout - (time.monotonic() - began)),
                f"{self!r} did not settle",
                ignore=_TRANSIENT,
            )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop the sentinels, then the servers (SIGTERM, then SIGKILL); remove the directories."""
        stop_all(self.sentinels)
        stop_all(self.servers)

    def __repr__(self) -> str:
        return (
            f"<RedisSentinelSet {self.service_name!r} {len(self.servers)} servers, "
            f"{len(self.sentinels)} sentinels>"
        )

    # ---------------------------------------------------------------- addresses and roles

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every sentinel: what ``Sentinel([...])`` takes."""
        return [(s.host, s.port) for s in self.sentinels]

    def _live_sentinels(self) -> list[RedisSentinel]:
        return [s for s in self.sentinels if s.running and not s.paused]

    def server(self, address: tuple[str, int] | int) -> RedisServer:
        """The data server at ``(host, port)`` (or with that port); :class:`KeyError` if none."""
        port = address if isinstance(address, int) else address[1]
        for server in self.servers:
            if server.port == port:
                return server
        raise KeyError(address)

    def primary_address(self) -> tuple[str, int]:
        """Where the first live sentinel says the primary is."""
        for sentinel in self._live_sentinels():
            with contextlib.suppress(*_TRANSIENT):
                address = sentinel.primary_address()
                if address is not None:
                    return address
        raise RuntimeError(f"{self!r}: no live sentinel knows the primary")

    def primary(self) -> RedisServer:
        """The data server the sentinels report as primary."""
        return self.server(self.primary_address())

    def replicas(self) -> list[RedisServer]:
        """The running data servers other than :meth:`primary`."""
        primary = self.primary()
        return [s for s in self.servers if s is not primary and s.running]

    # ---------------------------------------------------------------- waiting

    def _settled(self, convert: bool, link_ok: bool = False) -> bool:
        primary = self.primary()
        if not primary.running or primary.paused:
            return False
        if _text(primary.execute("ROLE")[0]) != "master":
            return False
        live_servers = [s for s in self.servers if s.running and not s.paused]
        for server in live_servers:
            if server is primary:
                continue
            role = server.execute("ROLE")
            if _text(role[0]) == "master" and convert:
                server.execute("REPLICAOF", primary.host, primary.port)
                return False
            if _text(role[0]) != "slave" or int(role[2]) != primary.port:
                return False
            if _text(role[3]) != "connected":
                return False
        replica_ports = {s.port for s in live_servers if s is not primary}
        for sentinel in self._live_sentinels():
            if sentinel.primary_address() != (primary.host, primary.port):
                return False
            master = sentinel.master()
            if master.get("flags") != "master":
                return False
            if int(master.get("num-other-sentinels", -1)) < len(self.sentinels) - 1:
                return False
            if link_ok:
                # At start: known is not enough, the others must count as
                # usable (linked) for a quorum.  NOQUORUM raises, which the
                # poll takes for "not yet".
                sentinel.execute("SENTINEL", "CKQUORUM", self.service_name)
            reported = sentinel.execute("SENTINEL", "REPLICAS", self.service_name)
            listed = {
                int(fields["port"])
                for fields in map(_pairs, reported)
                if fields.get("flags") == "slave"
                and (not link_ok or fields.get("master-link-status") == "ok")
            }
            if not replica_ports <= listed:
                return False
        return True

    def wait_settled(self, timeout: float = 30.0, *, convert: bool = True) -> float:
        """Block until everything agrees; return ``time.monotonic()`` then.

        Every live sentinel reports the same primary with flags ``master``
        (not down), knows all the other sentinels and lists every live
        replica with flags ``slave`` (not down, not disconnected); the
        primary answers ``ROLE`` as master and every other live server
        replicates it, in sync.  Polls every 10 ms; raises
        :class:`TimeoutError`.

        After a failover the sentinels turn a demoted primary that is still
        up into a replica only when they next ask it for ``INFO`` (every 10
        s): with ``convert`` (default) we send it the same ``REPLICAOF``
        at once.  Pass ``convert=False`` to watch the sentinels do it.
        """
        return poll_until(
            lambda: self._settled(convert),
            timeout,
            f"{self!r} did not settle",
            ignore=_TRANSIENT,
        )

    def wait_new_primary(
        self, old: RedisServer | tuple[str, int], timeout: float = 30.0
    ) -> SentinelFailover:
        """Block until the sentinels report a primary other than ``old``, and switched to it.

        Polls every live sentinel every 10 ms: ``GET-MASTER-ADDR-BY-NAME``
        until one names another server (``reported_at``), then ``SENTINEL
        MASTER`` until all show it (``all_switched_at``); see
        :class:`SentinelFailover`.  Raises :class:`TimeoutError`.
        """
        old_server = self.server(old if isinstance(old, tuple) else old.port)
        old_address = (old_server.host, old_server.port)
        first: list[tuple[tuple[str, int], float]] = []

        def reported() -> bool:
            switched = set()
            for sentinel in self._live_sentinels():
                address = sentinel.primary_address()
                if address is not None and address != old_address and not first:
                    first.append((address, time.monotonic()))
                master = sentinel.master()
                switched.add((master.get("ip"), int(master.get("port", 0))))
            return bool(first) and switched == {first[0][0]}

        all_at = poll_until(
            reported, timeout, f"the sentinels did not replace {old_server!r}", ignore=_TRANSIENT
        )
        new_address, reported_at = first[0]
        switches = [
            wall
            for sentinel in self.sentinels
            for wall, was, now in sentinel.switch_times()
            if was == old_address and now == new_address
        ]
        fault_at, self._fault_at = self._fault_at, None
        return SentinelFailover(
            old_primary=old_server,
            new_primary=self.server(new_address),
            reported_at=reported_at,
            all_switched_at=all_at,
            switched_at=min(switches) if switches else None,
            fault_at=fault_at,
        )

    # ---------------------------------------------------------------- faults

    def kill(self, server: RedisServer | None = None) -> RedisServer:
        """SIGKILL ``server`` (default: the current primary); return it.

        The time just before the signal is kept for :meth:`wait_new_primary`.
        """
        target = server if server is not None else self.primary()
        self._fault_at = time.monotonic()
        target.kill()
        return target

    def failover(self, timeout: float = 30.0) -> SentinelFailover:
        """``SENTINEL FAILOVER <service>`` on a live sentinel; wait for the new primary.

        A planned failover: no agreement is needed, and the old primary is
        reconfigured as a replica afterwards (it stays writable until the
        sentinels reach it).
        """
        old = self.primary()
        sentinel = self._live_sentinels()[0]
        self._fault_at = time.monotonic()
        sentinel.execute("SENTINEL", "FAILOVER", self.service_name)
        return self.wait_new_primary(old, timeout)

    def restart(self, server: RedisServer, *, wait: bool = True, timeout: float = 30.0) -> None:
        """Start ``server`` again (SIGKILL first if it runs) as a replica of the current primary.

        Its data is not persisted, so it comes back empty and syncs.  With
        ``wait`` (default), blocks until :meth:`wait_settled`.
        """
        primary = self.primary()
        if primary is server:
            raise ValueError(f"{server!r} is the primary: fail over first")
        server.extra_args = self._server_args((primary.host, primary.port))
        server.restart(hard=True)
        if wait:
            self.wait_settled(timeout)
