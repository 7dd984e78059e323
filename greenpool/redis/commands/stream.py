"""Stream commands: XADD, XRANGE, XREAD ...."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import DataError
from ._args import integer, non_empty_mapping, trim_args
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import integer_reply, optional_string, stream_entries, xread_reply


class StreamCommands(CommandGroup):
    """The stream group: redis-py's methods for it."""

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
        non_empty_mapping("fields", fields)
        if maxlen is not None and minid is not None:
            raise DataError("maxlen", maxlen, "cannot be combined with minid")
        args: list[Any] = ["XADD", name]
        if nomkstream:
            args.append("NOMKSTREAM")
        args += trim_args(maxlen, minid, approximate, limit)
        args.append(id)
        for pair in fields.items():
            args += pair
        return self.execute_command(*args, _parse=optional_string)

    def xlen(self, name: KeyT) -> int:
        """Return the number of entries."""
        return self.execute_command("XLEN", name, _parse=integer_reply)

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
            args += ["COUNT", integer("count", count, 1)]
        return self.execute_command(*args, _parse=stream_entries)

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
            args += ["COUNT", integer("count", count, 1)]
        return self.execute_command(*args, _parse=stream_entries)

    def xdel(self, name: KeyT, *ids: EncodableT) -> int:
        """Delete entries; return how many existed."""
        return self.execute_command("XDEL", name, *ids, _parse=integer_reply)

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
        return self.execute_command(
            "XTRIM", name, *trim_args(maxlen, minid, approximate, limit), _parse=integer_reply
        )

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
        (the command table marks it blocking).
        """
        non_empty_mapping("streams", streams)
        args: list[Any] = ["XREAD"]
        if count is not None:
            args += ["COUNT", integer("count", count, 1)]
        if block is not None:
            args += ["BLOCK", integer("block", block, 0)]
        args.append("STREAMS")
        args += streams.keys()
        args += streams.values()
        if block is None:
            reply: list[list[Any]] = self.execute_command(*args, _parse=xread_reply)
        else:
            reply = self.execute_command(
                *args, _block_timeout=block / 1000 or None, _parse=xread_reply
            )
        return reply
