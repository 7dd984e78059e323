"""Function commands: FUNCTION LOAD/LIST/DUMP/RESTORE ..., FCALL, FCALL_RO."""

from __future__ import annotations

from typing import Any

from ._args import choice, integer
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    any_reply,
    deep_flat_maps,
    function_libraries,
    ok,
    optional_bytes,
    string_reply,
)

_FLUSH_MODES = ("SYNC", "ASYNC")
_RESTORE_POLICIES = ("APPEND", "REPLACE", "FLUSH")


class FunctionCommands(CommandGroup):
    """The functions group: redis-py's methods for it."""

    def function_load(self, code: ReplyT, replace: bool | None = False) -> ReplyT:
        """Load a library (its code starts ``#!lua name=<library>``); return its name.

        ``replace`` replaces a library of that name (otherwise that is an error).
        """
        if replace:
            return self.execute_command("FUNCTION", "LOAD", "REPLACE", code, _parse=string_reply)
        return self.execute_command("FUNCTION", "LOAD", code, _parse=string_reply)

    def function_delete(self, library: KeyT) -> bool:
        """Delete a library and its functions; True."""
        return self.execute_command("FUNCTION", "DELETE", library, _parse=ok)

    def function_flush(self, mode: str = "SYNC") -> bool:
        """Delete every library (``mode`` "SYNC" or "ASYNC"); True."""
        return self.execute_command(
            "FUNCTION", "FLUSH", choice("mode", mode, _FLUSH_MODES), _parse=ok
        )

    def function_list(
        self, library: KeyT | None = "*", withcode: bool | None = False
    ) -> list[Any]:
        """Describe the libraries whose names match ``library`` (a glob).

        Each library is a flat ``[key, value ...]`` list (``library_name``,
        ``engine``, ``functions``: each function a flat list too, and
        ``library_code`` with ``withcode``), as redis-py gives it, on both
        protocols.
        """
        args: list[Any] = ["FUNCTION", "LIST", "LIBRARYNAME", library]
        if withcode:
            args.append("WITHCODE")
        return self.execute_command(*args, _parse=function_libraries)

    def fcall(self, function: KeyT, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Call a function on ``numkeys`` keys then arguments; return its raw reply."""
        return self.execute_command(
            "FCALL", function, integer("numkeys", numkeys, 0), *keys_and_args, _parse=any_reply
        )

    def fcall_ro(self, function: KeyT, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """:meth:`fcall` for a function flagged ``no-writes`` (it may run on a replica)."""
        return self.execute_command(
            "FCALL_RO",
            function,
            integer("numkeys", numkeys, 0),
            *keys_and_args,
            _parse=any_reply,
        )

    def function_dump(self) -> bytes | None:
        """Return every library as one binary payload for :meth:`function_restore`.

        The payload stays ``bytes`` when the client decodes (it runs on a
        dedicated connection then, as DUMP does).
        """
        return self.execute_command("FUNCTION", "DUMP", never_decode=True, _parse=optional_bytes)

    def function_restore(self, payload: bytes, policy: str | None = "APPEND") -> bool:
        """Load the libraries of a :meth:`function_dump` payload; True.

        ``policy``: APPEND (an existing library of the same name is an
        error), REPLACE, or FLUSH (delete every library first); None leaves
        it to the server (APPEND).
        """
        if policy is None:
            return self.execute_command("FUNCTION", "RESTORE", payload, _parse=ok)
        return self.execute_command(
            "FUNCTION", "RESTORE", payload, choice("policy", policy, _RESTORE_POLICIES), _parse=ok
        )

    def function_kill(self) -> ReplyT:
        """Stop the function the server is running, if it has written nothing yet.

        Return the server's ``OK`` as it comes (redis-py does not turn it
        into True); raises ResponseError NOTBUSY when no function runs.
        """
        return self.execute_command("FUNCTION", "KILL", _parse=string_reply)

    def function_stats(self) -> list[Any]:
        """Return the running function (if any) and the engines' counts.

        A flat ``[b"running_script", None | [...], b"engines", [...]]`` list,
        as redis-py gives it on RESP2, on both protocols (RESP3's maps are
        flattened).
        """
        return self.execute_command("FUNCTION", "STATS", _parse=deep_flat_maps)
