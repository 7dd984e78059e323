"""What the real-process tests of gunicorn and Celery share.

* :class:`HttpLoad`: a small green HTTP/1.1 load generator.  Each caller
  opens a connection per request and reads the whole response, so every
  request it counts as answered was answered, and none is left half-way
  when it stops: the server's counters must then equal its count of 2xx.
* :func:`sockets_to`: how many TCP sockets a process holds to a server's
  port, read from ``/proc`` (no ``ss`` needed).
* :func:`start` / :func:`stop`: a program in a process group of its own,
  its output in a file; stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent import socket

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent


@dataclass
class HttpLoad:
    """``callers`` greenlets sending ``GET path`` to ``port`` until :meth:`stop`."""

    port: int
    path: str = "/hit"
    callers: int = 50
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    _glets: list[Any] = field(default_factory=list)
    _stop: bool = False
    started: float = 0.0
    elapsed: float = 0.0

    def start(self) -> HttpLoad:
        self.started = time.monotonic()
        self._glets = [gevent.spawn(self._caller) for _ in range(self.callers)]
        return self

    def stop(self) -> HttpLoad:
        """Let every request under way finish, then stop (again: nothing more)."""
        if self._stop:
            return self
        self._stop = True
        gevent.joinall(self._glets, timeout=30)
        self.elapsed = time.monotonic() - self.started
        hung = [g for g in self._glets if not g.dead]
        for glet in hung:
            glet.kill()
        if hung:
            self.errors["hung"] += len(hung)
        return self

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def non_2xx(self) -> int:
        return sum(self.statuses.values()) - self.ok

    def _caller(self) -> None:
        request = (f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Connection: close\r\n\r\n").encode()
        while not self._stop:
            try:
                self.statuses[get_status(self.port, request)] += 1
            except OSError as exc:
                self.errors[type(exc).__name__] += 1
                gevent.sleep(0.01)


def get_status(port: int, request: bytes, timeout: float = 20.0) -> int:
    """Send one request; read the whole response; its status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise ConnectionResetError(f"no HTTP response ({len(response)} bytes)")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    if length is not None and len(body) != length:
        raise ConnectionResetError(f"short body: {len(body)} of {length} bytes")
    return int(head.split(b" ", 2)[1])


def get_json(port: int, path: str) -> Any:
    """``GET path``: the JSON body of a 200 response."""
    import json

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], head
    return json.loads(body)


def _inodes_to(port: int) -> set[str]:
    """Socket inodes of every TCP connection to 127.0.0.1:``port`` (or ::1)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if int(remote.rsplit(":", 1)[1], 16) == port and state == "01":  # ESTABLISHED
                inodes.add(inode)
    return inodes


def sockets_to(pid: int, port: int) -> int:
    """How many established TCP sockets process ``pid`` holds to ``port``."""
    wanted = _inodes_to(port)
    count = 0
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in wanted:
            count += 1
    return count


def children_of(pid: int) -> list[int]:
    """The PIDs of ``pid``'s children."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def start(
    argv: list[str], log: Path, env: dict[str, str], cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a process group of its own, stdout and stderr to ``log``."""
    out = open(log, "wb")  # noqa: SIM115 - the child writes it; closed in stop()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)
    proc._greenpool_log = out  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Send ``sig`` to the process (by PID), wait; SIGKILL its group after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        code = wait_exit(proc, timeout)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    proc._greenpool_log.close()  # type: ignore[attr-defined]
    return code


def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for the process to exit without blocking the hub; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pid {proc.pid} still running after {timeout}s")
        gevent.sleep(0.05)
    return proc.returncode


def wait_for(predicate: Callable[[], Any], timeout: float, what: str | Callable[[], str]) -> None:
    """Poll ``predicate`` (yielding to the hub) until true; AssertionError naming ``what``.

    ``what`` may be a callable, for a message made when the time is up.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what}: not after {timeout}s")
        gevent.sleep(0.05)


def base_env(**extra: str) -> dict[str, str]:
    """The environment for a child: ours, the venv's bin first on PATH, plus ``extra``."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env
