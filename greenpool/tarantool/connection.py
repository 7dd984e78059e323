"""``greenpool.tarantool.Connection``: one IPROTO connection shared by any number of greenlets.

Built on the green :class:`~greenpool.transport.connection.Connection`
with *keyed* matching: every request carries a fresh ``sync`` id and its
reply is handed to whichever greenlet sent it, in whatever order replies
come back.  Requests from greenlets that run in the same hub iteration go
out in one write.  A request that times out, is killed or is interrupted
by a ``gevent.Timeout`` abandons only its own sync id: its late reply is
dropped and the connection stays usable for everyone else.

Names of spaces and indexes resolve through the schema, loaded when the
connection opens (``_vspace`` and ``_vindex``).  Requests built from names
carry the schema version; when the server answers that the schema changed
(error 109) the schema is loaded again and the request is sent once more.
A reply that shows a newer schema version for any other request triggers
a reload in the background.

Every request has a deadline: ``socket_timeout`` bounds the wait for a
reply, and ``deadline`` (60 s unless set) bounds everything, reconnecting
included, so nothing waits forever.

Reconnecting follows tarantool-python: a request that finds the
connection down tries to connect again, up to ``reconnect_max_attempts``
more times, waiting ``reconnect_delay`` before the first retry and twice as
long before each next one (up to 1 s; ``reconnect_backoff=1`` keeps it
constant), all within the request's deadline.  Concurrent requests share
one connection attempt.  Failing that they raise :class:`NetworkError`
with ``sent=False``.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from time import monotonic
from typing import Any

import gevent
from gevent.event import AsyncResult

from .._backoff import Backoff
from .._fork import register
from .._stats import ConnectionCounters, RequestCounters
from .._util import call_listener, check_bool, check_float, check_int
from ..errors import ConfigurationError, ProtocolError
from ..errors import ConnectionError as _TransportError
from ..errors import TimeoutError as _TransportTimeout
from ..protocol import iproto
from ..protocol.iproto import (
    ER_WRONG_SCHEMA_VERSION,
    GREETING_KEY,
    DatabaseError,
    GreetingMessage,
    IprotoCodec,
    IteratorType,
    Schema,
    SchemaError,
    encode_auth,
    encode_insert,
    encode_replace,
    encode_vindex_select,
    encode_vspace_select,
)
from ..transport.connection import CONNECTED
from ..transport.connection import Connection as _Transport
from ._requests import (
    Build,
    Names,
    build_call,
    build_delete,
    build_eval,
    build_execute,
    build_ping,
    build_select,
    build_store,
    build_update,
    build_upsert,
    call_args,
    default_iterator,
)
from .crud import CrudMixin
from .errors import NetworkError, NetworkTimeoutError
from .response import Response
from .settings import SSL_TRANSPORT, Endpoint, endpoint_from_addr
from .url import POOL_ONLY_OPTIONS, parse_url

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_DEADLINE", "Connection", "OnPush"]

log = logging.getLogger("greenpool.tarantool")

#: The bound on any one request (reconnecting included) when none is given.
DEFAULT_DEADLINE = 60.0
#: The bound on connecting (TCP, TLS, greeting, auth, schema) when none is given.
DEFAULT_CONNECT_TIMEOUT = 10.0
_MAX_RECONNECT_DELAY = 1.0
_SCHEMA_RETRIES = 3
_U32_MAX = 0xFFFF_FFFF

#: ``on_push(data, on_push_ctx)`` receives each ``box.session.push`` message.
OnPush = Callable[[Any, Any], Any]


class Connection(CrudMixin):
    """A connection to one Tarantool instance, shared by any number of greenlets.

    ``host``/``port`` (``host=None`` and a path as ``port`` for a unix
    socket); ``user``/``password`` authenticate with ``chap-sha1`` (no
    user: guest).  ``socket_timeout`` bounds the wait for each reply (None:
    only the deadline does); ``connection_timeout`` bounds connecting
    (None: 10 s); ``deadline`` bounds a whole request, reconnecting
    included.  ``reconnect_max_attempts``, ``reconnect_delay`` and
    ``reconnect_backoff``: see the module docstring.  With ``connect_now``
    (the default) the constructor connects and raises
    :class:`NetworkError` if it can't; otherwise the first request
    connects.  ``fetch_schema=False`` skips loading the schema (only space
    and index ids can then be used).

    TLS: ``transport="ssl"`` and the ``ssl_*`` options as in
    tarantool-python (see :mod:`greenpool.tarantool.settings`; the server's
    certificate is verified by default), or ``ssl_context``.

    Every request method blocks the calling greenlet until the reply comes
    and returns a :class:`~greenpool.tarantool.Response`; it raises
    :class:`~greenpool.tarantool.DatabaseError` for an error reply,
    :class:`NetworkTimeoutError` past the deadline, :class:`NetworkError`
    when the instance can't be reached or the connection breaks,
    :class:`~greenpool.tarantool.SchemaError` for an unknown space or index
    name and :class:`~greenpool.ConfigurationError` for bad arguments.
    Each takes ``timeout=`` (seconds) to override the deadline once.
    """

    def __init__(
        self,
        host: str | None = "localhost",
        port: int | str = 3301,
        user: str | None = None,
        password: str | None = None,
        *,
        socket_timeout: float | None = None,
        reconnect_max_attempts: int = 10,
        reconnect_delay: float = 0.1,
        reconnect_backoff: float = 2.0,
        connect_now: bool = True,
        connection_timeout: float | None = None,
        transport: str | None = None,
        ssl_key_file: str | None = None,
        ssl_cert_file: str | None = None,
        ssl_ca_file: str | None = None,
        ssl_ciphers: str | None = None,
        ssl_password: str | None = None,
        ssl_password_file: str | None = None,
        ssl_verify: bool | None = None,
        ssl_check_hostname: bool | None = None,
        ssl_context: Any = None,
        auth_type: str | None = None,
        fetch_schema: bool = True,
        deadline: float = DEFAULT_DEADLINE,
        max_packet_size: int = iproto.DEFAULT_MAX_PACKET_SIZE,
        name: str | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        if endpoint is None:
            addr: dict[str, Any] = {"host": host, "port": port, "transport": transport,
                                    "auth_type": auth_type}
            for key, value in (
                ("ssl_key_file", ssl_key_file), ("ssl_cert_file", ssl_cert_file),
                ("ssl_ca_file", ssl_ca_file), ("ssl_ciphers", ssl_ciphers),
                ("ssl_password", ssl_password), ("ssl_password_file", ssl_password_file),
                ("ssl_verify", ssl_verify), ("ssl_check_hostname", ssl_check_hostname),
                ("ssl_context", ssl_context),
            ):
                if value is not None:
                    addr[key] = value
            if any(k.startswith("ssl_") for k in addr) and transport is None:
                addr["transport"] = SSL_TRANSPORT
            endpoint = endpoint_from_addr(addr, argument="host/port")
        elif not isinstance(endpoint, Endpoint):
            raise ConfigurationError("endpoint", endpoint, "must be an Endpoint")
        if user is not None and (not isinstance(user, str) or not user):
            raise ConfigurationError("user", user, "must be a non-empty string or None")
        if password is not None and not isinstance(password, (str, bytes)):
            raise ConfigurationError("password", "***", "must be a string or None")
        self.endpoint = endpoint
        self.user = user
        self._password = password
        self.socket_timeout = check_float(
            "socket_timeout", socket_timeout, allow_none=True, strict=True
        )
        self.connection_timeout = check_float(
            "connection_timeout", connection_timeout, allow_none=True, strict=True
        ) or DEFAULT_CONNECT_TIMEOUT
        self.deadline = check_float("deadline", deadline, strict=True) or DEFAULT_DEADLINE
        self.reconnect_max_attempts = check_int(
            "reconnect_max_attempts", reconnect_max_attempts, minimum=0
        ) or 0
        self.reconnect_delay = check_float("reconnect_delay", reconnect_delay) or 0.0
        backoff = check_float("reconnect_backoff", reconnect_backoff) or 0.0
        if backoff < 1.0:
            raise ConfigurationError("reconnect_backoff", reconnect_backoff, "must be >= 1")
        self.reconnect_backoff = backoff
        self.fetch_schema = check_bool("fetch_schema", fetch_schema)
        self._max_packet_size = check_int("max_packet_size", max_packet_size, minimum=1) or 1
        self.name = name or f"tarantool {endpoint}"
        self._names = Names(None)
        #: The server's greeting (version, UUID), once connected.
        self.greeting: iproto.Greeting | None = None
        self._codec: IprotoCodec | None = None
        self._syncs = itertools.count(1)
        self._attempt: AsyncResult | None = None
        self._attempt_glet: Any = None
        self._schema_attempt: AsyncResult | None = None
        self._close_listeners: list[Callable[[Connection, BaseException | None], Any]] = []
        # Counters (see stats()).
        self._requests = RequestCounters()
        self._connects = ConnectionCounters()
        self._is_open = False  # between the transport's open and close events
        self._closing = False  # close() is closing the transport: not a loss
        register(self)
        self._transport = _Transport(
            endpoint.address,
            codec=self._new_codec,
            matching="keyed",
            connect_timeout=self.connection_timeout,
            ssl_context=endpoint.ssl_context,
            server_hostname=endpoint.server_hostname,
            handshake=self._handshake,
            name=self.name,
        )
        self._transport.add_listener(
            on_open=self._on_transport_open, on_close=self._on_transport_close
        )
        if check_bool("connect_now", connect_now):
            self.connect()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Connection:
        """A connection from ``tarantool://[user[:password]@]host[:port][?option=value...]``.

        The form and its options are in :mod:`greenpool.tarantool.url`
        (``TARANTOOL_URL`` by convention); ``kwargs`` override the URL's.
        Connects as the constructor does.  Raises
        :class:`~greenpool.ConfigurationError`, the password masked, for a
        URL it can't read, or one with several hosts or a pool's options
        (use :meth:`ConnectionPool.from_url
        <greenpool.tarantool.ConnectionPool.from_url>`).
        """
        options = parse_url(url)
        addrs = options.pop("addrs")
        if len(addrs) != 1:
            raise ConfigurationError(
                "url", url, "names several hosts: use ConnectionPool.from_url"
            )
        pool_only = sorted(POOL_ONLY_OPTIONS & options.keys())
        if pool_only:
            raise ConfigurationError(
                "url", url, f"{pool_only[0]} is a pool's option: use ConnectionPool.from_url"
            )
        options.update(addrs[0])
        options.update(kwargs)
        return cls(**options)

    # ------------------------------------------------------------------
    # Introspection

    def __repr__(self) -> str:
        user = f" user={self.user!r}" if self.user else ""
        state = "connected" if self.connected else "disconnected"
        return f"<greenpool.tarantool.Connection {self.endpoint}{user} {state} load={self.load}>"

    @property
    def connected(self) -> bool:
        """True while the connection is open (greeting, auth and schema done)."""
        return self._transport.state == CONNECTED

    def is_closed(self) -> bool:
        """True when the connection is not open (never connected, closed, or broken)."""
        return self._transport.state != CONNECTED

    @property
    def load(self) -> int:
        """Requests in flight on this connection (sent or queued, reply not yet read)."""
        return self._transport.pending

    @property
    def schema(self) -> Schema | None:
        """The schema (names of spaces and indexes), or None before connecting
        or with ``fetch_schema=False``."""
        return self._names.schema

    @schema.setter
    def schema(self, schema: Schema | None) -> None:
        self._names = Names(schema)

    @property
    def schema_version(self) -> int | None:
        """The version of the loaded schema, or None."""
        return self._names.version

    @property
    def version_info(self) -> tuple[int, int, int] | None:
        """The server's version (major, minor, patch) from its greeting, or None."""
        return self.greeting.version_info if self.greeting is not None else None

    def add_close_listener(
        self, listener: Callable[[Connection, BaseException | None], Any]
    ) -> None:
        """Call ``listener(connection, cause)`` whenever the open connection closes.

        It runs in whichever greenlet (or the hub) saw the connection break;
        an exception from it is logged and ignored.
        """
        self._close_listeners.append(listener)

    def stats(self) -> dict[str, int]:
        """Counters since the connection was made (or the last :meth:`pop_stats`), and gauges.

        Gauges: ``connections`` (1 while connected, else 0),
        ``requests_pending`` (in flight, as :attr:`load`).  Counters:
        ``requests_num`` (requests made, each retry after a schema change
        counted once), ``requests_errors`` (requests that raised, whatever
        the reason), ``requests_timeouts`` (of those, the deadline passed or
        the caller's own ``gevent.Timeout`` fired), ``requests_error_replies``
        (of those, the server answered with an error),
        ``connections_num`` (connects that succeeded),
        ``connections_errors`` (connects that failed),
        ``connections_lost`` (the open connection broke; :meth:`close` does
        not count), ``reconnects`` (connects after the first).  Never
        blocks; safe from another thread.
        """
        return self._stats(reset=False)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters start again from zero (psycopg_pool's semantics)."""
        return self._stats(reset=True)

    def _stats(self, reset: bool) -> dict[str, int]:
        return {
            "connections": 1 if self._transport.state == CONNECTED else 0,
            "requests_pending": self._transport.pending,
            **self._requests.read(reset),
            **self._connects.read(reset),
        }

    def _on_transport_open(self, _transport: _Transport) -> None:
        self._is_open = True
        self._connects.opened()

    def _on_transport_close(self, _transport: _Transport, cause: BaseException | None) -> None:
        if self._is_open:
            self._is_open = False
            if not self._closing:
                self._connects.lost += 1
        for listener in list(self._close_listeners):
            call_listener(log, listener, self, cause)

    # ------------------------------------------------------------------
    # Connecting

    def _new_codec(self) -> IprotoCodec:
        codec = IprotoCodec(self._max_packet_size)
        self._codec = codec
        return codec

    def _handshake(self, transport: _Transport) -> None:
        codec = self._codec
        assert codec is not None
        greeting = codec.greeting
        if greeting is None:
            message = transport.request(b"", key=GREETING_KEY)
            assert isinstance(message, GreetingMessage)
            greeting = message.greeting
        self.greeting = greeting
        if self.user is not None and (self.user != "guest" or self._password):
            sync = next(self._syncs)
            reply = transport.request(
                encode_auth(sync, self.user, self._password or "", greeting.salt), key=sync
            )
            if reply.error is not None:
                raise _HandshakeFailed(
                    f"{self.name}: authentication as {self.user!r} failed: {reply.error}"
                ) from reply.error
        if self.fetch_schema:
            self.schema = self._load_schema(transport)
        else:
            self.schema = None

    def _load_schema(self, transport: _Transport, timeout: float | None = None) -> Schema:
        for _ in range(5):
            s1, s2 = next(self._syncs), next(self._syncs)
            # Both selects leave in one write; their replies come back together.
            second = gevent.spawn(transport.request, encode_vindex_select(s2), key=s2,
                                  timeout=timeout)
            try:
                vspace = transport.request(encode_vspace_select(s1), key=s1, timeout=timeout)
                vindex = second.get()
            finally:
                second.kill(block=False)
            try:
                return Schema.from_responses(vspace, vindex)
            except ProtocolError:
                if vspace.schema_version == vindex.schema_version:
                    raise
        raise ProtocolError(f"{self.name}: the schema kept changing while it was loaded")

    def connect(self, timeout: float | None = None) -> None:
        """Connect now (TCP, TLS, greeting, auth, schema) unless already connected.

        Blocks up to ``timeout`` (default ``connection_timeout``).  One
        attempt: concurrent callers share it.  Raises :class:`NetworkError`
        (``sent=False``, cause chained) when it fails, including a refused
        login.
        """
        if self._transport.state == CONNECTED:
            return
        attempt = self._attempt
        if attempt is None:
            attempt = self._attempt = AsyncResult()
            self._attempt_glet = gevent.spawn(self._connect_once, attempt)
        wait = self.connection_timeout if timeout is None else timeout
        # wait(), not get(timeout): a gevent.Timeout of the caller's own must pass through.
        attempt.wait(wait)
        if not attempt.ready():
            raise NetworkTimeoutError(
                f"{self.name}: not connected within {wait}s", str(self.endpoint), sent=False
            )
        error = attempt.exception
        if error is not None:
            # A fresh exception per waiter: concurrent callers share the attempt.
            if isinstance(error, NetworkError):
                raise NetworkError(str(error), error.address, sent=False) from error.__cause__
            raise error

    def _connect_once(self, attempt: AsyncResult) -> None:
        try:
            self._transport.connect()
        except BaseException as exc:
            self._connects.errors += 1
            if isinstance(exc, gevent.GreenletExit):
                error: BaseException = NetworkError(
                    f"{self.name}: connecting was cancelled", str(self.endpoint), sent=False
                )
            else:
                error = self._connect_error(exc)
            if self._attempt is attempt:
                self._attempt = None
            attempt.set_exception(error)
            if not isinstance(exc, Exception):
                raise
            return
        if self._attempt is attempt:
            self._attempt = None
        attempt.set(True)

    def _connect_error(self, exc: BaseException) -> NetworkError:
        cause: BaseException | None = exc
        text = str(exc)
        while isinstance(cause, _TransportError) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, _HandshakeFailed):
            text = str(cause)
        error = NetworkError(
            text if text.startswith(self.name) else f"{self.name}: {text}",
            str(self.endpoint),
            sent=False,
        )
        error.__cause__ = exc
        return error

    def close(self) -> None:
        """Close the connection; requests in flight fail with :class:`NetworkError`.

        Never blocks.  A later request (or :meth:`connect`) connects again,
        as in tarantool-python.
        """
        glet, self._attempt_glet = self._attempt_glet, None
        if glet is not None and not glet.dead:
            glet.kill(block=False)
        self._closing = True
        try:
            self._transport.close("closed by the application")
        finally:
            self._closing = False

    def abort(self, cause: BaseException) -> None:
        """Close the connection as broken: requests in flight fail with
        :class:`NetworkError` chaining ``cause``, and it counts as lost in the
        stats.  Never blocks; a later request connects again.
        """
        self._transport.close(cause)

    def _forget_inherited(self) -> None:
        """In a child after fork(): forget the attempts under way (see :mod:`greenpool._fork`).

        The transport severed its socket itself.  The connect and schema
        attempts belong to the parent's copies of their greenlets: the
        child starts its own on first use.
        """
        self._attempt = None
        self._attempt_glet = None
        self._schema_attempt = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _reconnect(self, deadline: float) -> None:
        """Make the connection usable for a request, per the reconnect settings."""
        last: NetworkError | None = None
        # reconnect_delay growing by reconnect_backoff up to 1 s (or reconnect_delay,
        # if longer); a little jitter spreads concurrent clients' retries.
        backoff = Backoff(base=self.reconnect_delay, factor=self.reconnect_backoff,
                          cap=max(_MAX_RECONNECT_DELAY, self.reconnect_delay), jitter=0.2)
        for attempt in range(self.reconnect_max_attempts + 1):
            remaining = deadline - monotonic()
            if attempt:
                backoff = backoff.increment()
                if remaining <= backoff.ceiling():
                    break
                gevent.sleep(backoff.delay())
                remaining = deadline - monotonic()
            if remaining <= 0:
                break
            try:
                self.connect(timeout=min(remaining, self.connection_timeout))
                return
            except NetworkError as exc:
                last = exc
        if last is None:
            raise NetworkTimeoutError(
                f"{self.name}: not connected and no time left to connect",
                str(self.endpoint), sent=False,
            )
        raise last

    # ------------------------------------------------------------------
    # Sending

    def perform(
        self,
        build: Build,
        args: tuple[Any, ...],
        timeout: float | None = None,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        verify: bool = False,
        deadline: float | None = None,
    ) -> Response:
        """Send one request built by ``build(names, sync, args)`` and return its Response.

        The one request path: the public methods and
        :class:`~greenpool.tarantool.ConnectionPool` go through it, with an
        encoder from :mod:`greenpool.tarantool._requests` as ``build``.

        ``timeout`` bounds the whole call (None: the ``deadline`` setting).
        The pool gives the call's absolute ``deadline`` (``monotonic()``)
        instead, with ``timeout`` set only on its first try.  ``verify``: the
        request used names but carries no schema version (a SELECT): check
        the reply's version instead.  Raises as the class docstring says.
        """
        self._requests.num += 1
        try:
            if deadline is None:
                if timeout is None:
                    timeout = self.deadline
                elif type(timeout) is not float or not timeout > 0:
                    timeout = check_request_timeout(timeout)
                deadline = monotonic() + timeout
            # The first try waits the whole ``timeout``, the same for every caller
            # (the transport's one deadline timer serves requests whose deadlines
            # come in order); a try after a reconnect or a reload waits what is left.
            wait = timeout
            transport = self._transport
            schema_retries = 0
            while True:
                if transport.state != CONNECTED:
                    self._reconnect(deadline)
                    wait = None
                names = self._names
                sync = next(self._syncs)
                try:
                    payload = build(names, sync, args)
                except SchemaError:
                    if names.schema is None or schema_retries >= _SCHEMA_RETRIES:
                        raise
                    schema_retries += 1
                    self._reload_schema(deadline)
                    wait = None
                    continue
                if wait is None:
                    wait = deadline - monotonic()
                    if wait <= 0:
                        raise NetworkTimeoutError(
                            f"{self.name}: the deadline passed before the request was sent",
                            str(self.endpoint), sent=False,
                        )
                socket_timeout = self.socket_timeout
                if socket_timeout is not None and socket_timeout < wait:
                    wait = socket_timeout
                push = None if on_push is None else functools.partial(_push, on_push, on_push_ctx)
                try:
                    reply = transport.request(payload, key=sync, timeout=wait, on_push=push)
                except _TransportTimeout:
                    raise NetworkTimeoutError(
                        f"{self.name}: no reply within {wait:.3g}s", str(self.endpoint)
                    ) from None
                except _TransportError as exc:
                    raise NetworkError(str(exc), str(self.endpoint)) from exc
                version = reply.schema_version
                if verify and version != names.version and version is not None \
                        and names.schema is not None:
                    # The names may have pointed elsewhere: drop the reply, select again.
                    if schema_retries >= _SCHEMA_RETRIES:
                        raise DatabaseError(ER_WRONG_SCHEMA_VERSION,
                                            "the schema kept changing during the request")
                    schema_retries += 1
                    self._reload_schema(deadline, newer_than=names.version)
                    wait = None
                    continue
                error = reply.error
                if error is not None:
                    if error.code == ER_WRONG_SCHEMA_VERSION and names.schema is not None \
                            and schema_retries < _SCHEMA_RETRIES:
                        schema_retries += 1
                        self._reload_schema(deadline, newer_than=names.version)
                        wait = None
                        continue
                    raise error
                if (
                    version is not None
                    and names.version is not None
                    and version > names.version
                    and self._schema_attempt is None
                    and self._names is names
                ):
                    self._start_schema_reload()
                return Response(reply)
        except BaseException as exc:
            self._requests.failed(exc)
            raise

    def _reload_schema(self, deadline: float, newer_than: int | None = None) -> None:
        if newer_than is not None and self._names.version != newer_than:
            return  # someone loaded it meanwhile
        attempt = self._schema_attempt or self._start_schema_reload()
        remaining = max(0.0, deadline - monotonic())
        attempt.wait(remaining)
        if not attempt.ready():
            raise NetworkTimeoutError(
                f"{self.name}: the schema did not load within the deadline", str(self.endpoint),
                sent=False,
            )
        attempt.get(block=False)

    def _start_schema_reload(self) -> AsyncResult:
        attempt = self._schema_attempt = AsyncResult()
        gevent.spawn(self._schema_reload, attempt)
        return attempt

    def _schema_reload(self, attempt: AsyncResult) -> None:
        try:
            if self._transport.state != CONNECTED:
                raise NetworkError(f"{self.name}: not connected", str(self.endpoint),
                                   sent=False)
            self.schema = self._load_schema(self._transport, self.connection_timeout)
            attempt.set(True)
        except _TransportTimeout as exc:
            attempt.set_exception(NetworkTimeoutError(str(exc), str(self.endpoint)))
        except _TransportError as exc:
            attempt.set_exception(NetworkError(str(exc), str(self.endpoint)))
        except BaseException as exc:
            attempt.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            if self._schema_attempt is attempt:
                self._schema_attempt = None

    def flush_schema(self) -> None:
        """Load the schema again now (blocks up to the deadline)."""
        self._reload_schema(monotonic() + self.deadline)

    # ------------------------------------------------------------------
    # Requests (tarantool-python's methods)

    def ping(self, notime: bool = False, *, timeout: float | None = None) -> float | str:
        """Send a PING; return the round trip in seconds, or ``"Success"`` with ``notime``."""
        start = monotonic()
        self.perform(build_ping, (), timeout)
        return "Success" if notime else monotonic() - start

    def select(
        self,
        space_name: str | int,
        key: Any = None,
        *,
        offset: int = 0,
        limit: int = _U32_MAX,
        index: str | int = 0,
        iterator: IteratorType | int | str | None = None,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Select tuples of ``space_name`` (name or id) by ``key`` through ``index``.

        ``key`` is a list of key parts, one part, or None (every tuple).
        ``iterator`` defaults to EQ, or ALL when the key is empty; it takes
        :class:`~greenpool.protocol.iproto.IteratorType` values, their names
        (``"GE"``) or operators (``">="``).
        """
        if iterator is None:
            iterator = default_iterator(key)
        return self.perform(
            build_select, (space_name, key, offset, limit, index, iterator), timeout,
            on_push, on_push_ctx, type(space_name) is not int or type(index) is not int,
        )

    def insert(
        self,
        space_name: str | int,
        values: Sequence[Any],
        *,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Insert the tuple ``values``; the Response holds the inserted tuple.

        A duplicate key raises DatabaseError ``ER_TUPLE_FOUND``.
        """
        return self.perform(
            build_store, (encode_insert, space_name, values),
            timeout, on_push, on_push_ctx,
        )

    def replace(
        self,
        space_name: str | int,
        values: Sequence[Any],
        *,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Insert the tuple ``values`` or replace the one with its primary key."""
        return self.perform(
            build_store, (encode_replace, space_name, values),
            timeout, on_push, on_push_ctx,
        )

    def update(
        self,
        space_name: str | int,
        key: Any,
        op_list: Sequence[Sequence[Any]],
        *,
        index: str | int = 0,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Apply ``op_list`` (``(operator, field, argument...)``) to the tuple with ``key``.

        Fields are numbers from 0 or names.  The Response holds the new
        tuple, or is empty when no tuple matched.
        """
        return self.perform(
            build_update, (space_name, key, op_list, index),
            timeout, on_push, on_push_ctx,
        )

    def upsert(
        self,
        space_name: str | int,
        tuple_value: Sequence[Any],
        op_list: Sequence[Sequence[Any]],
        *,
        index: str | int = 0,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Insert ``tuple_value``, or apply ``op_list`` to the tuple with its key.

        ``index`` is accepted for tarantool-python compatibility (the
        server always uses the primary key).  The Response is empty.
        """
        return self.perform(
            build_upsert, (space_name, tuple_value, op_list, index),
            timeout, on_push, on_push_ctx,
        )

    def delete(
        self,
        space_name: str | int,
        key: Any,
        *,
        index: str | int = 0,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Delete the tuple with ``key``; the Response holds it (or is empty)."""
        return self.perform(
            build_delete, (space_name, key, index),
            timeout, on_push, on_push_ctx,
        )

    def call(
        self,
        func_name: str,
        *args: Any,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Call the global Lua function ``func_name``; the Response holds what it returned.

        As in tarantool-python, one list or tuple argument is taken as the
        argument list.
        """
        return self.perform(
            build_call, (func_name, call_args(args)),
            timeout, on_push, on_push_ctx,
        )

    def eval(
        self,
        expr: str,
        *args: Any,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Run the Lua chunk ``expr`` (``...`` are ``args``); the Response holds its results."""
        return self.perform(
            build_eval, (expr, call_args(args)),
            timeout, on_push, on_push_ctx,
        )

    def execute(
        self,
        query: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Response:
        """Run an SQL statement with ``params`` (a list for ``?``, a dict for ``:name``).

        Queries return rows (and :attr:`Response.metadata`); other
        statements set :attr:`Response.affected_row_count` and
        :attr:`Response.autoincrement_ids`.
        """
        return self.perform(
            build_execute, (query, params),
            timeout,
        )

    def _crud_call(self, name: str, args: list[Any], mode: Any = None) -> Response:
        return self.perform(build_call, (name, args))


def check_request_timeout(timeout: object) -> float:
    """``timeout`` as a float; ConfigurationError unless it is a positive number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigurationError("timeout", timeout, "must be a positive number of seconds")
    return float(timeout)


class _HandshakeFailed(ProtocolError):
    """Internal: the server refused the login; closes the connection attempt."""


def _push(on_push: OnPush, ctx: Any, message: iproto.Reply) -> None:
    on_push(message.data, ctx)

