"""The hub's loop-lag monitor: how late the gevent event loop runs what is due.

A gevent process runs every greenlet on one thread, and the hub switches
between them only when one waits.  Code that never waits holds up all of
them at once: a blocking C call (a socket or DNS lookup that monkey
patching missed, a C database driver without a wait callback,
``time.sleep`` imported before ``monkey.patch_all()``) or long CPU-bound
work.  Requests in flight then time out, pools look exhausted and
heartbeats fail, far from the cause.  That is the first thing to rule out,
and this monitor measures it.

Off by default; one call turns it on::

    from greenpool.integrations.monitor import start_loop_lag_monitor
    start_loop_lag_monitor(interval=0.05, threshold=0.1)

A timer due every ``interval`` seconds notes how late the hub ran it.
:meth:`LoopLagMonitor.stats` reports the lateness (the last, and the
largest and the 99th percentile of the recent ``window`` runs) and how
many runs were later than ``threshold``; each of those is logged as a
warning on the ``greenpool.monitor`` logger (at most one line a second,
the others counted in the next line).  The Prometheus collector
(:mod:`greenpool.integrations.prometheus`) exports the same figures.

A block of ``B`` seconds is seen as a lateness between ``B - interval`` and
``B``, so ``interval`` should be below ``threshold``.  The cost is one
timer callback per ``interval`` (20 a second by default); the timer does
not keep the hub alive.  The monitor watches the hub of the thread that
starts it.  Its timer survives ``fork()`` (gevent keeps the loop's
watchers), so a monitor started before a fork also watches the child.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from time import monotonic
from typing import Any

import gevent

from .._util import check_float, check_int

__all__ = [
    "LoopLagMonitor",
    "loop_lag_monitor",
    "start_loop_lag_monitor",
    "stop_loop_lag_monitor",
]

log = logging.getLogger("greenpool.monitor")

#: At most one warning line per this many seconds; the rest are counted in the next.
_LOG_EVERY = 1.0


class LoopLagMonitor:
    """A periodic hub timer that measures its own lateness (see the module docstring).

    ``interval`` (seconds between checks), ``threshold`` (lateness, in
    seconds, that is counted and logged) and ``window`` (how many recent
    checks ``lag_max_ms`` and ``lag_p99_ms`` cover).  Made stopped:
    :meth:`start` it, or use :func:`start_loop_lag_monitor`.
    """

    def __init__(self, interval: float = 0.05, threshold: float = 0.1,
                 window: int = 1200) -> None:
        self.interval = _positive("interval", interval)
        self.threshold = _positive("threshold", threshold)
        self.window = check_int("window", window, minimum=1) or 1
        self._samples: deque[float] = deque(maxlen=self.window)
        self._checks = 0
        self._over = 0
        self._last = 0.0
        self._timer: Any = None
        self._due = 0.0
        self._logged_at = -_LOG_EVERY
        self._unlogged = 0

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._timer is not None

    def start(self) -> None:
        """Arm the timer on the calling thread's hub (does nothing if running).  Never blocks."""
        if self._timer is None:
            self._arm(gevent.get_hub().loop)

    def stop(self) -> None:
        """Stop measuring; the figures so far stay readable.  Never blocks."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()

    def stats(self) -> dict[str, Any]:
        """The figures: counters since the start (or the last :meth:`pop_stats`) and gauges.

        Counters: ``checks`` (timer runs), ``over_threshold`` (runs later
        than ``threshold``).  Gauges, in milliseconds: ``lag_last_ms`` (the
        last run's lateness), ``lag_max_ms`` and ``lag_p99_ms`` (the largest
        and the 99th percentile over the last ``window`` runs).  Never
        blocks; safe from another thread.
        """
        samples = sorted(self._samples)
        p99 = samples[math.ceil(0.99 * len(samples)) - 1] if samples else 0.0
        return {
            "checks": self._checks,
            "over_threshold": self._over,
            "lag_last_ms": round(self._last * 1000, 3),
            "lag_max_ms": round(samples[-1] * 1000, 3) if samples else 0.0,
            "lag_p99_ms": round(p99 * 1000, 3),
        }

    def pop_stats(self) -> dict[str, Any]:
        """:meth:`stats`, then the counters start again from zero (the window stays)."""
        stats = self.stats()
        self._checks = self._over = 0
        return stats

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"<LoopLagMonitor {state} interval={self.interval}s "
                f"threshold={self.threshold}s checks={self._checks} over={self._over}>")

    # ------------------------------------------------------------------

    def _arm(self, loop: Any) -> None:
        # A fresh one-shot timer each time: restarting a libev timer from its
        # own callback fired it again at once.  update=True reads the clock,
        # so "due" is an interval from now, not from the loop's cached time.
        timer = loop.timer(self.interval, ref=False)
        self._timer = timer
        self._due = monotonic() + self.interval
        timer.start(self._tick, timer, update=True)

    def _tick(self, timer: Any) -> None:
        # Runs in the hub: nothing here may block or raise.
        now = monotonic()
        timer.close()
        if self._timer is not timer:
            return  # stopped meanwhile
        lag = max(0.0, now - self._due)
        self._last = lag
        self._samples.append(lag)
        self._checks += 1
        if lag > self.threshold:
            self._over += 1
            self._report(lag, now)
        self._arm(timer.loop)

    def _report(self, lag: float, now: float) -> None:
        if now - self._logged_at < _LOG_EVERY:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more late runs since the last report)" \
            if self._unlogged else ""
        self._logged_at, self._unlogged = now, 0
        # Logged from a greenlet: a handler's lock must never be waited for in the hub.
        gevent.spawn(
            log.warning,
            "the gevent hub was blocked: a timer due every %.0f ms ran %.0f ms late "
            "(threshold %.0f ms)%s.  Some code ran without yielding to the event loop: "
            "a blocking C call (a socket or DNS lookup not monkey-patched, a C database "
            "driver without a wait callback, time.sleep imported before "
            "monkey.patch_all()) or long CPU-bound work.  To see which greenlet, run "
            "with GEVENT_MONITOR_THREAD_ENABLE=true GEVENT_MAX_BLOCKING_TIME=%.2f: "
            "gevent then prints its stack.",
            self.interval * 1000, lag * 1000, self.threshold * 1000, more, self.threshold,
        )


def _positive(name: str, value: Any) -> float:
    number = check_float(name, value, strict=True)  # raises ConfigurationError if not > 0
    assert number is not None
    return number


_monitor: LoopLagMonitor | None = None


def start_loop_lag_monitor(interval: float = 0.05, threshold: float = 0.1,
                           window: int = 1200) -> LoopLagMonitor:
    """Turn the process's loop-lag monitor on (see the module docstring) and return it.

    Called again, it applies the new settings to the running monitor from
    its next check, keeping its figures.  Raises
    :class:`~greenpool.ConfigurationError` for a bad setting.  Never blocks.
    """
    global _monitor
    monitor = LoopLagMonitor(interval, threshold, window)  # checks the arguments
    if _monitor is not None:
        _monitor.interval, _monitor.threshold = monitor.interval, monitor.threshold
        if _monitor.window != monitor.window:
            _monitor.window = monitor.window
            _monitor._samples = deque(_monitor._samples, maxlen=monitor.window)
        monitor = _monitor
    _monitor = monitor
    monitor.start()
    return monitor


def stop_loop_lag_monitor() -> None:
    """Turn the monitor off; :func:`loop_lag_monitor` then returns None.  Never blocks."""
    global _monitor
    monitor, _monitor = _monitor, None
    if monitor is not None:
        monitor.stop()


def loop_lag_monitor() -> LoopLagMonitor | None:
    """The monitor :func:`start_loop_lag_monitor` started, or None when it is off."""
    return _monitor
