"""Prometheus metrics: every registered pool's ``stats()``, and the hub's loop lag.

Needs ``prometheus_client`` (the ``metrics`` extra: ``pip install
greenpool[metrics]``).  Pools are exported when registered, one call each::

    from greenpool.integrations import prometheus
    prometheus.register(pool)                  # labelled pool="<pool.name>"
    prometheus.register(tarantool_pool, name="sessions")
    prometheus_client.start_http_server(9100, addr="127.0.0.1")

Registration is explicit, not automatic: a client's own inner pools (the
shared and dedicated pools under a Redis client, a PostgresPool's pool per
server) would otherwise be counted twice.  Anything with a ``stats()``
method returning a flat dict of numbers can be registered, so a new kind of
pool needs nothing here.  Sources are held weakly: a pool that is garbage
collected drops out of the metrics (:func:`unregister` removes one at once).

Every stats key becomes one metric family, ``greenpool_<key>`` labelled
``pool`` (the name) and ``kind`` (the class, such as ``Pool`` or
``ConnectionPool``): counters as Prometheus counters (``_total``), gauges as
gauges, milliseconds as seconds (``requests_wait_ms`` becomes
``greenpool_requests_wait_seconds_total``).  The key table is
:data:`greenpool._stats.KEYS`; a key it doesn't know is exported as a gauge.
When the loop-lag monitor (:mod:`greenpool.integrations.monitor`) is on, its
figures are exported too, as ``greenpool_loop_lag_*`` without labels.

Scrapes read ``stats()``, never ``pop_stats()``: the counters only grow, as
Prometheus expects (a ``pop_stats()`` elsewhere looks like a restart to
``rate()``).  The HTTP server of ``prometheus_client`` runs in a thread (a
green one under monkey patching); reading stats from there is safe.

Each process exports its own pools: with several gunicorn workers, give
each worker its own port (for example ``9100 + worker.age`` in
``post_fork``) or scrape them another way; ``prometheus_client``'s
multiprocess mode does not run custom collectors.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from .._stats import COUNTER, GAUGE, KEYS
from ..errors import ConfigurationError
from .monitor import loop_lag_monitor

__all__ = ["COLLECTOR", "GreenpoolCollector", "install", "metric_name", "register", "unregister"]

log = logging.getLogger("greenpool.prometheus")

_PREFIX = "greenpool_"
# Keys whose plain spelling would read badly or clash with another family.
_RENAMED = {
    "requests_num": "requests",
    "connections_num": "connections_opened",  # "connections" is the gauge
    "connections_ms": "connect_seconds",
}
_LOOP_LAG = {"checks", "over_threshold", "lag_last_ms", "lag_max_ms", "lag_p99_ms"}


def metric_name(key: str) -> str:
    """The metric family of a stats key, without ``_total``.

    ``usage_ms`` gives ``greenpool_usage_seconds``; ``lag_p99_ms`` gives
    ``greenpool_loop_lag_p99_seconds``.
    """
    name = _RENAMED.get(key)
    if name is None:
        name = key[:-3] + "_seconds" if key.endswith("_ms") else key
    if key in _LOOP_LAG:
        name = "loop_lag_" + name.removeprefix("lag_")
    return _PREFIX + name


def _families(rows: list[tuple[dict[str, Any], list[str]]],
              labelnames: list[str]) -> Iterator[Metric]:
    """One family per key seen in ``rows`` (stats, label values), each with every row's sample."""
    families: dict[str, Any] = {}
    for stats, labels in rows:
        for key, value in stats.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            family = families.get(key)
            if family is None:
                spec = KEYS.get(key)
                kind = spec.kind if spec is not None else GAUGE
                text = spec.help if spec is not None else f"greenpool stats key {key!r}."
                if key.endswith("_ms"):  # exported in seconds: the text says so
                    text = text.replace(", in ms.", ", in seconds.")
                maker = CounterMetricFamily if kind == COUNTER else GaugeMetricFamily
                family = families[key] = maker(metric_name(key), text, labels=labelnames)
            family.add_metric(labels, value / 1000 if key.endswith("_ms") else value)
    yield from families.values()


class GreenpoolCollector(Collector):
    """A ``prometheus_client`` collector of registered pools (see the module docstring).

    :meth:`add` and :meth:`remove` sources; register the collector itself
    with a ``CollectorRegistry`` (:func:`install` does it for the shared
    :data:`COLLECTOR`).  ``loop_lag=False`` leaves the loop-lag monitor out.
    """

    def __init__(self, loop_lag: bool = True) -> None:
        self._sources: dict[str, tuple[weakref.ref[Any], str]] = {}
        self._loop_lag = loop_lag

    def add(self, source: Any, name: str | None = None) -> None:
        """Export ``source`` (anything with ``stats()``) labelled ``pool=name``.

        ``name`` defaults to ``source.name``.  Raises
        :class:`~greenpool.ConfigurationError` for a source without
        ``stats()`` or a name already taken by another live source.
        """
        if not callable(getattr(source, "stats", None)):
            raise ConfigurationError("source", source, "has no stats() method")
        if name is None:
            name = getattr(source, "name", None)
        if not isinstance(name, str) or not name:
            raise ConfigurationError("name", name, "must be a non-empty string")
        held = self._sources.get(name)
        if held is not None and held[0]() not in (None, source):
            raise ConfigurationError("name", name, "is already registered for another pool")
        self._sources[name] = (weakref.ref(source), type(source).__name__)

    def remove(self, source: Any) -> None:
        """Stop exporting ``source`` (or the source registered under that name)."""
        for name, (ref, _kind) in list(self._sources.items()):
            if name == source or ref() is source:
                del self._sources[name]

    def sources(self) -> dict[str, Any]:
        """The live sources, by name."""
        return {name: src for name, (ref, _k) in list(self._sources.items())
                if (src := ref()) is not None}

    def collect(self) -> Iterator[Metric]:
        """The metrics now (called by ``prometheus_client`` at each scrape)."""
        rows: list[tuple[dict[str, Any], list[str]]] = []
        for name, (ref, kind) in list(self._sources.items()):
            source = ref()
            if source is None:
                self._sources.pop(name, None)
                continue
            try:
                rows.append((source.stats(), [name, kind]))
            except Exception as exc:  # one broken source must not fail the scrape
                log.warning("stats() of %s %r raised %r: left out of the metrics",
                            kind, name, exc)
        yield from _families(rows, ["pool", "kind"])
        monitor = loop_lag_monitor() if self._loop_lag else None
        if monitor is not None:
            yield from _families([(monitor.stats(), [])], [])


#: The collector that :func:`register` adds to.
COLLECTOR = GreenpoolCollector()
_installed: set[int] = set()


def install(registry: CollectorRegistry = REGISTRY) -> GreenpoolCollector:
    """Register :data:`COLLECTOR` with ``registry`` (once; default: prometheus_client's)."""
    if id(registry) not in _installed:
        registry.register(COLLECTOR)
        _installed.add(id(registry))
    return COLLECTOR


def register(source: Any, name: str | None = None, *,
             registry: CollectorRegistry = REGISTRY) -> None:
    """Export ``source``'s ``stats()`` through ``registry`` (see :meth:`GreenpoolCollector.add`)."""
    install(registry).add(source, name)


def unregister(source: Any) -> None:
    """Stop exporting ``source`` (or the source registered under that name)."""
    COLLECTOR.remove(source)
