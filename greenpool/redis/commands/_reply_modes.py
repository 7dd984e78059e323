"""Reply shapes per client mode: redis-py 8's ``protocol`` and ``legacy_responses``.

A command method names one shape, RESP2's (:mod:`._replies`): what
redis-py gives when no protocol is given, or ``protocol=2``, with
``legacy_responses=True`` (the default).  redis-py gives other shapes to a
client made with ``protocol=3`` (its RESP3 shapes: most replies as the
server sent them) or with ``legacy_responses=False`` (its "unified"
shapes).  :func:`reshapes` gives, for a client's mode, the commands whose
shape differs, each with a *reshape*: a function from the method's own
shape (which carries the method's options: ``withscores``,
``score_cast_func`` ...) to the mode's.  None for the default mode: a
client in it does no lookup at all.

The names are redis-py's callback names: the command, and for a container
command its subcommand (``"CONFIG GET"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from ._replies import (
    acl_user,
    command_table,
    decoded,
    memory_stats,
    ok,
    pairs_to_dict,
    sentinel_state,
    stream_entries,
    stream_entries_claimed,
    stream_info_full,
    text_keys,
    to_text,
    xread_claimed,
)
from ._spec import word
from ._table import TABLE

__all__ = ["Reshape", "command_names", "first_of", "reshaped", "reshapes", "wire_protocol"]

Parse = Callable[[Any], Any] | None
Reshape = Callable[[Parse], Parse]


def _raw(parse: Parse) -> Parse:
    """The reply as the server sent it."""
    return None


def _to(shape: Callable[[Any], Any]) -> Reshape:
    """The reply through ``shape``, whatever the method's own."""
    return lambda parse: shape


def _cast_of(parse: Any) -> Callable[[Any], Any]:
    """The ``score_cast_func`` a score shape was made with (float by default)."""
    owner = getattr(parse, "__self__", parse)
    cast: Callable[[Any], Any] = getattr(owner, "cast", float)
    return cast


# ---------------------------------------------------------------------------
# protocol=3, legacy_responses=True: redis-py's RESP3 shapes.


class _PairLists:
    """``[[member, cast(score)] ...]`` from RESP3's pairs (the score a double)."""

    __slots__ = ("cast",)

    def __init__(self, cast: Callable[[Any], Any]) -> None:
        self.cast = cast

    def __call__(self, reply: Any) -> Any:
        if not reply:
            return reply
        cast = self.cast
        return [[member, cast(score)] for member, score in reply]

    def rank(self, reply: Any) -> Any:
        """ZRANK WITHSCORE: ``[rank, cast(score)]``."""
        return reply if not reply else [reply[0], self.cast(reply[1])]


def _pair_lists(parse: Parse) -> Parse:
    return None if parse is None else _PairLists(_cast_of(parse))


def _rank_pair(parse: Parse) -> Parse:
    return None if parse is None else _PairLists(_cast_of(parse)).rank


def _xread_resp3(parse: Parse) -> Parse:
    entries = stream_entries_claimed if parse is xread_claimed else stream_entries

    def shape(reply: Any) -> dict[Any, list[Any]]:
        if reply is None:
            return {}
        return {stream: [entries(items)] for stream, items in reply.items()}

    return shape


def _xinfo_stream_resp3(parse: Parse) -> Parse:
    return _stream_full_resp3 if parse is stream_info_full else parse


def _stream_full_resp3(reply: Any) -> dict[str, Any]:
    """XINFO STREAM FULL from RESP3: the groups' consumers as the server sent them."""
    info = text_keys(reply)
    info["entries"] = {entry_id: pairs_to_dict(fields) for entry_id, fields in info["entries"]}
    info["groups"] = [text_keys(group) for group in info["groups"]]
    return info


def _acl_log_resp3(reply: Any) -> Any:
    if isinstance(reply, list):
        return [{to_text(k): decoded(v) for k, v in entry.items()} for entry in reply]
    return ok(reply)


