"""Function commands: FUNCTION ..., FCALL, FCALL_RO.

No method yet: the command table (:mod:`._table`) already knows the group's
commands, and the redis-py methods come group by group.
"""

from __future__ import annotations

from ._base import CommandGroup


class FunctionCommands(CommandGroup):
    """The functions group: redis-py's methods for it."""
