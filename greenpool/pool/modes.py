"""Request modes and instance-choosing strategies for pools of per-instance units.

A pool that talks to several instances of one database (a Tarantool replica
set; a PostgreSQL primary and its standbys) keeps one *unit* per instance.
Each unit knows its :class:`InstanceState`: whether it is healthy and
whether it is read-only.  A request names a :class:`Mode` and a strategy
picks the unit:

* ``Mode.ANY``: any healthy instance;
* ``Mode.RW``: a healthy writable instance, or :class:`PoolTopologyError`;
* ``Mode.RO``: a healthy read-only instance, or :class:`PoolTopologyError`;
* ``Mode.PREFER_RW``: writable if there is one, else read-only;
* ``Mode.PREFER_RO``: read-only if there is one, else writable.

Strategies implement :class:`StrategyInterface`.  :class:`RoundRobinStrategy`
rotates through the fitting units; :class:`LeastLoadedStrategy` picks the
fitting unit with the fewest requests in flight (``unit.load``).

This module does no I/O.
"""

from __future__ import annotations

import abc
import enum
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigurationError, PoolError

__all__ = [
    "InstanceState",
    "LeastLoadedStrategy",
    "Mode",
    "PoolTopologyError",
    "RoundRobinStrategy",
    "Status",
    "StrategyInterface",
    "Unit",
    "parse_mode",
]


class Mode(enum.Enum):
    """Which instances a request may go to."""

    ANY = 1
    RW = 2
    RO = 3
    PREFER_RW = 4
    PREFER_RO = 5


class Status(enum.Enum):
    """Whether an instance answered its last health check."""

    HEALTHY = 1
    UNHEALTHY = 2


@dataclass(frozen=True)
class InstanceState:
    """An instance's health and role, as last seen."""

    status: Status = Status.UNHEALTHY
    read_only: bool | None = None


class PoolTopologyError(PoolError):
    """No healthy instance fits the requested mode."""


class Unit(Protocol):
    """What a strategy needs from a unit."""

    @property
    def state(self) -> InstanceState: ...

    @property
    def load(self) -> int: ...


def parse_mode(value: Any, *, argument: str = "mode") -> Mode:
    """Accept a :class:`Mode` or its name (``"rw"``, ``"PREFER_RO"``).

    Raises :class:`~greenpool.ConfigurationError` (a ValueError) naming
    ``argument`` otherwise.
    """
    if isinstance(value, Mode):
        return value
    if isinstance(value, str):
        try:
            return Mode[value.strip().upper()]
        except KeyError:
            pass
    names = ", ".join(m.name for m in Mode)
    raise ConfigurationError(argument, value, f"must be a Mode ({names}) or its name")


class StrategyInterface(abc.ABC):
    """Chooses a unit for a mode.  Built with the pool's list of units."""

    def __init__(self, pool: Sequence[Any]) -> None:
        self.pool = pool

    @abc.abstractmethod
    def update(self) -> None:
        """Called whenever a unit's state changed; rebuild what depends on it."""

    @abc.abstractmethod
    def getnext(self, mode: Mode) -> Any:
        """Return a unit fitting ``mode``; raise :class:`PoolTopologyError` if none does."""


def _split(units: Sequence[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    healthy = [u for u in units if u.state.status is Status.HEALTHY]
    rw = [u for u in healthy if u.state.read_only is False]
    ro = [u for u in healthy if u.state.read_only is not False]
    return healthy, rw, ro


def _choose_lists(mode: Mode, any_: list[Any], rw: list[Any], ro: list[Any]) -> list[Any]:
    if mode is Mode.ANY:
        chosen = any_
    elif mode is Mode.RW:
        chosen = rw
    elif mode is Mode.RO:
        chosen = ro
    elif mode is Mode.PREFER_RW:
        chosen = rw or ro
    elif mode is Mode.PREFER_RO:
        chosen = ro or rw
    else:  # pragma: no cover - Mode is closed
        raise ValueError(f"unknown mode {mode!r}")
    if not chosen:
        kind = {Mode.RW: "read-write", Mode.RO: "read-only"}.get(mode, "")
        raise PoolTopologyError(
            f"no healthy {kind + ' ' if kind else ''}instance in the pool for mode {mode.name}"
        )
    return chosen


class RoundRobinStrategy(StrategyInterface):
    """Rotates through the healthy units that fit the mode.

    The rotation survives state changes: a unit's turn is not reset when
    another unit comes or goes.
    """

    def __init__(self, pool: Sequence[Any]) -> None:
        super().__init__(pool)
        self._counter = itertools.count()
        self._lists: tuple[list[Any], list[Any], list[Any]] | None = None

    def update(self) -> None:
        self._lists = None

    def getnext(self, mode: Mode) -> Any:
        if self._lists is None:
            self._lists = _split(self.pool)
        chosen = _choose_lists(mode, *self._lists)
        return chosen[next(self._counter) % len(chosen)]


class LeastLoadedStrategy(StrategyInterface):
    """Picks the fitting healthy unit with the fewest requests in flight (``unit.load``)."""

    def __init__(self, pool: Sequence[Any]) -> None:
        super().__init__(pool)
        self._lists: tuple[list[Any], list[Any], list[Any]] | None = None
        self._tiebreak = itertools.count()

    def update(self) -> None:
        self._lists = None

    def getnext(self, mode: Mode) -> Any:
        if self._lists is None:
            self._lists = _split(self.pool)
        chosen = _choose_lists(mode, *self._lists)
        if len(chosen) == 1:
            return chosen[0]
        start = next(self._tiebreak) % len(chosen)
        rotated: Iterator[Any] = itertools.chain(chosen[start:], chosen[:start])
        return min(rotated, key=lambda u: u.load)
