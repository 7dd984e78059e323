"""Hash commands: HSET, HGET, HGETALL, HSCAN ...."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..exceptions import DataError
from ._args import (
    absolute,
    collection,
    deprecated,
    expire_flags,
    expiry_args,
    fields_args,
    integer,
    list_or_args,
    non_empty_mapping,
    numeric,
    one_of,
    persist_option,
    relative,
    scan_args,
)
from ._base import AbsExpiryT, CommandGroup, EncodableT, ExpiryT, KeyT, ReplyT
from ._replies import (
    flatten_pairs,
    hscan_reply,
    integer_list,
    integer_reply,
    ok,
    optional_string,
    optional_string_list,
    pairs_to_dict,
    scan_reply,
    string_list,
)


class HashDataPersistOptions(enum.Enum):
    """HSETEX's condition (redis-py's enum of the same name is accepted too)."""

    FNX = "FNX"
    """Set the fields only if none of them exists."""
    FXX = "FXX"
    """Set the fields only if all of them exist."""


class HashCommands(CommandGroup):
    """The hash group: redis-py's methods for it."""

    def hset(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[EncodableT, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
    ) -> int:
        """Set fields (``key``/``value``, ``mapping``, flat ``items``); return how many are new."""
        args = _field_values("hset", key, value, mapping, items)
        return self.execute_command("HSET", name, *args, _parse=integer_reply)

    def hsetnx(self, name: KeyT, key: EncodableT, value: EncodableT) -> int:
        """Set a field only if it does not exist; return 1 if set, 0 if not."""
        return self.execute_command("HSETNX", name, key, value, _parse=integer_reply)

    def hget(self, name: KeyT, key: EncodableT) -> ReplyT | None:
        """Return the value of a field, or None."""
        return self.execute_command("HGET", name, key, _parse=optional_string)

    def hmget(
        self, name: KeyT, keys: EncodableT | Iterable[EncodableT], *args: EncodableT
    ) -> list[ReplyT | None]:
        """Return the values of the fields (None for a missing one)."""
        return self.execute_command(
            "HMGET", name, *list_or_args("keys", keys, args), _parse=optional_string_list
        )

    def hgetall(self, name: KeyT) -> dict[ReplyT, ReplyT]:
        """Return every field and value of the hash as a dict ({} if missing)."""
        return self.execute_command("HGETALL", name, _parse=pairs_to_dict)

    def hdel(self, name: KeyT, *keys: EncodableT) -> int:
        """Delete fields; return how many existed."""
        return self.execute_command("HDEL", name, *keys, _parse=integer_reply)

    def hexists(self, name: KeyT, key: EncodableT) -> bool:
        """Return whether the field exists."""
        return self.execute_command("HEXISTS", name, key, _parse=bool)

    def hincrby(self, name: KeyT, key: EncodableT, amount: int = 1) -> int:
        """Add ``amount`` to an integer field; return the new value."""
        return self.execute_command(
            "HINCRBY", name, key, integer("amount", amount), _parse=integer_reply
        )

    def hincrbyfloat(self, name: KeyT, key: EncodableT, amount: float = 1.0) -> float:
        """Add ``amount`` to a numeric field; return the new value as a float."""
        return self.execute_command(
            "HINCRBYFLOAT", name, key, numeric("amount", amount), _parse=float
        )

    def hkeys(self, name: KeyT) -> list[ReplyT]:
        """Return the hash's fields."""
        return self.execute_command("HKEYS", name, _parse=string_list)

    def hvals(self, name: KeyT) -> list[ReplyT]:
        """Return the hash's values."""
        return self.execute_command("HVALS", name, _parse=string_list)

    def hlen(self, name: KeyT) -> int:
        """Return the number of fields."""
        return self.execute_command("HLEN", name, _parse=integer_reply)

    def hstrlen(self, name: KeyT, key: EncodableT) -> int:
        """Return the length of a field's value (0 if missing)."""
        return self.execute_command("HSTRLEN", name, key, _parse=integer_reply)

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
                "HRANDFIELD", key, integer("count", count), "WITHVALUES", _parse=flatten_pairs
            )
        else:
            reply = self.execute_command("HRANDFIELD", key, integer("count", count))
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
        args = scan_args(match, count)
        if no_values:
            args.append("NOVALUES")
        cursor_arg = integer("cursor", cursor, 0)
        if no_values:
            return self.execute_command("HSCAN", name, cursor_arg, *args, _parse=scan_reply)
        return self.execute_command("HSCAN", name, cursor_arg, *args, _parse=hscan_reply)

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

    def hmset(self, name: KeyT, mapping: Mapping[EncodableT, EncodableT]) -> bool:
        """Set every field of ``mapping`` (HMSET); True.

        Deprecated, as in redis-py (a DeprecationWarning): use ``hset(name, mapping=...)``."""
        deprecated("hmset", "hset")
        args: list[Any] = []
        for pair in non_empty_mapping("mapping", mapping).items():
            args += pair
        return self.execute_command("HMSET", name, *args, _parse=ok)

    def hgetdel(self, name: KeyT, *keys: EncodableT) -> list[ReplyT | None]:
        """Return the values of the fields (None for a missing one) and delete them.

        HGETDEL, Redis 8.0.  A hash left empty is deleted.
        """
        return self.execute_command(
            "HGETDEL", name, *fields_args("keys", keys), _parse=optional_string_list
        )

    def hgetex(
        self,
        name: KeyT,
        *keys: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> list[ReplyT | None]:
        """Return the values of the fields (None for a missing one), setting their TTL.

        HGETEX, Redis 8.0.  ``ex``/``px``/``exat``/``pxat`` set the fields'
        TTL, ``persist`` removes it; at most one of them.
        """
        fields = fields_args("keys", keys)
        options = expiry_args(ex, px, exat, pxat, "persist", persist)
        if persist:
            options.append("PERSIST")
        return self.execute_command("HGETEX", name, *options, *fields, _parse=optional_string_list)

    def hsetex(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[EncodableT, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        data_persist_option: HashDataPersistOptions | None = None,
        keepttl: bool = False,
    ) -> int:
        """Set fields (as :meth:`hset` takes them) with a TTL (HSETEX, Redis 8.0).

        ``ex``/``px``/``exat``/``pxat``/``keepttl`` are mutually exclusive;
        ``data_persist_option`` (:class:`HashDataPersistOptions` or
        ``"FNX"``/``"FXX"``) sets them only if none / all of them exist.
        Return 1 if the fields were set, 0 if not.
        """
        pieces = _field_values("hsetex", key, value, mapping, items)
        options = expiry_args(ex, px, exat, pxat, "keepttl", keepttl)
        condition = persist_option("data_persist_option", data_persist_option, ("FNX", "FXX"))
        if condition is not None:
            options.append(condition)
        if keepttl:
            options.append("KEEPTTL")
        return self.execute_command(
            "HSETEX", name, *options, "FIELDS", len(pieces) // 2, *pieces, _parse=integer_reply
        )

    # -- hash field expiry (Redis 7.4) --------------------------------------
    # Each returns one integer per field: -2 no such field (or key); for the
    # setters 0 condition not met, 1 set, 2 deleted (a time in the past); for
    # the readers -1 no TTL, else the TTL or expiry time.

    def hexpire(
        self,
        name: KeyT,
        seconds: ExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> list[int]:
        """Give the fields a TTL of ``seconds`` (or a timedelta); a code per field (HEXPIRE).

        ``nx``/``xx``/``gt``/``lt`` (at most one): only if the field has no
        TTL / has one / the new one is longer / shorter.
        """
        amount = relative("seconds", seconds, 1, False)
        return self._field_expiry("HEXPIRE", name, amount, fields, nx, xx, gt, lt)

    def hpexpire(
        self,
        name: KeyT,
        milliseconds: ExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> list[int]:
        """:meth:`hexpire` in milliseconds (HPEXPIRE)."""
        amount = relative("milliseconds", milliseconds, 1000, False)
        return self._field_expiry("HPEXPIRE", name, amount, fields, nx, xx, gt, lt)

    def hexpireat(
        self,
        name: KeyT,
        unix_time_seconds: AbsExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> list[int]:
        """Expire the fields at a unix time in seconds (or a datetime); a code per field."""
        amount = absolute("unix_time_seconds", unix_time_seconds, 1)
        return self._field_expiry("HEXPIREAT", name, amount, fields, nx, xx, gt, lt)

    def hpexpireat(
        self,
        name: KeyT,
        unix_time_milliseconds: AbsExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> list[int]:
        """Expire the fields at a unix time in milliseconds (or a datetime); a code per field."""
        amount = absolute("unix_time_milliseconds", unix_time_milliseconds, 1000)
        return self._field_expiry("HPEXPIREAT", name, amount, fields, nx, xx, gt, lt)

    def _field_expiry(
        self,
        command: str,
        name: KeyT,
        amount: int,
        fields: Sequence[EncodableT],
        nx: bool,
        xx: bool,
        gt: bool,
        lt: bool,
    ) -> list[int]:
        one_of(nx=nx, xx=xx, gt=gt, lt=lt)
        flags = expire_flags(nx, xx, gt, lt)
        return self.execute_command(
            command, name, amount, *flags, *fields_args("fields", fields), _parse=integer_list
        )

    def hpersist(self, name: KeyT, *fields: EncodableT) -> list[int]:
        """Remove the fields' TTL; per field 1 removed, -1 had none, -2 missing (HPERSIST)."""
        return self.execute_command(
            "HPERSIST", name, *fields_args("fields", fields), _parse=integer_list
        )

    def httl(self, key: KeyT, *fields: EncodableT) -> list[int]:
        """Return each field's TTL in seconds (-1 none, -2 missing) (HTTL)."""
        return self.execute_command(
            "HTTL", key, *fields_args("fields", fields), _parse=integer_list
        )

    def hpttl(self, key: KeyT, *fields: EncodableT) -> list[int]:
        """Return each field's TTL in milliseconds (-1 none, -2 missing) (HPTTL)."""
        return self.execute_command(
            "HPTTL", key, *fields_args("fields", fields), _parse=integer_list
        )

    def hexpiretime(self, key: KeyT, *fields: EncodableT) -> list[int]:
        """Return each field's expiry as a unix time in seconds (-1 none, -2 missing)."""
        return self.execute_command(
            "HEXPIRETIME", key, *fields_args("fields", fields), _parse=integer_list
        )

    def hpexpiretime(self, key: KeyT, *fields: EncodableT) -> list[int]:
        """Return each field's expiry as a unix time in milliseconds (-1 none, -2 missing)."""
        return self.execute_command(
            "HPEXPIRETIME", key, *fields_args("fields", fields), _parse=integer_list
        )

    # -- HIMPORT (Redis 8.8): hashes from a prepared fieldset ----------------
    # A fieldset is connection state.  The client prepares it on every one of
    # its connections, and on every new one (the command table marks HIMPORT
    # PREPARE/DISCARD/DISCARDALL as per-connection settings), so HIMPORT SET
    # runs on any connection, shared ones included.  In a pipeline only
    # himport_set runs (on a connection that has the fieldsets).

    def himport_prepare(self, fieldset_name: str, fields: Iterable[EncodableT]) -> bool:
        """Declare the fieldset ``fieldset_name``: its ordered ``fields`` (HIMPORT PREPARE).

        It is prepared at once on every connection of the client (and on
        every new one), replacing a fieldset of that name.  True; an error
        reply (a server without HIMPORT) is raised and nothing is kept.
        Blocks while each connected shared connection answers.
        """
        return self.himport_prepare_internal(fieldset_name, fields)

    def himport_prepare_internal(self, fieldset_name: str, fields: Iterable[EncodableT]) -> bool:
        """HIMPORT PREPARE, as :meth:`himport_prepare` sends it (the same on this client)."""
        names = collection("fields", fields)
        return self.execute_command("HIMPORT", "PREPARE", fieldset_name, *names, _parse=ok)

    def himport_set(self, key: KeyT, fieldset_name: str, values: Iterable[EncodableT]) -> bool:
        """Create or replace the hash ``key`` from ``values``, one per field of the fieldset,
        in its order (HIMPORT SET); True.  An error reply if the fieldset is not prepared."""
        items = collection("values", values)
        return self.execute_command("HIMPORT", "SET", key, fieldset_name, *items, _parse=ok)

    def himport_discard(self, fieldset_name: str) -> int:
        """Forget the fieldset on every connection (HIMPORT DISCARD); 1 if it existed, else 0."""
        return self.himport_discard_internal(fieldset_name)

    def himport_discard_internal(self, fieldset_name: str) -> int:
        """HIMPORT DISCARD, as :meth:`himport_discard` sends it (the same on this client)."""
        return self.execute_command("HIMPORT", "DISCARD", fieldset_name, _parse=integer_reply)

    def himport_discard_all(self) -> int:
        """Forget every fieldset on every connection (HIMPORT DISCARDALL); how many there were."""
        return self.himport_discard_all_internal()

    def himport_discard_all_internal(self) -> int:
        """HIMPORT DISCARDALL, as :meth:`himport_discard_all` sends it (the same on this client)."""
        return self.execute_command("HIMPORT", "DISCARDALL", _parse=integer_reply)


def _field_values(
    command: str,
    key: EncodableT | None,
    value: EncodableT | None,
    mapping: Mapping[EncodableT, EncodableT] | None,
    items: Sequence[EncodableT] | None,
) -> list[Any]:
    """HSET's and HSETEX's ``field value ...``: ``items``, then ``key``, then ``mapping``."""
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
        raise DataError("key", key, f"{command} needs a key, a mapping or items")
    return args
