"""Tests of the Tarantool IPROTO codec (greenpool.protocol.iproto).

The byte strings in REPLIES and REQUESTS (at the end of the file) were
captured from a real Tarantool 2.6.0 while this codec was written: REQUESTS
are packets the encoders produced and the server accepted, REPLIES the exact
bytes it answered with.  No server runs during these tests.

tarantool-python 1.3.0 (installed as a dev/bench dependency) serves as an
independent cross-check of the encoders; it is imported only here.
"""

from __future__ import annotations

import base64
import pickle
import struct
import tracemalloc
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tarantool import request as tarantool_request
from tarantool.utils import version_id as tarantool_version_id

from greenpool.errors import (
    ConfigurationError,
    GreenpoolError,
    ProtocolError,
    ReplyError,
)
from greenpool.protocol import NEED_DATA, iproto
from greenpool.protocol.iproto import (
    ER_PASSWORD_MISMATCH,
    ER_WRONG_SCHEMA_VERSION,
    DatabaseError,
    IprotoParser,
    IteratorType,
    Reply,
    Schema,
    SchemaError,
    SqlColumn,
    SqlInfo,
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
    parse_greeting,
    scramble,
)
from greenpool.protocol.iproto._msgpack import _default

# The schema version of the server the golden bytes come from.
SCHEMA_VERSION = 83
# The id Tarantool 2.6 gave the prepared statement in the capture.
STMT_ID = 3379101007


def parse_all(data: bytes, **kwargs: Any) -> list[Reply]:
    """Feed ``data`` in one piece and return every reply."""
    parser = IprotoParser(**kwargs)
    parser.feed(data)
    replies = list(parser)
    assert parser.gets() is NEED_DATA
    assert parser.buffered == 0
    return replies


def parse_one(data: bytes) -> Reply:
    (reply,) = parse_all(data)
    return reply


def salt_of(name: str) -> bytes:
    return parse_greeting(REPLIES[name]).salt


# --------------------------------------------------------------------------- golden requests

# How each captured request was produced; the server accepted every one.
GOLDEN_REQUESTS: dict[str, Callable[[], bytes]] = {
    "auth_fail": lambda: encode_auth(1, "tester", "wrong", salt_of("greeting")),
    "auth_ok": lambda: encode_auth(2, "tester", "secret", salt_of("greeting2")),
    "ping": lambda: encode_ping(3),
    "ping_schema": lambda: encode_ping(27, schema_version=SCHEMA_VERSION),
    "select": lambda: encode_select(4, 512, 0, None, iterator="ALL"),
    "select_by_name": lambda: encode_select(5, 512, 1, "two"),
    "insert_dup": lambda: encode_insert(6, 512, [1, "dup"]),
    "replace": lambda: encode_replace(7, 512, [3, "three", {"k": [1, 2]}]),
    "update": lambda: encode_update(
        8, 512, 0, 3, [("=", 2, b"\x00\xffbin"), ("=", "name", "drei")]
    ),
    "upsert": lambda: encode_upsert(9, 512, [4, "four", 0], [("+", 2, 5)], index_base=0),
    "delete": lambda: encode_delete(10, 512, 0, [4]),
    "call": lambda: encode_call(11, "echo", [1, "a", None, True, 1.5, b"\x01"]),
    "eval_ext": lambda: encode_eval(
        12,
        "local a, b = ... return a, b, require('decimal').new('-12.345'), "
        "require('uuid').fromstr('11111111-2222-3333-4444-555555555555')",
        [Decimal("1.50"), uuid.UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")],
    ),
    "eval_error_ext": lambda: encode_eval(
        13,
        "box.session.settings.error_marshaling_enabled = true "
        "local e = box.error.new({code=77, reason='inner', type='MyErr'}) return e",
        [],
    ),
    "eval_custom_error": lambda: encode_eval(14, "box.error{code=1234, reason='custom fail'}"),
    "push": lambda: encode_eval(15, "box.session.push({1, 'pushed'}) return 'done'"),
    "sql_select": lambda: encode_execute(
        16, 'SELECT "id", "name" FROM "test" WHERE "id" >= :lo ORDER BY "id"', {"lo": 1}
    ),
    "sql_insert": lambda: encode_execute(17, "INSERT INTO sqlt (name) VALUES (?), (?)", ["a", "b"]),
    "sql_error": lambda: encode_execute(18, "SELECT * FROM nosuch"),
    "prepare": lambda: encode_prepare(19, "SELECT ? AS a, :x AS b"),
    "execute_prepared": lambda: encode_execute(20, STMT_ID, [7, "x"]),
    "unprepare": lambda: encode_unprepare(26, STMT_ID),
    "id": lambda: encode_id(21, 3, [0, 1]),
    "wrong_schema": lambda: encode_ping(22, schema_version=SCHEMA_VERSION + 1000),
    "vspace": lambda: encode_select(23, iproto.VSPACE_ID, 0, [512], iterator=">="),
    "vindex": lambda: encode_select(24, iproto.VINDEX_ID, 0, [512], iterator=">="),
    "nospace": lambda: encode_select(25, 9999, 0),
}


def test_every_captured_request_has_a_producer() -> None:
    assert set(GOLDEN_REQUESTS) == set(REQUESTS)


@pytest.mark.parametrize("name", sorted(GOLDEN_REQUESTS))
def test_encoders_reproduce_the_requests_tarantool_accepted(name: str) -> None:
    assert GOLDEN_REQUESTS[name]().hex() == REQUESTS[name].hex()


@pytest.mark.parametrize("name", sorted(GOLDEN_REQUESTS))
def test_each_golden_reply_answers_its_request(name: str) -> None:
    # The parser reads our own request packets too (same framing and header),
    # which ties every captured reply to the sync of the request it answers.
    (request,) = parse_all(REQUESTS[name])
    for reply in parse_all(REPLIES[name]):
        assert reply.sync == request.sync
        assert reply.schema_version == SCHEMA_VERSION


# --------------------------------------------------------------------------- greeting


def test_parse_greeting_of_tarantool_2_6() -> None:
    greeting = parse_greeting(REPLIES["greeting"])
    assert greeting.version == "2.6.0"
    assert greeting.version_info == (2, 6, 0)
    assert greeting.protocol == "Binary"
    assert greeting.uuid == uuid.UUID("37b5ae96-191c-4e62-bd38-eeb56f8566e7")
    assert len(greeting.salt) == 32
    assert greeting.salt == base64.b64decode(REPLIES["greeting"][64:108])
    assert "salt" not in repr(greeting)


def test_parse_greeting_with_build_suffix_and_without_uuid() -> None:
    line = b"Tarantool 2.11.1-0-g96877bd (Binary)".ljust(63) + b"\n"
    salt = base64.b64encode(bytes(range(32))).ljust(63) + b"\n"
    greeting = parse_greeting(line + salt)
    assert greeting.version == "2.11.1-0-g96877bd"
    assert greeting.version_info == (2, 11, 1)
    assert greeting.uuid is None
    assert greeting.salt == bytes(range(32))


def _greeting(line: bytes, salt: bytes = base64.b64encode(bytes(32))) -> bytes:
    return line.ljust(63) + b"\n" + salt.ljust(63) + b"\n"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "128 bytes"),
        (b"x" * 127, "128 bytes"),
        (b"x" * 129, "128 bytes"),
        (b"Tarantool 2.6.0 (Binary)".ljust(128), "not a Tarantool greeting"),
        (_greeting(b"Redis 7.0 (Binary)"), "not a Tarantool greeting"),
        (_greeting(b"Tarantool 2.6.0 (Lua console)"), "admin console"),
        (_greeting(b"Tarantool 2.6.0"), "protocol"),
        (_greeting(b"Tarantool x.y (Binary)"), "version"),
        (_greeting(b"Tarantool 2.6.0 (Binary) not-a-uuid"), "UUID"),
        (_greeting(b"Tarantool 2.6.0 (Binary)", b"!!!notbase64"), "salt"),
        (_greeting(b"Tarantool 2.6.0 (Binary)", base64.b64encode(bytes(8))), "salt"),
        (_greeting(b"Tarantool 2.6.0 (Binary) \xff"), "not a Tarantool greeting"),
    ],
)
def test_parse_greeting_rejects_bad_greetings(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_greeting(data)


def test_console_greeting_is_recognised() -> None:
    console = _greeting(b"Tarantool 2.6.0 (Lua console)", b"type 'help' for interactive help")
    with pytest.raises(ProtocolError, match="console"):
        parse_greeting(console)


# --------------------------------------------------------------------------- scramble / auth

# scramble(salt of REPLIES["greeting2"], "secret"), computed with
# tarantool-python's own sha1/strxor helpers; the server accepted it.
SCRAMBLE_VECTOR = bytes.fromhex("3a7bf4ca5fae62c0a430710ed90613c18edcf50f")


def test_scramble_known_vector() -> None:
    assert scramble(salt_of("greeting2"), "secret") == SCRAMBLE_VECTOR
    assert scramble(salt_of("greeting2")[:20], b"secret") == SCRAMBLE_VECTOR


@pytest.mark.parametrize("password", ["secret", "", "pässwörd", "x" * 100])
def test_scramble_matches_tarantool_python(password: str) -> None:
    salt = salt_of("greeting")
    hash1 = tarantool_request.sha1((password,))
    hash2 = tarantool_request.sha1((hash1,))
    expected = bytes(
        a ^ b for a, b in zip(hash1, tarantool_request.sha1((salt[:20], hash2)), strict=True)
    )
    assert scramble(salt, password) == expected


def test_scramble_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="salt"):
        scramble(b"short", "secret")
    with pytest.raises(ConfigurationError, match="password") as info:
        scramble(bytes(20), 12345)  # type: ignore[arg-type]
    assert "12345" not in str(info.value)


