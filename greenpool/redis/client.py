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

import copy
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from functools import partial
from typing import Any

import gevent

from .._util import check_bool, check_int
from ..errors import ConfigurationError, ConnectionError, NoConnectionAvailable, TimeoutError
from ..pool.checkout import Pool
from ..pool.multiplex import MultiplexPool
from ..protocol.resp import encode_command
from ..transport.connection import Connection
from . import _execute
from ._encoder import Encoder
from ._route import BLOCKING, EVERY, REFUSE, ROUTES, UNSEEN, Route, refusal, resolve
from .commands import Commands
from .commands._replies import ok, to_text
from .commands._reply_modes import Reshape, command_names, first_of, reshaped, reshapes
from .exceptions import FAILED_REPLIES, MaxConnectionsError, WatchError
from .keyspace import KeyspaceNotifications
from .lock import Lock
from .node import Locator, Node
from .pipeline import Pipeline
from .pubsub import Monitor, PubSub
from .settings import RedisSettings, check_as_greenpool_does, parse_url

__all__ = ["Redis"]


class Redis(Commands):
    """A Redis client for greenlets; redis-py's method names, arguments and return types.

    Connection: ``host``/``port`` or ``unix_socket_path``; ``db``;
    ``username``/``password`` (ACL or ``requirepass``); ``protocol`` 2 or 3
    (``HELLO 3``); ``client_name`` (``CLIENT SETNAME``); TLS with ``ssl=True``
    (verification on; ``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_ca_data`` (CA
    certificates inline), ``ssl_certfile``, ``ssl_keyfile``,
    ``ssl_cert_reqs``, ``ssl_check_hostname``, ``ssl_server_hostname``,
    ``ssl_ciphers``, ``ssl_min_version`` (an ``ssl.TLSVersion``),
    ``ssl_include_verify_flags``/``ssl_exclude_verify_flags`` (lists of
    ``ssl.VerifyFlags``)) or
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

    ``retry``: a :class:`greenpool.redis.retry.Retry` (or redis-py's) to run
    every command through (see :meth:`set_retry`; None, the default, resends
    nothing).  With a ``retry``, redis-py's ``retry_on_error`` (a list of
    exception classes) and ``retry_on_timeout=True`` add to the errors it
    retries (on a copy of it, as redis-py's connections do).

    With ``connect_now`` the shared connections connect here and a
    :class:`~greenpool.ConnectionError` is raised if none can; otherwise
    the first command connects.

    ``locator`` (a :class:`~greenpool.redis.node.Locator`) is asked where the
    server is before each connect, instead of ``host``/``port``:
    :meth:`Sentinel.master_for <greenpool.redis.Sentinel.master_for>` passes
    one.

    Reply shapes: ``protocol`` (None, 2 or 3) and ``legacy_responses``
    choose them as redis-py 8.1's do: RESP2's shapes by default or with
    ``protocol=2``; redis-py's RESP3 shapes (mostly the replies as sent)
    with ``protocol=3``; its "unified" shapes with
    ``legacy_responses=False`` (RESP3 on the wire unless ``protocol=2``).
    Chosen once, here; the default mode costs nothing per command.

    redis-py's ``socket_keepalive=True``, and without a ``retry``
    ``retry_on_timeout=False`` and ``retry_on_error=[]``, ask for what
    greenpool does anyway and are accepted; their other values raise
    :class:`~greenpool.ConfigurationError` saying why.  ``socket_read_size``
    (an int >= 1) is accepted and has no effect: greenpool sizes its reads
    itself.  ``socket_keepalive_options``, as redis-py's, sets TCP options on
    each TCP connection (``{socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 5,
    socket.TCP_KEEPCNT: 3}`` finds a vanished server in about 45 s); None,
    the default, leaves the system's.

    redis-py's arguments for what greenpool does not do are accepted with
    their "off" value (as code passes them on from its configuration), and
    refused otherwise, saying why and what to use: ``single_connection_client``
    (False), ``lib_name``, ``lib_version``, ``driver_info`` (None: greenpool
    sends no CLIENT SETINFO at connect), ``event_dispatcher``, ``cache``,
    ``cache_config``, ``redis_connect_func``, ``maint_notifications_config``,
    ``oss_cluster_maint_notifications_handler`` (None), and the OCSP options (``ssl_validate_ocsp``,
    ``ssl_validate_ocsp_stapled``: False; ``ssl_ocsp_context``,
    ``ssl_ocsp_expected_cert``: None).

    ``credential_provider``: redis-py's, any object whose
    ``get_credentials()`` gives ``(password,)`` or ``(username, password)``
    (a :class:`UsernamePasswordCredentialProvider`, redis-py's own, a
    provider of short-lived tokens): asked at every connect, so a
    reconnection uses the credentials of the moment; not with ``username``
    or ``password``.  A provider that fails or gives anything else fails
    the connect with :class:`~greenpool.redis.AuthenticationError` (which
    names the provider's exception class, never its text: it may hold a
    secret), raised to the caller as the cause of a ConnectionError, as a
    refused password is.

    ``connection_pool``: redis-py's way of sharing connections between
    clients, a :class:`ConnectionPool` (or any
    :class:`~greenpool.redis.Node`); the client then uses its settings and
    connections, the other connection arguments are ignored (as redis-py
    ignores them), and :meth:`close` leaves the pool open.

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
        protocol: int | None = None,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = 10.0,
        client_name: str | None = None,
        ssl: bool = False,
        ssl_context: Any = None,
        ssl_ca_certs: str | None = None,
        ssl_ca_path: str | None = None,
        ssl_ca_data: str | bytes | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_password: str | None = None,
        ssl_cert_reqs: str | int = "required",
        ssl_check_hostname: bool = True,
        ssl_server_hostname: str | None = None,
        ssl_ciphers: str | None = None,
        ssl_min_version: Any = None,
        ssl_include_verify_flags: list[Any] | None = None,
        ssl_exclude_verify_flags: list[Any] | None = None,
        pool_size: int = 2,
        max_connections: int = 50,
        pool_timeout: float | None = 20.0,
        health_check_interval: float = 30.0,
        connect_now: bool = False,
        retry: Any = None,
        locator: Locator | None = None,
        socket_keepalive: bool = True,
        socket_keepalive_options: Mapping[int, int] | None = None,
        retry_on_timeout: bool = False,
        retry_on_error: list[Any] | None = None,
        legacy_responses: bool = True,
        socket_read_size: int | None = None,
        connection_pool: Node | None = None,
        credential_provider: Any = None,
        single_connection_client: bool = False,
        lib_name: str | None = None,
        lib_version: str | None = None,
        driver_info: Any = None,
        event_dispatcher: Any = None,
        cache: Any = None,
        cache_config: Any = None,
        redis_connect_func: Any = None,
        ssl_validate_ocsp: bool = False,
        ssl_validate_ocsp_stapled: bool = False,
        ssl_ocsp_context: Any = None,
        ssl_ocsp_expected_cert: Any = None,
        maint_notifications_config: Any = None,
        oss_cluster_maint_notifications_handler: Any = None,
    ) -> None:
        for name, value in (
            ("single_connection_client", single_connection_client), ("lib_name", lib_name),
            ("lib_version", lib_version), ("driver_info", driver_info),
            ("event_dispatcher", event_dispatcher), ("cache", cache),
            ("cache_config", cache_config), ("redis_connect_func", redis_connect_func),
            ("ssl_validate_ocsp", ssl_validate_ocsp),
            ("ssl_validate_ocsp_stapled", ssl_validate_ocsp_stapled),
            ("ssl_ocsp_context", ssl_ocsp_context),
            ("ssl_ocsp_expected_cert", ssl_ocsp_expected_cert),
            ("maint_notifications_config", maint_notifications_config),
            ("oss_cluster_maint_notifications_handler", oss_cluster_maint_notifications_handler),
        ):
            check_as_greenpool_does(name, value)
        if connection_pool is not None:
            # redis-py's Redis(connection_pool=pool): the pool's settings, not
            # these; the pool is shared, so close() leaves it open.
            self._attach(_as_node(connection_pool))
            self._owns_node = False
            if retry is not None:
                self.set_retry(retry)
            return
        self._owns_node = True
        check_as_greenpool_does("socket_keepalive", socket_keepalive)
        retry = _retrying_also(retry, retry_on_timeout, retry_on_error)
        # redis-py's read buffer size: checked, then dropped (greenpool's
        # reader sizes its reads itself), as in a URL.
        check_int("socket_read_size", socket_read_size, minimum=1, allow_none=True)
        self.settings = RedisSettings.build(
            host=host, port=port, unix_socket_path=unix_socket_path, db=db, username=username,
            password=password, protocol=protocol, legacy_responses=legacy_responses,
            client_name=client_name,
            socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout,
            decode_responses=decode_responses, encoding=encoding,
            encoding_errors=encoding_errors, ssl=ssl, ssl_context=ssl_context,
            ssl_ca_certs=ssl_ca_certs, ssl_ca_path=ssl_ca_path, ssl_ca_data=ssl_ca_data,
            ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
            ssl_password=ssl_password, ssl_cert_reqs=ssl_cert_reqs,
            ssl_check_hostname=ssl_check_hostname, ssl_server_hostname=ssl_server_hostname,
            ssl_ciphers=ssl_ciphers, ssl_min_version=ssl_min_version,
            ssl_include_verify_flags=ssl_include_verify_flags,
            ssl_exclude_verify_flags=ssl_exclude_verify_flags,
            credential_provider=credential_provider,
            socket_keepalive_options=socket_keepalive_options,
        )
        self.settings.locator = locator
        self._attach(Node(
            self.settings, pool_size=pool_size, max_connections=max_connections,
            pool_timeout=pool_timeout, health_check_interval=health_check_interval,
        ))
        if retry is not None:
            self.set_retry(retry)
        if check_bool("connect_now", connect_now):
            self._node.shared_connection()

    def _attach(self, node: Node) -> None:
        self._node = node
        self.settings = node.settings
        self.protocol = node.settings.protocol
        self.decode_responses = node.settings.decode_responses
        self._callbacks: dict[str, Callable[..., Any]] = {}
        self._retry: Any = None
        # The reply shapes of the client's mode, chosen once (None: the methods' own).
        self._reshapes = reshapes(node.settings.user_protocol, node.settings.legacy_responses)
        self._rewire()
        # The hot path's one call: the least loaded shared connection (IndexError
        # when none is connected).
        self._least_loaded = self._node.shared_pool.get_least_loaded_connection

    @classmethod
    def from_pool(cls, connection_pool: Node) -> Redis:
        """A client over an existing :class:`~greenpool.redis.node.Node` (redis-py's
        ``from_pool``: the client owns it and closes it with :meth:`close`).

        Anything but a Node (a redis-py ``ConnectionPool``) raises
        :class:`~greenpool.ConfigurationError`.  Made through ``cls``'s
        constructor (``cls(connection_pool=...)``), as redis-py's is, so a
        subclass's own ``__init__`` runs.
        """
        client = cls(connection_pool=_as_node(connection_pool))
        client._owns_node = True
        return client

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

    def _rewire(self) -> None:
        # Plain execute_command (the hot path untouched) unless the mode's shapes, a
        # callback or a retry apply: then the instance's execute_command is _wired
        # (holding the client weakly, so that a dropped client is still collected).
        if self._reshapes or self._callbacks or self._retry is not None:
            wired = partial(
                _wired, weakref.proxy(self), self._reshapes, self._callbacks, self._retry
            )
            self.execute_command = wired  # type: ignore[method-assign]
        else:
            self.__dict__.pop("execute_command", None)

    def set_response_callback(self, command: str, callback: Callable[..., Any]) -> None:
        """Shape ``command``'s replies with ``callback(reply, **options)`` instead of the
        method's own shape (redis-py's response callbacks).

        ``command`` is the name as redis-py spells it: ``"GET"``, or with its
        subcommand, ``"CLIENT LIST"``.  The callback gets the reply as it
        comes (``str`` when decoding) and, as keyword arguments, the options
        the method passed on (usually none: redis-py's methods pass some of
        their arguments, ``withscores`` say, which greenpool's shape
        themselves); an error reply still raises.  It applies to this client's commands and
        to its pipelines.
        """
        if not isinstance(command, str) or not command.strip():
            raise ConfigurationError("command", command, "must be a command name")
        if not callable(callback):
            raise ConfigurationError("callback", callback, "must be callable")
        self._callbacks[_command_name(command)] = callback
        self._rewire()

    @property
    def response_callbacks(self) -> MutableMapping[str, Callable[..., Any]]:
        """The callbacks set on this client, by command name, as a dict-like view.

        ``r.response_callbacks["GET"] = func`` is :meth:`set_response_callback`
        (the same checks); ``del`` removes one (the method's own shape comes
        back); names match in any case and spacing (``"client list"`` is
        ``"CLIENT LIST"``).  Unlike redis-py's, it holds only the callbacks
        set on this client: greenpool's methods shape their replies
        themselves, so there is no built-in callback to read or wrap.
        """
        return _ResponseCallbacks(self)

    def get_retry(self) -> Any:
        """The retry set with :meth:`set_retry`, or None (the default: greenpool never
        sends a command twice on its own, since a command whose connection broke
        may have run)."""
        return self._retry

    def set_retry(self, retry: Any) -> None:
        """Retry failed commands with ``retry``: a :class:`greenpool.redis.retry.Retry`
        (with any :mod:`greenpool.redis.backoff` object), redis-py's
        ``redis.retry.Retry``, or anything with ``call_with_retry(do, fail)``.

        Each command is then run through ``retry.call_with_retry``, which
        retries on the errors it supports after its backoff; greenpool's
        :class:`~greenpool.ConnectionError` and :class:`~greenpool.TimeoutError`
        are added to them (``update_supported_errors``).  greenpool's Retry
        waits with ``gevent.sleep``; redis-py's with ``time.sleep``, which
        lets other greenlets run only under gevent's monkey-patching (without
        it use its ``NoBackoff``).  None turns retrying off.  A retried
        command may run twice.  Pipelines, pub/sub and MONITOR are not
        retried.
        """
        self._retry = _execute.checked_retry(retry, [ConnectionError, TimeoutError])
        self._rewire()

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
        try:
            with self._node.dedicated_pool.connection() as conn:
                reply = conn.request(payload, timeout=wait)
        except NoConnectionAvailable as exc:
            raise MaxConnectionsError(str(exc)) from None
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
        pipe = Pipeline(self._node, transaction=transaction)
        if self._reshapes or self._callbacks:
            wired = partial(_wired, weakref.proxy(pipe), self._reshapes, self._callbacks, None)
            pipe.execute_command = wired  # type: ignore[method-assign]
        return pipe

    def transaction(
        self, func: Callable[[Pipeline], Any], *watches: Any, **kwargs: Any
    ) -> Any:
        """Run ``func(pipe)`` and the transaction it buffers, again until no watched key
        changed under it; return EXEC's results (``func``'s value with
        ``value_from_callable=True``).

        ``watches`` are WATCHed first, so ``func`` reads them at once (the
        pipeline is in immediate mode until ``func`` calls ``pipe.multi()``).
        A :class:`~greenpool.redis.exceptions.WatchError` starts over, after
        ``watch_delay`` seconds (sleeping greenly) if given.  Keyword
        arguments: ``shard_hint`` (ignored, as in redis-py),
        ``value_from_callable``, ``watch_delay``.  Blocks on the server;
        holds one dedicated connection throughout.  Whatever ``func`` raises
        (but WatchError) propagates, with the transaction discarded.
        """
        shard_hint = kwargs.pop("shard_hint", None)
        value_from_callable = kwargs.pop("value_from_callable", False)
        watch_delay = kwargs.pop("watch_delay", None)
        with self.pipeline(True, shard_hint) as pipe:
            while True:
                try:
                    if watches:
                        pipe.watch(*watches)
                    func_value = func(pipe)
                    exec_value = pipe.execute()
                    return func_value if value_from_callable else exec_value
                except WatchError:
                    if watch_delay is not None and watch_delay > 0:
                        gevent.sleep(watch_delay)

    def watch(self, *names: Any) -> None:
        """Does nothing but warn, as redis-py's does: WATCH belongs to one connection, so
        it is :meth:`Pipeline.watch <greenpool.redis.Pipeline.watch>` (or
        :meth:`transaction`).  On shared connections it would watch for every caller."""
        warnings.warn(
            DeprecationWarning("Call WATCH from a Pipeline object: r.pipeline().watch(...)"),
            stacklevel=2,
        )

    def unwatch(self) -> None:
        """Does nothing but warn, as redis-py's does: see :meth:`watch`."""
        warnings.warn(
            DeprecationWarning("Call UNWATCH from a Pipeline object: pipe.unwatch()"),
            stacklevel=2,
        )

    def lock(
        self,
        name: str,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        lock_class: Any = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> Lock:
        """A :class:`~greenpool.redis.lock.Lock` on the key ``name`` (redis-py's
        semantics; see that class).  ``lock_class`` is another class taking the
        same arguments.  Nothing is sent until it is acquired."""
        cls = Lock if lock_class is None else lock_class
        lock: Lock = cls(
            self, name, timeout=timeout, sleep=sleep, blocking=blocking,
            blocking_timeout=blocking_timeout, thread_local=thread_local,
            raise_on_release_error=raise_on_release_error,
        )
        return lock

    def pubsub(self, **kwargs: Any) -> PubSub:
        """A :class:`~greenpool.redis.PubSub` on a connection of its own.

        Takes redis-py's keyword arguments: ``ignore_subscribe_messages``,
        ``push_handler_func`` (RESP3: each message passes through it first),
        and ``shard_hint``, ``encoder``, ``event_dispatcher`` (accepted and
        ignored: the client's own settings decide decoding).
        """
        return PubSub(self._node, **kwargs)

    def client(self) -> Redis:
        """A new client with this one's connection settings and connections of its own
        (redis-py's gives a client pinned to one connection of the same pool;
        greenpool's connections are shared by design, so a separate client is what
        keeps its state apart).  Close it when done."""
        return type(self)(**self.get_connection_kwargs(), pool_size=1)

    def auth(self, password: str, username: str | None = None, **kwargs: Any) -> bool:
        """Authenticate every connection of the client; True.

        AUTH runs first on one shared connection: a wrong password raises
        :class:`~greenpool.redis.exceptions.AuthenticationError` and changes
        nothing.  Otherwise every other shared connection is authenticated
        too, the dedicated ones are replaced before their next use, and the
        credentials replace ``username``/``password`` for every connection
        opened later (reconnections too).  redis-py's authenticates the one
        pooled connection it happens to get.  A password or username that is
        not a string raises :class:`~greenpool.ConfigurationError` (the
        password masked).
        """
        if not isinstance(password, str):
            raise ConfigurationError("password", password, "must be a string")
        if username is not None and not isinstance(username, str):
            raise ConfigurationError("username", username, "must be a string or None")
        pieces = (password,) if username is None else (username, password)
        reply = self._node.set_everywhere("auth", ("AUTH", *pieces))
        return bool(_execute.result(reply, {"_parse": ok}))

    def quit(self, **kwargs: Any) -> bool:
        """QUIT on a connection of its own, closed afterwards; True.  The client's
        other connections stay as they are (redis-py's closes the one pooled
        connection it gets, which reconnects on next use)."""
        return bool(self._own_connection_result(("QUIT",), {"_parse": ok}))

    def reset(self) -> Any:
        """RESET on a connection of its own, closed afterwards; ``"RESET"``.  The
        shared connections keep their database, name and credentials.

        As redis-py's: with ``protocol=3`` the reply comes as the server sent
        it (``b"RESET"`` unless decoding), and a response callback set for
        ``RESET`` shapes it.
        """
        return self._own_connection_result(("RESET",), {"_parse": to_text})

    def _own_connection_result(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        """``args`` run on a connection of its own; the result in the client's
        mode's shape, through its response callbacks."""
        options = _shaped(self._reshapes, self._callbacks, args, options)
        return _execute.result_from_raw(self._on_own_connection(args), options, self.settings)

    def _on_own_connection(self, args: tuple[Any, ...]) -> Any:
        try:
            with self._node.dedicated_pool.connection() as conn:
                try:
                    return conn.request(_execute.encode(args))
                finally:
                    conn.close(f"{args[0]} ran on it")
        except NoConnectionAvailable as exc:
            raise MaxConnectionsError(str(exc)) from None

    def get_encoder(self) -> Encoder:
        """How this client encodes arguments and decodes replies (redis-py's ``Encoder``)."""
        return self._node.get_encoder()

    @property
    def auto_close_connection_pool(self) -> bool:
        """redis-py's flag: whether :meth:`close` closes the client's pool too.

        True for a client that made its own connections (``Redis(...)``,
        :meth:`from_url`) or was given one with :meth:`from_pool`; False
        with ``connection_pool=`` (the pool may be shared).  Setting it
        True hands the pool to the client, as redis-py's older idiom
        ``Redis(connection_pool=pool)`` then ``auto_close_connection_pool = True``
        does.
        """
        return self._owns_node

    @auto_close_connection_pool.setter
    def auto_close_connection_pool(self, value: bool) -> None:
        self._owns_node = check_bool("auto_close_connection_pool", value)

    @property
    def connection(self) -> None:
        """None, as redis-py's ``connection`` is for a client made without
        ``single_connection_client``: commands go through the client's pools."""
        return None

    @property
    def connection_pool(self) -> Node:
        """The client's :class:`~greenpool.redis.node.Node`, in the role of redis-py's
        ``connection_pool``: ``disconnect()``, ``reset()``, ``connection_kwargs``,
        ``max_connections``, ``get_encoder()`` (redis-py's connection objects,
        ``get_connection()`` and ``release()``, have no counterpart)."""
        return self._node

    def get_connection_kwargs(self) -> dict[str, Any]:
        """The connection settings as keyword arguments of :class:`Redis` (the
        credentials included; after :meth:`auth`, the new ones)."""
        return self.settings.as_kwargs()

    def get_cache(self) -> None:
        """None: client-side caching is not supported (redis-py's gives None when it
        has no cache)."""
        return None

    def keyspace_notifications(
        self, key_prefix: str | bytes | None = None, ignore_subscribe_messages: bool = True
    ) -> KeyspaceNotifications:
        """A :class:`~greenpool.redis.keyspace.KeyspaceNotifications`: keyspace and
        keyevent notifications as parsed objects, on a pub/sub connection of its own.

        ``key_prefix`` keeps only keys starting with it (and strips it);
        ``ignore_subscribe_messages`` as for :meth:`pubsub`.  The server sends
        notifications only as its ``notify-keyspace-events`` setting says.
        """
        return KeyspaceNotifications(
            self, key_prefix=key_prefix, ignore_subscribe_messages=ignore_subscribe_messages
        )

    def monitor(self) -> Monitor:
        """A :class:`~greenpool.redis.Monitor` streaming every command the server runs."""
        return Monitor(self._node)

    # ------------------------------------------------------------------
    # Lifecycle and introspection

    def close(self) -> None:
        """Close every connection.  Commands in flight fail with ConnectionError.

        A client made with ``connection_pool=`` leaves that pool open (others
        may share it), as redis-py's does: close the pool itself with its
        ``disconnect()``.  A client dropped without ``close()`` is closed when
        it is collected.
        """
        if self._owns_node:
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
    def name(self) -> str:
        """``redis://host:port/db`` (a Sentinel client: its service's
        ``redis+sentinel://`` form): the client's name in metrics, without
        credentials."""
        return self.settings.describe()

    def stats(self) -> dict[str, int]:
        """The client's figures, psycopg_pool's key names: see :meth:`Node.stats`.

        For :mod:`greenpool.integrations.prometheus` (``register(r)``) or a
        log line.  Never blocks; safe from another thread.
        """
        return self._node.stats()

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters start again from zero.  Call it
        from the client's own thread."""
        return self._node.pop_stats()

    @property
    def shared_pool(self) -> MultiplexPool:
        """The multiplexed pool of shared connections."""
        return self._node.shared_pool

    @property
    def dedicated_pool(self) -> Pool[Connection]:
        """The checkout pool of dedicated connections."""
        return self._node.dedicated_pool


def _command_name(command: str) -> str:
    """A command's name as response callbacks are keyed: upper case, single spaces."""
    return " ".join(command.upper().split())


class _ResponseCallbacks(MutableMapping[str, Callable[..., Any]]):
    """:attr:`Redis.response_callbacks`: a live view of one client's callbacks."""

    __slots__ = ("_client",)

    def __init__(self, client: Redis) -> None:
        self._client = client

    @staticmethod
    def _key(command: object) -> str:
        if not isinstance(command, str):
            raise KeyError(command)
        return _command_name(command)

    def __getitem__(self, command: str) -> Callable[..., Any]:
        return self._client._callbacks[self._key(command)]

    def __setitem__(self, command: str, callback: Callable[..., Any]) -> None:
        self._client.set_response_callback(command, callback)

    def __delitem__(self, command: str) -> None:
        del self._client._callbacks[self._key(command)]
        self._client._rewire()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._client._callbacks))

    def __len__(self) -> int:
        return len(self._client._callbacks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client._callbacks!r})"


