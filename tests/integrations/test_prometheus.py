"""The Prometheus collector, scraped over HTTP from prometheus_client's real /metrics endpoint."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from helpers import LineRedis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from greenpool import ConfigurationError, Pool, _stats
from greenpool.integrations import prometheus
from greenpool.integrations.monitor import start_loop_lag_monitor, stop_loop_lag_monitor
from greenpool.pool import MultiplexPool
from greenpool.postgres import PostgresPool
from greenpool.redis._codec import RespCodec
from greenpool.tarantool import ConnectionPool, Mode
from greenpool.transport import Connection

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return str(response.read().decode())


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def pool_labels(name: str, kind: str) -> tuple[tuple[str, str], ...]:
    return (("kind", kind), ("pool", name))


@pytest.fixture
def serve() -> Iterator[Callable[[CollectorRegistry], str]]:
    """Start prometheus_client's HTTP server for a registry on a free loopback port."""
    servers: list[Any] = []

    def start(registry: CollectorRegistry) -> str:
        httpd, _thread = start_http_server(0, addr="127.0.0.1", registry=registry)
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_port}/metrics"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_every_pool_kind_and_the_loop_lag_scraped_from_metrics(
    serve: Callable[[CollectorRegistry], str], redis_server: Any, tarantool_server: Any,
    postgres_server: Any,
) -> None:
    collector = prometheus.GreenpoolCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    url = serve(registry)
    lines: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), name="lines",
                                  pool_size=2, prefill=False)
    mux = MultiplexPool(2, lambda: Connection(redis_server.address, codec=RespCodec),
                        name="mux")
    tnt = ConnectionPool([{"host": "127.0.0.1", "port": tarantool_server.port}], name="tnt")
    pg = PostgresPool(postgres_server.dsn, name="pg", pool_size=1, prefill=False)
    monitor = start_loop_lag_monitor(interval=0.01)
    try:
        for source in (lines, mux, tnt, pg):
            collector.add(source)
        for _ in range(3):
            with lines.connection() as conn:
                conn.call("PING")
        tnt.ping(mode=Mode.ANY)
        tnt.eval("return 1", mode=Mode.RW)
        with pg.cursor() as cur:
            cur.execute("SELECT 1")
        gevent.sleep(0.05)

        text = fetch(url)
        samples = parse(text)
        assert samples[("greenpool_requests_total", pool_labels("lines", "Pool"))] == 3
        assert samples[("greenpool_connections_opened_total", pool_labels("lines", "Pool"))] == 1
        assert samples[("greenpool_pool_available", pool_labels("lines", "Pool"))] == 1
        wait = samples[("greenpool_requests_wait_seconds_total", pool_labels("lines", "Pool"))]
        assert wait == lines.stats()["requests_wait_ms"] / 1000
        assert samples[("greenpool_connections", pool_labels("mux", "MultiplexPool"))] == 2
        assert samples[("greenpool_requests_total", pool_labels("tnt", "ConnectionPool"))] == 2
        assert samples[("greenpool_instances_healthy", pool_labels("tnt", "ConnectionPool"))] == 1
        assert samples[("greenpool_requests_total", pool_labels("pg", "PostgresPool"))] == 1
        assert samples[("greenpool_loop_lag_checks_total", ())] >= 1
        assert ("greenpool_loop_lag_p99_seconds", ()) in samples
        assert "# TYPE greenpool_connections gauge" in text
        assert "# TYPE greenpool_requests_total counter" in text
        # Exported in seconds, and the help texts say seconds, never ms.
        assert ("# HELP greenpool_requests_wait_seconds_total Time spent waiting for a "
                "connection, in seconds.") in text
        assert ", in ms." not in text
        # Every sample of every source, and nothing else under greenpool_.
        expected = sum(len(s.stats()) for s in (lines, mux, tnt, pg)) + len(monitor.stats())
        assert len([k for k in samples if k[0].startswith("greenpool_")]) == expected

        # A later scrape sees later counts.
        with lines.connection() as conn:
            conn.call("PING")
        samples = parse(fetch(url))
        assert samples[("greenpool_requests_total", pool_labels("lines", "Pool"))] == 4

        collector.remove(mux)
        collector.remove("pg")
        stop_loop_lag_monitor()
        samples = parse(fetch(url))
        names = {labels for (_n, labels) in samples}
        assert pool_labels("mux", "MultiplexPool") not in names
        assert pool_labels("pg", "PostgresPool") not in names
        assert not any(n.startswith("greenpool_loop_lag") for (n, _l) in samples)
    finally:
        stop_loop_lag_monitor()
        for source in (lines, mux, tnt, pg):
            source.close()


