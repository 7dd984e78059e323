"""Making psycopg2 green under gevent, and interruptible without leaving a query running.

psycopg2 blocks the whole hub unless a *wait callback* is installed; then it
drives every network wait through that callback, and psycogreen's gevent
callback turns the waits into gevent waits.  :func:`ensure_green` installs,
once, a callback that wraps psycogreen's (or whatever callback the
application installed first) and adds one thing: when an exception (a
``gevent.Timeout``, ``kill()``, KeyboardInterrupt ...) arrives while a query
runs, the query is cancelled *on the server* before the exception goes on.
psycopg2 then closes the connection: without the cancel, the server would
keep running the query after the client has gone.

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
from collections.abc import Callable
from typing import Any

import gevent
import psycopg2.extensions as ext
from gevent.socket import wait_read, wait_write
from psycogreen.gevent import gevent_wait_callback

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


def _make_callback(inner: WaitCallback) -> WaitCallback:
    def greenpool_wait_callback(conn: Any, timeout: Any = None) -> None:
        try:
            inner(conn, timeout)
        except BaseException:
            if not conn.closed:
                if conn.status in _CANCELLABLE:
                    # Interrupted while the server works on a query: cancel it
                    # there before psycopg2 closes the connection under it.
                    cancel(conn)
                else:
                    # Interrupted while connecting: close now.  The traceback
                    # (kept by a dead greenlet, say) holds this frame, so the
                    # half-made connection would otherwise live, and keep its
                    # server backend, until the garbage collector came by.
                    conn.close()
            raise

    greenpool_wait_callback.greenpool_inner = inner  # type: ignore[attr-defined]
    return greenpool_wait_callback


def is_green() -> bool:
    """True when greenpool's cancelling wait callback is installed in psycopg2."""
    return hasattr(ext.get_wait_callback(), "greenpool_inner")


def ensure_green() -> None:
    """Install the gevent wait callback in psycopg2, once; cheap to call again.

    psycogreen's gevent callback does the waiting.  A callback installed
    earlier by the application (``psycogreen.gevent.patch_psycopg()`` or its
    own) is kept and wrapped, not replaced.  Blocks never.
    """
    current = ext.get_wait_callback()
    if current is None:
        ext.set_wait_callback(_make_callback(gevent_wait_callback))
    elif not hasattr(current, "greenpool_inner"):
        ext.set_wait_callback(_make_callback(current))

