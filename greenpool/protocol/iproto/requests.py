"""Request encoders: Python values in, complete IPROTO packets out.

Each ``encode_*`` function returns a packet (length prefix, header, body)
ready to write to a socket.  Each takes the request's ``sync`` (the id the
reply will carry) and an optional keyword ``schema_version``: when given, the
server refuses the request with :data:`~.constants.ER_WRONG_SCHEMA_VERSION`
if its schema changed since, so names resolved with
:class:`~.schema.Schema` are never applied to the wrong space.  Bad
arguments raise :class:`~greenpool.errors.ConfigurationError` naming the
argument.

:class:`IteratorType` is the index iterator type a SELECT takes (named so
that it does not shadow :class:`collections.abc.Iterator`; ``Iterator``, its
former name, is a deprecated alias in :mod:`greenpool.protocol.iproto` and
:mod:`greenpool.tarantool`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any, Final

from greenpool._util import check_int
from greenpool.errors import ConfigurationError

from ._msgpack import _bad_value, _pack
from .constants import (
    _SCHEMA_VERSION,
    _SYNC,
    _TYPE,
    _U32_MAX,
    _U64_MAX,
    VINDEX_ID,
    VSPACE_ID,
    RequestType,
)
from .greeting import scramble

__all__ = [
    "IteratorType",
    "encode_auth",
    "encode_call",
    "encode_delete",
    "encode_eval",
    "encode_execute",
    "encode_id",
    "encode_insert",
    "encode_ping",
    "encode_prepare",
    "encode_replace",
    "encode_request",
    "encode_select",
    "encode_unprepare",
    "encode_update",
    "encode_upsert",
    "encode_vindex_select",
    "encode_vspace_select",
    "iterator_from",
]


class IteratorType(IntEnum):
    """Index iterator types for :func:`encode_select`.

    ``EQ``/``REQ`` find keys equal to the given one (``REQ`` in reverse
    order), ``ALL`` everything, ``LT``/``LE``/``GE``/``GT`` compare,
    ``BITS_*`` test bits (bitset indexes), ``OVERLAPS`` and ``NEIGHBOR``
    search RTREE indexes.
    """

    EQ = 0
    REQ = 1
    ALL = 2
    LT = 3
    LE = 4
    GE = 5
    GT = 6
    BITS_ALL_SET = 7
    BITS_ANY_SET = 8
    BITS_ALL_NOT_SET = 9
    OVERLAPS = 10
    NEIGHBOR = 11


_ITERATOR_ALIASES: Final[Mapping[str, IteratorType]] = {
    "=": IteratorType.EQ,
    "==": IteratorType.EQ,
    "<": IteratorType.LT,
    "<=": IteratorType.LE,
    ">=": IteratorType.GE,
    ">": IteratorType.GT,
    "&": IteratorType.BITS_ALL_SET,
    "&&": IteratorType.OVERLAPS,
    "<->": IteratorType.NEIGHBOR,
}


def iterator_from(value: IteratorType | int | str) -> IteratorType:
    """Return the :class:`IteratorType` that ``value`` names.

    Accepts an :class:`IteratorType`, its number, its name in any case (``"ge"``,
    ``"BITS_ANY_SET"``) or an operator: ``=``/``==`` EQ, ``<`` LT, ``<=`` LE,
    ``>=`` GE, ``>`` GT, ``&`` BITS_ALL_SET, ``&&`` OVERLAPS, ``<->``
    NEIGHBOR.  Raises :class:`~greenpool.errors.ConfigurationError` for
    anything else.
    """
    if isinstance(value, IteratorType):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return IteratorType(value)
        except ValueError:
            raise ConfigurationError("iterator", value, "is not an iterator number (0-11)")
    if isinstance(value, str):
        text = value.strip()
        alias = _ITERATOR_ALIASES.get(text)
        if alias is not None:
            return alias
        try:
            return IteratorType[text.upper()]
        except KeyError:
            pass
    names = ", ".join(IteratorType.__members__)
    raise ConfigurationError("iterator", value, f"must be one of {names} or an operator")


_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_FIXINT: Final = tuple(bytes((n,)) for n in range(128))
# length prefix (uint32) + header map {REQUEST_TYPE: type, SYNC: uint64}
_HEAD = struct.Struct(">BIBBBBBQ")
# ... + SCHEMA_VERSION: uint64
_HEAD_SCHEMA = struct.Struct(">BIBBBBBQBBQ")
# The same with the constant bytes as "Ns" fields (struct packs one of them
# faster than a field per byte): the header map up to the sync's value, for
# each request type, without and with the schema version.
_FAST_HEAD = struct.Struct(">BI5sQ")
_FAST_HEAD_SCHEMA = struct.Struct(">BI5sQ2sQ")
_HEADERS: Final = tuple(bytes((0x82, _TYPE, kind, _SYNC, 0xCF)) for kind in range(0x80))
_HEADERS_SCHEMA: Final = tuple(bytes((0x83, _TYPE, kind, _SYNC, 0xCF)) for kind in range(0x80))


def _uint(n: int) -> bytes:
    """Pack a non-negative int (already checked to be < 2**64) as a MessagePack uint."""
    if n < 0x80:
        return _FIXINT[n]
    if n <= _U32_MAX:
        return b"\xce" + _U32.pack(n)
    return b"\xcf" + _U64.pack(n)


def _check_uint(name: str, value: object, maximum: int) -> int:
    """Return ``value`` as an int if 0 <= value <= maximum; ConfigurationError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
        return int(value)
    check_int(name, value, minimum=0)
    raise ConfigurationError(name, value, f"must be <= {maximum}")


