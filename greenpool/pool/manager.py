"""A registry of one live connection per address, in Hazelcast's shape.

* :class:`ConnectionManager` keeps at most one connection per address.
  :meth:`~ConnectionManager.get_or_connect` returns a gevent ``AsyncResult``;
  concurrent callers asking for the same address share one connect.
* :class:`AddressProvider` says where to start (``load_addresses()``).
* :class:`AddressTranslator` maps the address a caller names to the one to
  dial (``translate()``, ``refresh()``): :class:`DefaultAddressTranslator`
  changes nothing; :class:`TableAddressTranslator` remaps from a table, for
  servers behind NAT or a port forward.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gevent
from gevent.event import AsyncResult

from .._util import call_listener
from ..address import Address, parse_address, parse_server_list
from ..errors import ConfigurationError, ConnectionError
from ..transport.connection import Connection

__all__ = [
    "AddressProvider",
    "AddressTranslator",
    "ConnectionManager",
    "DefaultAddressProvider",
    "DefaultAddressTranslator",
    "TableAddressTranslator",
]

log = logging.getLogger("greenpool.manager")


class AddressProvider:
    """Where a client starts: the addresses it may connect to."""

    def load_addresses(self) -> list[Address]:
        """Return the candidate addresses (raise ConfigurationError if there are none)."""
        raise NotImplementedError


class DefaultAddressProvider(AddressProvider):
    """Addresses from a list (or a callable returning one), read on every call."""

    def __init__(self, addresses: Any) -> None:
        parse_server_list(addresses, argument="addresses")  # fail early on a bad list
        self._source = addresses

    def load_addresses(self) -> list[Address]:
        return parse_server_list(self._source, argument="addresses")


class AddressTranslator:
    """Maps an address to the one to dial."""

    def translate(self, address: Address) -> Address | None:
        """The address to dial, or None when the address is unknown."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Reload the mapping, if it comes from somewhere."""


class DefaultAddressTranslator(AddressTranslator):
    """Changes nothing."""

    def translate(self, address: Address) -> Address | None:
        return address

    def refresh(self) -> None:
        return None


class TableAddressTranslator(AddressTranslator):
    """Remaps addresses from a table: ``{"10.0.0.5:6379": "127.0.0.1:16379"}``.

    ``table`` is a mapping, or a callable returning one (read again by
    :meth:`refresh`, and once more on a miss).  Unlisted addresses are kept
    as they are, unless ``strict`` is set, in which case they translate to
    None.
    """

    def __init__(self, table: Mapping[Any, Any] | Callable[[], Mapping[Any, Any]],
                 *, strict: bool = False) -> None:
        self._source = table
        self._strict = strict
        self._table: dict[Address, Address] = {}
        self.refresh()

    def refresh(self) -> None:
        table = self._source() if callable(self._source) else self._source
        if not isinstance(table, Mapping):
            raise ConfigurationError("table", table, "must be a mapping of address to address")
        self._table = {
            parse_address(k, argument="table"): parse_address(v, argument="table")
            for k, v in table.items()
        }

    def translate(self, address: Address) -> Address | None:
        found = self._table.get(address)
        if found is None and callable(self._source):
            self.refresh()
            found = self._table.get(address)
        if found is None:
            return None if self._strict else address
        return found


