"""The hub's loop-lag monitor: a hub blocked by an unpatched time.sleep is seen and logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import gevent
import pytest

from greenpool import ConfigurationError
from greenpool.integrations.monitor import (
    LoopLagMonitor,
    loop_lag_monitor,
    start_loop_lag_monitor,
    stop_loop_lag_monitor,
)


@pytest.fixture(autouse=True)
def no_monitor_left() -> Iterator[None]:
    stop_loop_lag_monitor()
    yield
    stop_loop_lag_monitor()


def test_off_by_default_and_one_call_turns_it_on() -> None:
    assert loop_lag_monitor() is None
    monitor = start_loop_lag_monitor(interval=0.01, threshold=0.1)
    assert loop_lag_monitor() is monitor and monitor.running
    gevent.sleep(0.1)
    assert monitor.stats()["checks"] >= 3
    # Called again: the same monitor, new settings, figures kept.
    checks = monitor.stats()["checks"]
    assert start_loop_lag_monitor(interval=0.02, threshold=0.3) is monitor
    assert monitor.threshold == 0.3 and monitor.stats()["checks"] >= checks
    stop_loop_lag_monitor()
    assert loop_lag_monitor() is None and not monitor.running
    checks = monitor.stats()["checks"]
    gevent.sleep(0.05)
    assert monitor.stats()["checks"] == checks  # stopped: no more checks


def test_a_blocked_hub_is_recorded_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="greenpool.monitor")
    monitor = start_loop_lag_monitor(interval=0.02, threshold=0.1)
    gevent.sleep(0.1)
    before = monitor.stats()
    time.sleep(0.2)  # not monkey-patched: blocks the hub
    gevent.sleep(0.05)  # the late check runs, then the greenlet that logs
    stats = monitor.stats()
    assert stats["checks"] > before["checks"]
    assert stats["over_threshold"] == before["over_threshold"] + 1
    # A 200 ms block with a 20 ms interval: between 180 and 200 ms late (plus noise).
    assert 170 <= stats["lag_max_ms"] < 1000
    assert stats["lag_p99_ms"] >= 170  # a few dozen samples: the p99 is the worst
    lines = [r.getMessage() for r in caplog.records if r.name == "greenpool.monitor"]
    assert len(lines) == 1
    assert "the gevent hub was blocked" in lines[0] and "ms late" in lines[0]
    assert "GEVENT_MONITOR_THREAD_ENABLE" in lines[0]

    popped = monitor.pop_stats()
    assert popped["over_threshold"] == stats["over_threshold"]
    after = monitor.stats()
    assert after["over_threshold"] == 0 and after["checks"] <= 2
    assert after["lag_max_ms"] >= 170  # the window is a gauge: not reset


def test_log_lines_are_limited_and_count_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="greenpool.monitor")
    monitor = start_loop_lag_monitor(interval=0.01, threshold=0.03)
    for _ in range(3):
        gevent.sleep(0.02)
        time.sleep(0.06)
    gevent.sleep(0.02)
    assert monitor.stats()["over_threshold"] == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "greenpool.monitor"]
    assert len(lines) == 1  # within a second: one line, the rest counted for the next


def test_the_window_bounds_max_and_p99() -> None:
    monitor = LoopLagMonitor(interval=0.005, threshold=1.0, window=5)
    monitor.start()
    try:
        gevent.sleep(0.01)
        time.sleep(0.1)
        gevent.sleep(0.01)
        assert monitor.stats()["lag_max_ms"] >= 80
        gevent.sleep(0.1)  # more than 5 checks later, the late one left the window
        assert monitor.stats()["lag_max_ms"] < 80
    finally:
        monitor.stop()


@pytest.mark.parametrize(("argument", "value"),
                         [("interval", 0), ("threshold", -1), ("window", 0), ("interval", "1")])
def test_bad_settings_name_the_argument(argument: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=argument):
        start_loop_lag_monitor(**{argument: value})  # type: ignore[arg-type]
    assert loop_lag_monitor() is None
