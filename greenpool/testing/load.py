"""A steady load of many greenlets calling, for the chaos tests and ``bench/soak.py``.

:class:`Load` runs callers in a loop, checks that every reply is the
caller's own (a mismatch is a *crossed* reply), cancels a share of the
calls with tiny timeouts of the callers' own and kills callers at random
if asked, and records when each caller last succeeded and whether it is
in a call, so a test can measure how long failures last after a fault.
:func:`open_fds` and :func:`rss_mb` read the process's descriptors and
memory.

Imports gevent (the callers are greenlets) and nothing of greenpool's layers.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent

__all__ = ["Load", "in_thread", "open_fds", "rss_mb"]


@dataclass
class Load:
    """``greenlets`` callers calling ``call(value)`` in a loop until :meth:`stop`.

    Every reply is checked against ``expect(value)``: a mismatch is a
    crossed reply.  ``cancel_share`` of the calls run under a tiny
    ``gevent.Timeout`` of the caller's own (0 to 2 ms), so cancellations
    happen at every point of a call.  ``last_ok[i]`` is when caller ``i``
    last succeeded (``time.monotonic()``).
    """

    call: Callable[[str], Any]
    expect: Callable[[str], Any] = lambda value: value.encode()
    greenlets: int = 300
    cancel_share: float = 0.0
    kills_per_second: float = 0.0
    pace: float = 0.0
    ok: int = 0
    killed: int = 0
    cancelled: int = 0
    crossed: list[tuple[str, Any]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_times: list[float] = field(default_factory=list)
    last_ok: list[float] = field(default_factory=list)
    busy_since: list[float | None] = field(default_factory=list)
    _glets: list[Any] = field(default_factory=list)
    _killer: Any = None
    _stop: bool = False

    def start(self) -> Load:
        self.last_ok = [0.0] * self.greenlets
        self.busy_since = [None] * self.greenlets
        self._glets = [gevent.spawn(self._run, i, 0) for i in range(self.greenlets)]
        if self.kills_per_second:
            self._killer = gevent.spawn(self._kill_at_random)
        return self

    def _kill_at_random(self) -> None:
        rnd = random.Random(7)
        generation = 0
        while not self._stop:
            gevent.sleep(rnd.expovariate(self.kills_per_second))
            i = rnd.randrange(self.greenlets)
            self._glets[i].kill(block=False)
            self.killed += 1
            generation += 1
            self._glets[i] = gevent.spawn(self._run, i, generation)

    def _run(self, i: int, generation: int) -> None:
        rnd = random.Random(i * 1_000_003 + generation)
        n = 0
        while not self._stop:
            n += 1
            value = f"{i}:{generation}:{n}:{rnd.random()}"
            self.busy_since[i] = time.monotonic()
            timer = None
            try:
                if rnd.random() < self.cancel_share:
                    timer = gevent.Timeout(rnd.choice([0, 0.0002, 0.0005, 0.002]))
                    with timer:
                        reply = self.call(value)
                else:
                    reply = self.call(value)
            except gevent.Timeout as exc:
                if exc is not timer:
                    # Not this caller's own cancel: a Timeout that leaked out of
                    # the code under test is an error, not a cancel.
                    self.errors[f"leaked {type(exc).__name__}"] += 1
                    self.error_times.append(time.monotonic())
                    continue
                self.cancelled += 1
                continue
            except Exception as exc:
                self.errors[type(exc).__name__] += 1
                self.error_times.append(time.monotonic())
                gevent.sleep(0.005 + rnd.random() * 0.01)
                continue
            finally:
                self.busy_since[i] = None
            if reply != self.expect(value):
                self.crossed.append((value, reply))
            else:
                self.ok += 1
                self.last_ok[i] = time.monotonic()
            if self.pace:
                gevent.sleep(self.pace)

    def stop(self, timeout: float = 20.0) -> int:
        """Stop the callers; return how many did not finish within ``timeout`` (stuck).

        Those are killed (without waiting); calling it again does no harm.
        """
        self._stop = True
        if self._killer is not None:
            self._killer.kill()
        gevent.joinall(self._glets, timeout=timeout)
        stuck = sum(1 for g in self._glets if not g.dead)
        gevent.killall(self._glets, block=False)
        return stuck

    def calls_in_flight_at(self, moment: float, timeout: float) -> float:
        """Seconds until every call that was under way at ``moment`` has ended.

        Raises AssertionError when one is still running ``timeout`` seconds later.
        """
        deadline = moment + timeout
        while any(t is not None and t <= moment for t in self.busy_since):
            if time.monotonic() > deadline:
                stuck = sum(1 for t in self.busy_since if t is not None and t <= moment)
                raise AssertionError(f"{stuck} calls still under way {timeout}s after the event")
            gevent.sleep(0.005)
        return time.monotonic() - moment

    def all_working_since(self, moment: float, timeout: float) -> float:
        """Seconds from ``moment`` until every caller has succeeded after it.

        Raises AssertionError when that takes longer than ``timeout``.
        """
        deadline = moment + timeout
        while min(self.last_ok) < moment:
            if time.monotonic() > deadline:
                behind = sum(1 for t in self.last_ok if t < moment)
                raise AssertionError(f"{behind} callers not working {timeout}s after the event")
            gevent.sleep(0.01)
        return time.monotonic() - moment


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run a blocking call (a server's start or stop) in a real thread; the hub runs on."""
    return gevent.get_hub().threadpool.apply(fn)


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    """This process's resident set size, in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
