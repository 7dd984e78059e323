"""Reply shapes: what turns a raw reply into what redis-py's method returns.

A method names its reply's shape as ``_parse``; the executor applies it
(a pipeline, once the reply arrives).  Each shape takes the RESP2 and the
RESP3 form of its reply alike, so results are the same on both protocols.
Shapes named after a plain type (:func:`integer`, :func:`string` ...) give
the reply as it comes: they only carry its type, so a method's return type
comes from its shape.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._base import MemberSetT, ReplyT, ScoreCastT

# Shapes that leave the reply as it is.  They exist for the type checker only,
# to give a method its return type through ``_parse``; at run time each is None,
# which every executor takes as "the reply as it is" (no call per reply: GET's
# shape costs nothing on the hot path).
if TYPE_CHECKING:

    def integer_reply(reply: Any) -> int:
        """An integer reply, as it comes."""

    def string_reply(reply: Any) -> ReplyT:
        """A string reply (``bytes``, or ``str`` when decoding), as it comes."""

    def optional_string(reply: Any) -> ReplyT | None:
        """A string reply or nil (None), as it comes."""

    def optional_bytes(reply: Any) -> bytes | None:
        """A binary reply (sent with ``never_decode``) or nil, as it comes."""

    def string_list(reply: Any) -> list[ReplyT]:
        """An array of strings, as it comes."""

    def optional_string_list(reply: Any) -> list[ReplyT | None]:
        """An array of strings and nils, as it comes."""

    def string_or_list(reply: Any) -> ReplyT | list[ReplyT] | None:
        """A string, an array of strings (with a count) or nil, as it comes."""

    def int_or_list(reply: Any) -> int | list[int] | None:
        """An integer, an array of integers (with a count) or nil, as it comes."""

else:
    integer_reply = string_reply = optional_string = optional_bytes = None
    string_list = optional_string_list = string_or_list = int_or_list = None


def to_text(value: Any) -> str:
    """A string reply as ``str`` (UTF-8, undecodable bytes replaced)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def text_or_none(reply: Any) -> str | None:
    return None if reply is None else to_text(reply)


def ok(reply: Any) -> bool:
    """True for an ``OK`` status reply."""
    return bool(reply == (b"OK" if isinstance(reply, bytes) else "OK"))


def ok_or_none(reply: Any) -> bool | None:
    """SET: True when written, None when NX/XX prevented it (a nil reply)."""
    return None if reply is None else ok(reply)


def pong(reply: Any) -> bool:
    return to_text(reply) == "PONG"


def time_pair(reply: Any) -> tuple[int, int]:
    return int(reply[0]), int(reply[1])


def timestamp(reply: Any) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(reply) if reply else None


def pairs_to_dict(reply: Any) -> dict[Any, Any]:
    """A RESP3 map as is, a RESP2 flat ``[k1, v1, k2, v2 ...]`` list as a dict."""
    if isinstance(reply, dict):
        return reply
    if not reply:
        return {}
    it = iter(reply)
    return dict(zip(it, it, strict=False))


def config_dict(reply: Any) -> dict[str, str]:
    return {to_text(name): to_text(value) for name, value in pairs_to_dict(reply).items()}


def flatten_pairs(reply: Any) -> Any:
    """RESP3's ``[[a, b], [c, d]]`` as RESP2's ``[a, b, c, d]``; flat lists as they are."""
    if reply and isinstance(reply[0], list):
        return [item for pair in reply for item in pair]
    return reply


def float_or_none(reply: Any) -> float | None:
    return None if reply is None else float(reply)


def floats_or_none(reply: Any) -> list[float | None]:
    return [None if score is None else float(score) for score in reply]


def bools(reply: Any) -> list[bool]:
    return [bool(flag) for flag in reply]


def member_set(reply: Any) -> MemberSetT:
    return set(reply) if reply else set()


def popped_pair(reply: Any) -> tuple[Any, Any] | None:
    """BLPOP/BRPOP: ``(key, value)`` or None."""
    return None if reply is None else (reply[0], reply[1])


