"""greenpool.redis.Redis against real redis-server processes."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import gevent
import pytest
import trustme
from helpers import echo_storm, wait_until

from greenpool import ConfigurationError, ConnectionError, TimeoutError
from greenpool.redis import (
    AuthenticationError,
    NoScriptError,
    Redis,
    ResponseError,
    WatchError,
    parse_url,
)
from greenpool.testing import RedisServer, free_port


@pytest.fixture
def r(redis_server: Any) -> Any:
    client = Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.close()


# ---------------------------------------------------------------------- connecting


def test_from_url_forms(redis_server: Any) -> None:
    with Redis.from_url(f"redis://{redis_server.address}/3?client_name=tester") as client:
        assert client.set("t:url", "x") is True
        assert client.execute_command("CLIENT", "GETNAME") == b"tester"
        info = client.execute_command("CLIENT", "INFO")
        assert b" db=3 " in info
    assert parse_url("rediss://u:p%40ss@h:7000/2?socket_timeout=1.5") == {
        "username": "u",
        "password": "p@ss",
        "host": "h",
        "port": 7000,
        "db": 2,
        "ssl": True,
        "socket_timeout": 1.5,
    }
    assert parse_url("unix:///run/redis.sock?db=4&decode_responses=yes") == {
        "unix_socket_path": "/run/redis.sock",
        "db": 4,
        "decode_responses": True,
    }


def test_from_url_reads_every_option_redis_py_parses() -> None:
    url = (
        "rediss://h/0?socket_timeout=1&socket_connect_timeout=2&socket_read_size=65536&socket_keepalive=true"
        "&retry_on_timeout=false&retry_on_error=[]&max_connections=9&health_check_interval=5"
        "&ssl_check_hostname=false&ssl_include_verify_flags=VERIFY_X509_STRICT"
        "&ssl_exclude_verify_flags=[VERIFY_X509_PARTIAL_CHAIN,VERIFY_CRL_CHECK_LEAF]"
        "&ssl_min_version=771&timeout=3&protocol=3&legacy_responses=true&ssl_cert_reqs=none"
        "&ssl_ciphers=ECDHE+AESGCM"
    )
    options = parse_url(url)
    assert options == {
        "host": "h", "db": 0, "ssl": True, "socket_timeout": 1.0, "socket_connect_timeout": 2.0,
        "max_connections": 9, "health_check_interval": 5.0, "ssl_check_hostname": False,
        "ssl_include_verify_flags": [ssl.VerifyFlags.VERIFY_X509_STRICT],
        "ssl_exclude_verify_flags": [ssl.VerifyFlags.VERIFY_X509_PARTIAL_CHAIN,
                                     ssl.VerifyFlags.VERIFY_CRL_CHECK_LEAF],
        "ssl_min_version": 771, "pool_timeout": 3.0, "protocol": 3, "legacy_responses": True,
        "ssl_cert_reqs": "none",
        "ssl_ciphers": "ECDHE AESGCM",
    }
    # Each option redis-py's parse_url reads is in that URL (db as its path).
    import redis.connection

    given = {part.split("=")[0] for part in url.split("?")[1].split("&")} | {"db"}
    assert set(redis.connection.URL_QUERY_ARGUMENT_PARSERS) <= given
    with Redis.from_url(url) as client:
        context = client.settings.ssl_context
        assert context is not None
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
        assert context.verify_flags & ssl.VerifyFlags.VERIFY_X509_STRICT
        assert not context.verify_flags & ssl.VerifyFlags.VERIFY_X509_PARTIAL_CHAIN
        assert client.node.dedicated_pool is not None


def test_url_ssl_password_stays_hidden() -> None:
    assert parse_url("rediss://h/0?ssl_password=k3y-pass")["ssl_password"] == "k3y-pass"
    with pytest.raises(ConfigurationError) as info:
        Redis.from_url("redis://h/0?ssl_password=k3y-pass")  # needs TLS
    assert "k3y-pass" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "argument"),
    [
        ("redis://h/0?socket_keepalive=false", "socket_keepalive"),
        ("redis://h/0?retry_on_timeout=true", "retry_on_timeout"),
        ("redis://h/0?retry_on_error=[TimeoutError]", "retry_on_error"),
        ("redis://h/0?socket_read_size=0", "socket_read_size"),
        ("redis://h/0?ssl_include_verify_flags=VERIFY_NOTHING", "ssl_include_verify_flags"),
        ("rediss://h/0?ssl_min_version=12345", "ssl_min_version"),
        ("rediss://h/0?ssl_ciphers=NO-SUCH-CIPHER", "ssl_ciphers"),
        ("redis://h/0?ssl_ciphers=ECDHE", "ssl_ciphers"),  # without TLS
    ],
)
def test_url_options_greenpool_cannot_honour_are_refused(url: str, argument: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Redis.from_url(url)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("url", "argument"),
    [
        ("http://x", "url"),
        ("redis://h/notanumber", "url"),
        ("redis://h:99999/0", "url"),
        ("redis://h/0?nonsense=1", "url"),
        ("redis://h/0?decode_responses=perhaps", "decode_responses"),
    ],
)
def test_bad_urls(url: str, argument: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_url(url)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"port": 0}, "port"),
        ({"port": "6379x"}, "port"),  # decimal text is taken, as redis-py takes it
        ({"db": -1}, "db"),
        ({"protocol": 4}, "protocol"),
        ({"pool_size": 0}, "pool_size"),
        ({"max_connections": 0}, "max_connections"),
        ({"socket_timeout": -1}, "socket_timeout"),
        ({"username": 5}, "username"),  # a username alone is fine (a nopass ACL user)
        ({"encoding": "no-such-codec"}, "encoding"),
        ({"health_check_interval": -1}, "health_check_interval"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Redis(**kwargs)
    assert info.value.argument == argument


def test_unix_socket_and_protocol_3() -> None:
    with RedisServer(unixsocket=True) as server:
        assert server.unix_path is not None
        with Redis(unix_socket_path=server.unix_path, protocol=3, decode_responses=True) as client:
            assert client.hset("t:h", mapping={"a": "1", "b": "2"}) == 2
            assert client.hgetall("t:h") == {"a": "1", "b": "2"}
            assert "resp=3" in client.execute_command("CLIENT", "INFO")


def test_password_and_acl_user_and_secrets_stay_hidden(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-Pa55"
    with RedisServer(password=secret, username="app") as server:
        with Redis(port=server.port, host=server.host, password=secret) as client:
            assert client.ping() is True
        with Redis(
            port=server.port, host=server.host, username="app", password=secret, protocol=3
        ) as client:
            assert client.execute_command("ACL", "WHOAMI") == b"app"
        with caplog.at_level(logging.DEBUG):
            bad = Redis.from_url(f"redis://app:wrong-{secret}@{server.address}/0")
            with pytest.raises(ConnectionError) as info:
                bad.ping()
            bad.close()
        assert isinstance(info.value.__cause__, AuthenticationError)
        for text in (
            str(info.value),
            repr(info.value),
            str(info.value.__cause__),
            repr(bad),
            caplog.text,
        ):
            assert secret not in text
        with pytest.raises(ConfigurationError) as cfg:
            Redis.from_url(f"redis://app:{secret}@{server.address}/0?oops=1")
        assert secret not in str(cfg.value)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    base: Path = tmp_path_factory.mktemp("redis-tls")
    ca.cert_pem.write_to_path(str(base / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(base / "cert.pem"))
    cert.private_key_pem.write_to_path(str(base / "key.pem"))
    server = RedisServer(tls=True, tls_cert=base / "cert.pem", tls_key=base / "key.pem")
    server.start()
    server.ca_file = str(base / "ca.pem")  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_rediss_url_verifies_the_server(tls_server: Any) -> None:
    url = f"rediss://{tls_server.address}/0?ssl_ca_certs={tls_server.ca_file}"
    with Redis.from_url(url) as client:
        assert client.set("t:tls", "ok") is True and client.get("t:tls") == b"ok"
        assert client.blpop(["t:tls-list"], timeout=0.1) is None  # dedicated TLS connection too
    with (
        Redis.from_url(f"rediss://{tls_server.address}/0") as unverified,
        pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        unverified.ping()


def test_connect_now_reports_an_unreachable_server() -> None:
    port = free_port()
    with pytest.raises(ConnectionError, match=rf"^Error 111 connecting to 127\.0\.0\.1:{port}\. "):
        Redis(host="127.0.0.1", port=port, connect_now=True)


# ---------------------------------------------------------------------- commands and routing


def test_error_replies_raise_response_errors(r: Redis) -> None:
    r.set("t:str", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE") as info:
        r.execute_command("LPUSH", "t:str", "y")
    assert info.value.kind == "WRONGTYPE"
    assert r.get("t:str") == b"x"  # the connection is fine


def test_commands_that_would_change_a_shared_connection_are_refused(r: Redis) -> None:
    for args, hint in [
        (("SELECT", 1), "db="),
        (("multi",), "pipeline"),
        ((b"SUBSCRIBE", "c"), "pubsub"),
        (("MONITOR",), "monitor"),
    ]:
        with pytest.raises(ConfigurationError, match=hint):
            r.execute_command(*args)


def test_blocking_commands_use_dedicated_connections(r: Redis) -> None:
    waiters = [gevent.spawn(r.blpop, [f"t:q{i}"], 5) for i in range(5)]
    wait_until(lambda: r.dedicated_pool.checkedout() == 5)
    assert r.get("t:other") is None  # the shared connections are not blocked
    for i in range(5):
        r.rpush(f"t:q{i}", f"v{i}")
    gevent.joinall(waiters, timeout=5, raise_error=True)
    assert sorted(w.value for w in waiters) == [
        (f"t:q{i}".encode(), f"v{i}".encode()) for i in range(5)
    ]
    assert r.execute_command("BRPOP", "t:none", 0.05) is None
    assert r.execute_command("XREAD", "BLOCK", 50, "STREAMS", "t:stream", "$") is None
    assert r.dedicated_pool.checkedout() == 0


def test_a_killed_blocking_caller_closes_its_dedicated_connection(r: Redis) -> None:
    g = gevent.spawn(r.blpop, ["t:never"], 0)
    wait_until(lambda: r.dedicated_pool.checkedout() == 1)
    g.kill()
    assert r.dedicated_pool.checkedout() == 0 and r.dedicated_pool.checkedin() == 0
    r.rpush("t:never", "kept")
    assert r.lpop("t:never") == b"kept"  # the abandoned BLPOP did not take it


def test_socket_timeout_fails_only_that_command(redis_server: Any) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, socket_timeout=0.1) as client:
        conn = client._shared()
        with pytest.raises(TimeoutError):
            conn.request(b"*3\r\n$5\r\nBLPOP\r\n$6\r\nt:none\r\n$3\r\n0.3\r\n")
        assert client.echo("after") == b"after"
        assert conn.live()


def test_script_falls_back_from_evalsha_to_eval(r: Redis) -> None:
    r.script_flush()
    script = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert script(keys=["t:script"], args=[5]) == 5
    assert script(keys=["t:script"], args=[2]) == 7
    with pytest.raises(NoScriptError):
        r.evalsha("0" * 40, 0)


# ---------------------------------------------------------------------- pipelines


def test_transaction_pipeline(r: Redis) -> None:
    with r.pipeline() as pipe:
        pipe.set("t:p", 1).incr("t:p").get("t:p")
        assert len(pipe) == 3
        assert pipe.execute() == [True, 2, b"2"]
    assert r.dedicated_pool.checkedout() == 0


def test_non_transaction_pipeline_and_errors(r: Redis) -> None:
    r.set("t:np", "text")
    with r.pipeline(transaction=False) as pipe:
        pipe.incr("t:np").set("t:np2", 1)
        with pytest.raises(ResponseError, match="Command # 1"):
            pipe.execute()
    with r.pipeline(transaction=False) as pipe:
        pipe.incr("t:np").set("t:np2", 1)
        results = pipe.execute(raise_on_error=False)
        assert isinstance(results[0], ResponseError) and results[1] is True


def test_watch_detects_a_concurrent_change(r: Redis) -> None:
    r.set("t:balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("t:balance")
        value = int(pipe.get("t:balance"))
        r.set("t:balance", 99)  # someone else writes in between
        pipe.multi()
        pipe.set("t:balance", value + 1)
        with pytest.raises(WatchError):
            pipe.execute()
    assert r.get("t:balance") == b"99"
    with r.pipeline() as pipe:
        pipe.watch("t:balance")
        value = int(pipe.get("t:balance"))
        pipe.multi()
        pipe.set("t:balance", value + 1)
        assert pipe.execute() == [True]
    assert r.get("t:balance") == b"100"


def test_a_killed_pipeline_does_not_return_its_connection(r: Redis) -> None:
    def slow_transaction() -> None:
        with r.pipeline() as pipe:
            pipe.watch("t:k")
            pipe.blpop(["t:never2"], 0)  # runs at once while watching: blocks

    g = gevent.spawn(slow_transaction)
    wait_until(lambda: r.dedicated_pool.checkedout() == 1)
    g.kill()
    assert r.dedicated_pool.checkedout() == 0 and r.dedicated_pool.checkedin() == 0


# ---------------------------------------------------------------------- pub/sub, monitor


def test_pubsub_subscribe_get_message_and_patterns(r: Redis) -> None:
    p = r.pubsub()
    p.subscribe("t:news")
    p.psubscribe("t:sport.*")
    assert p.get_message(timeout=2)["type"] == "subscribe"
    assert p.get_message(timeout=2)["type"] == "psubscribe"
    r.publish("t:news", "hello")
    r.publish("t:sport.tennis", "ace")
    assert p.get_message(timeout=2) == {
        "type": "message",
        "pattern": None,
        "channel": b"t:news",
        "data": b"hello",
    }
    assert p.get_message(timeout=2) == {
        "type": "pmessage",
        "pattern": b"t:sport.*",
        "channel": b"t:sport.tennis",
        "data": b"ace",
    }
    assert p.get_message(timeout=0.05) is None
    p.unsubscribe("t:news")
    assert p.get_message(timeout=2)["type"] == "unsubscribe"
    p.close()


def test_pubsub_listen_and_handler_greenlet(r: Redis) -> None:
    got: list[Any] = []
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"t:jobs": got.append})
    worker = p.run_in_greenlet(sleep_time=0.05)
    wait_until(lambda: r.execute_command("PUBSUB", "NUMSUB", "t:jobs")[1] == 1)
    for i in range(3):
        r.publish("t:jobs", i)
    wait_until(lambda: len(got) == 3)
    assert [m["data"] for m in got] == [b"0", b"1", b"2"]
    worker.stop()
    listener = r.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("t:feed")
    wait_until(lambda: r.execute_command("PUBSUB", "NUMSUB", "t:feed")[1] == 1)
    r.publish("t:feed", "one")
    assert next(iter(listener.listen()))["data"] == b"one"
    listener.close()


def test_pubsub_resubscribes_after_the_server_restarts(fresh_redis: Any) -> None:
    with Redis(host=fresh_redis.host, port=fresh_redis.port) as client:
        p = client.pubsub(ignore_subscribe_messages=True)
        p.subscribe("t:chan")
        fresh_redis.restart()
        wait_until(lambda: _publish_seen(client, p), timeout=10)
        p.close()


def test_pubsub_reconnects_again_after_a_reconnect_failed(fresh_redis: Any) -> None:
    # The break queues one wake-up for the reader; the reconnect it starts
    # fails (the server is down).  Later calls must still see the dead
    # connection and reconnect once the server is back, not wait on it.
    with Redis(host=fresh_redis.host, port=fresh_redis.port) as client:
        p = client.pubsub(ignore_subscribe_messages=True)
        p.subscribe("t:chan")
        wait_until(lambda: client.execute_command("PUBSUB", "NUMSUB", "t:chan")[1] == 1)
        fresh_redis.stop()
        with pytest.raises(ConnectionError):
            for _ in range(20):  # the break, then the reconnect that fails
                p.get_message(timeout=0.5)
        fresh_redis.start()
        wait_until(lambda: _publish_seen(client, p), timeout=10)
        assert p.subscribed
        p.close()


def _publish_seen(client: Redis, p: Any) -> bool:
    try:
        client.publish("t:chan", "after")
    except ConnectionError:
        return False
    message = p.get_message(timeout=0.2)
    return message is not None and message["data"] == b"after"


def test_monitor_streams_commands(r: Redis) -> None:
    with r.monitor() as m:
        gevent.spawn_later(0.05, r.get, "t:watched")
        for _ in range(20):
            command = m.next_command(timeout=2)
            if "t:watched" in command["command"]:
                break
        assert command["command"] == "GET t:watched"  # unquoted, as redis-py gives it
        assert command["client_type"] == "tcp" and command["db"] == 0


# ---------------------------------------------------------------------- concurrency and failure


def test_a_thousand_greenlets_with_random_cancels_get_only_their_own_replies(r: Redis) -> None:
    r.ping()
    before = [c._sock for c in r.shared_pool.connections if c.live()]
    mismatches, cancelled = echo_storm(r.echo)
    assert mismatches == []
    assert cancelled > 0
    after = [c._sock for c in r.shared_pool.connections if c.live()]
    assert after == before  # no connection was dropped because of a cancel
    assert r.echo("still fine") == b"still fine"


def test_a_killed_server_fails_requests_in_flight_and_the_client_recovers(
    fresh_redis: Any,
) -> None:
    with Redis(host=fresh_redis.host, port=fresh_redis.port, socket_timeout=5) as client:
        client.ping()
        in_flight = [gevent.spawn(client.execute_command, "BLPOP", "t:x", 30) for _ in range(3)]
        shared = [gevent.spawn(client.execute_command, "DEBUG", "SLEEP", 0) for _ in range(3)]
        gevent.sleep(0.05)
        started = gevent.get_hub().loop.now()
        fresh_redis.kill()
        gevent.joinall(in_flight + shared, timeout=5)
        assert gevent.get_hub().loop.now() - started < 5  # nobody waited out a timeout
        assert all(isinstance(g.exception, ConnectionError) for g in in_flight)
        with pytest.raises(ConnectionError):
            client.ping()
        fresh_redis.start()
        wait_until(lambda: _pings(client), timeout=10)
        assert client.set("t:back", 1) is True


def _pings(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except ConnectionError:
        return False


def test_repr_and_connections_used(r: Redis) -> None:
    r.ping()
    assert repr(r).startswith("<Redis redis://127.0.0.1:")
    assert r.connections_used()["shared"] >= 1


# ---------------------------------------------------------------------- decoding, bad values


def test_an_undecodable_reply_fails_only_its_own_request(redis_server: Any) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, decode_responses=True) as client:
        raw = Redis(host=redis_server.host, port=redis_server.port)
        raw.set("t:binary", b"\xff\xfe not utf-8")
        raw.close()
        client.ping()
        before = [c._sock for c in client.shared_pool.connections if c.live()]
        assert before
        with pytest.raises(UnicodeDecodeError):
            client.get("t:binary")
        assert client.echo("fine") == "fine"
        assert [c._sock for c in client.shared_pool.connections if c.live()] == before


def test_dump_stays_bytes_when_decoding(redis_server: Any) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, decode_responses=True) as client:
        client.set("t:dumped", "value")
        payload = client.dump("t:dumped")
        assert isinstance(payload, bytes)
        client.restore("t:restored", 0, payload)
        assert client.get("t:restored") == "value"


def test_a_value_that_cannot_be_sent_is_a_data_error(r: Redis) -> None:
    from greenpool.redis import DataError

    with pytest.raises(DataError, match="NoneType"):
        r.set("t:none", None)  # type: ignore[arg-type]
    with r.pipeline() as pipe:
        pipe.set("t:none", None)  # type: ignore[arg-type]
        with pytest.raises(DataError):
            pipe.execute()


def test_a_script_in_a_pipeline_is_loaded_first(r: Redis) -> None:
    r.script_flush()
    script = r.register_script("return ARGV[1] .. '!'")
    with r.pipeline() as pipe:
        script(args=["hi"], client=pipe)
        pipe.get("t:absent")
        assert pipe.execute() == [b"hi!", None]


# ---------------------------------------------------------------------- mapping operators


def test_the_mapping_operators_behave_as_redis_pys(redis_server: Any) -> None:
    import redis

    ours = Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    theirs = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    try:
        for client, key in ((ours, "map:ours"), (theirs, "map:theirs")):
            client[key] = "v"
            assert client[key] == "v"
            assert key in client
            del client[key]
            assert key not in client
            with pytest.raises(KeyError) as missing:
                client[key]
            assert missing.value.args == (key,)
        # Each operator is one command on the server: written by one, read by the other.
        ours["map:both"] = 7
        assert theirs["map:both"] == "7"
        del theirs["map:both"]
        assert "map:both" not in ours
    finally:
        ours.close()
        theirs.close()
