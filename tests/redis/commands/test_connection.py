"""The connection group (PING, ECHO, CLIENT ...) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Canned, Keys, SocketRedis, assert_refused, t
from wire import assert_sends_same, case

from greenpool.errors import ConfigurationError

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_ping_echo(r: SocketRedis) -> None:
    assert r.ping() is True
    assert r.echo("héllo") == t(r, "héllo")
    assert r.echo(42) == t(r, "42")

def test_client_name_and_id(r: SocketRedis) -> None:
    assert r.client_getname() is None
    assert r.client_setname("gp-cmd-name") is True
    assert r.client_getname() == "gp-cmd-name"
    client_id = r.client_id()
    assert type(client_id) is int and client_id == r.raw("CLIENT", "ID")


def test_client_info_and_list_describe_this_connection(r: SocketRedis) -> None:
    info = r.client_info()
    assert type(info["id"]) is int and info["id"] == r.client_id()
    assert type(info["addr"]) is str and type(info["db"]) is int
    listed = r.client_list(client_id=[info["id"]])
    assert len(listed) == 1 and listed[0]["id"] == str(info["id"])
    assert listed[0]["addr"] == info["addr"]
    assert any(c["id"] == str(info["id"]) for c in r.client_list(_type="normal"))
    assert r.client_list(_type="pubsub") == [] or all(
        c["id"] != str(info["id"]) for c in r.client_list(_type="pubsub"))


def test_client_list_splits_values_with_spaces() -> None:
    from greenpool.redis.commands.connection import _client_list

    text = "id=3 addr=/tmp/redis sock/r.sock:0 laddr=/tmp/redis sock/r.sock:0 name=\n"
    assert _client_list(text) == [
        {"id": "3", "addr": "/tmp/redis sock/r.sock:0", "laddr": "/tmp/redis sock/r.sock:0",
         "name": ""}
    ]


def test_client_kill_unblock_pause(r: SocketRedis) -> None:
    assert r.client_kill_filter(_id="999999999") == 0
    assert r.client_kill_filter(_type="pubsub", skipme=True, addr="127.0.0.1:1") == 0
    assert r.client_unblock(999999999) is False
    assert r.client_unblock(999999999, error=True) is False
    assert r.client_pause(1) is True
    assert r.client_pause(1, all=False) is True
    assert r.client_unpause() == t(r, "OK")
    assert r.sent[-2] == ("CLIENT", "PAUSE", 1, "WRITE")


def test_client_kill_by_address_closes_that_connection(r: SocketRedis) -> None:
    host, port = r.sock.getpeername()[:2]
    victim = SocketRedis(host, port)
    try:
        assert r.client_kill(victim.client_info()["addr"]) is True
        assert victim.sock.recv(1) == b""  # the server closed it
    finally:
        victim.close()


def test_tracking_info_and_redirect(r: SocketRedis) -> None:
    assert r.client_trackinginfo() == ["flags", [t(r, "off")], "redirect", -1, "prefixes", []]
    assert r.client_getredir() == -1


def test_connection_argument_checks_send_nothing(r: SocketRedis) -> None:
    assert_refused(r, lambda c: c.client_kill_filter(), "_id", None)
    assert_refused(r, lambda c: c.client_kill_filter(_type="nobody"), "_type", "nobody")
    assert_refused(r, lambda c: c.client_kill_filter(skipme="yes"), "skipme", "yes")  # type: ignore[arg-type]
    assert_refused(r, lambda c: c.client_list(_type="slave"), "_type", "slave")
    assert_refused(r, lambda c: c.client_list(client_id=5), "client_id", 5)  # type: ignore[arg-type]
    assert_refused(r, lambda c: c.client_pause(1.5), "timeout", 1.5)  # type: ignore[arg-type]
    assert_refused(r, lambda c: c.client_reply("on"), "reply", "on")  # type: ignore[arg-type]
    assert_refused(r, lambda c: c.client_tracking(prefix=["a"]), "prefix", ["a"])


def test_state_changing_connection_commands_are_refused(r: SocketRedis) -> None:
    for call in (lambda c: c.client_reply("OFF"), lambda c: c.client_tracking_on(),
                 lambda c: c.client_tracking_off(), lambda c: c.auth("x"),
                 lambda c: c.quit(), lambda c: c.reset()):
        with pytest.raises(ConfigurationError):
            call(r)
    with pytest.raises(NotImplementedError):
        r.hello()


def test_what_the_refused_methods_would_send() -> None:
    sent = Canned(b"OK")
    sent.client_tracking(True, 7, ["a:", "b:"], bcast=True, optin=True, optout=True, noloop=True)
    assert sent.sent[-1] == ("CLIENT", "TRACKING", "ON", "REDIRECT", 7, "PREFIX", "a:", "PREFIX",
                             "b:", "BCAST", "OPTIN", "OPTOUT", "NOLOOP")
    sent.client_tracking_off()
    assert sent.sent[-1] == ("CLIENT", "TRACKING", "OFF")
    assert sent.client_reply("SKIP") == b"OK" and sent.sent[-1] == ("CLIENT", "REPLY", "SKIP")
    assert sent.auth("pw", "user") is True and sent.sent[-1] == ("AUTH", "user", "pw")
    assert sent.auth("pw") is True and sent.sent[-1] == ("AUTH", "pw")
    assert sent.quit() is True and sent.sent[-1] == ("QUIT",)
    assert sent.client_setinfo("lib-name", "x") is True
    kill = Canned(1)
    assert kill.client_kill_filter(_id="1", _type="normal", addr="a:1", skipme=False,
                                   laddr="b:2", user="u", maxage=5) == 1  # type: ignore[arg-type]
    assert kill.sent[-1] == ("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "NO", "ID", "1",
                             "ADDR", "a:1", "LADDR", "b:2", "USER", "u", "MAXAGE", 5)
    assert sent.client_no_touch("ON") == b"OK"
    assert Canned(b"RESET").reset() == "RESET"


def test_client_no_evict(r: SocketRedis) -> None:
    assert r.client_no_evict("ON") == t(r, "OK")
    assert "e" in r.client_info()["flags"]
    assert r.client_no_evict("OFF") == t(r, "OK")


def connection_scenario(c: Any, k: Keys) -> Results:
    info = c.client_info()
    listed = c.client_list(client_id=[info["id"]])
    out: Results = {
        "ping": c.ping(),
        "echo": c.echo("x"),
        "info_types": {name: type(value).__name__ for name, value in info.items()},
        "list_keys": [sorted(entry) for entry in listed],
        "list_types": [{n: type(v).__name__ for n, v in entry.items()} for entry in listed],
        "tracking": c.client_trackinginfo(),
        "getredir": c.client_getredir(),
        "unblock": c.client_unblock(999999999),
        "kill_filter": c.client_kill_filter(_id="999999999"),
        "pause": c.client_pause(1),
        "unpause": c.client_unpause(),
        "no_evict": c.client_no_evict("OFF"),
    }
    try:
        c.client_kill("127.0.0.1:1")
    except Exception as exc:
        out["kill_unknown"] = type(exc).__name__
    return out


def test_connection_scenario_matches_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(connection_scenario)


@pytest.mark.parametrize(("method", "args", "kwargs"), [
    case("auth", "pw"),
    case("auth", "pw", "user"),
    case("quit"),
    case("reset"),
    case("client_info"),
    case("client_list"),
    case("client_list", "normal", [1, 2]),
    case("client_kill", "1.2.3.4:5"),
    case("client_kill_filter", _id="7", _type="pubsub", addr="a:1", skipme=True, laddr="b:2",
         user="u", maxage=9),
    case("client_kill_filter", skipme=False),
    case("client_pause", 100),
    case("client_pause", 100, all=False),
    case("client_unpause"),
    case("client_unblock", 5),
    case("client_unblock", "5", error=True),
    case("client_no_evict", "ON"),
    case("client_no_touch", "OFF"),
    case("client_reply", "SKIP"),
    case("client_setinfo", "lib-name", "x"),
    case("client_tracking"),
    case("client_tracking", False, 3, ["a", "b"], True, True, True, True),
    case("client_tracking_on", clientid=4, optin=True),
    case("client_tracking_off", noloop=True),
    case("client_trackinginfo"),
    case("client_getredir"),
])
def test_connection_methods_send_what_redis_py_sends(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_sends_same(method, *args, reply=b"OK", **kwargs)
