"""A fault-injecting TCP proxy that runs as a separate OS process.

A fault a server cannot produce by itself (latency, a network black hole,
connections reset mid-stream, connections closed as soon as they open) comes
from a real process sitting between the client and the server:
:class:`TcpProxy` starts ``python -c ...`` running :func:`_child_main`, which
listens on a free loopback port and forwards every connection to the
target.  The test process drives it through the child's standard input and
output with a line protocol; each control call returns only once the proxy
has acknowledged the change.

The child uses :mod:`asyncio` (standard library only).  It exits by itself
when its standard input closes, so it cannot outlive the test process.

Control protocol (one line each way)::

    PING                 -> OK pong
    MODE normal          -> OK
    MODE delay <sec>     -> OK
    MODE blackhole       -> OK
    MODE refuse          -> OK
    CUT                  -> OK <connections reset>
    COUNT                -> OK <open connections>
    STOP                 -> OK   (then the process exits)

Errors answer ``ERR <message>``.  On start the child prints ``READY <port>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .servers import HOST, ServerProcess, ServerStartError

__all__ = ["ProxyError", "TcpProxy"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class ProxyError(RuntimeError):
    """The proxy process did not answer a control command, or answered ``ERR``."""


def _check_loopback(host: str) -> None:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ValueError(f"target host {host!r} does not resolve: {exc}") from None
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise ValueError(f"target host {host!r} is not a loopback address")


class TcpProxy(ServerProcess):
    """A TCP proxy process from ``127.0.0.1:<port>`` to ``target_host:target_port``.

    The target must be a loopback address.  Modes (each exclusive of the
    others; each call blocks until the proxy acknowledged it, at most
    :attr:`control_timeout` seconds, and raises :class:`ProxyError` if it
    did not):

    * :meth:`normal` forwards everything at once;
    * :meth:`delay` holds every chunk, in both directions, for the given
      seconds before forwarding it;
    * :meth:`blackhole` keeps accepting and keeps connections open, but
      forwards nothing either way (what was already read is held, and
      flows again after :meth:`normal`, like TCP after a partition heals);
    * :meth:`refuse` accepts new connections and resets them at once
      (existing connections are left alone);
    * :meth:`cut` is an action, not a mode: it resets (RST) both sides of
      every current connection; new connections are still accepted.

    :meth:`stop`, :meth:`kill`, :meth:`pause`, :meth:`resume` and
    :meth:`restart` act on the proxy process like on any server.
    """

    name = "proxy"
    start_timeout = 15.0
    stop_grace = 5.0
    #: Seconds a control call waits for the proxy's acknowledgement.
    control_timeout = 10.0

    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        _check_loopback(target_host)
        super().__init__(port)
        self.target_host = target_host
        self.target_port = int(target_port)
        self._ctl_lock = threading.Lock()
        self._to_child: int | None = None
        self._from_child: int | None = None
        self._child_ends: tuple[int, int] | None = None
        self._log_fd: int | None = None
        self._rbuf = b""
        self._ready = False

    @property
    def target_address(self) -> str:
        """``"host:port"`` of the target."""
        return f"{self.target_host}:{self.target_port}"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<TcpProxy {self.address} -> {self.target_address} pid={self.pid} {state}>"

    # ---------------------------------------------------------------- process plumbing

    def _close_pipes(self) -> None:
        for fd in (self._to_child, self._from_child, *(self._child_ends or ())):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_child = self._from_child = None
        self._child_ends = None

    def _before_launch(self) -> None:
        self._close_pipes()
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()
        self._child_ends = (child_in, child_out)
        self._rbuf = b""
        self._ready = False

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-c",
            "from greenpool.testing.proxy import _child_main; _child_main()",
            str(self.port),
            self.target_host,
            str(self.target_port),
        ]

    def _popen_extra(self) -> dict[str, Any]:
        assert self._child_ends is not None
        env = dict(os.environ)
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + path if path else "")
        self._log_fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return {
            "stdin": self._child_ends[0],
            "stdout": self._child_ends[1],
            "stderr": self._log_fd,
            "env": env,
        }

    def _launch(self) -> None:
        try:
            super()._launch()
        finally:
            if self._child_ends is not None:
                for fd in self._child_ends:
                    os.close(fd)
                self._child_ends = None
            if self._log_fd is not None:
                os.close(self._log_fd)
                self._log_fd = None

    def _terminate(self, *, hard: bool) -> None:
        try:
            super()._terminate(hard=hard)
        finally:
            self._close_pipes()

    def __del__(self) -> None:
        try:
            super().__del__()
            self._close_pipes()
        except Exception:
            pass

    def _recv_line(self, timeout: float) -> str | None:
        """One line from the child, or ``None`` when none came within ``timeout``."""
        fd = self._from_child
        if fd is None:
            raise ProxyError(f"{self!r} is not running")
        deadline = time.monotonic() + timeout
        while b"\n" not in self._rbuf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise ProxyError(f"{self!r}: the proxy process closed its control channel")
            self._rbuf += chunk
        line, _, self._rbuf = self._rbuf.partition(b"\n")
        return line.decode("utf-8", "replace").strip()

    def _probe(self) -> bool:
        if self._ready:
            return True
        line = self._recv_line(0.2)
        if line is None:
            return False
        if not line.startswith("READY"):
            raise ServerStartError(f"unexpected line from the proxy: {line!r}", self.log_tail())
        self._ready = True
        return True

    def control(self, command: str) -> str:
        """Send one control line; return the acknowledgement after ``OK``.

        Blocks until the proxy answers (at most :attr:`control_timeout`
        seconds).  Raises :class:`ProxyError` on ``ERR``, on timeout (a
        paused proxy, say) or when the proxy is not running.
        """
        with self._ctl_lock:
            fd = self._to_child
            if fd is None or not self.running:
                raise ProxyError(f"{self!r} is not running")
            try:
                os.write(fd, command.encode() + b"\n")
            except OSError as exc:
                raise ProxyError(f"{self!r}: cannot send {command!r}: {exc}") from exc
            reply = self._recv_line(self.control_timeout)
        if reply is None:
            raise ProxyError(f"{self!r} did not acknowledge {command!r} in time")
        if not reply.startswith("OK"):
            raise ProxyError(f"{self!r} refused {command!r}: {reply}")
        return reply[2:].strip()

    # ---------------------------------------------------------------- the modes

    def normal(self) -> None:
        """Forward everything at once (the initial mode)."""
        self.control("MODE normal")

    def delay(self, seconds: float) -> None:
        """Hold every forwarded chunk ``seconds`` before sending it on, both directions."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: must be >= 0")
        self.control(f"MODE delay {float(seconds)!r}")

    def blackhole(self) -> None:
        """Keep connections open and accept new ones, but forward nothing either way."""
        self.control("MODE blackhole")

    def refuse(self) -> None:
        """Reset each new connection as soon as it is accepted."""
        self.control("MODE refuse")

    def cut(self) -> int:
        """Reset both sides of every current connection; return how many there were."""
        return int(self.control("CUT"))

    @property
    def connections(self) -> int:
        """How many client connections the proxy holds open now."""
        return int(self.control("COUNT"))


