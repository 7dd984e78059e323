"""Errors raised by the Redis client, named as redis-py names them.

Every one is a :class:`~greenpool.GreenpoolError`.  An error *reply* from
the server becomes a :class:`ResponseError` (or a subclass picked by the
reply's first word); the connection it came on stays usable.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConnectionError, GreenpoolError, ReplyError
from ._codec import UndecodableReply

__all__ = [
    "FAILED_REPLIES",
    "AuthenticationError",
    "BusyLoadingError",
    "DataError",
    "NoScriptError",
    "PubSubError",
    "ReadOnlyError",
    "RedisError",
    "ResponseError",
    "WatchError",
    "error_from_reply",
]

RedisError = GreenpoolError


class ResponseError(ReplyError):
    """The server answered with an error.  :attr:`kind` is its first word (``ERR``...)."""


class NoScriptError(ResponseError):
    """EVALSHA named a script the server does not have (``NOSCRIPT``)."""


class BusyLoadingError(ResponseError):
    """The server is loading its data set (``LOADING``)."""


class ReadOnlyError(ResponseError):
    """A write reached a read-only replica (``READONLY``)."""


class WatchError(GreenpoolError):
    """A watched key changed: the transaction was not executed."""


class DataError(GreenpoolError, ValueError):
    """A command was called with a bad argument; nothing was sent.

    The message names the argument and its value.  redis-py has an exception
    of the same name for the same purpose.
    """

    def __init__(self, argument: str, value: Any, reason: str) -> None:
        self.argument = argument
        self.value = value
        super().__init__(f"{argument}={value!r}: {reason}")


class PubSubError(GreenpoolError):
    """Pub/sub used wrongly (for example a worker with a channel that has no handler)."""


class AuthenticationError(ConnectionError):
    """The server refused the credentials (the message never contains them)."""


_BY_KIND: dict[str, type[ResponseError]] = {
    "NOSCRIPT": NoScriptError,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
}


def error_from_reply(reply: Any) -> Exception:
    """The exception to raise for a failed reply: an error reply, or one that did not decode."""
    if isinstance(reply, UndecodableReply):
        return reply.error
    cls = _BY_KIND.get(reply.kind, ResponseError)
    return cls(reply.message)


#: Types of reply that mean "this request failed" (checked with ``type(x) in``).
FAILED_REPLIES = frozenset([ReplyError, UndecodableReply])