def popped_member(reply: Any) -> tuple[Any, Any, float] | None:
    """BZPOPMIN/BZPOPMAX: ``(key, member, score)`` or None."""
    return None if reply is None else (reply[0], reply[1], float(reply[2]))


def scan_reply(reply: Any) -> tuple[int, list[Any]]:
    return int(reply[0]), reply[1]


def hscan_reply(reply: Any) -> tuple[int, dict[Any, Any]]:
    return int(reply[0]), pairs_to_dict(reply[1])


def stream_entries(reply: Any) -> list[tuple[Any, Any]]:
    """``[[id, [f1, v1 ...]] ...]`` as ``[(id, {f1: v1 ...}) ...]`` ([] for nil)."""
    if reply is None:
        return []
    return [
        (None, None) if entry is None else (entry[0], pairs_to_dict(entry[1])) for entry in reply
    ]


def xread_reply(reply: Any) -> list[list[Any]]:
    """RESP2 ``[[stream, entries] ...]`` or a RESP3 map as ``[[stream, [(id, {...}) ...]] ...]``."""
    if not reply:
        return []
    items = reply.items() if isinstance(reply, dict) else reply
    return [[stream, stream_entries(entries)] for stream, entries in items]


def numsub_pairs(reply: Any) -> list[tuple[Any, int]]:
    return list(pairs_to_dict(reply).items())


def cast_score(cast: ScoreCastT, decode: bool, score: Any) -> Any:
    """Apply a redis-py style ``score_cast_func`` to one score.

    The function sees what RESP2 sends (``bytes``, ``str`` when decoding),
    also on RESP3, where scores come as floats (as ``%.17g`` text, which is
    what Redis sends on RESP2); one that cannot take that text (such as
    ``int`` and ``"1.5"``) is given a float instead.
    """
    if cast is float:
        return float(score)
    if isinstance(score, float):
        text = format(score, ".17g")
        score = text if decode else text.encode()
    try:
        return cast(score)
    except (TypeError, ValueError):
        return cast(float(score))


def score_pairs(reply: Any) -> list[tuple[Any, float]]:
    """Flat ``[m, s, ...]`` (RESP2) or nested ``[[m, s] ...]`` (RESP3) as ``[(m, s) ...]``."""
    if not reply:
        return []
    if isinstance(reply[0], list):
        return [(member, float(score)) for member, score in reply]
    it = iter(reply)
    return [(member, float(score)) for member, score in zip(it, it, strict=False)]


class ScorePairs:
    """:func:`score_pairs` with a ``score_cast_func`` other than float."""

    __slots__ = ("cast", "decode")

    def __init__(self, cast: ScoreCastT, decode: bool) -> None:
        self.cast = cast
        self.decode = decode

    def __call__(self, reply: Any) -> list[tuple[Any, Any]]:
        if not reply:
            return []
        cast, decode = self.cast, self.decode
        if isinstance(reply[0], list):
            return [(member, cast_score(cast, decode, score)) for member, score in reply]
        it = iter(reply)
        return [
            (member, cast_score(cast, decode, score)) for member, score in zip(it, it, strict=False)
        ]

    def rank(self, reply: Any) -> list[Any] | None:
        """ZRANK/ZREVRANK WITHSCORE: ``[rank, score]`` or None."""
        return None if reply is None else [reply[0], cast_score(self.cast, self.decode, reply[1])]

    def scan(self, reply: Any) -> tuple[int, list[tuple[Any, Any]]]:
        """ZSCAN: ``(cursor, [(member, score) ...])``."""
        return int(reply[0]), self(reply[1])


def score_parser(cast: ScoreCastT, decode: bool) -> Callable[[Any], list[tuple[Any, Any]]]:
    return score_pairs if cast is float else ScorePairs(cast, decode)


