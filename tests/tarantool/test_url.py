"""tarantool:// URLs: parse_url, Connection.from_url and ConnectionPool.from_url."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from greenpool import ConfigurationError
from greenpool.tarantool import Connection, ConnectionPool, Mode, NetworkError
from greenpool.tarantool.url import parse_url
from greenpool.testing import TarantoolServer

PASSWORD = "p@ss:w/rd%?"
QUOTED = "p%40ss%3Aw%2Frd%25%3F"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tarantool://127.0.0.1", {"addrs": [{"host": "127.0.0.1", "port": 3301}]}),
        ("tarantool://db.example:3302/", {"addrs": [{"host": "db.example", "port": 3302}]}),
        ("tarantool://[::1]:3303", {"addrs": [{"host": "::1", "port": 3303}]}),
        (f"tarantool://bob:{QUOTED}@h1:1,h2,[::1]:3",
         {"user": "bob", "password": PASSWORD,
          "addrs": [{"host": "h1", "port": 1}, {"host": "h2", "port": 3301},
                    {"host": "::1", "port": 3}]}),
        ("tarantool://guest@h", {"user": "guest", "addrs": [{"host": "h", "port": 3301}]}),
        ("tarantool:///run/tarantool/app.sock",
         {"addrs": [{"host": None, "port": "/run/tarantool/app.sock"}]}),
        ("tarantool://h?socket_timeout=2.5&reconnect_max_attempts=3&fetch_schema=no"
         "&refresh_delay=0.5&connections_per_instance=2&name=sessions",
         {"addrs": [{"host": "h", "port": 3301}], "socket_timeout": 2.5,
          "reconnect_max_attempts": 3, "fetch_schema": False, "refresh_delay": 0.5,
          "connections_per_instance": 2, "name": "sessions"}),
        ("tarantool://h1,h2?transport=ssl&ssl_ca_file=/ca.pem&ssl_verify=true",
         {"addrs": [{"host": h, "port": 3301, "transport": "ssl", "ssl_ca_file": "/ca.pem",
                     "ssl_verify": True} for h in ("h1", "h2")]}),
    ],
)
def test_parse_url(url: str, expected: dict[str, Any]) -> None:
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    ("url", "argument", "why"),
    [
        ("redis://u:secret-pw@h", "url", "must start with tarantool://"),
        ("tarantool://u:secret-pw@", "url", "give host"),
        ("tarantool://u:secret-pw@h/db", "url", "give host"),
        ("tarantool://:secret-pw@h", "url", "needs a user name"),
        ("tarantool://u:secret-pw@h:99999", "url", "port"),
        ("tarantool://u:secret-pw@h?timeout=1", "url", "unknown option 'timeout'"),
        ("tarantool://u:secret-pw@h?deadline=soon", "deadline", "bad value"),
        ("tarantool://u:secret-pw@h?fetch_schema=maybe", "fetch_schema", "bad value"),
        ("tarantool://u:secret-pw@h#frag", "url", "fragment"),
    ],
)
def test_bad_urls_name_the_argument_and_never_the_password(url: str, argument: str,
                                                          why: str) -> None:
    with pytest.raises(ConfigurationError, match=argument) as info:
        parse_url(url)
    assert why in str(info.value)
    assert "secret-pw" not in str(info.value)


@pytest.fixture(scope="module")
def secured() -> Iterator[TarantoolServer]:
    server = TarantoolServer(user="bob", password=PASSWORD, guest_access=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_connection_from_url_logs_in_with_a_quoted_password(secured: TarantoolServer) -> None:
    conn = Connection.from_url(
        f"tarantool://bob:{QUOTED}@127.0.0.1:{secured.port}?socket_timeout=5&name=bob-conn",
        reconnect_max_attempts=0,
    )
    try:
        assert conn.eval("return box.session.user()").data == ["bob"]
        assert conn.name == "bob-conn" and conn.socket_timeout == 5.0
        assert PASSWORD not in repr(conn)
    finally:
        conn.close()


def test_a_refused_login_from_a_url_never_shows_the_password(secured: TarantoolServer) -> None:
    with pytest.raises(NetworkError) as info:
        Connection.from_url(f"tarantool://bob:wrong-secret@127.0.0.1:{secured.port}")
    assert "wrong-secret" not in str(info.value) and "bob" in str(info.value)


@pytest.mark.parametrize(("query", "why"), [("", "several hosts"),
                                            ("?refresh_delay=1", "pool's option")])
def test_connection_from_url_refuses_a_pool_url(query: str, why: str) -> None:
    hosts = "a:1,b:2" if not query else "a:1"
    with pytest.raises(ConfigurationError, match=why) as info:
        Connection.from_url(f"tarantool://u:secret-pw@{hosts}{query}", connect_now=False)
    assert "secret-pw" not in str(info.value)


def test_pool_from_url_with_two_spellings_of_one_host(tarantool_server: TarantoolServer) -> None:
    port = tarantool_server.port
    pool = ConnectionPool.from_url(
        f"tarantool://127.0.0.1:{port},localhost:{port}?refresh_delay=0.5&health_timeout=2",
        name="from-url",
    )
    try:
        assert pool.name == "from-url" and pool.refresh_delay == 0.5
        assert pool.health_timeout == 2.0
        assert [str(u.endpoint) for u in pool.units] == [f"127.0.0.1:{port}",
                                                         f"localhost:{port}"]
        assert pool.eval("return 6 * 7", mode=Mode.ANY).data == [42]
        assert pool.stats()["instances_healthy"] == 2
    finally:
        pool.close()
