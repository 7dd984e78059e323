"""greenpool.tarantool.ConnectionPool against a real replica set (one master, two replicas).

Tests that don't kill or promote members share one replica set; the others
start their own.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from helpers import wait_until

from greenpool import ConfigurationError, PoolClosed
from greenpool.tarantool import (
    ConnectionPool,
    CrudModuleError,
    CrudModuleManyError,
    CrudResult,
    DatabaseError,
    InstanceState,
    LeastLoadedStrategy,
    Mode,
    NetworkError,
    NetworkTimeoutError,
    PoolTolopogyError,
    PoolTopologyError,
    RoundRobinStrategy,
    Status,
)
from greenpool.testing import TarantoolReplicaSet, TarantoolServer, free_port

LUA = """
box.schema.space.create('kv', {if_not_exists = true, format = {
    {name = 'id', type = 'unsigned'}, {name = 'value', type = 'any'}}})
box.space.kv:create_index('primary', {if_not_exists = true})
"""
CRUD = str(Path(__file__).parent / "lua" / "crud_stub.lua")
# Each instance answers with its own port (eval/call show where a request went).
WHO = "return box.cfg.listen"


def addrs(rs: TarantoolReplicaSet) -> list[dict[str, Any]]:
    return [{"host": "127.0.0.1", "port": m.port} for m in rs]


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def load_crud(member: TarantoolServer) -> None:
    member.eval_lua(f"crud = dofile({CRUD!r}) return true")


@pytest.fixture(scope="module")
def rs() -> Iterator[TarantoolReplicaSet]:
    replicaset = TarantoolReplicaSet(3, lua=LUA)
    replicaset.start()
    try:
        for member in replicaset:
            load_crud(member)
        yield replicaset
    finally:
        replicaset.stop()


@pytest.fixture
def own_rs() -> Iterator[TarantoolReplicaSet]:
    """A replica set of the test's own: it may kill, stop and promote members."""
    replicaset = TarantoolReplicaSet(3, lua=LUA)
    replicaset.start()
    try:
        yield replicaset
    finally:
        replicaset.stop()


@pytest.fixture
def pool(rs: TarantoolReplicaSet) -> Iterator[ConnectionPool]:
    p = ConnectionPool(addrs(rs), refresh_delay=0.2)
    try:
        yield p
    finally:
        p.close()


def where(pool: ConnectionPool, mode: Mode, n: int = 6) -> Counter[int]:
    return Counter(port_of(pool.eval(WHO, mode=mode).data[0]) for _ in range(n))


# --------------------------------------------------------------------------- routing


def test_every_mode_routes_to_the_right_instances(pool: ConnectionPool,
                                                  rs: TarantoolReplicaSet) -> None:
    master, replicas = rs[0].port, {rs[1].port, rs[2].port}
    assert [u.state for u in pool.units] == [
        InstanceState(Status.HEALTHY, False),
        InstanceState(Status.HEALTHY, True),
        InstanceState(Status.HEALTHY, True),
    ]
    assert set(where(pool, Mode.ANY)) == {master, *replicas}
    assert set(where(pool, Mode.RW)) == {master}
    assert set(where(pool, Mode.RO)) == replicas
    assert set(where(pool, Mode.PREFER_RW)) == {master}
    assert set(where(pool, Mode.PREFER_RO)) == replicas
    assert set(where(pool, "prefer_ro")) == replicas  # names are accepted too
    spread = where(pool, Mode.ANY, 9)
    assert sorted(spread.values()) == [3, 3, 3]  # round robin


