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

All state changes happen between yields, so no lock is needed.  One queue
belongs to one hub (one OS thread).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from gevent import get_hub
from greenlet import getcurrent

__all__ = ["HandoffQueue", "WaitTimeout"]

# Waiter states.
_WAITING = 0
_HANDED = 1
_TIMED_OUT = 2
_FAILED = 3
_ABANDONED = 4


class WaitTimeout(Exception):
    """Raised by :meth:`HandoffQueue.wait` when its timeout passes first.

    :attr:`waiting` is how many greenlets were waiting when the time ran
    out, this one included.
    """

    def __init__(self, waiting: int) -> None:
        super().__init__(waiting)
        self.waiting = waiting


class _Waiter:
    __slots__ = ("deadline", "greenlet", "state", "value", "wake")

    def __init__(self, greenlet: Any) -> None:
        self.greenlet = greenlet
        self.state = _WAITING
        # Handed: the value; failed: the error; timed out: how many were waiting.
        self.value: Any = None
        self.deadline: float | None = None  # set for waiters on the shared timer
        self.wake: Any = None  # the scheduled switch into the waiter, cancelled if it leaves


class HandoffQueue:
    """Greenlets wait here in arrival order; :meth:`hand` serves the oldest first.

    ``on_orphan(value)`` is called, in the abandoning greenlet, with a value
    that was handed to a waiter which then died or timed out before it could
    take it.  It must pass the value on (to the next waiter or back to a free
    list); it must not block.
    """

    __slots__ = ("_dead", "_hub", "_live", "_on_orphan", "_queue", "_timer")

    def __init__(self, on_orphan: Callable[[Any], None]) -> None:
        self._queue: deque[_Waiter] = deque()
        self._live = 0
        # Records of waiters that left (timed out, killed) but are still queued;
        # they are skipped by hand() and compacted away when they pile up.
        self._dead = 0
        self._on_orphan = on_orphan
        # One timer serves every waiter that waits with the same timeout: their
        # deadlines grow in queue order, so it only ever watches the oldest.
        self._timer: Any = None
        self._hub: Any = None

    def __len__(self) -> int:
        """The number of greenlets waiting now."""
        return self._live

    def hand(self, value: Any) -> bool:
        """Give ``value`` to the longest waiter.  Returns False if nobody waits.

        Never blocks: the waiter is resumed by the hub a moment later.
        """
        queue = self._queue
        while queue:
            waiter = queue.popleft()
            if waiter.state == _WAITING:
                waiter.state = _HANDED
                waiter.value = value
                self._live -= 1
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
            if waiter.state == _WAITING:
                waiter.state = _FAILED
                waiter.value = error
                failed += 1
                waiter.wake = hub.loop.run_callback(waiter.greenlet.switch)
        self._live = 0
        self._dead = 0
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        return failed

    def wait(self, timeout: float | None, *, shared: bool = False) -> Any:
        """Block the current greenlet until a value is handed to it; return the value.

        ``timeout`` is in seconds; ``None`` waits forever.  With ``shared``,
        the waiter's deadline is kept by one timer common to every
        ``shared`` waiter: pass it only when all of them use the same
        timeout (their deadlines then grow in queue order), which saves a
        timer per wait.  Raises :class:`WaitTimeout` when the time runs out,
        or the error given to :meth:`fail_all`.  Any BaseException thrown in
        while waiting propagates after the waiter has been removed (and a
        value already handed to it passed to ``on_orphan``).
        """
        hub = self._hub
        if hub is None:
            hub = self._hub = get_hub()
        current = getcurrent()
        if current is hub:
            raise RuntimeError("cannot block in the gevent hub; call this from a greenlet")
        waiter = _Waiter(current)
        self._queue.append(waiter)
        self._live += 1
        timer = None
        try:
            if timeout is not None:
                if shared:
                    waiter.deadline = hub.loop.now() + timeout
                    if self._timer is None:
                        self._arm(hub.loop, timeout)
                else:
                    timer = hub.loop.timer(max(timeout, 0.0))
                    timer.start(self._expire, waiter)
            while waiter.state == _WAITING:
                hub.switch()
        except BaseException:
            state = waiter.state
            waiter.state = _ABANDONED
            if waiter.wake is not None:
                waiter.wake.stop()  # never switch into this greenlet for this wait again
            if state == _WAITING:
                self._live -= 1
                self._left()
            elif state == _HANDED:
                value, waiter.value = waiter.value, None
                self._on_orphan(value)
            raise
        finally:
            if timer is not None:
                timer.close()
        state = waiter.state
        value, waiter.value = waiter.value, None
        if state == _HANDED:
            return value
        if state == _TIMED_OUT:
            raise WaitTimeout(value)
        assert state == _FAILED
        raise value

    def _arm(self, loop: Any, delay: float) -> None:
        timer = loop.timer(max(delay, 0.0))
        self._timer = timer
        timer.start(self._expire_shared)

    def _expire_shared(self) -> None:
        # Runs in the hub when the shared timer fires: time out every shared
        # waiter whose deadline passed, and re-arm for the next one.
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        loop = get_hub().loop
        now = loop.now()
        due = []
        following = None
        for waiter in self._queue:
            if waiter.state != _WAITING or waiter.deadline is None:
                continue
            if waiter.deadline <= now + 1e-6:
                due.append(waiter)
            else:
                following = waiter.deadline
                break
        if following is not None:
            self._arm(loop, following - now)
        waiting = self._live  # before any of them leaves
        for waiter in due:
            waiter.state = _TIMED_OUT
            waiter.value = waiting
            self._live -= 1
            self._dead += 1
        if due:
            self._left(0)
        for waiter in due:
            waiter.greenlet.switch()

    def _left(self, count: int = 1) -> None:
        # A waiter left while still queued.  Compact when the dead records
        # outnumber the live ones, so waits that keep timing out on a pool
        # that never frees up can't grow the queue without bound.
        self._dead += count
        if self._dead > 64 and self._dead > self._live:
            self._queue = deque(w for w in self._queue if w.state == _WAITING)
            self._dead = 0

    def _expire(self, waiter: _Waiter) -> None:
        # Runs in the hub when the waiter's timer fires.
        if waiter.state == _WAITING:
            waiter.state = _TIMED_OUT
            waiter.value = self._live
            self._live -= 1
            self._left()
            waiter.greenlet.switch()
