"""greenpool._deadlines: one waiting greenlet's record, its deadline and how its wait ends.

A small owner (a hand-off slot) drives the primitive the way the transport
and the checkout pool do: it settles a record and schedules the switch into
its greenlet, and keeps books that must balance however the wait ends.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gevent
import pytest
from gevent import get_hub, monkey
from greenlet import getcurrent

from greenpool._deadlines import ABANDONED, DONE, TIMED_OUT, WAITING, Deadlines, Wait

blocking_sleep = monkey.get_original("time", "sleep")


class Owner:
    """Hands values to waiting greenlets; counts who waits; gets back what a leaver held."""

    def __init__(self) -> None:
        self.deadlines = Deadlines(self.expired, self.left)
        self.waiting: list[Wait] = []
        self.expired_batches: list[list[Wait]] = []
        self.left_states: list[int] = []
        self.returned: list[Any] = []

    def expired(self, due: list[Wait]) -> None:
        assert all(record.state == TIMED_OUT for record in due)
        self.expired_batches.append(list(due))
        for record in due:
            record.value = len(self.waiting)  # how many waited, this batch included
        for record in due:
            self.waiting.remove(record)

    def left(self, record: Wait, state: int) -> None:
        assert record.state == ABANDONED and record.greenlet is None
        self.left_states.append(state)
        if state == WAITING:
            self.waiting.remove(record)
        elif state == DONE:
            self.returned.append(record.value)  # handed over but never taken: pass it on

    def wait(self, timeout: float | None, shared: bool = True) -> Wait:
        record = Wait(getcurrent())
        self.waiting.append(record)
        self.deadlines.wait(get_hub(), record, timeout, shared)
        if record.state == DONE:
            self.waiting.remove(record)
        return record

    def hand(self, value: Any) -> Wait:
        record = next(r for r in self.waiting if r.state == WAITING)
        record.state = DONE
        record.value = value
        get_hub().loop.run_callback(_wake, record)
        return record


class LineOwner(Owner):
    """Keeps every record in its own line, in arrival order, and lends the line to the timer."""

    def __init__(self) -> None:
        super().__init__()
        self.line: deque[Wait] = deque()
        self.deadlines = Deadlines(self.expired, self.left, self.line)

    def wait(self, timeout: float | None, shared: bool = True) -> Wait:
        record = Wait(getcurrent())
        self.waiting.append(record)
        self.line.append(record)
        self.deadlines.wait(get_hub(), record, timeout, shared)
        if record.state == DONE:
            self.waiting.remove(record)
        return record


def _wake(record: Wait) -> None:
    if record.greenlet is not None and record.state == DONE:
        record.greenlet.switch()


def test_a_handed_value_ends_the_wait() -> None:
    owner = Owner()
    waiter = gevent.spawn(owner.wait, 5.0)
    gevent.sleep(0)
    owner.hand("conn")
    record = waiter.get(timeout=1)
    assert record.state == DONE and record.value == "conn" and record.greenlet is None
    assert owner.waiting == [] and owner.left_states == [] and owner.expired_batches == []


def test_killed_before_the_hand_off_gives_its_place_up() -> None:
    owner = Owner()
    waiter = gevent.spawn(owner.wait, 5.0)
    gevent.sleep(0)
    waiter.kill()
    assert owner.left_states == [WAITING] and owner.waiting == []
    assert owner.returned == []
    assert isinstance(waiter.value, gevent.GreenletExit)


def test_killed_during_the_hand_off_passes_the_value_on() -> None:
    # The value was handed, the switch into the waiter scheduled, and the
    # kill arrives first: the value must not be lost with the greenlet.
    owner = Owner()
    waiter = gevent.spawn(owner.wait, 5.0)
    gevent.sleep(0)
    waiter.kill(block=False)  # the kill's callback runs before the hand-off's
    record = owner.hand("conn")
    gevent.sleep(0)
    assert waiter.dead and isinstance(waiter.value, gevent.GreenletExit)
    assert owner.left_states == [DONE] and owner.returned == ["conn"]
    assert record.state == ABANDONED and record.greenlet is None


def test_killed_after_the_hand_off_keeps_the_value() -> None:
    owner = Owner()
    taken: list[Any] = []

    def take_then_hold() -> None:
        taken.append(owner.wait(5.0).value)
        gevent.sleep(10)

    waiter = gevent.spawn(take_then_hold)
    gevent.sleep(0)
    owner.hand("conn")
    gevent.sleep(0)
    waiter.kill()
    assert taken == ["conn"] and owner.left_states == [] and owner.returned == []


def test_a_foreign_gevent_timeout_reaches_the_caller_unchanged() -> None:
    owner = Owner()
    mine = gevent.Timeout(0.05)
    with pytest.raises(gevent.Timeout) as info, mine:
        owner.wait(5.0)
    assert info.value is mine
    assert owner.left_states == [WAITING] and owner.waiting == []
    # The wait's own deadline (5 s) was never armed into a timeout later on.
    gevent.sleep(0.05)
    assert owner.expired_batches == []


def test_its_own_deadline_is_not_a_gevent_timeout() -> None:
    owner = Owner()
    with gevent.Timeout(5, AssertionError("the wait's own timeout never came")):
        record = owner.wait(0.05)
    assert record.state == TIMED_OUT and record.greenlet is None
    assert owner.left_states == []


@pytest.mark.parametrize("shared", [True, False])
def test_waits_begun_together_time_out_together(shared: bool, monkeypatch: Any) -> None:
    # Waits begun in one run of the hub share a clock reading while it is
    # under 5 ms old; a loaded machine can stretch the 30 spawns past that
    # and split the batch.  The sharing rule is what is tested here (the
    # age limit has its own test below), so the limit is made generous.
    monkeypatch.setattr("greenpool._deadlines._SAME_MOMENT", 1.0)
    owner = Owner()
    waiters = [gevent.spawn(owner.wait, 0.05, shared) for _ in range(30)]
    records = [w.get(timeout=2) for w in waiters]
    assert all(r.state == TIMED_OUT for r in records)
    if shared:
        # One timer, one batch: each saw all thirty waiting.
        assert len(owner.expired_batches) == 1 and {r.value for r in records} == {30}
        assert len(owner.deadlines) == 0
    else:
        assert len(owner.expired_batches) == 30


def test_a_shorter_deadline_behind_a_longer_one_gets_its_own_timer() -> None:
    owner = Owner()
    ended: list[str] = []

    def wait(name: str, timeout: float) -> None:
        owner.wait(timeout)
        ended.append(name)

    gevent.joinall([gevent.spawn(wait, "long", 0.2), gevent.spawn(wait, "short", 0.05)],
                   timeout=2, raise_error=True)
    assert ended == ["short", "long"]
    assert len(owner.deadlines) == 0


@pytest.mark.parametrize("earlier_wait", [False, True])
def test_a_wait_begun_after_the_hub_was_blocked_gets_its_whole_timeout(
    earlier_wait: bool,
) -> None:
    # The loop's time is refreshed only when it polls: a deadline read from
    # it right after a 0.3 s block was already past.  With ``earlier_wait``,
    # another wait took a clock reading in the same run of the hub, before
    # the block: that reading is too old to share.
    owner = Owner()
    gevent.sleep(0.01)  # a fresh run of the hub

    def block_then_wait() -> Wait:
        blocking_sleep(0.3)
        return owner.wait(0.2)

    if earlier_wait:
        # A shorter timeout, so that both deadlines are in order and share the timer.
        other = gevent.spawn(owner.wait, 0.1)
    waiter = gevent.spawn(block_then_wait)
    gevent.sleep(0.05)  # the loop polls: its time is fresh again
    if earlier_wait:  # begun before the block, rightly out of time after it
        assert other.get(timeout=0.05).state == TIMED_OUT
    assert not waiter.dead
    record = owner.hand("conn")
    assert waiter.get(timeout=2) is record and record.state == DONE


def test_the_shared_timer_armed_on_a_stale_loop_time_waits_for_the_deadline() -> None:
    owner = Owner()
    gevent.sleep(0.01)

    def block_then_wait() -> Wait:
        blocking_sleep(0.2)  # the timer counts from the loop's time, 0.2 s behind
        return owner.wait(0.1)

    waiter = gevent.spawn(block_then_wait)
    gevent.sleep(0.03)
    assert not waiter.dead  # the timer fired early, found nothing due, re-armed
    record = waiter.get(timeout=2)
    assert record.state == TIMED_OUT and len(owner.expired_batches) == 1


def test_waiting_in_the_hub_is_refused_and_leaves_the_books_balanced() -> None:
    owner = Owner()
    record = Wait(get_hub())
    owner.waiting.append(record)
    with pytest.raises(RuntimeError, match="in the gevent hub"):
        owner.deadlines.wait(get_hub(), record, 1.0)
    assert record.state == ABANDONED and owner.waiting == [] and owner.left_states == [WAITING]


def test_clear_stops_the_shared_timer() -> None:
    owner = Owner()
    waiter = gevent.spawn(owner.wait, 0.05)
    gevent.sleep(0)
    owner.deadlines.clear()
    gevent.sleep(0.1)
    assert not waiter.dead and owner.expired_batches == []
    waiter.kill()
    assert owner.left_states == [WAITING]


def test_an_owners_line_serves_the_shared_timer_and_stays_the_owners() -> None:
    # A wait with a timer of its own sits in the line ahead of the shared
    # ones: the shared timer passes over it, and takes nothing out of the line.
    owner = LineOwner()
    alone = gevent.spawn(owner.wait, 0.2, False)
    batch = [gevent.spawn(owner.wait, 0.05) for _ in range(5)]
    records = [w.get(timeout=2) for w in batch]
    assert all(r.state == TIMED_OUT for r in records)
    assert len(owner.expired_batches) == 1 and {r.value for r in records} == {6}
    assert not alone.dead and len(owner.line) == 6 and len(owner.deadlines) == 0
    assert alone.get(timeout=2).state == TIMED_OUT and len(owner.expired_batches) == 2