def test_auth_replies() -> None:
    ok = parse_one(REPLIES["auth_ok"])
    assert (ok.sync, ok.code, ok.is_error, ok.data, ok.body) == (2, 0, False, None, {})
    assert ok.raise_for_error() is ok

    failed = parse_one(REPLIES["auth_fail"])
    assert failed.sync == 1
    assert failed.is_error
    assert failed.code == ER_PASSWORD_MISMATCH
    assert failed.type == 0x8000 | ER_PASSWORD_MISMATCH
    error = failed.error
    assert isinstance(error, DatabaseError)
    assert error.message == "Incorrect password supplied for user 'tester'"
    assert error.name == "ER_PASSWORD_MISMATCH"
    assert error.error_type == "ClientError"
    assert error.stack[0]["file"] == "./src/box/authentication.cc"
    assert error.stack[0]["code"] == ER_PASSWORD_MISMATCH
    with pytest.raises(DatabaseError) as raised:
        failed.raise_for_error()
    assert raised.value is error


# --------------------------------------------------------------------------- golden replies


def test_ping_replies_have_an_empty_body() -> None:
    for name in ("ping", "ping_schema"):
        reply = parse_one(REPLIES[name])
        assert (reply.type, reply.body, reply.data, reply.error) == (0, {}, None, None)


def test_select_replies() -> None:
    reply = parse_one(REPLIES["select"])
    assert reply.data == [[1, "one", "x"], [2, "two", 2]]
    assert parse_one(REPLIES["select_by_name"]).data == [[2, "two", 2]]
    assert parse_one(REPLIES["nospace"]).error == DatabaseError(36, "Space '9999' does not exist")


def test_data_changing_replies() -> None:
    assert parse_one(REPLIES["replace"]).data == [[3, "three", {"k": [1, 2]}]]
    # varbinary stays bytes, and invalid UTF-8 inside it is untouched
    assert parse_one(REPLIES["update"]).data == [[3, "drei", b"\x00\xffbin"]]
    assert parse_one(REPLIES["upsert"]).data == []
    assert parse_one(REPLIES["delete"]).data == [[4, "four", 0]]
    dup = parse_one(REPLIES["insert_dup"])
    assert dup.code == iproto.ER_TUPLE_FOUND
    assert dup.error is not None and dup.error.kind == "ER_TUPLE_FOUND"


def test_call_reply_shows_lua_turns_binary_into_strings() -> None:
    # Tarantool 2.6 hands MP_BIN arguments to Lua as strings and sends them
    # back as MP_STR: b"\x01" comes back as "\x01".
    assert parse_one(REPLIES["call"]).data == [1, "a", None, True, 1.5, "\x01"]


def test_extension_types_decode() -> None:
    assert parse_one(REPLIES["eval_ext"]).data == [
        Decimal("1.50"),
        uuid.UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        Decimal("-12.345"),
        uuid.UUID("11111111-2222-3333-4444-555555555555"),
    ]


def test_marshaled_error_decodes_as_database_error() -> None:
    (error,) = parse_one(REPLIES["eval_error_ext"]).data or []
    assert isinstance(error, DatabaseError)
    assert (error.code, error.message, error.error_type) == (77, "inner", "CustomError")
    assert error.stack[0]["fields"] == {"custom_type": "MyErr"}


def test_custom_error_reply() -> None:
    reply = parse_one(REPLIES["eval_custom_error"])
    assert reply.code == 1234
    assert reply.error is not None
    assert reply.error.name is None
    assert reply.error.kind == "1234"
    assert str(reply.error) == "error 1234: custom fail"


def test_push_comes_before_the_final_reply() -> None:
    push, final = parse_all(REPLIES["push"])
    assert (push.sync, push.is_push, push.data) == (15, True, [[1, "pushed"]])
    assert (final.sync, final.is_push, final.data) == (15, False, ["done"])


def test_sql_replies() -> None:
    rows = parse_one(REPLIES["sql_select"])
    assert rows.metadata == [SqlColumn("id", "unsigned"), SqlColumn("name", "string")]
    assert rows.data == [[1, "one"], [2, "two"], [3, "drei"]]
    assert rows.sql_info is None

    insert = parse_one(REPLIES["sql_insert"])
    assert insert.sql_info == SqlInfo(2, [1, 2])
    assert insert.data is None and insert.metadata is None

    error = parse_one(REPLIES["sql_error"]).error
    assert error == DatabaseError(36, "Space 'NOSUCH' does not exist")
    assert error is not None and error.stack[0]["file"] == "./src/box/sql/delete.c"


def test_prepare_and_execute_prepared() -> None:
    prepared = parse_one(REPLIES["prepare"])
    assert prepared.stmt_id == STMT_ID
    assert prepared.bind_count == 2
    assert prepared.bind_metadata == [SqlColumn("?", "ANY"), SqlColumn(":x", "ANY")]
    assert [c.name for c in prepared.metadata or []] == ["A", "B"]
    executed = parse_one(REPLIES["execute_prepared"])
    assert executed.data == [[7, "x"]]
    assert executed.metadata == [SqlColumn("A", "integer"), SqlColumn("B", "text")]
    assert parse_one(REPLIES["unprepare"]).body == {}
    assert parse_one(REPLIES["ping"]).stmt_id is None


def test_id_request_is_unknown_to_tarantool_2_6() -> None:
    reply = parse_one(REPLIES["id"])
    assert reply.code == iproto.ER_UNKNOWN_REQUEST_TYPE
    assert reply.error is not None and reply.error.message == "Unknown request type 73"


def test_wrong_schema_version_reply() -> None:
    reply = parse_one(REPLIES["wrong_schema"])
    assert reply.code == ER_WRONG_SCHEMA_VERSION == 109
    assert reply.error is not None and reply.error.is_schema_error
    assert reply.error.name == "ER_WRONG_SCHEMA_VERSION"
    # Tarantool 2.6 swaps the two numbers in this message.
    assert reply.error.message == "Wrong schema version, current: 1083, in request: 83"


def test_all_golden_replies_in_one_stream_split_everywhere() -> None:
    stream = b"".join(v for k, v in REPLIES.items() if not k.startswith("greeting"))
    expected = parse_all(stream)
    assert len(expected) == len(REPLIES) - 2 + 1  # two greetings out, one extra push
    for cut in range(len(stream) + 1):
        parser = IprotoParser()
        parser.feed(stream[:cut])
        got = list(parser)
        parser.feed(stream[cut:])
        got += list(parser)
        assert got == expected


def test_byte_by_byte_feeding() -> None:
    stream = REPLIES["sql_select"] + REPLIES["push"] + REPLIES["auth_fail"]
    parser = IprotoParser()
    got = []
    for i in range(len(stream)):
        parser.feed(stream[i : i + 1])
        got += list(parser)
    assert got == parse_all(stream)
    assert [r.sync for r in got] == [16, 15, 15, 1]


# --------------------------------------------------------------------------- cross-check encoders


class _TarantoolPythonConnection:
    """Just enough of tarantool.Connection for its Request classes."""

    encoding = "utf-8"
    schema = None
    schema_version = 0
    version_id = tarantool_version_id(2, 6, 0)

    def __init__(self, sync: int) -> None:
        self._sync = sync

    def generate_sync(self) -> int:
        return self._sync

    def _packer_factory(self) -> msgpack.Packer:
        return tarantool_request.packer_factory(self)  # type: ignore[no-any-return]


