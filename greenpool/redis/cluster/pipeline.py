"""Cluster pipelines: commands grouped by node, each node's batch written at once.

:meth:`ClusterPipeline.execute` routes every buffered command by its slot
with one look at the slot map, leases one dedicated connection per node
involved (waiting up to ``pool_timeout``), writes each node's batch in one
go (the nodes concurrently) and reads the replies back.  Then, round after
round until every command has a final reply:

* a command answered ``MOVED`` (the slot is patched), ``ASK`` (sent next
  round with ``ASKING`` before it), ``TRYAGAIN`` or ``CLUSTERDOWN`` (after a
  back-off), or that could not be written (the node unreachable), is sent
  again in the next round, **in pipeline order**, with the other such
  commands of its slot, and so is every read after it on one of its keys
  (that read ran too early).  A write that already got a final reply is
  never sent again, so each key's commands run in the caller's order and
  none runs twice (redis-py re-sends the redirected ones one at a time
  after the rest, which let a ``GET`` overtake the ``SET`` before it);
* a command on a connection that broke or timed out after its batch was
  written gets that error as its result (a read is sent again); that
  connection is closed, the others go back to their pools.

With ``transaction=True`` every key must be on one slot
(:class:`~greenpool.redis.cluster.CrossSlotTransactionError` otherwise,
raised by :meth:`execute` before anything is sent) and the commands run in
``MULTI``/``EXEC`` on that slot's primary; a redirect while queueing aborts
the transaction (``EXECABORT``: nothing ran) and it is sent again where the
redirect says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import gevent

from ..._backoff import Backoff
from ...errors import ConnectionError, NoConnectionAvailable, ReplyError, TimeoutError
from ...protocol.resp import encode_arg
from .. import _execute
from .._route import BLOCKING, refusal
from ..commands import Commands
from ..exceptions import ResponseError, WatchError
from .errors import ClusterError, CrossSlotTransactionError, RedisClusterException, cluster_error
from .routing import keys_in, plan
from .slots import key_slot

if TYPE_CHECKING:
    from ...transport.connection import Connection
    from .client import RedisCluster
    from .topology import ClusterNode

__all__ = ["ClusterPipeline"]

_TTL = 16
_ASKING = _execute.encode(("ASKING",))
_MULTI = _execute.encode(("MULTI",))
_EXEC = _execute.encode(("EXEC",))
_UNWATCH = _execute.encode(("UNWATCH",))
_AGAIN_KINDS = frozenset({"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"})


class _Queued(NamedTuple):
    command: Sequence[Any]
    options: dict[str, Any]
    slot: int
    readonly: bool
    blocking: bool
    name: str

    def keys(self) -> set[Any]:
        """The command's keys, as bytes (for comparing commands on the same key)."""
        return {encode_arg(k) for k in keys_in(self.name, self.command)}


class _Unsent(NamedTuple):
    """A batch that was never written (no connection): its commands go again."""

    error: BaseException


