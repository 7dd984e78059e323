"""The errors the Tarantool driver raises, with tarantool-python's names.

::

    greenpool.ConnectionError
    +-- NetworkError                 the instance can't be reached, or the connection broke
        +-- NetworkTimeoutError      no reply within the deadline (also greenpool.TimeoutError)
    greenpool.ReplyError
    +-- DatabaseError                the server answered with an error (code, message)
        +-- CrudModuleError          a crud.* function returned an error object
        +-- CrudModuleManyError      a crud.*_many function returned errors
    greenpool.PoolError
    +-- PoolTopologyError            no healthy instance fits the request's mode
    +-- ConfigurationError           a bad argument (also ValueError)
    SchemaError                      a space or index name the schema doesn't know

No message holds a password: addresses are shown without credentials.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ..errors import ConnectionError as _ConnectionError
from ..errors import TimeoutError as _TimeoutError
from ..pool.modes import PoolTopologyError
from ..protocol.iproto import DatabaseError, SchemaError

__all__ = [
    "ConfigurationError",
    "CrudModuleError",
    "CrudModuleManyError",
    "DatabaseError",
    "NetworkError",
    "NetworkTimeoutError",
    "PoolTolopogyError",
    "PoolTopologyError",
    "SchemaError",
]


class NetworkError(_ConnectionError):
    """The instance could not be reached, or the connection broke under a request.

    :attr:`address` names the instance.  :attr:`sent` is False when the
    request never left (the connection was down and could not be made):
    such a request is safe to send elsewhere.  When True the request went
    out and its fate is unknown.  The underlying error is chained as
    ``__cause__``.
    """

    def __init__(self, message: str, address: str | None = None, *, sent: bool = True) -> None:
        super().__init__(message, address)
        self.sent = sent


class NetworkTimeoutError(NetworkError, _TimeoutError):
    """No reply came within the request's deadline (``socket_timeout`` or the pool's deadline).

    Only this request is given up: the connection stays usable and the late
    reply is dropped.  It is a :class:`NetworkError` (tarantool-python
    raises that for socket timeouts) and a :class:`greenpool.TimeoutError`.
    The request may still run on the server.
    """


class CrudModuleError(DatabaseError):
    """A ``crud.*`` function returned an error object instead of a result.

    :attr:`extra_info_error` is that object as a
    :class:`~greenpool.tarantool.crud.CrudError` (``err``, ``class_name``,
    ``file``, ``line``, ``stack`` ... as the server sent them).
    """

    def __init__(self, _result: Any, error: Any) -> None:
        message = getattr(error, "err", None)
        super().__init__(0, message if isinstance(message, str) else repr(message))
        self.extra_info_error = error

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (None, self.extra_info_error), self.__dict__.copy())


class CrudModuleManyError(DatabaseError):
    """A batch ``crud.*_many`` function returned errors.

    :attr:`success_list` is the :class:`~greenpool.tarantool.crud.CrudResult`
    of what succeeded (or None) and :attr:`errors_list` the
    :class:`~greenpool.tarantool.crud.CrudError` of each failure.
    """

    def __init__(self, success: Any, errors: list[Any]) -> None:
        super().__init__(0, f"{len(errors)} error(s) from a crud batch; see errors_list")
        self.success_list = success
        self.errors_list = errors

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.success_list, self.errors_list), self.__dict__.copy())


#: tarantool-python's spelling of :class:`PoolTopologyError`, for code moving over.
PoolTolopogyError = PoolTopologyError
