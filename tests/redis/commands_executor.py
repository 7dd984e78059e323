"""A test-side executor for :class:`greenpool.redis.commands.Commands`.

:class:`SocketRedis` runs the mixin's commands over one plain blocking
socket, one command at a time, with greenpool's own RESP encoder and parser:
so the command surface is tested against a real server without depending on
the real (auto-pipelined) client.  Also here: the four client
configurations every test runs under, redis-py counterparts for
cross-checking, per-test key names that are cleaned up, and a strict
comparison of results (types included).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from greenpool.errors import ReplyError
from greenpool.protocol.resp import NEED_DATA, RespParser, encode_command
from greenpool.redis import _execute
from greenpool.redis._route import BLOCKING, REFUSE, refusal, resolve, route_or_unseen
from greenpool.redis.commands import Commands
from greenpool.redis.exceptions import DataError
from greenpool.testing import RedisServer

CONFIGS = [(2, False), (2, True), (3, False), (3, True)]
"""(protocol, decode_responses) pairs every test is run with."""

CONFIG_IDS = ["resp2-bytes", "resp2-str", "resp3-bytes", "resp3-str"]

KNOWN_OPTIONS = {"_parse", "never_decode", "_block_timeout"}
# Options for executors of several servers (a Sentinel's, a cluster's), which
# the sentinel and cluster groups pass as redis-py's do; one server ignores them.
KNOWN_OPTIONS |= {"once", "return_responses", "target_nodes"}


class SocketRedis(Commands):
    """The command groups over one blocking socket: the reference executor.

    Like the real client, routes by the command table (a refused command
    raises the client's error; a blocking one gets its blocking time plus a
    margin), finishes replies with :mod:`greenpool.redis._execute` (error
    replies raise the ResponseError family, ``_parse`` applies) and honours
    ``never_decode``.  Records every command sent (``sent``) and every
    blocking one with its blocking time (``blocking``), so tests can check
    what went where.  Refuses options it does not know, so the groups cannot
    start relying on one unnoticed (the tests pass none through a method's
    ``**kwargs``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        protocol: int = 2,
        decode_responses: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.protocol = protocol
        self.decode_responses = decode_responses
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sent: list[tuple[Any, ...]] = []
        self.blocking: list[tuple[tuple[Any, ...], float | None]] = []
        if protocol == 3:
            hello = self._roundtrip(("HELLO", 3), never_decode=True)
            assert hello[b"proto"] == 3

    def _roundtrip(self, args: Any, never_decode: bool = False) -> Any:
        encoding = "utf-8" if self.decode_responses and not never_decode else None
        parser = RespParser(self.protocol, encoding=encoding)
        self.sock.sendall(encode_command(*args))
        self.sent.append(args)
        while (reply := parser.gets()) is NEED_DATA:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("redis-server closed the connection")
            parser.feed(data)
        # One command in flight, so nothing may follow its reply.
        assert parser.buffered == 0, "bytes after the reply"
        return reply

    def execute_command(self, *args: Any, **options: Any) -> Any:
        unknown = set(options) - KNOWN_OPTIONS
        assert not unknown, f"unexpected options {unknown}"
        route, command = resolve(route_or_unseen(args[0]) if args else None, args)
        if route is not None and route.kind == REFUSE:
            raise refusal(route, "a shared connection")
        if route is not None and route.kind == BLOCKING:
            return self._blocking(command, options)
        reply = self._roundtrip(command, never_decode=bool(options.get("never_decode")))
        return _execute.result(reply, options)

    def _blocking(self, args: Any, options: dict[str, Any]) -> Any:
        timeout = options.get("_block_timeout")
        assert set(options) <= {"_parse", "_block_timeout"}, f"unexpected options {options}"
        assert timeout is None or timeout > 0
        self.blocking.append((tuple(args), timeout))
        self.sock.settimeout(self.timeout if timeout is None else timeout + self.timeout)
        try:
            reply = self._roundtrip(args)
        finally:
            self.sock.settimeout(self.timeout)
        return _execute.result(reply, options)

    def raw(self, *args: Any) -> Any:
        """Send a command outside the command groups; the raw reply (an error reply raised)."""
        reply = self._roundtrip(args)
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def close(self) -> None:
        self.sock.close()


def resp3_query(sock: socket.socket, *args: Any) -> Any:
    """One command over a plain socket that has sent ``HELLO 3``; its reply, strings decoded."""
    parser = RespParser(3, encoding="utf-8")
    sock.sendall(encode_command(*args))
    while (reply := parser.gets()) is NEED_DATA:
        data = sock.recv(1 << 20)
        if not data:
            raise ConnectionError("redis-server closed the connection")
        parser.feed(data)
    return reply


def open_client(server: RedisServer, config: tuple[int, bool]) -> Iterator[SocketRedis]:
    """A SocketRedis on ``server`` for a ``(protocol, decode_responses)`` config."""
    client = SocketRedis(server.host, server.port, *config)
    try:
        yield client
    finally:
        client.close()


def open_redis_py(server: RedisServer, config: tuple[int, bool]) -> Iterator[redis.Redis]:
    """redis-py on ``server``: RESP2, or its default RESP3 connection (redis-py 8).

    On RESP3, redis-py 8 by default keeps the reply shapes it gives on RESP2
    ("legacy responses"); the mixin gives those shapes on both protocols.
    (An explicit ``protocol=3`` switches redis-py to RESP3-native shapes,
    such as ``[[member, score]]`` for ZRANGE WITHSCORES.)
    """
    protocol, decode = config
    client = redis.Redis(
        host=server.host,
        port=server.port,
        protocol=2 if protocol == 2 else None,
        decode_responses=decode,
    )
    info = client.execute_command("CLIENT", "INFO")
    assert f"resp={protocol}" in (info if isinstance(info, str) else info.decode())
    try:
        yield client
    finally:
        client.close()


class Keys:
    """Key names unique to one test: ``k("a")`` -> ``"gp-cmd:<test>:<random>:a"``.

    ``cleanup()`` deletes every key with the prefix.
    """

    def __init__(self, client: SocketRedis, request: pytest.FixtureRequest) -> None:
        self.client = client
        # No glob characters (the test id has brackets): prefix + "*" is a pattern.
        name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)
        self.prefix = f"gp-cmd:{name}:{uuid.uuid4().hex[:8]}:"

    def __call__(self, name: str) -> str:
        return self.prefix + name

    def cleanup(self) -> None:
        cursor = b"0"
        while True:
            cursor, found = self.client.raw(
                "SCAN", cursor, "MATCH", self.prefix + "*", "COUNT", 500
            )
            if found:
                self.client.raw("DEL", *found)
            if int(cursor) == 0:
                return


