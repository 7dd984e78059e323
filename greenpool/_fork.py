"""fork(): a child must never read from or write to a socket it inherited.

After ``fork()`` the child holds a copy of every socket the parent had
open: the same kernel socket, shared.  A byte the child writes lands in the
middle of the parent's stream, and a reply the child reads is gone for the
parent, whose caller then waits forever.  Killing the child's copies of the
reader greenlets is not enough: a greenlet whose wake-up was already
pending at the moment of the fork runs before the kill does.

So every object that holds sockets or background greenlets
(:func:`register`) has its ``_forget_inherited()`` called from one
``os.register_at_fork(after_in_child=...)`` hook, before any greenlet of the
child runs, and calls :func:`sever` on every socket it inherited.
:func:`sever` puts ``/dev/null`` in place of the socket's file descriptor
with ``dup2``: the child's reference to the socket is gone at
once (the parent's is untouched), and the descriptor number stays taken
until its Python object is closed or collected, so no other file can take
that number while stale objects still point at it.  Whatever the child
then does with the old object (a ``recv``, a ``send``, a driver's
finaliser sending its goodbye) fails or goes nowhere.

Nothing here imports gevent or a higher layer.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

import gevent

__all__ = ["Inheritor", "fd_of", "register", "registered", "sever"]

log = logging.getLogger("greenpool.fork")

#: Attributes where connection objects of common drivers keep their socket
#: (PyMySQL's ``_sock``, small clients' ``sock``), tried after ``fileno()``.
_SOCKET_ATTRIBUTES = ("_sock", "sock", "socket", "_socket")


def fd_of(conn: Any) -> int | None:
    """The file descriptor of a connection object's socket, or None if it can't be found.

    Tries ``conn.fileno()`` (sockets, psycopg2, psycopg 3), then a socket
    kept in one of the attributes ``_sock``, ``sock``, ``socket``,
    ``_socket``.  Never raises.
    """
    for candidate in (conn, *(getattr(conn, name, None) for name in _SOCKET_ATTRIBUTES)):
        fileno = getattr(candidate, "fileno", None)
        if not callable(fileno):
            continue
        try:
            fd = fileno()
        except Exception:  # closed, or not a socket after all
            continue
        if isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0:
            return fd
    return None


def sever(fds: Iterable[int | None]) -> int:
    """Replace each file descriptor with ``/dev/null``; return how many were replaced.

    For a child process after ``fork()``: the inherited sockets are closed
    in this process without a byte read or written.  ``None`` entries and
    descriptors already closed are skipped.  Never raises.
    """
    wanted = [fd for fd in fds if fd is not None]
    if not wanted:
        return 0
    try:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:  # pragma: no cover - no /dev/null
        log.error("fork: cannot open %s to sever inherited sockets: %r", os.devnull, exc)
        return 0
    count = 0
    try:
        for fd in wanted:
            if fd == null:
                continue
            try:
                os.dup2(null, fd, inheritable=False)
                count += 1
            except OSError:
                pass  # already closed: nothing inherited there
    finally:
        os.close(null)
    return count


class Inheritor(Protocol):
    """An object that must let go of what it inherited in a child after ``fork()``."""

    def _forget_inherited(self) -> None:
        """Sever inherited sockets, forget state, so that the child starts afresh.

        Called in the child, inside ``fork()``, before any greenlet runs: it
        must not block or switch greenlets.  An object that also has
        ``pop_stats()`` has it called next (it must not block either), so
        that the child's counters start from zero.
        """


_INHERITORS: weakref.WeakSet[Any] = weakref.WeakSet()
_OWNERS: weakref.WeakSet[Any] = weakref.WeakSet()


def register(obj: Inheritor, *, owner: bool = True) -> None:
    """Call ``obj._forget_inherited()`` in every child process forked while ``obj`` lives.

    ``owner``: ``obj`` owns connections and has ``close()`` (or ``stop()``),
    and :func:`registered` lists it.  Pass False for an object that only
    holds state to forget (a lock's token, a listener's bookkeeping).
    Held weakly: registering keeps nothing alive.
    """
    _INHERITORS.add(obj)
    if owner:
        _OWNERS.add(obj)


def registered() -> list[Any]:
    """Every owner passed to :func:`register` and still alive in this process, in no set order.

    For closing them all when a worker process ends
    (:mod:`greenpool.integrations.shutdown`).
    """
    return list(_OWNERS)


#: This process's id, kept up to date by the fork hook below: a hot path that
#: compares it before and after a wait (did a fork happen meanwhile?) reads a
#: global instead of making a ``getpid()`` system call each time.
pid = os.getpid()


def _after_fork_in_child() -> None:
    global pid
    pid = os.getpid()
    inheritors = list(_INHERITORS)
    for obj in inheritors:
        try:
            obj._forget_inherited()
        except Exception:  # pragma: no cover - a bug; the rest must still run
            log.exception("fork: %r could not forget what it inherited", obj)
    # A child's stats count what happens in the child: the counters of what
    # the parent did before the fork start again from zero (each worker of a
    # gunicorn --preload master reported the master's connects as its own).
    # pop_stats() only reads and sets attributes.
    for obj in inheritors:
        reset = getattr(obj, "pop_stats", None)
        if reset is not None:
            try:
                reset()
            except Exception:  # pragma: no cover - a bug; the rest must still run
                log.exception("fork: %r could not reset its counters", obj)
    # gevent's hub, prepared for this process.  ``gevent.fork()`` (``os.fork``
    # under monkey patching) does it itself; a plain ``os.fork``
    # (``multiprocessing`` in a process that is not patched) does not, and
    # the child would share the parent's event-loop descriptor and wait for
    # ever on the hub's thread pool (which resolves host names), whose
    # threads stayed in the parent.  ``reinit()`` may run twice; it neither
    # blocks nor switches greenlets.
    try:
        gevent.reinit()
    except Exception:  # pragma: no cover - a bug in gevent; the child must still start
        log.exception("fork: gevent's hub could not be prepared for the child")


os.register_at_fork(after_in_child=_after_fork_in_child)
