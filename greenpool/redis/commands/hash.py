"""Hash commands: HSET, HGET, HGETALL, HSCAN ...."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..exceptions import DataError
from ._args import integer, list_or_args, numeric, scan_args
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    flatten_pairs,
    hscan_reply,
    integer_reply,
    optional_string,
    optional_string_list,
    pairs_to_dict,
    scan_reply,
    string_list,
)


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
