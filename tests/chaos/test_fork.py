"""fork() with clients in use: the promise of docs/reliability.md, "fork()".

A process that used its clients forks (gunicorn ``--preload``, Celery's
prefork pool, ``multiprocessing``).  In the child every client works on
first use, over new connections, with no configuration; no code in the
child ever reads from or writes to a socket it inherited, whatever was
pending at the moment of the fork; the parent's callers all finish with
their own replies.

Each test forks a real process under load (hundreds of greenlets calling)
and compares what the parent's callers saw with what the server counted
per client port: the parent's connections must carry exactly the parent's
commands.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from chaos_load import fork_storm, ports_of, redis_monitor
from helpers import in_child as _in_child

from greenpool import Pool
from greenpool.redis import Redis
from greenpool.testing import RedisServer

pytestmark = pytest.mark.chaos


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _local_ports(conns: Any) -> set[int]:
    return {c._sock.getsockname()[1] for c in conns if c._sock is not None}


# --------------------------------------------------------------------------- Redis


def test_a_redis_client_used_before_fork_works_in_the_child(redis: RedisServer) -> None:
    r = Redis(port=redis.port)
    r.set("k", "parent")
    parent_ports = _local_ports(r.shared_pool.connections)

    def check() -> bool:
        results = [r.get("k") for _ in range(300)]
        with r.pipeline() as pipe:
            pipe.set("child", 1).get("child")
            piped = pipe.execute()
        child_ports = _local_ports(r.shared_pool.connections)
        return (
            results == [b"parent"] * 300
            and piped == [True, b"1"]
            and bool(child_ports)
            and not child_ports & parent_ports
        )

    _in_child(check)
    assert r.get("k") == b"parent"  # the parent's connections are untouched
    assert _local_ports(r.shared_pool.connections) == parent_ports
    r.close()


def test_redis_fork_under_load_never_touches_the_parents_sockets(
    redis: RedisServer, tmp_path: Any
) -> None:
    r = Redis(port=redis.port, socket_timeout=10)
    r.ping()
    parent_ports = _local_ports(r.shared_pool.connections)

    def in_child() -> bool:
        return all(r.echo(f"child{i}") == f"child{i}".encode() for i in range(20))

    with redis_monitor(redis.port, tmp_path) as counts:
        result = fork_storm(r.echo, in_child=in_child)
    assert result.hung == 0, "parent callers hung"
    assert result.crossed == []
    assert result.errors == []
    assert result.children == [0] * 20
    assert _local_ports(r.shared_pool.connections) == parent_ports
    # Server side: the parent's connections carried the parent's ECHOs and nothing else.
    echoes = ports_of(counts, "echo")
    assert sum(echoes.get(p, 0) for p in parent_ports) == result.ok
    r.close()


def test_a_checkout_pool_forked_under_load_never_touches_the_parents_sockets(
    redis: RedisServer, tmp_path: Any
) -> None:
    from helpers import LineRedis

    made: list[LineRedis] = []

    def connect() -> LineRedis:
        conn = LineRedis(redis.address)
        made.append(conn)
        return conn

    pool: Pool[LineRedis] = Pool(connect, pool_size=8, max_overflow=0, pool_timeout=10)

    def echo(value: str) -> Any:
        with pool.connection() as conn:
            return conn.call("ECHO", value)

    pool.fill()  # all eight open before the storm: the parent's ports are known
    gevent.joinall([gevent.spawn(echo, "warm") for _ in range(8)])
    parent_ports = {c.sock.getsockname()[1] for c in made}

    def in_child() -> bool:
        return all(echo(f"child{i}") == f"child{i}".encode() for i in range(20))

    with redis_monitor(redis.port, tmp_path) as counts:
        result = fork_storm(echo, in_child=in_child, greenlets=200)
    assert result.hung == 0 and result.crossed == [] and result.errors == []
    assert result.children == [0] * 20
    echoes = ports_of(counts, "echo")
    assert sum(echoes.get(p, 0) for p in parent_ports) == result.ok
    pool.close()


# --------------------------------------------------------------------------- Tarantool

_COUNTING_ECHO = """
counts = {}
function echo(value)
    local peer = box.session.peer()
    counts[peer] = (counts[peer] or 0) + 1
    return value
