"""The give-up rule of the pools' ``execute()``: wait the back-off, or raise MaximumRetryException.

:meth:`greenpool.Pool.execute` and :func:`greenpool.dbapi.run_with_retries`
run a function again after a connection failure; both count attempts and
wait the same way, with one :class:`~greenpool._backoff.Backoff` per call.
"""

from __future__ import annotations

import gevent

from .._backoff import Backoff
from ..errors import MaximumRetryException

__all__ = ["retry_backoff", "wait_or_give_up"]


def retry_backoff(max_retries: int, retry_timeout: float | None, started: float) -> Backoff:
    """The back-off of one ``execute()`` call begun at ``started`` (``time.monotonic()``).

    0.01 s doubling up to 1 s, full jitter; ``max_retries=-1`` means no limit.
    """
    return Backoff(
        base=0.01, cap=1.0,
        max_attempts=None if max_retries == -1 else max_retries,
        deadline=None if retry_timeout is None else started + retry_timeout,
    )


def wait_or_give_up(
    backoff: Backoff, error: BaseException, *, name: str, retry_timeout: float | None
) -> Backoff:
    """Count ``error`` as one more failed attempt, then wait the back-off; return the new state.

    Blocks the calling greenlet for the back-off.  Raises
    :class:`~greenpool.MaximumRetryException` (chaining ``error``) instead
    when ``max_retries`` attempts failed, or when the wait would end past
    ``retry_timeout``.
    """
    backoff = backoff.increment()
    delay = backoff.delay()
    why = backoff.exhausted_by(delay)
    if why == "attempts":
        raise MaximumRetryException(
            f"pool {name!r}: gave up after {backoff.attempts} attempt(s): {error!r}", error
        ) from error
    if why == "deadline":
        raise MaximumRetryException(
            f"pool {name!r}: retry_timeout={retry_timeout}s ran out after "
            f"{backoff.attempts} attempt(s): {error!r}", error
        ) from error
    gevent.sleep(delay)
    return backoff
