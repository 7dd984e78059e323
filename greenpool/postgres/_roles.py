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
        self._glet: Any = None
        self._stopped = False
        self._last = -float("inf")
        register(self)

    def start(self) -> None:
        """Learn every role now (blocks up to ``timeout``), then refresh in the background."""
        if self._glet is not None or self._stopped:
            return
        self.refresh()
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
        """Ask every server its role now, concurrently; blocks up to ``timeout``."""
        self._last = monotonic()
        glets = [gevent.spawn(self._refresh_one, unit) for unit in self.units]
        try:
            gevent.joinall(glets)
        except BaseException:
            gevent.killall(glets, block=False)
            raise

    def _refresh_one(self, unit: MonitoredUnit) -> None:
        try:
            with gevent.Timeout(self.timeout):
                conn = unit.monitor_conn
                if conn is None or conn.closed:
                    conn = unit.monitor_conn = unit.open_monitor_connection()
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_is_in_recovery()")
                    row = cur.fetchone()
            in_recovery = bool(row[0]) if row else True
            unit.set_state(InstanceState(Status.HEALTHY, read_only=in_recovery))
        except BaseException as exc:
            if not isinstance(exc, (Exception, gevent.Timeout)):
                raise
            self._close_conn(unit)
            log.debug("pool %s: role check of %s failed: %r", self.name, unit, exc)
            unit.set_state(InstanceState(Status.UNHEALTHY, read_only=unit.state.read_only))

    @staticmethod
    def _close_conn(unit: MonitoredUnit) -> None:
        conn, unit.monitor_conn = unit.monitor_conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _forget_inherited(self) -> None:
        """In a child after fork(): sever the monitor connections (see :mod:`greenpool._fork`).

        The child's first checkout starts a monitor of its own; the copy of
        the parent's monitor greenlet stops (it is no longer the monitor's).
        """
        sever([fd_of(u.monitor_conn) for u in self.units if u.monitor_conn is not None])
        for unit in self.units:
            unit.monitor_conn = None
        self._glet = None

    def stop(self) -> None:
        """Stop refreshing and close the monitor connections.  Does not block.

        While the monitor greenlet lives, the connections are closed only once
        it has ended: it may be in a query, and psycopg2 holds a connection's
        lock (an OS mutex) for the whole of a green query, so a close() from
        another greenlet would wait on that lock for ever, and with it the
        whole thread.
        """
        self._stopped = True
        glet, self._glet = self._glet, None
        units = list(self.units)
        if glet is not None and not glet.dead and glet is not gevent.getcurrent():
            glet.link(lambda _ended: self._close_conns(units))
            glet.kill(block=False)
            return
        self._close_conns(units)

    @classmethod
    def _close_conns(cls, units: list[MonitoredUnit]) -> None:
        for unit in units:
            cls._close_conn(unit)



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
