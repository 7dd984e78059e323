"""Where an instance listens and how to reach it: address dicts and TLS options.

:func:`endpoint_from_addr` reads one entry of ``ConnectionPool(addrs=...)``
in tarantool-python's format (``host``, ``port``, ``transport``,
``ssl_key_file``, ``ssl_cert_file``, ``ssl_ca_file``, ``ssl_ciphers``,
``ssl_password``, ``ssl_password_file``, ``auth_type``) plus greenpool's own
keys (``ssl_verify``, ``ssl_check_hostname``, ``ssl_context``), and
returns an :class:`Endpoint`.  Unknown keys are refused, so a typo never
turns TLS off silently.

TLS differs from tarantool-python on one point: the server's certificate
is verified by default, against ``ssl_ca_file`` when given, otherwise
against the system's CAs (tarantool-python verifies only when
``ssl_ca_file`` is given).  ``ssl_verify=False`` turns verification off.
Host names are not checked unless ``ssl_check_hostname=True``: Tarantool
does not check them either.  TLS 1.2 is the minimum.

Secrets (``ssl_password``, the user's password, any secret-named key, even
an unknown one such as ``password``) never appear in a repr or an error
message.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._secrets import mask_value
from ..address import Address, parse_address
from ..errors import ConfigurationError

__all__ = ["SSL_TRANSPORT", "Endpoint", "endpoint_from_addr", "make_ssl_context"]

#: The ``transport`` value that turns TLS on (tarantool-python's spelling).
SSL_TRANSPORT = "ssl"

_TLS_KEYS = (
    "ssl_key_file",
    "ssl_cert_file",
    "ssl_ca_file",
    "ssl_ciphers",
    "ssl_password",
    "ssl_password_file",
    "ssl_verify",
    "ssl_check_hostname",
    "ssl_context",
)
_KNOWN_KEYS = frozenset(("host", "port", "socket_fd", "transport", "auth_type", *_TLS_KEYS))
_AUTH_TYPES = (None, "chap-sha1")


@dataclass(frozen=True)
class Endpoint:
    """One instance: its :class:`~greenpool.Address` and, for TLS, the context to use."""

    address: Address
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None

    def __str__(self) -> str:
        return str(self.address)


def endpoint_from_addr(addr: Any, *, argument: str = "addrs") -> Endpoint:
    """Validate one address dict and build its :class:`Endpoint`.

    ``{"host": "127.0.0.1", "port": 3301}`` for TCP; ``{"host": None,
    "port": "/path/to.sock"}`` for a unix socket; ``"transport": "ssl"`` and
    the ``ssl_*`` keys for TLS.  Raises
    :class:`~greenpool.ConfigurationError` naming ``argument`` and the
    entry (with any password masked) for anything wrong.
    """
    if not isinstance(addr, Mapping):
        raise ConfigurationError(argument, addr, "each address must be a dict with host and port")
    shown = mask_value(addr)
    unknown = sorted(str(k) for k in addr if k not in _KNOWN_KEYS)
    if unknown:
        raise ConfigurationError(argument, shown, f"unknown key(s) {', '.join(unknown)}")
    if addr.get("socket_fd") is not None:
        raise ConfigurationError(argument, shown, "socket_fd is not supported; give host and port")
    host, port = addr.get("host"), addr.get("port")
    if isinstance(port, str) and host is None:
        if not port:
            raise ConfigurationError(argument, shown, "a unix socket path must not be empty")
        address = Address(path=port)
    elif isinstance(port, int) and not isinstance(port, bool):
        if not isinstance(host, str) or not host:
            raise ConfigurationError(argument, shown, "host must be a non-empty string")
        if not 0 < port < 65536:
            raise ConfigurationError(argument, shown, "port must be between 1 and 65535")
        address = parse_address((host, port), argument=argument)
    elif isinstance(port, str) and port.isdigit() and isinstance(host, str):
        address = parse_address((host, int(port)), argument=argument)
    else:
        raise ConfigurationError(
            argument, shown, "give host and an int port, or host=None and a unix socket path"
        )
    if addr.get("auth_type") not in _AUTH_TYPES:
        raise ConfigurationError(
            argument, shown, "auth_type must be 'chap-sha1' (the only one Tarantool CE has)"
        )
    transport = addr.get("transport")
    if transport not in (None, "", SSL_TRANSPORT):
        raise ConfigurationError(argument, shown, "transport must be '' or 'ssl'")
    tls_given = [k for k in _TLS_KEYS if addr.get(k) is not None]
    if transport != SSL_TRANSPORT:
        if tls_given:
            raise ConfigurationError(
                argument, shown, f"{tls_given[0]} needs transport='ssl'"
            )
        return Endpoint(address)
    context = addr.get("ssl_context")
    if context is not None:
        if not isinstance(context, ssl.SSLContext):
            raise ConfigurationError(argument, shown, "ssl_context must be an ssl.SSLContext")
        others = [k for k in tls_given if k != "ssl_context"]
        if others:
            raise ConfigurationError(argument, shown, f"give ssl_context or {others[0]}, not both")
    else:
        context = make_ssl_context(
            key_file=addr.get("ssl_key_file"),
            cert_file=addr.get("ssl_cert_file"),
            ca_file=addr.get("ssl_ca_file"),
            ciphers=addr.get("ssl_ciphers"),
            password=addr.get("ssl_password"),
            password_file=addr.get("ssl_password_file"),
            # None means "not given", as for Connection's keywords.
            verify=_given(addr, "ssl_verify", True),
            check_hostname=_given(addr, "ssl_check_hostname", False),
        )
    return Endpoint(address, context, address.host)


def make_ssl_context(
    *,
    key_file: str | None = None,
    cert_file: str | None = None,
    ca_file: str | None = None,
    ciphers: str | None = None,
    password: str | None = None,
    password_file: str | None = None,
    verify: bool = True,
    check_hostname: bool = False,
) -> ssl.SSLContext:
    """Build the client TLS context for a Tarantool instance (see the module docstring).

    ``cert_file`` and ``key_file`` (both or neither) present a client
    certificate; an encrypted key is opened with ``password`` or, failing
    that, each line of ``password_file`` in turn.  Raises
    :class:`~greenpool.ConfigurationError` for a bad option or a file that
    can't be loaded (never quoting a password).
    """
    for name, value in (("ssl_verify", verify), ("ssl_check_hostname", check_hostname)):
        if not isinstance(value, bool):
            raise ConfigurationError(name, value, "must be True or False")
    if (cert_file is None) != (key_file is None):
        raise ConfigurationError(
            "ssl_cert_file" if cert_file is None else "ssl_key_file",
            cert_file if cert_file is not None else key_file,
            "ssl_cert_file and ssl_key_file go together",
        )
    if check_hostname and not verify:
        raise ConfigurationError("ssl_check_hostname", True, "needs ssl_verify=True")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    if verify:
        context.verify_mode = ssl.CERT_REQUIRED
        try:
            if ca_file is not None:
                context.load_verify_locations(cafile=os.fspath(ca_file))
            else:
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                "ssl_ca_file", ca_file, f"cannot load: {type(exc).__name__}"
            ) from None
        context.check_hostname = check_hostname
    else:
        context.verify_mode = ssl.CERT_NONE
    if cert_file is not None:
        _load_cert_chain(context, cert_file, key_file, password, password_file)
    if ciphers is not None:
        try:
            context.set_ciphers(ciphers)
        except ssl.SSLError:
            raise ConfigurationError("ssl_ciphers", ciphers, "no usable cipher") from None
    return context


def _load_cert_chain(
    context: ssl.SSLContext,
    cert_file: str,
    key_file: str | None,
    password: str | None,
    password_file: str | None,
) -> None:
    candidates: list[str | None] = []
    if password is not None:
        candidates.append(password)
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as f:
                candidates.extend(line.rstrip("\r\n") for line in f)
        except OSError as exc:
            raise ConfigurationError(
                "ssl_password_file", password_file, f"cannot read: {type(exc).__name__}"
            ) from None
    if not candidates:
        candidates.append(None)
    failure = ""
    for candidate in candidates:
        try:
            if candidate is None:
                context.load_cert_chain(cert_file, key_file, password=_no_prompt)
            else:
                context.load_cert_chain(cert_file, key_file, password=candidate)
            return
        except (OSError, ssl.SSLError, _PromptRefused) as exc:
            failure = type(exc).__name__
    raise ConfigurationError(
        "ssl_cert_file", cert_file,
        f"cannot load the certificate and key ({failure}); an encrypted key needs "
        "ssl_password or ssl_password_file",
    )


class _PromptRefused(Exception):
    pass


def _no_prompt() -> str:
    raise _PromptRefused("the key is encrypted")


def _given(addr: Mapping[str, Any], key: str, default: bool) -> Any:
    value = addr.get(key)
    return default if value is None else value