def _split(packet: bytes) -> tuple[int, Any, Any]:
    """(length, header, body) of a packet; extension values stay msgpack.ExtType."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(packet)
    length = unpacker.unpack()
    start = unpacker.tell()
    header = unpacker.unpack()
    body = unpacker.unpack() if unpacker.tell() < len(packet) else {}
    assert unpacker.tell() == len(packet) == start + length
    return length, header, body


_VALUES = [
    1,
    -5,
    2**64 - 1,
    "text",
    b"\x00bin",
    None,
    True,
    1.25,
    Decimal("-12.345"),
    Decimal("0.000"),
    # Not Decimal("1E+5"): tarantool-python expands it to scale 0 and six
    # digits, we send scale -5 and one digit as Tarantool itself does (see
    # test_decimal_payloads); Tarantool reads both.
    uuid.UUID("11111111-2222-3333-4444-555555555555"),
    [1, [2, {"a": 3}]],
]


def _theirs(factory: Callable[..., Any], *args: Any) -> bytes:
    return bytes(factory(_TarantoolPythonConnection(77), *args))


@pytest.mark.parametrize(
    ("ours", "theirs", "drop"),
    [
        (lambda: encode_ping(77), lambda: _theirs(tarantool_request.RequestPing), ()),
        (
            lambda: encode_select(77, 512, 1, [1, "a"], 5, 100, IteratorType.GE),
            lambda: _theirs(tarantool_request.RequestSelect, 512, 1, [1, "a"], 5, 100, 5),
            (),
        ),
        (
            lambda: encode_insert(77, 600, _VALUES),
            lambda: _theirs(tarantool_request.RequestInsert, 600, _VALUES),
            (),
        ),
        (
            lambda: encode_replace(77, 600, tuple(_VALUES)),
            lambda: _theirs(tarantool_request.RequestReplace, 600, tuple(_VALUES)),
            (),
        ),
        (
            lambda: encode_delete(77, 600, 2, ["k", 1]),
            lambda: _theirs(tarantool_request.RequestDelete, 600, 2, ["k", 1]),
            (),
        ),
        (
            lambda: encode_update(77, 600, 0, [1], [("+", 1, 2), (":", 2, 0, 1, "x")]),
            lambda: _theirs(
                tarantool_request.RequestUpdate, 600, 0, [1], [("+", 1, 2), (":", 2, 0, 1, "x")]
            ),
            (),
        ),
        (
            # tarantool-python also sends INDEX_ID, which UPSERT ignores
            lambda: encode_upsert(77, 600, [1, "x"], [("=", 1, "y")]),
            lambda: _theirs(tarantool_request.RequestUpsert, 600, 0, [1, "x"], [("=", 1, "y")]),
            (0x11,),
        ),
        (
            lambda: encode_call(77, "box.info", _VALUES),
            lambda: _theirs(tarantool_request.RequestCall, "box.info", _VALUES, False),
            (),
        ),
        (
            lambda: encode_eval(77, "return ...", _VALUES),
            lambda: _theirs(tarantool_request.RequestEval, "return ...", _VALUES),
            (),
        ),
        (
            lambda: encode_execute(77, "SELECT :a, :b", {"a": 1, "b": "x"}),
            lambda: _theirs(tarantool_request.RequestExecute, "SELECT :a, :b", {"a": 1, "b": "x"}),
            (),
        ),
        (
            lambda: encode_execute(77, "SELECT ?, ?", [1, None]),
            lambda: _theirs(tarantool_request.RequestExecute, "SELECT ?, ?", [1, None]),
            (),
        ),
        (
            lambda: encode_id(77, 3, [0, 1]),
            lambda: _theirs(tarantool_request.RequestProtocolVersion, 3, [0, 1]),
            (),
        ),
        (
            lambda: encode_auth(77, "tester", "secret", salt_of("greeting")),
            lambda: _theirs(
                tarantool_request.RequestAuthenticate, salt_of("greeting")[:20], "tester", "secret"
            ),
            (),
        ),
    ],
)
def test_encoders_agree_with_tarantool_python(
    ours: Callable[[], bytes], theirs: Callable[[], bytes], drop: tuple[int, ...]
) -> None:
    _, our_header, our_body = _split(ours())
    _, their_header, their_body = _split(theirs())
    # tarantool-python always sends schema version 0 with AUTH; we send none.
    their_header.pop(iproto.Key.SCHEMA_VERSION, None)
    for key in drop:
        their_body.pop(key)
    assert our_header == their_header
    assert our_body == their_body


# --------------------------------------------------------------------------- encoder arguments


@pytest.mark.parametrize(
    "key",
    [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1, -1, -2**63,
     [7], (300,), [70_000], [1, 2], ["a"], "a", b"b", None, [], (), True, [True], 1.5,
     Decimal("1.5"), [None]],
)
def test_select_keys_are_packed_as_messagepack_packs_them(key: Any) -> None:
    # One-integer keys take a faster path; the bytes must be the same.
    packet = encode_select(1, 512, 3, key, 5, 100, IteratorType.GE)
    _, header, body = _split(packet)
    assert header == {0: 1, 1: 1}
    assert (body[0x10], body[0x11], body[0x13], body[0x12], body[0x14]) == (512, 3, 5, 100, 5)
    parts = key if isinstance(key, (list, tuple)) else [] if key is None else [key]
    tail = msgpack.packb(list(parts), use_bin_type=True, default=_default)
    assert packet.endswith(b"\x20" + tail)


def test_select_fast_path_names_the_bad_argument() -> None:
    for kwargs, argument in (
        ({"sync": -1}, "sync"),
        ({"sync": 2**64}, "sync"),
        ({"space_id": 2**32}, "space_id"),
        ({"index_id": -1}, "index_id"),
        ({"offset": 2**32}, "offset"),
        ({"limit": -1}, "limit"),
        ({"iterator": 12}, "iterator"),
        ({"sync": True}, "sync"),
        ({"sync": -1, "key": [object()]}, "sync"),
    ):
        args = {"sync": 1, "space_id": 512, "index_id": 0, "key": 5, **kwargs}
        with pytest.raises(ConfigurationError, match=argument):
            encode_select(**args)


def test_schema_version_in_the_header() -> None:
    (request,) = parse_all(encode_select(9, 512, 0, schema_version=83))
    assert (request.sync, request.type, request.schema_version) == (9, 1, 83)
    (plain,) = parse_all(encode_select(9, 512, 0))
    assert plain.schema_version is None
    assert plain.body == request.body
    (request,) = parse_all(encode_insert(9, 512, [1], schema_version=2**64 - 1))
    assert request.schema_version == 2**64 - 1


def test_sync_range() -> None:
    assert parse_one(encode_ping(0)).sync == 0
    assert parse_one(encode_ping(2**64 - 1)).sync == 2**64 - 1
    for bad in (-1, 2**64, True, "1", 1.0, None):
        with pytest.raises(ConfigurationError, match="sync"):
            encode_ping(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: encode_select(-1, 512, 0), "sync"),
        (lambda: encode_select(2**64, 512, 0), "sync"),
        (lambda: encode_select(1, -1, 0), "space_id"),
        (lambda: encode_select(1, 2**32, 0), "space_id"),
        (lambda: encode_select(1, 512, "0"), "index_id"),  # type: ignore[arg-type]
        (lambda: encode_select(1, 512, 0, limit=-1), "limit"),
        (lambda: encode_select(1, 512, 0, offset=2**32), "offset"),
        (lambda: encode_select(1, 512, 0, iterator=12), "iterator"),
        (lambda: encode_select(1, 512, 0, iterator="SIDEWAYS"), "iterator"),
        (lambda: encode_select(1, 512, 0, [object()]), "key"),
        (lambda: encode_select(1, 512, 0, schema_version=-1), "schema_version"),
        (lambda: encode_insert(1, 512, "not a tuple"), "tuple"),
        (lambda: encode_insert(1, 512, {1: 2}), "tuple"),  # type: ignore[arg-type]
        (lambda: encode_insert(1, 512, [2**64]), "tuple"),
        (lambda: encode_insert(1, 512, ["\ud800"]), "tuple"),
        (lambda: encode_insert(1, 512, [Decimal("NaN")]), "decimal"),
        (lambda: encode_replace(1, 512, [Decimal("Infinity")]), "decimal"),
        (lambda: encode_update(1, 512, 0, 1, [("?", 1, 1)]), "ops"),
        (lambda: encode_update(1, 512, 0, 1, [("=",)]), "ops"),
        (lambda: encode_update(1, 512, 0, 1, "=1"), "ops"),
        (lambda: encode_update(1, 512, 0, 1, [("=", True, 1)]), "ops"),
        (lambda: encode_update(1, 512, 0, 1, [], index_base=2), "index_base"),
        (lambda: encode_upsert(1, 512, [1], [("=", 1, 1)], index_base=True), "index_base"),
        (lambda: encode_call(1, "", []), "name"),
        (lambda: encode_call(1, "f", "args"), "args"),
        (lambda: encode_eval(1, None, []), "expr"),  # type: ignore[arg-type]
        (lambda: encode_execute(1, "", []), "sql"),
        (lambda: encode_execute(1, -1, []), "sql"),
        (lambda: encode_execute(1, "SELECT ?", {1: 2}), "params"),  # type: ignore[dict-item]
        (lambda: encode_execute(1, "SELECT ?", "x"), "params"),
        (lambda: encode_auth(1, "", "pw", bytes(20)), "user"),
        (lambda: encode_auth(1, "u", "pw", bytes(19)), "salt"),
        (lambda: encode_id(1, -3), "version"),
        (lambda: encode_id(1, 3, 5), "features"),  # type: ignore[arg-type]
        (lambda: encode_id(1, 3, [-1]), "features"),
        (lambda: encode_request(1, 0x80, {}), "request_type"),
        (lambda: encode_request(1, 1, [1]), "body"),  # type: ignore[arg-type]
    ],
)
def test_encoders_reject_bad_arguments(call: Callable[[], bytes], argument: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        call()
    assert info.value.argument == argument


def test_unencodable_value_error_is_short_and_keeps_the_value() -> None:
    big = [object(), *range(10_000)]
    with pytest.raises(ConfigurationError) as info:
        encode_insert(1, 512, big)
    assert info.value.value is big
    assert len(str(info.value)) < 300
    # the packer that failed is not reused half-filled
    assert parse_one(encode_insert(1, 512, [1, "a"])).body[iproto.Key.TUPLE] == [1, "a"]


def test_key_forms() -> None:
    def key_of(key: Any) -> Any:
        return parse_one(encode_select(1, 512, 0, key)).body[iproto.Key.KEY]

    assert key_of(None) == []
    assert key_of(5) == [5]
    assert key_of("a") == ["a"]
    assert key_of((1, "a")) == [1, "a"]
    assert key_of([]) == []


def test_update_and_upsert_bodies() -> None:
    body = parse_one(encode_update(1, 512, 2, 7, [("=", "name", "x")], index_base=1)).body
    assert body == {0x10: 512, 0x11: 2, 0x15: 1, 0x20: [7], 0x21: [["=", "name", "x"]]}
    body = parse_one(encode_upsert(1, 512, [7, "a"], [("+", 2, 1)])).body
    assert body == {0x10: 512, 0x21: [7, "a"], 0x28: [["+", 2, 1]]}


def test_execute_params_names() -> None:
    body = parse_one(encode_execute(1, "SELECT :a, @b, $c", {"a": 1, "@b": 2, "$c": 3})).body
    assert body[iproto.Key.SQL_BIND] == [{":a": 1}, {"@b": 2}, {"$c": 3}]
    body = parse_one(encode_execute(1, 5)).body
    assert body == {iproto.Key.STMT_ID: 5, iproto.Key.SQL_BIND: []}


def test_encode_request_generic() -> None:
    packet = encode_request(5, iproto.RequestType.SELECT, {iproto.Key.SPACE_ID: 512})
    request = parse_one(packet)
    assert (request.sync, request.type, request.body) == (5, 1, {0x10: 512})


def test_schema_selects() -> None:
    for packet, space in ((encode_vspace_select(3), 281), (encode_vindex_select(4), 289)):
        body = parse_one(packet).body
        assert body[iproto.Key.SPACE_ID] == space
        assert body[iproto.Key.ITERATOR] == IteratorType.ALL
        assert body[iproto.Key.KEY] == []


def test_invalid_utf8_strings_round_trip() -> None:
    # Lua strings are bytes; an MP_STR that is not UTF-8 decodes with
    # surrogateescape and encodes back to the same bytes.
    raw = b"\x81\x30\x91\xa2\xff\xfe"  # {DATA: ["\xff\xfe" as MP_STR]}
    header = b"\x82\x00\x00\x01\x07"
    reply = parse_one(b"\xce" + struct.pack(">I", len(header + raw)) + header + raw)
    (text,) = reply.data or []
    assert isinstance(text, str)
    assert text.encode("utf-8", "surrogateescape") == b"\xff\xfe"
    assert b"\xa2\xff\xfe" in encode_insert(1, 512, [text])


# --------------------------------------------------------------------------- iterators


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (IteratorType.GT, IteratorType.GT),
        (0, IteratorType.EQ),
        (11, IteratorType.NEIGHBOR),
        ("EQ", IteratorType.EQ),
        ("ge", IteratorType.GE),
        (" bits_any_set ", IteratorType.BITS_ANY_SET),
        ("==", IteratorType.EQ),
        ("=", IteratorType.EQ),
        ("<", IteratorType.LT),
        ("<=", IteratorType.LE),
        (">=", IteratorType.GE),
        (">", IteratorType.GT),
        ("&&", IteratorType.OVERLAPS),
        ("<->", IteratorType.NEIGHBOR),
    ],
)
def test_iterator_from(value: Any, expected: IteratorType) -> None:
    assert iterator_from(value) is expected
    body = parse_one(encode_select(1, 512, 0, iterator=value)).body
    assert body[iproto.Key.ITERATOR] == expected


@pytest.mark.parametrize("value", [-1, 12, True, "", "EQUAL", None, 1.0])
def test_iterator_from_rejects(value: Any) -> None:
    with pytest.raises(ConfigurationError):
        iterator_from(value)


# --------------------------------------------------------------------------- DatabaseError


def test_database_error_attributes_and_text() -> None:
    error = DatabaseError(3, "Duplicate key", error_type="ClientError", stack=[{"line": 1}])
    assert isinstance(error, ReplyError) and isinstance(error, GreenpoolError)
    assert (error.code, error.message, error.error_type) == (3, "Duplicate key", "ClientError")
    assert str(error) == "ER_TUPLE_FOUND (3): Duplicate key"
    assert "3" in repr(error) and "Duplicate key" in repr(error)
    assert error == DatabaseError(3, "Duplicate key")
    assert error != DatabaseError(4, "Duplicate key")
    assert error != ReplyError("Duplicate key")
    assert hash(error) == hash(DatabaseError(3, "Duplicate key"))


def test_database_error_pickles() -> None:
    error = parse_one(REPLIES["auth_fail"]).error
    copy = pickle.loads(pickle.dumps(error))
    assert copy == error
    assert copy is not None and error is not None
    assert (copy.code, copy.error_type, copy.stack) == (error.code, error.error_type, error.stack)


# --------------------------------------------------------------------------- parser failures


def _packet(header: Any, body: Any = None, *, raw_body: bytes | None = None) -> bytes:
    payload = msgpack.packb(header)
    if raw_body is not None:
        payload += raw_body
    elif body is not None:
        payload += msgpack.packb(body)
    return b"\xce" + struct.pack(">I", len(payload)) + payload


@pytest.mark.parametrize(
    ("packet", "match"),
    [
        (_packet([0, 1]), "header is not a map"),
        (_packet({0: 0}, {}), "sync"),
        (_packet({1: 5}, {}), "request type"),
        (_packet({0: "ok", 1: 5}, {}), "request type"),
        (_packet({0: 0, 1: -5}, {}), "sync"),
        (_packet({0: 0, 1: True}, {}), "sync"),
        (_packet({0: 0, 1: 1, 5: "v"}, {}), "schema version"),
        (_packet({0: 0, 1: 1}, [1]), "body is not a map"),
        (_packet({0: 0, 1: 1}, {0x30: 5}), "data is not an array"),
        (_packet({0: 0, 1: 1}, raw_body=b"\xc1"), "malformed"),
        (_packet({0: 0, 1: 1}, raw_body=b"\x81\x30"), "malformed"),
        (_packet({0: 0, 1: 1}, raw_body=b"\x80\x80"), "after its body"),
        (_packet({0: 0x8003, 1: 1}, {0x31: 5}), "error message"),
        (_packet({0: 0x8003, 1: 1}, {0x31: "x", 0x52: [1]}), "error stack"),
        (_packet({0: 0x8003, 1: 1}, {0x31: "x", 0x52: {0: [1]}}), "error stack entry"),
        (_packet({0: 0, 1: 1}, {0x32: [{0: 1}]}), "SQL metadata"),
        (_packet({0: 0, 1: 1}, {0x42: {0: "x"}}), "SQL info"),
        (_packet({0: 0, 1: 1}, {0x30: [msgpack.ExtType(2, b"short")]}), "malformed"),
        (_packet({0: 0, 1: 1}, {0x30: [msgpack.ExtType(1, b"\x02\x12")]}), "malformed"),
        (b"\x00", "malformed"),
        (b"\xc0", "length prefix"),
        (b"\xa1x", "length prefix"),
        (b"\xce\x10\x00\x00\x00", "exceeds max_packet_size"),
        (b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "exceeds max_packet_size"),
    ],
)
def test_protocol_errors(packet: bytes, match: str) -> None:
    good = REPLIES["select"]
    parser = IprotoParser(max_packet_size=1024)
    parser.feed(good + packet + good)
    # replies before the bad packet are still delivered
    assert parser.gets() == parse_one(good)
    with pytest.raises(ProtocolError, match=match):
        parser.gets()
    # ... and the parser is dead for good
    with pytest.raises(ProtocolError, match=match):
        parser.gets()
    with pytest.raises(ProtocolError, match=match):
        parser.feed(good)
    assert parser.buffered == 0 and parser.pending == 0


def test_oversized_prefix_is_refused_before_the_body_arrives() -> None:
    parser = IprotoParser(max_packet_size=100)
    parser.feed(b"\xce\x00\x00\x00\x65")  # 101 bytes announced
    parser.feed(b"x" * 1000)  # dropped, not buffered
    assert parser.buffered == 0
    with pytest.raises(ProtocolError, match="exceeds"):
        parser.gets()


def test_packet_at_the_limit_is_accepted() -> None:
    packet = _packet({0: 0, 1: 1}, {0x30: ["x" * 100]})
    size = len(packet) - 5
    assert parse_all(packet, max_packet_size=size)[0].data == ["x" * 100]
    with pytest.raises(ProtocolError):
        parse_all(packet, max_packet_size=size - 1)


def test_big_reply_uses_a_private_unpacker() -> None:
    rows = [[i, "x" * 100] for i in range(20_000)]  # about 2.2 MB
    packet = _packet({0: 0, 1: 9}, {0x30: rows})
    parser = IprotoParser()
    for i in range(0, len(packet), 65536):
        parser.feed(packet[i : i + 65536])
        assert parser.buffered <= len(packet)
    big = parser.gets()
    assert big is not None and big.data == rows
    parser.feed(REPLIES["select"])
    assert parser.gets() == parse_one(REPLIES["select"])
    # the same packet arriving in one piece
    assert parse_one(packet).data == rows


def test_a_body_running_into_the_next_packet_is_malformed() -> None:
    # The shared unpacker holds the packets after this one too: an array
    # claiming more items than its packet holds must not borrow theirs.
    good = REPLIES["select"]
    overrun = _packet({0: 0, 1: 2}, raw_body=b"\x81\x30\x93\x01")
    parser = IprotoParser()
    parser.feed(good + overrun + good + good)
    assert parser.gets() == parse_one(good)
    with pytest.raises(ProtocolError, match="malformed.*runs past"):
        parser.gets()
    with pytest.raises(ProtocolError, match="malformed"):
        parser.gets()


@pytest.mark.parametrize(
    "raw_body",
    [
        b"\x81\x30\xdd\xff\xff\xff\xff",  # a 4-billion-item array
        b"\x81\x30\xdf\xff\xff\xff\xff",  # a 4-billion-entry map
        b"\x81\x30\xdb\xff\xff\xff\xff",  # a 4 GB string
    ],
)
def test_a_huge_claimed_length_is_refused_without_allocating_it(raw_body: bytes) -> None:
    parser = IprotoParser()
    parser.feed(_packet({0: 0, 1: 2}, raw_body=raw_body) + REPLIES["select"])
    with pytest.raises(ProtocolError, match="malformed"):
        parser.gets()


def _nested_claims(header: bytes, levels: int) -> bytes:
    """``levels`` array (or map) headers, each the first item of the one before."""
    return header * levels


@pytest.mark.parametrize(
    "raw_body",
    [
        # msgpack reserves about 8,700 slots (68 kB) per array header before
        # its elements arrive: 1,000 nested claims would reserve 68 MB.
        b"\x81\x30" + _nested_claims(b"\xdd\x00\x0f\xff\xff", 1000),
        b"\x81\x30" + _nested_claims(b"\xdc\xff\xff", 1000),
        # the same claims in a packet padded with a megabyte of nils
        b"\x81\x30" + _nested_claims(b"\xdd\x00\x0f\xff\xff", 1000) + b"\xc0" * 1_000_000,
        # ... and inside an error extension's payload (decoded separately)
        b"\x81\x52"
        + b"\xc9" + struct.pack(">I", 5000) + b"\x03"
        + (b"\x81\x00" + _nested_claims(b"\xdd\x00\x00\x0f\x00", 999)).ljust(5000, b"\xc0"),
    ],
    ids=["array32", "array16", "padded", "error-extension"],
)
def test_nested_claimed_lengths_are_refused_before_they_reserve_memory(raw_body: bytes) -> None:
    parser = IprotoParser()
    tracemalloc.start()
    try:
        parser.feed(_packet({0: 0x8000 | 42, 1: 2}, raw_body=raw_body))
        with pytest.raises(ProtocolError, match="malformed"):
            parser.read_all()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - len(raw_body) < 3_000_000, peak


def test_packets_holding_array_header_bytes_still_decode() -> None:
    # 0xdc and 0xdd inside values (a sync of 220, a string, a long array) make
    # a packet over 128 bytes go through the structure walk first.
    rows = [[220, "\u0750\u0770" * 40, b"\xdd\xdc" * 50]] + [[n] for n in range(70_000)]
    packets = [
        _packet({0: 0, 1: 220, 5: 0xDD}, {0x30: rows[:1]}),
        _packet({0: 0, 1: 221}, {0x30: rows}),
    ]
    for chunk in (None, 7, 65536):
        stream = b"".join(packets)
        parser = IprotoParser()
        got = []
        pieces = [stream] if chunk is None else [
            stream[i : i + chunk] for i in range(0, len(stream), chunk)
        ]
        for piece in pieces:
            parser.feed(piece)
            got += parser.read_all()
        assert [(r.sync, r.data) for r in got] == [(220, rows[:1]), (221, rows)]


def test_drain_returns_the_replies_before_bad_bytes_then_raises() -> None:
    good = REPLIES["select"]
    parser = IprotoParser()
    parser.feed(good + good + _packet({0: 0, 1: 1}, {0x30: 5}) + good)
    assert not parser.failed
    assert parser.read_all() == [parse_one(good), parse_one(good)]
    assert parser.failed
    with pytest.raises(ProtocolError, match="data is not an array"):
        parser.read_all()
    with pytest.raises(ProtocolError, match="data is not an array"):
        parser.gets()
    # a bad length prefix: the same
    parser = IprotoParser()
    parser.feed(good + b"\xc0")
    assert parser.read_all() == [parse_one(good)]
    with pytest.raises(ProtocolError, match="length prefix"):
        parser.read_all()


def test_read_all_and_gets_agree_on_every_golden_reply() -> None:
    stream = b"".join(v for k, v in REPLIES.items() if not k.startswith("greeting"))
    parser = IprotoParser()
    parser.feed(stream)
    assert parser.read_all() == parse_all(stream)
    assert parser.read_all() == [] and parser.pending == 0


def test_older_names_still_work() -> None:
    # next_response/drain were the parser's names before the codecs shared
    # one vocabulary; Response was the packet's name before Reply.
    stream = REPLIES["select"] + REPLIES["select"]
    parser = IprotoParser()
    parser.feed(stream)
    assert parser.next_response() == parse_one(REPLIES["select"])
    assert parser.drain() == [parse_one(REPLIES["select"])]
    assert parser.next_response() is None and parser.gets() is NEED_DATA
    with pytest.warns(DeprecationWarning, match="Reply"):
        assert iproto.Response is Reply
    with pytest.raises(AttributeError):
        iproto.no_such_name  # noqa: B018


def test_big_packets_between_small_ones_keep_their_order() -> None:
    rows = [[i, "x" * 100] for i in range(12_000)]  # about 1.3 MB: decoded on its own
    big = _packet({0: 0, 1: 2}, {0x30: rows})
    small = REPLIES["select"]
    stream = small + big + small + big + small
    for chunk in (len(stream), 65536, 7):
        parser = IprotoParser()
        got = []
        for i in range(0, len(stream), chunk):
            parser.feed(stream[i : i + chunk])
            got += parser.read_all()
        assert [r.sync for r in got] == [4, 2, 4, 2, 4]
        assert got[1].data == rows and got[3].data == rows


def test_many_small_packets_fed_at_once_are_all_decoded() -> None:
    # More than 1 MiB of small packets before any is taken: the shared
    # unpacker holds them all, then is replaced once drained.
    packets = [_packet({0: 0, 1: n, 5: 1}, {0x30: [[n, "v" * 50]]}) for n in range(20_000)]
    stream = b"".join(packets)
    assert len(stream) > 1024 * 1024
    parser = IprotoParser()
    parser.feed(stream)
    assert parser.pending == 20_000
    replies = parser.read_all()
    assert [r.sync for r in replies] == list(range(20_000))
    assert replies[-1].data == [[19_999, "v" * 50]]
    parser.feed(REPLIES["select"])
    assert parser.read_all() == [parse_one(REPLIES["select"])]


def test_all_length_prefix_forms() -> None:
    payload = msgpack.packb({0: 0, 1: 3}) + msgpack.packb({})
    n = len(payload)
    for prefix in (
        bytes([n]),
        b"\xcc" + bytes([n]),
        b"\xcd" + struct.pack(">H", n),
        b"\xce" + struct.pack(">I", n),
        b"\xcf" + struct.pack(">Q", n),
    ):
        assert parse_one(prefix + payload).sync == 3


def test_a_plain_reply_body_is_made_when_read() -> None:
    # The parser drops a {DATA: [...]} body and makes it again on demand.
    packet = _packet({0: 0, 1: 7, 5: 3}, {0x30: [[1, "a"]]})
    reply = parse_one(packet)
    assert reply.body == {0x30: [[1, "a"]]} and reply.body is reply.body
    assert reply.body[0x30] is reply.data
    assert reply == Reply(0, 7, 3, {0x30: [[1, "a"]]}, [[1, "a"]])
    for copy in (pickle.loads(pickle.dumps(parse_one(packet))), pickle.loads(pickle.dumps(reply))):
        assert copy == reply and copy.body == {0x30: [[1, "a"]]} and copy.data == [[1, "a"]]
    reply.body = {0x30: [], 0x99: 1}
    assert reply.body == {0x30: [], 0x99: 1}
    assert Reply(0, 1, None, {}).body == {}


def test_header_only_packet_has_empty_body() -> None:
    reply = parse_one(_packet({0: 0, 1: 4}))
    assert (reply.sync, reply.body, reply.data) == (4, {}, None)


def test_feed_accepts_bytearray_and_memoryview_and_copies_them() -> None:
    chunk = bytearray(REPLIES["select"] + REPLIES["ping"][:10])
    parser = IprotoParser()
    parser.feed(chunk)
    chunk[:] = b"\x00" * len(chunk)  # the caller reuses its buffer
    parser.feed(memoryview(REPLIES["ping"][10:]))
    assert list(parser) == [parse_one(REPLIES["select"]), parse_one(REPLIES["ping"])]


def test_parser_rejects_bad_limit() -> None:
    for bad in (0, -1, "64", None):
        with pytest.raises(ConfigurationError, match="max_packet_size"):
            IprotoParser(max_packet_size=bad)  # type: ignore[arg-type]


def test_response_repr_and_equality() -> None:
    reply = parse_one(REPLIES["select"])
    assert "sync=4" in repr(reply) and "one" in repr(reply)
    assert "ER_TUPLE_FOUND" not in repr(reply)
    assert "Duplicate" in repr(parse_one(REPLIES["insert_dup"]))
    assert reply != parse_one(REPLIES["select_by_name"])
    assert reply != "reply"


# --------------------------------------------------------------------------- schema


def _golden_schema() -> Schema:
    return Schema.from_responses(parse_one(REPLIES["vspace"]), parse_one(REPLIES["vindex"]))


def test_schema_from_captured_rows() -> None:
    schema = _golden_schema()
    assert schema.version == SCHEMA_VERSION
    assert schema.resolve_space("test") == 512
    assert schema.resolve_space("SQLT") == 513
    assert schema.resolve_space(9999) == 9999  # ids pass through unchecked
    assert schema.resolve_index("test", "primary") == 0
    assert schema.resolve_index("test", "by_name") == 1
    assert schema.resolve_index(512, "by_name") == 1
    assert schema.resolve_index("SQLT", "pk_unnamed_SQLT_1") == 0
    assert schema.resolve_index("nosuch", 3) == 3
    test = schema.space("test")
    assert test.engine == "memtx"
    assert test.field_names == ("id", "name", "value")
    assert test.field_number("value") == 2
    # _vindex parts in both layouts: [[0, 'unsigned']] and [{'field': 0, ...}]
    assert test.indexes["primary"].parts == (0,)
    assert test.indexes_by_id[1].parts == (1,)
    assert test.indexes["by_name"].unique is False
    assert test.indexes["primary"].type == "TREE"
    assert schema.space(513).indexes["pk_unnamed_SQLT_1"].parts == (0,)
    assert schema.space("SQLT").field_names == ("ID", "NAME")
    assert "test" in repr(schema)


@pytest.mark.parametrize(
    ("call", "kind", "name"),
    [
        (lambda s: s.resolve_space("nosuch"), "space", "nosuch"),
        (lambda s: s.resolve_index("test", "nosuch"), "index", "nosuch"),
        (lambda s: s.resolve_index("nosuch", "primary"), "space", "nosuch"),
        (lambda s: s.space(1), "space", 1),
        (lambda s: s.space("test").field_number("nosuch"), "field", "nosuch"),
    ],
)
def test_schema_unknown_names(call: Callable[[Schema], Any], kind: str, name: Any) -> None:
    with pytest.raises(SchemaError) as info:
        call(_golden_schema())
    assert isinstance(info.value, LookupError) and isinstance(info.value, GreenpoolError)
    assert (info.value.kind, info.value.name) == (kind, name)
    assert repr(name) in str(info.value)


def test_schema_rejects_bad_arguments() -> None:
    schema = _golden_schema()
    with pytest.raises(ConfigurationError):
        schema.resolve_space(True)
    with pytest.raises(ConfigurationError):
        schema.resolve_space(1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        schema.resolve_index("test", None)  # type: ignore[arg-type]


def test_schema_staleness() -> None:
    schema = _golden_schema()
    same = parse_one(REPLIES["ping"])
    assert not schema.is_stale(same) and not schema.needs_reload(same)
    wrong = parse_one(REPLIES["wrong_schema"])
    assert not schema.is_stale(wrong)  # the header still says 83 ...
    assert schema.needs_reload(wrong)  # ... but the request was refused
    newer = Reply(0, 1, SCHEMA_VERSION + 1, {})
    assert schema.is_stale(newer) and schema.needs_reload(newer)
    assert not schema.is_stale(Reply(0, 1, None, {}))


def test_schema_from_responses_refuses_mixed_versions_and_errors() -> None:
    vspace = parse_one(REPLIES["vspace"])
    vindex = parse_one(REPLIES["vindex"])
    vindex.schema_version = SCHEMA_VERSION + 1
    with pytest.raises(ProtocolError, match="schema changed"):
        Schema.from_responses(vspace, vindex)
    with pytest.raises(DatabaseError):
        Schema.from_responses(vspace, parse_one(REPLIES["nospace"]))


@pytest.mark.parametrize(
    ("vspace", "vindex"),
    [
        ([[512, 1]], []),
        ([["512", 1, "t", "memtx"]], []),
        ([], [[512, 0, "pk", "tree", {}]]),
        ([], [[512, 0, "pk", "tree", {}, "parts"]]),
        ([], [[512, 0, "pk", "tree", {}, [["x", "unsigned"]]]]),
        ([], [[512, 0, "pk", "tree", {}, [{"type": "unsigned"}]]]),
        ([], ["row"]),
    ],
)
def test_schema_rejects_malformed_rows(vspace: Any, vindex: Any) -> None:
    with pytest.raises(ProtocolError):
        Schema.from_rows(vspace, vindex)


# --------------------------------------------------------------------------- property tests

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
    | st.binary(max_size=20)
)

_values = st.recursive(
    _scalars | st.decimals(allow_nan=False, allow_infinity=False) | st.uuids(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers(-5, 5), children, max_size=4)
    ),
    max_leaves=12,
)


def _lists(value: Any) -> Any:
    """What decoding gives back: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


