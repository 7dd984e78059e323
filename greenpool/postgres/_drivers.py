"""The two psycopg generations behind :class:`~.pool.PostgresPool`: psycopg2 and psycopg 3.

A :class:`Driver` is what the pool needs of one: reading and writing libpq
connection strings, making the package green (:mod:`._green` for psycopg2,
:mod:`._green3` for psycopg 3), connecting, cancelling.  Everything else the
pool does (return rules, liveness, roles) reads what both packages share:
``closed``, ``fileno()``, ``autocommit``, cursors, libpq's transaction
status (:func:`greenpool.dbapi.transaction_state`) and SQLSTATE codes.

A driver's package is imported only when the driver is chosen, so
``greenpool.postgres`` works with either package installed alone.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, ClassVar

from .._secrets import MASK, is_secret_name
from ..errors import ConfigurationError

__all__ = ["Driver", "cancel", "choose", "ensure_green", "is_green", "load"]

_INSTALL = {
    "psycopg2": "pip install 'greenpool[postgres]' (psycopg2-binary)",
    "psycopg": "pip install 'greenpool[psycopg]' (psycopg[binary])",
}


class Driver:
    """What :class:`~.pool.PostgresPool` needs from one psycopg generation."""

    #: The package's name, as given to ``PostgresPool(driver=...)``.
    name: ClassVar[str] = ""
    #: The package's ``OperationalError`` (a connect that failed or timed out).
    operational_error: type[Exception]
    #: The package's base ``Error``: what the driver raises (any other
    #: exception in a query's block is the application's own).
    error: type[Exception]

    def parse(self, dsn: str, extra: dict[str, Any] | None = None) -> dict[str, str] | None:
        """``dsn`` (a connection string or URL) plus ``extra`` as libpq parameters, or None
        when libpq can't parse them (its message, which may quote a password, is dropped)."""
        raise NotImplementedError

    def make_dsn(self, params: dict[str, str]) -> str:
        """A libpq connection string of ``params``, quoted as libpq wants."""
        raise NotImplementedError

    def ensure_green(self) -> None:
        """Make the package's waits green (once; cheap to call again)."""
        raise NotImplementedError

    def is_green(self) -> bool:
        """True when greenpool's waiting is installed in the package."""
        raise NotImplementedError

    def connect(self, dsn: str, autocommit: bool, factories: dict[str, Any]) -> Any:
        """One connection (green once :meth:`ensure_green` ran), unbounded in time."""
        raise NotImplementedError

    def check_factory(self, factory: Any) -> None:
        """Raise :class:`~greenpool.ConfigurationError` if ``connection_factory`` can't work."""
        raise NotImplementedError

    def check_cursor_factory(self, factory: Any) -> None:
        """Raise :class:`~greenpool.ConfigurationError` if ``cursor_factory`` can't work."""
        raise NotImplementedError

    def cancel(self, conn: Any, timeout: float | None) -> bool:
        """Cancel the query running on ``conn`` on the server; see :func:`cancel`."""
        raise NotImplementedError


def _check_subclass(argument: str, factory: Any, base: type, name: str) -> None:
    # Checked when the pool is made: a wrong one failed at the first connect
    # or query instead, with an error that did not name the argument (and,
    # for a psycopg2 connection_factory, quoted the connection string).
    if not (isinstance(factory, type) and issubclass(factory, base)):
        raise ConfigurationError(argument, factory, f"must be a {name} subclass")


