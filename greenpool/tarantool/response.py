"""What a successful request returns: a read-only sequence of rows with ``.data``.

:class:`Response` behaves like tarantool-python's: index it, take its
``len``, iterate it, test membership; ``.data`` is the list itself (tuples
for data requests, returned values for ``call``/``eval``, rows for SQL
queries).  SQL statements add :attr:`Response.rowcount`,
:attr:`Response.affected_row_count`, :attr:`Response.autoincrement_ids` and
:attr:`Response.metadata`.  Error replies never become a Response: they
are raised as :class:`~greenpool.tarantool.DatabaseError`.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Sequence
from typing import Any, overload

from ..protocol import iproto

__all__ = ["Response"]

_EMPTY: list[Any] = []


class Response(Sequence[Any]):
    """A successful reply.  Sequence of its rows; the wrapped reply is :attr:`raw`."""

    __slots__ = ("_data", "raw")

    def __init__(self, raw: iproto.Reply) -> None:
        #: The decoded packet (:class:`greenpool.protocol.iproto.Reply`).
        self.raw = raw
        data = raw.data
        self._data: list[Any] = data if data is not None else []

    # -- the sequence --------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._data[index]

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __contains__(self, item: object) -> bool:
        return item in self._data

    def __reversed__(self) -> Iterator[Any]:
        return iter(self._data[::-1])

    def __eq__(self, other: object) -> bool:
        """Equal to another Response with equal rows, or to a list/tuple of the same rows."""
        if isinstance(other, Response):
            return self._data == other._data
        if isinstance(other, (list, tuple)):
            return self._data == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Response({reprlib.repr(self._data)})"

    # -- tarantool-python's attributes ----------------------------------

    @property
    def data(self) -> list[Any]:
        """The rows: tuples, returned values or SQL rows (an empty list when there are none)."""
        return self._data

    @property
    def sync(self) -> int:
        """The request's sync id."""
        return self.raw.sync

    @property
    def code(self) -> int:
        """The reply's type: 0 (OK) for every Response."""
        return self.raw.type

    @property
    def return_code(self) -> int:
        """0: error replies are raised, not returned."""
        return 0

    @property
    def return_message(self) -> str:
        """Empty: error replies are raised, not returned."""
        return ""

    @property
    def schema_version(self) -> int | None:
        """The server's schema version when it answered."""
        return self.raw.schema_version

    @property
    def body(self) -> dict[int, Any]:
        """The raw body map (keys are IPROTO key numbers)."""
        return self.raw.body

    # -- SQL ------------------------------------------------------------

    @property
    def metadata(self) -> list[iproto.SqlColumn] | None:
        """The columns of an SQL query's rows (name, type ...), or None."""
        return self.raw.metadata

    @property
    def sql_info(self) -> iproto.SqlInfo | None:
        """What an SQL statement other than a query changed, or None."""
        return self.raw.sql_info

    @property
    def affected_row_count(self) -> int | None:
        """Rows an SQL statement changed (INSERT, UPDATE, DELETE, DDL), or None for others."""
        info = self.raw.sql_info
        return info.row_count if info is not None else None

    @property
    def autoincrement_ids(self) -> list[int] | None:
        """Ids an SQL INSERT generated for AUTOINCREMENT columns, or None."""
        info = self.raw.sql_info
        if info is None or not info.autoincrement_ids:
            return None
        return list(info.autoincrement_ids)

    @property
    def rowcount(self) -> int:
        """Rows changed by an SQL statement, otherwise the number of rows returned."""
        info = self.raw.sql_info
        return info.row_count if info is not None else len(self._data)
