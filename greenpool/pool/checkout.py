"""The checkout pool: exclusive leases of connections, for greenlets.

One greenlet at a time owns a checked-out connection.  This is the pool for
work that can't share a connection: transactions, blocking commands,
pub/sub, and drivers like psycopg2 whose connections are not safe to share.

How it works, in one paragraph: idle connections sit on a stack (the most
recently returned is reused first, so the rest can age out with
``max_idle``).  A caller takes an idle connection, or reserves a *slot* and
makes a new connection, or, when ``pool_size + max_overflow`` slots are
taken, waits in a FIFO queue.  A returned connection goes straight to the
longest waiter (direct hand-off, see :mod:`greenpool.pool._handoff`); a slot
freed by a closed connection is handed over the same way, and the waiter
makes a new connection in it.  Nothing is ever put where another greenlet
could grab it first, so waiting is strictly first in, first out.

There are no locks: every change of state happens between two yields to the
hub, and every yield point (connecting, ``check``, ``reset``, closing,
listeners, waiting) is guarded so that a BaseException arriving there leaves
the books balanced.
"""

from __future__ import annotations

import heapq
import logging
import random
import sys
import traceback
import weakref
from collections.abc import Callable, Iterable
from operator import attrgetter
from time import monotonic
from types import FrameType
from typing import Any, Generic, TypeVar

import gevent
from greenlet import getcurrent

from .._fork import fd_of, register, sever
from .._stats import zero
from .._threads import thread_ident, wrong_thread
from .._util import caller_frame, check_timeout
from ..address import Address
from ..errors import (
    AllServersUnavailable,
    ConfigurationError,
    InvalidRequestError,
    NoConnectionAvailable,
    PoolClosed,
    TooManyRequests,
)
from ..errors import ConnectionError as _GreenConnectionError
from ._entry import Entry
from ._handoff import HandoffQueue, WaitTimeout
from ._options import DEFAULT_RETRY_EXCEPTIONS, PoolOptions
from ._retry import retry_backoff, wait_or_give_up
from ._servers import Server, ServerList
from .listeners import ListenerSet

__all__ = ["DEFAULT_RETRY_EXCEPTIONS", "Lease", "Pool"]

log = logging.getLogger("greenpool.pool")

C = TypeVar("C")

# The attributes behind stats()' counters, reset by pop_stats().
_COUNTERS = (
    "_requests_num", "_requests_queued", "_requests_wait", "_requests_timeouts",
    "_requests_errors", "_usage", "_connections_num", "_connections_time",
    "_connections_errors", "_connections_lost", "_returns_bad",
)

_INF = float("inf")
_UNLIMITED = sys.maxsize
_NOT_GIVEN: Any = object()