@settings(max_examples=150, deadline=None)
@given(st.lists(_values, max_size=6))
def test_values_round_trip(values: list[Any]) -> None:
    reply = parse_one(encode_insert(1, 512, tuple(values)))
    assert reply.body[iproto.Key.TUPLE] == _lists(values)


@st.composite
def _replies(draw: st.DrawFn) -> tuple[bytes, tuple[Any, ...]]:
    """A reply packet made by a test-side encoder, and what parsing it must give."""
    sync = draw(st.integers(0, 2**64 - 1))
    version = draw(st.none() | st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["ok", "push", "error", "sql_rows", "sql_info", "empty"]))
    rows = st.lists(st.lists(_scalars, max_size=4), max_size=4)
    data: Any = None
    metadata: Any = None
    info: Any = None
    error: Any = None
    body: dict[int, Any]
    if kind in ("ok", "push"):
        data = draw(rows)
        reply_type, body = (0 if kind == "ok" else 0x80), {0x30: data}
    elif kind == "error":
        code = draw(st.integers(0, 0x7FFF))
        message = draw(st.text(max_size=30))
        reply_type, body = 0x8000 | code, {0x31: message}
        if draw(st.booleans()):
            body[0x52] = {0: [{0: "ClientError", 1: "f.c", 2: 1, 3: message, 4: 0, 5: code}]}
        error = (code, message)
    elif kind == "sql_rows":
        names = draw(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=3))
        data = draw(st.lists(st.lists(_scalars, min_size=len(names), max_size=len(names))))
        metadata = [SqlColumn(n, "any") for n in names]
        reply_type, body = 0, {0x32: [{0: n, 1: "any"} for n in names], 0x30: data}
    elif kind == "sql_info":
        info = SqlInfo(draw(st.integers(0, 1000)), draw(st.lists(st.integers(0, 2**63))))
        reply_type, body = 0, {0x42: {0: info.row_count, 1: info.autoincrement_ids}}
    else:
        reply_type, body = 0, {}
    header = {0: reply_type, 1: sync}
    if version is not None:
        header[5] = version
    payload = msgpack.packb(header) + msgpack.packb(body, use_bin_type=True)
    n = len(payload)
    prefix = draw(
        st.sampled_from(
            [msgpack.packb(n), b"\xce" + struct.pack(">I", n), b"\xcf" + struct.pack(">Q", n)]
        )
    )
    code = error[0] if error else 0
    expected = (sync, reply_type, code, version, data, error, metadata, info)
    return prefix + payload, expected


