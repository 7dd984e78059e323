"""A process that misbehaves like a broken Tarantool, for faults no real server makes.

Run as ``python fake_tarantool.py PORT MODE``; it serves until killed:

* ``garbage``: a valid greeting, then bytes that are not IPROTO in answer
  to the first request;
* ``bad-greeting``: 128 bytes that are not a Tarantool greeting;
* ``silent``: accepts and never says anything.

:func:`start` launches it on a free loopback port and waits until it listens.
"""

from __future__ import annotations

import base64
import socket
import sys
import threading
from pathlib import Path

from greenpool.testing import ScriptServer

GREETING = (
    b"Tarantool 2.6.0 (Binary) 00000000-0000-0000-0000-000000000000".ljust(63) + b"\n"
    + base64.b64encode(b"s" * 32).ljust(63) + b"\n"
)


def _serve(port: int, mode: str) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                if mode == "bad-greeting":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n".ljust(128, b"x"))
                elif mode == "garbage":
                    conn.sendall(GREETING)
                    if conn.recv(65536):
                        conn.sendall(b"\xc1\xc1\xc1 this is not msgpack")
                while conn.recv(65536):
                    pass
            except OSError:
                return

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


class FakeTarantool(ScriptServer):
    """A handle on the process: ``address``, ``port``, ``stop()``."""

    def __init__(self, mode: str) -> None:
        super().__init__(str(Path(__file__)), mode)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2])
