"""IPROTO constants: request types, body keys, error codes, sizes and ids.

The plain ``int`` twins of the :class:`Key` members (``_TYPE``, ``_SYNC``
...) are for the hot paths of the other modules: an IntEnum member is slower
as a dict key.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Final

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
    "Key",
    "RequestType",
]


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
