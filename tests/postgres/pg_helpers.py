"""Helpers for the PostgreSQL pool's tests: the two drivers, unique application names,
backend listings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import psycopg
import psycopg.errors
import psycopg2
import psycopg2.errors

from greenpool.postgres import ensure_green
from greenpool.testing import PostgresServer

_apps = itertools.count(1)


@dataclass(frozen=True)
class PgDriver:
    """What a test needs to know of a driver to say the same thing with either."""

    name: str  # as PostgresPool(driver=...) takes it
    module: ModuleType
    errors: ModuleType  # both have UniqueViolation, DivisionByZero ...

    @property
    def Error(self) -> type[Exception]:
        return self.module.Error  # type: ignore[no-any-return]

    @property
    def OperationalError(self) -> type[Exception]:
        return self.module.OperationalError  # type: ignore[no-any-return]

    def pid(self, conn: Any) -> int:
        """The server process of ``conn``."""
        if self.name == "psycopg":
            return int(conn.info.backend_pid)
        return int(conn.get_backend_pid())

    def executing(self, conn: Any) -> bool:
        """True while a command is in progress on ``conn`` (libpq's ``PQTRANS_ACTIVE``).

        Read from libpq, without a round trip and without the driver's
        connection lock.
        """
        if self.name == "psycopg":
            return int(conn.pgconn.transaction_status) == 1
        return bool(conn.get_transaction_status() == 1)

    def connect(self, dsn: str) -> Any:
        """A green connection made without a pool, in autocommit."""
        ensure_green(self.name)
        conn = self.module.connect(dsn)
        conn.autocommit = True
        return conn

    def __str__(self) -> str:
        return self.name


DRIVERS = {
    "psycopg2": PgDriver("psycopg2", psycopg2, psycopg2.errors),
    "psycopg": PgDriver("psycopg", psycopg, psycopg.errors),
}


def app_name() -> str:
    """A unique application_name, so a test counts only its own backends."""
    return f"gp-test-{next(_apps)}"


def backends(server: PostgresServer, app: str) -> list[tuple[Any, ...]]:
    """(pid, state, query) of the server's client backends with ``application_name = app``."""
    return server.query(
        "SELECT pid, state, query FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND application_name = %s",
        (app,),
    )


def busy(server: PostgresServer, app: str) -> list[tuple[Any, ...]]:
    """The backends of ``app`` that are not idle (a query still running, or a transaction)."""
    return [row for row in backends(server, app) if row[1] != "idle"]
