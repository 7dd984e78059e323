"""A real server process that turns hostile on command: Redis (RESP) or Tarantool (IPROTO).

Run as ``python hostile_server.py PORT PROTOCOL MODE_FILE UPSTREAM_PORT``;
it serves until killed.  ``PROTOCOL`` is ``resp`` or ``iproto``.  The mode
is the text of ``MODE_FILE``, read when a connection opens; when it
changes, every connection of another mode is shut and the new mode is
written to ``MODE_FILE.ack``, so clients reconnect into the new mode.
Modes:

* ``good``: forward the connection to the real server on ``UPSTREAM_PORT``;
* ``stall``: accept (and, for IPROTO, greet), then never answer;
* ``random``: answer the first request with 64 kB of random bytes;
* ``truncated``: answer with the start of a reply, then close;
* ``huge-length``: a length the client must refuse (a 100 GB string, a
  4 GiB packet);
* ``huge-claim``: a length the protocol allows but whose data never comes
  (an array of 2**32-1 elements, a 60 MB packet), then silence;
* ``wide``: aggregates claiming a million elements each, nested (RESP:
  ``*999999`` 900 times; IPROTO: a packet of 1,000 nested array32 headers);
* ``deep``: nesting without end (RESP ``*1`` 100,000 times; IPROTO 5,000
  nested arrays in one packet);
* ``endless-line`` (RESP): a simple string that never ends;
* ``bad-greeting``, ``truncated-greeting`` (IPROTO): 128 bytes that are not
  a greeting; 60 bytes of one, then close;
* ``wrong-sync`` (IPROTO): answer with a sync no request carried;
* ``repeat-sync`` (IPROTO): answer every request twice;
* ``slow-first`` (IPROTO): answer every request with an empty OK, the
  first one 0.3 s late.

In every IPROTO mode past the greeting, a ``box.info`` call (a
ConnectionPool's health check) is answered well, so that the pool keeps
the instance healthy and sends its callers' requests into the trap.

:class:`HostileServer` starts it on a free loopback port with
:class:`~greenpool.testing.ScriptServer` and switches its mode.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import select
import socket
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgpack

from greenpool.testing import ScriptServer

GREETING = (
    b"Tarantool 2.10.0 (Binary) 00000000-0000-0000-0000-000000000000".ljust(63) + b"\n"
    + base64.b64encode(b"s" * 32).ljust(63) + b"\n"
)
POLL = 0.05


class _Peer:
    """One accepted connection and the mode it was opened in."""

    def __init__(self, conn: socket.socket, mode: str, mode_file: str) -> None:
        self.conn = conn
        self.mode = mode
        self.mode_file = mode_file

    def current(self) -> bool:
        """Whether the server is still in this connection's mode."""
        return _read_mode(self.mode_file) == self.mode

    def recv(self) -> bytes | None:
        """Bytes from the client; b"" when nothing came within POLL; None when it is over."""
        if not self.current():
            return None
        ready, _, _ = select.select([self.conn], [], [], POLL)
        if not ready:
            return b""
        try:
            data = self.conn.recv(65536)
        except OSError:
            return None
        return data or None

    def send(self, data: bytes) -> bool:
        try:
            self.conn.sendall(data)
        except OSError:
            return False
        return True

    def idle(self) -> None:
        """Read and drop what the client sends until it leaves or the mode changes."""
        while self.recv() is not None:
            pass


