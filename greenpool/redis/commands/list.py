"""List commands: LPUSH, LRANGE, LMOVE, BLPOP ...."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..exceptions import DataError
from ._args import block_timeout, direction, integer, keyword, list_or_args, numkeys_args
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import int_or_list, integer_reply, ok, optional_string, popped_pair, string_list


class ListCommands(CommandGroup):
    """The list group: redis-py's methods for it."""

    def lpush(self, name: KeyT, *values: EncodableT) -> int:
        """Prepend values; return the list's new length."""
        return self.execute_command("LPUSH", name, *values, _parse=integer_reply)

    def rpush(self, name: KeyT, *values: EncodableT) -> int:
        """Append values; return the list's new length."""
        return self.execute_command("RPUSH", name, *values, _parse=integer_reply)

    def lpushx(self, name: KeyT, *values: EncodableT) -> int:
        """Prepend values if the list exists; return its length (0 if missing)."""
        return self.execute_command("LPUSHX", name, *values, _parse=integer_reply)

    def rpushx(self, name: KeyT, *values: EncodableT) -> int:
        """Append values if the list exists; return its length (0 if missing)."""
        return self.execute_command("RPUSHX", name, *values, _parse=integer_reply)

    def lpop(self, name: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Pop from the head: a value, or a list of up to ``count``; None if missing."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("LPOP", name)
        else:
            reply = self.execute_command("LPOP", name, integer("count", count, 0))
        return reply

    def rpop(self, name: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Pop from the tail: a value, or a list of up to ``count``; None if missing."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("RPOP", name)
        else:
            reply = self.execute_command("RPOP", name, integer("count", count, 0))
        return reply

    def lrange(self, name: KeyT, start: int, end: int) -> list[ReplyT]:
        """Return the elements from ``start`` to ``end`` (inclusive, negatives from the end)."""
        return self.execute_command(
            "LRANGE", name, integer("start", start), integer("end", end), _parse=string_list
        )

    def llen(self, name: KeyT) -> int:
        """Return the list's length (0 if missing)."""
        return self.execute_command("LLEN", name, _parse=integer_reply)

    def lindex(self, name: KeyT, index: int) -> ReplyT | None:
        """Return the element at ``index``, or None."""
        return self.execute_command("LINDEX", name, integer("index", index), _parse=optional_string)

    def lset(self, name: KeyT, index: int, value: EncodableT) -> bool:
        """Set the element at ``index``; True."""
        return self.execute_command("LSET", name, integer("index", index), value, _parse=ok)

    def lrem(self, name: KeyT, count: int, value: EncodableT) -> int:
        """Remove ``count`` occurrences of ``value`` (all if 0, from the tail if < 0); how many."""
        return self.execute_command(
            "LREM", name, integer("count", count), value, _parse=integer_reply
        )

    def ltrim(self, name: KeyT, start: int, end: int) -> bool:
        """Keep only the elements from ``start`` to ``end``; True."""
        return self.execute_command(
            "LTRIM", name, integer("start", start), integer("end", end), _parse=ok
        )

    def linsert(self, name: KeyT, where: str, refvalue: EncodableT, value: EncodableT) -> int:
        """Insert ``value`` ``where`` (BEFORE/AFTER) ``refvalue``; the new length, -1 if no ref."""
        if not isinstance(where, str) or where.upper() not in ("BEFORE", "AFTER"):
            raise DataError("where", where, "must be 'BEFORE' or 'AFTER'")
        return self.execute_command(
            "LINSERT", name, where.upper(), refvalue, value, _parse=integer_reply
        )

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
            if integer("rank", rank) == 0:
                raise DataError("rank", rank, "must not be 0")
            args += ["RANK", rank]
        if count is not None:
            args += ["COUNT", integer("count", count, 0)]
        if maxlen is not None:
            args += ["MAXLEN", integer("maxlen", maxlen, 0)]
        return self.execute_command(*args, _parse=int_or_list)

    def lmove(
        self, first_list: KeyT, second_list: KeyT, src: str = "LEFT", dest: str = "RIGHT"
    ) -> ReplyT | None:
        """Move an element from the ``src`` end of one list to the ``dest`` end of another."""
        return self.execute_command(
            "LMOVE",
            first_list,
            second_list,
            direction("src", src),
            direction("dest", dest),
            _parse=optional_string,
        )

    def rpoplpush(self, src: KeyT, dst: KeyT) -> ReplyT | None:
        """Move the tail of ``src`` to the head of ``dst``; return it, or None."""
        return self.execute_command("RPOPLPUSH", src, dst, _parse=optional_string)

    def blpop(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT] | None:
        """Pop from the head of the first non-empty list, waiting up to ``timeout`` s (0: forever).

        Return ``(key, value)``, or None on timeout.  Runs on a connection
        of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        names = list_or_args("keys", keys, ())
        return self.execute_command(
            "BLPOP", *names, seconds, _block_timeout=seconds or None, _parse=popped_pair
        )

    def brpop(
        self, keys: KeyT | Iterable[KeyT], timeout: float | None = 0
    ) -> tuple[ReplyT, ReplyT] | None:
        """Pop from the tail of the first non-empty list, waiting up to ``timeout`` s (0: forever).

        Return ``(key, value)``, or None on timeout.  Runs on a connection
        of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        names = list_or_args("keys", keys, ())
        return self.execute_command(
            "BRPOP", *names, seconds, _block_timeout=seconds or None, _parse=popped_pair
        )

    def blmove(
        self,
        first_list: KeyT,
        second_list: KeyT,
        timeout: float,
        src: str = "LEFT",
        dest: str = "RIGHT",
    ) -> ReplyT | None:
        """:meth:`lmove`, waiting up to ``timeout`` s (0: forever); the element, or None.

        Runs on a connection of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        return self.execute_command(
            "BLMOVE",
            first_list,
            second_list,
            direction("src", src),
            direction("dest", dest),
            seconds,
            _block_timeout=seconds or None,
            _parse=optional_string,
        )

    def brpoplpush(self, src: KeyT, dst: KeyT, timeout: float | None = 0) -> ReplyT | None:
        """:meth:`rpoplpush`, waiting up to ``timeout`` s (0: forever); the element, or None.

        Runs on a connection of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        return self.execute_command(
            "BRPOPLPUSH", src, dst, seconds, _block_timeout=seconds or None, _parse=optional_string
        )

    def lmpop(
        self, num_keys: int, *args: KeyT, direction: str, count: int | None = 1
    ) -> list[Any] | None:
        """Pop up to ``count`` elements from the ``direction`` end (LEFT/RIGHT) of the
        first non-empty list of ``args`` (``num_keys`` of them) (LMPOP).

        Return ``[key, [elements]]``, or None when every list is empty.
        """
        command: list[Any] = ["LMPOP", *numkeys_args("num_keys", num_keys, args)]
        command.append(_direction("direction", direction))
        if count is not None and count != 1:
            command += ["COUNT", integer("count", count, 1)]
        reply: list[Any] | None = self.execute_command(*command)
        return reply

    def blmpop(
        self, timeout: float, numkeys: int, *args: KeyT, direction: str, count: int | None = 1
    ) -> list[Any] | None:
        """:meth:`lmpop`, waiting up to ``timeout`` s (0: forever) for an element (BLMPOP).

        Return ``[key, [elements]]``, or None on timeout.  Runs on a
        connection of its own (the command table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        command: list[Any] = ["BLMPOP", seconds, *numkeys_args("numkeys", numkeys, args)]
        command.append(_direction("direction", direction))
        if count is not None:
            command += ["COUNT", integer("count", count, 1)]
        reply: list[Any] | None = self.execute_command(*command, _block_timeout=seconds or None)
        return reply

    def lmovem(
        self,
        first_list: KeyT,
        second_list: KeyT,
        src: str = "LEFT",
        dest: str = "RIGHT",
        count: int | None = None,
        mode: str | None = None,
        ordering: str | None = None,
    ) -> list[ReplyT] | None:
        """Move elements from the ``src`` end of one list to the ``dest`` end of another
        (LMOVEM, Redis 8.10); the elements moved, in their new order, or None.

        One element, or with ``count`` up to ``count`` (``mode="EXACTLY"``:
        exactly ``count`` or none); ``ordering`` (needed with ``count``):
        ``OBO`` pushes one by one (reversing them), ``BULK`` keeps their order.
        """
        command: list[Any] = [
            "LMOVEM",
            first_list,
            second_list,
            direction("src", src),
            direction("dest", dest),
        ]
        command += _move_count(count, mode, ordering)
        reply: list[ReplyT] | None = self.execute_command(*command)
        return reply

    def blmovem(
        self,
        first_list: KeyT,
        second_list: KeyT,
        timeout: float,
        src: str = "LEFT",
        dest: str = "RIGHT",
        count: int | None = None,
        mode: str | None = None,
        ordering: str | None = None,
    ) -> list[ReplyT] | None:
        """:meth:`lmovem`, waiting up to ``timeout`` s (0: forever) (BLMOVEM, Redis 8.10).

        With ``mode="EXACTLY"`` it waits for ``count`` elements.  None on
        timeout.  Runs on a connection of its own (the table marks it blocking).
        """
        seconds = block_timeout("timeout", timeout)
        command: list[Any] = [
            "BLMOVEM",
            first_list,
            second_list,
            direction("src", src),
            direction("dest", dest),
            seconds,
        ]
        command += _move_count(count, mode, ordering)
        reply: list[ReplyT] | None = self.execute_command(*command, _block_timeout=seconds or None)
        return reply


def _direction(argument: str, value: Any) -> str:
    # The keyword-only argument named ``direction`` hides the check of that name.
    return direction(argument, value)


def _move_count(count: int | None, mode: str | None, ordering: str | None) -> list[Any]:
    """LMOVEM's ``COUNT|EXACTLY count OBO|BULK`` (nothing without ``count``)."""
    if count is None:
        if mode is not None or ordering is not None:
            which, value = ("mode", mode) if mode is not None else ("ordering", ordering)
            raise DataError(which, value, "needs count")
        return []
    if ordering is None:
        raise DataError("ordering", ordering, "'OBO' or 'BULK' is needed with count")
    return [
        keyword("mode", mode or "COUNT", ("COUNT", "EXACTLY")),
        integer("count", count, 1),
        keyword("ordering", ordering, ("OBO", "BULK")),
    ]