def key_namer(client: SocketRedis, request: pytest.FixtureRequest) -> Iterator[Keys]:
    keys = Keys(client, request)
    try:
        yield keys
    finally:
        keys.cleanup()


def text(value: Any, client: Commands) -> Any:
    """``value`` (str, or a list/tuple/set/dict of them) as the client returns strings."""
    if isinstance(value, str):
        return value if client.decode_responses else value.encode()
    if isinstance(value, tuple):
        return tuple(text(item, client) for item in value)
    if isinstance(value, list):
        return [text(item, client) for item in value]
    if isinstance(value, set):
        return {text(item, client) for item in value}
    if isinstance(value, dict):
        return {text(k, client): text(v, client) for k, v in value.items()}
    return value


def t(client: Any, value: Any) -> Any:
    """:func:`text` with the client first (the tests' short spelling)."""
    return text(value, client)


def server_version(client: Any) -> tuple[int, ...]:
    """The server's version, as ints."""
    return tuple(int(part) for part in client.info("server")["redis_version"].split("."))


def sort(items: Any) -> list[Any]:
    """Replies in a fixed order (for commands whose order is random)."""
    return sorted(items, key=repr)


def assert_same(ours: Any, theirs: Any, where: str = "result") -> None:
    """Assert equal values of identical types, all the way down."""
    assert type(ours) is type(theirs), f"{where}: {ours!r} vs {theirs!r}"
    if isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), f"{where}: {ours!r} vs {theirs!r}"
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(ours, dict):
        assert list(ours) == list(theirs) or set(ours) == set(theirs), f"{where}: keys differ"
        for key in ours:
            assert_same(key, next(k for k in theirs if k == key), f"{where} key {key!r}")
            assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(ours, (set, frozenset)):
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"
        assert {type(x) for x in ours} == {type(x) for x in theirs}, where
    elif isinstance(ours, float) and ours != ours:
        assert theirs != theirs, f"{where}: {ours!r} vs {theirs!r}"
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


