"""``greenpool.redis.Sentinel``: clients of a primary and its replicas that follow failovers.

:class:`Sentinel` has redis-py's constructor and methods
(``discover_master``, ``discover_slaves``, ``master_for``, ``slave_for``,
``check_master_state``, ``filter_slaves``, ``execute_command`` and the
sentinel command group).  ``master_for`` and ``slave_for`` return ordinary
:class:`~greenpool.redis.Redis` clients whose settings carry a *locator*
(:class:`~greenpool.redis.node.Locator`): every connection asks it where
the server is before it connects.

**Finding the primary.**  A discovery asks every sentinel at once
(``SENTINEL GET-MASTER-ADDR-BY-NAME`` and ``SENTINEL MASTER``) and keeps the
answer with the highest configuration epoch.  A sentinel in the middle of a
failover names the promoted replica in ``GET-MASTER-ADDR-BY-NAME`` before
its ``SENTINEL MASTER`` changes: that answer counts as one epoch newer, so
the client follows the promoted replica as early as the sentinels report
it.  Discoveries are *single-flight*: however many connections connect at
once, they share one discovery, and its answer serves every connect for
the next second (:data:`TRUST_SECONDS`).

**Following a failover.**  While a client made by ``master_for`` or
``slave_for`` exists, the :class:`Sentinel` listens on every sentinel for
``+failover-state-wait-promotion`` (the leader of a failover has just told
the chosen replica ``REPLICAOF NO ONE``), ``+promoted-slave`` and
``+switch-master`` (one pub/sub connection per sentinel, in greenlets that
hold the :class:`Sentinel` only weakly; none with ``subscribe=False``) and
polls the sentinels every ``poll_interval`` seconds: one poller per
service, however many clients it has, holding them weakly and ending when
the last one is closed or collected.  An announcement counts as one epoch
newer than the configuration the clients follow, so a poll of a sentinel
that has not heard of the failover yet never moves them back.  When either
names a new primary, every connection of every client of that service is
closed at once (:meth:`~greenpool.redis.node.Node.reconnect_all`): requests
in flight on the old primary fail with :class:`~greenpool.ConnectionError`
instead of being acknowledged later by a demoted server, and every later
request runs on the new primary.  A ``READONLY`` error reply (a client still
talking to a demoted primary) makes the clients ask the sentinels again at
once; the caller gets :class:`~greenpool.redis.PrimaryDemotedError`, a
:class:`~greenpool.ConnectionError` as redis-py raises there, and a
:class:`~greenpool.redis.ReadOnlyError` too.
A ``slave_for`` client with a connection on a server that the failover
made the primary (or that left the sentinels' replica list) reconnects
every connection to the replicas listed then.

**fork().**  In a child process the listeners, the pollers and a discovery
under way at the fork are the parent's: their copies stop without asking
a sentinel (see :mod:`greenpool._fork`), so the child opens nothing until
it uses a client.  The first connect of a client in the child discovers
the primary (or the replicas) again and starts the child's own listeners
and poller.

**Closing.**  :meth:`Sentinel.close` ends the :class:`Sentinel`'s own use;
the clients it made keep finding and following the primary until they
are closed, and what serves them (the connections to the sentinels, the
listeners, the pollers) ends after the last of them.
"""

from __future__ import annotations

import logging
import random
import weakref
from collections.abc import Callable, Iterable, Iterator
from time import monotonic
from typing import Any, TypeVar

import gevent
from gevent.event import AsyncResult

from .. import _fork
from .._backoff import Backoff
from .._util import check_bool, check_float, check_int
from ..address import Address
from ..errors import ConfigurationError, ConnectionError, ReplyError, TimeoutError
from .client import ConnectionPool, Redis, _retrying_also
from .commands.sentinel import SentinelCommands
from .exceptions import DemotedReply, ResponseError
from .node import Node, NotLocatedError

__all__ = [
    "TRUST_SECONDS",
    "MasterNotFoundError",
    "ReplicaNotFoundError",
    "Sentinel",
    "SentinelConnectionPool",
    "SentinelManagedConnection",
    "SentinelManagedSSLConnection",
    "SlaveNotFoundError",
]

log = logging.getLogger("greenpool.redis.sentinel")

T = TypeVar("T")

#: Seconds during which an address the sentinels gave serves new connects
#: without asking them again (announcements and polls move it sooner).
TRUST_SECONDS = 1.0

#: The sentinels' events that name a new primary.
_EVENTS = ("+switch-master", "+promoted-slave", "+failover-state-wait-promotion")
_REPLICA_EVENTS = frozenset(_EVENTS[1:])


class MasterNotFoundError(NotLocatedError):
    """No sentinel named a usable primary for the service (redis-py's name).

    Raised by :meth:`Sentinel.discover_master`, and by a command of a
    ``master_for`` client whose connect found no primary.  A
    :class:`~greenpool.ConnectionError`, as in redis-py."""


class SlaveNotFoundError(NotLocatedError):
    """No replica (and no primary to fall back on) for the service (redis-py's name).

    Raised by a command of a ``slave_for`` client whose connect found no
    server, and by ``SentinelConnectionPool.rotate_slaves()`` once it has
    given every server.  A :class:`~greenpool.ConnectionError`, as in redis-py."""


