"""Decoded replies: :class:`Reply` (one packet) and the SQL pieces it may carry.

An error reply is a :class:`Reply` whose :attr:`Reply.error` holds a
:class:`~.errors.DatabaseError`; the connection layer raises it
(:meth:`Reply.raise_for_error`) in the caller's greenlet.  Only bytes that
break the protocol raise :class:`~greenpool.errors.ProtocolError`.
"""

from __future__ import annotations

import reprlib
from typing import Any, Final, NamedTuple

from greenpool.errors import ProtocolError

from ._msgpack import _error_from_stack
from .constants import (
    _BIND_COUNT,
    _BIND_METADATA,
    _CHUNK,
    _DATA,
    _ERROR,
    _ERROR_24,
    _ERROR_FLAG,
    _METADATA,
    _SCHEMA_VERSION,
    _SQL_INFO,
    _STMT_ID,
    _SYNC,
    _TYPE,
)
from .errors import DatabaseError

__all__ = ["Reply", "SqlColumn", "SqlInfo"]


class SqlColumn(NamedTuple):
    """One column of an SQL result (:attr:`Reply.metadata`).

    ``collation``, ``is_nullable``, ``is_autoincrement`` and ``span`` are
    only sent when the session enables ``sql_full_metadata``.
    """

    name: str
    type: str
    collation: str | None = None
    is_nullable: bool | None = None
    is_autoincrement: bool | None = None
    span: str | None = None


class SqlInfo(NamedTuple):
    """What an SQL statement other than a query changed (:attr:`Reply.sql_info`).

    ``row_count`` is the number of rows changed; ``autoincrement_ids`` the
    ids generated for AUTOINCREMENT columns, in order.
    """

    row_count: int
    autoincrement_ids: list[int]


def _columns(value: object, what: str) -> list[SqlColumn]:
    if not isinstance(value, list):
        raise ProtocolError(f"malformed {what}: {reprlib.repr(value)}")
    columns = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get(0), str)
            or not isinstance(item.get(1), str)
        ):
            raise ProtocolError(f"malformed {what} entry: {reprlib.repr(item)}")
        columns.append(
            SqlColumn(item[0], item[1], item.get(2), item.get(3), item.get(4), item.get(5))
        )
    return columns


def _sql_info(value: object) -> SqlInfo:
    if not isinstance(value, dict):
        raise ProtocolError(f"malformed SQL info: {reprlib.repr(value)}")
    count = value.get(0, 0)
    ids = value.get(1, [])
    if type(count) is not int or not isinstance(ids, list) or any(type(i) is not int for i in ids):
        raise ProtocolError(f"malformed SQL info: {reprlib.repr(value)}")
    return SqlInfo(count, ids)


