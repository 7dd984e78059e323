"""Back-off between attempts: one value object for every retry loop in greenpool.

:class:`Backoff` holds the shape of the waits (``base``, ``factor``,
``cap``, ``jitter``), the limits (``max_attempts``, ``deadline``) and how
many attempts failed so far.  It is a value: :meth:`Backoff.increment`
returns the next state, and each question has one method
(:meth:`~Backoff.ceiling`, :meth:`~Backoff.delay`, :meth:`~Backoff.exhausted_by`).
Nothing here sleeps or imports gevent: the loops that use it do the waiting.

The wait before attempt *n + 1*, after *n* failures, is drawn uniformly
from ``[c * (1 - jitter), c]`` with ``c = min(cap, base * factor ** (n - 1))``:
``jitter=1`` is "full jitter" (anywhere from 0 to the ceiling, which spreads
many clients retrying together best), ``jitter=0.5`` "equal jitter", and
``jitter=0`` none.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from time import monotonic

__all__ = ["Backoff"]

#: Exponents beyond this give the cap anyway; bounding them keeps floats finite.
_MAX_EXPONENT = 64


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off with jitter and limits, after ``attempts`` failures.

    ``max_attempts``: how many failures may be followed by another try
    (None: no limit).  ``deadline``: a ``time.monotonic()`` instant after
    which no wait may end (None: none).
    """

    base: float = 0.01
    cap: float = 1.0
    factor: float = 2.0
    jitter: float = 1.0
    max_attempts: int | None = None
    deadline: float | None = None
    attempts: int = 0

    def increment(self) -> Backoff:
        """The state after one more failed attempt."""
        return replace(self, attempts=self.attempts + 1)

    def ceiling(self) -> float:
        """The longest wait before the next attempt (0 before any failure)."""
        if self.attempts <= 0:
            return 0.0
        exponent = min(self.attempts - 1, _MAX_EXPONENT)
        return min(self.cap, self.base * self.factor**exponent)

    def delay(self, draw: Callable[[], float] = random.random) -> float:
        """A wait before the next attempt, drawn with the jitter (``draw()`` in [0, 1))."""
        ceiling = self.ceiling()
        return ceiling * (1.0 - self.jitter * draw()) if self.jitter else ceiling

    def exhausted_by(self, delay: float = 0.0, now: float | None = None) -> str | None:
        """Which limit forbids another attempt after waiting ``delay``: ``"attempts"``,
        ``"deadline"``, or None when another attempt may be made."""
        if self.max_attempts is not None and self.attempts > self.max_attempts:
            return "attempts"
        if self.deadline is not None and (
            (monotonic() if now is None else now) + delay >= self.deadline
        ):
            return "deadline"
        return None

    def is_exhausted(self, delay: float = 0.0, now: float | None = None) -> bool:
        """True when no further attempt may be made after waiting ``delay``."""
        return self.exhausted_by(delay, now) is not None