class ClusterPipeline(Commands):
    """Buffered commands for a :class:`~greenpool.redis.RedisCluster` (see the module docs).

    Made by :meth:`RedisCluster.pipeline`.  A context manager; :meth:`execute`
    returns the results in order.
    """

    def __init__(self, client: RedisCluster, transaction: bool = False) -> None:
        self._client = client
        self.transaction = transaction
        self.settings = client.settings
        self.protocol = client.protocol
        self.decode_responses = client.decode_responses
        self._stack: list[_Queued] = []
        # WATCH: one connection to the watched slot's primary, kept until execute/reset.
        self._lease: Any = None
        self._conn: Connection | None = None
        self._watch_slot: int | None = None
        self.watching = False
        self.explicit_transaction = False

    def __len__(self) -> int:
        return len(self._stack)

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> ClusterPipeline:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None or isinstance(exc, Exception):
            self.reset()
        else:  # killed or timed out: the watching connection's state is unknown
            self._stack = []
            self._release(exc)

    def __repr__(self) -> str:
        return f"<ClusterPipeline transaction={self.transaction} commands={len(self._stack)}>"

    def reset(self) -> None:  # type: ignore[override]  # the pipeline's, as in redis-py
        """Drop the buffered commands, UNWATCH, and give the watching connection back."""
        self._stack = []
        self.explicit_transaction = False
        if self._conn is not None and self.watching:
            try:
                _execute.result(self._conn.request(_UNWATCH), {})
            except BaseException as exc:
                # Failed, killed or timed out during UNWATCH: the connection's
                # state is unknown, so it is closed, never given back watching.
                self._release(exc)
                if not isinstance(exc, Exception):
                    raise
                return
        self._release(None)

    def discard(self) -> None:
        """In a transaction pipeline: drop the buffered commands and the watched
        keys (:meth:`reset`).  In another pipeline raises
        :class:`~greenpool.redis.cluster.RedisClusterException`, as redis-py's."""
        if not self.transaction:
            raise RedisClusterException(
                "method discard() is not supported outside of transactional context"
            )
        self.reset()

    # ------------------------------------------------------------------ WATCH

    def watch(self, *names: Any) -> bool:
        """WATCH keys (all on one slot) on a connection to that slot's primary.

        Until :meth:`multi`, commands run at once on that connection (they
        must be on the same slot).  Only in a transaction pipeline.  Raises
        :class:`~greenpool.redis.cluster.CrossSlotTransactionError` for keys
        on another slot, :class:`~greenpool.redis.WatchError` when the slot
        moved while keys were watched.
        """
        if not self.transaction:
            raise RedisClusterException("WATCH needs a transaction pipeline (transaction=True)")
        if self.explicit_transaction:
            raise ResponseError("cannot WATCH after MULTI")
        if not names:
            raise RedisClusterException("WATCH needs at least one key")
        slots = {key_slot(name) for name in names}
        if len(slots) > 1:  # redis-py's words for keys of one command on several slots
            raise CrossSlotTransactionError("WATCH - all keys must map to the same key slot")
        if self._watch_slot is not None and slots != {self._watch_slot}:
            raise CrossSlotTransactionError("Cannot watch or send commands on different slots")
        (slot,) = slots
        client = self._client
        backoff: Backoff | None = None
        for _ in range(_TTL):
            conn = self._watch_connection(slot)
            was_watching = self.watching
            # Watching before the WATCH is sent: one interrupted (a Timeout, a
            # kill) may have run, and reset() must then UNWATCH before the
            # connection goes back to the pool.
            self.watching = True
            self._watch_slot = slot
            reply = conn.request(_execute.encode(("WATCH", *names)))
            kind = reply.kind if type(reply) is ReplyError else ""
            if kind not in ("MOVED", "ASK"):
                return bool(_execute.result_from_raw(reply, {}, self.settings))
            if was_watching:
                self.reset()
                raise WatchError("Slot rebalancing occurred while watching keys")
            self._release(None)
            error = cluster_error(reply)
            if kind == "MOVED":
                client.topology.moved(slot, error.host, error.port)  # type: ignore[attr-defined]
            else:  # mid-migration: wait until the slot has moved
                backoff = client.pause_before_retry(backoff, error)
        raise ClusterError("TTL exhausted: WATCH kept being redirected")

    def unwatch(self) -> bool:
        """Forget the watched keys."""
        result = True
        if self._conn is not None and self.watching:
            result = bool(_execute.result(self._conn.request(_UNWATCH), {}))
        self.watching = False
        return result

    def multi(self) -> None:
        """Start buffering the transaction's commands (after :meth:`watch`)."""
        if self.explicit_transaction:
            raise ResponseError("cannot issue nested calls to MULTI")
        if self._stack:
            raise ResponseError("commands without an initial MULTI are already buffered")
        self.explicit_transaction = True

    def _watch_connection(self, slot: int) -> Connection:
        if self._conn is None:
            node = self._client.node_for_slot(slot, False)
            assert node.node is not None
            lease = node.node.dedicated_pool.connection()
            self._conn = lease.__enter__()
            self._lease = lease
        return self._conn

    def _release(self, exc: BaseException | None) -> None:
        lease, self._lease, self._conn = self._lease, None, None
        self.watching = False
        self._watch_slot = None
        if lease is not None:
            if exc is None:
                lease.__exit__(None, None, None)
            else:
                lease.__exit__(type(exc), exc, None)

    def _immediate(self, queued: _Queued) -> Any:
        """A command while watching: at once, on the watching connection."""
        if queued.slot != self._watch_slot:
            raise CrossSlotTransactionError("Cannot watch or send commands on different slots")
        assert self._conn is not None
        reply = self._conn.request(_execute.encode(queued.command))
        if type(reply) is ReplyError and reply.kind in ("MOVED", "ASK"):
            self.reset()
            raise WatchError("Slot rebalancing occurred while watching keys")
        return _execute.result_from_raw(reply, queued.options, self.settings)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Buffer one command; returns the pipeline.

        Raises :class:`~greenpool.redis.cluster.RedisClusterException` for a
        command without a key or with keys on several slots, and
        :class:`~greenpool.ConfigurationError` for a command the command
        table refuses on a pipeline.
        """
        options.pop("target_nodes", None)
        where = plan(args)
        route = where.route
        if route is not None and route.kind != BLOCKING:
            raise refusal(route, "a pipeline (its connection goes back to a pool)")
        if where.slot is None:
            shown = where.name.replace("|", " ").upper()
            raise RedisClusterException(
                f"{shown} has no key: a cluster pipeline runs keyed commands only"
            )
        blocking = route is not None
        queued = _Queued(
            where.command, options, where.slot, where.readonly, blocking, where.name)
        if self.watching and not self.explicit_transaction:
            return self._immediate(queued)
        self._stack.append(queued)
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the buffered commands; return their results in order.

        With ``raise_on_error`` the first failed command's error is raised
        (after every command ran); otherwise errors are returned in the
        list.  Raises :class:`~greenpool.redis.cluster.CrossSlotTransactionError`
        for a transaction over several slots (nothing sent).  The pipeline
        is empty afterwards.  Blocks on dedicated connections' checkouts
        (``pool_timeout``), the replies, and back-off waits.
        """
        stack, self._stack = self._stack, []
        if not stack:
            self.reset()
            return []
        if self._conn is not None:
            try:
                results = self._watched_transaction(stack)
            except (ResponseError, WatchError, RedisClusterException):
                self.reset()
                raise
            except BaseException as exc:
                self._release(exc)
                raise
            self.reset()
        else:
            results = self._transaction(stack) if self.transaction else self._rounds(stack)
        if raise_on_error:
            for index, result in enumerate(results):
                if isinstance(result, Exception):
                    raise _annotate(result, stack[index].command, index + 1)
        return results

    # ------------------------------------------------------------------ without a transaction

    def _rounds(self, stack: list[_Queued]) -> list[Any]:
        client = self._client
        topology = client.topology
        results: list[Any] = [None] * len(stack)
        todo = list(range(len(stack)))
        asking: dict[int, ClusterNode] = {}  # next round with ASKING before it
        moved: dict[int, ClusterNode] = {}  # next round where MOVED said
        backoff: Backoff | None = None
        ttl = _TTL
        while todo:
            groups: dict[ClusterNode, list[int]] = {}
            for index in todo:
                queued = stack[index]
                node = asking.get(index) or moved.get(index) or client.node_for_slot(
                    queued.slot, queued.readonly)
                groups.setdefault(node, []).append(index)
            replies = self._send_groups(stack, groups, asking)
            again: list[int] = []
            asking = {}
            moved = {}
            wait_error: BaseException | None = None
            for index in todo:
                queued = stack[index]
                node, reply = replies[index]
                if isinstance(reply, _Unsent):
                    topology.suspect(node)
                    again.append(index)
                    wait_error = reply.error
                    continue
                if isinstance(reply, NoConnectionAvailable):
                    results[index] = reply  # the node's pool stayed full: nothing sent
                    continue
                if isinstance(reply, (ConnectionError, TimeoutError)):
                    if isinstance(reply, ConnectionError):
                        topology.suspect(node)
                    if queued.readonly and isinstance(reply, ConnectionError):
                        again.append(index)  # a read may run twice
                        wait_error = reply
                    else:
                        results[index] = reply  # it may have been written: never twice
                    continue
                kind = reply.kind if type(reply) is ReplyError else ""
                if kind not in _AGAIN_KINDS:
                    results[index] = _finish(reply, queued.options, node.node.settings)  # type: ignore[union-attr]
                    continue
                error = cluster_error(reply)
                again.append(index)
                if kind == "MOVED":
                    moved[index] = topology.moved(
                        queued.slot, error.host, error.port)  # type: ignore[attr-defined]
                elif kind == "ASK":
                    topology.counters["ask"] += 1
                    asking[index] = topology.node_at(error.host, error.port)  # type: ignore[attr-defined]
                else:
                    if kind == "CLUSTERDOWN":
                        topology.refresh_soon()
                    wait_error = error
            if again:
                again = self._reads_after(stack, todo, again, results)
            todo = again
            if not todo:
                break
            ttl -= 1
            try:
                if ttl <= 0:
                    raise ClusterError("TTL exhausted: the pipeline kept being redirected")
                if wait_error is not None:
                    backoff = client.pause_before_retry(backoff, wait_error)
            except Exception as exc:
                for index in todo:
                    results[index] = exc
                break
        return results

    @staticmethod
    def _reads_after(
        stack: list[_Queued], sent: list[int], again: list[int], results: list[Any]
    ) -> list[int]:
        """``again`` plus every read sent after a command of ``again`` on one of its keys.

        Such a read ran before the command it follows (which is sent again),
        so its reply may miss that command's write: it is sent again after
        it.  A write is never sent twice, even then.
        """
        pending = set(again)
        touched: dict[int, set[Any]] = {}  # slot -> keys of the commands sent again
        for index in sent:
            queued = stack[index]
            if index in pending:
                touched.setdefault(queued.slot, set()).update(queued.keys())
            elif queued.readonly and queued.slot in touched and (
                    touched[queued.slot] & queued.keys()):
                pending.add(index)
                results[index] = None
        return [index for index in sent if index in pending]

    def _send_groups(
        self, stack: list[_Queued], groups: dict[ClusterNode, list[int]],
        asking: dict[int, ClusterNode],
    ) -> dict[int, tuple[ClusterNode, Any]]:
        out: dict[int, tuple[ClusterNode, Any]] = {}
        if len(groups) == 1:
            (node, indexes), = groups.items()
            self._send_batch(stack, node, indexes, asking, out)
            return out
        jobs = [
            gevent.spawn(self._send_batch, stack, node, indexes, asking, out)
            for node, indexes in groups.items()
        ]
        try:
            gevent.joinall(jobs, raise_error=True)
        finally:
            # Killed or timed out here: stop the others; each closes its own connection.
            gevent.killall([job for job in jobs if not job.dead], block=True)
        return out

    def _send_batch(
        self, stack: list[_Queued], node: ClusterNode, indexes: list[int],
        asking: dict[int, ClusterNode], out: dict[int, tuple[ClusterNode, Any]],
    ) -> None:
        green = node.node
        assert green is not None
        parts: list[bytes] = []
        count = 0
        blocks: list[Any] = []
        for index in indexes:
            queued = stack[index]
            if index in asking:
                parts.append(_ASKING)
                count += 1
            parts.append(_execute.encode(queued.command))
            count += 1
            if queued.blocking:
                blocks.append(queued.options.get("_block_timeout"))
        wait = green.settings.socket_timeout
        if blocks:
            wait = None if not all(blocks) else _execute.reply_wait(max(blocks), green.settings)
        try:
            lease = green.dedicated_pool.connection()
            conn = lease.__enter__()
        except NoConnectionAvailable as exc:
            # The pool stayed full for pool_timeout: this batch fails, nothing was sent.
            for index in indexes:
                out[index] = (node, exc)
            return
        except (ConnectionError, OSError) as exc:
            for index in indexes:
                out[index] = (node, _Unsent(exc))
            return
        try:
            replies = conn.request_many(b"".join(parts), count, timeout=wait)
        except (ConnectionError, TimeoutError) as exc:
            lease.__exit__(type(exc), exc, None)  # the stream's state is unknown: closed
            for index in indexes:
                out[index] = (node, exc)
            return
        except BaseException as exc:
            lease.__exit__(type(exc), exc, None)
            raise
        lease.__exit__(None, None, None)
        position = 0
        for index in indexes:
            if index in asking:
                position += 1  # ASKING's +OK
            out[index] = (node, replies[position])
            position += 1

    # ------------------------------------------------------------------ transaction

    def _watched_transaction(self, stack: list[_Queued]) -> list[Any]:
        if {queued.slot for queued in stack} != {self._watch_slot}:
            raise CrossSlotTransactionError(
                "All keys involved in a cluster transaction must map to the same slot"
            )
        assert self._conn is not None
        parts = [_MULTI, *(_execute.encode(q.command) for q in stack), _EXEC]
        replies = self._conn.request_many(b"".join(parts), len(parts))
        multi, queued, exec_reply = replies[0], replies[1:-1], replies[-1]
        if isinstance(multi, ReplyError):
            raise cluster_error(multi)
        # EXEC (or its EXECABORT) forgot the watched keys: reset() needs no UNWATCH.
        self.watching = False
        if isinstance(exec_reply, ReplyError):
            first = next((r for r in queued if isinstance(r, ReplyError)), exec_reply)
            if first.kind in ("MOVED", "ASK"):
                raise WatchError("Slot rebalancing occurred while watching keys")
            index = queued.index(first) if first in queued else 0
            raise _annotate(cluster_error(first), stack[index].command, index + 1)
        if exec_reply is None:
            raise WatchError("a watched key changed; the transaction did not run")
        return [
            _finish(reply, q.options, self.settings)
            for reply, q in zip(exec_reply, stack, strict=True)
        ]

    def _transaction(self, stack: list[_Queued]) -> list[Any]:
        slots = {queued.slot for queued in stack}
        if len(slots) > 1:
            raise CrossSlotTransactionError(
                "All keys involved in a cluster transaction must map to the same slot"
            )
        slot = slots.pop()
        client = self._client
        topology = client.topology
        asking: ClusterNode | None = None
        backoff: Backoff | None = None
        for _ in range(_TTL):
            node = asking or client.node_for_slot(slot, False)
            green = node.node
            assert green is not None
            parts = [_ASKING] if asking is not None else []
            parts += [_MULTI, *(_execute.encode(q.command) for q in stack), _EXEC]
            try:
                lease = green.dedicated_pool.connection()
                conn = lease.__enter__()
            except NoConnectionAvailable:
                raise  # the pool stayed full for pool_timeout: not a node failure
            except (ConnectionError, OSError) as exc:
                topology.suspect(node)
                backoff = client.pause_before_retry(backoff, exc)
                asking = None
                continue
            try:
                replies = conn.request_many(b"".join(parts), len(parts))
            except BaseException as exc:
                if isinstance(exc, ConnectionError):
                    topology.suspect(node)
                lease.__exit__(type(exc), exc, None)
                raise  # it may have run: never sent twice
            lease.__exit__(None, None, None)
            if asking is not None:
                replies = replies[1:]
            asking = None
            multi, queued, exec_reply = replies[0], replies[1:-1], replies[-1]
            if isinstance(multi, ReplyError):
                raise cluster_error(multi)
            if not isinstance(exec_reply, ReplyError):
                if exec_reply is None:
                    raise WatchError("the transaction did not run")
                return [
                    _finish(reply, q.options, green.settings) for reply, q in
                    zip(exec_reply, stack, strict=True)
                ]
            first = next((r for r in queued if isinstance(r, ReplyError)), exec_reply)
            kind = first.kind
            if kind == "MOVED":
                error = cluster_error(first)
                topology.moved(slot, error.host, error.port)  # type: ignore[attr-defined]
                continue
            if kind == "ASK":
                error = cluster_error(first)
                topology.counters["ask"] += 1
                asking = topology.node_at(error.host, error.port)  # type: ignore[attr-defined]
                continue
            if kind in ("TRYAGAIN", "CLUSTERDOWN"):
                backoff = client.pause_before_retry(backoff, cluster_error(first))
                continue
            index = queued.index(first) if first in queued else 0
            raise _annotate(cluster_error(first), stack[index].command, index + 1)
        raise ClusterError("TTL exhausted: the transaction kept being redirected")


def _finish(reply: Any, options: dict[str, Any], settings: Any) -> Any:
    try:
        return _execute.result_from_raw(reply, options, settings)
    except (ReplyError, UnicodeDecodeError) as error:
        return error


def _annotate(error: Exception, args: Sequence[Any], number: int) -> Exception:
    if not isinstance(error, ReplyError):
        return error
    name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    return type(error)(f"Command # {number} ({name}) of pipeline caused error: {error.message}")
