"""The checkout pool's record of one connection: :class:`Entry`.

:class:`~greenpool.Pool` keeps one per open connection, wherever it is
(idle, checked out, being handed over).  A subclass of ``Pool`` receives
entries from the hooks it may call or override (``_checkout``,
``_checkin``, ``_checkin_after_error``; see the ``Pool`` docstring) and may
read, never write: ``conn`` (the connection), ``server`` (its
:class:`~greenpool.pool._servers.Server`), ``created`` (``time.monotonic()``
when it was made), ``uses`` (checkouts so far) and ``depth`` (nested
checkouts of it by its holder, with ``use_local``).  The other fields are
the pool's own bookkeeping.
"""

from __future__ import annotations

from types import FrameType
from typing import Any

from ._servers import Server

__all__ = ["Entry"]


class Entry:
    """The pool's record of one connection (what a subclass may read: see the module)."""

    __slots__ = (
        "closed",
        "conn",
        "created",
        "depth",
        "doomed",
        "expires",
        "frame",
        "generation",
        "key",
        "out_at",
        "owner",
        "reported",
        "server",
        "stale_at",
        "uses",
    )

    def __init__(self, conn: Any, server: Server, created: float, expires: float) -> None:
        self.conn = conn
        self.key = id(conn)
        self.server = server
        self.created = created
        self.expires = expires
        self.stale_at = expires
        self.uses = 0
        self.owner: Any = None
        self.out_at = 0.0
        self.depth = 0
        self.frame: FrameType | None = None
        self.doomed = False
        self.closed = False
        self.reported = False
        self.generation = 0  # the pool's generation it was made in (see Pool._forget_inherited)
