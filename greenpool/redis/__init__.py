"""Layer 4: the Redis driver.

:class:`Redis` sends ordinary commands over a few shared, auto-pipelined
green connections, and leases dedicated ones for blocking commands,
pipelines and transactions; :meth:`Redis.pubsub` and :meth:`Redis.monitor`
get connections of their own.  :class:`Sentinel` makes clients of a
primary (or its replicas) that follow failovers.  Method names, arguments
and return types follow redis-py, so moving over is mostly a change of
import.
"""

from __future__ import annotations

from . import backoff, retry
from .backoff import default_backoff
from .client import BlockingConnectionPool, ConnectionPool, Redis
from .cluster import ClusterNode, ClusterPipeline, RedisCluster
from .commands import Commands, CommandsMixin, Script
from .credentials import CredentialProvider, UsernamePasswordCredentialProvider
from .exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    BusyLoadingError,
    ChildDeadlockedError,
    ConnectionError,
    CrossSlotTransactionError,
    DataError,
    InvalidPipelineStack,
    InvalidResponse,
    LockError,
    LockNotOwnedError,
    MaxConnectionsError,
    NoScriptError,
    OutOfMemoryError,
    PrimaryDemotedError,
    PubSubError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    RefusedArgumentError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from .keyspace import (
    ChannelType,
    EventType,
    KeyeventChannel,
    KeyNotification,
    KeyspaceChannel,
    KeyspaceNotifications,
    get_channel_type,
)
from .lock import Lock
from .node import Locator, Node, NotLocatedError
from .pipeline import Pipeline
from .pubsub import Monitor, PubSub, PubSubConnection, PubSubWorker, Subscription
from .sentinel import (
    MasterNotFoundError,
    ReplicaNotFoundError,
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
    SlaveNotFoundError,
)
from .settings import RedisSettings, parse_url

#: redis-py's old name for :class:`Redis`.
StrictRedis = Redis
#: redis-py's module-level ``from_url``: :meth:`Redis.from_url`.
from_url = Redis.from_url

__all__ = [
    "AuthenticationError",
    "AuthenticationWrongNumberOfArgsError",
    "BlockingConnectionPool",
    "BusyLoadingError",
    "ChannelType",
    "ChildDeadlockedError",
    "ClusterNode",
    "ClusterPipeline",
    "Commands",
    "CommandsMixin",
    "ConnectionError",
    "ConnectionPool",
    "CredentialProvider",
    "CrossSlotTransactionError",
    "DataError",
    "EventType",
    "InvalidPipelineStack",
    "InvalidResponse",
    "KeyNotification",
    "KeyeventChannel",
    "KeyspaceChannel",
    "KeyspaceNotifications",
    "Locator",
    "Lock",
    "LockError",
    "LockNotOwnedError",
    "MasterNotFoundError",
    "MaxConnectionsError",
    "Monitor",
    "NoScriptError",
    "Node",
    "NotLocatedError",
    "OutOfMemoryError",
    "Pipeline",
    "PrimaryDemotedError",
    "PubSub",
    "PubSubConnection",
    "PubSubError",
    "PubSubWorker",
    "ReadOnlyError",
    "Redis",
    "RedisCluster",
    "RedisClusterException",
    "RedisError",
    "RedisSettings",
    "RefusedArgumentError",
    "ReplicaNotFoundError",
    "ResponseError",
    "Script",
    "Sentinel",
    "SentinelConnectionPool",
    "SentinelManagedConnection",
    "SentinelManagedSSLConnection",
    "SlaveNotFoundError",
    "StrictRedis",
    "Subscription",
    "TimeoutError",
    "UsernamePasswordCredentialProvider",
    "WatchError",
    "backoff",
    "default_backoff",
    "from_url",
    "get_channel_type",
    "parse_url",
    "retry",
]
