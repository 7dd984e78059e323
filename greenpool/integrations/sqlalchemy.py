"""SQLAlchemy on greenpool: ``create_engine(url, poolclass=GreenQueuePool)``.

:class:`GreenQueuePool` is a SQLAlchemy pool (it keeps SQLAlchemy's pool
interface: events, ``pre_ping``, ``recycle``, ``reset_on_return``,
invalidation, ``status()``) whose checkout is greenpool's: waiting callers
are served first in, first out by direct hand-off (no barging, so no
starvation under load), the limit of ``pool_size + max_overflow`` can't be
overshot, a ``gevent.Timeout`` or ``kill()`` during checkout loses no slot,
and a connection whose greenlet died without returning it is reclaimed.

What the greenpool pool holds are SQLAlchemy's connection records, so
SQLAlchemy still manages each DB-API connection (reconnecting an
invalidated record lazily, recycling, resetting on return).  With the
psycopg2 dialect (``postgresql+psycopg2://``) or psycopg 3's
(``postgresql+psycopg://``, sync engines), the driver is made green by
:func:`greenpool.postgres.ensure_green`, which also cancels a query on the
server when its greenlet is killed or times out.

One line in an application::

    engine = create_engine(url, poolclass=GreenQueuePool, pool_size=10, max_overflow=10)
"""

from __future__ import annotations

from typing import Any

from gevent.lock import Semaphore
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import Pool as SAPool
from sqlalchemy.pool.base import ConnectionPoolEntry

from ..dbapi import command_in_progress
from ..errors import InvalidRequestError, NoConnectionAvailable, TooManyRequests
from ..pool.checkout import Pool

__all__ = ["GreenQueuePool"]

_UNBOUNDED_IDLE = 2**31 - 1


def _close_record(record: ConnectionPoolEntry) -> None:
    record.close()


class _RecordPool(Pool[ConnectionPoolEntry]):
    """greenpool's checkout over SQLAlchemy's connection records."""

    def _in_query(self, conn: ConnectionPoolEntry) -> bool:
        dbapi_conn = conn.dbapi_connection
        return dbapi_conn is not None and command_in_progress(dbapi_conn)