def test_default_modes_match_tarantool_python(pool: ConnectionPool,
                                              rs: TarantoolReplicaSet) -> None:
    # Writes default to RW: they succeed although two of three instances are read-only.
    for i in range(6):
        pool.replace("kv", [i, "r"])
    pool.insert("kv", [100, "i"])
    pool.update("kv", 100, [("=", 1, "u")])
    pool.upsert("kv", [101, "x"], [("=", 1, "y")])
    pool.delete("kv", 101)
    rs.wait_synced()
    # select defaults to ANY: every instance serves reads.
    for _ in range(6):
        assert pool.select("kv", 100).data == [[100, "u"]]
    assert pool.select("kv", 100, mode=Mode.RO).data == [[100, "u"]]
    for method, args in (("call", ("box.info",)), ("eval", ("return 1",)),
                         ("execute", ("SELECT 1",)), ("ping", ())):
        with pytest.raises(ValueError, match="mode"):
            getattr(pool, method)(*args)
    assert pool.call("box.info", mode=Mode.RW).data[0]["ro"] is False
    assert pool.execute("SELECT 1", mode=Mode.ANY).data == [[1]]
    assert isinstance(pool.ping(mode=Mode.ANY), float)
    assert pool.ping(notime=True, mode=Mode.RO) == "Success"
    with pytest.raises(ValueError, match="mode"):
        pool.select("kv", 1, mode="sideways")


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), True, "5"])
def test_a_bad_per_call_timeout_names_the_argument(pool: ConnectionPool, timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout.*must be a positive number of seconds"):
        pool.select("kv", 1, timeout=timeout)
    assert pool.ping(mode=Mode.ANY, timeout=2) is not None  # nothing was left half-done


def test_write_to_a_replica_is_refused(pool: ConnectionPool) -> None:
    with pytest.raises(DatabaseError, match="read-only|ER_READONLY"):
        pool.replace("kv", [1, "x"], mode=Mode.RO)


def test_topology_error_when_no_instance_fits(rs: TarantoolReplicaSet) -> None:
    p = ConnectionPool(addrs(rs)[1:], refresh_delay=0.2)  # replicas only
    try:
        with pytest.raises(PoolTopologyError) as info:
            p.replace("kv", [1, "x"])
        text = str(info.value)
        assert "read-write" in text and f"127.0.0.1:{rs[1].port}: read-only" in text
        assert PoolTolopogyError is PoolTopologyError
        assert set(where(p, Mode.PREFER_RW)) == {rs[1].port, rs[2].port}
    finally:
        p.close()


def test_least_loaded_strategy_and_several_connections(rs: TarantoolReplicaSet) -> None:
    p = ConnectionPool(addrs(rs), strategy_class=LeastLoadedStrategy, refresh_delay=0.2,
                       connections_per_instance=3)
    try:
        assert all(len(u.connections) == 3 and all(c.connected for c in u.connections)
                   for u in p.units)
        # Three slow calls at once spread over the instances and their connections.
        slow = [gevent.spawn(p.eval, "require('fiber').sleep(0.2) return box.cfg.listen",
                             mode=Mode.ANY) for _ in range(3)]
        gevent.sleep(0.05)
        assert sorted(u.load for u in p.units) == [1, 1, 1]
        ports = {port_of(g.get().data[0]) for g in slow}
        assert ports == {m.port for m in rs}
        # Within a unit, requests go to its least loaded connection.
        unit = p.units[0]
        busy = [gevent.spawn(lambda: unit.pick().eval("require('fiber').sleep(0.2)"))
                for _ in range(3)]
        gevent.sleep(0.05)
        assert sorted(c.load for c in unit.connections) == [1, 1, 1]
        gevent.joinall(busy, raise_error=True)
    finally:
        p.close()


# --------------------------------------------------------------------------- crud


def test_crud_wrappers(pool: ConnectionPool, rs: TarantoolReplicaSet) -> None:
    rw = Mode.RW
    pool.crud_truncate("kv", mode=rw)
    inserted = pool.crud_insert("kv", [1, "a"], mode=rw)
    assert isinstance(inserted, CrudResult) and inserted.rows == [[1, "a"]]
    assert [f["name"] for f in inserted.metadata] == ["id", "value"]
    assert pool.crud_insert_object("kv", {"id": 2, "value": "b"}, mode=rw).rows == [[2, "b"]]
    assert pool.crud_get("kv", 1, mode=rw).rows == [[1, "a"]]
    assert pool.crud_update("kv", 1, [["=", "value", "A"]], mode=rw).rows == [[1, "A"]]
    assert pool.crud_replace("kv", [3, "c"], mode=rw).rows == [[3, "c"]]
    assert pool.crud_replace_object("kv", {"id": 3, "value": "C"}, mode=rw).rows == [[3, "C"]]
    assert pool.crud_upsert("kv", [4, "d"], [["=", "value", "D"]], mode=rw).rows == []
    assert pool.crud_upsert_object("kv", {"id": 4, "value": "x"}, [["=", "value", "D2"]],
                                   mode=rw).rows == []
    assert pool.crud_get("kv", 4, mode=rw).rows == [[4, "D2"]]
    many = pool.crud_insert_many("kv", [[5, "e"], [6, "f"]], mode=rw)
    assert many is not None and many.rows == [[5, "e"], [6, "f"]]
    assert pool.crud_insert_object_many("kv", [{"id": 7, "value": "g"}], mode=rw).rows \
        == [[7, "g"]]  # type: ignore[union-attr]
    assert pool.crud_replace_many("kv", [[7, "G"]], mode=rw).rows == [[7, "G"]]  # type: ignore[union-attr]
    assert pool.crud_replace_object_many("kv", [{"id": 7, "value": "GG"}],
                                         mode=rw).rows == [[7, "GG"]]  # type: ignore[union-attr]
    assert pool.crud_upsert_many("kv", [[[8, "h"], [["=", "value", "H"]]]], mode=rw) is not None
    assert pool.crud_upsert_object_many("kv", [[{"id": 8, "value": "z"}, [["=", "value", "H2"]]]],
                                        mode=rw) is not None
    assert pool.crud_delete("kv", 8, mode=rw).rows == [[8, "H2"]]
    selected = pool.crud_select("kv", [[">=", "id", 5]], {"first": 2}, mode=rw)
    assert selected.rows == [[5, "e"], [6, "f"]]
    assert pool.crud_min("kv", "primary", mode=rw).rows == [[1, "A"]]
    assert pool.crud_max("kv", "primary", mode=rw).rows == [[7, "GG"]]
    assert pool.crud_len("kv", mode=rw) == 7
    assert pool.crud_count("kv", [[">", "id", 3]], mode=rw) == 4
    info = pool.crud_storage_info(mode=rw)
    assert isinstance(info, dict) and len(info) == 1
    stats = pool.crud_stats("kv", mode=rw)
    assert stats is not None and stats.calls > 0
    assert pool.crud_stats("no_such_space", mode=rw) is None
    rows = pool.crud_unflatten_rows(selected.rows, selected.metadata)
    assert rows == [{"id": 5, "value": "e"}, {"id": 6, "value": "f"}]
    # The default mode is ANY (crud is meant for routers): reads work anywhere.
    rs.wait_synced()
    assert pool.crud_get("kv", 1).rows == [[1, "A"]]


def test_crud_errors(pool: ConnectionPool, rs: TarantoolReplicaSet) -> None:
    rw = Mode.RW
    pool.crud_replace("kv", [1, "a"], mode=rw)
    with pytest.raises(CrudModuleError) as info:
        pool.crud_insert("kv", [1, "dup"], mode=rw)
    assert "Duplicate key" in str(info.value)
    assert info.value.extra_info_error.class_name == "InsertError"
    with pytest.raises(CrudModuleError, match="doesn't exist"):
        pool.crud_get("no_such_space", 1, mode=rw)
    with pytest.raises(CrudModuleManyError) as many:
        pool.crud_insert_many("kv", [[1, "dup"], [50, "new"]], mode=rw)
    assert many.value.success_list.rows == [[50, "new"]]
    assert len(many.value.errors_list) == 1
    assert "Duplicate key" in many.value.errors_list[0].err
    with pytest.raises(ConfigurationError, match="space_name"):
        pool.crud_get(123, 1, mode=rw)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="opts"):
        pool.crud_get("kv", 1, opts=[1], mode=rw)  # type: ignore[arg-type]
    # A server without the crud module: the error says what is missing.
    rs[0].eval_lua("crud_saved = crud crud = nil")
    try:
        with pytest.raises(DatabaseError, match="crud module"):
            pool.crud_get("kv", 1, mode=rw)
    finally:
        rs[0].eval_lua("crud = crud_saved")


