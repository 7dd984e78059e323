"""Bitmap commands: GETBIT, SETBIT, BITCOUNT, BITFIELD, BITOP, BITPOS.

:meth:`BitmapCommands.bitfield` returns a :class:`BitFieldOperation`, a
builder that collects GET/SET/INCRBY/OVERFLOW operations and sends them as
one BITFIELD command on :meth:`BitFieldOperation.execute`, as redis-py's does.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import DataError
from ._args import integer, keyword
from ._base import CommandGroup, EncodableT, KeyT
from ._replies import integer_reply

__all__ = ["BitFieldOperation", "BitmapCommands"]

BitfieldOffsetT = int | str
"""A bit offset, or ``"#n"``: the n-th field of the type's width."""


class BitmapCommands(CommandGroup):
    """The bitmap group: redis-py's methods for it."""

    def getbit(self, name: KeyT, offset: int) -> int:
        """Return the bit at ``offset`` (0 past the end or for a missing key)."""
        return self.execute_command(
            "GETBIT", name, integer("offset", offset, 0), _parse=integer_reply
        )

    def setbit(self, name: KeyT, offset: int, value: int) -> int:
        """Set the bit at ``offset`` to ``value`` (any truthy value is 1); return the old bit."""
        return self.execute_command(
            "SETBIT", name, integer("offset", offset, 0), 1 if value else 0, _parse=integer_reply
        )

    def bitcount(
        self,
        key: KeyT,
        start: int | None = None,
        end: int | None = None,
        mode: str | None = None,
    ) -> int:
        """Return how many bits are set, in bytes (or bits, ``mode="BIT"``) ``start``..``end``.

        ``start`` and ``end`` come together; ``mode`` needs them (Redis 7.0).
        """
        args: list[EncodableT] = ["BITCOUNT", key]
        if start is not None or end is not None:
            if start is None or end is None:
                which = "start" if start is None else "end"
                raise DataError(which, None, "start and end must be given together")
            args += [integer("start", start), integer("end", end)]
        if mode is not None:
            args.append(keyword("mode", mode, ("BYTE", "BIT")))
        return self.execute_command(*args, _parse=integer_reply)

    def bitpos(
        self,
        key: KeyT,
        bit: int,
        start: int | None = None,
        end: int | None = None,
        mode: str | None = None,
    ) -> int:
        """Return the position of the first ``bit`` (0 or 1), searching bytes (or bits
        with ``mode="BIT"``) from ``start`` to ``end``; -1 if there is none."""
        if bit not in (0, 1) or isinstance(bit, bool):
            raise DataError("bit", bit, "must be 0 or 1")
        args: list[EncodableT] = ["BITPOS", key, bit]
        if start is not None:
            args.append(integer("start", start))
        if end is not None:
            if start is None:
                raise DataError("end", end, "needs start")
            args.append(integer("end", end))
        if mode is not None:
            args.append(keyword("mode", mode, ("BYTE", "BIT")))
        return self.execute_command(*args, _parse=integer_reply)

    def bitop(self, operation: str, dest: KeyT, *keys: KeyT) -> int:
        """Store in ``dest`` the ``operation`` (AND, OR, XOR, NOT ...) of the keys; its length."""
        return self.execute_command("BITOP", operation, dest, *keys, _parse=integer_reply)

    def bitfield(self, key: KeyT, default_overflow: str | None = None) -> BitFieldOperation:
        """A :class:`BitFieldOperation` on ``key``: chain ``get``/``set``/``incrby``,
        then ``execute()``.  ``default_overflow`` (WRAP, SAT, FAIL) applies to
        its INCRBYs.  Sends nothing by itself."""
        return BitFieldOperation(self, key, default_overflow=default_overflow)

    def bitfield_ro(
        self,
        key: KeyT,
        encoding: str,
        offset: BitfieldOffsetT,
        items: list[tuple[str, BitfieldOffsetT]] | None = None,
    ) -> list[int]:
        """Return the field of type ``encoding`` (``"u8"``, ``"i5"`` ...) at ``offset``,
        then one per ``(encoding, offset)`` of ``items`` (BITFIELD_RO)."""
        args: list[Any] = ["BITFIELD_RO", key, "GET", encoding, offset]
        for pair in items or ():
            args += ["GET", *pair]
        reply: list[int] = self.execute_command(*args)
        return reply


class BitFieldOperation:
    """A BITFIELD command under construction (what :meth:`BitmapCommands.bitfield` gives).

    Each method adds one operation and returns the builder; :meth:`execute`
    sends them all as one command on the client (or buffers it on a
    pipeline) and starts afresh.  The result is one value per GET, SET and
    INCRBY: SET gives the old value, INCRBY the new one, or None when the
    FAIL overflow refused it.  OVERFLOW is sent only when it changes (the
    server starts at WRAP), as redis-py does.
    """

    def __init__(
        self, client: CommandGroup, key: KeyT, default_overflow: str | None = None
    ) -> None:
        self.client = client
        self.key = key
        self._default_overflow = default_overflow
        self.operations: list[tuple[EncodableT, ...]] = []
        self._last_overflow = "WRAP"
        self.reset()

    def reset(self) -> None:
        """Drop the operations collected (the default overflow applies again)."""
        self.operations = []
        self._last_overflow = "WRAP"
        self.overflow(self._default_overflow or "WRAP")

    def overflow(self, overflow: str) -> BitFieldOperation:
        """How the following INCRBYs overflow: ``WRAP``, ``SAT`` (clamp) or ``FAIL``."""
        overflow = keyword("overflow", overflow, ("WRAP", "SAT", "FAIL"))
        if overflow != self._last_overflow:
            self._last_overflow = overflow
            self.operations.append(("OVERFLOW", overflow))
        return self

    def incrby(
        self, fmt: str, offset: BitfieldOffsetT, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """Add ``increment`` to the field of type ``fmt`` at ``offset`` (``"#n"``: n fields in)."""
        if overflow is not None:
            self.overflow(overflow)
        self.operations.append(("INCRBY", fmt, offset, integer("increment", increment)))
        return self

    def get(self, fmt: str, offset: BitfieldOffsetT) -> BitFieldOperation:
        """Read the field of type ``fmt`` at ``offset``."""
        self.operations.append(("GET", fmt, offset))
        return self

    def set(self, fmt: str, offset: BitfieldOffsetT, value: int) -> BitFieldOperation:
        """Write ``value`` to the field of type ``fmt`` at ``offset`` (the old one is returned)."""
        self.operations.append(("SET", fmt, offset, integer("value", value)))
        return self

    @property
    def command(self) -> list[EncodableT]:
        """The BITFIELD command as it would be sent."""
        command: list[EncodableT] = ["BITFIELD", self.key]
        for operation in self.operations:
            command += operation
        return command

    def execute(self) -> Any:
        """Send the operations as one BITFIELD (then reset); return one value per operation.

        On a pipeline the command is buffered and its list comes with the
        pipeline's results.  Raises what the client's ``execute_command`` raises.
        """
        command = self.command
        self.reset()
        return self.client.execute_command(*command)
