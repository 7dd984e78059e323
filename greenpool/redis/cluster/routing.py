"""Which slot or nodes a command goes to, from the command table and nothing else.

:data:`FAST` maps a command's name, as callers spell it, to ``(key index,
read-only)`` for the commands with one key at a fixed place that run on a
shared connection (GET, SET, HGET, INCR ...): the cluster client's hot path
is that lookup and :func:`~greenpool.redis.cluster.key_slot`.  Every other
command goes through :func:`plan`, which reads the whole command: its keys
(the table's key specs), whether it only reads, whether it blocks, and for a
keyless command which nodes redis-py sends it to (:data:`NODE_FLAGS`) and
how their replies are merged (:func:`merge`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .._route import BLOCKING, ROUTES, Route, resolve, route_or_unseen
from ..commands._spec import Range, command_name, keys_of, word
from ..commands._table import TABLE
from .errors import RedisClusterException
from .slots import SLOTS, key_slot

__all__ = [
    "ALL_NODES",
    "DEFAULT_NODE",
    "FAST",
    "MISSING_KEY",
    "NODE_FLAGS",
    "PRIMARIES",
    "RANDOM",
    "REPLICAS",
    "Plan",
    "is_blocking",
    "keys_in",
    "merge",
    "missing_key",
    "plan",
    "slot_of_keys",
]

PRIMARIES = "primaries"
REPLICAS = "replicas"
ALL_NODES = "all"
RANDOM = "random"
DEFAULT_NODE = "default-node"
MISSING_KEY = "missing-key"
"""The "nodes" of a keyed command given without its key: it goes nowhere
unless ``target_nodes=`` says where (redis-py's "Missing key" error)."""

NODE_FLAGS: dict[str, str] = {
    "flushall": PRIMARIES,
    "flushdb": PRIMARIES,
    "script|exists": PRIMARIES,
    "script|flush": PRIMARIES,
    "script|load": PRIMARIES,
    "function|delete": PRIMARIES,
    "function|flush": PRIMARIES,
    "function|list": PRIMARIES,
    "function|load": PRIMARIES,
    "function|restore": PRIMARIES,
    "function|dump": RANDOM,
}
"""Keyless commands redis-py sends to several nodes (or a random one); any other
keyless command goes to the default node (the first primary), as in redis-py."""

SLOT_ARGUMENT = frozenset({
    "cluster|countkeysinslot", "cluster|getkeysinslot", "cluster|setslot",
    "cluster|delslots", "cluster|delslotsrange",
})
"""CLUSTER subcommands whose first argument is a slot: they go to the node serving
it (redis-py's routing; CLUSTER COUNTKEYSINSLOT asked elsewhere counts 0)."""

_KEYS_OPTIONAL = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def _all(replies: dict[str, Any]) -> Any:
    return all(replies.values())


def _distinct(replies: dict[str, Any]) -> Any:
    seen: dict[Any, None] = {}
    for reply in replies.values():
        for item in reply or ():
            seen.setdefault(item, None)
    return list(seen)


def _sum(replies: dict[str, Any]) -> Any:
    return sum(replies.values())


def _first(replies: dict[str, Any]) -> Any:
    return next(iter(replies.values()))


def _counts(replies: dict[str, Any]) -> Any:
    # [(channel, count), ...] per node: the counts summed, channels in first-seen order
    total: dict[Any, int] = {}
    for reply in replies.values():
        for channel, count in reply or ():
            total[channel] = total.get(channel, 0) + count
    return list(total.items())


def _every(replies: dict[str, Any]) -> Any:
    columns = list(zip(*replies.values(), strict=False))
    return [all(column) for column in columns]


MERGES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "ping": _all,
    "flushall": _all,
    "flushdb": _all,
    "config|set": _all,
    "config|resetstat": _all,
    "config|rewrite": _all,
    "bgsave": _all,
    "save": _all,
    "script|flush": _all,
    "function|flush": _all,
    "function|delete": _all,
    "function|load": _first,
    "function|restore": _all,
    "keys": _distinct,
    "pubsub|channels": _distinct,
    "pubsub|shardchannels": _distinct,
    "dbsize": _sum,
    "pubsub|numpat": _sum,
    "pubsub|numsub": _counts,
    "pubsub|shardnumsub": _counts,
    "script|load": _first,
    "script|exists": _every,
}
"""How the replies of several nodes become one result (redis-py's merges);
any other command returns ``{node name: reply}``."""


