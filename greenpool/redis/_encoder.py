"""redis-py's ``Encoder`` for a client's settings (what ``Redis.get_encoder()`` returns)."""

from __future__ import annotations

from typing import Any

from ..protocol.resp import encode_arg
from .exceptions import DataError

__all__ = ["Encoder"]


class Encoder:
    """How a client turns arguments into bytes and replies into text (redis-py's
    ``Encoder``, what :meth:`~greenpool.redis.Redis.get_encoder` returns).

    :meth:`encode` gives the bytes the client sends for one argument (``str``
    as UTF-8, numbers in decimal or ``repr``); :meth:`decode` gives a reply's
    text when the client decodes (or with ``force``).
    """

    def __init__(self, encoding: str, encoding_errors: str, decode_responses: bool) -> None:
        self.encoding = encoding
        self.encoding_errors = encoding_errors
        self.decode_responses = decode_responses

    def __repr__(self) -> str:
        return f"<Encoder {self.encoding} decode_responses={self.decode_responses}>"

    def encode(self, value: Any) -> bytes:
        """The bytes sent for ``value``.  Raises the client's DataError for a value
        that can't be sent (None, a bool, a list ...)."""
        try:
            return encode_arg(value)
        except TypeError as exc:
            raise DataError("value", value, str(exc)) from None

    def decode(self, value: Any, force: bool = False) -> Any:
        """``value`` as text if the client decodes (or ``force``); other values as they are."""
        if self.decode_responses or force:
            if isinstance(value, memoryview):
                value = value.tobytes()
            if isinstance(value, bytes):
                return value.decode(self.encoding, self.encoding_errors)
        return value
