"""PostgreSQL through psycopg2 or psycopg 3 on the checkout pool: :class:`PostgresPool`.

One checkout :class:`~greenpool.Pool` (a :class:`~greenpool.dbapi.DBAPIPool`)
per server; with several servers, a request's :class:`~greenpool.pool.Mode`
picks the server from the roles the :class:`~._roles.RoleMonitor` learns.
What each server's pool adds to the DB-API rules:

* the driver (psycopg2 or psycopg 3, :mod:`._drivers`) is made green, and
  interruptible with a server-side cancel, before the first connection;
* an idle connection is probed before it is handed out (:mod:`._liveness`,
  no round trip); a dead one is replaced, and since it shows the server went
  away, every idle connection to that server made before that moment is
  dropped too;
* a connection an error broke, or a failed connect, does the same, and wakes
  the role monitor;
* connecting is bounded by ``connect_timeout`` (libpq doesn't bound an
  asynchronous connect by itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

import gevent

from .._secrets import MASK, is_secret_name
from .._stats import add_up
from .._util import caller_frame, check_bool, check_float, check_timeout
from ..address import Address, parse_server_list
from ..dbapi import (
    DBAPIPool,
    TransactionLease,
    TxState,
    cursor_on,
    run_with_retries,
    transaction_state,
)
from ..errors import ConfigurationError, InvalidRequestError, PoolClosed
from ..pool._entry import Entry
from ..pool._options import OPTION_NAMES, PoolOptions
from ..pool._servers import Server
from ..pool.modes import (
    InstanceState,
    Mode,
    PoolTopologyError,
    RoundRobinStrategy,
    Status,
    StrategyInterface,
    parse_mode,
)
from . import _cancel
from ._drivers import Driver, choose
from ._liveness import Liveness, probe
from ._roles import RoleMonitor

__all__ = ["PostgresPool"]

#: The :class:`~greenpool.Pool` keywords PostgresPool takes, for each server's
#: pool (``name`` is its own; its pools retry by what broke, not by type).
_POOL_KEYWORDS = tuple(n for n in OPTION_NAMES if n not in ("name", "retry_exceptions"))

log = logging.getLogger("greenpool.postgres")

_HIDDEN = "(not shown: it may hold a password)"


def _green_connect(
    driver: Driver,
    dsn: str,
    where: str,
    timeout: float | None,
    autocommit: bool,
    factories: dict[str, Any],
) -> Any:
    """Make one green connection, bounded by ``timeout`` seconds."""
    driver.ensure_green()
    timer = gevent.Timeout(timeout) if timeout is not None else None
    if timer is not None:
        timer.start()
    try:
        return driver.connect(dsn, autocommit, factories)
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        raise driver.operational_error(
            f"connecting to {where} timed out after {timeout:g}s"
        ) from None
    finally:
        if timer is not None:
            timer.close()


class _HostPool(DBAPIPool[Any]):
    """The checkout pool of one PostgreSQL server."""

    def __init__(self, unit: _Unit, connect: Callable[[], Any], **kwargs: Any) -> None:
        self._unit = unit
        super().__init__(connect, **kwargs)

    def _has_liveness(self) -> bool:
        return True

    def _drop_older(self) -> None:
        """Drop the idle connections made before now (the server failed or changed role)."""
        self._invalidate(self._servers.first())

    def _server_gone(self) -> None:
        self._drop_older()
        self._unit.suspect()

    def _alive(self, conn: Any) -> bool:
        verdict = probe(conn)
        if verdict is Liveness.ALIVE:
            return True
        if verdict is Liveness.DEAD:
            log.info(
                "pool %s: an idle connection to %s found dead; dropping those made before it",
                self.name, self._unit,
            )
            self._server_gone()
        return False

    def _ping(self, conn: Any) -> None:
        # In autocommit for the ping, so it doesn't open a transaction.
        if conn.autocommit:
            conn.cursor().execute("SELECT 1")
            return
        conn.autocommit = True
        try:
            conn.cursor().execute("SELECT 1")
        finally:
            if not conn.closed:
                conn.autocommit = False

    def _ping_failed(self, conn: Any, exc: BaseException) -> None:
        if conn.closed:
            self._server_gone()

    def _broken(self, conn: Any, exc: BaseException) -> bool:
        if not isinstance(exc, (self._unit.owner._driver.error, OSError)) or (
                _cancel.interrupted(conn)):
            # The application's own exception (a gevent.Timeout's exception
            # class, Timeout(5, MyError)), or a connection that greenpool's
            # interrupt handling closed after cancelling its query: the
            # server is fine, and execute() must not run fn again.
            return False
        # psycopg2 does not always mark a connection closed when the server
        # hangs up mid-query (the green wait path can raise before it does);
        # libpq then reports the transaction state as unknown.  SQLSTATE class
        # 08 (connection exception) and 57P (operator intervention: shutdown,
        # terminated backend) mean the same (``pgcode`` in psycopg2,
        # ``sqlstate`` in psycopg 3).
        if transaction_state(conn) in (TxState.CLOSED, TxState.UNKNOWN):
            return True
        code = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None) or ""
        return code.startswith(("08", "57P"))

    def _aborted(self, conn: Any) -> Exception | None:
        if not _cancel.interrupted(conn) or conn.autocommit:
            return None  # closed by the application, or nothing was pending
        return self._unit.owner._driver.operational_error(
            "the connection was closed in the block by an interrupted query (a gevent.Timeout "
            "or kill); its transaction was rolled back and nothing of it was committed"
        )

    def _server_failed(self, entry: Entry, exc: BaseException) -> None:
        log.info(
            "pool %s: a connection to %s broke (%s); dropping idle ones made before it",
            self.name, self._unit, type(exc).__name__,
        )
        self._server_gone()

    def _connection_failed(self, server: Server, exc: BaseException) -> None:
        super()._connection_failed(server, exc)
        self._invalidate(server)
        self._unit.unreachable()


class _Unit:
    """One server: its pool, its role as last seen, the monitor's connection."""

    def __init__(self, owner: PostgresPool, address: Address | None, dsn: str) -> None:
        self.owner = owner
        self.address = address
        self.dsn = dsn
        self.label = str(address) if address is not None else "(dsn)"
        self.state = InstanceState()
        self.monitor_conn: Any = None
        self.pool: _HostPool = None  # type: ignore[assignment]  # set right after

    @property
    def load(self) -> int:
        return self.pool.checkedout() + self.pool.waiting()

    def open_monitor_connection(self) -> Any:
        owner = self.owner
        return _green_connect(owner._driver, self.dsn, self.label, owner._connect_timeout, True, {})

    def set_state(self, state: InstanceState) -> None:
        old = self.state
        if state == old:
            return
        self.state = state
        if state.status is not old.status or state.read_only is not old.read_only:
            role = {True: "standby", False: "primary", None: "unknown"}[state.read_only]
            log.info(
                "pool %s: server %s is now %s (%s)",
                self.owner.name, self.label, state.status.name.lower(), role,
            )
        if state.status is Status.UNHEALTHY and old.status is Status.HEALTHY:
            self.pool._drop_older()
        self.owner._strategy.update()

    def suspect(self) -> None:
        """Something failed on this server: have the monitor look again soon."""
        monitor = self.owner._monitor
        if monitor.started:
            monitor.wake()

    def unreachable(self) -> None:
        """A connect failed: take the server out of rotation until the monitor sees it."""
        monitor = self.owner._monitor
        if monitor.started:
            self.set_state(InstanceState(Status.UNHEALTHY, read_only=self.state.read_only))
            monitor.wake()

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        if not self.owner._monitor.started:
            return f"<server {self.label}>"
        role = {True: "standby", False: "primary", None: "role unknown"}[self.state.read_only]
        return f"<server {self.label} {self.state.status.name.lower()} {role}>"


