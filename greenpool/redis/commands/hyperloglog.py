"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE."""

from __future__ import annotations

from ._base import CommandGroup, EncodableT, KeyT
from ._replies import integer_reply, ok


class HyperLogLogCommands(CommandGroup):
    """The hyperloglog group: redis-py's methods for it."""

    def pfadd(self, name: KeyT, *values: EncodableT) -> int:
        """Add the values to the HyperLogLog; 1 if its estimate changed, else 0."""
        return self.execute_command("PFADD", name, *values, _parse=integer_reply)

    def pfcount(self, *sources: KeyT) -> int:
        """Return the estimated number of distinct values added (to their union, for several)."""
        return self.execute_command("PFCOUNT", *sources, _parse=integer_reply)

    def pfmerge(self, dest: KeyT, *sources: KeyT) -> bool:
        """Store in ``dest`` the union of the HyperLogLogs (``dest``'s own included); True."""
        return self.execute_command("PFMERGE", dest, *sources, _parse=ok)
