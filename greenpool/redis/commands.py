"""The Redis command surface, with redis-py's method names, arguments and return types.

:class:`CommandsMixin` does no I/O.  Each method checks its arguments, builds
the command and hands it to the client it is mixed into, together with the
function that turns the raw reply into what redis-py's method returns.  The
client provides:

``execute_command(*args, **options) -> Any``
    Send one command (``args[0]`` is its name, multi-word names are split:
    ``"CONFIG", "GET"``) and return its reply: the raw reply as
    :class:`~greenpool.protocol.resp.RespParser` gives it, passed through
    ``options["_parse"]`` when that is given.  An error reply is raised as
    a :class:`~greenpool.errors.ReplyError` (``_parse`` is not called).  A
    pipeline may buffer the command and apply ``_parse`` when it runs, so
    the mixin never touches a reply itself.  The other option passed is
    ``never_decode=True`` (by :meth:`~CommandsMixin.dump`): the reply is a
    binary blob and must stay ``bytes`` even when the client decodes.

``execute_blocking(*args, timeout: float | None, **options) -> Any``
    The same (``_parse`` included), for the commands that may block in the
    server (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, XREAD with
    ``block``): the client runs them on a connection of their own instead of
    a shared pipelined one.  ``timeout`` is how long the server may block, in seconds, or None
    when it may block forever (a timeout of 0); the client adds its own
    margin for the round trip.

``protocol`` (2 or 3) and ``decode_responses`` (bool)
    The RESP version and whether strings come back as ``str``.

Replies are shaped the same whichever the RESP version: the shapes redis-py
gives on RESP2 (which redis-py 8 also gives on its default RESP3
connections).  Where redis-py converts only for some inputs, so does this
module: for example :meth:`~CommandsMixin.info` and
:meth:`~CommandsMixin.config_get` always give ``str`` keys, while
:meth:`~CommandsMixin.hgetall` keys follow ``decode_responses``.

Differences from redis-py: an error reply raises ReplyError (redis-py raises
``ResponseError`` and subclasses); bad option arguments (expiry times,
counts, flag combinations ...) raise :class:`DataError` here, before
anything is sent, in more cases than redis-py checks, while a key or value
of a type that cannot be sent (None, say) is left to the client's encoder;
there is no ``select`` (the database is a connection option, and
connections are shared) and no dict-like ``__getitem__``/``__delitem__``;
:meth:`~CommandsMixin.sismember` and :meth:`~CommandsMixin.smismember` give
``bool`` where redis-py gives ``0``/``1`` (equal values, ``bool`` being an
``int``); a ``score_cast_func`` is given ``str`` scores when decoding on
RESP3 too, where redis-py gives it ``bytes``.
"""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import GreenpoolError, ReplyError

__all__ = ["CommandsMixin", "DataError", "Script", "parse_info"]

KeyT = bytes | str | memoryview
"""A key, a field or a channel name."""

EncodableT = bytes | bytearray | memoryview | str | int | float
"""What can be sent as one argument."""

ReplyT = bytes | str
"""A string reply: ``bytes``, or ``str`` when the client decodes."""

MemberSetT = set[bytes | str]
"""The members of a set (named so because ``CommandsMixin.set`` hides ``set``)."""

ExpiryT = int | datetime.timedelta
AbsExpiryT = int | datetime.datetime
ScoreCastT = Callable[[Any], Any]


class DataError(GreenpoolError, ValueError):
    """A command was called with a bad argument; nothing was sent.

    The message names the argument and its value.  redis-py has an exception
    of the same name for the same purpose.
    """

    def __init__(self, argument: str, value: Any, reason: str) -> None:
        self.argument = argument
        self.value = value
        super().__init__(f"{argument}={value!r}: {reason}")


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------

_SCALARS = (bytes, bytearray, memoryview, str, int, float)


