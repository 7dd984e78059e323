"""A small blocking RESP2 client, for the fixtures to drive the servers they start.

The testing layer imports nothing of greenpool's own layers, so it speaks
RESP itself: commands go out as arrays of bulk strings, replies come back
as Python values (simple string: ``str``; bulk string: ``bytes``; integer:
``int``; nil: ``None``; array: ``list``).  An error reply raises
:class:`RedisReplyError` from :meth:`RespClient.execute`; in
:meth:`RespClient.pipeline` it is returned in its place instead.

Sockets are plain blocking ones with a timeout, which gevent's monkey
patching makes cooperative.  No size limits are enforced: the peer is
always a server the fixtures started.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

__all__ = ["RedisReplyError", "RespClient", "encode_command"]

Arg = str | bytes | int | float


class RedisReplyError(Exception):
    """An error reply (``-ERR ...``, ``-MOVED ...``) from a server.

    :attr:`reply` is the text after the ``-``; :attr:`code` its first word
    (``"ERR"``, ``"MOVED"``, ``"ASK"``, ``"CLUSTERDOWN"`` ...).
    """

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply
        self.code = reply.split(" ", 1)[0]


def _arg_bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bool):
        raise TypeError("bool has no RESP spelling")
    if isinstance(arg, int):
        return b"%d" % arg
    return repr(float(arg)).encode()


def encode_command(*args: Arg) -> bytes:
    """One command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _arg_bytes(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RespClient:
    """One blocking connection to a Redis server (or sentinel): send, read, close.

    ``RespClient.connect(port)`` opens one; it is a context manager.  Every
    read waits at most ``timeout`` seconds (raises :class:`TimeoutError`);
    a closed peer raises :class:`ConnectionError`.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        self._pos = 0

    @classmethod
    def connect(cls, port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> RespClient:
        """Connect to ``host:port``; raises ``OSError`` when it cannot."""
        return cls(socket.create_connection((host, port), timeout=timeout))

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.sock.close()

    def __enter__(self) -> RespClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- commands

    def execute(self, *args: Arg) -> Any:
        """Send one command and return its reply; raise an error reply as RedisReplyError."""
        self.sock.sendall(encode_command(*args))
        reply = self.read_reply()
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    def pipeline(self, commands: Iterable[Sequence[Arg]]) -> list[Any]:
        """Send every command in one write and return their replies, errors in place."""
        batch = [encode_command(*command) for command in commands]
        if not batch:
            return []
        self.sock.sendall(b"".join(batch))
        return [self.read_reply() for _ in batch]

    # ---------------------------------------------------------------- reading

    def _fill(self) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self._buf.find(b"\r\n", self._pos)
            if end >= 0:
                line = bytes(self._buf[self._pos : end])
                self._pos = end + 2
                return line
            self._fill()

    def _exact(self, size: int) -> bytes:
        while len(self._buf) - self._pos < size + 2:
            self._fill()
        data = bytes(self._buf[self._pos : self._pos + size])
        self._pos += size + 2
        return data

    def read_reply(self) -> Any:
        """Read one reply; an error reply is returned as a RedisReplyError, not raised."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisReplyError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exact(size)
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.read_reply() for _ in range(count)]
        raise ConnectionError(f"not a RESP2 reply: {line[:80]!r}")