def _frame(request_type: int, sync: object, body: bytes, schema_version: object | None) -> bytes:
    """Prefix ``body`` with the length and the header."""
    if type(sync) is int and (schema_version is None or type(schema_version) is int):
        # The usual case: struct checks the ranges; on struct.error the
        # checks below name the bad argument.
        try:
            if schema_version is None:
                head = _FAST_HEAD.pack(0xCE, len(body) + 13, _HEADERS[request_type], sync)
            else:
                head = _FAST_HEAD_SCHEMA.pack(0xCE, len(body) + 23,
                                              _HEADERS_SCHEMA[request_type], sync,
                                              b"\x05\xcf", schema_version)
            return head + body
        except (struct.error, IndexError):
            pass
    if type(sync) is not int or not 0 <= sync <= _U64_MAX:
        sync = _check_uint("sync", sync, _U64_MAX)
    if schema_version is None:
        size = len(body) + 13
        if size > _U32_MAX:
            raise _bad_value("request", body, "is larger than 4 GiB")
        return _HEAD.pack(0xCE, size, 0x82, _TYPE, request_type, _SYNC, 0xCF, sync) + body
    version = _check_uint("schema_version", schema_version, _U64_MAX)
    size = len(body) + 23
    if size > _U32_MAX:
        raise _bad_value("request", body, "is larger than 4 GiB")
    head = _HEAD_SCHEMA.pack(
        0xCE, size, 0x83, _TYPE, request_type, _SYNC, 0xCF, sync, _SCHEMA_VERSION, 0xCF, version
    )
    return head + body


def _key(key: object) -> object:
    """A key may be a list/tuple of parts, None (no parts) or a single part."""
    if isinstance(key, (list, tuple)):
        return key
    if key is None:
        return ()
    return (key,)


def _sequence(name: str, value: object, allow_none: bool = False) -> Sequence[Any]:
    """Check that ``value`` is a list or tuple (or None when allowed, meaning empty)."""
    if isinstance(value, (list, tuple)):
        return value
    if value is None and allow_none:
        return ()
    raise _bad_value(name, value, "must be a list or tuple")


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _bad_value(name, value, "must be a non-empty str")
    return value


_UPDATE_OPERATORS: Final = frozenset("+-&|^:!#=")


def _ops(name: str, value: object) -> Sequence[Any]:
    """Check update operations: a list of (operator, field, argument...) lists/tuples."""
    ops = _sequence(name, value)
    for op in ops:
        if (
            not isinstance(op, (list, tuple))
            or len(op) < 2
            or op[0] not in _UPDATE_OPERATORS
            or isinstance(op[1], bool)
            or not isinstance(op[1], (int, str))
        ):
            raise _bad_value(
                name,
                op,
                "each operation must be a list/tuple (operator, field number or name, "
                "argument...) with an operator among + - & | ^ : ! # =",
            )
    return ops


