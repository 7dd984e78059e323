"""Server commands: INFO, DBSIZE, FLUSHDB, CONFIG, TIME ...."""

from __future__ import annotations

import datetime
from typing import Any

from ._base import CommandGroup, EncodableT, KeyT
from ._replies import config_dict, integer_reply, ok, parse_info, time_pair, timestamp


class ServerCommands(CommandGroup):
    """The server group: redis-py's methods for it."""

    def info(self, section: str | None = None, *args: str, **kwargs: Any) -> dict[str, Any]:
        """Return INFO (for ``section`` and ``args``, or the default set) as a dict.

        See :func:`parse_info` for the shape; keys are always ``str``.
        """
        if section is None:
            reply: dict[str, Any] = self.execute_command("INFO", _parse=parse_info, **kwargs)
        else:
            reply = self.execute_command("INFO", section, *args, _parse=parse_info, **kwargs)
        return reply

    def dbsize(self, **kwargs: Any) -> int:
        """Return the number of keys in the database."""
        return self.execute_command("DBSIZE", _parse=integer_reply, **kwargs)

    def flushdb(self, asynchronous: bool = False, **kwargs: Any) -> bool:
        """Delete every key of the database (in the background if ``asynchronous``); True."""
        args = ("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",)
        return self.execute_command(*args, _parse=ok, **kwargs)

    def flushall(self, asynchronous: bool = False, **kwargs: Any) -> bool:
        """Delete every key of every database (in the background if ``asynchronous``); True."""
        args = ("FLUSHALL", "ASYNC") if asynchronous else ("FLUSHALL",)
        return self.execute_command(*args, _parse=ok, **kwargs)

    def time(self, **kwargs: Any) -> tuple[int, int]:
        """Return the server's clock as ``(seconds, microseconds)``."""
        return self.execute_command("TIME", _parse=time_pair, **kwargs)

    def lastsave(self, **kwargs: Any) -> datetime.datetime | None:
        """Return when the database was last saved (local time), None if never."""
        return self.execute_command("LASTSAVE", _parse=timestamp, **kwargs)

    def config_get(self, pattern: KeyT = "*", *args: KeyT, **kwargs: Any) -> dict[str, str]:
        """Return the configuration parameters matching the patterns, as ``str -> str``."""
        return self.execute_command("CONFIG", "GET", pattern, *args, _parse=config_dict, **kwargs)

    def config_set(self, name: KeyT, value: EncodableT, *args: EncodableT, **kwargs: Any) -> bool:
        """Set configuration parameters (``name, value`` and more pairs in ``args``); True."""
        return self.execute_command("CONFIG", "SET", name, value, *args, _parse=ok, **kwargs)
