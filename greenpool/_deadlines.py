"""Waiting for a hand-off, with a deadline: the rule both of greenpool's waits share.

Two places park a greenlet until another party settles its record: the
transport's request waiting for its reply (:mod:`greenpool.transport.connection`)
and the checkout pool's waiter waiting for a connection
(:mod:`greenpool.pool._handoff`).  Both need the same four guarantees, held
here once:

1. **Every way a wait ends has one state.**  A :class:`Wait` starts
   ``WAITING`` and leaves it exactly once: ``DONE`` or ``FAILED`` (the owner
   settled it and scheduled the switch into its greenlet), ``TIMED_OUT``
   (its deadline passed: settled here) or ``ABANDONED`` (a BaseException
   was thrown into the waiting greenlet).  The waiting greenlet is switched
   into for a record only while the record is ``WAITING``; after it left, its
   ``greenlet`` is None so no late wake-up reaches it.
2. **A BaseException leaves the books balanced and reaches the caller
   unchanged.**  ``kill()``, an enclosing ``gevent.Timeout`` or
   KeyboardInterrupt thrown into :meth:`Deadlines.wait` marks the record
   ``ABANDONED``, calls the owner's ``on_leave(record, state)`` with the
   state it had at that moment (``WAITING``: give the slot up; ``DONE``:
   the value was handed over, pass it on), then re-raises the same
   exception object.
3. **Deadlines on a fresh clock.**  A deadline is a ``time.monotonic()``
   reading (the caller's, when it just took one) plus the timeout, not the
   hub's cached loop time: that time is
   refreshed only when the loop polls, so after the hub was blocked (a C
   call, a CPU-bound greenlet, a long run of callbacks) for longer than a
   timeout, a wait begun then timed out at once
   (tests/transport/test_connection.py
   ``test_a_blocked_hub_does_not_expire_the_next_request``).  Waits begun
   in one run of the hub (the loop time unchanged) share one reading while
   it is under ``_SAME_MOMENT`` (5 ms) old, so a batch of waits begun
   together with one timeout gets one deadline and times out together
   (tests/pool/test_checkout_exhaustion.py
   ``test_a_batch_timing_out_together_counts_itself_whole``): a deadline
   is at most 5 ms early, about the timer's own resolution.  The shared
   timer is armed on the loop's time, which may be stale: if it fires
   before the first deadline it is re-armed for the rest.
4. **One timer for many deadlines.**  Waits with the same timeout get
   deadlines in arrival order, so one libev timer watching the earliest
   serves them all; a libev timer per wait cost about a fifth of a request
   in the transport (bench/bench_redis.py).  A deadline that would break the
   order, or a wait that asks for it (``shared=False``), gets a timer of its
   own, started on a fresh loop time (``update=True``, as ``gevent.Timeout``).
   An owner that keeps its records in arrival order anyway (the checkout
   pool's waiter line) lends that queue to the timer instead of a second
   one being kept here (``Deadlines(queue=...)``).

Everything runs in one hub (one OS thread); state changes happen between
yields, so no lock is needed.  Callbacks marked *runs in the hub* must not
block.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

__all__ = ["ABANDONED", "DONE", "FAILED", "TIMED_OUT", "WAITING", "Deadlines", "Wait"]

# A wait's states (see the module docstring, point 1).
WAITING = 0
DONE = 1
FAILED = 2
TIMED_OUT = 3
ABANDONED = 4

# A timer may fire a hair before the deadline it was armed for (the two
# clocks round differently); such a deadline counts as passed.
_SLACK = 1e-6
# How old a clock reading may be and still serve a wait begun in the same
# run of the hub (point 3 of the module docstring).
_SAME_MOMENT = 0.005
# Deadlines._last while the shared timer is not armed: no deadline joins it directly.
_UNARMED = float("inf")


class Wait:
    """One greenlet's wait: ``state``, ``value`` (the owner's result or error) and ``deadline``.

    ``deadline`` stays 0.0 unless the shared timer watches the wait.  Owners
    subclass it to add their own fields (with ``__slots__``).
    """

    __slots__ = ("deadline", "greenlet", "state", "value")

    def __init__(self, greenlet: Any) -> None:
        self.greenlet = greenlet
        self.state = WAITING
        self.value: Any = None
        self.deadline = 0.0


class Deadlines:
    """Blocks greenlets on their :class:`Wait` records, and times them out.

    ``on_expired(records)`` runs in the hub with the records whose deadline
    just passed, already marked ``TIMED_OUT``, before their greenlets are
    resumed: the owner takes them off its books there (and may set
    ``record.value``).  ``on_leave(record, state)`` runs in the
    waiting greenlet when a BaseException ends its wait (point 2 of the
    module docstring).  Neither may block.

    ``queue``: the owner's own deque of its records in arrival order, when
    it keeps one (the checkout pool's waiter line).  The shared timer then
    reads that queue instead of a second one kept here, and the owner:
    appends each record before its :meth:`wait`; takes records out only at
    the front or by rebuilding the deque in place (never binding a new
    one); passes ``shared`` only for waits whose deadlines grow in its
    queue order (one timeout).  The shared timer never takes a record out
    of an owner's queue.  Without ``queue`` the records the shared timer
    watches are kept here, and dropped as they finish.
    """

    __slots__ = (
        "_due", "_last", "_loop", "_loop_time", "_on_expired", "_on_leave", "_own", "_queue",
        "_reading", "_stale_at", "_timer",
    )

    def __init__(
        self,
        on_expired: Callable[[list[Any]], None],
        on_leave: Callable[[Any, int], None],
        queue: deque[Any] | None = None,
    ) -> None:
        self._on_expired = on_expired
        self._on_leave = on_leave
        # The records in deadline order, the shared timer's among others
        # (those with a ``deadline``).  Our own: only those, dropped from
        # the front as they finish.
        self._own = queue is None
        self._queue: deque[Any] = deque() if queue is None else queue
        self._timer: Any = None
        self._due = 0.0  # when the shared timer fires (monotonic)
        # The latest deadline given to the shared timer while it is armed,
        # _UNARMED when it is not: a wait whose deadline is no earlier joins
        # the armed timer at once (the order holds).
        self._last = _UNARMED
        self._loop: Any = None
        # The last clock reading, the loop time when it was taken, and when
        # it is too old to share (point 3 of the module docstring).
        self._reading = 0.0
        self._loop_time = -1.0
        self._stale_at = 0.0

    def __len__(self) -> int:
        """How many waits the shared timer watches now."""
        return sum(1 for record in self._queue if record.state == WAITING and record.deadline)

    def abandon(self, record: Wait) -> None:
        """A BaseException ends ``record``'s wait: mark it ``ABANDONED``, call ``on_leave``.

        For an owner that blocks on a record with no deadline by itself (a
        loop on ``hub.switch()`` while ``record.state`` is ``WAITING``,
        never in the hub), as :meth:`wait` does, to save a call per wait.
        Never blocks.
        """
        state = record.state
        record.state = ABANDONED
        record.greenlet = None  # never switch into this greenlet for this wait again
        self._on_leave(record, state)

    def wait(
        self,
        hub: Any,
        record: Wait,
        timeout: float | None,
        shared: bool = True,
        now: float | None = None,
    ) -> None:
        """Block the calling greenlet (``record.greenlet``) until ``record`` leaves ``WAITING``.

        ``timeout`` in seconds (None: no deadline): when it passes first the
        record ends ``TIMED_OUT``.  With ``shared`` the deadline joins the
        shared timer if it keeps the deadline order.  ``now``: a
        ``time.monotonic()`` reading the caller took just before, in this
        run of the hub (saves a second one); the timeout counts from it.
        Returns normally for every state but ``ABANDONED``; the caller reads
        ``record.state``.  Raises RuntimeError when called in the hub, and
        whatever BaseException is thrown in while waiting (after ``on_leave``).
        """
        if record.greenlet is hub:
            record.state = ABANDONED
            record.greenlet = None
            self._on_leave(record, WAITING)
            raise RuntimeError("cannot block in the gevent hub; call this from a greenlet")
        timer = None
        if timeout is not None:
            # _watch's common case inlined (every request's and every
            # waiting checkout's path): a reading shared in this run of the
            # hub, the shared timer armed, a deadline in order.
            loop_time = hub.loop.now()
            if now is None:
                now = monotonic()
            if loop_time != self._loop_time or now > self._stale_at:
                self._loop_time = loop_time
                self._reading = now
                self._stale_at = now + _SAME_MOMENT
            deadline = self._reading + timeout
            if shared and deadline >= self._last:  # (_last is infinite while no timer is armed)
                record.deadline = self._last = deadline
                if self._own:
                    self._queue.append(record)
            else:
                timer = self._watch(hub.loop, record, now, deadline, shared)
        try:
            while record.state == WAITING:
                hub.switch()
        except BaseException:
            self.abandon(record)
            raise
        finally:
            if timer is not None:
                timer.close()
            elif timeout is not None and self._own:
                # Drop finished waits from the front of our own queue: they
                # mostly end in order, so it stays as short as the waits under way.
                queue = self._queue
                while queue and queue[0].state != WAITING:
                    queue.popleft()
        record.greenlet = None

    def clear(self) -> None:
        """Stop the shared timer and forget every wait it watched (their owner failed them)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        self._last = _UNARMED
        if self._own:
            self._queue = deque()

    def _watch(self, loop: Any, record: Wait, now: float, deadline: float, shared: bool) -> Any:
        # Returns the wait's own timer, or None when the shared one watches it.
        if shared:
            queue = self._queue
            if self._own:
                while queue and queue[0].state != WAITING:
                    queue.popleft()
            # No timer armed: no wait is on it, any deadline keeps the order.
            # Else this deadline is earlier than the last one on the timer
            # (see wait); it keeps the order only in our own queue emptied
            # (tests/transport/test_connection.py
            # test_a_short_timeout_after_a_long_one_that_finished).
            if self._timer is None or (self._own and not queue):
                record.deadline = self._last = deadline
                if self._own:
                    queue.append(record)
                if self._timer is None:
                    self._arm(loop, now, deadline)
                elif deadline < self._due:
                    # Armed for a later deadline, whose waits finished: watch this one.
                    self._timer.close()
                    self._arm(loop, now, deadline)
                return None
        timer = loop.timer(max(deadline - now, 0.0))
        timer.start(self._expire_one, record, update=True)
        return timer

    def _arm(self, loop: Any, now: float, deadline: float) -> None:
        # update=False: gevent would otherwise refresh the loop time here when
        # called from a greenlet run by a callback, and split the waits begun
        # in this run of the hub (see wait).  If the loop time is stale the
        # timer fires early, and _fire re-arms it.
        self._loop = loop
        timer = loop.timer(max(deadline - now, 0.0))
        self._timer = timer
        self._due = deadline
        timer.start(self._fire, update=False)

    def _fire(self) -> None:
        # Runs in the hub when the shared timer fires: time out every wait
        # whose deadline passed, then re-arm for the next one.  Finished
        # records and those with a timer of their own (no deadline) are
        # skipped, not taken out: the queue may be the owner's.
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        now = monotonic()
        due = []
        following = None
        for record in self._queue:
            if record.state != WAITING or not record.deadline:
                continue
            if record.deadline <= now + _SLACK:
                due.append(record)
            else:
                following = record.deadline
                break
        if following is not None:
            self._arm(self._loop, now, following)
        else:
            self._last = _UNARMED  # no wait left on the shared timer
        if due:
            self._expire(due)

    def _expire_one(self, record: Wait) -> None:
        # Runs in the hub when a wait's own timer fires.
        if record.state == WAITING:
            self._expire([record])

    def _expire(self, due: list[Any]) -> None:
        # Runs in the hub.  Every record is settled before any greenlet runs,
        # so the first to resume already sees the others gone.
        greenlets = [record.greenlet for record in due]
        for record in due:
            record.state = TIMED_OUT
            record.greenlet = None
        self._on_expired(due)
        for greenlet in greenlets:
            greenlet.switch()
