"""Tests of greenpool.testing.servers.tarantool, with tarantool-python as the client."""

from __future__ import annotations

import pytest
import tarantool
from servers_helpers import pid_alive, refused

from greenpool.testing import ServerStartError, TarantoolReplicaSet, TarantoolServer

pytestmark = pytest.mark.timeout(60)


SPACE_LUA = """
box.schema.space.create('kv', {if_not_exists = true})
box.space.kv:create_index('pk', {if_not_exists = true})
"""


def test_tarantool_start_eval_restart_stop() -> None:
    server = TarantoolServer(lua=SPACE_LUA)
    try:
        server.start()
        assert server.eval_lua("return 1 + ...", 41) == [42]
        server.eval_lua("box.space.kv:replace{1, 'persisted'}")
        port, pid = server.port, server.pid
        server.restart()
        assert server.port == port and server.pid != pid
        assert server.eval_lua("return box.space.kv:get{1}") == [[1, "persisted"]]
        pid = server.pid
    finally:
        server.stop()
    assert pid is not None and not pid_alive(pid)
    assert refused(server.port)


def test_tarantool_pause_resume_kill(fresh_tarantool: TarantoolServer) -> None:
    conn = fresh_tarantool.connect(timeout=0.5)
    try:
        assert conn.ping(notime=True) == "Success"
        fresh_tarantool.pause()
        try:
            with pytest.raises(tarantool.error.Error):
                conn.eval("return 1")
        finally:
            fresh_tarantool.resume()
    finally:
        conn.close()
    assert fresh_tarantool.eval_lua("return 2") == [2]
    pid = fresh_tarantool.pid
    assert pid is not None
    fresh_tarantool.kill()
    assert not pid_alive(pid)
    fresh_tarantool.start()
    assert fresh_tarantool.eval_lua("return 3") == [3]


def test_tarantool_user_and_password() -> None:
    with TarantoolServer(user="alice", password="s3cret", guest_access=False) as server:
        assert isinstance(server, TarantoolServer)
        assert server.url == f"alice:s3cret@127.0.0.1:{server.port}"
        assert server.eval_lua("return box.session.user()") == ["alice"]
        with pytest.raises(tarantool.error.DatabaseError):
            server.connect(user="alice", password="wrong")
        guest = server.connect(user="guest")
        try:
            with pytest.raises(tarantool.error.DatabaseError, match="denied"):
                guest.eval("return 1")
        finally:
            guest.close()


def test_tarantool_bad_lua_fails_with_the_log() -> None:
    server = TarantoolServer(lua="error('greenpool-test-boom')")
    try:
        with pytest.raises(ServerStartError, match="greenpool-test-boom"):
            server.start()
    finally:
        server.stop()


def test_tarantool_session_fixture(tarantool_server: TarantoolServer) -> None:
    assert tarantool_server.eval_lua("return box.info.status") == ["running"]


def test_tarantool_replicaset_replicates_and_promotes() -> None:
    with TarantoolReplicaSet(3, lua=SPACE_LUA) as rs:
        assert rs.master is rs[0]
        assert [m.eval_lua("return box.info.ro")[0] for m in rs] == [False, True, True]
        rs[0].eval_lua("box.space.kv:replace{1, 'from-0'}")
        rs.wait_synced()
        for member in rs:
            assert member.eval_lua("return box.space.kv:get{1}") == [[1, "from-0"]]
        with pytest.raises(tarantool.error.DatabaseError):
            rs[2].eval_lua("box.space.kv:replace{9, 'nope'}")

        rs.promote(1)
        assert rs.master is rs[1]
        assert [m.eval_lua("return box.info.ro")[0] for m in rs] == [True, False, True]
        rs[1].eval_lua("box.space.kv:replace{2, 'from-1'}")
        rs.wait_synced()
        for member in rs:
            assert member.eval_lua("return box.space.kv:get{2}") == [[2, "from-1"]]


def test_tarantool_replicaset_fixture_survives_a_failover(
    tarantool_replicaset: TarantoolReplicaSet,
) -> None:
    rs = tarantool_replicaset
    assert len(rs) == 3 and len(set(rs.addresses)) == 3
    rs[0].eval_lua("box.schema.space.create('kv'):create_index('pk')")
    rs.wait_synced()
    rs[0].kill()
    rs.promote(1)
    rs[1].eval_lua("box.space.kv:replace{1, 'after-failover'}")
    rs[0].start()  # the old master comes back read-only and catches up
    assert rs[0].eval_lua("return box.info.ro") == [True]
    rs.wait_synced()
    assert rs[0].eval_lua("return box.space.kv:get{1}") == [[1, "after-failover"]]
