"""RESP (the Redis protocol, versions 2 and 3): commands to bytes, bytes to replies.

No I/O happens here: the connection layer writes what :func:`encode_command`
returns and feeds what it reads to a :class:`RespParser`.

Reply types: ``+`` simple string and ``$`` bulk string give ``bytes`` (``str``
when the parser has an ``encoding``), ``:`` and ``(`` give ``int``, ``-`` and
``!`` give a :class:`~greenpool.errors.ReplyError` *instance* (returned, not
raised; its message is always ``str``, UTF-8 with undecodable bytes
replaced), ``*`` array and ``~`` set give ``list``, ``%`` map gives ``dict``,
``_`` gives ``None``, ``#`` gives ``bool``, ``,`` gives ``float`` (``inf``,
``-inf``, ``nan`` included), ``=`` verbatim string gives its text without the
``xxx:`` format prefix, ``>`` push gives a :class:`Push` at the top level of
the stream (a push nested in another reply is a plain list), and a ``|``
attribute is parsed and dropped (the value after it is returned).  A length
of -1 gives ``None`` for ``$ * % ~ > =``.

Two implementations give identical results on every stream, however it is
split across ``feed`` calls, with the one exception below: hiredis (a C
parser) when it is installed, and a pure-Python parser otherwise.  hiredis
gets big numbers, blob errors and attributes wrong and checks no limits, so
the wrapper around it finds the few items that need care with byte searches
(which run in C), confirms that they really start an item, and has the
Python parser handle just those items; everything else stays in hiredis.
Where hiredis has quirks on input Redis never sends, the Python parser
copies them: ``#`` followed by a NUL byte reads as false, and a map whose
keys repeat gets the odd dict hiredis builds.

Limits, enforced by both implementations (a violation raises
:class:`~greenpool.errors.ProtocolError`, after the replies that arrived
complete before it, and the parser stays failed):

* a bulk, verbatim or blob-error string longer than ``max_bulk_length``;
* a line (simple string, error, number or header) longer than
  ``max_line_length`` -- so garbage without CRLF cannot grow the buffer;
* a reply nested deeper than ``max_depth``, reported once the reply is
  complete (hiredis builds a reply before it can be measured); an
  attribute's contents count from the attribute;
* an aggregate header nested deeper than 1024 levels (hiredis' own limit,
  and the largest ``max_depth``), refused as soon as it arrives; attributes,
  which do not add to that depth, may nest 2048 levels at most;
* aggregate lengths that claim elements far ahead of the bytes: hiredis
  reserves a whole list when it reads a header, so every aggregate header of
  100 to 999,999 elements draws on a budget of 2**20 elements that each byte
  received refills by a third (an element takes at least 3 bytes); an empty
  budget is refused at once (see
  :class:`~greenpool.protocol._resp_py.ClaimBudget`).  A header of a million
  elements or more is parsed in Python, which reserves nothing;
* an aggregate length above 2**32-1, a negative length other than -1, a type
  byte that is not RESP (RESP2 only knows ``+-:$*``), malformed numbers, an
  aggregate used as a map key.

So a hostile stream costs little whatever it claims: what the parser
reserves ahead of the elements that really arrived stays below about 9 MB of
address space plus 8/3 bytes per byte of the replies being received, and its
open aggregates are at most 1024 deep (a few hundred kB); anything past that
is a ProtocolError at once, not a slow ``gc.collect()``.  The
hostile-server tests in ``tests/chaos/`` keep this true for the Redis client.

The exception: hiredis does not look at the two bytes after a ``$`` or ``=``
string's payload, it skips them, where the Python parser requires CRLF.  A
stream with anything else there is refused by the Python parser; with
hiredis the replies before it are the same, and what follows is read from
the wrong place (the memory bound still holds).  Only a broken server sends
such a stream.
"""

from __future__ import annotations

import codecs
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from .._util import check_int
from ..errors import ConfigurationError, ProtocolError, ReplyError
from ._resp_py import (
    BIG_AGGREGATE,
    COUNTED_CLAIM,
    MAX_NESTING,
    NEED_DATA,
    RESP2_TYPES,
    RESP3_TYPES,
    ClaimBudget,
    Push,
    PythonParser,
    _Raise,
)

try:
    import hiredis
