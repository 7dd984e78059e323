"""Tarantool IPROTO codec: bytes in, messages out, no I/O.

This package only turns Python values into request packets and bytes from a
server into :class:`Reply` objects.  Sockets, timeouts and retries belong to
the connection layer above it.  One module per idea:

* :mod:`.constants`: request types, body keys, error codes, sizes;
* :mod:`.errors`: :class:`DatabaseError` (an error reply) and
  :class:`SchemaError` (a name not in the schema);
* :mod:`.greeting`: :func:`parse_greeting` reads the 128-byte text greeting
  a server sends first; :func:`scramble` and :func:`encode_auth` use its
  salt for ``chap-sha1`` authentication;
* ``_msgpack``: the decimal, UUID and error extension types, and packing;
* :mod:`.requests`: ``encode_*`` functions return complete packets (length
  prefix, header, body) ready to write to a socket, and :class:`IteratorType`
  names the index iterators of a SELECT;
* :mod:`.responses`: :class:`Reply`, one decoded packet;
* :mod:`.parser`: :class:`IprotoParser` splits a byte stream into packets
  and decodes them, within the limits its docstring states;
* :mod:`.codec`: :class:`IprotoCodec`, the greeting-then-packets state
  machine a connection feeds its bytes to;
* :mod:`.schema`: :class:`Schema` maps space, index and field names to the
  numeric ids the protocol needs.

Every name is importable from this package, as it was from the single
module ``iproto.py`` before.  ``Response``, the packet class's former name,
is a deprecated alias of :class:`Reply` (``greenpool.tarantool.Response`` is
the user's rows).

Error replies are not raised here: the parser returns them as a
:class:`Reply` whose :attr:`Reply.error` holds a :class:`DatabaseError`; the
connection layer raises it (:meth:`Reply.raise_for_error`) in the caller's
greenlet.  Only bytes that break the protocol raise
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

from ..._util import former_names
from .codec import GREETING_KEY, GreetingMessage, IprotoCodec
from .constants import (
    DEFAULT_MAX_PACKET_SIZE,
    ER_ACCESS_DENIED,
    ER_LOADING,
    ER_NO_SUCH_FUNCTION,
    ER_NO_SUCH_INDEX_ID,
    ER_NO_SUCH_PROC,
    ER_NO_SUCH_SPACE,
    ER_NO_SUCH_USER,
    ER_PASSWORD_MISMATCH,
    ER_READONLY,
    ER_TUPLE_FOUND,
    ER_UNKNOWN_REQUEST_TYPE,
    ER_WRONG_SCHEMA_VERSION,
    ERROR_NAMES,
    GREETING_SIZE,
    VINDEX_ID,
    VSPACE_ID,
    Key,
    RequestType,
)
from .errors import DatabaseError, SchemaError
from .greeting import Greeting, parse_greeting, scramble
from .parser import IprotoParser
from .requests import (
    IteratorType,
    encode_auth,
    encode_call,
    encode_delete,
    encode_eval,
    encode_execute,
    encode_id,
    encode_insert,
    encode_ping,
    encode_prepare,
    encode_replace,
    encode_request,
    encode_select,
    encode_unprepare,
    encode_update,
    encode_upsert,
    encode_vindex_select,
    encode_vspace_select,
    iterator_from,
)
from .responses import Reply, SqlColumn, SqlInfo
from .schema import IndexInfo, Schema, SpaceInfo

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
    "GREETING_KEY",
    "GREETING_SIZE",
    "VINDEX_ID",
    "VSPACE_ID",
    "DatabaseError",
    "Greeting",
    "GreetingMessage",
    "IndexInfo",
    "IprotoCodec",
    "IprotoParser",
    "IteratorType",
    "Key",
    "Reply",
    "RequestType",
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


# Former names: ``Response`` now means only greenpool.tarantool.Response (the
# user's rows); ``Iterator`` shadowed collections.abc.Iterator.
__getattr__ = former_names(__name__, {
    "Response": ("Reply", Reply),
    "Iterator": ("IteratorType", IteratorType),
})
