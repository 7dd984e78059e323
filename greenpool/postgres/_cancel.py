"""A query's cancel request, sent greenly: libpq 17's non-blocking cancel API, for both drivers.

Cancelling a query means opening a connection of its own to the server and
sending the running backend's key on it.  libpq 17 (which psycopg2-binary
and psycopg-binary bundle) does that without blocking: ``PQcancelStart``,
then ``PQcancelPoll`` whenever the socket is ready, like a connect.  Each
driver starts the request on its own handle (:class:`Handle`); :func:`send`
drives it on the hub.  The interrupted caller waits for it at most
:data:`CANCEL_WAIT` seconds; a background greenlet finishes a slower one
within :data:`CANCEL_TIMEOUT`, and so does an exception arriving during
the caller's wait.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Protocol

import gevent
from gevent.socket import wait_read, wait_write

__all__ = ["CANCEL_TIMEOUT", "CANCEL_WAIT", "Handle", "interrupted", "mark_interrupted", "send"]

log = logging.getLogger("greenpool.postgres")

#: Seconds a cancel request may take, in all, before it is given up.
CANCEL_TIMEOUT = 5.0
#: Seconds the interrupted caller waits for its cancel request; a slower one
#: is finished by a background greenlet.
CANCEL_WAIT = 0.5

# libpq's PostgresPollingStatusType
FAILED = 0
READING = 1
WRITING = 2
OK = 3


# Connections whose query an exception interrupted (a gevent.Timeout, a
# kill): greenpool cancelled the query and closed the connection.  The pool
# reads it on return: such a connection is closed by the client, not by a
# server that failed, and a transaction on it was rolled back.
_INTERRUPTED: weakref.WeakSet[Any] = weakref.WeakSet()


def mark_interrupted(conn: Any) -> None:
    """Record that an exception interrupted a query on ``conn`` (it is being closed)."""
    _INTERRUPTED.add(conn)


def interrupted(conn: Any) -> bool:
    """True when greenpool closed ``conn`` because an exception interrupted its query."""
    return conn in _INTERRUPTED


class Handle(Protocol):
    """A started cancel request (libpq's ``PGcancelConn``), as each driver exposes it."""

    def poll(self) -> int:
        """``PQcancelPoll``: one of :data:`FAILED`, :data:`READING`, :data:`WRITING`, :data:`OK`."""

    def fileno(self) -> int:
        """``PQcancelSocket``: the socket to wait on now (it may change between polls)."""

    def error(self) -> str:
        """``PQcancelErrorMessage``."""

    def finish(self) -> None:
        """``PQcancelFinish``: close the request and free it.  Called once."""


class _Request:
    """A cancel request in progress, owning its handle until :meth:`finish`."""

    __slots__ = ("handle", "state")

    def __init__(self, handle: Handle) -> None:
        self.handle: Handle | None = handle
        self.state = WRITING  # as if the first poll had asked to write

    def run(self, timeout: float) -> bool:
        """Drive the request to its end; True once the server has it."""
        with gevent.Timeout(timeout, False):
            while self.handle is not None:
                handle = self.handle
                if self.state == READING:
                    wait_read(handle.fileno())
                elif self.state == WRITING:
                    wait_write(handle.fileno())
                self.state = handle.poll()
                if self.state == OK:
                    return True
                if self.state == FAILED:
                    log.warning("cancelling a query failed: %s", handle.error().strip())
                    return False
        return False

    def finish(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.finish()

    def complete_in_background(self, timeout: float) -> None:
        try:
            if not self.run(timeout):
                log.warning("a query's cancel request did not complete within %ss", timeout)
        finally:
            self.finish()


def send(handle: Handle, timeout: float | None = None) -> bool:
    """Drive a started cancel request on the hub; True once the server has it.

    Waits at most :data:`CANCEL_WAIT` seconds; a slower request (or one
    whose wait an exception interrupts, the exception going on) is finished
    by a background greenlet until ``timeout`` seconds (default
    :data:`CANCEL_TIMEOUT`) have passed, and this returns False.  The handle
    is finished either way.  A failure is logged, never raised.
    """
    if timeout is None:
        timeout = CANCEL_TIMEOUT
    request = _Request(handle)
    wait = min(timeout, CANCEL_WAIT)
    try:
        done = request.run(wait)
    except BaseException:
        gevent.spawn(request.complete_in_background, timeout)
        raise
    if done or request.state == FAILED or wait >= timeout:
        request.finish()
        if not done and request.state != FAILED:
            log.warning("a query's cancel request did not complete within %ss", timeout)
        return done
    gevent.spawn(request.complete_in_background, timeout - wait)
    return False