def _int(argument: str, value: Any, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(argument, value, "must be an integer")
    if minimum is not None and value < minimum:
        raise DataError(argument, value, f"must be >= {minimum}")
    return value


def _number(argument: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(argument, value, "must be a number")
    return value


def _score(argument: str, value: Any) -> EncodableT:
    """A score: a number, or a string such as ``"+inf"`` or ``"(1.5"``."""
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        raise DataError(argument, value, "must be a number or a string such as '+inf'")
    return value


def _timeout(argument: str, value: Any) -> int | float:
    """A blocking command's timeout in seconds: a number >= 0 (None means 0)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise DataError(argument, value, "must be a number of seconds >= 0 (0 waits forever)")
    return value


def _relative(argument: str, value: Any, scale: int, positive: bool) -> int:
    """An int or timedelta as an int count of 1/scale seconds."""
    if isinstance(value, datetime.timedelta):
        amount = int(value.total_seconds() * scale)
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        amount = int(value)
    else:
        unit = "seconds" if scale == 1 else "milliseconds"
        raise DataError(argument, value, f"must be an int of {unit} or a datetime.timedelta")
    if positive and amount <= 0:
        raise DataError(argument, value, "must be a positive duration")
    return amount


def _absolute(argument: str, value: Any, scale: int) -> int:
    """An int unix time or a datetime as an int count of 1/scale seconds since the epoch."""
    if isinstance(value, datetime.datetime):
        amount = int(value.timestamp() * scale)
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = value
    else:
        unit = "seconds" if scale == 1 else "milliseconds"
        raise DataError(argument, value, f"must be an int unix time in {unit} or a datetime")
    if amount <= 0:
        raise DataError(argument, value, "must be after the epoch")
    return amount


def _expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> list[str]:
    if nx and (xx or gt or lt):
        other = "xx" if xx else "gt" if gt else "lt"
        raise DataError("nx", nx, f"cannot be combined with {other}=True")
    if gt and lt:
        raise DataError("gt", gt, "cannot be combined with lt=True")
    flags = []
    if nx:
        flags.append("NX")
    if xx:
        flags.append("XX")
    if gt:
        flags.append("GT")
    if lt:
        flags.append("LT")
    return flags


def _one_of(**values: Any) -> None:
    """Refuse more than one of ``values`` being set (not None and not False)."""
    given = [name for name, value in values.items() if value is not None and value is not False]
    if len(given) > 1:
        first, second = given[:2]
        raise DataError(first, values[first], f"cannot be combined with {second}")


def _expiry_args(
    ex: Any, px: Any, exat: Any, pxat: Any, other: str | None = None, flag: bool = False
) -> list[EncodableT]:
    """EX/PX/EXAT/PXAT arguments; at most one of them (and ``other`` when ``flag``)."""
    if other is None:
        _one_of(ex=ex, px=px, exat=exat, pxat=pxat)
    else:
        _one_of(ex=ex, px=px, exat=exat, pxat=pxat, **{other: flag})
    if ex is not None:
        return ["EX", _relative("ex", ex, 1, True)]
    if px is not None:
        return ["PX", _relative("px", px, 1000, True)]
    if exat is not None:
        return ["EXAT", _absolute("exat", exat, 1)]
    if pxat is not None:
        return ["PXAT", _absolute("pxat", pxat, 1000)]
    return []


def _list_or_args(argument: str, keys: Any, args: Sequence[Any]) -> list[Any]:
    """``keys`` (one key, or an iterable of them) followed by ``args``."""
    if isinstance(keys, _SCALARS):
        items = [keys]
    else:
        try:
            items = list(keys)
        except TypeError:
            raise DataError(argument, keys, "must be a key or an iterable of keys") from None
    items.extend(args)
    return items


def _mapping(argument: str, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping) or not value:
        raise DataError(argument, value, "must be a non-empty mapping")
    return value


def _direction(argument: str, value: Any) -> str:
    if isinstance(value, str) and value.upper() in ("LEFT", "RIGHT"):
        return value.upper()
    raise DataError(argument, value, "must be 'LEFT' or 'RIGHT'")


def _scan_args(match: Any, count: Any) -> list[EncodableT]:
    args: list[EncodableT] = []
    if match is not None:
        args += ["MATCH", match]
    if count is not None:
        args += ["COUNT", _int("count", count, 1)]
    return args


def _trim_args(
    maxlen: int | None, minid: EncodableT | None, approximate: bool, limit: int | None
) -> list[Any]:
    """MAXLEN/MINID trimming arguments of XADD and XTRIM."""
    if maxlen is not None:
        args: list[Any] = ["MAXLEN", "~" if approximate else "=", _int("maxlen", maxlen, 0)]
    elif minid is not None:
        args = ["MINID", "~" if approximate else "=", minid]
    elif limit is not None:
        raise DataError("limit", limit, "needs maxlen or minid")
    else:
        return []
    if limit is not None:
        if not approximate:
            raise DataError("limit", limit, "needs approximate=True")
        args += ["LIMIT", _int("limit", limit, 0)]
    return args


# --------------------------------------------------------------------------
# Reply conversions (passed to the client as ``_parse``)
# --------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A string reply as ``str`` (UTF-8, undecodable bytes replaced)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _text_or_none(reply: Any) -> str | None:
    return None if reply is None else _text(reply)


def _ok(reply: Any) -> bool:
    """True for an ``OK`` status reply."""
    return bool(reply == (b"OK" if isinstance(reply, bytes) else "OK"))


def _ok_or_none(reply: Any) -> bool | None:
    """SET: True when written, None when NX/XX prevented it (a nil reply)."""
    return None if reply is None else _ok(reply)


def _pong(reply: Any) -> bool:
    return _text(reply) == "PONG"


def _time(reply: Any) -> tuple[int, int]:
    return int(reply[0]), int(reply[1])


def _timestamp(reply: Any) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(reply) if reply else None


def _pairs_to_dict(reply: Any) -> dict[Any, Any]:
    """A RESP3 map as is, a RESP2 flat ``[k1, v1, k2, v2 ...]`` list as a dict."""
    if isinstance(reply, dict):
        return reply
    if not reply:
        return {}
    it = iter(reply)
    return dict(zip(it, it, strict=False))


def _config(reply: Any) -> dict[str, str]:
    return {_text(name): _text(value) for name, value in _pairs_to_dict(reply).items()}


def _flatten_pairs(reply: Any) -> Any:
    """RESP3's ``[[a, b], [c, d]]`` as RESP2's ``[a, b, c, d]``; flat lists as they are."""
    if reply and isinstance(reply[0], list):
        return [item for pair in reply for item in pair]
    return reply


def _float_or_none(reply: Any) -> float | None:
    return None if reply is None else float(reply)


def _floats_or_none(reply: Any) -> list[float | None]:
    return [None if score is None else float(score) for score in reply]


def _bools(reply: Any) -> list[bool]:
    return [bool(flag) for flag in reply]


def _members(reply: Any) -> MemberSetT:
    return set(reply) if reply else set()


def _popped_pair(reply: Any) -> tuple[Any, Any] | None:
    """BLPOP/BRPOP: ``(key, value)`` or None."""
    return None if reply is None else (reply[0], reply[1])


def _popped_member(reply: Any) -> tuple[Any, Any, float] | None:
    """BZPOPMIN/BZPOPMAX: ``(key, member, score)`` or None."""
    return None if reply is None else (reply[0], reply[1], float(reply[2]))


def _scan(reply: Any) -> tuple[int, list[Any]]:
    return int(reply[0]), reply[1]


def _hscan(reply: Any) -> tuple[int, dict[Any, Any]]:
    return int(reply[0]), _pairs_to_dict(reply[1])


def _stream_entries(reply: Any) -> list[tuple[Any, Any]]:
    """``[[id, [f1, v1 ...]] ...]`` as ``[(id, {f1: v1 ...}) ...]`` ([] for nil)."""
    if reply is None:
        return []
    return [
        (None, None) if entry is None else (entry[0], _pairs_to_dict(entry[1])) for entry in reply
    ]


def _xread(reply: Any) -> list[list[Any]]:
    """RESP2 ``[[stream, entries] ...]`` or a RESP3 map as ``[[stream, [(id, {...}) ...]] ...]``."""
    if not reply:
        return []
    items = reply.items() if isinstance(reply, dict) else reply
    return [[stream, _stream_entries(entries)] for stream, entries in items]


def _numsub(reply: Any) -> list[tuple[Any, int]]:
    return list(_pairs_to_dict(reply).items())


def _cast_score(cast: ScoreCastT, decode: bool, score: Any) -> Any:
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


def _score_pairs(reply: Any) -> list[tuple[Any, float]]:
    """Flat ``[m, s, ...]`` (RESP2) or nested ``[[m, s] ...]`` (RESP3) as ``[(m, s) ...]``."""
    if not reply:
        return []
    if isinstance(reply[0], list):
        return [(member, float(score)) for member, score in reply]
    it = iter(reply)
    return [(member, float(score)) for member, score in zip(it, it, strict=False)]


class _ScorePairs:
    """:func:`_score_pairs` with a ``score_cast_func`` other than float."""

    __slots__ = ("cast", "decode")

    def __init__(self, cast: ScoreCastT, decode: bool) -> None:
        self.cast = cast
        self.decode = decode

    def __call__(self, reply: Any) -> list[tuple[Any, Any]]:
        if not reply:
            return []
        cast, decode = self.cast, self.decode
        if isinstance(reply[0], list):
            return [(member, _cast_score(cast, decode, score)) for member, score in reply]
        it = iter(reply)
        return [
            (member, _cast_score(cast, decode, score))
            for member, score in zip(it, it, strict=False)
        ]

    def rank(self, reply: Any) -> list[Any] | None:
        """ZRANK/ZREVRANK WITHSCORE: ``[rank, score]`` or None."""
        return None if reply is None else [reply[0], _cast_score(self.cast, self.decode, reply[1])]

    def scan(self, reply: Any) -> tuple[int, list[tuple[Any, Any]]]:
        """ZSCAN: ``(cursor, [(member, score) ...])``."""
        return int(reply[0]), self(reply[1])


def _score_parser(cast: ScoreCastT, decode: bool) -> Callable[[Any], list[tuple[Any, Any]]]:
    return _score_pairs if cast is float else _ScorePairs(cast, decode)


def _info_value(value: str) -> Any:
    """One INFO value: a number, a list (``a,b``), a dict (``k=v,k=v``) or the text."""
    if "=" in value:
        fields: dict[str, Any] = {}
        for item in value.split(","):
            if not item:
                continue
            name, equals, sub = item.rpartition("=")
            if equals:
                fields[name] = _info_value(sub)
            else:
                fields[sub] = True
        return fields
    if "," in value:
        return [_info_value(item) for item in value.split(",") if item]
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
    for line in _text(text).splitlines():
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
            info.setdefault("modules", []).append(_info_value(value))
        else:
            info[key] = _info_value(value)
    return info


class CommandsMixin:
    """redis-py compatible command methods; see the module docstring for the contract.

    Mixed into a client class that provides ``execute_command``,
    ``execute_blocking``, ``protocol`` and ``decode_responses``.
    """

    if TYPE_CHECKING:
        protocol: int
        decode_responses: bool

        def execute_command(self, *args: Any, **options: Any) -> Any: ...

        def execute_blocking(self, *args: Any, timeout: float | None, **options: Any) -> Any: ...

    # ======================================================================
    # Connection and server
    # ======================================================================

    def ping(self) -> bool:
        """Ping the server; return True."""
        reply: bool = self.execute_command("PING", _parse=_pong)
        return reply

    def echo(self, value: EncodableT) -> ReplyT:
        """Return ``value`` as the server echoes it."""
        reply: ReplyT = self.execute_command("ECHO", value)
        return reply

    def info(self, section: str | None = None, *args: str) -> dict[str, Any]:
        """Return INFO (for ``section`` and ``args``, or the default set) as a dict.

        See :func:`parse_info` for the shape; keys are always ``str``.
        """
        if section is None:
            reply: dict[str, Any] = self.execute_command("INFO", _parse=parse_info)
        else:
            reply = self.execute_command("INFO", section, *args, _parse=parse_info)
        return reply

    def dbsize(self) -> int:
        """Return the number of keys in the database."""
        reply: int = self.execute_command("DBSIZE")
        return reply

    def flushdb(self, asynchronous: bool = False) -> bool:
        """Delete every key of the database (in the background if ``asynchronous``); True."""
        args = ("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",)
        reply: bool = self.execute_command(*args, _parse=_ok)
        return reply

    def flushall(self, asynchronous: bool = False) -> bool:
        """Delete every key of every database (in the background if ``asynchronous``); True."""
        args = ("FLUSHALL", "ASYNC") if asynchronous else ("FLUSHALL",)
        reply: bool = self.execute_command(*args, _parse=_ok)
        return reply

    def time(self) -> tuple[int, int]:
        """Return the server's clock as ``(seconds, microseconds)``."""
        reply: tuple[int, int] = self.execute_command("TIME", _parse=_time)
        return reply

    def lastsave(self) -> datetime.datetime | None:
        """Return when the database was last saved (local time), None if never."""
        reply: datetime.datetime | None = self.execute_command("LASTSAVE", _parse=_timestamp)
        return reply

    def client_setname(self, name: str) -> bool:
        """Name this connection; True.

        On a client whose connections are shared the name applies to the
        connection the command happened to go through.
        """
        reply: bool = self.execute_command("CLIENT", "SETNAME", name, _parse=_ok)
        return reply

    def client_getname(self) -> str | None:
        """Return the connection's name as ``str``, or None if it has none."""
        reply: str | None = self.execute_command("CLIENT", "GETNAME", _parse=_text_or_none)
        return reply

    def client_id(self) -> int:
        """Return the connection's id."""
        reply: int = self.execute_command("CLIENT", "ID")
        return reply

    def config_get(self, pattern: KeyT = "*", *args: KeyT) -> dict[str, str]:
        """Return the configuration parameters matching the patterns, as ``str -> str``."""
        reply: dict[str, str] = self.execute_command(
            "CONFIG", "GET", pattern, *args, _parse=_config
        )
        return reply

    def config_set(self, name: KeyT, value: EncodableT, *args: EncodableT) -> bool:
        """Set configuration parameters (``name, value`` and more pairs in ``args``); True."""
        reply: bool = self.execute_command("CONFIG", "SET", name, value, *args, _parse=_ok)
        return reply

    # ======================================================================
    # Strings and counters
    # ======================================================================

    def get(self, name: KeyT) -> ReplyT | None:
        """Return the value of ``name``, or None if it does not exist."""
        reply: ReplyT | None = self.execute_command("GET", name)
        return reply

    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
    ) -> bool | ReplyT | None:
        """Set ``name`` to ``value``.

        Return True, or None when ``nx``/``xx`` prevented the write; with
        ``get`` return the old value (None if there was none) instead.
        ``ex``/``px``/``exat``/``pxat``/``keepttl`` are mutually exclusive.
        """
        if (
            ex is None
            and px is None
            and exat is None
            and pxat is None
            and not (nx or xx or keepttl or get)
        ):
            reply: bool | ReplyT | None = self.execute_command(
                "SET", name, value, _parse=_ok_or_none
            )
            return reply
        args: list[EncodableT] = ["SET", name, value]
        args += _expiry_args(ex, px, exat, pxat, "keepttl", keepttl)
        if nx and xx:
            raise DataError("nx", nx, "cannot be combined with xx=True")
        if nx:
            args.append("NX")
        elif xx:
            args.append("XX")
        if keepttl:
            args.append("KEEPTTL")
        if get:
            args.append("GET")
            reply = self.execute_command(*args)
        else:
            reply = self.execute_command(*args, _parse=_ok_or_none)
        return reply

    def getset(self, name: KeyT, value: EncodableT) -> ReplyT | None:
        """Set ``name`` to ``value``; return the old value or None."""
        reply: ReplyT | None = self.execute_command("GETSET", name, value)
        return reply

    def getdel(self, name: KeyT) -> ReplyT | None:
        """Delete ``name``; return its value, or None if it did not exist."""
        reply: ReplyT | None = self.execute_command("GETDEL", name)
        return reply

    def getex(
        self,
        name: KeyT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> ReplyT | None:
        """Return the value of ``name`` (or None), setting or removing (``persist``) its TTL."""
        args = _expiry_args(ex, px, exat, pxat, "persist", persist)
        if persist:
            args.append("PERSIST")
        reply: ReplyT | None = self.execute_command("GETEX", name, *args)
        return reply

    def mget(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> list[ReplyT | None]:
        """Return the values of the keys (None for a missing one); [] for no keys."""
        names = _list_or_args("keys", keys, args)
        if not names:
            return []
        reply: list[ReplyT | None] = self.execute_command("MGET", *names)
        return reply

    def mset(self, mapping: Mapping[KeyT, EncodableT]) -> bool:
        """Set every key of ``mapping`` to its value; True."""
        args: list[Any] = []
        for pair in _mapping("mapping", mapping).items():
            args += pair
        reply: bool = self.execute_command("MSET", *args, _parse=_ok)
        return reply

    def msetnx(self, mapping: Mapping[KeyT, EncodableT]) -> bool:
        """Set the keys of ``mapping`` only if none exists; return whether they were set."""
        args: list[Any] = []
        for pair in _mapping("mapping", mapping).items():
            args += pair
        reply: bool = self.execute_command("MSETNX", *args, _parse=bool)
        return reply

    def setnx(self, name: KeyT, value: EncodableT) -> bool:
        """Set ``name`` if it does not exist; return whether it was set."""
        reply: bool = self.execute_command("SETNX", name, value, _parse=bool)
        return reply

    def setex(self, name: KeyT, time: ExpiryT, value: EncodableT) -> bool:
        """Set ``name`` with a TTL of ``time`` seconds (or a timedelta); True."""
        seconds = _relative("time", time, 1, True)
        reply: bool = self.execute_command("SETEX", name, seconds, value, _parse=_ok)
        return reply

    def psetex(self, name: KeyT, time_ms: ExpiryT, value: EncodableT) -> bool:
        """Set ``name`` with a TTL of ``time_ms`` milliseconds (or a timedelta); True."""
        millis = _relative("time_ms", time_ms, 1000, True)
        reply: bool = self.execute_command("PSETEX", name, millis, value, _parse=_ok)
        return reply

    def append(self, key: KeyT, value: EncodableT) -> int:
        """Append ``value`` to the string at ``key``; return its new length."""
        reply: int = self.execute_command("APPEND", key, value)
        return reply

    def strlen(self, name: KeyT) -> int:
        """Return the length of the string at ``name`` (0 if missing)."""
        reply: int = self.execute_command("STRLEN", name)
        return reply

    def getrange(self, key: KeyT, start: int, end: int) -> ReplyT:
        """Return the substring of ``key`` from ``start`` to ``end`` (inclusive)."""
        reply: ReplyT = self.execute_command(
            "GETRANGE", key, _int("start", start), _int("end", end)
        )
        return reply

    def setrange(self, name: KeyT, offset: int, value: EncodableT) -> int:
        """Overwrite ``name`` from ``offset`` with ``value``; return the new length."""
        reply: int = self.execute_command("SETRANGE", name, _int("offset", offset, 0), value)
        return reply

    def incrby(self, name: KeyT, amount: int = 1) -> int:
        """Add ``amount`` to the integer at ``name``; return the new value."""
        reply: int = self.execute_command("INCRBY", name, _int("amount", amount))
        return reply

    incr = incrby

    def decrby(self, name: KeyT, amount: int = 1) -> int:
        """Subtract ``amount`` from the integer at ``name``; return the new value."""
        reply: int = self.execute_command("DECRBY", name, _int("amount", amount))
        return reply

    decr = decrby

    def incrbyfloat(self, name: KeyT, amount: float = 1.0) -> float:
        """Add ``amount`` to the number at ``name``; return the new value as a float."""
        reply: float = self.execute_command(
            "INCRBYFLOAT", name, _number("amount", amount), _parse=float
        )
        return reply

    # ======================================================================
    # Keys and expiry
    # ======================================================================

    def delete(self, *names: KeyT) -> int:
        """Delete the keys; return how many existed."""
        reply: int = self.execute_command("DEL", *names)
        return reply

    def unlink(self, *names: KeyT) -> int:
        """Delete the keys, freeing memory in the background; return how many existed."""
        reply: int = self.execute_command("UNLINK", *names)
        return reply

    def exists(self, *names: KeyT) -> int:
        """Return how many of the keys exist (a key named twice counts twice)."""
        reply: int = self.execute_command("EXISTS", *names)
        return reply

    def touch(self, *args: KeyT) -> int:
        """Update the keys' last access time; return how many exist."""
        reply: int = self.execute_command("TOUCH", *args)
        return reply

    def expire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Set a TTL of ``time`` seconds (or a timedelta); return whether it was set.

        ``nx``: only if there is none; ``xx``: only if there is one; ``gt``/``lt``:
        only if longer/shorter than the current one.
        """
        seconds = _relative("time", time, 1, False)
        flags = _expire_flags(nx, xx, gt, lt)
        reply: bool = self.execute_command("EXPIRE", name, seconds, *flags, _parse=bool)
        return reply

    def pexpire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Set a TTL of ``time`` milliseconds (or a timedelta); return whether it was set."""
        millis = _relative("time", time, 1000, False)
        flags = _expire_flags(nx, xx, gt, lt)
        reply: bool = self.execute_command("PEXPIRE", name, millis, *flags, _parse=bool)
        return reply

    def expireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` at unix time ``when`` (seconds, or a datetime); return whether set."""
        seconds = _absolute("when", when, 1)
        flags = _expire_flags(nx, xx, gt, lt)
        reply: bool = self.execute_command("EXPIREAT", name, seconds, *flags, _parse=bool)
        return reply

    def pexpireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` at unix time ``when`` (milliseconds, or a datetime); whether set."""
        millis = _absolute("when", when, 1000)
        flags = _expire_flags(nx, xx, gt, lt)
        reply: bool = self.execute_command("PEXPIREAT", name, millis, *flags, _parse=bool)
        return reply

    def ttl(self, name: KeyT) -> int:
        """Return the seconds ``name`` has left; -1 without a TTL, -2 if missing."""
        reply: int = self.execute_command("TTL", name)
        return reply

    def pttl(self, name: KeyT) -> int:
        """Return the milliseconds ``name`` has left; -1 without a TTL, -2 if missing."""
        reply: int = self.execute_command("PTTL", name)
        return reply

    def persist(self, name: KeyT) -> bool:
        """Remove the TTL of ``name``; return whether it had one."""
        reply: bool = self.execute_command("PERSIST", name, _parse=bool)
        return reply

    def rename(self, src: KeyT, dst: KeyT) -> bool:
        """Rename ``src`` to ``dst`` (replacing it); True."""
        reply: bool = self.execute_command("RENAME", src, dst, _parse=_ok)
        return reply

    def renamenx(self, src: KeyT, dst: KeyT) -> bool:
        """Rename ``src`` to ``dst`` if ``dst`` does not exist; return whether renamed."""
        reply: bool = self.execute_command("RENAMENX", src, dst, _parse=bool)
        return reply

    def type(self, name: KeyT) -> ReplyT:
        """Return the type of ``name`` (``string``, ``list`` ... or ``none``)."""
        reply: ReplyT = self.execute_command("TYPE", name)
        return reply

    def keys(self, pattern: KeyT = "*") -> list[ReplyT]:
        """Return the keys matching ``pattern`` (scans the whole database: prefer scan_iter)."""
        reply: list[ReplyT] = self.execute_command("KEYS", pattern)
        return reply

    def randomkey(self) -> ReplyT | None:
        """Return a random key, or None if the database is empty."""
        reply: ReplyT | None = self.execute_command("RANDOMKEY")
        return reply

    def copy(
        self,
        source: KeyT,
        destination: KeyT,
        destination_db: int | str | None = None,
        replace: bool = False,
    ) -> bool:
        """Copy ``source`` to ``destination`` (in ``destination_db``); return whether copied."""
        args: list[EncodableT] = ["COPY", source, destination]
        if destination_db is not None:
            args += ["DB", destination_db]
        if replace:
            args.append("REPLACE")
        reply: bool = self.execute_command(*args, _parse=bool)
        return reply

    def dump(self, name: KeyT) -> bytes | None:
        """Return the serialized value of ``name`` (always bytes), or None if missing."""
        reply: bytes | None = self.execute_command("DUMP", name, never_decode=True)
        return reply

    def restore(
        self,
        name: KeyT,
        ttl: int,
        value: EncodableT,
        replace: bool = False,
        absttl: bool = False,
        idletime: int | None = None,
        frequency: int | None = None,
    ) -> ReplyT:
        """Create ``name`` from a :meth:`dump` value with a TTL in ms (0: none); ``OK``."""
        args: list[EncodableT] = ["RESTORE", name, _int("ttl", ttl, 0), value]
        if replace:
            args.append("REPLACE")
        if absttl:
            args.append("ABSTTL")
        if idletime is not None:
            args += ["IDLETIME", _int("idletime", idletime, 0)]
        if frequency is not None:
            args += ["FREQ", _int("frequency", frequency, 0)]
        reply: ReplyT = self.execute_command(*args)
        return reply

    def scan(
        self,
        cursor: int = 0,
        match: KeyT | None = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> tuple[int, list[ReplyT]]:
        """Return ``(next cursor, keys)`` for one SCAN step; the cursor is 0 at the end."""
        args = _scan_args(match, count)
        if _type is not None:
            args += ["TYPE", _type]
        reply: tuple[int, list[ReplyT]] = self.execute_command(
            "SCAN", _int("cursor", cursor, 0), *args, _parse=_scan
        )
        return reply

    def scan_iter(
        self, match: KeyT | None = None, count: int | None = None, _type: str | None = None
    ) -> Iterator[ReplyT]:
        """Yield every key matching ``match`` (of type ``_type``), SCAN step by step.

        A key may be yielded twice if the keyspace changes meanwhile.
        """
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, match, count, _type)
            yield from keys
            if cursor == 0:
                return

    # ======================================================================
    # Hashes
    # ======================================================================

    def hset(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[EncodableT, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
    ) -> int:
        """Set fields (``key``/``value``, ``mapping``, flat ``items``); return how many are new."""
        args: list[Any] = []
        if items:
            if len(items) % 2:
                raise DataError("items", items, "must hold field, value pairs")
            args += items
        if key is not None:
            if value is None:
                raise DataError("value", value, f"is needed with key={key!r}")
            args += (key, value)
        if mapping:
            if not isinstance(mapping, Mapping):
                raise DataError("mapping", mapping, "must be a mapping")
            for pair in mapping.items():
                args += pair
        if not args:
            raise DataError("key", key, "hset needs a key, a mapping or items")
        reply: int = self.execute_command("HSET", name, *args)
        return reply

    def hsetnx(self, name: KeyT, key: EncodableT, value: EncodableT) -> int:
        """Set a field only if it does not exist; return 1 if set, 0 if not."""
        reply: int = self.execute_command("HSETNX", name, key, value)
        return reply

    def hget(self, name: KeyT, key: EncodableT) -> ReplyT | None:
        """Return the value of a field, or None."""
        reply: ReplyT | None = self.execute_command("HGET", name, key)
        return reply

    def hmget(
        self, name: KeyT, keys: EncodableT | Iterable[EncodableT], *args: EncodableT
    ) -> list[ReplyT | None]:
        """Return the values of the fields (None for a missing one)."""
        reply: list[ReplyT | None] = self.execute_command(
            "HMGET", name, *_list_or_args("keys", keys, args)
        )
        return reply

    def hgetall(self, name: KeyT) -> dict[ReplyT, ReplyT]:
        """Return every field and value of the hash as a dict ({} if missing)."""
        reply: dict[ReplyT, ReplyT] = self.execute_command("HGETALL", name, _parse=_pairs_to_dict)
        return reply

    def hdel(self, name: KeyT, *keys: EncodableT) -> int:
        """Delete fields; return how many existed."""
        reply: int = self.execute_command("HDEL", name, *keys)
        return reply

    def hexists(self, name: KeyT, key: EncodableT) -> bool:
        """Return whether the field exists."""
        reply: bool = self.execute_command("HEXISTS", name, key, _parse=bool)
        return reply

    def hincrby(self, name: KeyT, key: EncodableT, amount: int = 1) -> int:
        """Add ``amount`` to an integer field; return the new value."""
        reply: int = self.execute_command("HINCRBY", name, key, _int("amount", amount))
        return reply

    def hincrbyfloat(self, name: KeyT, key: EncodableT, amount: float = 1.0) -> float:
        """Add ``amount`` to a numeric field; return the new value as a float."""
        reply: float = self.execute_command(
            "HINCRBYFLOAT", name, key, _number("amount", amount), _parse=float
        )
        return reply

    def hkeys(self, name: KeyT) -> list[ReplyT]:
        """Return the hash's fields."""
        reply: list[ReplyT] = self.execute_command("HKEYS", name)
        return reply

    def hvals(self, name: KeyT) -> list[ReplyT]:
        """Return the hash's values."""
        reply: list[ReplyT] = self.execute_command("HVALS", name)
        return reply

    def hlen(self, name: KeyT) -> int:
        """Return the number of fields."""
        reply: int = self.execute_command("HLEN", name)
        return reply

    def hstrlen(self, name: KeyT, key: EncodableT) -> int:
        """Return the length of a field's value (0 if missing)."""
        reply: int = self.execute_command("HSTRLEN", name, key)
        return reply

    def hrandfield(
        self, key: KeyT, count: int | None = None, withvalues: bool = False
    ) -> ReplyT | list[ReplyT] | None:
        """Return random fields.

        Without ``count`` one field (or None); with it a list of fields (a
        negative count allows repeats), and with ``withvalues`` a flat
        ``[field, value, field, value ...]`` list, as redis-py gives.
        """
        if count is None:
            if withvalues:
                raise DataError("withvalues", withvalues, "needs a count")
            reply: ReplyT | list[ReplyT] | None = self.execute_command("HRANDFIELD", key)
        elif withvalues:
            reply = self.execute_command(
                "HRANDFIELD", key, _int("count", count), "WITHVALUES", _parse=_flatten_pairs
            )
        else:
            reply = self.execute_command("HRANDFIELD", key, _int("count", count))
        return reply

    def hscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: KeyT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> tuple[int, dict[ReplyT, ReplyT] | list[ReplyT]]:
        """Return ``(next cursor, {field: value})`` (fields only with ``no_values``, Redis 7.4+)."""
        args = _scan_args(match, count)
        if no_values:
            args.append("NOVALUES")
        reply: tuple[int, dict[ReplyT, ReplyT] | list[ReplyT]] = self.execute_command(
            "HSCAN", name, _int("cursor", cursor, 0), *args, _parse=_scan if no_values else _hscan
        )
        return reply

    def hscan_iter(
        self,
        name: KeyT,
        match: KeyT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> Iterator[Any]:
        """Yield ``(field, value)`` pairs (fields with ``no_values``), HSCAN step by step."""
        cursor = 0
        while True:
            cursor, data = self.hscan(name, cursor, match, count, no_values)
            if isinstance(data, dict):
                yield from data.items()
            else:
                yield from data
            if cursor == 0:
                return

    # ======================================================================
    # Lists
    # ======================================================================

    def lpush(self, name: KeyT, *values: EncodableT) -> int:
        """Prepend values; return the list's new length."""
        reply: int = self.execute_command("LPUSH", name, *values)
        return reply

    def rpush(self, name: KeyT, *values: EncodableT) -> int:
        """Append values; return the list's new length."""
        reply: int = self.execute_command("RPUSH", name, *values)
        return reply

    def lpushx(self, name: KeyT, *values: EncodableT) -> int:
        """Prepend values if the list exists; return its length (0 if missing)."""
        reply: int = self.execute_command("LPUSHX", name, *values)
        return reply

    def rpushx(self, name: KeyT, *values: EncodableT) -> int:
        """Append values if the list exists; return its length (0 if missing)."""
        reply: int = self.execute_command("RPUSHX", name, *values)
        return reply

    def lpop(self, name: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Pop from the head: a value, or a list of up to ``count``; None if missing."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("LPOP", name)
        else:
            reply = self.execute_command("LPOP", name, _int("count", count, 0))
        return reply

    def rpop(self, name: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Pop from the tail: a value, or a list of up to ``count``; None if missing."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("RPOP", name)
        else:
            reply = self.execute_command("RPOP", name, _int("count", count, 0))
        return reply

    def lrange(self, name: KeyT, start: int, end: int) -> list[ReplyT]:
        """Return the elements from ``start`` to ``end`` (inclusive, negatives from the end)."""
        reply: list[ReplyT] = self.execute_command(
            "LRANGE", name, _int("start", start), _int("end", end)
        )
        return reply

    def llen(self, name: KeyT) -> int:
        """Return the list's length (0 if missing)."""
        reply: int = self.execute_command("LLEN", name)
        return reply

    def lindex(self, name: KeyT, index: int) -> ReplyT | None:
        """Return the element at ``index``, or None."""
        reply: ReplyT | None = self.execute_command("LINDEX", name, _int("index", index))
        return reply

    def lset(self, name: KeyT, index: int, value: EncodableT) -> bool:
        """Set the element at ``index``; True."""
        reply: bool = self.execute_command("LSET", name, _int("index", index), value, _parse=_ok)
        return reply

    def lrem(self, name: KeyT, count: int, value: EncodableT) -> int:
        """Remove ``count`` occurrences of ``value`` (all if 0, from the tail if < 0); how many."""
        reply: int = self.execute_command("LREM", name, _int("count", count), value)
        return reply

    def ltrim(self, name: KeyT, start: int, end: int) -> bool:
        """Keep only the elements from ``start`` to ``end``; True."""
        reply: bool = self.execute_command(
            "LTRIM", name, _int("start", start), _int("end", end), _parse=_ok
        )
        return reply

    def linsert(self, name: KeyT, where: str, refvalue: EncodableT, value: EncodableT) -> int:
        """Insert ``value`` ``where`` (BEFORE/AFTER) ``refvalue``; the new length, -1 if no ref."""
        if not isinstance(where, str) or where.upper() not in ("BEFORE", "AFTER"):
            raise DataError("where", where, "must be 'BEFORE' or 'AFTER'")
        reply: int = self.execute_command("LINSERT", name, where.upper(), refvalue, value)
        return reply

    def lpos(
        self,
        name: KeyT,
        value: EncodableT,
        rank: int | None = None,
        count: int | None = None,
        maxlen: int | None = None,
    ) -> int | list[int] | None:
        """Return the index of ``value`` (None if absent), or a list of indexes with ``count``."""
        args: list[EncodableT] = ["LPOS", name, value]
        if rank is not None:
            if _int("rank", rank) == 0:
                raise DataError("rank", rank, "must not be 0")
            args += ["RANK", rank]
        if count is not None:
            args += ["COUNT", _int("count", count, 0)]
        if maxlen is not None:
            args += ["MAXLEN", _int("maxlen", maxlen, 0)]
        reply: int | list[int] | None = self.execute_command(*args)
        return reply

    def lmove(
        self, first_list: KeyT, second_list: KeyT, src: str = "LEFT", dest: str = "RIGHT"
    ) -> ReplyT | None:
        """Move an element from the ``src`` end of one list to the ``dest`` end of another."""
        reply: ReplyT | None = self.execute_command(
            "LMOVE", first_list, second_list, _direction("src", src), _direction("dest", dest)
        )
        return reply

    def rpoplpush(self, src: KeyT, dst: KeyT) -> ReplyT | None:
        """Move the tail of ``src`` to the head of ``dst``; return it, or None."""
        reply: ReplyT | None = self.execute_command("RPOPLPUSH", src, dst)
        return reply

    # -- blocking: these go through execute_blocking --------------------------

    def blpop(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT] | None:
        """Pop from the head of the first non-empty list, waiting up to ``timeout`` s (0: forever).

        Return ``(key, value)``, or None on timeout.  Runs on a connection
        of its own (``execute_blocking``).
        """
        seconds = _timeout("timeout", timeout)
        names = _list_or_args("keys", keys, ())
        reply: tuple[ReplyT, ReplyT] | None = self.execute_blocking(
            "BLPOP", *names, seconds, timeout=seconds or None, _parse=_popped_pair
        )
        return reply

    def brpop(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT] | None:
        """Pop from the tail of the first non-empty list, waiting up to ``timeout`` s (0: forever).

        Return ``(key, value)``, or None on timeout.  Runs on a connection
        of its own (``execute_blocking``).
        """
        seconds = _timeout("timeout", timeout)
        names = _list_or_args("keys", keys, ())
        reply: tuple[ReplyT, ReplyT] | None = self.execute_blocking(
            "BRPOP", *names, seconds, timeout=seconds or None, _parse=_popped_pair
        )
        return reply

    def blmove(
        self,
        first_list: KeyT,
        second_list: KeyT,
        timeout: float,
        src: str = "LEFT",
        dest: str = "RIGHT",
    ) -> ReplyT | None:
        """:meth:`lmove`, waiting up to ``timeout`` s (0: forever); the element, or None.

        Runs on a connection of its own (``execute_blocking``).
        """
        seconds = _timeout("timeout", timeout)
        reply: ReplyT | None = self.execute_blocking(
            "BLMOVE",
            first_list,
            second_list,
            _direction("src", src),
            _direction("dest", dest),
            seconds,
            timeout=seconds or None,
        )
        return reply

    def brpoplpush(self, src: KeyT, dst: KeyT, timeout: float | None = 0) -> ReplyT | None:
        """:meth:`rpoplpush`, waiting up to ``timeout`` s (0: forever); the element, or None.

        Runs on a connection of its own (``execute_blocking``).
        """
        seconds = _timeout("timeout", timeout)
        reply: ReplyT | None = self.execute_blocking(
            "BRPOPLPUSH", src, dst, seconds, timeout=seconds or None
        )
        return reply

    def bzpopmin(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT, float] | None:
        """Pop the lowest-scored member of the first non-empty sorted set, waiting (0: forever).

        Return ``(key, member, score)``, or None on timeout.  Runs on a
        connection of its own (``execute_blocking``).
        """
        seconds = _timeout("timeout", timeout)
        names = _list_or_args("keys", keys, ())
        reply: tuple[ReplyT, ReplyT, float] | None = self.execute_blocking(
            "BZPOPMIN", *names, seconds, timeout=seconds or None, _parse=_popped_member
        )
        return reply

    def bzpopmax(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT, float] | None:
        """Pop the highest-scored member of the first non-empty sorted set, waiting (0: forever).

        Return ``(key, member, score)``, or None on timeout.  Runs on a
        connection of its own (``execute_blocking``).
        """
        seconds = _timeout("timeout", timeout)
        names = _list_or_args("keys", keys, ())
        reply: tuple[ReplyT, ReplyT, float] | None = self.execute_blocking(
            "BZPOPMAX", *names, seconds, timeout=seconds or None, _parse=_popped_member
        )
        return reply

    # ======================================================================
    # Sets
    # ======================================================================

    def sadd(self, name: KeyT, *values: EncodableT) -> int:
        """Add members; return how many were new."""
        reply: int = self.execute_command("SADD", name, *values)
        return reply

    def srem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove members; return how many were there."""
        reply: int = self.execute_command("SREM", name, *values)
        return reply

    def smembers(self, name: KeyT) -> MemberSetT:
        """Return the members as a set."""
        reply: MemberSetT = self.execute_command("SMEMBERS", name, _parse=_members)
        return reply

    def sismember(self, name: KeyT, value: EncodableT) -> bool:
        """Return whether ``value`` is a member."""
        reply: bool = self.execute_command("SISMEMBER", name, value, _parse=bool)
        return reply

    def smismember(
        self, name: KeyT, values: EncodableT | Iterable[EncodableT], *args: EncodableT
    ) -> list[bool]:
        """Return, for each value, whether it is a member."""
        reply: list[bool] = self.execute_command(
            "SMISMEMBER", name, *_list_or_args("values", values, args), _parse=_bools
        )
        return reply

    def scard(self, name: KeyT) -> int:
        """Return the number of members."""
        reply: int = self.execute_command("SCARD", name)
        return reply

    def spop(self, name: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Remove and return a random member (None if empty), or a list of ``count``."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("SPOP", name)
        else:
            reply = self.execute_command("SPOP", name, _int("count", count, 0))
        return reply

    def srandmember(self, name: KeyT, number: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Return a random member (None if empty), or a list of ``number`` (< 0: repeats)."""
        if number is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("SRANDMEMBER", name)
        else:
            reply = self.execute_command("SRANDMEMBER", name, _int("number", number))
        return reply

    def smove(self, src: KeyT, dst: KeyT, value: EncodableT) -> bool:
        """Move ``value`` from ``src`` to ``dst``; return whether it was in ``src``."""
        reply: bool = self.execute_command("SMOVE", src, dst, value, _parse=bool)
        return reply

    def sinter(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> MemberSetT:
        """Return the intersection of the sets."""
        reply: MemberSetT = self.execute_command(
            "SINTER", *_list_or_args("keys", keys, args), _parse=_members
        )
        return reply

    def sunion(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> MemberSetT:
        """Return the union of the sets."""
        reply: MemberSetT = self.execute_command(
            "SUNION", *_list_or_args("keys", keys, args), _parse=_members
        )
        return reply

    def sdiff(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> MemberSetT:
        """Return the members of the first set that are in none of the others."""
        reply: MemberSetT = self.execute_command(
            "SDIFF", *_list_or_args("keys", keys, args), _parse=_members
        )
        return reply

    def sinterstore(self, dest: KeyT, keys: KeyT | Iterable[KeyT], *args: KeyT) -> int:
        """Store the intersection in ``dest``; return its size."""
        reply: int = self.execute_command("SINTERSTORE", dest, *_list_or_args("keys", keys, args))
        return reply

    def sunionstore(self, dest: KeyT, keys: KeyT | Iterable[KeyT], *args: KeyT) -> int:
        """Store the union in ``dest``; return its size."""
        reply: int = self.execute_command("SUNIONSTORE", dest, *_list_or_args("keys", keys, args))
        return reply

    def sdiffstore(self, dest: KeyT, keys: KeyT | Iterable[KeyT], *args: KeyT) -> int:
        """Store the difference in ``dest``; return its size."""
        reply: int = self.execute_command("SDIFFSTORE", dest, *_list_or_args("keys", keys, args))
        return reply

    def sscan(
        self, name: KeyT, cursor: int = 0, match: KeyT | None = None, count: int | None = None
    ) -> tuple[int, list[ReplyT]]:
        """Return ``(next cursor, members)`` for one SSCAN step."""
        reply: tuple[int, list[ReplyT]] = self.execute_command(
            "SSCAN", name, _int("cursor", cursor, 0), *_scan_args(match, count), _parse=_scan
        )
        return reply

    def sscan_iter(
        self, name: KeyT, match: KeyT | None = None, count: int | None = None
    ) -> Iterator[ReplyT]:
        """Yield the members, SSCAN step by step."""
        cursor = 0
        while True:
            cursor, members = self.sscan(name, cursor, match, count)
            yield from members
            if cursor == 0:
                return

    # ======================================================================
    # Sorted sets
    # ======================================================================

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
        _mapping("mapping", mapping)
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
        if gt:
            args.append("GT")
        if lt:
            args.append("LT")
        if ch:
            args.append("CH")
        if incr:
            args.append("INCR")
        for member, score in mapping.items():
            if isinstance(score, bool) or not isinstance(score, _SCALARS):
                raise DataError("mapping", mapping, f"the score of {member!r} is not a number")
            args += (score, member)
        if incr:
            reply: int | float | None = self.execute_command(*args, _parse=_float_or_none)
        else:
            reply = self.execute_command(*args)
        return reply

    def zrem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove members; return how many were there."""
        reply: int = self.execute_command("ZREM", name, *values)
        return reply

    def zscore(self, name: KeyT, value: EncodableT) -> float | None:
        """Return the member's score, or None."""
        reply: float | None = self.execute_command("ZSCORE", name, value, _parse=_float_or_none)
        return reply

    def zincrby(self, name: KeyT, amount: float, value: EncodableT) -> float:
        """Add ``amount`` to the member's score; return the new score."""
        reply: float = self.execute_command(
            "ZINCRBY", name, _score("amount", amount), value, _parse=float
        )
        return reply

    def zcard(self, name: KeyT) -> int:
        """Return the number of members."""
        reply: int = self.execute_command("ZCARD", name)
        return reply

    def zcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Return how many members score between ``min`` and ``max`` (``"(1"``: exclusive)."""
        reply: int = self.execute_command("ZCOUNT", name, _score("min", min), _score("max", max))
        return reply

    def _zrank(
        self, command: str, name: KeyT, value: EncodableT, withscore: bool, cast: ScoreCastT
    ) -> int | list[Any] | None:
        if withscore:
            parse = _ScorePairs(cast, self.decode_responses).rank
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
                *args, _parse=_score_parser(cast, self.decode_responses)
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
        if byscore and bylex:
            raise DataError("byscore", byscore, "cannot be combined with bylex=True")
        if bylex and withscores:
            raise DataError("withscores", withscores, "cannot be combined with bylex=True")
        if (offset is None) != (num is None):
            raise DataError("offset", offset, f"and num={num!r} must be given together")
        if offset is not None and not (byscore or bylex):
            raise DataError("offset", offset, "needs byscore=True or bylex=True")
        if not (byscore or bylex):
            first, last = _int("start", start), _int("end", end)
            if desc:
                return self.zrevrange(name, first, last, withscores, score_cast_func)
            args: list[Any] = ["ZRANGE", name, first, last]
        else:
            args = ["ZRANGE", name, _score("start", start), _score("end", end)]
            args.append("BYSCORE" if byscore else "BYLEX")
            if desc:
                args.append("REV")
            if offset is not None:
                args += ["LIMIT", _int("offset", offset), _int("num", num)]
        return self._zrange_command(args, withscores, score_cast_func)

    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """Return members by rank from ``start`` to ``end``, highest score first."""
        args: list[Any] = ["ZREVRANGE", name, _int("start", start), _int("end", end)]
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
        if (start is None) != (num is None):
            raise DataError("start", start, f"and num={num!r} must be given together")
        args: list[Any] = [command, name, low, high]
        if start is not None:
            args += ["LIMIT", _int("start", start), _int("num", num)]
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
            _score("min", min),
            _score("max", max),
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
            _score("max", max),
            _score("min", min),
            start,
            num,
            withscores,
            score_cast_func,
        )

    def zremrangebyrank(self, name: KeyT, min: int, max: int) -> int:
        """Remove members ranked ``min`` to ``max``; return how many."""
        reply: int = self.execute_command(
            "ZREMRANGEBYRANK", name, _int("min", min), _int("max", max)
        )
        return reply

    def zremrangebyscore(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Remove members scoring between ``min`` and ``max``; return how many."""
        reply: int = self.execute_command(
            "ZREMRANGEBYSCORE", name, _score("min", min), _score("max", max)
        )
        return reply

    def zpopmin(self, name: KeyT, count: int | None = None) -> list[tuple[ReplyT, float]]:
        """Remove and return the ``count`` (default 1) lowest: ``[(member, score) ...]``."""
        if count is None:
            reply: list[tuple[ReplyT, float]] = self.execute_command(
                "ZPOPMIN", name, _parse=_score_pairs
            )
        else:
            reply = self.execute_command(
                "ZPOPMIN", name, _int("count", count, 0), _parse=_score_pairs
            )
        return reply

    def zpopmax(self, name: KeyT, count: int | None = None) -> list[tuple[ReplyT, float]]:
        """Remove and return the ``count`` (default 1) highest: ``[(member, score) ...]``."""
        if count is None:
            reply: list[tuple[ReplyT, float]] = self.execute_command(
                "ZPOPMAX", name, _parse=_score_pairs
            )
        else:
            reply = self.execute_command(
                "ZPOPMAX", name, _int("count", count, 0), _parse=_score_pairs
            )
        return reply

    def zmscore(self, key: KeyT, members: Sequence[EncodableT]) -> list[float | None]:
        """Return the members' scores (None for a missing one)."""
        if isinstance(members, _SCALARS) or not members:
            raise DataError("members", members, "must be a non-empty list")
        reply: list[float | None] = self.execute_command(
            "ZMSCORE", key, *members, _parse=_floats_or_none
        )
        return reply

    def zscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: KeyT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> tuple[int, list[tuple[ReplyT, Any]]]:
        """Return ``(next cursor, [(member, score) ...])`` for one ZSCAN step."""
        reply: tuple[int, list[tuple[ReplyT, Any]]] = self.execute_command(
            "ZSCAN",
            name,
            _int("cursor", cursor, 0),
            *_scan_args(match, count),
            _parse=_ScorePairs(score_cast_func, self.decode_responses).scan,
        )
        return reply

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

    # ======================================================================
    # Scripting
    # ======================================================================

    def eval(self, script: ReplyT, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run a Lua script on ``numkeys`` keys then arguments; return its raw reply."""
        return self.execute_command("EVAL", script, _int("numkeys", numkeys, 0), *keys_and_args)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run a cached script by SHA1 (ReplyError NOSCRIPT if unknown); its raw reply."""
        return self.execute_command("EVALSHA", sha, _int("numkeys", numkeys, 0), *keys_and_args)

    def script_load(self, script: ReplyT) -> str:
        """Cache a script in the server; return its SHA1 as ``str``."""
        reply: str = self.execute_command("SCRIPT", "LOAD", script, _parse=_text)
        return reply

    def script_exists(self, *args: str) -> list[bool]:
        """Return, for each SHA1, whether the script is cached."""
        reply: list[bool] = self.execute_command("SCRIPT", "EXISTS", *args, _parse=_bools)
        return reply

    def script_flush(self, sync_type: str | None = None) -> bool:
        """Empty the script cache (``sync_type`` "SYNC" or "ASYNC"); True."""
        if sync_type is None:
            reply: bool = self.execute_command("SCRIPT", "FLUSH", _parse=_ok)
        elif sync_type in ("SYNC", "ASYNC"):
            reply = self.execute_command("SCRIPT", "FLUSH", sync_type, _parse=_ok)
        else:
            raise DataError("sync_type", sync_type, "must be 'SYNC', 'ASYNC' or None")
        return reply

    def register_script(self, script: ReplyT) -> Script:
        """Return a callable :class:`Script` that runs ``script`` by SHA1, loading it if needed."""
        return Script(self, script)

    # ======================================================================
    # Streams
    # ======================================================================

    def xadd(
        self,
        name: KeyT,
        fields: Mapping[EncodableT, EncodableT],
        id: EncodableT = "*",
        maxlen: int | None = None,
        approximate: bool = True,
        nomkstream: bool = False,
        minid: EncodableT | None = None,
        limit: int | None = None,
    ) -> ReplyT | None:
        """Append an entry; return its id.

        ``maxlen``/``minid`` trim the stream (approximately, unless
        ``approximate=False``; ``limit`` caps the work); ``nomkstream``
        does not create a missing stream (then the reply is None).
        """
        _mapping("fields", fields)
        if maxlen is not None and minid is not None:
            raise DataError("maxlen", maxlen, "cannot be combined with minid")
        args: list[Any] = ["XADD", name]
        if nomkstream:
            args.append("NOMKSTREAM")
        args += _trim_args(maxlen, minid, approximate, limit)
        args.append(id)
        for pair in fields.items():
            args += pair
        reply: ReplyT | None = self.execute_command(*args)
        return reply

    def xlen(self, name: KeyT) -> int:
        """Return the number of entries."""
        reply: int = self.execute_command("XLEN", name)
        return reply

    def xrange(
        self,
        name: KeyT,
        min: EncodableT = "-",
        max: EncodableT = "+",
        count: int | None = None,
    ) -> list[tuple[ReplyT, dict[ReplyT, ReplyT]]]:
        """Return entries with ids from ``min`` to ``max`` as ``[(id, {field: value}) ...]``."""
        args: list[Any] = ["XRANGE", name, min, max]
        if count is not None:
            args += ["COUNT", _int("count", count, 1)]
        reply: list[tuple[ReplyT, dict[ReplyT, ReplyT]]] = self.execute_command(
            *args, _parse=_stream_entries
        )
        return reply

    def xrevrange(
        self,
        name: KeyT,
        max: EncodableT = "+",
        min: EncodableT = "-",
        count: int | None = None,
    ) -> list[tuple[ReplyT, dict[ReplyT, ReplyT]]]:
        """Return entries with ids from ``max`` down to ``min`` as ``[(id, {...}) ...]``."""
        args: list[Any] = ["XREVRANGE", name, max, min]
        if count is not None:
            args += ["COUNT", _int("count", count, 1)]
        reply: list[tuple[ReplyT, dict[ReplyT, ReplyT]]] = self.execute_command(
            *args, _parse=_stream_entries
        )
        return reply

    def xdel(self, name: KeyT, *ids: EncodableT) -> int:
        """Delete entries; return how many existed."""
        reply: int = self.execute_command("XDEL", name, *ids)
        return reply

    def xtrim(
        self,
        name: KeyT,
        maxlen: int | None = None,
        approximate: bool = True,
        minid: EncodableT | None = None,
        limit: int | None = None,
    ) -> int:
        """Trim to ``maxlen`` entries or to ids >= ``minid``; return how many were removed."""
        if (maxlen is None) == (minid is None):
            raise DataError(
                "maxlen", maxlen, f"exactly one of maxlen and minid={minid!r} is needed"
            )
        reply: int = self.execute_command(
            "XTRIM", name, *_trim_args(maxlen, minid, approximate, limit)
        )
        return reply

    def xread(
        self,
        streams: Mapping[KeyT, EncodableT],
        count: int | None = None,
        block: int | None = None,
    ) -> list[list[Any]]:
        """Read entries after the given ids: ``[[stream, [(id, {...}) ...]] ...]``, [] if none.

        ``streams`` maps each stream to the last id seen (``"$"``: only new
        ones).  With ``block`` (milliseconds; 0 waits forever) the server
        waits for entries, and the command runs on a connection of its own
        (``execute_blocking``).
        """
        _mapping("streams", streams)
        args: list[Any] = ["XREAD"]
        if count is not None:
            args += ["COUNT", _int("count", count, 1)]
        if block is not None:
            args += ["BLOCK", _int("block", block, 0)]
        args.append("STREAMS")
        args += streams.keys()
        args += streams.values()
        if block is None:
            reply: list[list[Any]] = self.execute_command(*args, _parse=_xread)
        else:
            reply = self.execute_blocking(*args, timeout=block / 1000 or None, _parse=_xread)
        return reply

    # ======================================================================
    # Pub/sub commands that need no subscription
    # ======================================================================

    def publish(self, channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on ``channel``; return how many subscribers received it."""
        reply: int = self.execute_command("PUBLISH", channel, message)
        return reply

    def pubsub_channels(self, pattern: KeyT = "*") -> list[ReplyT]:
        """Return the channels with subscribers (matching ``pattern``)."""
        reply: list[ReplyT] = self.execute_command("PUBSUB", "CHANNELS", pattern)
        return reply

    def pubsub_numsub(self, *args: KeyT) -> list[tuple[ReplyT, int]]:
        """Return ``[(channel, subscriber count) ...]`` for the channels."""
        reply: list[tuple[ReplyT, int]] = self.execute_command(
            "PUBSUB", "NUMSUB", *args, _parse=_numsub
        )
        return reply


class Script:
    """A Lua script bound to a client: call it to run it by SHA1.

    The SHA1 is computed locally.  Calling runs EVALSHA; if the server does
    not have the script cached (a NOSCRIPT error: first use, a flushed cache,
    a failover), it runs EVAL instead, which also caches it.
    """

    def __init__(self, registered_client: CommandsMixin, script: ReplyT) -> None:
        self.registered_client = registered_client
        self.script = script
        source = script.encode() if isinstance(script, str) else bytes(script)
        self.sha = hashlib.sha1(source, usedforsecurity=False).hexdigest()

    def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: CommandsMixin | None = None,
    ) -> Any:
        """Run the script on ``keys`` with ``args`` (through ``client`` if given); its reply."""
        keys = list(keys or ())
        arguments = [*keys, *(args or ())]
        target = self.registered_client if client is None else client
        register = getattr(target, "_register_script", None)
        if register is not None:
            # A pipeline: EVALSHA is only buffered, so NOSCRIPT would surface at
            # execute(), too late to fall back.  The pipeline loads it first.
            register(self)
        try:
            return target.evalsha(self.sha, len(keys), *arguments)
        except ReplyError as exc:
            if exc.kind != "NOSCRIPT":
                raise
        return target.eval(self.script, len(keys), *arguments)

    def __repr__(self) -> str:
        return f"<Script sha={self.sha}>"