#: redis-py's newer name for :class:`SlaveNotFoundError` (the same class).
ReplicaNotFoundError = SlaveNotFoundError


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SentinelManagedConnection:
    """redis-py's connection class of a Sentinel pool, kept as a name.

    ``SentinelConnectionPool(..., connection_class=SentinelManagedConnection)``
    is accepted (it is the default), and
    :class:`SentinelManagedSSLConnection` there means ``ssl=True``.
    greenpool's pools make their own connections, so making one of these
    raises :class:`~greenpool.ConfigurationError`.
    """

    def __init__(self, **kwargs: Any) -> None:
        raise ConfigurationError(
            "connection_class", type(self).__name__,
            "greenpool's pools make their own connections: pass the class to "
            "SentinelConnectionPool(connection_class=...) or leave it out",
        )


class SentinelManagedSSLConnection(SentinelManagedConnection):
    """redis-py's TLS connection class of a Sentinel pool: as a pool's
    ``connection_class``, it means ``ssl=True`` (see :class:`SentinelManagedConnection`)."""


#: Redis() arguments that belong to the client, not to its pool.
_CLIENT_ONLY = ("retry", "retry_on_timeout", "retry_on_error", "connect_now")


class SentinelConnectionPool(ConnectionPool):
    """redis-py's ``SentinelConnectionPool``: the connections of one service's
    primary (``is_master=True``, the default) or of its replicas, found
    through ``sentinel_manager`` (a :class:`Sentinel`).

    It is what :meth:`Sentinel.master_for` and :meth:`Sentinel.slave_for`
    build, and what their clients' ``connection_pool`` is; code that builds
    one itself passes it on as redis-py's does:
    ``Redis(connection_pool=SentinelConnectionPool("mymaster", sentinel))``.
    Like a :class:`~greenpool.redis.ConnectionPool` it is a
    :class:`~greenpool.redis.Node` (shared auto-pipelined connections,
    dedicated ones for pipelines and blocking commands), whose connections
    ask the sentinels where to connect: the primary's pools of one service
    share one discovery and follow a failover together; a replicas' pool
    connects to the replicas in turn (see :meth:`Sentinel.slave_for`).

    ``check_connection=True`` sends a PING on each new connection before
    its first command (a connect fails if it gets no answer).
    ``connection_class``: None, :class:`SentinelManagedConnection` or
    :class:`SentinelManagedSSLConnection` (``ssl=True``).  The other keyword
    arguments are :class:`~greenpool.redis.ConnectionPool`'s; ``host``,
    ``port`` and ``unix_socket_path`` are not (the sentinels say where the
    server is).  Nothing connects here.  Bad arguments raise
    :class:`~greenpool.ConfigurationError`; a closed ``sentinel_manager``
    raises :class:`~greenpool.ConnectionError`.
    """

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        if not isinstance(service_name, str) or not service_name:
            raise ConfigurationError("service_name", service_name, "must be a service's name")
        if not isinstance(sentinel_manager, Sentinel):
            raise ConfigurationError(
                "sentinel_manager", sentinel_manager, "must be a greenpool.redis.Sentinel"
            )
        is_master = check_bool("is_master", kwargs.pop("is_master", True))
        check_connection = check_bool("check_connection", kwargs.pop("check_connection", False))
        connection_class = kwargs.pop("connection_class", None)
        if connection_class is SentinelManagedSSLConnection:
            kwargs["ssl"] = True
        elif connection_class not in (None, SentinelManagedConnection):
            raise ConfigurationError(
                "connection_class", connection_class,
                "greenpool makes its own connections: leave it out (ssl=True for TLS)",
            )
        for name in ("host", "port", "unix_socket_path", "locator"):
            if name in kwargs:
                raise ConfigurationError(
                    name, kwargs[name], "the sentinels say where the server is"
                )
        sentinel_manager._check_open()
        locator = sentinel_manager._locator_for(service_name, is_master)
        super().__init__(locator=locator, **kwargs)
        if check_connection:
            self.settings.connection_commands["check_connection"] = ("PING",)
        #: The service's name, the Sentinel, the role, as redis-py's pool has them.
        self.service_name = service_name
        self.sentinel_manager = sentinel_manager
        self.is_master = is_master
        self.check_connection = check_connection
        self._locator = locator
        self._turn: int | None = None  # rotate_slaves()'s place
        locator.attach(self)
        sentinel_manager._nodes.add(self)
        sentinel_manager._watch.listen()

    def __repr__(self) -> str:
        role = "master" if self.is_master else "slave"
        return f"<{type(self).__name__} {self.settings.describe()} ({role})>"

    @property
    def master_address(self) -> tuple[str, int] | None:
        """The primary's ``(host, port)`` that a primary's pool follows, None
        before its first discovery (and always for a replicas' pool), as
        redis-py's.  Never blocks."""
        if not isinstance(self._locator, _PrimaryLocator):
            return None
        address = self._locator.address
        return None if address is None else (str(address.host), int(address.port or 0))

    def get_master_address(self) -> tuple[str, int]:
        """Ask the sentinels for the primary now and return its ``(host, port)``.

        For a primary's pool this is a discovery of the pool's service
        (shared with concurrent connects): if it names another primary,
        every connection of the service's primary clients moves there at
        once (redis-py's closes the idle ones).  Blocks up to the
        sentinels' ``socket_timeout``; raises :class:`MasterNotFoundError`.
        """
        if isinstance(self._locator, _PrimaryLocator):
            address = self._locator.refresh()
            return str(address.host), int(address.port or 0)
        host, port, _ = self.sentinel_manager._find_master(self.service_name)
        return host, port

    def rotate_slaves(self) -> Iterator[tuple[str, int]]:
        """redis-py's round robin over the service's servers, as a generator:
        each replica the sentinels list as up (``(host, port)``; each call
        goes on from where the last one stopped, the first from a random
        one), then the primary, then it raises
        :class:`SlaveNotFoundError`.  Each ``next()`` may block on the
        sentinels (the first asks for the replicas, the one after the last
        replica for the primary)."""
        replicas = self.sentinel_manager._find_slaves(self.service_name)
        if replicas:
            if self._turn is None:
                self._turn = random.randrange(len(replicas))
            for _ in replicas:
                self._turn = (self._turn + 1) % len(replicas)
                yield replicas[self._turn]
        try:
            yield self.get_master_address()
        except MasterNotFoundError:
            pass
        raise SlaveNotFoundError(f"No slave found for {self.service_name!r}")

    rotate_replicas = rotate_slaves


