"""One green socket, one reader greenlet, requests from any number of greenlets.

A :class:`Connection` owns a gevent socket and two greenlets:

* the **reader** receives bytes, feeds them to the protocol's codec and
  completes each waiting request with its reply: in order (Redis: replies
  come back in the order requests went out), or by key (Tarantool: each
  reply carries the request's sync id);
* the **writer** only runs when the kernel's send buffer is full.  Normally
  requests are written by a callback that the first request of a hub
  iteration schedules: every request queued until the hub gets to it goes
  out in one ``send`` (auto-pipelining).

A caller blocks in :meth:`request` until its reply arrives, its timeout
passes (:class:`~greenpool.TimeoutError`), or the connection breaks
(:class:`~greenpool.ConnectionError`).  A caller that gives up (timeout,
``kill()``, ``gevent.Timeout``) abandons only its own slot: the reader
still consumes the reply meant for it and drops it, so the next caller
gets its own reply and the connection stays usable.

Anything that leaves the byte stream in an unknown state (a send that
failed, a malformed reply, a reply nobody is waiting for, the peer closing)
closes the connection, and
every request pending on it fails at once.  :meth:`connect` can then be
called again: the pools above reconnect broken connections in the
background.

Nothing here knows a protocol: a *codec* turns bytes into messages (see
:class:`Codec`).
"""

from __future__ import annotations

import builtins
import logging
import os
import socket as stdsocket
import ssl
import sys
from collections import deque
from collections.abc import Callable, Mapping
from time import monotonic
from typing import Any, Protocol

import gevent
from gevent import GreenletExit, get_hub
from gevent import socket as gsocket
from greenlet import getcurrent

from .._deadlines import DONE, FAILED, TIMED_OUT, WAITING, Deadlines, Wait
from .._fork import fd_of, register, sever
from .._threads import wrong_thread
from .._util import call_listener, check_float
from ..address import Address, AddressLike, parse_address
from ..errors import ConfigurationError, ConnectionError, ProtocolError, TimeoutError
from .tls import wrap_green

__all__ = ["Codec", "Connection"]

log = logging.getLogger("greenpool.connection")


# Connection states.
DISCONNECTED = "disconnected"
CONNECTING = "connecting"
CONNECTED = "connected"

_DEFAULT: Any = object()
_UNKNOWN: Any = object()
# How many abandoned keyed requests may wait for their late reply at once.
_MAX_ORPHANS = 65536


class Codec(Protocol):
    """Turns received bytes into messages.  One codec per socket (it keeps state)."""

    def feed(self, data: bytes) -> list[Any]:
        """Take bytes; return every message now complete (maybe none).

        Raises :class:`~greenpool.ProtocolError` for malformed input.
        """
        ...

    def is_push(self, message: Any) -> bool:
        """True for a message the server sent on its own (not a reply)."""
        ...

    def key_of(self, message: Any) -> Any:
        """For keyed matching: the request key a reply belongs to."""
        ...


class _Pending(Wait):
    """One request waiting for its reply (or, for a batch, its replies)."""

    __slots__ = ("at", "buf", "key", "on_push", "remaining", "results")

    def __init__(self, greenlet: Any) -> None:
        # Wait.__init__, inlined: one request makes one of these.
        self.greenlet = greenlet
        self.state = WAITING
        self.value: Any = None
        self.deadline = 0.0
        self.results: list[Any] | None = None
        self.remaining = 1
        self.key: Any = None
        self.on_push: Callable[[Any], None] | None = None
        # The write buffer holding the request's bytes and their index there,
        # while they may not have been written yet (see Connection._orphan).
        self.buf: list[bytes] | None = None
        self.at = 0


def _wake_all(done: list[_Pending]) -> None:
    # Runs in the hub: resume every caller whose reply (or error) is in.
    for pending in done:
        greenlet = pending.greenlet
        if greenlet is not None and (pending.state == DONE or pending.state == FAILED):
            greenlet.switch()


