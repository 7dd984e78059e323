"""Each example in examples/ runs, with one command, against real servers.

The servers are the tests' own, passed as ``REDIS_URL``, ``DATABASE_URL``
and ``TARANTOOL_URL``, as a user's would be; ``run_with_servers.py`` is
run without them, so that it starts its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from runners import EXAMPLES, base_env, get_json, start, stop, wait_for

from greenpool.testing import free_port


def _run(script: str, *args: str, env: dict[str, str], timeout: float = 90) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=EXAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def urls(redis_server: Any, postgres_server: Any, tarantool_server: Any) -> dict[str, str]:
    return base_env(REDIS_URL=redis_server.url, DATABASE_URL=postgres_server.url,
                    TARANTOOL_URL=tarantool_server.url)


def test_the_script_example_drains_its_queue(urls: dict[str, str]) -> None:
    assert "300 jobs in" in _run("script.py", "--jobs", "300", env=urls)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_the_postgres_example_balances(urls: dict[str, str], driver: str) -> None:
    out = _run("postgres_example.py", "--driver", driver, env=urls)
    assert "total still 20000" in out and out.startswith(f"{driver}: ")


def test_the_tarantool_example_reads_back_what_it_wrote(urls: dict[str, str]) -> None:
    assert "read back 1000 tuples" in _run("tarantool_example.py", env=urls)


def test_the_checkout_pool_example_balances(redis_server: Any) -> None:
    assert "stats:" in _run("checkout_pool_redis.py", redis_server.url, env=base_env())


def test_the_celery_example_runs_each_task_once(
    fresh_redis: Any, postgres_server: Any
) -> None:
    env = base_env(REDIS_URL=fresh_redis.url, DATABASE_URL=postgres_server.url)
    assert "each run [1] time(s)" in _run("celery_app.py", "100", env=env, timeout=120)


def test_the_gunicorn_example_serves_with_servers_of_its_own(tmp_path: Path) -> None:
    """run_with_servers.py starts Redis, PostgreSQL and Tarantool, then gunicorn."""
    port = free_port()
    env = base_env(EXAMPLE_BIND=f"127.0.0.1:{port}")
    for name in ("REDIS_URL", "DATABASE_URL", "TARANTOOL_URL"):
        env.pop(name, None)
    log = tmp_path / "run.log"
    proc = start([sys.executable, str(EXAMPLES / "run_with_servers.py"),
                  str(Path(sys.executable).with_name("gunicorn")),
                  "-c", str(EXAMPLES / "gunicorn_conf.py"), "flask_app:app"], log, env)
    try:
        def answered() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return bool(get_json(port, "/hit")["hits"] >= 1)
            except OSError:
                return False

        wait_for(answered, 60, lambda: log.read_text()[-2000:])
    finally:
        assert stop(proc) == 0, log.read_text()[-2000:]
    assert "REDIS_URL=redis://" in log.read_text()
