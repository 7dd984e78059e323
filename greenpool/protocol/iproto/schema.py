"""Names of spaces, indexes and fields mapped to the numeric ids the protocol needs.

Built from the rows of the ``_vspace`` and ``_vindex`` system views (see
:func:`~.requests.encode_vspace_select`).
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from greenpool.errors import ConfigurationError, ProtocolError

from .constants import ER_WRONG_SCHEMA_VERSION
from .errors import SchemaError
from .responses import Reply

__all__ = ["IndexInfo", "Schema", "SpaceInfo"]


@dataclass(frozen=True)
class IndexInfo:
    """One index from ``_vindex``: its space, id, name, type (``TREE``,
    ``HASH`` ...), whether it is unique, and the field numbers (from 0) of
    its parts."""

    space_id: int
    id: int
    name: str
    type: str
    unique: bool
    parts: tuple[int, ...]


@dataclass(frozen=True)
class SpaceInfo:
    """One space from ``_vspace``: its id, name, engine, field names from
    its format (in order) and indexes by name and by id."""

    id: int
    name: str
    engine: str
    field_names: tuple[str, ...]
    indexes: Mapping[str, IndexInfo]
    indexes_by_id: Mapping[int, IndexInfo]

    def field_number(self, name: str) -> int:
        """Return the number (from 0) of the field called ``name``.

        Raises :class:`SchemaError` if the space's format has no such field.
        """
        try:
            return self.field_names.index(name)
        except ValueError:
            raise SchemaError("field", name, self.name)


def _index_parts(parts: object) -> tuple[int, ...]:
    """Field numbers of an index's parts: maps {field: n, ...} or arrays [n, type]."""
    if not isinstance(parts, list):
        raise ProtocolError(f"malformed index parts: {reprlib.repr(parts)}")
    numbers = []
    for part in parts:
        if isinstance(part, dict):
            number = part.get("field")
        elif isinstance(part, list) and part:
            number = part[0]
        else:
            number = None
        if type(number) is not int:
            raise ProtocolError(f"malformed index part: {reprlib.repr(part)}")
        numbers.append(number)
    return tuple(numbers)


