"""Errors raised by the Redis client, with redis-py's names and hierarchy.

Every class redis-py's ``redis.exceptions`` defines is here under the same
name, with (at least) the same base classes, so ``except
redis.exceptions.X`` ports by changing the module.  Every one is also a
greenpool error: :data:`RedisError` *is* :class:`~greenpool.GreenpoolError`,
:class:`ConnectionError` and :class:`TimeoutError` are greenpool's own (what
the transport raises), and :class:`InvalidResponse` is
:class:`~greenpool.ProtocolError` (bytes that break the protocol).

An error *reply* from the server becomes the class redis-py raises for it
(:func:`error_from_reply`): :class:`ResponseError`, or the class its first
word picks (``NOSCRIPT`` :class:`NoScriptError`, ``WRONGPASS``
:class:`AuthenticationError`, ``MOVED`` :class:`MovedError` ...), or for
some ``ERR`` messages the class redis-py picks by the whole message.  The
connection it came on stays usable.  Unlike redis-py's, the message keeps
its first word (``"NOSCRIPT No matching script ..."``): ``kind`` is read
from it.

Where greenpool's hierarchy adds a base to redis-py's, it is so that a
class stays one of greenpool's own errors: :class:`BusyLoadingError` is a
:class:`ConnectionError` (as in redis-py) and also a :class:`ResponseError`
(it is an error reply); :class:`MaxConnectionsError` (the dedicated
connections all busy past ``pool_timeout``) is also
:class:`~greenpool.NoConnectionAvailable`; the classes redis-py derives from ``Exception``
alone (:class:`ChildDeadlockedError`, :class:`RedisClusterException`,
:class:`IncorrectPolicyType`) are :class:`~greenpool.GreenpoolError`\\ s.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    ConnectionError,
    GreenpoolError,
    NoConnectionAvailable,
    ProtocolError,
    ReplyError,
    TimeoutError,
)
from ._codec import UndecodableReply

_MESSAGE_ONLY: Any = object()  # DataError made as redis-py's is: a message, or nothing

__all__ = [
    "FAILED_REPLIES",
    "AskError",
    "AuthenticationError",
    "AuthenticationWrongNumberOfArgsError",
    "AuthorizationError",
    "BusyLoadingError",
    "ChildDeadlockedError",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ConnectionError",
    "CrossSlotTransactionError",
    "DataError",
    "DemotedReply",
    "ExecAbortError",
    "ExternalAuthProviderError",
    "IncorrectPolicyType",
    "InvalidPipelineStack",
    "InvalidResponse",
    "LockError",
    "LockNotOwnedError",
    "MasterDownError",
    "MaxConnectionsError",
    "ModuleError",
    "MovedError",
    "NoPermissionError",
    "NoScriptError",
    "NoSuchFieldsetError",
    "OutOfMemoryError",
    "PrimaryDemotedError",
    "PubSubError",
    "ReadOnlyError",
    "RedisClusterException",
    "RedisError",
    "RefusedArgumentError",
    "ResponseError",
    "SlotNotCoveredError",
    "TimeoutError",
    "TryAgainError",
    "WatchError",
    "error_from_reply",
]

RedisError = GreenpoolError
"""The base of every error here (greenpool's base error)."""

InvalidResponse = ProtocolError
"""Bytes from the server that break the protocol.  The connection closes, and the
requests on it fail with :class:`ConnectionError` caused by this error."""


class ResponseError(ReplyError):
    """The server answered with an error.  :attr:`kind` is its first word (``ERR``...).

    :attr:`status_code` is that word too when redis-py 8's parser sets it: for
    ``ERR`` and the words that pick a class (``NOSCRIPT``, ``LOADING``,
    ``MOVED`` ...); None for the others (``WRONGTYPE``) and for an error made
    in code, unless given as redis-py's ``status_code=`` keyword.
    """

    def __init__(self, message: str = "", *, status_code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), self.__dict__)


class NoScriptError(ResponseError):
    """EVALSHA named a script the server does not have (``NOSCRIPT``)."""


class OutOfMemoryError(ResponseError):
    """The server is past ``maxmemory`` and refuses writes (``OOM``)."""


class ExecAbortError(ResponseError):
    """EXEC aborted: a command was refused while queueing (``EXECABORT``)."""


class ReadOnlyError(ResponseError):
    """A write reached a read-only replica (``READONLY``)."""


class PrimaryDemotedError(ConnectionError, ReadOnlyError):
    """A client of a Sentinel-managed primary got ``READONLY``: its server was demoted.

    greenpool's own class.  redis-py raises its ``ConnectionError`` for this
    reply on a client made by ``Sentinel.master_for``; this is a
    :class:`ConnectionError` too (so a ``Retry`` retries it, and ``except
    ConnectionError`` catches it) and also a :class:`ReadOnlyError` (the
    reply; nothing was written).  The message starts with ``READONLY``.
    """


