"""The 128-byte text greeting a Tarantool server sends first, and ``chap-sha1``.

:func:`parse_greeting` reads the greeting; :func:`scramble` turns a password
and the greeting's salt into the proof :func:`~.requests.encode_auth` sends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass, field

from greenpool.errors import ConfigurationError, ProtocolError

from ._msgpack import _Short
from .constants import GREETING_SIZE

__all__ = ["Greeting", "parse_greeting", "scramble"]


@dataclass(frozen=True)
class Greeting:
    """What the server said in its greeting.

    :attr:`version` is the version text (``2.6.0-0-g47aa4e01e``),
    :attr:`version_info` its first three numbers, :attr:`protocol` the
    protocol name (``Binary``), :attr:`uuid` the instance UUID when sent, and
    :attr:`salt` the decoded random salt (32 bytes; authentication uses the
    first 20).
    """

    version: str
    version_info: tuple[int, int, int]
    protocol: str
    uuid: uuid.UUID | None
    salt: bytes = field(repr=False)


_GREETING_LINE = re.compile(
    r"Tarantool (?P<version>\S+)(?: \((?P<protocol>[^)]*)\))?(?: (?P<uuid>\S+))?\s*"
)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_greeting(data: bytes) -> Greeting:
    """Parse the 128-byte greeting a Tarantool server sends when a connection opens.

    Returns a :class:`Greeting`.  Raises :class:`~greenpool.errors.ProtocolError`
    if ``data`` is not exactly 128 bytes, is not a Tarantool greeting, comes
    from a port that does not speak the binary protocol (an admin console),
    or has no valid base64 salt.
    """
    if len(data) != GREETING_SIZE:
        raise ProtocolError(f"greeting must be {GREETING_SIZE} bytes, got {len(data)}")
    data = bytes(data)
    if data[63:64] != b"\n" or data[127:128] != b"\n":
        raise ProtocolError(f"not a Tarantool greeting: {data[:64]!r}")
    try:
        line = data[:63].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"not a Tarantool greeting: {data[:64]!r}")
    match = _GREETING_LINE.fullmatch(line)
    if match is None:
        raise ProtocolError(f"not a Tarantool greeting: {line.rstrip()!r}")
    version = match["version"]
    numbers = _VERSION.match(version)
    if numbers is None:
        raise ProtocolError(f"cannot read the version in the greeting: {line.rstrip()!r}")
    protocol = match["protocol"]
    if protocol != "Binary":
        raise ProtocolError(
            f"the server speaks {protocol or 'an unknown protocol'!r}, not the binary "
            f"protocol (is this an admin console port?): {line.rstrip()!r}"
        )
    instance: uuid.UUID | None = None
    if match["uuid"] is not None:
        try:
            instance = uuid.UUID(match["uuid"])
        except ValueError:
            raise ProtocolError(f"bad instance UUID in the greeting: {line.rstrip()!r}")
    try:
        salt = base64.b64decode(data[64:127].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"bad salt in the greeting: {data[64:127].strip()!r}")
    if len(salt) < 20:
        raise ProtocolError(f"the greeting's salt is {len(salt)} bytes, need at least 20")
    major, minor, patch = (int(n) for n in numbers.groups())
    return Greeting(version, (major, minor, patch), protocol, instance, salt)


def scramble(salt: bytes, password: str | bytes) -> bytes:
    """Return the 20-byte ``chap-sha1`` proof of ``password`` for this ``salt``.

    ``salt`` is :attr:`Greeting.salt` (only its first 20 bytes are used); a
    str password is encoded as UTF-8.  The server checks the proof against
    the password hash it stores, so the password itself is never sent.
    Raises :class:`~greenpool.errors.ConfigurationError` if the salt is
    shorter than 20 bytes or an argument has the wrong type.
    """
    if not isinstance(salt, (bytes, bytearray, memoryview)) or len(salt) < 20:
        raise ConfigurationError("salt", _Short(salt), "must be at least 20 bytes")
    if isinstance(password, str):
        secret = password.encode("utf-8", "surrogateescape")
    elif isinstance(password, (bytes, bytearray)):
        secret = bytes(password)
    else:
        raise ConfigurationError("password", "***", "must be str or bytes")
    hash1 = hashlib.sha1(secret).digest()
    hash2 = hashlib.sha1(hash1).digest()
    proof = hashlib.sha1(bytes(salt[:20]) + hash2).digest()
    return bytes(a ^ b for a, b in zip(hash1, proof, strict=True))