def _acl_user_resp3(reply: Any) -> dict[str, Any] | None:
    user = acl_user(reply)
    selectors = reply.get(b"selectors", reply.get("selectors")) if user is not None else None
    if selectors and isinstance(selectors[0], dict):
        assert user is not None
        user["selectors"] = [
            {to_text(k): decoded(v) for k, v in selector.items()} for selector in selectors
        ]
    return user


def _command_resp3(reply: Any) -> dict[str, dict[str, Any]]:
    table = command_table(reply)
    for entry, fields in zip(reply, table.values(), strict=False):
        fields["flags"] = set(fields["flags"])
        fields["acl_categories"] = entry[6]
    return table


def _sentinel_resp3(reply: Any) -> dict[str, Any]:
    state = sentinel_state(reply)
    state["flags"] = set(state["flags"].split(","))
    return state


def _sentinels_resp3(reply: Any) -> list[dict[str, Any]]:
    return [_sentinel_resp3(entry) for entry in reply]


def _sentinel_masters_resp3(reply: Any) -> dict[str, dict[str, Any]]:
    return {state["name"]: state for state in _sentinels_resp3(reply)}


_RESP3: dict[str, Reshape] = {
    **dict.fromkeys(
        ("ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZUNION"), _pair_lists
    ),
    **dict.fromkeys(("ZRANK", "ZREVRANK"), _rank_pair),
    **dict.fromkeys(("XREAD", "XREADGROUP"), _xread_resp3),
    **dict.fromkeys(
        ("ZINTER", "ZDIFF", "ZPOPMIN", "ZPOPMAX", "ZMPOP", "BZMPOP", "ZRANDMEMBER",
         "BZPOPMIN", "BZPOPMAX", "BLPOP", "BRPOP", "HRANDFIELD", "LCS", "GEOPOS", "GEOHASH",
         "ACL CAT", "ACL GENPASS", "ACL HELP", "ACL LIST", "ACL USERS", "ACL WHOAMI",
         "CLIENT GETNAME", "CLIENT TRACKINGINFO", "CLUSTER GETKEYSINSLOT", "CLUSTER LINKS",
         "COMMAND GETKEYS", "DEBUG OBJECT", "FUNCTION LIST", "FUNCTION STATS",
         "HOTKEYS GET", "MODULE LIST", "BGSAVE", "BGREWRITEAOF", "RESET"),
        _raw,
    ),
    "ACL LOG": _to(_acl_log_resp3),
    "ACL GETUSER": _to(_acl_user_resp3),
    "XINFO STREAM": _xinfo_stream_resp3,
    "COMMAND": _to(_command_resp3),
    "SENTINEL MASTER": _to(_sentinel_resp3),
    "SENTINEL MASTERS": _to(_sentinel_masters_resp3),
    "SENTINEL SENTINELS": _to(_sentinels_resp3),
    "SENTINEL SLAVES": _to(_sentinels_resp3),
    "SENTINEL REPLICAS": _to(_sentinels_resp3),
}



# ---------------------------------------------------------------------------
# legacy_responses=False: redis-py's "unified" shapes, one for both wires
# (scores through float first, pairs as lists, maps as dicts).


def _scored(reply: Any) -> list[tuple[Any, Any]]:
    """RESP2's flat ``[m, s, ...]`` or RESP3's ``[[m, s] ...]`` as ``(m, s)`` pairs."""
    if reply and isinstance(reply[0], list):
        return [(member, score) for member, score in reply]
    it = iter(reply)
    return list(zip(it, it, strict=False))


class _UnifiedScores:
    """``[[member, cast(float(score))] ...]`` from either wire."""

    __slots__ = ("cast",)

    def __init__(self, cast: Callable[[Any], Any]) -> None:
        self.cast = cast if cast is float else partial(_safe_cast, cast)

    def __call__(self, reply: Any) -> Any:
        if not reply:
            return reply
        cast = self.cast
        return [[member, cast(float(score))] for member, score in _scored(reply)]

    def rank(self, reply: Any) -> Any:
        """ZRANK WITHSCORE: ``[rank, cast(float(score))]``."""
        return reply if not reply else [reply[0], self.cast(float(reply[1]))]

    def scan(self, reply: Any) -> tuple[int, Any]:
        """ZSCAN: ``(cursor, [[member, score] ...])``."""
        return int(reply[0]), self(reply[1]) or []


