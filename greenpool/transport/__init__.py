"""Layer 2: transport.  Green sockets, TLS, and the shared :class:`Connection`.

* :class:`Connection`: one socket, one reader greenlet, a writer that sends
  every request queued in one hub iteration together; requests from any
  number of greenlets, each getting its own reply.
* :func:`make_ssl_context`: TLS settings with verification on by default.

This layer knows no protocol (codecs are passed in) and imports no pool.
"""

from __future__ import annotations

from .connection import Codec, Connection
from .tls import cert_reqs_mode, make_ssl_context, wrap_green

__all__ = ["Codec", "Connection", "cert_reqs_mode", "make_ssl_context", "wrap_green"]