# --------------------------------------------------------------------------- failover


def test_rw_follows_a_promoted_replica_after_the_master_dies(own_rs: TarantoolReplicaSet
                                                             ) -> None:
    refresh = 0.3
    p = ConnectionPool(addrs(own_rs), refresh_delay=refresh, socket_timeout=2)
    try:
        assert set(where(p, Mode.RW)) == {own_rs[0].port}
        reads: list[Any] = []
        stop = [False]

        def reader() -> None:  # reads keep working throughout: they move to live instances
            while not stop[0]:
                reads.append(p.select("kv", 1).data)
                gevent.sleep(0.005)

        readers = [gevent.spawn(reader) for _ in range(5)]
        gevent.sleep(0.1)
        own_rs[0].kill()
        own_rs.promote(1)
        promoted = time.monotonic()
        while True:
            try:
                p.replace("kv", [1, "after failover"])
                break
            except (PoolTopologyError, NetworkError, DatabaseError):
                assert time.monotonic() - promoted < refresh + 1, "RW did not follow in time"
                gevent.sleep(0.02)
        assert time.monotonic() - promoted < refresh + 1
        assert set(where(p, Mode.RW)) == {own_rs[1].port}
        assert p.units[0].state.status is Status.UNHEALTHY
        assert "unhealthy" in repr(p)
        stop[0] = True
        gevent.joinall(readers, raise_error=True)  # no read failed
        assert len(reads) > 10
    finally:
        p.close()


