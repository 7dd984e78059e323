"""Geospatial commands: GEOADD, GEOSEARCH, GEODIST ....

No method yet: the command table (:mod:`._table`) already knows the group's
commands, and the redis-py methods come group by group.
"""

from __future__ import annotations

from ._base import CommandGroup


class GeoCommands(CommandGroup):
    """The geo group: redis-py's methods for it."""