class ConnectionManager:
    """One live :class:`Connection` per address, made on demand and shared.

    ``new_connection(address)`` makes a new, not yet connected connection to
    the (translated) address.
    """

    def __init__(
        self,
        new_connection: Callable[[Address], Connection],
        *,
        address_translator: AddressTranslator | None = None,
        address_provider: AddressProvider | None = None,
    ) -> None:
        if not callable(new_connection):
            raise ConfigurationError("new_connection", new_connection, "must be callable")
        self._new_connection = new_connection
        self.address_translator = address_translator or DefaultAddressTranslator()
        self.address_provider = address_provider
        self.connections: dict[Address, Connection] = {}
        self._pending: dict[Address, AsyncResult] = {}
        self._opened: list[Callable[[Connection], Any]] = []
        self._closed_listeners: list[Callable[[Connection, BaseException | None], Any]] = []
        self._shut = False

    def add_listener(
        self,
        on_connection_opened: Callable[[Connection], Any] | None = None,
        on_connection_closed: Callable[[Connection, BaseException | None], Any] | None = None,
    ) -> None:
        """Register callbacks for opened and closed connections (added twice: called twice)."""
        if on_connection_opened is not None:
            self._opened.append(on_connection_opened)
        if on_connection_closed is not None:
            self._closed_listeners.append(on_connection_closed)

    def get_connection(self, address: Any) -> Connection | None:
        """The live connection to ``address``, or None.  Never connects, never blocks."""
        conn = self.connections.get(parse_address(address))
        return conn if conn is not None and conn.live() else None

    def get_or_connect(self, address: Any) -> AsyncResult:
        """An ``AsyncResult`` that becomes the live connection to ``address``.

        Already connected: the result is ready at once.  A connect already
        under way for that address: the same result is returned.  Otherwise
        a greenlet connects.  The result holds the exception when connecting
        fails (``ValueError`` when the translator knows no such address).
        """
        addr = parse_address(address)
        result = AsyncResult()
        if self._shut:
            result.set_exception(ConnectionError("connection manager is shut down", str(addr)))
            return result
        conn = self.get_connection(addr)
        if conn is not None:
            result.set(conn)
            return result
        pending = self._pending.get(addr)
        if pending is not None:
            return pending
        self._pending[addr] = result
        gevent.spawn(self._connect, addr, result)
        return result

    def _connect(self, addr: Address, result: AsyncResult) -> None:
        try:
            target = self.address_translator.translate(addr)
            if target is None:
                raise ValueError(f"address {addr} could not be translated")
            conn = self._new_connection(target)
            conn.connect()
        except BaseException as exc:
            self._pending.pop(addr, None)
            if isinstance(exc, Exception):
                result.set_exception(exc)
                return
            # This greenlet was killed: the callers waiting on it were not.
            result.set_exception(
                ConnectionError(f"connecting to {addr} was interrupted ({exc!r})", str(addr))
            )
            raise
        self._pending.pop(addr, None)
        old = self.connections.get(addr)
        self.connections[addr] = conn
        if old is not None and old is not conn:
            old.close("replaced")
        conn.add_listener(on_close=lambda c, cause: self._on_close(addr, c, cause))
        for listener in list(self._opened):
            call_listener(log, listener, conn)
        result.set(conn)

    def _on_close(self, addr: Address, conn: Connection, cause: BaseException | None) -> None:
        if self.connections.get(addr) is conn:
            del self.connections[addr]
            for listener in list(self._closed_listeners):
                call_listener(log, listener, conn, cause)

    def close_connection(self, address: Any, cause: BaseException | str | None = None) -> bool:
        """Close the connection to ``address``; True if there was one."""
        conn = self.connections.get(parse_address(address))
        if conn is None:
            return False
        conn.close(cause)
        return True

    def connect_to_any(self, timeout: float | None = None) -> Connection:
        """Connect to the first address from the provider that accepts; return it.

        ``timeout`` bounds the wait for each address (None: each connect's
        own timeout); an address that does not connect in time is skipped
        (its connect goes on in the background).  Raises
        :class:`~greenpool.ConnectionError` naming every address tried.  A
        ``gevent.Timeout`` or ``kill()`` of the caller's own passes through.
        """
        if self.address_provider is None:
            raise ConfigurationError("address_provider", None, "is needed for connect_to_any")
        errors = []
        for addr in self.address_provider.load_addresses():
            result = self.get_or_connect(addr)
            # wait(), not get(timeout=): the caller's own gevent.Timeout passes through.
            result.wait(timeout)
            if not result.ready():
                errors.append(f"{addr}: not connected within {timeout}s")
                continue
            try:
                conn: Connection = result.get(block=False)
                return conn
            except Exception as exc:
                errors.append(f"{addr}: {exc!r}")
        raise ConnectionError("no address accepted a connection: " + "; ".join(errors))

    def shutdown(self) -> None:
        """Close every connection; later get_or_connect calls fail."""
        self._shut = True
        for conn in list(self.connections.values()):
            conn.close("connection manager shut down")
        self.connections.clear()

    def live_connections(self) -> Iterable[Connection]:
        """The live connections (for a :class:`~greenpool.pool.heartbeat.Heartbeat`)."""
        return [c for c in self.connections.values() if c.live()]