def test_a_switch_without_a_death_is_followed_at_once(own_rs: TarantoolReplicaSet) -> None:
    # A long refresh_delay: the pool learns of the switch from the refused write.
    p = ConnectionPool(addrs(own_rs), refresh_delay=30)
    try:
        own_rs.promote(2)
        with pytest.raises(DatabaseError, match="read-only|ER_READONLY"):
            # The old master refuses; no other instance is known read-write yet.
            p.replace("kv", [1, "x"])
        assert p.units[0].state.read_only is True
        wait_until(lambda: p.units[2].state == InstanceState(Status.HEALTHY, False), 3)
        p.replace("kv", [1, "y"])
        assert set(where(p, Mode.RW)) == {own_rs[2].port}
    finally:
        p.close()


def test_an_instance_down_at_start_joins_later(own_rs: TarantoolReplicaSet) -> None:
    own_rs[2].stop()
    start = time.monotonic()
    p = ConnectionPool(addrs(own_rs), refresh_delay=0.2)
    try:
        assert time.monotonic() - start < 2  # a dead instance doesn't hold up the pool
        assert p.units[2].state.status is Status.UNHEALTHY
        assert "unhealthy" in p.units[2].describe()
        assert set(where(p, Mode.RO)) == {own_rs[1].port}
        own_rs[2].start()
        wait_until(lambda: p.units[2].state.status is Status.HEALTHY, 10)
        assert set(where(p, Mode.RO)) == {own_rs[1].port, own_rs[2].port}
        assert p.ping(mode=Mode.RO, notime=True) == "Success"
    finally:
        p.close()


def test_all_instances_down_then_back(own_rs: TarantoolReplicaSet) -> None:
    p = ConnectionPool(addrs(own_rs), refresh_delay=0.2, socket_timeout=1)
    try:
        p.replace("kv", [1, "before"])
        for member in own_rs:
            member.kill()
        wait_until(lambda: all(u.state.status is Status.UNHEALTHY for u in p.units), 3)
        assert p.is_closed()
        for mode, method in ((Mode.RW, "replace"), (Mode.ANY, "select")):
            start = time.monotonic()
            with pytest.raises(PoolTopologyError) as info:
                if method == "replace":
                    p.replace("kv", [2, "x"])
                else:
                    p.select("kv", 1)
            assert time.monotonic() - start < 0.5  # fails fast, names every instance
            for member in own_rs:
                assert f"127.0.0.1:{member.port}: unhealthy" in str(info.value)
            assert mode.name in str(info.value)
        for member in own_rs:
            member.start(wait=False)
        for member in own_rs:
            member.wait_ready(30)
        wait_until(lambda: all(u.state.status is Status.HEALTHY for u in p.units), 15)
        assert p.select("kv", 1, mode=Mode.RW).data == [[1, "before"]]
        p.replace("kv", [2, "after"])
        assert not p.is_closed()
        assert all(not u.worker.dead for u in p.units)
    finally:
        p.close()


# --------------------------------------------------------------------------- the unit worker


def test_refresh_errors_never_kill_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    # A user who may not call box.info: every refresh fails with a DatabaseError.
    lua = ("box.schema.user.create('limited', {password = 'pw', if_not_exists = true}) "
           "box.schema.user.grant('limited', 'read,write', 'space', '_space', "
           "{if_not_exists = true})")
    with TarantoolServer(lua=lua) as server:
        p = ConnectionPool([{"host": "127.0.0.1", "port": server.port}], user="limited",
                           password="pw", refresh_delay=0.1)
        try:
            unit = p.units[0]
            assert unit.state.status is Status.UNHEALTHY
            assert isinstance(unit.last_error, DatabaseError)
            first = unit.refreshes
            wait_until(lambda: unit.refreshes >= first + 3, 5)
            assert not unit.worker.dead and unit.state.status is Status.UNHEALTHY
            with pytest.raises(PoolTopologyError, match="Execute access|denied"):
                p.select("kv", 1)
            # Even an exception thrown into the worker doesn't end it.
            with caplog.at_level(logging.ERROR, logger="greenpool.tarantool.pool"):
                unit.worker.kill(RuntimeError("boom"), block=False)
                gevent.sleep(0.05)
            assert not unit.worker.dead
            server.eval_lua("box.session.su('admin', box.schema.user.grant, 'limited', "
                            "'execute', 'universe')")
            wait_until(lambda: unit.state.status is Status.HEALTHY, 5)
            assert p.ping(mode=Mode.ANY, notime=True) == "Success"
        finally:
            p.close()


