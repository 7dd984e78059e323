"""``greenpool.tarantool.ConnectionPool``: a mode-aware pool of per-instance units.

tarantool-python's ``ConnectionPool`` API (``addrs`` as a list of dicts,
``Mode`` ANY/RW/RO/PREFER_RW/PREFER_RO, the same default modes, pluggable
strategies, ``PoolTopologyError``) over green connections.

Design
------

The pool keeps one :class:`PoolUnit` per instance.  A unit holds
``connections_per_instance`` multiplexed :class:`~greenpool.tarantool.Connection`
objects (default 1), its :class:`~greenpool.pool.modes.InstanceState`, and
a **worker greenlet fed by a gevent Queue**.

The worker owns the unit's life cycle, never its requests.  It connects,
then every ``refresh_delay`` seconds calls ``box.info`` and sets the state
from ``ro`` and ``status``; while the instance is down it reconnects in the
background with exponential back-off (never waiting longer than
``refresh_delay``).  Between refreshes it blocks on ``queue.get(timeout=...)``,
so an idle pool costs one ``box.info`` per instance per ``refresh_delay``
and nothing else.  The queue carries control messages: *refresh now* (a
connection broke, a write was refused as read-only, a request found no
instance for its mode) and *stop*.  A refresh that fails in any way (no
connection, a :class:`~greenpool.tarantool.DatabaseError` such as "bootstrap
hasn't finished", a malformed reply, no answer within ``health_timeout``)
marks the unit UNHEALTHY and is retried; the worker catches everything but
its own kill, so it never dies.

Requests do **not** go through the worker: the caller's greenlet picks a
unit with the strategy, picks the unit's least loaded connection and sends
on it directly.  A worker that relayed requests would serialise them, add
two greenlet switches per request and make one slow reply hold up the
rest; the multiplexed connection already lets any number of greenlets
share the socket, each getting its own reply by sync id.

Deadlines and retries
---------------------

Every request has a deadline: ``socket_timeout`` bounds the wait for the
reply, and ``deadline`` (60 s by default) bounds the whole call, retries
included.  No caller waits on a dead unit: a connection that breaks fails
its pending requests at once with :class:`~greenpool.tarantool.NetworkError`
and marks the unit UNHEALTHY (the strategy stops choosing it) before the
next refresh.  Retries happen only where they are safe:

* a request that never left (its unit could not be connected) is sent to
  another unit fitting the mode;
* ``select`` and ``ping`` are also resent to another fitting unit when the
  connection broke under them (they change nothing);
* ``insert``/``replace``/``update``/``upsert``/``delete`` refused with
  ``ER_READONLY`` or ``ER_LOADING`` (the server did nothing) are sent to
  another fitting unit after the refusing unit's state is corrected;
* nothing is resent after a timeout, and ``call``/``eval``/``execute``/
  ``crud_*`` are never resent once they left.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import replace
from time import monotonic
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.queue import Empty, Queue

from .._backoff import Backoff
from .._fork import register
from .._secrets import mask_value
from .._stats import RequestCounters, add_up
from .._util import check_bool, check_float, check_int
from ..errors import ConfigurationError, PoolClosed, ProtocolError
from ..pool.modes import (
    InstanceState,
    Mode,
    PoolTopologyError,
    RoundRobinStrategy,
    Status,
    StrategyInterface,
    parse_mode,
)
from ..protocol.iproto import (
    ER_LOADING,
    ER_READONLY,
    DatabaseError,
    IteratorType,
    encode_insert,
    encode_replace,
)
from ._requests import (
    Build,
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
from .connection import DEFAULT_DEADLINE, Connection, OnPush, check_request_timeout
from .crud import CrudMixin
from .errors import NetworkError, NetworkTimeoutError
from .response import Response
from .settings import Endpoint, endpoint_from_addr
from .url import parse_url

__all__ = ["ConnectionPool", "PoolUnit"]

log = logging.getLogger("greenpool.tarantool.pool")

_U32_MAX = 0xFFFF_FFFF
_REFRESH = "refresh"
_STOP = "stop"
#: A unit refreshes at most this often, however many wake-ups it gets.
_MIN_REFRESH_INTERVAL = 0.05
#: The wait between failed refreshes: 0.1 s doubling up to ``refresh_delay``,
#: at least half of each step (equal jitter).
_REFRESH_BACKOFF = Backoff(base=0.1, jitter=0.5)

# Request kinds, for the retry rules.
_READ = 1  # select, ping: resent after a broken connection
_WRITE = 2  # box data changes: resent after ER_READONLY / ER_LOADING
_OTHER = 3  # call, eval, execute, crud: resent only if never sent


_BOX_INFO: tuple[str, tuple[()]] = ("box.info", ())
# What the pool's stats() take from its connections' (the rest it counts itself).
_FROM_CONNECTIONS = (
    "connections", "requests_pending", "connections_num", "connections_errors",
    "connections_lost", "reconnects",
)


class PoolUnit:
    """One instance of the pool: its connections, state and worker greenlet.

    :attr:`addr` is the address dict as given (passwords masked),
    :attr:`connections` the unit's multiplexed connections (:attr:`conn` is
    the first), :attr:`input_queue` the worker's queue, :attr:`state` the
    :class:`~greenpool.pool.modes.InstanceState` from the last refresh,
    :attr:`last_error` why it is unhealthy.  Strategies read
    :attr:`state` and :attr:`load`.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        addr: Mapping[str, Any],
        endpoint: Endpoint,
        connections: list[Connection],
    ) -> None:
        # Weakly: the worker greenlet and the connections' listeners hold the
        # unit, and a ConnectionPool dropped without close() must still be
        # collected (its finaliser then stops the units).
        self._pool_ref = weakref.ref(pool)
        self.addr = mask_value(addr)
        self.endpoint = endpoint
        self.connections = connections
        #: The connection when the unit has only one (the requests' fast path).
        self.only: Connection | None = connections[0] if len(connections) == 1 else None
        self.input_queue: Queue[str] = Queue()
        self.worker: Any = None
        self.state = InstanceState(Status.UNHEALTHY, None)
        self.last_error: BaseException | None = None
        self.last_refresh = 0.0
        self.refreshes = 0
        self._wake_queued = False
        self._failures = 0
        for conn in connections:
            conn.add_close_listener(self._on_connection_closed)

    def __repr__(self) -> str:
        ro = {None: "?", True: "ro", False: "rw"}[self.state.read_only]
        return (
            f"<PoolUnit {self.endpoint} {self.state.status.name} {ro} "
            f"connected={sum(c.connected for c in self.connections)}/{len(self.connections)} "
            f"load={self.load}>"
        )

    # -- what strategies and requests read -------------------------------

    @property
    def pool(self) -> ConnectionPool:
        """The :class:`ConnectionPool` of the unit.

        Raises ReferenceError once the pool was collected (its units are
        stopped then).
        """
        pool = self._pool_ref()
        if pool is None:
            raise ReferenceError("the unit's ConnectionPool was collected")
        return pool

    @property
    def conn(self) -> Connection:
        """The unit's first connection (tarantool-python's ``PoolUnit.conn``)."""
        return self.connections[0]

    @property
    def load(self) -> int:
        """Requests in flight on the unit's connections."""
        conns = self.connections
        if len(conns) == 1:
            return conns[0].load
        return sum(c.load for c in conns)

    def pick(self) -> Connection:
        """The least loaded connected connection (or the first, which then reconnects)."""
        conns = self.connections
        if len(conns) == 1:
            return conns[0]
        best: Connection | None = None
        least = 0
        for conn in conns:
            if conn.connected:
                load = conn.load
                if best is None or load < least:
                    best, least = conn, load
        return best if best is not None else conns[0]

    @property
    def connected(self) -> bool:
        """True when at least one of the unit's connections is open."""
        return any(c.connected for c in self.connections)

    def describe(self) -> str:
        """One line: the address and why the unit is (not) usable."""
        state = self.state
        if state.status is Status.HEALTHY:
            return f"{self.endpoint}: {'read-only' if state.read_only else 'read-write'}"
        why = _short(self.last_error) if self.last_error is not None else "not checked yet"
        return f"{self.endpoint}: unhealthy ({why})"

    # -- state ---------------------------------------------------------

    def _set_state(self, state: InstanceState, error: BaseException | None = None) -> None:
        if state.status is Status.UNHEALTHY:
            self.last_error = error
        else:
            self.last_error = None
        if state != self.state:
            old, self.state = self.state, state
            log.info("%s: %s -> %s%s", self.endpoint, _label(old), _label(state),
                     f" ({_short(error)})" if error is not None else "")
            pool = self._pool_ref()
            if pool is not None:
                pool._state_changed()

    def _mark_unhealthy(self, error: BaseException | None) -> None:
        self._set_state(InstanceState(Status.UNHEALTHY, self.state.read_only), error)

    def _on_connection_closed(self, conn: Connection, cause: BaseException | None) -> None:
        pool = self._pool_ref()
        if pool is None or pool._closed or any(c.connected for c in self.connections):
            return
        self._mark_unhealthy(cause or NetworkError("connection closed", str(self.endpoint)))
        self.wake()

    def refused(self, error: DatabaseError) -> None:
        """A write was refused with ER_READONLY / ER_LOADING: correct the state now, recheck."""
        if error.code == ER_READONLY:
            self._set_state(InstanceState(self.state.status, True))
        else:
            self._mark_unhealthy(error)
        self.wake()

    def wake(self) -> None:
        """Ask the worker to refresh soon (coalesced; never blocks)."""
        if not self._wake_queued:
            self._wake_queued = True
            self.input_queue.put_nowait(_REFRESH)
        worker = self.worker
        pool = self._pool_ref()
        if (worker is not None and worker.dead and pool is not None and not pool._closed
                and pool._started):
            self.start()

    # -- the worker ----------------------------------------------------

    def start(self) -> None:
        """Start the worker greenlet (idempotent)."""
        if self.worker is None or self.worker.dead:
            self.worker = gevent.spawn(_unit_worker, weakref.ref(self))
            self.worker.name = f"greenpool-tarantool-unit-{self.endpoint}"

    def stop(self) -> None:
        """Stop the worker and close the connections (pending requests fail)."""
        worker, self.worker = self.worker, None
        if worker is not None and not worker.dead:
            self.input_queue.put_nowait(_STOP)
            if worker is not gevent.getcurrent():
                worker.kill(block=False)
        for conn in self.connections:
            conn.close()
        self.state = InstanceState(Status.UNHEALTHY, self.state.read_only)

    def _next_wait(self, fresh: bool) -> float:
        """One round of the worker: refresh unless ``fresh``; how long to wait until the next."""
        delay = self.pool.refresh_delay
        if fresh:
            return delay - (monotonic() - self.last_refresh)
        if self.refresh():
            self._failures = 0
            return delay
        self._failures += 1
        return replace(_REFRESH_BACKOFF, cap=delay, attempts=self._failures).delay()

    def _woken(self) -> None:
        """After a wake-up message: coalesce, and keep refreshes apart."""
        self._wake_queued = False
        since = monotonic() - self.last_refresh
        if since < _MIN_REFRESH_INTERVAL:
            gevent.sleep(_MIN_REFRESH_INTERVAL - since)

    def refresh(self) -> bool:
        """Connect what is broken, read ``box.info``, set the state; True when healthy.

        Blocks the calling greenlet (the worker) up to ``connection_timeout``
        plus ``health_timeout``.  Never raises an Exception: every failure
        marks the unit UNHEALTHY.
        """
        self.last_refresh = monotonic()
        self.refreshes += 1
        pool = self.pool
        error: BaseException | None = None
        broken = [c for c in self.connections if not c.connected]
        if broken:
            errors: list[BaseException] = []

            def one(conn: Connection) -> None:
                try:
                    conn.connect()
                except Exception as exc:
                    errors.append(exc)

            if len(broken) == 1:
                one(broken[0])
            else:
                gevent.joinall([gevent.spawn(one, c) for c in broken])
            if errors:
                error = errors[-1]
        live = [c for c in self.connections if c.connected]
        if not live:
            self._mark_unhealthy(error or NetworkError("not connected", str(self.endpoint)))
            return False
        try:
            reply = live[0].perform(build_call, _BOX_INFO, pool.health_timeout)
            info = reply.data[0] if reply.data else None
            if not isinstance(info, Mapping) or not isinstance(info.get("ro"), bool):
                raise ProtocolError(f"box.info gave no 'ro' flag: {reply!r}")
        except NetworkTimeoutError as exc:
            # The instance stopped answering: fail what waits on it now.
            self._mark_unhealthy(exc)
            for conn in self.connections:
                conn.abort(NetworkError(f"box.info unanswered for {pool.health_timeout}s",
                                        str(self.endpoint)))
            return False
        except Exception as exc:
            self._mark_unhealthy(exc)
            return False
        status = info.get("status")
        if status != "running":
            self._set_state(
                InstanceState(Status.UNHEALTHY, info["ro"]),
                DatabaseError(0, f"box.info.status is {status!r}, not 'running'"),
            )
            return False
        self._set_state(InstanceState(Status.HEALTHY, info["ro"]))
        return True



