"""A checkout pool for any DB-API 2 driver that is green under gevent.

:class:`DBAPIPool` is the checkout :class:`~greenpool.Pool` plus what a SQL
connection needs around a checkout:

* ``with pool.connection() as conn:`` commits on a clean exit and rolls
  back when an exception leaves the block; ``with pool.cursor() as cur:``
  does the same around a cursor.
* On return (however it is returned) a connection is *reset*: one in a
  transaction is rolled back; one in a failed or unknown state is closed;
  one the application closed is dropped.  A ``kill()``, ``gevent.Timeout``
  or KeyboardInterrupt inside the block closes the connection (its state is
  unknown) and frees its slot.
* ``pre_ping=True`` runs a round trip (``ping()`` where the driver has one,
  else ``SELECT 1``) before an idle connection is handed out.

The driver must be green: pure-Python drivers on ``socket`` (PyMySQL,
pg8000 ...) are, once ``gevent.monkey.patch_all()`` has run.  For
PostgreSQL through psycopg2 use :class:`greenpool.postgres.PostgresPool`,
which adds server-side cancel, liveness checks and several hosts.

How the transaction state is seen (no round trip): psycopg2 and psycopg
(``get_transaction_status`` / ``info.transaction_status``), PyMySQL (the
server's in-transaction flag), sqlite3 (``in_transaction``).  For any other
driver the state is unknown, so every returned connection is rolled back.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from time import monotonic
from types import FrameType
from typing import Any, TypeVar

from ._util import caller_frame, check_timeout
from .errors import (
    AllServersUnavailable,
    ConfigurationError,
    PoolError,
)
from .pool._entry import Entry
from .pool._retry import retry_backoff, wait_or_give_up
from .pool.checkout import Lease, Pool
from .pool.modes import PoolTopologyError

__all__ = ["DBAPIPool", "TransactionLease", "TxState", "command_in_progress", "transaction_state"]

log = logging.getLogger("greenpool.dbapi")

C = TypeVar("C")


class TxState(enum.Enum):
    """A connection's transaction state, as far as the driver tells without a round trip."""

    #: Open, no transaction in progress.
    IDLE = 1
    #: Open, inside a transaction (rolled back on return).
    IN_TRANSACTION = 2
    #: Inside a transaction that failed, or busy with a command (closed on return).
    FAILED = 3
    #: The driver can't say (rolled back on return when the driver is unknown).
    UNKNOWN = 4
    #: Closed (by the application, or broken).
    CLOSED = 5


class _ResetError(Exception):
    """Raised by the reset hook: the connection must be closed, not reused."""


# libpq's PGTransactionStatusType, shared by psycopg2 and psycopg.
_PQ_STATES = {
    0: TxState.IDLE,  # IDLE
    1: TxState.FAILED,  # ACTIVE: a command is still running
    2: TxState.IN_TRANSACTION,  # INTRANS
    3: TxState.FAILED,  # INERROR
    4: TxState.UNKNOWN,  # UNKNOWN: the connection is bad
}


def _psycopg2_state(conn: Any) -> TxState:
    if conn.closed:
        return TxState.CLOSED
    return _PQ_STATES.get(conn.get_transaction_status(), TxState.UNKNOWN)


def _psycopg_state(conn: Any) -> TxState:
    # libpq's status straight from the PGconn (an int): ``conn.info`` makes
    # a ConnectionInfo and an enum each time, ~0.7 µs of a ~35 µs green
    # query.  A closed or broken connection reports UNKNOWN.
    status = conn.pgconn.transaction_status
    if status == 4 and conn.closed:
        return TxState.CLOSED
    return _PQ_STATES.get(status, TxState.UNKNOWN)


def _pymysql_state(conn: Any) -> TxState:
    if not conn.open:
        return TxState.CLOSED
    return TxState.IN_TRANSACTION if conn.server_status & 1 else TxState.IDLE


def _sqlite3_state(conn: Any) -> TxState:
    try:
        return TxState.IN_TRANSACTION if conn.in_transaction else TxState.IDLE
    except Exception:
        return TxState.CLOSED


def _generic_state(conn: Any) -> TxState:
    closed = getattr(conn, "closed", None)
    if closed is not None and not callable(closed) and closed:
        return TxState.CLOSED
    opened = getattr(conn, "open", None)
    if opened is not None and not callable(opened) and not opened:
        return TxState.CLOSED
    return TxState.UNKNOWN


_INSPECTORS: dict[str, Callable[[Any], TxState]] = {
    "psycopg2": _psycopg2_state,
    "psycopg": _psycopg_state,
    "pymysql": _pymysql_state,
    "sqlite3": _sqlite3_state,
}
_by_type: dict[type, Callable[[Any], TxState]] = {}


