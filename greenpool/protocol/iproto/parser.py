"""The incremental reply parser: a byte stream in, :class:`~.responses.Reply` objects out.

What a hostile stream can cost is bounded; each limit is a
:class:`~greenpool.errors.ProtocolError` at once:

* a packet's length prefix above ``max_packet_size`` (64 MiB by default) is
  refused as soon as its bytes arrive, so an incomplete packet holds at most
  that much;
* inside a packet, no string, array, map or extension may claim more than
  the packet's size or 1 MiB (msgpack's ``max_*_len``);
* msgpack reserves up to about 8,700 slots (68 kB) for an array header
  before its elements arrive, and only array16 and array32 headers (bytes
  0xdc and 0xdd) claim more than 15.  A packet in which those bytes occur
  more than 42 times is first walked in C without building anything, and
  refused unless each length it claims is filled by its own bytes: decoding
  then allocates in proportion to the packet.  Any other packet holds at
  most 42 such headers, which reserve under 3 MB.  An error extension's
  payload is walked the same way before it is decoded;
* nesting deeper than 1024 levels (msgpack's limit) is refused.

The hostile-server tests in ``tests/chaos/`` keep this true for the
Tarantool client.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, cast

import msgpack

from greenpool._util import check_int
from greenpool.errors import ProtocolError

from .._common import NEED_DATA, _NeedData
from ._msgpack import _ext_hook
from .constants import _DATA, _SCHEMA_VERSION, _SYNC, _TYPE, DEFAULT_MAX_PACKET_SIZE
from .responses import _PLAIN_BODY, Reply, _decode_reply

__all__ = ["IprotoParser"]

_U32 = struct.Struct(">I")


# Packets at most this large are decoded by the parser's long-lived unpacker; a
# larger one gets its own, so the big buffer it needs is freed right after.
_SHARED_UNPACKER_LIMIT: Final = 1024 * 1024

# The unpacker reserves up to about 8,700 slots (68 kB) for an array header
# before its elements arrive; only array16 and array32 headers (0xdc, 0xdd)
# claim more than 15.  A packet in which those bytes occur at most 42 times
# holds at most 42 such headers, which reserve under 3 MB: it is decoded
# unchecked.  Any other packet is walked by _check first.  A packet of at
# most 128 bytes can't hold more (3 bytes a header), so it is not searched.
# The bytes are looked for with find (memchr), stopping at the 43rd:
# bytes.count has no fast path and cost more than the walk itself (parsing a
# reply of 100 or 1,000 tuples took 16% more instructions with count, 12%
# with a walk whenever either byte occurs, and about 1% with this).
_UNCHECKED: Final = 128
_MAX_BIG_ARRAYS: Final = 42


def _few_big_arrays(find: Callable[..., int], start: int, stop: int) -> bool:
    """Whether bytes 0xdc and 0xdd occur at most 42 times in ``[start, stop)``."""
    seen = 0
    for byte in (b"\xdc", b"\xdd"):
        at = find(byte, start, stop)
        while at >= 0:
            seen += 1
            if seen > _MAX_BIG_ARRAYS:
                return False
            at = find(byte, at + 1, stop)
    return True

# Length prefix byte -> (prefix size, struct to read the length, or None for fixint).
_PREFIXES: Final[Mapping[int, tuple[int, struct.Struct]]] = {
    0xCC: (2, struct.Struct(">B")),
    0xCD: (3, struct.Struct(">H")),
    0xCE: (5, struct.Struct(">I")),
    0xCF: (9, struct.Struct(">Q")),
}


def _new_unpacker(limit: int) -> msgpack.Unpacker:
    """An unpacker for packets of at most ``limit`` bytes (no object in them is larger)."""
    limit = max(limit, 1024)
    return msgpack.Unpacker(
        raw=False,
        strict_map_key=False,
        unicode_errors="surrogateescape",
        ext_hook=_ext_hook,
        # The buffer holds whatever complete packets feed() framed: no limit
        # there.  Lengths claimed inside a packet are bounded by its size, so
        # a bad array header never makes the unpacker allocate a huge list.
        max_buffer_size=0,
        max_str_len=limit,
        max_bin_len=limit,
        max_array_len=limit,
        max_map_len=limit,
        max_ext_len=limit,
    )


def _new_checker() -> msgpack.Unpacker:
    """An unpacker that only walks packets (``skip``): it builds nothing, so needs no limits."""
    return msgpack.Unpacker(max_buffer_size=0)


def _malformed(exc: Exception) -> ProtocolError:
    return ProtocolError(f"malformed reply packet: {type(exc).__name__}: {exc}")


class IprotoParser:
    """Incremental parser of the reply stream after the greeting.

    Give it bytes as they arrive with :meth:`feed`, then take the replies
    with :meth:`read_all` (or one at a time with :meth:`gets` until it
    returns :data:`~greenpool.protocol.NEED_DATA`): the vocabulary of
    :class:`~greenpool.protocol.RespParser` too.  :meth:`next_response`
    (None instead of NEED_DATA) and :meth:`drain` are the older names.
    Packets may be split or joined anywhere.

    Memory stays bounded: a length prefix above ``max_packet_size`` is
    refused as soon as its bytes arrive, so besides complete packets not yet
    taken by :meth:`gets` the parser holds at most one incomplete
    packet (``max_packet_size`` plus a 9-byte prefix); what decoding a
    packet reserves is bounded as the module docstring says.

    Bad bytes raise :class:`~greenpool.errors.ProtocolError` from
    :meth:`gets`, after the replies that came before them.  From
    then on the parser is dead: :meth:`feed` and :meth:`gets`
    raise the same error again, since the stream's state is unknown and the
    connection must be closed.  Error *replies* are not raised: see
    :attr:`Reply.error`.  Raises
    :class:`~greenpool.errors.ConfigurationError` for a bad
    ``max_packet_size``.

    How it decodes: :meth:`feed` finds where each packet ends (reading only
    the length prefixes) and hands every run of complete packets to one
    long-lived streaming unpacker at once; :meth:`gets` then
    unpacks the next packet's header and body from that stream and checks
    that they end exactly where the length prefix said.  A packet larger
    than 1 MiB is kept apart and decoded by an unpacker of its own.
    """

    __slots__ = (
        "_checker", "_error", "_fed", "_oversized", "_queue", "_raised", "_tail", "_unpacker",
        "max_packet_size",
    )  # fmt: skip

    def __init__(self, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        limit = check_int("max_packet_size", max_packet_size, minimum=1)
        assert limit is not None
        self.max_packet_size = limit
        self._tail = bytearray()
        # For each complete packet, in order: the stream offset (of the
        # shared unpacker) where it ends, or the payload of a big packet.
        self._queue: deque[int | bytes] = deque()
        self._unpacker = _new_unpacker(min(limit, _SHARED_UNPACKER_LIMIT))
        self._fed = 0  # bytes fed to the shared unpacker so far
        self._oversized = False  # its buffer grew past the limit: replace it once drained
        self._error: ProtocolError | None = None
        self._raised = False
        self._checker = _new_checker()

    @property
    def buffered(self) -> int:
        """How many bytes of an incomplete packet the parser holds."""
        return len(self._tail)

    @property
    def pending(self) -> int:
        """How many complete packets wait for :meth:`gets`."""
        return len(self._queue)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes received from the server.

        Raises the parser's :class:`~greenpool.errors.ProtocolError` if one
        was already raised by :meth:`gets`; bytes fed after a
        problem was found but before it was raised are dropped.
        """
        if self._error is not None:
            if self._raised:
                raise self._error
            return
        if not data:
            return
        tail = self._tail
        if not tail and type(data) is bytes and data[0] == 0xCE and len(data) >= 5:
            # Fast path: a chunk that is exactly one packet with the uint32
            # length prefix Tarantool always uses.
            size = _U32.unpack_from(data, 1)[0]
            if size + 5 == len(data) and size <= _SHARED_UNPACKER_LIMIT \
                    and size <= self.max_packet_size \
                    and (size <= _UNCHECKED or _few_big_arrays(data.find, 0, size + 5)):
                self._unpacker.feed(data)
                self._fed += size + 5
                self._queue.append(self._fed)
                return
        if tail:
            tail += data
            with memoryview(tail) as view:
                used = self._take(tail, view)
            del tail[:used]
        else:
            chunk = data if type(data) is bytes else bytes(data)
            with memoryview(chunk) as view:
                used = self._take(chunk, view)
            if used < len(chunk):
                self._tail = bytearray(chunk[used:])
        if self._error is not None:
            self._tail = bytearray()

    def _take(self, data: bytes | bytearray, buf: memoryview) -> int:
        """Queue the complete packets at the start of ``data``; return the bytes used.

        ``buf`` is a memoryview of ``data``.
        """
        queue = self._queue
        find = data.find
        limit = self.max_packet_size
        end = len(buf)
        pos = 0
        run = 0  # where the packets not yet fed to the shared unpacker start
        base = self._fed  # the stream offset of buf[run]
        while pos < end:
            first = buf[pos]
            if first == 0xCE:  # what Tarantool sends
                start = pos + 5
                if start > end:
                    break
                (size,) = _U32.unpack_from(buf, pos + 1)
            elif first <= 0x7F:
                start = pos + 1
                size = first
            else:
                prefix = _PREFIXES.get(first)
                if prefix is None:
                    self._error = ProtocolError(
                        f"bad packet length prefix byte {first:#04x}: not a MessagePack uint"
                    )
                    break
                start = pos + prefix[0]
                if start > end:
                    break
                (size,) = prefix[1].unpack_from(buf, pos + 1)
            if size > limit:
                self._error = ProtocolError(
                    f"reply packet of {size} bytes exceeds max_packet_size={limit}"
                )
                break
            stop = start + size
            if stop > end:
                break
            if size > _UNCHECKED and not _few_big_arrays(find, start, stop):
                problem = self._check(buf[start:stop])
                if problem is not None:
                    self._error = problem
                    break
            if size > _SHARED_UNPACKER_LIMIT:
                if pos > run:
                    self._feed_shared(buf[run:pos])
                queue.append(bytes(buf[start:stop]))
                run = stop
                base = self._fed
            else:
                queue.append(base + stop - run)
            pos = stop
        if pos > run:
            self._feed_shared(buf[run:pos])
        return pos

    def _check(self, payload: memoryview) -> ProtocolError | None:
        """Walk the packet's objects without building them; the problem, or None.

        Every length the packet claims must be filled by its own bytes, so
        that decoding it allocates in proportion to its size.  The walk runs
        in C and reserves nothing.
        """
        checker = self._checker
        end = checker.tell() + len(payload)  # tell() counts from the checker's start
        try:
            checker.feed(payload)
            checker.skip()  # the header
            if checker.tell() < end:
                checker.skip()  # the body
        except Exception as exc:  # any failure to walk untrusted bytes
            self._checker = _new_checker()
            return _malformed(exc)
        at = checker.tell()
        if at != end:
            self._checker = _new_checker()
            return _misfit(at, end)
        if len(payload) > _SHARED_UNPACKER_LIMIT:
            self._checker = _new_checker()  # let its big buffer go
        return None

    def _feed_shared(self, packets: memoryview) -> None:
        unpacker = self._unpacker
        unpacker.feed(packets)
        self._fed += len(packets)
        if self._fed - unpacker.tell() > _SHARED_UNPACKER_LIMIT:
            self._oversized = True

    @property
    def failed(self) -> bool:
        """True once bad bytes were found.

        The replies that arrived complete before them are still returned;
        after those, every call raises ProtocolError.
        """
        return self._error is not None

    def gets(self) -> Reply | _NeedData:
        """Return the next complete reply, or :data:`NEED_DATA` if more bytes are needed.

        Raises :class:`~greenpool.errors.ProtocolError` if the stream breaks
        the protocol (and on every call after that).
        """
        replies = self._decode(1)
        return replies[0] if replies else NEED_DATA

    def read_all(self) -> list[Reply]:
        """Return every complete reply now available, in order (maybe none).

        The same as calling :meth:`gets` until it returns NEED_DATA, but
        cheaper per reply.  Bad bytes end the list: the replies before them
        are returned, and the next call raises (see :attr:`failed`).
        """
        return self._decode(len(self._queue))

    def next_response(self) -> Reply | None:
        """:meth:`gets`, with None for NEED_DATA (the older spelling)."""
        replies = self._decode(1)
        return replies[0] if replies else None

    #: The older spelling of :meth:`read_all`.
    drain = read_all

    def _decode(self, limit: int) -> list[Reply]:
        """Decode up to ``limit`` queued packets (see :meth:`drain`)."""
        out: list[Reply] = []
        queue = self._queue
        if queue:
            unpacker = self._unpacker
            skip, unpack, tell = unpacker.skip, unpacker.unpack, unpacker.tell
            append = out.append
            try:
                for _ in range(limit):
                    end = queue.popleft()
                    if type(end) is int:
                        try:
                            skip()  # the length prefix: feed() read it already
                            header = unpack()
                            at = tell()
                            if at < end:
                                body = unpack()
                                at = tell()
                            else:
                                body = {}
                        except Exception as exc:  # any failure to decode untrusted bytes
                            raise _malformed(exc) from exc
                        if at != end:
                            raise _misfit(at, end)
                    else:
                        header, body = _decode_alone(cast(bytes, end))
                    # The usual reply, {TYPE: OK, SYNC: n, SCHEMA_VERSION: n}
                    # {DATA: [...]}, is checked and built inline; anything
                    # else goes through _decode_reply.
                    if type(header) is dict and type(body) is dict and len(body) == 1:
                        kind = header.get(_TYPE)
                        sync = header.get(_SYNC)
                        version = header.get(_SCHEMA_VERSION)
                        data = body.get(_DATA)
                        if (
                            kind == 0
                            and type(kind) is int
                            and type(sync) is int
                            and sync >= 0
                            and (type(version) is int or version is None)
                            and type(data) is list
                        ):
                            reply = _new_object(Reply)
                            reply.type = kind
                            reply.sync = sync
                            reply.schema_version = version
                            reply._body = _PLAIN_BODY  # {DATA: data}, made when read
                            reply.data = data
                            reply.error = reply.metadata = reply.sql_info = None
                            append(reply)
                            continue
                    append(_decode_reply(header, body))
            except ProtocolError as exc:
                self._error = exc
                queue.clear()
                self._tail = bytearray()
            if not queue and self._oversized:
                self._unpacker = _new_unpacker(min(self.max_packet_size, _SHARED_UNPACKER_LIMIT))
                self._fed = 0
                self._oversized = False
        if not out and self._error is not None:
            self._raised = True
            raise self._error
        return out

    def __iter__(self) -> Iterator[Reply]:
        """Yield the replies available now (see :meth:`gets`)."""
        while replies := self._decode(1):
            yield replies[0]


def _misfit(at: int, end: int) -> ProtocolError:
    if at > end:
        return ProtocolError(
            "malformed reply packet: its header or body runs past the length its prefix gives"
        )
    return ProtocolError(f"reply packet has {end - at} bytes after its body")


_new_object = object.__new__


def _decode_alone(payload: bytes) -> tuple[Any, Any]:
    """Decode a big packet's header and body with an unpacker of its own."""
    size = len(payload)
    unpacker = _new_unpacker(size)
    try:
        unpacker.feed(payload)
        header = unpacker.unpack()
        body = unpacker.unpack() if unpacker.tell() < size else {}
        used = unpacker.tell()
    except Exception as exc:  # any failure to decode untrusted bytes
        raise _malformed(exc) from exc
    if used != size:
        raise ProtocolError(f"reply packet has {size - used} bytes after its body")
    return header, body
