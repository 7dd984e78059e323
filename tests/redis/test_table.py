"""The command table against the live server's COMMAND INFO and COMMAND DOCS.

Every command and subcommand the test server knows must be in the table,
with the same group, arity, flags, key specs, tips and version; where the
table deliberately says more (routing decisions), the rules below hold and
every exception is listed with its reason.  Key extraction is checked
against the server's own COMMAND GETKEYS.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from commands_executor import resp3_query

from greenpool.errors import ReplyError
from greenpool.redis.commands._spec import (
    ALWAYS,
    EVERY_CONNECTION,
    REFUSED,
    CommandSpec,
    command_name,
    keys_of,
    spec_from_server,
)
from greenpool.redis.commands._table import TABLE
from greenpool.testing import RedisServer

# Commands in the table that the test server (7.0) does not know, and why.
NOT_ON_THIS_SERVER = {
    "stralgo": "removed in Redis 7.0; redis-py still has stralgo()",
    "sentinel": "answered by sentinels only",
    "vector_set": "Redis 8's vector sets (a module bundled with the server)",
    "himport": "redis-py 8.1 sends it; no Redis release notes name its version yet",
}

# Blocking commands the server does not flag "blocking", and why the table does.
EXTRA_BLOCKING = {
    "wait": "waits up to its timeout for replicas to acknowledge",
}

# Connection-group commands that leave their connection as it was, and why.
STATELESS_CONNECTION_COMMANDS = {
    "echo": "answers with its argument",
    "ping": "answers PONG",
    "client": "the container: its subcommands decide",
    "client|getname": "reads the name",
    "client|getredir": "reads the tracking redirection",
    "client|help": "answers text",
    "client|id": "reads the connection's id",
    "client|info": "reads the connection's description",
    "client|kill": "acts on other connections (a killed shared one reconnects)",
    "client|list": "reads every connection's description",
    "client|pause": "acts on the whole server",
    "client|trackinginfo": "reads the tracking state",
    "client|unblock": "acts on another connection",
    "client|unpause": "acts on the whole server",
}


@pytest.fixture(scope="module")
def conn(redis_server: RedisServer) -> Iterator[socket.socket]:
    with socket.create_connection((redis_server.host, redis_server.port), timeout=10) as sock:
        resp3_query(sock, "HELLO", 3)
        yield sock


@pytest.fixture(scope="module")
def server(conn: socket.socket) -> dict[str, CommandSpec]:
    infos = resp3_query(conn, "COMMAND")
    docs = resp3_query(conn, "COMMAND", "DOCS")
    table: dict[str, CommandSpec] = {}
    for info in infos:
        table.update(spec_from_server(info, docs.get(str(info[0]).lower(), {})))
    return table


@pytest.fixture(scope="module")
def server_version(conn: socket.socket) -> tuple[int, ...]:
    text = resp3_query(conn, "INFO", "server")
    line = next(x for x in text.splitlines() if x.startswith("redis_version:"))
    return _version(line.partition(":")[2])


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip().split("."))


SERVER_FIELDS = ("group", "arity", "flags", "keys", "tips", "since", "container")


def test_every_server_command_is_in_the_table_with_the_same_facts(
    server: dict[str, CommandSpec],
) -> None:
    missing = sorted(set(server) - set(TABLE))
    assert missing == [], f"commands the server knows and the table does not: {missing}"
    wrong = []
    for name, theirs in server.items():
        ours = TABLE[name]
        for field in SERVER_FIELDS:
            mine, reference = getattr(ours, field), getattr(theirs, field)
            if mine != reference:
                wrong.append(f"{name}.{field}: {mine!r} != {reference!r}")
    assert wrong == []


def test_commands_the_server_does_not_know_are_newer_or_explained(
    server: dict[str, CommandSpec], server_version: tuple[int, ...]
) -> None:
    for name in sorted(set(TABLE) - set(server)):
        spec = TABLE[name]
        explained = name in NOT_ON_THIS_SERVER or spec.group in NOT_ON_THIS_SERVER
        explained = explained or name.partition("|")[0] in NOT_ON_THIS_SERVER
        newer = spec.since != "" and _version(spec.since) > server_version
        assert explained or newer, name


def test_blocking_follows_the_server_flag_with_listed_exceptions(
    server: dict[str, CommandSpec],
) -> None:
    for name, spec in TABLE.items():
        if "blocking" in spec.flags:
            assert spec.blocking is not None, name
        elif spec.blocking is not None:
            assert name in EXTRA_BLOCKING or name not in server, name
    assert TABLE["xread"].blocking == TABLE["xreadgroup"].blocking == "BLOCK"
    assert TABLE["blpop"].blocking == ALWAYS


def test_every_state_has_a_hint_and_the_risky_commands_are_refused(
    server: dict[str, CommandSpec],
) -> None:
    for name, spec in TABLE.items():
        assert spec.state in (None, REFUSED, EVERY_CONNECTION), name
        assert (spec.state is None) == (spec.hint is None), name
    must_refuse = [
        "client|reply", "client|tracking", "client|caching", "sync", "psync", "readonly",
        "readwrite", "asking", "reset", "quit", "monitor", "auth", "hello", "select",
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
        "multi", "exec", "discard", "watch", "unwatch", "script|debug",
    ]
    for name in must_refuse:
        assert TABLE[name].state == REFUSED, name
    for name, spec in server.items():
        if spec.group == "transactions":
            assert TABLE[name].state == REFUSED, name
    assert TABLE["client|setname"].state == EVERY_CONNECTION


def test_connection_commands_are_each_decided(server: dict[str, CommandSpec]) -> None:
    for name, spec in server.items():
        if spec.group == "connection" and TABLE[name].state is None:
            assert name in STATELESS_CONNECTION_COMMANDS, f"{name}: stateful or not?"


@pytest.mark.parametrize(
    "args",
    [
        ("GET", "a"),
        ("MSET", "a", "1", "b", "2", "c", "3"),
        ("EVAL", "return 1", "2", "k1", "k2", "arg"),
        ("EVALSHA", "0" * 40, "0", "arg"),
        ("ZUNIONSTORE", "dest", "2", "s1", "s2", "WEIGHTS", "1", "2"),
        ("XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s1", "0"),
        # (With KEYS, MIGRATE's key argument is "": the key specs list it, the
        # server's own key finder skips it.)
        ("MIGRATE", "127.0.0.1", "1", "k", "0", "5", "COPY"),
        ("GEORADIUS", "src", "1", "2", "3", "km", "STORE", "dst"),
        ("LMPOP", "2", "l1", "l2", "LEFT"),
        ("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"),
        ("OBJECT", "ENCODING", "k"),
        ("MEMORY", "USAGE", "k"),
        ("BITOP", "AND", "dest", "s1", "s2"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "1"),
        ("ZRANGESTORE", "dst", "src", "0", "-1"),
        ("XINFO", "STREAM", "s"),
        ("PFCOUNT", "h1", "h2"),
    ],
)
def test_keys_of_agrees_with_command_getkeys(conn: socket.socket, args: tuple[str, ...]) -> None:
    name = command_name(args, TABLE)
    assert name is not None
    expected = resp3_query(conn, "COMMAND", "GETKEYS", *args)
    assert not isinstance(expected, ReplyError), expected
    assert keys_of(args, TABLE[name]) == expected


def test_command_name_picks_the_subcommand_in_any_case() -> None:
    assert command_name(("client", "Reply", "OFF"), TABLE) == "client|reply"
    assert command_name((b"CONFIG", b"GET", b"x"), TABLE) == "config|get"
    assert command_name(("CONFIG",), TABLE) == "config"
    assert command_name(("CONFIG", "NOSUCH"), TABLE) is None
    assert command_name(("NOSUCH",), TABLE) is None
    assert command_name((), TABLE) is None
