"""Each connection's socket watchers, kept between waits: for both drivers' green waits.

A connection waits on the same socket for its whole life once connected,
so its libev watchers are made once and reused: making and closing a
watcher on every wait was about a twentieth of a green psycopg2 query's
client CPU (~1 of ~20 µs at 1,000 greenlets).

The book is keyed by file descriptor, as the kernel's are.  An entry is
trusted only for the same connection object on the same loop: a new
connection that gets a recycled fd number gets fresh watchers (libev must
be told the fd is a new one), and an entry whose connection was collected
or closed says nothing about whoever holds that number now.  Only the
greenlet that waits on a connection starts and stops its watchers, and it
stops them before it runs anything else, so a kept watcher is never left
active.
"""

from __future__ import annotations

import weakref
from typing import Any

__all__ = ["Watched", "entry_of", "kept", "peek"]

#: libev's event masks, indexes into :attr:`Watched.io`.
READ = 1
WRITE = 2


class Watched:
    """One connection's socket on one loop: its watchers by event mask (1 read, 2 write, 3 both)."""

    __slots__ = ("conn", "fd", "io", "loop")

    def __init__(self, conn: Any, fd: int, loop: Any) -> None:
        self.conn = weakref.ref(conn)
        self.fd = fd
        self.loop = loop
        self.io: list[Any] = [None, None, None, None]

    def watcher(self, events: int) -> Any:
        """The kept watcher for ``events``, made on first use."""
        io = self.io[events]
        if io is None:
            io = self.io[events] = self.loop.io(self.fd, events)
        return io

    def close(self) -> None:
        for io in self.io:
            if io is not None:
                io.close()
        self.io = [None, None, None, None]


_by_fd: dict[int, Watched] = {}


#: The entry kept for a file descriptor, unchecked (or None): for a hot path
#: that checks it itself, as :func:`entry_of` does.
peek = _by_fd.get


def kept(conn: Any, fd: int, loop: Any) -> Watched:
    """The watchers of ``conn``'s socket ``fd`` on ``loop``: kept ones, or fresh if stale."""
    entry = _by_fd.get(fd)
    if entry is None or entry.conn() is not conn or entry.loop is not loop:
        if entry is not None:
            entry.close()
        entry = _by_fd[fd] = Watched(conn, fd, loop)
    return entry


def entry_of(fd: int) -> Watched | None:
    """The entry kept for ``fd`` if its connection is still alive and open, else None.

    A stale entry (its connection collected or closed, so ``fd`` may be
    someone else's now) is dropped.
    """
    entry = _by_fd.get(fd)
    if entry is None:
        return None
    conn = entry.conn()
    if conn is None or conn.closed:
        entry.close()
        del _by_fd[fd]
        return None
    return entry