class _Permit:
    """Handed to a waiter instead of a connection: 'a slot is yours, connect'."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<permit>"


_PERMIT = _Permit()

# Connections inherited across os.fork() are parked here for the life of the
# child process: dropping them could run finalisers that write to a socket
# the parent still uses.
_ABANDONED: list[Any] = []


class Lease(Generic[C]):
    """The context manager returned by :meth:`Pool.connection`."""

    __slots__ = ("_entry", "_pool", "_timeout")

    def __init__(self, pool: Pool[C], timeout: Any) -> None:
        self._pool = pool
        self._timeout = timeout
        self._entry: Entry | None = None

    def __enter__(self) -> C:
        entry = self._pool._checkout(self._timeout, caller_frame())
        self._entry = entry
        conn: C = entry.conn
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        entry, self._entry = self._entry, None
        if entry is None:
            return
        if exc_type is None:
            self._pool._checkin(entry)
        else:
            self._pool._checkin_after_error(entry, exc)


class Pool(Generic[C]):
    """A pool of connections that greenlets check out one at a time.

    ``connect`` makes one new connection.  It is called with the chosen
    server's :class:`~greenpool.Address` when ``servers`` is given, and with
    no argument otherwise.  It may block (it runs in the calling greenlet).

    Size: at most ``pool_size + max_overflow`` connections exist
    (``max_overflow=-1``: no limit) and at most ``pool_size`` are kept idle;
    a connection returned beyond that is closed.

    Checkout: :meth:`connection` (a context manager), :meth:`get` /
    :meth:`put` and :meth:`execute`.  A full pool makes the caller wait, first
    in first out, up to ``pool_timeout`` seconds (``0``: fail at once;
    ``None`` or ``-1``: wait forever), then raises
    :class:`~greenpool.NoConnectionAvailable`.  An enclosing
    ``gevent.Timeout`` is honoured.  With ``max_waiting`` set, a caller that
    would be queued behind that many others gets
    :class:`~greenpool.TooManyRequests` at once.

    Other parameters:

    * ``servers``: a list of ``"host:port"``, ``"[v6]:port"``, ``(host, port)``
      or unix socket paths, or a callable returning one.  Shuffled once, then
      used round robin.  A failed connect moves on to the next server;
      :class:`~greenpool.AllServersUnavailable` when none accepts.
    * ``prefill``: keep ``pool_size`` connections open once the pool is in
      use.  Nothing is opened here: the first connection a process makes
      (its first checkout) starts one background greenlet that opens the
      rest, one at a time, handing each to a waiter or keeping it idle; a
      failure there is logged and ends the fill.  A pool made before a
      ``fork()`` (gunicorn ``--preload``, Celery prefork) therefore opens
      nothing in the parent, and each child fills its own on first use.
      :meth:`fill` opens them at once, raising connect errors.
    * ``recycle``: replace a connection after that many checkouts (None: never).
    * ``max_lifetime``: replace a connection that old (seconds, minus up to
      5 % jitter so they don't all expire together); checked at checkout, at
      return and by the housekeeping greenlet.
    * ``max_idle``: close a connection idle that long.
    * ``use_local``: nested checkouts in one greenlet get the same connection,
      given back at the outermost return.
    * ``max_retries``: how often :meth:`execute` retries an operation that
      failed with one of ``retry_exceptions`` (``0``: never, ``-1``: no limit).
    * ``retry_timeout``: the most time :meth:`execute` spends, retries and
      back-off included (None: bounded by ``max_retries`` only).
    * ``check(conn)``: validates an idle connection before it is handed out;
      a false result or an exception closes it and another is tried.
    * ``reset(conn)``: cleans a connection on return; an exception closes it.
    * ``close(conn)``: how to close a connection (default ``conn.close()``).
    * ``leak_timeout``: log a warning, with the checkout stack, for a holder
      that has kept a connection that long (it is never taken away).
    * ``name``: shown in logs, errors and listener events.
    * ``listeners``: objects or dicts with pycassa's hooks
      (see :mod:`greenpool.pool.listeners`).

    Bad arguments raise :class:`~greenpool.ConfigurationError`.

    **For subclasses** (:class:`~greenpool.dbapi.DBAPIPool`, PostgresPool's
    per-server pools): these are the seams, and the only ones.

    * Records a subclass may read, never write: :attr:`options` (a
      :class:`~greenpool.pool._options.PoolOptions`), ``self._servers`` (a
      :class:`~greenpool.pool._servers.ServerList`), and the
      :class:`~greenpool.pool._entry.Entry` records the hooks pass.
    * Methods it may call on ``self``: ``_checkout(timeout, frame) -> Entry``
      (blocks like :meth:`get`), ``_checkin(entry, reset=True)``,
      ``_checkin_after_error(entry, exc, broken=False)`` (``broken``: the
      caller saw the connection break: close it, count it lost) and
      ``_invalidate(server)`` (drop the connections to ``server`` made before
      now).
    * Hooks it may override, calling ``super()``: ``_checkin_after_error``
      (decide what an error means for the connection) and
      ``_connection_failed(server, exc)`` (a connect to ``server`` failed;
      runs in the connecting greenlet, must not block).
    * A hook it may override: ``_in_query(conn)``, True when a command is
      running on ``conn`` now (the pool's own default: never).  A
      connection whose holder died is not reclaimed while it is: another
      greenlet, handed the connection, is in a query on it, and a close
      from here would come under that query.  Must not block.

    Everything else with a leading underscore is the pool's own; the books
    it keeps balanced at every yield are not a subclass's to touch.
    """

    def __init__(
        self,
        connect: Callable[..., C],
        *,
        servers: Any = None,
        pool_size: int = 5,
        max_overflow: int = 0,
        pool_timeout: float | None = 30.0,
        prefill: bool = True,
        recycle: int | None = 10000,
        max_lifetime: float | None = None,
        max_idle: float | None = None,
        use_local: bool = True,
        max_retries: int = 5,
        max_waiting: int | None = None,
        check: Callable[[C], Any] | None = None,
        reset: Callable[[C], Any] | None = None,
        close: Callable[[C], Any] | None = None,
        name: str | None = None,
        listeners: Iterable[Any] = (),
        leak_timeout: float | None = None,
        retry_exceptions: Iterable[type[BaseException]] = DEFAULT_RETRY_EXCEPTIONS,
        retry_timeout: float | None = None,
        housekeeping_interval: float = 1.0,
    ) -> None:
        if not callable(connect):
            raise ConfigurationError("connect", connect, "must be a callable making a connection")
        self._connect = connect
        options = PoolOptions(
            pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout,
            prefill=prefill, recycle=recycle, max_lifetime=max_lifetime, max_idle=max_idle,
            use_local=use_local, max_retries=max_retries, max_waiting=max_waiting, name=name,
            listeners=listeners, leak_timeout=leak_timeout, retry_exceptions=retry_exceptions,
            retry_timeout=retry_timeout, housekeeping_interval=housekeeping_interval,
        )
        for arg, fn in (("check", check), ("reset", reset), ("close", close)):
            if fn is not None and not callable(fn):
                raise ConfigurationError(arg, fn, "must be callable or None")
        self._options = options
        # The options read on the hot paths, as attributes of their own.
        self._pool_size = options.pool_size
        self._max_overflow = options.max_overflow
        most = options.max_connections
        self._max = _UNLIMITED if most is None else most
        self._pool_timeout = options.pool_timeout
        self._prefill = options.prefill
        # Armed: the next connection made in this process starts the fill.
        self._fill_armed = self._prefill
        self._recycle = options.recycle
        self._recycle_at = self._recycle if self._recycle is not None else _UNLIMITED
        self._max_lifetime = options.max_lifetime
        self._max_idle = options.max_idle
        self._use_local = options.use_local
        self._max_retries = options.max_retries
        self._max_waiting = options.max_waiting
        self._check = check
        self._reset = reset
        self._close_fn = close
        self.name: str = options.name if options.name is not None else f"pool-{id(self):x}"
        self._leak_timeout = options.leak_timeout
        self._retry_exceptions = tuple(options.retry_exceptions)
        self._retry_timeout = options.retry_timeout
        self._housekeeping_interval = options.housekeeping_interval

        self._listeners = ListenerSet(self.name)
        for listener in options.listeners:
            self._listeners.add(listener)

        # State.
        self._idle: list[Entry] = []
        self._out: dict[int, Entry] = {}
        self._local: dict[Any, Entry] = {}
        self._total = 0  # connections that exist, plus slots reserved for ones being made
        self._waiters = HandoffQueue(self._pass_on)
        self._closed = False
        self._generation = 0
        # The OS thread of the first checkout: the only one that may check out
        # (see greenpool._threads); None until then, and again after fork().
        self._thread: int | None = None
        self._forgotten: set[int] = set()
        # Every open connection's entry, wherever it is (idle, out, being
        # handed over, being reset): what a fork() must sever.
        self._entries: dict[int, Entry] = {}
        self._housekeeper: Any = None
        self._last_reclaim = 0.0

        # Counters (see stats()).
        self._requests_num = 0
        self._requests_queued = 0
        self._requests_wait = 0.0
        self._requests_timeouts = 0
        self._requests_errors = 0
        self._usage = 0.0
        self._connections_num = 0
        self._connections_time = 0.0
        self._connections_errors = 0
        self._connections_lost = 0
        self._returns_bad = 0

        self._servers = ServerList()
        if servers is not None:
            self.set_server_list(servers)

        register(self)
        # Nothing runs and nothing connects until first use: the housekeeping
        # greenlet starts at the first checkout (_acquire) or fill().

    # ------------------------------------------------------------------
    # Public API

    def connection(self, timeout: float | None = None) -> Lease[C]:
        """Check out a connection for a ``with`` block: ``with pool.connection() as conn:``.

        ``timeout`` overrides ``pool_timeout`` for this checkout (``None``:
        the pool's; ``-1``: forever; ``0``: don't wait).  On a clean exit the
        connection goes back (after ``reset``).  An ``Exception`` from
        ``retry_exceptions`` closes it; another ``Exception`` returns it after
        ``reset``.  Any other BaseException (``kill()``, ``gevent.Timeout``,
        KeyboardInterrupt) closes it, because its state is unknown.  Raises what
        :meth:`get` raises.
        """
        if timeout is not None:
            check_timeout("timeout", timeout)
        return Lease(self, timeout)

    def get(self, timeout: float | None = None) -> C:
        """Check out a connection; give it back with :meth:`put`.

        Blocks up to ``timeout`` (``None``: the pool's ``pool_timeout``;
        ``-1``: forever; ``0``: don't wait) when every connection is in use.
        Raises :class:`~greenpool.NoConnectionAvailable` on timeout,
        :class:`~greenpool.TooManyRequests` when ``max_waiting`` callers
        already wait, :class:`~greenpool.PoolClosed` after :meth:`close`, and
        :class:`~greenpool.AllServersUnavailable` (or, without ``servers``,
        the error of ``connect``) when a new connection can't be made, and
        :class:`~greenpool.WrongThreadError` in another OS thread than the
        one of the pool's first checkout.
        """
        if timeout is not None:
            check_timeout("timeout", timeout)
        conn: C = self._checkout(timeout, caller_frame()).conn
        return conn

    def lent(self, conn: Any) -> bool:
        """True when ``conn`` is checked out from this pool now.  Never blocks."""
        entry = self._out.get(id(conn))
        return entry is not None and entry.conn is conn

    def put(self, conn: C) -> None:
        """Give back a connection from :meth:`get`.

        With ``use_local``, a nested checkout's connection goes back only at
        the outermost ``put``.  Raises :class:`~greenpool.InvalidRequestError`
        for a connection this pool did not hand out or that was already
        returned.  May block while ``reset`` runs.
        """
        entry = self._out.get(id(conn))
        if entry is None or entry.conn is not conn:
            if id(conn) in self._forgotten:
                return  # inherited across fork(): already let go
            if any(e.conn is conn for e in self._idle):
                raise InvalidRequestError(f"pool {self.name!r}: connection returned twice")
            raise InvalidRequestError(
                f"pool {self.name!r}: this connection was not checked out from this pool"
            )
        self._checkin(entry)

    def execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(conn, *args, **kwargs)`` on a checked-out connection; return its result.

        If ``fn`` raises one of ``retry_exceptions`` the connection is closed,
        idle connections to the same server made before the failure are
        dropped, and ``fn`` runs again on a fresh connection to the next
        server, after an exponential back-off with full jitter (0.01 s
        doubling, at most 1 s), up to ``max_retries`` times and within
        ``retry_timeout``.  Then :class:`~greenpool.MaximumRetryException` is
        raised, chaining the last error.  Other exceptions propagate at once
        (the connection goes back after ``reset``).  Only pass functions that
        are safe to run twice.
        """
        backoff = retry_backoff(self._max_retries, self._retry_timeout, monotonic())
        fresh = False
        frame = caller_frame()
        while True:
            entry = self._checkout(None, frame, fresh)
            try:
                result = fn(entry.conn, *args, **kwargs)
            except self._retry_exceptions as exc:
                nested = entry.depth > 1
                server = entry.server
                self._checkin_after_error(entry, exc, broken=True)
                self._invalidate(server)
                self._listeners.fire(
                    "connection_failed", "warn", server=str(server), error=exc,
                    connection=entry.conn,
                )
                if nested:
                    raise  # an outer block holds this connection: can't swap it here
                backoff = wait_or_give_up(
                    backoff, exc, name=self.name, retry_timeout=self._retry_timeout
                )
                fresh = True
                continue
            except BaseException as exc:
                self._checkin_after_error(entry, exc)
                raise
            self._checkin(entry)
            return result

    def fill(self) -> None:
        """Open connections until ``pool_size`` exist (idle or checked out): a warm-up.

        Blocks while connecting, in the calling greenlet.  Raises what
        ``connect`` raises (:class:`~greenpool.AllServersUnavailable` with
        ``servers``), :class:`~greenpool.PoolClosed` after :meth:`close`, and
        :class:`~greenpool.WrongThreadError` in another OS thread than the
        pool's (a fill binds an unbound pool to its thread, as a checkout
        does).  Replaces ``prefill``'s background fill in this process.  Don't call it
        in a process that will fork before using the pool (a gunicorn
        ``--preload`` master): the connections would stay open, unused, there.
        """
        self._ensure_open()
        if self._thread != thread_ident():
            self._own_thread()  # the connections and the housekeeping are this thread's
        self._fill_armed = False
        if self._housekeeper is None:
            self._start_housekeeping()
        while self._total < self._pool_size:
            self._total += 1
            entry = self._open_in_slot()
            self._give_back(entry, monotonic())

    def dispose(self) -> None:
        """Close every idle connection.  The pool stays usable; checked-out ones are kept."""
        idle, self._idle = self._idle, []
        for entry in idle:
            self._discard(entry, "pool disposed")
        self._listeners.fire("pool_disposed", "info")

    def close(self) -> None:
        """Close the pool: idle connections now, checked-out ones when returned.

        Waiting callers fail with :class:`~greenpool.PoolClosed`, and so does
        every later checkout.  Calling it again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        self._housekeeper = None
        self._waiters.fail_all(PoolClosed(f"pool {self.name!r} was closed"))
        self.dispose()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def options(self) -> PoolOptions:
        """The pool's checked keywords (``pool_size``, ``max_retries``...), as given."""
        return self._options

    def __enter__(self) -> Pool[C]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_server_list(self, servers: Any) -> None:
        """Replace the server list (a list, or a callable returning one).

        The list is shuffled, then used round robin.  Idle connections to
        servers no longer listed are closed; checked-out ones are closed when
        they come back.  Raises ConfigurationError for an empty or bad list.
        """
        addresses = self._servers.replace(servers)
        kept = {id(s) for s in self._servers}
        for entry in list(self._idle):
            if id(entry.server) not in kept:
                self._idle.remove(entry)
                self._discard(entry, "server removed from the list")
        for entry in self._out.values():
            if id(entry.server) not in kept:
                entry.doomed = True
        self._listeners.fire(
            "server_list_obtained", "info", server_list=[str(a) for a in addresses]
        )

    @property
    def servers(self) -> list[Address]:
        """The servers in the order they are used (empty without ``servers``)."""
        return self._servers.addresses()

    def add_listener(self, listener: Any) -> None:
        """Register a listener: an object with some of the hooks, or a dict of callables."""
        self._listeners.add(listener)

    def size(self) -> int:
        """The pool's capacity for idle connections: ``pool_size``."""
        return self._pool_size

    def overflow(self) -> int:
        """How many connections exist beyond ``pool_size``."""
        return max(self._total - self._pool_size, 0)

    def checkedin(self) -> int:
        """How many connections are idle in the pool."""
        return len(self._idle)

    def checkedout(self) -> int:
        """How many connections are checked out."""
        return len(self._out)

    def waiting(self) -> int:
        """How many callers are waiting for a connection."""
        return len(self._waiters)

    def stats(self) -> dict[str, Any]:
        """Counters since the pool was made, and current gauges.

        Counters: ``requests_num`` (checkouts asked for, served or not), ``requests_queued``
        (checkouts that had to wait), ``requests_wait_ms`` (time spent
        waiting), ``requests_timeouts``, ``requests_errors`` (checkouts that
        failed: timeout, shed, closed, connect error), ``usage_ms`` (time
        connections were held), ``connections_num`` (opened),
        ``connections_ms`` (time spent connecting), ``connections_errors``
        (failed connects), ``connections_lost`` (closed because broken,
        killed mid-use, failed ``check``, or reclaimed from a dead holder),
        ``returns_bad`` (returned in a bad state: ``reset`` failed, or an
        error left the block).  Gauges: ``pool_size``, ``pool_max``,
        ``connections`` (open now), ``pool_available`` (idle),
        ``pool_in_use``, ``requests_waiting``.
        """
        return {
            "pool_size": self._pool_size,
            "pool_max": self._max if self._max != _UNLIMITED else -1,
            "connections": self._total,
            "pool_available": len(self._idle),
            "pool_in_use": len(self._out),
            "requests_waiting": len(self._waiters),
            "requests_num": self._requests_num,
            "requests_queued": self._requests_queued,
            "requests_wait_ms": int(self._requests_wait * 1000),
            "requests_timeouts": self._requests_timeouts,
            "requests_errors": self._requests_errors,
            "usage_ms": int(self._usage * 1000),
            "connections_num": self._connections_num,
            "connections_ms": int(self._connections_time * 1000),
            "connections_errors": self._connections_errors,
            "connections_lost": self._connections_lost,
            "returns_bad": self._returns_bad,
        }

    def pop_stats(self) -> dict[str, Any]:
        """:meth:`stats`, then the counters start again from zero (the gauges stay).

        For exporters that report increments (psycopg_pool's ``pop_stats``).
        Call it from the pool's own thread.  Never blocks.
        """
        stats = self.stats()
        zero(self, _COUNTERS)
        return stats

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<{type(self).__name__} {self.name!r} {state} size={self._pool_size} "
            f"in_use={len(self._out)} idle={len(self._idle)} waiting={len(self._waiters)}>"
        )

    # ------------------------------------------------------------------
    # Checkout

    def _checkout(self, timeout: Any, frame: FrameType | None, fresh: bool = False) -> Entry:
        # The hot path: keep it short.  Everything unusual goes to _acquire/_validated.
        if self._thread != thread_ident():
            self._own_thread()
        current = getcurrent()
        if self._use_local:
            entry = self._local.get(current)
            if entry is not None:
                entry.depth += 1
                return entry
        # Every request counts, served or not (psycopg_pool's requests_num).
        self._requests_num += 1
        idle = self._idle
        if idle and not self._waiters.waiting and not fresh:
            entry = idle.pop()
            now = monotonic()
            entry.out_at = now
            if entry.stale_at <= now or self._check is not None:
                entry = self._validated(entry, now, timeout)
        else:
            entry = self._acquire(timeout, fresh)
        # entry.out_at is set: the moment this caller got the connection.
        entry.owner = current
        entry.depth = 1
        entry.frame = frame
        self._out[entry.key] = entry
        if self._use_local:
            self._local[current] = entry
        if self._listeners.connection_checked_out:
            try:
                self._listeners.fire("connection_checked_out", "debug", connection=entry.conn)
            except BaseException:
                self._unregister(entry)
                self._discard(entry, "interrupted during checkout")
                raise
        return entry

    def _own_thread(self) -> None:
        """First checkout: the pool is this OS thread's.  Later, from another: raise."""
        if self._thread is not None:
            self._requests_num += 1
            self._requests_errors += 1
            raise wrong_thread(f"pool {self.name!r}", self._thread)
        self._thread = thread_ident()

    def _validated(self, entry: Entry, now: float, timeout: Any) -> Entry:
        """Validate an idle entry just popped; replace it if stale or failing ``check``.

        The entry returned has ``out_at`` set, like every entry :meth:`_acquire` returns.
        """
        while True:
            if entry.stale_at <= now:
                reason = "max_lifetime reached" if entry.expires <= now else "max_idle reached"
                self._discard(entry, reason)
            elif self._check is None:
                entry.out_at = now
                return entry
            else:
                try:
                    ok = self._check(entry.conn)
                except Exception as exc:
                    ok = False
                    log.debug("pool %s: check failed: %r", self.name, exc)
                except BaseException:
                    self._discard(entry, "interrupted during check")
                    raise
                if ok:
                    entry.out_at = now
                    return entry
                self._connections_lost += 1
                self._discard(entry, "check failed")
            if self._idle and not self._waiters.waiting:
                entry = self._idle.pop()
                now = monotonic()
            else:
                return self._acquire(timeout, False)

    def _acquire(self, timeout: Any, fresh: bool) -> Entry:
        """The slow path: reserve a slot and connect, or wait in line.

        Returns an entry whose ``out_at`` is the moment it was got.
        """
        if self._closed:
            self._requests_errors += 1
            raise PoolClosed(f"pool {self.name!r} is closed")
        if self._housekeeper is None:
            self._start_housekeeping()
        while True:
            if fresh and self._total < self._max:
                # After a failure: a new connection (to the next server), not an idle one.
                self._total += 1
                return self._open_in_slot(count_error=True)
            if self._idle and not self._waiters.waiting:
                entry = self._idle.pop()
                if fresh:
                    # At the limit: reuse an idle connection's slot for the fresh one.
                    try:
                        self._close_entry(entry, "replaced by a fresh connection after a failure")
                    except BaseException:
                        self._release_slot()
                        raise
                    return self._open_in_slot(count_error=True)
                return self._validated(entry, monotonic(), timeout)
            if self._total < self._max:
                self._total += 1
                return self._open_in_slot(count_error=True)
            started = monotonic()
            if started - self._last_reclaim >= 0.05 and self._reclaim_dead_holders(started):
                continue
            break
        # Every connection is in use: wait in line.  (Inline, not a method of
        # its own: with more callers than connections, every checkout comes here.)
        wait_for = self._pool_timeout if timeout is None else check_timeout("timeout", timeout)
        if wait_for == 0:
            self._requests_errors += 1
            self._requests_timeouts += 1
            if self._listeners.pool_at_max:
                self._listeners.fire("pool_at_max", "info", pool_max=self._max)
            raise NoConnectionAvailable(self._timeout_message(0.0))
        if self._max_waiting is not None and self._waiters.waiting >= self._max_waiting:
            self._requests_errors += 1
            raise TooManyRequests(
                f"pool {self.name!r}: {len(self._waiters)} callers already waiting "
                f"(max_waiting={self._max_waiting})"
            )
        if self._listeners.pool_at_max:
            self._listeners.fire("pool_at_max", "info", pool_max=self._max)
        self._requests_queued += 1
        generation = self._generation
        try:
            # Waiters on the pool's own timeout share one timer (see HandoffQueue.wait).
            # Positional (cheaper); ``started`` is the reading the timeout counts from.
            value = self._waiters.wait(wait_for, timeout is None, started)
        except WaitTimeout as exc:
            waited = monotonic() - started
            self._requests_wait += waited
            self._requests_errors += 1
            self._requests_timeouts += 1
            raise NoConnectionAvailable(self._timeout_message(waited, exc.waiting)) from None
        except BaseException:
            self._requests_wait += monotonic() - started
            self._requests_errors += 1
            raise
        if generation != self._generation:
            raise _forked(self, "waiting")  # handed over in the parent's books
        now = monotonic()
        self._requests_wait += now - started
        if value is _PERMIT:
            return self._open_in_slot(count_error=True)
        handed: Entry = value
        handed.out_at = now
        return handed

    #: How many holders a PoolTimeout message names, longest first.
    _holders_shown = 3

    def _timeout_message(self, waited: float, waiting: int | None = None) -> str:
        # Built only when a checkout times out: the hot path records nothing for
        # it beyond what leak reports already keep (owner, out_at, frame).
        # ``waiting`` is the count when the time ran out (the shared timer has
        # already taken this caller's whole batch out of the queue).
        if waiting is None:
            waiting = len(self._waiters)
        now = monotonic()
        overflow = "unlimited" if self._max == _UNLIMITED else self._max_overflow
        out = self._out
        longest = heapq.nsmallest(self._holders_shown, out.values(), key=attrgetter("out_at"))
        holders = "; ".join(self._holder_text(e, now) for e in longest)
        if len(out) > len(longest):
            holders += f"; and {len(out) - len(longest)} more"
        return (
            f"pool {self.name!r}: no connection available after waiting {waited:.3f}s "
            f"(pool_size={self._pool_size}, max_overflow={overflow}, in use={len(out)}, "
            f"idle={len(self._idle)}, waiting={waiting}); "
            f"longest holders: {holders or 'none'}"
        )

    @classmethod
    def _holder_text(cls, entry: Entry, now: float) -> str:
        """``Greenlet-7 0x7f.. for 2.500s, checked out in handler() at app.py:42``.

        The frame is the one leak reports keep, so the line is where that
        function is now (or where it ended).
        """
        frame = entry.frame
        if frame is None:
            place = "(not Python code)"
        else:
            place = f"{frame.f_code.co_name}() at {frame.f_code.co_filename}:{frame.f_lineno}"
        held = now - entry.out_at
        return f"{cls._owner_name(entry.owner)} for {held:.3f}s, checked out in {place}"

    @staticmethod
    def _owner_name(glet: Any) -> str:
        """``Greenlet-7 0x7f..``: a greenlet's name, never its repr.

        gevent's repr shows the arguments it was spawned with, which may
        hold secrets.
        """
        name = getattr(glet, "name", None)
        if not isinstance(name, str):
            name = type(glet).__name__
        dead = " (dead)" if getattr(glet, "dead", False) else ""
        return f"{name} 0x{id(glet):x}{dead}"

    # ------------------------------------------------------------------
    # Connecting

    def _open_in_slot(self, count_error: bool = False) -> Entry:
        """Make a connection in a slot already reserved; release the slot on failure."""
        generation = self._generation
        try:
            if self._closed:
                raise PoolClosed(f"pool {self.name!r} is closed")
            conn, server, started = self._open()
        except BaseException:
            if generation != self._generation:
                raise  # the slot was the parent's, before a fork()
            if count_error:
                self._requests_errors += 1
            self._release_slot()
            raise
        if generation != self._generation:
            # A fork() came while connecting: the socket may be the parent's,
            # and the slot was counted in the parent's books.
            if sever([fd_of(conn)]) == 0:
                _ABANDONED.append(conn)
            raise _forked(self, "connecting")
        now = monotonic()
        self._connections_num += 1
        self._connections_time += now - started
        if self._fill_armed:
            self._fill_armed = False
            self._start_fill()
        expires = _INF
        if self._max_lifetime is not None:
            expires = now + self._max_lifetime * (1.0 - random.random() * 0.05)
        entry = Entry(conn, server, now, expires)
        entry.out_at = now
        entry.generation = generation
        self._entries[entry.key] = entry
        if self._listeners.connection_created:
            try:
                self._listeners.fire(
                    "connection_created", "info", connection=conn, server=str(server)
                )
            except BaseException:
                self._discard(entry, "interrupted after connecting")
                raise
        return entry

    def _open(self) -> tuple[Any, Server, float]:
        """Connect to the next server in turn; try each once.  Returns (conn, server, start).

        A connect that fails because a fork() came meanwhile (the child's copy
        of a connect of the parent's) is not this process's failure: it is
        raised as it is, neither logged nor counted, and no other server is tried.
        """
        generation = self._generation
        if not self._servers.with_address:
            server = self._servers.first()
            started = monotonic()
            try:
                return self._connect(), server, started
            except Exception as exc:
                if generation == self._generation:
                    self._connection_failed(server, exc)
                raise
        errors: dict[str, BaseException] = {}
        last: BaseException | None = None
        for server in self._servers.rotation():
            started = monotonic()
            try:
                return self._connect(server.address), server, started
            except Exception as exc:
                if generation != self._generation:
                    raise
                errors[str(server)] = exc
                last = exc
                self._connection_failed(server, exc)
        detail = "; ".join(f"{name}: {exc!r}" for name, exc in errors.items())
        raise AllServersUnavailable(
            f"pool {self.name!r}: no server accepted a connection ({detail})", errors
        ) from last

    def _start_fill(self) -> None:
        """``prefill``: open the rest of ``pool_size`` in a greenlet of the pool's own."""
        glet = gevent.spawn(_background_fill, weakref.ref(self), self._generation)
        glet.name = f"greenpool-fill-{self.name}"

    def _connection_failed(self, server: Server, exc: BaseException) -> None:
        self._connections_errors += 1
        log.warning("pool %s: connecting to %s failed: %r", self.name, server, exc)
        self._listeners.fire(
            "connection_failed", "warn", server=str(server), error=exc, connection=None
        )

    # ------------------------------------------------------------------
    # Return

    def _checkin(self, entry: Entry, reset: bool = True) -> None:
        # The hot path: keep it short.  Everything unusual goes to _checkin_slow.
        # ``reset=False``: the caller has just seen the connection clean (a
        # subclass that knows its driver), so the ``reset`` hook is skipped.
        if entry.depth > 1:
            entry.depth -= 1
            return
        if self._out.pop(entry.key, None) is None:
            return  # reclaimed from a dead holder, or inherited across fork()
        if self._use_local and self._local.get(entry.owner) is entry:
            del self._local[entry.owner]
        entry.owner = entry.frame = None
        entry.depth = 0
        now = monotonic()
        self._usage += now - entry.out_at
        entry.uses += 1
        if (
            entry.doomed
            or self._closed
            or (reset and self._reset is not None)
            or entry.uses >= self._recycle_at
            or entry.expires <= now
        ):
            self._checkin_slow(entry, now, reset)
            return
        if self._waiters.waiting:
            self._waiters.hand(entry)
        elif len(self._idle) < self._pool_size:
            if self._max_idle is not None:
                entry.stale_at = min(entry.expires, now + self._max_idle)
            self._idle.append(entry)
        else:
            self._discard(entry, "overflow")
            return
        if self._listeners.connection_checked_in:
            self._listeners.fire("connection_checked_in", "debug", connection=entry.conn)

    def _checkin_slow(self, entry: Entry, now: float, reset: bool = True) -> None:
        if entry.doomed or self._closed:
            self._discard(entry, "closed pool" if self._closed else "marked bad")
            return
        if reset and self._reset is not None:
            try:
                self._reset(entry.conn)
            except Exception as exc:
                self._returns_bad += 1
                log.debug("pool %s: reset failed: %r", self.name, exc)
                self._discard(entry, f"reset failed: {exc!r}")
                return
            except BaseException:
                self._returns_bad += 1
                self._discard(entry, "interrupted during reset")
                raise
        if entry.uses >= self._recycle_at or entry.expires <= now:
            self._replace(entry)
            return
        self._give_back(entry, now)
        if self._listeners.connection_checked_in:
            self._listeners.fire("connection_checked_in", "debug", connection=entry.conn)

    def _checkin_after_error(
        self, entry: Entry, exc: BaseException, broken: bool = False
    ) -> None:
        """Return a connection whose block ended with ``exc``.

        ``broken``: the caller saw the connection break; it is closed and
        counted lost whatever ``exc`` is.
        """
        if broken:
            self._connections_lost += 1
        unusable = (
            broken or not isinstance(exc, Exception) or isinstance(exc, self._retry_exceptions)
        )
        # State unknown (killed, timed out mid-call) or broken: nobody may use it again.
        if unusable and not entry.doomed:
            entry.doomed = True
            self._returns_bad += 1
            if not broken:
                self._connections_lost += 1
            self._close_entry(entry, f"closed after {type(exc).__name__}")
        self._checkin(entry)

    def _unregister(self, entry: Entry) -> None:
        self._out.pop(entry.key, None)
        if self._use_local and self._local.get(entry.owner) is entry:
            del self._local[entry.owner]
        entry.owner = None
        entry.frame = None
        entry.depth = 0

    def _give_back(self, entry: Entry, now: float) -> None:
        """Hand a usable connection to the longest waiter, or keep it idle, or close it."""
        if entry.generation != self._generation:
            return  # inherited across fork(): severed, and not in this process's books
        if self._waiters.hand(entry):
            return
        if self._closed or len(self._idle) >= self._pool_size:
            self._discard(entry, "pool closed" if self._closed else "overflow")
            return
        if self._max_idle is not None:
            entry.stale_at = min(entry.expires, now + self._max_idle)
        self._idle.append(entry)

    def _pass_on(self, value: Any) -> None:
        """Called with a connection or permit whose waiter left before taking it."""
        if value is _PERMIT:
            self._release_slot()
        else:
            self._give_back(value, monotonic())

    def _release_slot(self) -> None:
        """A slot became free: give it to the longest waiter, or free it."""
        if self._closed or not self._waiters.hand(_PERMIT):
            self._total -= 1

    def _replace(self, old: Entry) -> None:
        """Close ``old`` (recycle / max_lifetime) and open its successor in the background."""
        self._close_entry(old, "recycled")
        if self._closed:
            self._release_slot()
            return
        generation = self._generation
        gevent.spawn(self._replacement, old.conn, generation)

    def _replacement(self, old_conn: Any, generation: int) -> None:
        try:
            entry = self._open_in_slot()
        except Exception as exc:
            log.warning("pool %s: opening a replacement connection failed: %r", self.name, exc)
            return
        if generation != self._generation:
            # Begun before a fork(): its socket may be the parent's.
            if sever([fd_of(entry.conn)]) == 0:
                _ABANDONED.append(entry.conn)
            return
        self._listeners.fire("connection_recycled", "info", old_conn=old_conn, new_conn=entry.conn)
        self._give_back(entry, monotonic())

    # ------------------------------------------------------------------
    # Closing

    def _close_entry(self, entry: Entry, reason: str) -> None:
        """Close the connection (once).  Does not touch the slot."""
        if entry.closed:
            return
        entry.closed = True
        self._entries.pop(entry.key, None)
        try:
            if self._close_fn is not None:
                self._close_fn(entry.conn)
            else:
                close = getattr(entry.conn, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            log.debug("pool %s: closing a connection failed: %r", self.name, exc)
        finally:
            if self._listeners.connection_disposed:
                self._listeners.fire(
                    "connection_disposed", "debug", connection=entry.conn, message=reason
                )

    def _discard(self, entry: Entry, reason: str) -> None:
        """Close a connection and free its slot, even if interrupted while closing."""
        try:
            self._close_entry(entry, reason)
        finally:
            self._release_slot()

    def _invalidate(self, server: Server) -> None:
        """A failure showed ``server`` went away: drop every connection to it made before now."""
        now = monotonic()
        server.invalid_before = now
        for entry in [e for e in self._idle if e.server is server and e.created <= now]:
            self._idle.remove(entry)
            self._connections_lost += 1
            self._discard(entry, "server failed")
        for entry in self._out.values():
            if entry.server is server and entry.created <= now:
                entry.doomed = True

    def _ensure_open(self) -> None:
        if self._closed:
            raise PoolClosed(f"pool {self.name!r} is closed")

    # ------------------------------------------------------------------
    # Housekeeping: ageing, leak reports, reclaiming from dead holders

    def _start_housekeeping(self) -> None:
        glet = gevent.spawn(_housekeeping, weakref.ref(self))
        glet.name = f"greenpool-housekeeping-{self.name}"
        self._housekeeper = glet

    def _housekeep(self) -> None:
        now = monotonic()
        self._reclaim_dead_holders(now)
        if self._leak_timeout is not None:
            for entry in list(self._out.values()):
                if not entry.reported and now - entry.out_at >= self._leak_timeout:
                    entry.reported = True
                    log.warning(
                        "pool %s: a connection has been checked out for %.1fs by %s "
                        "(leak_timeout=%ss); it was checked out at:\n%s",
                        self.name, now - entry.out_at, self._owner_name(entry.owner),
                        self._leak_timeout,
                        self._checkout_stack(entry),
                    )
        expired = [e for e in self._idle if e.stale_at <= now]
        for entry in expired:
            self._idle.remove(entry)
            if entry.expires <= now:
                self._replace(entry)  # keep the pool warm: a successor is opened
            else:
                self._discard(entry, "max_idle reached")

    def _in_query(self, conn: C) -> bool:
        """Is a command running on ``conn`` now?  Unknown here: no."""
        return False

    def _reclaim_dead_holders(self, now: float) -> bool:
        """Take back connections whose holder greenlet died without returning them.

        Not one a command is running on (:meth:`_in_query`): the holder
        handed it to another greenlet, which is in a query on it, so it is
        still in use; it is taken back when returned, or once it is idle.
        """
        self._last_reclaim = now
        dead = [
            e for e in self._out.values()
            if e.owner is not None and e.owner.dead and not self._in_query(e.conn)
        ]
        for entry in dead:
            log.warning(
                "pool %s: reclaiming a connection whose greenlet %s died without returning "
                "it; it was checked out at:\n%s",
                self.name, self._owner_name(entry.owner), self._checkout_stack(entry),
            )
            self._connections_lost += 1
            self._unregister(entry)
            self._discard(entry, "holder died")
        return bool(dead)

    @staticmethod
    def _checkout_stack(entry: Entry) -> str:
        if entry.frame is None:
            return "  (unknown)\n"
        return "".join(traceback.format_stack(entry.frame))

    # ------------------------------------------------------------------
    # fork()

    def _forget_inherited(self) -> None:
        """In a child process after fork(): let go of every connection without touching it.

        Runs in the at-fork hook, before any greenlet of the child.  Each
        connection's socket is severed (:func:`greenpool._fork.sever`): the
        child's copies of greenlets that were using one, or a finaliser,
        can no longer read from or write to the parent's socket.  A
        connection whose socket can't be found (:func:`~greenpool._fork.fd_of`)
        is parked for the child's lifetime instead, so at least no
        finaliser of ours runs on it.  The pool then connects anew on first use.
        """
        entries = list(self._entries.values())
        fds = [fd_of(e.conn) for e in entries]
        sever(fds)
        _ABANDONED.extend(e.conn for e, fd in zip(entries, fds, strict=True) if fd is None)
        self._forgotten.update(e.key for e in entries)
        self._entries = {}
        self._idle = []
        self._out = {}
        self._local = {}
        self._total = 0
        self._waiters = HandoffQueue(self._pass_on)
        self._housekeeper = None
        self._fill_armed = self._prefill  # the child fills its own, on first use
        self._thread = None  # the child's thread is the forking one, maybe not the first
        self._generation += 1


def _forked(pool: Pool[Any], doing: str) -> _GreenConnectionError:
    return _GreenConnectionError(f"pool {pool.name!r}: fork() while {doing}; try again")


def _background_fill(ref: weakref.ref[Pool[Any]], generation: int) -> None:
    """``prefill``'s greenlet: open connections one at a time until ``pool_size`` exist.

    Stops when the pool is full, closed, collected or forked (a copy of this
    greenlet in a child belongs to the parent's books), and at the first
    failed connect (already logged by the pool; callers connect on demand).
    """
    while True:
        pool = ref()
        if (
            pool is None
            or pool._closed
            or pool._generation != generation
            or pool._total >= pool._pool_size
        ):
            return
        pool._total += 1
        try:
            entry = pool._open_in_slot()  # releases the slot if it fails
        except Exception as exc:
            log.debug("pool %s: prefill stopped: %r", pool.name, exc)
            return
        pool._give_back(entry, monotonic())
        del pool, entry


def _housekeeping(ref: weakref.ref[Pool[Any]]) -> None:
    me = getcurrent()
    while True:
        pool = ref()
        if pool is None or pool._closed or pool._housekeeper is not me:
            return
        interval = pool._housekeeping_interval
        try:
            pool._housekeep()
        except Exception:
            log.exception("pool %s: housekeeping failed", pool.name)
        del pool
        gevent.sleep(interval)



