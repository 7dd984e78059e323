"""Array commands (Redis 8.8): ARSET, ARGET, ARSCAN, ARINSERT, ARRING, AROP ....

An array is a sparse, integer-indexed sequence of values with an insert
cursor.  The options that redis-py takes as enums take these enums, redis-py's
own, or the plain words.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import DataError
from ._args import choice, integer, non_empty_mapping
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    any_reply,
    integer_reply,
    optional_integer,
    optional_string,
    optional_string_list,
    string_int_or_none,
    text_keys,
)

__all__ = [
    "ArrayAggregateOperations",
    "ArrayCommands",
    "ArrayPredicateCombinator",
    "ArrayPredicateType",
]


class ArrayAggregateOperations(enum.Enum):
    """What :meth:`ArrayCommands.arop` computes over a range."""

    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    AND = "AND"
    OR = "OR"
    XOR = "XOR"
    MATCH = "MATCH"
    USED = "USED"


class ArrayPredicateType(enum.Enum):
    """How a :meth:`ArrayCommands.argrep` predicate matches a value."""

    EXACT = "EXACT"
    MATCH = "MATCH"
    GLOB = "GLOB"
    RE = "RE"


class ArrayPredicateCombinator(enum.Enum):
    """How :meth:`ArrayCommands.argrep` combines several predicates."""

    AND = "AND"
    OR = "OR"


def _words(options: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(option.value for option in options)


_OPERATIONS = _words(ArrayAggregateOperations)
_PREDICATES = _words(ArrayPredicateType)
_COMBINATORS = _words(ArrayPredicateCombinator)


class ArrayCommands(CommandGroup):
    """The array group: redis-py's methods for it."""

    def arset(self, name: KeyT, index: int, *values: EncodableT) -> int:
        """Set ``values`` from ``index`` on; return how many of those slots were empty."""
        _some("values", values)
        return self.execute_command(
            "ARSET", name, integer("index", index), *values, _parse=integer_reply
        )

    def armset(self, name: KeyT, mapping: Mapping[int, EncodableT]) -> int:
        """Set each ``index: value`` of ``mapping``; return how many slots were empty."""
        args: list[Any] = ["ARMSET", name]
        for index, value in non_empty_mapping("mapping", mapping).items():
            args += (integer("mapping", index), value)
        return self.execute_command(*args, _parse=integer_reply)

    def arget(self, name: KeyT, index: int) -> ReplyT | None:
        """Return the value at ``index``, or None (an empty slot, or no array)."""
        return self.execute_command("ARGET", name, integer("index", index), _parse=optional_string)

    def armget(self, name: KeyT, *indices: int) -> list[ReplyT | None]:
        """Return the values at ``indices``, in their order (None for an empty slot)."""
        _some("indices", indices)
        return self.execute_command(
            "ARMGET", name, *_indexes("indices", indices), _parse=optional_string_list
        )

    def argetrange(self, name: KeyT, start: int, end: int) -> list[ReplyT | None]:
        """Return one value per index from ``start`` to ``end`` (reversed if ``start > end``)."""
        return self.execute_command(
            "ARGETRANGE",
            name,
            integer("start", start),
            integer("end", end),
            _parse=optional_string_list,
        )

    def arscan(
        self, name: KeyT, start: int, end: int, limit: int | None = None
    ) -> list[list[Any]]:
        """Return ``[[index, value] ...]`` for the set slots from ``start`` to ``end``.

        ``limit`` caps how many.
        """
        args: list[Any] = ["ARSCAN", name, integer("start", start), integer("end", end)]
        if limit is not None:
            args += ["LIMIT", integer("limit", limit, 0)]
        return self.execute_command(*args, _parse=any_reply)

    def argrep(
        self,
        name: KeyT,
        start: int,
        end: int,
        predicates: Sequence[tuple[Any, EncodableT]],
        combinator: Any = None,
        limit: int | None = None,
        withvalues: bool = False,
        nocase: bool = False,
    ) -> list[Any]:
        """Return the indexes from ``start`` to ``end`` whose values match ``predicates``.

        Each predicate is ``(type, value)``, the type an
        :class:`ArrayPredicateType` (EXACT, MATCH, GLOB, RE); ``combinator``
        (:class:`ArrayPredicateCombinator`: AND, OR; the server's default is
        OR) joins several.  ``withvalues`` returns ``[[index, value] ...]``;
        ``nocase`` ignores case; ``limit`` caps the matches.
        """
        if isinstance(predicates, (str, bytes)) or not predicates:
            raise DataError("predicates", predicates, "must be a non-empty list of (type, value)")
        args: list[Any] = ["ARGREP", name, integer("start", start), integer("end", end)]
        for predicate in predicates:
            if not isinstance(predicate, (tuple, list)) or len(predicate) != 2:
                raise DataError("predicates", predicate, "must be a (type, value) pair")
            args += (choice("predicates", predicate[0], _PREDICATES), predicate[1])
        if combinator is not None:
            args.append(choice("combinator", combinator, _COMBINATORS))
        if limit is not None:
            args += ["LIMIT", integer("limit", limit, 0)]
        if withvalues:
            args.append("WITHVALUES")
        if nocase:
            args.append("NOCASE")
        return self.execute_command(*args, _parse=any_reply)

    def ardel(self, name: KeyT, *indices: int) -> int:
        """Empty the slots at ``indices``; return how many held a value."""
        _some("indices", indices)
        return self.execute_command(
            "ARDEL", name, *_indexes("indices", indices), _parse=integer_reply
        )

    def ardelrange(self, name: KeyT, *ranges: tuple[int, int]) -> int:
        """Empty the slots in each ``(start, end)`` range; return how many held a value."""
        _some("ranges", ranges)
        args: list[Any] = ["ARDELRANGE", name]
        for pair in ranges:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise DataError("ranges", pair, "must be a (start, end) pair")
            args += _indexes("ranges", pair)
        return self.execute_command(*args, _parse=integer_reply)

    def arcount(self, name: KeyT) -> int:
        """Return how many slots hold a value (0 for no array)."""
        return self.execute_command("ARCOUNT", name, _parse=integer_reply)

    def arlen(self, name: KeyT) -> int:
        """Return the highest set index plus one (0 for no array)."""
        return self.execute_command("ARLEN", name, _parse=integer_reply)

    def arinfo(self, name: KeyT, full: bool = False) -> dict[str, Any]:
        """Describe the array: a dict with ``str`` keys (ResponseError if there is none).

        ``full`` adds per-slice statistics (O(N)).
        """
        if full:
            return self.execute_command("ARINFO", name, "FULL", _parse=text_keys)
        return self.execute_command("ARINFO", name, _parse=text_keys)

    def arnext(self, name: KeyT) -> int | None:
        """Return the index :meth:`arinsert` uses next, None once the cursor is exhausted."""
        return self.execute_command("ARNEXT", name, _parse=optional_integer)

    def arseek(self, name: KeyT, index: int) -> int:
        """Move the insert cursor to ``index``; return 1, or 0 if there is no array."""
        return self.execute_command("ARSEEK", name, integer("index", index), _parse=integer_reply)

    def arinsert(self, name: KeyT, *values: EncodableT) -> int:
        """Insert ``values`` at the insert cursor, moving it; return the last index written."""
        _some("values", values)
        return self.execute_command("ARINSERT", name, *values, _parse=integer_reply)

    def arring(self, name: KeyT, size: int, *values: EncodableT) -> int:
        """Insert ``values`` into a ring of ``size`` slots (overwriting the oldest).

        Return the last index written.
        """
        _some("values", values)
        return self.execute_command(
            "ARRING", name, integer("size", size, 1), *values, _parse=integer_reply
        )

    def arlastitems(self, name: KeyT, count: int, rev: bool = False) -> list[ReplyT | None]:
        """Return the ``count`` values inserted last, oldest first (newest first with ``rev``)."""
        args: list[Any] = ["ARLASTITEMS", name, integer("count", count, 0)]
        if rev:
            args.append("REV")
        return self.execute_command(*args, _parse=optional_string_list)

    def arop(
        self,
        name: KeyT,
        start: int,
        end: int,
        operation: Any,
        value: EncodableT | None = None,
    ) -> ReplyT | int | None:
        """Compute ``operation`` (an :class:`ArrayAggregateOperations`) over ``start``..``end``.

        SUM, MIN and MAX give a string, AND, OR, XOR, MATCH (values equal to
        ``value``) and USED an integer; None when nothing is counted.
        """
        args: list[Any] = [
            "AROP",
            name,
            integer("start", start),
            integer("end", end),
            choice("operation", operation, _OPERATIONS),
        ]
        if value is not None:
            args.append(value)
        return self.execute_command(*args, _parse=string_int_or_none)


def _some(argument: str, values: Sequence[Any]) -> None:
    if not values:
        raise DataError(argument, values, "at least one is needed")


def _indexes(argument: str, values: Sequence[Any]) -> list[int]:
    return [integer(argument, value) for value in values]