def test_an_idle_pool_only_refreshes(pool: ConnectionPool) -> None:
    before = [u.refreshes for u in pool.units]
    cpu = time.process_time()
    gevent.sleep(1.0)
    used = time.process_time() - cpu
    done = [u.refreshes - b for u, b in zip(pool.units, before, strict=True)]
    assert all(3 <= n <= 7 for n in done), done  # one box.info per refresh_delay (0.2 s)
    assert used < 0.2, f"an idle pool used {used:.3f}s of CPU in 1s"


def test_a_frozen_instance_fails_its_requests_fast(rs: TarantoolReplicaSet,
                                                   tcp_proxy: Any) -> None:
    proxy = tcp_proxy(rs[1])
    p = ConnectionPool([{"host": proxy.host, "port": proxy.port},
                        {"host": "127.0.0.1", "port": rs[2].port}],
                       refresh_delay=0.1, health_timeout=0.5)
    try:
        assert set(where(p, Mode.RO)) == {rs[1].port, rs[2].port}
        proxy.blackhole()
        start = time.monotonic()
        # Requests pending on the frozen instance fail (or, for reads, move) well
        # before the 60 s deadline, as soon as its box.info goes unanswered.
        pending = gevent.spawn(p.eval, "return 1", mode=Mode.RO)
        pending2 = gevent.spawn(p.eval, "return 2", mode=Mode.RO)
        gevent.joinall([pending, pending2], timeout=5)
        assert time.monotonic() - start < 2
        errors = [g.exception for g in (pending, pending2) if g.exception is not None]
        assert all(isinstance(e, NetworkError) and not isinstance(e, NetworkTimeoutError)
                   for e in errors)
        wait_until(lambda: p.units[0].state.status is Status.UNHEALTHY, 2)
        assert set(where(p, Mode.RO)) == {rs[2].port}
    finally:
        p.close()


def test_reads_move_to_another_instance_when_theirs_breaks(rs: TarantoolReplicaSet,
                                                           tcp_proxy: Any) -> None:
    proxy = tcp_proxy(rs[1])
    p = ConnectionPool([{"host": proxy.host, "port": proxy.port},
                        {"host": "127.0.0.1", "port": rs[2].port}], refresh_delay=0.2)
    try:
        rs[0].eval_lua("box.space.kv:replace{77, 'seen'}")
        rs.wait_synced()
        assert p.units[0].state.status is Status.HEALTHY
        proxy.cut()  # connections through the proxy are closed, new ones refused
        for _ in range(4):
            assert p.select("kv", 77, mode=Mode.RO).data == [[77, "seen"]]
        # eval is not resent once it left; a fresh one goes to the live replica.
        assert port_of(p.eval(WHO, mode=Mode.RO).data[0]) == rs[2].port
    finally:
        p.close()


# --------------------------------------------------------------------------- life cycle, config


def test_close_and_connect_again(rs: TarantoolReplicaSet) -> None:
    p = ConnectionPool(addrs(rs), connect_now=False, refresh_delay=0.2)
    assert all(u.worker is None for u in p.units)
    assert p.select("kv", 1) is not None  # the first request connects
    pending = gevent.spawn(p.eval, "require('fiber').sleep(1)", mode=Mode.RW)
    gevent.sleep(0.05)
    p.close()
    with pytest.raises(NetworkError):
        pending.get(timeout=2)
    assert p.is_closed()
    with pytest.raises(PoolClosed):
        p.select("kv", 1)
    assert all(u.worker is None for u in p.units)
    p.connect()
    assert p.ping(mode=Mode.RW, notime=True) == "Success"
    with p:
        pass
    assert p.is_closed()


def test_concurrent_first_requests_share_the_connect(rs: TarantoolReplicaSet) -> None:
    p = ConnectionPool(addrs(rs), connect_now=False, refresh_delay=0.2)
    try:
        firsts = [gevent.spawn(p.replace, "kv", [900 + i, "first"]) for i in range(10)]
        gevent.joinall(firsts, raise_error=True)
        assert all(u.state.status is Status.HEALTHY for u in p.units)
    finally:
        p.close()


