"""Scripting commands: EVAL, EVALSHA, SCRIPT ..., and Script objects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from ...errors import ReplyError
from .._encoder import Encoder
from ..exceptions import DataError
from ._args import integer
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import bools, ok, to_text


class ScriptingCommands(CommandGroup):
    """The scripting group: redis-py's methods for it."""

    def eval(self, script: ReplyT, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run a Lua script on ``numkeys`` keys then arguments; return its raw reply."""
        return self.execute_command("EVAL", script, integer("numkeys", numkeys, 0), *keys_and_args)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run a cached script by SHA1 (ReplyError NOSCRIPT if unknown); its raw reply."""
        return self.execute_command("EVALSHA", sha, integer("numkeys", numkeys, 0), *keys_and_args)

    def eval_ro(self, script: ReplyT, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """:meth:`eval` for a script that writes nothing (it may run on a replica)."""
        return self.execute_command(
            "EVAL_RO", script, integer("numkeys", numkeys, 0), *keys_and_args
        )

    def evalsha_ro(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """:meth:`evalsha` for a script that writes nothing (it may run on a replica)."""
        return self.execute_command(
            "EVALSHA_RO", sha, integer("numkeys", numkeys, 0), *keys_and_args
        )

    def script_kill(self) -> bool:
        """Stop the script the server is running, if it has written nothing yet; True.

        Raises ResponseError NOTBUSY when no script runs.
        """
        return self.execute_command("SCRIPT", "KILL", _parse=ok)

    def script_debug(self, *args: Any) -> None:
        """Not supported: raises NotImplementedError, as redis-py does.

        SCRIPT DEBUG turns the connection into a Lua debugger session, which
        no client connection of a pool can serve (the command table refuses
        it on shared connections and in pipelines too).
        """
        raise NotImplementedError(
            "SCRIPT DEBUG is not supported: it turns the connection into a Lua debugger "
            "session; use redis-cli --ldb"
        )

    def script_load(self, script: ReplyT) -> str:
        """Cache a script in the server; return its SHA1 as ``str``."""
        return self.execute_command("SCRIPT", "LOAD", script, _parse=to_text)

    def script_exists(self, *args: str) -> list[bool]:
        """Return, for each SHA1, whether the script is cached."""
        return self.execute_command("SCRIPT", "EXISTS", *args, _parse=bools)

    def script_flush(self, sync_type: str | None = None) -> bool:
        """Empty the script cache (``sync_type`` "SYNC" or "ASYNC"); True."""
        if sync_type is None:
            reply: bool = self.execute_command("SCRIPT", "FLUSH", _parse=ok)
        elif sync_type in ("SYNC", "ASYNC"):
            reply = self.execute_command("SCRIPT", "FLUSH", sync_type, _parse=ok)
        else:
            raise DataError("sync_type", sync_type, "must be 'SYNC', 'ASYNC' or None")
        return reply

    def register_script(self, script: ReplyT) -> Script:
        """Return a callable :class:`Script` that runs ``script`` by SHA1, loading it if needed."""
        return Script(self, script)


class Script:
    """A Lua script bound to a client: call it to run it by SHA1.

    The SHA1 is computed locally.  Calling runs EVALSHA; if the server does
    not have the script cached (a NOSCRIPT error: first use, a flushed cache,
    a failover), it runs EVAL instead, which also caches it.
    """

    def __init__(self, registered_client: ScriptingCommands, script: ReplyT) -> None:
        self.registered_client = registered_client
        self.script = script
        source = script.encode() if isinstance(script, str) else bytes(script)
        self.sha = hashlib.sha1(source, usedforsecurity=False).hexdigest()

    def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: ScriptingCommands | None = None,
    ) -> Any:
        """Run the script on ``keys`` with ``args`` (through ``client`` if given); its reply."""
        keys = list(keys or ())
        arguments = [*keys, *(args or ())]
        target = self.registered_client if client is None else client
        register = getattr(target, "_register_script", None)
        if register is not None:
            # A pipeline: EVALSHA is only buffered, so NOSCRIPT would surface at
            # execute(), too late to fall back.  The pipeline loads it first.
            register(self)
        try:
            return target.evalsha(self.sha, len(keys), *arguments)
        except ReplyError as exc:
            if exc.kind != "NOSCRIPT":
                raise
        return target.eval(self.script, len(keys), *arguments)

    def get_encoder(self) -> Encoder:
        """The registered client's :class:`~greenpool.redis._encoder.Encoder`
        (redis-py's ``Script.get_encoder``); UTF-8, not decoding, for a client
        that has none (a pipeline)."""
        get = getattr(self.registered_client, "get_encoder", None)
        if get is not None:
            encoder: Encoder = get()
            return encoder
        return Encoder("utf-8", "strict", False)

    def __repr__(self) -> str:
        return f"<Script sha={self.sha}>"
