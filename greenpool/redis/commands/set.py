"""Set commands: SADD, SMEMBERS, SINTER, SSCAN ...."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ._args import integer, list_or_args, numkeys_args, scan_args
from ._base import CommandGroup, EncodableT, KeyT, MemberSetT, ReplyT
from ._replies import bools, integer_reply, member_set, scan_reply


class SetCommands(CommandGroup):
    """The set group: redis-py's methods for it."""

    def sadd(self, name: KeyT, *values: EncodableT) -> int:
        """Add members; return how many were new."""
        return self.execute_command("SADD", name, *values, _parse=integer_reply)

    def srem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove members; return how many were there."""
        return self.execute_command("SREM", name, *values, _parse=integer_reply)

    def smembers(self, name: KeyT) -> MemberSetT:
        """Return the members as a set."""
        return self.execute_command("SMEMBERS", name, _parse=member_set)

    def sismember(self, name: KeyT, value: EncodableT) -> bool:
        """Return whether ``value`` is a member."""
        return self.execute_command("SISMEMBER", name, value, _parse=bool)

    def smismember(
        self, name: KeyT, values: EncodableT | Iterable[EncodableT], *args: EncodableT
    ) -> list[bool]:
        """Return, for each value, whether it is a member."""
        return self.execute_command(
            "SMISMEMBER", name, *list_or_args("values", values, args), _parse=bools
        )

    def scard(self, name: KeyT) -> int:
        """Return the number of members."""
        return self.execute_command("SCARD", name, _parse=integer_reply)

    def spop(self, name: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Remove and return a random member (None if empty), or a list of ``count``."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("SPOP", name)
        else:
            reply = self.execute_command("SPOP", name, integer("count", count, 0))
        return reply

    def srandmember(self, name: KeyT, number: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Return a random member (None if empty), or a list of ``number`` (< 0: repeats)."""
        if number is None:
            reply: ReplyT | list[ReplyT] | None = self.execute_command("SRANDMEMBER", name)
        else:
            reply = self.execute_command("SRANDMEMBER", name, integer("number", number))
        return reply

    def smove(self, src: KeyT, dst: KeyT, value: EncodableT) -> bool:
        """Move ``value`` from ``src`` to ``dst``; return whether it was in ``src``."""
        return self.execute_command("SMOVE", src, dst, value, _parse=bool)

    def sinter(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> MemberSetT:
        """Return the intersection of the sets."""
        return self.execute_command("SINTER", *list_or_args("keys", keys, args), _parse=member_set)

    def sunion(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> MemberSetT:
        """Return the union of the sets."""
        return self.execute_command("SUNION", *list_or_args("keys", keys, args), _parse=member_set)

    def sdiff(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> MemberSetT:
        """Return the members of the first set that are in none of the others."""
        return self.execute_command("SDIFF", *list_or_args("keys", keys, args), _parse=member_set)

    def sinterstore(self, dest: KeyT, keys: KeyT | Iterable[KeyT], *args: KeyT) -> int:
        """Store the intersection in ``dest``; return its size."""
        return self.execute_command(
            "SINTERSTORE", dest, *list_or_args("keys", keys, args), _parse=integer_reply
        )

    def sunionstore(self, dest: KeyT, keys: KeyT | Iterable[KeyT], *args: KeyT) -> int:
        """Store the union in ``dest``; return its size."""
        return self.execute_command(
            "SUNIONSTORE", dest, *list_or_args("keys", keys, args), _parse=integer_reply
        )

    def sdiffstore(self, dest: KeyT, keys: KeyT | Iterable[KeyT], *args: KeyT) -> int:
        """Store the difference in ``dest``; return its size."""
        return self.execute_command(
            "SDIFFSTORE", dest, *list_or_args("keys", keys, args), _parse=integer_reply
        )

    def sintercard(self, numkeys: int, keys: list[KeyT], limit: int = 0) -> int:
        """Return the size of the intersection of the ``numkeys`` sets ``keys`` (SINTERCARD,
        Redis 7.0), counting up to ``limit`` (0: no limit)."""
        return self._card("SINTERCARD", numkeys, keys, limit)

    def sunioncard(
        self, numkeys: int, keys: list[KeyT], limit: int = 0, approx: bool = False
    ) -> int:
        """Return the size of the union of the sets (SUNIONCARD, Redis 8.8), up to ``limit``;
        estimated with HyperLogLog when ``approx``."""
        return self._card("SUNIONCARD", numkeys, keys, limit, approx)

    def sdiffcard(self, numkeys: int, keys: list[KeyT], limit: int = 0) -> int:
        """Return the size of the first set minus the others (SDIFFCARD, Redis 8.8), up to
        ``limit``."""
        return self._card("SDIFFCARD", numkeys, keys, limit)

    def _card(
        self, command: str, numkeys: int, keys: list[KeyT], limit: int, approx: bool = False
    ) -> int:
        args = [command, *numkeys_args("numkeys", numkeys, list_or_args("keys", keys, ()))]
        if approx:
            args.append("APPROX")
        args += ["LIMIT", integer("limit", limit, 0)]
        return self.execute_command(*args, _parse=integer_reply)

    def sscan(
        self, name: KeyT, cursor: int = 0, match: KeyT | None = None, count: int | None = None
    ) -> tuple[int, list[ReplyT]]:
        """Return ``(next cursor, members)`` for one SSCAN step."""
        return self.execute_command(
            "SSCAN", name, integer("cursor", cursor, 0), *scan_args(match, count), _parse=scan_reply
        )

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
