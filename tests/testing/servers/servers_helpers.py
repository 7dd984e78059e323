"""Helpers shared by the tests of greenpool.testing (not a test module)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from greenpool.testing import RedisServer

REPO = Path(__file__).resolve().parents[2]


def pid_alive(pid: int) -> bool:
    """True while a process (not a zombie) with this PID exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def redis_client(server: RedisServer, **kwargs: Any) -> redis.Redis:
    kwargs.setdefault("socket_timeout", 2)
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("retry", Retry(NoBackoff(), 0))  # fail at once, not after retries
    return redis.Redis(host=server.host, port=server.port, **kwargs)


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
