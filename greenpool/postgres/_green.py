"""Making psycopg2 green under gevent, and interruptible without leaving a query running.

psycopg2 blocks the whole hub unless a *wait callback* is installed; then it
drives every network wait through that callback.  :func:`ensure_green`
installs, once, :func:`greenpool_wait_callback`: it does what psycogreen's
gevent callback does (each wait on the socket becomes a gevent wait), keeps
each connection's two socket watchers instead of making and closing one per
wait, and adds one thing: when an exception (a ``gevent.Timeout``,
``kill()``, KeyboardInterrupt ...) arrives while a query runs, the query is
cancelled *on the server* before the exception goes on.  psycopg2 then
closes the connection: without the cancel, the server would keep running
the query after the client has gone.  psycogreen's own callback, if the
application installed it, is replaced by this one; any other callback the
application installed is kept and wrapped with the same cancel rule.

The cancel is green too when libpq has the non-blocking cancel API (libpq
17, which psycopg2-binary bundles): a cancel connection is opened and polled
on the hub: the interrupted caller waits for it at most :data:`CANCEL_WAIT`
seconds, a background greenlet finishes a slower one within
:data:`CANCEL_TIMEOUT`.  With an older libpq it falls
back to psycopg2's ``conn.cancel()``, which blocks the hub for the round trip
of the cancel request.  If a second exception interrupts the cancel, a
background greenlet finishes it.
"""

from __future__ import annotations

import ctypes
import logging
import weakref
from collections.abc import Callable
from os import getpid
from typing import Any

import gevent
import psycopg2
import psycopg2.extensions as ext
from gevent import get_hub
from gevent.socket import wait_read, wait_write
from greenlet import getcurrent
from psycogreen.gevent import gevent_wait_callback

from .._fork import sever

__all__ = ["CANCEL_TIMEOUT", "CANCEL_WAIT", "cancel", "ensure_green", "is_green"]

log = logging.getLogger("greenpool.postgres")

#: Seconds a cancel request may take, in all, before it is given up.
CANCEL_TIMEOUT = 5.0
#: Seconds the interrupted caller waits for its cancel request; a slower one
#: is finished by a background greenlet.
CANCEL_WAIT = 0.5

# connection.status while a query may be running (READY: autocommit or idle;
# BEGIN: in a transaction).  Connecting states are not cancellable.
_CANCELLABLE = (ext.STATUS_READY, ext.STATUS_BEGIN)

_POLL_OK = ext.POLL_OK
_POLL_READ = ext.POLL_READ
_POLL_WRITE = ext.POLL_WRITE

# PostgresPollingStatusType
_POLLING_FAILED = 0
_POLLING_READING = 1
_POLLING_WRITING = 2
_POLLING_OK = 3

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


