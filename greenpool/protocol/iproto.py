"""Tarantool IPROTO codec: bytes in, messages out, no I/O.

This module only turns Python values into request packets and bytes from a
server into :class:`Response` objects.  Sockets, timeouts and retries belong
to the connection layer above it.

The pieces:

* :func:`parse_greeting` reads the 128-byte text greeting a server sends
  first; :func:`scramble` and :func:`encode_auth` use its salt for
  ``chap-sha1`` authentication.
* ``encode_*`` functions return complete packets (length prefix, header,
  body) ready to write to a socket.  Each takes the request's ``sync`` (the
  id the reply will carry) and an optional keyword ``schema_version``: when
  given, the server refuses the request with :data:`ER_WRONG_SCHEMA_VERSION`
  if its schema changed since, so names resolved with :class:`Schema` are
  never applied to the wrong space.
* :class:`IprotoParser` splits a byte stream into packets and decodes them.
* :class:`Schema` maps space, index and field names to the numeric ids the
  protocol needs, from the rows of the ``_vspace`` and ``_vindex`` system
  views.

Error replies are not raised here: the parser returns them as a
:class:`Response` whose :attr:`Response.error` holds a :class:`DatabaseError`;
the connection layer raises it (:meth:`Response.raise_for_error`) in the
caller's greenlet.  Only bytes that break the protocol raise
:class:`~greenpool.errors.ProtocolError`, and bad arguments to the encoders
raise :class:`~greenpool.errors.ConfigurationError`.

Values map between MessagePack and Python like this: ``str`` <-> string
(strings that are not valid UTF-8, which Lua code can produce, decode with
``surrogateescape`` and encode back to the same bytes), ``bytes`` <->
binary (varbinary), lists and tuples -> array (arrays decode as lists),
``dict`` <-> map, :class:`decimal.Decimal` <-> the ``decimal`` extension
type, :class:`uuid.UUID` <-> the ``uuid`` extension type, and an ``error``
extension value (sent when the session enables error marshaling) decodes as
a :class:`DatabaseError`.  Other extension types decode as
:class:`msgpack.ExtType`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import reprlib
import struct
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Iterator as _IteratorABC
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum
from typing import Any, Final, NamedTuple, cast

import msgpack

from greenpool._util import check_int
from greenpool.errors import ConfigurationError, GreenpoolError, ProtocolError, ReplyError

__all__ = [
    "DEFAULT_MAX_PACKET_SIZE",
    "ERROR_NAMES",
    "ER_ACCESS_DENIED",
    "ER_LOADING",
    "ER_NO_SUCH_FUNCTION",
    "ER_NO_SUCH_INDEX_ID",
    "ER_NO_SUCH_PROC",
    "ER_NO_SUCH_SPACE",
    "ER_NO_SUCH_USER",
    "ER_PASSWORD_MISMATCH",
    "ER_READONLY",
    "ER_TUPLE_FOUND",
    "ER_UNKNOWN_REQUEST_TYPE",
    "ER_WRONG_SCHEMA_VERSION",
    "GREETING_SIZE",
    "VINDEX_ID",
    "VSPACE_ID",
    "DatabaseError",
    "Greeting",
    "IndexInfo",
    "IprotoParser",
    "Iterator",
    "Key",
    "RequestType",
    "Response",
    "Schema",
    "SchemaError",
    "SpaceInfo",
    "SqlColumn",
    "SqlInfo",
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
    "parse_greeting",
    "scramble",
]


# --------------------------------------------------------------------------
# Protocol constants
# --------------------------------------------------------------------------


class RequestType(IntEnum):
    """Values of the header's ``REQUEST_TYPE`` key.

    A reply carries :attr:`OK`, :attr:`CHUNK` (an out-of-band message pushed
    with ``box.session.push`` before the final reply to the same ``sync``)
    or ``ERROR | code``.
    """

    OK = 0x00
    SELECT = 0x01
    INSERT = 0x02
    REPLACE = 0x03
    UPDATE = 0x04
    DELETE = 0x05
    CALL_16 = 0x06
    AUTH = 0x07
    EVAL = 0x08
    UPSERT = 0x09
    CALL = 0x0A
    EXECUTE = 0x0B
    NOP = 0x0C
    PREPARE = 0x0D
    PING = 0x40
    ID = 0x49
    CHUNK = 0x80
    ERROR = 0x8000


class Key(IntEnum):
    """Keys of the header and body maps of requests and replies."""

    # header
    REQUEST_TYPE = 0x00
    SYNC = 0x01
    SCHEMA_VERSION = 0x05
    # request body
    SPACE_ID = 0x10
    INDEX_ID = 0x11
    LIMIT = 0x12
    OFFSET = 0x13
    ITERATOR = 0x14
    INDEX_BASE = 0x15
    KEY = 0x20
    TUPLE = 0x21
    FUNCTION_NAME = 0x22
    USER_NAME = 0x23
    EXPR = 0x27
    OPS = 0x28
    OPTIONS = 0x2B
    SQL_TEXT = 0x40
    SQL_BIND = 0x41
    STMT_ID = 0x43
    VERSION = 0x54
    FEATURES = 0x55
    # reply body
    DATA = 0x30
    ERROR_24 = 0x31
    METADATA = 0x32
    BIND_METADATA = 0x33
    BIND_COUNT = 0x34
    SQL_INFO = 0x42
    ERROR = 0x52


# Plain ints for the hot paths (an IntEnum member is slower as a dict key).
_TYPE: Final = 0x00
_SYNC: Final = 0x01
_SCHEMA_VERSION: Final = 0x05
_DATA: Final = 0x30
_ERROR_24: Final = 0x31
_METADATA: Final = 0x32
_BIND_METADATA: Final = 0x33
_BIND_COUNT: Final = 0x34
_SQL_INFO: Final = 0x42
_STMT_ID: Final = 0x43
_ERROR: Final = 0x52
_ERROR_FLAG: Final = 0x8000
_CHUNK: Final = 0x80

#: Size of the text greeting a server sends when a connection opens.
GREETING_SIZE: Final = 128
#: Default limit on the size of one reply packet (64 MiB).
DEFAULT_MAX_PACKET_SIZE: Final = 64 * 1024 * 1024
#: Id of the ``_vspace`` system view (spaces visible to the current user).
VSPACE_ID: Final = 281
#: Id of the ``_vindex`` system view (indexes visible to the current user).
VINDEX_ID: Final = 289

# Error codes (``box.error.*``) a client most often needs to tell apart.
ER_READONLY: Final = 7
ER_TUPLE_FOUND: Final = 3
ER_NO_SUCH_PROC: Final = 33
ER_NO_SUCH_INDEX_ID: Final = 35
ER_NO_SUCH_SPACE: Final = 36
ER_ACCESS_DENIED: Final = 42
ER_NO_SUCH_USER: Final = 45
ER_PASSWORD_MISMATCH: Final = 47
ER_UNKNOWN_REQUEST_TYPE: Final = 48
ER_NO_SUCH_FUNCTION: Final = 51
#: The request carried a schema version the server no longer has: reload
#: the schema (see :class:`Schema`) and send the request again.
ER_WRONG_SCHEMA_VERSION: Final = 109
ER_LOADING: Final = 116

#: Symbolic names of common error codes, as ``box.error`` spells them with
#: an ``ER_`` prefix.  Codes not listed here have no name in
#: :attr:`DatabaseError.name`.
ERROR_NAMES: Final[Mapping[int, str]] = {
    0: "ER_UNKNOWN",
    1: "ER_ILLEGAL_PARAMS",
    2: "ER_MEMORY_ISSUE",
    3: "ER_TUPLE_FOUND",
    4: "ER_TUPLE_NOT_FOUND",
    5: "ER_UNSUPPORTED",
    6: "ER_NONMASTER",
    7: "ER_READONLY",
    8: "ER_INJECTION",
    20: "ER_INVALID_MSGPACK",
    21: "ER_PROC_RET",
    22: "ER_TUPLE_NOT_ARRAY",
    23: "ER_FIELD_TYPE",
    31: "ER_KEY_PART_COUNT",
    32: "ER_PROC_LUA",
    33: "ER_NO_SUCH_PROC",
    35: "ER_NO_SUCH_INDEX_ID",
    36: "ER_NO_SUCH_SPACE",
    37: "ER_NO_SUCH_FIELD_NO",
    38: "ER_EXACT_FIELD_COUNT",
    42: "ER_ACCESS_DENIED",
    45: "ER_NO_SUCH_USER",
    47: "ER_PASSWORD_MISMATCH",
    48: "ER_UNKNOWN_REQUEST_TYPE",
    51: "ER_NO_SUCH_FUNCTION",
    64: "ER_INVALID_UUID",
    78: "ER_TIMEOUT",
    97: "ER_TRANSACTION_CONFLICT",
    109: "ER_WRONG_SCHEMA_VERSION",
    116: "ER_LOADING",
    117: "ER_CONNECTION_TO_SELF",
    159: "ER_SQL_EXECUTE",
    161: "ER_SQL_BIND_NOT_FOUND",
    186: "ER_SQL_PARSER_GENERIC",
    201: "ER_NO_SUCH_FIELD_NAME",
    211: "ER_WRONG_QUERY_ID",
}

# MessagePack extension type ids used by Tarantool.
_EXT_DECIMAL: Final = 1
_EXT_UUID: Final = 2
_EXT_ERROR: Final = 3

# Keys of one entry of an error stack (body key ERROR, or an error extension).
_ERROR_FIELD_NAMES: Final[Mapping[int, str]] = {
    0: "type",
    1: "file",
    2: "line",
    3: "message",
    4: "errno",
    5: "code",
    6: "fields",
}

_U64_MAX: Final = 0xFFFF_FFFF_FFFF_FFFF
_U32_MAX: Final = 0xFFFF_FFFF


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Greeting and authentication
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Greeting:
    """What the server said in its greeting.

    :attr:`version` is the version text (``2.6.0-0-g47aa4e01e``),
    :attr:`version_info` its first three numbers, :attr:`protocol` the
    protocol name (``Binary``), :attr:`uuid` the instance UUID when sent, and
    :attr:`salt` the decoded random salt (32 bytes; authentication uses the
    first 20).
    """

    version: str
    version_info: tuple[int, int, int]
    protocol: str
    uuid: uuid.UUID | None
    salt: bytes = field(repr=False)


_GREETING_LINE = re.compile(
    r"Tarantool (?P<version>\S+)(?: \((?P<protocol>[^)]*)\))?(?: (?P<uuid>\S+))?\s*"
)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_greeting(data: bytes) -> Greeting:
    """Parse the 128-byte greeting a Tarantool server sends when a connection opens.

    Returns a :class:`Greeting`.  Raises :class:`~greenpool.errors.ProtocolError`
    if ``data`` is not exactly 128 bytes, is not a Tarantool greeting, comes
    from a port that does not speak the binary protocol (an admin console),
    or has no valid base64 salt.
    """
    if len(data) != GREETING_SIZE:
        raise ProtocolError(f"greeting must be {GREETING_SIZE} bytes, got {len(data)}")
    data = bytes(data)
    if data[63:64] != b"\n" or data[127:128] != b"\n":
        raise ProtocolError(f"not a Tarantool greeting: {data[:64]!r}")
    try:
        line = data[:63].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"not a Tarantool greeting: {data[:64]!r}")
    match = _GREETING_LINE.fullmatch(line)
    if match is None:
        raise ProtocolError(f"not a Tarantool greeting: {line.rstrip()!r}")
    version = match["version"]
    numbers = _VERSION.match(version)
    if numbers is None:
        raise ProtocolError(f"cannot read the version in the greeting: {line.rstrip()!r}")
    protocol = match["protocol"]
    if protocol != "Binary":
        raise ProtocolError(
            f"the server speaks {protocol or 'an unknown protocol'!r}, not the binary "
            f"protocol (is this an admin console port?): {line.rstrip()!r}"
        )
    instance: uuid.UUID | None = None
    if match["uuid"] is not None:
        try:
            instance = uuid.UUID(match["uuid"])
        except ValueError:
            raise ProtocolError(f"bad instance UUID in the greeting: {line.rstrip()!r}")
    try:
        salt = base64.b64decode(data[64:127].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"bad salt in the greeting: {data[64:127].strip()!r}")
    if len(salt) < 20:
        raise ProtocolError(f"the greeting's salt is {len(salt)} bytes, need at least 20")
    major, minor, patch = (int(n) for n in numbers.groups())
    return Greeting(version, (major, minor, patch), protocol, instance, salt)


def scramble(salt: bytes, password: str | bytes) -> bytes:
    """Return the 20-byte ``chap-sha1`` proof of ``password`` for this ``salt``.

    ``salt`` is :attr:`Greeting.salt` (only its first 20 bytes are used); a
    str password is encoded as UTF-8.  The server checks the proof against
    the password hash it stores, so the password itself is never sent.
    Raises :class:`~greenpool.errors.ConfigurationError` if the salt is
    shorter than 20 bytes or an argument has the wrong type.
    """
    if not isinstance(salt, (bytes, bytearray, memoryview)) or len(salt) < 20:
        raise ConfigurationError("salt", _Short(salt), "must be at least 20 bytes")
    if isinstance(password, str):
        secret = password.encode("utf-8", "surrogateescape")
    elif isinstance(password, (bytes, bytearray)):
        secret = bytes(password)
    else:
        raise ConfigurationError("password", "***", "must be str or bytes")
    hash1 = hashlib.sha1(secret).digest()
    hash2 = hashlib.sha1(hash1).digest()
    proof = hashlib.sha1(bytes(salt[:20]) + hash2).digest()
    return bytes(a ^ b for a, b in zip(hash1, proof, strict=True))


# --------------------------------------------------------------------------
# Iterators
# --------------------------------------------------------------------------


class Iterator(IntEnum):
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


_ITERATOR_ALIASES: Final[Mapping[str, Iterator]] = {
    "=": Iterator.EQ,
    "==": Iterator.EQ,
    "<": Iterator.LT,
    "<=": Iterator.LE,
    ">=": Iterator.GE,
    ">": Iterator.GT,
    "&": Iterator.BITS_ALL_SET,
    "&&": Iterator.OVERLAPS,
    "<->": Iterator.NEIGHBOR,
}


def iterator_from(value: Iterator | int | str) -> Iterator:
    """Return the :class:`Iterator` that ``value`` names.

    Accepts an :class:`Iterator`, its number, its name in any case (``"ge"``,
    ``"BITS_ANY_SET"``) or an operator: ``=``/``==`` EQ, ``<`` LT, ``<=`` LE,
    ``>=`` GE, ``>`` GT, ``&`` BITS_ALL_SET, ``&&`` OVERLAPS, ``<->``
    NEIGHBOR.  Raises :class:`~greenpool.errors.ConfigurationError` for
    anything else.
    """
    if isinstance(value, Iterator):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Iterator(value)
        except ValueError:
            raise ConfigurationError("iterator", value, "is not an iterator number (0-11)")
    if isinstance(value, str):
        text = value.strip()
        alias = _ITERATOR_ALIASES.get(text)
        if alias is not None:
            return alias
        try:
            return Iterator[text.upper()]
        except KeyError:
            pass
    names = ", ".join(Iterator.__members__)
    raise ConfigurationError("iterator", value, f"must be one of {names} or an operator")


# --------------------------------------------------------------------------
# MessagePack helpers
# --------------------------------------------------------------------------


class _Short:
    """Wraps a value so an error message shows a short repr of it."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return reprlib.repr(self.value)


