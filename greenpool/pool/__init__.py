"""Layer 3: pools.

* :class:`Pool`: exclusive checkout (one greenlet per connection at a time).

Pools import the layers below (codecs, transport) and never a driver.
"""

from __future__ import annotations

from .checkout import DEFAULT_RETRY_EXCEPTIONS, Pool
from .listeners import HOOKS, PoolListener

__all__ = ["DEFAULT_RETRY_EXCEPTIONS", "HOOKS", "Pool", "PoolListener"]
