"""Small things the tests share.

:class:`LineRedis` is a deliberately tiny, green, one-request-at-a-time Redis
client on a gevent socket: the checkout pool's tests use it as the
"connection" a pool holds, so they exercise the pool against a real server
without depending on greenpool's own Redis driver.
"""

from __future__ import annotations

import itertools
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

import gevent
from gevent import socket

from greenpool.address import Address

_ids = itertools.count(1)


class LineRedis:
    """A blocking (green) Redis connection: send one command, read one reply."""

    def __init__(self, address: Address | str, timeout: float | None = 5.0) -> None:
        if isinstance(address, str):
            host, _, port = address.rpartition(":")
            address = Address(host=host, port=int(port))
        self.address = address
        self.id = next(_ids)
        self.sock = socket.create_connection(address.sockaddr, timeout=timeout)  # type: ignore[arg-type]
        self.file = self.sock.makefile("rb")
        self.closed = False
        self.busy = False  # a call was interrupted before its reply was read

    def call(self, *args: Any) -> Any:
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.busy = True
        self.sock.sendall(b"".join(out))
        reply = self._read()
        self.busy = False
        return reply

    def assert_clean(self) -> None:
        """A pool's ``reset``: refuse a connection whose last call did not finish."""
        if self.busy:
            raise ConnectionError("a call was interrupted: the next reply is not ours")

    def _read(self) -> Any:
        line = self.file.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ValueError(f"bad reply {line!r}")

    def ping(self) -> bool:
        return self.call("PING") == "PONG"

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.file.close()
            self.sock.close()

    def __repr__(self) -> str:
        return f"<LineRedis #{self.id} {self.address}{' closed' if self.closed else ''}>"


def client_count(address: str) -> int:
    """How many clients the Redis server at ``address`` has, minus the asking one."""
    probe = LineRedis(address)
    try:
        listing = probe.call("CLIENT", "LIST")
        return len([line for line in listing.decode().splitlines() if line.strip()]) - 1
    finally:
        probe.close()


def interrupt_after(fn: Callable[[], Any], how: str, after: float = 0.1) -> None:
    """Run ``fn`` and end it after ``after`` seconds, while it blocks: with a
    caller's own ``gevent.Timeout`` (``how="timeout"``) or a ``kill()`` of
    the greenlet running it (``"kill"``).  Asserts it was still blocked then."""
    if how == "timeout":
        try:
            with gevent.Timeout(after):
                fn()
        except gevent.Timeout:
            return
        raise AssertionError(f"{fn!r} ended before its Timeout")
    worker = gevent.spawn(fn)
    gevent.sleep(after)
    assert not worker.dead, f"{fn!r} ended before the kill"
    worker.kill()


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.01) -> None:
    """Yield to the hub until ``predicate()`` is true; AssertionError after ``timeout``."""
    with gevent.Timeout(timeout, AssertionError(f"condition not met in {timeout}s")):
        while not predicate():
            gevent.sleep(step)



def echo_storm(
    echo: Callable[[str], Any],
    *,
    greenlets: int = 1000,
    calls: int = 10,
    cancel_share: float = 0.1,
    kills: int = 100,
) -> tuple[list[tuple[str, Any]], int]:
    """Many greenlets each send unique values through ``echo`` and check every reply.

    About ``cancel_share`` of the calls run under a tiny ``gevent.Timeout``
    (0 to 2 ms), and ``kills`` random greenlets are killed while it all
    runs.  Returns (the replies that were not the caller's own value, the
    number of calls cancelled); asserts every greenlet ended.
    """
    import random

    mismatches: list[tuple[str, Any]] = []
    cancelled = [0]

    def worker(i: int) -> None:
        rnd = random.Random(i)
        for j in range(calls):
            value = f"{i}:{j}:{rnd.random()}"
            try:
                if rnd.random() < cancel_share:
                    with gevent.Timeout(rnd.choice([0, 0.0001, 0.0005, 0.002])):
                        reply = echo(value)
                else:
                    reply = echo(value)
            except gevent.Timeout:
                cancelled[0] += 1
                continue
            if reply != value.encode():
                mismatches.append((value, reply))

    spawned = [gevent.spawn(worker, i) for i in range(greenlets)]
    killer = random.Random(7)
    for _ in range(kills):
        gevent.sleep(0)
        killer.choice(spawned).kill(block=False)
    gevent.joinall(spawned, timeout=60)
    assert all(g.dead for g in spawned), "a greenlet hung"
    return mismatches, cancelled[0]


def wait_child(pid: int, timeout: float = 20.0) -> int:
    """The exit code of a child made by ``gevent.fork()``; SIGKILLed (-9) after ``timeout``."""
    waiter = gevent.spawn(gevent.os.waitpid, pid, 0)
    waiter.join(timeout)
    if not waiter.dead:
        os.kill(pid, 9)
        waiter.join()
    _, status = waiter.get()
    return os.waitstatus_to_exitcode(status)


def run_in_child(scenario: Callable[[], Any], limit: float = 10.0) -> None:
    """Run ``scenario()`` in a child made by ``gevent.fork()``; fail if it raised, or hung.

    For a scenario whose failure may be a whole-thread deadlock (a driver
    waiting on an OS lock), which no ``gevent.Timeout`` can interrupt: the
    child is SIGKILLed after ``limit`` seconds.  Its traceback, if it raised,
    is in the test's captured stderr.
    """
    pid = gevent.fork()
    if pid == 0:
        code = 1
        try:
            scenario()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    code = wait_child(pid, timeout=limit)
    assert code != -9, f"the child hung for {limit}s (a whole-thread deadlock) and was killed"
    assert code == 0, "the scenario failed in the child (its traceback is in the captured stderr)"


def in_child(check: Callable[[], Any]) -> None:
    """Run ``check()`` in a child made by ``gevent.fork()``; assert it returned True there.

    What went wrong in the child (its traceback, or that it returned false
    or ran out of its 10 s) comes back through a pipe into the assertion.
    """
    read_end, write_end = os.pipe()
    pid = gevent.fork()
    if pid == 0:
        os.close(read_end)
        code, why = 2, "did not finish within 10 s"
        try:
            with gevent.Timeout(10, False):
                result = check()
                code, why = (0, "") if result else (1, f"check() returned {result!r}")
        except BaseException:
            why = traceback.format_exc()
        finally:
            try:
                os.write(write_end, why.encode("utf-8", "replace")[-8000:])
            finally:
                os._exit(code)
    os.close(write_end)
    code = wait_child(pid)
    with os.fdopen(read_end, "rb") as reader:
        why = reader.read().decode("utf-8", "replace")
    assert code == 0, f"the child exited with {code}: {why}"


def poll_twice_without_yielding(get: Callable[[], Any], between: Callable[[], Any]) -> list[Any]:
    """redis-py's documented pub/sub loop: ``get()`` until a message comes (2 s at most,
    None then), with a blocking ``time.sleep`` (not gevent's: nothing else runs
    meanwhile); ``between()``, then again.  Returns the two messages."""
    seen: list[Any] = []
    for step in range(2):
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            message = get()
            if message is not None:
                seen.append(message)
                break
            time.sleep(0.01)  # blocks the hub
        else:
            seen.append(None)
        if step == 0:
            between()
    return seen