def _bad_value(argument: str, value: object, reason: str) -> ConfigurationError:
    """Build a ConfigurationError whose message abbreviates ``value``."""
    error = ConfigurationError(argument, _Short(value), reason)
    error.value = value
    return error


def _encode_decimal(value: Decimal) -> bytes:
    """Return the payload of Tarantool's decimal extension for ``value``.

    The payload is the scale (digits after the point) as a MessagePack int,
    then the digits as packed BCD, two per byte, ending with a sign nibble
    (0xC positive, 0xD negative).
    """
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ConfigurationError("decimal", value, "NaN and infinity cannot be sent to Tarantool")
    nibbles = [*digits, 0x0D if sign else 0x0C]
    if len(nibbles) % 2:
        nibbles.insert(0, 0)
    packed = bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))
    return msgpack.packb(-exponent) + packed


_SCALE_FORMATS: Final[Mapping[int, struct.Struct]] = {
    0xCC: struct.Struct(">B"),
    0xCD: struct.Struct(">H"),
    0xCE: struct.Struct(">I"),
    0xCF: struct.Struct(">Q"),
    0xD0: struct.Struct(">b"),
    0xD1: struct.Struct(">h"),
    0xD2: struct.Struct(">i"),
    0xD3: struct.Struct(">q"),
}


