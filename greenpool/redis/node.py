"""One Redis server's connections: shared, dedicated, the heartbeat, and closing them.

A :class:`Node` owns, for one server:

* the **shared** connections: a :class:`~greenpool.pool.MultiplexPool` of
  ``pool_size`` auto-pipelined connections that any number of greenlets use
  at once (replies decoded as the settings say);
* the **dedicated** connections: a checkout :class:`~greenpool.Pool` of up
  to ``max_connections`` connections lent to one caller at a time, for
  blocking commands, pipelines and ``never_decode`` commands.  They never
  decode: the caller decodes their replies (:mod:`greenpool.redis._execute`),
  so a binary reply such as DUMP's can stay bytes;
* the **heartbeat** that pings idle shared connections and closes silent ones.

:class:`~greenpool.redis.Redis` is the command surface over one node;
:class:`~greenpool.redis.Pipeline`, :class:`~greenpool.redis.PubSub` and
:class:`~greenpool.redis.Monitor` take a node too, and a cluster client
holds many.

Where the server is: the settings' ``address``, or, when the server moves
(a Sentinel-managed primary), the settings' :class:`Locator`, asked before
each connect of every connection; :meth:`Node.reconnect_all` moves every
connection at once when the locator learns of a new address.

Who keeps what alive: the node's long-lived greenlets (connection readers,
reconnectors, the heartbeat, pool housekeeping) hold the pools they serve,
never the node, and the pools hold nothing above them.  So a node nobody
references any more is collected even while its greenlets run, and a
finaliser then closes everything it owned: a client dropped without
``close()`` leaves no socket or greenlet behind.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from functools import partial
from typing import Any, Protocol

from .._util import check_float, check_int
from ..address import AddressLike
from ..errors import ConfigurationError, ConnectionError, TimeoutError
from ..pool.checkout import Pool
from ..pool.heartbeat import Heartbeat
from ..pool.multiplex import MultiplexPool
from ..transport.connection import DISCONNECTED, Connection
from . import _execute
from ._encoder import Encoder
from .settings import RedisSettings

__all__ = ["Locator", "Node", "NotLocatedError"]


class NotLocatedError(ConnectionError):
    """A :class:`Locator` could not say where the server is (the sentinels name
    no primary ...).  Raised by :meth:`Locator.locate`, it reaches the
    caller of the command unchanged, so its subclasses
    (:class:`~greenpool.redis.MasterNotFoundError` ...) can be caught by name."""


class Locator(Protocol):
    """Where a node's server is now (``RedisSettings.locator``).

    :meth:`locate` is called before each connect of each connection made
    from the settings (inside the connect timeout; what it raises fails that
    connect, and a :class:`NotLocatedError` reaches the caller as it is);
    :meth:`watch` wraps each new connection's codec, so that the locator
    sees the replies (a ``READONLY`` one says the server was
    demoted).  ``str(locator)`` names it in reprs (``redis+sentinel://...``).
    """

    def locate(self) -> AddressLike:
        """The server's address now.  May block; raises ConnectionError if unknown."""

    def watch(self, codec: Any) -> Any:
        """The codec a new connection uses: ``codec`` itself or a wrapper of it."""


class Node:
    """One server's connections (see the module docs).

    ``settings`` says how to reach the server; ``pool_size`` shared
    connections; up to ``max_connections`` dedicated ones, waited for up to
    ``pool_timeout`` seconds; ``health_check_interval`` seconds between
    heartbeats (0: none).  Nothing connects here: the first request does.
    Bad arguments raise :class:`~greenpool.ConfigurationError`.
    """

    def __init__(
        self,
        settings: RedisSettings,
        *,
        pool_size: int = 2,
        max_connections: int = 50,
        pool_timeout: float | None = 20.0,
        health_check_interval: float = 30.0,
    ) -> None:
        check_int("pool_size", pool_size, minimum=1)
        check_int("max_connections", max_connections, minimum=1)
        interval = check_float("health_check_interval", health_check_interval) or 0.0
        self._settings = settings
        self._stamps = _Stamps()
        where = settings.describe()
        self._shared = MultiplexPool(
            pool_size, settings.new_connection, connect_now=False, name=f"redis-shared {where}"
        )
        idle = min(max_connections, 8)
        self._dedicated: Pool[Connection] = Pool(
            partial(_open_dedicated, settings, self._stamps),
            pool_size=idle,
            max_overflow=max_connections - idle,
            pool_timeout=pool_timeout,
            prefill=False,
            use_local=False,
            recycle=None,
            check=self._stamps.current,
            reset=_reset_dedicated,
            close=_close_dedicated,
            retry_exceptions=(ConnectionError, TimeoutError, OSError),
            name=f"redis-dedicated {where}",
        )
        self._max_connections = max_connections
        self._heartbeat: Heartbeat | None = None
        if interval > 0:
            # The heartbeat's greenlet holds the pool it watches, not the node.
            self._heartbeat = Heartbeat(
                interval, interval * 3, connections=partial(_connections_of, self._shared),
                ping=_ping,
            )
            self._heartbeat.start()
        self._finalizer = weakref.finalize(
            self, _close_all, self._shared, self._dedicated, self._heartbeat
        )
        # PubSubs and Monitors on connections of their own, closed with the node.
        self._attached: weakref.WeakSet[Any] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._settings.describe()}>"

    @property
    def settings(self) -> RedisSettings:
        """How the node's connections reach the server."""
        return self._settings

    @property
    def shared_pool(self) -> MultiplexPool:
        """The shared, auto-pipelined connections."""
        return self._shared

    @property
    def dedicated_pool(self) -> Pool[Connection]:
        """The dedicated connections (they never decode replies)."""
        return self._dedicated

    # redis-py's ConnectionPool, as code written for it uses one
    # (``r.connection_pool.disconnect()``, ``.connection_kwargs``).

    @property
    def connection_kwargs(self) -> dict[str, Any]:
        """The settings as :class:`~greenpool.redis.Redis` keyword arguments, credentials
        included (redis-py's ``ConnectionPool.connection_kwargs``).  A new dict each time."""
        return self._settings.as_kwargs()

    @property
    def max_connections(self) -> int:
        """How many dedicated connections may be open at once."""
        return self._max_connections

    def get_encoder(self) -> Encoder:
        """How arguments are encoded and replies decoded (redis-py's ``Encoder``)."""
        s = self._settings
        return Encoder(s.encoding, s.encoding_errors, s.decode_responses)

    def disconnect(self, inuse_connections: bool = True) -> None:
        """Close connections; later commands connect anew (redis-py's ``disconnect``).

        ``inuse_connections=True``: every connection, shared and dedicated,
        idle or in use; requests in flight on them fail with
        :class:`~greenpool.ConnectionError`.  False: only the idle dedicated
        ones (the shared ones are always in use).  Not needed after
        ``fork()``, which greenpool handles itself, but harmless there.
        Never blocks.
        """
        if inuse_connections:
            self.reconnect_all("disconnected by the application")
        else:
            self._dedicated.dispose()

    def reset(self) -> None:
        """redis-py's ``reset()``: here :meth:`disconnect` (every connection).  Never blocks."""
        self.disconnect()

    def shared_connection(self) -> Connection:
        """The least loaded connected shared connection, connecting one if none is.

        Blocks only while connecting (up to ``socket_connect_timeout``).
        Raises :class:`~greenpool.ConnectionError` when the server can't be
        reached.  A ``gevent.Timeout`` of the caller's own passes unchanged.
        """
        shared = self._shared
        if shared.is_working():
            return shared.get_least_loaded_connection()
        try:
            return shared.wait_for_connection(self._settings.socket_connect_timeout)
        except NotLocatedError:
            raise  # the locator's own error (MasterNotFoundError ...), by name
        except (IndexError, OSError) as exc:
            # A located server (Sentinel's) is named by its locator: the
            # settings' own address is an unused default.  A refused or
            # failed socket says so as redis-py does ("Error 111 connecting
            # to host:port. Connection refused."); other failures
            # (credentials, handshake, timeout) name the server first.
            where = (self._settings.describe() if self._settings.locator is not None
                     else str(self._settings.address))
            refused = type(exc) is ConnectionError and isinstance(exc.__cause__, OSError)
            raise ConnectionError(
                str(exc) if refused else f"cannot reach redis at {where}: {exc}", where
            ) from exc

    def set_everywhere(self, name: str, args: tuple[Any, ...]) -> Any:
        """Run a per-connection setting (``CLIENT SETNAME x``, ``AUTH``) on every connection.

        ``name`` is its table name (``"client|setname"``).  It runs first on
        one shared connection: an error reply is raised and nothing is
        kept.  Otherwise it is kept in the settings, so that every new
        connection's handshake sends it, sent to every other connected
        shared connection, and the idle dedicated connections are replaced
        before their next use.  An HIMPORT fieldset is kept by its name
        (``HIMPORT PREPARE``) until ``HIMPORT DISCARD`` (or ``DISCARDALL``)
        forgets it.  AUTH's credentials replace the settings' (``username``,
        ``password``).  Returns the first connection's reply.
        """
        first = self.shared_connection()
        reply = first.request(_execute.encode(args))
        if _execute.failed(reply):
            return reply
        settings = self._settings
        kept = settings.connection_commands
        if name == "client|setname":
            settings.client_name = _text(args[2])
        elif name == "auth":
            # The handshake of every new connection authenticates with these.
            settings.username = _text(args[1]) if len(args) > 2 else None
            settings.password = _text(args[-1])
            settings.credential_provider = None  # AUTH given now wins over a provider
        elif name == "himport|discard":
            kept.pop(_FIELDSET + _text(args[2]), None)
        elif name == "himport|discardall":
            for key in [key for key in kept if key.startswith(_FIELDSET)]:
                del kept[key]
        elif name == "himport|prepare":
            kept[_FIELDSET + _text(args[2])] = tuple(args)
        else:
            key = name if name != "client|setinfo" else f"{name}|{_text(args[2]).lower()}"
            settings.connection_commands[key] = tuple(args)
        self._stamps.generation += 1
        for conn in self._shared.connected_connections:
            if conn is not first:
                other = conn.request(_execute.encode(args))
                if _execute.failed(other):
                    conn.close(f"{name} failed on it: {other!r}")
        return reply

    def reconnect_all(self, cause: str) -> None:
        """Close every connection now, shared and dedicated, idle, in use or connecting.

        For a server that moved: requests in flight on them fail with
        :class:`~greenpool.ConnectionError` (``cause`` says why), so does a
        connect under way (it may have been told the old address), and
        every later request runs on a connection made afterwards (asking
        the settings' locator where).  Never blocks.
        """
        self._stamps.generation += 1
        # Connecting ones too: they may have been told the old address.
        for conn in [*self._stamps.opened, *self._shared.connections]:
            if conn.state != DISCONNECTED:
                conn.close(cause)

    def connections_used(self) -> dict[str, int]:
        """How many connections exist: ``shared`` (connected) and ``dedicated`` (open)."""
        return {
            "shared": len(self._shared.connected_connections),
            "dedicated": self._dedicated.stats()["connections"],
        }

    def stats(self) -> dict[str, int]:
        """The node's figures: its shared connections and its dedicated pool, as one.

        Gauges: ``pool_size`` (shared connections held), ``pool_max`` (the
        most connections it may have: the shared ones and ``max_connections``
        dedicated ones; -1 without a limit), ``connections`` (open now, both
        kinds), ``pool_available`` and ``pool_in_use`` (dedicated
        connections idle and lent out), ``requests_waiting`` (callers waiting
        for a dedicated connection), ``requests_pending`` (commands in flight
        on the shared connections).  Counters: ``requests_num`` (commands sent
        on the shared connections, their handshakes and health-check PINGs
        included, and one per dedicated checkout: a
        pipeline, a transaction, a blocking command), ``requests_errors``
        and ``requests_timeouts`` (of those, the ones that ended without a
        reply: a broken connection, a timeout, the caller's own
        ``gevent.Timeout``; a failed checkout too; error replies are
        replies, not counted), ``requests_queued``, ``requests_wait_ms``,
        ``usage_ms``, ``returns_bad`` (the dedicated pool's), and
        ``connections_num``, ``connections_ms``, ``connections_errors``,
        ``connections_lost``, ``reconnects`` (both kinds).  Never blocks;
        safe from another thread.
        """
        return self._stats(reset=False)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters start again from zero (psycopg_pool's semantics)."""
        return self._stats(reset=True)

    def _stats(self, reset: bool) -> dict[str, int]:
        shared_pool, dedicated_pool = self._shared, self._dedicated
        shared = shared_pool.pop_stats() if reset else shared_pool.stats()
        dedicated = dedicated_pool.pop_stats() if reset else dedicated_pool.stats()
        num, errors = shared["requests_num"], shared["requests_errors"]
        timeouts = shared["requests_timeouts"]
        most = dedicated["pool_max"]
        return {
            "pool_size": shared["pool_size"],
            "pool_max": -1 if most == -1 else shared["pool_size"] + most,
            "connections": shared["connections"] + dedicated["connections"],
            "pool_available": dedicated["pool_available"],
            "pool_in_use": dedicated["pool_in_use"],
            "requests_waiting": dedicated["requests_waiting"],
            "requests_pending": shared["requests_pending"],
            "requests_num": num + dedicated["requests_num"],
            "requests_queued": dedicated["requests_queued"],
            "requests_wait_ms": dedicated["requests_wait_ms"],
            "requests_errors": errors + dedicated["requests_errors"],
            "requests_timeouts": timeouts + dedicated["requests_timeouts"],
            "usage_ms": dedicated["usage_ms"],
            "returns_bad": dedicated["returns_bad"],
            "connections_num": shared["connections_num"] + dedicated["connections_num"],
            "connections_ms": dedicated["connections_ms"],
            "connections_errors": shared["connections_errors"] + dedicated["connections_errors"],
            "connections_lost": shared["connections_lost"] + dedicated["connections_lost"],
            "reconnects": shared["reconnects"],
        }

    def attach(self, closable: Any) -> None:
        """Close ``closable`` (its ``close()``) when the node closes; held weakly.

        For what keeps a connection of its own on the node's server (a
        :class:`~greenpool.redis.PubSub`, a :class:`~greenpool.redis.Monitor`),
        so that closing a client closes everything it opened.  Never blocks.
        """
        self._attached.add(closable)

    def close(self) -> None:
        """Close every connection, the attached PubSubs and Monitors, and stop the
        heartbeat.  Requests in flight fail with ConnectionError.  Calling it
        again does nothing."""
        for closable in list(self._attached):
            closable.close()
        self._attached.clear()
        self._finalizer()

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (or once the node was collected)."""
        return not self._finalizer.alive


class _Stamps:
    """Which settings generation each dedicated connection was opened with.

    A setting applied to every connection (``CLIENT SETNAME``) bumps the
    generation; an idle dedicated connection of an older one fails the
    pool's check and is replaced, so it never serves with the old setting.
    """

    __slots__ = ("__weakref__", "generation", "opened")

    def __init__(self) -> None:
        self.generation = 0
        self.opened: weakref.WeakKeyDictionary[Connection, int] = weakref.WeakKeyDictionary()

    def current(self, conn: Connection) -> bool:
        return conn.live() and self.opened.get(conn) == self.generation


def _open_dedicated(settings: RedisSettings, stamps: _Stamps) -> Connection:
    generation = stamps.generation
    raw = replace(settings, decode_responses=False)
    conn = raw.new_connection(name=f"redis dedicated {settings.where}")
    stamps.opened[conn] = generation  # before connecting: reconnect_all sees it
    conn.connect()
    return conn


def _close_all(shared: MultiplexPool, dedicated: Pool[Connection], heartbeat: Any) -> None:
    # Runs from close() or when the node is collected: it must not block.
    if heartbeat is not None:
        heartbeat.shutdown()
    shared.close()
    dedicated.close()


def _connections_of(shared: MultiplexPool) -> list[Connection]:
    return shared.connections


def _ping(conn: Connection) -> Any:
    return conn.request(_PING)


_PING = _execute.encode(("PING",))
_FIELDSET = "himport fieldset|"
"""Prefix of the kept ``HIMPORT PREPARE`` commands, one per fieldset name."""


def _reset_dedicated(conn: Connection) -> None:
    if not conn.live() or conn.pending:
        raise ConnectionError("dedicated connection is not clean", str(conn.address))


def _close_dedicated(conn: Connection) -> None:
    conn.close("returned to a full pool or broken")


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigurationError("value", value, "must be a string")