class Connection:
    """A green connection shared by many greenlets.

    ``address``: ``"host:port"``, ``"[v6]:port"``, ``(host, port)``, an
    :class:`~greenpool.Address` or a unix socket path.  ``codec`` makes the
    codec for each new socket.  ``matching`` is ``"ordered"`` (replies in
    request order) or ``"keyed"`` (each reply names its request through
    ``codec.key_of``).

    ``connect_timeout`` bounds connecting (TCP, TLS, handshake);
    ``request_timeout`` is the default per-request timeout (None: wait until
    the reply comes or the connection breaks).  With ``ssl_context`` the
    socket is wrapped in TLS (``server_hostname`` defaults to the host, for
    SNI and host-name checks).  ``handshake(conn)`` runs after each connect,
    before the connection counts as connected (authentication, database
    selection); it may call :meth:`request`.  ``on_push(message)`` receives
    messages the server sends on its own.  ``locate()``, when given, is
    asked before each connect where the server is now (an address as
    ``address`` takes); it runs inside the connect timeout, and an error it
    raises fails that connect (Sentinel's clients find their primary so).

    Sockets get ``TCP_NODELAY`` and ``SO_KEEPALIVE``; a TCP socket also
    gets ``tcp_options`` (``{socket.TCP_KEEPIDLE: 30, ...}``: each set with
    ``setsockopt(IPPROTO_TCP, option, value)``).
    """

    def __init__(
        self,
        address: AddressLike,
        *,
        codec: Callable[[], Codec],
        matching: str = "ordered",
        connect_timeout: float | None = 10.0,
        request_timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        handshake: Callable[[Connection], None] | None = None,
        on_push: Callable[[Any], None] | None = None,
        name: str | None = None,
        recv_size: int = 65536,
        locate: Callable[[], AddressLike] | None = None,
        tcp_options: Mapping[int, int] | None = None,
    ) -> None:
        self.address: Address = parse_address(address, argument="address")
        self._tcp_options = dict(tcp_options or {})
        if locate is not None and not callable(locate):
            raise ConfigurationError("locate", locate, "must be callable or None")
        self._locate = locate
        if not callable(codec):
            raise ConfigurationError("codec", codec, "must be a callable returning a codec")
        if matching not in ("ordered", "keyed"):
            raise ConfigurationError("matching", matching, "must be 'ordered' or 'keyed'")
        self._codec_factory = codec
        self._keyed = matching == "keyed"
        self.connect_timeout = check_float(
            "connect_timeout", connect_timeout, allow_none=True, strict=True
        )
        self.request_timeout = check_float(
            "request_timeout", request_timeout, allow_none=True, strict=True
        )
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ConfigurationError("ssl_context", ssl_context, "must be an ssl.SSLContext")
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname
        self._handshake = handshake
        #: Called with each message the server sends on its own (see ``push_all``).
        self.on_push = on_push
        self.name = name or str(self.address)
        self._recv_size = recv_size
        #: When True, every message read goes to ``on_push``; none is taken
        #: as a reply.  For subscriber connections (pub/sub, MONITOR), set
        #: after the handshake; requests are then sent with :meth:`send`.
        self.push_all = False

        self.state = DISCONNECTED
        self._sock: Any = None
        self._raw_send: Callable[[Any], int] | None = None
        self._codec: Codec | None = None
        self._reader: Any = None
        self._writer: Any = None
        self._ordered: deque[_Pending] = deque()
        self._keyed_pending: dict[Any, _Pending] = {}
        # Keys of abandoned keyed requests whose reply has not come yet (an
        # insertion-ordered set): only those replies may arrive unmatched.
        self._orphans: dict[Any, None] = {}
        self._wbuf: list[bytes] = []
        self._out: Any = None
        # Blocks callers until their reply, and times them out: one timer
        # for every request whose deadline keeps the order (see greenpool._deadlines).
        self._deadlines = Deadlines(self._expired, self._left)
        self._flush_scheduled = False
        self._writing = False
        self._hub: Any = None
        self._loop: Any = None
        self.last_read = 0.0
        self.last_write = 0.0
        self.connected_at = 0.0
        self.close_cause: BaseException | None = None
        #: Requests made (one per command of a ``request_many``), and of those
        #: the ones that ended without a reply (the connection broke, the
        #: request's timeout, the caller's own ``gevent.Timeout`` or kill),
        #: and of those the timeouts: counters for the owner's ``stats()``,
        #: which may set them back to zero.  Error replies are replies.
        self.requests_num = 0
        self.requests_errors = 0
        self.requests_timeouts = 0
        self._open_listeners: list[Callable[[Connection], Any]] = []
        self._close_listeners: list[Callable[[Connection, BaseException | None], Any]] = []
        register(self)

    # ------------------------------------------------------------------
    # Introspection

    def live(self) -> bool:
        """True while connected (the handshake done and the socket not closed)."""
        return self.state == CONNECTED

    @property
    def connected(self) -> bool:
        """Same as :meth:`live`."""
        return self.state == CONNECTED

    @property
    def pending(self) -> int:
        """Requests in flight: sent or queued, reply not yet read (abandoned ones included)."""
        return len(self._keyed_pending) if self._keyed else len(self._ordered)

    def add_listener(
        self,
        on_open: Callable[[Connection], Any] | None = None,
        on_close: Callable[[Connection, BaseException | None], Any] | None = None,
    ) -> None:
        """Call ``on_open(conn)`` after each connect and ``on_close(conn, cause)`` when it closes.

        Listeners run in whichever greenlet (or the hub) caused the event;
        an exception from one is logged and ignored.
        """
        if on_open is not None:
            self._open_listeners.append(on_open)
        if on_close is not None:
            self._close_listeners.append(on_close)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.state} pending={self.pending}>"

    # ------------------------------------------------------------------
    # Connecting and closing

    def connect_failure(self, exc: BaseException) -> str:
        """The message of the ConnectionError a failed connect raises, from the
        socket, TLS or protocol error ``exc`` (a driver may word it its own way)."""
        return f"{self.name}: cannot connect: {exc}"

    def connect(self, timeout: float | None = _DEFAULT) -> None:
        """Open the socket (TLS if configured), start the reader, run the handshake.

        Blocks the calling greenlet up to ``timeout`` (default
        ``connect_timeout``).  Does nothing if already connected.  Raises
        :class:`~greenpool.ConnectionError` (with the cause chained) when
        the server can't be reached, TLS fails, or the handshake fails; the
        connection is then left disconnected and may be connected again.
        """
        if self.state == CONNECTED:
            return
        if self.state == CONNECTING:
            raise ConnectionError(f"{self.name}: already connecting", str(self.address))
        if timeout is _DEFAULT:
            timeout = self.connect_timeout
        self.state = CONNECTING
        self.close_cause = None
        pid = os.getpid()
        try:
            with gevent.Timeout(timeout, _ConnectTimeout(timeout)):
                if self._locate is not None:
                    self.address = parse_address(self._locate(), argument="locate")
                sock = self._open_socket(pid)
                self._start(sock)
                if self._handshake is not None:
                    self._handshake(self)
        except _ConnectTimeout as exc:
            self._teardown(exc)
            raise ConnectionError(
                f"{self.name}: connecting timed out after {timeout}s", str(self.address)
            ) from None
        except (OSError, ssl.SSLError, ProtocolError) as exc:
            self._teardown(exc)
            if isinstance(exc, ConnectionError):
                raise
            raise ConnectionError(self.connect_failure(exc), str(self.address)) from exc
        except BaseException as exc:
            self._teardown(exc)
            raise
        if self.state != CONNECTING:  # closed during the handshake, or before it
            if self._sock is not None:  # a socket opened after close(): not kept
                self._teardown(self.close_cause)
            raise ConnectionError(
                f"{self.name}: closed while connecting: {self.close_cause!r}", str(self.address)
            )
        self.state = CONNECTED
        self.connected_at = monotonic()
        for listener in list(self._open_listeners):
            call_listener(log, listener, self)

    def _open_socket(self, pid: int) -> Any:
        # ``pid``: the process that began connecting.  A fork() while the TCP
        # connect or the TLS handshake was under way leaves the child's copy of
        # this greenlet with the parent's socket: it must not write a byte.
        address = self.address
        if address.path is not None:
            sock = gsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
            try:
                sock.connect(address.path)
            except BaseException:
                sock.close()
                raise
        else:
            assert address.host is not None and address.port is not None
            sock = gsocket.create_connection((address.host, address.port))
            try:
                sock.setsockopt(stdsocket.IPPROTO_TCP, stdsocket.TCP_NODELAY, 1)
                sock.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_KEEPALIVE, 1)
            except OSError:  # pragma: no cover - unusual socket types
                pass
            try:
                for option, value in self._tcp_options.items():
                    sock.setsockopt(stdsocket.IPPROTO_TCP, option, value)
            except BaseException:
                sock.close()
                raise
        _same_process(pid, sock, self)
        if self._ssl_context is not None:
            try:
                hostname = self._server_hostname or address.host
                sock = wrap_green(sock, self._ssl_context, hostname)
            except BaseException:
                sock.close()
                raise
            _same_process(pid, sock, self)
        return sock

    def _start(self, sock: Any) -> None:
        self._hub = get_hub()
        self._loop = self._hub.loop
        self._sock = sock
        self._codec = self._codec_factory()
        # A plain socket is written straight from the hub (non-blocking send);
        # TLS always goes through the writer greenlet.
        raw = getattr(sock, "_sock", None)
        self._raw_send = raw.send if self._ssl_context is None and raw is not None else None
        self._writing = False
        self._out = None
        self.last_read = self.last_write = monotonic()
        self._reader = gevent.spawn(self._read_loop, sock, self._codec)
        self._reader.name = f"greenpool-reader-{self.name}"
        self._writer = gevent.spawn(self._write_loop, sock)
        self._writer.name = f"greenpool-writer-{self.name}"

    def close(self, cause: BaseException | str | None = None) -> None:
        """Close the socket; every pending request fails with ConnectionError.

        Never blocks.  ``cause`` (an exception or a text) is chained to the
        errors the pending callers get and passed to close listeners.  The
        connection may be connected again with :meth:`connect`.
        """
        if isinstance(cause, str):
            cause = ConnectionError(cause, str(self.address))
        if self.state == DISCONNECTED and self._sock is None:
            return
        self._teardown(cause)

    def _teardown(self, cause: BaseException | None) -> None:
        was_connected = self.state != DISCONNECTED or self._sock is not None
        self.state = DISCONNECTED
        self.close_cause = cause
        sock, self._sock = self._sock, None
        self._raw_send = None
        self._codec = None
        self._wbuf = []
        self._out = None
        self._flush_scheduled = False
        self.push_all = False
        self._deadlines.clear()
        current = getcurrent()
        for glet in (self._reader, self._writer):
            if glet is not None and glet is not current and not glet.dead:
                glet.kill(block=False)
        self._reader = self._writer = None
        if sock is not None:
            try:
                sock.close()
            except OSError:  # pragma: no cover
                pass
        self._fail_pending(cause)
        if was_connected:
            for listener in list(self._close_listeners):
                call_listener(log, listener, self, cause)

    def _fail_pending(self, cause: BaseException | None) -> None:
        pending: list[_Pending] = list(self._ordered)
        pending.extend(self._keyed_pending.values())
        self._ordered = deque()
        self._keyed_pending = {}
        self._orphans = {}
        if not pending:
            return
        text = f"{self.name}: connection closed"
        if cause is not None:
            text += f": {cause}" if str(cause) else f": {type(cause).__name__}"
        done = []
        for p in pending:
            if p.state == WAITING:
                error = ConnectionError(text, str(self.address))
                error.__cause__ = cause
                p.state = FAILED
                p.value = error
                done.append(p)
        if done:
            get_hub().loop.run_callback(_wake_all, done)

    # ------------------------------------------------------------------
    # Requests

    def request(
        self,
        payload: bytes,
        *,
        timeout: float | None = _DEFAULT,
        key: Any = None,
        on_push: Callable[[Any], None] | None = None,
    ) -> Any:
        """Send ``payload`` (one encoded request) and block until its reply; return the reply.

        ``timeout`` overrides ``request_timeout`` for this request.  For a
        keyed connection, ``key`` is the request's id (the reply's
        ``codec.key_of``) and ``on_push`` receives the server's pushes for it.

        Raises :class:`~greenpool.TimeoutError` when the reply does not come
        in time (the connection stays usable: the late reply is dropped),
        :class:`~greenpool.ConnectionError` when the connection is not
        connected or breaks, :class:`~greenpool.WrongThreadError` (nothing
        sent) when called from another OS thread than the one that connected
        it.  A BaseException thrown into the caller abandons the request the
        same way.
        """
        if self._sock is None:
            raise self._not_connected()
        if get_hub() is not self._hub:
            raise self._wrong_thread()
        self.requests_num += 1
        p = _Pending(getcurrent())
        if self._keyed:
            if self._keyed_pending.setdefault(key, p) is not p:
                raise ConfigurationError("key", key, "a request with this key is in flight")
            p.key = key
            p.on_push = on_push
        else:
            self._ordered.append(p)
        # _queue(payload, p), inlined: this is the hottest path of the library.
        wbuf = p.buf = self._wbuf
        p.at = len(wbuf)
        wbuf.append(payload)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.run_callback(self._flush)
        if timeout is _DEFAULT:
            timeout = self.request_timeout
        self._deadlines.wait(self._hub, p, timeout)
        if p.state != DONE:
            raise self._failure(p, timeout)
        return p.value

    def request_many(
        self, payload: bytes, count: int, *, timeout: float | None = _DEFAULT
    ) -> list[Any]:
        """Send ``payload`` holding ``count`` encoded requests; return their ``count`` replies.

        Ordered connections only.  The requests go out together and their
        replies come back together, with nobody else's in between.  Error
        replies are returned in the list, not raised.  Raises like :meth:`request`.
        """
        if self._keyed:
            raise ConfigurationError("matching", "keyed", "request_many needs ordered matching")
        if count < 1:
            raise ConfigurationError("count", count, "must be at least 1")
        if self._sock is None:
            raise self._not_connected()
        if get_hub() is not self._hub:
            raise self._wrong_thread()
        self.requests_num += count
        p = _Pending(getcurrent())
        p.results = []
        p.remaining = count
        self._ordered.append(p)
        self._queue(payload, p)
        if timeout is _DEFAULT:
            timeout = self.request_timeout
        self._deadlines.wait(self._hub, p, timeout)
        if p.state != DONE:
            raise self._failure(p, timeout)
        return p.results

    def send(self, payload: bytes) -> None:
        """Queue ``payload`` for sending and return at once; no reply is expected.

        For subscriber connections (``push_all``), whose answers arrive as
        pushes.  Raises :class:`~greenpool.ConnectionError` when not connected,
        :class:`~greenpool.WrongThreadError` from another OS thread.
        """
        if self._sock is None:
            raise self._not_connected()
        if get_hub() is not self._hub:
            raise self._wrong_thread()
        self._queue(payload)

    def _queue(self, payload: bytes, p: _Pending | None = None) -> None:
        # Buffer the bytes; the first request of a hub iteration schedules the flush.
        # ``p``: the request they are, which may withdraw them until they are taken.
        wbuf = self._wbuf
        if p is not None:
            p.buf = wbuf
            p.at = len(wbuf)
        wbuf.append(payload)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.run_callback(self._flush)

    def _failure(self, p: _Pending, timeout: float | None) -> BaseException:
        # The error for a request that ended without its reply.
        self.requests_errors += 1
        if p.state == TIMED_OUT:
            self.requests_timeouts += 1
            return TimeoutError(f"{self.name}: no reply within {timeout}s")
        error: BaseException = p.value
        return error

    def _expired(self, due: list[_Pending]) -> None:
        # Runs in the hub: these requests' deadlines passed (see greenpool._deadlines).
        for p in due:
            self._orphan(p)

    def _left(self, p: _Pending, _state: int) -> None:
        # A BaseException ended the caller's wait (see greenpool._deadlines):
        # called while it is being handled, so sys.exc_info() names it.
        self.requests_errors += 1
        if isinstance(sys.exc_info()[1], (gevent.Timeout, builtins.TimeoutError)):
            self.requests_timeouts += 1
        self._orphan(p)

    def _orphan(self, p: _Pending) -> None:
        # The caller left (killed, its own timeout, the request's timeout).
        # Bytes not yet taken for writing are withdrawn: a request whose caller
        # has gone must not run later, after whatever the caller's program did
        # next (the writer may be held up behind a large write or a slow
        # server).  Nothing was sent, so no reply will come: its slot goes too.
        buf = p.buf
        if buf is not None and buf is self._wbuf:
            buf[p.at] = b""
            p.buf = None
            if not self._keyed:
                self._ordered.remove(p)
            elif self._keyed_pending.get(p.key) is p:
                del self._keyed_pending[p.key]
            return
        # Sent.  Ordered: keep the slot so its reply is consumed and
        # dropped.  Keyed: remember the key as an orphan; its late reply is
        # dropped, any other unmatched reply breaks the connection.
        if self._keyed and self._keyed_pending.get(p.key) is p:
            del self._keyed_pending[p.key]
            orphans = self._orphans
            orphans[p.key] = None
            if len(orphans) > _MAX_ORPHANS:
                # A server this many replies behind is broken anyway: the
                # oldest orphan's reply, if it ever comes, closes the connection.
                del orphans[next(iter(orphans))]

    def _wrong_thread(self) -> BaseException:
        return wrong_thread(f"connection {self.name}", self._hub.thread_ident)

    def _not_connected(self) -> ConnectionError:
        cause = f": {self.close_cause}" if self.close_cause is not None else ""
        return ConnectionError(f"{self.name}: not connected{cause}", str(self.address))

    # ------------------------------------------------------------------
    # Writing

    def _flush(self) -> None:
        # Runs in the hub, after every greenlet runnable this iteration had its turn.
        self._flush_scheduled = False
        if self._writing or not self._wbuf or self._sock is None:
            return
        buf = self._wbuf
        data: Any = buf[0] if len(buf) == 1 else b"".join(buf)
        self._wbuf = []
        raw_send = self._raw_send
        if raw_send is not None:
            try:
                sent = raw_send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._teardown(exc)
                return
            self.last_write = monotonic()
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        self._writing = True
        self._out = data
        writer = self._writer
        if writer is not None:
            writer.switch()

    def _write_loop(self, sock: Any) -> None:
        hub = get_hub()
        try:
            while True:
                while self._out is None:
                    hub.switch()
                data, self._out = self._out, None
                sock.sendall(data)
                self.last_write = monotonic()
                if self._wbuf and self._sock is sock:
                    buf = self._wbuf
                    self._wbuf = []
                    self._out = b"".join(buf)
                else:
                    self._writing = False
        except GreenletExit:
            return
        except BaseException as exc:
            if self._sock is sock:
                # Part of a request may have gone out: the stream state is unknown.
                self._teardown(exc)

    # ------------------------------------------------------------------
    # Reading

    def _read_loop(self, sock: Any, codec: Codec) -> None:
        recv = sock.recv
        size = self._recv_size
        try:
            while True:
                data = recv(size)
                if not data:
                    raise ConnectionError(f"{self.name}: the server closed the connection",
                                          str(self.address))
                self.last_read = monotonic()
                messages = codec.feed(data)
                if messages:
                    if self._keyed:
                        self._dispatch_keyed(codec, messages)
                    else:
                        self._dispatch_ordered(codec, messages)
        except GreenletExit:
            return
        except BaseException as exc:
            if self._sock is sock:
                self._teardown(exc)

    def _dispatch_ordered(self, codec: Codec, messages: list[Any]) -> None:
        pending = self._ordered
        done: list[_Pending] = []
        try:
            for message in messages:
                if self.push_all or codec.is_push(message):
                    self._push(message)
                    continue
                if not pending:
                    raise ProtocolError(f"{self.name}: a reply arrived with no request waiting")
                p = pending[0]
                if p.results is None:
                    pending.popleft()
                    if p.state == WAITING:
                        p.value = message
                        p.state = DONE
                        done.append(p)
                else:
                    p.results.append(message)
                    p.remaining -= 1
                    if p.remaining == 0:
                        pending.popleft()
                        if p.state == WAITING:
                            p.state = DONE
                            done.append(p)
        finally:
            # Wake whoever got a reply, even when a later message was bad.
            if done:
                self._loop.run_callback(_wake_all, done)

    def _dispatch_keyed(self, codec: Codec, messages: list[Any]) -> None:
        pending = self._keyed_pending
        key_of, is_push = codec.key_of, codec.is_push
        done: list[_Pending] = []
        try:
            for message in messages:
                if is_push(message):
                    p = pending.get(key_of(message))
                    if p is not None and p.on_push is not None:
                        call_listener(log, p.on_push, message)
                    else:
                        self._push(message)
                    continue
                key = key_of(message)
                p = pending.pop(key, None)
                if p is None:
                    if self._orphans.pop(key, _UNKNOWN) is not _UNKNOWN:
                        continue  # the late reply to an abandoned request
                    # Never asked for, or answered already: nothing on this
                    # stream can be trusted to reach the right caller now.
                    raise ProtocolError(
                        f"{self.name}: a reply for key {key!r}, which no request sent "
                        "on this connection is waiting for"
                    )
                if p.state == WAITING:
                    p.value = message
                    p.state = DONE
                    done.append(p)
        finally:
            if done:
                self._loop.run_callback(_wake_all, done)

    def _push(self, message: Any) -> None:
        if self.on_push is not None:
            call_listener(log, self.on_push, message)
        else:
            log.debug("%s: unsolicited message dropped: %r", self.name, message)

    # ------------------------------------------------------------------
    # fork()

    def _forget_inherited(self) -> None:
        """In a child after fork(): sever the socket, forget the state, fail the callers.

        Runs in the at-fork hook, before any greenlet of the child: the
        socket's descriptor becomes ``/dev/null`` (see :mod:`greenpool._fork`),
        so neither the copies of the reader and writer greenlets nor a
        wake-up pending at the fork can touch the parent's socket.  The
        callers waiting in the child (copies of the parent's) fail with
        ConnectionError; the next :meth:`connect` opens a socket of the
        child's own.  Close listeners are not called: the pools above have
        fork hooks of their own, and reconnect lazily.
        """
        sock, self._sock = self._sock, None
        if sock is not None:
            sever([fd_of(sock)])
        for glet in (self._reader, self._writer):
            if glet is not None and not glet.dead:
                glet.kill(block=False)
        self._reader = self._writer = None
        self._raw_send = None
        self._codec = None
        self._wbuf = []
        self._out = None
        self._writing = False
        self._flush_scheduled = False
        self._deadlines = Deadlines(self._expired, self._left)  # the parent's timer: dropped
        self.state = DISCONNECTED
        cause = ConnectionError(f"{self.name}: inherited across fork()", str(self.address))
        self.close_cause = cause
        self._fail_pending(cause)


def _same_process(pid: int, sock: Any, conn: Connection) -> None:
    """Raise ConnectionError (the socket severed) when a fork() came since ``pid`` began."""
    if os.getpid() != pid:
        sever([fd_of(sock)])
        raise ConnectionError(f"{conn.name}: fork() while connecting", str(conn.address))


class _ConnectTimeout(Exception):
    """Internal: the connect deadline passed."""