def _inspector(conn: Any) -> Callable[[Any], TxState]:
    kind = type(conn)
    found = _by_type.get(kind)
    if found is None:
        package = kind.__module__.split(".", 1)[0]
        found = _INSPECTORS.get(package, _generic_state)
        _by_type[kind] = found
    return found


def transaction_state(conn: Any) -> TxState:
    """The transaction state of a DB-API connection, without a round trip.

    Known drivers: psycopg2, psycopg, PyMySQL, sqlite3; any other gives
    :attr:`TxState.UNKNOWN` (or :attr:`TxState.CLOSED` when it has a true
    ``closed`` or false ``open`` attribute).  Never raises, never blocks.
    """
    try:
        inspect = _by_type.get(type(conn))  # the hot path: a type seen before
        if inspect is None:
            inspect = _inspector(conn)
        return inspect(conn)
    except Exception:
        return TxState.UNKNOWN


def command_in_progress(conn: Any) -> bool:
    """True when a command is running on ``conn`` now: a greenlet is in a query on it.

    Known for psycopg2 and psycopg 3 (libpq's ``PQTRANS_ACTIVE``, read
    without the driver's lock); False for any other driver, which can't
    tell.  Such a connection must not be closed by another greenlet:
    psycopg2 holds the connection's lock (an OS mutex) for the whole of a
    green query, so the ``close()`` would wait on it for ever, and with it
    the whole thread; psycopg 3 would close the socket under the querying
    greenlet's wait.  Never raises, never blocks.
    """
    try:
        inspect = _by_type.get(type(conn)) or _inspector(conn)
        if inspect is _psycopg2_state:
            return not conn.closed and conn.get_transaction_status() == 1
        if inspect is _psycopg_state:
            return bool(conn.pgconn.transaction_status == 1)
    except Exception:
        pass
    return False


class TransactionLease(Lease[Any]):
    """``with pool.connection() as conn:`` for a DB-API pool.

    Enter: check out (blocks like :meth:`~greenpool.Pool.get`).  Clean exit:
    ``commit()`` (skipped when the connection is known to be outside a
    transaction), then return; when the connection was closed in the block
    by an interrupted query (a driver pool that can tell: see
    ``_aborted``), the error saying its transaction was rolled back is
    raised, so writes are never lost in silence.  An ``Exception`` leaving the block:
    ``rollback()``, then return; the exception goes on.  Any other
    BaseException: the connection is closed, its slot freed.  A nested
    checkout in the same greenlet (``use_local``) shares the outer
    transaction: only the outermost block commits or rolls back.
    """

    # Entering is the checkout pool's own Lease.__enter__ (one call fewer per
    # checkout than a hook of this module's); only the exit differs.
    __slots__ = ()
    _pool: DBAPIPool[Any]

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            self._pool._finish(entry, exc)


