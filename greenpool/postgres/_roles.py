"""Which PostgreSQL server is the primary: learned from ``pg_is_in_recovery()``.

A :class:`RoleMonitor` keeps, for each server of a multi-host pool, a
connection of its own (autocommit, outside the pool's slots) and asks every
``interval`` seconds, all servers at once, whether the server is in
recovery (a standby: read-only) or not (a primary: read-write).  A server
that doesn't answer within ``timeout`` is marked unhealthy.  The pool wakes
the monitor early when a connection to a server fails, so a promotion or an
outage is seen within one round trip rather than one interval.

The monitor's greenlet holds the pool weakly: a pool that is dropped without
being closed stops its monitor too.

A monitor connection is used, and closed, only by the greenlet querying on
it, or once no greenlet is: psycopg2 holds a connection's lock (an OS
mutex) for the whole of a green query, and psycopg 3 its ``threading.Lock``
around ``execute()``, so another greenlet that closed the connection (or
queried on it) meanwhile would wait on that lock for ever, and with it the
whole thread.  Hence one refresh at a time, whoever asks for it: a caller
finding one under way waits for it instead of starting a second.  And
:meth:`RoleMonitor.stop` closes at once only the connections no refresh is
using; a refresh it kills closes its own as it ends.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from time import monotonic
from typing import Any, Protocol

import gevent
from gevent.event import Event

from .._fork import fd_of, register, sever
from ..pool.modes import InstanceState, Status

__all__ = ["MonitoredUnit", "RoleMonitor"]

log = logging.getLogger("greenpool.postgres")

#: The fewest seconds between two refreshes, however often the monitor is woken.
MIN_GAP = 0.05


class MonitoredUnit(Protocol):
    """What the monitor needs from a server's unit."""

    state: InstanceState
    monitor_conn: Any

    def open_monitor_connection(self) -> Any: ...

    def set_state(self, state: InstanceState) -> None: ...