class _Psycopg2(Driver):
    name = "psycopg2"

    def __init__(self) -> None:
        import psycopg2
        import psycopg2.extensions as ext

        from . import _green

        self._psycopg2 = psycopg2
        self._ext = ext
        self._green = _green
        self.operational_error = psycopg2.OperationalError
        self.error = psycopg2.Error

    def parse(self, dsn: str, extra: dict[str, Any] | None = None) -> dict[str, str] | None:
        ext = self._ext
        try:
            params: dict[str, str] = ext.parse_dsn(ext.make_dsn(dsn, **extra) if extra else dsn)
        except self._psycopg2.ProgrammingError:
            return None
        return params

    def make_dsn(self, params: dict[str, str]) -> str:
        return str(self._ext.make_dsn(**params)) if params else ""

    def ensure_green(self) -> None:
        self._green.ensure_green()

    def is_green(self) -> bool:
        return self._green.is_green()

    def connect(self, dsn: str, autocommit: bool, factories: dict[str, Any]) -> Any:
        conn = self._psycopg2.connect(dsn, **factories)
        if autocommit:
            try:
                conn.autocommit = True
            except BaseException:
                conn.close()
                raise
        return conn

    def check_factory(self, factory: Any) -> None:
        _check_subclass("connection_factory", factory, self._ext.connection,
                        "psycopg2.extensions.connection")

    def check_cursor_factory(self, factory: Any) -> None:
        _check_subclass("cursor_factory", factory, self._ext.cursor, "psycopg2.extensions.cursor")

    def cancel(self, conn: Any, timeout: float | None) -> bool:
        return self._green.cancel(conn, timeout)


class _Psycopg3(Driver):
    name = "psycopg"

    def __init__(self) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        from . import _green3

        self._psycopg = psycopg
        self._to_dict = conninfo_to_dict
        self._make = make_conninfo
        self._green = _green3
        self.operational_error = psycopg.OperationalError
        self.error = psycopg.Error

    def parse(self, dsn: str, extra: dict[str, Any] | None = None) -> dict[str, str] | None:
        try:
            params = self._to_dict(self._make(dsn, **extra) if extra else dsn)
        except self._psycopg.ProgrammingError:
            return None
        return {key: str(value) for key, value in params.items()}

    def make_dsn(self, params: dict[str, str]) -> str:
        return str(self._make("", **params))

    def ensure_green(self) -> None:
        self._green.ensure_green()

    def is_green(self) -> bool:
        return self._green.is_green()

    def connect(self, dsn: str, autocommit: bool, factories: dict[str, Any]) -> Any:
        factory = factories.get("connection_factory") or self._psycopg.Connection
        kwargs = {k: v for k, v in factories.items() if k == "cursor_factory"}
        try:
            return factory.connect(dsn, autocommit=autocommit, **kwargs)
        except self._psycopg.Error as exc:
            error = _without_secrets(exc)
            if error is None:
                raise
        # Raised out here, so the original (which holds the password) is not
        # kept as the new one's __context__.
        raise error

    def check_factory(self, factory: Any) -> None:
        _check_subclass("connection_factory", factory, self._psycopg.Connection,
                        "psycopg.Connection")

    def check_cursor_factory(self, factory: Any) -> None:
        _check_subclass("cursor_factory", factory, self._psycopg.Cursor, "psycopg.Cursor")

    def cancel(self, conn: Any, timeout: float | None) -> bool:
        return self._green.cancel(conn, timeout)


def _without_secrets(exc: Any) -> Any:
    """A copy of psycopg 3's connect error ``exc`` whose ``pgconn`` shows no password, or None
    when it carries no finished connection.

    A failed connect's error carries a ``FinishedPGconn``: the connection's
    parameters, password included, which its repr shows.  The copy keeps
    everything else (type, message, host, user, ``needs_password`` ...).
    """
    pgconn = exc.pgconn
    if pgconn is None or not dataclasses.is_dataclass(pgconn):
        return None
    shown = [
        option._replace(val=MASK.encode()) if option.val and is_secret_name(
            option.keyword.decode(errors="replace")
        ) else option
        for option in getattr(pgconn, "info", ())
    ]
    changes: dict[str, Any] = {"info": shown}
    if getattr(pgconn, "password", None):
        changes["password"] = MASK.encode()
    finished: Any = pgconn  # a dataclass instance, checked above
    return type(exc)(*exc.args, pgconn=dataclasses.replace(finished, **changes))


_CLASSES: dict[str, type[Driver]] = {
    "psycopg2": _Psycopg2,
    "psycopg": _Psycopg3,
    "psycopg3": _Psycopg3,
}
_loaded: dict[type[Driver], Driver] = {}