class Sentinel(SentinelCommands):
    """The sentinels watching one or more services, and clients that follow them.

    ``sentinels``: ``(host, port)`` pairs.  ``min_other_sentinels``: a
    sentinel's answer counts only if it sees at least that many others.
    ``sentinel_kwargs``: :class:`~greenpool.redis.Redis` arguments for the
    connections to the sentinels (default: the ``socket_*`` ones of
    ``connection_kwargs``, as redis-py does).  ``force_master_ip``: connect to
    this host instead of the one the sentinels name.  ``connection_kwargs``:
    :class:`~greenpool.redis.Redis` arguments for the clients of
    :meth:`master_for` and :meth:`slave_for`.  ``poll_interval`` (greenpool's
    own): seconds between polls of the sentinels while a primary's client
    exists, the fallback for a missed announcement.  ``subscribe``
    (greenpool's own, default True): listen for the sentinels'
    announcements; with False the clients follow a failover by the polls
    alone (where pub/sub to the sentinels is not allowed).

    Nothing connects here.  Bad arguments raise
    :class:`~greenpool.ConfigurationError`.
    """

    def __init__(
        self,
        sentinels: Iterable[tuple[str, int]],
        min_other_sentinels: int = 0,
        sentinel_kwargs: dict[str, Any] | None = None,
        force_master_ip: str | None = None,
        *,
        poll_interval: float = 1.0,
        subscribe: bool = True,
        **connection_kwargs: Any,
    ) -> None:
        try:
            pairs = [(host, port) for host, port in sentinels]
        except (TypeError, ValueError):
            raise ConfigurationError("sentinels", sentinels, "must be (host, port) pairs") from None
        if not pairs:
            raise ConfigurationError("sentinels", sentinels, "must name at least one sentinel")
        check_int("min_other_sentinels", min_other_sentinels, minimum=0)
        if sentinel_kwargs is not None and not isinstance(sentinel_kwargs, dict):
            raise ConfigurationError("sentinel_kwargs", sentinel_kwargs, "must be a dict or None")
        if force_master_ip is not None and (
            not isinstance(force_master_ip, str) or not force_master_ip
        ):
            raise ConfigurationError("force_master_ip", force_master_ip, "must be a host or None")
        self._poll_interval = check_float("poll_interval", poll_interval, strict=True) or 1.0
        check_bool("subscribe", subscribe)
        if sentinel_kwargs is None:
            sentinel_kwargs = {
                key: value for key, value in connection_kwargs.items()
                if key.startswith("socket_")
            }
        self.sentinel_kwargs = sentinel_kwargs
        self.sentinels = [Redis(host, port, **sentinel_kwargs) for host, port in pairs]
        self.min_other_sentinels = min_other_sentinels
        self.connection_kwargs = connection_kwargs
        self._force_master_ip = force_master_ip
        #: How long a discovery waits for the sentinels' answers.
        settings = self.sentinels[0].settings
        self._ask_timeout = settings.socket_timeout or 1.0
        #: ... and for a first answer, when none came by then: one ask's
        #: time, a connect and two requests.
        connect = settings.socket_connect_timeout
        self._first_answer_timeout = (
            connect if connect is not None else self._ask_timeout
        ) + 2 * self._ask_timeout
        self._counters = {
            "discoveries": 0, "polls": 0, "announcements": 0, "moves": 0, "replica_moves": 0,
        }
        self._watch = _Watch(self.sentinels if subscribe else [], self._counters)
        #: Every client's node, to know when close() may end the watch.
        self._nodes: weakref.WeakSet[Node] = weakref.WeakSet()
        self._closed = False
        self._closer: Any = None
        self._finalizer = weakref.finalize(self, self._watch.stop)

    def __repr__(self) -> str:
        where = ",".join(str(s.settings.address) for s in self.sentinels)
        return f"<Sentinel sentinels=[{where}]>"

    # ------------------------------------------------------------------
    # Commands to the sentinels

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """Run a command on every sentinel, or on one at random with ``once=True``.

        Returns, as redis-py does, whether every reply was true, or the list
        of replies with ``return_responses=True``.  Raises what a sentinel's
        client raises (:class:`~greenpool.redis.ResponseError`,
        :class:`~greenpool.ConnectionError` ...).  Blocks on the replies.
        """
        self._check_open()
        once = bool(kwargs.pop("once", False))
        return_responses = bool(kwargs.pop("return_responses", False))
        if once:
            reply = random.choice(self.sentinels).execute_command(*args, **kwargs)
            return [reply] if return_responses else bool(reply)
        replies = [sentinel.execute_command(*args, **kwargs) for sentinel in self.sentinels]
        return replies if return_responses else all(replies)

    # ------------------------------------------------------------------
    # Discovery

    def check_master_state(self, state: dict[str, Any], service_name: str) -> bool:
        """Whether a sentinel's ``SENTINEL MASTER`` state names a usable primary:
        flagged master, not down, and seeing ``min_other_sentinels`` others."""
        if not state["is_master"] or state["is_sdown"] or state["is_odown"]:
            return False
        return bool(state["num-other-sentinels"] >= self.min_other_sentinels)

    def discover_master(self, service_name: str) -> tuple[str, int]:
        """The primary of ``service_name`` as ``(host, port)``.

        Asks every sentinel at once and keeps the newest answer (see the
        module docs): blocks up to the sentinels' ``socket_timeout`` (1 s
        without one) for all of them, then, if none has answered yet, for
        the first answer, up to the time one sentinel's connect and two
        requests may take (``socket_connect_timeout`` plus twice that),
        since redis-py gives each sentinel's operations a timeout each.
        Raises :class:`MasterNotFoundError` when no sentinel
        names a usable primary, :class:`~greenpool.ConnectionError` after
        :meth:`close`.
        """
        self._check_open()
        host, port, _ = self._find_master(service_name)
        return host, port

    def _find_master(self, service_name: str) -> tuple[str, int, int]:
        """``(host, port, epoch)`` of the newest usable answer (see the module docs)."""
        self._counters["discoveries"] += 1
        answers: list[tuple[Any, dict[str, Any]]] = []
        errors: list[str] = []
        pid = _fork.pid

        def ask(sentinel: Redis) -> None:
            # SENTINEL MASTER first: the sentinel leading a failover changes
            # GET-MASTER-ADDR-BY-NAME and the epoch of SENTINEL MASTER at the
            # same moment, so asked in this order a pair straddling that
            # moment is (old epoch, new address), never (new epoch, old address).
            try:
                _same_process(pid)
                state = sentinel.sentinel_master(service_name)
                _same_process(pid)
                address = sentinel.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", service_name
                )
                answers.append((address, state))
            except (ConnectionError, TimeoutError, ResponseError) as exc:
                errors.append(f"{sentinel.settings.address}: {exc!r}")

        asking = [gevent.spawn(ask, sentinel) for sentinel in self.sentinels]
        try:
            # gevent.Timeout starts on a fresh loop time; joinall's own timeout
            # reads the hub's cached one, stale after the hub was blocked for
            # longer than the timeout (the wait then ended at once, unanswered).
            with gevent.Timeout(self._ask_timeout, False):
                gevent.joinall(asking)
            # Nobody has answered yet (a cold start: connect and two round
            # trips, or distant sentinels): take the first answer, within
            # the time one ask may take (a connect and two requests).
            with gevent.Timeout(self._first_answer_timeout - self._ask_timeout, False):
                for _ in gevent.iwait(asking if not answers else ()):
                    if answers:
                        break
        finally:
            gevent.killall([g for g in asking if not g.ready()], block=False)
        best: tuple[int, str, int] | None = None
        for address, state in answers:
            if not address:
                continue
            host, port = _text(address[0]), int(address[1])
            epoch = int(state.get("config-epoch", 0))
            if (host, port) != (state["ip"], state["port"]):
                # A failover under way: the promoted replica, one epoch on.
                if state["num-other-sentinels"] < self.min_other_sentinels:
                    continue
                epoch += 1
            elif not self.check_master_state(state, service_name):
                continue
            if best is None or epoch > best[0]:
                best = (epoch, host, port)
        if best is None:
            detail = f": {', '.join(errors)}" if errors else ""
            raise MasterNotFoundError(f"No master found for {service_name!r}{detail}")
        return self._master_host(best[1]), best[2], best[0]

    def _master_host(self, host: str) -> str:
        return self._force_master_ip if self._force_master_ip is not None else host

    def filter_slaves(self, slaves: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
        """``(ip, port)`` of the replicas in ``slaves`` (``SENTINEL SLAVES`` states)
        that are not subjectively or objectively down."""
        return [
            (slave["ip"], slave["port"])
            for slave in slaves
            if not (slave["is_odown"] or slave["is_sdown"])
        ]

    filter_replicas = filter_slaves

    def discover_slaves(self, service_name: str) -> list[tuple[str, int]]:
        """The replicas of ``service_name`` that are up, as ``(ip, port)`` pairs:
        the first sentinel (in order) that lists any; ``[]`` if none does.
        Blocks on each sentinel asked in turn.  Raises
        :class:`~greenpool.ConnectionError` after :meth:`close`."""
        self._check_open()
        return self._find_slaves(service_name)

    def _find_slaves(self, service_name: str) -> list[tuple[str, int]]:
        pid = _fork.pid
        for sentinel in self.sentinels:
            _same_process(pid)
            try:
                slaves = self.filter_slaves(sentinel.sentinel_slaves(service_name))
            except (ConnectionError, TimeoutError, ResponseError):
                continue
            if slaves:
                return slaves
        return []

    discover_replicas = discover_slaves

    # ------------------------------------------------------------------
    # Clients

    def master_for(
        self,
        service_name: str,
        redis_class: type[Redis] = Redis,
        connection_pool_class: type[SentinelConnectionPool] = SentinelConnectionPool,
        **kwargs: Any,
    ) -> Redis:
        """A ``redis_class`` client of ``service_name``'s primary, following failovers.

        ``kwargs`` are merged over the constructor's ``connection_kwargs``
        and build a ``connection_pool_class`` (:class:`SentinelConnectionPool`
        or a subclass, with ``is_master=True``), the client's
        ``connection_pool``, which the client closes with its ``close()``;
        ``retry`` and ``connect_now`` go to the client.  The client asks the
        sentinels where the primary is when its first connection connects
        (never here), and moves every connection at once when they announce
        another one (see the module docs).  Another ``connection_pool_class``
        (a redis-py one) or ``redis_class`` raises
        :class:`~greenpool.ConfigurationError`; after :meth:`close`,
        :class:`~greenpool.ConnectionError`.
        """
        return self._client(service_name, True, redis_class, connection_pool_class, kwargs)

    def slave_for(
        self,
        service_name: str,
        redis_class: type[Redis] = Redis,
        connection_pool_class: type[SentinelConnectionPool] = SentinelConnectionPool,
        **kwargs: Any,
    ) -> Redis:
        """A ``redis_class`` client of ``service_name``'s replicas.

        Each new connection goes to the next replica the sentinels list as
        up (round robin), skipping one the service's ``master_for`` clients
        know to be the primary now; with none up, to the primary; with no
        primary either, the connect fails with :class:`SlaveNotFoundError`.
        At a failover (a sentinel's ``+switch-master``, or the service's
        ``master_for`` clients moving) a client with a connection on a
        server no longer listed as a replica closes all of them at once
        (its reads in flight fail with :class:`~greenpool.ConnectionError`)
        and reconnects to the replicas listed then.  Arguments as
        :meth:`master_for` (the pool with ``is_master=False``).
        """
        return self._client(service_name, False, redis_class, connection_pool_class, kwargs)

    replica_for = slave_for

    def _client(
        self, service_name: str, is_master: bool, redis_class: type[Redis],
        pool_class: Any, kwargs: dict[str, Any],
    ) -> Redis:
        self._check_open()
        if pool_class is None:
            pool_class = SentinelConnectionPool
        if not (isinstance(pool_class, type) and issubclass(pool_class, SentinelConnectionPool)):
            raise ConfigurationError(
                "connection_pool_class", pool_class,
                "must be greenpool's SentinelConnectionPool or a subclass",
            )
        if not (isinstance(redis_class, type) and issubclass(redis_class, Redis)):
            raise ConfigurationError(
                "redis_class", redis_class, "must be greenpool's Redis or a subclass"
            )
        options = {**self.connection_kwargs, **kwargs, "is_master": is_master}
        client_only = {name: options.pop(name) for name in _CLIENT_ONLY if name in options}
        pool = pool_class(service_name, self, **options)
        client = redis_class.from_pool(pool)
        retry = _retrying_also(client_only.get("retry"), client_only.get("retry_on_timeout", False),
                               client_only.get("retry_on_error"))
        if retry is not None:
            client.set_retry(retry)
        if check_bool("connect_now", client_only.get("connect_now", False)):
            client.node.shared_connection()
        return client

    def _locator_for(self, service_name: str, is_master: bool) -> Any:
        """The locator a new pool of ``service_name`` connects through: the
        service's one primary locator, or a replicas' locator of its own."""
        if not is_master:
            replicas = _ReplicaLocator(self, service_name)
            self._watch.replicas.add(replicas)
            return replicas
        locator = self._watch.locators.get(service_name)
        if locator is None:
            locator = self._watch.locators[service_name] = _PrimaryLocator(self, service_name)
        return locator

    # ------------------------------------------------------------------
    # Lifecycle

    @property
    def name(self) -> str:
        """``sentinel-<id>``: the Sentinel's name in metrics."""
        return f"sentinel-{id(self):x}"

    def stats(self) -> dict[str, int]:
        """Counters since construction: ``discoveries`` (asks of every sentinel
        for a primary), ``polls`` (periodic asks, one per service and
        ``poll_interval`` however many clients it has), ``announcements``
        (sentinel events naming a primary, each sentinel's counted),
        ``moves`` (times a service's clients moved every connection to
        another primary) and ``replica_moves`` (times a ``slave_for``
        client reconnected because a server left the replicas)."""
        return dict(self._counters)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters start again from zero.  Call it
        from the Sentinel's own thread."""
        counters = self._counters
        stats = dict(counters)
        for key in counters:
            counters[key] = 0
        return stats

    def close(self) -> None:
        """Close the Sentinel; the clients it made keep working until they are closed.

        Afterwards its own commands (:meth:`execute_command`,
        :meth:`discover_master` ...), :meth:`master_for` and
        :meth:`slave_for` raise :class:`~greenpool.ConnectionError`.  Clients
        made earlier go on finding and following the primary: the
        connections to the sentinels, the listeners and the pollers that
        serve them end once none of them is open (checked every
        ``poll_interval``, at most every second), at once if none is.
        Never blocks; calling it again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        if not self._in_use():
            self._shutdown()
            return
        self._closer = gevent.spawn(
            _close_when_unused, weakref.ref(self), min(self._poll_interval, 1.0)
        )
        self._closer.name = "greenpool-sentinel-close"

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionError(f"{self!r} is closed")

    def _in_use(self) -> bool:
        return any(not node.closed for node in list(self._nodes))

    def _shutdown(self) -> None:
        self._finalizer()
        for sentinel in self.sentinels:
            sentinel.close()

    def __enter__(self) -> Sentinel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _SingleFlight:
    """Concurrent callers of :meth:`run` share one run of the work.

    The work runs in a greenlet of its own, so a caller's own timeout or
    kill leaves it running for the others.
    """

    __slots__ = ("_result",)

    def __init__(self) -> None:
        self._result: AsyncResult | None = None

    @property
    def busy(self) -> bool:
        return self._result is not None

    def run(self, work: Callable[[], T]) -> T:
        result = self._result
        if result is None:
            result = self._result = AsyncResult()
            gevent.spawn(self._work, result, work, _fork.pid)
        result.wait()
        value: T = result.get(block=False)
        return value

    def _work(self, result: AsyncResult, work: Callable[[], Any], pid: int) -> None:
        try:
            _same_process(pid)  # a copy, started after fork(), asks nobody
            result.set(work())
        except BaseException as exc:  # handed to every waiter
            result.set_exception(exc)
        finally:
            if self._result is result:
                self._result = None


class _PrimaryLocator:
    """Where ``service``'s primary is, for every ``master_for`` client of it.

    One per (:class:`Sentinel`, service), shared by that service's clients
    (their settings hold it; the :class:`Sentinel` only weakly): their
    connects share one discovery, one poller asks the sentinels for all of
    them, and a move moves every connection of every one of them.
    """

    def __init__(self, sentinel: Sentinel, service: str) -> None:
        self.service = service
        self._sentinel = sentinel
        self._address: Address | None = None
        self._epoch = -1
        self._found_at = float("-inf")
        self._flight = _SingleFlight()
        self._nodes: weakref.WeakSet[Node] = weakref.WeakSet()
        self._poller: Any = None
        _fork.register(self, owner=False)

    def __str__(self) -> str:
        return f"redis+sentinel://{self.service}"

    def attach(self, node: Node) -> None:
        """Serve ``node`` too; start the poller if it is not running."""
        self._nodes.add(node)
        self._start_poller()

    def _start_poller(self) -> None:
        poller = self._poller
        if (poller is None or poller.dead) and not self._sentinel._watch.stopped:
            poller = self._poller = gevent.spawn(
                _poll, weakref.ref(self), self._sentinel._poll_interval
            )
            poller.name = f"greenpool-sentinel-poll-{self.service}"

    def _forget_inherited(self) -> None:
        """In a child after fork(): the poller and a discovery under way are the
        parent's; the child's first :meth:`locate` starts its own (see the module docs)."""
        self._poller = None
        self._flight = _SingleFlight()

    @property
    def address(self) -> Address | None:
        """The primary the clients follow (None before the first discovery)."""
        return self._address

    def in_use(self) -> bool:
        """Whether a client of this service is open (the poller runs while one is)."""
        return any(not node.closed for node in list(self._nodes))

    def polling(self) -> bool:
        """Whether the poller goes on: a client is open and the Sentinel watches."""
        return not self._sentinel._watch.stopped and self.in_use()

    def stop(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.kill(block=False)

    def poll(self) -> None:
        self._sentinel._counters["polls"] += 1
        self.refresh_quietly()

    def locate(self) -> Address:
        if self._poller is None:  # first use in a child after fork()
            self._start_poller()
            self._sentinel._watch.listen()
        address = self._address
        if address is not None and monotonic() - self._found_at < TRUST_SECONDS:
            return address
        return self.refresh()

    def refresh(self) -> Address:
        """Ask the sentinels (single-flight); move the connections if the primary moved."""
        return self._flight.run(self._discover)

    def refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            log.debug("%s: asking the sentinels failed: %r", self, exc)

    def _discover(self) -> Address:
        host, port, epoch = self._sentinel._find_master(self.service)
        return self._accept(Address(host=host, port=port), epoch, "the sentinels name")

    def _accept(self, address: Address, epoch: int, how: str) -> Address:
        current = self._address
        if current is not None and epoch < self._epoch:
            return current  # an older configuration than the one we follow
        self._epoch = max(epoch, self._epoch)
        self._found_at = monotonic()
        if address != current:
            self._address = address
            if current is not None:
                self._move(f"{self}: {how} {address} as the primary instead of {current}")
        return address

    def announced(self, host: str, port: int) -> None:
        """A sentinel announced ``host:port`` as the primary: move there now."""
        address = Address(host=self._sentinel._master_host(host), port=port)
        if address == self._address:
            self._found_at = monotonic()
            return
        self._accept(address, self._epoch + 1, "a sentinel announced")

    def _move(self, cause: str) -> None:
        log.info("%s", cause)
        self._sentinel._counters["moves"] += 1
        for node in list(self._nodes):
            node.reconnect_all(cause)
        address = self._address
        if address is not None:
            self._sentinel._watch.replicas_moved(
                self.service, (str(address.host), int(address.port or 0))
            )

    def watch(self, codec: Any) -> Any:
        return _ReadOnlyWatch(codec, self.suspect, self.service)

    def suspect(self) -> None:
        """A ``READONLY`` reply came: ask the sentinels again now (never blocks)."""
        self._found_at = float("-inf")
        if not self._flight.busy:
            gevent.spawn(self.refresh_quietly)


class _ReplicaLocator:
    """Where ``slave_for``'s client connects next: the replicas in turn, else the primary.

    A replica the primary's clients of the service know to be the primary
    now is skipped, even while the sentinels still list it.
    """

    def __init__(self, sentinel: Sentinel, service: str) -> None:
        self.service = service
        self._sentinel = sentinel
        self._replicas: list[tuple[str, int]] = []
        self._found_at = float("-inf")
        self._flight = _SingleFlight()
        self._turn = random.randrange(1 << 16)
        self._nodes: weakref.WeakSet[Node] = weakref.WeakSet()
        self._pending: tuple[str, int] | None = None
        self._rechecking = False
        _fork.register(self, owner=False)

    def _forget_inherited(self) -> None:
        """In a child after fork(): a discovery or recheck under way is the parent's."""
        self._flight = _SingleFlight()
        self._pending = None
        self._rechecking = False

    def __str__(self) -> str:
        return f"redis+sentinel://{self.service}?replicas"

    def attach(self, node: Node) -> None:
        self._nodes.add(node)

    def locate(self) -> Address:
        self._sentinel._watch.listen()  # after fork(): the child's own listeners
        if monotonic() - self._found_at >= TRUST_SECONDS:
            self._replicas = self._flight.run(self._discover)
            self._found_at = monotonic()
        replicas = self._replicas
        if replicas:
            self._turn += 1
            host, port = replicas[self._turn % len(replicas)]
            return Address(host=host, port=port)
        try:
            host, port, _ = self._sentinel._find_master(self.service)
        except MasterNotFoundError:
            raise SlaveNotFoundError(f"No slave found for {self.service!r}") from None
        return Address(host=host, port=port)

    def _discover(self, primary: tuple[str, int] | None = None) -> list[tuple[str, int]]:
        if primary is None:
            known = self._sentinel._watch.locators.get(self.service)
            address = None if known is None else known.address
            if address is not None:
                primary = (str(address.host), int(address.port or 0))
        return [r for r in self._sentinel._find_slaves(self.service) if r != primary]

    def recheck(self, primary: tuple[str, int]) -> None:
        """After a failover to ``primary``: a client with a connection on a server
        no longer listed as a replica (or now the primary) reconnects all of them.

        Concurrent calls (an announcement from each sentinel) run one after
        the other, the latest primary once more, so that a client moves once.
        """
        self._pending = primary
        if self._rechecking:
            return
        self._rechecking = True
        pid = _fork.pid
        try:
            while self._pending is not None and _fork.pid == pid:
                primary, self._pending = self._pending, None
                self._recheck(primary)
        finally:
            self._rechecking = False

    def _recheck(self, primary: tuple[str, int]) -> None:
        try:
            replicas = self._discover(primary)
        except Exception as exc:
            log.debug("%s: asking the sentinels failed: %r", self, exc)
            return
        if not replicas:
            return  # the connects would go to the primary: leave them where they are
        self._replicas, self._found_at = replicas, monotonic()
        listed = set(replicas)
        for node in list(self._nodes):
            if node.closed:
                continue
            gone = {
                (str(conn.address.host), int(conn.address.port or 0))
                for conn in node.shared_pool.connected_connections
            } - listed
            if gone:
                self._sentinel._counters["replica_moves"] += 1
                node.reconnect_all(
                    f"{self}: {', '.join(f'{h}:{p}' for h, p in sorted(gone))} "
                    "no longer a replica"
                )

    def watch(self, codec: Any) -> Any:
        return codec


class _ReadOnlyWatch:
    """A primary's codec: a ``READONLY`` error reply becomes a :class:`DemotedReply`
    (raised as :class:`~greenpool.redis.PrimaryDemotedError`, a
    :class:`~greenpool.ConnectionError` as in redis-py) and calls ``on_readonly()``.

    It looks at the received bytes first (with the end of the previous
    read: a reply may be split across reads), so the common case costs two
    substring searches; the replies are looked at only in the few reads
    that give replies after bytes that mention ``READONLY``.  A value that
    merely contains the text costs those looks.
    """

    __slots__ = ("_codec", "_note", "_on_readonly", "_scans", "_tail", "is_push", "key_of")

    #: Reads giving replies that are looked at after bytes that mention READONLY.
    SCANS = 4

    def __init__(self, codec: Any, on_readonly: Callable[[], None], service: str) -> None:
        self._codec = codec
        self._on_readonly = on_readonly
        self._note = f" ({service!r}: the server is no longer the primary; asking the sentinels)"
        self._scans = 0
        self._tail = b""
        self.is_push = codec.is_push
        self.key_of = codec.key_of

    def feed(self, data: bytes) -> list[Any]:
        messages: list[Any] = self._codec.feed(data)
        if b"READONLY" in data or b"READONLY" in self._tail + data[:8]:
            self._scans = self.SCANS
        self._tail = data[-8:] if len(data) >= 8 else (self._tail + data)[-8:]
        if self._scans and messages:  # a reply completes only in a read that gives some
            self._scans -= 1
            if self._demote(messages):
                self._on_readonly()
        return messages

    def _demote(self, replies: list[Any]) -> bool:
        found = False
        for index, reply in enumerate(replies):
            if type(reply) is ReplyError and reply.kind == "READONLY":
                replies[index] = DemotedReply(reply.message + self._note)
                found = True
            elif type(reply) is list:
                found = self._demote(reply) or found  # EXEC's replies
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._codec, name)


