"""No secret shows, in any driver: reprs, exception texts (whole chains) and DEBUG logs.

Real servers that require passwords: Redis (``requirepass`` and an ACL
user), Tarantool (a user), PostgreSQL (SCRAM for two roles), MariaDB (a
user).  Each row of :data:`SCENARIOS` runs a connect / wrong password /
right password cycle for one driver and one way of passing the password
(keywords, URLs encoded and not, DSNs with quotes and spaces, address
dicts, TLS key passwords) and hands back what it made.  The test then
searches, for fragments of the passwords:

* ``repr`` and ``str`` of every client, pool and connection (and of the
  greenpool objects they hold);
* every exception: the full chain rendered by
  :func:`traceback.format_exception`, plus ``str``/``repr`` and the
  attributes of each exception in it (suppressed contexts included);
* every log record at DEBUG, with its traceback.

The test's own source never holds a password literally on a line that
raises, so tracebacks can't show one through a quoted source line.
"""

from __future__ import annotations

import functools
import logging
import os
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
import pymysql
import pytest
from gevent import socket as gsocket

from greenpool import Pool
from greenpool.dbapi import DBAPIPool
from greenpool.pool.modes import Mode
from greenpool.postgres import PostgresPool
from greenpool.redis import Redis
from greenpool.redis.settings import RedisSettings
from greenpool.tarantool import Connection as TarantoolConnection
from greenpool.tarantool import ConnectionPool
from greenpool.testing import (
    MariaDBServer,
    PostgresServer,
    RedisServer,
    TarantoolServer,
    free_port,
)

SECRET = "s3cr3t-@:/?#-P4ss"  # every server's password
WRONG = "wr0ng-@:/?#-Pa55"  # a wrong one: it must not show either
AT_SECRET = "s3cr3t@P4ss"  # urllib reads it whole from a URL unencoded: a good login
SPACEY = "s3cr3t -@:/?#'P4ss"  # for a libpq DSN: quotes and spaces
NEEDLES = ("s3cr3t", "P4ss", "wr0ng", "Pa55", "s3cr3t%40", "wr0ng%40")
QUOTED = urllib.parse.quote(SECRET, safe="")
MISSING = os.path.join(os.path.dirname(__file__), "no-such-file.pem")


@dataclass
class Servers:
    redis: RedisServer
    tarantool: TarantoolServer
    postgres: PostgresServer
    mariadb: MariaDBServer


@pytest.fixture(scope="module")
def servers(
    postgres_server: PostgresServer, mariadb_server: MariaDBServer
) -> Iterator[Servers]:
    with RedisServer(password=SECRET, username="app") as redis, TarantoolServer(
        user="app", password=SECRET
    ) as tarantool:
        admin = Redis(host=redis.host, port=redis.port, password=SECRET)
        admin.execute_command("ACL", "SETUSER", "at", "on", f">{AT_SECRET}", "~*", "+@all")
        admin.close()
        postgres_server.add_password_user("app", SECRET)
        postgres_server.add_password_user("spacey", SPACEY)
        mariadb_server.query("CREATE USER IF NOT EXISTS 'app'@'%%' IDENTIFIED BY %s", (SECRET,))
        mariadb_server.query("GRANT ALL ON test.* TO 'app'@'%'")
        yield Servers(redis, tarantool, postgres_server, mariadb_server)


# --------------------------------------------------------------------------- what a row made


class Seen:
    """What a scenario made: objects to repr, exceptions raised, things to close."""

    def __init__(self) -> None:
        self.objects: list[Any] = []
        self.errors: list[BaseException] = []
        self.closers: list[Callable[[], Any]] = []

    def keep(self, obj: Any) -> Any:
        self.objects.append(obj)
        close = getattr(obj, "close", None)
        if callable(close):
            self.closers.append(close)
        return obj

    def error(self, fn: Callable[[], Any]) -> BaseException:
        try:
            fn()
        except Exception as exc:
            self.errors.append(exc)
            return exc
        raise AssertionError("expected an exception")