class _Cancel:
    """One cancel request in progress, owning libpq's PGcancelConn until :meth:`finish`."""

    __slots__ = ("handle", "lib", "state")

    def __init__(self, lib: _LibPQ, handle: int) -> None:
        self.lib = lib
        self.handle: int | None = handle
        self.state = _POLLING_WRITING  # as if the first poll had asked to write

    def run(self, timeout: float) -> bool:
        """Drive the request to its end; True once the server has it."""
        lib = self.lib
        with gevent.Timeout(timeout, False):
            while self.handle is not None:
                fd = lib.socket(self.handle)
                if self.state == _POLLING_READING:
                    wait_read(fd)
                elif self.state == _POLLING_WRITING:
                    wait_write(fd)
                self.state = lib.poll(self.handle)
                if self.state == _POLLING_OK:
                    return True
                if self.state == _POLLING_FAILED:
                    message = (lib.error(self.handle) or b"").decode(errors="replace").strip()
                    log.warning("cancelling a query failed: %s", message)
                    return False
        return False

    def finish(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            self.lib.finish(handle)

    def complete_in_background(self, timeout: float) -> None:
        try:
            if not self.run(timeout):
                log.warning("a query's cancel request did not complete within %ss", timeout)
        finally:
            self.finish()


def cancel(conn: Any, timeout: float | None = None) -> bool:
    """Ask the server to cancel the query running on ``conn``; True when it was asked.

    Green with libpq >= 17: the request goes on a connection of its own,
    polled on the hub.  The caller waits for it at most :data:`CANCEL_WAIT`
    seconds; if the server is that slow to take it (or an exception
    interrupts the wait), a background greenlet goes on until ``timeout``
    seconds (default :data:`CANCEL_TIMEOUT`) have passed, and this returns
    False.  With an older libpq, ``conn.cancel()`` blocks the hub for one
    round trip.  Never raises an ``Exception``: a failure is logged and
    False returned.
    """
    if timeout is None:
        timeout = CANCEL_TIMEOUT
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
    handle = lib.create(ptr)
    if not handle:
        log.warning("cancelling a query failed: out of memory")
        return False
    request = _Cancel(lib, handle)
    if not lib.start(handle):
        message = (lib.error(handle) or b"").decode(errors="replace").strip()
        request.finish()
        log.warning("cancelling a query failed: %s", message)
        return False
    wait = min(timeout, CANCEL_WAIT)
    try:
        done = request.run(wait)
    except BaseException:
        gevent.spawn(request.complete_in_background, timeout)
        raise
    if done or request.state == _POLLING_FAILED or wait >= timeout:
        request.finish()
        if not done and request.state != _POLLING_FAILED:
            log.warning("a query's cancel request did not complete within %ss", timeout)
        return done
    gevent.spawn(request.complete_in_background, timeout - wait)
    return False


def _interrupted(conn: Any) -> None:
    """An exception arrived while psycopg2 waited on ``conn``: leave nothing running."""
    if not conn.closed:
        if conn.status in _CANCELLABLE:
            # Interrupted while the server works on a query: cancel it there
            # before psycopg2 closes the connection under it.
            cancel(conn)
        else:
            # Interrupted while connecting: close now.  The traceback (kept by
            # a dead greenlet, say) holds this frame, so the half-made
            # connection would otherwise live, and keep its server backend,
            # until the garbage collector came by.
            conn.close()


# fd -> [weakref to its connection, the loop, read watcher, write watcher].
# A connection waits on the same socket for its whole life once connected,
# so its two libev watchers are made once and reused: making and closing a
# watcher on every wait was about a twentieth of a green query's client
# CPU (~1 of ~20 µs at 1,000 greenlets).  An entry is
# trusted only for the same connection object on the same loop; a new
# connection that gets a recycled fd number gets fresh watchers (libev must
# be told the fd is a new one).
_watchers: dict[int, list[Any]] = {}


def _watcher_for(conn: Any, fd: int, loop: Any, write: bool) -> Any:
    entry = _watchers.get(fd)
    if entry is None or entry[0]() is not conn or entry[1] is not loop:
        if entry is not None:
            entry[2].close()
            entry[3].close()
        entry = [weakref.ref(conn), loop, loop.io(fd, 1), loop.io(fd, 2)]
        _watchers[fd] = entry
    return entry[3] if write else entry[2]


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
    pid = getpid()
    try:
        while True:
            state = conn.poll()
            if state == _POLL_OK:
                return
            if state == _POLL_READ:
                write = False
            elif state == _POLL_WRITE:
                write = True
            else:
                raise psycopg2.OperationalError(f"bad result from poll: {state!r}")
            fd = conn.fileno()
            if timeout is not None or conn.status == ext.STATUS_SETUP:
                # While connecting, libpq may swap sockets (another address,
                # SSL refused): a fresh watcher for each wait.
                (wait_write if write else wait_read)(fd, timeout)
                if getpid() != pid:
                    raise _ForkedWait(fd)
                continue
            hub = get_hub()
            watcher = _watcher_for(conn, fd, hub.loop, write)
            watcher.start(getcurrent().switch)
            try:
                # Whatever wakes this greenlet, the loop polls again, so a
                # stray switch costs one poll, never a wrong answer.
                hub.switch()
            finally:
                watcher.stop()
            if getpid() != pid:
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
    if current is None or current is gevent_wait_callback:
        ext.set_wait_callback(greenpool_wait_callback)
    elif not hasattr(current, "greenpool_inner"):
        ext.set_wait_callback(_make_callback(current))