def encode_request(
    sync: int,
    request_type: int,
    body: Mapping[int, Any] | None = None,
    *,
    schema_version: int | None = None,
) -> bytes:
    """Return a packet of any ``request_type`` with ``body`` (a map of :class:`Key` to values).

    The other encoders are shortcuts for this.  Raises
    :class:`~greenpool.errors.ConfigurationError` for a bad sync, type or
    schema version, or a body that cannot be encoded.
    """
    kind = _check_uint("request_type", request_type, 0x7F)
    if body is not None and not isinstance(body, Mapping):
        raise _bad_value("body", body, "must be a mapping of body keys to values")
    packed = _pack("body", {int(k): v for k, v in body.items()} if body else {})
    return _frame(kind, sync, packed, schema_version)


_EMPTY_MAP: Final = b"\x80"


def encode_ping(sync: int, *, schema_version: int | None = None) -> bytes:
    """Return a PING packet: the server answers with an empty OK reply.

    Raises :class:`~greenpool.errors.ConfigurationError` for a bad sync.
    """
    return _frame(RequestType.PING, sync, _EMPTY_MAP, schema_version)


def encode_auth(
    sync: int,
    user: str,
    password: str | bytes,
    salt: bytes,
    *,
    schema_version: int | None = None,
) -> bytes:
    """Return an AUTH packet logging in as ``user`` with ``chap-sha1``.

    ``salt`` is :attr:`Greeting.salt`.  The reply is OK, or an error with
    code :data:`ER_PASSWORD_MISMATCH` or :data:`ER_NO_SUCH_USER`.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    name = _text("user", user)
    proof = scramble(salt, password)
    body = b"\x82\x23" + _pack("user", name) + b"\x21\x92\xa9chap-sha1\xc4\x14" + proof
    return _frame(RequestType.AUTH, sync, body, schema_version)


# SELECT body up to the key: SPACE_ID, INDEX_ID, LIMIT, OFFSET (uint32 each),
# ITERATOR (fixint), then the KEY key.
_SELECT_BODY = struct.Struct(">BBBIBBIBBIBBIBBB")
_SELECT_TYPE: Final = 0x01
# The fast path makes the whole packet in one struct.pack, with the constant
# runs of bytes as "Ns" fields: the prefix, the header and the body up to
# the key ...
_SELECT_FAST = struct.Struct(">BI5sQ3sI2sI2sI2sIBBB")


def _select_by_uint(key_format: str, markers: bytes) -> tuple[struct.Struct, bytes, bytes]:
    """A SELECT packet whose key is one unsigned int: its struct, its first ten
    bytes (prefix and header, constant) and the bytes between ITERATOR's value
    and the int (the KEY key, then the array's and the int's markers)."""
    packer = struct.Struct(f">10sQ3sI2sI2sI2sIBB{1 + len(markers)}s{key_format}")
    head = struct.pack(">BI5s", 0xCE, packer.size - 5, _HEADERS[_SELECT_TYPE])
    return packer, head, b"\x20" + markers


# ... and with a key of one unsigned integer, packed as MessagePack packs it
# (the narrowest width).
_SELECT_BY_FIXINT = _select_by_uint("B", b"\x91")
_SELECT_BY_UINT8 = _select_by_uint("B", b"\x91\xcc")
_SELECT_BY_UINT16 = _select_by_uint("H", b"\x91\xcd")
_SELECT_BY_UINT32 = _select_by_uint("I", b"\x91\xce")


def encode_select(
    sync: int,
    space_id: int,
    index_id: int,
    key: Any = None,
    offset: int = 0,
    limit: int = _U32_MAX,
    iterator: IteratorType | int | str = IteratorType.EQ,
    *,
    schema_version: int | None = None,
) -> bytes:
    """Return a SELECT packet: tuples of ``space_id`` found through ``index_id``.

    ``key`` is a list or tuple of key parts, a single part, or None (empty
    key: with ``IteratorType.EQ`` or ``ALL`` that is every tuple).  ``iterator``
    is anything :func:`iterator_from` accepts.  The reply's
    :attr:`Reply.data` is the list of tuples.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    if (
        schema_version is None
        and type(sync) is int
        and type(space_id) is int
        and type(index_id) is int
        and type(offset) is int
        and type(limit) is int
        and (type(iterator) is IteratorType or (type(iterator) is int and 0 <= iterator <= 11))
    ):
        # The hot path: struct checks the ranges of the ints (on struct.error
        # the checks below name the bad argument), and one struct.pack makes
        # the length prefix, the header and every fixed-size body field.
        part = key
        if (type(key) is list or type(key) is tuple) and len(key) == 1:
            part = key[0]
        try:
            if type(part) is int and 0 <= part <= _U32_MAX:
                if part < 0x80:
                    packer, head, markers = _SELECT_BY_FIXINT
                elif part < 0x100:
                    packer, head, markers = _SELECT_BY_UINT8
                elif part < 0x10000:
                    packer, head, markers = _SELECT_BY_UINT16
                else:
                    packer, head, markers = _SELECT_BY_UINT32
                return packer.pack(
                    head, sync, b"\x86\x10\xce", space_id, b"\x11\xce", index_id,
                    b"\x12\xce", limit, b"\x13\xce", offset, 0x14, iterator, markers, part,
                )  # fmt: skip
            packed_key = _pack("key", key if type(key) is list or type(key) is tuple
                               else _key(key))
            return _SELECT_FAST.pack(
                0xCE, _SELECT_FAST.size - 5 + len(packed_key), _HEADERS[_SELECT_TYPE], sync,
                b"\x86\x10\xce", space_id, b"\x11\xce", index_id, b"\x12\xce", limit,
                b"\x13\xce", offset, 0x14, iterator, 0x20,
            ) + packed_key  # fmt: skip
        except (struct.error, ConfigurationError):
            pass  # the checks below raise for the first bad argument
    if type(sync) is not int or not 0 <= sync <= _U64_MAX:
        sync = _check_uint("sync", sync, _U64_MAX)
    space_id = _check_uint("space_id", space_id, _U32_MAX)
    index_id = _check_uint("index_id", index_id, _U32_MAX)
    offset = _check_uint("offset", offset, _U32_MAX)
    limit = _check_uint("limit", limit, _U32_MAX)
    if type(iterator) is not int or not 0 <= iterator <= 11:
        iterator = int(iterator_from(iterator))
    packed_key = _pack("key", _key(key))
    body = _SELECT_BODY.pack(
        0x86, 0x10, 0xCE, space_id, 0x11, 0xCE, index_id, 0x12, 0xCE, limit,
        0x13, 0xCE, offset, 0x14, iterator, 0x20,
    )  # fmt: skip
    return _frame(RequestType.SELECT, sync, body + packed_key, schema_version)


