"""Keyspace and keyevent notifications as parsed objects, redis-py 8.1's API for greenlets.

``r.keyspace_notifications()`` gives a :class:`KeyspaceNotifications` over
a :class:`~greenpool.redis.PubSub` of its own::

    notes = r.keyspace_notifications(key_prefix="user:")
    notes.subscribe_keyspace("user:*")             # a pattern: PSUBSCRIBE
    notes.subscribe_keyevent(EventType.EXPIRED)    # SUBSCRIBE __keyevent@0__:expired
    for note in notes.listen():                    # KeyNotification objects
        print(note.key, note.event_type)           # "42", "set" (prefix stripped)

The server sends these only when its ``notify-keyspace-events`` setting
asks for them.  Channels given as text are subscribed to as patterns when
they hold glob characters (``*``, ``?``, a ``[...]`` class), as exact
channels otherwise.  A ``handler`` receives each :class:`KeyNotification`
instead of :meth:`KeyspaceNotifications.get_message`;
:meth:`KeyspaceNotifications.run_in_thread` runs the handlers in a
greenlet.  The subkey notifications of newer servers (``__subkeyspace@``
...) are not parsed: they give None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import gevent

from .exceptions import PubSubError

if TYPE_CHECKING:
    from .client import Redis
    from .pubsub import PubSub

__all__ = [
    "ChannelType",
    "EventType",
    "KeyNotification",
    "KeyeventChannel",
    "KeyspaceChannel",
    "KeyspaceNotifications",
    "KeyspaceWorker",
    "get_channel_type",
]

Handler = Callable[["KeyNotification"], Any]


class EventType:
    """Names of the events Redis notifies (any other string works too)."""

    SET = "set"
    SETEX = "setex"
    SETNX = "setnx"
    SETRANGE = "setrange"
    INCR = "incr"
    INCRBY = "incrby"
    INCRBYFLOAT = "incrbyfloat"
    DECR = "decr"
    DECRBY = "decrby"
    APPEND = "append"
    DEL = "del"
    UNLINK = "unlink"
    RENAME = "rename"
    RENAME_FROM = "rename_from"
    RENAME_TO = "rename_to"
    COPY_TO = "copy_to"
    MOVE = "move"
    RESTORE = "restore"
    EXPIRE = "expire"
    EXPIREAT = "expireat"
    PEXPIRE = "pexpire"
    PEXPIREAT = "pexpireat"
    EXPIRED = "expired"
    PERSIST = "persist"
    EVICTED = "evicted"
    NEW = "new"
    LPUSH = "lpush"
    RPUSH = "rpush"
    LPOP = "lpop"
    RPOP = "rpop"
    LINSERT = "linsert"
    LSET = "lset"
    LTRIM = "ltrim"
    LMOVE = "lmove"
    BLPOP = "blpop"
    BRPOP = "brpop"
    BLMOVE = "blmove"
    SADD = "sadd"
    SREM = "srem"
    SPOP = "spop"
    SMOVE = "smove"
    SINTERSTORE = "sinterstore"
    SUNIONSTORE = "sunionstore"
    SDIFFSTORE = "sdiffstore"
    ZADD = "zadd"
    ZINCRBY = "zincrby"
    ZREM = "zrem"
    ZREMRANGEBYRANK = "zremrangebyrank"
    ZREMRANGEBYSCORE = "zremrangebyscore"
    ZREMRANGEBYLEX = "zremrangebylex"
    ZPOPMIN = "zpopmin"
    ZPOPMAX = "zpopmax"
    BZPOPMIN = "bzpopmin"
    BZPOPMAX = "bzpopmax"
    ZINTERSTORE = "zinterstore"
    ZUNIONSTORE = "zunionstore"
    ZDIFFSTORE = "zdiffstore"
    ZRANGESTORE = "zrangestore"
    HSET = "hset"
    HSETNX = "hsetnx"
    HDEL = "hdel"
    HINCRBY = "hincrby"
    HINCRBYFLOAT = "hincrbyfloat"
    XADD = "xadd"
    XTRIM = "xtrim"
    XDEL = "xdel"
    XGROUP_CREATE = "xgroup-create"
    XGROUP_CREATECONSUMER = "xgroup-createconsumer"
    XGROUP_DELCONSUMER = "xgroup-delconsumer"
    XGROUP_DESTROY = "xgroup-destroy"
    XGROUP_SETID = "xgroup-setid"
    XSETID = "xsetid"
    XCLAIM = "xclaim"
    XAUTOCLAIM = "xautoclaim"
    XREADGROUP = "xreadgroup"
    SORTSTORE = "sortstore"
    GETEX = "getex"
    GETDEL = "getdel"
    SETIFGT = "setifgt"
    SETIFLT = "setiflt"
    SETIFEQ = "setifeq"
    SETIFNE = "setifne"


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _is_pattern(channel: Any) -> bool:
    """True if ``channel`` holds an unescaped glob: ``*``, ``?`` or a closed ``[...]``."""
    text = _text(channel)
    escaped = False
    opened = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            return True
        elif char == "[":
            opened = True
        elif char == "]" and opened:
            return True
    return False


class ChannelType(Enum):
    """Which kind of notification channel a name is."""

    KEYSPACE = "keyspace"
    KEYEVENT = "keyevent"


_CHANNEL = re.compile(r"^__(keyspace|keyevent)@(\d+|\*)__:(.+)$", re.DOTALL)


def get_channel_type(channel: str | bytes) -> ChannelType | None:
    """:class:`ChannelType` of a channel name, or None for any other channel."""
    match = _CHANNEL.match(_text(channel))
    return None if match is None else ChannelType(match.group(1))


@dataclass
class KeyNotification:
    """One notification: ``key``, ``event_type`` (``"set"`` ...), ``database`` (-1 for
    a ``*`` channel), the ``channel``, ``is_keyspace`` (False: a keyevent one), the
    message's ``data`` and ``subkeys`` (always empty here), all text."""

    key: str
    event_type: str
    database: int
    channel: str
    is_keyspace: bool
    data: str
    subkeys: list[str] = field(default_factory=list)

    @classmethod
    def from_message(
        cls, message: dict[str, Any] | None, key_prefix: str | bytes | None = None
    ) -> KeyNotification | None:
        """Parse a pub/sub message dict; None for anything but a notification message
        (or one whose key lacks ``key_prefix``, which is stripped from the key)."""
        if message is None or message.get("type") not in ("message", "pmessage"):
            return None
        channel, data = message.get("channel"), message.get("data")
        if channel is None or data is None:
            return None
        return cls.try_parse(channel, data, key_prefix)

    @classmethod
    def try_parse(
        cls, channel: str | bytes, data: str | bytes, key_prefix: str | bytes | None = None
    ) -> KeyNotification | None:
        """Parse a channel name and its message data; None if it is not a
        notification (or the key lacks ``key_prefix``)."""
        channel_text, data_text = _text(channel), _text(data)
        match = _CHANNEL.match(channel_text)
        if match is None:
            return None
        kind, db, rest = match.groups()
        keyspace = kind == "keyspace"
        key, event = (rest, data_text) if keyspace else (data_text, rest)
        if key_prefix:
            prefix = _text(key_prefix)
            if not key.startswith(prefix):
                return None
            key = key[len(prefix):]
        return cls(key=key, event_type=event, database=-1 if db == "*" else int(db),
                   channel=channel_text, is_keyspace=keyspace, data=data_text)

    def key_starts_with(self, prefix: str | bytes) -> bool:
        """True if the key starts with ``prefix``."""
        return self.key.startswith(_text(prefix))


