"""Tests of greenpool.testing.servers.redis, with redis-py as the client."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
import trustme
from servers_helpers import pid_alive, redis_client, refused

from greenpool.testing import RedisReplyError, RedisServer

pytestmark = pytest.mark.timeout(60)


def test_redis_start_answer_stop(own_redis: RedisServer) -> None:
    own_redis.start()
    assert own_redis.running
    assert own_redis.address == f"127.0.0.1:{own_redis.port}"
    assert own_redis.url == f"redis://127.0.0.1:{own_redis.port}/0"
    assert redis_client(own_redis).ping()
    pid, tmpdir = own_redis.pid, own_redis.tmpdir
    assert pid is not None and tmpdir is not None and os.path.isdir(tmpdir)
    own_redis.stop()
    assert not pid_alive(pid)
    assert not os.path.exists(tmpdir)
    assert not own_redis.running and own_redis.pid is None
    assert refused(own_redis.port)
    own_redis.stop()  # twice is fine


def test_redis_restart_keeps_the_port(own_redis: RedisServer) -> None:
    own_redis.start()
    port, pid = own_redis.port, own_redis.pid
    own_redis.restart()
    assert own_redis.port == port and own_redis.pid != pid
    assert pid is not None and not pid_alive(pid)
    assert redis_client(own_redis).ping()


def test_redis_pause_then_resume(fresh_redis: RedisServer) -> None:
    client = redis_client(fresh_redis, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert client.ping()
    fresh_redis.pause()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            redis_client(fresh_redis, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
    finally:
        fresh_redis.resume()
    assert client.ping()


def test_redis_kill_then_start_again(fresh_redis: RedisServer) -> None:
    pid = fresh_redis.pid
    assert pid is not None
    fresh_redis.kill()
    assert not pid_alive(pid)
    assert fresh_redis.tmpdir is not None and os.path.isdir(fresh_redis.tmpdir)
    assert refused(fresh_redis.port)
    fresh_redis.start()
    assert redis_client(fresh_redis).ping()


def test_redis_stop_a_paused_server(fresh_redis: RedisServer) -> None:
    pid = fresh_redis.pid
    assert pid is not None
    fresh_redis.pause()
    fresh_redis.stop()
    assert not pid_alive(pid)


def test_redis_password_and_acl_user() -> None:
    with RedisServer(password="s3cret", username="alice") as server:
        assert isinstance(server, RedisServer)
        assert server.url.startswith("redis://alice:s3cret@")
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis_client(server).ping()
        assert redis_client(server, password="s3cret").ping()
        assert redis_client(server, username="alice", password="s3cret").ping()


def test_redis_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "c.pem", tmp_path / "k.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with RedisServer(tls=True, tls_cert=cert_file, tls_key=key_file, tls_ca=ca_file) as server:
        assert isinstance(server, RedisServer)
        assert server.url.startswith("rediss://")
        assert redis_client(server, ssl=True, ssl_ca_certs=str(ca_file)).ping()
        with pytest.raises(redis.exceptions.ConnectionError):
            redis_client(server, socket_timeout=1).ping()


def test_redis_unix_socket() -> None:
    with RedisServer(unixsocket=True) as server:
        assert isinstance(server, RedisServer) and server.unix_path is not None
        assert redis.Redis(unix_socket_path=server.unix_path, socket_timeout=2).ping()


def test_redis_session_fixture(redis_server: RedisServer) -> None:
    client = redis_client(redis_server)
    client.set("greenpool:fixture", "1")
    assert client.get("greenpool:fixture") == b"1"


def test_redis_execute_speaks_resp_and_paused_reads_the_kernel(fresh_redis: RedisServer) -> None:
    assert fresh_redis.execute("SET", "k", 1.5) == "OK"
    assert fresh_redis.execute("GET", "k") == b"1.5"
    assert fresh_redis.execute("INCR", "n") == 1
    assert fresh_redis.execute("GET", "missing") is None
    assert fresh_redis.execute("MGET", "k", "missing") == [b"1.5", None]
    with pytest.raises(RedisReplyError) as info:
        fresh_redis.execute("NOSUCHCOMMAND")
    assert info.value.code == "ERR"
    with fresh_redis.client() as conn:
        replies = conn.pipeline([("INCR", "n"), ("LPUSH", "k", "x"), ("INCR", "n")])
    assert replies[0] == 2 and replies[2] == 3
    assert isinstance(replies[1], RedisReplyError) and replies[1].code == "WRONGTYPE"
    assert not fresh_redis.paused
    fresh_redis.pause()
    try:
        assert fresh_redis.paused and fresh_redis.running
    finally:
        fresh_redis.resume()
    assert not fresh_redis.paused
    assert fresh_redis.execute("PING") == "PONG"
