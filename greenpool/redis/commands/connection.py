"""Connection commands: PING, ECHO, CLIENT ...."""

from __future__ import annotations

from typing import Any

from ._base import CommandGroup, EncodableT, ReplyT
from ._replies import integer_reply, ok, pong, string_reply, text_or_none


class ConnectionCommands(CommandGroup):
    """The connection group: redis-py's methods for it."""

    def ping(self, **kwargs: Any) -> bool:
        """Ping the server; return True."""
        return self.execute_command("PING", _parse=pong, **kwargs)

    def echo(self, value: EncodableT, **kwargs: Any) -> ReplyT:
        """Return ``value`` as the server echoes it."""
        return self.execute_command("ECHO", value, _parse=string_reply, **kwargs)

    def client_setname(self, name: str, **kwargs: Any) -> bool:
        """Name the connection; True.

        The command table marks CLIENT SETNAME as a per-connection setting:
        :class:`~greenpool.redis.Redis` gives the name to every connection it
        has and opens later (reconnections too).  An error reply (a name
        with spaces) raises and changes nothing.
        """
        return self.execute_command("CLIENT", "SETNAME", name, _parse=ok, **kwargs)

    def client_getname(self, **kwargs: Any) -> str | None:
        """Return the connection's name as ``str``, or None if it has none."""
        return self.execute_command("CLIENT", "GETNAME", _parse=text_or_none, **kwargs)

    def client_id(self, **kwargs: Any) -> int:
        """Return the connection's id."""
        return self.execute_command("CLIENT", "ID", _parse=integer_reply, **kwargs)
