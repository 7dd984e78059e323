"""Cluster pub/sub: plain channels on one node, sharded channels on their slot's primary.

:class:`ClusterPubSub` is a :class:`~greenpool.redis.PubSub` on one node
(plain ``SUBSCRIBE``/``PSUBSCRIBE`` reach every node through the cluster
bus), plus redis-py's sharded pub/sub: :meth:`~ClusterPubSub.ssubscribe`
sends each channel's ``SSUBSCRIBE`` to the primary serving its slot, on a
subscriber connection of its own per node, and
:meth:`~ClusterPubSub.get_sharded_message` reads all of them.

The subscriptions follow the slot map: when a node drops them (its slot
moved: Redis sends ``sunsubscribe`` for channels nobody unsubscribed), when
a ``SSUBSCRIBE`` is answered ``MOVED``, or when a node's connection breaks,
the slot map is refreshed and the channels are subscribed again on their
new primary; until that works they are retried on every
:meth:`~ClusterPubSub.get_sharded_message`.

After ``fork()`` the shard subscriptions and the messages already received
stay the parent's: in the child a reader waiting in
:meth:`~ClusterPubSub.get_sharded_message` (a worker's copy too) gets None,
and the next call subscribes every shard channel again, over connections
of the child's own (plain channels: as :class:`~greenpool.redis.PubSub`).
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

import gevent
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue

from ..._threads import check_hub
from ...errors import ConnectionError, GreenpoolError, ReplyError
from ...protocol.resp import encode_command
from ..exceptions import DataError
from ..pubsub import Handler, PubSub
from .errors import ClusterConfigurationError, cluster_error
from .slots import key_slot

if TYPE_CHECKING:
    from ...transport.connection import Connection
    from ..node import Node
    from .client import RedisCluster
    from .topology import ClusterNode

__all__ = ["ClusterPubSub"]

_BROKEN = object()
#: Queued in a child after fork(): wakes a copy of a reader, which returns nothing.
_FORKED = object()


def _close_all(conns: dict[str, Connection]) -> None:
    for conn in list(conns.values()):
        conn.close("closed by the application")
    conns.clear()


def _plain_node(
    client: RedisCluster, node: ClusterNode | None, host: str | None, port: int | None,
) -> ClusterNode:
    """The known node the plain subscriptions go to (see :class:`ClusterPubSub`)."""
    if node is None and (host is not None or port is not None):
        if host is None or port is None:
            missing = "host" if host is None else "port"
            raise DataError(missing, None, "pass host and port together, or neither")
        node = client.get_node(host, port)
        if node is None:
            raise ClusterConfigurationError("host", f"{host}:{port}", "not a node of the cluster")
    if node is None:
        return client.get_default_node()
    known = client.get_node(node_name=getattr(node, "name", None))
    if known is None:
        raise ClusterConfigurationError("node", node, "not a node of the cluster")
    return known


class ClusterPubSub(PubSub):
    """Pub/sub for a :class:`~greenpool.redis.RedisCluster` (see the module docs).

    Made by :meth:`RedisCluster.pubsub`, or as redis-py's
    ``ClusterPubSub(redis_cluster, node=None, host=None, port=None, **kwargs)``:
    ``node`` (or ``host`` and ``port``; default: the default node) is where
    plain subscriptions go; ``kwargs`` are :class:`~greenpool.redis.PubSub`'s.
    Raises ``DataError`` for ``host`` without ``port`` (or the reverse),
    ``ClusterConfigurationError`` (a ``RedisClusterException``) for a node
    not in the cluster.
    """

    def __init__(
        self, redis_cluster: RedisCluster, node: ClusterNode | None = None,
        host: str | None = None, port: int | None = None, **kwargs: Any,
    ) -> None:
        client = redis_cluster
        node = _plain_node(client, node, host, port)
        assert node.node is not None
        super().__init__(node.node, **kwargs)
        self._cluster = client
        self._cluster_node = node
        self._shard_queue: Queue = Queue()
        self._shard_conns: dict[str, Connection] = {}
        # Dropped without close(): the shard connections close too (their readers
        # hold the queue, never this object), or their subscriptions would live on.
        weakref.finalize(self, _close_all, self._shard_conns)
        self._shard_where: dict[Any, str] = {}
        self._shard_orphans: set[Any] = set()
        # SUNSUBSCRIBEs sent and not yet confirmed: channel -> [node name, count].  Their
        # confirmation is the caller's, not a slot move, even if the channel was
        # subscribed again meanwhile.
        self._shard_leaving: dict[Any, list[Any]] = {}
        # Messages read while the caller wanted another node's (get_sharded_message
        # with target_node): per node, in arrival order.
        self._shard_later: dict[str, deque[Any]] = {}
        self._shard_waiting = 0  # readers blocked on the queue, woken after fork()
        self._resubscribing = Semaphore()

    def get_pubsub_node(self) -> ClusterNode:
        """The node the plain subscriptions (SUBSCRIBE, PSUBSCRIBE) are on: the one
        given to :meth:`RedisCluster.pubsub`, or the default node then.  (redis-py
        answers None before the first subscription when no node was given.)"""
        return self._cluster_node

    def get_redis_connection(self) -> Any:
        """The client of :meth:`get_pubsub_node` (its ``redis_connection``)."""
        return self._cluster.get_redis_connection(self._cluster_node)

    @property
    def subscribed(self) -> bool:
        """True while subscribed to at least one channel, pattern or shard channel
        (one unsubscribed counts until its confirmation is read)."""
        return bool(self.channels or self.patterns or self.shard_channels)

    # ------------------------------------------------------------------ sharded

    def ssubscribe(self, *args: Any, target_node: Any = None, **kwargs: Handler) -> None:
        """Subscribe to shard channels, each on its slot's primary; names, lists,
        :class:`~greenpool.redis.pubsub.Subscription` objects and ``name=handler``
        as for :meth:`subscribe`.  Raises ConnectionError when a primary can't be
        reached (the channel is retried on the next :meth:`get_sharded_message`).
        ``target_node`` is redis-py's and ignored: the slot decides."""
        new = self._collect(args, kwargs)
        self.shard_channels.update(new)
        self.pending_unsubscribe_shard_channels.difference_update(new)
        # In the retry list until its SSUBSCRIBE is sent: one left out by an
        # error or an interruption (a Timeout, a kill) is sent by the next call.
        self._shard_orphans.update(new)
        failed: BaseException | None = None
        for channel in new:
            try:
                self._shard_subscribe(channel)
            except (ConnectionError, GreenpoolError) as exc:
                self._shard_orphans.add(channel)
                failed = exc
        if failed is not None:
            raise failed

    def sunsubscribe(self, *args: Any, target_node: Any = None) -> None:
        """Unsubscribe from shard channels (from all without arguments).

        As for plain channels, a channel stays in ``shard_channels`` (and in
        ``pending_unsubscribe_shard_channels``), and :attr:`subscribed` True,
        until its node's confirmation is read by :meth:`get_sharded_message`;
        a channel with no live subscription to confirm (its node unreachable)
        leaves at once.  ``target_node`` is redis-py's and ignored.  Never blocks.
        """
        names = self._names(args) or list(self.shard_channels)
        for name in names:
            self._shard_orphans.discard(name)
            where = self._shard_where.pop(name, None)
            conn = self._shard_conns.get(where) if where is not None else None
            if conn is not None and conn.live():
                conn.send(encode_command("SUNSUBSCRIBE", name))
                leaving = self._shard_leaving.setdefault(name, [where, 0])
                leaving[:] = [where, leaving[1] + 1]
                if name in self.shard_channels:
                    self.pending_unsubscribe_shard_channels.add(name)
            else:  # nothing will confirm it
                self._shard_left(name)

    def _shard_left(self, name: Any) -> None:
        """Shard channel ``name`` is no longer subscribed, nor waiting to be."""
        self.pending_unsubscribe_shard_channels.discard(name)
        self.shard_channels.pop(name, None)
        if not (self.channels or self.patterns or self.shard_channels):
            self.subscribed_event.clear()

    def _shard_subscribe(self, channel: Any) -> None:
        node = self._cluster.get_node_from_key(channel)
        assert node is not None and node.node is not None
        conn = self._shard_conns.get(node.name)
        if conn is not None and not conn.live():
            # Broken, its break not read yet: the channels it carried go back
            # in the retry list now (the break, read later, finds a live
            # connection under this name and leaves them be).
            self._shard_lost(node.name)
            conn = None
        if conn is None:
            conn = self._shard_connect(node.name, node.node)
        conn.send(encode_command("SSUBSCRIBE", channel))
        self._shard_where[channel] = node.name
        self._shard_orphans.discard(channel)

    def _shard_connect(self, name: str, node: Node) -> Connection:
        conn = node.settings.new_connection(name=f"redis spubsub {name}")
        conn.connect()
        queue = self._shard_queue  # the reader holds the queue, never this object
        conn.on_push = lambda message: queue.put((name, message))
        conn.push_all = True
        conn.add_listener(on_close=lambda c, cause: queue.put((name, _BROKEN)))
        self._shard_conns[name] = conn
        return conn

    def _shard_lost(self, name: str) -> list[Any]:
        """Node ``name``'s shard connection broke: forget it; its SUNSUBSCRIBEs are
        done (never to be confirmed); its channels go in the retry list.  Returns
        those channels.  Never blocks."""
        del self._shard_conns[name]
        for channel, (where, _) in list(self._shard_leaving.items()):
            if where == name:
                del self._shard_leaving[channel]
                if channel in self.pending_unsubscribe_shard_channels:
                    self._shard_left(channel)
        lost = [c for c, where in self._shard_where.items() if where == name]
        self._mark_orphans(lost)
        return lost

    def _mark_orphans(self, channels: list[Any]) -> None:
        for channel in channels:
            # (one waiting for its SUNSUBSCRIBE confirmation is not subscribed again)
            if channel in self.shard_channels and (
                    channel not in self.pending_unsubscribe_shard_channels):
                self._shard_where.pop(channel, None)
                self._shard_orphans.add(channel)

    def _orphan(self, channels: list[Any]) -> None:
        """These channels lost their subscription: refresh the map, subscribe again."""
        self._mark_orphans(channels)
        try:
            self._cluster.refresh_slots(timeout=self.settings.socket_timeout or 2.0)
        except GreenpoolError:
            pass  # retried at the next call
        self._resubscribe()

    def _resubscribe(self) -> None:
        # One greenlet at a time (a worker and a reader, in a child after fork()):
        # two would each connect to a node and subscribe its channels twice.
        if not self._resubscribing.acquire(blocking=False):
            return  # another greenlet is at it
        try:
            for channel in list(self._shard_orphans):
                try:
                    self._shard_subscribe(channel)
                except GreenpoolError:
                    return  # still unreachable: retried at the next call
        finally:
            self._resubscribing.release()

    def get_sharded_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> dict[str, Any] | None:
        """The next shard-channel message, or None if none comes within ``timeout``.

        ``timeout=0`` does not wait, None waits until one comes.  Messages
        handled by a handler, subscribe confirmations when ignored, and the
        client's own re-subscriptions give None.  ``target_node`` (a
        :class:`~greenpool.redis.cluster.ClusterNode`, as in redis-py): only
        that node's messages; the others' are kept, in order, for later calls.
        Raises the server's error reply to a subscription (other than a
        redirect, which is followed).  Blocks up to ``timeout``.
        """
        check_hub(self._shard_queue.hub, "cluster pubsub")
        if self._shard_orphans:
            self._resubscribe()
        only = None if target_node is None else target_node.name
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            kept = self._shard_kept(only)
            if kept is not None:
                name, raw = kept
            else:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    if remaining is not None and remaining <= 0:
                        if self._shard_queue.empty():
                            # let the readers read what has arrived (a caller
                            # polling with time.sleep never yields), as PubSub does
                            gevent.idle()
                        name, raw = self._shard_queue.get_nowait()
                    else:
                        name, raw = self._wait_shard_message(remaining)
                except Empty:
                    return None
                if raw is _FORKED:
                    return None
                if only is not None and name != only and isinstance(raw, list):
                    self._shard_later.setdefault(name, deque()).append(raw)
                    continue
            message = self._shard_handle(name, raw, ignore_subscribe_messages)
            if message is not None:
                return message
            if deadline is not None and time.monotonic() >= deadline and (
                    self._shard_kept(only, peek=True) is None):
                return None

    def _wait_shard_message(self, timeout: float | None) -> tuple[str, Any]:
        self._shard_waiting += 1
        try:
            item: tuple[str, Any] = self._shard_queue.get(timeout=timeout)
            return item
        finally:
            self._shard_waiting -= 1

    def _shard_kept(self, only: str | None, peek: bool = False) -> tuple[str, Any] | None:
        """A message kept back for a later call (``only``: of that node)."""
        for name in ([only] if only is not None else list(self._shard_later)):
            waiting = self._shard_later.get(name)
            if waiting:
                return (name, waiting[0]) if peek else (name, waiting.popleft())
        return None

    def _shard_handle(
        self, name: str, raw: Any, ignore_subscribe_messages: bool
    ) -> dict[str, Any] | None:
        if raw is _BROKEN:
            conn = self._shard_conns.get(name)
            if conn is not None and not conn.live():
                self._orphan(self._shard_lost(name))
            return None
        if isinstance(raw, ReplyError):
            error = cluster_error(raw)
            if raw.kind in ("MOVED", "ASK"):
                slot = error.slot_id  # type: ignore[attr-defined]
                self._orphan([c for c in self.shard_channels if key_slot(c) == slot])
                return None
            raise error
        if not isinstance(raw, list) or len(raw) < 2:
            return None
        message = self._message(raw)
        if message["type"] == "sunsubscribe":
            channel = message["channel"]
            leaving = self._shard_leaving.get(channel)
            if leaving is not None:  # the caller's own: confirm it
                leaving[1] -= 1
                if leaving[1] <= 0:
                    del self._shard_leaving[channel]
            elif channel in self.shard_channels:
                # Nobody asked: the node gave the slot away.
                self._orphan([channel])
                return None
        return self._dispatch(message, ignore_subscribe_messages)

    def _renew_shard_channels(self) -> None:
        # The shard channels have connections of their own (and their own renewal).
        pass

    def _forget_inherited(self) -> None:
        """In a child after fork(): every shard subscription is the parent's; the
        next :meth:`get_sharded_message` subscribes them again (see the module docs)."""
        super()._forget_inherited()
        self._resubscribing = Semaphore()  # maybe held by a copy of a parent's greenlet
        # The connections severed their sockets themselves: forgotten, not closed.
        self._shard_orphans.update(self._shard_where)
        self._shard_where.clear()
        self._shard_conns.clear()
        self._shard_later.clear()
        for channel in self._shard_leaving:  # the parent's SUNSUBSCRIBEs: done
            if channel in self.pending_unsubscribe_shard_channels:
                self._shard_left(channel)
        self._shard_leaving.clear()
        self._wake_forked_readers(self._shard_queue, self._shard_waiting, ("", _FORKED))

    def disconnect(self) -> None:
        """Close the subscriber connections (plain and every node's shard one),
        keeping the subscriptions: the next :meth:`get_message` or
        :meth:`get_sharded_message` connects again and renews them (redis-py's
        ``ClusterPubSub.disconnect()``).  Never blocks."""
        conn = self.connection
        if conn is not None:
            conn.disconnect()
        for shard_conn in list(self._shard_conns.values()):
            shard_conn.close("disconnected by the application")

    def close(self) -> None:
        """Close every connection and forget every subscription (redis-py's
        ``reset()``); a later subscription connects anew.  Never blocks."""
        super().close()
        _close_all(self._shard_conns)
        # What the old connections queued is dropped with them (their readers
        # waiting on the old queue get _BROKEN).
        self._shard_queue = Queue()
        self._shard_later.clear()
        self._shard_where.clear()
        self._shard_orphans.clear()
        self._shard_leaving.clear()

