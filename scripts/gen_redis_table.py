"""Write greenpool/redis/commands/_table.py: every Redis command and subcommand, with routing.

Run it from the repository root with the project's virtual environment::

    .venv/bin/python scripts/gen_redis_table.py

It starts a throwaway redis-server (greenpool.testing.RedisServer), reads
``COMMAND`` (every command's COMMAND INFO) and ``COMMAND DOCS`` from it,
adds the commands of newer servers that redis-py has methods for (NEWER,
transcribed from Redis's command reference: a 7.0 server cannot be asked
about them), then greenpool's own decisions (BLOCKING, STATE), and writes
the table as a Python literal.  tests/redis/test_table.py checks the
result against a live server; change the decisions here, not in the output.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from greenpool.protocol.resp import NEED_DATA, RespParser, encode_command  # noqa: E402
from greenpool.redis.commands._spec import (  # noqa: E402
    ALWAYS,
    EVERY_CONNECTION,
    REFUSED,
    CommandSpec,
    KeyNum,
    KeySpec,
    Range,
    spec_from_server,
)
from greenpool.testing import RedisServer  # noqa: E402

OUT = ROOT / "greenpool" / "redis" / "commands" / "_table.py"

# ---------------------------------------------------------------------------
# Commands newer than the server the table is generated from.


def _key(index: int, *flags: str, find: Any = None) -> KeySpec:
    return KeySpec(index, 0, find or Range(0, 1, 0), tuple(sorted(flags)))


_RO = ("RO", "access")
_RW = ("RW", "update")
_FAST_W = ("denyoom", "fast", "write")
_FAST_R = ("fast", "readonly")


def _hash_ttl(name: str, since: str, write: bool) -> tuple[str, CommandSpec]:
    if write:
        return name, CommandSpec("hash", -6, _FAST_W, (_key(1, *_RW),), since=since)
    return name, CommandSpec("hash", -5, _FAST_R, (_key(1, *_RO),), since=since)


def _array(name: str, arity: int, write: bool, fast: bool = True) -> tuple[str, CommandSpec]:
    flags = ("denyoom", "write") if write else ("readonly",)
    if fast:
        flags = tuple(sorted((*flags, "fast")))
    key = _key(1, *(_RW if write else _RO))
    return name, CommandSpec("array", arity, flags, (key,), since="8.8.0")


def _vector(name: str, arity: int, write: bool) -> tuple[str, CommandSpec]:
    # A module's commands: flags as the module registers them (write deny-oom,
    # or readonly fast), first key 1, last key 1, step 1.
    flags = ("denyoom", "module", "write") if write else ("fast", "module", "readonly")
    key = _key(1, *(_RW if write else _RO))
    return name, CommandSpec("vector_set", arity, flags, (key,), since="8.0.0")


def _sentinel(sub: str, arity: int) -> tuple[str, CommandSpec]:
    flags = ("admin", "loading", "only_sentinel", "stale")
    return f"sentinel|{sub}", CommandSpec("sentinel", arity, flags, since="2.8.4")


NEWER: dict[str, CommandSpec] = dict(
    [
        # hash field expiry (7.4), HGETDEL/HGETEX/HSETEX (8.0)
        _hash_ttl("hexpire", "7.4.0", True),
        _hash_ttl("hpexpire", "7.4.0", True),
        _hash_ttl("hexpireat", "7.4.0", True),
        _hash_ttl("hpexpireat", "7.4.0", True),
        ("hpersist", CommandSpec("hash", -5, ("fast", "write"), (_key(1, *_RW),), since="7.4.0")),
        _hash_ttl("httl", "7.4.0", False),
        _hash_ttl("hpttl", "7.4.0", False),
        _hash_ttl("hexpiretime", "7.4.0", False),
        _hash_ttl("hpexpiretime", "7.4.0", False),
        ("hgetdel", CommandSpec("hash", -5, ("fast", "write"),
                                (_key(1, "RW", "access", "delete"),), since="8.0.0")),
        ("hgetex", CommandSpec("hash", -5, ("fast", "write"),
                               (_key(1, "RW", "access", "update"),), since="8.0.0")),
        ("hsetex", CommandSpec("hash", -6, _FAST_W, (_key(1, *_RW),), since="8.0.0")),
        # HIMPORT: per-connection fieldsets (see STATE)
        ("himport", CommandSpec("hash", -2, (), container=True)),
        ("himport|prepare", CommandSpec("hash", -4, ("fast",))),
        ("himport|set", CommandSpec("hash", -4, _FAST_W, (_key(2, "OW", "update"),))),
        ("himport|discard", CommandSpec("hash", 3, ("fast",))),
        ("himport|discardall", CommandSpec("hash", 2, ("fast",))),
        # strings
        ("msetex", CommandSpec("string", -4, ("denyoom", "write"),
                               (_key(1, "OW", "update", find=KeyNum(0, 1, 2)),),
                               tips=("request_policy:multi_shard",
                                     "response_policy:all_succeeded"), since="8.4.0")),
        ("delex", CommandSpec("string", -2, ("fast", "write"),
                              (_key(1, "RM", "delete"),), since="8.4.0")),
        ("digest", CommandSpec("string", 2, _FAST_R, (_key(1, *_RO),), since="8.4.0")),
        ("increx", CommandSpec("string", -2, _FAST_W, (_key(1, "RW", "access", "update"),),
                               since="8.8.0")),
        ("stralgo", CommandSpec("string", -2, ("movablekeys", "readonly"),
                                (KeySpec("KEYS", 0, Range(1, 1, 0), _RO),), since="6.0.0")),
        # lists
        ("lmovem", CommandSpec("list", -5, ("denyoom", "write"),
                               (_key(1, "RW", "access", "delete"), _key(2, "RW", "insert")),
                               since="8.10.0")),
        ("blmovem", CommandSpec("list", -6, ("blocking", "denyoom", "write"),
                                (_key(1, "RW", "access", "delete"), _key(2, "RW", "insert")),
                                since="8.10.0")),
        # sets
        ("sdiffcard", CommandSpec("set", -3, ("readonly",),
                                  (_key(1, *_RO, find=KeyNum(0, 1, 1)),), since="8.8.0")),
        ("sunioncard", CommandSpec("set", -3, ("readonly",),
                                   (_key(1, *_RO, find=KeyNum(0, 1, 1)),), since="8.8.0")),
        # streams
        ("xackdel", CommandSpec("stream", -6, ("fast", "write"),
                                (_key(1, "RW", "delete", "update"),), since="8.2.0")),
        ("xdelex", CommandSpec("stream", -5, ("fast", "write"),
                               (_key(1, "RW", "delete"),), since="8.2.0")),
        ("xnack", CommandSpec("stream", -7, ("fast", "write"), (_key(1, *_RW),),
                              since="8.2.0")),
        ("xcfgset", CommandSpec("stream", -4, ("fast", "write"), (_key(1, *_RW),),
                                since="8.6.0")),
        # generic, server, connection, cluster
        ("waitaof", CommandSpec("generic", 4, ("blocking",),
                                tips=("request_policy:all_shards", "response_policy:agg_min"),
                                since="7.2.0")),
        ("hotkeys", CommandSpec("server", -2, (), container=True, since="8.6.0")),
        ("hotkeys|start", CommandSpec("server", -2, ("admin", "noscript"), since="8.6.0")),
        ("hotkeys|stop", CommandSpec("server", 2, ("admin", "noscript"), since="8.6.0")),
        ("hotkeys|get", CommandSpec("server", 2, ("admin", "noscript"), since="8.6.0")),
        ("hotkeys|reset", CommandSpec("server", 2, ("admin", "noscript"), since="8.6.0")),
        ("client|no-touch", CommandSpec("connection", 3, ("loading", "noscript", "stale"),
                                        since="7.2.0")),
        ("client|setinfo", CommandSpec("connection", 4, ("loading", "noscript", "stale"),
                                       tips=("request_policy:all_nodes",
                                             "response_policy:all_succeeded"),
                                       since="7.2.0")),
        ("cluster|myshardid", CommandSpec("cluster", 2, ("loading", "stale"),
                                          tips=("nondeterministic_output",), since="7.2.0")),
        # arrays (8.8)
        _array("arcount", 2, False),
        _array("ardel", -3, True),
        _array("ardelrange", -4, True, fast=False),  # key start end [start end ...]
        _array("arget", 3, False),
        _array("argetrange", 4, False, fast=False),
        _array("argrep", -4, False, fast=False),
        _array("arinfo", -2, False),
        _array("arinsert", -3, True),
        _array("arlastitems", -3, False),
        _array("arlen", 2, False),
        _array("armget", -3, False),
        _array("armset", -4, True),
        _array("arnext", 2, False),
        _array("arop", -5, False, fast=False),
        _array("arring", -4, True),
        _array("arscan", -4, False, fast=False),
        _array("arseek", 3, True),
        _array("arset", -4, True),
        # vector sets (8.0, a module bundled with the server)
        _vector("vadd", -5, True),
        _vector("vcard", 2, False),
        _vector("vdim", 2, False),
        _vector("vemb", -3, False),
        _vector("vgetattr", 3, False),
        _vector("vinfo", 2, False),
        _vector("vlinks", -3, False),
        _vector("vrandmember", -2, False),
        _vector("vrange", -4, False),
        _vector("vrem", -3, True),
        _vector("vsetattr", 4, True),
        _vector("vsim", -4, False),
        # SENTINEL (answered by sentinels only)
        ("sentinel", CommandSpec("sentinel", -2, (), container=True, since="2.8.4")),
        _sentinel("ckquorum", 3),
        _sentinel("failover", 3),
        _sentinel("flushconfig", 2),
        _sentinel("get-master-addr-by-name", 3),
        _sentinel("master", 3),
        _sentinel("masters", 2),
        _sentinel("monitor", 6),
        _sentinel("remove", 3),
        _sentinel("replicas", 3),
        _sentinel("reset", 3),
        _sentinel("sentinels", 3),
        _sentinel("set", -5),
        _sentinel("slaves", 3),
    ]
)

# ---------------------------------------------------------------------------
# greenpool's decisions

BLOCKING: dict[str, str] = {
    # The server flags these "blocking"; each waits for data, up to its timeout.
    "blpop": ALWAYS, "brpop": ALWAYS, "brpoplpush": ALWAYS, "blmove": ALWAYS,
    "blmpop": ALWAYS, "bzpopmin": ALWAYS, "bzpopmax": ALWAYS, "bzmpop": ALWAYS,
    "blmovem": ALWAYS,
    # Only with BLOCK; without it they answer at once.
    "xread": "BLOCK", "xreadgroup": "BLOCK",
    # Not flagged by Redis 7.0, but they wait for replicas (or the AOF) up to
    # their timeout, holding the connection's reply queue meanwhile.
    "wait": ALWAYS, "waitaof": ALWAYS,
}

_PIPELINE = "use Redis.pipeline() (MULTI ... EXEC) instead"
_PUBSUB = "use Redis.pubsub() instead"

STATE: dict[str, tuple[str, str]] = {
    "auth": (REFUSED, "pass username= and password= to Redis() instead"),
    "hello": (REFUSED, "pass protocol= (and the credentials) to Redis() instead"),
    "select": (REFUSED, "pass db= to Redis() (one client per database) instead"),
    "reset": (REFUSED, "it resets a connection's database, name and modes; "
                       "use Redis.close() instead"),
    "quit": (REFUSED, "it closes the connection; use Redis.close() instead"),
    "multi": (REFUSED, _PIPELINE),
    "exec": (REFUSED, _PIPELINE),
    "discard": (REFUSED, _PIPELINE),
    "watch": (REFUSED, "use Redis.pipeline() and Pipeline.watch() instead"),
    "unwatch": (REFUSED, "use Redis.pipeline() and Pipeline.unwatch() instead"),
    "subscribe": (REFUSED, _PUBSUB),
    "psubscribe": (REFUSED, _PUBSUB),
    "ssubscribe": (REFUSED, _PUBSUB),
    "unsubscribe": (REFUSED, _PUBSUB),
    "punsubscribe": (REFUSED, _PUBSUB),
    "sunsubscribe": (REFUSED, _PUBSUB),
    "monitor": (REFUSED, "use Redis.monitor() instead"),
    "sync": (REFUSED, "it turns the connection into a replication stream"),
    "psync": (REFUSED, "it turns the connection into a replication stream"),
    "replconf": (REFUSED, "replicas send it to their primary; it is not a client command"),
    "readonly": (REFUSED, "it switches a cluster connection to replica reads; "
                          "the cluster client sends it on connections of its own"),
    "readwrite": (REFUSED, "it switches a cluster connection back from replica reads; "
                           "the cluster client sends it on connections of its own"),
    "asking": (REFUSED, "it applies to the connection's next command; "
                        "the cluster client sends it with that command"),
    "client|reply": (REFUSED, "OFF and SKIP make the server drop replies, so other callers "
                              "sharing the connection would get the wrong ones"),
    "client|tracking": (REFUSED, "invalidation messages need a connection of their own "
                                 "(client-side caching is not supported yet)"),
    "client|caching": (REFUSED, "it applies to the connection's next command "
                                "(client-side caching is not supported yet)"),
    "script|debug": (REFUSED, "it puts the connection into the Lua debugger"),
    # A fieldset lives on one connection: it is prepared on every connection of
    # the client, and on every new one, so HIMPORT SET runs on any of them.
    "himport|prepare": (EVERY_CONNECTION, "the fieldset is prepared on every connection of "
                                          "the client, and on every new one"),
    "himport|discard": (EVERY_CONNECTION, "the fieldset is discarded on every connection of "
                                          "the client, and no new one gets it"),
    "himport|discardall": (EVERY_CONNECTION, "every fieldset is discarded on every connection "
                                             "of the client, and no new one gets them"),
    "client|setname": (EVERY_CONNECTION, "the name is given to every connection of the "
                                         "client, and to every new one"),
    "client|setinfo": (EVERY_CONNECTION, "the attribute is given to every connection of "
                                         "the client, and to every new one"),
    "client|no-evict": (EVERY_CONNECTION, "the mode is set on every connection of the "
                                          "client, and on every new one"),
    "client|no-touch": (EVERY_CONNECTION, "the mode is set on every connection of the "
                                          "client, and on every new one"),
}


# ---------------------------------------------------------------------------


def _query(sock: socket.socket, *args: Any) -> Any:
    parser = RespParser(3, encoding="utf-8")
    sock.sendall(encode_command(*args))
    while (reply := parser.gets()) is NEED_DATA:
        data = sock.recv(1 << 20)
        if not data:
            raise ConnectionError("redis-server closed the connection")
        parser.feed(data)
    return reply


def server_table() -> tuple[dict[str, CommandSpec], str]:
    """Every command and subcommand of a throwaway redis-server, and its version."""
    with (
        RedisServer() as server,
        socket.create_connection((server.host, server.port), timeout=10) as sock,
    ):
        _query(sock, "HELLO", 3)
        infos = _query(sock, "COMMAND")
        docs = _query(sock, "COMMAND", "DOCS")
        version = _query(sock, "INFO", "server")
    table: dict[str, CommandSpec] = {}
    for info in infos:
        table.update(spec_from_server(info, docs.get(str(info[0]).lower(), {})))
    line = next(x for x in version.splitlines() if x.startswith("redis_version:"))
    return table, line.partition(":")[2].strip()


def build() -> tuple[dict[str, CommandSpec], str]:
    table, version = server_table()
    for name, spec in NEWER.items():
        if name not in table:
            table[name] = spec
    for name, blocking in BLOCKING.items():
        table[name] = table[name]._replace(blocking=blocking)
    for name, (state, hint) in STATE.items():
        table[name] = table[name]._replace(state=state, hint=hint)
    return dict(sorted(table.items())), version


def _literal(spec: CommandSpec) -> str:
    parts = [repr(spec.group), str(spec.arity), repr(spec.flags)]
    if spec.keys:
        parts.append("keys=(" + "".join(_key_literal(k) + ", " for k in spec.keys).rstrip(" ")
                     + ")")
    for field in ("tips", "since", "blocking", "state", "hint", "container"):
        value = getattr(spec, field)
        if value != CommandSpec._field_defaults[field]:
            parts.append(f"{field}={value!r}")
    return "C(" + ", ".join(parts) + ")"


def _key_literal(key: KeySpec) -> str:
    find = key.find
    if isinstance(find, Range):
        find_text = f"Range({find.lastkey}, {find.step}, {find.limit})"
    elif isinstance(find, KeyNum):
        find_text = f"KeyNum({find.keynumidx}, {find.firstkey}, {find.step})"
    else:
        find_text = "None"
    return f"K({key.begin!r}, {key.startfrom}, {find_text}, {key.flags!r})"


HEADER = '''# ruff: noqa: E501  (one line per command: grep finds a command with its facts)
"""The command table: every Redis command and subcommand, and how greenpool routes it.

Generated by ``scripts/gen_redis_table.py`` from redis-server {version}'s
``COMMAND INFO`` and ``COMMAND DOCS``, plus the newer commands redis-py has
methods for, plus greenpool's decisions (``blocking``, ``state``, ``hint``).
Edit the script, not this file; ``tests/redis/test_table.py`` checks it
against a live server.  The fields are :class:`._spec.CommandSpec`'s.
"""

from __future__ import annotations

from ._spec import CommandSpec as C
from ._spec import KeyNum, Range
from ._spec import KeySpec as K

__all__ = ["TABLE"]

# fmt: off
TABLE: dict[str, C] = {{
'''


def write(table: dict[str, CommandSpec], version: str) -> None:
    lines = [HEADER.format(version=version)]
    for name, spec in table.items():
        lines.append(f"    {name!r}: {_literal(spec)},\n")
    lines.append("}\n# fmt: on\n")
    OUT.write_text("".join(lines))


def main() -> None:
    table, version = build()
    write(table, version)
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "-q", str(OUT)], check=True)
    print(f"{OUT.relative_to(ROOT)}: {len(table)} commands and subcommands "
          f"(from redis-server {version})")


if __name__ == "__main__":
    main()