class _Channel:
    PREFIX: ClassVar[str]

    def __init__(self, name: str, db: int = 0) -> None:
        self.db = db
        self._name = name
        self._channel_str = f"{self.PREFIX}{db}__:{name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, db={self.db})"

    @property
    def is_pattern(self) -> bool:
        """True if the name is a glob pattern (subscribed with PSUBSCRIBE)."""
        return _is_pattern(self._name)

    def __str__(self) -> str:
        return self._channel_str

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Channel):
            return str(self) == str(other)
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._channel_str)


class KeyspaceChannel(_Channel):
    """``__keyspace@<db>__:<key or pattern>``: the events on matching keys."""

    PREFIX = "__keyspace@"

    def __init__(self, key_or_pattern: str, db: int = 0) -> None:
        self.key_or_pattern = key_or_pattern
        super().__init__(key_or_pattern, db)


class KeyeventChannel(_Channel):
    """``__keyevent@<db>__:<event>``: the keys an event happened to."""

    PREFIX = "__keyevent@"

    def __init__(self, event: str, db: int = 0) -> None:
        self.event = event
        super().__init__(event, db)

    @classmethod
    def all_events(cls, db: int = 0) -> KeyeventChannel:
        """Every event of database ``db``."""
        return cls("*", db=db)


class KeyspaceNotifications:
    """Notification subscriptions on a PubSub of their own (see the module docs).

    ``key_prefix`` keeps only notifications for keys starting with it, and
    strips it from their keys; ``ignore_subscribe_messages`` is the default
    of :meth:`get_message`'s.
    """

    def __init__(
        self,
        redis_client: Redis,
        key_prefix: str | bytes | None = None,
        ignore_subscribe_messages: bool = True,
    ) -> None:
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self._pubsub: PubSub = redis_client.pubsub(ignore_subscribe_messages=False)
        self._closed = False

    def __repr__(self) -> str:
        return f"<KeyspaceNotifications {self._pubsub!r}>"

    def __enter__(self) -> KeyspaceNotifications:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _wrap(self, handler: Handler | None) -> Callable[[dict[str, Any]], Any] | None:
        if handler is None:
            return None
        prefix = self.key_prefix

        def on_message(message: dict[str, Any]) -> None:
            note = KeyNotification.from_message(message, key_prefix=prefix)
            if note is not None:
                handler(note)

        return on_message

    def subscribe(self, *channels: Any, handler: Handler | None = None) -> None:
        """Subscribe to channels (text, bytes, :class:`KeyspaceChannel`,
        :class:`KeyeventChannel`): patterns with PSUBSCRIBE, others with SUBSCRIBE.
        ``handler`` gets their notifications instead of :meth:`get_message`.
        Raises ConnectionError if Redis can't be reached."""
        wrapped = self._wrap(handler)
        patterns: dict[str, Any] = {}
        exact: dict[str, Any] = {}
        for channel in channels:
            name = _text(channel)
            (patterns if _is_pattern(name) else exact)[name] = wrapped
        self._send(self._pubsub.psubscribe, patterns, wrapped)
        self._send(self._pubsub.subscribe, exact, wrapped)

    @staticmethod
    def _send(subscribe: Callable[..., None], names: dict[str, Any], wrapped: Any) -> None:
        if names and wrapped is None:
            subscribe(*names)
        elif names:
            subscribe(**names)

    def unsubscribe(self, *channels: Any) -> None:
        """Unsubscribe from the channels (patterns and exact ones alike)."""
        names = [_text(channel) for channel in channels]
        patterns = [name for name in names if _is_pattern(name)]
        exact = [name for name in names if not _is_pattern(name)]
        if patterns:
            self._pubsub.punsubscribe(*patterns)
        if exact:
            self._pubsub.unsubscribe(*exact)

    def subscribe_keyspace(
        self, key_or_pattern: str, db: int = 0, handler: Handler | None = None
    ) -> None:
        """Subscribe to the events on ``key_or_pattern`` in database ``db``."""
        self.subscribe(KeyspaceChannel(key_or_pattern, db=db), handler=handler)

    def subscribe_keyevent(self, event: str, db: int = 0, handler: Handler | None = None) -> None:
        """Subscribe to the keys ``event`` happens to in database ``db``."""
        self.subscribe(KeyeventChannel(event, db=db), handler=handler)

    def get_message(
        self, ignore_subscribe_messages: bool | None = None, timeout: float = 0.0
    ) -> KeyNotification | None:
        """The next notification, waiting up to ``timeout`` seconds (0: not at all);
        None if none came, if a handler took it, or for a message that is not one.
        After :meth:`close`, None."""
        if self._closed:
            return None
        if ignore_subscribe_messages is None:
            ignore_subscribe_messages = self.ignore_subscribe_messages
        message = self._pubsub.get_message(
            ignore_subscribe_messages=ignore_subscribe_messages, timeout=timeout
        )
        return KeyNotification.from_message(message, key_prefix=self.key_prefix)

    def listen(self) -> Iterator[KeyNotification]:
        """Yield notifications as they come (blocking), while subscribed."""
        while self.subscribed:
            note = self.get_message(timeout=1.0)
            if note is not None:
                yield note

    @property
    def subscribed(self) -> bool:
        """True while not closed and subscribed to something."""
        return not self._closed and self._pubsub.subscribed

    def close(self) -> None:
        """Close the PubSub connection; nothing more comes."""
        self._closed = True
        self._pubsub.close()

    def run_in_thread(
        self,
        poll_timeout: float = 0.0,
        daemon: bool = False,
        exception_handler: Callable[[BaseException, KeyspaceNotifications, KeyspaceWorker], Any]
        | None = None,
    ) -> KeyspaceWorker:
        """Start a greenlet feeding every notification to its handler; return it
        (``stop()`` ends it and closes this object).  Every subscription needs a
        handler (:class:`~greenpool.redis.exceptions.PubSubError` otherwise).
        ``daemon`` is accepted for redis-py's signature (a greenlet never keeps the
        process alive).  ``poll_timeout`` is how long each wait for a message lasts."""
        for name, handler in (*self._pubsub.channels.items(), *self._pubsub.patterns.items()):
            if handler is None:
                raise PubSubError(f"channel or pattern {name!r} has no handler registered")
        worker = KeyspaceWorker(self, poll_timeout, exception_handler)
        worker.start()
        return worker


class KeyspaceWorker(gevent.Greenlet):  # type: ignore[misc]
    """The greenlet of :meth:`KeyspaceNotifications.run_in_thread`; ``stop()`` ends it."""

    def __init__(
        self,
        notifications: KeyspaceNotifications,
        poll_timeout: float,
        exception_handler: Callable[[BaseException, KeyspaceNotifications, KeyspaceWorker], Any]
        | None,
    ) -> None:
        super().__init__()
        self.notifications = notifications
        self.poll_timeout = poll_timeout
        self.exception_handler = exception_handler
        self._running = True

    def _run(self) -> None:
        notes = self.notifications
        # A 0 poll would spin: wait at least a moment between empty polls.
        wait = self.poll_timeout or 0.05
        try:
            while self._running and notes.subscribed:
                try:
                    notes.get_message(ignore_subscribe_messages=True, timeout=wait)
                except Exception as exc:
                    if self.exception_handler is None:
                        raise
                    self.exception_handler(exc, notes, self)
        finally:
            notes.close()

    def stop(self) -> None:
        """Stop the worker; it closes its notifications."""
        self._running = False
        self.notifications.close()
        self.kill(block=False)
