"""A FIFO queue of waiting greenlets with direct hand-off.

This is the primitive under the checkout pool's blocking ``get``.  A plain
``gevent.lock.Semaphore`` lets a greenlet that releases a permit take it
straight back on its next ``acquire`` (``acquire`` succeeds whenever the
counter is positive, even with greenlets queued), so under load one greenlet
can starve the others.  Here a released value is given to the longest
waiter *before* anybody else can see it: ``hand`` pops the first live
waiter, stores the value in that waiter's record and schedules its wake-up.
Nobody can barge in between, because the value never becomes visible to
other callers.

Every way a wait can end is accounted for:

* woken with a value: ``wait`` returns it;
* its deadline passed first: ``wait`` raises :class:`WaitTimeout`, which
  says how many were waiting at that moment (the shared timer removes a
  whole batch of expired waiters before any of them runs, so ``len()`` is
  already smaller when they look);
* ``fail_all`` was called (pool closed): ``wait`` raises the given error;
* any BaseException thrown into the waiting greenlet (``kill()``, an
  enclosing ``gevent.Timeout``, KeyboardInterrupt): if a value had already
  been handed to it, the value goes to ``on_orphan`` (which passes it on),
  so nothing handed over is ever lost.

Waiting, timing out and leaving on a BaseException follow the rules of
:mod:`greenpool._deadlines` (a fresh clock; one timer for every ``shared``
wait); this module keeps the queue order and the count of waiters.  The
shared timer reads this module's queue itself (``Deadlines(queue=...)``):
the waiters are already in deadline order there, so no second queue is kept.  All
state changes happen between yields, so no lock is needed.  One queue
belongs to one hub (one OS thread).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from gevent import get_hub
from greenlet import getcurrent

from .._deadlines import DONE, FAILED, TIMED_OUT, WAITING, Deadlines, Wait

__all__ = ["HandoffQueue", "WaitTimeout"]

_new = object.__new__


class WaitTimeout(Exception):
    """Raised by :meth:`HandoffQueue.wait` when its timeout passes first.

    :attr:`waiting` is how many greenlets were waiting when the time ran
    out, this one included.
    """

    def __init__(self, waiting: int) -> None:
        super().__init__(waiting)
        self.waiting = waiting


class _Waiter(Wait):
    # ``value``: handed (DONE): the value; failed: the error; timed out: how
    # many were waiting.  ``wake``: the scheduled switch into the waiter,
    # cancelled if it leaves.  Made only by HandoffQueue.wait, which sets
    # every field in place: no __init__, whose call cost about 1 % of a
    # checkout that waits (bench/cpu_checkout.py).
    __slots__ = ("wake",)

    wake: Any


class HandoffQueue:
    """Greenlets wait here in arrival order; :meth:`hand` serves the oldest first.

    ``on_orphan(value)`` is called, in the abandoning greenlet, with a value
    that was handed to a waiter which then died or timed out before it could
    take it.  It must pass the value on (to the next waiter or back to a free
    list); it must not block.
    """

    __slots__ = ("_dead", "_deadlines", "_hub", "_on_orphan", "_queue", "waiting")

    def __init__(self, on_orphan: Callable[[Any], None]) -> None:
        self._queue: deque[_Waiter] = deque()
        #: How many greenlets wait now (read it, never write it): an attribute,
        #: not a property, because the pool reads it on every checkout.
        self.waiting = 0
        # Records of waiters that left (timed out, killed) but are still queued;
        # they are skipped by hand() and compacted away when they pile up.
        self._dead = 0
        self._on_orphan = on_orphan
        # One timer serves every waiter that waits with the same timeout: their
        # deadlines grow in queue order, so it reads this queue and only ever
        # watches the oldest.  The queue is only ever changed in place.
        self._deadlines = Deadlines(self._expired, self._leave, self._queue)
        self._hub: Any = None

    def __len__(self) -> int:
        """The number of greenlets waiting now."""
        return self.waiting


    def hand(self, value: Any) -> bool:
        """Give ``value`` to the longest waiter.  Returns False if nobody waits.

        Never blocks: the waiter is resumed by the hub a moment later.
        """
        queue = self._queue
        while queue:
            waiter = queue.popleft()
            if waiter.state == WAITING:
                waiter.state = DONE
                waiter.value = value
                self.waiting -= 1
                hub = self._hub
                if hub is None:
                    hub = self._hub = get_hub()
                waiter.wake = hub.loop.run_callback(waiter.greenlet.switch)
                return True
            self._dead -= 1
        return False

    def fail_all(self, error: BaseException) -> int:
        """Make every current waiter raise ``error``.  Returns how many there were."""
        failed = 0
        hub = get_hub()
        queue = self._queue
        while queue:
            waiter = queue.popleft()
            if waiter.state == WAITING:
                waiter.state = FAILED
                waiter.value = error
                failed += 1
                waiter.wake = hub.loop.run_callback(waiter.greenlet.switch)
        self.waiting = 0
        self._dead = 0
        self._deadlines.clear()
        return failed

    def wait(self, timeout: float | None, shared: bool = False, now: float | None = None) -> Any:
        """Block the current greenlet until a value is handed to it; return the value.

        ``timeout`` is in seconds; ``None`` waits forever.  With ``shared``,
        the waiter's deadline is kept by one timer common to every
        ``shared`` waiter: pass it only when all of them use the same
        timeout (their deadlines then grow in queue order), which saves a
        timer per wait.  ``now``: a ``time.monotonic()`` reading the caller
        took just before, in this run of the hub; the timeout counts from it
        (None: read here).  Raises :class:`WaitTimeout` when the time runs out,
        or the error given to :meth:`fail_all`.  Any BaseException thrown in
        while waiting propagates after the waiter has been removed (and a
        value already handed to it passed to ``on_orphan``).
        """
        hub = self._hub
        if hub is None:
            hub = self._hub = get_hub()
        waiter = _new(_Waiter)  # see _Waiter: every field is set here
        waiter.greenlet = getcurrent()
        waiter.state = WAITING
        waiter.value = None
        waiter.deadline = 0.0
        waiter.wake = None
        self._queue.append(waiter)
        self.waiting += 1
        if timeout is None and waiter.greenlet is not hub:
            # Deadlines.wait with no deadline, inlined: a pool without
            # pool_timeout has every checkout under load come here.
            try:
                while waiter.state == WAITING:
                    hub.switch()
            except BaseException:
                self._deadlines.abandon(waiter)
                raise
        else:
            self._deadlines.wait(hub, waiter, timeout, shared, now)
        state = waiter.state
        if state == DONE:
            return waiter.value
        # An error or a count: cleared, so a raised error's traceback (which
        # holds this frame, and so the record) makes no reference cycle.
        value, waiter.value = waiter.value, None
        if state == TIMED_OUT:
            raise WaitTimeout(value)
        assert state == FAILED
        raise value

    def _expired(self, due: list[_Waiter]) -> None:
        # Runs in the hub: these waiters' deadlines passed (see greenpool._deadlines).
        waiting = self.waiting  # before any of them leaves
        for waiter in due:
            waiter.value = waiting
        self.waiting -= len(due)
        self._left(len(due))

    def _leave(self, waiter: _Waiter, state: int) -> None:
        # A BaseException ended the wait (see greenpool._deadlines).
        if waiter.wake is not None:
            waiter.wake.stop()  # never switch into this greenlet for this wait again
        if state == WAITING:
            self.waiting -= 1
            self._left()
        elif state == DONE:
            value, waiter.value = waiter.value, None
            self._on_orphan(value)

    def _left(self, count: int = 1) -> None:
        # A waiter left while still queued.  Compact when the dead records
        # outnumber the live ones, so waits that keep timing out on a pool
        # that never frees up can't grow the queue without bound.
        self._dead += count
        if self._dead > 64 and self._dead > self.waiting:
            queue = self._queue  # in place: the shared timer reads it too
            live = [w for w in queue if w.state == WAITING]
            queue.clear()
            queue.extend(live)
            self._dead = 0
