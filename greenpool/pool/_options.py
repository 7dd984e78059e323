"""The checkout pool's options, checked once: :class:`PoolOptions`.

:class:`~greenpool.Pool`, :class:`~greenpool.dbapi.DBAPIPool` and
:class:`~greenpool.postgres.PostgresPool` take the same sizing, timeout,
recycling and retry keywords.  Their checks and their normal forms (``-1``
meaning "no limit", ``None`` meaning "wait forever") live here, once: each
pool builds a :class:`PoolOptions` from its keywords, and ``PostgresPool``
builds one and gives it to every server's pool.  Bad values raise
:class:`~greenpool.ConfigurationError` naming the keyword and the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from .._util import check_bool, check_float, check_int, check_timeout
from ..errors import ConfigurationError

__all__ = ["DEFAULT_RETRY_EXCEPTIONS", "OPTION_NAMES", "PoolOptions"]

#: What :meth:`Pool.execute` retries by default: errors that say the
#: connection (not the request) failed.  Timeouts are not in the list: a
#: request that timed out may have run, and running it again is not safe.
DEFAULT_RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (ConnectionError, EOFError)


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """The checked keywords of a checkout pool (see :class:`~greenpool.Pool` for each).

    Making one checks every value and stores its normal form: ``pool_timeout``
    None when it waits forever (``-1`` given), ``recycle`` None when it never
    recycles (``-1`` given), numbers of seconds as floats, ``listeners`` and
    ``retry_exceptions`` as tuples.  Raises
    :class:`~greenpool.ConfigurationError` for a bad value.
    """

    pool_size: int = 5
    max_overflow: int = 0
    pool_timeout: float | None = 30.0
    prefill: bool = True
    recycle: int | None = 10000
    max_lifetime: float | None = None
    max_idle: float | None = None
    use_local: bool = True
    max_retries: int = 5
    max_waiting: int | None = None
    name: str | None = None
    listeners: Iterable[Any] = ()
    leak_timeout: float | None = None
    retry_exceptions: Iterable[type[BaseException]] = DEFAULT_RETRY_EXCEPTIONS
    retry_timeout: float | None = None
    housekeeping_interval: float = 1.0

    def __post_init__(self) -> None:
        put = object.__setattr__
        pool_size = check_int("pool_size", self.pool_size, minimum=0) or 0
        put(self, "pool_size", pool_size)
        max_overflow = check_int("max_overflow", self.max_overflow, minimum=0, unlimited=-1) or 0
        put(self, "max_overflow", max_overflow)
        if max_overflow != -1 and pool_size + max_overflow < 1:
            raise ConfigurationError(
                "pool_size", self.pool_size, "pool_size + max_overflow must be at least 1"
            )
        put(self, "pool_timeout", check_timeout("pool_timeout", self.pool_timeout))
        check_bool("prefill", self.prefill)
        recycle = None if self.recycle == -1 else self.recycle
        put(self, "recycle", check_int("recycle", recycle, minimum=1, allow_none=True))
        for seconds in ("max_lifetime", "max_idle", "leak_timeout", "retry_timeout"):
            put(self, seconds, check_float(
                seconds, getattr(self, seconds), allow_none=True, strict=True
            ))
        check_bool("use_local", self.use_local)
        put(self, "max_retries",
            check_int("max_retries", self.max_retries, minimum=0, unlimited=-1) or 0)
        put(self, "max_waiting",
            check_int("max_waiting", self.max_waiting, minimum=0, allow_none=True))
        if self.name is not None and not isinstance(self.name, str):
            raise ConfigurationError("name", self.name, "must be a string")
        listeners = self.listeners
        if isinstance(listeners, (dict, str, bytes)) or not isinstance(listeners, Iterable):
            raise ConfigurationError("listeners", listeners, "must be a list of listeners")
        put(self, "listeners", tuple(listeners))
        retry_types = tuple(self.retry_exceptions)
        if not all(isinstance(t, type) and issubclass(t, BaseException) for t in retry_types):
            raise ConfigurationError(
                "retry_exceptions", self.retry_exceptions, "must be exception classes"
            )
        put(self, "retry_exceptions", retry_types)
        put(self, "housekeeping_interval", check_float(
            "housekeeping_interval", self.housekeeping_interval, strict=True
        ) or 1.0)

    @property
    def max_connections(self) -> int | None:
        """``pool_size + max_overflow``, or None when ``max_overflow`` is -1 (no limit)."""
        return None if self.max_overflow == -1 else self.pool_size + self.max_overflow

    def keywords(self) -> dict[str, Any]:
        """The options as keywords for a pool's constructor."""
        return {name: getattr(self, name) for name in OPTION_NAMES}

    def but(self, **changes: Any) -> PoolOptions:
        """A copy with ``changes`` (checked like the original)."""
        return replace(self, **changes)

    @classmethod
    def take(cls, kwargs: dict[str, Any], names: Iterable[str], **defaults: Any) -> PoolOptions:
        """Options from the ``names`` found in ``kwargs`` (removed from it), over ``defaults``.

        For a pool whose keywords mix its own (libpq's, say) with a pool's.
        """
        given = dict(defaults)
        for name in names:
            if name in kwargs:
                given[name] = kwargs.pop(name)
        return cls(**given)


#: Every option's keyword, in the constructors' order.
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PoolOptions))
