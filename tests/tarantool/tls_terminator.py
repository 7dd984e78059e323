"""A TLS front for a Tarantool that has none (TLS is in Tarantool Enterprise only).

Run as ``python tls_terminator.py PORT CERT KEY TARGET_PORT``: it accepts TLS
on PORT with CERT/KEY and relays the plain bytes to 127.0.0.1:TARGET_PORT.
:class:`TlsTerminator` starts it on a free port and waits until it listens.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from pathlib import Path

from greenpool.testing import ScriptServer


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _serve(port: int, cert: str, key: str, target: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    while True:
        raw, _ = listener.accept()

        def start(raw: socket.socket = raw) -> None:
            try:
                tls = context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                return
            upstream = socket.create_connection(("127.0.0.1", target))
            threading.Thread(target=_pipe, args=(upstream, tls), daemon=True).start()
            _pipe(tls, upstream)

        threading.Thread(target=start, daemon=True).start()


class TlsTerminator(ScriptServer):
    """A handle on the process: ``port``, ``stop()``."""

    def __init__(self, cert: str, key: str, target_port: int) -> None:
        super().__init__(str(Path(__file__)), cert, key, str(target_port))


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))