def _greenpool_object(value: Any) -> bool:
    return type(value).__module__.startswith("greenpool") and not callable(value)


def object_texts(obj: Any, depth: int = 2) -> list[str]:
    """repr and str of ``obj`` and of the greenpool objects it holds (not its secrets)."""
    texts = [repr(obj), str(obj)]
    if depth == 0:
        return texts
    try:
        attrs = dict(vars(obj))
    except TypeError:
        attrs = {n: getattr(obj, n) for n in getattr(type(obj), "__slots__", ())
                 if hasattr(obj, n)}
    for name, value in attrs.items():
        if "password" in name or name.startswith("__"):
            continue  # the secret itself, kept to log in with
        items = value if isinstance(value, (list, tuple)) else (
            list(value.values()) if isinstance(value, dict) else [value])
        for item in items:
            if _greenpool_object(item):
                texts += object_texts(item, depth - 1)
    return texts


def exception_texts(exc: BaseException) -> list[str]:
    """The chain as Python prints it, and each exception's text and attributes."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        texts += [str(e), repr(e), repr(e.args)]
        texts += [repr(v) for v in vars(e).values()]
        todo += [e.__cause__, e.__context__]  # suppressed contexts too
    return texts


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    texts = []
    for record in records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            texts.append(record.stack_info)
    return texts


# --------------------------------------------------------------------------- Redis


def redis_keywords(s: Servers, seen: Seen) -> None:
    host, port = s.redis.host, s.redis.port
    bad = seen.keep(Redis(host=host, port=port, password=WRONG, socket_connect_timeout=2))
    seen.error(bad.ping)
    for kwargs in ({"password": SECRET}, {"username": "app", "password": SECRET, "protocol": 3}):
        client = seen.keep(Redis(host=host, port=port, **kwargs))
        assert client.ping() is True
        with client.pipeline() as pipe:
            seen.keep(pipe)
            assert pipe.ping().execute() == [True]


def redis_urls(s: Servers, seen: Seen) -> None:
    address = s.redis.address
    for url in (
        f"redis://app:{QUOTED}@{address}/0",
        f"redis://at:{AT_SECRET}@{address}/0",  # "@" unencoded: urllib splits at the last
        f"redis://{address}/0?password={QUOTED}",
        f"redis://app:{QUOTED}@{address}/0?ssl_check_hostname=false",
    ):
        client = seen.keep(Redis.from_url(url))
        assert client.ping() is True
    for url in (
        f"redis://at:{AT_SECRET}@{address}/0?oops=1",
        f"redis://app:{QUOTED}@{address}/0?db=x",
        f"redis://{address}/0?password={QUOTED}&protocol=x",
        f"redis://:{SECRET}@{address}/0",  # "/?#" unencoded: not a URL urllib can read
    ):
        seen.error(lambda url=url: Redis.from_url(url, socket_connect_timeout=2).ping())
    bad = seen.keep(Redis.from_url(f"redis://app:{urllib.parse.quote(WRONG, safe='')}@{address}/0"))
    seen.error(bad.ping)


def redis_settings_and_tls(s: Servers, seen: Seen) -> None:
    seen.error(lambda: Redis(password=SECRET.encode()))  # type: ignore[arg-type]
    seen.error(lambda: Redis(ssl=True, ssl_certfile=MISSING, ssl_keyfile=MISSING,
                             ssl_password=SECRET))
    seen.error(lambda: Redis(ssl_password=SECRET))
    seen.keep(RedisSettings.build(host=s.redis.host, port=s.redis.port, password=SECRET))


def redis_reconnect_after_password_change(s: Servers, seen: Seen) -> None:
    """Connected, the password changes under it (reconnects fail), then changes back."""
    admin = seen.keep(Redis(host=s.redis.host, port=s.redis.port, username="app",
                            password=SECRET))
    client = seen.keep(Redis(host=s.redis.host, port=s.redis.port, password=SECRET,
                             socket_connect_timeout=1))
    assert client.ping() is True
    admin.execute_command("CONFIG", "SET", "requirepass", WRONG)
    try:
        admin.execute_command("CLIENT", "KILL", "TYPE", "normal")
        seen.error(lambda: client.ping() and client.ping())
        gevent.sleep(0.3)  # background reconnects fail on AUTH meanwhile
    finally:
        admin.execute_command("CONFIG", "SET", "requirepass", SECRET)
    with gevent.Timeout(10):
        while True:
            try:
                if client.ping():
                    break
            except Exception as exc:
                seen.errors.append(exc)
                gevent.sleep(0.05)


# --------------------------------------------------------------------------- Tarantool


def tarantool_connection(s: Servers, seen: Seen) -> None:
    host, port = s.tarantool.host, s.tarantool.port
    seen.error(lambda: TarantoolConnection(host, port, user="app", password=WRONG))
    lazy = seen.keep(TarantoolConnection(host, port, user="app", password=WRONG,
                                         connect_now=False, reconnect_max_attempts=0))
    seen.error(lazy.ping)
    conn = seen.keep(TarantoolConnection(host, port, user="app", password=SECRET))
    conn.ping()
    seen.error(lambda: TarantoolConnection(host, port, password=12345))  # type: ignore[arg-type]
    # A Tarantool URI given as the host.
    seen.error(lambda: TarantoolConnection(f"app:{SECRET}@{host}", port, connect_now=False))
    seen.error(lambda: TarantoolConnection(
        host, port, ssl_cert_file=MISSING, ssl_key_file=MISSING, ssl_password=SECRET))


def tarantool_pool(s: Servers, seen: Seen) -> None:
    addr = {"host": s.tarantool.host, "port": s.tarantool.port}
    bad = seen.keep(ConnectionPool([addr], user="app", password=WRONG, refresh_delay=0.1,
                                   deadline=1.0, health_timeout=1.0))
    seen.error(lambda: bad.ping(mode=Mode.ANY))
    good = seen.keep(ConnectionPool([addr], user="app", password=SECRET, refresh_delay=0.1))
    good.ping(mode=Mode.ANY)
    seen.objects += good.units
    # Secrets inside address dicts: an unknown "password" key, a TLS key password.
    seen.error(lambda: ConnectionPool([{**addr, "password": SECRET}]))
    seen.error(lambda: ConnectionPool([{**addr, "transport": "ssl", "ssl_password": SECRET,
                                        "ssl_cert_file": MISSING, "ssl_key_file": MISSING}]))
    seen.error(lambda: ConnectionPool([{**addr, "ssl_password": SECRET}]))


# --------------------------------------------------------------------------- PostgreSQL


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def postgres_pools(s: Servers, seen: Seen, driver: str = "psycopg2") -> None:
    pg = functools.partial(PostgresPool, driver=driver)
    where = f"host={s.postgres.host} port={s.postgres.port} dbname=postgres"
    address = s.postgres.address
    good = [
        f"{where} user=app password={_libpq_quote(SECRET)}",
        f"{where} user = spacey password = {_libpq_quote(SPACEY)}",
        f"postgresql://app:{QUOTED}@{address}/postgres",
        f"postgresql://spacey:{urllib.parse.quote(SPACEY, safe='')}@{address}/postgres",
    ]
    for dsn in good:
        pool = seen.keep(pg(dsn, pool_size=1, connect_timeout=5))
        with pool.connection() as conn:
            seen.keep(conn)
            conn.cursor().execute("SELECT 1")
        seen.objects.append(pool.dsn)
    kw = seen.keep(pg(where, user="app", password=SECRET, sslpassword=SECRET, pool_size=1))
    with kw.connection() as conn:
        conn.cursor().execute("SELECT 1")
    seen.objects.append(kw.dsn)
    for dsn in (
        f"{where} user=app password={_libpq_quote(WRONG)}",
        f"postgresql://app:{urllib.parse.quote(WRONG, safe='')}@{address}/postgres",
    ):
        pool = seen.keep(pg(dsn, prefill=False, connect_timeout=5))
        seen.error(pool.get)
        two = seen.keep(pg(dsn, servers=[address, f"127.0.0.1:{free_port()}"],
                           prefill=False, connect_timeout=2, pool_timeout=1))
        seen.error(two.get)
    seen.error(lambda: pg(f"postgresql://app:{SECRET}@{address}/postgres", connect_timeout=2))
    seen.error(lambda: pg(f"{where} password={_libpq_quote(SECRET)} bogus"))
    seen.error(lambda: pg(where, password=SECRET, sslmode="no", prefill=False))


def postgres_pools_psycopg3(s: Servers, seen: Seen) -> None:
    postgres_pools(s, seen, driver="psycopg")


# --------------------------------------------------------------------------- PyMySQL


def _green_pymysql(s: Servers, password: str) -> Callable[[], Any]:
    params = dict(s.mariadb.connect_kwargs, user="app", password=password)

    def connect() -> Any:
        conn = pymysql.connect(defer_connect=True, **params)
        conn.connect(gsocket.create_connection((params["host"], params["port"]), timeout=10))
        return conn

    return connect


def dbapi_pymysql(s: Servers, seen: Seen) -> None:
    bad = seen.keep(DBAPIPool(_green_pymysql(s, WRONG), pool_size=1, prefill=False,
                              max_retries=1))
    seen.error(bad.get)
    seen.error(lambda: bad.execute(lambda conn: conn.ping()))
    good = seen.keep(DBAPIPool(_green_pymysql(s, SECRET), pool_size=1))
    with good.connection() as conn:
        seen.keep(conn)
        conn.cursor().execute("SELECT 1")
    seen.error(lambda: DBAPIPool(functools.partial(pymysql.connect, password=SECRET),
                                 pool_size=-1))


# --------------------------------------------------------------------------- the checkout pool


def checkout_pool(s: Servers, seen: Seen) -> None:
    def connect(password: str) -> Any:
        conn = RedisSettings.build(host=s.redis.host, port=s.redis.port,
                                   password=password).new_connection()
        conn.connect()
        return conn

    bad = seen.keep(Pool(functools.partial(connect, WRONG), pool_size=1, prefill=False,
                         max_retries=1))
    seen.error(bad.get)
    seen.error(lambda: bad.execute(lambda conn: conn))
    good = seen.keep(Pool(functools.partial(connect, SECRET), pool_size=1, pool_timeout=0.05,
                          use_local=False))
    with good.connection() as conn:
        seen.keep(conn)
        seen.error(good.get)  # exhausted: the message lists the holder
    seen.error(lambda: Pool(lambda address: None,
                            servers=[f"app:{SECRET}@{s.redis.address}"]))
    seen.error(lambda: Pool(functools.partial(connect, SECRET), pool_size=-1))


SCENARIOS: list[Callable[[Servers, Seen], None]] = [
    redis_keywords,
    redis_urls,
    redis_settings_and_tls,
    redis_reconnect_after_password_change,
    tarantool_connection,
    tarantool_pool,
    postgres_pools,
    postgres_pools_psycopg3,
    dbapi_pymysql,
    checkout_pool,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_no_secret_shows(
    scenario: Callable[[Servers, Seen], None],
    servers: Servers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen = Seen()
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        try:
            scenario(servers, seen)
            for obj in seen.objects:  # while connected...
                texts += object_texts(obj)
        finally:
            for close in reversed(seen.closers):
                close()
        gevent.sleep(0.05)  # let background greenlets log what closing did
    for obj in seen.objects:  # ... and closed
        texts += object_texts(obj)
    for exc in seen.errors:
        texts += exception_texts(exc)
    texts += log_texts(caplog.records)
    assert seen.objects and seen.errors
    shown = [t for t in texts if any(n in t for n in NEEDLES)]
    assert shown == []
