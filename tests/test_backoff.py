"""greenpool._backoff.Backoff: the one back-off rule, and the waits each retry loop gets from it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenpool._backoff import Backoff


def test_no_wait_before_the_first_failure() -> None:
    assert Backoff().ceiling() == 0.0
    assert Backoff().delay() == 0.0


def test_ceilings_double_from_base_up_to_the_cap() -> None:
    backoff = Backoff(base=0.01, cap=0.1)
    ceilings = []
    for _ in range(6):
        backoff = backoff.increment()
        ceilings.append(backoff.ceiling())
    assert ceilings == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.1, 0.1])


def test_a_huge_attempt_count_gives_the_cap() -> None:
    assert Backoff(base=1.0, cap=5.0, attempts=10_000).ceiling() == 5.0


@given(st.integers(1, 80), st.floats(0, 1), st.floats(0, 0.999999))
def test_a_delay_lies_between_the_jittered_floor_and_the_ceiling(
    attempts: int, jitter: float, draw: float
) -> None:
    backoff = Backoff(base=0.05, cap=5.0, jitter=jitter, attempts=attempts)
    delay = backoff.delay(lambda: draw)
    ceiling = backoff.ceiling()
    assert ceiling * (1 - jitter) - 1e-12 <= delay <= ceiling + 1e-12


def test_increment_returns_a_new_state_and_keeps_the_old_one() -> None:
    first = Backoff(max_attempts=1)
    second = first.increment()
    assert (first.attempts, second.attempts) == (0, 1)
    assert not second.is_exhausted()
    assert second.increment().exhausted_by() == "attempts"


def test_the_deadline_counts_the_wait_about_to_be_made() -> None:
    backoff = Backoff(deadline=10.0, attempts=1)
    assert backoff.exhausted_by(delay=0.5, now=9.0) is None
    assert backoff.exhausted_by(delay=1.0, now=9.0) == "deadline"
    assert backoff.is_exhausted(now=10.0)


def test_attempts_are_checked_before_the_deadline() -> None:
    assert Backoff(max_attempts=0, deadline=0.0, attempts=1).exhausted_by(now=5.0) == "attempts"


# The five retry loops of the package each keep their own shape through it.


def test_execute_retries_wait_up_to_0_01_s_doubling_to_1_s_with_full_jitter() -> None:
    from greenpool.pool._retry import retry_backoff

    backoff = retry_backoff(max_retries=3, retry_timeout=None, started=0.0).increment()
    assert backoff.ceiling() == 0.01 and backoff.delay(lambda: 0.999999) < 1e-7
    assert retry_backoff(-1, None, 0.0).max_attempts is None


def test_the_tarantool_refresh_backoff_keeps_half_of_each_step() -> None:
    from dataclasses import replace

    from greenpool.tarantool.pool import _REFRESH_BACKOFF

    step = replace(_REFRESH_BACKOFF, cap=1.0, attempts=3)
    assert step.ceiling() == pytest.approx(0.4)  # 0.05 * 2 ** 3, as before
    assert step.delay(lambda: 0.999999) == pytest.approx(0.2, abs=1e-6)
