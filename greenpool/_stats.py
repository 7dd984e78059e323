"""Statistics: the keys every ``stats()`` may return, and the helpers that read them.

Every pool and client reports on itself with ``stats()``, a flat dict of
numbers, and ``pop_stats()``, the same dict after which the *counters* start
again from zero (psycopg_pool's ``get_stats``/``pop_stats``).  Gauges (how
many connections are open now) are never reset.

:data:`KEYS` is the one table of what a key means and whether it is a
counter or a gauge.  Key names are psycopg_pool's where one fits
(``requests_num``, ``requests_wait_ms``, ``connections_lost``...); times
are in milliseconds, as there.  The Prometheus collector
(:mod:`greenpool.integrations.prometheus`) reads the kinds from here, and
``docs/metrics.md`` lists every key (a test checks both).

Reading stats never blocks and may happen from another thread (a metrics
server's): ``stats()`` only reads attributes.  ``pop_stats()`` should be
called from the pool's own thread, or an increment racing with the reset
may be lost.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import gevent

from .errors import ReplyError

__all__ = [
    "COUNTER",
    "GAUGE",
    "KEYS",
    "ConnectionCounters",
    "RequestCounters",
    "StatKey",
    "add_up",
    "zero",
]

COUNTER = "counter"
GAUGE = "gauge"


class StatKey(NamedTuple):
    """What one stats key is: ``kind`` (:data:`COUNTER` or :data:`GAUGE`) and its meaning."""

    kind: str
    help: str


KEYS: dict[str, StatKey] = {
    # -- gauges: the state now
    "pool_size": StatKey(GAUGE, "Connections the pool is configured to keep."),
    "pool_max": StatKey(GAUGE, "Most connections the pool may open (-1: no limit)."),
    "connections": StatKey(GAUGE, "Connections open now (for a checkout pool: "
                                  "open or being opened)."),
    "pool_available": StatKey(GAUGE, "Idle connections ready to be checked out."),
    "pool_in_use": StatKey(GAUGE, "Connections checked out now."),
    "requests_waiting": StatKey(GAUGE, "Callers waiting for a connection now."),
    "requests_pending": StatKey(GAUGE, "Requests sent or queued whose reply has not come yet."),
    "instances": StatKey(GAUGE, "Server instances the pool knows."),
    "instances_healthy": StatKey(GAUGE, "Instances that answered their last health check."),
    # -- counters: since the pool was made, or since the last pop_stats()
    "requests_num": StatKey(COUNTER, "Requests made (checkouts asked for, served or not, "
                                     "for a checkout pool)."),
    "requests_queued": StatKey(COUNTER, "Checkouts that had to wait for a connection."),
    "requests_wait_ms": StatKey(COUNTER, "Time spent waiting for a connection, in ms."),
    "requests_errors": StatKey(COUNTER, "Requests (or checkouts) that failed, whatever the "
                                        "reason; timeouts and error replies included."),
    "requests_timeouts": StatKey(COUNTER, "Requests (or checkouts) that gave up on time."),
    "requests_error_replies": StatKey(COUNTER, "Requests the server answered with an error."),
    "requests_retries": StatKey(COUNTER, "Requests sent again to another instance."),
    "usage_ms": StatKey(COUNTER, "Time connections were checked out, in ms."),
    "returns_bad": StatKey(COUNTER, "Connections returned in a bad state (closed instead)."),
    "connections_num": StatKey(COUNTER, "Connections opened."),
    "connections_ms": StatKey(COUNTER, "Time spent opening connections, in ms."),
    "connections_errors": StatKey(COUNTER, "Connection attempts that failed."),
    "connections_lost": StatKey(COUNTER, "Open connections that broke or were dropped "
                                         "as unusable."),
    "reconnects": StatKey(COUNTER, "Connections opened again after one was lost."),
    # -- a Redis Cluster client's own (RedisCluster.stats())
    "refreshes": StatKey(COUNTER, "Slot-map reads, one per node asked."),
    "moved": StatKey(COUNTER, "MOVED redirects followed."),
    "ask": StatKey(COUNTER, "ASK redirects followed."),
    # -- a Sentinel's own (Sentinel.stats())
    "discoveries": StatKey(COUNTER, "Times every sentinel was asked for a primary."),
    "polls": StatKey(COUNTER, "Periodic asks, one per service and poll interval."),
    "announcements": StatKey(COUNTER, "Sentinel events naming a primary, each sentinel's "
                                      "counted."),
    "moves": StatKey(COUNTER, "Times a service's clients moved to another primary."),
    "replica_moves": StatKey(COUNTER, "Times a replica client reconnected because a server "
                                      "left the replicas."),
    # -- the hub's loop-lag monitor (greenpool.integrations.monitor)
    "checks": StatKey(COUNTER, "Times the loop-lag monitor's timer ran."),
    "over_threshold": StatKey(COUNTER, "Timer runs later than the threshold."),
    "lag_last_ms": StatKey(GAUGE, "How late the last timer run was, in ms."),
    "lag_max_ms": StatKey(GAUGE, "The latest timer run in the recent window, in ms."),
    "lag_p99_ms": StatKey(GAUGE, "The 99th percentile of lateness in the recent window, in ms."),
}


def zero(obj: object, attributes: Iterable[str]) -> None:
    """Set each named counter attribute of ``obj`` back to zero (``0`` or ``0.0``)."""
    for name in attributes:
        setattr(obj, name, type(getattr(obj, name))())


def add_up(many: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum stats dicts key by key (a pool of pools).  ``pool_max``: -1 if any is -1."""
    total: dict[str, Any] = {}
    for stats in many:
        for key, value in stats.items():
            if key == "pool_max" and (value == -1 or total.get(key) == -1):
                total[key] = -1
            else:
                total[key] = total.get(key, 0) + value
    return total


