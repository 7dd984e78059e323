"""The checkout pool against Redis: exclusive connections, fair waiting, kill safety.

Run it with a Redis URL, or without one to start a throwaway redis-server:

    .venv/bin/python examples/checkout_pool_redis.py [redis://127.0.0.1:6379/0]

A plain socket client stands in for "a connection that can't be shared";
50 greenlets share 5 connections, some of them are killed mid-call, and
the pool's books still balance at the end.
"""

from __future__ import annotations

import sys
import time

import gevent
from gevent import socket

from greenpool import Address, Pool
from greenpool.protocol import NEED_DATA, RespParser, encode_command
from greenpool.testing import RedisServer


class TinyRedis:
    """One socket, one request at a time: the kind of connection a checkout pool is for."""

    def __init__(self, address: Address) -> None:
        self.sock = socket.create_connection(address.sockaddr, timeout=5)  # type: ignore[arg-type]
        self.parser = RespParser()

    def call(self, *args: object) -> object:
        self.sock.sendall(encode_command(*args))  # type: ignore[arg-type]
        while True:
            reply = self.parser.gets()
            if reply is not NEED_DATA:
                return reply
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.parser.feed(data)

    def close(self) -> None:
        self.sock.close()


def main(url: str | None) -> None:
    server = None
    if url is None:
        server = RedisServer()
        server.start()
        address = Address(host=server.host, port=server.port)
    else:
        from greenpool.redis import parse_url

        options = parse_url(url)
        address = Address(host=options.get("host", "localhost"), port=options.get("port", 6379))
    pool: Pool[TinyRedis] = Pool(TinyRedis, servers=[address], pool_size=5, pool_timeout=10,
                                 name="example")
    try:
        def job(i: int) -> None:
            with pool.connection() as conn:
                conn.call("SET", f"example:{i}", i)
                conn.call("BLPOP", "example:never", 0.05)  # hold the connection a while
                assert conn.call("GET", f"example:{i}") == str(i).encode()

        started = time.perf_counter()
        jobs = [gevent.spawn(job, i) for i in range(50)]
        gevent.sleep(0.02)
        for victim in jobs[::10]:
            victim.kill(block=False)  # killed mid-call: its connection is closed, not reused
        gevent.joinall(jobs)
        killed = sum(1 for j in jobs if isinstance(j.value, gevent.GreenletExit))
        print(f"50 jobs over 5 connections in {time.perf_counter() - started:.2f}s:"
              f" {50 - killed} finished, {killed} killed mid-way")
        print("stats:", {k: v for k, v in pool.stats().items() if v})
        assert pool.checkedout() == 0 and pool.waiting() == 0
    finally:
        pool.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