def _safe_cast(cast: Callable[[Any], Any], score: float) -> Any:
    try:
        return cast(score)
    except (TypeError, ValueError):
        return cast(float(score))


def _unified_scores(parse: Parse) -> Parse:
    return None if parse is None else _UnifiedScores(_cast_of(parse))


def _unified_rank(parse: Parse) -> Parse:
    return None if parse is None else _UnifiedScores(_cast_of(parse)).rank


def _unified_scan(parse: Parse) -> Parse:
    return _UnifiedScores(_cast_of(parse)).scan


def _unified_popped(reply: Any) -> Any:
    """ZPOPMIN/ZPOPMAX: always ``[[member, score] ...]``."""
    if not reply:
        return reply
    return [[member, float(score)] for member, score in _scored(reply)]


def _unified_bzpop(reply: Any) -> Any:
    return None if not reply else [reply[0], reply[1], float(reply[2])]


def _unified_mpop(reply: Any) -> Any:
    if not reply:
        return reply
    return [reply[0], [[member, float(score)] for member, score in reply[1]]]


def _unified_fields(parse: Parse) -> Parse:
    return None if parse is None else _field_pairs


def _field_pairs(reply: Any) -> Any:
    """HRANDFIELD WITHVALUES: ``[[field, value] ...]``."""
    if not reply or isinstance(reply[0], list):
        return reply
    it = iter(reply)
    return [[field, value] for field, value in zip(it, it, strict=False)]


def _unified_xread(parse: Parse) -> Parse:
    entries = stream_entries_claimed if parse is xread_claimed else stream_entries

    def shape(reply: Any) -> dict[Any, list[Any]]:
        if not reply:
            return {}
        items = reply.items() if isinstance(reply, dict) else reply
        return {stream: entries(found) for stream, found in items}

    return shape


def _unified_geopos(reply: Any) -> list[Any]:
    return [None if pos is None else [float(pos[0]), float(pos[1])] for pos in reply]


def _unified_lcs(reply: Any) -> Any:
    if isinstance(reply, (list, dict)):
        return text_keys(reply)
    return reply


def _unified_acl_user(reply: Any) -> dict[str, Any] | None:
    user = _acl_user_resp3(reply) if isinstance(reply, dict) else acl_user(reply)
    selectors = user.get("selectors") if user is not None else None
    if selectors and isinstance(selectors[0], list):
        assert user is not None
        user["selectors"] = [dict(zip(s[0::2], s[1::2], strict=False)) for s in selectors]
    return user


def _unified_tracking(reply: Any) -> dict[str, Any]:
    info = text_keys(reply)
    for name in ("flags", "prefixes"):
        if name in info:
            info[name] = [decoded(item) for item in info[name]]
    return info


def _unified_links(reply: Any) -> Any:
    return None if reply is None else [text_keys(link) for link in reply]


def _unified_command(reply: Any) -> dict[str, dict[str, Any]]:
    table = command_table(reply)
    for fields in table.values():
        fields["flags"] = set(fields["flags"])
        if "acl_categories" in fields:
            fields["acl_categories"] = set(fields["acl_categories"])
    return table


def _unified_functions(reply: Any) -> Any:
    if reply is None:
        return None
    libraries = []
    for library in reply:
        if not isinstance(library, dict):
            library = pairs_to_dict(library)
            for key in (b"functions", "functions"):
                if key in library:
                    library[key] = [pairs_to_dict(f) for f in library[key]]
        libraries.append(library)
    return libraries


def _unified_memory(reply: Any) -> dict[str, Any]:
    if isinstance(reply, dict):
        return memory_stats(reply)
    stats = text_keys(reply)
    for name, value in stats.items():
        if name.startswith("db.") and isinstance(value, list):
            stats[name] = text_keys(value)
    return stats


