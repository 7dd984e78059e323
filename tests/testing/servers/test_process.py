"""Tests of greenpool.testing.servers._process: ports, programs, PID registry, base class."""

from __future__ import annotations

import os
import socket
import time

import pytest
from servers_helpers import pid_alive, run_child

from greenpool.testing import (
    RedisServer,
    ServerNotInstalled,
    ServerStartError,
    find_program,
    free_port,
)
from greenpool.testing.servers import _process

pytestmark = pytest.mark.timeout(60)


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_missing_program_names_the_debian_package() -> None:
    with pytest.raises(ServerNotInstalled) as info:
        find_program("greenpool-no-such-server", "greenpool-pkg")
    assert info.value.package == "greenpool-pkg"
    assert "apt-get install greenpool-pkg" in str(info.value)


def test_start_failure_carries_the_log_tail(own_redis: RedisServer) -> None:
    own_redis.extra_args = ["--no-such-directive", "1"]
    with pytest.raises(ServerStartError) as info:
        own_redis.start()
    assert "no-such-directive" in info.value.log_tail
    assert "no-such-directive" in str(info.value)
    assert not own_redis.running


@pytest.mark.parametrize("ending", ["return normally", "os._exit(3)"])
def test_no_orphans_when_the_test_process_dies(
    ending: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process that starts a server and a proxy and never stops them.
    result = run_child(
        f"""
        import os, sys
        from greenpool.testing import RedisServer, TcpProxy
        server = RedisServer().start()
        proxy = TcpProxy("127.0.0.1", server.port).start()
        print(server.pid, proxy.pid, server.tmpdir, proxy.tmpdir, flush=True)
        keep = [server, proxy]
        if {ending == "os._exit(3)"}:
            os._exit(3)
        """
    )
    assert result.stdout, result.stderr
    server_pid, proxy_pid, *tmpdirs = result.stdout.split()
    deadline = time.monotonic() + 5
    while (pid_alive(int(server_pid)) or pid_alive(int(proxy_pid))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not pid_alive(int(server_pid))  # atexit, or the kernel's parent-death signal
    assert not pid_alive(int(proxy_pid))
    if ending == "return normally":  # atexit also removed the directories
        assert not any(os.path.exists(d) for d in tmpdirs)
    else:  # the next process to start a server sweeps them away
        assert all(os.path.isdir(d) for d in tmpdirs)
        monkeypatch.setattr(_process, "_swept", False)
        _process._sweep_stale_dirs()
        assert not any(os.path.exists(d) for d in tmpdirs)


def test_works_under_gevent_monkey_patching() -> None:
    result = run_child(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent, socket
        from greenpool.testing import RedisServer, TcpProxy
        ticks = []
        def ticker():
            while True:
                ticks.append(1); gevent.sleep(0.01)
        t = gevent.spawn(ticker)
        with RedisServer() as server, TcpProxy("127.0.0.1", server.port) as proxy:
            proxy.delay(0.2)
            s = socket.create_connection(("127.0.0.1", proxy.port))
            s.sendall(b"PING\\r\\n"); reply = s.recv(100); s.close()
            server.pause(); server.resume(); server.restart()
        t.kill()
        print(reply.decode().strip(), len(ticks) > 10)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["+PONG", "True"]


def test_fixed_port_in_use_fails_with_the_reason() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        server = RedisServer(port=holder.getsockname()[1])
        try:
            with pytest.raises(ServerStartError, match=r"(?i)already in use"):
                server.start()
        finally:
            server.stop()