def _encode_store(
    request_type: int, sync: int, space_id: int, tuple_: Any, schema_version: int | None
) -> bytes:
    if type(space_id) is not int or not 0 <= space_id <= _U32_MAX:
        space_id = _check_uint("space_id", space_id, _U32_MAX)
    if type(tuple_) is not list and type(tuple_) is not tuple:
        tuple_ = _sequence("tuple", tuple_)
    space = _FIXINT[space_id] if space_id < 0x80 else b"\xce" + _U32.pack(space_id)  # _uint()
    body = b"".join((b"\x82\x10", space, b"\x21", _pack("tuple", tuple_)))
    return _frame(request_type, sync, body, schema_version)


_INSERT_TYPE: Final = 0x02
_REPLACE_TYPE: Final = 0x03


def encode_insert(
    sync: int, space_id: int, tuple: Sequence[Any], *, schema_version: int | None = None
) -> bytes:
    """Return an INSERT packet adding ``tuple`` (a list or tuple) to ``space_id``.

    The reply's data holds the inserted tuple; inserting a duplicate key
    fails with :data:`ER_TUPLE_FOUND`.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    return _encode_store(_INSERT_TYPE, sync, space_id, tuple, schema_version)


def encode_replace(
    sync: int, space_id: int, tuple: Sequence[Any], *, schema_version: int | None = None
) -> bytes:
    """Return a REPLACE packet: insert ``tuple`` or overwrite the one with its primary key.

    The reply's data holds the new tuple.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    return _encode_store(_REPLACE_TYPE, sync, space_id, tuple, schema_version)


