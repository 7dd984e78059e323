"""``tarantool://`` URLs: where the instances are and how to talk to them, in one string.

The form, for :meth:`ConnectionPool.from_url <greenpool.tarantool.ConnectionPool.from_url>`
and :meth:`Connection.from_url <greenpool.tarantool.Connection.from_url>`::

    tarantool://[user[:password]@]host[:port][,host[:port]...][?option=value&...]
    tarantool://[user[:password]@]/path/to/instance.sock[?option=value&...]

The port defaults to 3301; IPv6 hosts are written ``[::1]:3301``; the user
name and password are percent-decoded (``%40`` for ``@``).  Several hosts
(a replica set) are for the pool only.  Options are the keyword arguments
of the same names: ``socket_timeout``, ``connection_timeout``,
``deadline``, ``reconnect_max_attempts``, ``reconnect_delay``,
``fetch_schema``, ``name``; for the pool also ``refresh_delay``,
``health_timeout``, ``connections_per_instance``; and the per-instance
``transport`` (``ssl`` for TLS), ``auth_type`` and ``ssl_*`` keys of
:func:`~greenpool.tarantool.settings.endpoint_from_addr`, applied to every
host.  The password never appears in an error message.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from .._secrets import mask_secret
from .._urls import query_options
from ..address import parse_address
from ..errors import ConfigurationError

__all__ = ["DEFAULT_PORT", "SCHEME", "parse_url"]

SCHEME = "tarantool://"
#: The port of a host given without one (Tarantool's usual listen port).
DEFAULT_PORT = 3301

# Options and their types: those of every connection, the pool's own, and
# those that go in each instance's address dict.
_CONNECTION = {
    "socket_timeout": float, "connection_timeout": float, "deadline": float,
    "reconnect_max_attempts": int, "reconnect_delay": float, "fetch_schema": bool,
    "name": str,
}
_POOL_ONLY = {"refresh_delay": float, "health_timeout": float, "connections_per_instance": int}
_PER_INSTANCE = {
    "transport": str, "auth_type": str, "ssl_key_file": str, "ssl_cert_file": str,
    "ssl_ca_file": str, "ssl_ciphers": str, "ssl_password": str, "ssl_password_file": str,
    "ssl_verify": bool, "ssl_check_hostname": bool,
}
#: The options only a pool takes (for Connection.from_url to refuse).
POOL_ONLY_OPTIONS = frozenset(_POOL_ONLY)


def parse_url(url: str) -> dict[str, Any]:
    """Turn a ``tarantool://`` URL into :class:`~greenpool.tarantool.ConnectionPool` arguments.

    Returns ``{"addrs": [{"host": ..., "port": ..., <per-instance options>}, ...],
    "user": ..., "password": ..., <other options>}`` (user and password
    only when given).  Raises :class:`~greenpool.ConfigurationError`
    naming ``url`` (its password masked) for anything it can't read.
    """
    if not isinstance(url, str) or not url.startswith(SCHEME):
        raise ConfigurationError("url", url, f"must start with {SCHEME}")
    shown = mask_secret(url)
    rest, _, query = url[len(SCHEME):].partition("?")
    if "#" in rest or "#" in query:
        raise ConfigurationError("url", shown, "a fragment (#...) has no meaning here")
    userinfo, at, hostpart = rest.rpartition("@")
    kwargs: dict[str, Any] = {}
    if at:
        user, colon, password = userinfo.partition(":")
        if not user:
            raise ConfigurationError("url", shown, "a password needs a user name")
        kwargs["user"] = urllib.parse.unquote(user)
        if colon:
            kwargs["password"] = urllib.parse.unquote(password)
    options = query_options(query, {**_CONNECTION, **_POOL_ONLY, **_PER_INSTANCE}, shown=shown)
    per_instance = {k: options.pop(k) for k in list(options) if k in _PER_INSTANCE}
    if hostpart.startswith("/"):
        addrs = [{"host": None, "port": urllib.parse.unquote(hostpart), **per_instance}]
    else:
        hostpart = hostpart.rstrip("/")
        if not hostpart or "/" in hostpart:
            raise ConfigurationError(
                "url", shown, "give host[:port] (several separated by commas) or a socket path"
            )
        addrs = []
        for entry in hostpart.split(","):
            address = parse_address(entry, default_port=DEFAULT_PORT, argument="url")
            addrs.append({"host": address.host, "port": address.port, **per_instance})
    kwargs["addrs"] = addrs
    kwargs.update(options)
    return kwargs