class DemotedReply(ReplyError):
    """A ``READONLY`` error reply as a primary's client receives it (see
    ``greenpool.redis.sentinel``): :func:`error_from_reply` makes it a
    :class:`PrimaryDemotedError`."""


class NoPermissionError(ResponseError):
    """The ACL user may not run the command or touch the key (``NOPERM``)."""


class ModuleError(ResponseError):
    """MODULE LOAD or UNLOAD failed."""


class NoSuchFieldsetError(ResponseError):
    """HIMPORT named a fieldset the connection has not prepared."""


class AuthenticationWrongNumberOfArgsError(ResponseError):
    """AUTH was sent with a username to a server that takes only a password (Redis < 6)."""


class BusyLoadingError(ConnectionError, ResponseError):
    """The server is loading its data set (``LOADING``).

    A :class:`ConnectionError`, as in redis-py, and a :class:`ResponseError`
    (it is an error reply: the connection stays usable).
    """

    def __init__(self, message: str = "", address: str | None = None, *,
                 status_code: str | None = None) -> None:
        super().__init__(message, address)
        self.status_code = status_code


class AuthenticationError(ConnectionError):
    """The server refused the credentials (the message never contains them).

    :attr:`status_code`: the reply's first word (``WRONGPASS``, ``NOAUTH``,
    ``ERR``) as redis-py's parser sets it, else None.
    """

    def __init__(self, message: str = "", address: str | None = None, *,
                 status_code: str | None = None) -> None:
        super().__init__(message, address)
        self.status_code = status_code


class AuthorizationError(ConnectionError):
    """The server refused a connection for want of rights (redis-py's name)."""


class ExternalAuthProviderError(ConnectionError):
    """The server's external authentication (LDAP ...) failed."""


class MaxConnectionsError(ConnectionError, NoConnectionAvailable):
    """No dedicated connection came free within ``pool_timeout``: ``max_connections``
    are all in use.

    A :class:`ConnectionError`, as what redis-py's pools raise when they run
    out, and greenpool's :class:`~greenpool.NoConnectionAvailable` (whose
    message names the longest holders).
    """

    def __init__(self, message: str = "", address: str | None = None) -> None:
        super().__init__(message, address)


class WatchError(GreenpoolError):
    """A watched key changed: the transaction was not executed."""


class DataError(GreenpoolError, ValueError):
    """A command was called with a bad argument; nothing was sent.

    The message names the argument and its value.  redis-py has an exception
    of the same name for the same purpose, which code of a user's makes with
    a message alone (``DataError("bad input")``) or with nothing: then the
    message is the one argument given, and :attr:`argument` and
    :attr:`value` are None.
    """

    argument: str | None

    def __init__(self, argument: str = "", value: Any = _MESSAGE_ONLY, reason: str = "") -> None:
        if value is _MESSAGE_ONLY:
            self.argument = self.value = None
            super().__init__(argument)
            return
        self.argument = argument
        self.value = value
        super().__init__(f"{argument}={value!r}: {reason}")


class RefusedArgumentError(DataError, ResponseError):
    """An argument the server would refuse, refused before anything is sent.

    A :class:`DataError` (nothing was sent; :attr:`argument` and
    :attr:`value` name the argument) that is also a :class:`ResponseError`:
    redis-py sends such an argument (``mode="bite"``, ``direction="up"``, an
    integer argument given ``1.5`` ...) and raises :class:`ResponseError`
    with the server's refusal, so an ``except ResponseError`` written for
    redis-py catches greenpool's check too.  It is not an error reply:
    :attr:`kind` is ``ERR`` (what the server's refusal would begin with)
    and :attr:`status_code` is None.  greenpool's own class, not redis-py's.
    """

    @property
    def kind(self) -> str:
        """``ERR``: the first word of the error the server would have answered."""
        return "ERR"


class PubSubError(GreenpoolError):
    """Pub/sub used wrongly (for example a worker with a channel that has no handler)."""


