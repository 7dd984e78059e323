"""Making psycopg 3 green under gevent, and interruptible without leaving a query running.

psycopg 3's sync ``Connection`` waits on the network through two functions
of ``psycopg.waiting``, looked up at every call: ``wait(gen, fileno,
interval, timeout)`` for queries, commits and the like, and
``wait_conn(gen, interval, timeout)`` for connecting and for
``cancel_safe()``.  At import psycopg picks ``wait_c``, a C loop that
blocks the whole hub, unless gevent has patched ``select`` by then (then
``wait_poll``: green, but with a new poll object per wait, and nothing done
when a greenlet is killed or times out in the middle of a query).

:func:`ensure_green` replaces both, whichever psycopg picked, with:

* :func:`green_wait`: each wait on the socket is a wait on the hub, on the
  connection's kept watchers (:mod:`._watchers`).  An exception that
  arrives during the wait (a ``gevent.Timeout``, ``kill()``,
  KeyboardInterrupt ...) while a query runs first cancels the query on the
  server (:mod:`._cancel`) and closes the connection, as greenpool's
  psycopg2 callback does: without the cancel the server would go on
  running the query, and the connection would be left busy.
* :func:`green_wait_conn`: connects (and sends ``cancel_safe()``
  requests) on the hub, with fresh watchers (libpq may change sockets while
  connecting), and books each new connection by its socket, so that
  :func:`green_wait`, which is given only the socket, knows whose it is.
  An interrupted connect is abandoned at once: its half-made connection is
  closed then, not whenever the garbage collector comes by.

psycopg's ``interval`` (a wake-up every 0.1 s so that its C loop can see
Ctrl-C) is not needed on the hub and is ignored; ``timeout``, the deadline
psycopg 3.3 added, is honoured.  Before 3.3 there was no deadline and
``notifies(timeout=...)`` relied on the wake-up to return, so psycopg 3.3
or later is required (importing this module raises ImportError otherwise).
Async connections are not concerned.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from time import monotonic
from typing import Any

import psycopg
from gevent import get_hub
from greenlet import getcurrent
from psycopg import pq, waiting

from .. import _fork
from .._fork import sever
from . import _cancel
from ._watchers import Watched, entry_of, kept, peek

__all__ = ["cancel", "ensure_green", "green_wait", "green_wait_conn", "is_green"]

log = logging.getLogger("greenpool.postgres")

# libpq's PQTRANS_ACTIVE: a command is in progress on the connection.
_ACTIVE = int(pq.TransactionStatus.ACTIVE)
# libpq's CONNECTION_BAD: what psycopg's ``Connection.closed`` compares the
# PGconn's status with (read here straight, without the property's frame).
_BAD = int(pq.ConnStatus.BAD)
# Raised when a wait's deadline passes: new in psycopg 3.3, with the deadline.
try:
    _WaitTimeout: type[BaseException] = psycopg.errors._WaitTimeout
except AttributeError:
    raise ImportError(f"greenpool needs psycopg 3.3 or later, not {psycopg.__version__}") from None


def _wait_once(fd: int, events: int, deadline: float | None) -> int:
    """Wait on fresh watchers until ``fd`` is ready for ``events`` or ``deadline`` passes.

    Returns the ready events (libev's and psycopg's masks agree: 1 read,
    2 write), 0 at the deadline.
    """
    hub = get_hub()
    loop = hub.loop
    switch = getcurrent().switch
    io = loop.io(fd, events)
    timer = None
    try:
        io.start(switch, pass_events=True)
        if deadline is not None:
            timer = loop.timer(max(0.0, deadline - monotonic()))
            timer.start(switch, 0)
        ready = hub.switch()
    finally:
        io.stop()
        io.close()
        if timer is not None:
            timer.stop()
            timer.close()
    return ready & 3 if type(ready) is int else 0


def _check_same_process(pid: int, fd: int) -> None:
    """After a wait: in a child that a ``fork()`` made meanwhile, sever ``fd`` and raise.

    The socket is the parent's (a connect or query under way when gunicorn's
    master or a Celery parent forked): the child's copy of the waiting
    greenlet must not let libpq read or write a byte of it, nor cancel the
    parent's query.
    """
    if _fork.pid != pid:
        sever([fd])
        raise psycopg.OperationalError(
            "fork() while this connection waited: the socket is the parent's"
        )


def _expired(deadline: float | None) -> None:
    if deadline is not None and monotonic() >= deadline:
        raise _WaitTimeout("wait timeout expired")


def _deadline(timeout: float | None) -> float | None:
    return monotonic() + timeout if timeout is not None else None


def green_wait(
    gen: Generator[int, int, Any],
    fileno: int,
    interval: float | None = None,
    timeout: float | None = None,
) -> Any:
    """``psycopg.waiting.wait`` on the hub: run ``gen`` to its end, waiting on ``fileno``.

    Returns what ``gen`` returns; raises what it raises, and psycopg's
    ``_WaitTimeout`` when ``timeout`` seconds pass first.  An exception
    arriving while it waits cancels a running query on the server and
    closes the connection (see :func:`cancel`), then goes on.
    """
    try:
        wanted = next(gen)
    except StopIteration as stop:
        return stop.value
    # The hot path, every query: a booked connection, this thread's hub, no
    # deadline.  The rest is _wait_slowly's.
    hub = get_hub()
    entry = peek(fileno)
    if entry is not None and timeout is None:
        conn = entry.conn()
        if conn is not None and entry.loop is hub.loop and conn.pgconn.status != _BAD:
            return _wait_kept(gen, wanted, entry, conn, hub)
    return _wait_slowly(gen, wanted, fileno, timeout)


def _wait_kept(gen: Generator[int, int, Any], wanted: int, entry: Watched, conn: Any,
               hub: Any) -> Any:
    """Run ``gen`` to its end on ``conn``'s kept watchers."""
    switch = getcurrent().switch
    watchers = entry.io
    pid = _fork.pid
    try:
        while True:
            watcher = watchers[wanted] or entry.watcher(wanted)
            watcher.start(switch, pass_events=True)
            try:
                ready = hub.switch()
            except BaseException:
                watcher.stop()
                _interrupted(conn)
                raise
            watcher.stop()
            if _fork.pid != pid:  # _check_same_process, inlined for every wait
                _check_same_process(pid, entry.fd)
            # Anything else that wakes this greenlet means "nothing ready":
            # the generator asks again.
            wanted = gen.send(ready & 3 if type(ready) is int else 0)
    except StopIteration as stop:
        return stop.value


