"""greenpool.address: every spelling of a server, and ConfigurationError for the rest."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from greenpool import ConfigurationError
from greenpool.address import Address, parse_address, parse_server_list


@pytest.mark.parametrize(
    ("value", "default_port", "expected", "text"),
    [
        ("127.0.0.1:6379", None, Address(host="127.0.0.1", port=6379), "127.0.0.1:6379"),
        (" db.example:1 ", None, Address(host="db.example", port=1), "db.example:1"),
        ("db.example", 6379, Address(host="db.example", port=6379), "db.example:6379"),
        ("[::1]:6379", None, Address(host="::1", port=6379), "[::1]:6379"),
        ("[::1]", 5432, Address(host="::1", port=5432), "[::1]:5432"),
        ("::1", 3301, Address(host="::1", port=3301), "[::1]:3301"),
        (("127.0.0.1", 65535), None, Address(host="127.0.0.1", port=65535), "127.0.0.1:65535"),
        (("[::1]", "6379"), None, Address(host="::1", port=6379), "[::1]:6379"),
        ("/run/redis.sock", None, Address(path="/run/redis.sock"), "unix:/run/redis.sock"),
        ("./redis.sock", None, Address(path="./redis.sock"), "unix:./redis.sock"),
        ("unix:/run/r.sock", None, Address(path="/run/r.sock"), "unix:/run/r.sock"),
        ("unix:///run/r.sock", None, Address(path="/run/r.sock"), "unix:/run/r.sock"),
    ],
)
def test_spellings(value: Any, default_port: int | None, expected: Address, text: str) -> None:
    address = parse_address(value, default_port=default_port)
    assert address == expected
    assert str(address) == text
    assert parse_address(address) is address


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("db.example", "missing ':port'"),
        ("db.example:0", "between 1 and 65535"),
        ("db.example:65536", "between 1 and 65535"),
        ("db.example:http", "must be an integer"),
        ("::1", "'[addr]:port'"),
        ("[::1", "unclosed"),
        ("[]:1", "empty host"),
        ("[::1]6379", "':port'"),
        ("unix://relative.sock", "absolute"),
        ("a b:1", "bad host name"),
        ("app@db.example:1", "bad host name"),  # a URI's user info, not a host
        (("app:pw@db.example", 1), "bad host name"),
        (("db.example", True), "between 1 and 65535"),
        (("db.example",), "(host, port)"),
        (("", 1), "(host, port)"),
        (6379, "must be 'host:port'"),
        (None, "must be 'host:port'"),
    ],
)
def test_bad_spellings_name_the_argument(value: Any, reason: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_address(value, argument="servers")
    assert info.value.argument == "servers"
    assert reason in str(info.value)


def test_a_password_in_a_bad_address_is_not_shown() -> None:
    for value in ("app:s3cr3t@db.example:1", ("app:s3cr3t@db.example", 1)):
        with pytest.raises(ConfigurationError) as info:
            parse_address(value)
        assert "s3cr3t" not in str(info.value) and "db.example" in str(info.value)


def test_families_and_sockaddr() -> None:
    assert parse_address("127.0.0.1:1").family == socket.AF_INET
    assert parse_address("[::1]:1").family == socket.AF_INET6
    unix = parse_address("/tmp/s.sock")
    assert unix.family == socket.AF_UNIX and unix.is_unix and unix.sockaddr == "/tmp/s.sock"
    assert parse_address("h:2").sockaddr == ("h", 2)


def test_server_lists() -> None:
    assert parse_server_list("h:1") == [Address(host="h", port=1)]
    assert parse_server_list(["h:1", ("g", 2)]) == [Address(host="h", port=1),
                                                    Address(host="g", port=2)]
    assert parse_server_list(lambda: ["h:1"]) == [Address(host="h", port=1)]
    assert parse_server_list(["h"], default_port=5) == [Address(host="h", port=5)]
    for bad in ([], 12, ["h:1", "nope"]):
        with pytest.raises(ConfigurationError) as info:
            parse_server_list(bad)
        assert info.value.argument == "servers"

    def broken() -> list[str]:
        raise RuntimeError("no list today")

    with pytest.raises(ConfigurationError, match="no list today"):
        parse_server_list(broken)
