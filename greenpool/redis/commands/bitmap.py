"""Bitmap commands: GETBIT, SETBIT, BITCOUNT, BITFIELD, BITOP, BITPOS.

No method yet: the command table (:mod:`._table`) already knows the group's
commands, and the redis-py methods come group by group.
"""

from __future__ import annotations

from ._base import CommandGroup


class BitmapCommands(CommandGroup):
    """The bitmap group: redis-py's methods for it."""