class Schema:
    """Names of spaces, indexes and fields, mapped to ids, at one schema version.

    Build it with :meth:`from_rows` (or :meth:`from_responses`) from the
    data of :func:`encode_vspace_select` and :func:`encode_vindex_select`
    replies.  Only spaces the user can see are listed.  When a reply
    carries another schema version (:meth:`is_stale`) or a request fails
    with :data:`ER_WRONG_SCHEMA_VERSION` (:meth:`needs_reload`), load it
    again.
    """

    def __init__(self, spaces: Iterable[SpaceInfo], version: int | None = None) -> None:
        self.version = version
        self.spaces: dict[str, SpaceInfo] = {}
        self.spaces_by_id: dict[int, SpaceInfo] = {}
        for space in spaces:
            self.spaces[space.name] = space
            self.spaces_by_id[space.id] = space

    @classmethod
    def from_rows(
        cls,
        vspace_rows: Iterable[Sequence[Any]],
        vindex_rows: Iterable[Sequence[Any]],
        version: int | None = None,
    ) -> Schema:
        """Build a Schema from the rows of ``_vspace`` and ``_vindex``.

        Raises :class:`~greenpool.errors.ProtocolError` if a row does not
        have the layout of those system views.
        """
        indexes: dict[int, list[IndexInfo]] = {}
        for row in vindex_rows:
            if (
                not isinstance(row, (list, tuple))
                or len(row) < 6
                or type(row[0]) is not int
                or type(row[1]) is not int
                or not isinstance(row[2], str)
                or not isinstance(row[3], str)
            ):
                raise ProtocolError(f"malformed _vindex row: {reprlib.repr(row)}")
            opts = row[4] if isinstance(row[4], dict) else {}
            index = IndexInfo(
                row[0],
                row[1],
                row[2],
                row[3].upper(),
                bool(opts.get("unique", True)),
                _index_parts(row[5]),
            )
            indexes.setdefault(index.space_id, []).append(index)
        spaces = []
        for row in vspace_rows:
            if (
                not isinstance(row, (list, tuple))
                or len(row) < 4
                or type(row[0]) is not int
                or not isinstance(row[2], str)
                or not isinstance(row[3], str)
            ):
                raise ProtocolError(f"malformed _vspace row: {reprlib.repr(row)}")
            fmt = row[6] if len(row) > 6 and isinstance(row[6], list) else []
            names = tuple(
                f["name"] for f in fmt if isinstance(f, dict) and isinstance(f.get("name"), str)
            )
            own = indexes.get(row[0], [])
            spaces.append(
                SpaceInfo(
                    row[0],
                    row[2],
                    row[3],
                    names,
                    {i.name: i for i in own},
                    {i.id: i for i in own},
                )
            )
        return cls(spaces, version)

    @classmethod
    def from_responses(cls, vspace: Reply, vindex: Reply) -> Schema:
        """Build a Schema from the replies to the two schema selects.

        The version is the one the replies carry.  Raises the reply's
        :class:`DatabaseError` if either is an error, and
        :class:`~greenpool.errors.ProtocolError` if their rows are malformed
        or their schema versions differ (the schema changed in between:
        load it again).
        """
        vspace.raise_for_error()
        vindex.raise_for_error()
        if vspace.schema_version != vindex.schema_version:
            raise ProtocolError(
                f"schema changed while loading it (versions {vspace.schema_version} "
                f"and {vindex.schema_version}): load it again"
            )
        return cls.from_rows(vspace.data or [], vindex.data or [], vspace.schema_version)

    def space(self, space: str | int) -> SpaceInfo:
        """Return the :class:`SpaceInfo` of a space given by name or id.

        Raises :class:`SchemaError` if the schema has no such space.
        """
        info: SpaceInfo | None = None
        if isinstance(space, str):
            info = self.spaces.get(space)
        elif isinstance(space, int) and not isinstance(space, bool):
            info = self.spaces_by_id.get(space)
        if info is None:
            raise SchemaError("space", space)
        return info

    def resolve_space(self, space: str | int) -> int:
        """Return the id of a space given by name, or the id itself.

        Ids are returned as they are even if not in the schema (the server
        checks them).  Raises :class:`SchemaError` for an unknown name and
        :class:`~greenpool.errors.ConfigurationError` for anything but a
        str or int.
        """
        if isinstance(space, int) and not isinstance(space, bool):
            return space
        if isinstance(space, str):
            info = self.spaces.get(space)
            if info is None:
                raise SchemaError("space", space)
            return info.id
        raise ConfigurationError("space", space, "must be a space name or id")

    def resolve_index(self, space: str | int, index: str | int) -> int:
        """Return the id of an index of ``space`` given by name, or the id itself.

        Ids are returned as they are.  Raises :class:`SchemaError` for an
        unknown space or index name and
        :class:`~greenpool.errors.ConfigurationError` for anything but a
        str or int.
        """
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        if not isinstance(index, str):
            raise ConfigurationError("index", index, "must be an index name or id")
        info = self.space(space)
        found = info.indexes.get(index)
        if found is None:
            raise SchemaError("index", index, info.name)
        return found.id

    def is_stale(self, response: Reply) -> bool:
        """True if ``response`` carries a schema version other than this schema's."""
        return (
            response.schema_version is not None
            and self.version is not None
            and response.schema_version != self.version
        )

    def needs_reload(self, response: Reply) -> bool:
        """True if the schema should be loaded again after ``response``.

        That is when the reply carries another schema version or the
        request was refused with :data:`ER_WRONG_SCHEMA_VERSION`.
        """
        return self.is_stale(response) or response.code == ER_WRONG_SCHEMA_VERSION

    def __repr__(self) -> str:
        return f"Schema(version={self.version}, spaces={sorted(self.spaces)})"
