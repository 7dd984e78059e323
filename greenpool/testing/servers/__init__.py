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
module (``redis``, ``tarantool``, ``postgres``, ``mariadb``), and every
public name is re-exported here.
"""

from __future__ import annotations

from ._process import (
    HOST,
    ServerNotInstalled,
    ServerProcess,
    ServerStartError,
    find_program,
    free_port,
)
from .mariadb import MariaDBServer
from .postgres import PostgresServer, PostgresStandby, postgres_bin_dir
from .redis import RedisServer
from .tarantool import TarantoolReplicaSet, TarantoolServer

__all__ = [
    "HOST",
    "MariaDBServer",
    "PostgresServer",
    "PostgresStandby",
    "RedisServer",
    "ServerNotInstalled",
    "ServerProcess",
    "ServerStartError",
    "TarantoolReplicaSet",
    "TarantoolServer",
    "find_program",
    "free_port",
    "postgres_bin_dir",
]
