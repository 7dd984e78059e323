"""Server commands: INFO, CONFIG, COMMAND, MEMORY, LATENCY, SLOWLOG, SAVE, SHUTDOWN ....

They act on the server, not on a connection, so they run on a shared
connection like any other command (CONFIG SET, SAVE, SWAPDB and FLUSHALL
reach every connection of every client at once).  Two are refused there by
the command table: SYNC and PSYNC turn their connection into a replication
stream.  The few methods redis-py leaves unimplemented on purpose (COMMAND
INFO and DOCS, LATENCY DOCTOR, GRAPH and HISTOGRAM, MEMORY DOCTOR and
HELP, DEBUG SEGFAULT, FAILOVER) raise ``NotImplementedError`` here too;
``execute_command`` sends any of them as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, NoReturn

from ...errors import ConnectionError
from ..exceptions import DataError, RedisError
from ._args import integer, not_implemented
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    always_true,
    bytes_reply,
    command_table,
    config_dict,
    debug_object,
    integer_reply,
    list_reply,
    memory_stats,
    ok,
    optional_integer,
    pair_dicts,
    parse_info,
    slowlog_entries,
    string_list,
    string_reply,
    text_list,
    time_pair,
    timestamp,
)


class ServerCommands(CommandGroup):
    """The server group: redis-py's methods for it."""

    # ------------------------------------------------------------------
    # Introspection

    def info(self, section: str | None = None, *args: str, **kwargs: Any) -> dict[str, Any]:
        """Return INFO (for ``section`` and ``args``, or the default set) as a dict.

        See :func:`parse_info` for the shape; keys are always ``str``.
        """
        if section is None:
            reply: dict[str, Any] = self.execute_command("INFO", _parse=parse_info, **kwargs)
        else:
            reply = self.execute_command("INFO", section, *args, _parse=parse_info, **kwargs)
        return reply

    def dbsize(self, **kwargs: Any) -> int:
        """Return the number of keys in the database."""
        return self.execute_command("DBSIZE", _parse=integer_reply, **kwargs)

    def time(self, **kwargs: Any) -> tuple[int, int]:
        """Return the server's clock as ``(seconds, microseconds)``."""
        return self.execute_command("TIME", _parse=time_pair, **kwargs)

    def lastsave(self, **kwargs: Any) -> datetime.datetime | None:
        """Return when the database was last saved (local time), None if never."""
        return self.execute_command("LASTSAVE", _parse=timestamp, **kwargs)

    def role(self) -> list[Any]:
        """ROLE: the server's replication role and state, as the server sends it.

        ``[b"master", offset, [[host, port, offset] ...]]`` on a primary,
        ``[b"slave", host, port, state, offset]`` on a replica.
        """
        return self.execute_command("ROLE", _parse=list_reply)

    def lolwut(self, *version_numbers: str | float, **kwargs: Any) -> ReplyT:
        """LOLWUT [VERSION v ...]: the server's version and a piece of art, as text."""
        if version_numbers:
            return self.execute_command(
                "LOLWUT", "VERSION", *version_numbers, _parse=string_reply, **kwargs
            )
        return self.execute_command("LOLWUT", _parse=string_reply, **kwargs)

    def debug_object(self, key: KeyT, **kwargs: Any) -> dict[str, Any]:
        """DEBUG OBJECT: low-level facts about ``key`` as a dict.

        ``{"type": "Value", "at": ..., "refcount": 1, "encoding": "embstr",
        "serializedlength": 2, "lru": ..., "lru_seconds_idle": 0 ...}``: the
        counters are ints, the rest ``str``.  The server refuses DEBUG
        unless ``enable-debug-command`` allows it (ResponseError).
        """
        return self.execute_command("DEBUG", "OBJECT", key, _parse=debug_object, **kwargs)

    def debug_segfault(self, **kwargs: Any) -> NoReturn:
        """Raise NotImplementedError, as redis-py does: DEBUG SEGFAULT crashes the server."""
        not_implemented("DEBUG SEGFAULT")

    # ------------------------------------------------------------------
    # COMMAND

    def command(self, **kwargs: Any) -> dict[str, dict[str, Any]]:
        """COMMAND: every command the server knows, as ``{name: {...}}``.

        Each entry has ``name``, ``arity``, ``flags``, ``first_key_pos``,
        ``last_key_pos``, ``step_count``, ``acl_categories`` (``str`` names
        and flags), and ``tips``, ``key_specifications`` and
        ``subcommands`` as the server sends them (maps on RESP3, flat lists
        on RESP2, as with redis-py).
        """
        return self.execute_command("COMMAND", _parse=command_table, **kwargs)

    def command_count(self, **kwargs: Any) -> int:
        """COMMAND COUNT: how many commands the server knows."""
        return self.execute_command("COMMAND", "COUNT", _parse=integer_reply, **kwargs)

    def command_list(
        self, module: str | None = None, category: str | None = None, pattern: str | None = None
    ) -> list[ReplyT]:
        """COMMAND LIST: the server's command names, filtered by ``module``, ACL
        ``category`` or glob ``pattern`` when given (each adds a FILTERBY clause,
        as redis-py sends them; the server takes one)."""
        filters: list[EncodableT] = []
        if module is not None:
            filters += ["MODULE", module]
        if category is not None:
            filters += ["ACLCAT", category]
        if pattern is not None:
            filters += ["PATTERN", pattern]
        if filters:
            filters.insert(0, "FILTERBY")
        return self.execute_command("COMMAND", "LIST", *filters, _parse=string_list)

    def command_getkeys(self, *args: EncodableT) -> list[str]:
        """COMMAND GETKEYS: the key names in the command ``args``, as ``str``."""
        return self.execute_command("COMMAND", "GETKEYS", *args, _parse=text_list)

    def command_getkeysandflags(self, *args: EncodableT) -> list[list[Any]]:
        """COMMAND GETKEYSANDFLAGS: ``[[key, [flag ...]] ...]`` for the command ``args``."""
        return self.execute_command("COMMAND", "GETKEYSANDFLAGS", *args, _parse=list_reply)

    def command_info(self, **kwargs: Any) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("COMMAND INFO")

    def command_docs(self, *args: Any) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("COMMAND DOCS")

    # ------------------------------------------------------------------
    # CONFIG

    def config_get(self, pattern: KeyT = "*", *args: KeyT, **kwargs: Any) -> dict[str, str]:
        """Return the configuration parameters matching the patterns, as ``str -> str``."""
        return self.execute_command("CONFIG", "GET", pattern, *args, _parse=config_dict, **kwargs)

    def config_set(self, name: KeyT, value: EncodableT, *args: EncodableT, **kwargs: Any) -> bool:
        """Set configuration parameters (``name, value`` and more pairs in ``args``); True.

        The server's configuration: every connection of every client sees it at once.
        """
        return self.execute_command("CONFIG", "SET", name, value, *args, _parse=ok, **kwargs)

    def config_resetstat(self, **kwargs: Any) -> bool:
        """CONFIG RESETSTAT: reset the statistics INFO reports; True."""
        return self.execute_command("CONFIG", "RESETSTAT", _parse=ok, **kwargs)

    def config_rewrite(self, **kwargs: Any) -> ReplyT:
        """CONFIG REWRITE: write the running configuration to the server's file; ``OK``.

        A server started without a configuration file answers with an error
        (ResponseError).
        """
        return self.execute_command("CONFIG", "REWRITE", _parse=string_reply, **kwargs)

    # ------------------------------------------------------------------
    # Persistence, replication, shutdown

    def save(self, **kwargs: Any) -> bool:
        """SAVE: write the data set to disk, blocking the server until done; True."""
        return self.execute_command("SAVE", _parse=ok, **kwargs)

    def bgsave(self, schedule: bool = True, **kwargs: Any) -> bool:
        """BGSAVE [SCHEDULE]: save in the background; True.

        With ``schedule`` (the default, as in redis-py) a save asked for
        while an AOF rewrite runs is scheduled instead of refused.
        """
        args = ("BGSAVE", "SCHEDULE") if schedule else ("BGSAVE",)
        return self.execute_command(*args, _parse=always_true, **kwargs)

    def bgrewriteaof(self, **kwargs: Any) -> bool:
        """BGREWRITEAOF: rewrite the append-only file in the background; True."""
        return self.execute_command("BGREWRITEAOF", _parse=always_true, **kwargs)

    def swapdb(self, first: int, second: int, **kwargs: Any) -> bool:
        """SWAPDB: swap two databases, for every client at once; True."""
        first = integer("first", first, 0)
        second = integer("second", second, 0)
        return self.execute_command("SWAPDB", first, second, _parse=ok, **kwargs)

    def replicaof(self, *args: EncodableT, **kwargs: Any) -> ReplyT:
        """REPLICAOF host port (or ``"NO", "ONE"``): change the server's primary; ``OK``."""
        return self.execute_command("REPLICAOF", *args, _parse=string_reply, **kwargs)

    def slaveof(self, host: str | None = None, port: int | None = None, **kwargs: Any) -> bool:
        """SLAVEOF host port, or SLAVEOF NO ONE without arguments (promote); True."""
        if host is None and port is None:
            return self.execute_command("SLAVEOF", b"NO", b"ONE", _parse=ok, **kwargs)
        return self.execute_command("SLAVEOF", host, port, _parse=ok, **kwargs)

    def sync(self) -> bytes:
        """SYNC: refused by :class:`~greenpool.redis.Redis` and pipelines
        (:class:`~greenpool.ConfigurationError`): it turns its connection
        into a replication stream.  Present for redis-py's signature."""
        return self.execute_command("SYNC", never_decode=True, _parse=bytes_reply)

    def psync(self, replicationid: str, offset: int) -> bytes:
        """PSYNC: refused like :meth:`sync`."""
        return self.execute_command(
            "PSYNC", replicationid, offset, never_decode=True, _parse=bytes_reply
        )

    def shutdown(
        self,
        save: bool = False,
        nosave: bool = False,
        now: bool = False,
        force: bool = False,
        abort: bool = False,
        **kwargs: Any,
    ) -> None:
        """SHUTDOWN [SAVE|NOSAVE] [NOW] [FORCE] [ABORT]: stop the server; None.

        The server closes its connections as it exits: that ending is the
        success (other callers' commands in flight on the same connections
        fail with :class:`~greenpool.ConnectionError`, as they would with
        any client).  A reply means it did not stop: an error reply raises
        :class:`~greenpool.redis.ResponseError`, any other reply
        :class:`~greenpool.redis.RedisError`, except with ``abort``, which
        cancels a shutdown in progress and answers ``OK`` (None is
        returned; redis-py raises RedisError there).  ``save`` with
        ``nosave`` raises DataError.
        """
        if save and nosave:
            raise DataError("save", save, "cannot be combined with nosave=True")
        args = ["SHUTDOWN"]
        for flag, word in ((save, "SAVE"), (nosave, "NOSAVE"), (now, "NOW"), (force, "FORCE"),
                           (abort, "ABORT")):
            if flag:
                args.append(word)
        try:
            self.execute_command(*args, **kwargs)
        except ConnectionError:
            return None
        if abort:
            return None
        raise RedisError("SHUTDOWN seems to have failed: the server answered")

    def failover(self) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("FAILOVER")

    # ------------------------------------------------------------------
    # SLOWLOG, LATENCY, MEMORY

    def slowlog_get(self, num: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        """SLOWLOG GET [num]: the slow log's entries, newest first (``num`` of them).

        Each is ``{"id", "start_time", "duration", "command", "client_address",
        "client_name"}``; the strings stay ``bytes`` even when the client
        decodes (the arguments logged may be binary), as with redis-py.
        """
        args: list[EncodableT] = ["SLOWLOG", "GET"]
        if num is not None:
            args.append(integer("num", num))
        return self.execute_command(*args, never_decode=True, _parse=slowlog_entries, **kwargs)

    def slowlog_len(self, **kwargs: Any) -> int:
        """SLOWLOG LEN: how many entries the slow log holds."""
        return self.execute_command("SLOWLOG", "LEN", _parse=integer_reply, **kwargs)

    def slowlog_reset(self, **kwargs: Any) -> bool:
        """SLOWLOG RESET: empty the slow log; True."""
        return self.execute_command("SLOWLOG", "RESET", _parse=ok, **kwargs)

    def latency_history(self, event: str) -> list[list[int]]:
        """LATENCY HISTORY: ``[[unix time, milliseconds] ...]`` for ``event``."""
        return self.execute_command("LATENCY", "HISTORY", event, _parse=list_reply)

    def latency_latest(self) -> list[list[Any]]:
        """LATENCY LATEST: ``[[event, unix time, latest ms, max ms] ...]``."""
        return self.execute_command("LATENCY", "LATEST", _parse=list_reply)

    def latency_reset(self, *events: str) -> int:
        """LATENCY RESET [event ...]: clear the events' histories (all without
        arguments); how many were cleared."""
        return self.execute_command("LATENCY", "RESET", *events, _parse=integer_reply)

    def latency_doctor(self) -> NoReturn:
        """Raise NotImplementedError, as redis-py does (a report for people: use redis-cli)."""
        not_implemented("LATENCY DOCTOR")

    def latency_graph(self) -> NoReturn:
        """Raise NotImplementedError, as redis-py does (a report for people: use redis-cli)."""
        not_implemented("LATENCY GRAPH")

    def latency_histogram(self, *args: Any) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("LATENCY HISTOGRAM")

    def memory_stats(self, **kwargs: Any) -> dict[str, Any]:
        """MEMORY STATS as a dict with ``str`` keys (see :func:`~._replies.memory_stats`)."""
        return self.execute_command("MEMORY", "STATS", _parse=memory_stats, **kwargs)

    def memory_usage(self, key: KeyT, samples: int | None = None, **kwargs: Any) -> int | None:
        """MEMORY USAGE: the bytes ``key`` and its value take, None if it does not exist.

        ``samples`` is how many elements of a nested value to sample (0: all).
        """
        args: list[EncodableT] = []
        if samples is not None:
            args += [b"SAMPLES", integer("samples", samples, 0)]
        return self.execute_command(
            "MEMORY", "USAGE", key, *args, _parse=optional_integer, **kwargs
        )

    def memory_malloc_stats(self, **kwargs: Any) -> ReplyT:
        """MEMORY MALLOC-STATS: the allocator's own report, as text."""
        return self.execute_command("MEMORY", "MALLOC-STATS", _parse=string_reply, **kwargs)

    def memory_purge(self, **kwargs: Any) -> bool:
        """MEMORY PURGE: ask the allocator to release dirty pages; True."""
        return self.execute_command("MEMORY", "PURGE", _parse=ok, **kwargs)

    def memory_doctor(self, **kwargs: Any) -> NoReturn:
        """Raise NotImplementedError, as redis-py does (a report for people: use redis-cli)."""
        not_implemented("MEMORY DOCTOR")

    def memory_help(self, **kwargs: Any) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("MEMORY HELP")

    # ------------------------------------------------------------------
    # MODULE

    def module_load(self, path: str, *args: EncodableT) -> bool:
        """MODULE LOAD path [arg ...]: load a module; True.  The server refuses
        MODULE unless ``enable-module-command`` allows it (ResponseError)."""
        return self.execute_command("MODULE", "LOAD", path, *args, _parse=bool)

    def module_loadex(
        self, path: str, options: list[str] | None = None, args: list[str] | None = None
    ) -> ReplyT:
        """MODULE LOADEX path [CONFIG name value ...] [ARGS arg ...]: load a module
        with configuration directives ``options`` and arguments ``args``; ``OK``."""
        pieces: list[EncodableT] = []
        if options is not None:
            pieces += ["CONFIG", *options]
        if args is not None:
            pieces += ["ARGS", *args]
        return self.execute_command("MODULE", "LOADEX", path, *pieces, _parse=string_reply)

    def module_unload(self, name: str) -> bool:
        """MODULE UNLOAD: unload the module ``name``; True."""
        return self.execute_command("MODULE", "UNLOAD", name, _parse=bool)

    def module_list(self) -> list[dict[Any, Any]]:
        """MODULE LIST: a dict per loaded module (``name``, ``ver`` ...)."""
        return self.execute_command("MODULE", "LIST", _parse=pair_dicts)

    # ------------------------------------------------------------------
    # HOTKEYS (Redis 8.6)

    def hotkeys_start(
        self,
        metrics: Sequence[Any],
        count: int | None = None,
        duration: int | None = None,
        sample_ratio: int | None = None,
        slots: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> ReplyT:
        """HOTKEYS START: start collecting the hottest keys by the ``metrics``.

        ``metrics`` are redis-py's ``HotkeysMetricsTypes`` members (or their
        names, ``"CPU"``, ``"NET"``); ``count`` keys per metric; stop after
        ``duration`` seconds; sample one command in ``sample_ratio``; only
        the keys of ``slots``.  ``OK``; an error if a session runs already.
        """
        if isinstance(metrics, (str, bytes)) or not metrics:
            raise DataError("metrics", metrics, "must be a non-empty list of metrics")
        args: list[EncodableT] = ["HOTKEYS", "START", "METRICS", len(metrics)]
        args += [_metric(metric) for metric in metrics]
        if count is not None:
            args += ["COUNT", integer("count", count, 1)]
        if duration is not None:
            args += ["DURATION", integer("duration", duration, 0)]
        if sample_ratio is not None:
            args += ["SAMPLE", integer("sample_ratio", sample_ratio, 1)]
        if slots is not None:
            args += ["SLOTS", len(slots), *(integer("slots", slot, 0) for slot in slots)]
        return self.execute_command(*args, _parse=string_reply, **kwargs)

    def hotkeys_stop(self, **kwargs: Any) -> ReplyT:
        """HOTKEYS STOP: end the collection session (its results are kept); ``OK``."""
        return self.execute_command("HOTKEYS", "STOP", _parse=string_reply, **kwargs)

    def hotkeys_reset(self, **kwargs: Any) -> ReplyT:
        """HOTKEYS RESET: discard the last session's results; ``OK``."""
        return self.execute_command("HOTKEYS", "RESET", _parse=string_reply, **kwargs)

    def hotkeys_get(self, **kwargs: Any) -> list[dict[Any, Any]]:
        """HOTKEYS GET: the session's results, a dict per node (one here)."""
        return self.execute_command("HOTKEYS", "GET", _parse=pair_dicts, **kwargs)

    # ------------------------------------------------------------------
    # Whole-server writes

    def flushdb(self, asynchronous: bool = False, **kwargs: Any) -> bool:
        """Delete every key of the database (in the background if ``asynchronous``); True."""
        args = ("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",)
        return self.execute_command(*args, _parse=ok, **kwargs)

    def flushall(self, asynchronous: bool = False, **kwargs: Any) -> bool:
        """Delete every key of every database (in the background if ``asynchronous``); True."""
        args = ("FLUSHALL", "ASYNC") if asynchronous else ("FLUSHALL",)
        return self.execute_command(*args, _parse=ok, **kwargs)


def _metric(metric: Any) -> str:
    value = getattr(metric, "value", metric)
    if not isinstance(value, str) or not value:
        raise DataError("metrics", metric, "must be a HotkeysMetricsTypes member or its name")
    return value
