"""The pure-Python RESP2/RESP3 reply parser, plus the pieces both parsers share.

Nothing here does I/O.  :mod:`greenpool.protocol.resp` is the public face.
The parser here is used on its own when hiredis is not, and the hiredis
wrapper hands it the few items hiredis must not parse (big numbers, blob
errors, attributes, aggregates of a million elements or more, RESP3 types
under RESP2).

Both implementations must accept and reject exactly the same streams, so where
hiredis parses an item type, the checks here reproduce its rules (integer and
double syntax, CR/LF in simple strings, the verbatim-string prefix ...), and a
few errors are reported at the moment hiredis would report them:

* a reply nested deeper than ``max_depth`` is refused once the whole reply
  has arrived (hiredis builds the reply before it can be measured), but an
  aggregate header deeper than :data:`MAX_NESTING` at once, as hiredis does;
* aggregate lengths are charged to a :class:`ClaimBudget` at the same stream
  offsets in both implementations (this parser reserves nothing for a
  length, but must refuse what the hiredis wrapper refuses);
* an aggregate used as a map key is refused as soon as its header is read,
  unless it has an attribute in front of it or at least a million elements
  (those are parsed here for the hiredis wrapper too, and refused once the key
  is complete);
* when ``encoding`` is set and a string does not decode, the error is raised
  once the reply is complete, the reply is dropped, and the parser stays
  usable; this takes precedence over a depth error in the same reply.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, Final

from ..errors import ProtocolError, ReplyError
from ._common import NEED_DATA

__all__ = [
    "BIG_AGGREGATE",
    "COUNTED_CLAIM",
    "MAX_AGGREGATE_LENGTH",
    "MAX_NESTING",
    "MAX_UNBACKED_CLAIM",
    "NEED_DATA",
    "RESP2_TYPES",
    "RESP3_TYPES",
    "ClaimBudget",
    "Push",
    "PythonParser",
    "parse_bignum",
    "parse_double",
    "parse_integer",
    "parse_length",
]


class Push(list):  # type: ignore[type-arg]
    """A RESP3 push message (``>``): out-of-band data such as a pub/sub message.

    It is a plain ``list`` otherwise; the connection layer uses ``isinstance(x,
    Push)`` to route it away from the request/reply queue.  Only a push at the
    top level of the stream is a :class:`Push`; a ``>`` nested inside another
    aggregate is not out-of-band and is returned as an ordinary list.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Push({list.__repr__(self)})"


MAX_AGGREGATE_LENGTH: Final = 2**32 - 1
"""The largest element count accepted for an aggregate (hiredis' own limit)."""

BIG_AGGREGATE: Final = 10**6
"""Aggregates with at least this many elements are parsed here, never by hiredis.

hiredis allocates the whole list when it reads the header (8 bytes per
claimed element); this parser appends elements as they arrive.
"""

MAX_NESTING: Final = 1024
"""The deepest nesting any reply may have, refused at once beyond (hiredis' own limit).

``max_depth`` is at most this; it is checked once a reply is complete, this
as soon as the header that goes too deep arrives.
"""

COUNTED_CLAIM: Final = 100
"""Aggregate lengths from this up to :data:`BIG_AGGREGATE` draw on a :class:`ClaimBudget`."""

MAX_UNBACKED_CLAIM: Final = 2**20
"""How many elements the counted aggregate lengths may claim ahead of the bytes."""

_FULL_ROOM: Final = 3 * MAX_UNBACKED_CLAIM
_MAX_FRAMES: Final = 2 * MAX_NESTING


