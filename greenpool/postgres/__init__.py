"""PostgreSQL through psycopg2 or psycopg 3, green under gevent, on the checkout pool.

* :class:`PostgresPool`: one server or a primary and standbys, checkout by
  :class:`~greenpool.pool.Mode`, commit/rollback around ``with`` blocks,
  server-side cancel on ``gevent.Timeout`` or ``kill()``, liveness checks
  without a round trip; ``driver="psycopg2"`` or ``driver="psycopg"``.
* :func:`ensure_green`: makes psycopg2 (or psycopg 3) green, with no monkey
  patching needed (done for you when a pool is made); :func:`cancel`:
  cancels the query running on a connection, greenly.

Needs ``psycopg2`` (or ``psycopg2-binary``): ``pip install greenpool[postgres]``,
or psycopg 3: ``pip install greenpool[psycopg]``.  Only the driver a pool
uses is imported.
"""

from __future__ import annotations

from ..pool.modes import InstanceState, Mode, PoolTopologyError, Status
from ._cancel import CANCEL_TIMEOUT, CANCEL_WAIT
from ._drivers import cancel, ensure_green, is_green
from .pool import PostgresPool

__all__ = [
    "CANCEL_TIMEOUT",
    "CANCEL_WAIT",
    "InstanceState",
    "Mode",
    "PoolTopologyError",
    "PostgresPool",
    "Status",
    "cancel",
    "ensure_green",
    "is_green",
]