except ImportError:  # pragma: no cover - depends on the environment
    _hiredis: Any = None
else:
    _hiredis = hiredis

__all__ = [
    "HIREDIS_AVAILABLE",
    "NEED_DATA",
    "CommandArg",
    "Push",
    "RespParser",
    "encode_arg",
    "encode_command",
    "encode_commands",
]

HIREDIS_AVAILABLE: Final = _hiredis is not None
"""Whether hiredis can be imported (and is used by default)."""

CommandArg = bytes | bytearray | memoryview | str | int | float
"""What :func:`encode_command` accepts as one argument."""

# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------

_BULK_HEADERS: Final = [b"$%d\r\n" % n for n in range(1024)]
_ARRAY_HEADERS: Final = [b"*%d\r\n" % n for n in range(64)]
_CRLF: Final = b"\r\n"
_pack_command: Any = getattr(_hiredis, "pack_command", None)
_PACK_LIMIT: Final = 8192


def _coerce(arg: Any, index: int) -> bytes | memoryview:
    """Bytes for an argument that is not exactly bytes, str, int or float."""
    if isinstance(arg, bool):
        pass  # refused below: True/False have no single RESP spelling
    elif isinstance(arg, (bytes, bytearray)):
        return bytes(arg)
    elif isinstance(arg, memoryview):
        return arg.cast("B") if arg.c_contiguous else arg.tobytes()
    elif isinstance(arg, str):
        return str.encode(arg)
    elif isinstance(arg, int):
        return b"%d" % arg
    elif isinstance(arg, float):
        return float.__repr__(arg).encode()
    raise TypeError(
        f"command argument {index} is of type {type(arg).__name__}; "
        "expected bytes, bytearray, memoryview, str, int or float"
    )


def _append_command(parts: list[Any], args: Sequence[Any]) -> None:
    count = len(args)
    if not count:
        raise TypeError("a command needs at least one argument (its name)")
    parts.append(_ARRAY_HEADERS[count] if count < 64 else b"*%d\r\n" % count)
    append = parts.append
    for index, arg in enumerate(args):
        kind = type(arg)
        if kind is bytes:
            pass
        elif kind is str:
            arg = arg.encode()
        elif kind is int:
            arg = b"%d" % arg
        elif kind is float:
            arg = repr(arg).encode()
        else:
            arg = _coerce(arg, index)
        size = len(arg)
        append(_BULK_HEADERS[size] if size < 1024 else b"$%d\r\n" % size)
        append(arg)
        append(_CRLF)


def encode_arg(arg: CommandArg) -> bytes:
    """Return the bytes :func:`encode_command` sends for one argument.

    What a server sees of a key, so what Redis Cluster hashes into a slot.
    ``str`` as UTF-8, ``int`` in decimal, ``float`` with ``repr``; raises
    TypeError for other types and UnicodeEncodeError as
    :func:`encode_command` does.
    """
    if type(arg) is bytes:
        return arg
    if type(arg) is str:
        return arg.encode()
    data = _coerce(arg, 0)
    return data if type(data) is bytes else bytes(data)


def encode_command(*args: CommandArg) -> bytes:
    """Return the RESP array of bulk strings for one command, e.g. ``("SET", "k", 1)``.

    ``str`` is encoded as UTF-8, ``int`` in decimal, ``float`` with ``repr``
    (so it round-trips exactly; ``inf``/``-inf``/``nan`` as such).  Raises
    TypeError for any other type (``bool`` and ``None`` included), naming the
    argument's position, and for an empty command; UnicodeEncodeError for a
    ``str`` with lone surrogates.
    """
    if _pack_command is not None:
        # hiredis packs plain str/bytes/int arguments in C, about twice as fast;
        # it is slow on big arguments and knows no other type, so those stay here.
        arg: Any
        for arg in args:
            kind = type(arg)
            if kind is int:
                continue
            if (kind is not str and kind is not bytes) or len(arg) > _PACK_LIMIT:
                break
        else:
            if args:
                packed: bytes = _pack_command(args)
                return packed
    parts: list[Any] = []
    _append_command(parts, args)
    return b"".join(parts)