def load(name: Any, argument: str = "driver") -> Driver:
    """The driver called ``name`` ("psycopg2", "psycopg" or "psycopg3"), its package imported.

    Raises :class:`~greenpool.ConfigurationError` naming ``argument`` for
    another name, or when the package is not installed.
    """
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigurationError(
            argument, name, "must be 'psycopg2' or 'psycopg' (psycopg 3; 'psycopg3' works too)"
        )
    driver = _loaded.get(cls)
    if driver is None:
        try:
            driver = cls()
        except ImportError as exc:
            raise ConfigurationError(
                argument, name, f"needs {cls.name}, which could not be imported ({exc}): "
                f"{_INSTALL[cls.name]}"
            ) from None
        _loaded[cls] = driver
    return driver


def _factory_package(factory: Any) -> str | None:
    """The psycopg package whose connection class ``factory`` is (or subclasses), if any."""
    if not isinstance(factory, type):
        return None
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and issubclass(factory, psycopg.Connection):
        return "psycopg"
    ext = sys.modules.get("psycopg2.extensions")
    if ext is not None and issubclass(factory, ext.connection):
        return "psycopg2"
    return None


def choose(driver: Any, connection_factory: Any) -> Driver:
    """The driver a pool uses: ``driver`` if given; else the package ``connection_factory``
    belongs to; else psycopg2 if installed, else psycopg 3.

    Raises :class:`~greenpool.ConfigurationError` for an unknown or missing
    driver, or a ``connection_factory`` of the other package.
    """
    from_factory = _factory_package(connection_factory)
    if driver is None:
        if from_factory is not None:
            return load(from_factory)
        try:
            return load("psycopg2")
        except ConfigurationError:
            try:
                return load("psycopg")
            except ConfigurationError:
                raise ConfigurationError(
                    "driver", None, "needs psycopg2 or psycopg (3), and neither is installed: "
                    f"{_INSTALL['psycopg2']} or {_INSTALL['psycopg']}"
                ) from None
    chosen = load(driver)
    if from_factory is not None and from_factory != chosen.name:
        raise ConfigurationError(
            "connection_factory", connection_factory,
            f"is a {from_factory} connection class, but driver={driver!r}",
        )
    if connection_factory is not None:
        chosen.check_factory(connection_factory)
    return chosen


def ensure_green(driver: str = "psycopg2") -> None:
    """Make a psycopg generation green under gevent, once; cheap to call again.

    ``driver="psycopg2"`` (the default) installs greenpool's wait callback
    in psycopg2 (see :func:`greenpool.postgres._green.ensure_green`);
    ``driver="psycopg"`` replaces psycopg 3's wait functions with greenpool's
    (see :func:`greenpool.postgres._green3.ensure_green`).  Either way every
    wait on the network becomes a wait on the hub, and an exception that
    interrupts a query cancels it on the server.  Done for you when a
    :class:`~greenpool.postgres.PostgresPool` is made.  Blocks never; raises
    :class:`~greenpool.ConfigurationError` for an unknown or missing driver.
    """
    load(driver).ensure_green()


def is_green(driver: str = "psycopg2") -> bool:
    """True when greenpool's waiting is installed in that psycopg generation."""
    return load(driver).is_green()


def cancel(conn: Any, timeout: float | None = None) -> bool:
    """Ask the server to cancel the query running on ``conn`` (psycopg2 or psycopg 3); True
    when it was asked.

    Green with libpq >= 17: the request goes on a connection of its own,
    polled on the hub.  The caller waits for it at most
    :data:`~greenpool.postgres.CANCEL_WAIT` seconds; if the server is that
    slow to take it (or an exception interrupts the wait), a background
    greenlet goes on until ``timeout`` seconds (default
    :data:`~greenpool.postgres.CANCEL_TIMEOUT`) have passed, and this
    returns False.  With an older libpq the request blocks the hub for one
    round trip.  Never raises an ``Exception``: a failure is logged and
    False returned.
    """
    name = "psycopg" if _factory_package(type(conn)) == "psycopg" else "psycopg2"
    return load(name).cancel(conn, timeout)