def info_value(value: str) -> Any:
    """One INFO value: a number, a list (``a,b``), a dict (``k=v,k=v``) or the text."""
    if "=" in value:
        fields: dict[str, Any] = {}
        for item in value.split(","):
            if not item:
                continue
            name, equals, sub = item.rpartition("=")
            if equals:
                fields[name] = info_value(sub)
            else:
                fields[sub] = True
        return fields
    if "," in value:
        return [info_value(item) for item in value.split(",") if item]
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def parse_info(text: bytes | str) -> dict[str, Any]:
    """Parse the text of an INFO reply into a flat dict, as redis-py does.

    ``key:value`` lines give ``key -> int | float | str``; a value made of
    ``k=v`` items (``db0:keys=1,expires=0``) gives a nested dict, one made of
    comma-separated items a list.  ``# Section`` headers are skipped (the
    keys of every section end up in one dict), ``module:`` lines are
    collected in a list under ``"modules"``, and lines without a colon in a
    list under ``"__raw__"``.  Keys are always ``str``.
    """
    info: dict[str, Any] = {}
    for line in to_text(text).splitlines():
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            info.setdefault("__raw__", []).append(line)
            continue
        key, _, value = line.partition(":")
        if key == "cmdstat_host":
            # The only key with a colon in it: "cmdstat_host:" + stats.
            key, _, value = line.rpartition(":")
        if key == "module":
            info.setdefault("modules", []).append(info_value(value))
        else:
            info[key] = info_value(value)
    return info


# ---------------------------------------------------------------------------
# Shapes of the server, acl, sentinel and cluster groups


def decoded(value: Any) -> Any:
    """``bytes`` as ``str`` (UTF-8, undecodable bytes replaced); anything else as it is."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def always_true(reply: Any) -> bool:
    """BGSAVE, BGREWRITEAOF: True for any reply that is not an error (their text varies)."""
    return True


def text_list(reply: Any) -> list[str]:
    """An array of strings as ``str``, whatever ``decode_responses`` says."""
    return [to_text(item) for item in reply]


def flat_maps(reply: Any) -> Any:
    """A list of RESP3 maps as RESP2's flat ``[k1, v1, k2, v2 ...]`` lists (RESP2 as it is)."""
    if reply is None:
        return None
    return [
        [item for pair in entry.items() for item in pair] if isinstance(entry, dict) else entry
        for entry in reply
    ]


def pair_dicts(reply: Any) -> list[dict[Any, Any]]:
    """MODULE LIST, HOTKEYS GET: each RESP2 flat list (or RESP3 map) as a dict."""
    return [pairs_to_dict(entry) for entry in reply]


def command_table(reply: Any) -> dict[str, dict[str, Any]]:
    """COMMAND: ``{name: {"name", "arity", "flags", "first_key_pos", ...}}``.

    Names, flags and ACL categories become ``str``; tips, key specifications
    and subcommands stay as the server sent them (so, like redis-py's, they
    differ between RESP2 and RESP3: key specifications are maps on RESP3).
    """
    table: dict[str, dict[str, Any]] = {}
    for entry in reply:
        name = to_text(entry[0])
        fields: dict[str, Any] = {
            "name": name,
            "arity": int(entry[1]),
            "flags": text_list(entry[2]),
            "first_key_pos": entry[3],
            "last_key_pos": entry[4],
            "step_count": entry[5],
        }
        if len(entry) > 6:
            fields["acl_categories"] = text_list(entry[6])
        if len(entry) > 7:
            fields["tips"] = entry[7]
            fields["key_specifications"] = entry[8]
            fields["subcommands"] = entry[9]
        table[name] = fields
    return table


_DEBUG_OBJECT_INTS = ("refcount", "serializedlength", "lru", "lru_seconds_idle")


def debug_object(reply: Any) -> dict[str, Any]:
    """DEBUG OBJECT's ``Value at:0x... refcount:1 encoding:...`` line as a dict.

    The first word (``Value``) is the value of ``"type"``; the counters
    named in ``_DEBUG_OBJECT_INTS`` become ints, the rest stay ``str``.
    """
    fields: dict[str, Any] = {}
    for item in ("type:" + to_text(reply)).split():
        name, _, value = item.partition(":")
        fields[name] = value
    for name in _DEBUG_OBJECT_INTS:
        if name in fields:
            fields[name] = int(fields[name])
    return fields


