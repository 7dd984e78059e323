"""gunicorn ``-k gevent --preload`` with the example app, under load, for real.

The example (examples/flask_app.py with examples/gunicorn_conf.py) makes
its Redis client and PostgreSQL pool at import, in the master; one variant
also *uses* them there.  A green HTTP client loads it while gunicorn
reloads on SIGHUP and recycles workers with ``--max-requests``.  Then:

* every request got a 2xx, none failed;
* the server-side counters (Redis INCR, PostgreSQL rows) equal the number
  of 2xx responses: no write lost or done twice;
* each worker holds exactly its own connections (docs/gunicorn.md): 2 to
  Redis, ``PG_POOL_SIZE`` to PostgreSQL, none inherited from the master;
  the master holds none, or what it used at import;
* each worker that ended closed its pools (the ``worker_exit`` hook).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import gevent
import pytest
from helpers import LineRedis
from runners import (
    BIN,
    EXAMPLES,
    HttpLoad,
    base_env,
    children_of,
    get_json,
    sockets_to,
    start,
    stop,
    wait_for,
)

from greenpool.testing import free_port

PG_POOL_SIZE = 4  # examples/flask_app.py's PG_POOL_SIZE (importing it would run the app)
REDIS_SHARED = 2  # the Redis client's pool_size


def _gunicorn(tmp_path: Path, redis: Any, postgres: Any, **env: str) -> tuple[Any, int, Path]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    proc = start(
        [str(BIN / "gunicorn"), "-c", str(EXAMPLES / "gunicorn_conf.py"), "flask_app:app"],
        log,
        base_env(REDIS_URL=redis.url, DATABASE_URL=postgres.url,
                 EXAMPLE_BIND=f"127.0.0.1:{port}", **env),
    )

    def up() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            get_json(port, "/pools")
        except OSError:
            return False
        return True

    wait_for(up, 30, "gunicorn answering")
    return proc, port, log


def _worker_sockets(master: int, redis_port: int, pg_port: int) -> dict[int, tuple[int, int]]:
    counts = {}
    for pid in children_of(master):
        try:
            counts[pid] = (sockets_to(pid, redis_port), sockets_to(pid, pg_port))
        except FileNotFoundError:  # a worker recycled by --max-requests meanwhile
            continue
    return counts


@pytest.mark.parametrize("use_at_import", ["0", "1"], ids=["made-at-import", "used-at-import"])
def test_gunicorn_preload_under_load_with_sighup_and_max_requests(
    tmp_path: Path, fresh_redis: Any, postgres_server: Any, use_at_import: str
) -> None:
    postgres_server.query("DROP TABLE IF EXISTS hits")
    proc, port, log = _gunicorn(
        tmp_path, fresh_redis, postgres_server,
        EXAMPLE_WORKERS="2", EXAMPLE_MAX_REQUESTS="100", EXAMPLE_USE_AT_IMPORT=use_at_import,
    )
    load = HttpLoad(port, callers=50)
    try:
        first_workers = set(children_of(proc.pid))
        load.start()
        gevent.sleep(1.0)
        proc.send_signal(signal.SIGHUP)  # reload: new workers, the old ones stop gracefully
        gevent.sleep(1.0)
        # Load on until a worker was recycled by --max-requests after the reload
        # (a loaded machine serves fewer requests a second).
        wait_for(lambda: log.read_text().count("Autorestarting worker") >= 2, 10,
                 "two --max-requests recycles")
        load.stop()
        rate = load.ok / load.elapsed
        print(f"\n{use_at_import=}: {load.ok} requests in {load.elapsed:.1f}s, {rate:.0f}/s")

        assert load.errors == {}, load.errors
        assert load.non_2xx == 0, load.statuses
        assert load.ok > 200
        text = log.read_text()
        assert "Handling signal: hup" in text
        assert "Autorestarting worker after current request" in text  # --max-requests
        wait_for(lambda: not first_workers & set(children_of(proc.pid)), 15,
                 "the workers from before the reload gone")

        redis = LineRedis(fresh_redis.address)
        assert int(redis.call("GET", "example:hits")) == load.ok
        assert postgres_server.query("SELECT count(*) FROM hits")[0][0] == load.ok

        # Every worker that served requests holds exactly its own connections.
        for _ in range(2):  # a burst so both current workers have used their clients
            gevent.joinall([gevent.spawn(get_json, port, "/hit") for _ in range(40)])
        counts = {}

        def settled() -> bool:
            counts.clear()
            counts.update(_worker_sockets(proc.pid, fresh_redis.port, postgres_server.port))
            used = {pid: c for pid, c in counts.items() if c[0] > 0}
            if not used:
                # --max-requests recycled the workers the burst used (a slow
                # machine): use the new ones too.
                gevent.joinall([gevent.spawn(get_json, port, "/hit") for _ in range(40)])
                return False
            return all(c == (REDIS_SHARED, PG_POOL_SIZE) for c in used.values())

        wait_for(settled, 15, lambda: f"worker sockets as documented ({counts})")
        master = (sockets_to(proc.pid, fresh_redis.port),
                  sockets_to(proc.pid, postgres_server.port))
        if use_at_import == "1":
            # What it used at import: the Redis client's shared connections, the
            # PostgreSQL connection, and any the background fill opened meanwhile.
            assert master[0] == REDIS_SHARED and 1 <= master[1] <= PG_POOL_SIZE
        else:
            assert master == (0, 0)
        print(f"sockets (redis, postgres): master {master}, workers {counts}")
    finally:
        load.stop()  # already stopped unless a check failed under load
        code = stop(proc)
    text = log.read_text()
    assert code == 0, text[-3000:]
    exited = len(re.findall(r"Worker exiting \(pid: \d+\)", text))
    closed = re.findall(r"greenpool: worker \d+ closed (\d+) pools and clients", text)
    assert exited >= 4 and len(closed) == exited, text[-3000:]
    assert all(int(n) > 0 for n in closed), text[-3000:]


def test_a_patched_master_is_warned_about(tmp_path: Path, fresh_redis: Any) -> None:
    app = tmp_path / "patched_app.py"
    app.write_text(
        "from gevent import monkey; monkey.patch_all()\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'ok']\n"
    )
    port = free_port()
    log = tmp_path / "gunicorn.log"
    proc = start(
        [str(BIN / "gunicorn"), "-c", "python:greenpool.integrations.gunicorn", "--preload",
         "--no-control-socket",
         "-w", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(tmp_path), "patched_app:app"],
        log, base_env(),
    )
    try:
        wait_for(lambda: "Booting worker" in log.read_text(), 30, "a worker booting")
        assert "the gunicorn master is monkey-patched" in log.read_text()
        assert "Using worker: gevent" in log.read_text()  # the config module's worker_class
    finally:
        stop(proc)
