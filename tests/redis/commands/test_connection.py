"""The connection group (PING, ECHO, CLIENT ...) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commands_executor import Keys, SocketRedis, t

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
