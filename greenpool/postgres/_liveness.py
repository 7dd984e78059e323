"""Is an idle PostgreSQL connection still alive?  Answered without a round trip.

An idle connection has nothing to read: the server speaks only when asked.
So a socket that polls readable means the server went away (end of file,
or a FATAL ``ErrorResponse`` such as "terminating connection due to
administrator command" sent by a server shutting down) or that something
unexpected arrived (a notice, a notification, a parameter change).  Either
way the connection is not handed out; only the first kind says the *server*
failed, which lets the pool drop every other connection made before it.

One ``poll(2)`` with a zero timeout per check; a peek at the pending bytes
only when the socket is readable.  The original, unpatched ``select`` and
``socket`` modules are used, so gevent's monkey patching doesn't matter.
"""

from __future__ import annotations

import enum
import socket as _socket_module
from typing import Any

from gevent.monkey import get_original

from ..dbapi import TxState, transaction_state

__all__ = ["Liveness", "probe"]

_poll: Any = get_original("select", "poll")
_socket: Any = get_original("socket", "socket")
_POLLIN = 0x001
_POLLERR_HUP = 0x008 | 0x010 | 0x020  # POLLERR | POLLHUP | POLLNVAL
_PEEK = _socket_module.MSG_PEEK | _socket_module.MSG_DONTWAIT


class Liveness(enum.Enum):
    """What :func:`probe` found."""

    #: Nothing to read, idle, open: fit to hand out.
    ALIVE = 1
    #: Closed, or the server hung up or sent a fatal error: the server may be gone.
    DEAD = 2
    #: Open but not clean (unexpected bytes, or not idle): replace this one only.
    UNFIT = 3


def _peek(fd: int) -> bytes | None:
    """The bytes waiting on ``fd`` (b"" at end of file), or None if it can't be read."""
    sock = _socket(fileno=fd)
    try:
        return bytes(sock.recv(1024, _PEEK))
    except BlockingIOError:
        return None
    except OSError:
        return b""
    finally:
        sock.detach()


def probe(conn: Any) -> Liveness:
    """Check an idle psycopg2 or psycopg 3 connection without talking to the server.

    Never blocks.
    """
    if conn.closed:
        return Liveness.DEAD
    try:
        fd = conn.fileno()
    except Exception:
        return Liveness.DEAD
    poller = _poll()
    poller.register(fd, _POLLIN)
    events = poller.poll(0)
    if events:
        flags = events[0][1]
        data = _peek(fd)
        if flags & _POLLERR_HUP or data == b"" or (data is not None and data[:1] == b"E"):
            return Liveness.DEAD
        if data:
            return Liveness.UNFIT
    if transaction_state(conn) is not TxState.IDLE:
        return Liveness.UNFIT
    return Liveness.ALIVE