def memory_stats(reply: Any) -> dict[str, Any]:
    """MEMORY STATS as a dict with ``str`` keys (the ``db.N`` entries as dicts too).

    As redis-py gives it: on RESP2 every value that came as a string is
    ``str`` (``"peak.percentage": "99.5"``); on RESP3 the values keep the
    server's types (a float there).
    """
    if isinstance(reply, dict):
        stats = {to_text(name): value for name, value in reply.items()}
        for name, value in stats.items():
            if name.startswith("db.") and isinstance(value, dict):
                stats[name] = {to_text(k): v for k, v in value.items()}
        return stats
    stats = {to_text(name): decoded(value) for name, value in pairs_to_dict(reply).items()}
    for name, value in stats.items():
        if name.startswith("db.") and isinstance(value, list):
            stats[name] = {to_text(k): decoded(v) for k, v in pairs_to_dict(value).items()}
    return stats


def slowlog_entries(reply: Any) -> list[dict[str, Any]]:
    """SLOWLOG GET: ``[{"id", "start_time", "duration", "command", ...}]``.

    ``command`` is the arguments joined with spaces; ``complexity`` is there
    when the server sends it (Redis Enterprise), ``client_address`` and
    ``client_name`` when it sends them.  Sent with ``never_decode``, so the
    strings are ``bytes``, as redis-py gives them.
    """
    entries = []
    for item in reply:
        entry: dict[str, Any] = {
            "id": item[0], "start_time": int(item[1]), "duration": int(item[2]),
        }
        if isinstance(item[3], list):
            words, rest = item[3], item[4:6]
        else:
            entry["complexity"] = item[3]
            words, rest = item[4], item[5:7]
        entry["command"] = _joined(words)
        if len(rest) == 2:
            entry["client_address"], entry["client_name"] = rest
        entries.append(entry)
    return entries


def _joined(words: list[Any]) -> Any:
    if words and isinstance(words[0], str):
        return " ".join(words)
    return b" ".join(words)


def acl_user(reply: Any) -> dict[str, Any] | None:
    """ACL GETUSER as redis-py's dict (None for an unknown user).

    ``flags`` and ``passwords`` are lists of ``str``; ``keys`` and
    ``channels`` lists of patterns (``str``); ``commands`` and
    ``categories`` the rules of the ``commands`` text, split by whether
    they name a category (``@``); ``selectors`` lists of ``str``, each
    RESP2's flat ``[k1, v1 ...]``; ``enabled`` says whether the user is on.
    """
    if reply is None:
        return None
    user = {to_text(name): value for name, value in pairs_to_dict(reply).items()}
    user["flags"] = text_list(user["flags"])
    user["passwords"] = text_list(user["passwords"])
    for name in ("keys", "channels"):
        if name in user:
            patterns = user[name]
            if isinstance(patterns, (bytes, str)):
                patterns = to_text(patterns).split(" ")
            user[name] = [] if patterns == [""] else patterns
    if user.get("selectors"):
        user["selectors"] = [text_list(selector) for selector in flat_maps(user["selectors"])]
    rules = to_text(user["commands"]).split(" ")
    user["commands"] = [rule for rule in rules if "@" not in rule]
    user["categories"] = [rule for rule in rules if "@" in rule]
    user["enabled"] = "on" in user["flags"]
    return user


_CLIENT_INFO_INTS = frozenset(
    ("id", "age", "idle", "db", "sub", "psub", "multi", "qbuf", "qbuf-free", "obl",
     "argv-mem", "oll", "omem", "tot-mem")
)


def client_info_fields(text: Any) -> dict[str, Any]:
    """A ``key=value key=value`` client description as a dict (counters as ints)."""
    fields: dict[str, Any] = {}
    for item in to_text(text).split():
        name, _, value = item.partition("=")
        fields[name] = int(value) if name in _CLIENT_INFO_INTS else value
    return fields


