"""decode_reply (for replies read without decoding) equals what a decoding parser gives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from greenpool.protocol.resp import NEED_DATA, RespParser, encode_command
from greenpool.redis._codec import decode_reply
from greenpool.testing import RedisServer

COMMANDS: list[tuple[Any, ...]] = [
    ("HGETALL", "t:codec-h"),
    ("SMEMBERS", "t:codec-s"),  # a RESP3 set
    ("ZRANGE", "t:codec-z", 0, -1, "WITHSCORES"),  # RESP3 doubles
    ("XRANGE", "t:codec-x", "-", "+"),
    ("CONFIG", "GET", "maxmemory*"),  # a RESP3 map
    ("INFO", "server"),  # a RESP3 verbatim string
    ("LPOS", "t:codec-l", "nope"),  # nil
    ("ECHO", "héllo"),
    ("SET", "t:codec-k", "v"),  # a simple string
    ("STRLEN", "t:codec-k"),
    ("LPUSH", "t:codec-h", "x"),  # an error reply (WRONGTYPE)
    ("HELLO",),
]


def _replies(host: str, port: int, protocol: int, encoding: str | None) -> list[Any]:
    with socket.create_connection((host, port), timeout=10) as sock:
        out = []
        for command in [("HELLO", protocol), *COMMANDS]:
            parser = RespParser(protocol, encoding=encoding)
            sock.sendall(encode_command(*command))
            while (reply := parser.gets()) is NEED_DATA:
                parser.feed(sock.recv(1 << 16))
            out.append(reply)
        return out[1:]


@pytest.fixture(scope="module")
def server(redis_server: RedisServer) -> Iterator[RedisServer]:
    with socket.create_connection((redis_server.host, redis_server.port), timeout=10) as sock:
        for command in [
            ("DEL", "t:codec-h", "t:codec-s", "t:codec-z", "t:codec-x", "t:codec-l", "t:codec-n"),
            ("HSET", "t:codec-h", "f", "v", "ü", "ß"),
            ("SADD", "t:codec-s", "a", "b"),
            ("ZADD", "t:codec-z", 1.5, "m", 2, "n"),
            ("XADD", "t:codec-x", "1-0", "f", "v"),
            ("RPUSH", "t:codec-l", "a"),
        ]:
            sock.sendall(encode_command(*command))
            sock.recv(1 << 16)
    yield redis_server


@pytest.mark.parametrize("protocol", [2, 3])
def test_decode_reply_matches_a_decoding_parser(server: RedisServer, protocol: int) -> None:
    raw = _replies(server.host, server.port, protocol, None)
    decoded = _replies(server.host, server.port, protocol, "utf-8")
    for command, mine, theirs in zip(COMMANDS, raw, decoded, strict=True):
        if command[0] == "INFO":  # uptime and the like move between the two calls
            mine, theirs = decode_reply(mine, "utf-8")[:40], theirs[:40]
            assert mine == theirs
            continue
        if command[0] == "HELLO":  # the connection id differs
            assert _without_id(decode_reply(mine, "utf-8")) == _without_id(theirs)
            continue
        assert decode_reply(mine, "utf-8") == theirs, command


def _without_id(hello: Any) -> dict[Any, Any]:
    if isinstance(hello, dict):
        pairs = dict(hello)
    else:
        pairs = dict(zip(hello[::2], hello[1::2], strict=True))
    pairs.pop("id")
    return pairs


def test_decode_reply_raises_like_the_parser() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_reply([b"ok", b"\xff"], "utf-8")
    assert decode_reply([b"\xff"], "utf-8", "replace") == ["\ufffd"]