class _PlainBody:
    """Reply._body of a reply whose body is just {DATA: data}: one object."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_PLAIN_BODY"  # pickles as a reference to the one instance


_PLAIN_BODY: Final = _PlainBody()


class Reply:
    """One decoded reply packet.

    Attributes:

    * ``type``: the header's request type: 0 (OK), ``0x80`` (a push sent by
      ``box.session.push`` ahead of the final reply with the same sync) or
      ``0x8000 | code`` for an error.
    * ``sync``: the sync of the request this answers.
    * ``schema_version``: the server's schema version, or None if not sent.
    * ``body``: the raw body map (keys are :class:`Key` values).
    * ``data``: ``body[DATA]`` (tuples for data requests, return values for
      CALL/EVAL, rows for SQL queries), or None.
    * ``error``: a :class:`DatabaseError` for an error reply, else None.
    * ``metadata`` / ``sql_info``: SQL column descriptions
      (:class:`SqlColumn` list) and change summary (:class:`SqlInfo`), or
      None.
    """

    __slots__ = ("_body", "data", "error", "metadata", "schema_version", "sql_info", "sync", "type")

    def __init__(
        self,
        type: int,
        sync: int,
        schema_version: int | None,
        body: dict[int, Any],
        data: list[Any] | None = None,
        error: DatabaseError | None = None,
        metadata: list[SqlColumn] | None = None,
        sql_info: SqlInfo | None = None,
    ) -> None:
        self.type = type
        self.sync = sync
        self.schema_version = schema_version
        self._body: dict[int, Any] | object = body
        self.data = data
        self.error = error
        self.metadata = metadata
        self.sql_info = sql_info

    @property
    def body(self) -> dict[int, Any]:
        """The raw body map (keys are :class:`Key` values)."""
        body = self._body
        if body is _PLAIN_BODY:
            # The parser drops the body of a plain {DATA: [...]} reply: a dict
            # fewer for the GC to track while the reply waits for its caller.
            body = self._body = {_DATA: self.data}
        return body  # type: ignore[return-value]

    @body.setter
    def body(self, body: dict[int, Any]) -> None:
        self._body = body

    @property
    def code(self) -> int:
        """The error code: 0 unless this is an error reply."""
        return self.type & 0x7FFF if self.type & _ERROR_FLAG else 0

    @property
    def is_error(self) -> bool:
        """True if this is an error reply (:attr:`error` is set)."""
        return self.error is not None

    @property
    def is_push(self) -> bool:
        """True if this is a push message, not the final reply to its request."""
        return self.type == _CHUNK

    @property
    def stmt_id(self) -> int | None:
        """The id of the statement a PREPARE created, or None."""
        value = self.body.get(_STMT_ID)
        return value if type(value) is int else None

    @property
    def bind_count(self) -> int | None:
        """How many parameters the statement a PREPARE created takes, or None."""
        value = self.body.get(_BIND_COUNT)
        return value if type(value) is int else None

    @property
    def bind_metadata(self) -> list[SqlColumn] | None:
        """The parameters of a prepared statement (names and types), or None.

        Raises :class:`~greenpool.errors.ProtocolError` if they are malformed.
        """
        value = self.body.get(_BIND_METADATA)
        return None if value is None else _columns(value, "bind metadata")

    def raise_for_error(self) -> Reply:
        """Return this reply if it is not an error; raise its :class:`DatabaseError` otherwise."""
        if self.error is not None:
            raise self.error
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reply):
            return NotImplemented
        return (self.type, self.sync, self.schema_version, self.body) == (
            other.type,
            other.sync,
            other.schema_version,
            other.body,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.error is not None:
            detail = f"error={self.error!r}"
        else:
            detail = f"data={reprlib.repr(self.data)}"
        return f"Reply(sync={self.sync}, type={self.type:#x}, {detail})"


def _decode_reply(header: object, body: object) -> Reply:
    """Validate a decoded header and body and build the Reply; ProtocolError if bad."""
    if not isinstance(header, dict):
        raise ProtocolError(f"reply header is not a map: {reprlib.repr(header)}")
    kind = header.get(_TYPE)
    sync = header.get(_SYNC)
    if type(kind) is not int or kind < 0:
        raise ProtocolError(f"reply header has no valid request type: {reprlib.repr(header)}")
    if type(sync) is not int or sync < 0:
        raise ProtocolError(f"reply header has no valid sync: {reprlib.repr(header)}")
    version = header.get(_SCHEMA_VERSION)
    if version is not None and type(version) is not int:
        raise ProtocolError(f"reply header has a bad schema version: {reprlib.repr(header)}")
    if not isinstance(body, dict):
        raise ProtocolError(f"reply body is not a map: {reprlib.repr(body)}")
    data = body.get(_DATA)
    if data is not None and not isinstance(data, list):
        raise ProtocolError(f"reply data is not an array: {reprlib.repr(data)}")
    reply = Reply(kind, sync, version, body, data)
    if kind & _ERROR_FLAG:
        message = body.get(_ERROR_24)
        if message is not None and not isinstance(message, str):
            raise ProtocolError(f"error message is not a string: {reprlib.repr(message)}")
        reply.error = _error_from_stack(kind & 0x7FFF, message, body.get(_ERROR))
    elif data is None or len(body) > 1:  # a plain {DATA: [...]} reply skips this
        if _METADATA in body:
            reply.metadata = _columns(body[_METADATA], "SQL metadata")
        if _SQL_INFO in body:
            reply.sql_info = _sql_info(body[_SQL_INFO])
    return reply
