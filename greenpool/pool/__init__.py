"""Layer 3: pools.

* :class:`Pool`: exclusive checkout (one greenlet per connection at a time).
* :mod:`.modes`: request modes (RW, RO, PREFER_*) and strategies that pick
  an instance, for pools of per-instance units.

Pools import the layers below (codecs, transport) and never a driver.
"""

from __future__ import annotations

from .checkout import DEFAULT_RETRY_EXCEPTIONS, Pool
from .listeners import HOOKS, PoolListener
from .modes import (
    InstanceState,
    LeastLoadedStrategy,
    Mode,
    PoolTopologyError,
    RoundRobinStrategy,
    Status,
    StrategyInterface,
    parse_mode,
)

__all__ = [
    "DEFAULT_RETRY_EXCEPTIONS",
    "HOOKS",
    "InstanceState",
    "LeastLoadedStrategy",
    "Mode",
    "Pool",
    "PoolListener",
    "PoolTopologyError",
    "RoundRobinStrategy",
    "Status",
    "StrategyInterface",
    "parse_mode",
]
