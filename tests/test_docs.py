"""The docs hold true: every stats key is documented, the configuration module runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from greenpool import _stats
from greenpool.testing import free_port

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_stats_key_is_on_the_metrics_page() -> None:
    page = (DOCS / "metrics.md").read_text()
    missing = [key for key in _stats.KEYS if f"`{key}`" not in page]
    assert missing == []


def settings_module() -> str:
    page = (DOCS / "configuration.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    modules = [b for b in blocks if b.startswith("# settings.py")]
    assert len(modules) == 1
    return str(modules[0])


def test_the_configuration_page_settings_module_runs(
    tmp_path: Path, redis_server: Any, tarantool_server: Any, postgres_server: Any,
) -> None:
    (tmp_path / "settings.py").write_text(settings_module())
    port = free_port()
    env = dict(
        os.environ,
        REDIS_URL=redis_server.url,
        TARANTOOL_URL=f"tarantool://127.0.0.1:{tarantool_server.port}?name=sessions",
        DATABASE_URL=postgres_server.url,
        GREENPOOL_PG_POOL_SIZE="3",
        GREENPOOL_PG_MAX_OVERFLOW="1",
        GREENPOOL_PG_POOL_TIMEOUT="5",
        GREENPOOL_LOOP_LAG_THRESHOLD_MS="250",
        GREENPOOL_METRICS_PORT=str(port),
        PYTHONPATH=str(tmp_path),
    )
    check = textwrap.dedent(f"""
        import urllib.request
        import gevent
        import settings
        from greenpool.integrations.monitor import loop_lag_monitor
        from greenpool.tarantool import Mode
        settings.redis.set("docs:configuration", "ok")
        assert settings.redis.get("docs:configuration") == b"ok"
        assert settings.tarantool.eval("return 1", mode=Mode.ANY).data == [1]
        with settings.db.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        stats = settings.db.stats()
        assert stats["pool_size"] == 3 and stats["pool_max"] == 4, stats
        assert loop_lag_monitor().threshold == 0.25
        gevent.sleep(0.1)
        url = "http://127.0.0.1:{port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        assert 'greenpool_requests_total{{kind="ConnectionPool",pool="sessions"}} 1.0' in text
        assert "greenpool_loop_lag_checks_total" in text
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
