"""Request builders: ``build(names, sync, args) -> packet`` for each request type.

The connection and the pool call a request's builder with their
:class:`Names` (the schema, plus a cache of resolved names), a fresh sync
id and the request's arguments as one tuple: a plain tuple costs less
than a ``functools.partial`` per request, and the GC can untrack it.  A
request sent again (after a reconnect or a schema reload) is built again
with a new sync.  No I/O here.

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

from collections.abc import Callable, Sequence
from typing import Any, Final

from ..errors import ConfigurationError
from ..protocol.iproto import (
    IteratorType,
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
    "default_iterator",
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


#: Builds one request packet: ``build(names, sync, args) -> bytes``.  Raises
#: SchemaError for a name the schema does not know.
Build = Callable[[Names, int, Any], bytes]


def call_args(args: tuple[Any, ...]) -> Sequence[Any]:
    """tarantool-python's rule: one list or tuple argument is the argument list."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return args[0]
    return args


def _version(names: Names, space: Any, index: Any = 0) -> int | None:
    if type(space) is int and type(index) is int:
        return None
    return names.version


# Plain ints, not IteratorType members: a request's args tuple holding only
# ints and strings is one the GC can stop tracking (an enum member is an
# object it tracks).
_EQ: Final = int(IteratorType.EQ)
_ALL: Final = int(IteratorType.ALL)


def default_iterator(key: Any) -> int:
    """A SELECT's iterator when none is given: ALL for an empty key, else EQ (as an int)."""
    return _ALL if key is None or key == [] or key == () else _EQ


def build_select(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """SELECT: args ``(space, key, offset, limit, index, iterator)``.

    Names go without the schema version (see the module docstring): the
    caller checks the reply's version when ``space`` or ``index`` is a name.
    """
    space, key, offset, limit, index, iterator = args
    if type(space) is int and type(index) is int:
        return encode_select(sync, space, index, key, offset, limit, iterator)
    ids = names.pairs.get((space, index)) or names.pair(space, index)
    return encode_select(sync, ids[0], ids[1], key, offset, limit, iterator)


def build_store(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """INSERT or REPLACE: args ``(encoder, space, values)``."""
    encoder: Callable[..., bytes] = args[0]
    space, values = args[1], args[2]
    if type(space) is int:
        return encoder(sync, space, values)
    space_id = names.spaces.get(space)
    if space_id is None:
        space_id = names.space(space)
    return encoder(sync, space_id, values, schema_version=names.version)


def build_update(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """UPDATE: args ``(space, key, ops, index)``."""
    space, key, ops, index = args
    ids = names.pair(space, index)
    return encode_update(sync, ids[0], ids[1], key, ops,
                         schema_version=_version(names, space, index))


def build_upsert(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """UPSERT: args ``(space, values, ops, index)`` (``index`` is only checked: the
    server always uses the primary key)."""
    space, values, ops, index = args
    ids = names.pair(space, index)
    return encode_upsert(sync, ids[0], values, ops, schema_version=_version(names, space, index))


def build_delete(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """DELETE: args ``(space, key, index)``."""
    space, key, index = args
    ids = names.pair(space, index)
    return encode_delete(sync, ids[0], ids[1], key, schema_version=_version(names, space, index))


def build_call(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """CALL: args ``(function name, arguments)``."""
    return encode_call(sync, args[0], args[1])


def build_eval(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """EVAL: args ``(expression, arguments)``."""
    return encode_eval(sync, args[0], args[1])


def build_execute(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """EXECUTE (SQL): args ``(query, params)``."""
    return encode_execute(sync, args[0], args[1])


def build_ping(names: Names, sync: int, args: tuple[Any, ...]) -> bytes:
    """PING: no args."""
    return encode_ping(sync)
