"""Server addresses: TCP host and port (IPv4, IPv6, names) or a unix socket path.

:func:`parse_address` accepts every spelling the pools take (``"host:port"``,
``"[::1]:6379"``, ``("host", 6379)``, ``"/run/redis.sock"``,
``"unix:///run/redis.sock"``) and raises :class:`~greenpool.ConfigurationError`
naming the argument for anything else.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

__all__ = ["Address", "AddressLike", "parse_address", "parse_server_list"]


@dataclass(frozen=True)
class Address:
    """Where a server listens: ``host`` and ``port``, or a unix socket ``path``."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    @property
    def is_unix(self) -> bool:
        """True for a unix socket path."""
        return self.path is not None

    @property
    def family(self) -> int:
        """The socket family to connect with (AF_UNIX for a path; AF_INET6 for a v6 literal)."""
        if self.path is not None:
            return socket.AF_UNIX
        if self.host is not None and ":" in self.host:
            return socket.AF_INET6
        return socket.AF_INET

    @property
    def sockaddr(self) -> str | tuple[str, int]:
        """The address in the form ``socket.connect`` takes."""
        if self.path is not None:
            return self.path
        assert self.host is not None and self.port is not None
        return (self.host, self.port)

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}"
        if self.host is not None and ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


AddressLike = Address | str | tuple[str, int]


def _port(argument: str, original: Any, text: Any) -> int:
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise ConfigurationError(argument, original, "port must be an integer") from None
    if isinstance(text, bool) or not 0 < port < 65536:
        raise ConfigurationError(argument, original, "port must be between 1 and 65535")
    return port


def _host_ok(host: str) -> bool:
    # "@" would be a URI's user info (a password, shown wherever the address is);
    # "/" and spaces are never part of a host name.
    return bool(host) and not any(c.isspace() or c in "@/" for c in host)


def parse_address(
    value: Any, *, default_port: int | None = None, argument: str = "address"
) -> Address:
    """Turn one server spelling into an :class:`Address`.

    Raises :class:`~greenpool.ConfigurationError` (naming ``argument``) when the
    value can't be parsed, or has no port and no ``default_port`` is given.
    """
    if isinstance(value, Address):
        return value
    if isinstance(value, tuple):
        if len(value) != 2 or not isinstance(value[0], str) or not value[0]:
            raise ConfigurationError(argument, value, "a tuple must be (host, port)")
        host = value[0].strip("[]")
        if not _host_ok(host):
            raise ConfigurationError(argument, value, "bad host name")
        return Address(host=host, port=_port(argument, value, value[1]))
    if not isinstance(value, str):
        raise ConfigurationError(
            argument, value, "must be 'host:port', '[v6]:port', (host, port) or a socket path"
        )
    text = value.strip()
    if not text:
        raise ConfigurationError(argument, value, "is empty")
    if text.startswith("unix://"):
        text = text[len("unix://"):]
        if not text.startswith("/"):
            raise ConfigurationError(argument, value, "a unix socket path must be absolute")
        return Address(path=text)
    if text.startswith("unix:"):
        text = text[len("unix:"):]
    if text.startswith(("/", "./", "../")):
        return Address(path=text)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ConfigurationError(argument, value, "unclosed '[' in an IPv6 address")
        host, rest = text[1:end], text[end + 1:]
        if not host:
            raise ConfigurationError(argument, value, "empty host")
        if rest == "" and default_port is not None:
            return Address(host=host, port=default_port)
        if not rest.startswith(":"):
            raise ConfigurationError(argument, value, "expected ':port' after ']'")
        return Address(host=host, port=_port(argument, value, rest[1:]))
    if text.count(":") > 1:
        # A bare IPv6 literal: only valid with a default port.
        if default_port is None:
            raise ConfigurationError(argument, value, "write an IPv6 address as '[addr]:port'")
        return Address(host=text, port=default_port)
    host, sep, port_text = text.partition(":")
    if not _host_ok(host):
        raise ConfigurationError(argument, value, "bad host name")
    if not sep:
        if default_port is None:
            raise ConfigurationError(argument, value, "missing ':port'")
        return Address(host=host, port=default_port)
    return Address(host=host, port=_port(argument, value, port_text))


def parse_server_list(
    value: Any, *, default_port: int | None = None, argument: str = "servers"
) -> list[Address]:
    """Parse a list of server spellings (or a callable returning one) into Addresses.

    A callable is called once, here.  Raises ConfigurationError for an empty
    list or any bad entry.
    """
    if callable(value):
        fn: Callable[[], Iterable[Any]] = value
        try:
            value = fn()
        except Exception as exc:
            raise ConfigurationError(argument, fn, f"the callable raised {exc!r}") from exc
    if isinstance(value, (str, tuple, Address)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise ConfigurationError(
            argument, value, "must be a list of servers or a callable"
        ) from None
    if not items:
        raise ConfigurationError(argument, value, "is empty")
    return [parse_address(item, default_port=default_port, argument=argument) for item in items]