def _decode_decimal(payload: bytes) -> Decimal:
    """Decode the payload of Tarantool's decimal extension; ValueError if malformed."""
    if not payload:
        raise ValueError("empty decimal")
    first = payload[0]
    if first <= 0x7F:
        scale, offset = first, 1
    elif first >= 0xE0:
        scale, offset = first - 0x100, 1
    elif first in _SCALE_FORMATS:
        fmt = _SCALE_FORMATS[first]
        (scale,) = fmt.unpack_from(payload, 1)
        offset = 1 + fmt.size
    else:
        raise ValueError("bad decimal scale")
    bcd = payload[offset:]
    if not bcd:
        raise ValueError("decimal without digits")
    nibbles: list[int] = []
    for byte in bcd:
        nibbles.append(byte >> 4)
        nibbles.append(byte & 0x0F)
    sign_nibble = nibbles.pop()
    if sign_nibble in (0x0B, 0x0D):
        sign = 1
    elif sign_nibble in (0x0A, 0x0C, 0x0E, 0x0F):
        sign = 0
    else:
        raise ValueError("bad decimal sign")
    if any(n > 9 for n in nibbles):
        raise ValueError("bad decimal digit")
    return Decimal((sign, tuple(nibbles) or (0,), -scale))


def _error_from_stack(code: int | None, message: str | None, stack_map: object) -> DatabaseError:
    """Build a DatabaseError from an error stack map ({0: [entry, ...]}).

    ``code`` and ``message`` (from the reply header and ERROR_24) win over
    the stack's first entry.  Raises ProtocolError if the stack is malformed.
    """
    frames: list[dict[str | int, Any]] = []
    if stack_map is not None:
        if not isinstance(stack_map, dict) or not isinstance(stack_map.get(0), list):
            raise ProtocolError(f"malformed error stack: {reprlib.repr(stack_map)}")
        for entry in stack_map[0]:
            if not isinstance(entry, dict):
                raise ProtocolError(f"malformed error stack entry: {reprlib.repr(entry)}")
            frames.append({_ERROR_FIELD_NAMES.get(k, k): v for k, v in entry.items()})
    first = frames[0] if frames else {}
    if code is None:
        code = first.get("code", 0)
    if message is None:
        message = first.get("message", "")
    error_type = first.get("type")
    if not isinstance(code, int) or not isinstance(message, str):
        raise ProtocolError(f"malformed error: code={code!r} message={message!r}")
    if error_type is not None and not isinstance(error_type, str):
        raise ProtocolError(f"malformed error type: {error_type!r}")
    return DatabaseError(code, message, error_type=error_type, stack=frames)


