"""PostgreSQL through psycopg2, green under gevent, on the checkout pool.

* :class:`PostgresPool`: one server or a primary and standbys, checkout by
  :class:`~greenpool.pool.Mode`, commit/rollback around ``with`` blocks,
  server-side cancel on ``gevent.Timeout`` or ``kill()``, liveness checks
  without a round trip.
* :func:`ensure_green`: installs the gevent wait callback in psycopg2 (done
  for you when a pool is made); :func:`cancel`: cancels the query running on
  a connection, greenly.

Needs ``psycopg2`` (or ``psycopg2-binary``) and ``psycogreen``:
``pip install greenpool[postgres]``.
"""

from __future__ import annotations

from ..pool.modes import InstanceState, Mode, PoolTopologyError, Status
from ._green import CANCEL_TIMEOUT, cancel, ensure_green, is_green
from .pool import PostgresPool

__all__ = [
    "CANCEL_TIMEOUT",
    "InstanceState",
    "Mode",
    "PoolTopologyError",
    "PostgresPool",
    "Status",
    "cancel",
    "ensure_green",
    "is_green",
]