def _summary(reply: Reply) -> tuple[Any, ...]:
    error = None if reply.error is None else (reply.error.code, reply.error.message)
    return (
        reply.sync,
        reply.type,
        reply.code,
        reply.schema_version,
        reply.data,
        error,
        reply.metadata,
        reply.sql_info,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_replies(), max_size=8), st.data())
def test_random_replies_split_anywhere_parse_back(
    replies: list[tuple[bytes, tuple[Any, ...]]], data: st.DataObject
) -> None:
    stream = b"".join(packet for packet, _ in replies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    parser = IprotoParser()
    got = []
    start = 0
    for cut in [*cuts, len(stream)]:
        parser.feed(stream[start:cut])
        start = cut
        if data.draw(st.booleans()):
            taken = parser.read_all() if data.draw(st.booleans()) else list(parser)
            got += [_summary(r) for r in taken]
    got += [_summary(r) for r in parser.read_all()]
    assert got == [expected for _, expected in replies]
    assert parser.buffered == 0 and parser.pending == 0


_LIMIT = 200


@st.composite
def _garbage(draw: st.DrawFn) -> bytes:
    """Random bytes, or a valid stream with random mutations."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    stream = bytearray(b"".join(p for p, _ in draw(st.lists(_replies(), max_size=5))))
    for _ in range(draw(st.integers(1, 5))):
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = draw(st.integers(0, len(stream)))
        if action == "flip" and pos < len(stream):
            stream[pos] = draw(st.integers(0, 255))
        elif action == "insert":
            stream[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del stream[pos : pos + draw(st.integers(1, 8))]
    return bytes(stream)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_garbage(), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_garbage_gives_only_protocol_errors_or_replies(data: bytes, sizes: list[int]) -> None:
    parser = IprotoParser(max_packet_size=_LIMIT)
    pos = 0
    failed = False
    while pos < len(data) and not failed:
        size = sizes[pos % len(sizes)]
        try:
            parser.feed(data[pos : pos + size])
        except ProtocolError:
            failed = True
            break
        pos += size
        # at most one incomplete packet (plus its prefix) is ever held
        assert parser.buffered <= _LIMIT + 9
        try:
            for reply in parser.read_all() if size % 2 else parser:
                assert isinstance(reply, Reply)
            if parser.failed:
                parser.read_all()
        except ProtocolError:
            failed = True
    if failed:
        with pytest.raises(ProtocolError):
            parser.gets()
        with pytest.raises(ProtocolError):
            parser.feed(b"\x00")


# --------------------------------------------------------------------------- decimal corner cases


@pytest.mark.parametrize(
    ("value", "payload"),
    [
        # payloads as Tarantool 2.6 sent them in the capture
        (Decimal("-12.345"), "0312345d"),
        (Decimal("1.50"), "02150c"),
        (Decimal("1E+5"), "fb1c"),
        (Decimal("0"), "000c"),
        (Decimal("-0.000"), "030d"),
    ],
)
def test_decimal_payloads(value: Decimal, payload: str) -> None:
    packet = encode_insert(1, 512, [value])
    ext = msgpack.ExtType(1, bytes.fromhex(payload))
    assert _split(packet)[2][iproto.Key.TUPLE] == [ext]
    decoded = parse_one(packet).body[iproto.Key.TUPLE][0]
    assert decoded == value and str(decoded) == str(value)


def test_unknown_extension_types_stay_ext_type() -> None:
    packet = _packet({0: 0, 1: 1}, {0x30: [msgpack.ExtType(4, b"datetime")]})
    assert parse_one(packet).data == [msgpack.ExtType(4, b"datetime")]


# --------------------------------------------------------------------------- golden bytes
# Captured from Tarantool 2.6.0-0-g47aa4e01e on 127.0.0.1, schema version 83.


REPLIES: dict[str, bytes] = {
    "greeting": bytes.fromhex(
        "546172616e746f6f6c20322e362e30202842696e617279292033376235616539362d313931632d34"
        "6536322d626433382d65656235366638353636653720200a2f754f554a58756f62514b436c70464a"
        "334c614c4c4d433936634c6e534a47544f5048394370374135416f3d202020202020202020202020"
        "202020202020200a"
    ),
    "auth_fail": bytes.fromhex(
        "ce000000ad8300ce0000802f01cf000000000000000105ce000000538231d92d496e636f72726563"
        "742070617373776f726420737570706c69656420666f722075736572202774657374657227528100"
        "918600ab436c69656e744572726f72026001bb2e2f7372632f626f782f61757468656e7469636174"
        "696f6e2e636303d92d496e636f72726563742070617373776f726420737570706c69656420666f72"
        "20757365722027746573746572270400052f"
    ),
    "greeting2": bytes.fromhex(
        "546172616e746f6f6c20322e362e30202842696e617279292033376235616539362d313931632d34"
        "6536322d626433382d65656235366638353636653720200a49456278617955305465634d4d314745"
        "3970466a563238482b2f61665073526d66492f6770676e36344f773d202020202020202020202020"
        "202020202020200a"
    ),
    "auth_ok": bytes.fromhex("ce000000188300ce0000000001cf000000000000000205ce0000005380"),
    "ping": bytes.fromhex("ce000000188300ce0000000001cf000000000000000305ce0000005380"),
    "ping_schema": bytes.fromhex("ce000000188300ce0000000001cf000000000000001b05ce0000005380"),
    "select": bytes.fromhex(
        "ce0000002d8300ce0000000001cf000000000000000405ce000000538130dd000000029301a36f6e"
        "65a1789302a374776f02"
    ),
    "select_by_name": bytes.fromhex(
        "ce000000258300ce0000000001cf000000000000000505ce000000538130dd000000019302a374776f02"
    ),
    "insert_dup": bytes.fromhex(
        "ce000000cc8300ce0000800301cf000000000000000605ce000000538231d93e4475706c69636174"
        "65206b65792065786973747320696e20756e6971756520696e64657820277072696d617279272069"
        "6e20737061636520277465737427528100918600ab436c69656e744572726f7202cd024101b62e2f"
        "7372632f626f782f6d656d74785f747265652e6303d93e4475706c6963617465206b657920657869"
        "73747320696e20756e6971756520696e64657820277072696d6172792720696e2073706163652027"
        "746573742704000503"
    ),
    "replace": bytes.fromhex(
        "ce0000002c8300ce0000000001cf000000000000000705ce000000538130dd000000019303a57468"
        "72656581a16b920102"
    ),
    "update": bytes.fromhex(
        "ce0000002c8300ce0000000001cf000000000000000805ce000000538130dd000000019303a46472"
        "6569c40500ff62696e"
    ),
    "upsert": bytes.fromhex(
        "ce0000001e8300ce0000000001cf000000000000000905ce000000538130dd00000000"
    ),
    "delete": bytes.fromhex(
        "ce000000268300ce0000000001cf000000000000000a05ce000000538130dd000000019304a4666f757200"
    ),
    "call": bytes.fromhex(
        "ce0000002e8300ce0000000001cf000000000000000b05ce000000538130dd0000000601a161c0c3"
        "cb3ff8000000000000a101"
    ),
    "eval_ext": bytes.fromhex(
        "ce0000004e8300ce0000000001cf000000000000000c05ce000000538130dd00000004c703010215"
        "0cd802aaaaaaaabbbbccccddddeeeeeeeeeeeed6010312345dd80211111111222233334444555555"
        "555555"
    ),
    "eval_error_ext": bytes.fromhex(
        "ce000000598300ce0000000001cf000000000000000d05ce000000538130dd00000001c738038100"
        "918700ab437573746f6d4572726f72020101a46576616c03a5696e6e65720400054d0681ab637573"
        "746f6d5f74797065a54d79457272"
    ),
    "eval_custom_error": bytes.fromhex(
        "ce000000528300ce000084d201cf000000000000000e05ce000000538231ab637573746f6d206661"
        "696c528100918600ab436c69656e744572726f72020101a46576616c03ab637573746f6d20666169"
        "6c040005cd04d2"
    ),
    "push": bytes.fromhex(
        "ce000000278300ce0000008001cf000000000000000f05ce000000538130dd000000019201a67075"
        "73686564ce000000238300ce0000000001cf000000000000000f05ce000000538130dd00000001a4"
        "646f6e65"
    ),
    "sql_select": bytes.fromhex(
        "ce0000004d8300ce0000000001cf000000000000001005ce000000538232928200a2696401a8756e"
        "7369676e65648200a46e616d6501a6737472696e6730939201a36f6e659202a374776f9203a46472"
        "6569"
    ),
    "sql_insert": bytes.fromhex(
        "ce000000208300ce0000000001cf000000000000001105ce00000053814282000201920102"
    ),
    "sql_error": bytes.fromhex(
        "ce000000868300ce0000802401cf000000000000001205ce000000538231bd537061636520274e4f"
        "535543482720646f6573206e6f74206578697374528100918600ab436c69656e744572726f72022c"
        "01b62e2f7372632f626f782f73716c2f64656c6574652e6303bd537061636520274e4f5355434827"
        "20646f6573206e6f7420657869737404000524"
    ),
    "prepare": bytes.fromhex(
        "ce000000518300ce0000000001cf000000000000001305ce000000538443cec968fd4f3402339282"
        "00a13f01a3414e598200a23a7801a3414e5932928200a14101a7626f6f6c65616e8200a14201a762"
        "6f6f6c65616e"
    ),
    "execute_prepared": bytes.fromhex(
        "ce000000378300ce0000000001cf000000000000001405ce000000538232928200a14101a7696e74"
        "656765728200a14201a47465787430919207a178"
    ),
    "unprepare": bytes.fromhex("ce000000188300ce0000000001cf000000000000001a05ce0000005380"),
    "id": bytes.fromhex(
        "ce000000798300ce0000803001cf000000000000001505ce000000538231b7556e6b6e6f776e2072"
        "6571756573742074797065203733528100918600ab436c69656e744572726f7202cd052101b32e2f"
        "7372632f626f782f6970726f746f2e636303b7556e6b6e6f776e2072657175657374207479706520"
        "373304000530"
    ),
    "wrong_schema": bytes.fromhex(
        "ce000000b38300ce0000806d01cf000000000000001605ce000000538231d93357726f6e67207363"
        "68656d612076657273696f6e2c2063757272656e743a20313038332c20696e20726571756573743a"
        "203833528100918600ab436c69656e744572726f7202cd058301b32e2f7372632f626f782f697072"
        "6f746f2e636303d93357726f6e6720736368656d612076657273696f6e2c2063757272656e743a20"
        "313038332c20696e20726571756573743a2038330400056d"
    ),
    "vspace": bytes.fromhex(
        "ce000001068300ce0000000001cf000000000000001705ce000000538130dd0000000297cd020001"
        "a474657374a56d656d747800809382a46e616d65a26964a474797065a8756e7369676e656482a46e"
        "616d65a46e616d65a474797065a6737472696e6783a474797065a3616e79a46e616d65a576616c75"
        "65ab69735f6e756c6c61626c65c397cd020101a453514c54a56d656d747802809284a46e616d65a2"
        "4944a474797065a7696e7465676572ab69735f6e756c6c61626c65c2af6e756c6c61626c655f6163"
        "74696f6ea561626f727484a46e616d65a44e414d45a474797065a6737472696e67ab69735f6e756c"
        "6c61626c65c3af6e756c6c61626c655f616374696f6ea46e6f6e65"
    ),
    "vindex": bytes.fromhex(
        "ce000000d78300ce0000000001cf000000000000001805ce000000538130dd0000000396cd020000"
        "a77072696d617279a47472656581a6756e69717565c3919200a8756e7369676e656496cd020001a7"
        "62795f6e616d65a47472656581a6756e69717565c2919201a6737472696e6796cd020100b1706b5f"
        "756e6e616d65645f53514c545f31a47472656581a6756e69717565c39185a474797065a7696e7465"
        "676572a56669656c6400ab69735f6e756c6c61626c65c2af6e756c6c61626c655f616374696f6ea5"
        "61626f7274aa736f72745f6f72646572a3617363"
    ),
    "nospace": bytes.fromhex(
        "ce0000007e8300ce0000802401cf000000000000001905ce000000538231bb537061636520273939"
        "39392720646f6573206e6f74206578697374528100918600ab436c69656e744572726f72025401b2"
        "2e2f7372632f626f782f736368656d612e6803bb53706163652027393939392720646f6573206e6f"
        "7420657869737404000524"
    ),
}

REQUESTS: dict[str, bytes] = {
    "auth_fail": bytes.fromhex(
        "ce0000003882000701cf00000000000000018223a67465737465722192a9636861702d73686131c4"
        "1447ec94b907fe9b60c2996c54f74feb812fe310f4"
    ),
    "auth_ok": bytes.fromhex(
        "ce0000003882000701cf00000000000000028223a67465737465722192a9636861702d73686131c4"
        "143a7bf4ca5fae62c0a430710ed90613c18edcf50f"
    ),
    "ping": bytes.fromhex("ce0000000e82004001cf000000000000000380"),
    "ping_schema": bytes.fromhex("ce0000001883004001cf000000000000001b05cf000000000000005380"),
    "select": bytes.fromhex(
        "ce0000002a82000101cf00000000000000048610ce0000020011ce0000000012ceffffffff13ce00"
        "00000014022090"
    ),
    "select_by_name": bytes.fromhex(
        "ce0000002e82000101cf00000000000000058610ce0000020011ce0000000112ceffffffff13ce00"
        "00000014002091a374776f"
    ),
    "insert_dup": bytes.fromhex("ce0000001b82000201cf00000000000000068210ce00000200219201a3647570"),
    "replace": bytes.fromhex(
        "ce0000002382000301cf00000000000000078210ce00000200219303a5746872656581a16b920102"
    ),
    "update": bytes.fromhex(
        "ce0000003382000401cf00000000000000088410ce000002001100209103219293a13d02c40500ff"
        "62696e93a13da46e616d65a464726569"
    ),
    "upsert": bytes.fromhex(
        "ce0000002682000901cf00000000000000098410ce000002001500219304a4666f757200289193a12b0205"
    ),
    "delete": bytes.fromhex("ce0000001982000501cf000000000000000a8310ce000002001100209104"),
    "call": bytes.fromhex(
        "ce0000002782000a01cf000000000000000b8222a46563686f219601a161c0c3cb3ff8000000000000c40101"
    ),
    "eval_ext": bytes.fromhex(
        "ce000000ab82000801cf000000000000000c8227d9806c6f63616c20612c2062203d202e2e2e2072"
        "657475726e20612c20622c20726571756972652827646563696d616c27292e6e657728272d31322e"
        "33343527292c207265717569726528277575696427292e66726f6d73747228273131313131313131"
        "2d323232322d333333332d343434342d35353535353535353535353527292192c7030102150cd802"
        "aaaaaaaabbbbccccddddeeeeeeeeeeee"
    ),
    "eval_error_ext": bytes.fromhex(
        "ce0000009182000801cf000000000000000d8227d97e626f782e73657373696f6e2e73657474696e"
        "67732e6572726f725f6d61727368616c696e675f656e61626c6564203d2074727565206c6f63616c"
        "2065203d20626f782e6572726f722e6e6577287b636f64653d37372c20726561736f6e3d27696e6e"
        "6572272c20747970653d274d79457272277d292072657475726e20652190"
    ),
    "eval_custom_error": bytes.fromhex(
        "ce0000003d82000801cf000000000000000e8227d92a626f782e6572726f727b636f64653d313233"
        "342c20726561736f6e3d27637573746f6d206661696c277d2190"
    ),
    "push": bytes.fromhex(
        "ce0000004082000801cf000000000000000f8227d92d626f782e73657373696f6e2e70757368287b"
        "312c2027707573686564277d292072657475726e2027646f6e65272190"
    ),
    "sql_select": bytes.fromhex(
        "ce0000005882000b01cf00000000000000108240d93f53454c45435420226964222c20226e616d65"
        "222046524f4d202274657374222057484552452022696422203e3d203a6c6f204f52444552204259"
        "2022696422419181a33a6c6f01"
    ),
    "sql_insert": bytes.fromhex(
        "ce0000003e82000b01cf00000000000000118240d927494e5345525420494e544f2073716c742028"
        "6e616d65292056414c55455320283f292c20283f294192a161a162"
    ),
    "sql_error": bytes.fromhex(
        "ce0000002682000b01cf00000000000000128240b453454c454354202a2046524f4d206e6f737563684190"
    ),
    "prepare": bytes.fromhex(
        "ce0000002682000d01cf00000000000000138140b653454c454354203f20415320612c203a782041532062"
    ),
    "execute_prepared": bytes.fromhex(
        "ce0000001982000b01cf00000000000000148243cec968fd4f419207a178"
    ),
    "unprepare": bytes.fromhex("ce0000001482000d01cf000000000000001a8143cec968fd4f"),
    "id": bytes.fromhex("ce0000001482004901cf000000000000001582540355920001"),
    "wrong_schema": bytes.fromhex("ce0000001883004001cf000000000000001605cf000000000000043b80"),
    "vspace": bytes.fromhex(
        "ce0000002d82000101cf00000000000000178610ce0000011911ce0000000012ceffffffff13ce00"
        "00000014052091cd0200"
    ),
    "vindex": bytes.fromhex(
        "ce0000002d82000101cf00000000000000188610ce0000012111ce0000000012ceffffffff13ce00"
        "00000014052091cd0200"
    ),
    "nospace": bytes.fromhex(
        "ce0000002a82000101cf00000000000000198610ce0000270f11ce0000000012ceffffffff13ce00"
        "00000014002090"
    ),
}


@pytest.mark.parametrize(("module", "old", "new"), [
    ("greenpool.protocol.iproto", "Response", "Reply"),
    ("greenpool.protocol.iproto", "Iterator", "IteratorType"),
    ("greenpool.tarantool", "Iterator", "IteratorType"),
])
def test_former_names_still_work_and_warn(module: str, old: str, new: str) -> None:
    # One name, one meaning: the packet is Reply (tarantool.Response is the
    # user's rows) and the iterator enum no longer shadows collections.abc.Iterator.
    import importlib

    package = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"now called {new}"):
        value = getattr(package, old)
    assert value is getattr(package, new)
