"""Pub/sub and MONITOR, each on a connection of its own.

:class:`PubSub` follows redis-py's: ``subscribe``/``psubscribe`` (with
optional handlers), ``unsubscribe``/``punsubscribe``, ``get_message``,
``listen``, and a handler greenlet (:meth:`PubSub.run_in_greenlet`, also
under redis-py's name ``run_in_thread``).  Messages are dicts:
``{"type": "message", "pattern": None, "channel": b"news", "data": b"hi"}``.

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
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import gevent
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue

from .._fork import register
from ..errors import ConfigurationError, ConnectionError, ReplyError
from ..protocol.resp import encode_command
from ..transport.connection import Connection
from .exceptions import PubSubError, error_from_reply
from .settings import RedisSettings

if TYPE_CHECKING:
    from .node import Node

__all__ = ["Monitor", "PubSub", "PubSubError", "PubSubWorker"]  # PubSubError: the old home

_BROKEN = object()
#: Queued in a child after fork(): wakes a copy of a reader, which returns nothing.
_FORKED = object()
_SUBSCRIBE_TYPES = frozenset(["subscribe", "psubscribe", "unsubscribe", "punsubscribe",
                              "ssubscribe", "sunsubscribe"])


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


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
        """The next message, None after ``timeout``; ``_BROKEN`` when the connection broke."""
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

    def forget_inherited(self) -> None:
        """In a child after fork(): drop the parent's connection and queued messages.

        The connection severed its socket itself; it is forgotten without a
        close (whose listener would queue ``_BROKEN``).  A reader waiting on
        the queue (the copy of one that waited at the fork) gets ``_FORKED``.
        Never blocks or switches greenlets.
        """
        self.conn = None
        while True:
            try:
                self.queue.get_nowait()
            except Empty:
                break
        for _ in range(self.waiting):
            self.queue.put_nowait(_FORKED)


class PubSub:
    """Subscriptions and the messages they bring (see the module docs)."""

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
        self.channels: dict[Any, Callable[[dict[str, Any]], Any] | None] = {}
        self.patterns: dict[Any, Callable[[dict[str, Any]], Any] | None] = {}
        self._sub = _Subscriber(node.settings, f"redis pubsub {node.settings.address}")
        self._connecting = Semaphore()
        self._closed = False
        self._finalizer = weakref.finalize(self, self._sub.close)
        node.attach(self)
        register(self)

    def __enter__(self) -> PubSub:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PubSub channels={len(self.channels)} patterns={len(self.patterns)}>"

    @property
    def subscribed(self) -> bool:
        """True while subscribed to at least one channel or pattern."""
        return bool(self.channels or self.patterns)

    # ------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._closed:
            raise PubSubError("this PubSub was closed")
        if self._sub.conn is not None and self._sub.conn.live():
            return
        # One connect for every greenlet that finds the connection gone (a
        # worker and a reader, in a child after fork()): a second subscribed
        # connection would queue every message twice.
        with self._connecting:
            if self._closed:
                raise PubSubError("this PubSub was closed")
            if self._sub.conn is None or not self._sub.conn.live():
                self._sub.connect()
                if self.channels:
                    self._sub.send("SUBSCRIBE", *self.channels)
                if self.patterns:
                    self._sub.send("PSUBSCRIBE", *self.patterns)

    def _key(self, name: Any) -> Any:
        # Channel names as the server's messages will spell them.
        if self.settings.decode_responses:
            return name.decode(self.settings.encoding) if isinstance(name, bytes) else name
        return name.encode(self.settings.encoding) if isinstance(name, str) else name

    def _collect(
        self, args: Iterable[Any], kwargs: dict[str, Any]
    ) -> dict[Any, Callable[[dict[str, Any]], Any] | None]:
        found: dict[Any, Callable[[dict[str, Any]], Any] | None] = {}
        for arg in args:
            if isinstance(arg, (list, tuple, set)):
                for item in arg:
                    found[self._key(item)] = None
            else:
                found[self._key(arg)] = None
        for name, handler in kwargs.items():
            if not callable(handler):
                raise ConfigurationError(name, handler, "a handler must be callable")
            found[self._key(name)] = handler
        if not found:
            raise ConfigurationError("channels", args, "name at least one channel")
        return found

    def subscribe(self, *args: Any, **kwargs: Callable[[dict[str, Any]], Any]) -> None:
        """Subscribe to channels; ``name=handler`` keyword arguments attach handlers.

        A message on a channel with a handler goes to the handler (and
        ``get_message`` returns None for it).  Raises ConnectionError if Redis
        can't be reached.
        """
        new = self._collect(args, kwargs)
        self._ensure()
        self._sub.send("SUBSCRIBE", *new)
        self.channels.update(new)

    def psubscribe(self, *args: Any, **kwargs: Callable[[dict[str, Any]], Any]) -> None:
        """Subscribe to glob-style patterns, with optional handlers."""
        new = self._collect(args, kwargs)
        self._ensure()
        self._sub.send("PSUBSCRIBE", *new)
        self.patterns.update(new)

    def unsubscribe(self, *args: Any) -> None:
        """Unsubscribe from the channels (from all without arguments)."""
        names = [self._key(a) for a in args] or list(self.channels)
        for name in names:
            self.channels.pop(name, None)
        if self._sub.conn is not None and self._sub.conn.live():
            self._sub.send("UNSUBSCRIBE", *names)

    def punsubscribe(self, *args: Any) -> None:
        """Unsubscribe from the patterns (from all without arguments)."""
        names = [self._key(a) for a in args] or list(self.patterns)
        for name in names:
            self.patterns.pop(name, None)
        if self._sub.conn is not None and self._sub.conn.live():
            self._sub.send("PUNSUBSCRIBE", *names)

    def ping(self, message: Any = None) -> None:
        """Send PING; the answer arrives as a ``pong`` message."""
        self._ensure()
        self._sub.send("PING", *([] if message is None else [message]))

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> dict[str, Any] | None:
        """The next message as a dict, or None if none comes within ``timeout`` seconds.

        ``timeout=0`` does not wait; ``None`` waits until one comes.  A
        message handled by a handler, and (when ignored) subscribe
        confirmations, give None.  If the connection broke it is reconnected
        and every subscription renewed; ConnectionError if that fails.
        """
        if self._sub.conn is None:
            if not self.subscribed:
                return None
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
        message = self._message(raw)
        kind = message["type"]
        if kind in _SUBSCRIBE_TYPES:
            if ignore_subscribe_messages or self.ignore_subscribe_messages:
                return None
            return message
        handler = None
        if kind == "message":
            handler = self.channels.get(message["channel"])
        elif kind == "pmessage":
            handler = self.patterns.get(message["pattern"])
        if handler is not None:
            handler(message)
            return None
        return message

    @staticmethod
    def _message(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, list) or not raw:
            return {"type": "unknown", "pattern": None, "channel": None, "data": raw}
        kind = _text(raw[0]).lower()
        if kind == "pmessage":
            return {"type": kind, "pattern": raw[1], "channel": raw[2], "data": raw[3]}
        if kind == "pong":
            data = raw[1] if len(raw) > 1 else None
            return {"type": kind, "pattern": None, "channel": None, "data": data}
        # (P)SUBSCRIBE and (P)UNSUBSCRIBE confirmations name the channel or
        # pattern in "channel", as redis-py's do.
        return {"type": kind, "pattern": None, "channel": raw[1],
                "data": raw[2] if len(raw) > 2 else None}

    def listen(self) -> Iterator[dict[str, Any]]:
        """Yield messages as they come (blocking), while subscribed."""
        while self.subscribed and not self._closed:
            message = self.get_message(timeout=1.0)
            if message is not None:
                yield message

    def run_in_greenlet(
        self,
        sleep_time: float = 1.0,
        exception_handler: Callable[[BaseException, PubSub, PubSubWorker], Any] | None = None,
    ) -> PubSubWorker:
        """Start a greenlet that feeds every message to its handler; return it.

        Every subscribed channel and pattern must have a handler
        (:class:`PubSubError` otherwise).  ``exception_handler(exc, pubsub,
        worker)`` is called when ``get_message`` or a handler raises;
        without one the worker stops on the first error.
        """
        self._require_handlers()
        worker = PubSubWorker(self, sleep_time, exception_handler)
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
        runs instead of this one; ``sharded_pubsub`` is accepted and ignored
        (no sharded subscriptions here).
        """
        target = self if pubsub is None else pubsub
        return target.run_in_greenlet(sleep_time, exception_handler)

    def _require_handlers(self) -> None:
        """PubSubError unless every subscription has a handler (for a worker)."""
        for name, handler in (*self.channels.items(), *self.patterns.items()):
            if handler is None:
                raise PubSubError(f"channel or pattern {name!r} has no handler")

    def close(self) -> None:
        """Close the connection; the PubSub can't be used afterwards.

        A PubSub dropped without ``close()`` is closed when it is collected.
        """
        self._closed = True
        self.channels.clear()
        self.patterns.clear()
        self._finalizer()

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

    def _run(self) -> None:
        while self._running and not self.pubsub._closed:
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
        self._sub = _Subscriber(node.settings, f"redis monitor {node.settings.address}")
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