def acl_log_entries(reply: Any) -> list[dict[str, Any]] | bool | None:
    """ACL LOG: a list of dicts (``str`` keys and strings, ``client-info``
    parsed, ``age-seconds`` a float); ACL LOG RESET: True."""
    if reply is None:
        return None
    if not isinstance(reply, list):
        return ok(reply)
    entries = []
    for raw in reply:
        entry = {to_text(name): decoded(value) for name, value in pairs_to_dict(raw).items()}
        entry["client-info"] = client_info_fields(entry.get("client-info", ""))
        entry["age-seconds"] = float(entry["age-seconds"])
        entries.append(entry)
    return entries


_SENTINEL_INTS = frozenset(
    ("can-failover-its-master", "config-epoch", "down-after-milliseconds", "failover-timeout",
     "info-refresh", "last-hello-message", "last-ok-ping-reply", "last-ping-reply",
     "last-ping-sent", "master-link-down-time", "master-port", "num-other-sentinels",
     "num-slaves", "o-down-time", "pending-commands", "parallel-syncs", "port", "quorum",
     "role-reported-time", "s-down-time", "slave-priority", "slave-repl-offset",
     "voted-leader-epoch")
)

_SENTINEL_FLAGS = (
    ("is_master", "master"), ("is_slave", "slave"), ("is_sdown", "s_down"),
    ("is_odown", "o_down"), ("is_sentinel", "sentinel"), ("is_disconnected", "disconnected"),
    ("is_master_down", "master_down"),
)


def sentinel_state(reply: Any) -> dict[str, Any]:
    """One SENTINEL MASTER/SLAVES/SENTINELS entry: ``str`` keys and values, the
    counters as ints, ``flags`` as its text plus one ``is_*`` bool per flag."""
    state: dict[str, Any] = {}
    for name, value in pairs_to_dict(reply).items():
        key, text = to_text(name), to_text(value)
        if key in _SENTINEL_INTS:
            try:
                state[key] = int(text)
                continue
            except ValueError:
                pass
        state[key] = text
    flags = set(state["flags"].split(","))
    for name, flag in _SENTINEL_FLAGS:
        state[name] = flag in flags
    return state


def sentinel_states(reply: Any) -> list[dict[str, Any]]:
    """SENTINEL SLAVES, SENTINEL SENTINELS: a :func:`sentinel_state` per entry."""
    return [sentinel_state(entry) for entry in reply]


def sentinel_masters(reply: Any) -> dict[str, dict[str, Any]]:
    """SENTINEL MASTERS: ``{name: state}``."""
    states = sentinel_states(reply)
    return {state["name"]: state for state in states}


def sentinel_address(reply: Any) -> tuple[Any, int] | None:
    """SENTINEL GET-MASTER-ADDR-BY-NAME: ``(host, port)``, None for an unknown name."""
    return (reply[0], int(reply[1])) if reply else None


def cluster_info(reply: Any) -> dict[str, str]:
    """CLUSTER INFO's ``name:value`` lines as ``str -> str``."""
    info = {}
    for line in to_text(reply).splitlines():
        if line:
            name, _, value = line.partition(":")
            info[name] = value
    return info


