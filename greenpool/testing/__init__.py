"""Real servers and a fault-injecting proxy, for greenpool's tests and demo.

Everything here starts real programs as child processes on free loopback
ports, each in its own temporary directory, and stops them by PID:

* :class:`RedisServer`, :class:`RedisClusterServer` (a Redis Cluster:
  3 primaries, 3 replicas), :class:`RedisSentinelSet` (a primary, its
  replicas and sentinels), :class:`TarantoolServer` and
  :class:`TarantoolReplicaSet`, :class:`PostgresServer` and
  :class:`PostgresStandby`, :class:`MariaDBServer`: start, stop, kill,
  pause, resume and restart mid-test (failovers and slot migrations too);
* :class:`TcpProxy`: a separate process between client and server that
  delays, black-holes, cuts or refuses connections on command.

A missing program raises :class:`ServerNotInstalled`, which names the
Debian package to install (``scripts/setup.sh`` installs them all).
Servers still running when the interpreter exits are killed.

Only the standard library is imported here (no gevent): the module is used
from plain code and from greenlets alike.
"""

from __future__ import annotations

from .proxy import ProxyError, TcpProxy
from .script import ScriptServer
from .servers import (
    HOST,
    ClusterFailover,
    ClusterNodeInfo,
    MariaDBServer,
    PostgresServer,
    PostgresStandby,
    RedisClusterNode,
    RedisClusterServer,
    RedisReplyError,
    RedisSentinel,
    RedisSentinelSet,
    RedisServer,
    RespClient,
    SentinelFailover,
    ServerGroup,
    ServerNotInstalled,
    ServerProcess,
    ServerStartError,
    SlotMigration,
    TarantoolReplicaSet,
    TarantoolServer,
    find_program,
    free_port,
    postgres_bin_dir,
)

__all__ = [
    "HOST",
    "ClusterFailover",
    "ClusterNodeInfo",
    "MariaDBServer",
    "PostgresServer",
    "PostgresStandby",
    "ProxyError",
    "RedisClusterNode",
    "RedisClusterServer",
    "RedisReplyError",
    "RedisSentinel",
    "RedisSentinelSet",
    "RedisServer",
    "RespClient",
    "ScriptServer",
    "SentinelFailover",
    "ServerGroup",
    "ServerNotInstalled",
    "ServerProcess",
    "ServerStartError",
    "SlotMigration",
    "TarantoolReplicaSet",
    "TarantoolServer",
    "TcpProxy",
    "find_program",
    "free_port",
    "postgres_bin_dir",
]