class ClaimBudget:
    """How far a stream's aggregate headers may claim elements ahead of its bytes.

    hiredis reserves a list of the claimed length when it reads an aggregate
    header, before any element arrives, so ``*999999\r\n`` repeated 900 times
    (9 kB) would reserve 7 GB.  Every element takes at least 3 bytes (``_``
    and CRLF), so a stream that really sends its elements never claims much
    more than a third of its bytes.  The budget is a leaky bucket counted in
    elements: it starts at :data:`MAX_UNBACKED_CLAIM`, every byte of the
    stream refills a third of an element (never above the start), and every
    aggregate header at an item start whose length is at least
    :data:`COUNTED_CLAIM` and below :data:`BIG_AGGREGATE` takes its length
    (twice the length for a map, and for a push, whose list hiredis
    builds twice over: a list, then a copy as a ``PushNotification``).  An
    empty bucket is a ProtocolError.

    So what the lists of one stream reserve ahead of their elements stays
    below 8 MiB plus 8/3 bytes per byte of the replies being received, plus
    at most 800 bytes per uncounted level (1024 levels at most: about
    0.8 MB).  A valid stream is refused only if the lengths of aggregates
    open at the same time claim more than 2**20 elements its bytes have not
    yet delivered (one of at least 10**6 elements claims nothing: the Python
    parser takes it).  Both RESP engines count exactly the same headers at
    the same stream offsets, so they refuse the same streams.
    """

    __slots__ = ("_at", "_room")

    def __init__(self) -> None:
        self._room = _FULL_ROOM  # in thirds of an element
        self._at = 0  # the stream offset the room was last brought up to

    def claim(self, offset: int, count: int) -> None:
        """Charge ``count`` elements to the header at stream ``offset``.

        Raises ProtocolError when the budget cannot cover them.
        """
        room = self._room + offset - self._at
        if room > _FULL_ROOM:
            room = _FULL_ROOM
        room -= 3 * count
        if room < 0:
            raise ProtocolError(
                f"aggregate lengths claim more than {MAX_UNBACKED_CLAIM} elements "
                f"ahead of the bytes received (header at byte {offset}, length {count})"
            )
        self._room = room
        self._at = offset

