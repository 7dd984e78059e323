"""Every exception greenpool raises.

The tree::

    GreenpoolError
    +-- PoolError                    the pools' own errors
    |   +-- NoConnectionAvailable    (also TimeoutError; alias PoolTimeout)
    |   +-- TooManyRequests
    |   +-- AllServersUnavailable
    |   +-- MaximumRetryException
    |   +-- PoolClosed
    |   +-- InvalidRequestError
    |   +-- ConfigurationError       (also ValueError)
    +-- ConnectionError              (also the built-in ConnectionError)
    +-- TimeoutError                 (also the built-in TimeoutError)
    +-- ProtocolError                malformed bytes from a server
    +-- ReplyError                   the server answered with an error
    +-- WrongThreadError             used from another OS thread (also RuntimeError)

This module imports nothing from the rest of greenpool but
:mod:`greenpool._secrets`, so every layer can use it.  Messages never
contain secrets: :class:`ConfigurationError` masks the values it is given,
and code that builds another message from user input passes it through
``greenpool._util.mask_secret`` first.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from ._secrets import MASK, is_secret_name, mask_secret, mask_value

__all__ = [
    "AllServersUnavailable",
    "ConfigurationError",
    "ConnectionError",
    "GreenpoolError",
    "InvalidRequestError",
    "MaximumRetryException",
    "NoConnectionAvailable",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "ProtocolError",
    "ReplyError",
    "TimeoutError",
    "TooManyRequests",
    "WrongThreadError",
]


class GreenpoolError(Exception):
    """Base class of every exception greenpool raises."""


class PoolError(GreenpoolError):
    """Base class of the errors raised by the pools themselves."""


class NoConnectionAvailable(PoolError, builtins.TimeoutError):
    """No connection could be checked out before the checkout timeout ran out.

    The message names the pool, how long this caller waited, the pool's
    size and overflow, how many connections were in use and idle and how
    many callers were waiting when the wait ran out (this one included),
    and the longest holders: each greenlet's name, how long it has held
    its connection and the function that checked it out.
    """


PoolTimeout = NoConnectionAvailable


class TooManyRequests(PoolError):
    """The pool already has ``max_waiting`` callers queued; this one is shed."""


class AllServersUnavailable(PoolError):
    """No server in the pool's list accepted a connection.

    :attr:`errors` maps each server (as text) to the exception it gave.
    """

    def __init__(self, message: str, errors: Mapping[str, BaseException] | None = None) -> None:
        super().__init__(message)
        self.errors: dict[str, BaseException] = dict(errors or {})


class MaximumRetryException(PoolError):
    """An operation failed on every attempt ``max_retries`` allowed.

    The last failure is chained as ``__cause__`` and kept in :attr:`last_error`.
    """

    def __init__(self, message: str, last_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error


class PoolClosed(PoolError):
    """The pool was closed: no checkout can succeed any more."""


class InvalidRequestError(PoolError):
    """The pool was asked to do something impossible.

    For example returning a connection twice, or returning a connection to a
    pool that did not hand it out.
    """


class ConfigurationError(PoolError, ValueError):
    """An argument has a bad value.  The message names the argument and the value.

    Secrets are masked, in the message and in :attr:`value`: the whole value
    when ``argument`` names a secret (``password``, ``ssl_password``,
    ``token`` ...), and otherwise every secret inside it (a dict's
    ``password`` key, the password of a URL or DSN; see
    :mod:`greenpool._secrets`).
    """

    def __init__(self, argument: str, value: Any, reason: str) -> None:
        value = MASK if value is not None and is_secret_name(argument) else mask_value(value)
        self.argument = argument
        self.value = value
        super().__init__(f"{argument}={mask_secret(repr(value))}: {mask_secret(reason)}")


class ConnectionError(GreenpoolError, builtins.ConnectionError):
    """A connection could not be made, or broke while a request was on it.

    Every request pending on a connection that breaks fails with this error
    at once.  :attr:`address` names the peer when it is known.  Like
    redis-py's, it can be made with no message (``ConnectionError()``, in a
    test's mock).
    """

    def __init__(self, message: str = "", address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


class TimeoutError(GreenpoolError, builtins.TimeoutError):
    """A request did not complete within its deadline.

    Only the request that timed out is affected; the connection it was on
    stays usable.
    """


class ProtocolError(GreenpoolError):
    """A server sent bytes that do not follow the protocol, or that exceed a limit.

    The connection they came on is closed: its stream state is unknown.
    """


class ReplyError(GreenpoolError):
    """The server answered a request with an error reply.

    The connection stays usable.  For Redis, :attr:`kind` is the error's
    first word (``ERR``, ``WRONGTYPE``, ``MOVED`` ...).  It can be made with
    no message, as redis-py's ``ResponseError()`` can.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    @property
    def kind(self) -> str:
        """The first word of the message, such as ``ERR`` or ``WRONGTYPE``."""
        return self.message.split(" ", 1)[0] if self.message else ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReplyError) or type(other) is not type(self):
            return False
        return other.message == self.message

    def __hash__(self) -> int:
        return hash((type(self), self.message))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))


class WrongThreadError(GreenpoolError, RuntimeError):
    """A connection or pool was used from an OS thread other than the one it belongs to.

    A connection belongs to the gevent hub, and so the OS thread, that
    connected it; a checkout pool to the thread of its first checkout.
    Raised before anything is queued, sent or taken: the call had no
    effect, and the object goes on working in its own thread.  (Under
    ``gevent.monkey.patch_all()`` threads are greenlets of one OS thread,
    and never see this.)  Make one client or pool per OS thread instead.
    """
