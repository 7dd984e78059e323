"""Request builders: ``build(schema, sync) -> packet`` for each request type.

The connection and the pool make one builder per request (a
``functools.partial`` of a function here with the request's arguments);
the connection calls it with its schema and a fresh sync id.  Space and
index names go through the schema, and a packet built from names carries
the schema version, so that the server refuses it (error 109) if the names
moved since: the connection then reloads the schema and builds the packet
again.  No I/O here.
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

#: Builds one request packet: ``build(schema, sync) -> bytes``.  Raises
#: SchemaError for a name the schema does not know.
Build = Callable[[Schema | None, int], bytes]


def call_args(args: tuple[Any, ...]) -> Sequence[Any]:
    """tarantool-python's rule: one list or tuple argument is the argument list."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return args[0]
    return args


def _space_id(schema: Schema | None, space: str | int) -> int:
    if type(space) is int:
        return space
    if schema is None:
        if isinstance(space, str):
            raise ConfigurationError(
                "space_name", space, "names need fetch_schema=True; give the space id"
            )
        raise ConfigurationError("space_name", space, "must be a space name or id")
    return schema.resolve_space(space)


def _index_id(schema: Schema | None, space: str | int, index: str | int) -> int:
    if type(index) is int:
        return index
    if schema is None:
        raise ConfigurationError("index", index, "names need fetch_schema=True; give the index id")
    return schema.resolve_index(space, index)


def _version(schema: Schema | None, *names: object) -> int | None:
    if schema is None:
        return None
    for name in names:
        if type(name) is not int:
            return schema.version
    return None


def select_builder(
    space: str | int,
    key: Any,
    offset: int,
    limit: int,
    index: str | int,
    iterator: Iterator | int | str | None,
) -> Build:
    """The builder of a SELECT (shared by the connection and the pool)."""
    if iterator is None:
        iterator = Iterator.ALL if key is None or key == [] or key == () else Iterator.EQ
    if type(space) is int and type(index) is int:
        return functools.partial(_build_select_ids, space, index, key, offset, limit, iterator)
    return functools.partial(build_select, space, key, offset, limit, index, iterator)


def _build_select_ids(
    space: int, index: int, key: Any, offset: int, limit: int, iterator: Any,
    schema: Schema | None, sync: int,
) -> bytes:
    return encode_select(sync, space, index, key, offset, limit, iterator)


def build_select(
    space: str | int, key: Any, offset: int, limit: int, index: str | int, iterator: Any,
    schema: Schema | None, sync: int,
) -> bytes:
    return encode_select(
        sync, _space_id(schema, space), _index_id(schema, space, index), key, offset, limit,
        iterator, schema_version=_version(schema, space, index),
    )


def build_store(
    encoder: Callable[..., bytes], space: str | int, values: Any, schema: Schema | None, sync: int
) -> bytes:
    if type(space) is int:
        return encoder(sync, space, values)
    return encoder(sync, _space_id(schema, space), values, schema_version=_version(schema, space))


def build_update(
    space: str | int, key: Any, ops: Any, index: str | int, schema: Schema | None, sync: int
) -> bytes:
    return encode_update(
        sync, _space_id(schema, space), _index_id(schema, space, index), key, ops,
        schema_version=_version(schema, space, index),
    )


def build_upsert(
    space: str | int, values: Any, ops: Any, index: str | int, schema: Schema | None, sync: int
) -> bytes:
    if type(index) is not int:
        _index_id(schema, space, index)  # only checked: UPSERT always uses the primary key
    return encode_upsert(
        sync, _space_id(schema, space), values, ops, schema_version=_version(schema, space)
    )


def build_delete(
    space: str | int, key: Any, index: str | int, schema: Schema | None, sync: int
) -> bytes:
    return encode_delete(
        sync, _space_id(schema, space), _index_id(schema, space, index), key,
        schema_version=_version(schema, space, index),
    )


def build_call(name: str, args: Sequence[Any], schema: Schema | None, sync: int) -> bytes:
    return encode_call(sync, name, args)


def build_eval(expr: str, args: Sequence[Any], schema: Schema | None, sync: int) -> bytes:
    return encode_eval(sync, expr, args)


def build_execute(
    query: str, params: Any, schema: Schema | None, sync: int
) -> bytes:
    return encode_execute(sync, query, params)


def build_ping(schema: Schema | None, sync: int) -> bytes:
    return encode_ping(sync)
