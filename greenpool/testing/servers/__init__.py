"""Real database servers started for tests and the demo.

Every server here is a real program (``redis-server``, ``tarantool``,
``postgres``, ``mariadbd``) started as a child process on a free loopback
port, in its own temporary directory, and stopped by its PID.  Nothing here
ever connects to a server this module did not start.

The processes are made hard to leak:

* each one runs in its own session and process group, so stopping, killing,
  pausing and resuming act on the server and every process it forked;
* every started PID is registered, and an :mod:`atexit` hook SIGKILLs the
  ones still alive when the interpreter exits (a crashed or interrupted test
  run included) and removes their directories;
* when the server is started from the main OS thread, the kernel is also
  asked to SIGKILL it should the starting process die without running
  :mod:`atexit` hooks (``os._exit``, SIGKILL);
* :meth:`ServerProcess.__del__` kills a server that was never stopped.

Only the standard library is imported at module level, and no gevent: the
blocking calls used (:func:`time.sleep`, :mod:`socket`, :mod:`subprocess`,
:mod:`select`) are the ones gevent's monkey-patching makes cooperative, so
the same code works from plain threads and from greenlets.  The client
packages (``psycopg2``, ``pymysql``, ``tarantool``) are imported lazily, only
by the helpers that need them.

The machinery every server shares (the PID registry, :func:`free_port`,
:class:`ServerProcess`) is in ``_process``; each server program has its own
module (``redis``, ``tarantool``, ``postgres``, ``mariadb``; Redis Cluster in
``redis_cluster`` and Sentinel in ``redis_sentinel``, both driven through the
small RESP client in ``_resp``), and every public name is re-exported here.
"""

from __future__ import annotations

from ._process import (
    HOST,
    ServerGroup,
    ServerNotInstalled,
    ServerProcess,
    ServerStartError,
    find_program,
    free_port,
    poll_until,
    stop_all,
)
from ._resp import RedisReplyError, RespClient
from .mariadb import MariaDBServer
from .postgres import PostgresServer, PostgresStandby, postgres_bin_dir
from .redis import RedisServer
from .redis_cluster import (
    ClusterFailover,
    ClusterNodeInfo,
    RedisClusterNode,
    RedisClusterServer,
    SlotMigration,
    parse_cluster_nodes,
)
from .redis_sentinel import RedisSentinel, RedisSentinelSet, SentinelFailover
from .tarantool import TarantoolReplicaSet, TarantoolServer

__all__ = [
    "HOST",
    "ClusterFailover",
    "ClusterNodeInfo",
    "MariaDBServer",
    "PostgresServer",
    "PostgresStandby",
    "RedisClusterNode",
    "RedisClusterServer",
    "RedisReplyError",
    "RedisSentinel",
    "RedisSentinelSet",
    "RedisServer",
    "RespClient",
    "SentinelFailover",
    "ServerGroup",
    "ServerNotInstalled",
    "ServerProcess",
    "ServerStartError",
    "SlotMigration",
    "TarantoolReplicaSet",
    "TarantoolServer",
    "find_program",
    "free_port",
    "parse_cluster_nodes",
    "poll_until",
    "postgres_bin_dir",
    "stop_all",
]
