"""Making psycopg2 green under gevent, and interruptible without leaving a query running.

psycopg2 blocks the whole hub unless a *wait callback* is installed; then it
drives every network wait through that callback.  :func:`ensure_green`
installs, once, :func:`greenpool_wait_callback`: it does what psycogreen's
gevent callback does (each wait on the socket becomes a gevent wait), keeps
each connection's socket watchers instead of making and closing one per
wait (:mod:`._watchers`), and adds one thing: when an exception (a
``gevent.Timeout``, ``kill()``, KeyboardInterrupt ...) arrives while a query
runs, the query is cancelled *on the server* before the exception goes on.
psycopg2 then closes the connection: without the cancel, the server would
keep running the query after the client has gone.  psycogreen's own
callback, if the application installed it, is replaced by this one; any
other callback the application installed is kept and wrapped with the same
cancel rule.

The cancel is green too when libpq has the non-blocking cancel API (libpq
17, which psycopg2-binary bundles; see :mod:`._cancel`).  With an older
libpq it falls back to psycopg2's ``conn.cancel()``, which blocks the hub
for the round trip of the cancel request.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

import psycopg2
import psycopg2.extensions as ext
from gevent import get_hub
from gevent.socket import wait_read, wait_write
from greenlet import getcurrent

from .. import _fork
from .._fork import sever
from . import _cancel
from ._watchers import READ, WRITE, kept

__all__ = ["cancel", "ensure_green", "greenpool_wait_callback", "is_green"]

log = logging.getLogger("greenpool.postgres")

# connection.status while a query may be running (READY: autocommit or idle;
# BEGIN: in a transaction).  Connecting states are not cancellable.
_CANCELLABLE = (ext.STATUS_READY, ext.STATUS_BEGIN)

_POLL_OK = ext.POLL_OK
_POLL_READ = ext.POLL_READ
_POLL_WRITE = ext.POLL_WRITE

WaitCallback = Callable[..., Any]


class _LibPQ:
    """libpq's non-blocking cancel functions (libpq >= 17), found through psycopg2's module."""

    def __init__(self) -> None:
        self.available = False
        try:
            from psycopg2 import _psycopg

            lib = ctypes.CDLL(_psycopg.__file__)
            self.create = lib.PQcancelCreate
            self.start = lib.PQcancelStart
            self.poll = lib.PQcancelPoll
            self.socket = lib.PQcancelSocket
            self.error = lib.PQcancelErrorMessage
            self.finish = lib.PQcancelFinish
        except (OSError, AttributeError):
            return
        self.create.argtypes = [ctypes.c_void_p]
        self.create.restype = ctypes.c_void_p
        for fn in (self.start, self.poll, self.socket):
            fn.argtypes = [ctypes.c_void_p]
            fn.restype = ctypes.c_int
        self.error.argtypes = [ctypes.c_void_p]
        self.error.restype = ctypes.c_char_p
        self.finish.argtypes = [ctypes.c_void_p]
        self.finish.restype = None
        self.available = True


_libpq: _LibPQ | None = None


def _lib() -> _LibPQ:
    global _libpq
    if _libpq is None:
        _libpq = _LibPQ()
    return _libpq


class _Handle:
    """A ``PGcancelConn`` reached through ctypes: :class:`._cancel.Handle` for psycopg2."""

    __slots__ = ("lib", "ptr")

    def __init__(self, lib: _LibPQ, ptr: int) -> None:
        self.lib = lib
        self.ptr = ptr

    def poll(self) -> int:
        return int(self.lib.poll(self.ptr))

    def fileno(self) -> int:
        return int(self.lib.socket(self.ptr))

    def error(self) -> str:
        return str((self.lib.error(self.ptr) or b"").decode(errors="replace"))

    def finish(self) -> None:
        self.lib.finish(self.ptr)


def cancel(conn: Any, timeout: float | None = None) -> bool:
    """Ask the server to cancel the query running on psycopg2's ``conn``; True when it was asked.

    Green with libpq >= 17: the request goes on a connection of its own,
    polled on the hub (see :func:`._cancel.send`: the caller waits at most
    :data:`~._cancel.CANCEL_WAIT` seconds, a background greenlet goes on
    until ``timeout``, default :data:`~._cancel.CANCEL_TIMEOUT`, and then
    this returns False).  With an older libpq, ``conn.cancel()`` blocks the
    hub for one round trip.  Never raises an ``Exception``: a failure is
    logged and False returned.
    """
    lib = _lib()
    try:
        ptr = conn.pgconn_ptr
    except Exception:
        ptr = None
    if not lib.available or not ptr:
        try:
            conn.cancel()
        except Exception as exc:
            log.warning("cancelling a query failed: %r", exc)
            return False
        return True
    created = lib.create(ptr)
    if not created:
        log.warning("cancelling a query failed: out of memory")
        return False
    handle = _Handle(lib, created)
    if not lib.start(created):
        message = handle.error().strip()
        handle.finish()
        log.warning("cancelling a query failed: %s", message)
        return False
    return _cancel.send(handle, timeout)


def _interrupted(conn: Any) -> None:
    """An exception arrived while psycopg2 waited on ``conn``: leave nothing running."""
    if not conn.closed:
        if conn.status in _CANCELLABLE:
            # Interrupted while the server works on a query: cancel it there
            # before psycopg2 closes the connection under it.
            _cancel.mark_interrupted(conn)
            cancel(conn)
        else:
            # Interrupted while connecting: close now.  The traceback (kept by
            # a dead greenlet, say) holds this frame, so the half-made
            # connection would otherwise live, and keep its server backend,
            # until the garbage collector came by.
            conn.close()


def greenpool_wait_callback(conn: Any, timeout: Any = None) -> None:
    """psycopg2's wait callback: each network wait becomes a gevent wait.

    What psycogreen's gevent callback does (poll the connection; wait on the
    hub until its socket can be read or written, as asked; again until the
    connection says it's done), with the socket's watchers kept between
    waits, and one thing more: an exception arriving during the wait (a
    ``gevent.Timeout``, ``kill()``, KeyboardInterrupt) first cancels the
    query on the server, see :func:`cancel`.
    A wait that a ``fork()`` came through is not finished in the child: the
    socket is the parent's (a connect or query under way when gunicorn's
    master or a Celery parent forked).  The child's copy of the waiting
    greenlet severs its descriptor (:func:`greenpool._fork.sever`) and
    raises ``OperationalError`` before libpq reads or writes a byte, and
    never cancels the parent's query.
    """
    pid = _fork.pid  # a global the fork hook updates: no getpid() system call per wait
    try:
        while True:
            state = conn.poll()
            if state == _POLL_OK:
                return
            if state == _POLL_READ:
                events = READ
            elif state == _POLL_WRITE:
                events = WRITE
            else:
                raise psycopg2.OperationalError(f"bad result from poll: {state!r}")
            fd = conn.fileno()
            if timeout is not None or conn.status == ext.STATUS_SETUP:
                # While connecting, libpq may swap sockets (another address,
                # SSL refused): a fresh watcher for each wait.
                (wait_write if events == WRITE else wait_read)(fd, timeout)
                if _fork.pid != pid:
                    raise _ForkedWait(fd)
                continue
            hub = get_hub()
            watcher = kept(conn, fd, hub.loop).watcher(events)
            watcher.start(getcurrent().switch)
            try:
                # Whatever wakes this greenlet, the loop polls again, so a
                # stray switch costs one poll, never a wrong answer.
                hub.switch()
            finally:
                watcher.stop()
            if _fork.pid != pid:
                raise _ForkedWait(fd)
    except _ForkedWait as forked:
        sever([forked.fd])
        raise psycopg2.OperationalError(
            "fork() while this connection waited: the socket is the parent's"
        ) from None
    except BaseException:
        _interrupted(conn)
        raise


class _ForkedWait(Exception):
    """A copy of a waiting greenlet woke in a child process after fork()."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.fd = fd