def cluster_nodes(reply: Any) -> dict[str, dict[str, Any]]:
    """CLUSTER NODES (one text) or CLUSTER REPLICAS (a line each) as
    ``{"host:port": {"node_id", "hostname", "flags", "master_id", ...}}``, all text ``str``.

    ``slots`` lists each range as ``[first, last]`` (``[slot]`` for one),
    ``migrations`` the slots being moved, ``connected`` is a bool.
    """
    lines = to_text(reply).splitlines() if isinstance(reply, (bytes, str)) else reply
    nodes = {}
    for line in lines:
        words = to_text(line).split(" ")
        node_id, address, flags, master_id, ping, pong, epoch, link = words[:8]
        endpoint, _, bus = address.partition("@")
        # "ip:port@cport[,hostname]"
        hostname = bus.split(",")[1] if "," in bus else ""
        slots: list[list[str]] = []
        migrations: list[dict[str, str]] = []
        for word in words[8:]:
            if "->-" in word:
                slot, _, node = word[1:-1].partition("->-")
                migrations.append({"slot": slot, "node_id": node, "state": "migrating"})
            elif "-<-" in word:
                slot, _, node = word[1:-1].partition("-<-")
                migrations.append({"slot": slot, "node_id": node, "state": "importing"})
            else:
                slots.append(word.split("-"))
        nodes[endpoint] = {
            "node_id": node_id, "hostname": hostname, "flags": flags,
            "master_id": master_id, "last_ping_sent": ping, "last_pong_rcvd": pong,
            "epoch": epoch, "slots": slots, "migrations": migrations,
            "connected": link == "connected",
        }
    return nodes


def cluster_slots(reply: Any) -> dict[tuple[int, int], dict[str, Any]]:
    """CLUSTER SLOTS: ``{(first, last): {"primary": (host, port), "replicas": [...]}}``,
    hosts as ``str``."""
    slots = {}
    for first, last, primary, *replicas in reply:
        slots[int(first), int(last)] = {
            "primary": (to_text(primary[0]), primary[1]),
            "replicas": [(to_text(node[0]), node[1]) for node in replicas],
        }
    return slots


def cluster_shards(reply: Any) -> list[dict[str, Any]]:
    """CLUSTER SHARDS: ``[{"slots": [(first, last) ...], "nodes": [{...} ...]}]``.

    The nodes' keys and values are as the server sent them (``bytes``
    unless decoding); the same on RESP2 and RESP3.
    """
    shards = []
    for entry in reply:
        shard = {to_text(name): value for name, value in pairs_to_dict(entry).items()}
        bounds = iter(shard["slots"])
        shards.append({
            "slots": list(zip(bounds, bounds, strict=False)),
            "nodes": [pairs_to_dict(node) for node in shard["nodes"]],
        })
    return shards


# More shapes that leave the reply as it is (see the top of the module).
if TYPE_CHECKING:

    def list_reply(reply: Any) -> list[Any]:
        """An array, as it comes."""

    def optional_integer(reply: Any) -> int | None:
        """An integer reply or nil (None), as it comes."""

    def bytes_reply(reply: Any) -> bytes:
        """A binary reply (sent with ``never_decode``), as it comes."""

else:
    list_reply = optional_integer = bytes_reply = None


# ---------------------------------------------------------------------------
# Sorted sets: scores left as text (ZDIFF, ZRANDMEMBER, ZMPOP WITHSCORES).


def score_text(score: Any, decode: bool) -> Any:
    """A score as RESP2 sends it: the text as it came, or a RESP3 double as ``%.17g`` text."""
    if isinstance(score, float):
        text = format(score, ".17g")
        return text if decode else text.encode()
    return score


class RawScores:
    """Replies whose scores redis-py leaves as RESP2 text, whatever the protocol.

    RESP3 sends doubles in ``[member, score]`` pairs; RESP2 sends text, flat
    or in pairs.  Both come out as RESP2 gives them, scores as ``bytes``
    (``str`` when decoding).
    """

    __slots__ = ("decode",)

    def __init__(self, decode: bool) -> None:
        self.decode = decode

    def flat(self, reply: Any) -> list[Any]:
        """ZDIFF/ZRANDMEMBER WITHSCORES: ``[m1, s1, m2, s2 ...]``."""
        if not reply or not isinstance(reply[0], list):
            return list(reply or ())
        decode = self.decode
        return [item for member, score in reply for item in (member, score_text(score, decode))]

    def popped(self, reply: Any) -> list[Any] | None:
        """ZMPOP/BZMPOP: ``[key, [[member, score] ...]]``, or None."""
        if not reply:
            return None
        pairs = [[member, score_text(score, self.decode)] for member, score in reply[1]]
        return [reply[0], pairs]


