"""Argument checks shared by the command groups.

Each check takes the argument's name and value and returns the value as it
is sent (an int of seconds for a timedelta, say), or raises
:class:`~greenpool.redis.exceptions.DataError` naming the argument and the
value: a bad argument never reaches the server.

Where redis-py would send the value as it is (a str, bytes, int or float:
``mode="bite"``, ``count=-1``, ``idle=1.5``), and so raise the server's
refusal as a ``ResponseError``, the error is a
:class:`~greenpool.redis.exceptions.RefusedArgumentError`: a DataError that
is also a ResponseError, so that code written for either catches it.
"""

from __future__ import annotations

import datetime
import enum
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from ...protocol.resp import encode_arg
from ..exceptions import DataError, RefusedArgumentError
from ._base import EncodableT

SCALARS = (bytes, bytearray, memoryview, str, int, float)
"""What one argument may be (bool excluded by the checks that care)."""

_SENT_AS_IS = (bytes, memoryview, str, int, float)
"""What redis-py's encoder sends as it is (bool excepted): a bad value of these
types reaches the server there, which refuses it with an error reply."""


def _refused(argument: str, value: Any, reason: str) -> DataError:
    """The error for a bad ``value``: a :class:`RefusedArgumentError` (also a
    ResponseError, as redis-py's would be) when redis-py would have sent it to
    the server as it is, else a plain :class:`DataError` (redis-py's encoder
    refuses the other types with DataError)."""
    if isinstance(value, _SENT_AS_IS) and not isinstance(value, bool):
        return RefusedArgumentError(argument, value, reason)
    return DataError(argument, value, reason)


# Numbers given as text, as the server reads them: redis-py sends such text
# as it is, so code written for it passes ``"0"`` where an int is meant
# (from a URL's query, an environment variable ...).  Integers as Redis's
# own parser takes them (no "+", no leading zero); numbers also with a
# fraction and an exponent.
_INTEGER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER_TEXT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _text(value: Any) -> str | None:
    """``value`` as ASCII text if it is ``str`` or ``bytes`` of ASCII, else None."""
    if isinstance(value, str):
        return value if value.isascii() else None
    if isinstance(value, bytes) and value.isascii():
        return value.decode("ascii")
    return None


def _integer_text(value: Any) -> int | None:
    """The int that decimal text (``"0"``, ``b"-2"``) spells, else None."""
    text = _text(value)
    return int(text) if text is not None and _INTEGER_TEXT.fullmatch(text) else None


def integer(argument: str, value: Any, minimum: int | None = None) -> int:
    """An int, or decimal text spelling one (as redis-py passes it to the server)."""
    number: int | None = value
    if isinstance(value, bool) or not isinstance(value, int):
        number = _integer_text(value)
        if number is None:
            raise _refused(argument, value, "must be an integer")
    assert number is not None
    if minimum is not None and number < minimum:
        raise _refused(argument, value, f"must be >= {minimum}")
    return number


