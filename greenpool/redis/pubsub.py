"""Pub/sub and MONITOR, each on a connection of its own.

:class:`PubSub` follows redis-py's: ``subscribe``/``psubscribe``/
``ssubscribe`` (shard channels, Redis 7) with optional handlers (keyword
arguments or :class:`Subscription` objects), ``unsubscribe``/
``punsubscribe``/``sunsubscribe``, ``get_message`` (also named
``get_sharded_message``), ``listen``, and a handler greenlet
(:meth:`PubSub.run_in_greenlet`, also under redis-py's name
``run_in_thread``).  Messages are dicts:
``{"type": "message", "pattern": None, "channel": b"news", "data": b"hi"}``
(``smessage`` for a shard channel).  As in redis-py, an unsubscription
takes effect when its confirmation is read: until then the name stays
subscribed (and :attr:`PubSub.subscribed` True).

Every message the server sends on a subscriber connection is queued by the
connection's reader greenlet; nothing is matched as a reply.  If the
connection breaks, the next ``get_message`` reconnects and subscribes again
to everything.

After ``fork()`` (see :mod:`greenpool._fork`) the subscriptions and the
messages already received stay the parent's: in the child the queue is
emptied, a reader waiting in ``get_message`` (a worker's copy too) gets
None, and the next ``get_message`` subscribes again to everything over a
connection of the child's own.  A :class:`Monitor` in the child raises
:class:`~greenpool.ConnectionError` from ``next_command``.

:class:`Monitor` streams the commands the server runs
(``next_command()``, ``listen()``).
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue

from .._fork import register
from .._threads import check_hub
from ..errors import ConfigurationError, ConnectionError, ReplyError
from ..protocol.resp import encode_command
from ..transport.connection import Connection
from .exceptions import PubSubError, error_from_reply
from .settings import RedisSettings

if TYPE_CHECKING:
    from .node import Node

# PubSubError: its old home
__all__ = [
    "Monitor", "PubSub", "PubSubConnection", "PubSubError", "PubSubWorker", "Subscription",
]

_BROKEN = object()
#: Queued in a child after fork(): wakes a copy of a reader, which returns nothing.
_FORKED = object()
_SUBSCRIBE_TYPES = frozenset(["subscribe", "psubscribe", "unsubscribe", "punsubscribe",
                              "ssubscribe", "sunsubscribe"])
_UNSUBSCRIBE_TYPES = frozenset(["unsubscribe", "punsubscribe", "sunsubscribe"])
Handler = Callable[[dict[str, Any]], Any]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _wake_forked_readers(queue: Queue[Any], waiting: int, marker: Any) -> None:
    """In a child after fork(): empty ``queue`` (its messages are the parent's) and
    give each of the ``waiting`` readers (copies of the parent's) ``marker``."""
    while True:
        try:
            queue.get_nowait()
        except Empty:
            break
    for _ in range(waiting):
        queue.put_nowait(marker)


class _Subscriber:
    """A connection of its own whose every message goes to a queue.

    Its connection's reader greenlet holds the queue, never the
    :class:`PubSub` or :class:`Monitor`: so one dropped without ``close()``
    is collected, and its finaliser closes the connection.
    """

    def __init__(self, settings: RedisSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.queue: Queue = Queue()
        self.conn: Connection | None = None
        self.waiting = 0  # readers blocked in get(): woken in a child after fork()

    def connect(self) -> Connection:
        conn = self.settings.new_connection(name=self.name)
        conn.connect()
        queue = self.queue
        conn.on_push = queue.put
        conn.push_all = True
        conn.add_listener(on_close=lambda c, cause: queue.put(_BROKEN))
        self.conn = conn
        return conn

    def send(self, *args: Any) -> None:
        conn = self.conn
        if conn is None or not conn.live():
            raise ConnectionError(f"{self.name}: not connected")
        conn.send(encode_command(*args))

    def get(self, timeout: float | None) -> Any:
        """The next message, None after ``timeout``; ``_BROKEN`` when the connection broke.

        Raises :class:`~greenpool.WrongThreadError` in another OS thread than
        the one that made this (its queue is that thread's hub's).
        """
        check_hub(self.queue.hub, self.name)
        try:
            if timeout is not None and timeout <= 0:
                if self.queue.empty():
                    # Let the reader greenlet read what has arrived, as
                    # redis-py's non-blocking read does: a caller polling
                    # with time.sleep (no monkey-patching) never yields.
                    gevent.idle()
                return self.queue.get_nowait()
            self.waiting += 1
            try:
                return self.queue.get(timeout=timeout)
            finally:
                self.waiting -= 1
        except Empty:
            return None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close("closed by the application")

    def reset(self) -> None:
        """:meth:`close`, and a new queue: what the old connection had queued is
        dropped (a reader waiting on the old queue gets ``_BROKEN``), so a later
        connection's messages come alone."""
        self.close()
        self.queue = Queue()

    def forget_inherited(self) -> None:
        """In a child after fork(): drop the parent's connection and queued messages.

        The connection severed its socket itself; it is forgotten without a
        close (whose listener would queue ``_BROKEN``).  A reader waiting on
        the queue (the copy of one that waited at the fork) gets ``_FORKED``.
        Never blocks or switches greenlets.
        """
        self.conn = None
        _wake_forked_readers(self.queue, self.waiting, _FORKED)


class PubSubConnection:
    """What :attr:`PubSub.connection` gives: the subscriber connection, as redis-py's
    ``p.connection.disconnect()`` uses it."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def __repr__(self) -> str:
        state = "connected" if self._conn.live() else "disconnected"
        return f"<PubSubConnection {self._conn.name} {state}>"

    @property
    def is_connected(self) -> bool:
        """True while the connection is open."""
        return bool(self._conn.live())

    def disconnect(self) -> None:
        """Close the connection; the PubSub's next read connects again and renews
        every subscription.  Never blocks."""
        self._conn.close("disconnected by the application")


@dataclass(frozen=True)
class Subscription:
    """A channel, pattern or shard channel with an optional handler (redis-py's
    ``Subscription``): ``p.subscribe(Subscription(b"\\x80raw", handler))``.

    It attaches a handler to a name a keyword argument can't spell (bytes
    that are not text); :meth:`PubSub.subscribe`, :meth:`PubSub.psubscribe`
    and :meth:`PubSub.ssubscribe` take it besides names.
    """

    name: Any
    handler: Handler | None = None


class PubSub:
    """Subscriptions and the messages they bring (see the module docs).

    ``channels``, ``patterns`` and ``shard_channels`` map each subscription
    to its handler (or None), as redis-py's do.  An unsubscribed name stays
    in them (and in ``pending_unsubscribe_channels``,
    ``pending_unsubscribe_patterns`` or ``pending_unsubscribe_shard_channels``)
    until the server's confirmation is read; :attr:`subscribed` turns False
    when the last confirmation is read.
    """

    def __init__(
        self,
        node: Node,
        shard_hint: Any = None,
        ignore_subscribe_messages: bool = False,
        encoder: Any = None,
        push_handler_func: Callable[[Any], Any] | None = None,
        event_dispatcher: Any = None,
    ) -> None:
        # shard_hint, encoder and event_dispatcher are redis-py's; accepted and
        # ignored (the node's settings decide decoding).
        if push_handler_func is not None and not callable(push_handler_func):
            raise ConfigurationError(
                "push_handler_func", push_handler_func, "must be callable or None"
            )
        self.node = node
        self.settings = node.settings
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.push_handler_func = push_handler_func
        self.channels: dict[Any, Handler | None] = {}
        self.patterns: dict[Any, Handler | None] = {}
        self.shard_channels: dict[Any, Handler | None] = {}
        self.pending_unsubscribe_channels: set[Any] = set()
        self.pending_unsubscribe_patterns: set[Any] = set()
        self.pending_unsubscribe_shard_channels: set[Any] = set()
        # Set by a subscription, cleared when the last unsubscribe confirmation
        # is read (redis-py's); get_message waits on it when not subscribed.
        self.subscribed_event = gevent.event.Event()
        self._sub = _Subscriber(node.settings, f"redis pubsub {node.settings.where}")
        self._connecting = Semaphore()
        self._closed = False
        self._closes = 0  # how many times close() ran (a worker ends at the next)
        self._finalizer = weakref.finalize(self, self._sub.close)
        node.attach(self)
        register(self)

    def __enter__(self) -> PubSub:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} channels={len(self.channels)} "
                f"patterns={len(self.patterns)} shard_channels={len(self.shard_channels)}>")

    @property
    def subscribed(self) -> bool:
        """True from a subscription until the confirmation of the last
        unsubscription is read (by :meth:`get_message` or :meth:`listen`)."""
        return bool(self.subscribed_event.is_set())

    # ------------------------------------------------------------------

    def _ensure(self) -> None:
        # A subscription (or ping) after close(): used again, as redis-py's.
        self._closed = False
        if self._sub.conn is not None and self._sub.conn.live():
            return
        # One connect for every greenlet that finds the connection gone (a
        # worker and a reader, in a child after fork()): a second subscribed
        # connection would queue every message twice.
        with self._connecting:
            if self._sub.conn is None or not self._sub.conn.live():
                self._sub.connect()
                # Everything known is subscribed again (unsubscriptions not yet
                # confirmed included, as redis-py's): nothing is pending any more.
                self.pending_unsubscribe_channels.clear()
                self.pending_unsubscribe_patterns.clear()
                self.pending_unsubscribe_shard_channels.clear()
                if self.channels:
                    self._sub.send("SUBSCRIBE", *self.channels)
                if self.patterns:
                    self._sub.send("PSUBSCRIBE", *self.patterns)
                self._renew_shard_channels()

    def _renew_shard_channels(self) -> None:
        """Subscribe again to the shard channels on a new connection."""
        if self.shard_channels:
            self._sub.send("SSUBSCRIBE", *self.shard_channels)

    def _key(self, name: Any) -> Any:
        # Channel names as the server's messages will spell them.
        if self.settings.decode_responses:
            return name.decode(self.settings.encoding) if isinstance(name, bytes) else name
        return name.encode(self.settings.encoding) if isinstance(name, str) else name

    def _collect(
        self, args: Iterable[Any], kwargs: dict[str, Handler]
    ) -> dict[Any, Handler | None]:
        """Names (lists of them, :class:`Subscription` objects) and ``name=handler``
        keywords as ``{name as the server spells it: handler or None}``."""
        found: dict[Any, Handler | None] = {}
        for arg in args:
            for item in arg if isinstance(arg, (list, tuple, set)) else (arg,):
                if isinstance(item, Subscription):
                    if item.handler is not None and not callable(item.handler):
                        raise ConfigurationError(
                            "handler", item.handler, "a handler must be callable")
                    found[self._key(item.name)] = item.handler
                else:
                    found[self._key(item)] = None
        for name, handler in kwargs.items():
            if not callable(handler):
                raise ConfigurationError(name, handler, "a handler must be callable")
            found[self._key(name)] = handler
        if not found:
            raise ConfigurationError("channels", args, "name at least one channel")
        return found

    def _names(self, args: tuple[Any, ...]) -> list[Any]:
        names: list[Any] = []
        for arg in args:
            items = arg if isinstance(arg, (list, tuple, set)) else (arg,)
            names += [self._key(item) for item in items]
        return names

    def _add(self, command: str, into: dict[Any, Handler | None], pending: set[Any],
             args: tuple[Any, ...], kwargs: dict[str, Handler]) -> None:
        new = self._collect(args, kwargs)
        self._ensure()
        self._sub.send(command, *new)
        into.update(new)
        pending.difference_update(new)
        self.subscribed_event.set()

    def _drop(self, command: str, into: dict[Any, Handler | None], pending: set[Any],
              args: tuple[Any, ...]) -> None:
        if self._sub.conn is None:
            return  # never subscribed (or closed): nothing to unsubscribe from
        names = self._names(args)
        self._ensure()
        pending.update(names or into)
        self._sub.send(command, *names)

    def subscribe(self, *args: Any, **kwargs: Handler) -> None:
        """Subscribe to channels: names, lists of names, :class:`Subscription`
        objects; ``name=handler`` keyword arguments attach handlers.

        A message on a channel with a handler goes to the handler (and
        ``get_message`` returns None for it).  Raises ConnectionError if Redis
        can't be reached.
        """
        self._add("SUBSCRIBE", self.channels, self.pending_unsubscribe_channels, args, kwargs)

    def psubscribe(self, *args: Any, **kwargs: Handler) -> None:
        """Subscribe to glob-style patterns, with optional handlers (as :meth:`subscribe`)."""
        self._add("PSUBSCRIBE", self.patterns, self.pending_unsubscribe_patterns, args, kwargs)

    def ssubscribe(self, *args: Any, target_node: Any = None, **kwargs: Handler) -> None:
        """Subscribe to shard channels (SSUBSCRIBE, Redis 7), with optional
        handlers (as :meth:`subscribe`); their messages come as ``smessage``
        from :meth:`get_sharded_message` (the same as :meth:`get_message`
        here).  ``target_node`` is redis-py's, for a cluster, and ignored."""
        self._add("SSUBSCRIBE", self.shard_channels, self.pending_unsubscribe_shard_channels,
                  args, kwargs)

    def unsubscribe(self, *args: Any) -> None:
        """Unsubscribe from the channels (from all without arguments).

        They stay in ``channels`` until the server's confirmation is read.
        """
        self._drop("UNSUBSCRIBE", self.channels, self.pending_unsubscribe_channels, args)

    def punsubscribe(self, *args: Any) -> None:
        """Unsubscribe from the patterns (from all without arguments), as :meth:`unsubscribe`."""
        self._drop("PUNSUBSCRIBE", self.patterns, self.pending_unsubscribe_patterns, args)

    def sunsubscribe(self, *args: Any, target_node: Any = None) -> None:
        """Unsubscribe from the shard channels (from all without arguments), as
        :meth:`unsubscribe`.  ``target_node`` is redis-py's, and ignored."""
        self._drop("SUNSUBSCRIBE", self.shard_channels,
                   self.pending_unsubscribe_shard_channels, args)

    def ping(self, message: Any = None) -> None:
        """Send PING; the answer arrives as a ``pong`` message."""
        self._ensure()
        self._sub.send("PING", *([] if message is None else [message]))

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message as a dict, or None if none comes within ``timeout`` seconds.

        ``timeout=0`` does not wait; ``None`` waits until one comes.  While
        not subscribed it waits up to ``timeout`` for a subscription (from
        another greenlet), then None.  A message handled by a handler, and
        (when ignored) subscribe confirmations, give None.  If the connection
        broke it is reconnected and every subscription renewed;
        ConnectionError if that fails.
        """
        if not self.subscribed:
            if timeout is not None and timeout <= 0:
                return None
            started = time.monotonic()
            if not self.subscribed_event.wait(timeout) or self._sub.conn is None:
                return None
            if timeout is not None:
                timeout = max(0.0, timeout - (time.monotonic() - started))
        conn = self._sub.conn
        if (conn is None or not conn.live()) and not self._closed:
            # Subscribed, with no live connection: in a child after fork() (the
            # parent's was forgotten there), or after a reconnect that failed
            # or was interrupted (the break's one _BROKEN already read):
            # subscribe again over a new one.
            self._ensure()
        raw = self._sub.get(timeout)
        if raw is None or raw is _FORKED:
            return None
        if raw is _BROKEN:
            if self.subscribed and not self._closed:
                self._ensure()
            return None
        if isinstance(raw, ReplyError):
            raise error_from_reply(raw)
        if self.push_handler_func is not None and self.settings.protocol == 3:
            # redis-py's RESP3 hook: the raw message passes through it first.
            raw = self.push_handler_func(raw)
            if raw is None:
                return None
        return self._dispatch(self._message(raw), ignore_subscribe_messages)

    get_sharded_message = get_message

    #: For subclasses with queues of their own (ClusterPubSub's shard channels).
    _wake_forked_readers = staticmethod(_wake_forked_readers)

    def _dispatch(
        self, message: dict[str, Any], ignore_subscribe_messages: bool
    ) -> dict[str, Any] | None:
        """The message for the caller, or None: given to its handler, or an
        ignored confirmation.  An unsubscribe confirmation ends its subscription."""
        kind = message["type"]
        if kind == "message":
            handler = self.channels.get(message["channel"])
        elif kind == "pmessage":
            handler = self.patterns.get(message["pattern"])
        elif kind == "smessage":
            handler = self.shard_channels.get(message["channel"])
        else:
            if kind in _UNSUBSCRIBE_TYPES:
                self._confirmed(kind, message["channel"])
            if kind in _SUBSCRIBE_TYPES and (
                    ignore_subscribe_messages or self.ignore_subscribe_messages):
                return None
            return message
        if handler is not None:
            handler(message)
            return None
        return message

    def _confirmed(self, kind: str, name: Any) -> None:
        if kind == "unsubscribe":
            into, pending = self.channels, self.pending_unsubscribe_channels
        elif kind == "punsubscribe":
            into, pending = self.patterns, self.pending_unsubscribe_patterns
        else:
            into, pending = self.shard_channels, self.pending_unsubscribe_shard_channels
        if name in pending:
            pending.discard(name)
            into.pop(name, None)
        if not (self.channels or self.patterns or self.shard_channels):
            self.subscribed_event.clear()

    @staticmethod
    def _message(raw: Any) -> dict[str, Any]:
        if isinstance(raw, (bytes, str)):
            # RESP3's answer to PING while subscribed: PONG, or PING's message
            # (no push), as redis-py's gives it.
            answer = raw[:0] if raw in (b"PONG", "PONG") else raw
            return {"type": "pong", "pattern": None, "channel": None, "data": answer}
        if not isinstance(raw, list) or not raw:
            return {"type": "unknown", "pattern": None, "channel": None, "data": raw}
        kind = _text(raw[0]).lower()
        if kind == "pmessage":
            return {"type": kind, "pattern": raw[1], "channel": raw[2], "data": raw[3]}
        if kind == "pong":
            data = raw[1] if len(raw) > 1 else None
            return {"type": kind, "pattern": None, "channel": None, "data": data}
        # (P/S)(UN)SUBSCRIBE confirmations name the channel or pattern in
        # "channel", as redis-py's do; so do message and smessage.
        return {"type": kind, "pattern": None, "channel": raw[1],
                "data": raw[2] if len(raw) > 2 else None}

    def listen(self) -> Iterator[dict[str, Any]]:
        """Yield messages as they come (blocking), while :attr:`subscribed`."""
        while self.subscribed and not self._closed:
            message = self.get_message(timeout=1.0)
            if message is not None:
                yield message

    def run_in_greenlet(
        self,
        sleep_time: float = 1.0,
        exception_handler: Callable[[BaseException, PubSub, PubSubWorker], Any] | None = None,
        daemon: bool = False,
        sharded_pubsub: bool = False,
    ) -> PubSubWorker:
        """Start a greenlet that feeds every message to its handler; return it.

        With ``sharded_pubsub`` (redis-py's argument) it reads with
        :meth:`get_sharded_message`, otherwise with :meth:`get_message`.
        Every channel, pattern and shard channel must have a handler
        (:class:`PubSubError` otherwise, nothing started).
        ``exception_handler(exc, pubsub, worker)`` is called when a read or a
        handler raises; without one the worker stops on the first error.
        ``daemon`` is accepted for redis-py's ``run_in_thread`` and changes
        nothing.  ``worker.stop()`` ends it and closes this PubSub.
        """
        self._require_handlers()
        read = self.get_sharded_message if sharded_pubsub else self.get_message
        worker = PubSubWorker(self, sleep_time, exception_handler, read)
        worker.start()
        return worker

    def run_in_thread(
        self,
        sleep_time: float = 0.0,
        daemon: bool = False,
        exception_handler: Callable[[BaseException, PubSub, PubSubWorker], Any] | None = None,
        pubsub: PubSub | None = None,
        sharded_pubsub: bool = False,
    ) -> PubSubWorker:
        """redis-py's name and arguments for :meth:`run_in_greenlet` (it runs a greenlet).

        ``daemon`` is accepted and ignored (a greenlet never keeps the
        process alive); ``pubsub``, when given, is the PubSub the worker
        runs instead of this one.
        """
        target = self if pubsub is None else pubsub
        return target.run_in_greenlet(sleep_time, exception_handler, daemon, sharded_pubsub)

    def _require_handlers(self) -> None:
        """PubSubError unless every subscription has a handler (for a worker)."""
        for kind, subscriptions in (("channel", self.channels), ("pattern", self.patterns),
                                    ("shard channel", self.shard_channels)):
            for name, handler in subscriptions.items():
                if handler is None:
                    raise PubSubError(f"{kind} {name!r} has no handler")

    @property
    def connection(self) -> PubSubConnection | None:
        """redis-py's ``PubSub.connection``: the subscriber connection, or None.

        None before the first subscription (or ``ping()``) and after
        :meth:`close`.  Its ``disconnect()`` closes the connection; the next
        :meth:`get_message` or :meth:`listen` connects again and renews every
        subscription.  Never blocks.
        """
        conn = self._sub.conn
        return None if conn is None else PubSubConnection(conn)

    def close(self) -> None:
        """Close the connection and forget every subscription (redis-py's ``reset()``).

        Messages not yet read are dropped; readers waiting in
        :meth:`get_message` get None, :meth:`listen` ends, a
        :meth:`run_in_greenlet` worker stops.  The PubSub may be used again:
        a later subscription connects anew, as redis-py's does.  A PubSub
        dropped without ``close()`` is closed when it is collected.  Never
        blocks.
        """
        self._closed = True
        self._closes += 1
        for subscriptions in (self.channels, self.patterns, self.shard_channels):
            subscriptions.clear()
        for pending in (self.pending_unsubscribe_channels, self.pending_unsubscribe_patterns,
                        self.pending_unsubscribe_shard_channels):
            pending.clear()
        self.subscribed_event.clear()
        self._sub.reset()

    reset = close

    def _forget_inherited(self) -> None:
        """In a child after fork(): the subscriptions' connection and messages are the
        parent's (see the module docs); the next :meth:`get_message` subscribes again."""
        self._sub.forget_inherited()
        self._connecting = Semaphore()  # maybe held by a copy of a parent's greenlet


class PubSubWorker(gevent.Greenlet):  # type: ignore[misc]
    """The handler greenlet made by :meth:`PubSub.run_in_greenlet`; ``stop()`` ends it."""

    def __init__(
        self,
        pubsub: PubSub,
        sleep_time: float,
        exception_handler: Callable[[BaseException, PubSub, PubSubWorker], Any] | None,
        read: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.pubsub = pubsub
        self.sleep_time = sleep_time
        self.exception_handler = exception_handler
        # What one step reads (``get_message``, or a cluster's ``get_sharded_message``).
        self._read = pubsub.get_message if read is None else read
        self._running = True
        # close() ends this worker even if the PubSub is used again at once.
        self._closes = pubsub._closes

    def _run(self) -> None:
        pubsub = self.pubsub
        while self._running and not pubsub._closed and pubsub._closes == self._closes:
            try:
                # A wait of 0 (redis-py's default) would spin: wait for a message instead.
                wait = self.sleep_time if self.sleep_time > 0 else 1.0
                self._read(ignore_subscribe_messages=True, timeout=wait)
            except Exception as exc:
                if self.exception_handler is None:
                    raise
                self.exception_handler(exc, self.pubsub, self)

    def stop(self) -> None:
        """Stop the worker and close its PubSub."""
        self._running = False
        self.pubsub.close()
        self.kill(block=False)


_MONITOR_LINE = re.compile(r"^(?P<time>[\d.]+) \[(?P<db>\d+) (?P<client>[^\]]*)\] (?P<command>.*)$")
_MONITOR_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _monitor_command(quoted: str) -> str:
    """MONITOR's ``"SET" "k" "v"`` as redis-py gives it: ``SET k v`` (each
    argument unquoted, its escaped quotes unescaped, other escapes kept)."""
    return " ".join(arg.replace('\\"', '"') for arg in _MONITOR_ARG.findall(quoted))


class Monitor:
    """MONITOR on a connection of its own: ``with r.monitor() as m: m.next_command()``."""

    def __init__(self, node: Node) -> None:
        self._sub = _Subscriber(node.settings, f"redis monitor {node.settings.where}")
        node.attach(self)
        self._started = False
        self._inherited = False
        weakref.finalize(self, self._sub.close)
        register(self)

    def __enter__(self) -> Monitor:
        conn = self._sub.connect()
        conn.send(encode_command("MONITOR"))
        first = self._sub.get(timeout=client_timeout(conn))
        if first is None or first is _BROKEN or isinstance(first, ReplyError):
            self._sub.close()
            raise ConnectionError(f"MONITOR was refused or timed out: {first!r}")
        self._started = True
        self._inherited = False
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sub.close()

    def close(self) -> None:
        """Close the monitor's connection (as leaving the ``with`` block does)."""
        self._sub.close()

    def next_command(self, timeout: float | None = None) -> dict[str, Any]:
        """The next command the server ran: time, db, client_address, client_port,
        client_type, command.  Raises ConnectionError when the connection broke,
        TimeoutError after ``timeout``."""
        if not self._started:
            raise PubSubError("use the Monitor as a context manager: with r.monitor() as m")
        if self._inherited:
            raise ConnectionError("the MONITOR connection is the parent's (fork())")
        raw = self._sub.get(timeout)
        if raw is None:
            from ..errors import TimeoutError

            raise TimeoutError(f"no command within {timeout}s")
        if raw is _BROKEN:
            raise ConnectionError("the MONITOR connection broke")
        if raw is _FORKED:
            raise ConnectionError("the MONITOR connection is the parent's (fork())")
        line = _text(raw)
        match = _MONITOR_LINE.match(line)
        if match is None:
            return {"time": 0.0, "db": 0, "client_address": "", "client_port": "",
                    "client_type": "unknown", "command": line}
        client = match["client"]
        if client == "lua":
            address, port, kind = "lua", "", "lua"
        elif client.startswith("unix:"):
            address, port, kind = client[5:], "", "unix"
        else:
            address, _, port = client.rpartition(":")
            kind = "tcp"
        return {
            "time": float(match["time"]),
            "db": int(match["db"]),
            "client_address": address,
            "client_port": port,
            "client_type": kind,
            "command": _monitor_command(match["command"]),
        }

    def listen(self) -> Iterator[dict[str, Any]]:
        """Yield commands as the server runs them."""
        while True:
            yield self.next_command()

    def _forget_inherited(self) -> None:
        """In a child after fork(): the MONITOR stream is the parent's; the next
        :meth:`next_command` raises ConnectionError (see the module docs)."""
        self._inherited = self._sub.conn is not None
        self._sub.forget_inherited()


def client_timeout(conn: Connection) -> float:
    return conn.connect_timeout or 10.0