class DBAPIPool(Pool[C]):
    """A checkout pool of DB-API 2 connections, with transaction handling on return.

    ``connect()`` makes one connection (called with the server's
    :class:`~greenpool.Address` when ``servers`` is given); it must be green
    (a pure-Python driver under ``gevent.monkey.patch_all()``).

    Extra parameters:

    * ``pre_ping``: before an idle connection is handed out, a round trip
      (the driver's ``ping()`` where it has one, else ``SELECT 1``); a failing
      connection is replaced.
    * ``configure(conn)``: called once on each new connection.
    * ``check(conn)``: an extra validation of idle connections (after
      ``pre_ping``); false or an exception replaces the connection.
    * ``reset(conn)``: an extra clean-up on return, after the rollback.

    Every other keyword is a :class:`~greenpool.Pool` parameter;
    ``use_local`` defaults to False here (two checkouts in one greenlet get
    two connections).  Bad
    arguments raise :class:`~greenpool.ConfigurationError`.
    """

    def __init__(
        self,
        connect: Callable[..., C],
        *,
        pre_ping: bool = False,
        configure: Callable[[C], Any] | None = None,
        check: Callable[[C], Any] | None = None,
        reset: Callable[[C], Any] | None = None,
        **pool_kwargs: Any,
    ) -> None:
        if not callable(connect):
            raise ConfigurationError("connect", connect, "must be a callable making a connection")
        if not isinstance(pre_ping, bool):
            raise ConfigurationError("pre_ping", pre_ping, "must be True or False")
        for arg, fn in (("configure", configure), ("check", check), ("reset", reset)):
            if fn is not None and not callable(fn):
                raise ConfigurationError(arg, fn, "must be callable or None")
        for arg in ("close",):
            if arg in pool_kwargs:
                raise ConfigurationError(arg, pool_kwargs[arg], "is not accepted by DBAPIPool")
        self._pre_ping = pre_ping
        self._configure = configure
        self._user_check = check
        self._user_reset = reset
        self._raw_connect = connect
        pool_kwargs.setdefault("use_local", False)
        needs_check = pre_ping or check is not None or self._has_liveness()
        super().__init__(
            self._connect_configured,
            check=self._check_connection if needs_check else None,
            reset=self._reset_connection,
            **pool_kwargs,
        )

    # ------------------------------------------------------------------ public

    def connection(self, timeout: float | None = None) -> TransactionLease:
        """Check out a connection for a ``with`` block; see :class:`TransactionLease`.

        ``timeout`` as for :meth:`~greenpool.Pool.get`.  Raises what
        :meth:`~greenpool.Pool.get` raises; the block's commit raises what the
        driver's ``commit()`` raises.
        """
        if timeout is not None:
            check_timeout("timeout", timeout)
        return TransactionLease(self, timeout)

    def cursor(
        self, timeout: float | None = None, **cursor_kwargs: Any
    ) -> AbstractContextManager[Any]:
        """``with pool.cursor() as cur:``: a connection's cursor, with the transaction rules
        of :meth:`connection`.  The cursor is closed on exit.  Keywords go to ``conn.cursor()``.
        """
        return cursor_on(self.connection(timeout), cursor_kwargs)

    def execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(conn, *args, **kwargs)`` in a transaction; commit and return its result.

        An exception from ``fn`` rolls back and propagates, except one that
        broke the connection (the server went away): then idle connections
        made before the failure are dropped and ``fn`` runs again on another
        connection, after an exponential back-off with full jitter (0.01 s
        doubling, at most 1 s), up to ``max_retries`` times within
        ``retry_timeout``; a failed connect is retried the same way.  Then
        :class:`~greenpool.MaximumRetryException` is raised, chaining the last
        error.  Only pass functions that are safe to run twice, such as reads.
        Blocks like :meth:`~greenpool.Pool.get` and while ``fn`` runs.
        """
        return run_with_retries(
            lambda: self, fn, args, kwargs, self.options.max_retries, self.options.retry_timeout,
            self.name,
            caller_frame(),
        )

    # ------------------------------------------------------------------ hooks

    def _lend(self, timeout: Any, frame: FrameType | None) -> Entry:
        """Check out for :func:`run_with_retries`."""
        return self._checkout(timeout, frame)

    def _has_liveness(self) -> bool:
        """Subclasses with a round-trip-free liveness check return True."""
        return False

    def _connect_configured(self, *args: Any) -> C:
        conn = self._raw_connect(*args)
        if self._configure is not None:
            try:
                self._configure(conn)
            except BaseException:
                self._close_quietly(conn)
                raise
        return conn

    @staticmethod
    def _close_quietly(conn: Any) -> None:
        try:
            conn.close()
        except Exception:
            pass

    def _in_query(self, conn: C) -> bool:
        return command_in_progress(conn)

    def _alive(self, conn: C) -> bool:
        """Round-trip-free liveness; subclasses refine it."""
        return transaction_state(conn) is not TxState.CLOSED

    def _ping(self, conn: C) -> None:
        """One round trip; raises if the connection is broken."""
        ping = getattr(conn, "ping", None)
        if ping is not None and type(conn).__module__.startswith("pymysql"):
            ping(reconnect=False)
            return
        cur: Any = conn.cursor()  # type: ignore[attr-defined]
        try:
            cur.execute("SELECT 1")
            cur.fetchall()
        finally:
            cur.close()
        if transaction_state(conn) is TxState.IN_TRANSACTION:
            conn.rollback()  # type: ignore[attr-defined]

    def _check_connection(self, conn: C) -> bool:
        if not self._alive(conn):
            return False
        if self._pre_ping:
            try:
                self._ping(conn)
            except Exception as exc:
                log.debug("pool %s: pre-ping failed: %r", self.name, exc)
                self._ping_failed(conn, exc)
                return False
        if self._user_check is not None:
            return bool(self._user_check(conn))
        return True

    def _ping_failed(self, conn: C, exc: BaseException) -> None:
        """A pre-ping failed, so the server may be gone: drop older idle connections.

        Only without ``servers``: with a list, which server ``conn`` belongs to
        is not known here.
        """
        if not self._servers.with_address:
            self._invalidate(self._servers.first())

    def _reset_connection(self, conn: C) -> None:
        state = transaction_state(conn)
        if state is TxState.CLOSED:
            raise _ResetError("the connection was closed")
        if state is TxState.FAILED:
            raise _ResetError("the connection is in a failed or busy transaction")
        if state is TxState.UNKNOWN and _inspector(conn) is not _generic_state:
            raise _ResetError("the connection's state is unknown")
        if state is not TxState.IDLE:
            conn.rollback()  # type: ignore[attr-defined]
        if self._user_reset is not None:
            self._user_reset(conn)

    def _broken(self, conn: C, exc: BaseException) -> bool:
        """Did ``exc`` (an Exception from the application's block) break the connection?"""
        return transaction_state(conn) is TxState.CLOSED

    def _aborted(self, conn: C) -> Exception | None:
        """On a clean exit from a block whose connection is closed: the error to
        raise when the closing rolled a transaction back, else None (the
        application closed it).  A generic driver can't tell: None."""
        return None

    def _server_failed(self, entry: Entry, exc: BaseException) -> None:
        """A connection broke: drop idle connections to its server made before now."""
        self._invalidate(entry.server)

    # ------------------------------------------------------------------ returns

    def _checkin_after_error(
        self, entry: Entry, exc: BaseException, broken: bool = False
    ) -> None:
        if not broken and isinstance(exc, Exception) and self._broken(entry.conn, exc):
            super()._checkin_after_error(entry, exc, broken=True)
            self._server_failed(entry, exc)
            return
        super()._checkin_after_error(entry, exc, broken)

    def _finish(self, entry: Entry, exc: BaseException | None) -> None:
        """End a ``with`` block: commit or roll back, then give the connection back."""
        conn: Any = entry.conn
        if entry.depth > 1:  # nested: the outer block owns the transaction
            if exc is None:
                self._checkin(entry)
            else:
                self._checkin_after_error(entry, exc)
            return
        if exc is None:
            state = transaction_state(conn)
            if state is TxState.IDLE:
                # Seen clean just now (autocommit, or nothing done): the reset
                # would find nothing to roll back, so only a user hook runs.
                self._checkin(entry, self._user_reset is not None)  # reset: positional, cheaper
                return
            try:
                if state is not TxState.CLOSED:
                    conn.commit()
                else:
                    # Closed in the block: by the application (nothing to
                    # say), or by an interrupted query (a gevent.Timeout the
                    # block caught), which rolled its transaction back: that
                    # is raised, or the writes before it would be lost in silence.
                    aborted = self._aborted(conn)
                    if aborted is not None:
                        raise aborted
            except BaseException as err:
                self._checkin_after_error(entry, err)
                raise
            self._checkin(entry)
            return
        if isinstance(exc, Exception) and transaction_state(conn) is not TxState.CLOSED:
            try:
                if transaction_state(conn) is not TxState.IDLE:
                    conn.rollback()
            except Exception as err:
                log.debug("pool %s: rollback after %r failed: %r", self.name, exc, err)
                self._checkin_after_error(entry, err)
                return
            except BaseException as err:
                self._checkin_after_error(entry, err)
                raise
        self._checkin_after_error(entry, exc)


@contextmanager
def cursor_on(lease: TransactionLease, cursor_kwargs: dict[str, Any]) -> Iterator[Any]:
    """A cursor on the connection ``lease`` checks out; closed on exit, after which
    the lease's transaction rules apply (commit, roll back, or close)."""
    with lease as conn:
        cur = conn.cursor(**cursor_kwargs)
        try:
            yield cur
        finally:
            try:
                cur.close()
            except Exception:
                pass


def _retryable_checkout_error(exc: BaseException) -> bool:
    """A checkout error that says the server can't be reached now (nothing ran)."""
    if isinstance(exc, (AllServersUnavailable, PoolTopologyError)):
        return True
    return isinstance(exc, Exception) and not isinstance(exc, PoolError)


def run_with_retries(
    pick: Callable[[], DBAPIPool[Any]],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    max_retries: int,
    retry_timeout: float | None,
    name: str,
    frame: Any,
) -> Any:
    """The loop behind :meth:`DBAPIPool.execute`; ``pick()`` chooses the pool for each try."""
    backoff = retry_backoff(max_retries, retry_timeout, monotonic())
    while True:
        error: BaseException
        try:
            pool = pick()
            entry = pool._lend(None, frame)
        except Exception as exc:
            if not _retryable_checkout_error(exc):
                raise
            error = exc
        else:
            nested = entry.depth > 1
            try:
                result = fn(entry.conn, *args, **kwargs)
            except BaseException as exc:
                broken = isinstance(exc, Exception) and pool._broken(entry.conn, exc)
                pool._finish(entry, exc)
                if not broken or nested:
                    raise
                error = exc
            else:
                try:
                    pool._finish(entry, None)  # the commit, then the return
                except Exception as exc:
                    # The server went away between fn and its commit: the
                    # connection is already given back (closed); run fn again.
                    if nested or not pool._broken(entry.conn, exc):
                        raise
                    error = exc
                else:
                    return result
        backoff = wait_or_give_up(backoff, error, name=name, retry_timeout=retry_timeout)
