"""Pool listeners: pycassa's hooks, called with an event dict.

A listener is any object with some of the methods below, or a dict mapping
hook names to callables.  Each hook receives one ``dict`` holding at least
``pool_id`` (the pool's name), ``pool_name`` (the same), ``level`` (the
suggested logging level: ``"debug"``, ``"info"``, ``"warn"``, ``"error"``)
and the event's own fields.

A listener that raises an ``Exception`` is logged and ignored: it never
breaks the pool.  Hooks run in the greenlet that caused the event; a hook
that blocks delays that greenlet only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigurationError

__all__ = ["HOOKS", "ListenerSet", "PoolListener"]

log = logging.getLogger("greenpool.pool")

HOOKS = (
    "connection_created",
    "connection_checked_out",
    "connection_checked_in",
    "connection_disposed",
    "connection_recycled",
    "connection_failed",
    "server_list_obtained",
    "pool_at_max",
    "pool_disposed",
)

Hook = Callable[[dict[str, Any]], Any]


class PoolListener:
    """Base class documenting the hooks; subclassing it is optional.

    Fields given to every hook: ``pool_id``, ``pool_name``, ``level``.
    """

    def connection_created(self, event: dict[str, Any]) -> None:
        """A new connection was made.  Fields: ``connection``, ``server``."""

    def connection_checked_out(self, event: dict[str, Any]) -> None:
        """A connection was handed to a caller.  Fields: ``connection``."""

    def connection_checked_in(self, event: dict[str, Any]) -> None:
        """A connection came back and was kept.  Fields: ``connection``."""

    def connection_disposed(self, event: dict[str, Any]) -> None:
        """A connection was closed.  Fields: ``connection``, ``message`` (why)."""

    def connection_recycled(self, event: dict[str, Any]) -> None:
        """A connection was replaced after ``recycle`` uses or ``max_lifetime``.

        Fields: ``old_conn``, ``new_conn``.
        """

    def connection_failed(self, event: dict[str, Any]) -> None:
        """Connecting to a server, or an operation in ``execute``, failed.

        Fields: ``server``, ``error``, ``connection`` (None when connecting).
        """

    def server_list_obtained(self, event: dict[str, Any]) -> None:
        """The pool (re)read its server list.  Fields: ``server_list`` (shuffled)."""

    def pool_at_max(self, event: dict[str, Any]) -> None:
        """A caller had to wait because every connection was in use.

        Fields: ``pool_max``.
        """

    def pool_disposed(self, event: dict[str, Any]) -> None:
        """The pool's idle connections were closed (``dispose()`` or ``close()``)."""


class ListenerSet:
    """The hooks registered on one pool, kept per hook so that dispatch is cheap."""

    __slots__ = ("_pool_name", *HOOKS)

    connection_created: tuple[Hook, ...]
    connection_checked_out: tuple[Hook, ...]
    connection_checked_in: tuple[Hook, ...]
    connection_disposed: tuple[Hook, ...]
    connection_recycled: tuple[Hook, ...]
    connection_failed: tuple[Hook, ...]
    server_list_obtained: tuple[Hook, ...]
    pool_at_max: tuple[Hook, ...]
    pool_disposed: tuple[Hook, ...]

    def __init__(self, pool_name: str) -> None:
        self._pool_name = pool_name
        for name in HOOKS:
            setattr(self, name, ())

    def add(self, listener: Any) -> None:
        """Register an object or a dict of callables.

        Raises ConfigurationError for a dict key that is not a hook name or a
        value that is not callable, and for an object with no hook at all.
        """
        found = 0
        if isinstance(listener, Mapping):
            for key, fn in listener.items():
                if key not in HOOKS:
                    raise ConfigurationError(
                        "listeners", listener, f"unknown hook {key!r}; hooks are {', '.join(HOOKS)}"
                    )
                if not callable(fn):
                    raise ConfigurationError("listeners", listener, f"{key!r} is not callable")
                self._append(key, fn)
                found += 1
        else:
            for name in HOOKS:
                fn = getattr(listener, name, None)
                if callable(fn):
                    self._append(name, fn)
                    found += 1
        if not found:
            raise ConfigurationError(
                "listeners", listener, "has none of the hooks " + ", ".join(HOOKS)
            )

    def _append(self, name: str, fn: Hook) -> None:
        setattr(self, name, (*getattr(self, name), fn))

    def fire(self, name: str, level: str, **fields: Any) -> None:
        """Call every hook registered under ``name`` with the event dict.

        Exceptions from a hook are logged and swallowed; BaseExceptions
        (kills, timeouts) propagate, so the caller must be in a consistent
        state when it fires.
        """
        hooks: tuple[Hook, ...] = getattr(self, name)
        if not hooks:
            return
        event = {"pool_id": self._pool_name, "pool_name": self._pool_name, "level": level}
        event.update(fields)
        for hook in hooks:
            try:
                hook(dict(event))
            except Exception:
                log.exception("pool %s: listener %r for %s raised", self._pool_name, hook, name)