def numeric(argument: str, value: Any) -> int | float:
    """An int or float, or text spelling a finite number (as redis-py passes it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = _text(value)
        if text is None or not _NUMBER_TEXT.fullmatch(text):
            raise _refused(argument, value, "must be a number")
        number = float(text)
        return int(number) if _INTEGER_TEXT.fullmatch(text) else number
    return value


def score_bound(argument: str, value: Any) -> EncodableT:
    """A score: a number, or a string such as ``"+inf"`` or ``"(1.5"``."""
    if isinstance(value, bool) or not isinstance(value, SCALARS):
        raise DataError(argument, value, "must be a number or a string such as '+inf'")
    return value


def block_timeout(argument: str, value: Any) -> int | float:
    """A blocking command's timeout in seconds: a number >= 0 (None means 0)."""
    if value is None:
        return 0
    if isinstance(value, (str, bytes)):
        value = numeric(argument, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise _refused(argument, value, "must be a number of seconds >= 0 (0 waits forever)")
    return value


def relative(argument: str, value: Any, scale: int, positive: bool) -> int:
    """An int or timedelta as an int count of 1/scale seconds."""
    if isinstance(value, datetime.timedelta):
        amount = int(value.total_seconds() * scale)
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = value
    elif (number := _integer_text(value)) is not None:
        amount = number
    else:
        unit = "seconds" if scale == 1 else "milliseconds"
        raise _refused(argument, value, f"must be an int of {unit} or a datetime.timedelta")
    if positive and amount <= 0:
        raise _refused(argument, value, "must be a positive duration")
    return amount


def absolute(argument: str, value: Any, scale: int) -> int:
    """An int unix time or a datetime as an int count of 1/scale seconds since the epoch."""
    if isinstance(value, datetime.datetime):
        amount = int(value.timestamp() * scale)
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = value
    elif (number := _integer_text(value)) is not None:
        amount = number
    else:
        unit = "seconds" if scale == 1 else "milliseconds"
        raise _refused(argument, value, f"must be an int unix time in {unit} or a datetime")
    if amount <= 0:
        raise DataError(argument, value, "must be after the epoch")
    return amount


def expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> list[str]:
    if nx and (xx or gt or lt):
        other = "xx" if xx else "gt" if gt else "lt"
        raise RefusedArgumentError("nx", nx, f"cannot be combined with {other}=True")
    if gt and lt:
        raise RefusedArgumentError("gt", gt, "cannot be combined with lt=True")
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


def one_of(**values: Any) -> None:
    """Refuse more than one of ``values`` being set (not None and not False)."""
    given = [name for name, value in values.items() if value is not None and value is not False]
    if len(given) > 1:
        first, second = given[:2]
        raise RefusedArgumentError(first, values[first], f"cannot be combined with {second}")


def expiry_args(
    ex: Any, px: Any, exat: Any, pxat: Any, other: str | None = None, flag: bool = False
) -> list[EncodableT]:
    """EX/PX/EXAT/PXAT arguments; at most one of them (and ``other`` when ``flag``)."""
    if other is None:
        one_of(ex=ex, px=px, exat=exat, pxat=pxat)
    else:
        one_of(ex=ex, px=px, exat=exat, pxat=pxat, **{other: flag})
    if ex is not None:
        return ["EX", relative("ex", ex, 1, True)]
    if px is not None:
        return ["PX", relative("px", px, 1000, True)]
    if exat is not None:
        return ["EXAT", absolute("exat", exat, 1)]
    if pxat is not None:
        return ["PXAT", absolute("pxat", pxat, 1000)]
    return []


def list_or_args(argument: str, keys: Any, args: Sequence[Any]) -> list[Any]:
    """``keys`` (one key, or an iterable of them) followed by ``args``."""
    if isinstance(keys, SCALARS):
        items = [keys]
    else:
        try:
            items = list(keys)
        except TypeError:
            raise DataError(argument, keys, "must be a key or an iterable of keys") from None
    items.extend(args)
    return items


def non_empty_mapping(argument: str, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping) or not value:
        raise DataError(argument, value, "must be a non-empty mapping")
    return value


def deprecated(method: str, instead: str) -> None:
    """Warn (DeprecationWarning, at the caller's line) that ``method`` is
    deprecated, as redis-py's deprecated methods do."""
    warnings.warn(f"{method}() is deprecated: use {instead}() instead", DeprecationWarning,
                  stacklevel=3)


def direction(argument: str, value: Any) -> str:
    """``LEFT`` or ``RIGHT``, in any case, as str or bytes (redis-py sends either)."""
    text = value
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("ascii", "replace")
    if isinstance(text, str) and text.upper() in ("LEFT", "RIGHT"):
        return text.upper()
    raise _refused(argument, value, "must be 'LEFT' or 'RIGHT'")


def scan_args(match: Any, count: Any) -> list[EncodableT]:
    args: list[EncodableT] = []
    if match is not None:
        args += ["MATCH", match]
    if count is not None:
        args += ["COUNT", integer("count", count, 1)]
    return args


def trim_args(
    maxlen: int | None, minid: EncodableT | None, approximate: bool, limit: int | None
) -> list[Any]:
    """MAXLEN/MINID trimming arguments of XADD and XTRIM."""
    # Exact trimming is the server's default: "=" is left out, as redis-py does.
    mode = ["~"] if approximate else []
    if maxlen is not None:
        args: list[Any] = ["MAXLEN", *mode, integer("maxlen", maxlen, 0)]
    elif minid is not None:
        args = ["MINID", *mode, minid]
    elif limit is not None:
        raise RefusedArgumentError("limit", limit, "needs maxlen or minid")
    else:
        return []
    if limit is not None:
        if not approximate:
            raise RefusedArgumentError("limit", limit, "needs approximate=True")
        args += ["LIMIT", integer("limit", limit, 0)]
    return args


def as_bytes(argument: str, value: Any) -> bytes:
    """``value`` as the bytes the server receives for it (``str`` as UTF-8,
    numbers in decimal); for rules built by prefixing an argument (ACL SETUSER)."""
    if isinstance(value, bool):
        raise DataError(argument, value, "must be a string")
    try:
        return encode_arg(value)
    except (TypeError, UnicodeEncodeError) as exc:
        raise DataError(argument, value, f"cannot be sent: {exc}") from None


def sequence_of(argument: str, value: Any) -> list[Any]:
    """A list or other iterable of arguments (not one string, which would be its letters)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        raise DataError(argument, value, "must be a list, not one string")
    try:
        return list(value)
    except TypeError:
        raise DataError(argument, value, "must be a list") from None


def not_implemented(command: str) -> NoReturn:
    """Raise NotImplementedError for a method redis-py leaves unimplemented on purpose."""
    words = ", ".join(repr(word) for word in command.split())
    raise NotImplementedError(
        f"{command} is not implemented as a method, as in redis-py; "
        f"execute_command({words}) sends it as it is"
    )


def key_list(argument: str, keys: Any) -> list[Any]:
    """A non-empty list of keys given as a list, tuple, mapping's keys or other iterable.

    A single key is refused: redis-py counts the characters of a string
    given here as keys, which is never what was meant.
    """
    if isinstance(keys, SCALARS):
        raise DataError(argument, keys, "must be a list of keys, not one key")
    try:
        items = list(keys)
    except TypeError:
        raise DataError(argument, keys, "must be a list of keys") from None
    if not items:
        raise DataError(argument, keys, "must name at least one key")
    return items


def key_count(argument: str, value: Any, keys: Sequence[Any]) -> int:
    """A ``numkeys`` argument: an integer equal to the number of ``keys``."""
    count = integer(argument, value)
    if count != len(keys):
        raise DataError(argument, value, f"must be the number of keys ({len(keys)})")
    return count


def choice(argument: str, value: Any, allowed: Sequence[str]) -> str:
    """One of the ``allowed`` words (any case), as given: a str, or an Enum whose value is one.

    redis-py's option enums (``ArrayPredicateType.EXACT`` ...) and
    greenpool's own give their ``value``.
    """
    text = value.value if isinstance(value, enum.Enum) else value
    if isinstance(text, str) and text.upper() in allowed:
        return text
    raise _refused(argument, value, f"must be one of {', '.join(allowed)}")


def condition_args(**conditions: Any) -> list[EncodableT]:
    """SET/DELEX conditions, at most one: the flags ``nx``/``xx``, or a value
    compared with ``ifeq``/``ifne``/``ifdeq``/``ifdne`` (sent in that order)."""
    one_of(**conditions)
    for name, value in conditions.items():
        if name in ("nx", "xx"):
            if value:
                return [name.upper()]
        elif value is not None:
            return [name.upper(), value]
    return []


def persist_option(argument: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    """An option such as MSETEX's NX/XX: one of ``allowed``, as a string or an
    Enum member whose value is one (redis-py's ``DataPersistOptions``)."""
    if value is None:
        return None
    text = getattr(value, "value", value)
    if isinstance(text, str) and text.upper() in allowed:
        return text.upper()
    raise _refused(argument, value, f"must be one of {', '.join(allowed)}")


def fields_args(argument: str, fields: Sequence[Any]) -> list[Any]:
    """``FIELDS numfields field ...`` of the hash-field commands (at least one field)."""
    if not fields:
        raise DataError(argument, fields, "at least one field is needed")
    return ["FIELDS", len(fields), *fields]


def numkeys_args(argument: str, numkeys: Any, keys: Sequence[Any]) -> list[Any]:
    """``numkeys key ...`` where ``numkeys`` must count ``keys`` (LMPOP, SINTERCARD ...)."""
    if integer(argument, numkeys, 1) != len(keys):
        raise DataError(argument, numkeys, f"must be the number of keys given ({len(keys)})")
    return [numkeys, *keys]


def keyword(argument: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of ``allowed`` (matched case-insensitively), spelled as in ``allowed``."""
    if isinstance(value, str):
        for word in allowed:
            if value.upper() == word.upper():
                return word
    raise _refused(argument, value, f"must be one of {', '.join(allowed)}")


def collection(argument: str, value: Any) -> list[Any]:
    """A non-empty iterable of values as a list; one str or bytes is refused (it would
    be sent character by character)."""
    if isinstance(value, SCALARS):
        raise DataError(argument, value, "must be a collection of values, not one value")
    try:
        items = list(value)
    except TypeError:
        raise DataError(argument, value, "must be a collection of values") from None
    if not items:
        raise DataError(argument, value, "at least one value is needed")
    return items
