"""The errors of the IPROTO codec: a server's error reply, and a name not in the schema.

Bytes that break the protocol raise :class:`~greenpool.errors.ProtocolError`
and bad arguments :class:`~greenpool.errors.ConfigurationError`, both from
:mod:`greenpool.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from greenpool.errors import GreenpoolError, ReplyError

from .constants import ER_WRONG_SCHEMA_VERSION, ERROR_NAMES

__all__ = ["DatabaseError", "SchemaError"]


class DatabaseError(ReplyError):
    """Tarantool answered a request with an error.

    :attr:`code` is the error code (``box.error.*``, or the user's code for
    a custom error) and :attr:`message` its text.  When the server sent its
    error stack (Tarantool >= 2.4.1 always does), :attr:`error_type` is the
    error's class such as ``ClientError`` or ``CustomError`` and
    :attr:`stack` lists every error of the chain, newest first, as dicts with
    the keys ``type``, ``file``, ``line``, ``message``, ``errno``, ``code``
    and ``fields`` (custom error payload) when present.

    ``str()`` shows the code, its symbolic name when known, and the message.
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        error_type: str | None = None,
        stack: Iterable[Mapping[str | int, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type
        self.stack: tuple[dict[str | int, Any], ...] = tuple(dict(f) for f in stack)

    @property
    def name(self) -> str | None:
        """The symbolic name of :attr:`code` (``ER_TUPLE_FOUND`` ...), or None if unknown."""
        return ERROR_NAMES.get(self.code)

    @property
    def kind(self) -> str:
        """The symbolic name of the code when known, else the code as text."""
        return self.name or str(self.code)

    @property
    def is_schema_error(self) -> bool:
        """True if the request was refused because the schema changed since it was built."""
        return self.code == ER_WRONG_SCHEMA_VERSION

    def __str__(self) -> str:
        label = f"{self.name} ({self.code})" if self.name else f"error {self.code}"
        return f"{label}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatabaseError) or type(other) is not type(self):
            return False
        return (other.code, other.message) == (self.code, self.message)

    def __hash__(self) -> int:
        return hash((type(self), self.code, self.message))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message), self.__dict__.copy())


class SchemaError(GreenpoolError, LookupError):
    """A space, index or field name is not in the :class:`Schema`.

    :attr:`kind` is ``"space"``, ``"index"`` or ``"field"``, :attr:`name`
    the name looked up and :attr:`space` the space searched (for indexes and
    fields).  The name may exist but be invisible to the connected user.
    """

    def __init__(self, kind: str, name: object, space: str | None = None) -> None:
        where = f" in space {space!r}" if space is not None else ""
        super().__init__(f"no {kind} named {name!r}{where} in the schema")
        self.kind = kind
        self.name = name
        self.space = space
