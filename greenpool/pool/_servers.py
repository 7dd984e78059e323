"""The servers a checkout pool connects to: :class:`Server` and :class:`ServerList`.

A pool made without ``servers`` has one unnamed server (its ``connect()``
takes no address).  With ``servers`` the list is shuffled once, so that
many processes don't all start on the same server, then used round robin:
each new connection goes to the next server, and a failed connect moves on
to the one after.  A server's :attr:`Server.invalid_before` marks the moment
a failure showed it went away: connections to it made before then are
suspect, and the pool drops them.

Records for subclasses of :class:`~greenpool.Pool` (``DBAPIPool``,
``PostgresPool``'s per-server pools): they may read both classes and call
:meth:`ServerList.first`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from ..address import Address, parse_server_list

__all__ = ["Server", "ServerList"]


class Server:
    """A server in the list, and the time before which its connections are suspect.

    ``address`` is None for the one unnamed server of a pool without
    ``servers``; ``invalid_before`` is a ``time.monotonic()`` instant.
    """

    __slots__ = ("address", "invalid_before")

    def __init__(self, address: Address | None) -> None:
        self.address = address
        self.invalid_before = -float("inf")

    def __str__(self) -> str:
        return str(self.address) if self.address is not None else "(connect)"


class ServerList:
    """The servers, in the order they are used, and whose turn is next.

    ``with_address`` is True once a list was given: ``connect`` is then
    called with the server's address.  ``source`` is what was given (a
    list, or a callable returning one).
    """

    __slots__ = ("_next", "_servers", "source", "with_address")

    def __init__(self) -> None:
        self._servers = [Server(None)]
        self._next = 0
        self.source: Any = None
        self.with_address = False

    def __len__(self) -> int:
        return len(self._servers)

    def __iter__(self) -> Iterator[Server]:
        return iter(self._servers)

    def first(self) -> Server:
        """The first server (the only one of a pool without ``servers``)."""
        return self._servers[0]

    def replace(self, servers: Any) -> list[Address]:
        """Use ``servers`` (a list, or a callable returning one) from now on; return it parsed.

        Shuffled; a server still listed keeps its record (and its
        ``invalid_before``).  Raises :class:`~greenpool.ConfigurationError`
        for an empty or bad list.
        """
        addresses = parse_server_list(servers, argument="servers")
        random.shuffle(addresses)
        old = {s.address: s for s in self._servers}
        self._servers = [old.get(a) or Server(a) for a in addresses]
        self._next = 0
        self.source = servers
        self.with_address = True
        return addresses

    def rotation(self) -> Iterator[Server]:
        """Each server once, from the one whose turn it is; each one taken moves the turn on."""
        servers = self._servers
        for _ in range(len(servers)):
            server = servers[self._next % len(servers)]
            self._next += 1
            yield server

    def addresses(self) -> list[Address]:
        """The listed servers' addresses, in the order they are used (empty without a list)."""
        return [s.address for s in self._servers if s.address is not None]