class GreenQueuePool(SAPool):
    """A SQLAlchemy pool whose checkout is greenpool's FIFO, kill-safe checkout.

    Parameters as for SQLAlchemy's ``QueuePool`` (``create_engine`` passes
    ``pool_size``, ``max_overflow``, ``pool_timeout`` as ``timeout``,
    ``pool_use_lifo`` as ``use_lifo``; the rest go to SQLAlchemy's
    ``Pool``): at most ``pool_size + max_overflow`` connections
    (``max_overflow=-1``: no limit; ``pool_size=0``: no limit and no idle
    cap), at most ``pool_size`` kept idle.  A checkout blocks up to
    ``timeout`` seconds, then raises ``sqlalchemy.exc.TimeoutError``.  Idle
    connections are reused most recent first, whatever ``use_lifo`` says (the
    others can then age out).

    greenpool's own extras: ``max_waiting`` (a checkout that would queue
    behind that many waiters raises ``sqlalchemy.exc.TimeoutError`` at once)
    and ``leak_timeout`` (log the stack of a holder that keeps a connection
    that long).
    """

    def __init__(
        self,
        creator: Any,
        pool_size: int = 5,
        max_overflow: int = 10,
        timeout: float = 30.0,
        use_lifo: bool = False,
        max_waiting: int | None = None,
        leak_timeout: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(creator, **kw)
        self._size = pool_size
        self._max_overflow = max_overflow
        self._timeout = timeout
        self._use_lifo = use_lifo
        self._max_waiting = max_waiting
        self._leak_timeout = leak_timeout
        unlimited = pool_size == 0
        # SQLAlchemy runs its first-connect hook (dialect initialisation, with
        # queries) under a threading lock: without monkey patching, a second
        # greenlet connecting meanwhile would block the whole thread on it.
        # Until one connect has succeeded, connects wait in line on a gevent lock.
        self._first_lock = Semaphore()
        self._first_done = False
        self._green: Pool[ConnectionPoolEntry] = _RecordPool(
            self._connect_record,
            pool_size=_UNBOUNDED_IDLE if unlimited else pool_size,
            max_overflow=-1 if unlimited else max_overflow,
            pool_timeout=timeout,
            prefill=False,
            recycle=None,  # SQLAlchemy's record recycles by itself
            use_local=False,
            max_retries=0,
            max_waiting=max_waiting,
            leak_timeout=leak_timeout,
            close=_close_record,
            name=self._orig_logging_name or f"sqlalchemy-{id(self):x}",
        )
        driver = getattr(kw.get("dialect"), "driver", None)
        if driver in ("psycopg2", "psycopg"):
            from ..postgres import ensure_green

            ensure_green(driver)

    def _connect_record(self) -> ConnectionPoolEntry:
        if self._first_done:
            return self._create_connection()
        with self._first_lock:
            record = self._create_connection()
            self._first_done = True
            return record

    # ------------------------------------------------------------------ SQLAlchemy's hooks

    def _do_get(self) -> ConnectionPoolEntry:
        try:
            return self._green.get()
        except (NoConnectionAvailable, TooManyRequests) as err:
            raise sa_exc.TimeoutError(
                f"GreenQueuePool limit of size {self._size} overflow {self._max_overflow} "
                f"reached, connection timed out, timeout {self._timeout:0.2f} ({err})",
                code="3o7r",
            ) from None

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            self._green.put(record)
        except InvalidRequestError:
            # Already taken back (its greenlet died, and the housekeeping
            # reclaimed and closed it) or inherited across fork(): nothing to do.
            pass

    def recreate(self) -> GreenQueuePool:
        self.logger.info("Pool recreating")
        return self.__class__(
            self._creator,
            pool_size=self._size,
            max_overflow=self._max_overflow,
            timeout=self._timeout,
            use_lifo=self._use_lifo,
            max_waiting=self._max_waiting,
            leak_timeout=self._leak_timeout,
            pre_ping=self._pre_ping,
            recycle=self._recycle,
            echo=self.echo,
            logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return,
            _dispatch=self.dispatch,
            dialect=self._dialect,
        )

    def dispose(self) -> None:
        """Close every idle connection; checked-out ones are left alone."""
        self._green.dispose()
        self.logger.info("Pool disposed. %s", self.status())

    def status(self) -> str:
        return (
            f"GreenQueuePool size: {self.size()}  Connections in pool: {self.checkedin()} "
            f"Current Overflow: {self.overflow()} Current Checked out connections: "
            f"{self.checkedout()} Waiting: {self._green.waiting()}"
        )

    # ------------------------------------------------------------------ greenpool's stats

    @property
    def name(self) -> str:
        """The pool's name in metrics: the engine's ``pool_logging_name``, else
        ``sqlalchemy-<id>``."""
        return self._green.name

    def stats(self) -> dict[str, Any]:
        """greenpool's checkout figures (:meth:`greenpool.Pool.stats`), for
        :mod:`greenpool.integrations.prometheus`: ``register(engine.pool)``.
        Never blocks; safe from another thread."""
        return self._green.stats()

    def pop_stats(self) -> dict[str, Any]:
        """:meth:`stats`, then the counters start again from zero."""
        return self._green.pop_stats()

    # ------------------------------------------------------------------ QueuePool's gauges

    def size(self) -> int:
        """``pool_size``."""
        return self._size

    def timeout(self) -> float:
        """The checkout timeout, in seconds."""
        return self._timeout

    def checkedin(self) -> int:
        """Idle connections."""
        return self._green.checkedin()

    def checkedout(self) -> int:
        """Checked-out connections."""
        return self._green.checkedout()

    def overflow(self) -> int:
        """Connections beyond ``pool_size`` (negative while fewer than ``pool_size`` exist,
        as QueuePool reports it)."""
        if self._size == 0:
            return 0
        return int(self._green.stats()["connections"]) - self._size

    @property
    def greenpool(self) -> Pool[ConnectionPoolEntry]:
        """The greenpool :class:`~greenpool.Pool` underneath (for ``stats()`` and listeners)."""
        return self._green

