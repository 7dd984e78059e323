"""String commands: GET, SET, MGET, INCR ...."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..exceptions import DataError
from ._args import expiry_args, integer, list_or_args, non_empty_mapping, numeric, relative
from ._base import AbsExpiryT, CommandGroup, EncodableT, ExpiryT, KeyT, ReplyT
from ._replies import (
    integer_reply,
    ok,
    ok_or_none,
    optional_string,
    optional_string_list,
    string_reply,
)


class StringCommands(CommandGroup):
    """The string group: redis-py's methods for it."""

    def get(self, name: KeyT) -> ReplyT | None:
        """Return the value of ``name``, or None if it does not exist."""
        return self.execute_command("GET", name, _parse=optional_string)

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
            return self.execute_command("SET", name, value, _parse=ok_or_none)
        args: list[EncodableT] = ["SET", name, value]
        args += expiry_args(ex, px, exat, pxat, "keepttl", keepttl)
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
            return self.execute_command(*args, _parse=optional_string)
        return self.execute_command(*args, _parse=ok_or_none)

    def getset(self, name: KeyT, value: EncodableT) -> ReplyT | None:
        """Set ``name`` to ``value``; return the old value or None."""
        return self.execute_command("GETSET", name, value, _parse=optional_string)

    def getdel(self, name: KeyT) -> ReplyT | None:
        """Delete ``name``; return its value, or None if it did not exist."""
        return self.execute_command("GETDEL", name, _parse=optional_string)

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
        args = expiry_args(ex, px, exat, pxat, "persist", persist)
        if persist:
            args.append("PERSIST")
        return self.execute_command("GETEX", name, *args, _parse=optional_string)

    def mget(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> list[ReplyT | None]:
        """Return the values of the keys (None for a missing one); [] for no keys."""
        names = list_or_args("keys", keys, args)
        if not names:
            return []
        return self.execute_command("MGET", *names, _parse=optional_string_list)

    def mset(self, mapping: Mapping[KeyT, EncodableT]) -> bool:
        """Set every key of ``mapping`` to its value; True."""
        args: list[Any] = []
        for pair in non_empty_mapping("mapping", mapping).items():
            args += pair
        return self.execute_command("MSET", *args, _parse=ok)

    def msetnx(self, mapping: Mapping[KeyT, EncodableT]) -> bool:
        """Set the keys of ``mapping`` only if none exists; return whether they were set."""
        args: list[Any] = []
        for pair in non_empty_mapping("mapping", mapping).items():
            args += pair
        return self.execute_command("MSETNX", *args, _parse=bool)

    def setnx(self, name: KeyT, value: EncodableT) -> bool:
        """Set ``name`` if it does not exist; return whether it was set."""
        return self.execute_command("SETNX", name, value, _parse=bool)

    def setex(self, name: KeyT, time: ExpiryT, value: EncodableT) -> bool:
        """Set ``name`` with a TTL of ``time`` seconds (or a timedelta); True."""
        seconds = relative("time", time, 1, True)
        return self.execute_command("SETEX", name, seconds, value, _parse=ok)

    def psetex(self, name: KeyT, time_ms: ExpiryT, value: EncodableT) -> bool:
        """Set ``name`` with a TTL of ``time_ms`` milliseconds (or a timedelta); True."""
        millis = relative("time_ms", time_ms, 1000, True)
        return self.execute_command("PSETEX", name, millis, value, _parse=ok)

    def append(self, key: KeyT, value: EncodableT) -> int:
        """Append ``value`` to the string at ``key``; return its new length."""
        return self.execute_command("APPEND", key, value, _parse=integer_reply)

    def strlen(self, name: KeyT) -> int:
        """Return the length of the string at ``name`` (0 if missing)."""
        return self.execute_command("STRLEN", name, _parse=integer_reply)

    def getrange(self, key: KeyT, start: int, end: int) -> ReplyT:
        """Return the substring of ``key`` from ``start`` to ``end`` (inclusive)."""
        return self.execute_command(
            "GETRANGE", key, integer("start", start), integer("end", end), _parse=string_reply
        )

    def setrange(self, name: KeyT, offset: int, value: EncodableT) -> int:
        """Overwrite ``name`` from ``offset`` with ``value``; return the new length."""
        return self.execute_command(
            "SETRANGE", name, integer("offset", offset, 0), value, _parse=integer_reply
        )

    def incrby(self, name: KeyT, amount: int = 1) -> int:
        """Add ``amount`` to the integer at ``name``; return the new value."""
        return self.execute_command("INCRBY", name, integer("amount", amount), _parse=integer_reply)

    incr = incrby

    def decrby(self, name: KeyT, amount: int = 1) -> int:
        """Subtract ``amount`` from the integer at ``name``; return the new value."""
        return self.execute_command("DECRBY", name, integer("amount", amount), _parse=integer_reply)

    decr = decrby

    def incrbyfloat(self, name: KeyT, amount: float = 1.0) -> float:
        """Add ``amount`` to the number at ``name``; return the new value as a float."""
        return self.execute_command("INCRBYFLOAT", name, numeric("amount", amount), _parse=float)
