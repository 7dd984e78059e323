"""No reply reaches the wrong caller, whatever the command: routing from the command table.

A command that would change a shared connection's state is refused, by
command *and* subcommand (``CLIENT REPLY SKIP`` used to go through, and its
caller received another greenlet's reply).  The property test sends random
commands drawn from the server's own command list, with plausible arguments
built from COMMAND DOCS, on the shared connections next to tagged ECHOs from
other greenlets: no ECHO may ever get a reply that is not its own.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from commands_executor import resp3_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpool import ConfigurationError
from greenpool.errors import GreenpoolError
from greenpool.redis import Redis
from greenpool.redis._route import BLOCKING, REFUSE, resolve, route_or_unseen
from greenpool.testing import RedisServer


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    """A server of this module's own: the random commands may flush or reconfigure it."""
    with RedisServer() as private:
        yield private


@pytest.fixture
def r(server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=server.host, port=server.port, socket_timeout=5)
    yield client
    client.close()


def _echo_storm(client: Redis, count: int, tag: str) -> list[str]:
    """``count`` greenlets each ECHO their own tag; the replies that were not theirs."""
    wrong: list[str] = []

    def one(i: int) -> None:
        mine = f"{tag}-{i}"
        try:
            reply = client.echo(mine)
        except GreenpoolError:
            return  # an error is not a wrong reply
        if reply != mine.encode():
            wrong.append(f"{mine} got {reply!r}")

    gevent.joinall([gevent.spawn(one, i) for i in range(count)], timeout=10)
    return wrong


@pytest.mark.parametrize(
    "command",
    [
        ("CLIENT", "REPLY", "SKIP"),
        ("CLIENT", "REPLY", "OFF"),
        ("client", "reply", "on"),
        (b"CLIENT", b"REPLY", b"SKIP"),
        ("CLIENT REPLY", "SKIP"),
        ("CLIENT", "TRACKING", "ON"),
        ("CLIENT", "CACHING", "YES"),
        ("SYNC",),
        ("PSYNC", "?", "-1"),
        ("READONLY",),
        ("READWRITE",),
        ("RESET",),
        ("QUIT",),
        ("MONITOR",),
        ("SUBSCRIBE", "c"),
        ("MULTI",),
        ("WATCH", "k"),
        ("SELECT", "1"),
        ("AUTH", "x"),
        ("HELLO", "3"),
        ("SCRIPT", "DEBUG", "YES"),
    ],
)
def test_state_changing_commands_are_refused_and_nobody_gets_a_wrong_reply(
    r: Redis, command: tuple[Any, ...]
) -> None:
    r.ping()
    outcome: list[BaseException] = []

    def culprit() -> None:
        try:
            r.execute_command(*command)
        except BaseException as exc:
            outcome.append(exc)

    glet = gevent.spawn(culprit)
    wrong = _echo_storm(r, 50, "around")
    glet.join(timeout=5)
    assert wrong == []
    assert len(outcome) == 1 and isinstance(outcome[0], ConfigurationError), outcome
    assert _echo_storm(r, 50, "after") == []


def test_the_refusal_names_the_command_and_what_to_use(r: Redis) -> None:
    with pytest.raises(ConfigurationError, match="CLIENT REPLY.*other callers"):
        r.execute_command("CLIENT", "REPLY", "SKIP")
    with pytest.raises(ConfigurationError, match="pipeline"):
        r.execute_command("multi")
    # The same command's harmless subcommands are not refused.
    assert isinstance(r.execute_command("CLIENT", "ID"), int)
    assert r.execute_command("CLIENT GETNAME") is None  # one string, as redis-py allows


def test_routes_come_from_the_table_by_subcommand_and_option() -> None:
    def settled(*args: Any) -> Any:
        route, _ = resolve(route_or_unseen(args[0]), args)
        return None if route is None else route.kind

    assert settled("GET", "k") is None
    assert settled("CONFIG", "GET", "x") is None
    assert settled("CLIENT", "ID") is None
    assert settled("CLIENT", "REPLY", "ON") == REFUSE
    assert settled("BLPOP", "k", 0) == BLOCKING
    assert settled("WAIT", 0, 0) == BLOCKING
    assert settled("XREAD", "STREAMS", "s", "0") is None
    assert settled("xread", "block", 0, "STREAMS", "s", "0") == BLOCKING
    assert settled("Get", "k") is None  # a spelling not seen before
    assert settled("JSON.GET", "k") is None  # a module's: the table does not know it


