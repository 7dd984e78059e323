"""The acl group (ACL SETUSER, GETUSER, LOG, LOAD, SAVE ...) on a redis-server of its own.

Users are the server's, and ACL LOAD and SAVE need an ``aclfile``, so these
run on a private server started with one, under the four client
configurations through the reference executor; the scenario at the end is
compared with redis-py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from commands_executor import (
    Keys,
    SocketRedis,
    open_client,
    open_redis_py,
    t,
)
from wire import assert_sends_same

from greenpool.protocol.resp import encode_command
from greenpool.redis.commands import DataError
from greenpool.redis.exceptions import ResponseError
from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


@pytest.fixture(scope="module")
def acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    aclfile = tmp_path_factory.mktemp("acl") / "users.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\n")
    with RedisServer(extra_args=["--aclfile", str(aclfile)]) as server:
        yield server


@pytest.fixture
def r(config: tuple[int, bool], acl_server: RedisServer) -> Iterator[SocketRedis]:
    yield from open_client(acl_server, config)


@pytest.fixture
def theirs(config: tuple[int, bool], acl_server: RedisServer) -> Iterator[redis.Redis]:
    yield from open_redis_py(acl_server, config)


def _fail_auth(server: RedisServer, user: str) -> None:
    """A login with a wrong password, from a connection of its own (an ACL LOG entry)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(encode_command("AUTH", user, "wrong"))
        assert sock.recv(1024).startswith(b"-WRONGPASS")


# ============================================================================
# What is sent


SETUSER_CASES: list[dict[str, Any]] = [
    {},
    {"enabled": True, "nopass": True},
    {"reset": True, "reset_keys": True, "reset_channels": True, "reset_passwords": True},
    {"passwords": "+secret"},
    {"passwords": ["+one", "-two", b"+three"]},
    {"hashed_passwords": ["+" + "a" * 64, "-" + "b" * 64]},
    {"hashed_passwords": "+" + "c" * 64, "passwords": ["+p"]},
    {"categories": ["+@string", "+hash", "-@dangerous", "-keyspace", b"+list"]},
    {"commands": ["+get", "-set", "+client|setname", b"+ping"]},
    {"keys": ["a*", "~b*", "%R~c*", "%W~d*", b"e*", 7]},
    {"channels": ["news.*", b"alerts"]},
    {"selectors": [("+get", "a*"), ("-set", "~b*"), (b"+@read", "%R~c*")]},
    {"enabled": True, "passwords": ["+pw"], "categories": ["+@all"], "commands": ["-flushall"],
     "keys": ["*"], "channels": ["*"], "selectors": [("+set", "x*")], "reset": True},
]


