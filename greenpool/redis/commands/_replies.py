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

else:
    integer_list = None


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