def _read_mode(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _forward(peer: _Peer, upstream_port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        return
    with upstream:
        pair = {peer.conn: upstream, upstream: peer.conn}
        while peer.current():
            ready, _, _ = select.select(list(pair), [], [], POLL)
            for src in ready:
                try:
                    data = src.recv(65536)
                    if not data:
                        return
                    pair[src].sendall(data)
                except OSError:
                    return


# --------------------------------------------------------------------------- RESP


def _resp(peer: _Peer) -> None:
    mode = peer.mode
    if mode == "stall":
        peer.idle()
        return
    while True:  # wait for the first request
        data = peer.recv()
        if data is None:
            return
        if data:
            break
    if mode == "random":
        peer.send(random.Random(7).randbytes(65536))
    elif mode == "truncated":
        peer.send(b"$100\r\n0123456789")
        return
    elif mode == "huge-length":
        peer.send(b"$99999999999\r\n" + b"x" * 1000)
    elif mode == "huge-claim":
        peer.send(b"*4294967295\r\n")
    elif mode == "wide":
        peer.send(b"*999999\r\n" * 900)
    elif mode == "deep":
        peer.send(b"*1\r\n" * 100_000)
    elif mode == "endless-line":
        peer.send(b"+")
        chunk = b"a" * 65536
        while peer.current() and peer.send(chunk):
            pass
        return
    peer.idle()


# --------------------------------------------------------------------------- IPROTO


def _packet(header: bytes, body: bytes) -> bytes:
    return b"\xce" + struct.pack(">I", len(header) + len(body)) + header + body


def _ok(sync: int) -> bytes:
    # {TYPE: OK, SYNC: sync, SCHEMA_VERSION: 1} {DATA: []}
    return _packet(b"\x83\x00\x00\x01\xcf" + struct.pack(">Q", sync) + b"\x05\x01", b"\x81\x30\x90")


def _box_info(sync: int) -> bytes:
    body = msgpack.packb({0x30: [{"ro": False, "status": "running"}]})
    return _packet(b"\x83\x00\x00\x01\xcf" + struct.pack(">Q", sync) + b"\x05\x01", body)


def _requests(peer: _Peer) -> Iterator[tuple[int, bytes]]:
    """Yield the sync and payload of each request the client sends."""
    buffer = b""
    while True:
        data = peer.recv()
        if data is None:
            return
        buffer += data
        while len(buffer) >= 5 and buffer[0] == 0xCE:
            size = struct.unpack(">I", buffer[1:5])[0]
            if len(buffer) < 5 + size:
                break
            payload, buffer = buffer[5 : 5 + size], buffer[5 + size :]
            yield _sync_of(payload), payload


def _sync_of(payload: bytes) -> int:
    # The header map is {REQUEST_TYPE: t, SYNC: uint64, ...}: find SYNC's value.
    index = payload.index(b"\x01\xcf", 1)
    return int(struct.unpack(">Q", payload[index + 2 : index + 10])[0])


def _iproto(peer: _Peer) -> None:
    mode = peer.mode
    if mode == "bad-greeting":
        peer.send(b"HTTP/1.1 400 Bad Request\r\n".ljust(128, b"x"))
        peer.idle()
        return
    if mode == "truncated-greeting":
        peer.send(GREETING[:60])
        return
    if not peer.send(GREETING):
        return
    first = True
    for sync, payload in _requests(peer):
        if b"box.info" in payload:
            # A ConnectionPool's health check: answered well, so that the
            # pool sends its callers' requests here.
            peer.send(_box_info(sync))
            continue
        if mode == "random":
            peer.send(random.Random(7).randbytes(65536))
        elif mode == "truncated":
            peer.send(_ok(sync)[:12])
            return
        elif mode == "huge-length":
            peer.send(b"\xce\xff\xff\xff\xff" + b"x" * 1000)
        elif mode == "huge-claim":
            peer.send(b"\xce" + struct.pack(">I", 60_000_000) + b"\x82")
        elif mode == "wide":
            body = b"\x81\x30" + b"\xdd\x00\x0f\xff\xff" * 1000
            peer.send(_packet(b"\x82\x00\x00\x01" + bytes([sync & 0x7F]), body))
        elif mode == "deep":
            body = b"\x81\x30" + b"\x91" * 5000 + b"\x01"
            peer.send(_packet(b"\x82\x00\x00\x01" + bytes([sync & 0x7F]), body))
        elif mode == "wrong-sync":
            peer.send(_ok(sync + 1_000_000))
        elif mode == "repeat-sync":
            peer.send(_ok(sync) + _ok(sync))
        elif mode == "slow-first":
            if first:
                time.sleep(0.3)
            peer.send(_ok(sync))
        # stall: no answer
        first = False
    return


# --------------------------------------------------------------------------- server


def _serve(port: int, protocol: str, mode_file: str, upstream_port: int) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    peers: set[_Peer] = set()
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        with conn:
            peer = _Peer(conn, _read_mode(mode_file), mode_file)
            with lock:
                peers.add(peer)
            try:
                if peer.mode == "good":
                    _forward(peer, upstream_port)
                elif protocol == "resp":
                    _resp(peer)
                else:
                    _iproto(peer)
            finally:
                with lock:
                    peers.discard(peer)

    def monitor() -> None:
        # On a mode change: shut every connection of another mode, then
        # acknowledge, so that the test knows the old connections are gone.
        acked = None
        while True:
            mode = _read_mode(mode_file)
            if mode != acked:
                with lock:
                    stale = [peer for peer in peers if peer.mode != mode]
                for peer in stale:
                    with contextlib.suppress(OSError):
                        peer.conn.shutdown(socket.SHUT_RDWR)
                Path(mode_file + ".ack").write_text(mode)
                acked = mode
            time.sleep(0.01)

    threading.Thread(target=monitor, daemon=True).start()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


class HostileServer(ScriptServer):
    """The process: ``address``, ``host``, ``port``, ``set_mode(mode)``, ``stop()``.

    It starts in ``good`` mode, forwarding to ``upstream_port``.
    """

    def __init__(self, protocol: str, upstream_port: int) -> None:
        handle, self._mode_file = tempfile.mkstemp(prefix="greenpool-hostile-")
        os.close(handle)
        self.set_mode("good")
        super().__init__(str(Path(__file__)), protocol, self._mode_file, str(upstream_port))
        self.host = "127.0.0.1"

    def set_mode(self, mode: str) -> None:
        """Switch modes; returns once every connection of another mode is shut.

        Raises RuntimeError if the process does not acknowledge within 10 s.
        """
        temporary = self._mode_file + ".new"
        Path(temporary).write_text(mode)
        os.replace(temporary, self._mode_file)
        if not hasattr(self, "process"):
            return  # not started yet: it reads the mode when it starts
        deadline = time.monotonic() + 10
        while _read_mode(self._mode_file + ".ack") != mode:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the hostile server did not switch to {mode!r}")
            time.sleep(0.005)

    def stop(self) -> None:
        super().stop()
        for path in (self._mode_file, self._mode_file + ".new", self._mode_file + ".ack"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))