def _ext_hook(code: int, payload: bytes) -> Any:
    """Decode Tarantool's extension types; leave others as msgpack.ExtType."""
    if code == _EXT_DECIMAL:
        return _decode_decimal(payload)
    if code == _EXT_UUID:
        if len(payload) != 16:
            raise ValueError("UUID extension must be 16 bytes")
        return uuid.UUID(bytes=bytes(payload))
    if code == _EXT_ERROR:
        stack = msgpack.unpackb(
            payload, raw=False, strict_map_key=False, unicode_errors="surrogateescape"
        )
        return _error_from_stack(None, None, stack)
    return msgpack.ExtType(code, bytes(payload))


def _default(obj: object) -> Any:
    """Pack Decimal and UUID as Tarantool extension types; refuse anything else."""
    if isinstance(obj, Decimal):
        return msgpack.ExtType(_EXT_DECIMAL, _encode_decimal(obj))
    if isinstance(obj, uuid.UUID):
        return msgpack.ExtType(_EXT_UUID, obj.bytes)
    raise TypeError(f"cannot encode a {type(obj).__name__} as MessagePack")


def _new_packer() -> msgpack.Packer:
    return msgpack.Packer(use_bin_type=True, unicode_errors="surrogateescape", default=_default)


# Idle packers.  pop()/append() are atomic, so each packer serves one caller
# at a time even across threads, without a lock; a caller that finds none
# idle makes a new one.
_IDLE_PACKERS: list[msgpack.Packer] = [_new_packer()]


