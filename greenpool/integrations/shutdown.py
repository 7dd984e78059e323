"""Closing pools and clients when a worker process ends.

A gunicorn worker or a Celery worker process that ends should close its
connections itself: PostgreSQL then gets a goodbye instead of an unexpected
end of file (which it logs), and nothing is left half-written.  The
runners' hooks (:mod:`greenpool.integrations.gunicorn`,
:mod:`greenpool.integrations.celery`) call :func:`close_all`, which closes

1. what the application handed to :func:`register` (any object with a
   ``close()``: a greenpool client, or anything else that must close with
   the worker), newest first; then
2. every greenpool pool and client still alive in this process, registered
   or not: checkout pools, the Redis client's shared and dedicated
   connections, Tarantool connections and pools, PostgreSQL pools (their
   servers' pools and role monitors).  Pools first, then any connection
   left outside a pool, so that no pool starts reconnecting a connection
   this closes.

Sockets inherited across ``fork()`` were severed in the child when it was
forked (see :mod:`greenpool._fork`): closing them sends nothing to the
server; the parent's connections are untouched.

Connections checked out at that moment are closed when given back, or by
the process's exit.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from .._fork import registered
from ..transport.connection import DISCONNECTED, Connection

__all__ = ["close_all", "register", "registered_objects", "unregister"]

log = logging.getLogger("greenpool.shutdown")

T = TypeVar("T")

_REGISTERED: list[Any] = []


def register(obj: T) -> T:
    """Close ``obj`` (anything with a ``close()`` method) in :func:`close_all`; return it.

    ``r = register(Redis.from_url(url))`` in an application module.  The
    object is held until :func:`close_all` or :func:`unregister`.
    Registering it again does nothing.  Greenpool's own pools and clients
    are closed by :func:`close_all` whether registered or not; register
    them to have them closed first, through their own ``close()``.  Raises
    ``TypeError`` for an object without a callable ``close``.
    """
    if not callable(getattr(obj, "close", None)):
        raise TypeError(f"register(): {type(obj).__name__} has no close() method")
    if not any(known is obj for known in _REGISTERED):
        _REGISTERED.append(obj)
    return obj


def unregister(obj: Any) -> None:
    """Forget ``obj``: :func:`close_all` will not close it (unless it is greenpool's own)."""
    _REGISTERED[:] = [known for known in _REGISTERED if known is not obj]


def registered_objects() -> list[Any]:
    """What :func:`register` holds now, oldest first."""
    return list(_REGISTERED)


def close_all(*, everything: bool = True) -> int:
    """Close every registered object, then (``everything``) every greenpool pool and client.

    Returns how many of them were open (as far as each tells).  An error from one ``close()``
    is logged and the rest are still closed.  Never raises; blocks only as
    long as the objects' ``close()`` methods do (greenpool's don't, beyond
    psycopg2 sending its goodbye).  Call it in the process that ends, not
    in a parent that will fork again: closed pools stay closed in children
    forked later.
    """
    closed = 0
    mine, _REGISTERED[:] = list(_REGISTERED), []
    for obj in reversed(mine):
        closed += _close(obj, "close")
    if everything:
        # Pools (and the Tarantool and role-monitor owners of connections)
        # first; plain transport connections last: one closed before its
        # pool would be reconnected by it.
        found = registered()
        owners = [o for o in found if not isinstance(o, Connection)]
        loose = [o for o in found if isinstance(o, Connection)]
        for obj in owners + loose:
            if any(obj is m for m in mine):
                continue
            # Everything greenpool registers has close(), except the
            # PostgreSQL role monitor, which has stop().
            closed += _close(obj, "close" if hasattr(obj, "close") else "stop")
    if closed:
        log.info("greenpool: closed %d pools and clients", closed)
    return closed


def _close(obj: Any, method: str) -> int:
    """Close ``obj``; 1 if it was open (as far as it tells), else 0."""
    was_open = not _looks_closed(obj)
    try:
        getattr(obj, method)()
    except Exception:
        log.exception("greenpool: closing %s failed", type(obj).__name__)
        return 0
    return int(was_open)


def _looks_closed(obj: Any) -> bool:
    if isinstance(obj, Connection):
        return obj.state == DISCONNECTED
    try:
        flag = getattr(obj, "closed", None)
        if isinstance(flag, bool):
            return flag
        is_closed = getattr(obj, "is_closed", None)
        return bool(is_closed()) if callable(is_closed) else False
    except Exception:
        return False