def _unit_worker(ref: weakref.ref[PoolUnit]) -> None:
    """A unit's worker greenlet: refresh, wait for the delay or a message, repeat.

    Holds its unit only while it refreshes, never while it waits, so that a
    pool dropped without ``close()`` can be collected.  Ends on a stop
    message, when it is no longer its unit's worker (stopped, or the copy
    of a parent's worker after ``fork()``), or when the unit is gone.
    Catches everything else: it logs, pauses, and goes on.
    """
    me = gevent.getcurrent()
    fresh: bool | None = None  # connect() has just refreshed: start with the wait
    while True:
        unit = ref()
        if unit is None or unit.worker is not me:
            return
        try:
            if fresh is None:
                fresh = unit.state.status is Status.HEALTHY
            wait = unit._next_wait(fresh)
            fresh = False
            queue = unit.input_queue
            del unit
            if wait > 0:
                message = _next_message(queue, wait)
                if message == _STOP:
                    return
                if message is not None:
                    unit = ref()
                    if unit is None:
                        return
                    unit._woken()
                    del unit
        except GreenletExit:
            return
        except BaseException:  # the worker must never die: log, pause, go on
            unit = ref()
            log.exception("%s: unit worker error (continuing)",
                          unit.endpoint if unit is not None else "?")
            pause = 1.0
            if unit is not None:
                pool = unit._pool_ref()
                if pool is not None:
                    pause = min(1.0, pool.refresh_delay)
            del unit
            try:
                gevent.sleep(pause)
            except GreenletExit:
                return