def _pack(argument: str, value: object) -> bytes:
    """Pack one user value; ConfigurationError names ``argument`` if it cannot be."""
    try:
        packer = _IDLE_PACKERS.pop()
    except IndexError:
        packer = _new_packer()
    try:
        packed = packer.pack(value)
    except BaseException as exc:
        # Never reuse a packer that failed halfway: put a fresh one back.
        _IDLE_PACKERS.append(_new_packer())
        if isinstance(exc, (TypeError, ValueError, OverflowError)) and not isinstance(
            exc, ConfigurationError
        ):
            raise _bad_value(argument, value, f"cannot be encoded as MessagePack: {exc}")
        raise
    _IDLE_PACKERS.append(packer)
    return packed


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


# --------------------------------------------------------------------------
# Request encoders
# --------------------------------------------------------------------------


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
    iterator: Iterator | int | str = Iterator.EQ,
    *,
    schema_version: int | None = None,
) -> bytes:
    """Return a SELECT packet: tuples of ``space_id`` found through ``index_id``.

    ``key`` is a list or tuple of key parts, a single part, or None (empty
    key: with ``Iterator.EQ`` or ``ALL`` that is every tuple).  ``iterator``
    is anything :func:`iterator_from` accepts.  The reply's
    :attr:`Response.data` is the list of tuples.  Raises
    :class:`~greenpool.errors.ConfigurationError` for bad arguments.
    """
    if (
        schema_version is None
        and type(sync) is int
        and type(space_id) is int
        and type(index_id) is int
        and type(offset) is int
        and type(limit) is int
        and (type(iterator) is Iterator or (type(iterator) is int and 0 <= iterator <= 11))
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
    ``$`` are kept as is).  A reply to a query has :attr:`Response.metadata`
    and rows in :attr:`Response.data`; a reply to other statements has
    :attr:`Response.sql_info`.  Raises
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

    The reply's :attr:`Response.stmt_id` is the id to pass to
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
    return encode_select(sync, VSPACE_ID, 0, None, iterator=Iterator.ALL)


