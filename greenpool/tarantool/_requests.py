"""Request builders: ``build(names, sync) -> packet`` for each request type.

The connection and the pool make one builder per request (a
``functools.partial`` of a function here with the request's arguments);
the connection calls it with its :class:`Names` (the schema, plus a cache
of resolved names) and a fresh sync id.  No I/O here.

Names and schema changes: a data-changing packet built from names carries
the schema version, so the server refuses it (error 109) if the names moved
since; the connection then reloads the schema and sends it again.  A SELECT
built from names goes without the version (it is the hottest request, and
the version costs a slower encoding); instead the connection checks the
reply's schema version against the one the names came from, and on a
mismatch reloads and selects again.  A SELECT changes nothing, so reading
the wrong space once and throwing the rows away is harmless.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigurationError
from ..protocol.iproto import (
    Iterator,
    Schema,
    encode_call,
    encode_delete,
    encode_eval,
    encode_execute,
    encode_ping,
    encode_select,
    encode_update,
    encode_upsert,
)

__all__ = [
    "Build",
    "Names",
    "build_call",
    "build_delete",
    "build_eval",
    "build_execute",
    "build_ping",
    "build_select",
    "build_store",
    "build_update",
    "build_upsert",
    "call_args",
    "select_builder",
]



class Names:
    """A schema and the ids of the space and index names resolved through it so far.

    ``schema`` None (``fetch_schema=False``): only ids may be used.
    """

    __slots__ = ("pairs", "schema", "spaces", "version")

    def __init__(self, schema: Schema | None) -> None:
        self.schema = schema
        self.version: int | None = schema.version if schema is not None else None
        self.spaces: dict[Any, int] = {}
        self.pairs: dict[Any, tuple[int, int]] = {}

    def space(self, space: Any) -> int:
        """The id of ``space`` (a name or an id).  Raises SchemaError or ConfigurationError."""
        if type(space) is int:
            return space
        found = self.spaces.get(space)
        if found is not None:
            return found
        schema = self.schema
        if schema is None:
            if isinstance(space, str):
                raise ConfigurationError(
                    "space_name", space, "names need fetch_schema=True; give the space id"
                )
            raise ConfigurationError("space_name", space, "must be a space name or id")
        found = schema.resolve_space(space)
        if len(self.spaces) < 4096:
            self.spaces[space] = found
        return found

    def pair(self, space: Any, index: Any) -> tuple[int, int]:
        """The ids of ``space`` and its ``index`` (names or ids)."""
        found = self.pairs.get((space, index))
        if found is not None:
            return found
        space_id = self.space(space)
        if type(index) is int:
            found = (space_id, index)
        elif self.schema is None:
            raise ConfigurationError(
                "index", index, "names need fetch_schema=True; give the index id"
            )
        else:
            found = (space_id, self.schema.resolve_index(space, index))
        if len(self.pairs) < 4096:
            self.pairs[(space, index)] = found
        return found


#: Builds one request packet: ``build(names, sync) -> bytes``.  Raises
#: SchemaError for a name the schema does not know.
Build = Callable[[Names, int], bytes]


def call_args(args: tuple[Any, ...]) -> Sequence[Any]:
    """tarantool-python's rule: one list or tuple argument is the argument list."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return args[0]
    return args


def _version(names: Names, space: Any, index: Any = 0) -> int | None:
    if type(space) is int and type(index) is int:
        return None
    return names.version


def select_builder(
    space: str | int,
    key: Any,
    offset: int,
    limit: int,
    index: str | int,
    iterator: Iterator | int | str | None,
) -> tuple[Build, bool]:
    """The builder of a SELECT, and whether its reply's schema version must be checked."""
    if iterator is None:
        iterator = Iterator.ALL if key is None or key == [] or key == () else Iterator.EQ
    if type(space) is int and type(index) is int:
        return functools.partial(_build_select_ids, space, index, key, offset, limit,
                                 iterator), False
    return functools.partial(build_select, space, key, offset, limit, index, iterator), True


def _build_select_ids(
    space: int, index: int, key: Any, offset: int, limit: int, iterator: Any,
    names: Names, sync: int,
) -> bytes:
    return encode_select(sync, space, index, key, offset, limit, iterator)


def build_select(
    space: str | int, key: Any, offset: int, limit: int, index: str | int, iterator: Any,
    names: Names, sync: int,
) -> bytes:
    """SELECT by names, sent without the schema version (see the module docstring)."""
    ids = names.pairs.get((space, index)) or names.pair(space, index)
    return encode_select(sync, ids[0], ids[1], key, offset, limit, iterator)


def build_store(
    encoder: Callable[..., bytes], space: str | int, values: Any, names: Names, sync: int
) -> bytes:
    """INSERT or REPLACE (``encoder``)."""
    if type(space) is int:
        return encoder(sync, space, values)
    return encoder(sync, names.space(space), values, schema_version=names.version)


def build_update(
    space: str | int, key: Any, ops: Any, index: str | int, names: Names, sync: int
) -> bytes:
    """UPDATE."""
    ids = names.pair(space, index)
    return encode_update(sync, ids[0], ids[1], key, ops,
                         schema_version=_version(names, space, index))


def build_upsert(
    space: str | int, values: Any, ops: Any, index: str | int, names: Names, sync: int
) -> bytes:
    """UPSERT (``index`` is only checked: the server always uses the primary key)."""
    ids = names.pair(space, index)
    return encode_upsert(sync, ids[0], values, ops, schema_version=_version(names, space, index))


def build_delete(
    space: str | int, key: Any, index: str | int, names: Names, sync: int
) -> bytes:
    """DELETE."""
    ids = names.pair(space, index)
    return encode_delete(sync, ids[0], ids[1], key, schema_version=_version(names, space, index))


def build_call(name: str, args: Sequence[Any], names: Names, sync: int) -> bytes:
    """CALL."""
    return encode_call(sync, name, args)


def build_eval(expr: str, args: Sequence[Any], names: Names, sync: int) -> bytes:
    """EVAL."""
    return encode_eval(sync, expr, args)


def build_execute(query: str, params: Any, names: Names, sync: int) -> bytes:
    """EXECUTE (SQL)."""
    return encode_execute(sync, query, params)


def build_ping(names: Names, sync: int) -> bytes:
    """PING."""
    return encode_ping(sync)