def _shaped(shapes: Mapping[str, Reshape] | None, callbacks: Mapping[str, Callable[..., Any]],
            args: tuple[Any, ...], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the ``_parse`` of the client's mode (``shapes``) and of
    its response callback for the command ``args`` names, if any."""
    if args and (shapes or callbacks):
        names = command_names(args)
        if shapes:
            options = reshaped(shapes, names, options)
        if callbacks:
            callback = first_of(callbacks, names)
            if callback is not None:
                given = {k: v for k, v in options.items()
                         if not k.startswith("_") and k != "never_decode"}
                options = {**options, "_parse": lambda reply: callback(reply, **given)}
    return options


def _wired(target: Any, shapes: dict[str, Reshape] | None,
           callbacks: dict[str, Callable[..., Any]], retry: Any,
           *args: Any, **options: Any) -> Any:
    """``target``'s own execute_command, with the mode's shapes, the response
    callbacks and the retry."""
    options = _shaped(shapes, callbacks, args, options)
    execute = target.__class__.execute_command
    if retry is None:
        return execute(target, *args, **options)
    return retry.call_with_retry(lambda: execute(target, *args, **options), lambda error: None)


def _retrying_also(retry: Any, retry_on_timeout: Any, retry_on_error: Any) -> Any:
    """``retry``, made to retry ``retry_on_error``'s classes too (and TimeoutError with
    ``retry_on_timeout``), as redis-py's connections do: a copy when any are added,
    so a Retry shared between clients is left as it was.

    Without a ``retry`` they ask greenpool to resend commands on its own, which it
    does not do: only their "do nothing" values pass.  Raises ConfigurationError
    naming the argument.
    """
    if retry is None:
        check_as_greenpool_does("retry_on_timeout", retry_on_timeout)
        check_as_greenpool_does("retry_on_error", retry_on_error)
        return None
    errors: list[type[BaseException]] = []
    if retry_on_error is not None:
        if not isinstance(retry_on_error, (list, tuple)) or not all(
                isinstance(cls, type) and issubclass(cls, BaseException)
                for cls in retry_on_error):
            raise ConfigurationError("retry_on_error", retry_on_error,
                                     "must be a list of exception classes")
        errors.extend(retry_on_error)
    if check_bool("retry_on_timeout", retry_on_timeout):
        errors.append(TimeoutError)
    if not errors:
        return retry
    if not callable(getattr(retry, "update_supported_errors", None)):
        raise ConfigurationError(
            "retry_on_error", retry_on_error,
            "needs a retry with update_supported_errors() (greenpool.redis.retry.Retry)",
        )
    retry = copy.deepcopy(retry)
    retry.update_supported_errors(errors)
    return retry


def _as_node(connection_pool: Any) -> Node:
    if not isinstance(connection_pool, Node):
        raise ConfigurationError(
            "connection_pool", connection_pool,
            "must be a greenpool.redis.Node, such as greenpool.redis.ConnectionPool(...) "
            "makes (a redis-py pool can't carry greenpool's connections)",
        )
    return connection_pool


class ConnectionPool(Node):
    """redis-py's ``ConnectionPool``, for code that builds one and passes it on:
    ``Redis(connection_pool=ConnectionPool(host=..., max_connections=...))``.

    It is a :class:`~greenpool.redis.Node`: ``pool_size`` shared connections
    that every command of every client using it shares, and up to
    ``max_connections`` dedicated ones for pipelines, transactions and
    blocking commands, waited for up to ``pool_timeout`` seconds (20 by
    default) when all are in use.  The other keyword arguments are
    :class:`Redis`'s connection settings (``host``, ``port``, ``db``,
    ``password``, ``socket_timeout``, ``ssl`` ...).  redis-py's
    ``connection_class`` is accepted only as None: for TLS pass ``ssl=True``
    (or a ``rediss://`` URL), for a Unix socket ``unix_socket_path``.
    Several clients may share one; closing a client leaves it open, and its
    ``disconnect()`` closes every connection.  Bad arguments raise
    :class:`~greenpool.ConfigurationError`.
    """

    _timeout_name = "pool_timeout"

    def __init__(
        self,
        connection_class: Any = None,
        max_connections: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        if connection_class is not None:
            raise ConfigurationError(
                "connection_class", connection_class,
                "is redis-py's; greenpool makes its own connections (ssl=True for TLS, "
                "unix_socket_path for a Unix socket)",
            )
        node_kwargs: dict[str, Any] = {}
        for key in ("pool_size", "pool_timeout", "health_check_interval"):
            if key in connection_kwargs:
                node_kwargs[key] = connection_kwargs.pop(key)
        timeout_name = self._timeout_name
        if timeout_name != "pool_timeout" and timeout_name in connection_kwargs:
            node_kwargs["pool_timeout"] = connection_kwargs.pop(timeout_name)
        for client_only in ("connect_now", "retry", "connection_pool"):
            if client_only in connection_kwargs:
                raise ConfigurationError(
                    client_only, connection_kwargs[client_only],
                    "is an argument of Redis(), not of a connection pool",
                )
        if max_connections is not None:
            node_kwargs["max_connections"] = max_connections
        # Redis() checks and builds the settings; its node is dropped unused
        # (nothing connects before the first command).
        try:
            probe = Redis(**connection_kwargs)
        except TypeError as exc:
            raise ConfigurationError(
                "connection_kwargs", sorted(connection_kwargs), f"not a Redis() argument: {exc}"
            ) from None
        probe.close()
        super().__init__(probe.settings, **node_kwargs)
        self._wait: float | None = node_kwargs.get("pool_timeout", 20.0)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ConnectionPool:
        """A pool from ``redis://[[user]:password@]host[:port][/db][?options]``,
        ``rediss://...`` or ``unix:///path?db=N`` (see :meth:`Redis.from_url`);
        ``kwargs`` override the URL."""
        options = parse_url(url)
        options.update(kwargs)
        return cls(**options)


class BlockingConnectionPool(ConnectionPool):
    """redis-py's ``BlockingConnectionPool``: a :class:`ConnectionPool` whose
    ``timeout`` (seconds, 20 by default; None: for ever) is how long a caller
    waits for a dedicated connection when ``max_connections`` are in use
    (greenpool's pools always wait so; redis-py's plain pool raises at once).
    """

    _timeout_name = "timeout"

    @property
    def timeout(self) -> float | None:
        """How long a caller waits for a dedicated connection (redis-py's
        ``timeout``): seconds, or None for ever."""
        return self._wait