def encode_vindex_select(sync: int) -> bytes:
    """Return a SELECT of every row of ``_vindex``, the second half of :meth:`Schema.from_rows`.

    Raises :class:`~greenpool.errors.ConfigurationError` for a bad sync.
    """
    return encode_select(sync, VINDEX_ID, 0, None, iterator=Iterator.ALL)


# --------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------


class SqlColumn(NamedTuple):
    """One column of an SQL result (:attr:`Response.metadata`).

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
    """What an SQL statement other than a query changed (:attr:`Response.sql_info`).

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
    """Response._body of a reply whose body is just {DATA: data}: one object."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_PLAIN_BODY"  # pickles as a reference to the one instance


_PLAIN_BODY: Final = _PlainBody()


class Response:
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

    def raise_for_error(self) -> Response:
        """Return this reply if it is not an error; raise its :class:`DatabaseError` otherwise."""
        if self.error is not None:
            raise self.error
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
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
        return f"Response(sync={self.sync}, type={self.type:#x}, {detail})"


def _decode_response(header: object, body: object) -> Response:
    """Validate a decoded header and body and build the Response; ProtocolError if bad."""
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
    response = Response(kind, sync, version, body, data)
    if kind & _ERROR_FLAG:
        message = body.get(_ERROR_24)
        if message is not None and not isinstance(message, str):
            raise ProtocolError(f"error message is not a string: {reprlib.repr(message)}")
        response.error = _error_from_stack(kind & 0x7FFF, message, body.get(_ERROR))
    elif data is None or len(body) > 1:  # a plain {DATA: [...]} reply skips this
        if _METADATA in body:
            response.metadata = _columns(body[_METADATA], "SQL metadata")
        if _SQL_INFO in body:
            response.sql_info = _sql_info(body[_SQL_INFO])
    return response


# Packets at most this large are decoded by the parser's long-lived unpacker; a
# larger one gets its own, so the big buffer it needs is freed right after.
_SHARED_UNPACKER_LIMIT: Final = 1024 * 1024

# Length prefix byte -> (prefix size, struct to read the length, or None for fixint).
_PREFIXES: Final[Mapping[int, tuple[int, struct.Struct]]] = {
    0xCC: (2, struct.Struct(">B")),
    0xCD: (3, struct.Struct(">H")),
    0xCE: (5, struct.Struct(">I")),
    0xCF: (9, struct.Struct(">Q")),
}


def _new_unpacker(limit: int) -> msgpack.Unpacker:
    """An unpacker for packets of at most ``limit`` bytes (no object in them is larger)."""
    limit = max(limit, 1024)
    return msgpack.Unpacker(
        raw=False,
        strict_map_key=False,
        unicode_errors="surrogateescape",
        ext_hook=_ext_hook,
        # The buffer holds whatever complete packets feed() framed: no limit
        # there.  Lengths claimed inside a packet are bounded by its size, so
        # a bad array header never makes the unpacker allocate a huge list.
        max_buffer_size=0,
        max_str_len=limit,
        max_bin_len=limit,
        max_array_len=limit,
        max_map_len=limit,
        max_ext_len=limit,
    )


def _malformed(exc: Exception) -> ProtocolError:
    return ProtocolError(f"malformed reply packet: {type(exc).__name__}: {exc}")


class IprotoParser:
    """Incremental parser of the reply stream after the greeting.

    Give it bytes as they arrive with :meth:`feed`, then call
    :meth:`next_response` until it returns None.  Packets may be split or
    joined anywhere.

    Memory stays bounded: a length prefix above ``max_packet_size`` is
    refused as soon as its bytes arrive, so besides complete packets not yet
    taken by :meth:`next_response` the parser holds at most one incomplete
    packet (``max_packet_size`` plus a 9-byte prefix).

    Bad bytes raise :class:`~greenpool.errors.ProtocolError` from
    :meth:`next_response`, after the replies that came before them.  From
    then on the parser is dead: :meth:`feed` and :meth:`next_response`
    raise the same error again, since the stream's state is unknown and the
    connection must be closed.  Error *replies* are not raised: see
    :attr:`Response.error`.  Raises
    :class:`~greenpool.errors.ConfigurationError` for a bad
    ``max_packet_size``.

    How it decodes: :meth:`feed` finds where each packet ends (reading only
    the length prefixes) and hands every run of complete packets to one
    long-lived streaming unpacker at once; :meth:`next_response` then
    unpacks the next packet's header and body from that stream and checks
    that they end exactly where the length prefix said.  A packet larger
    than 1 MiB is kept apart and decoded by an unpacker of its own.
    """

    __slots__ = (
        "_error", "_fed", "_oversized", "_queue", "_raised", "_tail", "_unpacker",
        "max_packet_size",
    )  # fmt: skip

    def __init__(self, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        limit = check_int("max_packet_size", max_packet_size, minimum=1)
        assert limit is not None
        self.max_packet_size = limit
        self._tail = bytearray()
        # For each complete packet, in order: the stream offset (of the
        # shared unpacker) where it ends, or the payload of a big packet.
        self._queue: deque[int | bytes] = deque()
        self._unpacker = _new_unpacker(min(limit, _SHARED_UNPACKER_LIMIT))
        self._fed = 0  # bytes fed to the shared unpacker so far
        self._oversized = False  # its buffer grew past the limit: replace it once drained
        self._error: ProtocolError | None = None
        self._raised = False

    @property
    def buffered(self) -> int:
        """How many bytes of an incomplete packet the parser holds."""
        return len(self._tail)

    @property
    def pending(self) -> int:
        """How many complete packets wait for :meth:`next_response`."""
        return len(self._queue)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes received from the server.

        Raises the parser's :class:`~greenpool.errors.ProtocolError` if one
        was already raised by :meth:`next_response`; bytes fed after a
        problem was found but before it was raised are dropped.
        """
        if self._error is not None:
            if self._raised:
                raise self._error
            return
        if not data:
            return
        tail = self._tail
        if not tail and type(data) is bytes and data[0] == 0xCE and len(data) >= 5:
            # Fast path: a chunk that is exactly one packet with the uint32
            # length prefix Tarantool always uses.
            size = _U32.unpack_from(data, 1)[0]
            if size + 5 == len(data) and size <= _SHARED_UNPACKER_LIMIT \
                    and size <= self.max_packet_size:
                self._unpacker.feed(data)
                self._fed += size + 5
                self._queue.append(self._fed)
                return
        if tail:
            tail += data
            with memoryview(tail) as view:
                used = self._take(view)
            del tail[:used]
        else:
            chunk = data if type(data) is bytes else bytes(data)
            with memoryview(chunk) as view:
                used = self._take(view)
            if used < len(chunk):
                self._tail = bytearray(chunk[used:])
        if self._error is not None:
            self._tail = bytearray()

    def _take(self, buf: memoryview) -> int:
        """Queue the complete packets at the start of ``buf``; return the bytes used."""
        queue = self._queue
        limit = self.max_packet_size
        end = len(buf)
        pos = 0
        run = 0  # where the packets not yet fed to the shared unpacker start
        base = self._fed  # the stream offset of buf[run]
        while pos < end:
            first = buf[pos]
            if first == 0xCE:  # what Tarantool sends
                start = pos + 5
                if start > end:
                    break
                (size,) = _U32.unpack_from(buf, pos + 1)
            elif first <= 0x7F:
                start = pos + 1
                size = first
            else:
                prefix = _PREFIXES.get(first)
                if prefix is None:
                    self._error = ProtocolError(
                        f"bad packet length prefix byte {first:#04x}: not a MessagePack uint"
                    )
                    break
                start = pos + prefix[0]
                if start > end:
                    break
                (size,) = prefix[1].unpack_from(buf, pos + 1)
            if size > limit:
                self._error = ProtocolError(
                    f"reply packet of {size} bytes exceeds max_packet_size={limit}"
                )
                break
            stop = start + size
            if stop > end:
                break
            if size > _SHARED_UNPACKER_LIMIT:
                if pos > run:
                    self._feed_shared(buf[run:pos])
                queue.append(bytes(buf[start:stop]))
                run = stop
                base = self._fed
            else:
                queue.append(base + stop - run)
            pos = stop
        if pos > run:
            self._feed_shared(buf[run:pos])
        return pos

    def _feed_shared(self, packets: memoryview) -> None:
        unpacker = self._unpacker
        unpacker.feed(packets)
        self._fed += len(packets)
        if self._fed - unpacker.tell() > _SHARED_UNPACKER_LIMIT:
            self._oversized = True

    @property
    def failed(self) -> bool:
        """True once bad bytes were found: the next call raises ProtocolError."""
        return self._error is not None

    def next_response(self) -> Response | None:
        """Return the next complete reply, or None if more bytes are needed.

        Raises :class:`~greenpool.errors.ProtocolError` if the stream breaks
        the protocol (and on every call after that).
        """
        replies = self._decode(1)
        return replies[0] if replies else None

    def drain(self) -> list[Response]:
        """Return every complete reply now available, in order (maybe none).

        The same as calling :meth:`next_response` until it returns None,
        but cheaper per reply.  Bad bytes end the list: the replies before
        them are returned, and the next call raises (see :attr:`failed`).
        """
        return self._decode(len(self._queue))

    def _decode(self, limit: int) -> list[Response]:
        """Decode up to ``limit`` queued packets (see :meth:`drain`)."""
        out: list[Response] = []
        queue = self._queue
        if queue:
            unpacker = self._unpacker
            skip, unpack, tell = unpacker.skip, unpacker.unpack, unpacker.tell
            append = out.append
            try:
                for _ in range(limit):
                    end = queue.popleft()
                    if type(end) is int:
                        try:
                            skip()  # the length prefix: feed() read it already
                            header = unpack()
                            at = tell()
                            if at < end:
                                body = unpack()
                                at = tell()
                            else:
                                body = {}
                        except Exception as exc:  # any failure to decode untrusted bytes
                            raise _malformed(exc) from exc
                        if at != end:
                            raise _misfit(at, end)
                    else:
                        header, body = _decode_alone(cast(bytes, end))
                    # The usual reply, {TYPE: OK, SYNC: n, SCHEMA_VERSION: n}
                    # {DATA: [...]}, is checked and built inline; anything
                    # else goes through _decode_response.
                    if type(header) is dict and type(body) is dict and len(body) == 1:
                        kind = header.get(_TYPE)
                        sync = header.get(_SYNC)
                        version = header.get(_SCHEMA_VERSION)
                        data = body.get(_DATA)
                        if (
                            kind == 0
                            and type(kind) is int
                            and type(sync) is int
                            and sync >= 0
                            and (type(version) is int or version is None)
                            and type(data) is list
                        ):
                            response = _new_object(Response)
                            response.type = kind
                            response.sync = sync
                            response.schema_version = version
                            response._body = _PLAIN_BODY  # {DATA: data}, made when read
                            response.data = data
                            response.error = response.metadata = response.sql_info = None
                            append(response)
                            continue
                    append(_decode_response(header, body))
            except ProtocolError as exc:
                self._error = exc
                queue.clear()
                self._tail = bytearray()
            if not queue and self._oversized:
                self._unpacker = _new_unpacker(min(self.max_packet_size, _SHARED_UNPACKER_LIMIT))
                self._fed = 0
                self._oversized = False
        if not out and self._error is not None:
            self._raised = True
            raise self._error
        return out

    def __iter__(self) -> _IteratorABC[Response]:
        """Yield the replies available now (see :meth:`next_response`)."""
        while True:
            response = self.next_response()
            if response is None:
                return
            yield response


