"""Load generators the chaos tests share: many greenlets calling, forks among them.

:func:`fork_storm` runs ``greenlets`` callers in a loop, each checking that
every reply is its own, while the process forks ``forks`` times.  Each
child runs the hub for a while (so whatever the parent left pending at the
fork gets its chance to run), then checks that the driver works in the
child too, and exits with ``os._exit``.  It returns what the parent saw,
for the test to compare with what the server counted per client port.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.os
from helpers import wait_child


@dataclass
class StormResult:
    """What the parent's callers saw during a fork storm."""

    ok: int = 0
    errors: list[BaseException] = field(default_factory=list)
    crossed: list[tuple[str, Any]] = field(default_factory=list)
    hung: int = 0
    children: list[int] = field(default_factory=list)  # exit codes


def fork_storm(
    call: Callable[[str], Any],
    *,
    expect: Callable[[str], Any] = lambda value: value.encode(),
    in_child: Callable[[], bool],
    greenlets: int = 500,
    forks: int = 20,
    child_runs_hub_for: float = 0.05,
    gap: float = 0.01,
) -> StormResult:
    """Callers run ``call(value)`` in a loop while the process forks ``forks`` times.

    Each child runs the hub for ``child_runs_hub_for`` seconds, then exits
    with 0 when ``in_child()`` is true (the driver works there), 1 when it
    is false, 2 when it raised, 3 when it did not finish in 10 s.
    """
    result = StormResult()
    stop = [False]

    def worker(i: int) -> None:
        n = 0
        while not stop[0]:
            n += 1
            value = f"w{i}:{n}:{random.random()}"
            try:
                reply = call(value)
            except Exception as exc:
                result.errors.append(exc)
                gevent.sleep(0.001)
                continue
            if reply != expect(value):
                result.crossed.append((value, reply))
            else:
                result.ok += 1

    spawned = [gevent.spawn(worker, i) for i in range(greenlets)]
    gevent.sleep(0.05)  # let the load build up
    pids = []
    for _ in range(forks):
        gevent.sleep(gap * random.uniform(0.2, 1.0))
        pid = gevent.fork()
        if pid == 0:  # the child
            code = 2
            try:
                gevent.sleep(child_runs_hub_for)
                # Whatever was pending at the fork has had its chance: stop the
                # copies of the callers, so the check runs without their load.
                stop[0] = True
                with gevent.Timeout(10, False):
                    code = 3
                    code = 0 if in_child() else 1
            finally:
                os._exit(code)
        pids.append(pid)
    gevent.sleep(0.05)
    stop[0] = True
    gevent.joinall(spawned, timeout=20)
    result.hung = sum(1 for g in spawned if not g.dead)
    for glet in spawned:
        glet.kill(block=False)
    result.children = [wait_child(pid) for pid in pids]
    return result


@contextmanager
def redis_monitor(port: int, tmp: Any) -> Iterator[Counter[tuple[int, str]]]:
    """Count every command a Redis server runs, by (client port, command name).

    The recorder is a separate ``redis-cli monitor`` process writing to a
    file in ``tmp`` (a directory), so no forked child of the test can read
    from its socket.  The yielded Counter is filled when the block ends,
    after a marker command shows the recorder has caught up.
    """
    path = os.path.join(str(tmp), f"monitor-{port}.log")
    seen: Counter[tuple[int, str]] = Counter()
    with open(path, "wb") as out:
        proc = subprocess.Popen(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "monitor"],
            stdout=out, stderr=subprocess.DEVNULL,
        )
    try:
        _wait_for(lambda: b"OK" in _read(path))
        yield seen
        marker = f"monitor-end-{random.random()}"
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "echo", marker],
                       check=True, stdout=subprocess.DEVNULL)
        _wait_for(lambda: marker.encode() in _read(path), timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for line in _read(path).splitlines():
        try:
            where = line.split(b"[", 1)[1].split(b"]", 1)[0]
            port_text = where.rsplit(b":", 1)[1]
            name = line.split(b'"', 2)[1].decode().lower()
        except (IndexError, ValueError):
            continue
        seen[(int(port_text), name)] += 1


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        gevent.sleep(0.02)


def ports_of(counts: Counter[tuple[int, str]], command: str) -> dict[int, int]:
    """How many ``command`` commands each client port sent."""
    return {port: n for (port, name), n in counts.items() if name == command}
