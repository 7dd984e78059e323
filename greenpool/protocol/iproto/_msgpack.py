"""MessagePack as Tarantool speaks it: the decimal, UUID and error extensions, and packing.

Decoding: :func:`_ext_hook` turns the extension types into
:class:`~decimal.Decimal`, :class:`~uuid.UUID` and
:class:`~greenpool.protocol.iproto.DatabaseError` (others stay
:class:`msgpack.ExtType`).  Encoding: :func:`_pack` packs one user value with
a pooled packer whose ``default`` (:func:`_default`) knows Decimal and UUID,
and names the argument in the ConfigurationError when a value cannot be
packed.
"""

from __future__ import annotations

import reprlib
import struct
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import msgpack

from greenpool.errors import ConfigurationError, ProtocolError

from .constants import _ERROR_FIELD_NAMES, _EXT_DECIMAL, _EXT_ERROR, _EXT_UUID
from .errors import DatabaseError


class _Short:
    """Wraps a value so an error message shows a short repr of it."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return reprlib.repr(self.value)


def _bad_value(argument: str, value: object, reason: str) -> ConfigurationError:
    """Build a ConfigurationError whose message abbreviates ``value``."""
    error = ConfigurationError(argument, _Short(value), reason)
    error.value = value
    return error


def _encode_decimal(value: Decimal) -> bytes:
    """Return the payload of Tarantool's decimal extension for ``value``.

    The payload is the scale (digits after the point) as a MessagePack int,
    then the digits as packed BCD, two per byte, ending with a sign nibble
    (0xC positive, 0xD negative).
    """
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ConfigurationError("decimal", value, "NaN and infinity cannot be sent to Tarantool")
    nibbles = [*digits, 0x0D if sign else 0x0C]
    if len(nibbles) % 2:
        nibbles.insert(0, 0)
    packed = bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))
    return msgpack.packb(-exponent) + packed


_SCALE_FORMATS: Final[Mapping[int, struct.Struct]] = {
    0xCC: struct.Struct(">B"),
    0xCD: struct.Struct(">H"),
    0xCE: struct.Struct(">I"),
    0xCF: struct.Struct(">Q"),
    0xD0: struct.Struct(">b"),
    0xD1: struct.Struct(">h"),
    0xD2: struct.Struct(">i"),
    0xD3: struct.Struct(">q"),
}


def _decode_decimal(payload: bytes) -> Decimal:
    """Decode the payload of Tarantool's decimal extension; ValueError if malformed."""
    if not payload:
        raise ValueError("empty decimal")
    first = payload[0]
    if first <= 0x7F:
        scale, offset = first, 1
    elif first >= 0xE0:
        scale, offset = first - 0x100, 1
    elif first in _SCALE_FORMATS:
        fmt = _SCALE_FORMATS[first]
        (scale,) = fmt.unpack_from(payload, 1)
        offset = 1 + fmt.size
    else:
        raise ValueError("bad decimal scale")
    bcd = payload[offset:]
    if not bcd:
        raise ValueError("decimal without digits")
    nibbles: list[int] = []
    for byte in bcd:
        nibbles.append(byte >> 4)
        nibbles.append(byte & 0x0F)
    sign_nibble = nibbles.pop()
    if sign_nibble in (0x0B, 0x0D):
        sign = 1
    elif sign_nibble in (0x0A, 0x0C, 0x0E, 0x0F):
        sign = 0
    else:
        raise ValueError("bad decimal sign")
    if any(n > 9 for n in nibbles):
        raise ValueError("bad decimal digit")
    return Decimal((sign, tuple(nibbles) or (0,), -scale))


def _error_from_stack(code: int | None, message: str | None, stack_map: object) -> DatabaseError:
    """Build a DatabaseError from an error stack map ({0: [entry, ...]}).

    ``code`` and ``message`` (from the reply header and ERROR_24) win over
    the stack's first entry.  Raises ProtocolError if the stack is malformed.
    """
    frames: list[dict[str | int, Any]] = []
    if stack_map is not None:
        if not isinstance(stack_map, dict) or not isinstance(stack_map.get(0), list):
            raise ProtocolError(f"malformed error stack: {reprlib.repr(stack_map)}")
        for entry in stack_map[0]:
            if not isinstance(entry, dict):
                raise ProtocolError(f"malformed error stack entry: {reprlib.repr(entry)}")
            frames.append({_ERROR_FIELD_NAMES.get(k, k): v for k, v in entry.items()})
    first = frames[0] if frames else {}
    if code is None:
        code = first.get("code", 0)
    if message is None:
        message = first.get("message", "")
    error_type = first.get("type")
    if not isinstance(code, int) or not isinstance(message, str):
        raise ProtocolError(f"malformed error: code={code!r} message={message!r}")
    if error_type is not None and not isinstance(error_type, str):
        raise ProtocolError(f"malformed error type: {error_type!r}")
    return DatabaseError(code, message, error_type=error_type, stack=frames)


def _ext_hook(code: int, payload: bytes) -> Any:
    """Decode Tarantool's extension types; leave others as msgpack.ExtType."""
    if code == _EXT_DECIMAL:
        return _decode_decimal(payload)
    if code == _EXT_UUID:
        if len(payload) != 16:
            raise ValueError("UUID extension must be 16 bytes")
        return uuid.UUID(bytes=bytes(payload))
    if code == _EXT_ERROR:
        # Walked first, like a packet (see parser._check): the lengths it
        # claims must be filled by its own bytes before anything is built.
        walker = msgpack.Unpacker(max_buffer_size=0)
        walker.feed(payload)
        walker.skip()
        if walker.tell() != len(payload):
            raise ValueError("bytes after the error stack")
        stack = msgpack.unpackb(
            payload, raw=False, strict_map_key=False, unicode_errors="surrogateescape"
        )
        return _error_from_stack(None, None, stack)
    return msgpack.ExtType(code, bytes(payload))


def _default(obj: object) -> Any:
    """Pack Decimal and UUID as Tarantool extension types; refuse anything else."""
    if isinstance(obj, Decimal):
        return msgpack.ExtType(_EXT_DECIMAL, _encode_decimal(obj))
    if isinstance(obj, uuid.UUID):
        return msgpack.ExtType(_EXT_UUID, obj.bytes)
    raise TypeError(f"cannot encode a {type(obj).__name__} as MessagePack")


def _new_packer() -> msgpack.Packer:
    return msgpack.Packer(use_bin_type=True, unicode_errors="surrogateescape", default=_default)


# Idle packers.  pop()/append() are atomic, so each packer serves one caller
# at a time even across threads, without a lock; a caller that finds none
# idle makes a new one.
_IDLE_PACKERS: list[msgpack.Packer] = [_new_packer()]


def _pack(argument: str, value: object) -> bytes:
    """Pack one user value; ConfigurationError names ``argument`` if it cannot be."""
    try:
        packer = _IDLE_PACKERS.pop()
    except IndexError:
        packer = _new_packer()
    try:
        packed = packer.pack(value)
    except BaseException as exc:
        # Never reuse a packer that failed halfway: put a fresh one back.
        _IDLE_PACKERS.append(_new_packer())
        if isinstance(exc, (TypeError, ValueError, OverflowError)) and not isinstance(
            exc, ConfigurationError
        ):
            raise _bad_value(argument, value, f"cannot be encoded as MessagePack: {exc}")
        raise
    _IDLE_PACKERS.append(packer)
    return packed