def _misfit(at: int, end: int) -> ProtocolError:
    if at > end:
        return ProtocolError(
            "malformed reply packet: its header or body runs past the length its prefix gives"
        )
    return ProtocolError(f"reply packet has {end - at} bytes after its body")


_new_object = object.__new__


def _decode_alone(payload: bytes) -> tuple[Any, Any]:
    """Decode a big packet's header and body with an unpacker of its own."""
    size = len(payload)
    unpacker = _new_unpacker(size)
    try:
        unpacker.feed(payload)
        header = unpacker.unpack()
        body = unpacker.unpack() if unpacker.tell() < size else {}
        used = unpacker.tell()
    except Exception as exc:  # any failure to decode untrusted bytes
        raise _malformed(exc) from exc
    if used != size:
        raise ProtocolError(f"reply packet has {size - used} bytes after its body")
    return header, body


# --------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------


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
    def from_responses(cls, vspace: Response, vindex: Response) -> Schema:
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

    def is_stale(self, response: Response) -> bool:
        """True if ``response`` carries a schema version other than this schema's."""
        return (
            response.schema_version is not None
            and self.version is not None
            and response.schema_version != self.version
        )

    def needs_reload(self, response: Response) -> bool:
        """True if the schema should be loaded again after ``response``.

        That is when the reply carries another schema version or the
        request was refused with :data:`ER_WRONG_SCHEMA_VERSION`.
        """
        return self.is_stale(response) or response.code == ER_WRONG_SCHEMA_VERSION

    def __repr__(self) -> str:
        return f"Schema(version={self.version}, spaces={sorted(self.spaces)})"
