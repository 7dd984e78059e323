"""``greenpool.redis.Redis``: the command surface over one server's connections.

:class:`Redis` is :class:`~greenpool.redis.commands.Commands` (redis-py's
methods) over one :class:`~greenpool.redis.node.Node` (the server's
connections), and decides where each command runs from the command table
(:mod:`greenpool.redis._route`): ordinary commands on the shared,
auto-pipelined connections, where any number of greenlets send at once
and each caller gets its own reply (even when others around it are killed
or time out); blocking commands (BLPOP, XREAD BLOCK, WAIT ...) on a
dedicated connection; per-connection settings (CLIENT SETNAME) on every
connection; and commands that would change a shared connection's state
(SELECT, AUTH, HELLO, MULTI, SUBSCRIBE, CLIENT REPLY ...) nowhere, with an
error that says what to use instead.  Pipelines, pub/sub and MONITOR take
the node.
"""

from __future__ import annotations

from typing import Any

from .._util import check_bool
from ..pool.checkout import Pool
from ..pool.multiplex import MultiplexPool
from ..protocol.resp import encode_command
from ..transport.connection import Connection
from . import _execute
from ._route import BLOCKING, EVERY, REFUSE, ROUTES, UNSEEN, Route, refusal, resolve
from .commands import Commands
from .exceptions import FAILED_REPLIES
from .node import Locator, Node
from .pipeline import Pipeline
from .pubsub import Monitor, PubSub
from .settings import RedisSettings, parse_url

__all__ = ["Redis"]


class Redis(Commands):
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

    ``locator`` (a :class:`~greenpool.redis.node.Locator`) is asked where the
    server is before each connect, instead of ``host``/``port``:
    :meth:`Sentinel.master_for <greenpool.redis.Sentinel.master_for>` passes
    one.

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
        locator: Locator | None = None,
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
        self.settings.locator = locator
        self.protocol = protocol
        self.decode_responses = decode_responses
        self._node = Node(
            self.settings, pool_size=pool_size, max_connections=max_connections,
            pool_timeout=pool_timeout, health_check_interval=health_check_interval,
        )
        # The hot path's one call: the least loaded shared connection (IndexError
        # when none is connected).
        self._least_loaded = self._node.shared_pool.get_least_loaded_connection
        if check_bool("connect_now", connect_now):
            self._node.shared_connection()

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
        """Send one command and return its result (see :class:`~greenpool.redis.commands.Executor`).

        Where it runs comes from the command table: most commands on a shared
        connection; a command that may block in the server (BLPOP, XREAD
        BLOCK, WAIT ...) on a dedicated one; a per-connection setting
        (CLIENT SETNAME) on every connection; a command that would change a
        shared connection's state (SELECT, MULTI, SUBSCRIBE, CLIENT REPLY ...)
        nowhere: :class:`~greenpool.ConfigurationError`, saying what to use
        instead.  ``options`` are :class:`~greenpool.redis.commands.CommandOptions`.

        Raises :class:`~greenpool.redis.ResponseError` for an error reply,
        :class:`~greenpool.TimeoutError` past ``socket_timeout``,
        :class:`~greenpool.ConnectionError` when Redis can't be reached.
        """
        try:
            route = ROUTES[args[0]]  # the hot path's routing: one dict lookup
        except (KeyError, TypeError, IndexError):
            return self._routed(UNSEEN, args, options)
        if route is not None or options.get("never_decode"):
            return self._routed(route, args, options)
        try:
            payload = encode_command(*args)
        except TypeError:
            payload = _execute.encode(args)  # raises the DataError
        try:
            conn = self._least_loaded()
        except IndexError:
            conn = self._node.shared_connection()
        reply = conn.request(payload)
        if options.get("_parse") is not None or type(reply) in FAILED_REPLIES:
            return _execute.result(reply, options)
        return reply  # the reply as it is: _execute.result's common case, inline

    def _routed(self, route: Route | None, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        route, command = resolve(route, args)
        if route is None:
            if options.get("never_decode") and self.decode_responses:
                return self._on_dedicated(command, options, blocking=False)
            return _execute.result(self._node.shared_connection().request(
                _execute.encode(command)), options)
        if route.kind == BLOCKING:
            return self._on_dedicated(command, options, blocking=True)
        if route.kind == EVERY:
            return _execute.result(self._node.set_everywhere(route.name, tuple(command)), options)
        assert route.kind == REFUSE
        raise refusal(route, "a shared connection")

    def _on_dedicated(self, args: Any, options: dict[str, Any], blocking: bool) -> Any:
        payload = _execute.encode(args)
        if blocking:
            wait = _execute.reply_wait(options.get("_block_timeout"), self.settings)
        else:
            wait = self.settings.socket_timeout
        with self._node.dedicated_pool.connection() as conn:
            reply = conn.request(payload, timeout=wait)
        return _execute.result_from_raw(reply, options, self.settings)

    def execute_blocking(self, *args: Any, timeout: float | None = None, **options: Any) -> Any:
        """Run any command on a dedicated connection; return its result.

        For commands the table does not know to block (a module's).
        ``timeout`` is how long the command may block in the server, in
        seconds (0 or None: forever); the reply is awaited that long plus
        ``socket_timeout`` (or 1 s).  The connection is checked out of the
        dedicated pool for the duration (waiting up to ``pool_timeout`` for
        one) and closed, never reused, if the caller is killed or times out
        mid-command.
        """
        return self._on_dedicated(args, {**options, "_block_timeout": timeout}, blocking=True)

    def _shared(self) -> Connection:
        """A connected shared connection (the least loaded), connecting if none is."""
        return self._node.shared_connection()

    # ------------------------------------------------------------------
    # Dedicated-connection features

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        """A :class:`~greenpool.redis.Pipeline`: commands buffered and sent together.

        With ``transaction`` (the default) they run inside MULTI/EXEC;
        :meth:`Pipeline.watch` gives optimistic locking.  Runs on a dedicated
        connection leased for the duration.  ``shard_hint`` is ignored, as
        in redis-py.
        """
        return Pipeline(self._node, transaction=transaction)

    def pubsub(self, **kwargs: Any) -> PubSub:
        """A :class:`~greenpool.redis.PubSub` on a connection of its own.

        Takes redis-py's keyword arguments: ``ignore_subscribe_messages``,
        ``push_handler_func`` (RESP3: each message passes through it first),
        and ``shard_hint``, ``encoder``, ``event_dispatcher`` (accepted and
        ignored: the client's own settings decide decoding).
        """
        return PubSub(self._node, **kwargs)

    def monitor(self) -> Monitor:
        """A :class:`~greenpool.redis.Monitor` streaming every command the server runs."""
        return Monitor(self._node)

    # ------------------------------------------------------------------
    # Lifecycle and introspection

    def close(self) -> None:
        """Close every connection.  Commands in flight fail with ConnectionError.

        A client dropped without ``close()`` is closed when it is collected.
        """
        self._node.close()

    def __enter__(self) -> Redis:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def node(self) -> Node:
        """The server's connections (shared, dedicated, heartbeat)."""
        return self._node

    def connections_used(self) -> dict[str, int]:
        """How many connections exist: ``shared`` (connected) and ``dedicated`` (open)."""
        return self._node.connections_used()

    @property
    def shared_pool(self) -> MultiplexPool:
        """The multiplexed pool of shared connections."""
        return self._node.shared_pool

    @property
    def dedicated_pool(self) -> Pool[Connection]:
        """The checkout pool of dedicated connections."""
        return self._node.dedicated_pool