# =========================================================================== the child


class _Pair:
    """One client connection and its upstream connection."""

    def __init__(self, proxy: _ProxyState, creader: Any, cwriter: Any) -> None:
        self.proxy = proxy
        self.creader = creader
        self.cwriter = cwriter
        self.uwriter: Any = None
        self.tasks: list[asyncio.Task[None]] = []
        self.aborted = False

    async def run(self) -> None:
        try:
            ureader, self.uwriter = await asyncio.open_connection(
                self.proxy.target_host, self.proxy.target_port
            )
        except OSError:
            self.abort()
            return
        if self.aborted:
            self.abort()
            return
        self.tasks = [
            asyncio.create_task(self._pump(self.creader, self.uwriter)),
            asyncio.create_task(self._pump(ureader, self.cwriter)),
        ]
        done, _pending = await asyncio.wait(self.tasks, return_when=asyncio.FIRST_EXCEPTION)
        if any(not t.cancelled() and t.exception() is not None for t in done):
            self.abort()
        else:
            for writer in (self.cwriter, self.uwriter):
                writer.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        state = self.proxy

        async def reader() -> None:
            while True:
                await state.flowing.wait()
                data = await src.read(65536)
                queue.put_nowait((loop.time() + state.delay, data))
                if not data:
                    return

        async def writer() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await state.flowing.wait()
                if not data:
                    if dst.can_write_eof():
                        dst.write_eof()
                    return
                dst.write(data)
                await dst.drain()

        tasks = [asyncio.create_task(reader()), asyncio.create_task(writer())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    def abort(self) -> None:
        """Reset both sockets (SO_LINGER 0, then close) and stop the pumps."""
        self.aborted = True
        for writer in (self.cwriter, self.uwriter):
            if writer is not None:
                _reset(writer)
        for task in self.tasks:
            task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _ProxyState:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.mode = "normal"
        self.delay = 0.0
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.pairs: set[_Pair] = set()

    async def handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            _reset(cwriter)
            return
        pair = _Pair(self, creader, cwriter)
        self.pairs.add(pair)
        try:
            await pair.run()
        except Exception:
            pair.abort()
        finally:
            self.pairs.discard(pair)

    def command(self, line: str) -> tuple[str, bool]:
        """Apply one control line; return (reply, stop?)."""
        words = line.split()
        if not words:
            return "ERR empty command", False
        verb = words[0].upper()
        if verb == "PING":
            return "OK pong", False
        if verb == "COUNT":
            return f"OK {len(self.pairs)}", False
        if verb == "CUT":
            pairs = list(self.pairs)
            for pair in pairs:
                pair.abort()
            self.pairs.clear()
            return f"OK {len(pairs)}", False
        if verb == "STOP":
            return "OK", True
        if verb == "MODE" and len(words) >= 2:
            mode = words[1].lower()
            delay = 0.0
            if mode == "delay":
                try:
                    delay = float(words[2])
                except (IndexError, ValueError):
                    return "ERR MODE delay needs seconds", False
            elif mode not in ("normal", "blackhole", "refuse"):
                return f"ERR unknown mode {mode!r}", False
            self.mode = mode
            self.delay = delay
            if mode == "blackhole":
                self.flowing.clear()
            else:
                self.flowing.set()
            return "OK", False
        return f"ERR unknown command {line!r}", False


async def _child(listen_port: int, target_host: str, target_port: int) -> None:
    state = _ProxyState(target_host, target_port)
    server = await asyncio.start_server(
        state.handle, HOST, listen_port, reuse_address=True, backlog=1024
    )
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    os.write(1, f"READY {listen_port}\n".encode())
    try:
        while True:
            raw = await stdin.readline()
            if not raw:  # the test process is gone
                break
            reply, stop = state.command(raw.decode("utf-8", "replace").strip())
            os.write(1, reply.encode() + b"\n")
            if stop:
                break
    finally:
        server.close()
        for pair in list(state.pairs):
            pair.abort()


def _child_main() -> None:
    """Entry point of the proxy process: ``<listen port> <target host> <target port>``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listen_port, target_host, target_port = sys.argv[1], sys.argv[2], sys.argv[3]
    asyncio.run(_child(int(listen_port), target_host, int(target_port)))