def test_register_exports_through_the_default_registry(redis_server: Any) -> None:
    pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address),
                                 name="default-registry-pool", prefill=False)
    try:
        prometheus.register(pool)
        prometheus.register(pool)  # again: the same source, no error
        assert prometheus.install() is prometheus.COLLECTOR  # installed once
        with pool.connection() as conn:
            conn.call("PING")
        samples = parse(generate_latest(REGISTRY).decode())
        key = ("greenpool_requests_total", pool_labels("default-registry-pool", "Pool"))
        assert samples[key] == 1
        prometheus.unregister(pool)
        assert key not in parse(generate_latest(REGISTRY).decode())
    finally:
        prometheus.unregister(pool)
        pool.close()


class FakeStats:
    """Not a pool: the smallest thing with stats(), as a future client would be."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail

    def stats(self) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("broken")
        return {"requests_num": 5, "connections": 1, "brand_new_key_ms": 1500, "note": "text"}

    def close(self) -> None:
        pass


def test_any_source_with_stats_names_are_unique_and_failures_are_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    collector = prometheus.GreenpoolCollector(loop_lag=False)
    good, bad = FakeStats("good"), FakeStats("bad", fail=True)
    collector.add(good)
    collector.add(bad)
    with pytest.raises(ConfigurationError, match="name"):
        collector.add(FakeStats("good"))  # another live source under that name
    with pytest.raises(ConfigurationError, match="name"):
        collector.add(FakeStats(""))
    with pytest.raises(ConfigurationError, match="stats"):
        collector.add(object(), name="x")
    registry = CollectorRegistry()
    registry.register(collector)
    samples = parse(generate_latest(registry).decode())
    labels = pool_labels("good", "FakeStats")
    assert samples[("greenpool_requests_total", labels)] == 5
    assert samples[("greenpool_brand_new_key_seconds", labels)] == 1.5  # unknown key: a gauge
    assert not any(lab == pool_labels("bad", "FakeStats") for (_n, lab) in samples)
    assert "left out of the metrics" in caplog.text

    del good
    gc.collect()
    assert set(collector.sources()) == {"bad"}  # held weakly: collected, gone
    collector.add(FakeStats("good"), name="good")  # the name is free again


def test_every_stats_key_has_its_own_metric_family() -> None:
    families = {k: prometheus.metric_name(k) for k in _stats.KEYS}
    assert len(set(families.values())) == len(families)
    counters = {f for k, f in families.items() if _stats.KEYS[k].kind == _stats.COUNTER}
    gauges = set(families.values()) - counters
    # A counter family "x" is exposed as "x_total": no gauge may be called either.
    assert not gauges & (counters | {f + "_total" for f in counters})
    assert all(f.startswith("greenpool_") for f in families.values())


def test_scraped_from_a_monkey_patched_process(tarantool_server: Any) -> None:
    """The way it runs in a gunicorn gevent worker: the HTTP server in a green thread."""
    script = textwrap.dedent(f"""
        from gevent import monkey; monkey.patch_all()
        import sys, gevent, gevent.select, prometheus_client
        from greenpool.integrations import prometheus
        from greenpool.integrations.monitor import start_loop_lag_monitor
        from greenpool.tarantool import ConnectionPool, Mode
        pool = ConnectionPool([{{"host": "127.0.0.1", "port": {tarantool_server.port}}}],
                              name="worker-pool")
        prometheus.register(pool)
        start_loop_lag_monitor(interval=0.01)
        httpd, _ = prometheus_client.start_http_server(0, addr="127.0.0.1")
        def work():
            while True:
                pool.ping(mode=Mode.ANY)
                gevent.sleep(0.01)
        gevent.spawn(work)
        print(httpd.server_port, flush=True)
        gevent.select.select([sys.stdin], [], [], 30)  # until the test is done (green wait)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        port = int(child.stdout.readline())
        url = f"http://127.0.0.1:{port}/metrics"
        first = parse(fetch(url))
        gevent.sleep(0.1)
        second = parse(fetch(url))
        key = ("greenpool_requests_total", pool_labels("worker-pool", "ConnectionPool"))
        assert second[key] > first[key] >= 1  # the worker's pings, counted while it serves
        assert second[("greenpool_loop_lag_checks_total", ())] >= 1
        child.stdin.close()
        assert child.wait(timeout=10) == 0, child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
