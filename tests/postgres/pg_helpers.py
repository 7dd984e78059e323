"""Helpers for the PostgreSQL pool's tests: unique application names, backend listings."""

from __future__ import annotations

import itertools
from typing import Any

from greenpool.testing import PostgresServer

_apps = itertools.count(1)


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