# ---------------------------------------------------------------------------
# Maps with text keys, whatever the protocol and decoding.


def text_keys(reply: Any) -> dict[str, Any]:
    """A map (RESP3) or flat pairs (RESP2) as a dict with ``str`` keys; values as they come."""
    return {to_text(key): value for key, value in pairs_to_dict(reply).items()}


def text_keys_list(reply: Any) -> list[dict[str, Any]]:
    """A list of maps or flat pairs (XINFO GROUPS, XINFO CONSUMERS) as dicts with ``str`` keys."""
    return [text_keys(item) for item in reply]


def deep_flat_maps(reply: Any) -> Any:
    """RESP3 maps, all the way down, as RESP2's flat ``[k1, v1 ...]`` lists (FUNCTION STATS)."""
    if isinstance(reply, dict):
        return [item for key, value in reply.items() for item in (key, deep_flat_maps(value))]
    if isinstance(reply, list):
        return [deep_flat_maps(item) for item in reply]
    return reply


# ---------------------------------------------------------------------------
# Streams.


def stream_entries_claimed(reply: Any) -> list[tuple[Any, ...]]:
    """:func:`stream_entries` for XREADGROUP CLAIM: ``(id, {...}, idle, deliveries) ...``."""
    if reply is None:
        return []
    return [
        (None, None) if entry is None else (entry[0], pairs_to_dict(entry[1]), *entry[2:])
        for entry in reply
    ]


def xread_claimed(reply: Any) -> list[list[Any]]:
    """:func:`xread_reply` with :func:`stream_entries_claimed` entries."""
    if not reply:
        return []
    items = reply.items() if isinstance(reply, dict) else reply
    return [[stream, stream_entries_claimed(entries)] for stream, entries in items]


def _entry_or_none(entry: Any) -> Any:
    if entry is None or entry[0] is None:
        return entry
    return (entry[0], pairs_to_dict(entry[1]))


def stream_info(reply: Any) -> dict[str, Any]:
    """XINFO STREAM: a dict with ``str`` keys, first and last entries as ``(id, {...})``."""
    info = text_keys(reply)
    if "first-entry" in info:
        info["first-entry"] = _entry_or_none(info["first-entry"])
    if "last-entry" in info:
        info["last-entry"] = _entry_or_none(info["last-entry"])
    return info


def stream_info_full(reply: Any) -> dict[str, Any]:
    """XINFO STREAM FULL: ``entries`` as ``{id: {...}}``; groups and consumers with ``str`` keys."""
    info = text_keys(reply)
    info["entries"] = {entry_id: pairs_to_dict(fields) for entry_id, fields in info["entries"]}
    groups = [text_keys(group) for group in info["groups"]]
    for group in groups:
        consumers = group.get("consumers")
        if consumers and consumers[0] is not None:
            group["consumers"] = [text_keys(consumer) for consumer in consumers]
    info["groups"] = groups
    return info


def pending_summary(reply: Any) -> dict[str, Any]:
    """XPENDING: ``{"pending": n, "min": id, "max": id, "consumers": [{"name", "pending"}]}``."""
    consumers = [{"name": name, "pending": int(count)} for name, count in reply[3] or ()]
    return {"pending": reply[0], "min": reply[1], "max": reply[2], "consumers": consumers}


_PENDING_FIELDS = ("message_id", "consumer", "time_since_delivered", "times_delivered")


def pending_details(reply: Any) -> list[dict[str, Any]]:
    """XPENDING with a range: one dict per entry, keyed as redis-py keys them."""
    return [dict(zip(_PENDING_FIELDS, entry, strict=False)) for entry in reply]


def autoclaimed(reply: Any) -> list[Any]:
    """XAUTOCLAIM: ``[next start id, [(id, {...}) ...], deleted ids]`` (two items before 7.0)."""
    return [reply[0], stream_entries(reply[1]), *reply[2:]]


def autoclaimed_ids(reply: Any) -> list[Any]:
    """XAUTOCLAIM JUSTID: the claimed ids."""
    result: list[Any] = reply[1]
    return result


