"""Sorted set commands: ZADD, ZRANGE, ZSCORE, BZPOPMIN ...."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..exceptions import DataError
from ._args import (
    SCALARS,
    block_timeout,
    choice,
    integer,
    key_count,
    key_list,
    list_or_args,
    non_empty_mapping,
    scan_args,
    score_bound,
)
from ._base import CommandGroup, EncodableT, KeyT, ReplyT, ScoreCastT
from ._replies import (
    RawScores,
    ScorePairs,
    float_or_none,
    floats_or_none,
    integer_reply,
    optional_string,
    popped_member,
    score_pairs,
    score_parser,
    string_list,
)


class SortedSetCommands(CommandGroup):
    """The sorted set group: redis-py's methods for it."""

    def bzpopmin(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT, float] | None:
        """Pop the lowest-scored member of the first non-empty sorted set, waiting (0: forever).

        Return ``(key, member, score)``, or None on timeout.  Runs on a
        connection of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        names = list_or_args("keys", keys, ())
        return self.execute_command(
            "BZPOPMIN", *names, seconds, _block_timeout=seconds or None, _parse=popped_member
        )

    def bzpopmax(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT, float] | None:
        """Pop the highest-scored member of the first non-empty sorted set, waiting (0: forever).

        Return ``(key, member, score)``, or None on timeout.  Runs on a
        connection of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        names = list_or_args("keys", keys, ())
        return self.execute_command(
            "BZPOPMAX", *names, seconds, _block_timeout=seconds or None, _parse=popped_member
        )

    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[EncodableT, Any],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> int | float | None:
        """Add members with scores from ``mapping`` (member -> score).

        Return how many were added (added or changed with ``ch``); with
        ``incr`` (one member) its new score, or None if ``nx``/``xx``/``gt``/
        ``lt`` prevented the change.
        """
        non_empty_mapping("mapping", mapping)
        if nx and xx:
            raise DataError("nx", nx, "cannot be combined with xx=True")
        if gt and lt:
            raise DataError("gt", gt, "cannot be combined with lt=True")
        if nx and (gt or lt):
            raise DataError("nx", nx, f"cannot be combined with {'gt' if gt else 'lt'}=True")
        if incr and len(mapping) != 1:
            raise DataError("incr", incr, "needs a mapping of exactly one member")
        args: list[Any] = ["ZADD", name]
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        if ch:
            args.append("CH")
        if incr:
            args.append("INCR")
        if gt:
            args.append("GT")
        if lt:
            args.append("LT")
        for member, score in mapping.items():
            if isinstance(score, bool) or not isinstance(score, SCALARS):
                raise DataError("mapping", mapping, f"the score of {member!r} is not a number")
            args += (score, member)
        if incr:
            reply: int | float | None = self.execute_command(*args, _parse=float_or_none)
        else:
            reply = self.execute_command(*args)
        return reply

    def zrem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove members; return how many were there."""
        return self.execute_command("ZREM", name, *values, _parse=integer_reply)

    def zscore(self, name: KeyT, value: EncodableT) -> float | None:
        """Return the member's score, or None."""
        return self.execute_command("ZSCORE", name, value, _parse=float_or_none)

    def zincrby(self, name: KeyT, amount: float, value: EncodableT) -> float:
        """Add ``amount`` to the member's score; return the new score."""
        return self.execute_command(
            "ZINCRBY", name, score_bound("amount", amount), value, _parse=float
        )

    def zcard(self, name: KeyT) -> int:
        """Return the number of members."""
        return self.execute_command("ZCARD", name, _parse=integer_reply)

    def zcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Return how many members score between ``min`` and ``max`` (``"(1"``: exclusive)."""
        return self.execute_command(
            "ZCOUNT", name, score_bound("min", min), score_bound("max", max), _parse=integer_reply
        )

    def _zrank(
        self, command: str, name: KeyT, value: EncodableT, withscore: bool, cast: ScoreCastT
    ) -> int | list[Any] | None:
        if withscore:
            parse = ScorePairs(cast, self.decode_responses).rank
            reply: int | list[Any] | None = self.execute_command(
                command, name, value, "WITHSCORE", _parse=parse
            )
        else:
            reply = self.execute_command(command, name, value)
        return reply

    def zrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> int | list[Any] | None:
        """Return the member's rank (lowest score first), or None.

        With ``withscore`` (Redis 7.2+) return ``[rank, score]``.
        """
        return self._zrank("ZRANK", name, value, withscore, score_cast_func)

    def zrevrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> int | list[Any] | None:
        """Return the member's rank (highest score first), or None; ``[rank, score]`` too."""
        return self._zrank("ZREVRANK", name, value, withscore, score_cast_func)

    def _zrange_command(self, args: list[Any], withscores: bool, cast: ScoreCastT) -> list[Any]:
        if withscores:
            args.append("WITHSCORES")
            reply: list[Any] = self.execute_command(
                *args, _parse=score_parser(cast, self.decode_responses)
            )
        else:
            reply = self.execute_command(*args)
        return reply

    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> list[Any]:
        """Return members from ``start`` to ``end``: ranks, or scores/lex bounds.

        ``desc`` reverses the order (then ``start`` is the higher bound for
        ``byscore``/``bylex``); ``offset``/``num`` page through a score or lex
        range.  With ``withscores`` return ``[(member, score) ...]``, the
        scores passed through ``score_cast_func``.
        """
        if bylex and withscores:
            raise DataError("withscores", withscores, "cannot be combined with bylex=True")
        bounds = _range_args(start, end, desc, byscore, bylex, offset, num)
        if desc and not (byscore or bylex):
            return self.zrevrange(name, bounds[0], bounds[1], withscores, score_cast_func)
        return self._zrange_command(["ZRANGE", name, *bounds], withscores, score_cast_func)

    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """Return members by rank from ``start`` to ``end``, highest score first."""
        args: list[Any] = ["ZREVRANGE", name, integer("start", start), integer("end", end)]
        return self._zrange_command(args, withscores, score_cast_func)

    def _zrangebyscore(
        self,
        command: str,
        name: KeyT,
        low: EncodableT,
        high: EncodableT,
        start: int | None,
        num: int | None,
        withscores: bool,
        cast: ScoreCastT,
    ) -> list[Any]:
        args: list[Any] = [command, name, low, high, *_limit_args(start, num)]
        return self._zrange_command(args, withscores, cast)

    def zrangebyscore(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """Return members scoring between ``min`` and ``max``, lowest first (paged by start/num)."""
        return self._zrangebyscore(
            "ZRANGEBYSCORE",
            name,
            score_bound("min", min),
            score_bound("max", max),
            start,
            num,
            withscores,
            score_cast_func,
        )

    def zrevrangebyscore(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """Return members scoring between ``max`` and ``min``, highest first."""
        return self._zrangebyscore(
            "ZREVRANGEBYSCORE",
            name,
            score_bound("max", max),
            score_bound("min", min),
            start,
            num,
            withscores,
            score_cast_func,
        )

    def zremrangebyrank(self, name: KeyT, min: int, max: int) -> int:
        """Remove members ranked ``min`` to ``max``; return how many."""
        return self.execute_command(
            "ZREMRANGEBYRANK", name, integer("min", min), integer("max", max), _parse=integer_reply
        )

    def zremrangebyscore(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Remove members scoring between ``min`` and ``max``; return how many."""
        return self.execute_command(
            "ZREMRANGEBYSCORE",
            name,
            score_bound("min", min),
            score_bound("max", max),
            _parse=integer_reply,
        )

    def zpopmin(self, name: KeyT, count: int | None = None) -> list[tuple[ReplyT, float]]:
        """Remove and return the ``count`` (default 1) lowest: ``[(member, score) ...]``."""
        if count is None:
            reply: list[tuple[ReplyT, float]] = self.execute_command(
                "ZPOPMIN", name, _parse=score_pairs
            )
        else:
            reply = self.execute_command(
                "ZPOPMIN", name, integer("count", count, 0), _parse=score_pairs
            )
        return reply

    def zpopmax(self, name: KeyT, count: int | None = None) -> list[tuple[ReplyT, float]]:
        """Remove and return the ``count`` (default 1) highest: ``[(member, score) ...]``."""
        if count is None:
            reply: list[tuple[ReplyT, float]] = self.execute_command(
                "ZPOPMAX", name, _parse=score_pairs
            )
        else:
            reply = self.execute_command(
                "ZPOPMAX", name, integer("count", count, 0), _parse=score_pairs
            )
        return reply

    def zmscore(self, key: KeyT, members: Sequence[EncodableT]) -> list[float | None]:
        """Return the members' scores (None for a missing one)."""
        if isinstance(members, SCALARS) or not members:
            raise DataError("members", members, "must be a non-empty list")
        return self.execute_command("ZMSCORE", key, *members, _parse=floats_or_none)

    def zscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: KeyT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> tuple[int, list[tuple[ReplyT, Any]]]:
        """Return ``(next cursor, [(member, score) ...])`` for one ZSCAN step."""
        return self.execute_command(
            "ZSCAN",
            name,
            integer("cursor", cursor, 0),
            *scan_args(match, count),
            _parse=ScorePairs(score_cast_func, self.decode_responses).scan,
        )

    def zscan_iter(
        self,
        name: KeyT,
        match: KeyT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> Iterator[tuple[ReplyT, Any]]:
        """Yield ``(member, score)`` pairs, ZSCAN step by step."""
        cursor = 0
        while True:
            cursor, pairs = self.zscan(name, cursor, match, count, score_cast_func)
            yield from pairs
            if cursor == 0:
                return

    def zlexcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Return how many members sort between the lex bounds ``min`` and ``max``.

        Bounds are ``"[a"`` (inclusive), ``"(a"`` (exclusive), ``"-"`` and
        ``"+"``; all members must have the same score for a lex range to
        mean anything.
        """
        return self.execute_command("ZLEXCOUNT", name, min, max, _parse=integer_reply)

    def zrangebylex(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> list[ReplyT]:
        """Return the members between the lex bounds ``min`` and ``max`` (paged by start/num)."""
        return self.execute_command(
            "ZRANGEBYLEX", name, min, max, *_limit_args(start, num), _parse=string_list
        )

    def zrevrangebylex(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> list[ReplyT]:
        """Return the members between the lex bounds ``max`` and ``min``, in reverse order."""
        return self.execute_command(
            "ZREVRANGEBYLEX", name, max, min, *_limit_args(start, num), _parse=string_list
        )

    def zremrangebylex(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Remove the members between the lex bounds ``min`` and ``max``; return how many."""
        return self.execute_command("ZREMRANGEBYLEX", name, min, max, _parse=integer_reply)

    def zrangestore(
        self,
        dest: KeyT,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        byscore: bool = False,
        bylex: bool = False,
        desc: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> int:
        """Store the members :meth:`zrange` would return in ``dest``; return how many."""
        bounds = _range_args(start, end, desc, byscore, bylex, offset, num)
        return self.execute_command("ZRANGESTORE", dest, name, *bounds, _parse=integer_reply)

    def zrandmember(
        self, key: KeyT, count: int | None = None, withscores: bool = False
    ) -> ReplyT | list[ReplyT] | None:
        """Return a random member (None if the set is missing), or a list of ``count``.

        A negative ``count`` may repeat members.  With ``withscores`` (which
        needs ``count``) the list is flat, ``[member, score ...]``, the
        scores as RESP2 sends them (text), as redis-py gives them.
        """
        if count is None:
            if withscores:
                raise DataError("withscores", withscores, "needs count")
            reply: ReplyT | list[ReplyT] | None = self.execute_command(
                "ZRANDMEMBER", key, _parse=optional_string
            )
        elif withscores:
            reply = self.execute_command(
                "ZRANDMEMBER",
                key,
                integer("count", count),
                "WITHSCORES",
                _parse=RawScores(self.decode_responses).flat,
            )
        else:
            reply = self.execute_command(
                "ZRANDMEMBER", key, integer("count", count), _parse=string_list
            )
        return reply

    def zdiff(self, keys: Sequence[KeyT], withscores: bool = False) -> list[ReplyT]:
        """Return the members of the first set that are in none of the others.

        With ``withscores`` the list is flat, ``[member, score ...]``, the
        scores as RESP2 sends them (text), as redis-py gives them.
        """
        names = key_list("keys", keys)
        if withscores:
            return self.execute_command(
                "ZDIFF",
                len(names),
                *names,
                "WITHSCORES",
                _parse=RawScores(self.decode_responses).flat,
            )
        return self.execute_command("ZDIFF", len(names), *names, _parse=string_list)

    def zdiffstore(self, dest: KeyT, keys: Sequence[KeyT]) -> int:
        """Store :meth:`zdiff`'s members, with their scores, in ``dest``; return how many."""
        names = key_list("keys", keys)
        return self.execute_command("ZDIFFSTORE", dest, len(names), *names, _parse=integer_reply)

    def zinter(
        self,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
        withscores: bool = False,
    ) -> list[Any]:
        """Return the members of every set; ``[(member, score) ...]`` with ``withscores``.

        ``keys`` may map each key to its weight; ``aggregate`` ("SUM",
        "MIN", "MAX") says how the weighted scores combine.
        """
        args = _aggregate_args("ZINTER", keys, aggregate)
        return self._zrange_command(args, withscores, float)

    def zinterstore(
        self,
        dest: KeyT,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
    ) -> int:
        """Store :meth:`zinter`'s members with their scores in ``dest``; return how many."""
        args = _aggregate_args("ZINTERSTORE", keys, aggregate, dest)
        return self.execute_command(*args, _parse=integer_reply)

    def zunion(
        self,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """Return the members of any set; ``[(member, score) ...]`` with ``withscores``.

        ``keys`` may map each key to its weight; ``aggregate`` says how the
        weighted scores combine; scores pass through ``score_cast_func``.
        """
        args = _aggregate_args("ZUNION", keys, aggregate)
        return self._zrange_command(args, withscores, score_cast_func)

    def zunionstore(
        self,
        dest: KeyT,
        keys: Sequence[KeyT] | Mapping[KeyT, float],
        aggregate: str | None = None,
    ) -> int:
        """Store :meth:`zunion`'s members with their scores in ``dest``; return how many."""
        args = _aggregate_args("ZUNIONSTORE", keys, aggregate, dest)
        return self.execute_command(*args, _parse=integer_reply)

    def zintercard(self, numkeys: int, keys: list[KeyT], limit: int = 0) -> int:
        """Return how many members all the sets share, counting up to ``limit`` (0: no limit)."""
        names = key_list("keys", keys)
        return self.execute_command(
            "ZINTERCARD",
            key_count("numkeys", numkeys, names),
            *names,
            "LIMIT",
            integer("limit", limit, 0),
            _parse=integer_reply,
        )

    def zmpop(
        self,
        num_keys: int,
        keys: list[KeyT],
        min: bool | None = False,
        max: bool | None = False,
        count: int | None = 1,
    ) -> list[Any] | None:
        """Pop up to ``count`` lowest (``min``) or highest (``max``) members of a set.

        The first non-empty set of ``keys`` is popped.  Return ``[key,
        [[member, score] ...]]``, the scores as RESP2 sends them (text), as
        redis-py gives them; None when every set is empty.
        """
        names = key_list("keys", keys)
        args: list[Any] = ["ZMPOP", key_count("num_keys", num_keys, names), *names]
        args.append(_min_or_max(min, max))
        if count != 1:
            args += ["COUNT", integer("count", count, 1)]
        return self.execute_command(*args, _parse=RawScores(self.decode_responses).popped)

    def bzmpop(
        self,
        timeout: float,
        numkeys: int,
        keys: list[KeyT],
        min: bool | None = False,
        max: bool | None = False,
        count: int | None = 1,
    ) -> list[Any] | None:
        """:meth:`zmpop`, waiting up to ``timeout`` s (0: forever); None on timeout.

        Runs on a connection of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        names = key_list("keys", keys)
        return self.execute_command(
            "BZMPOP",
            seconds,
            key_count("numkeys", numkeys, names),
            *names,
            _min_or_max(min, max),
            "COUNT",
            integer("count", count, 1),
            _block_timeout=seconds or None,
            _parse=RawScores(self.decode_responses).popped,
        )


_AGGREGATES = ("SUM", "MIN", "MAX", "COUNT")


def _aggregate_args(command: str, keys: Any, aggregate: str | None, dest: Any = None) -> list[Any]:
    """ZINTER/ZUNION[STORE]: the keys (with WEIGHTS when ``keys`` maps them) and AGGREGATE."""
    names = key_list("keys", keys)
    args: list[Any] = [command] if dest is None else [command, dest]
    args += [len(names), *names]
    if isinstance(keys, Mapping):
        args.append("WEIGHTS")
        args += [score_bound("keys", weight) for weight in keys.values()]
    if aggregate:
        args += ["AGGREGATE", choice("aggregate", aggregate, _AGGREGATES)]
    return args


def _min_or_max(min: bool | None, max: bool | None) -> str:
    if bool(min) == bool(max):
        raise DataError("min", min, f"exactly one of min and max={max!r} must be True")
    return "MIN" if min else "MAX"


def _limit_args(start: int | None, num: int | None) -> list[Any]:
    """``LIMIT start num`` of the *BYSCORE and *BYLEX commands: both or neither."""
    if (start is None) != (num is None):
        raise DataError("start", start, f"and num={num!r} must be given together")
    if start is None:
        return []
    return ["LIMIT", integer("start", start), integer("num", num)]


def _range_args(
    start: Any,
    end: Any,
    desc: bool,
    byscore: bool,
    bylex: bool,
    offset: int | None,
    num: int | None,
) -> list[Any]:
    """ZRANGE's and ZRANGESTORE's arguments after the key: bounds, BYSCORE/BYLEX, REV, LIMIT."""
    if byscore and bylex:
        raise DataError("byscore", byscore, "cannot be combined with bylex=True")
    if (offset is None) != (num is None):
        raise DataError("offset", offset, f"and num={num!r} must be given together")
    if offset is not None and not (byscore or bylex):
        raise DataError("offset", offset, "needs byscore=True or bylex=True")
    if not (byscore or bylex):
        args: list[Any] = [integer("start", start), integer("end", end)]
    else:
        args = [score_bound("start", start), score_bound("end", end)]
        args.append("BYSCORE" if byscore else "BYLEX")
    if desc:
        args.append("REV")
    if offset is not None:
        args += ["LIMIT", integer("offset", offset), integer("num", num)]
    return args
