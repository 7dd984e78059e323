"""Stream commands: XADD, XRANGE, XREAD, consumer groups (XGROUP, XREADGROUP, XACK ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import DataError
from ._args import choice, integer, non_empty_mapping, trim_args
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    autoclaimed,
    autoclaimed_ids,
    integer_list,
    integer_reply,
    ok,
    optional_string,
    pending_details,
    pending_summary,
    stream_entries,
    stream_info,
    stream_info_full,
    string_list,
    string_reply,
    text_keys_list,
    xread_claimed,
    xread_reply,
)

_REF_POLICIES = ("KEEPREF", "DELREF", "ACKED")
_NACK_MODES = ("SILENT", "FAIL", "FATAL")


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
        ref_policy: str | None = None,
        idmpauto: str | None = None,
        idmp: tuple[str, bytes] | None = None,
    ) -> ReplyT | None:
        """Append an entry; return its id.

        ``maxlen``/``minid`` trim the stream (approximately, unless
        ``approximate=False``; ``limit`` caps the work), ``ref_policy``
        (KEEPREF, DELREF, ACKED; Redis 8.2) says what trimming does to the
        groups' pending entries; ``nomkstream`` does not create a missing
        stream (then the reply is None).  ``idmpauto`` (a producer id) or
        ``idmp`` (``(producer id, idempotent id)``), with ``id="*"``, make
        the append idempotent (Redis 8.6).
        """
        non_empty_mapping("fields", fields)
        if maxlen is not None and minid is not None:
            raise DataError("maxlen", maxlen, "cannot be combined with minid")
        if idmpauto is not None and idmp is not None:
            raise DataError("idmpauto", idmpauto, "cannot be combined with idmp")
        if (idmpauto is not None or idmp is not None) and id != "*":
            raise DataError("id", id, "must be '*' with idmpauto or idmp")
        args: list[Any] = ["XADD", name]
        if nomkstream:
            args.append("NOMKSTREAM")
        if ref_policy is not None:
            args.append(choice("ref_policy", ref_policy, _REF_POLICIES))
        if idmpauto is not None:
            args += ["IDMPAUTO", idmpauto]
        if idmp is not None:
            if not isinstance(idmp, tuple) or len(idmp) != 2:
                raise DataError("idmp", idmp, "must be a (producer id, idempotent id) tuple")
            args += ["IDMP", *idmp]
        args += trim_args(maxlen, minid, approximate, limit)
        args.append(id)
        for pair in fields.items():
            args += pair
        return self.execute_command(*args, _parse=optional_string)

    def xcfgset(
        self, name: KeyT, idmp_duration: int | None = None, idmp_maxsize: int | None = None
    ) -> ReplyT:
        """Set how long (1-300 s) and how many (1-1,000,000) idempotent ids the stream keeps.

        Redis 8.6.  Return the server's ``OK`` as it comes (redis-py does not
        turn it into True).
        """
        if idmp_duration is None and idmp_maxsize is None:
            raise DataError("idmp_duration", None, "or idmp_maxsize is needed")
        args: list[Any] = ["XCFGSET", name]
        if idmp_duration is not None:
            if integer("idmp_duration", idmp_duration, 1) > 300:
                raise DataError("idmp_duration", idmp_duration, "must be <= 300")
            args += ["IDMP-DURATION", idmp_duration]
        if idmp_maxsize is not None:
            if integer("idmp_maxsize", idmp_maxsize, 1) > 1_000_000:
                raise DataError("idmp_maxsize", idmp_maxsize, "must be <= 1000000")
            args += ["IDMP-MAXSIZE", idmp_maxsize]
        return self.execute_command(*args, _parse=string_reply)

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

    def xdelex(self, name: KeyT, *ids: EncodableT, ref_policy: str = "KEEPREF") -> list[int]:
        """Delete entries, saying what happens to the groups' references (Redis 8.2).

        ``ref_policy``: KEEPREF keeps them in the pending lists, DELREF
        removes them, ACKED deletes only entries every group acknowledged.
        Return one code per id (-1 no such id, 1 deleted, 2 kept: not
        acknowledged by every group).
        """
        args = _ids_args("XDELEX", [name, choice("ref_policy", ref_policy, _REF_POLICIES)], ids)
        return self.execute_command(*args, _parse=integer_list)

    def xtrim(
        self,
        name: KeyT,
        maxlen: int | None = None,
        approximate: bool = True,
        minid: EncodableT | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
    ) -> int:
        """Trim to ``maxlen`` entries or to ids >= ``minid``; return how many were removed.

        ``ref_policy`` (KEEPREF, DELREF, ACKED; Redis 8.2) as for :meth:`xadd`.
        """
        if (maxlen is None) == (minid is None):
            raise DataError(
                "maxlen", maxlen, f"exactly one of maxlen and minid={minid!r} is needed"
            )
        args = ["XTRIM", name, *trim_args(maxlen, minid, approximate, limit)]
        if ref_policy is not None:
            args.append(choice("ref_policy", ref_policy, _REF_POLICIES))
        return self.execute_command(*args, _parse=integer_reply)

    def xread(
        self,
        streams: Mapping[KeyT, EncodableT],
        count: int | None = None,
        block: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> list[list[Any]]:
        """Read entries after the given ids: ``[[stream, [(id, {...}) ...]] ...]``, [] if none.

        ``streams`` maps each stream to the last id seen (``"$"``: only new
        ones).  ``count`` caps the entries per stream, ``max_count`` and
        ``max_size`` (bytes, roughly) the whole reply (Redis 8.10).  With
        ``block`` (milliseconds; 0 waits forever) the server waits for
        entries, and the command runs on a connection of its own (the
        command table marks it blocking).
        """
        non_empty_mapping("streams", streams)
        args = ["XREAD", *_block_args(block), *_read_limits(count, max_count, max_size)]
        args += ["STREAMS", *streams.keys(), *streams.values()]
        return self._read(args, block, xread_reply)

    def _read(self, args: list[Any], block: int | None, parse: Any) -> list[list[Any]]:
        if block is None:
            reply: list[list[Any]] = self.execute_command(*args, _parse=parse)
        else:
            reply = self.execute_command(*args, _block_timeout=block / 1000 or None, _parse=parse)
        return reply

    # -- consumer groups ----------------------------------------------------

    def xgroup_create(
        self,
        name: KeyT,
        groupname: KeyT,
        id: EncodableT = "$",
        mkstream: bool = False,
        entries_read: int | None = None,
    ) -> bool:
        """Create a consumer group that has read up to ``id`` (``"$"``: the last entry); True.

        ``mkstream`` creates a missing stream; ``entries_read`` sets the
        group's read counter (for its lag).
        """
        args: list[Any] = ["XGROUP", "CREATE", name, groupname, id]
        if mkstream:
            args.append("MKSTREAM")
        if entries_read is not None:
            args += ["ENTRIESREAD", integer("entries_read", entries_read)]
        return self.execute_command(*args, _parse=ok)

    def xgroup_setid(
        self,
        name: KeyT,
        groupname: KeyT,
        id: EncodableT,
        entries_read: int | None = None,
    ) -> bool:
        """Set the group's last delivered id (and read counter); True."""
        args: list[Any] = ["XGROUP", "SETID", name, groupname, id]
        if entries_read is not None:
            args += ["ENTRIESREAD", integer("entries_read", entries_read)]
        return self.execute_command(*args, _parse=ok)

    def xgroup_destroy(self, name: KeyT, groupname: KeyT) -> bool:
        """Delete a consumer group; return whether it existed."""
        return self.execute_command("XGROUP", "DESTROY", name, groupname, _parse=bool)

    def xgroup_createconsumer(self, name: KeyT, groupname: KeyT, consumername: KeyT) -> int:
        """Create a consumer in a group; return 1 if it is new, 0 if it existed."""
        return self.execute_command(
            "XGROUP", "CREATECONSUMER", name, groupname, consumername, _parse=integer_reply
        )

    def xgroup_delconsumer(self, name: KeyT, groupname: KeyT, consumername: KeyT) -> int:
        """Delete a consumer; return how many entries it had pending."""
        return self.execute_command(
            "XGROUP", "DELCONSUMER", name, groupname, consumername, _parse=integer_reply
        )

    def xreadgroup(
        self,
        groupname: KeyT,
        consumername: KeyT,
        streams: Mapping[KeyT, EncodableT],
        count: int | None = None,
        block: int | None = None,
        noack: bool = False,
        claim_min_idle_time: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> list[list[Any]]:
        """Read as ``consumername`` of a group: ``[[stream, [(id, {...}) ...]] ...]``, [] if none.

        ``streams`` maps each stream to ``">"`` (entries never delivered to
        the group) or an id (this consumer's pending entries after it).
        ``noack`` skips the pending list.  ``claim_min_idle_time`` (ms, newer
        servers) also claims other consumers' entries idle that long; each
        entry then carries two more items, ``(id, {...}, idle ms, deliveries)``.
        ``count``, ``max_count``, ``max_size`` and ``block`` as for
        :meth:`xread` (with ``block`` it runs on a connection of its own).
        """
        args: list[Any] = ["XREADGROUP", "GROUP", groupname, consumername]
        args += _read_limits(count, max_count, max_size)
        args += _block_args(block)
        if noack:
            args.append("NOACK")
        if claim_min_idle_time is not None:
            args += ["CLAIM", integer("claim_min_idle_time", claim_min_idle_time, 0)]
        non_empty_mapping("streams", streams)
        args += ["STREAMS", *streams.keys(), *streams.values()]
        parse = xread_reply if claim_min_idle_time is None else xread_claimed
        return self._read(args, block, parse)

    def xack(self, name: KeyT, groupname: KeyT, *ids: EncodableT) -> int:
        """Acknowledge entries (remove them from the group's pending list); return how many."""
        return self.execute_command("XACK", name, groupname, *ids, _parse=integer_reply)

    def xackdel(
        self, name: KeyT, groupname: KeyT, *ids: EncodableT, ref_policy: str = "KEEPREF"
    ) -> list[int]:
        """Acknowledge entries and delete them from the stream (Redis 8.2).

        ``ref_policy`` as for :meth:`xdelex`.  Return one code per id (-1
        no such id, 1 acknowledged and deleted, 2 acknowledged but kept).
        """
        policy = choice("ref_policy", ref_policy, _REF_POLICIES)
        args = _ids_args("XACKDEL", [name, groupname, policy], ids)
        return self.execute_command(*args, _parse=integer_list)

    def xnack(
        self,
        name: KeyT,
        groupname: KeyT,
        mode: str,
        *ids: EncodableT,
        retrycount: int | None = None,
        force: bool = False,
    ) -> int:
        """Give back pending entries unprocessed (a newer server's command); return how many.

        ``mode``: SILENT (the consumer is leaving: the delivery count goes
        back one), FAIL (unchanged) or FATAL (never deliver again);
        ``retrycount`` sets the delivery count instead; ``force`` creates
        pending entries for ids not pending yet.
        """
        args = _ids_args("XNACK", [name, groupname, choice("mode", mode, _NACK_MODES)], ids)
        if retrycount is not None:
            args += ["RETRYCOUNT", integer("retrycount", retrycount, 0)]
        if force:
            args.append("FORCE")
        return self.execute_command(*args, _parse=integer_reply)

    def xclaim(
        self,
        name: KeyT,
        groupname: KeyT,
        consumername: KeyT,
        min_idle_time: int,
        message_ids: Sequence[EncodableT],
        idle: int | None = None,
        time: int | None = None,
        retrycount: int | None = None,
        force: bool = False,
        justid: bool = False,
    ) -> list[Any]:
        """Take over pending entries idle at least ``min_idle_time`` ms.

        Return the claimed entries as ``[(id, {...}) ...]``, or their ids
        with ``justid``.  ``idle`` (ms) or ``time`` (unix ms) set their idle
        time, ``retrycount`` their delivery count; ``force`` claims ids not
        pending yet.
        """
        if not isinstance(message_ids, (list, tuple)) or not message_ids:
            raise DataError("message_ids", message_ids, "must be a non-empty list or tuple")
        args: list[Any] = ["XCLAIM", name, groupname, consumername]
        args += [integer("min_idle_time", min_idle_time, 0), *message_ids]
        if idle is not None:
            args += ["IDLE", integer("idle", idle)]
        if time is not None:
            args += ["TIME", integer("time", time)]
        if retrycount is not None:
            args += ["RETRYCOUNT", integer("retrycount", retrycount)]
        if force:
            args.append("FORCE")
        if justid:
            args.append("JUSTID")
            reply: list[Any] = self.execute_command(*args, _parse=string_list)
        else:
            reply = self.execute_command(*args, _parse=stream_entries)
        return reply

    def xautoclaim(
        self,
        name: KeyT,
        groupname: KeyT,
        consumername: KeyT,
        min_idle_time: int,
        start_id: EncodableT = "0-0",
        count: int | None = None,
        justid: bool = False,
    ) -> list[Any]:
        """Take over pending entries idle at least ``min_idle_time`` ms, from ``start_id`` on.

        Return ``[next start id, [(id, {...}) ...], ids of deleted entries]``
        (Redis 6.2 sends no third item), or only the claimed ids with
        ``justid``.  ``count`` caps the entries claimed (the server's
        default is 100).
        """
        args: list[Any] = ["XAUTOCLAIM", name, groupname, consumername]
        args += [integer("min_idle_time", min_idle_time, 0), start_id]
        if count is not None:
            args += ["COUNT", integer("count", count, 1)]
        if justid:
            args.append("JUSTID")
            return self.execute_command(*args, _parse=autoclaimed_ids)
        return self.execute_command(*args, _parse=autoclaimed)

    def xpending(self, name: KeyT, groupname: KeyT) -> dict[str, Any]:
        """Summarise the group's pending entries.

        Return ``{"pending": count, "min": id, "max": id, "consumers":
        [{"name": consumer, "pending": count} ...]}``.
        """
        return self.execute_command("XPENDING", name, groupname, _parse=pending_summary)

    def xpending_range(
        self,
        name: KeyT,
        groupname: KeyT,
        min: EncodableT | None,
        max: EncodableT | None,
        count: int | None,
        consumername: KeyT | None = None,
        idle: int | None = None,
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """Return up to ``count`` pending entries with ids from ``min`` to ``max``.

        Each is ``{"message_id", "consumer", "time_since_delivered",
        "times_delivered"}``; ``consumername`` and ``idle`` (ms) filter them.
        With ``min``, ``max`` and ``count`` all None this is :meth:`xpending`
        (as in redis-py).
        """
        if min is None and max is None and count is None:
            if idle is not None or consumername is not None:
                raise DataError("min", min, "max and count are needed with idle or consumername")
            return self.xpending(name, groupname)
        if min is None or max is None or count is None:
            raise DataError("min", min, f"max={max!r} and count={count!r} go together")
        args: list[Any] = ["XPENDING", name, groupname]
        if idle is not None:
            args += ["IDLE", integer("idle", idle, 0)]
        args += [min, max, integer("count", count, 0)]
        if consumername:
            args.append(consumername)
        return self.execute_command(*args, _parse=pending_details)

    # -- introspection ------------------------------------------------------

    def xinfo_stream(self, name: KeyT, full: bool = False) -> dict[str, Any]:
        """Describe the stream: a dict with ``str`` keys (redis-py's shape).

        ``first-entry`` and ``last-entry`` are ``(id, {...})``.  With
        ``full``, ``entries`` maps ids to fields and ``groups`` lists each
        group (and its consumers) as dicts with ``str`` keys.
        """
        if full:
            return self.execute_command("XINFO", "STREAM", name, "FULL", _parse=stream_info_full)
        return self.execute_command("XINFO", "STREAM", name, _parse=stream_info)

    def xinfo_groups(self, name: KeyT) -> list[dict[str, Any]]:
        """Describe the stream's consumer groups: one dict with ``str`` keys each."""
        return self.execute_command("XINFO", "GROUPS", name, _parse=text_keys_list)

    def xinfo_consumers(self, name: KeyT, groupname: KeyT) -> list[dict[str, Any]]:
        """Describe a group's consumers: one dict with ``str`` keys each."""
        return self.execute_command("XINFO", "CONSUMERS", name, groupname, _parse=text_keys_list)


def _ids_args(command: str, head: list[Any], ids: Sequence[Any]) -> list[Any]:
    """``command *head IDS n id ...``: XACKDEL, XDELEX, XNACK (at least one id)."""
    if not ids:
        raise DataError("ids", ids, "at least one id is needed")
    return [command, *head, "IDS", len(ids), *ids]


def _block_args(block: int | None) -> list[Any]:
    return [] if block is None else ["BLOCK", integer("block", block, 0)]


def _read_limits(count: int | None, max_count: int | None, max_size: int | None) -> list[Any]:
    """COUNT (per stream), MAXCOUNT and MAXSIZE (the whole reply) of XREAD and XREADGROUP."""
    args: list[Any] = []
    if count is not None:
        args += ["COUNT", integer("count", count, 1)]
    if max_count is not None:
        integer("max_count", max_count, 1)
        if count is not None and max_count < count:
            raise DataError("max_count", max_count, f"must be >= count ({count})")
        args += ["MAXCOUNT", max_count]
    if max_size is not None:
        args += ["MAXSIZE", integer("max_size", max_size, 1)]
    return args