def encode_delete(
    sync: int, space_id: int, index_id: int, key: Any, *, schema_version: int | None = None
) -> bytes:
    """Return a DELETE packet removing the tuple with ``key`` in unique index ``index_id``.

    ``key`` is as for :func:`encode_select`.  The reply's data holds the
    deleted tuple, or is empty if there was none.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    body = b"".join(
        (
            b"\x83\x10",
            _uint(_check_uint("space_id", space_id, _U32_MAX)),
            b"\x11",
            _uint(_check_uint("index_id", index_id, _U32_MAX)),
            b"\x20",
            _pack("key", _key(key)),
        )
    )
    return _frame(RequestType.DELETE, sync, body, schema_version)


def _index_base(index_base: int | None) -> bytes:
    if index_base is None:
        return b""
    if index_base not in (0, 1) or isinstance(index_base, bool):
        raise ConfigurationError("index_base", index_base, "must be 0 or 1 (or None)")
    return b"\x15" + _FIXINT[index_base]


def encode_update(
    sync: int,
    space_id: int,
    index_id: int,
    key: Any,
    ops: Sequence[Sequence[Any]],
    *,
    index_base: int | None = None,
    schema_version: int | None = None,
) -> bytes:
    """Return an UPDATE packet applying ``ops`` to the tuple with ``key``.

    Each operation is ``(operator, field, argument...)``: operator one of
    ``+ - & | ^ : ! # =``, field a number or (Tarantool >= 2.3) a name or
    JSON path.  Field numbers start at 0 unless ``index_base=1``.  The
    reply's data holds the new tuple, or is empty if no tuple matched.
    Raises :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    base = _index_base(index_base)
    body = b"".join(
        (
            b"\x85" if base else b"\x84",
            b"\x10",
            _uint(_check_uint("space_id", space_id, _U32_MAX)),
            b"\x11",
            _uint(_check_uint("index_id", index_id, _U32_MAX)),
            base,
            b"\x20",
            _pack("key", _key(key)),
            b"\x21",
            _pack("ops", _ops("ops", ops)),
        )
    )
    return _frame(RequestType.UPDATE, sync, body, schema_version)


def encode_upsert(
    sync: int,
    space_id: int,
    tuple: Sequence[Any],
    ops: Sequence[Sequence[Any]],
    *,
    index_base: int | None = None,
    schema_version: int | None = None,
) -> bytes:
    """Return an UPSERT packet: insert ``tuple``, or apply ``ops`` if its key exists.

    ``ops`` are as for :func:`encode_update`.  The reply's data is always
    empty.  Raises :class:`~greenpool.errors.ConfigurationError` for bad
    arguments.
    """
    base = _index_base(index_base)
    body = b"".join(
        (
            b"\x84" if base else b"\x83",
            b"\x10",
            _uint(_check_uint("space_id", space_id, _U32_MAX)),
            base,
            b"\x21",
            _pack("tuple", _sequence("tuple", tuple)),
            b"\x28",
            _pack("ops", _ops("ops", ops)),
        )
    )
    return _frame(RequestType.UPSERT, sync, body, schema_version)


def encode_call(
    sync: int, name: str, args: Sequence[Any] | None = None, *, schema_version: int | None = None
) -> bytes:
    """Return a CALL packet calling the global Lua function ``name`` with ``args``.

    The reply's data is the list of values the function returned.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    return _encode_code(RequestType.CALL, b"\x22", "name", name, args, sync, schema_version)


def encode_eval(
    sync: int, expr: str, args: Sequence[Any] | None = None, *, schema_version: int | None = None
) -> bytes:
    """Return an EVAL packet running the Lua chunk ``expr`` with ``args`` as ``...``.

    The reply's data is the list of values the chunk returned.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    return _encode_code(RequestType.EVAL, b"\x27", "expr", expr, args, sync, schema_version)


def _encode_code(
    kind: RequestType, key: bytes, label: str, text: str, args: Sequence[Any] | None,
    sync: int, schema_version: int | None,
) -> bytes:
    # CALL and EVAL: {key: text, TUPLE: args}.
    body = b"".join(
        (
            b"\x82" + key,
            _pack(label, _text(label, text)),
            b"\x21",
            _pack("args", _sequence("args", args, allow_none=True)),
        )
    )
    return _frame(kind, sync, body, schema_version)


