"""Explicit pipelines and MULTI/EXEC transactions, on a dedicated connection.

Used like redis-py's::

    with r.pipeline() as pipe:          # transaction=True: MULTI ... EXEC
        pipe.set("a", 1).incr("a")
        assert pipe.execute() == [True, 2]

    with r.pipeline() as pipe:          # optimistic locking
        while True:
            try:
                pipe.watch("balance")
                value = int(pipe.get("balance"))   # runs at once while watching
                pipe.multi()
                pipe.set("balance", value + 1)
                pipe.execute()
                break
            except WatchError:
                continue

A pipeline takes a :class:`~greenpool.redis.node.Node`, not a client: it
leases a dedicated connection from the node's checkout pool only while it
needs one (from :meth:`Pipeline.watch`, or for the duration of
:meth:`Pipeline.execute`) and gives it back clean (``UNWATCH``); if the
caller is killed mid-way the connection is closed, never reused.  Commands
the command table refuses on a shared connection (SELECT, SUBSCRIBE,
CLIENT REPLY ...) are refused here too, when buffered: the connection goes
back to a pool.  Replies pass through :mod:`greenpool.redis._execute` like
the client's, so ``_parse`` and ``never_decode`` mean the same here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import GreenpoolError, NoConnectionAvailable, ReplyError
from . import _execute
from ._route import BLOCKING, Route, refusal, resolve, route_or_unseen
from .commands import Commands
from .exceptions import (
    MaxConnectionsError,
    RedisError,
    ResponseError,
    WatchError,
    error_from_reply,
)

if TYPE_CHECKING:
    from ..pool.checkout import Lease
    from ..transport.connection import Connection
    from .node import Node

__all__ = ["Pipeline"]


class Pipeline(Commands):
    """Buffers commands and sends them in one round trip (see the module docs)."""

    def __init__(self, node: Node, transaction: bool = True) -> None:
        self.node = node
        self.settings = node.settings
        self.protocol = node.settings.protocol
        self.decode_responses = node.settings.decode_responses
        self.transaction = transaction
        self._stack: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._unsent = 0  # entries of _stack with a known result, not sent
        self._scripts: dict[str, Any] = {}
        self._lease: Lease[Connection] | None = None
        self._conn: Connection | None = None
        self.watching = False
        self.explicit_transaction = False

    def __len__(self) -> int:
        return len(self._stack)

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None or isinstance(exc, Exception):
            self.reset()
        else:
            self._release(exc)

    def __repr__(self) -> str:
        return f"<Pipeline transaction={self.transaction} commands={len(self._stack)}>"

    # ------------------------------------------------------------------

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Buffer a command (returns the pipeline), or run it at once while watching.

        Raises :class:`~greenpool.ConfigurationError` for a command the
        command table refuses, and for a per-connection setting (CLIENT
        SETNAME: run it on the client).
        """
        route = route_or_unseen(args[0]) if args else None
        if route is not None or not args:
            args = tuple(self._checked(route, args))
        if self.watching and not self.explicit_transaction:
            return self.immediate_execute_command(*args, **options)
        self._stack.append((args, options))
        return self

    def _known(self, value: Any) -> Any:
        # A result known without the server (MGET of no keys): buffered in the
        # command's place and never sent, as redis-py's does (inside MULTI the
        # server would refuse the empty command and abort the transaction).
        if self.watching and not self.explicit_transaction:
            return value
        self._stack.append(((), {"_known": value, "never_decode": True}))
        self._unsent += 1
        return self

    @staticmethod
    def _checked(route: Route | None, args: tuple[Any, ...]) -> Any:
        route, command = resolve(route, args)
        if route is None or route.kind == BLOCKING:
            return command
        raise refusal(route, "a pipeline (its connection goes back to a pool)")

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        """Run one command now on the pipeline's connection; return its result."""
        conn = self._connection()
        payload = _execute.encode(args)
        if "_block_timeout" in options:
            wait = _execute.reply_wait(options["_block_timeout"], self.settings)
            reply = conn.request(payload, timeout=wait)
        else:
            reply = conn.request(payload)
        return _execute.result_from_raw(reply, options, self.settings)

    def _register_script(self, script: Any) -> None:
        # Called by Script.__call__ on a pipeline: load it before execute().
        self._scripts[script.sha] = script

    def _load_scripts(self, conn: Connection) -> None:
        shas = list(self._scripts)
        exists = _execute.result(conn.request(_execute.encode(("SCRIPT", "EXISTS", *shas))), {})
        for sha, present in zip(shas, exists, strict=True):
            if not present:
                load = ("SCRIPT", "LOAD", self._scripts[sha].script)
                _execute.result(conn.request(_execute.encode(load)), {})

    def watch(self, *names: Any) -> bool:
        """WATCH keys: until :meth:`multi`, commands run at once on this connection.

        After :meth:`multi` raises :class:`~greenpool.redis.exceptions.RedisError`
        (as redis-py's)."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        self.watching = True
        return bool(self.immediate_execute_command("WATCH", *names))

    def unwatch(self) -> bool:
        """Forget the watched keys."""
        result = True
        if self.watching:
            result = bool(self.immediate_execute_command("UNWATCH"))
        self.watching = False
        return result

    def discard(self) -> None:
        """DISCARD, as redis-py's: in a transaction nothing buffered runs and
        :meth:`execute` raises :class:`ResponseError` (EXEC without MULTI); while
        watching (before :meth:`multi`) it runs at once and raises
        :class:`ResponseError` (DISCARD without MULTI)."""
        if self.watching and not self.explicit_transaction:
            self.immediate_execute_command("DISCARD")
        else:
            # Not through execute_command: the command table refuses DISCARD
            # on its own, but here it ends this pipeline's own MULTI.
            self._stack.append((("DISCARD",), {}))

    def close(self) -> None:
        """The same as :meth:`reset` (redis-py's ``close``), so
        ``contextlib.closing(r.pipeline())`` works."""
        self.reset()

    def multi(self) -> None:
        """Start buffering the transaction's commands (after :meth:`watch`).

        A second call, or one after commands were buffered, raises
        :class:`~greenpool.redis.exceptions.RedisError` (as redis-py's)."""
        if self.explicit_transaction:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self._stack:
            raise RedisError(
                "Commands without an initial WATCH have already been issued"
            )
        self.explicit_transaction = True

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the buffered commands; return their results in order.

        In a transaction a changed watched key raises :class:`WatchError`
        (nothing ran).  With ``raise_on_error`` the first error reply is
        raised; otherwise error replies are returned as exceptions in the
        list.  The pipeline is reset afterwards.
        """
        stack = self._stack
        in_transaction = self.transaction or self.explicit_transaction
        if not stack and not (self.watching and in_transaction):
            self.reset()
            return []
        # With keys watched, even an empty transaction runs MULTI/EXEC: EXEC
        # tells whether a watched key changed (WatchError), as redis-py's does.
        try:
            conn = self._connection()
            if self._scripts:
                self._load_scripts(conn)
            commands = [args for args, _ in stack if args] if self._unsent else [
                args for args, _ in stack]
            if in_transaction:
                payload = b"".join(
                    [_MULTI, *(_execute.encode(c) for c in commands), _EXEC]
                )
                replies = conn.request_many(payload, len(commands) + 2)
                if not _execute.failed(replies[0]):
                    # EXEC (or its EXECABORT) forgot the watched keys: reset()
                    # needs no UNWATCH.
                    self.watching = False
                buffered = [args for args, _ in stack] if self._unsent else commands
                results = self._transaction_results(replies, commands, buffered)
            else:
                payload = b"".join(_execute.encode(c) for c in commands)
                # Blocking commands do block here (not inside MULTI): wait for them.
                blocks = [o["_block_timeout"] for _, o in stack if "_block_timeout" in o]
                if blocks:
                    longest = None if not all(blocks) else max(blocks)
                    wait = _execute.reply_wait(longest, self.settings)
                    results = conn.request_many(payload, len(commands), timeout=wait)
                elif not commands:
                    results = []
                else:
                    results = conn.request_many(payload, len(commands))
        except (ResponseError, WatchError):
            self.reset()  # the server said no; the connection is fine
            raise
        except BaseException as exc:
            # Killed, timed out or broken mid-way: the connection's state is unknown.
            self._stack = []
            self._unsent = 0
            self.watching = self.explicit_transaction = False
            self._release(exc)
            raise
        if self._unsent:
            replies = iter(results)
            results = [options["_known"] if not args else next(replies)
                       for args, options in stack]
        self.reset()
        out: list[Any] = []
        for (args, options), reply in zip(stack, results, strict=True):
            try:
                out.append(_execute.result_from_raw(reply, options, self.settings))
            except (GreenpoolError, UnicodeDecodeError) as error:
                # No I/O here: whatever is raised came from this reply (an error
                # reply may map to AuthenticationError, which is no ReplyError).
                if raise_on_error:
                    raise _annotate(error, args, len(out) + 1) from None
                out.append(error)
        return out

    def _transaction_results(
        self, replies: list[Any], commands: list[tuple[Any, ...]], stack: list[tuple[Any, ...]]
    ) -> Any:
        """EXEC's replies, or the error; ``commands`` are those sent, ``stack``
        every buffered one (a known result's args are empty), for numbering."""
        exec_reply = replies[-1]
        queued = replies[1:-1]
        if isinstance(replies[0], ReplyError):
            raise error_from_reply(replies[0])
        if isinstance(exec_reply, ReplyError):
            # EXECABORT: a command was refused while queueing; report that one
            # by its place among every buffered command, as redis-py does.
            numbers = [n for n, args in enumerate(stack, 1) if args]
            for index, reply in enumerate(queued):
                if isinstance(reply, ReplyError):
                    raise _annotate(error_from_reply(reply), commands[index], numbers[index])
            raise error_from_reply(exec_reply)
        if exec_reply is None:
            raise WatchError("a watched key changed; the transaction did not run")
        return exec_reply

    def reset(self) -> None:  # type: ignore[override]  # the pipeline's, as in redis-py
        """Drop the buffered commands, UNWATCH, and give the connection back."""
        self._stack = []
        self._unsent = 0
        self._scripts = {}
        self.explicit_transaction = False
        if self._conn is not None and self.watching:
            try:
                self.immediate_execute_command("UNWATCH")
            except BaseException as exc:
                # Failed, killed or timed out during UNWATCH: the connection's
                # state is unknown, so it is closed, never given back watching.
                self.watching = False
                self._release(exc)
                if not isinstance(exc, Exception):
                    raise
                return
        self.watching = False
        self._release(None)

    def _connection(self) -> Connection:
        if self._conn is None:
            lease = self.node.dedicated_pool.connection()
            try:
                self._conn = lease.__enter__()
            except NoConnectionAvailable as exc:
                raise MaxConnectionsError(str(exc)) from None
            self._lease = lease
        return self._conn

    def _release(self, exc: BaseException | None) -> None:
        lease, self._lease, self._conn = self._lease, None, None
        if lease is not None:
            if exc is None:
                lease.__exit__(None, None, None)
            else:
                lease.__exit__(type(exc), exc, None)


_MULTI = _execute.encode(("MULTI",))
_EXEC = _execute.encode(("EXEC",))


def _annotate(error: Exception, args: tuple[Any, ...], number: int) -> Exception:
    if not isinstance(error, ResponseError):
        return error
    name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    return type(error)(f"Command # {number} ({name}) of pipeline caused error: {error.message}")
