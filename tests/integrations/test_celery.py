"""A real Celery worker whose tasks use greenpool (examples/celery_app.py).

``-P gevent``: a few thousand tasks, with a warm shutdown (SIGTERM) part-way
and a second worker after it.  With early acks (Celery's default; late acks
can be lost at a warm shutdown, celery#3802) nothing may be lost or run
twice: each task counts its runs in Redis (greenpool's client) and
inserts a row in PostgreSQL (greenpool's pool), and the counts must show
exactly one run per task, with the right result.  ``-P prefork``: the same
tasks in two child processes, each closing its pools when it ends.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import LineRedis
from runners import EXAMPLES, base_env, start, stop, wait_for

sys.path.insert(0, str(EXAMPLES))
import celery_app


@pytest.fixture
def schema(postgres_server: Any) -> None:
    postgres_server.query("DROP TABLE IF EXISTS task_runs")
    celery_app.setup_schema(postgres_server.url)


def _send(broker: Any, tasks: int) -> None:
    """Queue ``square(0)`` .. ``square(tasks - 1)`` on ``broker``'s Redis."""
    with celery_app.app.connection_for_write(broker.url) as conn, conn.Producer() as producer:
        for i in range(tasks):
            celery_app.square.apply_async((i,), producer=producer)


def _run_worker(tmp_path: Path, name: str, redis: Any, postgres: Any, pool: str,
                concurrency: int, until_runs: int, timeout: float) -> str:
    """A worker, until ``until_runs`` tasks have run; then a warm shutdown.  Its log."""
    log = tmp_path / f"{name}.log"
    proc = start(celery_app.worker_command(pool, concurrency), log,
                 base_env(REDIS_URL=redis.url, DATABASE_URL=postgres.url), cwd=EXAMPLES)
    counter = LineRedis(redis.address)
    try:
        wait_for(lambda: int(counter.call("HLEN", "example:runs")) >= until_runs, timeout,
                 lambda: f"{until_runs} tasks run ({log.read_text()[-2000:]})")
    finally:
        # SIGTERM: Celery's warm shutdown, the tasks under way finish.
        assert stop(proc, signal.SIGTERM, timeout=60) == 0, log.read_text()[-2000:]
        counter.close()
    return log.read_text()


def _hash(redis: LineRedis, key: str) -> dict[int, int]:
    flat = redis.call("HGETALL", key)
    return {int(k): int(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}


def _runs(redis: LineRedis) -> dict[int, int]:
    return _hash(redis, "example:runs")


def _check_every_task_ran_once(redis: LineRedis, postgres: Any, tasks: int) -> None:
    runs = _runs(redis)
    assert sorted(runs) == list(range(tasks))
    twice = [i for i, n in runs.items() if n != 1]
    assert not twice, postgres.query(
        "SELECT i, pid, task_id FROM task_runs WHERE i = ANY(%s) ORDER BY i", (twice,))
    assert _hash(redis, "example:results") == {i: i * i for i in range(tasks)}
    rows = postgres.query("SELECT count(*), count(DISTINCT i), sum(value) FROM task_runs")[0]
    assert rows == (tasks, tasks, sum(i * i for i in range(tasks)))


def test_celery_gevent_worker_loses_and_repeats_nothing_across_a_warm_restart(
    tmp_path: Path, schema: None, fresh_redis: Any, postgres_server: Any
) -> None:
    tasks = 2000
    _send(fresh_redis, tasks)
    redis = LineRedis(fresh_redis.address)
    text = _run_worker(tmp_path, "first", fresh_redis, postgres_server, "gevent", 100,
                       until_runs=tasks // 4, timeout=60)
    done_by_first = len(_runs(redis))
    assert 0 < done_by_first < tasks
    assert set(_runs(redis).values()) == {1}
    assert "Warm shutdown" in text
    assert re.search(r"greenpool: closed [1-9]\d* pools and clients", text)

    _run_worker(tmp_path, "second", fresh_redis, postgres_server, "gevent", 100,
                until_runs=tasks, timeout=120)
    _check_every_task_ran_once(redis, postgres_server, tasks)
    print(f"\nfirst worker ran {done_by_first}, the second {tasks - done_by_first}")


def test_celery_prefork_children_connect_on_their_own_and_close_at_exit(
    tmp_path: Path, schema: None, fresh_redis: Any, postgres_server: Any
) -> None:
    tasks = 200
    _send(fresh_redis, tasks)
    redis = LineRedis(fresh_redis.address)
    text = _run_worker(tmp_path, "prefork", fresh_redis, postgres_server, "prefork", 2,
                       until_runs=tasks, timeout=90)
    _check_every_task_ran_once(redis, postgres_server, tasks)
    pids = {row[0] for row in postgres_server.query("SELECT DISTINCT pid FROM task_runs")}
    assert len(pids) == 2  # the two children, each on its own connections
    closed = re.findall(r"ForkPoolWorker-\d+\] greenpool: closed (\d+) pools and clients",
                        text)
    assert len(closed) == 2 and all(int(n) > 0 for n in closed), text[-3000:]