@pytest.mark.parametrize("kwargs", SETUSER_CASES)
def test_acl_setuser_sends_what_redis_py_sends(kwargs: dict[str, Any]) -> None:
    assert_sends_same("acl_setuser", "gp-user", **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("acl_cat", (), {}),
        ("acl_cat", ("string",), {}),
        ("acl_cat", ("",), {}),
        ("acl_deluser", ("a", "b"), {}),
        ("acl_dryrun", ("u", "set", "k", 1), {}),
        ("acl_genpass", (), {}),
        ("acl_genpass", (0,), {}),
        ("acl_genpass", (4096,), {}),
        ("acl_getuser", ("u",), {}),
        ("acl_help", (), {}),
        ("acl_list", (), {}),
        ("acl_load", (), {}),
        ("acl_log", (), {}),
        ("acl_log", (3,), {}),
        ("acl_log_reset", (), {}),
        ("acl_save", (), {}),
        ("acl_users", (), {}),
        ("acl_whoami", (), {}),
    ],
)
def test_acl_methods_send_what_redis_py_sends(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_sends_same(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("acl_setuser", ("u",), {"nopass": True, "passwords": "+x"}),
        ("acl_setuser", ("u",), {"nopass": True, "hashed_passwords": ["+" + "a" * 64]}),
        ("acl_setuser", ("u",), {"passwords": ["no-sign-secret"]}),
        ("acl_setuser", ("u",), {"hashed_passwords": ["no-sign-secret"]}),
        ("acl_setuser", ("u",), {"passwords": [None]}),
        ("acl_setuser", ("u",), {"passwords": 12345}),
        ("acl_setuser", ("u",), {"categories": ["@all"]}),
        ("acl_setuser", ("u",), {"categories": "+@all"}),
        ("acl_setuser", ("u",), {"commands": ["get"]}),
        ("acl_setuser", ("u",), {"commands": "+get"}),
        ("acl_setuser", ("u",), {"keys": "abc"}),
        ("acl_setuser", ("u",), {"keys": [None]}),
        ("acl_setuser", ("u",), {"channels": "news"}),
        ("acl_setuser", ("u",), {"selectors": [("get", "a*")]}),
        ("acl_setuser", ("u",), {"selectors": ["+get"]}),
        ("acl_setuser", ("u",), {"selectors": [("+get",)]}),
        ("acl_genpass", (4097,), {}),
        ("acl_genpass", (-1,), {}),
        ("acl_genpass", ("64x",), {}),
        ("acl_log", ("3x",), {}),
        ("acl_log", (-1,), {}),
    ],
)
def test_bad_acl_arguments_raise_data_error_and_send_nothing(
    r: SocketRedis, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    before = len(r.sent)
    with pytest.raises(DataError) as info:
        getattr(r, method)(*args, **kwargs)
    assert len(r.sent) == before
    assert "secret" not in str(info.value)  # passwords never in messages


def test_redis_py_raises_data_error_for_the_same_mistakes() -> None:
    theirs = redis.Redis()
    for kwargs in ({"nopass": True, "passwords": "+x"}, {"passwords": ["nosign"]},
                   {"categories": ["@all"]}, {"commands": ["get"]},
                   {"selectors": [("get", "a*")]}):
        with pytest.raises(redis.DataError):
            theirs.acl_setuser("u", **kwargs)
    with pytest.raises(redis.DataError):
        theirs.acl_genpass(4097)
    with pytest.raises(redis.DataError):
        theirs.acl_log("3")


# ============================================================================
# Against the server


def test_setuser_getuser_deluser(r: SocketRedis) -> None:
    name = "gp-acl-user"
    try:
        assert r.acl_getuser(name) is None
        assert r.acl_setuser(
            name, enabled=True, passwords=["+pw1", "+pw2"], categories=["+string", "-@dangerous"],
            commands=["+ping", "-set"], keys=["a*", "%R~b*"], channels=["news.*"],
            selectors=[("+hget", "h*")],
        ) is True
        user = r.acl_getuser(name)
        assert user is not None
        assert user["enabled"] is True and "on" in user["flags"]
        assert len(user["passwords"]) == 2 and all(type(p) is str for p in user["passwords"])
        assert "+@string" in user["categories"]
        assert "+ping" in user["commands"] and "-set" in user["commands"]
        assert user["keys"] == ["~a*", "%R~b*"]
        assert user["channels"] == ["&news.*"]
        [selector] = user["selectors"]
        assert type(selector) is list and "~h*" in selector
        assert r.acl_setuser(name, passwords="-pw1", reset_keys=True, keys=["z"]) is True
        user = r.acl_getuser(name)
        assert user is not None
        assert len(user["passwords"]) == 1 and user["keys"] == ["~z"]
        assert user["enabled"] is False  # enabled=False sends "off", as in redis-py
        assert r.acl_dryrun(name, "ping") == t(r, "OK")
        assert r.acl_dryrun(name, "set", "z", "1") != t(r, "OK")
        assert name in r.acl_users() and all(type(u) is str for u in r.acl_users())
        assert any(rule.startswith(f"user {name} ") for rule in r.acl_list())
    finally:
        assert r.acl_deluser(name, "gp-no-such-user") == 1


def test_whoami_cat_genpass_help(r: SocketRedis) -> None:
    assert r.acl_whoami() == "default"
    categories = r.acl_cat()
    assert "string" in categories and all(type(c) is str for c in categories)
    assert "get" in r.acl_cat("string")
    password = r.acl_genpass()
    assert type(password) is str and len(password) == 64
    assert len(r.acl_genpass(32)) == 8
    assert all(type(line) is str for line in r.acl_help())
    with pytest.raises(ResponseError):
        r.acl_cat("no-such-category")


def test_log_load_save(r: SocketRedis, acl_server: RedisServer) -> None:
    assert r.acl_log_reset() is True
    assert r.acl_log() == []
    r.acl_setuser("gp-log-user", enabled=True, passwords="+right")
    try:
        _fail_auth(acl_server, "gp-log-user")
        _fail_auth(acl_server, "gp-log-user")
        [entry] = r.acl_log()
        assert entry["count"] == 2 and entry["reason"] == "auth"
        assert entry["username"] == "gp-log-user"
        assert type(entry["age-seconds"]) is float
        assert type(entry["client-info"]["id"]) is int
        assert r.acl_log(count=0) == [] or len(r.acl_log(count=1)) == 1
        assert r.acl_save() is True
        r.acl_deluser("gp-log-user")
        assert r.acl_load() is True  # back from the file
        assert r.acl_getuser("gp-log-user") is not None
    finally:
        r.acl_deluser("gp-log-user")
        r.acl_save()
        r.acl_log_reset()


def acl_scenario(server: RedisServer) -> Callable[[Any, Keys], Results]:
    def scenario(c: Any, k: Keys) -> Results:
        name = "gp-acl-cross"
        out: Results = {}
        out["acl_log_reset"] = c.acl_log_reset()
        out["acl_getuser none"] = c.acl_getuser(name)
        out["acl_setuser"] = c.acl_setuser(
            name, enabled=True, passwords=["+pw"], hashed_passwords=["+" + "ab" * 32],
            categories=["+@string", "-dangerous"], commands=["+ping", "-get"],
            keys=["a*", "%R~b*"], channels=["n*"], selectors=[("+hget", "h*"), ("-@all", "z")],
        )
        out["acl_getuser"] = c.acl_getuser(name)
        out["acl_getuser default"] = c.acl_getuser("default")
        out["acl_setuser nopass"] = c.acl_setuser(name, nopass=True, reset_passwords=True)
        out["acl_getuser nopass"] = c.acl_getuser(name)
        out["acl_list"] = c.acl_list()
        out["acl_users"] = c.acl_users()
        out["acl_whoami"] = c.acl_whoami()
        out["acl_cat"] = sorted(c.acl_cat())
        out["acl_cat string"] = sorted(c.acl_cat("hyperloglog"))
        out["acl_genpass"] = [type(c.acl_genpass()), len(c.acl_genpass(8))]
        out["acl_help type"] = [type(line) for line in c.acl_help()]
        out["acl_dryrun ok"] = c.acl_dryrun(name, "ping")
        out["acl_dryrun denied"] = c.acl_dryrun(name, "get", "a1")
        c.acl_setuser(name, enabled=True, passwords=["+right"], reset_passwords=True)
        _fail_auth(server, name)
        entries = c.acl_log()
        out["acl_log"] = [
            {field: value for field, value in entry.items() if field != "age-seconds"}
            for entry in entries
        ]
        for entry in out["acl_log"]:
            entry["client-info"] = {
                field: type(value) for field, value in entry["client-info"].items()
            }
        out["acl_log count"] = len(c.acl_log(1))
        out["acl_save"] = c.acl_save()
        out["acl_load"] = c.acl_load()
        out["acl_deluser"] = c.acl_deluser(name)
        out["acl_save again"] = c.acl_save()
        out["acl_log_reset again"] = c.acl_log_reset()
        return out

    return scenario


def test_acl_match_redis_py(crosscheck: Crosscheck, acl_server: RedisServer) -> None:
    crosscheck(acl_scenario(acl_server))

