"""The hyperloglog group against a real redis-server, and against redis-py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Keys, SocketRedis
from wire import assert_sends_same

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_pfadd_pfcount_pfmerge(r: SocketRedis, k: Keys) -> None:
    assert r.pfadd(k("a"), "x", "y", "z") == 1
    assert r.pfadd(k("a"), "x") == 0
    assert r.pfcount(k("a")) == 3
    assert r.pfadd(k("b"), *[f"v{i}" for i in range(100)]) == 1
    assert r.pfcount(k("a"), k("b")) in range(100, 106)  # an estimate
    assert r.pfmerge(k("d"), k("a"), k("b")) is True
    assert r.pfcount(k("d")) == r.pfcount(k("a"), k("b"))
    assert r.pfcount(k("missing")) == 0


def hyperloglog_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["pfadd"] = c.pfadd(k("a"), "x", "y", 3, 4.5)
    out["pfadd same"] = c.pfadd(k("a"), "x")
    out["pfadd none"] = c.pfadd(k("e"))
    out["pfcount"] = c.pfcount(k("a"))
    c.pfadd(k("b"), "y", "q")
    out["pfcount union"] = c.pfcount(k("a"), k("b"))
    out["pfmerge"] = c.pfmerge(k("d"), k("a"), k("b"))
    out["pfmerge dest only"] = c.pfmerge(k("d"))
    out["pfcount merged"] = c.pfcount(k("d"))
    return out


def test_hyperloglog_matches_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(hyperloglog_scenario)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("pfadd", ("p", "a", b"b", 3)),
        ("pfadd", ("p",)),
        ("pfcount", ("p",)),
        ("pfcount", ("p", "q")),
        ("pfmerge", ("d", "p", "q")),
    ],
)
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...]) -> None:
    assert_sends_same(method, *args)