# ---------------------------------------------------------------------------
# Functions.


def function_libraries(reply: Any) -> list[Any]:
    """FUNCTION LIST as RESP2 gives it: each library, and each of its functions, flat pairs."""
    libraries = []
    for library in reply:
        if isinstance(library, dict):
            flat: list[Any] = []
            for key, value in library.items():
                if to_text(key) == "functions":
                    value = [deep_flat_maps(function) for function in value]
                flat += (key, value)
            library = flat
        libraries.append(library)
    return libraries


# More shapes that leave the reply as it is (for the type checker only, as above).


def flatten_map(reply: Any) -> Any:
    """A RESP3 map as RESP2's flat ``[k1, v1, k2, v2 ...]``; anything else as it is."""
    if isinstance(reply, dict):
        return [item for pair in reply.items() for item in pair]
    return reply


class StralgoReply:
    """STRALGO LCS: the common string as ``str``, its length (LEN), or with IDX
    ``{"matches": [...], "len": n}``, each match a list of ``(start, end)``
    tuples (led by the match's length with WITHMATCHLEN), as redis-py gives."""

    __slots__ = ("idx", "length", "withmatchlen")

    def __init__(self, length: bool, idx: bool, withmatchlen: bool) -> None:
        self.length = length
        self.idx = idx
        self.withmatchlen = withmatchlen

    def __call__(self, reply: Any) -> Any:
        if self.length:
            return int(reply)
        if not self.idx:
            return to_text(reply)
        reply = flatten_map(reply)
        if self.withmatchlen:
            matches = [[int(m[-1]), *(tuple(r) for r in m[:-1])] for m in reply[1]]
        else:
            matches = [[tuple(r) for r in m] for m in reply[1]]
        return {to_text(reply[0]): matches, to_text(reply[2]): int(reply[3])}


if TYPE_CHECKING:

    def integer_list(reply: Any) -> list[int]:
        """An array of integers, as it comes."""

    def any_reply(reply: Any) -> Any:
        """A reply of any type (a script's, a module's), as it comes."""

    def string_int_or_none(reply: Any) -> ReplyT | int | None:
        """A string, an integer or nil, as it comes."""

else:
    integer_list = any_reply = string_int_or_none = None


class SortGroups:
    """SORT with ``groups``: the flat reply as tuples of ``size`` (one per element)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, reply: Any) -> Any:
        if not reply or not isinstance(reply, list):
            return reply
        size = self.size
        return list(zip(*[reply[i::size] for i in range(size)], strict=False))


def texts_or_none(reply: Any) -> list[str | None]:
    """An array of strings as ``str`` whatever the decoding (GEOHASH), nils as None."""
    return [text_or_none(item) for item in reply]


def geopos_reply(reply: Any) -> list[tuple[float, float] | None]:
    """GEOPOS: ``(longitude, latitude)`` floats per member, None for a missing one."""
    return [None if pos is None else (float(pos[0]), float(pos[1])) for pos in reply]


class GeoResults:
    """GEOSEARCH/GEORADIUS: members, or ``[member, dist, hash, (lon, lat)]`` rows with
    the parts asked for (Redis sends them in that order), as floats, int and a tuple."""

    __slots__ = ("casts",)

    def __init__(self, withdist: bool, withhash: bool, withcoord: bool) -> None:
        casts: list[Callable[[Any], Any]] = []
        if withdist:
            casts.append(float)
        if withhash:
            casts.append(int)
        if withcoord:
            casts.append(_coordinates)
        self.casts = casts

    def __call__(self, reply: Any) -> list[Any]:
        rows = reply if isinstance(reply, list) else [reply]
        casts = self.casts
        if not casts:
            return rows
        return [
            [row[0], *(cast(part) for cast, part in zip(casts, row[1:], strict=False))]
            for row in rows
        ]


def _coordinates(pair: Any) -> tuple[float, float]:
    return float(pair[0]), float(pair[1])