def _wait_slowly(
    gen: Generator[int, int, Any], wanted: int, fileno: int, timeout: float | None
) -> Any:
    """:func:`green_wait`, the general case: fresh watchers when the socket is not booked
    (a connection made before :func:`ensure_green`) or there is a deadline."""
    entry = entry_of(fileno)  # drops a stale entry
    conn = entry.conn() if entry is not None else None
    hub = get_hub()
    if entry is not None and entry.loop is not hub.loop:  # another thread's hub
        entry = kept(conn, fileno, hub.loop)
    if entry is not None and timeout is None:
        return _wait_kept(gen, wanted, entry, conn, hub)
    deadline = _deadline(timeout)
    pid = _fork.pid
    try:
        while True:
            try:
                ready = _wait_once(fileno, wanted, deadline)
            except BaseException:
                _interrupted(conn)
                raise
            _check_same_process(pid, fileno)
            wanted = gen.send(ready)
            _expired(deadline)
    except StopIteration as stop:
        return stop.value


def green_wait_conn(
    gen: Generator[tuple[int, int], int, Any],
    interval: float | None = None,
    timeout: float | None = None,
) -> Any:
    """``psycopg.waiting.wait_conn`` on the hub: connect, or send a cancel request.

    Returns what ``gen`` returns (a new connection is booked by its socket
    for :func:`green_wait`); raises what it raises, and psycopg's
    ``_WaitTimeout`` when ``timeout`` seconds pass first.  An exception
    arriving while it waits closes the generator (and with it a half-made
    connection), then goes on.
    """
    deadline = _deadline(timeout)
    pid = _fork.pid
    try:
        fileno, wanted = next(gen)
        while True:
            try:
                ready = _wait_once(fileno, wanted, deadline)
            except BaseException:
                gen.close()
                raise
            _check_same_process(pid, fileno)
            fileno, wanted = gen.send(ready)
            _expired(deadline)
    except StopIteration as stop:
        result = stop.value
    if isinstance(result, psycopg.Connection):
        kept(result, result.pgconn.socket, get_hub().loop)
    return result


