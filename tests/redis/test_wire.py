"""The recording harness of wire.py works: same command on both sides, differences shown."""

from __future__ import annotations

from typing import Any

import pytest
import wire
from wire import assert_sends_same, sent


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("get", ("k",), {}),
        ("set", ("k", "v"), {"ex": 10}),
        ("config_get", ("maxmemory",), {}),
        ("zadd", ("z", {"a": 1.5}), {}),
        ("hset", ("h",), {"mapping": {"a": 1, "b": 2}}),
    ],
)
def test_methods_send_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                          kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


def test_a_difference_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sent("get", "k") == ([[b"GET", b"k"]], [[b"GET", b"k"]])
    monkeypatch.setattr(wire._Recording, "get",
                        lambda self, name: self.execute_command("GET", "other"))
    with pytest.raises(AssertionError, match="greenpool sends"):
        assert_sends_same("get", "k")
