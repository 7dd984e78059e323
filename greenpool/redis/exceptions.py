"""Errors raised by the Redis client, named as redis-py names them.

Every one is a :class:`~greenpool.GreenpoolError`.  An error *reply* from
the server becomes a :class:`ResponseError` (or a subclass picked by the
reply's first word); the connection it came on stays usable.
"""

from __future__ import annotations

from ..errors import ConnectionError, GreenpoolError, ReplyError

__all__ = [
    "AuthenticationError",
    "BusyLoadingError",
    "NoScriptError",
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


class AuthenticationError(ConnectionError):
    """The server refused the credentials (the message never contains them)."""


_BY_KIND: dict[str, type[ResponseError]] = {
    "NOSCRIPT": NoScriptError,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
}


def error_from_reply(reply: ReplyError) -> ResponseError:
    """The exception to raise for an error reply from the parser."""
    cls = _BY_KIND.get(reply.kind, ResponseError)
    return cls(reply.message)
