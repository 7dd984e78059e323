"""What redis-py's other standalone test files found, each cross-checked against redis-py.

redis-py's test_multiprocessing.py, test_retry.py, test_sentinel.py and the
rest (docs/redis.md, "redis-py's own tests") run against
``greenpool.redis.Redis``; each test here runs the same steps through
redis-py and through greenpool on one live server and compares what they
give (or raise).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.backoff
import redis.exceptions
import redis.retry
import trustme

import greenpool.redis.exceptions as gex
from greenpool import ConfigurationError, ConnectionError
from greenpool.redis import Redis
from greenpool.testing import RedisServer


@pytest.fixture(params=["ours", "theirs"])
def client(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Any]:
    """greenpool's client, then redis-py's, on the same server."""
    cls = Redis if request.param == "ours" else redis.Redis
    with contextlib.closing(cls(host=redis_server.host, port=redis_server.port)) as made:
        yield made


# ---------------------------------------------------------------------- fork


def _ping_in_child(client: Any) -> None:
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # not pytest-timeout's handler
    signal.alarm(10)  # a hang ends the child (killed by SIGALRM: exit code -14)
    try:
        os._exit(0 if client.ping() is True else 1)
    except BaseException:
        os._exit(3)


def _child_exit_code(client: Any) -> int | None:
    """A child made by ``multiprocessing`` (plain ``os.fork``, no monkey patching) pings."""
    assert client.ping() is True
    proc = multiprocessing.get_context("fork").Process(target=_ping_in_child, args=(client,))
    proc.start()
    proc.join(20)
    if proc.exitcode is None:  # pragma: no cover - alarm() failed to end it
        proc.kill()
        proc.join()
    return proc.exitcode


def test_a_client_used_before_a_plain_fork_works_in_the_child(client: Any) -> None:
    # gevent's hub is made for the parent (its event loop, and the thread
    # pool that resolves host names): unless os.fork is gevent's, nothing
    # prepared it for the child, whose first connect waited forever.
    assert _child_exit_code(client) == 0
    assert client.ping() is True  # the parent's client still works


# ---------------------------------------------------------------------- exceptions


def _made(cls: type[BaseException], args: tuple[Any, ...]) -> Any:
    try:
        return ("made", str(cls(*args)))
    except (TypeError, ValueError):  # redis-py's AskError("x") can't parse its message
        return ("refused",)


def _error_classes() -> list[str]:
    return sorted(name for name, obj in vars(redis.exceptions).items()
                  if isinstance(obj, type) and issubclass(obj, BaseException)
                  and obj.__module__ == "redis.exceptions")


@pytest.mark.parametrize("args", [(), ("a message",)])
def test_error_classes_are_made_as_redis_pys_are(args: tuple[Any, ...]) -> None:
    # user code and tests' mocks raise redis.ConnectionError(),
    # redis.DataError("bad input") ...: each of greenpool's classes takes
    # what redis-py's takes, and says the same.
    differ = {}
    for name in _error_classes():
        theirs = _made(getattr(redis.exceptions, name), args)
        if theirs != ("refused",) and _made(getattr(gex, name), args) != theirs:
            differ[name] = (_made(getattr(gex, name), args), theirs)
    assert differ == {}


def test_redis_pys_retry_retries_greenpools_connection_error() -> None:
    attempts = []

    def attempt() -> None:
        attempts.append(1)
        raise gex.ConnectionError()

    retry = redis.retry.Retry(redis.backoff.NoBackoff(), 2, supported_errors=(gex.ConnectionError,))
    with pytest.raises(gex.ConnectionError):
        retry.call_with_retry(attempt, lambda error: None)
    assert len(attempts) == 3


# ---------------------------------------------------------------------- constructor


@pytest.mark.parametrize("protocol", ["2", "3"])
def test_port_and_protocol_given_as_text_as_redis_py_takes_them(redis_server: RedisServer,
                                                                  protocol: str) -> None:
    # redis-py's test_sentinel.py passes --protocol and a port as they come
    # from the command line; settings read from the environment are text too
    options = {"host": redis_server.host, "port": str(redis_server.port), "protocol": protocol}
    theirs = redis.Redis(**options)  # type: ignore[arg-type]
    ours = Redis(**options)  # type: ignore[arg-type]
    try:
        assert ours.ping() is theirs.ping() is True
        assert ours.protocol == int(protocol)
    finally:
        ours.close()
        theirs.close()
    for bad in ("x", "4", "1.5"):
        with pytest.raises(ConfigurationError):
            Redis(host=redis_server.host, port=redis_server.port, protocol=bad)  # type: ignore[arg-type]


def test_socket_read_size_is_taken_as_redis_py_takes_it(redis_server: RedisServer) -> None:
    options = {"host": redis_server.host, "port": redis_server.port, "socket_read_size": 65536}
    theirs = redis.Redis(**options)  # type: ignore[arg-type]
    ours = Redis(**options)  # type: ignore[arg-type]
    try:
        assert ours.ping() is theirs.ping() is True
    finally:
        ours.close()
        theirs.close()
    with pytest.raises(ConfigurationError):
        Redis(socket_read_size=0)


# ---------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, Any]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    base = tmp_path_factory.mktemp("tls")
    (base / "cas").mkdir()
    ca.cert_pem.write_to_path(str(base / "cas" / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(base / "cert.pem"))
    cert.private_key_pem.write_to_path(str(base / "key.pem"))
    with RedisServer(tls=True, tls_cert=base / "cert.pem", tls_key=base / "key.pem") as server:
        yield server, ca, base


def _pings_over_tls(cls: Any, server: RedisServer, **options: Any) -> Any:
    client = cls(host="localhost", port=server.port, ssl=True, **options)
    try:
        return client.ping()
    finally:
        client.close()


def test_ca_certificates_inline_or_in_a_directory(tls_server: tuple[RedisServer, Any, Any]) -> None:
    # ssl_ca_data: the CA certificates as text (from a secret store or an
    # environment variable); ssl_ca_path: a directory of them, hashed as
    # OpenSSL's c_rehash names them
    server, ca, base = tls_server
    pem = ca.cert_pem.bytes().decode()
    for cls in (redis.Redis, Redis):
        assert _pings_over_tls(cls, server, ssl_ca_data=pem) is True
    subprocess.run(["openssl", "rehash", str(base / "cas")], check=True, capture_output=True)
    for cls in (redis.Redis, Redis):
        assert _pings_over_tls(cls, server, ssl_ca_path=str(base / "cas")) is True
    with pytest.raises(ConfigurationError) as info:
        Redis(ssl=True, ssl_ca_data="not a certificate")
    assert info.value.argument == "ssl_ca_data"
    with pytest.raises(ConfigurationError):
        Redis(ssl_ca_data=pem)  # without ssl=True it would go unused
    untrusted = type(ca)().cert_pem.bytes().decode()  # another CA's: the server is refused
    with pytest.raises(ConnectionError):
        _pings_over_tls(Redis, server, ssl_ca_data=untrusted)