def encode_commands(commands: Iterable[Sequence[CommandArg]]) -> bytes:
    """Return several commands encoded back to back (a pipeline), as one ``bytes``.

    Raises what :func:`encode_command` raises; the position named in a
    TypeError is within the offending command.
    """
    parts: list[Any] = []
    for args in commands:
        _append_command(parts, args)
    return b"".join(parts)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


class RespParser:
    """Incremental RESP reply parser: feed it bytes, take replies out.

    ``RespParser(protocol=2, *, max_bulk_length=512 MiB, max_depth=64,
    max_line_length=64 KiB, encoding=None, errors="strict", use_hiredis=None)``

    ``protocol`` is 2 or 3; with 2 only the RESP2 type bytes are accepted.
    ``encoding`` (with the codec error handler ``errors``) turns simple,
    bulk and verbatim strings into ``str``; error messages are always
    ``str`` (UTF-8, undecodable bytes replaced).  ``use_hiredis``: None uses
    hiredis when it can be imported, True requires it, False never uses it.

    Methods and attributes:

    * ``feed(data)`` -- append bytes (``bytes``, ``bytearray`` or
      ``memoryview``; copied).  Raises ProtocolError if the parser failed.
      The vocabulary is the one of every parser in :mod:`greenpool.protocol`
      (:class:`~greenpool.protocol.iproto.IprotoParser` too).
    * ``gets()`` -- the next reply, or :data:`NEED_DATA` when no complete
      reply is buffered.  Raises ProtocolError on malformed input and on
      every call after that; raises UnicodeDecodeError for a reply with a
      string that does not decode (``errors="strict"``), dropping that reply
      and staying usable.
    * iterating, or ``read_all()``, gives every complete reply buffered.
    * ``buffered`` -- bytes held and not yet returned as (part of) a reply;
      after ``gets()`` returns NEED_DATA it is at most about
      ``max_bulk_length + max_line_length`` (within 1 KiB for hiredis, whose
      count includes some consumed bytes).
    * ``failed`` -- True once bad bytes were found (the replies before them
      still come out first).
    * ``implementation`` -- ``"hiredis"`` or ``"python"``.

    Raises ConfigurationError for a bad argument, and when
    ``use_hiredis=True`` but hiredis cannot be imported.
    """

    implementation: str = ""

    def __new__(
        cls,
        protocol: int = 2,
        *,
        max_bulk_length: int = 512 * 1024 * 1024,
        max_depth: int = 64,
        max_line_length: int = 64 * 1024,
        encoding: str | None = None,
        errors: str = "strict",
        use_hiredis: bool | None = None,
    ) -> RespParser:
        if isinstance(protocol, bool) or protocol not in (2, 3):
            raise ConfigurationError("protocol", protocol, "must be 2 or 3")
        check_int("max_bulk_length", max_bulk_length, minimum=0)
        check_int("max_depth", max_depth, minimum=1)
        if max_depth > MAX_NESTING:
            raise ConfigurationError(
                "max_depth", max_depth, f"must be <= {MAX_NESTING} (hiredis' own limit)"
            )
        check_int("max_line_length", max_line_length, minimum=1)
        if encoding is not None:
            if not isinstance(encoding, str):
                raise ConfigurationError("encoding", encoding, "must be a codec name or None")
            try:
                codecs.lookup(encoding)
                b"a".decode(encoding, "ignore")  # refuses bytes-to-bytes codecs like "hex"
            except LookupError:
                raise ConfigurationError("encoding", encoding, "not a known text codec") from None
        if not isinstance(errors, str):
            raise ConfigurationError("errors", errors, "must be a codec error handler name")
        try:
            codecs.lookup_error(errors)
        except LookupError:
            raise ConfigurationError("errors", errors, "unknown codec error handler") from None
        if use_hiredis is not None and not isinstance(use_hiredis, bool):
            raise ConfigurationError("use_hiredis", use_hiredis, "must be True, False or None")
        if use_hiredis and _hiredis is None:
            raise ConfigurationError("use_hiredis", use_hiredis, "hiredis is not installed")
        config = (protocol, max_bulk_length, max_depth, max_line_length, encoding, errors)
        parser: RespParser
        if use_hiredis is False or _hiredis is None:
            parser = object.__new__(_PythonRespParser)
            PythonParser.__init__(parser, *config)
        else:
            parser = object.__new__(_HiredisRespParser)
            parser._setup(*config)
        parser._protocol = protocol
        parser._encoding_name = encoding
        return parser

    def __init__(
        self,
        protocol: int = 2,
        *,
        max_bulk_length: int = 512 * 1024 * 1024,
        max_depth: int = 64,
        max_line_length: int = 64 * 1024,
        encoding: str | None = None,
        errors: str = "strict",
        use_hiredis: bool | None = None,
    ) -> None:
        # Everything happens in __new__, which picks the implementation.
        pass

    _protocol: int
    _encoding_name: str | None

    @property
    def protocol(self) -> int:
        """The RESP version (2 or 3) this parser accepts."""
        return self._protocol

    @property
    def encoding(self) -> str | None:
        """The codec strings are decoded with, or None for bytes."""
        return self._encoding_name

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``; raise ProtocolError if the parser has failed."""
        raise NotImplementedError  # pragma: no cover - every engine overrides it

    def gets(self) -> Any:
        """Return the next reply or NEED_DATA; see the class docstring for errors."""
        raise NotImplementedError  # pragma: no cover - every engine overrides it

    @property
    def buffered(self) -> int:
        """Bytes held that are not yet part of a returned reply."""
        raise NotImplementedError  # pragma: no cover - every engine overrides it

    @property
    def failed(self) -> bool:
        """True once bad bytes were found.

        The replies that arrived complete before them are still returned;
        after those, ``gets()`` raises ProtocolError, as does ``feed()``.
        """
        raise NotImplementedError  # pragma: no cover - every engine overrides it

    def __iter__(self) -> Iterator[Any]:
        """Yield every complete reply buffered; raises what ``gets()`` raises."""
        gets = self.gets
        while (reply := gets()) is not NEED_DATA:
            yield reply

    def read_all(self) -> list[Any]:
        """Return every complete reply buffered, as a list; raises what ``gets()`` raises."""
        return list(self)

    def __repr__(self) -> str:
        return (
            f"<RespParser implementation={self.implementation!r} protocol={self._protocol} "
            f"buffered={self.buffered}>"
        )


class _PythonRespParser(PythonParser, RespParser):
    """The pure-Python engine behind :class:`RespParser`."""

    implementation = "python"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # initialised by RespParser.__new__


# -- the hiredis engine -------------------------------------------------------

# Aggregates of a million elements or more go to the Python parser (hiredis
# would allocate the whole list up front); strings of 100 kB or more are fed
# to hiredis without being searched.  Both are found by their digit count.
_BIG_DIGITS: Final = 6


def _check_nesting(value: Any, limit: int, containers: frozenset[type], push_type: type) -> bool:
    """Whether the list/dict ``value`` nests more than ``limit`` levels.

    Also replaces, in place, every nested hiredis push by a plain list: only a
    push at the top of the stream is out-of-band.  A reply with no nested
    aggregate costs one pass over its members, in C.
    """
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            return True
        if type(item) is dict:
            if containers.isdisjoint(map(type, item.values())):
                continue
            members: Iterable[tuple[Any, Any]] = list(item.items())
        else:
            if containers.isdisjoint(map(type, item)):
                continue
            members = enumerate(item)
        for where, member in members:
            kind = type(member)
            if kind is push_type:
                member = item[where] = list(member)
            if kind in containers:
                todo.append((member, depth + 1))
    return False


class _HiredisRespParser(RespParser):
    """hiredis plus the checks it lacks; see the module docstring.

    Bytes go to hiredis only once no complete item in them still needs a
    check, and an incomplete line that starts an item is held back (in
    ``_tail``) until it is complete, so hiredis and the Python parser see
    the same lines at the same time.  The items to check are found with
    searches that run in C; whether a candidate position really starts an
    item is asked of hiredis itself: fed up to that position, it has no
    unconsumed bytes exactly when the position starts an item (it consumes
    whole items only).  An item the Python parser handles (``_sub``) is
    replaced, for hiredis, by an error line carrying a random token, and the
    ``replyError`` callback swaps the parsed value back in.
    """

    implementation = "hiredis"

    def _setup(
        self,
        protocol: int,
        max_bulk_length: int,
        max_depth: int,
        max_line_length: int,
        encoding: str | None,
        errors: str,
    ) -> None:
        assert _hiredis is not None
        self._config = (protocol, max_bulk_length, max_depth, max_line_length, encoding, errors)
        self._max_bulk = max_bulk_length
        self._max_depth = max_depth
        self._max_line = max_line_length
        self._token = "greenpool-substitute-" + os.urandom(16).hex()
        self._token_line = b"-" + self._token.encode() + b"\r\n"
        options: dict[str, Any] = {
            "notEnoughData": NEED_DATA,
            "replyError": self._reply_error,
            "protocolError": ProtocolError,
        }
        if encoding is not None:
            options["encoding"] = encoding
            options["errors"] = errors
        self._reader = _hiredis.Reader(**options)
        self._push_type = _hiredis.PushNotification
        self._containers = frozenset((list, dict, self._push_type))
        self._ready: deque[Any] = deque()
        self._tail = b""
        # Bytes fed so far: the stream offset of data[i], while _process(data)
        # runs, is _received - len(data) + i (data is always what is left).
        self._received = 0
        self._budget = ClaimBudget()
        # What is known about the stream position where the next data starts.
        self._at_crlf_end = True
        self._item_start = True
        # Bytes still to come of a big string whose header was checked.
        self._skip = 0
        self._sub: PythonParser | None = None
        self._substitutes: deque[tuple[Any, bool, Exception | None]] = deque()
        self._deferred: Exception | None = None
        self._push_value: Any = None
        self._failed: str | None = None
        # On a valid stream hiredis holds one pending string of at most
        # max_bulk_length, its header, and under 1 KiB of consumed bytes it
        # has not discarded yet.
        self._bound = max_bulk_length + max_line_length + 1100
        length_digits = min(len(str(max_bulk_length)), _BIG_DIGITS)
        # Item starts to check: big numbers, blob errors and attributes (to
        # the Python parser), string lengths that may exceed the limit or
        # be big, aggregate lengths that count against the ClaimBudget or
        # may be huge, and under RESP2 every RESP3 type (for the Python
        # parser to refuse).
        if protocol == 3:
            rare, self._strings, aggregates = b"(!|", b"$=", b"*%~>"
        else:
            rare, self._strings, aggregates = b"_#,(!=%~|>", b"$", b"*"
        self._counted = self._strings + aggregates
        self._types = RESP3_TYPES if protocol == 3 else RESP2_TYPES
        numbers = rb"[%s][0-9]{%d}|[%s][0-9]{%d}" % (
            re.escape(self._strings),
            length_digits,
            re.escape(aggregates),
            len(str(COUNTED_CLAIM)),
        )
        rare_class = rb"[%s]" % re.escape(rare)
        # An item start the Python parser takes over before its line is
        # complete (the line may announce a huge aggregate or string).
        self._sub_here = re.compile(
            rare_class
            + rb"|[%s][0-9]{%d}|[%s][0-9]{%d}"
            % (re.escape(self._strings), length_digits, re.escape(aggregates), _BIG_DIGITS)
        )
        # Searching costs about as much per CRLF as hiredis' own parsing, so
        # each search runs only if its first bytes occur at all (memchr).
        self._rare_bytes = [bytes([b]) for b in rare]
        self._counted_bytes = [bytes([b]) for b in self._counted]
        self._rare = re.compile(rb"\r\n" + rare_class)
        self._numbers = re.compile(rb"\r\n(?:" + numbers + rb")")
        self._special_here = re.compile(rare_class + rb"|" + numbers)
        self._big_string = re.compile(rb"[%s][0-9]{%d}" % (re.escape(self._strings), length_digits))
        # Fast path for a small chunk ending at a CRLF (typically one reply):
        # if nothing that could need a check occurs anywhere in it, it goes to
        # hiredis whole.  No line in it can be too long.
        self._hazard = self._special_here
        self._fast_size = min(4096, max_line_length + 2)
        # A trailing partial line shorter than this is held back unexamined.
        self._hold = min(_BIG_DIGITS + 3, max_line_length + 3)
        self._stride = max(1, (max_line_length + 2) // 2)

    # -- input ---------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``; raise ProtocolError if the parser has failed."""
        if self._failed is not None:
            raise ProtocolError(self._failed)
        if not data:
            return
        rest = data if type(data) is bytes else bytes(data)
        self._received += len(rest)
        if (
            len(rest) <= self._fast_size
            and self._at_crlf_end
            and not self._tail
            and not self._skip
            and self._sub is None
            and rest.endswith(b"\r\n")
            and self._hazard.search(rest) is None
        ):
            self._reader.feed(rest)
            self._item_start = False
            return
        try:
            while rest:
                if self._sub is not None:
                    self._sub.feed(rest)
                    rest = self._finish_sub()
                elif self._skip:
                    rest = self._skip_string(rest)
                else:
                    if self._tail:
                        rest = self._tail + rest
                        self._tail = b""
                    rest = self._process(rest)
        except ProtocolError as exc:
            self._fail_later(exc)

    @property
    def failed(self) -> bool:
        """True once bad bytes were found (see :attr:`RespParser.failed`)."""
        return self._failed is not None

    @property
    def buffered(self) -> int:
        """Bytes held that are not yet part of a returned reply (hiredis: within 1 KiB)."""
        # hiredis' len() also counts up to 1 KiB of consumed bytes it has not
        # discarded yet; with nothing unconsumed it is exactly 0.
        held = (self._reader.len() if self._reader.has_data() else 0) + len(self._tail)
        if self._sub is not None:
            held += self._sub.buffered
        return int(held)

    def _process(self, data: bytes) -> bytes:
        """Give ``data`` to hiredis up to the first item it must not parse.

        Returns the bytes left for the Python parser or for ``_skip_string``
        (empty when everything was handled).
        """
        size = len(data)
        if (
            self._at_crlf_end
            and data[0] in self._strings
            and self._big_string.match(data) is not None
        ):
            # A big string first (typically right after the previous one):
            # take it without searching its payload.
            eol = data.find(b"\r\n", 0, self._max_line + 3)
            if eol >= 0 and (self._item_start or self._probe()):
                length = _canonical_int(data[1:eol])
                if length is not None:
                    end = self._take_string(data, 0, eol, length)
                    return data[end:] if end < size else b""
        last = data.rfind(b"\r\n")
        body_end = last + 2 if last >= 0 else 0
        candidates: list[tuple[int, bool]] = []
        if body_end:
            if self._at_crlf_end and self._special_here.match(data, 0, body_end):
                candidates.append((0, False))
            for pattern, first_bytes in (
                (self._rare, self._rare_bytes),
                (self._numbers, self._counted_bytes),
            ):
                for byte in first_bytes:
                    if byte in data:
                        candidates.extend(
                            (match.start() + 2, False)
                            for match in pattern.finditer(data, 0, body_end)
                        )
                        break
            candidates.extend((start, True) for start in self._long_lines(data, body_end))
            # At one position, the line-length check comes first.
            candidates.sort(key=lambda candidate: (candidate[0], not candidate[1]))
        fed = 0
        for start, too_long in candidates:
            if start < fed:
                continue  # inside a big string already fed
            if not (start == 0 and self._item_start):
                if start > fed:
                    self._reader.feed(data, fed, start - fed)
                    fed = start
                if not self._probe():
                    continue
            if too_long:
                raise ProtocolError(f"line longer than max_line_length={self._max_line}")
            kind = data[start]
            if kind in self._counted:
                eol = data.find(b"\r\n", start)
                length = _canonical_int(data[start + 1 : eol])
                if length is None:
                    continue  # hiredis refuses it
                if kind not in self._strings and length < BIG_AGGREGATE:
                    # hiredis parses it, reserving the whole list now.
                    if length >= COUNTED_CLAIM:
                        offset = self._received - size + start
                        # A map claims twice its length, and so does a push (see ClaimBudget).
                        double = kind in (37, 62)
                        self._budget.claim(offset, 2 * length if double else length)
                    continue
                if kind in self._strings:
                    if start > fed:
                        self._reader.feed(data, fed, start - fed)
                    fed = self._take_string(data, start, eol, length)
                    if fed >= size:
                        return b""
                    continue  # the position after the string starts an item
            self._sub = self._new_sub(size - start)
            return data[start:] if start else data
        if fed > body_end:
            # A big string ended in the last partial line: start afresh after it.
            self._at_crlf_end = self._item_start = True
            return data[fed:]
        if body_end > fed:
            self._reader.feed(data, fed, body_end - fed)
            fed = body_end
        if not body_end and not self._at_crlf_end:
            # No CRLF: this continues an earlier run that is not an item start.
            self._feed_run(data, 0)
            return b""
        tail = size - body_end
        if not tail:
            self._at_crlf_end = True
            self._item_start = False
            return b""
        known = body_end == 0 and self._item_start
        if data[body_end] not in self._types and (known or self._probe()):
            # An item starting with a byte no RESP type has: garbage, refused
            # before its line ends (the Python parser does the same).
            raise ProtocolError(f"unexpected reply type byte {chr(data[body_end])!r}")
        if tail < self._hold:
            self._tail = data[body_end:]
            self._at_crlf_end = True
            self._item_start = known
            return b""
        if known or self._probe():
            if self._sub_here.match(data, body_end):
                self._sub = self._new_sub(tail)
                return data[body_end:]
            if tail >= self._max_line + 3:
                raise ProtocolError(f"line longer than max_line_length={self._max_line}")
            self._tail = data[body_end:]
            self._at_crlf_end = True
            self._item_start = True
            return b""
        # Inside a string that contains CRLF: not an item start.
        self._feed_run(data, body_end)
        return b""

    def _new_sub(self, left: int) -> PythonParser:
        """A Python parser for the item whose bytes are the last ``left`` received."""
        return PythonParser(
            *self._config, nested=True, budget=self._budget, base=self._received - left
        )

    def _take_string(self, data: bytes, start: int, eol: int, length: int) -> int:
        """Feed hiredis the string at ``start`` (header ending at ``eol``) unsearched.

        Returns where it ends in ``data`` (possibly past the end: the rest is
        fed by ``_skip_string`` as it arrives).  Raises ProtocolError for a
        string longer than ``max_bulk_length``.
        """
        if length > self._max_bulk:
            raise ProtocolError(
                f"string of {length} bytes exceeds max_bulk_length={self._max_bulk}"
            )
        size = len(data)
        end = eol + 4 + length
        self._reader.feed(data, start, min(end, size) - start)
        self._skip = max(end - size, 0)
        if not self._skip:
            self._at_crlf_end = self._item_start = True
        return end

    def _feed_run(self, data: bytes, start: int) -> None:
        """Feed hiredis ``data[start:]``, which does not start an item.

        A final CR is held back so that a CRLF split across two feeds is seen
        whole (the position after it may start an item).
        """
        end = len(data)
        if data[end - 1] == 13:
            end -= 1
            self._tail = b"\r"
        if end > start:
            self._reader.feed(data, start, end - start)
        self._at_crlf_end = False
        self._item_start = False

    def _skip_string(self, data: bytes) -> bytes:
        """Feed the next bytes of a big string unsearched; return what follows it."""
        take = min(self._skip, len(data))
        self._reader.feed(data, 0, take)
        self._skip -= take
        if self._skip:
            return b""
        self._at_crlf_end = self._item_start = True
        return data[take:]

    def _long_lines(self, data: bytes, end: int) -> list[int]:
        """Starts of CRLF-free runs in ``data[:end]`` too long to be a line."""
        found: list[int] = []
        stride = self._stride
        limit = self._max_line + 2
        find = data.find
        index = 0
        while index + stride <= end:
            if find(b"\r\n", index, index + stride) >= 0:
                index += stride
                continue
            left = data.rfind(b"\r\n", 0, index + 1)
            start = left + 2 if left >= 0 else 0
            right = find(b"\r\n", start, end)
            if right - start >= limit and (start or self._at_crlf_end):
                found.append(start)
            index = right + 2
        return found

    def _probe(self) -> bool:
        """Whether the position hiredis has been fed up to starts an item."""
        self._drain()
        return not self._reader.has_data()

    def _finish_sub(self) -> bytes:
        """Once the Python parser has its item, hand hiredis a token for it.

        Returns the bytes that followed the item (empty while it is incomplete).
        """
        sub = self._sub
        assert sub is not None
        value = sub.gets_one()
        if value is NEED_DATA:
            return b""
        self._sub = None
        self._substitutes.append((value, sub.last_was_push, sub.deferred_error))
        self._reader.feed(self._token_line)
        self._at_crlf_end = self._item_start = True
        return sub.take_rest()

    def _reply_error(self, message: str) -> Any:
        """hiredis' ``replyError`` callback: a ReplyError, or a substituted value."""
        if message != self._token or not self._substitutes:
            return ReplyError(message)
        value, is_push, error = self._substitutes.popleft()
        if error is not None and (
            self._deferred is None
            or (
                isinstance(error, UnicodeDecodeError)
                and not isinstance(self._deferred, UnicodeDecodeError)
            )
        ):
            self._deferred = error
        if is_push:
            self._push_value = value
        return value

    # -- output --------------------------------------------------------------

    def gets(self) -> Any:
        """Return the next reply or NEED_DATA; see RespParser for errors."""
        if not self._ready and self._failed is None:
            # The common case, kept short: a reply that needs no conversion.
            try:
                reply = self._reader.gets()
            except Exception as exc:
                reply = self._reader_error(exc)
            else:
                if reply is NEED_DATA:
                    if self._reader.len() <= self._bound:
                        return reply
                elif self._deferred is None and self._push_value is None:
                    kind = type(reply)
                    if kind not in self._containers:
                        return reply
                    # One level of nesting is always allowed (max_depth >= 1).
                    if kind is list and self._containers.isdisjoint(map(type, reply)):
                        return reply
                reply = self._checked(reply)
            if type(reply) is not _Raise:
                return reply
        elif self._ready:
            reply = self._ready.popleft()
            if type(reply) is not _Raise:
                return reply
        else:
            raise ProtocolError(self._failed)
        error = reply.error
        if isinstance(error, ProtocolError):
            self._failed = str(error)
            self._ready.clear()
        raise error

    def _drain(self) -> None:
        """Move every complete reply hiredis holds to ``_ready``."""
        append = self._ready.append
        while True:
            try:
                reply = self._reader.gets()
            except Exception as exc:
                reply = self._reader_error(exc)
            else:
                reply = self._checked(reply)
            if reply is NEED_DATA:
                return
            append(reply)

    def _fail_later(self, error: ProtocolError) -> None:
        """Fail, after the replies that arrived complete before the bad bytes.

        When the error did not come from hiredis' replies (a check of this
        wrapper, or the Python parser), hiredis may still hold complete
        replies that came before it; an error among those came first.
        """
        if self._failed is None:
            try:
                self._drain()
            except ProtocolError as earlier:
                error = earlier
        self._failed = str(error)
        self._ready.append(_Raise(error))
        self._sub = None
        self._tail = b""
        self._skip = 0

    def _reader_error(self, exc: Exception) -> Any:
        """What hiredis raising ``exc`` means: a _Raise, or ProtocolError raised."""
        self._deferred = None
        self._push_value = None
        if isinstance(exc, UnicodeDecodeError):
            return _Raise(exc)
        if isinstance(exc, ProtocolError):
            error = exc
        elif isinstance(exc, TypeError):
            error = ProtocolError("map key is an aggregate (not hashable)")
        else:
            raise exc
        self._failed = str(error)
        raise error

    def _checked(self, reply: Any) -> Any:
        """``reply`` from hiredis, checked and converted; or NEED_DATA or a _Raise.

        Raises ProtocolError, after marking the parser failed.
        """
        if reply is NEED_DATA:
            if self._reader.len() > self._bound and self._reader.has_data():
                self._failed = "unparsed input exceeds max_bulk_length + max_line_length"
                raise ProtocolError(self._failed)
            return reply
        deferred = self._deferred
        if deferred is not None:
            self._deferred = None
            self._push_value = None
            if isinstance(deferred, UnicodeDecodeError):
                return _Raise(deferred)
            self._failed = str(deferred)
            raise deferred
        kind = type(reply)
        if kind is self._push_type or (self._push_value is not None and reply is self._push_value):
            reply = Push(reply)
        self._push_value = None
        if kind in self._containers and _check_nesting(
            reply, self._max_depth, self._containers, self._push_type
        ):
            self._failed = f"reply nested deeper than max_depth={self._max_depth}"
            raise ProtocolError(self._failed)
        return reply


def _canonical_int(raw: bytes) -> int | None:
    """``raw`` as an int if it is a canonical non-negative decimal, else None."""
    if raw.isdigit() and (raw[0] != 48 or len(raw) == 1):
        return int(raw)
    return None