def _sql_params(params: object) -> object:
    """Positional parameters stay a list; a mapping becomes [{":name": value}, ...]."""
    if params is None:
        return ()
    if isinstance(params, Mapping):
        bound = []
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                raise _bad_value("params", params, "names must be non-empty str")
            bound.append({name if name[0] in ":@$" else ":" + name: value})
        return bound
    return _sequence("params", params)


def encode_execute(
    sync: int,
    sql: str | int,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    schema_version: int | None = None,
) -> bytes:
    """Return an EXECUTE packet running an SQL statement (Tarantool >= 2.1).

    ``sql`` is the statement text, or the id of a statement prepared with
    :func:`encode_prepare` on the same connection.  ``params`` fills the
    placeholders: a list for ``?`` placeholders, or a mapping for named
    ones (``{"x": 1}`` binds ``:x``; names starting with ``:``, ``@`` or
    ``$`` are kept as is).  A reply to a query has :attr:`Reply.metadata`
    and rows in :attr:`Reply.data`; a reply to other statements has
    :attr:`Reply.sql_info`.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    if isinstance(sql, str):
        statement = b"\x40" + _pack("sql", _text("sql", sql))
    else:
        statement = b"\x43" + _uint(_check_uint("sql", sql, _U64_MAX))
    body = b"".join((b"\x82", statement, b"\x41", _pack("params", _sql_params(params))))
    return _frame(RequestType.EXECUTE, sync, body, schema_version)


def encode_prepare(sync: int, sql: str, *, schema_version: int | None = None) -> bytes:
    """Return a PREPARE packet compiling ``sql`` on the server (Tarantool >= 2.3).

    The reply's :attr:`Reply.stmt_id` is the id to pass to
    :func:`encode_execute`; prepared statements belong to the session.
    Raises :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    body = b"\x81\x40" + _pack("sql", _text("sql", sql))
    return _frame(RequestType.PREPARE, sync, body, schema_version)


def encode_unprepare(sync: int, stmt_id: int, *, schema_version: int | None = None) -> bytes:
    """Return a packet releasing the prepared statement ``stmt_id``.

    The reply is an empty OK.  Raises
    :class:`~greenpool.errors.ConfigurationError` for a bad id.
    """
    body = b"\x81\x43" + _uint(_check_uint("stmt_id", stmt_id, _U64_MAX))
    return _frame(RequestType.PREPARE, sync, body, schema_version)


def encode_id(
    sync: int,
    version: int,
    features: Iterable[int] = (),
    *,
    schema_version: int | None = None,
) -> bytes:
    """Return an ID packet announcing the client's protocol version and features.

    Only Tarantool >= 2.10 knows this request: older servers reply with
    :data:`ER_UNKNOWN_REQUEST_TYPE`, which tells the client to use no
    optional feature.  Raises :class:`~greenpool.errors.ConfigurationError`
    for bad arguments.
    """
    if isinstance(features, (str, bytes)) or not isinstance(features, Iterable):
        raise _bad_value("features", features, "must be an iterable of feature numbers")
    checked = [_check_uint("features", f, _U32_MAX) for f in features]
    body = b"".join(
        (
            b"\x82\x54",
            _uint(_check_uint("version", version, _U32_MAX)),
            b"\x55",
            _pack("features", checked),
        )
    )
    return _frame(RequestType.ID, sync, body, schema_version)


def encode_vspace_select(sync: int) -> bytes:
    """Return a SELECT of every row of ``_vspace``, the first half of :meth:`Schema.from_rows`.

    Raises :class:`~greenpool.errors.ConfigurationError` for a bad sync.
    """
    return encode_select(sync, VSPACE_ID, 0, None, iterator=IteratorType.ALL)


def encode_vindex_select(sync: int) -> bytes:
    """Return a SELECT of every row of ``_vindex``, the second half of :meth:`Schema.from_rows`.

    Raises :class:`~greenpool.errors.ConfigurationError` for a bad sync.
    """
    return encode_select(sync, VINDEX_ID, 0, None, iterator=IteratorType.ALL)
