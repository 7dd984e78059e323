"""Generic (key space) commands: DEL, EXPIRE, TTL, RENAME, SCAN ...."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..exceptions import DataError
from ._args import absolute, expire_flags, integer, list_or_args, relative, scan_args
from ._base import AbsExpiryT, CommandGroup, EncodableT, ExpiryT, KeyT, ReplyT
from ._replies import (
    SortGroups,
    integer_list,
    integer_reply,
    ok,
    optional_bytes,
    optional_string,
    scan_reply,
    string_list,
    string_reply,
)


class GenericCommands(CommandGroup):
    """The generic group: redis-py's methods for it, and the mapping operators.

    As with redis-py, a client reads and writes string keys like a dict:
    ``r["k"]`` is GET (``KeyError`` when the key is missing), ``r["k"] = v``
    is SET, ``del r["k"]`` is DEL and ``"k" in r`` is EXISTS.  Each is one
    command and blocks like any other.
    """

    def __getitem__(self, name: KeyT) -> Any:
        value = self.execute_command("GET", name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: KeyT, value: EncodableT) -> None:
        self.execute_command("SET", name, value)

    def __delitem__(self, name: KeyT) -> None:
        self.execute_command("DEL", name)

    def __contains__(self, name: KeyT) -> bool:
        return bool(self.execute_command("EXISTS", name, _parse=integer_reply))

    def delete(self, *names: KeyT) -> int:
        """Delete the keys; return how many existed."""
        return self.execute_command("DEL", *names, _parse=integer_reply)

    def unlink(self, *names: KeyT) -> int:
        """Delete the keys, freeing memory in the background; return how many existed."""
        return self.execute_command("UNLINK", *names, _parse=integer_reply)

    def exists(self, *names: KeyT) -> int:
        """Return how many of the keys exist (a key named twice counts twice)."""
        return self.execute_command("EXISTS", *names, _parse=integer_reply)

    def touch(self, *args: KeyT) -> int:
        """Update the keys' last access time; return how many exist."""
        return self.execute_command("TOUCH", *args, _parse=integer_reply)

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
        seconds = relative("time", time, 1, False)
        flags = expire_flags(nx, xx, gt, lt)
        return self.execute_command("EXPIRE", name, seconds, *flags, _parse=bool)

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
        millis = relative("time", time, 1000, False)
        flags = expire_flags(nx, xx, gt, lt)
        return self.execute_command("PEXPIRE", name, millis, *flags, _parse=bool)

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
        seconds = absolute("when", when, 1)
        flags = expire_flags(nx, xx, gt, lt)
        return self.execute_command("EXPIREAT", name, seconds, *flags, _parse=bool)

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
        millis = absolute("when", when, 1000)
        flags = expire_flags(nx, xx, gt, lt)
        return self.execute_command("PEXPIREAT", name, millis, *flags, _parse=bool)

    def ttl(self, name: KeyT) -> int:
        """Return the seconds ``name`` has left; -1 without a TTL, -2 if missing."""
        return self.execute_command("TTL", name, _parse=integer_reply)

    def pttl(self, name: KeyT) -> int:
        """Return the milliseconds ``name`` has left; -1 without a TTL, -2 if missing."""
        return self.execute_command("PTTL", name, _parse=integer_reply)

    def persist(self, name: KeyT) -> bool:
        """Remove the TTL of ``name``; return whether it had one."""
        return self.execute_command("PERSIST", name, _parse=bool)

    def rename(self, src: KeyT, dst: KeyT) -> bool:
        """Rename ``src`` to ``dst`` (replacing it); True."""
        return self.execute_command("RENAME", src, dst, _parse=ok)

    def renamenx(self, src: KeyT, dst: KeyT) -> bool:
        """Rename ``src`` to ``dst`` if ``dst`` does not exist; return whether renamed."""
        return self.execute_command("RENAMENX", src, dst, _parse=bool)

    def type(self, name: KeyT) -> ReplyT:
        """Return the type of ``name`` (``string``, ``list`` ... or ``none``)."""
        return self.execute_command("TYPE", name, _parse=string_reply)

    def keys(self, pattern: KeyT = "*", **kwargs: Any) -> list[ReplyT]:
        """Return the keys matching ``pattern`` (scans the whole database: prefer scan_iter)."""
        return self.execute_command("KEYS", pattern, _parse=string_list, **kwargs)

    def randomkey(self, **kwargs: Any) -> ReplyT | None:
        """Return a random key, or None if the database is empty."""
        return self.execute_command("RANDOMKEY", _parse=optional_string, **kwargs)

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
        return self.execute_command(*args, _parse=bool)

    def dump(self, name: KeyT) -> bytes | None:
        """Return the serialized value of ``name`` (always bytes), or None if missing."""
        return self.execute_command("DUMP", name, never_decode=True, _parse=optional_bytes)

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
        args: list[EncodableT] = ["RESTORE", name, integer("ttl", ttl, 0), value]
        if replace:
            args.append("REPLACE")
        if absttl:
            args.append("ABSTTL")
        if idletime is not None:
            args += ["IDLETIME", integer("idletime", idletime, 0)]
        if frequency is not None:
            args += ["FREQ", integer("frequency", frequency, 0)]
        return self.execute_command(*args, _parse=string_reply)

    def scan(
        self,
        cursor: int = 0,
        match: KeyT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> tuple[int, list[ReplyT]]:
        """Return ``(next cursor, keys)`` for one SCAN step; the cursor is 0 at the end."""
        args = scan_args(match, count)
        if _type is not None:
            args += ["TYPE", _type]
        return self.execute_command(
            "SCAN", integer("cursor", cursor, 0), *args, _parse=scan_reply, **kwargs
        )

    def scan_iter(
        self,
        match: KeyT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> Iterator[ReplyT]:
        """Yield every key matching ``match`` (of type ``_type``), SCAN step by step.

        A key may be yielded twice if the keyspace changes meanwhile.
        """
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, match, count, _type, **kwargs)
            yield from keys
            if cursor == 0:
                return

    def expiretime(self, key: KeyT) -> int:
        """Return the unix time (s) at which ``key`` expires; -1 without a TTL, -2 if missing."""
        return self.execute_command("EXPIRETIME", key, _parse=integer_reply)

    def pexpiretime(self, key: KeyT) -> int:
        """:meth:`expiretime` in milliseconds."""
        return self.execute_command("PEXPIRETIME", key, _parse=integer_reply)

    def move(self, name: KeyT, db: int) -> bool:
        """Move ``name`` to database ``db``; False if it is missing or already there.

        The client's own database (``db=``) does not change.
        """
        return self.execute_command("MOVE", name, integer("db", db, 0), _parse=bool)

    def object(self, infotype: str, key: KeyT, **kwargs: Any) -> Any:
        """OBJECT ``infotype`` (ENCODING, IDLETIME, REFCOUNT, FREQ) of ``key``.

        The encoding as a string, the others as integers; None if ``key``
        is missing.
        """
        return self.execute_command("OBJECT", infotype, key, **kwargs)

    def migrate(
        self,
        host: str,
        port: int,
        keys: KeyT | Iterable[KeyT],
        destination_db: int,
        timeout: int,
        copy: bool = False,
        replace: bool = False,
        auth: str | None = None,
        **kwargs: Any,
    ) -> ReplyT:
        """Move the keys to database ``destination_db`` of the server at ``host``:``port``.

        ``timeout`` (ms) bounds the transfer; ``copy`` keeps them here,
        ``replace`` overwrites them there, ``auth`` is the target's password.
        Return ``OK``, or ``NOKEY`` if none of the keys exists.
        """
        names = list_or_args("keys", keys, ())
        if not names:
            raise DataError("keys", keys, "at least one key is needed")
        args: list[Any] = [
            "MIGRATE",
            host,
            integer("port", port, 0),
            "",
            integer("destination_db", destination_db, 0),
            integer("timeout", timeout, 0),
        ]
        if copy:
            args.append("COPY")
        if replace:
            args.append("REPLACE")
        if auth:
            args += ["AUTH", auth]
        args += ["KEYS", *names]
        return self.execute_command(*args, _parse=string_reply, **kwargs)

    def sort(
        self,
        name: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: KeyT | None = None,
        get: KeyT | Iterable[KeyT] | None = None,
        desc: bool = False,
        alpha: bool = False,
        store: KeyT | None = None,
        groups: bool | None = False,
    ) -> Any:
        """Sort the list, set or sorted set at ``name``; the sorted elements.

        ``start``/``num`` page (both or neither); ``by`` sorts by external
        keys (``"w_*"``, ``*`` standing for the element); ``get`` returns
        external keys' values instead (one pattern or several; ``"#"`` is
        the element); ``desc``, ``alpha`` (lexicographic); with ``store`` the
        result is stored there and its length returned; ``groups`` (with
        two or more ``get`` patterns) gives one tuple per element.
        """
        return self._sort("SORT", name, start, num, by, get, desc, alpha, store, groups)

    def sort_ro(
        self,
        key: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: KeyT | None = None,
        get: KeyT | Iterable[KeyT] | None = None,
        desc: bool = False,
        alpha: bool = False,
    ) -> list[Any]:
        """:meth:`sort` without ``store``, as SORT_RO (Redis 7.0): runs on read-only replicas.

        redis-py sends SORT for it; greenpool sends SORT_RO, the read-only
        command the method is named after.
        """
        reply: list[Any] = self._sort("SORT_RO", key, start, num, by, get, desc, alpha, None, False)
        return reply

    def _sort(
        self,
        command: str,
        name: KeyT,
        start: int | None,
        num: int | None,
        by: KeyT | None,
        get: KeyT | Iterable[KeyT] | None,
        desc: bool,
        alpha: bool,
        store: KeyT | None,
        groups: bool | None,
    ) -> Any:
        if (start is None) != (num is None):
            which, value = ("start", start) if num is None else ("num", num)
            raise DataError(which, value, "start and num must be given together")
        args: list[Any] = [command, name]
        if by is not None:
            args += ["BY", by]
        if start is not None:
            args += ["LIMIT", integer("start", start, 0), integer("num", num)]
        patterns = [] if get is None else list_or_args("get", get, ())
        for pattern in patterns:
            args += ["GET", pattern]
        if desc:
            args.append("DESC")
        if alpha:
            args.append("ALPHA")
        if store is not None:
            args += ["STORE", store]
        if groups:
            if len(patterns) < 2 or isinstance(get, (bytes, str)):
                raise DataError("groups", groups, "needs two or more get patterns")
            return self.execute_command(*args, _parse=SortGroups(len(patterns)))
        return self.execute_command(*args)

    def wait(self, num_replicas: int, timeout: int, **kwargs: Any) -> int:
        """Wait until ``num_replicas`` replicas have this connection's writes, or ``timeout`` ms
        (0: forever); return how many have.

        Runs on a dedicated connection (the command table marks it
        blocking), so it counts the writes made on that connection: use it
        in a pipeline (``pipe.set(...).wait(1, 100)``, transaction=False)
        to wait for your own writes.
        """
        millis = integer("timeout", timeout, 0)
        return self.execute_command(
            "WAIT",
            integer("num_replicas", num_replicas, 0),
            millis,
            _block_timeout=millis / 1000 or None,
            _parse=integer_reply,
            **kwargs,
        )

    def waitaof(self, num_local: int, num_replicas: int, timeout: int, **kwargs: Any) -> list[int]:
        """Wait until this connection's writes are in the local AOF (``num_local`` 0 or 1) and
        in ``num_replicas`` replicas' AOF, or ``timeout`` ms (0: forever) (WAITAOF, Redis 7.2).

        Return ``[local, replicas]`` reached.  Runs on a dedicated connection,
        as :meth:`wait` does.
        """
        millis = integer("timeout", timeout, 0)
        return self.execute_command(
            "WAITAOF",
            integer("num_local", num_local, 0),
            integer("num_replicas", num_replicas, 0),
            millis,
            _block_timeout=millis / 1000 or None,
            _parse=integer_list,
            **kwargs,
        )