end
"""


@pytest.fixture
def tarantool() -> Iterator[Any]:
    from greenpool.testing import TarantoolServer

    server = TarantoolServer(lua=_COUNTING_ECHO)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _echo_counts(server: Any) -> dict[int, int]:
    raw = server.eval_lua("return counts")[0]
    return {int(peer.rsplit(":", 1)[1]): n for peer, n in raw.items()}


@pytest.mark.parametrize("kind", ["connection", "pool"])
def test_tarantool_fork_under_load_never_touches_the_parents_sockets(
    tarantool: Any, kind: str
) -> None:
    from greenpool.tarantool import Connection, ConnectionPool, Mode

    if kind == "connection":
        client: Any = Connection("127.0.0.1", tarantool.port, socket_timeout=10)
        transports = [client._transport]

        def echo(value: str) -> Any:
            return client.call("echo", value).data[0]
    else:
        client = ConnectionPool([{"host": "127.0.0.1", "port": tarantool.port}],
                                connections_per_instance=2, socket_timeout=10)
        transports = [c._transport for c in client.units[0].connections]

        def echo(value: str) -> Any:
            return client.call("echo", value, mode=Mode.ANY).data[0]

    echo("warm")
    parent_ports = _local_ports(transports)
    before = _echo_counts(tarantool)

    def in_child() -> bool:
        ok = all(echo(f"child{i}") == f"child{i}" for i in range(20))
        return ok and not _local_ports(transports) & parent_ports

    result = fork_storm(echo, expect=lambda v: v, in_child=in_child)
    assert result.hung == 0 and result.crossed == [] and result.errors == []
    assert result.children == [0] * 20
    assert _local_ports(transports) == parent_ports
    after = _echo_counts(tarantool)
    carried = sum(after.get(p, 0) - before.get(p, 0) for p in parent_ports)
    assert carried == result.ok
    client.close()


def test_a_tarantool_pool_made_before_fork_opens_nothing_in_the_child_until_used(
    tarantool: Any,
) -> None:
    from greenpool.tarantool import ConnectionPool, Mode

    pool = ConnectionPool([{"host": "127.0.0.1", "port": tarantool.port}], refresh_delay=0.05)
    pool.call("echo", "parent", mode=Mode.ANY)
    sessions = "return #box.info.replication + box.stat.net().CONNECTIONS.current"

    def check() -> bool:
        gevent.sleep(0.3)  # six refresh periods: a copied worker would have reconnected
        idle = tarantool.eval_lua(sessions)[0]
        used = pool.call("echo", "child", mode=Mode.ANY).data == ["child"]
        return bool(used and tarantool.eval_lua(sessions)[0] == idle + 1)

    _in_child(check)
    assert pool.call("echo", "again", mode=Mode.ANY).data == ["again"]
    pool.close()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_postgres_pool_forked_under_load_never_touches_the_parents_sockets(
    postgres_server: Any, driver: str
) -> None:
    from greenpool.postgres import PostgresPool

    table = f"forklog_{os.getpid()}"
    with PostgresPool(postgres_server.dsn, pool_size=1, prefill=False, driver=driver) as setup:
        setup.execute(lambda c: c.cursor().execute(
            f"CREATE TABLE IF NOT EXISTS {table} (port int, value text)"))
    pool = PostgresPool(postgres_server.dsn, pool_size=8, max_overflow=0, pool_timeout=10,
                        autocommit=True, driver=driver)

    def echo(value: str) -> Any:
        with pool.cursor() as cur:
            cur.execute(f"INSERT INTO {table} VALUES (inet_client_port(), %s) RETURNING value",
                        (value,))
            return cur.fetchone()[0]

    gevent.joinall([gevent.spawn(echo, "warm") for _ in range(16)])
    with pool.cursor() as cur:
        cur.execute(f"SELECT DISTINCT port FROM {table}")
        parent_ports = {row[0] for row in cur.fetchall()}
        cur.execute(f"DELETE FROM {table}")

    def in_child() -> bool:
        return all(echo(f"child{i}") == f"child{i}" for i in range(20))

    result = fork_storm(echo, expect=lambda v: v, in_child=in_child, greenlets=200)
    assert result.hung == 0 and result.crossed == [] and result.errors == []
    assert result.children == [0] * 20
    with pool.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE port = ANY(%s) AND value LIKE 'w%%'",
                    (list(parent_ports),))
        carried = cur.fetchone()[0]
        cur.execute(f"DROP TABLE {table}")
    assert carried == result.ok
    pool.close()


def test_a_multi_host_postgres_pool_leaves_its_role_monitor_to_the_parent(
    postgres_standby: Any,
) -> None:
    from greenpool.postgres import Mode, PostgresPool

    primary = postgres_standby.primary
    pool = PostgresPool(primary.dsn, servers=[primary.address, postgres_standby.address],
                        pool_size=2, role_refresh_interval=0.02, autocommit=True)

    def server_of(mode: Any) -> int:
        with pool.cursor(mode=mode) as cur:
            cur.execute("SELECT inet_server_port()")
            return int(cur.fetchone()[0])

    assert server_of(Mode.RW) == primary.port
    monitor_pids = [u.monitor_conn.get_backend_pid() for u in pool._units]

    def check() -> bool:
        gevent.sleep(0.3)  # fifteen refresh periods for a copied monitor greenlet
        fresh = [u.monitor_conn for u in pool._units]
        routed = server_of(Mode.RO) == postgres_standby.port
        mine = [u.monitor_conn.get_backend_pid() for u in pool._units]
        return fresh == [None, None] and routed and not set(mine) & set(monitor_pids)

    _in_child(check)
    gevent.sleep(0.1)  # the parent's monitor went on refreshing over its own connections
    assert [u.monitor_conn.get_backend_pid() for u in pool._units] == monitor_pids
    assert server_of(Mode.RO) == postgres_standby.port
    pool.close()


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_a_query_waiting_at_the_fork_fails_in_the_child_and_completes_in_the_parent(
    postgres_server: Any, driver: str
) -> None:
    """The child's copy of a greenlet that waited on a query gets an error, not the reply.

    Without the check after each wait, the copy would go on reading the
    parent's socket (or, severed, get a confusing libpq error); with it, the
    child sees at once that the connection is the parent's, and the parent's
    query is neither read nor cancelled by the child.
    """
    from greenpool.postgres import PostgresPool

    pool = PostgresPool(postgres_server.dsn, pool_size=1, max_overflow=0, prefill=False,
                        autocommit=True, driver=driver)

    def slow() -> Any:
        with pool.cursor() as cur:
            cur.execute("SELECT 'parent' FROM pg_sleep(0.5)")
            return cur.fetchone()[0]

    waiting = gevent.spawn(slow)
    gevent.sleep(0.2)  # the query is on the server; the greenlet waits on the socket
    assert not waiting.ready()

    def check() -> bool:
        waiting.join(5)
        error = waiting.exception
        return (waiting.ready() and error is not None
                and "fork() while this connection waited" in str(error))

    _in_child(check)
    assert waiting.get(timeout=5) == "parent"
    assert slow() == "parent"  # the pool's connection is still good in the parent
    pool.close()


# --------------------------------------------------------------------------- stats


def _counted(stats: dict[str, Any]) -> dict[str, Any]:
    """The counters among ``stats`` that are not zero."""
    from greenpool._stats import COUNTER, KEYS

    return {k: v for k, v in stats.items() if v and k in KEYS and KEYS[k].kind == COUNTER}


def test_a_childs_counters_count_only_what_the_child_did(
    redis: RedisServer, tarantool: Any, postgres_server: Any, redis_cluster: Any,
    redis_sentinel: Any,
) -> None:
    # A gunicorn --preload master that used its clients at import: each
    # worker's stats reported the master's connects and requests as its own,
    # once per worker in a sum over workers.
    from greenpool.postgres import PostgresPool
    from greenpool.redis import RedisCluster, Sentinel
    from greenpool.tarantool import ConnectionPool, Mode

    r = Redis(port=redis.port)
    tnt = ConnectionPool([{"host": "127.0.0.1", "port": tarantool.port}])
    pg = PostgresPool(postgres_server.dsn, pool_size=2, prefill=False)
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes)
    sentinel = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=1)
    clients = {"redis": r, "tarantool": tnt, "postgres": pg, "cluster": rc,
               "sentinel": sentinel}

    def use() -> None:
        r.set("k", "v")
        with r.pipeline() as pipe:
            pipe.get("k").execute()
        tnt.call("echo", "x", mode=Mode.ANY)
        pg.execute(lambda c: c.cursor().execute("SELECT 1"))
        rc.set("fork-counters", "x")
        sentinel.discover_master(redis_sentinel.service_name)

    use()
    before = {name: _counted(c.stats()) for name, c in clients.items()}
    assert all(before.values()), before

    def check() -> bool:
        fresh = {name: _counted(c.stats()) for name, c in clients.items()}
        assert fresh == {name: {} for name in clients}, fresh
        use()
        used = {name: _counted(c.stats()) for name, c in clients.items()}
        assert used["redis"]["requests_num"] == 2  # SET, and the pipeline's GET
        assert used["postgres"]["connections_num"] == 1
        return True

    _in_child(check)
    assert {name: _counted(c.stats()) for name, c in clients.items()} == before
    for client in clients.values():
        client.close()