def test_unix_socket_and_user_password(tmp_path: Path) -> None:
    sock = str(tmp_path / "t.sock")
    with TarantoolServer(user="bob", password="pw-bob-123") as server:
        server.eval_lua(f"box.cfg{{listen = {sock!r}}}")  # after start: the probe uses TCP
        p = ConnectionPool([{"host": None, "port": sock}], user="bob", password="pw-bob-123",
                           refresh_delay=0.2)
        try:
            assert p.eval("return box.session.user()", mode=Mode.ANY).data == ["bob"]
            assert "pw-bob" not in repr(p) and "pw-bob" not in repr(p.units[0])
        finally:
            p.close()
        bad = ConnectionPool([{"host": None, "port": sock}], user="bob",
                             password="wrong-pw-777", refresh_delay=0.2)
        try:
            with pytest.raises(PoolTopologyError) as info:
                bad.select("kv", 1)
            assert "authentication as 'bob' failed" in str(info.value)
            assert "wrong-pw-777" not in str(info.value)
        finally:
            bad.close()


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        (([],), {}, "addrs"),
        (("127.0.0.1:3301",), {}, "addrs"),
        (([{"host": "127.0.0.1"}],), {}, "addrs"),
        (([{"host": "127.0.0.1", "port": 3301, "prot": 1}],), {}, "addrs"),
        (([{"host": "127.0.0.1", "port": 3301, "ssl_ca_file": "x"}],), {}, "addrs"),
        (([{"host": "127.0.0.1", "port": 3301}] * 2,), {}, "addrs"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"strategy_class": object}, "strategy_class"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"refresh_delay": 0}, "refresh_delay"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"connections_per_instance": 0},
         "connections_per_instance"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"deadline": -1}, "deadline"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"health_timeout": 0}, "health_timeout"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"encoding": "latin-1"}, "encoding"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"call_16": True}, "call_16"),
        (([{"host": "127.0.0.1", "port": 3301}],), {"socket_timeout": 0}, "socket_timeout"),
    ],
)
def test_bad_configuration_names_the_argument(args: tuple[Any, ...], kwargs: dict[str, Any],
                                              argument: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ConnectionPool(*args, connect_now=False, **kwargs)
    assert info.value.argument == argument


def test_ssl_password_is_masked_in_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        ConnectionPool([{"host": "127.0.0.1", "port": 3301, "ssl_password": "hunter2",
                         "typo": 1}], connect_now=False)
    assert "hunter2" not in str(info.value) and "typo" in str(info.value)


def test_a_pool_of_unreachable_addresses_says_so() -> None:
    p = ConnectionPool([{"host": "127.0.0.1", "port": free_port()}], refresh_delay=0.2,
                       strategy_class=RoundRobinStrategy)
    try:
        with pytest.raises(PoolTopologyError, match="refused"):
            p.select("kv", 1)
        with pytest.raises(PoolTopologyError, match="read-write"):
            p.insert("kv", [1])
    finally:
        p.close()


@pytest.mark.parametrize("yields", [1, 2, 3])
def test_close_while_connect_is_under_way_stays_closed(
    tarantool_server: TarantoolServer, yields: int
) -> None:
    # connect() runs in a greenlet of its own; a close() before it ran, or
    # while it refreshed, was undone by it: workers started, connections open.
    sessions = "return box.stat.net().CONNECTIONS.current"
    idle = tarantool_server.eval_lua(sessions)[0]
    pool = ConnectionPool([{"host": "127.0.0.1", "port": tarantool_server.port}],
                          refresh_delay=0.05)
    connecting = gevent.spawn(pool.connect)
    for _ in range(yields):
        gevent.sleep(0)
    pool.close()
    connecting.join(5)
    gevent.sleep(0.3)  # six refresh periods: a worker would have reconnected
    assert pool.is_closed()
    assert all(u.worker is None or u.worker.dead for u in pool.units)
    assert not any(c.connected for u in pool.units for c in u.connections)
    # (<=: the reading before may count a connection of the test before, still closing)
    wait_until(lambda: tarantool_server.eval_lua(sessions)[0] <= idle)
    with pytest.raises(PoolClosed):
        pool.eval("return 1", mode=Mode.ANY)
    pool.connect()  # opened again on purpose: it works
    assert pool.eval("return 1", mode=Mode.ANY).data == [1]
    pool.close()
