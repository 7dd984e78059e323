"""The IPROTO byte stream as a transport codec: the greeting first, then packets.

A Tarantool server speaks first: 128 bytes of text greeting (version and
the salt for authentication), then IPROTO packets.  :class:`IprotoCodec`
starts in a *greeting* state; once the 128 bytes are in it returns a
:class:`GreetingMessage` keyed :data:`GREETING_KEY` (so the handshake can
wait for it like for any reply, and fails like any request if the
connection breaks first), then hands every later byte to an
:class:`~.parser.IprotoParser`.  Replies are matched to requests by their
``sync``; push messages (``box.session.push``) carry the sync of the
request they belong to.

It has the shape :class:`greenpool.transport.connection.Codec` asks for
(``feed``, ``is_push``, ``key_of``) without importing the transport: this
layer does no I/O.
"""

from __future__ import annotations

from typing import Any

from .constants import _CHUNK, DEFAULT_MAX_PACKET_SIZE, GREETING_SIZE
from .greeting import Greeting, parse_greeting
from .parser import IprotoParser
from .responses import Reply

__all__ = ["GREETING_KEY", "GreetingMessage", "IprotoCodec"]

#: The key the greeting is delivered under: no sync is negative.
GREETING_KEY = -1


class GreetingMessage:
    """The server's greeting, delivered like a reply to the key :data:`GREETING_KEY`."""

    __slots__ = ("greeting",)
    sync = GREETING_KEY
    type = 0

    def __init__(self, greeting: Greeting) -> None:
        self.greeting = greeting


class IprotoCodec:
    """Greeting first, then IPROTO replies.  One per socket (it keeps state).

    :meth:`feed` returns :class:`~.responses.Reply` objects (and one
    :class:`GreetingMessage` first).  Malformed bytes (a bad greeting
    included) raise :class:`~greenpool.errors.ProtocolError`, which makes
    the connection close; the limits are :class:`~.parser.IprotoParser`'s.
    """

    __slots__ = ("_buffer", "_parser", "greeting")

    def __init__(self, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        self._parser = IprotoParser(max_packet_size)
        self._buffer: bytes | None = b""
        #: The server's greeting, once its 128 bytes have arrived.
        self.greeting: Greeting | None = None

    def feed(self, data: bytes) -> list[Any]:
        """Take bytes; return every reply now complete.  Raises ProtocolError on bad bytes."""
        if self._buffer is not None:
            data = self._take_greeting(data)
            if self.greeting is None:
                return []
            out: list[Any] = [GreetingMessage(self.greeting)]
            if data:
                out.extend(self.feed(data))
            return out
        parser = self._parser
        parser.feed(data)
        replies: list[Any] = parser.read_all()
        if parser.failed:
            parser.read_all()  # raises: the connection must close
        return replies

    def _take_greeting(self, data: bytes) -> bytes:
        assert self._buffer is not None
        buffered = self._buffer + data
        if len(buffered) < GREETING_SIZE:
            self._buffer = buffered
            return b""
        self._buffer = None
        self.greeting = parse_greeting(buffered[:GREETING_SIZE])
        return buffered[GREETING_SIZE:]

    @staticmethod
    def is_push(message: Reply | GreetingMessage) -> bool:
        """True for a ``box.session.push`` message (it precedes the final reply)."""
        return message.type == _CHUNK

    @staticmethod
    def key_of(message: Reply | GreetingMessage) -> int:
        """The sync of the request the message answers."""
        return message.sync