class _Handle:
    """psycopg's ``PGcancelConn``: :class:`._cancel.Handle` for psycopg 3."""

    __slots__ = ("conn",)

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def poll(self) -> int:
        return int(self.conn.poll())

    def fileno(self) -> int:
        return int(self.conn.socket)

    def error(self) -> str:
        return str(self.conn.get_error_message())

    def finish(self) -> None:
        self.conn.finish()


def cancel(conn: Any, timeout: float | None = None) -> bool:
    """Ask the server to cancel the query running on psycopg 3's ``conn``; True when it was asked.

    Green with libpq >= 17 (see :func:`._cancel.send`: the caller waits at
    most :data:`~._cancel.CANCEL_WAIT` seconds, a background greenlet goes
    on until ``timeout``, default :data:`~._cancel.CANCEL_TIMEOUT`, and
    then this returns False).  With an older libpq, libpq's blocking
    ``PQcancel`` blocks the hub for one round trip.  Never raises an
    ``Exception``: a failure is logged and False returned.
    """
    try:
        pgconn = conn.pgconn
        if pq.version() >= 170000 and hasattr(pgconn, "cancel_conn"):
            handle = pgconn.cancel_conn()
            try:
                handle.start()
            except Exception:
                handle.finish()
                raise
            return _cancel.send(_Handle(handle), timeout)
        pgconn.get_cancel().cancel()
    except Exception as exc:
        log.warning("cancelling a query failed: %r", exc)
        return False
    return True


def _interrupted(conn: Any) -> None:
    """An exception arrived while ``conn`` waited: leave nothing running.

    Only a command in progress is concerned (a wait for notifications, say,
    leaves the connection as it was).  ``conn`` is None for a connection
    made before :func:`ensure_green`, whose socket is not booked: psycopg's
    own rules apply to it.
    """
    if conn is None or conn.closed:
        return
    pgconn = conn.pgconn
    if pgconn.transaction_status == _ACTIVE:
        # The server works on a command whose reply will never be read:
        # cancel it there, and close the connection, whose next reply would
        # not be the next caller's.  (psycopg's own Ctrl-C rule then finds
        # nothing left to do: the connection is no longer ACTIVE.)  Closed
        # even when a second exception ends the wait for the cancel (which
        # then goes on in the background): never left open and ACTIVE.
        _cancel.mark_interrupted(conn)
        try:
            cancel(conn)
        finally:
            pgconn.finish()


def is_green() -> bool:
    """True when greenpool's wait functions are psycopg 3's."""
    return waiting.wait is green_wait and waiting.wait_conn is green_wait_conn


def ensure_green() -> None:
    """Make psycopg 3 green: greenpool's wait functions replace psycopg's own, once.

    Whichever psycopg picked (``wait_c``, or ``wait_poll`` under monkey
    patching) is replaced; affects every sync psycopg 3 connection in the
    process.  Cheap to call again.  Blocks never.
    """
    if waiting.wait is not green_wait:
        waiting.wait = green_wait
    if waiting.wait_conn is not green_wait_conn:
        waiting.wait_conn = green_wait_conn