RESP2_TYPES: Final = frozenset(b"+-:$*")
RESP3_TYPES: Final = frozenset(b"+-:$*_#,(!=%~|>")

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
# Frequent lengths and small integers skip the regular expression.
_SMALL_INTS: Final[dict[bytes, int]] = {str(i).encode(): i for i in range(-1, 10000)}
# hiredis' double grammar: an optional '-' (never '+'), digits with an optional
# fraction (".5" and "5." both allowed) and an optional exponent; no spaces, no
# hex, no underscores.  Infinities and NaN are spelled exactly as below.
_DOUBLE = re.compile(rb"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DOUBLE_SPECIALS: Final = frozenset((b"inf", b"-inf", b"nan", b"-nan"))
_DOUBLE_MAX_LENGTH: Final = 325
_MANTISSA_NONZERO = re.compile(rb"[^eE]*[1-9]")
_BIGNUM = re.compile(rb"-?[0-9]+")
_INF: Final = float("inf")

# Aggregate type bytes.
_AGGREGATES: Final = frozenset(b"*%~>|")
_MAP: Final = 37  # %
_PUSH: Final = 62  # >
_ATTRIBUTE: Final = 124  # |
_SKIP: Final = object()


def parse_length(raw: bytes, what: str) -> int:
    """Return ``raw`` (a length or count field) as an int.

    Raises ProtocolError unless ``raw`` is a canonical decimal integer.
    (The parser looks the frequent small values up in a table first.)
    """
    if raw.isdigit():
        valid = raw[0] != 48
    elif raw[:1] == b"-":
        digits = raw[1:]
        valid = digits.isdigit() and digits[0] != 48
    else:
        valid = False
    if not valid:
        raise ProtocolError(f"bad {what}: {raw[:40]!r}")
    return int(raw)


def parse_integer(raw: bytes) -> int:
    """Return the RESP integer ``raw`` as an int; raise ProtocolError if malformed.

    Like hiredis: canonical decimal only (no '+', no leading zeros, no "-0"),
    within the signed 64-bit range.
    """
    value = parse_length(raw, "integer")
    if value < _INT64_MIN or value > _INT64_MAX:
        raise ProtocolError(f"integer out of range: {raw[:40]!r}")
    return value


def parse_double(raw: bytes) -> float:
    """Return the RESP3 double ``raw`` as a float; raise ProtocolError if malformed.

    Accepts exactly what hiredis accepts: ``inf``/``-inf``/``nan``/``-nan`` in any
    case, otherwise a finite decimal that does not underflow to zero.
    """
    if len(raw) > _DOUBLE_MAX_LENGTH:
        raise ProtocolError("double value is too long")
    if _DOUBLE.fullmatch(raw) is None:
        if raw.lower() not in _DOUBLE_SPECIALS:
            raise ProtocolError(f"bad double value: {raw[:40]!r}")
        return float(raw)  # a new object each time, like hiredis: NaN keys stay apart
    value = float(raw)
    if value == _INF or value == -_INF or (value == 0.0 and _MANTISSA_NONZERO.match(raw)):
        raise ProtocolError(f"double value out of range: {raw[:40]!r}")
    return value


def parse_bignum(raw: bytes) -> int:
    """Return the RESP3 big number ``raw`` as an int; raise ProtocolError if malformed.

    A big number longer than the interpreter's integer-string limit (see
    ``sys.set_int_max_str_digits``) is refused as well.
    """
    if _BIGNUM.fullmatch(raw) is None:
        raise ProtocolError(f"bad big number: {raw[:40]!r}")
    try:
        return int(raw)
    except ValueError:
        raise ProtocolError(f"big number has too many digits ({len(raw)})")


def _map_with_duplicate_keys(elements: list[Any]) -> dict[Any, Any]:
    """The dict hiredis builds for a map whose keys repeat (Redis never sends one).

    hiredis inserts each key with the value None, then pops the *last* entry
    of the dict and gives that key the value; a repeated key keeps its old
    place, so its value lands on another key.  Copied so results stay equal.
    """
    result: dict[Any, Any] = {}
    for index in range(0, len(elements), 2):
        result[elements[index]] = None
        key, _ = result.popitem()
        result[key] = elements[index + 1]
    return result


class _Raise:
    """An error queued among parsed replies, raised when its turn comes."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class PythonParser:
    """Incremental RESP parser written in Python.

    Bytes are appended with :meth:`feed`; :meth:`gets` returns one reply or
    :data:`NEED_DATA`.  One parse pass takes every complete reply buffered
    (queued for the next ``gets`` calls, errors queued in their turn), which
    spreads the cost of a call over many small replies.  Parsing resumes where
    it stopped: a partly received aggregate keeps its finished elements on a
    stack, and a partly received bulk string is not looked at again until
    enough bytes for it have arrived.  Arguments are validated by
    :class:`greenpool.protocol.resp.RespParser`.

    With ``nested=True`` (the hiredis wrapper's mode) a push is returned as a
    plain list with :attr:`last_was_push` set, and a decode or depth error is
    not raised but left in :attr:`deferred_error` for the caller.

    Nothing is reserved for a claimed length (elements are appended as they
    arrive), and the open aggregates are at most :data:`MAX_NESTING` deep,
    so a stream can't make it hold much more than the replies it really
    sends.  The :class:`ClaimBudget` is applied all the same, so that both
    engines refuse the same streams.
    """

    def __init__(
        self,
        protocol: int,
        max_bulk_length: int,
        max_depth: int,
        max_line_length: int,
        encoding: str | None,
        errors: str,
        nested: bool = False,
        budget: ClaimBudget | None = None,
        base: int = 0,
    ) -> None:
        self._types = RESP3_TYPES if protocol == 3 else RESP2_TYPES
        # The hiredis wrapper shares its budget with the parsers it hands
        # items to, and says where in the stream their bytes start.
        self._budget = ClaimBudget() if budget is None else budget
        self._base = base  # the stream offset of _buf[0]
        self._max_bulk = max_bulk_length
        self._max_depth = max_depth
        self._max_line = max_line_length
        self._encoding = encoding
        self._errors = errors
        self._nested = nested
        self._buf = b""
        self._pos = 0
        # Bytes fed since the last parse, joined only once they can help.
        self._chunks: list[bytes] = []
        self._chunks_len = 0
        # How many bytes (counted from _pos) must be held before parsing can
        # make progress again.
        self._need = 1
        # One frame per open aggregate: [elements, remaining, type byte, depth].
        self._stack: list[list[Any]] = []
        self._after_attribute = False
        self._too_deep = False
        self._decode_error: UnicodeDecodeError | None = None
        # Replies parsed ahead of gets(), and errors to raise in their turn.
        self._ready: deque[Any] = deque()
        self._failed: str | None = None
        self.last_was_push = False
        self.deferred_error: Exception | None = None

    # -- input ---------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` to the buffer; raise ProtocolError if the parser failed before."""
        if self._failed is not None:
            raise ProtocolError(self._failed)
        if data:
            self._chunks.append(bytes(data))
            self._chunks_len += len(data)

    @property
    def failed(self) -> bool:
        """True once bad bytes were found (the replies before them still come out first)."""
        return self._failed is not None

    @property
    def buffered(self) -> int:
        """Bytes held that are not yet part of a returned reply or a parsed element."""
        return len(self._buf) - self._pos + self._chunks_len

    def take_rest(self) -> bytes:
        """Remove and return every byte not consumed yet (for the hiredis wrapper)."""
        rest = self._buf[self._pos :] + b"".join(self._chunks)
        self._buf = b""
        self._pos = 0
        self._chunks = []
        self._chunks_len = 0
        return rest

    def _join(self) -> None:
        chunks = self._chunks
        if self._pos >= len(self._buf):
            self._base += len(self._buf)
            self._buf = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        else:
            self._base += self._pos
            chunks.insert(0, self._buf[self._pos :])
            self._buf = b"".join(chunks)
        self._pos = 0
        self._chunks = []
        self._chunks_len = 0

    # -- output --------------------------------------------------------------

    def gets(self) -> Any:
        """Return the next complete reply, or NEED_DATA.

        Raises ProtocolError on malformed input (and on every call after that),
        and UnicodeDecodeError when ``encoding`` is set with ``errors="strict"``
        and a string in the reply does not decode; that reply is dropped and
        the parser stays usable.  Replies that arrived complete before the
        malformed bytes are returned first.
        """
        ready = self._ready
        if not ready:
            if self._failed is not None:
                raise ProtocolError(self._failed)
            chunks = self._chunks
            if chunks:
                if len(self._buf) - self._pos + self._chunks_len < self._need:
                    return NEED_DATA
                if len(chunks) == 1 and self._pos >= len(self._buf):
                    self._base += len(self._buf)
                    self._buf = chunks[0]  # the usual case: no copy
                    self._pos = 0
                    self._chunks = []
                    self._chunks_len = 0
                else:
                    self._join()
            elif len(self._buf) - self._pos < self._need:
                return NEED_DATA
            try:
                self._parse(False)
            except ProtocolError as exc:
                self._queue_failure(exc)
            if not ready:
                return NEED_DATA
        value = ready.popleft()
        if type(value) is _Raise:
            if isinstance(value.error, ProtocolError):
                self._fail(str(value.error))
            raise value.error
        return value

    def gets_one(self) -> Any:
        """Parse one reply for the hiredis wrapper (``nested`` mode), or NEED_DATA.

        A decode or depth error is left in :attr:`deferred_error`; a decode
        error makes the returned value None.  Raises ProtocolError.
        """
        if self._failed is not None:
            raise ProtocolError(self._failed)
        self.last_was_push = False
        if self._chunks:
            self._join()
        try:
            return self._parse(True)
        except ProtocolError as exc:
            self._fail(str(exc))
            raise

    def _queue_failure(self, error: ProtocolError) -> None:
        """Fail after the replies parsed before the bad bytes are returned."""
        self._ready.append(_Raise(error))
        self._failed = str(error)
        self._buf = b""
        self._pos = 0
        self._stack = []

    def _fail(self, message: str) -> None:
        self._failed = message
        self._buf = b""
        self._pos = 0
        self._chunks = []
        self._chunks_len = 0
        self._stack = []
        self._ready.clear()

    def _decode(self, raw: bytes) -> Any:
        try:
            return raw.decode(self._encoding, self._errors)  # type: ignore[arg-type]
        except UnicodeDecodeError as exc:
            if self._decode_error is None:
                self._decode_error = exc
            return None

    def _reply_problem(self, value: Any) -> Any:
        """Apply a decode or depth error found in the reply just completed."""
        decode_error = self._decode_error
        self._decode_error = None
        self._too_deep = False
        error: Exception = (
            decode_error
            if decode_error is not None
            else ProtocolError(f"reply nested deeper than max_depth={self._max_depth}")
        )
        if self._nested:
            self.deferred_error = error
            return None if decode_error is not None else value
        if decode_error is None:
            raise error  # a ProtocolError: stop parsing here
        return _Raise(error)

    def _parse(self, single: bool) -> Any:
        buf = self._buf
        pos = self._pos
        end_of_data = len(buf)
        window = self._max_line + 2  # where the CR of a line must be
        max_bulk = self._max_bulk
        encoding = self._encoding
        types = self._types
        small_ints = _SMALL_INTS
        find = buf.find
        ready_append = self._ready.append
        after_attribute = self._after_attribute
        # The innermost open aggregate lives in locals; its parents on the stack.
        stack = self._stack
        if stack:
            elements, left, frame_kind, depth = stack.pop()
        else:
            elements = None
            left = frame_kind = depth = 0
        while True:
            # -- one item starting at pos --------------------------------
            # A line is the type byte, at most max_line bytes, then CRLF.  A CR
            # not followed by LF makes it invalid, but (like hiredis) that is
            # only reported once the line's real CRLF has arrived; a line
            # too long is reported once max_line + 3 bytes show no CRLF.
            eol = find(b"\r", pos, pos + window)
            if eol < 0 or eol + 1 >= end_of_data or buf[eol + 1] != 10:
                if find(b"\r\n", pos, pos + window + 1) >= 0:
                    raise ProtocolError("line contains a CR not followed by LF")
                if end_of_data - pos > window:
                    raise ProtocolError(f"line longer than max_line_length={self._max_line}")
                if pos < end_of_data and buf[pos] not in types:
                    # Garbage needs no line end to be refused (hiredis reads
                    # the type byte first too).
                    raise ProtocolError(f"unexpected reply type byte {chr(buf[pos])!r}")
                self._need = end_of_data - pos + 1
                break
            kind = buf[pos]
            if kind == 36:  # $ bulk string
                raw = buf[pos + 1 : eol]
                length = small_ints.get(raw)
                if length is None:
                    length = parse_length(raw, "bulk string length")
                if length < 0:
                    if length != -1:
                        raise ProtocolError(f"bad bulk string length: {length}")
                    value: Any = None
                    pos = eol + 2
                else:
                    if length > max_bulk:
                        raise ProtocolError(
                            f"bulk string of {length} bytes exceeds max_bulk_length={max_bulk}"
                        )
                    stop = eol + 2 + length
                    if stop + 2 > end_of_data:
                        self._need = stop + 2 - pos
                        break
                    if buf[stop] != 13 or buf[stop + 1] != 10:
                        raise ProtocolError("bulk string not followed by CRLF")
                    value = buf[eol + 2 : stop]
                    if encoding is not None:
                        value = self._decode(value)
                    pos = stop + 2
            elif kind == 58:  # : integer
                raw = buf[pos + 1 : eol]
                value = small_ints.get(raw)
                if value is None:
                    value = parse_integer(raw)
                pos = eol + 2
            elif kind == 43:  # + simple string
                value = buf[pos + 1 : eol]
                if b"\n" in value:
                    raise ProtocolError("simple string contains LF")
                if encoding is not None:
                    value = self._decode(value)
                pos = eol + 2
            elif kind == 45:  # - error
                raw = buf[pos + 1 : eol]
                if b"\n" in raw:
                    raise ProtocolError("error message contains LF")
                value = ReplyError(raw.decode("utf-8", "replace"))
                pos = eol + 2
            elif kind not in types:
                raise ProtocolError(f"unexpected reply type byte {chr(kind)!r}")
            elif kind in _AGGREGATES:  # * array, % map, ~ set, > push, | attribute
                new_depth = 1 if kind == _ATTRIBUTE else depth + 1
                if new_depth > MAX_NESTING:
                    # Like hiredis: refused at the header, whatever its length.
                    raise ProtocolError(f"reply nested deeper than {MAX_NESTING} levels")
                if len(stack) >= _MAX_FRAMES:
                    # Attributes nest without adding to the depth above; this
                    # bounds the stack (hiredis with the items it hands this
                    # parser also holds at most twice MAX_NESTING levels).
                    raise ProtocolError(f"reply nested deeper than {_MAX_FRAMES} levels")
                raw = buf[pos + 1 : eol]
                count = small_ints.get(raw)
                if count is None:
                    count = parse_length(raw, "aggregate length")
                if COUNTED_CLAIM <= count < BIG_AGGREGATE and kind != _ATTRIBUTE:
                    self._budget.claim(
                        self._base + pos, 2 * count if kind in (_MAP, _PUSH) else count
                    )
                pos = eol + 2
                if count < 0 or count > MAX_AGGREGATE_LENGTH:
                    if count != -1 or kind == _ATTRIBUTE:
                        raise ProtocolError(f"aggregate length out of range: {count}")
                    value = None
                else:
                    if (
                        frame_kind == _MAP
                        and kind != _ATTRIBUTE
                        and elements is not None
                        and not len(elements) & 1
                        and count < BIG_AGGREGATE
                        and not after_attribute
                    ):
                        # An aggregate as a map key: hiredis fails as soon as
                        # it creates the container.  Where this parser does
                        # the work for hiredis (after an attribute, or for a
                        # huge aggregate) the key is refused once complete.
                        raise ProtocolError("map key is an aggregate (not hashable)")
                    if new_depth > self._max_depth:
                        self._too_deep = True
                    after_attribute = False
                    new: list[Any] = (
                        Push() if kind == _PUSH and elements is None and not self._nested else []
                    )
                    if count:
                        if elements is not None:
                            stack.append([elements, left, frame_kind, depth])
                        if kind in (_MAP, _ATTRIBUTE):
                            count *= 2
                        elements, left, frame_kind, depth = new, count, kind, new_depth
                        continue
                    value = self._finish(new, kind, elements is None)
                    if value is _SKIP:
                        after_attribute = True
                        continue
            elif kind == 95:  # _ null
                if eol != pos + 1:
                    raise ProtocolError("null with a payload")
                value = None
                pos = eol + 2
            elif kind == 35:  # # boolean
                raw = buf[pos + 1 : eol]
                if raw == b"t" or raw == b"T":
                    value = True
                elif raw == b"f" or raw == b"F" or raw == b"\x00":
                    # hiredis tests the byte with strchr("tTfF", c), which
                    # also matches the terminating NUL: it reads "#\0" as false.
                    value = False
                else:
                    raise ProtocolError(f"bad boolean: {raw[:40]!r}")
                pos = eol + 2
            elif kind == 44:  # , double
                value = parse_double(buf[pos + 1 : eol])
                pos = eol + 2
            elif kind == 40:  # ( big number
                value = parse_bignum(buf[pos + 1 : eol])
                pos = eol + 2
            else:  # ! blob error, = verbatim string
                raw = buf[pos + 1 : eol]
                length = small_ints.get(raw)
                if length is None:
                    length = parse_length(raw, "string length")
                if length < 0:
                    if length != -1 or kind == 33:
                        raise ProtocolError(f"bad string length: {length}")
                    value = None
                    pos = eol + 2
                else:
                    if length > max_bulk:
                        raise ProtocolError(
                            f"string of {length} bytes exceeds max_bulk_length={max_bulk}"
                        )
                    start = eol + 2
                    stop = start + length
                    if stop + 2 > end_of_data:
                        self._need = stop + 2 - pos
                        break
                    if buf[stop] != 13 or buf[stop + 1] != 10:
                        what = "blob error" if kind == 33 else "verbatim string"
                        raise ProtocolError(f"{what} not followed by CRLF")
                    if kind == 33:
                        value = ReplyError(buf[start:stop].decode("utf-8", "replace"))
                    else:
                        if length < 4 or buf[start + 3] != 58:
                            raise ProtocolError("verbatim string without a 3-byte format and ':'")
                        value = buf[start + 4 : stop]
                        if encoding is not None:
                            value = self._decode(value)
                    pos = stop + 2

            # -- hand the value to its parent (or return it) ---------------
            after_attribute = False
            while elements is not None:
                if frame_kind == _MAP and not len(elements) & 1:
                    vtype = type(value)
                    if vtype is list or vtype is dict:
                        raise ProtocolError("map key is an aggregate (not hashable)")
                elements.append(value)
                left -= 1
                if left:
                    break
                value = self._finish(elements, frame_kind, not stack)
                if stack:
                    elements, left, frame_kind, depth = stack.pop()
                else:
                    elements = None
                    depth = 0
                if value is _SKIP:
                    after_attribute = True
                    break
            else:
                # A complete top-level reply.
                if self._too_deep or self._decode_error is not None:
                    self._pos = pos
                    self._after_attribute = after_attribute
                    value = self._reply_problem(value)
                if single:
                    self._pos = pos
                    self._need = 1
                    self._after_attribute = after_attribute
                    return value
                ready_append(value)
        # Not enough data: park the open aggregate with its parents.
        self._pos = pos
        self._after_attribute = after_attribute
        if elements is not None:
            stack.append([elements, left, frame_kind, depth])
        return NEED_DATA

    def _finish(self, elements: list[Any], kind: int, top: bool) -> Any:
        if kind == _MAP:
            it = iter(elements)
            result = dict(zip(it, it, strict=False))
            if len(result) * 2 != len(elements):
                result = _map_with_duplicate_keys(elements)
            return result
        if kind == _ATTRIBUTE:
            return _SKIP
        if kind == _PUSH and top:
            self.last_was_push = True
        return elements
