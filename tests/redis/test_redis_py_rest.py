"""What redis-py's other standalone test files found, each cross-checked against redis-py.

redis-py's test_multiprocessing.py, test_retry.py, test_sentinel.py and the
rest (docs/redis.md, "redis-py's own tests") run against
``greenpool.redis.Redis``; each test here runs the same steps through
redis-py and through greenpool on one live server and compares what they
give (or raise).
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import random
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
import redis
import redis.backoff
import redis.exceptions
import redis.retry
import trustme

import greenpool.redis.exceptions as gex
from greenpool import ConfigurationError, ConnectionError
from greenpool.redis import Redis
from greenpool.redis import backoff as gbackoff
from greenpool.redis.retry import Retry
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


# ---------------------------------------------------------------------- retry and back-off


def _backoff_pairs() -> list[tuple[Any, Any]]:
    pairs: list[tuple[Any, Any]] = [
        (gbackoff.NoBackoff(), redis.backoff.NoBackoff()),
        (gbackoff.ConstantBackoff(0.25), redis.backoff.ConstantBackoff(0.25)),
    ]
    for name in ("ExponentialBackoff", "FullJitterBackoff", "EqualJitterBackoff",
                 "ExponentialWithJitterBackoff", "DecorrelatedJitterBackoff"):
        for args in ((), (2.0,), (0.3, 0.02)):
            pairs.append((getattr(gbackoff, name)(*args), getattr(redis.backoff, name)(*args)))
    return pairs


def test_backoffs_wait_as_redis_pys_do() -> None:
    # `from redis.backoff import X` becomes `from greenpool.redis.backoff import X`:
    # the same waits, drawn from the same random numbers
    for ours, theirs in _backoff_pairs():
        waits = []
        for backoff in (ours, theirs):
            random.seed(7)
            backoff.reset()
            waits.append([backoff.compute(failures) for failures in range(1, 12)])
        assert waits[0] == pytest.approx(waits[1]), type(ours).__name__
    assert type(gbackoff.default_backoff()).__name__ == type(redis.default_backoff()).__name__


def test_backoffs_and_retries_are_values_as_redis_pys_are() -> None:
    for ours, theirs in _backoff_pairs():
        again = copy.deepcopy(ours)
        assert again == ours and hash(again) == hash(ours)
        assert copy.deepcopy(theirs) == theirs
        assert Retry(ours, 3) == Retry(again, 3)
        assert Retry(ours, 3) != Retry(ours, 4)
        assert len({Retry(ours, 3), Retry(again, 3), Retry(ours, 4)}) == 2
    with pytest.raises(ConfigurationError) as info:
        Retry(object(), 1)
    assert info.value.argument == "backoff"
    with pytest.raises(ConfigurationError) as info:
        Retry(gbackoff.NoBackoff(), "3")  # type: ignore[arg-type]
    assert info.value.argument == "retries"


def _attempts(retry: Any, error: type[BaseException]) -> tuple[int, list[int]]:
    """How many times ``retry`` calls a function that always raises ``error``, and
    the failure counts its ``fail`` was given."""
    attempts = []
    failures: list[int] = []

    def attempt() -> None:
        attempts.append(1)
        raise error()

    with pytest.raises(error):
        retry.call_with_retry(attempt, lambda e, n: failures.append(n), with_failure_count=True)
    return len(attempts), failures


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_retry_retries_greenpools_errors_by_default(retries: int) -> None:
    # redis-py's Retry retries redis-py's ConnectionError, which greenpool's
    # clients never raise: greenpool's Retry (the same arguments) retries theirs
    expected = (retries + 1, list(range(1, retries + 2)))
    theirs = redis.retry.Retry(redis.backoff.NoBackoff(), retries)
    assert _attempts(theirs, redis.exceptions.ConnectionError) == expected
    assert _attempts(theirs, gex.ConnectionError) == (1, [])  # not theirs to retry
    for error in (gex.ConnectionError, gex.TimeoutError):
        assert _attempts(Retry(redis.backoff.NoBackoff(), retries), error) == expected
    # an error it does not support is raised at once
    assert _attempts(Retry(gbackoff.NoBackoff(), retries), gex.DataError) == (1, [])


def test_a_retry_without_waits_still_lets_other_greenlets_run(redis_server: RedisServer) -> None:
    # NoBackoff on an error raised at once (a closed client) retried in a loop
    # that never yielded: with retries=-1 the process hung for good, and no
    # kill() or gevent.Timeout could reach it.
    client = Redis(redis_server.host, redis_server.port,
                   retry=Retry(gbackoff.NoBackoff(), -1))
    client.close()

    def call() -> None:
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.2):
            client.get("k")

    assert _ticks_during(call, 0) > 10


def _ticks_during(work: Any, pause: float) -> int:
    """How many times another greenlet, sleeping ``pause`` each turn, ran while ``work()`` ran."""
    ran: list[int] = []

    def tick() -> None:
        while True:
            ran.append(1)
            gevent.sleep(pause)

    ticker = gevent.spawn(tick)
    try:
        work()
    finally:
        ticker.kill()
    return len(ran)


def test_retry_waits_greenly() -> None:
    # redis-py's Retry calls time.sleep, which stops every greenlet unless
    # time is monkey-patched; greenpool's lets them run
    assert _ticks_during(
        lambda: _attempts(Retry(gbackoff.ConstantBackoff(0.05), 2), gex.ConnectionError), 0.01
    ) >= 5


class _NoWait:
    """A back-off of one's own (duck-typed, as redis-py's Retry takes them)."""

    def reset(self) -> None:
        pass

    def compute(self, failures: int) -> float:
        return 0.0


@pytest.mark.parametrize("side", ["ours", "theirs"])
def test_retry_on_error_and_on_timeout_with_a_retry(redis_server: RedisServer, side: str) -> None:
    # redis-py's documented pattern: Redis(retry=Retry(...), retry_on_error=[...]);
    # the listed errors are retried too, and the Retry given is left as it was
    cls, retry_cls, no_script = ((Redis, Retry, gex.NoScriptError) if side == "ours" else
                                 (redis.Redis, redis.retry.Retry, redis.exceptions.NoScriptError))
    given = retry_cls(_NoWait(), 2)
    warns = pytest.warns(DeprecationWarning) if side == "theirs" else contextlib.nullcontext()
    with warns:  # redis-py deprecates retry_on_timeout
        client = cls(host=redis_server.host, port=redis_server.port, retry=given,
                     retry_on_error=[no_script], retry_on_timeout=True)
    try:
        client.config_resetstat()
        with pytest.raises(no_script):
            client.evalsha("0" * 40, 0)
        stats = client.info("commandstats")["cmdstat_evalsha"]
        assert stats["calls"] + stats.get("rejected_calls", 0) == 3  # once, then twice more
        assert no_script not in given._supported_errors
        assert client.get("nothing") is None
    finally:
        client.close()


def test_retry_on_error_without_a_retry_is_refused() -> None:
    # greenpool resends no command on its own (one whose connection broke may
    # have run): without retry= these still ask for it, and are refused
    for name, value in (("retry_on_error", [gex.NoScriptError]), ("retry_on_timeout", True)):
        with pytest.raises(ConfigurationError) as info:
            Redis(**{name: value})
        assert info.value.argument == name
        assert "retry=" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Redis(retry=Retry(gbackoff.NoBackoff(), 1), retry_on_error=["NoScriptError"])
    assert info.value.argument == "retry_on_error"


# ---------------------------------------------------------------------- socket options


_KEEPALIVE = {socket.TCP_KEEPIDLE: 45, socket.TCP_KEEPINTVL: 7, socket.TCP_KEEPCNT: 4}


def _tcp_options_of(sock: Any) -> dict[int, int]:
    return {option: sock.getsockopt(socket.IPPROTO_TCP, option) for option in _KEEPALIVE}


def test_socket_keepalive_options_as_redis_py_sets_them(redis_server: RedisServer) -> None:
    # Redis(socket_keepalive_options={socket.TCP_KEEPIDLE: ...}) was a TypeError;
    # the options are set on every connection, shared and dedicated
    options = {"host": redis_server.host, "port": redis_server.port,
               "socket_keepalive_options": _KEEPALIVE}
    theirs = redis.Redis(**options)  # type: ignore[arg-type]
    ours = Redis(**options)  # type: ignore[arg-type]
    try:
        assert ours.ping() is theirs.ping() is True
        conn = theirs.connection_pool.get_connection()
        try:
            assert _tcp_options_of(conn._sock) == _KEEPALIVE
        finally:
            theirs.connection_pool.release(conn)
        shared = ours.shared_pool.connected_connections
        assert shared and all(_tcp_options_of(c._sock) == _KEEPALIVE for c in shared)
        with ours.dedicated_pool.connection() as dedicated:
            dedicated.request(b"*1\r\n$4\r\nPING\r\n")
            assert _tcp_options_of(dedicated._sock) == _KEEPALIVE
        assert ours.get_connection_kwargs()["socket_keepalive_options"] == _KEEPALIVE
    finally:
        ours.close()
        theirs.close()
    # Values or options the system refuses are found when the client is made
    # (they failed every connect, again and again, as a ConnectionError).
    for bad in ({"TCP_KEEPIDLE": 30}, {socket.TCP_KEEPIDLE: "30"}, [30],
                {socket.TCP_KEEPIDLE: 0}, {9999: 1}):
        with pytest.raises(ConfigurationError) as info:
            Redis(socket_keepalive_options=bad)  # type: ignore[arg-type]
        assert info.value.argument == "socket_keepalive_options"


# ---------------------------------------------------------------------- redis-py's other arguments

_OFF = {"single_connection_client": False, "lib_name": None, "lib_version": None,
        "driver_info": None, "event_dispatcher": None, "cache": None, "cache_config": None,
        "redis_connect_func": None, "ssl_validate_ocsp": False,
        "ssl_validate_ocsp_stapled": False, "ssl_ocsp_context": None,
        "ssl_ocsp_expected_cert": None, "maint_notifications_config": None,
        "oss_cluster_maint_notifications_handler": None}


def test_every_redis_py_argument_is_taken() -> None:
    # Redis(**settings) with redis-py's arguments raised TypeError for these
    import inspect

    theirs = inspect.signature(redis.Redis.__init__).parameters
    ours = inspect.signature(Redis.__init__).parameters
    assert [name for name in theirs if name not in ours] == []


def test_redis_py_arguments_in_their_off_values_are_accepted(redis_server: RedisServer) -> None:
    # code passes them through from its configuration (lib_name=None, to send
    # no CLIENT SETINFO, is common): what redis-py accepts, greenpool does
    options = {"host": redis_server.host, "port": redis_server.port, **_OFF}
    with pytest.warns(DeprecationWarning):  # redis-py deprecates lib_name, lib_version
        theirs = redis.Redis(**options)  # type: ignore[arg-type]
    ours = Redis(**options)  # type: ignore[arg-type]
    try:
        assert ours.ping() is theirs.ping() is True
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("name", sorted(_OFF))
def test_redis_py_arguments_greenpool_does_not_do_are_refused(name: str) -> None:
    on = True if _OFF[name] is False else "on"
    with pytest.raises(ConfigurationError) as info:
        Redis(**{name: on})  # type: ignore[arg-type]
    assert info.value.argument == name


# ------------------------------------------------------- connects refused, pools owned


def _refused(client: Any, use: str) -> BaseException:
    try:
        if use == "command":
            client.ping()
        elif use == "pipeline":
            client.pipeline().set("k", 1).execute()
        else:
            client.pubsub().subscribe("news")
    except Exception as exc:  # the error is what is compared
        return exc
    raise AssertionError("connected to nothing")


@pytest.mark.parametrize("use", ["command", "pipeline", "pubsub"])
def test_a_refused_connect_is_worded_as_redis_pys(tmp_path: Any, use: str) -> None:
    # redis-py: "Error 111 connecting to host:port. Connection refused.";
    # greenpool said "cannot reach redis at ...: redis host:port/0: cannot connect: ..."
    from greenpool.testing import free_port

    port = free_port()
    path = str(tmp_path / "none.sock")
    for kwargs in ({"host": "127.0.0.1", "port": port}, {"unix_socket_path": path}):
        once = redis.retry.Retry(redis.backoff.NoBackoff(), 0)  # redis-py's tries once, too
        theirs = redis.Redis(**kwargs, retry=once)  # type: ignore[arg-type]
        ours = Redis(**kwargs)  # type: ignore[arg-type]
        try:
            expected, got = _refused(theirs, use), _refused(ours, use)
        finally:
            theirs.close()
            ours.close()
        assert isinstance(got, ConnectionError)
        assert str(got) == str(expected)
    assert str(got) == f"Error 2 connecting to {path}. No such file or directory."


def test_auto_close_connection_pool_as_redis_pys(redis_server: RedisServer) -> None:
    import greenpool.redis as gr

    url = redis_server.url
    for lib in (redis, gr):
        own = lib.Redis.from_url(url)
        assert own.auto_close_connection_pool is True
        assert own.connection is None  # not a single-connection client
        own.close()
        pool = lib.ConnectionPool.from_url(url)
        shared = lib.Redis(connection_pool=pool)
        assert shared.auto_close_connection_pool is False
        shared.close()  # leaves the pool open
        with lib.Redis(connection_pool=pool) as again:
            assert again.ping() is True
        handed = lib.Redis(connection_pool=pool)
        handed.auto_close_connection_pool = True  # redis-py's older idiom: the client owns it
        handed.ping()
        handed.close()
        pool2 = lib.ConnectionPool.from_url(url)
        owner = lib.Redis.from_pool(pool2)
        assert owner.auto_close_connection_pool is True
        owner.close()
    with pytest.raises(ConfigurationError) as info:
        Redis.from_url(url).auto_close_connection_pool = "yes"  # type: ignore[assignment]
    assert info.value.argument == "auto_close_connection_pool"


def test_a_disabled_maint_notifications_config_is_taken(redis_server: RedisServer) -> None:
    # MaintNotificationsConfig(enabled=False) says "off", as None does
    from redis.maint_notifications import MaintNotificationsConfig

    options = {"host": redis_server.host, "port": redis_server.port,
               "maint_notifications_config": MaintNotificationsConfig(enabled=False)}
    theirs, ours = redis.Redis(**options), Redis(**options)  # type: ignore[arg-type]
    try:
        assert ours.ping() is theirs.ping() is True
    finally:
        ours.close()
        theirs.close()
    for on in (MaintNotificationsConfig(enabled=True), MaintNotificationsConfig()):
        with pytest.raises(ConfigurationError) as info:
            Redis(maint_notifications_config=on)
        assert info.value.argument == "maint_notifications_config"


# ---------------------------------------------------------------------- status_code


def _error_of(client: Any, *args: Any) -> BaseException:
    try:
        client.execute_command(*args)
    except Exception as exc:  # the error is what is compared
        return exc
    raise AssertionError(f"{args[0]} did not fail")


def test_error_replies_carry_redis_pys_status_code(redis_server: RedisServer) -> None:
    # redis-py 8's parser sets status_code to the reply's first word for ERR and
    # the words it maps to a class; greenpool's errors had no status_code
    ours = Redis(host=redis_server.host, port=redis_server.port)
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        ours.set("t:str", "x")
        for args in (("EVALSHA", "0" * 40, 0), ("LPUSH", "t:str", 1),
                     ("NO-SUCH-COMMAND",), ("GET", "a", "b")):
            theirs, got = _error_of(client, *args), _error_of(ours, *args)
            assert type(got).__name__ == type(theirs).__name__
            assert got.status_code == theirs.status_code  # type: ignore[attr-defined]
        assert _error_of(ours, "EVALSHA", "0" * 40, 0).status_code == "NOSCRIPT"  # type: ignore[attr-defined]
        # AUTH with no password set: AuthenticationError, status_code "ERR"
        with pytest.raises(redis.exceptions.AuthenticationError) as theirs_auth:
            client.auth("secret")
        with pytest.raises(gex.AuthenticationError) as ours_auth:
            ours.auth("secret")
        assert ours_auth.value.status_code == theirs_auth.value.status_code == "ERR"
    finally:
        ours.close()
        client.close()


@pytest.mark.parametrize("name", ["ResponseError", "NoScriptError", "BusyLoadingError",
                                  "AuthenticationError", "AskError", "ReadOnlyError"])
def test_error_classes_take_redis_pys_status_code(name: str) -> None:
    import pickle

    message = "3999 127.0.0.1:7001" if name == "AskError" else "boom"
    theirs = getattr(redis.exceptions, name)(message, status_code="X")
    ours = getattr(gex, name)(message, status_code="X")
    assert ours.status_code == theirs.status_code == "X"
    assert pickle.loads(pickle.dumps(ours)).status_code == "X"
    assert getattr(gex, name)(message).status_code is None


# ---------------------------------------------------------------------- URLs and pools


def test_url_options_left_empty_are_not_given() -> None:
    # redis-py drops "?socket_keepalive=" (no value); greenpool refused it
    import greenpool.redis as gr

    url = "redis://localhost/2?socket_timeout=20&socket_keepalive=&client_name=&max_connections=10"
    for lib in (redis, gr):
        pool = lib.ConnectionPool.from_url(url)
        assert pool.connection_kwargs["socket_timeout"] == 20.0
        assert pool.connection_kwargs["db"] == 2
        assert pool.connection_kwargs.get("client_name") is None
        assert pool.max_connections == 10


@pytest.mark.parametrize("url", ["redis:foo.bar.com:12345", "rediss:h:1", "unix:/tmp/r.sock",
                                 "localhost"])
def test_a_url_without_its_slashes_is_refused(url: str) -> None:
    # greenpool read "redis:host:port" as a path, and complained of a bad database number
    with pytest.raises(ValueError, match="schemes"):
        redis.ConnectionPool.from_url(url)
    with pytest.raises(ConfigurationError, match=r"scheme must be redis://") as info:
        Redis.from_url(url)
    assert isinstance(info.value, ValueError) and info.value.argument == "url"


def test_a_url_scheme_in_capitals_is_still_read() -> None:
    # The check for "//" compared the lowercased scheme with the URL as given,
    # and refused "REDIS://...", which greenpool read before (redis-py refuses
    # it; URL schemes are case-insensitive, RFC 3986).
    for url in ("REDIS://127.0.0.1:6390/3", "Rediss://127.0.0.1:6390/3"):
        ours = Redis.from_url(url)
        try:
            assert ours.connection_pool.connection_kwargs["db"] == 3
            assert ours.connection_pool.connection_kwargs["port"] == 6390
        finally:
            ours.close()


def test_blocking_pool_waits_its_timeout_then_raises(redis_server: RedisServer) -> None:
    import time

    import greenpool.redis as gr

    url = f"{redis_server.url}?timeout=42"
    assert gr.BlockingConnectionPool.from_url(url).timeout == \
        redis.BlockingConnectionPool.from_url(url).timeout == 42.0
    pool = gr.BlockingConnectionPool.from_url(redis_server.url, max_connections=1, timeout=0.2)
    r = Redis(connection_pool=pool)
    try:
        with r.pipeline() as held:
            held.watch("t:held")  # holds the one dedicated connection
            start = time.monotonic()
            with pytest.raises(gex.ConnectionError) as info:  # redis-py's ConnectionError
                r.blpop(["t:empty"], timeout=1)
            assert time.monotonic() - start >= 0.2
            assert isinstance(info.value, gex.MaxConnectionsError)
    finally:
        pool.disconnect()
