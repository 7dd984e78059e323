"""greenpool: gevent-native connection pools.

The public API is re-exported here; see ``docs/`` for the guide.
"""

from __future__ import annotations

from .address import Address, parse_address, parse_server_list
from .errors import (
    AllServersUnavailable,
    ConfigurationError,
    ConnectionError,
    GreenpoolError,
    InvalidRequestError,
    MaximumRetryException,
    NoConnectionAvailable,
    PoolClosed,
    PoolError,
    PoolTimeout,
    ProtocolError,
    ReplyError,
    TimeoutError,
    TooManyRequests,
    WrongThreadError,
)
from .pool import Pool, PoolListener

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AllServersUnavailable",
    "ConfigurationError",
    "ConnectionError",
    "GreenpoolError",
    "InvalidRequestError",
    "MaximumRetryException",
    "NoConnectionAvailable",
    "Pool",
    "PoolClosed",
    "PoolError",
    "PoolListener",
    "PoolTimeout",
    "ProtocolError",
    "ReplyError",
    "TimeoutError",
    "TooManyRequests",
    "WrongThreadError",
    "__version__",
    "parse_address",
    "parse_server_list",
]