class RequestCounters:
    """``requests_num``, ``requests_errors``, ``requests_timeouts``, ``requests_error_replies``.

    For a client that sends requests: ``num += 1`` for each, then
    :meth:`failed` with whatever it raised.  A timeout is any
    :class:`TimeoutError` (greenpool's, a driver's) or a ``gevent.Timeout``
    (the caller's own); an error reply is a :class:`~greenpool.ReplyError`.
    """

    __slots__ = ("error_replies", "errors", "num", "timeouts")

    def __init__(self) -> None:
        self.num = 0
        self.errors = 0
        self.timeouts = 0
        self.error_replies = 0

    def failed(self, exc: BaseException) -> None:
        """Count a request that raised ``exc``."""
        self.errors += 1
        if isinstance(exc, (builtins.TimeoutError, gevent.Timeout)):
            self.timeouts += 1
        elif isinstance(exc, ReplyError):
            self.error_replies += 1

    def read(self, reset: bool = False) -> dict[str, int]:
        """The counters by stats key; with ``reset``, zero them after reading."""
        stats = {
            "requests_num": self.num,
            "requests_errors": self.errors,
            "requests_timeouts": self.timeouts,
            "requests_error_replies": self.error_replies,
        }
        if reset:
            self.num = self.errors = self.timeouts = self.error_replies = 0
        return stats


class ConnectionCounters:
    """``connections_num``, ``connections_errors``, ``connections_lost``, ``reconnects``.

    For something that keeps connections open: :meth:`opened` after each
    connect (``key`` tells connections apart: the second open of one key is
    a reconnect), ``errors += 1`` for a failed connect, ``lost += 1`` when
    an open connection breaks (not when it is closed on purpose).
    """

    __slots__ = ("_seen", "errors", "lost", "num", "reconnects")

    def __init__(self) -> None:
        self.num = 0
        self.errors = 0
        self.lost = 0
        self.reconnects = 0
        self._seen: set[int] = set()

    def opened(self, key: int = 0) -> None:
        """Count a connect that succeeded."""
        self.num += 1
        if key in self._seen:
            self.reconnects += 1
        else:
            self._seen.add(key)

    def forget(self, key: int = 0) -> None:
        """The connection ``key`` is gone for good: a later open of that key is not a reconnect."""
        self._seen.discard(key)

    def read(self, reset: bool = False) -> dict[str, int]:
        """The counters by stats key; with ``reset``, zero them after reading."""
        stats = {
            "connections_num": self.num,
            "connections_errors": self.errors,
            "connections_lost": self.lost,
            "reconnects": self.reconnects,
        }
        if reset:
            self.num = self.errors = self.lost = self.reconnects = 0
        return stats