class RoleMonitor:
    """Refreshes the role and health of each unit in the background."""

    def __init__(
        self,
        units: Sequence[MonitoredUnit],
        *,
        interval: float,
        timeout: float,
        name: str,
    ) -> None:
        self.units = units  # the pool's own list: units added later are seen
        self.interval = interval
        self.timeout = timeout
        self.name = name
        self._wake = Event()
        self._glet: Any = None  # the background greenlet (_run)
        self._round: Any = None  # the refresh under way, if any (_refresh_all)
        self._busy: set[MonitoredUnit] = set()  # units whose connection a refresh is using
        self._stopped = False
        self._last = -float("inf")
        self._generation = 0  # bumped in a child after fork(): older refreshes are the parent's
        register(self)

    def start(self) -> None:
        """Learn every role now (blocks up to ``timeout``), then refresh in the background."""
        if self._glet is not None or self._stopped:
            return
        self.refresh()
        if self._glet is not None or self._stopped:
            return  # another caller started it meanwhile, or stop() came
        glet = gevent.spawn(_run, weakref.ref(self))
        glet.name = f"greenpool-roles-{self.name}"
        self._glet = glet

    @property
    def started(self) -> bool:
        return self._glet is not None

    def wake(self) -> None:
        """Refresh soon (at most one refresh per :data:`MIN_GAP` seconds)."""
        self._wake.set()

    def refresh(self) -> None:
        """Ask every server its role now, concurrently; blocks up to ``timeout``.

        A refresh already under way (the background greenlet's, or another
        caller's) is waited for rather than a second one started: a
        connection carries one query at a time.  An exception in the caller
        (a ``gevent.Timeout``, ``kill()``) stops its wait, not the refresh,
        which ends within ``timeout`` by itself.  After :meth:`stop` it
        returns at once.
        """
        if self._stopped:
            return
        pending = self._round
        if pending is None or pending.dead:
            self._last = monotonic()
            pending = self._round = gevent.spawn(self._refresh_all)
            pending.name = f"greenpool-roles-{self.name}-refresh"
        pending.join()

    def _refresh_all(self) -> None:
        glets = [gevent.spawn(self._refresh_one, unit) for unit in self.units]
        try:
            gevent.joinall(glets)
        finally:
            alive = [g for g in glets if not g.dead]
            if alive:
                # Killed by stop(): the queries end (each closing its own
                # connection) before this greenlet does.
                gevent.killall(alive)

    def _refresh_one(self, unit: MonitoredUnit) -> None:
        """One server's role, on its monitor connection, which only this greenlet uses meanwhile."""
        generation = self._generation
        self._busy.add(unit)
        conn = None
        try:
            with gevent.Timeout(self.timeout):
                conn = unit.monitor_conn
                if conn is None or conn.closed:
                    conn = unit.monitor_conn = unit.open_monitor_connection()
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_is_in_recovery()")
                    row = cur.fetchone()
            if generation == self._generation:
                in_recovery = bool(row[0]) if row else True
                unit.set_state(InstanceState(Status.HEALTHY, read_only=in_recovery))
        except BaseException as exc:
            if not isinstance(exc, (Exception, gevent.Timeout)):
                raise
            if generation != self._generation:
                return  # a copy in a child after fork(): the parent's refresh, not this process's
            self._forget_conn(unit, conn)
            log.debug("pool %s: role check of %s failed: %r", self.name, unit, exc)
            unit.set_state(InstanceState(Status.UNHEALTHY, read_only=unit.state.read_only))
        finally:
            if generation == self._generation:
                self._busy.discard(unit)
                if self._stopped:
                    self._forget_conn(unit, conn)

    @staticmethod
    def _forget_conn(unit: MonitoredUnit, conn: Any) -> None:
        """Close ``conn`` (if any); the unit forgets it if it is still the unit's."""
        if conn is None:
            return
        if unit.monitor_conn is conn:
            unit.monitor_conn = None
        try:
            conn.close()
        except Exception:
            pass

    def _forget_inherited(self) -> None:
        """In a child after fork(): sever the monitor connections (see :mod:`greenpool._fork`).

        The child's first checkout starts a monitor of its own; the copies of
        the parent's monitor greenlets stop (they are no longer the
        monitor's) without touching what the child's monitor does.
        """
        sever([fd_of(u.monitor_conn) for u in self.units if u.monitor_conn is not None])
        for unit in self.units:
            unit.monitor_conn = None
        self._glet = self._round = None
        self._busy = set()
        self._generation += 1

    def stop(self) -> None:
        """Stop refreshing and close the monitor connections.  Does not block.

        A connection a refresh is querying on is not closed here but by that
        refresh's greenlet, which this kills, as it ends: psycopg2 holds a
        connection's lock (an OS mutex) for the whole of a green query, so
        a ``close()`` from this greenlet would wait on that lock for ever,
        and with it the whole thread.  The others are closed now.
        """
        self._stopped = True
        current = gevent.getcurrent()
        for glet in (self._glet, self._round):
            if glet is not None and glet is not current:
                glet.kill(block=False)
        self._glet = self._round = None
        for unit in self.units:
            if unit not in self._busy:
                self._forget_conn(unit, unit.monitor_conn)


def _run(ref: Callable[[], RoleMonitor | None]) -> None:
    # Holds the monitor only while refreshing, never while waiting.
    me = gevent.getcurrent()
    while True:
        monitor = ref()
        if monitor is None or monitor._stopped or monitor._glet is not me:
            return  # stopped, collected, or this is the parent's copy after fork()
        event, interval = monitor._wake, monitor.interval
        del monitor
        woken = event.wait(interval)
        event.clear()
        monitor = ref()
        if monitor is None or monitor._stopped or monitor._glet is not me:
            return
        if woken:
            gap = MIN_GAP - (monotonic() - monitor._last)
            if gap > 0:
                gevent.sleep(gap)
        try:
            if not monitor._stopped:
                monitor.refresh()
        except Exception:
            log.exception("pool %s: role monitor failed", monitor.name)
        del monitor
