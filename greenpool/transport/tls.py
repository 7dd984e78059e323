"""TLS settings for green connections.

:func:`make_ssl_context` builds an ``ssl.SSLContext`` from the usual options,
with certificate and host-name verification **on** by default.
:func:`wrap_green` wraps a connected gevent socket with any context (a
stdlib one included) so that the TLS socket stays cooperative.

A switch that weakens verification takes only what says so plainly:
``check_hostname`` only a bool (``""`` or ``"no"`` is a
:class:`~greenpool.ConfigurationError`, never a silent off or on), and
``cert_reqs`` only ``"required"``, ``"optional"``, ``"none"`` or an
``ssl.CERT_*`` constant (not ``True``/``False``, which equal
``CERT_OPTIONAL``/``CERT_NONE``).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from gevent import ssl as gssl

from .._util import check_bool
from ..errors import ConfigurationError

__all__ = ["cert_reqs_mode", "make_ssl_context", "wrap_green"]

_CERT_REQS = {
    "required": ssl.CERT_REQUIRED,
    "optional": ssl.CERT_OPTIONAL,
    "none": ssl.CERT_NONE,
}


def cert_reqs_mode(cert_reqs: Any, argument: str = "ssl_cert_reqs") -> ssl.VerifyMode:
    """Return the ``ssl.VerifyMode`` that ``cert_reqs`` names.

    Takes ``"required"``, ``"optional"``, ``"none"`` (any case) or one of the
    ``ssl.CERT_*`` constants; raises :class:`~greenpool.ConfigurationError`
    naming ``argument`` for anything else, ``True`` and ``False`` included.
    """
    if isinstance(cert_reqs, str) and cert_reqs.lower() in _CERT_REQS:
        return _CERT_REQS[cert_reqs.lower()]
    if isinstance(cert_reqs, int) and not isinstance(cert_reqs, bool) and cert_reqs in (
        ssl.CERT_NONE, ssl.CERT_OPTIONAL, ssl.CERT_REQUIRED
    ):
        return ssl.VerifyMode(cert_reqs)
    raise ConfigurationError(argument, cert_reqs, "use required, optional or none")


def make_ssl_context(
    *,
    ca_certs: str | os.PathLike[str] | None = None,
    ca_path: str | os.PathLike[str] | None = None,
    ca_data: str | bytes | None = None,
    certfile: str | os.PathLike[str] | None = None,
    keyfile: str | os.PathLike[str] | None = None,
    password: str | None = None,
    cert_reqs: str | int = "required",
    check_hostname: bool = True,
    ciphers: str | None = None,
    minimum_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """Return a client ``SSLContext``.

    ``ca_certs`` is a CA bundle to trust, ``ca_path`` a directory of CA
    certificates, ``ca_data`` CA certificates given inline (PEM text or DER
    bytes); with none of the three, the system's are trusted;
    ``certfile``/``keyfile`` (with ``password`` for an encrypted key) present
    a client certificate.  ``cert_reqs`` is ``"required"`` (default),
    ``"optional"`` or ``"none"`` (see :func:`cert_reqs_mode`);
    ``check_hostname`` (a bool) defaults to True and is turned off only
    with ``cert_reqs="none"``.  Raises :class:`~greenpool.ConfigurationError`
    for bad values or unreadable files.
    """
    reqs = cert_reqs_mode(cert_reqs)
    check_bool("ssl_check_hostname", check_hostname)
    if keyfile is not None and certfile is None:
        raise ConfigurationError("ssl_keyfile", keyfile, "needs ssl_certfile too")
    which: str = "ssl_ca_certs"
    value: Any = ca_certs
    try:
        ctx = gssl.create_default_context(gssl.Purpose.SERVER_AUTH, cafile=ca_certs,
                                          capath=ca_path)
        if ca_data is not None:
            which, value = "ssl_ca_data", ca_data
            ctx.load_verify_locations(cadata=ca_data)
        if certfile is not None:
            which, value = "ssl_certfile", certfile
            ctx.load_cert_chain(certfile, keyfile, password=password)
    except (OSError, ssl.SSLError, TypeError, ValueError) as exc:
        if which == "ssl_ca_certs" and ca_certs is None:
            which, value = "ssl_ca_path", ca_path
        # exc may quote a password prompt; keep only its class and errno text.
        raise ConfigurationError(which, value, f"cannot load: {type(exc).__name__}") from None
    if reqs == ssl.CERT_NONE:
        ctx.check_hostname = False
    else:
        ctx.check_hostname = check_hostname
    ctx.verify_mode = reqs
    if ciphers is not None:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError:
            raise ConfigurationError("ssl_ciphers", ciphers, "no usable cipher") from None
    if minimum_version is not None:
        ctx.minimum_version = minimum_version
    result: ssl.SSLContext = ctx
    return result


def wrap_green(sock: Any, context: ssl.SSLContext, server_hostname: str | None) -> Any:
    """Wrap a connected gevent socket in TLS and do the handshake (cooperatively).

    Works with a stdlib ``SSLContext`` as well as gevent's.  Raises
    ``ssl.SSLError`` (a verification failure included) or ``OSError``.
    """
    return gssl.SSLSocket(sock=sock, server_hostname=server_hostname, _context=context)