def _stop_units(units: list[PoolUnit]) -> None:
    for unit in units:
        unit.stop()


def _next_message(queue: Queue[str], timeout: float) -> str | None:
    """Wait up to ``timeout`` for a message; take every other one queued with it.

    Returns ``_STOP`` if any of them is, a wake-up otherwise, None when
    ``timeout`` passed first.
    """
    try:
        message: str = queue.get(timeout=timeout)
    except Empty:
        return None
    while message != _STOP:
        try:
            message = queue.get_nowait()
        except Empty:
            break
    return message


class ConnectionPool(CrudMixin):
    """A pool over the instances of one replica set, routing each request by mode.

    ``addrs``: a non-empty list of address dicts (``{"host": ..., "port":
    ...}`` plus per-instance TLS keys; see
    :func:`~greenpool.tarantool.settings.endpoint_from_addr`).
    ``user``/``password``, ``socket_timeout``, ``connection_timeout``,
    ``reconnect_max_attempts``/``reconnect_delay`` (the per-connection
    reconnect a request does when it finds its connection down) and
    ``fetch_schema`` apply to every connection, as in tarantool-python.
    ``strategy_class`` (a :class:`~greenpool.pool.modes.StrategyInterface`
    subclass: :class:`~greenpool.pool.modes.RoundRobinStrategy`, the
    default, or :class:`~greenpool.pool.modes.LeastLoadedStrategy`) picks
    the instance.  ``refresh_delay`` is the time between ``box.info``
    refreshes of each instance.

    greenpool's own: ``connections_per_instance`` (multiplexed connections
    per instance, default 1), ``deadline`` (the bound on any request,
    retries included; default 60 s), ``health_timeout`` (a ``box.info``
    unanswered this long marks the instance unhealthy and closes its
    connections; default 3 s).  ``encoding`` (only ``"utf-8"``) and
    ``call_16`` (only False) are accepted for compatibility.

    With ``connect_now`` the constructor connects to every instance and
    reads its state (concurrently, blocking up to about
    ``connection_timeout + health_timeout``); instances that fail are only
    logged and retried in the background.  Otherwise :meth:`connect` (or
    the first request) does it.

    Request methods block the calling greenlet until the reply and return a
    :class:`~greenpool.tarantool.Response`.  They raise
    :class:`~greenpool.pool.modes.PoolTopologyError` when no healthy
    instance fits the mode (the message lists every instance and why),
    :class:`~greenpool.tarantool.NetworkError` /
    :class:`~greenpool.tarantool.NetworkTimeoutError`,
    :class:`~greenpool.tarantool.DatabaseError`,
    :class:`~greenpool.ConfigurationError` (a ValueError) for a missing or
    unknown mode, and :class:`~greenpool.PoolClosed` after
    :meth:`close`.  Each takes ``timeout=`` to override ``deadline`` once.
    """

    def __init__(
        self,
        addrs: Sequence[Mapping[str, Any]],
        user: str | None = None,
        password: str | None = None,
        socket_timeout: float | None = None,
        reconnect_max_attempts: int = 0,
        reconnect_delay: float = 0,
        connect_now: bool = True,
        connection_timeout: float | None = None,
        strategy_class: type[StrategyInterface] = RoundRobinStrategy,
        refresh_delay: float = 1,
        fetch_schema: bool = True,
        *,
        connections_per_instance: int = 1,
        deadline: float = DEFAULT_DEADLINE,
        health_timeout: float = 3.0,
        encoding: str = "utf-8",
        call_16: bool = False,
        name: str | None = None,
    ) -> None:
        if not isinstance(addrs, (list, tuple)) or not addrs:
            raise ConfigurationError("addrs", addrs, "must be a non-empty list of address dicts")
        endpoints = [endpoint_from_addr(a, argument="addrs") for a in addrs]
        seen: set[str] = set()
        for endpoint in endpoints:
            if str(endpoint) in seen:
                raise ConfigurationError("addrs", str(endpoint), "is listed twice")
            seen.add(str(endpoint))
        if not (isinstance(strategy_class, type) and issubclass(strategy_class, StrategyInterface)):
            raise ConfigurationError(
                "strategy_class", strategy_class, "must be a StrategyInterface subclass"
            )
        if encoding not in ("utf-8", "utf8"):
            raise ConfigurationError("encoding", encoding, "only 'utf-8' is supported")
        if call_16 is not False:
            raise ConfigurationError("call_16", call_16, "CALL_16 is not supported")
        self.refresh_delay = check_float("refresh_delay", refresh_delay, strict=True) or 1.0
        self.health_timeout = check_float("health_timeout", health_timeout, strict=True) or 3.0
        self.deadline = check_float("deadline", deadline, strict=True) or DEFAULT_DEADLINE
        per = check_int("connections_per_instance", connections_per_instance, minimum=1) or 1
        self.connections_per_instance = per
        self.name = name or f"tarantool-pool {','.join(str(e) for e in endpoints)}"
        self._closed = False
        self._started = False
        self._ready = False  # started and not closed: the hot path checks one flag
        self._connecting: Any = None  # the greenlet running connect()'s work
        # Counters (see stats()).
        self._requests = RequestCounters()
        self._retries = 0
        register(self)
        self.units: list[PoolUnit] = []
        #: tarantool-python's ``pool``: units by ``"host:port"``.
        self.pool: dict[str, PoolUnit] = {}
        for addr, endpoint in zip(addrs, endpoints, strict=True):
            conns = [
                Connection(
                    user=user, password=password, socket_timeout=socket_timeout,
                    reconnect_max_attempts=reconnect_max_attempts,
                    reconnect_delay=reconnect_delay, reconnect_backoff=1.0,
                    connect_now=False, connection_timeout=connection_timeout,
                    fetch_schema=fetch_schema, deadline=self.deadline, endpoint=endpoint,
                    name=f"tarantool {endpoint}" + (f" #{i}" if per > 1 else ""),
                )
                for i in range(per)
            ]
            unit = PoolUnit(self, addr, endpoint, conns)
            self.units.append(unit)
            self.pool[str(endpoint)] = unit
        self.strategy: StrategyInterface = strategy_class(self.units)
        self._getnext = self.strategy.getnext
        # A pool dropped without close(): stop the workers, close the sockets.
        finalizer = weakref.finalize(self, _stop_units, list(self.units))
        finalizer.atexit = False
        if check_bool("connect_now", connect_now):
            self.connect()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ConnectionPool:
        """A pool from ``tarantool://[user[:password]@]host[:port][,host[:port]...][?options]``.

        The form and its options are in :mod:`greenpool.tarantool.url`
        (``TARANTOOL_URL`` by convention); ``kwargs`` override the URL's
        (``strategy_class=``, ``connect_now=``...).  Raises
        :class:`~greenpool.ConfigurationError`, the password masked, for a
        URL it can't read; otherwise as the constructor.
        """
        options = parse_url(url)
        options.update(kwargs)
        return cls(**options)

    def stats(self) -> dict[str, int]:
        """Counters since the pool was made (or the last :meth:`pop_stats`), and gauges.

        Gauges: ``instances``, ``instances_healthy`` (healthy at the last
        refresh), ``connections`` (open now, all instances),
        ``requests_pending`` (in flight).  Counters: ``requests_num``
        (requests made through the pool; the workers' ``box.info`` checks
        are not counted), ``requests_errors`` (requests that raised, retries
        exhausted), ``requests_timeouts`` and ``requests_error_replies`` (of
        those), ``requests_retries`` (tries sent again to another instance),
        and from the connections ``connections_num``,
        ``connections_errors``, ``connections_lost``, ``reconnects`` (see
        :meth:`Connection.stats <greenpool.tarantool.Connection.stats>`).
        Never blocks; safe from another thread.
        """
        return self._stats(reset=False)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters (the connections' too) start again from zero."""
        return self._stats(reset=True)

    def _stats(self, reset: bool) -> dict[str, int]:
        units = list(self.units)
        conns = [c for u in units for c in u.connections]
        stats = {
            "instances": len(units),
            "instances_healthy": sum(u.state.status is Status.HEALTHY for u in units),
            **self._requests.read(reset),
            "requests_retries": self._retries,
        }
        if reset:
            self._retries = 0
        each = add_up(c.pop_stats() if reset else c.stats() for c in conns)
        stats.update((key, each.get(key, 0)) for key in _FROM_CONNECTIONS)
        return stats

    def __repr__(self) -> str:
        units = "; ".join(u.describe() for u in self.units)
        return f"<greenpool.tarantool.ConnectionPool [{units}]>"

    # ------------------------------------------------------------------
    # Life cycle

    def connect(self) -> None:
        """Connect every instance, read its state, start the unit workers.

        Blocks while the first refreshes run (concurrently).  Instances that
        fail are logged and retried in the background; nothing is raised.
        Calling it again (after :meth:`close` too) restarts what is stopped.

        The work runs in a greenlet of its own that concurrent callers
        share: a caller interrupted while it waits (``gevent.Timeout``,
        ``kill()``) leaves the connecting to finish for the others.
        """
        # Open from now on (in the caller, not in the greenlet: a close()
        # before that greenlet runs must not be undone by it).
        self._closed = False
        attempt = self._connecting
        if attempt is None:
            attempt = self._connecting = gevent.spawn(self._connect_units)
            attempt.name = f"greenpool-connect-{self.name}"
        attempt.join()

    def _connect_units(self) -> None:
        try:
            if self._closed:
                return  # closed before this greenlet ran
            self._started = True
            pending = [u for u in self.units if u.worker is None or u.worker.dead]
            gevent.joinall([gevent.spawn(u.refresh) for u in pending])
            if self._closed:
                # close() came while the refreshes ran: close what they opened,
                # start nothing.
                for unit in pending:
                    unit.stop()
                return
            for unit in pending:
                if unit.state.status is not Status.HEALTHY:
                    log.warning("%s: %s", self.name, unit.describe())
                unit.start()
            self._ready = not self._closed
        finally:
            if self._connecting is gevent.getcurrent():
                self._connecting = None

    def close(self) -> None:
        """Stop the workers and close every connection; pending requests fail.

        Never blocks.  Later requests raise :class:`~greenpool.PoolClosed`.
        """
        self._closed = True
        self._started = False
        self._ready = False
        for unit in self.units:
            unit.stop()
        self.strategy.update()

    def _forget_inherited(self) -> None:
        """In a child after fork(): nothing checked, nothing started (see :mod:`greenpool._fork`).

        The connections severed their sockets themselves.  The copies of the
        parent's unit workers stop at their next wake-up (they are no longer
        their unit's worker); the child's first request connects and starts
        workers of its own.
        """
        self._ready = False
        self._started = False
        self._connecting = None
        for unit in self.units:
            unit.worker = None
            unit.input_queue = Queue()
            unit._wake_queued = False
            unit._failures = 0
            unit.state = InstanceState(Status.UNHEALTHY, None)
            unit.last_error = None
        self.strategy.update()

    def is_closed(self) -> bool:
        """True when no connection of any instance is open (after :meth:`close` too)."""
        return self._closed or not any(u.connected for u in self.units)

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _state_changed(self) -> None:
        self.strategy.update()

    # ------------------------------------------------------------------
    # Sending

    def _topology_error(self, mode: Mode, error: PoolTopologyError) -> PoolTopologyError:
        details = "; ".join(u.describe() for u in self.units)
        for unit in self.units:
            unit.wake()
        return PoolTopologyError(f"{error} [{details}]")

    def _send(
        self,
        mode: Any,
        build: Build,
        args: tuple[Any, ...],
        kind: int,
        timeout: float | None = None,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        verify: bool = False,
    ) -> Response:
        self._requests.num += 1
        try:
            if type(mode) is not Mode:
                mode = parse_mode(mode)
            if not self._ready:
                if self._closed:
                    raise PoolClosed(f"{self.name}: the pool is closed")
                self.connect()
            if timeout is None:
                timeout = self.deadline
            elif type(timeout) is not float or not timeout > 0:
                timeout = check_request_timeout(timeout)
            deadline = monotonic() + timeout
            getnext = self._getnext
            tries = 0
            last: BaseException | None = None
            while True:
                try:
                    unit: PoolUnit = getnext(mode)
                except PoolTopologyError as exc:
                    error = self._topology_error(mode, exc)  # also wakes every unit
                    if last is not None:
                        raise last
                    raise error from None
                try:
                    conn = unit.only or unit.pick()
                    # The first try may wait the whole timeout (see Connection.perform).
                    return conn.perform(build, args, None if tries else timeout, on_push,
                                         on_push_ctx, verify, deadline)
                except NetworkTimeoutError:
                    raise
                except NetworkError as exc:
                    if not unit.connected:
                        unit._mark_unhealthy(exc)
                        unit.wake()
                    tries += 1
                    if (exc.sent and kind != _READ) or tries >= len(self.units) + 1:
                        raise
                    self._retries += 1
                    last = exc
                except DatabaseError as exc:
                    tries += 1
                    if kind != _WRITE or exc.code not in (ER_READONLY, ER_LOADING) \
                            or tries >= len(self.units) + 1:
                        raise
                    unit.refused(exc)
                    self._retries += 1
                    last = exc
        except BaseException as exc:
            self._requests.failed(exc)
            raise

    def _crud_call(self, name: str, args: list[Any], mode: Any = None) -> Response:
        return self._send(Mode.ANY if mode is None else mode, build_call, (name, args), _OTHER)

    # ------------------------------------------------------------------
    # tarantool-python's request methods

    def ping(self, notime: bool = False, *, mode: Any = None,
             timeout: float | None = None) -> float | str:
        """PING an instance fitting ``mode`` (required); the round trip in s, or ``"Success"``."""
        _need_mode("ping", mode)
        start = monotonic()
        self._send(mode, build_ping, (), _READ, timeout)
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
        mode: Any = Mode.ANY,
        on_push: OnPush | None = None,
        on_push_ctx: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """SELECT on an instance fitting ``mode`` (default ANY); see Connection.select."""
        if iterator is None:
            iterator = default_iterator(key)
        return self._send(mode, build_select, (space_name, key, offset, limit, index, iterator),
                          _READ, timeout, on_push, on_push_ctx,
                          type(space_name) is not int or type(index) is not int)

    def insert(self, space_name: str | int, values: Sequence[Any], *, mode: Any = Mode.RW,
               on_push: OnPush | None = None, on_push_ctx: Any = None,
               timeout: float | None = None) -> Response:
        """INSERT on an instance fitting ``mode`` (default RW)."""
        return self._send(mode, build_store, (encode_insert, space_name, values),
                          _WRITE, timeout, on_push, on_push_ctx)

    def replace(self, space_name: str | int, values: Sequence[Any], *, mode: Any = Mode.RW,
                on_push: OnPush | None = None, on_push_ctx: Any = None,
                timeout: float | None = None) -> Response:
        """REPLACE on an instance fitting ``mode`` (default RW)."""
        return self._send(mode, build_store, (encode_replace, space_name, values),
                          _WRITE, timeout, on_push, on_push_ctx)

    def update(self, space_name: str | int, key: Any, op_list: Sequence[Sequence[Any]], *,
               index: str | int = 0, mode: Any = Mode.RW, on_push: OnPush | None = None,
               on_push_ctx: Any = None, timeout: float | None = None) -> Response:
        """UPDATE on an instance fitting ``mode`` (default RW)."""
        return self._send(mode, build_update, (space_name, key, op_list, index),
                          _WRITE, timeout, on_push, on_push_ctx)

    def upsert(self, space_name: str | int, tuple_value: Sequence[Any],
               op_list: Sequence[Sequence[Any]], *, index: str | int = 0, mode: Any = Mode.RW,
               on_push: OnPush | None = None, on_push_ctx: Any = None,
               timeout: float | None = None) -> Response:
        """UPSERT on an instance fitting ``mode`` (default RW)."""
        return self._send(
            mode, build_upsert, (space_name, tuple_value, op_list, index),
            _WRITE, timeout, on_push, on_push_ctx,
        )

    def delete(self, space_name: str | int, key: Any, *, index: str | int = 0,
               mode: Any = Mode.RW, on_push: OnPush | None = None, on_push_ctx: Any = None,
               timeout: float | None = None) -> Response:
        """DELETE on an instance fitting ``mode`` (default RW)."""
        return self._send(mode, build_delete, (space_name, key, index),
                          _WRITE, timeout, on_push, on_push_ctx)

    def call(self, func_name: str, *args: Any, mode: Any = None, on_push: OnPush | None = None,
             on_push_ctx: Any = None, timeout: float | None = None) -> Response:
        """CALL a Lua function on an instance fitting ``mode`` (required)."""
        _need_mode("call", mode)
        return self._send(mode, build_call, (func_name, call_args(args)),
                          _OTHER, timeout, on_push, on_push_ctx)

    def eval(self, expr: str, *args: Any, mode: Any = None, on_push: OnPush | None = None,
             on_push_ctx: Any = None, timeout: float | None = None) -> Response:
        """EVAL Lua on an instance fitting ``mode`` (required)."""
        _need_mode("eval", mode)
        return self._send(mode, build_eval, (expr, call_args(args)),
                          _OTHER, timeout, on_push, on_push_ctx)

    def execute(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
                mode: Any = None, timeout: float | None = None) -> Response:
        """Run SQL on an instance fitting ``mode`` (required)."""
        _need_mode("execute", mode)
        return self._send(mode, build_execute, (query, params), _OTHER, timeout)


def _need_mode(method: str, mode: Any) -> None:
    if mode is None:
        raise ConfigurationError(
            "mode", mode, f"{method}() needs one (Mode.RW, RO, ANY, PREFER_RW or PREFER_RO): "
            "the pool can't tell whether it reads or writes"
        )


def _label(state: InstanceState) -> str:
    ro = {None: "", True: " ro", False: " rw"}[state.read_only]
    return f"{state.status.name}{ro}"


def _short(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