Scenario = Callable[[Any], list[Any]]


def redis_py_shaped(command: str, reply: Any, protocol: int) -> Any:
    """``reply`` shaped by redis-py's response callback for ``command`` ("CLUSTER NODES"),
    as redis-py configured like :func:`open_redis_py` shapes it (RESP2, or RESP3
    with its default legacy shapes); for canned replies of commands the test
    server can't run."""
    from redis._parsers.response_callbacks import get_response_callbacks

    callbacks = {
        name.upper(): callback
        for name, callback in get_response_callbacks(2 if protocol == 2 else None, True).items()
    }
    callback = callbacks.get(command.upper())
    return reply if callback is None else callback(reply)


class Canned(Commands):
    """An executor answering every command with one canned reply, shaped by ``_parse``
    (records what it was sent in ``sent``): reply shapes without a server."""

    protocol = 2
    decode_responses = False

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.sent: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args)
        parse = options.get("_parse")
        return self.reply if parse is None else parse(self.reply)


def assert_refused(r: SocketRedis, call: Callable[[SocketRedis], Any], argument: str,
                   value: Any) -> None:
    """``call(r)`` raises DataError naming ``argument`` (and ``value``, unless None),
    and sends nothing."""
    sent, blocking = len(r.sent), len(r.blocking)
    with pytest.raises(DataError) as caught:
        call(r)
    error = caught.value
    assert error.argument == argument
    assert str(error).startswith(f"{argument}=")
    if value is not None:
        assert error.value == value
        assert repr(value) in str(error)
    assert (len(r.sent), len(r.blocking)) == (sent, blocking), "something was sent"


SPIN_LUA = (
    "local start = redis.call('TIME')[1] "
    "while tonumber(redis.call('TIME')[1]) - tonumber(start) < 5 do end return 1"
)
"""A Lua body that keeps the server busy for 5 s (unless killed), writing nothing."""


@contextlib.contextmanager
def busy_server(r: SocketRedis, call: Callable[[SocketRedis], Any]) -> Iterator[list[Exception]]:
    """Run ``call`` (a script that spins) from another connection to ``r``'s server, in a
    thread; enter once the server answers BUSY (``r``'s server only: it lowers
    busy-reply-threshold).  On exit, wait for the call to end (at most 4 s: a killed
    script ends at once) and fill the list with the error it raised, if any."""
    r.raw("CONFIG", "SET", "busy-reply-threshold", 20)
    other = SocketRedis(*r.sock.getpeername()[:2])
    errors: list[Exception] = []

    def run() -> None:
        try:
            call(other)
        except ReplyError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    start = time.monotonic()
    thread.start()
    try:
        while True:
            try:
                r.ping()
            except ReplyError as exc:
                assert exc.kind == "BUSY"
                break
            assert time.monotonic() - start < 4, "the script never made the server busy"
            time.sleep(0.01)
        yield errors
        thread.join(10)
        assert time.monotonic() - start < 4, "the script was not stopped"
    finally:
        thread.join(10)
        other.close()