class LockError(GreenpoolError, ValueError):
    """A :class:`~greenpool.redis.lock.Lock` used wrongly, or not acquired in time.

    ``lock_name`` is the lock's key (None when not known).
    """

    def __init__(self, message: str | None = None, lock_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.lock_name = lock_name


class LockNotOwnedError(LockError):
    """The lock expired or another holder took it: it is not this token's any more."""


class ChildDeadlockedError(GreenpoolError):
    """redis-py's error for a forked child finding its pool locked (kept for the name:
    greenpool's pools notice a fork and open new connections instead)."""


class RedisClusterException(GreenpoolError):
    """A cluster client used wrongly (redis-py's base of cluster usage errors)."""


class SlotNotCoveredError(RedisClusterException):
    """No node serves the key's hash slot."""


class CrossSlotTransactionError(RedisClusterException):
    """A cluster transaction touched keys of more than one hash slot."""


class InvalidPipelineStack(RedisClusterException):
    """A cluster pipeline's commands can't be grouped by node."""


class IncorrectPolicyType(GreenpoolError):
    """A request or response policy of the wrong type (redis-py's cluster policies)."""


class ClusterError(GreenpoolError):
    """A cluster stayed unusable after the retries."""


class ClusterDownError(ClusterError, ResponseError):
    """The cluster is down (``CLUSTERDOWN``)."""


class MasterDownError(ClusterDownError):
    """The replica's link with its primary is down (``MASTERDOWN``)."""


class AskError(ResponseError):
    """The key's slot is migrating: ask another node (``ASK slot host:port``).

    :attr:`slot_id`, :attr:`node_addr` (``"host:port"``), :attr:`host` and
    :attr:`port` say where.
    """

    def __init__(self, message: str, *, status_code: str | None = None) -> None:
        super().__init__(message, status_code=status_code)
        words = message.split()
        if words and words[0] in ("ASK", "MOVED"):
            words = words[1:]
        slot = words[0] if words else ""
        addr = words[1] if len(words) > 1 else ""
        self.slot_id = int(slot) if slot.isdigit() else None
        self.node_addr = addr
        host, _, port = addr.rpartition(":")
        self.host = host
        self.port = int(port) if port.isdigit() else None


class MovedError(AskError):
    """The key's slot is served by another node (``MOVED slot host:port``)."""


class TryAgainError(ResponseError):
    """A multi-key command met a slot being migrated; try again (``TRYAGAIN``)."""


class ClusterCrossSlotError(ResponseError):
    """The command's keys are in different hash slots (``CROSSSLOT``)."""


_BY_KIND: dict[str, type[Exception]] = {
    "NOSCRIPT": NoScriptError,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
    "OOM": OutOfMemoryError,
    "EXECABORT": ExecAbortError,
    "NOPERM": NoPermissionError,
    "WRONGPASS": AuthenticationError,
    "NOAUTH": AuthenticationError,
    "ASK": AskError,
    "MOVED": MovedError,
    "TRYAGAIN": TryAgainError,
    "CLUSTERDOWN": ClusterDownError,
    "CROSSSLOT": ClusterCrossSlotError,
    "MASTERDOWN": MasterDownError,
}

# ``ERR`` replies redis-py tells apart by their whole message (after ``ERR ``).
_BY_ERR_MESSAGE: dict[str, type[Exception]] = {
    "max number of clients reached": ConnectionError,
    "invalid password": AuthenticationError,
    "wrong number of arguments for 'auth' command": AuthenticationWrongNumberOfArgsError,
    "wrong number of arguments for 'AUTH' command": AuthenticationWrongNumberOfArgsError,
    "Error loading the extension. Please check the server logs.": ModuleError,
    "Error unloading module: no such module with that name": ModuleError,
    "Error unloading module: operation not possible.": ModuleError,
    "Error unloading module: the module exports one or more module-side data types, "
    "can't unload": ModuleError,
    "AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?": AuthenticationError,
    "Client sent AUTH, but no password is set": AuthenticationError,
    "problem with LDAP service": ExternalAuthProviderError,
    "no such fieldset": NoSuchFieldsetError,
}


def error_from_reply(reply: Any) -> Exception:
    """The exception to raise for a failed reply: an error reply, or one that did not decode."""
    if isinstance(reply, UndecodableReply):
        return reply.error
    if type(reply) is DemotedReply:
        return PrimaryDemotedError(reply.message)
    kind = reply.kind
    if kind == "ERR":
        cls = _BY_ERR_MESSAGE.get(reply.message[4:], ResponseError)
    else:
        mapped = _BY_KIND.get(kind)
        if mapped is None:  # a word redis-py's parser does not map: no status_code
            return ResponseError(reply.message)
        cls = mapped
    if issubclass(cls, _WITH_STATUS_CODE):
        return cls(reply.message, status_code=kind)
    return cls(reply.message)


# The classes made with redis-py's status_code= (the others are greenpool's
# own ConnectionError, which takes none).
_WITH_STATUS_CODE = (ResponseError, AuthenticationError)

#: Types of reply that mean "this request failed" (checked with ``type(x) in``).
FAILED_REPLIES = frozenset([ReplyError, UndecodableReply, DemotedReply])