def merge(name: str, replies: dict[str, Any]) -> Any:
    """The result of ``name`` run on several nodes, from ``{node name: result}``."""
    how = MERGES.get(name)
    return replies if how is None else how(replies)


def _fast_entry(name: str) -> tuple[int, bool] | None:
    spec = TABLE[name]
    if spec.container or spec.blocking or spec.state or len(spec.keys) != 1:
        return None
    if "movablekeys" in spec.flags:
        return None
    key = spec.keys[0]
    if not isinstance(key.begin, int) or key.find != Range(0, 1, 0):
        return None
    return key.begin, spec.readonly


FAST: dict[Any, tuple[int, bool]] = {}
"""Command name (as spelled) -> (index of its one key, read-only), for the hot path."""
for _name in TABLE:
    if "|" in _name or ROUTES.get(_name, 0) is not None:
        continue
    _entry = _fast_entry(_name)
    if _entry is not None:
        for _spelling in (_name, _name.upper(), _name.encode(), _name.upper().encode()):
            FAST[_spelling] = _entry


class Plan(NamedTuple):
    """Where one command goes.

    ``command``: the arguments to send (a name holding its subcommand is
    split); ``name``: the table's name (``"config|get"``, "" if unknown);
    ``route``: the standalone route (None: a shared connection; BLOCKING,
    REFUSE, EVERY); ``slot``: the keys' slot, or None; ``readonly``: a
    replica may serve it; ``nodes``: for a keyless command, the node flag.
    """

    command: Sequence[Any]
    name: str
    route: Route | None
    slot: int | None
    readonly: bool
    nodes: str | None


def slot_of_keys(name: str, keys: Sequence[Any]) -> int:
    """The one slot of ``keys``; RedisClusterException when they span several."""
    slot = key_slot(keys[0])
    for key in keys[1:]:
        if key_slot(key) != slot:
            shown = name.replace("|", " ").upper()
            raise RedisClusterException(f"{shown} - all keys must map to the same key slot")
    return slot


def plan(args: Sequence[Any]) -> Plan:
    """Settle where ``args`` (a whole command) goes; see :class:`Plan`.

    Raises :class:`RedisClusterException` for keys on several slots, and
    the standalone client's :class:`~greenpool.ConfigurationError` for an
    empty command.
    """
    route, command = resolve(route_or_unseen(args[0] if args else None), args)
    name = command_name(command, TABLE) or word(command[0])
    spec = TABLE.get(name)
    if spec is None:
        return Plan(command, name, route, None, False, DEFAULT_NODE)
    if name in SLOT_ARGUMENT:
        slot = _slot_argument(command)
        if slot is not None:
            return Plan(command, name, route, slot, False, None)
    flag = NODE_FLAGS.get(name)
    if flag is not None or not spec.keys:
        return Plan(command, name, route, None, spec.readonly, flag or DEFAULT_NODE)
    keys = keys_of(command, spec)
    if not keys:  # EVAL with no key, FCALL ...: any primary may run it
        flag = RANDOM if name in _KEYS_OPTIONAL else MISSING_KEY
        return Plan(command, name, route, None, spec.readonly, flag)
    return Plan(command, name, route, slot_of_keys(name, keys), spec.readonly, None)


def _slot_argument(command: Sequence[Any]) -> int | None:
    # CLUSTER <subcommand> <slot> ...: a slot in range, or None (the server will say why)
    try:
        slot = int(command[2])
    except (IndexError, TypeError, ValueError):
        return None
    return slot if 0 <= slot < SLOTS else None


def missing_key(name: str) -> RedisClusterException:
    """The error for a keyed command (the table's ``name``) given without its key."""
    shown = name.replace("|", " ").upper()
    return RedisClusterException(
        "No way to dispatch this command to Redis Cluster. Missing key. "
        f"({shown} was given no key: pass target_nodes= to say which nodes run it)"
    )


def keys_in(name: str, command: Sequence[Any]) -> list[Any]:
    """The key arguments of ``command`` (the table's name ``name``), per the key specs."""
    spec = TABLE.get(name)
    return [] if spec is None else keys_of(command, spec)


def is_blocking(route: Route | None) -> bool:
    """True when the standalone client would run it on a dedicated connection."""
    return route is not None and route.kind == BLOCKING
