"""``greenpool.redis.Redis``: a Redis client over shared, auto-pipelined green connections.

Ordinary commands go over a :class:`~greenpool.pool.MultiplexPool` of a few
shared connections: any number of greenlets send at once, requests queued
in one hub iteration leave in one write, and each caller gets its own
reply (even when others around it are killed or time out).

Work that can't share a connection gets one of its own, leased from a
checkout :class:`~greenpool.Pool` (at most ``max_connections`` of them):
blocking commands (BLPOP, BRPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, WAIT ...),
pipelines and MULTI/EXEC with WATCH (:meth:`Redis.pipeline`).  Pub/sub
(:meth:`Redis.pubsub`) and MONITOR (:meth:`Redis.monitor`) get connections
of their own.  Commands that would change a shared connection's state
(SELECT, AUTH, HELLO, MULTI, SUBSCRIBE ...) are refused with an error that
says what to use instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .._util import check_float, check_int
from ..errors import ConfigurationError, ConnectionError, TimeoutError
from ..pool.checkout import Pool
from ..pool.heartbeat import Heartbeat
from ..pool.multiplex import MultiplexPool
from ..protocol.resp import encode_command
from ..transport.connection import Connection
from .commands import CommandsMixin, DataError
from .exceptions import FAILED_REPLIES, error_from_reply
from .settings import RedisSettings, parse_url

__all__ = ["Redis"]

_BLOCKING = frozenset(
    ["BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
     "WAIT", "WAITAOF"]
)
_BLOCKING_WITH_OPTION = frozenset(["XREAD", "XREADGROUP"])
_REFUSED = {
    "SELECT": "pass db= to Redis() (or use another client) instead",
    "AUTH": "pass username=/password= to Redis() instead",
    "HELLO": "pass protocol= to Redis() instead",
    "RESET": "it would reset a shared connection",
    "QUIT": "use Redis.close() instead",
    "MULTI": "use Redis.pipeline() instead",
    "EXEC": "use Redis.pipeline() instead",
    "DISCARD": "use Redis.pipeline() instead",
    "WATCH": "use Redis.pipeline() and Pipeline.watch() instead",
    "UNWATCH": "use Redis.pipeline() instead",
    "SUBSCRIBE": "use Redis.pubsub() instead",
    "PSUBSCRIBE": "use Redis.pubsub() instead",
    "SSUBSCRIBE": "use Redis.pubsub() instead",
    "UNSUBSCRIBE": "use Redis.pubsub() instead",
    "PUNSUBSCRIBE": "use Redis.pubsub() instead",
    "SUNSUBSCRIBE": "use Redis.pubsub() instead",
    "MONITOR": "use Redis.monitor() instead",
}

# Routing by command name, cached per spelling: None = shared connection.
_ROUTE_CACHE: dict[Any, str | None] = {}
_UNSEEN: Any = object()


def _route(name: Any) -> str | None:
    try:
        return _ROUTE_CACHE[name]
    except (KeyError, TypeError):
        pass
    if isinstance(name, (bytes, bytearray, memoryview)):
        text = bytes(name).decode("utf-8", "replace").upper()
    else:
        text = str(name).upper()
    if text in _BLOCKING:
        route: str | None = "blocking"
    elif text in _BLOCKING_WITH_OPTION:
        route = "maybe-blocking"
    elif text in _REFUSED:
        route = "refused"
    else:
        route = None
    if isinstance(name, (str, bytes)) and len(_ROUTE_CACHE) < 4096:
        _ROUTE_CACHE[name] = route
    return route


class Redis(CommandsMixin):
    """A Redis client for greenlets; redis-py's method names, arguments and return types.

    Connection: ``host``/``port`` or ``unix_socket_path``; ``db``;
    ``username``/``password`` (ACL or ``requirepass``); ``protocol`` 2 or 3
    (``HELLO 3``); ``client_name`` (``CLIENT SETNAME``); TLS with ``ssl=True``
    (verification on; ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``,
    ``ssl_cert_reqs``, ``ssl_check_hostname``, ``ssl_server_hostname``) or
    your own ``ssl_context``.  These run on every new connection.

    Replies: bytes, or str with ``decode_responses=True`` (``encoding``,
    ``encoding_errors``).

    Timeouts: ``socket_timeout`` bounds each command (None: no bound; a
    command past it raises :class:`~greenpool.TimeoutError` and the
    connection stays usable); ``socket_connect_timeout`` bounds connecting.

    Connections: ``pool_size`` shared connections (2 is plenty for most
    processes: one connection carries tens of thousands of requests per
    second); up to ``max_connections`` dedicated ones for blocking commands
    and pipelines, checked out with ``pool_timeout``.
    ``health_check_interval`` pings idle shared connections and closes one
    that stays silent for three intervals (0 turns this off).

    With ``connect_now`` the shared connections connect here and a
    :class:`~greenpool.ConnectionError` is raised if none can; otherwise
    the first command connects.

    Bad arguments raise :class:`~greenpool.ConfigurationError`.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        *,
        unix_socket_path: str | None = None,
        protocol: int = 2,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = 10.0,
        client_name: str | None = None,
        ssl: bool = False,
        ssl_context: Any = None,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_password: str | None = None,
        ssl_cert_reqs: str | int = "required",
        ssl_check_hostname: bool = True,
        ssl_server_hostname: str | None = None,
        pool_size: int = 2,
        max_connections: int = 50,
        pool_timeout: float | None = 20.0,
        health_check_interval: float = 30.0,
        connect_now: bool = False,
    ) -> None:
        self.settings = RedisSettings.build(
            host=host, port=port, unix_socket_path=unix_socket_path, db=db, username=username,
            password=password, protocol=protocol, client_name=client_name,
            socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout,
            decode_responses=decode_responses, encoding=encoding,
            encoding_errors=encoding_errors, ssl=ssl, ssl_context=ssl_context,
            ssl_ca_certs=ssl_ca_certs, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
            ssl_password=ssl_password, ssl_cert_reqs=ssl_cert_reqs,
            ssl_check_hostname=ssl_check_hostname, ssl_server_hostname=ssl_server_hostname,
        )
        self.protocol = protocol
        self.decode_responses = decode_responses
        check_int("pool_size", pool_size, minimum=1)
        check_int("max_connections", max_connections, minimum=1)
        interval = check_float("health_check_interval", health_check_interval) or 0.0
        settings = self.settings
        self._mux = MultiplexPool(
            pool_size, settings.new_connection, connect_now=False,
            name=f"redis-shared {settings.describe()}",
        )
        idle = min(max_connections, 8)
        self._dedicated: Pool[Connection] = Pool(
            self._new_dedicated,
            pool_size=idle,
            max_overflow=max_connections - idle,
            pool_timeout=pool_timeout,
            prefill=False,
            use_local=False,
            recycle=None,
            check=Connection.live,
            reset=_reset_dedicated,
            close=_close_dedicated,
            retry_exceptions=(ConnectionError, TimeoutError, OSError),
            name=f"redis-dedicated {settings.describe()}",
        )
        self._raw: Pool[Connection] | None = None
        self._heartbeat: Heartbeat | None = None
        if interval > 0:
            self._heartbeat = Heartbeat(
                interval, interval * 3, connections=lambda: self._mux.connections,
                ping=_ping,
            )
            self._heartbeat.start()
        if connect_now:
            self._shared()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Redis:
        """Make a client from ``redis://[[user]:password@]host[:port][/db][?options]``,
        ``rediss://...`` (TLS) or ``unix:///path?db=N``.  ``kwargs`` override the URL."""
        options = parse_url(url)
        options.update(kwargs)
        return cls(**options)

    def __repr__(self) -> str:
        return f"<Redis {self.settings.describe()} protocol={self.protocol}>"

    # ------------------------------------------------------------------
    # Sending commands

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send one command and return its reply (decoded per ``decode_responses``).

        Blocking commands are sent on a dedicated connection (see
        :meth:`execute_blocking`).  Raises
        :class:`~greenpool.redis.ResponseError` for an error reply,
        :class:`~greenpool.TimeoutError` past ``socket_timeout``,
        :class:`~greenpool.ConnectionError` when Redis can't be reached.
        """
        if not args:
            raise ConfigurationError("args", args, "a command name is needed")
        route = _ROUTE_CACHE.get(args[0], _UNSEEN) if type(args[0]) is str else _UNSEEN
        if route is _UNSEEN:
            route = _route(args[0])
        if route is not None:
            if route == "blocking" or (
                route == "maybe-blocking" and any(_is_block(a) for a in args[1:])
            ):
                block = options.pop("_block_timeout", None)
                return self.execute_blocking(*args, timeout=block, **options)
            if route == "refused":
                raise ConfigurationError(
                    "command", args[0], f"can't run on a shared connection: "
                    f"{_REFUSED[_name(args[0])]}"
                )
        if options and options.get("never_decode") and self.decode_responses:
            return self._execute_raw(args, options)
        try:
            payload = encode_command(*args)
        except TypeError as exc:
            raise DataError("args", args[0], str(exc)) from None
        mux_live = self._mux._live
        conn = mux_live[0] if len(mux_live) == 1 else self._shared()
        reply = conn.request(payload)
        if type(reply) in FAILED_REPLIES:
            raise error_from_reply(reply)
        parse: Callable[[Any], Any] | None = options.get("_parse")
        return reply if parse is None else parse(reply)

    def _execute_raw(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        """A command whose reply must stay bytes (DUMP) while the client decodes."""
        if self._raw is None:
            raw_settings = replace(self.settings, decode_responses=False)
            self._raw = Pool(
                lambda: _connected(raw_settings.new_connection(name="redis raw")),
                pool_size=1, max_overflow=3, prefill=False, use_local=False, recycle=None,
                check=Connection.live, reset=_reset_dedicated, close=_close_dedicated,
                retry_exceptions=(ConnectionError, TimeoutError, OSError),
                name=f"redis-raw {self.settings.describe()}",
            )
        with self._raw.connection() as conn:
            reply = conn.request(_encode(args))
        if type(reply) in FAILED_REPLIES:
            raise error_from_reply(reply)
        parse: Callable[[Any], Any] | None = options.get("_parse")
        return reply if parse is None else parse(reply)

    def execute_blocking(self, *args: Any, timeout: float | None = None, **options: Any) -> Any:
        """Run a blocking command on a dedicated connection; return its reply.

        ``timeout`` is the command's own blocking time in seconds (0 or None:
        it may block forever); the reply is awaited that long plus
        ``socket_timeout`` (or 1 s).  The connection is checked out of the
        dedicated pool for the duration (waiting up to ``pool_timeout`` for
        one) and closed, never reused, if the caller is killed or times out
        mid-command.
        """
        payload = _encode(args)
        if timeout:
            wait: float | None = float(timeout) + (self.settings.socket_timeout or 1.0)
        else:
            wait = None
        with self._dedicated.connection() as conn:
            reply = conn.request(payload, timeout=wait)
        if type(reply) in FAILED_REPLIES:
            raise error_from_reply(reply)
        parse: Callable[[Any], Any] | None = options.get("_parse")
        return reply if parse is None else parse(reply)

    def _shared(self) -> Connection:
        """A connected shared connection (the least loaded), connecting if none is."""
        mux = self._mux
        if mux._live:
            return mux.get_least_loaded_connection()
        try:
            return mux.wait_for_connection(self.settings.socket_connect_timeout)
        except (IndexError, OSError) as exc:
            raise ConnectionError(
                f"cannot reach redis at {self.settings.address}: {exc}",
                str(self.settings.address),
            ) from exc

    def _new_dedicated(self) -> Connection:
        conn = self.settings.new_connection(name=f"redis dedicated {self.settings.address}")
        conn.connect()
        return conn

    # ------------------------------------------------------------------
    # Dedicated-connection features

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        """A :class:`~greenpool.redis.Pipeline`: commands buffered and sent together.

        With ``transaction`` (the default) they run inside MULTI/EXEC;
        :meth:`Pipeline.watch` gives optimistic locking.  Runs on a dedicated
        connection leased for the duration.
        """
        from .pipeline import Pipeline

        return Pipeline(self, transaction=transaction)

    def pubsub(self, ignore_subscribe_messages: bool = False, **kwargs: Any) -> Any:
        """A :class:`~greenpool.redis.PubSub` on a connection of its own."""
        from .pubsub import PubSub

        return PubSub(self, ignore_subscribe_messages=ignore_subscribe_messages, **kwargs)

    def monitor(self) -> Any:
        """A :class:`~greenpool.redis.Monitor` streaming every command the server runs."""
        from .pubsub import Monitor

        return Monitor(self)

    # ------------------------------------------------------------------
    # Lifecycle and introspection

    def close(self) -> None:
        """Close every connection.  Commands in flight fail with ConnectionError."""
        if self._heartbeat is not None:
            self._heartbeat.shutdown()
        self._mux.close()
        self._dedicated.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> Redis:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def connections_used(self) -> dict[str, int]:
        """How many connections exist: ``shared`` (connected) and ``dedicated`` (open)."""
        return {
            "shared": len(self._mux.connected_connections),
            "dedicated": self._dedicated.stats()["connections"],
        }

    @property
    def shared_pool(self) -> MultiplexPool:
        """The multiplexed pool of shared connections."""
        return self._mux

    @property
    def dedicated_pool(self) -> Pool[Connection]:
        """The checkout pool of dedicated connections."""
        return self._dedicated


def _encode(args: tuple[Any, ...]) -> bytes:
    try:
        return encode_command(*args)
    except TypeError as exc:
        raise DataError("args", args[0] if args else None, str(exc)) from None


def _connected(conn: Connection) -> Connection:
    conn.connect()
    return conn


def _name(arg: Any) -> str:
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg).decode("utf-8", "replace").upper()
    return str(arg).upper()


def _is_block(arg: Any) -> bool:
    return isinstance(arg, (str, bytes)) and _name(arg) == "BLOCK"


def _ping(conn: Connection) -> Any:
    return conn.request(encode_command("PING"))


def _reset_dedicated(conn: Connection) -> None:
    if not conn.live() or conn.pending:
        raise ConnectionError("dedicated connection is not clean", str(conn.address))


def _close_dedicated(conn: Connection) -> None:
    conn.close("returned to a full pool or broken")
