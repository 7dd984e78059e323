"""A real server process that answers every read with fixed bytes.

Used where a fault can't come from a real database: malformed replies,
replies to nobody, a peer that closes after its first answer.  Run as
``python scripted_server.py PORT HEX_REPLY [close]``; it serves until
killed.  :func:`start` launches it on a free loopback port and waits until
it listens.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

from greenpool.testing import ScriptServer


def _serve(port: int, reply: bytes, close_after: bool) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)

    def handle(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(reply)
                if close_after:
                    return

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


class ScriptedServer(ScriptServer):
    """A handle on the process: ``address``, ``stop()``."""

    def __init__(self, reply: bytes, close_after: bool = False) -> None:
        super().__init__(str(Path(__file__)), reply.hex(), *(["close"] if close_after else []))


if __name__ == "__main__":
    _serve(int(sys.argv[1]), bytes.fromhex(sys.argv[2]), len(sys.argv) > 3)
