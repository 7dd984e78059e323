"""redis-py's back-off classes (``redis.backoff``), for :class:`~greenpool.redis.retry.Retry`.

``from redis.backoff import ExponentialBackoff`` becomes
``from greenpool.redis.backoff import ExponentialBackoff``: the same names,
arguments and waits.  A back-off answers one question, :meth:`compute`: how
long to wait after the ``failures``-th failed attempt (1 for the first);
:meth:`reset` is called once at the start of each
:meth:`Retry.call_with_retry <greenpool.redis.retry.Retry.call_with_retry>`.
The waiting itself is the retry's (green: ``gevent.sleep``).

Back-offs are values: two of the same class with the same ``cap`` and
``base`` (or the same constant) compare equal and hash alike, so a
:class:`~greenpool.redis.retry.Retry` holding one can be compared too.

The defaults, as redis-py's: ``cap`` 0.512 s, ``base`` 0.008 s.  With
``c = min(cap, base * 2 ** failures)``, the wait after ``failures`` failures is:

- :class:`NoBackoff`: 0; :class:`ConstantBackoff`: its ``backoff``;
- :class:`ExponentialBackoff`: ``c``;
- :class:`FullJitterBackoff`: uniform in ``[0, c]``;
- :class:`EqualJitterBackoff`: uniform in ``[c / 2, c]``;
- :class:`ExponentialWithJitterBackoff`: uniform in
  ``[0, base * 2 ** failures)``, at most ``cap``;
- :class:`DecorrelatedJitterBackoff`: uniform in
  ``[base, 3 * the previous wait]``, at most ``cap``.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any

from .._util import check_float

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_CAP",
    "AbstractBackoff",
    "ConstantBackoff",
    "DecorrelatedJitterBackoff",
    "EqualJitterBackoff",
    "ExponentialBackoff",
    "ExponentialWithJitterBackoff",
    "FullJitterBackoff",
    "NoBackoff",
    "default_backoff",
]

#: The longest wait, in seconds, unless ``cap`` says otherwise.
DEFAULT_CAP = 0.512
#: The first step of the exponential waits, in seconds, unless ``base`` says otherwise.
DEFAULT_BASE = 0.008

#: Exponents beyond this give the cap anyway; bounding them keeps floats finite.
_MAX_EXPONENT = 64


class AbstractBackoff(ABC):
    """A back-off: :meth:`compute` the wait after a failure; :meth:`reset` before a call."""

    def reset(self) -> None:  # noqa: B027 - most back-offs keep no state
        """Forget what earlier failures left (called when a retried call starts)."""

    @abstractmethod
    def compute(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure (1 for the first)."""

    def _identity(self) -> tuple[Any, ...]:
        return ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, AbstractBackoff)
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._identity()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._identity()))})"


class ConstantBackoff(AbstractBackoff):
    """The same wait, ``backoff`` seconds, after every failure."""

    def __init__(self, backoff: float) -> None:
        self._backoff = check_float("backoff", backoff)

    def _identity(self) -> tuple[Any, ...]:
        return (self._backoff,)

    def compute(self, failures: int) -> float:
        """``backoff``, whatever the count."""
        return self._backoff  # type: ignore[return-value]


class NoBackoff(ConstantBackoff):
    """No wait: the next attempt follows a failure at once."""

    def __init__(self) -> None:
        super().__init__(0)

    def _identity(self) -> tuple[Any, ...]:
        return ()


class _Exponential(AbstractBackoff):
    """The back-offs shaped by ``cap`` (the longest wait) and ``base`` (the first step)."""

    def __init__(self, cap: float = DEFAULT_CAP, base: float = DEFAULT_BASE) -> None:
        self._cap: float = check_float("cap", cap)  # type: ignore[assignment]
        self._base: float = check_float("base", base)  # type: ignore[assignment]

    @property
    def cap(self) -> float:
        """The longest wait, in seconds."""
        return self._cap

    @property
    def base(self) -> float:
        """The first step, in seconds."""
        return self._base

    def _identity(self) -> tuple[Any, ...]:
        return (self._cap, self._base)

    def _doubled(self, failures: int) -> float:
        """``base * 2 ** failures``, without overflowing for a long run of failures."""
        return self._base * 2.0 ** min(max(failures, 0), _MAX_EXPONENT)

    def _ceiling(self, failures: int) -> float:
        return min(self._cap, self._doubled(failures))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cap={self._cap!r}, base={self._base!r})"


class ExponentialBackoff(_Exponential):
    """``min(cap, base * 2 ** failures)``: doubling waits, up to ``cap``."""

    def compute(self, failures: int) -> float:
        """The doubled wait, at most ``cap``."""
        return self._ceiling(failures)


class FullJitterBackoff(_Exponential):
    """Anywhere from 0 to the exponential wait (spreads many clients failing together)."""

    def compute(self, failures: int) -> float:
        """Uniform in ``[0, min(cap, base * 2 ** failures)]``."""
        return random.uniform(0.0, self._ceiling(failures))


class EqualJitterBackoff(_Exponential):
    """At least half the exponential wait, plus up to the other half at random."""

    def compute(self, failures: int) -> float:
        """Uniform in ``[c / 2, c]``, ``c = min(cap, base * 2 ** failures)``."""
        half = self._ceiling(failures) / 2.0
        return half + random.uniform(0.0, half)


class ExponentialWithJitterBackoff(_Exponential):
    """A random share of the doubled wait, then capped."""

    def compute(self, failures: int) -> float:
        """``min(cap, random() * base * 2 ** failures)``."""
        return min(self._cap, random.random() * self._doubled(failures))


class DecorrelatedJitterBackoff(_Exponential):
    """Each wait drawn between ``base`` and three times the previous one, at most ``cap``.

    It remembers its last wait: :meth:`reset` (each retried call's start)
    forgets it.
    """

    def __init__(self, cap: float = DEFAULT_CAP, base: float = DEFAULT_BASE) -> None:
        super().__init__(cap, base)
        self._previous = 0.0

    def reset(self) -> None:
        """Start again from ``base``."""
        self._previous = 0.0

    def compute(self, failures: int) -> float:
        """Uniform in ``[base, max(base, 3 * previous)]``, at most ``cap``."""
        upper = max(self._base, 3.0 * self._previous)
        self._previous = min(self._cap, random.uniform(self._base, upper))
        return self._previous


def default_backoff() -> AbstractBackoff:
    """redis-py's default back-off: :class:`EqualJitterBackoff` with the default cap and base."""
    return EqualJitterBackoff()
