"""The RESP codec as the transport layer's :class:`~greenpool.transport.connection.Codec`."""

from __future__ import annotations

from typing import Any

from ..protocol.resp import NEED_DATA, Push, RespParser

__all__ = ["RespCodec", "UndecodableReply", "decode_reply"]


class UndecodableReply:
    """Stands for a reply whose strings did not decode with the client's encoding.

    Only that request fails (with :attr:`error`, a ``UnicodeDecodeError``);
    the connection and every other reply are fine.
    """

    __slots__ = ("error",)

    def __init__(self, error: UnicodeDecodeError) -> None:
        self.error = error


class RespCodec:
    """Feeds received bytes to a :class:`~greenpool.protocol.RespParser`.

    Replies come back in request order, so there is no key; RESP3 push
    messages (pub/sub, client-side caching invalidations) are pushes.
    """

    __slots__ = ("_parser",)

    def __init__(self, protocol: int = 2, *, encoding: str | None = None,
                 errors: str = "strict", max_bulk_length: int = 512 * 1024 * 1024) -> None:
        self._parser = RespParser(
            protocol, encoding=encoding, errors=errors, max_bulk_length=max_bulk_length
        )

    def feed(self, data: bytes) -> list[Any]:
        """Take bytes; return the replies now complete.  Raises ProtocolError on bad bytes."""
        parser = self._parser
        parser.feed(data)
        replies: list[Any] = []
        while True:
            try:
                reply = parser.gets()
            except UnicodeDecodeError as exc:
                replies.append(UndecodableReply(exc))
                continue
            if reply is NEED_DATA:
                return replies
            replies.append(reply)

    @staticmethod
    def is_push(message: Any) -> bool:
        """True for a RESP3 push message."""
        return type(message) is Push

    @staticmethod
    def key_of(message: Any) -> None:
        """Replies are matched by order: no key."""
        return None


def decode_reply(reply: Any, encoding: str, errors: str = "strict") -> Any:
    """``reply`` as a decoding parser would have given it: every ``bytes`` decoded.

    For replies read on a connection that does not decode (dedicated
    connections, so that a binary reply such as DUMP's can stay bytes).
    Lists, sets and maps are decoded all the way down; numbers, booleans,
    None and error replies (whose message is already text) are left as they
    are.  Raises ``UnicodeDecodeError`` as the parser would.
    """
    kind = type(reply)
    if kind is bytes:
        return reply.decode(encoding, errors)
    if kind is list:
        return [decode_reply(item, encoding, errors) for item in reply]
    if kind is dict:
        return {
            decode_reply(key, encoding, errors): decode_reply(value, encoding, errors)
            for key, value in reply.items()
        }
    return reply

