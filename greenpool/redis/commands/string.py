"""String commands: GET, SET, MGET, INCR ...."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from ..exceptions import DataError
from ._args import (
    condition_args,
    deprecated,
    expiry_args,
    integer,
    list_or_args,
    non_empty_mapping,
    numeric,
    one_of,
    persist_option,
    relative,
)
from ._base import AbsExpiryT, CommandGroup, EncodableT, ExpiryT, KeyT, ReplyT
from ._replies import (
    StralgoReply,
    flatten_map,
    integer_reply,
    ok,
    ok_or_none,
    optional_string,
    optional_string_list,
    string_reply,
)


class DataPersistOptions(enum.Enum):
    """MSETEX's condition (redis-py's enum of the same name is accepted too)."""

    NX = "NX"
    """Set the keys only if none of them exists."""
    XX = "XX"
    """Set the keys only if all of them exist."""


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
        ifeq: bytes | str | None = None,
        ifne: bytes | str | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
    ) -> bool | ReplyT | None:
        """Set ``name`` to ``value``.

        Return True, or None when a condition prevented the write; with
        ``get`` return the old value (None if there was none) instead.
        ``ex``/``px``/``exat``/``pxat``/``keepttl`` are mutually exclusive,
        and so are the conditions: ``nx`` (only if missing), ``xx`` (only if
        present), ``ifeq``/``ifne`` (only if the value equals / differs from
        the given one) and ``ifdeq``/``ifdne`` (the same, against the hex
        digest of the value, see :meth:`digest_local`; these four need Redis
        8.4).  Sent in redis-py's order: the condition, GET, the expiry.
        """
        if (
            ex is None
            and px is None
            and exat is None
            and pxat is None
            and not (nx or xx or keepttl or get)
            and ifeq is None
            and ifne is None
            and ifdeq is None
            and ifdne is None
        ):
            return self.execute_command("SET", name, value, _parse=ok_or_none)
        expiry = expiry_args(ex, px, exat, pxat, "keepttl", keepttl)
        args: list[EncodableT] = ["SET", name, value]
        args += condition_args(nx=nx, xx=xx, ifeq=ifeq, ifne=ifne, ifdeq=ifdeq, ifdne=ifdne)
        if get:
            args.append("GET")
        args += expiry
        if keepttl:
            args.append("KEEPTTL")
        if get:
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
        """Return the values of the keys (None for a missing one); [] for no keys
        (the server is not asked; a pipeline gives ``[]`` in its place)."""
        names = list_or_args("keys", keys, args)
        if not names:
            return self._known([])
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
        """Set ``name`` with a TTL of ``time`` seconds (or a timedelta); True.

        Deprecated, as in redis-py (a DeprecationWarning): use ``set(name, value, ex=time)``."""
        deprecated("setex", "set")
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

    def substr(self, name: KeyT, start: int, end: int = -1) -> ReplyT:
        """Return the substring of ``name`` from ``start`` to ``end`` (SUBSTR: old GETRANGE)."""
        return self.execute_command(
            "SUBSTR", name, integer("start", start), integer("end", end), _parse=string_reply
        )

    def msetex(
        self,
        mapping: Mapping[KeyT, EncodableT],
        data_persist_option: DataPersistOptions | None = None,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        keepttl: bool = False,
    ) -> int:
        """Set every key of ``mapping`` with one expiry (MSETEX, Redis 8.4).

        ``data_persist_option`` (:class:`DataPersistOptions` or ``"NX"``/``"XX"``)
        sets them only if none / all of them exist; ``ex``/``px``/``exat``/
        ``pxat``/``keepttl`` are mutually exclusive.  Return 1 if the keys
        were set, 0 if not.
        """
        pairs: list[Any] = []
        for pair in non_empty_mapping("mapping", mapping).items():
            pairs += pair
        condition = persist_option("data_persist_option", data_persist_option, ("NX", "XX"))
        options: list[EncodableT] = [] if condition is None else [condition]
        options += expiry_args(ex, px, exat, pxat, "keepttl", keepttl)
        if keepttl:
            options.append("KEEPTTL")
        return self.execute_command("MSETEX", len(mapping), *pairs, *options, _parse=integer_reply)

    def delex(
        self,
        name: KeyT,
        ifeq: bytes | str | None = None,
        ifne: bytes | str | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
    ) -> int:
        """Delete ``name``, with at most one condition on its value (DELEX, Redis 8.4).

        ``ifeq``/``ifne``: only if the value equals / differs from the given
        one; ``ifdeq``/``ifdne``: the same against its hex digest (see
        :meth:`digest_local`).  Return 1 if deleted, 0 if not.
        """
        conditions = condition_args(ifeq=ifeq, ifne=ifne, ifdeq=ifdeq, ifdne=ifdne)
        return self.execute_command("DELEX", name, *conditions, _parse=integer_reply)

    def digest(self, name: KeyT) -> ReplyT | None:
        """Return the XXH3 hex digest of the value of ``name``, or None (DIGEST, Redis 8.4)."""
        return self.execute_command("DIGEST", name, _parse=optional_string)

    def digest_local(self, value: bytes | str) -> bytes | str:
        """Return the XXH3 hex digest DIGEST would give for ``value``, computed here.

        A ``str`` is hashed as UTF-8.  Returns bytes, or str when the client
        decodes (as :meth:`digest` does).  Needs the ``xxhash`` package
        (``pip install greenpool[redis]``); without it raises
        NotImplementedError, as redis-py does.  Sends nothing.
        """
        try:
            import xxhash
        except ImportError:
            raise NotImplementedError(
                "digest_local needs the xxhash package: pip install 'greenpool[redis]'"
            ) from None
        if isinstance(value, str):
            value = value.encode()
        digest = xxhash.xxh3_64(value).hexdigest()
        return digest if self.decode_responses else digest.encode()

    def increx(
        self,
        name: KeyT,
        *,
        byfloat: EncodableT | None = None,
        byint: EncodableT | None = None,
        lbound: EncodableT | None = None,
        ubound: EncodableT | None = None,
        saturate: bool = False,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
        enx: bool = False,
    ) -> list[Any]:
        """Increment the number at ``name`` within bounds (INCREX, Redis 8.8).

        By 1, ``byint`` or ``byfloat`` (one of them); ``lbound``/``ubound``
        bound the result: out of bounds it is refused (the increment reported
        is 0), or clamped with ``saturate``.  ``ex``/``px``/``exat``/``pxat``
        set a TTL (with ``enx``: only if there is none), ``persist`` removes
        it.  Return ``[new value, increment applied]`` as the server sends them.
        """
        one_of(byfloat=byfloat, byint=byint)
        if enx and ex is None and px is None and exat is None and pxat is None:
            raise DataError("enx", enx, "needs ex, px, exat or pxat")
        args: list[EncodableT] = ["INCREX", name]
        if byfloat is not None:
            args += ["BYFLOAT", byfloat]
        elif byint is not None:
            args += ["BYINT", byint]
        if lbound is not None:
            args += ["LBOUND", lbound]
        if ubound is not None:
            args += ["UBOUND", ubound]
        if saturate:
            args.append("SATURATE")
        args += expiry_args(ex, px, exat, pxat, "persist", persist)
        if persist:
            args.append("PERSIST")
        if enx:
            args.append("ENX")
        reply: list[Any] = self.execute_command(*args)
        return reply

    def lcs(
        self,
        key1: KeyT,
        key2: KeyT,
        len: bool | None = False,
        idx: bool | None = False,
        minmatchlen: int | None = 0,
        withmatchlen: bool | None = False,
    ) -> Any:
        """The longest common subsequence of the strings at two keys (LCS).

        Returns it as a string; its length (an int) with ``len``; with
        ``idx`` the flat ``[b"matches", [...], b"len", n]`` list Redis sends
        (matches of at least ``minmatchlen``, each with its length when
        ``withmatchlen``), as redis-py gives it on both protocols.
        """
        args: list[EncodableT] = ["LCS", key1, key2]
        if len:
            args.append("LEN")
        if idx:
            args.append("IDX")
        if minmatchlen:
            args += ["MINMATCHLEN", integer("minmatchlen", minmatchlen, 0)]
        if withmatchlen:
            args.append("WITHMATCHLEN")
        return self.execute_command(*args, _parse=flatten_map)

    def stralgo(
        self,
        algo: str,
        value1: KeyT,
        value2: KeyT,
        specific_argument: str = "strings",
        len: bool = False,
        idx: bool = False,
        minmatchlen: int | None = None,
        withmatchlen: bool = False,
        **kwargs: Any,
    ) -> Any:
        """STRALGO LCS over two strings, or two keys with ``specific_argument="keys"``.

        Redis 6 only (7.0 replaced it with :meth:`lcs`).  Returns the common
        string as ``str``; its length with ``len``; with ``idx`` a dict
        ``{"matches": [[(start, end), (start, end)] ...], "len": n}`` (each
        match led by its length with ``withmatchlen``).  ``len`` and ``idx``
        exclude each other.
        """
        if algo != "LCS":
            raise DataError("algo", algo, "must be 'LCS'")
        if specific_argument not in ("strings", "keys"):
            raise DataError("specific_argument", specific_argument, "must be 'strings' or 'keys'")
        if len and idx:
            raise DataError("len", len, "cannot be combined with idx=True")
        args: list[EncodableT] = ["STRALGO", algo, specific_argument.upper(), value1, value2]
        if len:
            args.append("LEN")
        if idx:
            args.append("IDX")
        if minmatchlen is not None:
            args += ["MINMATCHLEN", integer("minmatchlen", minmatchlen, 0)]
        if withmatchlen:
            args.append("WITHMATCHLEN")
        shape = StralgoReply(bool(len), bool(idx), bool(withmatchlen))
        return self.execute_command(*args, _parse=shape, **kwargs)