def _make_callback(inner: WaitCallback) -> WaitCallback:
    """Wrap an application's own wait callback with the cancel-on-interrupt rule."""

    def wrapped_wait_callback(conn: Any, timeout: Any = None) -> None:
        try:
            inner(conn, timeout)
        except BaseException:
            _interrupted(conn)
            raise

    wrapped_wait_callback.greenpool_inner = inner  # type: ignore[attr-defined]
    return wrapped_wait_callback


greenpool_wait_callback.greenpool_inner = None  # type: ignore[attr-defined]


def is_green() -> bool:
    """True when greenpool's cancelling wait callback is installed in psycopg2."""
    return hasattr(ext.get_wait_callback(), "greenpool_inner")


def ensure_green() -> None:
    """Install greenpool's gevent wait callback in psycopg2, once; cheap to call again.

    psycogreen's callback (``psycogreen.gevent.patch_psycopg()``), if
    installed, is replaced: greenpool's does the same waiting, faster, and
    cancels interrupted queries.  Any other callback installed earlier by
    the application is kept and wrapped with the cancel rule, not replaced.
    Blocks never.
    """
    current = ext.get_wait_callback()
    if current is greenpool_wait_callback:
        return
    if current is None or _is_psycogreen(current):
        ext.set_wait_callback(greenpool_wait_callback)
    elif not hasattr(current, "greenpool_inner"):
        ext.set_wait_callback(_make_callback(current))


def _is_psycogreen(callback: WaitCallback) -> bool:
    try:
        from psycogreen.gevent import gevent_wait_callback
    except ImportError:
        return False
    return callback is gevent_wait_callback
