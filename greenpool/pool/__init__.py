"""Layer 3: pools.

* :class:`Pool`: exclusive checkout (one greenlet per connection at a time);
  :class:`PoolOptions`, its keywords checked (``Pool.options``).
* :class:`MultiplexPool`: a few shared connections to one node; each
  request goes to the least loaded one (zcached's API).
* :class:`ConnectionManager` and :class:`Heartbeat`: one connection per
  address, made on demand; idle pings and closing silent connections.
* :mod:`.modes`: request modes (RW, RO, PREFER_*) and strategies that pick
  an instance, for pools of per-instance units.

Pools import the layers below (codecs, transport) and never a driver.
"""

from __future__ import annotations

from ._options import PoolOptions
from .checkout import DEFAULT_RETRY_EXCEPTIONS, Pool
from .heartbeat import Heartbeat
from .listeners import HOOKS, PoolListener
from .manager import (
    AddressProvider,
    AddressTranslator,
    ConnectionManager,
    DefaultAddressProvider,
    DefaultAddressTranslator,
    TableAddressTranslator,
)
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
from .multiplex import MultiplexPool

__all__ = [
    "DEFAULT_RETRY_EXCEPTIONS",
    "HOOKS",
    "AddressProvider",
    "AddressTranslator",
    "ConnectionManager",
    "DefaultAddressProvider",
    "DefaultAddressTranslator",
    "Heartbeat",
    "InstanceState",
    "LeastLoadedStrategy",
    "Mode",
    "MultiplexPool",
    "Pool",
    "PoolListener",
    "PoolOptions",
    "PoolTopologyError",
    "RoundRobinStrategy",
    "Status",
    "StrategyInterface",
    "TableAddressTranslator",
    "parse_mode",
]