# ---------------------------------------------------------------------------
# The property test

# Commands that would stop the test server doing its job, and why they are left out.
SKIP = {
    "shutdown": "stops the server",
    "debug": "can crash, pause or reload the server",
    "config|set": "can make the server unreachable (port, dir, requirepass ...)",
    "acl|setuser": "can switch the default user off",
    "acl|deluser": "can delete the user the clients log in as",
    "acl|load": "can replace the users",
    "replicaof": "turns the server into a replica of nothing reachable",
    "slaveof": "turns the server into a replica of nothing reachable",
    "failover": "needs replicas; waits",
    "migrate": "connects to other servers and waits",
    "client|pause": "pauses every client, the test's own included",
    "monitor": "refused anyway; covered by the parametrised test",
    "module|load": "loads code into the server",
    "module|loadex": "loads code into the server",
    "save": "slow on a loaded machine",
    "bgsave": "forks the server",
    "bgrewriteaof": "forks the server",
    "cluster|reset": "resets the node",
}


@pytest.fixture(scope="module")
def docs(server: RedisServer) -> dict[str, Any]:
    """COMMAND DOCS by table name (``"client|reply"``), from the server itself."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        resp3_query(sock, "HELLO", 3)
        reply = resp3_query(sock, "COMMAND", "DOCS")
    flat: dict[str, Any] = {}
    for name, doc in reply.items():
        flat[name.lower()] = doc
        for sub, sub_doc in (doc.get("subcommands") or {}).items():
            flat[sub.lower()] = sub_doc
    return {name: doc for name, doc in flat.items() if name not in SKIP}


_KEYS = ["pt:a", "pt:b", "pt:c"]


def _arguments(rng: random.Random, spec: dict[str, Any]) -> list[Any]:
    """Plausible arguments for one COMMAND DOCS argument spec."""
    if rng.random() < 0.3 and "optional" in spec.get("flags", []):
        return []
    repeats = rng.randint(1, 2) if "multiple" in spec.get("flags", []) else 1
    out: list[Any] = []
    for i in range(repeats):
        if spec.get("token") and (i == 0 or "multiple_token" in spec.get("flags", [])):
            out.append(spec["token"])
        kind = spec["type"]
        if kind == "key":
            out.append(rng.choice(_KEYS))
        elif kind == "integer":
            out.append(rng.choice([0, 1, 2, 3]))
        elif kind == "double":
            out.append(rng.choice([0.5, 1, 2.5]))
        elif kind == "unix-time":
            out.append(rng.choice([1, 2000000000]))
        elif kind == "pattern":
            out.append("pt:*")
        elif kind == "string":
            out.append(rng.choice(["a", "x", "0", "1", "ON", "OFF", "SKIP"]))
        elif kind == "oneof":
            out.extend(_arguments(rng, rng.choice(spec["arguments"])))
        elif kind == "block":
            for sub in spec["arguments"]:
                out.extend(_arguments(rng, sub))
        # pure-token: the token alone
    return out


def _command(rng: random.Random, name: str, doc: dict[str, Any]) -> tuple[Any, ...]:
    words = [part.upper() for part in name.split("|")]
    args: list[Any] = []
    for spec in doc.get("arguments", []):
        args.extend(_arguments(rng, spec))
    return (*words, *args)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_random_commands_never_cross_replies(
    r: Redis, docs: dict[str, Any], seed: int
) -> None:
    rng = random.Random(seed)
    names = sorted(docs)
    commands = [_command(rng, name, docs[name]) for name in rng.sample(names, 12)]
    # The ones this test exists for, always among them.
    commands += [("CLIENT", "REPLY", rng.choice(["OFF", "SKIP"])), ("CLIENT", "TRACKING", "ON")]
    rng.shuffle(commands)
    r.ping()

    def run(command: tuple[Any, ...]) -> None:
        with gevent.Timeout(0.5, False):
            try:
                r.execute_command(*command)
            except (GreenpoolError, ValueError, UnicodeDecodeError):
                pass  # errors are fine; only a reply reaching the wrong caller is not

    culprits = [gevent.spawn(run, command) for command in commands]
    wrong = _echo_storm(r, 40, f"s{seed}")
    gevent.joinall(culprits, timeout=5)
    assert wrong == [], f"commands: {commands}"
    assert _echo_storm(r, 20, f"after{seed}") == [], f"commands: {commands}"