class _Watch:
    """The announcements of one :class:`Sentinel`, for its primaries' clients.

    Its greenlets hold it weakly: once the :class:`Sentinel` (and so this)
    is gone, or :meth:`stop` ran, they end.  ``locators`` maps each service
    to its :class:`_PrimaryLocator`, weakly.
    """

    def __init__(self, sentinels: list[Redis], counters: dict[str, int]) -> None:
        self._sentinels = sentinels
        self._counters = counters
        self.locators: weakref.WeakValueDictionary[str, _PrimaryLocator] = (
            weakref.WeakValueDictionary()
        )
        self.replicas: weakref.WeakSet[_ReplicaLocator] = weakref.WeakSet()
        self._greenlets: list[Any] = []
        self.stopped = False
        _fork.register(self, owner=False)

    def _forget_inherited(self) -> None:
        """In a child after fork(): the listeners are the parent's; their copies stop
        at their next wake-up, and :meth:`listen` starts the child's own.  The
        Sentinel's counters (shared with this watch) start from zero."""
        self._greenlets = []
        for key in self._counters:
            self._counters[key] = 0

    def listening(self, glet: Any) -> bool:
        """Whether ``glet`` is one of this watch's listeners now."""
        return not self.stopped and any(g is glet for g in self._greenlets)

    def replicas_moved(self, service: str, primary: tuple[str, int]) -> None:
        """A failover of ``service`` to ``primary``: the replicas' clients recheck
        where their connections are (in greenlets of their own)."""
        for locator in list(self.replicas):
            if locator.service == service:
                gevent.spawn(locator.recheck, primary)

    def listen(self) -> None:
        """Start the listeners, unless they run or :meth:`stop` ran."""
        if self._greenlets or self.stopped:
            return
        me = weakref.ref(self)
        for sentinel in self._sentinels:
            glet = gevent.spawn(_listen, sentinel, me)
            glet.name = f"greenpool-sentinel-listen-{sentinel.settings.address}"
            self._greenlets.append(glet)

    def event(self, channel: Any, data: Any) -> None:
        kind, parts = _text(channel), _text(data).split()
        if kind == "+switch-master" and len(parts) == 5:
            name, host, port = parts[0], parts[3], parts[4]
        elif kind in _REPLICA_EVENTS and len(parts) == 8 and parts[4] == "@":
            name, host, port = parts[5], parts[2], parts[3]
        else:
            return
        self._counters["announcements"] += 1
        locator = self.locators.get(name)
        if locator is not None:
            locator.announced(host, int(port))
        if kind == "+switch-master":  # the sentinels' replica lists are updated now
            self.replicas_moved(name, (host, int(port)))

    def stop(self) -> None:
        self.stopped = True
        greenlets, self._greenlets = self._greenlets, []
        for glet in greenlets:
            glet.kill(block=False)
        for locator in list(self.locators.values()):
            locator.stop()