_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _parse_params(driver: Driver, dsn: Any, connect_kwargs: dict[str, Any]) -> dict[str, str]:
    if dsn is not None and not isinstance(dsn, str):
        raise ConfigurationError("dsn", type(dsn).__name__, "must be a string (or None)")
    # libpq's complaint quotes the DSN, password included: it is neither shown
    # nor chained (Driver.parse returns None outside its except block).
    params = driver.parse(dsn) if dsn else {}
    if params is None:
        raise ConfigurationError("dsn", _HIDDEN, "is not a valid libpq connection string or URL")
    if connect_kwargs:
        extra = {k: v for k, v in connect_kwargs.items() if v is not None}
        params = driver.parse(dsn or "", extra)
        if params is None:
            raise ConfigurationError(
                "connect_kwargs", sorted(connect_kwargs),
                "are not all valid libpq connection parameters",
            )
    sslmode = connect_kwargs.get("sslmode", params.get("sslmode"))
    if sslmode is not None and sslmode not in _SSLMODES:
        # libpq would refuse it too, but only at the first connect.
        raise ConfigurationError("sslmode", sslmode, f"use one of {', '.join(_SSLMODES)}")
    return params


def _masked(driver: Driver, params: dict[str, str]) -> str:
    shown = {k: (MASK if is_secret_name(k) else v) for k, v in params.items()}
    return driver.make_dsn(shown) if shown else ""


