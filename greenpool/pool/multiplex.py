"""The multiplexed pool: a few shared connections to one node.

zcached's ``AsyncConnectionPool`` API over green :class:`Connection` objects.
Requests don't check a connection out: each goes to the connected
connection with the fewest requests in flight, and any number of greenlets
share it (see :mod:`greenpool.transport.connection`).

A connection that breaks is reconnected in the background, with
exponential back-off and full jitter, until it is back, removed from the
pool, or the pool is closed.  :meth:`MultiplexPool.get_least_loaded_connection`
raises ``IndexError`` only when no connection is connected; the clients
above turn that into a clear :class:`~greenpool.ConnectionError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gevent import get_hub
from gevent.event import AsyncResult

from .._backoff import Backoff
from .._fork import register
from .._stats import ConnectionCounters
from .._threads import check_hub
from .._util import check_bool, check_float, check_int
from ..errors import ConfigurationError
from ..transport.connection import DISCONNECTED, Connection

__all__ = ["MultiplexPool"]

log = logging.getLogger("greenpool.multiplex")


class MultiplexPool:
    """Up to ``pool_size`` shared connections made by ``connection_factory()``.

    ``connection_factory`` returns a new, not yet connected
    :class:`~greenpool.transport.Connection`.  With ``connect_now`` (the
    default) every connection is connected here, concurrently; failures are
    logged, and those connections reconnect in the background.

    ``reconnect`` (default True) turns the background reconnection on;
    ``backoff_base`` and ``backoff_cap`` (seconds) shape its back-off: the
    n-th attempt waits a random time up to ``min(cap, base * 2**n)``.
    """

    def __init__(
        self,
        pool_size: int,
        connection_factory: Callable[[], Connection],
        *,
        connect_now: bool = True,
        reconnect: bool = True,
        backoff_base: float = 0.05,
        backoff_cap: float = 5.0,
        name: str | None = None,
    ) -> None:
        self._pool_size = check_int("pool_size", pool_size, minimum=0) or 0
        if not callable(connection_factory):
            raise ConfigurationError(
                "connection_factory", connection_factory, "must return a Connection"
            )
        self._factory = connection_factory
        self._reconnect_enabled = check_bool("reconnect", reconnect)
        self._backoff_base = check_float("backoff_base", backoff_base, strict=True) or 0.05
        self._backoff_cap = check_float("backoff_cap", backoff_cap, strict=True) or 5.0
        self.name = name or f"multiplex-{id(self):x}"
        self._connections: list[Connection] = []
        self._live: list[Connection] = []
        self._reconnectors: dict[int, Any] = {}
        self._attempt: AsyncResult | None = None
        self._closed = False
        self._counters = ConnectionCounters()  # see stats()
        # Request counts of connections removed or closed with the pool:
        # requests_num, requests_errors, requests_timeouts (see stats()).
        self._retired = [0, 0, 0]
        # The gevent hub (OS thread) that first connected the connections:
        # the only one that may connect them again (None: not yet, or after fork()).
        self._hub: Any = None
        register(self)
        new = [self._new_connection() for _ in range(self._pool_size)]
        self._connections.extend(new)
        if check_bool("connect_now", connect_now):
            self._connect_all(new)

    # ------------------------------------------------------------------
    # zcached's API

    @property
    def pool_size(self) -> int:
        """How many connections the pool holds (connected or not)."""
        return self._pool_size

    @property
    def connection_factory(self) -> Callable[[], Connection]:
        """The callable making new connections."""
        return self._factory

    @property
    def connections(self) -> list[Connection]:
        """Every connection in the pool (a copy)."""
        return list(self._connections)

    @property
    def connected_connections(self) -> list[Connection]:
        """The connections that are connected now."""
        return [c for c in self._connections if c.live()]

    @property
    def broken_connections(self) -> list[Connection]:
        """The connections that are not connected."""
        return [c for c in self._connections if not c.live()]

    def setup(self) -> int:
        """Connect every connection that is not connected, concurrently; return how many are."""
        return self.reconnect(only_broken_connections=True)

    def get_least_loaded_connection(self) -> Connection:
        """The connected connection with the fewest requests in flight.

        Never blocks.  Raises ``IndexError`` when no connection is connected.
        """
        live = self._live
        count = len(live)
        if count == 1:
            return live[0]
        if not count:
            raise IndexError(f"{self.name}: no connection is connected")
        if count == 2:  # the common case, without a loop
            first, second = live
            return second if second.pending < first.pending else first
        best = live[0]
        least = best.pending
        if least:
            for conn in live:
                load = conn.pending
                if load < least:
                    best, least = conn, load
                    if not load:
                        break
        return best

    def wait_for_connection(self, timeout: float | None = None) -> Connection:
        """The least loaded connected connection, connecting now if none is.

        When nothing is connected, every broken connection is connected at
        once (concurrent callers share that attempt, and it skips the
        back-off of the background reconnection).  Blocks until one
        connects, every attempt failed, or ``timeout`` passes.  Raises the
        last connect error (a :class:`~greenpool.ConnectionError`), or
        ``IndexError`` when the pool is empty, closed or timed out.  A
        ``gevent.Timeout`` or ``kill()`` of the caller's own passes through
        unchanged; the attempt goes on for the other callers.
        """
        if self._live:
            return self.get_least_loaded_connection()
        if self._hub is not None:
            # Not another thread's to connect, nor its attempt to wait on.
            check_hub(self._hub, f"pool {self.name}")
        if self._closed or not self._connections:
            raise IndexError(f"{self.name}: no connection to connect")
        attempt = self._attempt
        if attempt is None:
            if self._hub is None:
                self._hub = get_hub()
            attempt = self._attempt = AsyncResult()
            gevent.spawn(self._attempt_now, attempt)
        # wait(), not get(timeout=): a gevent.Timeout of the caller's own must
        # reach the caller, not be taken for this wait's.
        attempt.wait(timeout)
        if not attempt.ready():
            raise IndexError(f"{self.name}: no connection connected within {timeout}s")
        attempt.get(block=False)  # raises the attempt's error, if it failed
        return self.get_least_loaded_connection()

    def _attempt_now(self, attempt: AsyncResult) -> None:
        errors: list[BaseException] = []

        def one(conn: Connection) -> None:
            try:
                conn.connect()
            except Exception as exc:
                self._counters.errors += 1
                errors.append(exc)

        try:
            targets = [c for c in self._connections if c.state == DISCONNECTED]
            gevent.joinall([gevent.spawn(one, c) for c in targets])
            # Connections a background reconnector is connecting: wait for them too.
            while not self._live and any(not c.live() and c.state != DISCONNECTED
                                         for c in self._connections):
                gevent.sleep(0.005)
            if self._live:
                attempt.set(True)
            elif errors:
                attempt.set_exception(errors[-1])
            else:
                attempt.set_exception(IndexError(f"{self.name}: no connection is connected"))
        except BaseException as exc:
            attempt.set_exception(exc)
            raise
        finally:
            if self._attempt is attempt:
                self._attempt = None

    def cleanup_broken_connections(self) -> None:
        """Close and remove every connection that is not connected (``pool_size`` unchanged)."""
        for conn in self.broken_connections:
            self._remove(conn, "cleanup of broken connections")

    def reconnect(self, only_broken_connections: bool = True) -> int:
        """(Re)connect the broken connections, or all of them; return how many are connected.

        Blocks until every attempt has finished.  With
        ``only_broken_connections=False`` connected ones are closed first
        (their pending requests fail with ConnectionError) and connected again.
        """
        targets = self.broken_connections if only_broken_connections else self.connections
        if not only_broken_connections:
            # Closed on purpose: not counted as lost.
            self._live = [c for c in self._live if not any(c is t for t in targets)]
            for conn in targets:
                conn.close("reconnect requested")
        self._connect_all(targets)
        return len(self.connected_connections)

    def extend_pool_by_size(self, size: int) -> None:
        """Add ``size`` new connections and connect them (concurrently)."""
        check_int("size", size, minimum=0)
        new = [self._new_connection() for _ in range(size)]
        self._connections.extend(new)
        self._pool_size = len(self._connections)
        self._connect_all(new)

    def extend_pool_by_connections(self, connections: Iterable[Connection]) -> None:
        """Add existing connections; those not connected are connected (concurrently)."""
        new = list(connections)
        for conn in new:
            if not isinstance(conn, Connection):
                raise ConfigurationError("connections", conn, "must be Connection objects")
            self._adopt(conn)
        self._connections.extend(new)
        self._pool_size = len(self._connections)
        self._connect_all([c for c in new if not c.live()])

    def reduce_pool_connections(
        self, amount: int, delete_pending_connections: bool = False
    ) -> None:
        """Remove up to ``amount`` connections: broken ones first, then idle ones.

        Connections with requests in flight are removed only with
        ``delete_pending_connections=True`` (those requests then fail with
        ConnectionError).  ``amount <= 0`` does nothing.  Afterwards
        ``pool_size`` is the number of connections left.
        """
        if not isinstance(amount, int) or amount <= 0:
            return
        left = amount
        for conn in self.broken_connections:
            if left == 0:
                break
            self._remove(conn, "pool reduced")
            left -= 1
        for conn in sorted(self.connected_connections, key=lambda c: c.pending):
            if left == 0:
                break
            if conn.pending and not delete_pending_connections:
                break
            self._remove(conn, "pool reduced")
            left -= 1
        self._pool_size = len(self._connections)

    def is_empty(self) -> bool:
        """True when the pool holds no connection."""
        return not self._connections

    def is_full(self) -> bool:
        """True when the pool holds ``pool_size`` connections."""
        return len(self._connections) >= self._pool_size

    def is_working(self) -> bool:
        """True when at least one connection is connected."""
        return bool(self._live)

    def close(self) -> None:
        """Close every connection and stop reconnecting.  Pending requests fail."""
        self._closed = True
        for glet in list(self._reconnectors.values()):
            glet.kill(block=False)
        self._reconnectors.clear()
        for conn in list(self._connections):
            conn.close("pool closed")
            self._retire(conn)
        self._connections.clear()
        self._live.clear()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def stats(self) -> dict[str, int]:
        """Counters since the pool was made (or the last :meth:`pop_stats`), and gauges.

        Gauges: ``pool_size`` (connections held, connected or not),
        ``connections`` (connected now), ``requests_pending`` (requests in
        flight on them).  Counters: ``requests_num`` (requests made on its
        connections, handshakes and health checks included),
        ``requests_errors`` and ``requests_timeouts`` (of those, the ones
        that ended without a reply, as each connection counts them; a
        connection's counts stay when it is removed), ``connections_num`` (connects that
        succeeded), ``connections_errors`` (connects that failed),
        ``connections_lost`` (connected connections that broke; not those
        the pool closed itself), ``reconnects`` (connects of a connection
        that had been connected before).  Never blocks; safe from another
        thread.
        """
        return self._stats(reset=False)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters start again from zero (psycopg_pool's semantics)."""
        return self._stats(reset=True)

    def _stats(self, reset: bool) -> dict[str, int]:
        conns = list(self._connections)
        num, errors, timeouts = self._retired
        for conn in conns:
            num += conn.requests_num
            errors += conn.requests_errors
            timeouts += conn.requests_timeouts
            if reset:
                conn.requests_num = conn.requests_errors = conn.requests_timeouts = 0
        if reset:
            self._retired = [0, 0, 0]
        return {
            "pool_size": len(conns),
            "connections": len(self._live),
            "requests_pending": sum(c.pending for c in conns),
            "requests_num": num,
            "requests_errors": errors,
            "requests_timeouts": timeouts,
            **self._counters.read(reset),
        }

    def __repr__(self) -> str:
        return (
            f"<MultiplexPool {self.name!r} size={self._pool_size} "
            f"connected={len(self._live)} pending={sum(c.pending for c in self._connections)}>"
        )

    # ------------------------------------------------------------------
    # Internals

    def _new_connection(self) -> Connection:
        conn = self._factory()
        if not isinstance(conn, Connection):
            raise ConfigurationError(
                "connection_factory", self._factory, f"returned a {type(conn).__name__}"
            )
        self._adopt(conn)
        return conn

    def _adopt(self, conn: Connection) -> None:
        conn.add_listener(on_open=self._on_open, on_close=self._on_close)
        if conn.live() and conn not in self._live:
            self._live.append(conn)

    def _on_open(self, conn: Connection) -> None:
        if self._closed or not any(c is conn for c in self._connections):
            return
        if not any(c is conn for c in self._live):
            self._live.append(conn)
            self._counters.opened(id(conn))

    def _on_close(self, conn: Connection, cause: BaseException | None) -> None:
        if not self._closed and any(c is conn for c in self._live):
            self._counters.lost += 1
        self._live = [c for c in self._live if c is not conn]
        if (
            self._reconnect_enabled
            and not self._closed
            and any(c is conn for c in self._connections)
            and id(conn) not in self._reconnectors
        ):
            log.info("%s: %s broke (%s); reconnecting in the background", self.name, conn, cause)
            glet = gevent.spawn(self._reconnect_loop, conn)
            glet.name = f"greenpool-reconnect-{conn.name}"
            self._reconnectors[id(conn)] = glet

    def _reconnect_loop(self, conn: Connection) -> None:
        backoff = Backoff(base=self._backoff_base, cap=self._backoff_cap).increment()
        me = gevent.getcurrent()
        try:
            while not self._closed and any(c is conn for c in self._connections):
                if conn.live() or self._reconnectors.get(id(conn)) is not me:
                    return  # connected, or a copy of the parent's greenlet after fork()
                gevent.sleep(backoff.delay())
                if self._closed or conn.live():
                    return
                try:
                    conn.connect()
                    log.info("%s: %s reconnected after %d attempt(s)", self.name, conn,
                             backoff.attempts)
                    return
                except Exception as exc:
                    self._counters.errors += 1
                    backoff = backoff.increment()
                    log.debug("%s: reconnecting %s failed: %r", self.name, conn, exc)
        finally:
            if self._reconnectors.get(id(conn)) is me:
                del self._reconnectors[id(conn)]

    def _connect_all(self, conns: list[Connection]) -> None:
        if self._hub is None:
            self._hub = get_hub()
        def one(conn: Connection) -> None:
            try:
                conn.connect()
            except Exception as exc:
                self._counters.errors += 1
                log.warning("%s: connecting %s failed: %r", self.name, conn, exc)
                self._on_close(conn, exc)

        if len(conns) == 1:
            one(conns[0])
        elif conns:
            gevent.joinall([gevent.spawn(one, c) for c in conns])

    def _retire(self, conn: Connection) -> None:
        # Keep a connection's request counts when it leaves: counters never go down.
        retired = self._retired
        retired[0] += conn.requests_num
        retired[1] += conn.requests_errors
        retired[2] += conn.requests_timeouts
        conn.requests_num = conn.requests_errors = conn.requests_timeouts = 0

    def _remove(self, conn: Connection, reason: str) -> None:
        self._retire(conn)
        self._connections = [c for c in self._connections if c is not conn]
        self._live = [c for c in self._live if c is not conn]
        self._counters.forget(id(conn))
        glet = self._reconnectors.pop(id(conn), None)
        if glet is not None:
            glet.kill(block=False)
        conn.close(reason)

    # ------------------------------------------------------------------
    # fork()

    def _forget_inherited(self) -> None:
        """In a child after fork(): nothing is connected; connect on first use.

        The connections have severed their inherited sockets themselves
        (:meth:`Connection._forget_inherited`).  The copies of the parent's
        reconnect greenlets see they are no longer the pool's and stop, so
        the child opens nothing until a caller asks (:meth:`wait_for_connection`).
        """
        self._live = []
        self._reconnectors = {}
        self._attempt = None
        self._hub = None  # the child's thread connects them anew

