"""redis-py's ``Retry`` (``redis.retry``), retrying greenpool's errors and waiting greenly.

``from redis.retry import Retry`` becomes ``from greenpool.redis.retry
import Retry``, with :mod:`greenpool.redis.backoff` for the back-offs::

    from greenpool.redis import Redis
    from greenpool.redis.backoff import ExponentialBackoff
    from greenpool.redis.exceptions import BusyLoadingError
    from greenpool.redis.retry import Retry

    r = Redis(retry=Retry(ExponentialBackoff(), 3), retry_on_error=[BusyLoadingError])

Two things differ from using redis-py's own ``Retry`` with greenpool:

- by default it retries greenpool's :class:`~greenpool.ConnectionError` and
  :class:`~greenpool.TimeoutError` (what greenpool's clients raise), and
  ``socket.timeout``; redis-py's retries redis-py's classes, which greenpool
  never raises (``Redis(retry=...)`` adds greenpool's to either);
- it waits with ``gevent.sleep``, so other greenlets run meanwhile even
  without monkey-patching (redis-py's calls ``time.sleep``, which stops the
  whole hub unless ``time`` is patched).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import gevent

from ..errors import ConfigurationError, ConnectionError, TimeoutError

__all__ = ["Retry"]

T = TypeVar("T")

_DEFAULT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, socket.timeout)


def _error_classes(name: str, errors: Iterable[Any]) -> tuple[type[BaseException], ...]:
    try:
        classes = tuple(errors)
    except TypeError:
        raise ConfigurationError(name, errors, "must be exception classes") from None
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise ConfigurationError(name, errors, "must be exception classes")
    return classes


class Retry:
    """Run a call again after the errors it supports, waiting as ``backoff`` says.

    ``backoff``: a :mod:`greenpool.redis.backoff` object (or redis-py's, or
    anything with ``compute(failures)`` and ``reset()``).  ``retries``: how
    many times to try again after the first attempt (0: never; a negative
    number: without end).  ``supported_errors``: the exception classes that
    lead to another attempt; any other error is raised at once.

    Retries are values: two with equal back-offs, the same ``retries`` and
    the same set of errors compare equal and hash alike.  Bad arguments
    raise :class:`~greenpool.ConfigurationError` naming the argument.
    """

    def __init__(
        self,
        backoff: Any,
        retries: int,
        supported_errors: tuple[type[BaseException], ...] = _DEFAULT_ERRORS,
    ) -> None:
        if not (callable(getattr(backoff, "compute", None))
                and callable(getattr(backoff, "reset", None))):
            raise ConfigurationError("backoff", backoff, "must have compute(failures) and reset()")
        self._backoff = backoff
        self._retries = self._checked_retries(retries)
        self._supported_errors = _error_classes("supported_errors", supported_errors)

    @staticmethod
    def _checked_retries(retries: Any) -> int:
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ConfigurationError("retries", retries,
                                     "must be an integer (a negative one retries without end)")
        return retries

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return (self._backoff == other._backoff and self._retries == other._retries
                and set(self._supported_errors) == set(other._supported_errors))

    def __hash__(self) -> int:
        return hash((self._backoff, self._retries, frozenset(self._supported_errors)))

    def __repr__(self) -> str:
        errors = ", ".join(cls.__name__ for cls in self._supported_errors)
        return f"Retry({self._backoff!r}, retries={self._retries}, supported_errors=({errors}))"

    def get_retries(self) -> int:
        """How many times a failed call is tried again (negative: without end)."""
        return self._retries

    def update_retries(self, value: int) -> None:
        """Try a failed call again ``value`` times from now on."""
        self._retries = self._checked_retries(value)

    def update_supported_errors(self, specified_errors: Iterable[type[BaseException]]) -> None:
        """Retry ``specified_errors`` too (as ``Redis(retry_on_error=...)`` asks)."""
        added = _error_classes("specified_errors", specified_errors)
        self._supported_errors = tuple(dict.fromkeys(self._supported_errors + added))

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[BaseException], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        """``do()``'s result, calling it again after a supported error.

        After each such failure ``fail(error)`` is called
        (``fail(error, failures)`` with ``with_failure_count``; an exception
        it raises ends the call), then, unless the retries are spent, the
        back-off's wait passes (``gevent.sleep``) and ``do()`` runs again.
        An error ``is_retryable(error)`` says False to, one not supported, or
        the last one when the retries are spent, is raised.  The back-off is
        reset first.
        """
        self._backoff.reset()
        failures = 0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if is_retryable is not None and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                if 0 <= self._retries < failures:
                    raise
                # Always through the hub, even for no wait: an error raised at
                # once (a closed client) must not spin without yielding, so
                # other greenlets run and a kill or Timeout can arrive.
                gevent.sleep(max(0.0, self._backoff.compute(failures)))