class PostgresPool:
    """A pool of green psycopg2 or psycopg 3 connections to one PostgreSQL server, or a
    primary and standbys.

    ``dsn`` is a libpq connection string or URL; keyword arguments the pool
    doesn't know are libpq parameters added to it (``user=``, ``password=``,
    ``dbname=``, ``sslmode=`` ...).  ``servers`` (a list of ``"host:port"``)
    makes one pool per server, the DSN giving everything but host and port;
    without it the DSN's host is the one server.

    ``driver`` picks the package: ``"psycopg2"`` or ``"psycopg"`` (psycopg
    3; ``"psycopg3"`` works too).  Without it, a ``connection_factory``
    class decides (a ``psycopg.Connection`` subclass means psycopg 3), else
    psycopg2 when it is installed, else psycopg 3.  The package is made
    green when the pool is made (see :func:`greenpool.postgres.ensure_green`),
    with no monkey patching needed.

    Checkout: ``with pool.connection() as conn:`` commits on a clean exit
    and rolls back when an exception leaves the block; ``with pool.cursor()
    as cur:`` does the same around a cursor; :meth:`get` / :meth:`put` leave
    the transaction to the caller; :meth:`execute` retries a function on
    another connection when the server went away.  A connection returned in
    a transaction is rolled back; one in a failed or unknown transaction
    state is closed; one the application closed is dropped.  A
    ``gevent.Timeout``, ``kill()`` or KeyboardInterrupt during a query
    cancels the query on the server and closes the connection.

    Nothing connects when the pool is made: a malformed DSN or bad argument
    raises :class:`~greenpool.ConfigurationError` here, but an unreachable
    server or a refused login shows at the first checkout (psycopg2's
    ``OperationalError``).  With ``prefill`` (the default) a server's first
    checkout in a process starts a background greenlet that opens the rest
    of its ``pool_size`` connections; so a pool made at import in a gunicorn
    ``--preload`` master, or before Celery's prefork pool forks, opens
    nothing there.  :meth:`fill` opens them at once.

    ``mode`` (here the default, or per checkout) picks the server when there
    are several: ``Mode.RW`` the primary, ``Mode.RO`` a standby,
    ``Mode.PREFER_RO``, ``Mode.PREFER_RW``, ``Mode.ANY``; names like
    ``"ro"`` work too.  Roles come from ``pg_is_in_recovery()``, asked of
    every server when the first checkout needs them and every
    ``role_refresh_interval`` seconds after, on one extra connection per
    server; a failure wakes the check early, so a promotion is followed.
    :class:`~greenpool.pool.PoolTopologyError` when no healthy server fits.

    Other parameters: ``autocommit`` (set on every new connection),
    ``pre_ping`` (a ``SELECT 1`` before an idle connection is handed out,
    on top of the round-trip-free liveness check), ``connect_timeout``
    (seconds; None: unbounded), ``configure(conn)`` (run on each new
    connection), ``check(conn)`` and ``reset(conn)`` (extra validation and
    clean-up), ``strategy`` (a :class:`~greenpool.pool.StrategyInterface`
    class), ``connection_factory`` / ``cursor_factory`` (passed to
    ``psycopg2.connect``; with psycopg 3 ``connection_factory`` is the
    ``psycopg.Connection`` subclass to connect with, ``cursor_factory`` its
    cursor class).  ``pool_size``, ``max_overflow`` and the rest are
    the :class:`~greenpool.Pool`'s parameters, applied to each server's pool;
    ``use_local`` defaults to False here (two checkouts in one greenlet get
    two connections, as with other database pools); with True, nested
    checkouts share the outer block's connection and transaction.

    Bad arguments raise :class:`~greenpool.ConfigurationError`; passwords
    never appear in its messages, in reprs or in logs.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        driver: str | None = None,
        servers: Any = None,
        mode: Mode | str = Mode.ANY,
        autocommit: bool = False,
        pre_ping: bool = False,
        connect_timeout: float | None = 10.0,
        configure: Callable[[Any], Any] | None = None,
        check: Callable[[Any], Any] | None = None,
        reset: Callable[[Any], Any] | None = None,
        role_refresh_interval: float = 2.0,
        strategy: type[StrategyInterface] = RoundRobinStrategy,
        connection_factory: Any = None,
        cursor_factory: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        # The checkout pools' keywords (pool_size=...), checked once and
        # shared by every server's pool; the rest are libpq's.
        options = PoolOptions.take(kwargs, _POOL_KEYWORDS, use_local=False, retry_exceptions=())
        connect_kwargs = kwargs
        self._driver = chosen = choose(driver, connection_factory)
        params = _parse_params(chosen, dsn, connect_kwargs)
        self._display_dsn = _masked(chosen, params)
        self._mode = parse_mode(mode)
        check_bool("autocommit", autocommit)
        check_bool("pre_ping", pre_ping)
        self._connect_timeout = check_float(
            "connect_timeout", connect_timeout, allow_none=True, strict=True
        )
        interval = check_float("role_refresh_interval", role_refresh_interval, strict=True)
        if not (isinstance(strategy, type) and issubclass(strategy, StrategyInterface)):
            raise ConfigurationError("strategy", strategy, "must be a StrategyInterface class")
        if name is not None and not isinstance(name, str):
            raise ConfigurationError("name", name, "must be a string")
        self.name: str = name if name is not None else f"postgres-{id(self):x}"
        self._closed = False

        if servers is not None:
            addresses: list[Address | None] = list(
                parse_server_list(servers, argument="servers")
            )
        else:
            addresses = [self._dsn_address(params)]

        factories: dict[str, Any] = {}
        if connection_factory is not None:
            factories["connection_factory"] = connection_factory
        if cursor_factory is not None:
            chosen.check_cursor_factory(cursor_factory)
            factories["cursor_factory"] = cursor_factory

        self._units: list[_Unit] = []
        self._only: _HostPool | None = None  # set when routing has nothing to decide
        self._strategy: StrategyInterface = strategy(self._units)
        self._monitor = RoleMonitor(
            self._units,
            interval=interval or 2.0,
            timeout=self._connect_timeout or 10.0,
            name=self.name,
        )
        self._options = options
        chosen.ensure_green()
        try:
            for address in addresses:
                unit_params = dict(params)
                if address is not None and address.path is not None:
                    unit_params["host"] = address.path
                elif address is not None:
                    unit_params["host"] = str(address.host)
                    unit_params["port"] = str(address.port)
                unit_dsn = chosen.make_dsn(unit_params)
                unit = _Unit(self, address, unit_dsn)
                label = unit.label if servers is not None else ""
                connect = partial(
                    _green_connect, chosen, unit_dsn, label or self._where(params),
                    self._connect_timeout, autocommit, factories,
                )
                unit.pool = _HostPool(
                    unit,
                    connect,
                    pre_ping=pre_ping,
                    configure=configure,
                    check=check,
                    reset=reset,
                    **options.but(name=f"{self.name}/{label}" if label else self.name).keywords(),
                )
                self._units.append(unit)
        except BaseException:
            self.close()
            raise
        self._strategy.update()
        if len(self._units) == 1 and self._mode is Mode.ANY:
            self._only = self._units[0].pool

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> PostgresPool:
        """A pool from ``postgresql://[user[:password]@][host][:port][/dbname][?param=value]``.

        The URL is libpq's (``postgres://`` works too; several
        ``host:port`` separated by commas are tried in turn by libpq; the
        query holds libpq parameters such as ``sslmode``), so the
        ``DATABASE_URL`` other tools read works here unchanged.  ``kwargs``
        are the pool's parameters (``pool_size=``, ``servers=``...) and
        libpq parameters that override the URL's.  Raises
        :class:`~greenpool.ConfigurationError` (the password masked) for a
        URL that is not a PostgreSQL one; see the class for the rest.
        """
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                "url", url, "must start with postgresql:// or postgres://"
            )
        return cls(url, **kwargs)

    # ------------------------------------------------------------------ set-up helpers

    @staticmethod
    def _dsn_address(params: dict[str, str]) -> Address | None:
        host, port = params.get("host"), params.get("port")
        if host and "," not in host and not host.startswith("/"):
            try:
                return Address(host=host, port=int(port or 5432))
            except ValueError:
                return None
        return None

    @staticmethod
    def _where(params: dict[str, str]) -> str:
        host = params.get("host") or "the default host"
        port = params.get("port")
        return f"{host}:{port}" if port else host

    def _prefill(self) -> None:
        if len(self._units) == 1:
            self._units[0].pool.fill()
            return
        for unit in self._units:
            try:
                unit.pool.fill()
            except Exception as exc:
                log.warning("pool %s: could not prefill %s: %r", self.name, unit, exc)

    # ------------------------------------------------------------------ routing

    def _pick(self, mode: Any) -> _HostPool:
        if mode is None:
            wanted = self._mode
        elif isinstance(mode, Mode):
            wanted = mode
        else:
            wanted = parse_mode(mode)
        units = self._units
        if len(units) == 1 and wanted is Mode.ANY:
            return units[0].pool
        if self._closed:
            raise PoolClosed(f"pool {self.name!r} is closed")
        monitor = self._monitor
        if not monitor.started:
            monitor.start()
        try:
            unit: _Unit = self._strategy.getnext(wanted)
        except PoolTopologyError:
            monitor.wake()
            raise
        return unit.pool

    # ------------------------------------------------------------------ checkout

    def connection(self, mode: Mode | str | None = None, timeout: float | None = None) -> Any:
        """Check out a connection for a ``with`` block: ``with pool.connection() as conn:``.

        Commits on a clean exit (the commit's error propagates), rolls back
        when an ``Exception`` leaves the block, and closes the connection when
        a BaseException such as ``gevent.Timeout`` or ``kill()`` does (the
        query having been cancelled on the server).  ``mode`` picks the server
        (default: the pool's ``mode``); ``timeout`` as for :meth:`get`.

        Raises, on entering the block: :class:`~greenpool.pool.PoolTopologyError`
        (no healthy server fits ``mode``), or what :meth:`get` raises.
        """
        only = self._only  # one server and mode ANY: nothing to choose
        pool = only if mode is None and only is not None else self._pick(mode)
        if timeout is not None:
            check_timeout("timeout", timeout)
        return TransactionLease(pool, timeout)

    def cursor(
        self, mode: Mode | str | None = None, timeout: float | None = None, **cursor_kwargs: Any
    ) -> AbstractContextManager[Any]:
        """``with pool.cursor() as cur:``: a cursor on a checked-out connection.

        The transaction rules of :meth:`connection`; the cursor is closed on
        exit.  Keywords go to ``conn.cursor()`` (``name=`` for a server-side
        cursor, ``cursor_factory=``).
        """
        return cursor_on(self.connection(mode, timeout), cursor_kwargs)

    def get(self, mode: Mode | str | None = None, timeout: float | None = None) -> Any:
        """Check out a connection; give it back with :meth:`put`.  No commit is done for you.

        Blocks up to ``timeout`` seconds (``None``: ``pool_timeout``; ``-1``:
        forever; ``0``: don't wait) while the server's pool is at its limit.
        Raises :class:`~greenpool.NoConnectionAvailable` on timeout,
        :class:`~greenpool.TooManyRequests`, :class:`~greenpool.PoolClosed`,
        :class:`~greenpool.pool.PoolTopologyError`, or the driver's
        ``OperationalError`` when a new connection can't be made.
        """
        return self._pick(mode).get(timeout)

    def put(self, conn: Any) -> None:
        """Give back a connection from :meth:`get`, applying the return rules.

        Raises :class:`~greenpool.InvalidRequestError` for a connection this
        pool did not hand out or that was already returned.  May block while
        a rollback runs.
        """
        for unit in self._units:
            if unit.pool.lent(conn):
                unit.pool.put(conn)
                return
        if len(self._units) == 1:
            self._units[0].pool.put(conn)  # raises the precise error
            return
        raise InvalidRequestError(
            f"pool {self.name!r}: this connection was not checked out from this pool"
        )

    def execute(
        self, fn: Callable[..., Any], *args: Any, mode: Mode | str | None = None, **kwargs: Any
    ) -> Any:
        """Run ``fn(conn, *args, **kwargs)`` in a transaction, commit, return its result.

        When the server went away (the connection broke, or no connection
        could be made, or no server fits ``mode`` for now), ``fn`` runs again
        on a fresh connection, possibly to another server, after an
        exponential back-off with full jitter, up to ``max_retries`` times
        within ``retry_timeout``; then :class:`~greenpool.MaximumRetryException`
        chains the last error.  Any other exception rolls back and propagates
        at once.  Only pass functions safe to run twice, such as reads.
        """
        return run_with_retries(
            lambda: self._pick(mode), fn, args, kwargs, self._options.max_retries,
            self._options.retry_timeout, self.name, caller_frame(),
        )

    # ------------------------------------------------------------------ management

    def fill(self) -> None:
        """Open connections until each server's pool has ``pool_size``: a warm-up.

        Blocks while connecting.  With one server its connect error
        propagates; with several a failing server is logged and skipped.
        Don't call it in a process that forks before using the pool.
        """
        if self._closed:
            raise PoolClosed(f"pool {self.name!r} is closed")
        self._prefill()

    def refresh_roles(self) -> dict[str, InstanceState]:
        """Ask every server its role now (blocks up to ``connect_timeout``); return the states.

        A refresh already under way (the background one's, or another
        caller's) is waited for and shared rather than a second one sent.
        """
        if self._closed:
            raise PoolClosed(f"pool {self.name!r} is closed")
        if not self._monitor.started:
            self._monitor.start()
        else:
            self._monitor.refresh()
        return self.states()

    def states(self) -> dict[str, InstanceState]:
        """Each server's health and role as last seen (``read_only`` None: not asked yet)."""
        return {unit.label: unit.state for unit in self._units}

    def dispose(self) -> None:
        """Close every idle connection; the pool stays usable."""
        for unit in self._units:
            unit.pool.dispose()

    def close(self) -> None:
        """Close the pool: idle connections now, checked-out ones when returned.

        Waiting callers and later checkouts get :class:`~greenpool.PoolClosed`.
        Calling it again does nothing.
        """
        self._closed = True
        self._monitor.stop()
        for unit in self._units:
            if unit.pool is not None:
                unit.pool.close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def dsn(self) -> str:
        """The connection parameters, with the password shown as ``***``."""
        return self._display_dsn

    @property
    def driver(self) -> str:
        """The driver's package: ``"psycopg2"`` or ``"psycopg"`` (psycopg 3)."""
        return self._driver.name

    @property
    def servers(self) -> list[str]:
        """The servers, as ``host:port`` (the DSN's host when there is no ``servers``)."""
        return [unit.label for unit in self._units]

    @property
    def pools(self) -> dict[str, DBAPIPool[Any]]:
        """Each server's checkout pool, by server (for stats and listeners per server)."""
        return {unit.label: unit.pool for unit in self._units}

    def add_listener(self, listener: Any) -> None:
        """Register a listener with every server's pool."""
        for unit in self._units:
            unit.pool.add_listener(listener)

    def size(self) -> int:
        """The capacity for idle connections: ``pool_size`` times the servers."""
        return sum(unit.pool.size() for unit in self._units)

    def checkedin(self) -> int:
        """Idle connections, all servers."""
        return sum(unit.pool.checkedin() for unit in self._units)

    def checkedout(self) -> int:
        """Checked-out connections, all servers."""
        return sum(unit.pool.checkedout() for unit in self._units)

    def overflow(self) -> int:
        """Connections beyond ``pool_size``, all servers."""
        return sum(unit.pool.overflow() for unit in self._units)

    def waiting(self) -> int:
        """Callers waiting for a connection, all servers."""
        return sum(unit.pool.waiting() for unit in self._units)

    def stats(self) -> dict[str, Any]:
        """The :meth:`~greenpool.Pool.stats` of every server's pool, added up.

        :meth:`pools` gives each server's own.  Never blocks.
        """
        return add_up(unit.pool.stats() for unit in self._units)

    def pop_stats(self) -> dict[str, Any]:
        """:meth:`stats`, then every server's counters start again from zero."""
        return add_up(unit.pool.pop_stats() for unit in self._units)

    def __enter__(self) -> PostgresPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        servers = ", ".join(repr(unit) for unit in self._units)
        return (
            f"<{type(self).__name__} {self.name!r} {state} dsn={self._display_dsn!r} "
            f"servers=[{servers}] in_use={self.checkedout()} idle={self.checkedin()} "
            f"waiting={self.waiting()}>"
        )