_UNIFIED: dict[str, Reshape] = {
    **dict.fromkeys(
        ("ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZUNION", "ZINTER",
         "ZDIFF", "ZRANDMEMBER"),
        _unified_scores,
    ),
    **dict.fromkeys(("ZRANK", "ZREVRANK"), _unified_rank),
    **dict.fromkeys(("ZPOPMIN", "ZPOPMAX"), _to(_unified_popped)),
    **dict.fromkeys(("BZPOPMIN", "BZPOPMAX"), _to(_unified_bzpop)),
    **dict.fromkeys(("ZMPOP", "BZMPOP"), _to(_unified_mpop)),
    **dict.fromkeys(("XREAD", "XREADGROUP"), _unified_xread),
    **dict.fromkeys(("BLPOP", "BRPOP", "COMMAND GETKEYS", "CLUSTER GETKEYSINSLOT"), _raw),
    "ZSCAN": _unified_scan,
    "HRANDFIELD": _unified_fields,
    "GEOPOS": _to(_unified_geopos),
    "LCS": _to(_unified_lcs),
    "ACL GETUSER": _to(_unified_acl_user),
    "CLIENT TRACKINGINFO": _to(_unified_tracking),
    "CLUSTER LINKS": _to(_unified_links),
    "COMMAND": _to(_unified_command),
    "FUNCTION LIST": _to(_unified_functions),
    "MEMORY STATS": _to(_unified_memory),
    "SENTINEL MASTER": _to(_sentinel_resp3),
    "SENTINEL MASTERS": _to(_sentinel_masters_resp3),
    "SENTINEL SENTINELS": _to(_sentinels_resp3),
    "SENTINEL SLAVES": _to(_sentinels_resp3),
    "SENTINEL REPLICAS": _to(_sentinels_resp3),
}

# On RESP3 redis-py leaves these as the server sends them; on RESP2 it keeps its
# legacy shapes for them.
_UNIFIED_RESP3: dict[str, Reshape] = {
    **_UNIFIED,
    **dict.fromkeys(("DEBUG OBJECT", "FUNCTION STATS", "BGSAVE", "BGREWRITEAOF"), _raw),
    "XINFO STREAM": _xinfo_stream_resp3,
}


def reshapes(protocol: int | None, legacy_responses: bool) -> dict[str, Reshape] | None:
    """The commands whose shape differs in a client's mode, with their reshapes.

    ``protocol`` is what the client was given (None: not given).  None for
    the default mode (RESP2's shapes, which the methods give themselves).
    Without ``legacy_responses`` and with no protocol given, the client
    speaks RESP3 (as redis-py's does): :func:`wire_protocol`.
    """
    if legacy_responses:
        return _RESP3 if protocol == 3 else None
    return _UNIFIED if protocol == 2 else _UNIFIED_RESP3


def wire_protocol(protocol: int | None, legacy_responses: bool) -> int:
    """The RESP version a client speaks: the one it was given; when none, RESP2,
    except with ``legacy_responses=False``, whose shapes redis-py gives from RESP3."""
    if protocol is None:
        return 2 if legacy_responses else 3
    return protocol


def command_names(args: Sequence[Any]) -> tuple[str, ...]:
    """The names redis-py's callbacks may be keyed by for a command (``args``
    non-empty), the longer first: ``("CONFIG GET",)`` (a container command
    only with its subcommand), ``("DEBUG OBJECT", "DEBUG")``, ``("GET",)``."""
    head = word(args[0])
    first = head.upper()
    if len(args) > 1 and isinstance(args[1], (str, bytes)) and len(args[1]) < 32:
        pair = f"{first} {word(args[1]).upper()}"
        spec = TABLE.get(head)
        return (pair,) if spec is not None and spec.container else (pair, first)
    return (first,)


def first_of(table: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The entry of the first of ``names`` in ``table``, or None."""
    for name in names:
        found = table.get(name)
        if found is not None:
            return found
    return None


def reshaped(
    shapes: Mapping[str, Reshape], names: tuple[str, ...], options: dict[str, Any]
) -> dict[str, Any]:
    """``options`` with the mode's shape for the command named ``names``, if it has one."""
    reshape = first_of(shapes, names)
    if reshape is None:
        return options
    return {**options, "_parse": reshape(options.get("_parse"))}