def _listen(sentinel: Redis, watch_ref: weakref.ref[_Watch]) -> None:
    """Receive one sentinel's announcements until the watch is gone, stopped, or
    has other listeners (this is a copy of the parent's, after fork())."""
    backoff = Backoff(base=0.05, cap=1.0)
    me = gevent.getcurrent()
    while _listening(watch_ref, me):
        pubsub = sentinel.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(*_EVENTS)
            while True:
                message = pubsub.get_message(timeout=1.0)
                watch = watch_ref()
                if watch is None or not watch.listening(me):
                    return
                if message is not None:
                    backoff = Backoff(base=0.05, cap=1.0)
                    watch.event(message["channel"], message["data"])
                del watch
        except Exception as exc:
            log.debug("listening to %s failed: %r", sentinel.settings.address, exc)
        finally:
            pubsub.close()
        backoff = backoff.increment()
        gevent.sleep(backoff.delay())


def _listening(watch_ref: weakref.ref[_Watch], glet: Any) -> bool:
    watch = watch_ref()
    return watch is not None and watch.listening(glet)


def _same_process(pid: int) -> None:
    """ConnectionError in a child when the work began in the parent, before fork()."""
    if _fork.pid != pid:
        raise ConnectionError("fork() while asking the sentinels: the parent's question")


def _poll(locator_ref: weakref.ref[_PrimaryLocator], interval: float) -> None:
    """Ask the sentinels every ``interval`` seconds for one service, while a
    client of it is open and its :class:`Sentinel` watches."""
    while True:
        gevent.sleep(interval)
        locator = locator_ref()
        if locator is None or not locator.polling() or locator._poller is not gevent.getcurrent():
            return  # ... or a copy of the parent's poller, after fork()
        locator.poll()
        del locator


def _close_when_unused(sentinel_ref: weakref.ref[Sentinel], interval: float) -> None:
    """Finish a :meth:`Sentinel.close` once no client it made is open."""
    while True:
        gevent.sleep(interval)
        sentinel = sentinel_ref()
        if sentinel is None:
            return
        if not sentinel._in_use():
            sentinel._shutdown()
            return
        del sentinel
