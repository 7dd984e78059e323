"""What every parser in this package shares: the :data:`NEED_DATA` sentinel.

Both codecs' parsers speak one vocabulary: ``feed(data)`` appends bytes,
``gets()`` returns the next complete reply or :data:`NEED_DATA`,
``read_all()`` returns every complete reply as a list, ``failed`` says that
bad bytes were found (the next call raises
:class:`~greenpool.errors.ProtocolError`), and ``buffered`` counts the bytes
held that are not yet part of a reply.
"""

from __future__ import annotations

from typing import Final

__all__ = ["NEED_DATA"]


class _NeedData:
    """Type of :data:`NEED_DATA`; a single instance exists."""

    _instance: _NeedData | None = None

    def __new__(cls) -> _NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
"""Returned by ``gets()`` when no complete reply is buffered yet."""
