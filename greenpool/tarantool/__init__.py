"""Layer 4: the Tarantool driver.

:class:`Connection` is one IPROTO connection shared by any number of
greenlets (replies matched by sync id); :class:`ConnectionPool` routes each
request by :class:`Mode` to one of the instances of a replica set, keeping
one :class:`PoolUnit` (connections, state, worker greenlet) per instance.
Method names, arguments and return types follow tarantool-python 1.x, so
moving over is mostly a change of import.  See ``docs/tarantool.md``.
"""

from __future__ import annotations

from .._util import former_names
from ..pool.modes import (
    InstanceState,
    LeastLoadedStrategy,
    Mode,
    RoundRobinStrategy,
    Status,
    StrategyInterface,
)
from ..protocol.iproto import IteratorType
from .connection import DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE, Connection
from .crud import CrudError, CrudResult
from .errors import (
    ConfigurationError,
    CrudModuleError,
    CrudModuleManyError,
    DatabaseError,
    NetworkError,
    NetworkTimeoutError,
    PoolTolopogyError,
    PoolTopologyError,
    SchemaError,
)
from .pool import ConnectionPool, PoolUnit
from .response import Response
from .settings import Endpoint, make_ssl_context

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "ConfigurationError",
    "Connection",
    "ConnectionPool",
    "CrudError",
    "CrudModuleError",
    "CrudModuleManyError",
    "CrudResult",
    "DatabaseError",
    "Endpoint",
    "InstanceState",
    "IteratorType",
    "LeastLoadedStrategy",
    "Mode",
    "NetworkError",
    "NetworkTimeoutError",
    "PoolTolopogyError",
    "PoolTopologyError",
    "PoolUnit",
    "Response",
    "RoundRobinStrategy",
    "SchemaError",
    "Status",
    "StrategyInterface",
    "make_ssl_context",
]


# ``Iterator``, the iterator enum's former name, shadowed collections.abc.Iterator.
__getattr__ = former_names(__name__, {"Iterator": ("IteratorType", IteratorType)})
