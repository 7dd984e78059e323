"""Connection commands: PING, ECHO, AUTH, CLIENT ..., HELLO, QUIT, RESET.

Several of them change the state of the connection they run on (AUTH,
CLIENT REPLY, CLIENT TRACKING, QUIT, RESET ...).  The methods only build
the command; the executor decides from the command table where it may run:
:class:`~greenpool.redis.Redis` gives ``auth``, ``client_setname``,
``client_setinfo``, ``client_no_evict`` and ``client_no_touch`` to every
connection it has and opens later, runs ``quit`` and ``reset`` on a
connection of their own that is closed afterwards, and refuses
``client_reply`` and ``client_tracking`` (a shared connection would carry
the mode to every other caller), saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ..exceptions import DataError
from . import _args
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    client_info_fields,
    integer_reply,
    ok,
    pong,
    string_reply,
    text_or_none,
    to_text,
)

_KILL_TYPES = ("normal", "master", "slave", "replica", "pubsub")
_LIST_TYPES = ("normal", "master", "replica", "pubsub")


class ConnectionCommands(CommandGroup):
    """The connection group: redis-py's methods for it."""

    def ping(self, **kwargs: Any) -> bool:
        """Ping the server; return True."""
        return self.execute_command("PING", _parse=pong, **kwargs)

    def echo(self, value: EncodableT, **kwargs: Any) -> ReplyT:
        """Return ``value`` as the server echoes it."""
        return self.execute_command("ECHO", value, _parse=string_reply, **kwargs)

    def auth(self, password: str, username: str | None = None, **kwargs: Any) -> bool:
        """Authenticate (``AUTH [username] password``); True.

        A wrong password raises
        :class:`~greenpool.redis.exceptions.AuthenticationError`.  The
        command table refuses AUTH on a shared connection:
        :class:`~greenpool.redis.Redis` overrides this method to authenticate
        every connection, new ones too.
        """
        pieces = [password] if username is None else [username, password]
        return self.execute_command("AUTH", *pieces, _parse=ok, **kwargs)

    def hello(self) -> Any:
        """Not implemented, as in redis-py: the protocol is the client's ``protocol=``
        option (HELLO would change it under the other callers of a connection)."""
        raise NotImplementedError(
            "HELLO is not implemented as a method, as in redis-py: pass protocol= "
            "(and username=/password=) to the client"
        )

    def quit(self, **kwargs: Any) -> bool:
        """Ask the server to close the connection; True.

        The command table refuses QUIT on a shared connection;
        :class:`~greenpool.redis.Redis` runs it on a connection of its own.
        """
        return self.execute_command("QUIT", _parse=ok, **kwargs)

    def reset(self) -> str:
        """Reset the connection's state (database, name, modes ...); ``"RESET"``.

        The command table refuses RESET on a shared connection;
        :class:`~greenpool.redis.Redis` runs it on a connection of its own.
        """
        return self.execute_command("RESET", _parse=to_text)

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

    def client_setinfo(self, attr: str, value: str, **kwargs: Any) -> bool:
        """Set a connection attribute (``lib-name``, ``lib-ver``); True (Redis 7.2+).

        A per-connection setting, like :meth:`client_setname`.
        """
        return self.execute_command("CLIENT", "SETINFO", attr, value, _parse=ok, **kwargs)

    def client_info(self, **kwargs: Any) -> dict[str, str | int]:
        """Describe the connection: a dict of ``str`` fields, counters as ``int``."""
        return self.execute_command("CLIENT", "INFO", _parse=client_info_fields, **kwargs)

    def client_list(
        self, _type: str | None = None, client_id: list[EncodableT] = [],  # noqa: B006
        **kwargs: Any,
    ) -> list[dict[str, str]]:
        """Describe the server's connections: a list of dicts of ``str`` fields.

        ``_type`` (``normal``, ``master``, ``replica``, ``pubsub``) and
        ``client_id`` (a list of ids) filter.  Bad values raise DataError.
        """
        args: list[EncodableT] = []
        if _type is not None:
            if str(_type).lower() not in _LIST_TYPES:
                raise DataError("_type", _type, f"must be one of {', '.join(_LIST_TYPES)}")
            args += ["TYPE", _type]
        if not isinstance(client_id, list):
            raise DataError("client_id", client_id, "must be a list")
        if client_id:
            args += ["ID", *client_id]
        return self.execute_command("CLIENT", "LIST", *args, _parse=_client_list, **kwargs)

    def client_kill(self, address: str, **kwargs: Any) -> bool | int:
        """Close the connection from ``address`` (``"ip:port"``); True."""
        return self.execute_command("CLIENT", "KILL", address, _parse=_killed, **kwargs)

    def client_kill_filter(
        self,
        _id: str | None = None,
        _type: str | None = None,
        addr: str | None = None,
        skipme: bool | None = None,
        laddr: bool | None = None,
        user: str | None = None,
        maxage: int | None = None,
        **kwargs: Any,
    ) -> int:
        """Close the connections matching every filter given; how many were closed.

        At least one filter is needed; a bad ``_type`` or a ``skipme`` that
        is not a bool raise DataError.
        """
        args: list[Any] = []
        if _type is not None:
            if str(_type).lower() not in _KILL_TYPES:
                raise DataError("_type", _type, f"must be one of {', '.join(_KILL_TYPES)}")
            args += ["TYPE", _type]
        if skipme is not None:
            if not isinstance(skipme, bool):
                raise DataError("skipme", skipme, "must be a bool")
            args += ["SKIPME", "YES" if skipme else "NO"]
        for word, value in (("ID", _id), ("ADDR", addr), ("LADDR", laddr), ("USER", user),
                            ("MAXAGE", maxage)):
            if value is not None:
                args += [word, value]
        if not args:
            raise DataError("_id", _id, "give at least one filter")
        return self.execute_command("CLIENT", "KILL", *args, _parse=_killed, **kwargs)

    def client_pause(self, timeout: int, all: bool = True, **kwargs: Any) -> bool:
        """Pause the server's clients for ``timeout`` milliseconds (only writes
        unless ``all``); True.  A non-integer ``timeout`` raises DataError."""
        _args.integer("timeout", timeout)
        mode = [] if all else ["WRITE"]
        return self.execute_command("CLIENT", "PAUSE", timeout, *mode, _parse=ok, **kwargs)

    def client_unpause(self, **kwargs: Any) -> ReplyT:
        """End a :meth:`client_pause`; the server's ``OK``."""
        return self.execute_command("CLIENT", "UNPAUSE", _parse=string_reply, **kwargs)

    def client_unblock(self, client_id: int, error: bool = False, **kwargs: Any) -> bool:
        """Unblock the connection ``client_id`` blocked in a command (with an error
        reply if ``error``); True if it was blocked."""
        extra = ["ERROR"] if error else []
        return self.execute_command(
            "CLIENT", "UNBLOCK", int(client_id), *extra, _parse=bool, **kwargs
        )

    def client_no_evict(self, mode: str) -> ReplyT:
        """``ON``: the connection is never evicted for memory (Redis 7.0+); ``OK``.

        A per-connection setting, like :meth:`client_setname`.
        """
        return self.execute_command("CLIENT", "NO-EVICT", mode, _parse=string_reply)

    def client_no_touch(self, mode: str) -> ReplyT:
        """``ON``: the connection's reads leave keys' LRU/LFU alone (Redis 7.2+); ``OK``.

        A per-connection setting, like :meth:`client_setname`.
        """
        return self.execute_command("CLIENT", "NO-TOUCH", mode, _parse=string_reply)

    def client_reply(self, reply: Literal["ON", "OFF", "SKIP"], **kwargs: Any) -> ReplyT:
        """``CLIENT REPLY ON|OFF|SKIP``.  Anything else raises DataError.

        The command table refuses it on shared and pipeline connections (the
        server would drop replies other callers wait for).
        """
        if reply not in ("ON", "OFF", "SKIP"):
            raise DataError("reply", reply, "must be one of ON, OFF, SKIP")
        return self.execute_command("CLIENT", "REPLY", reply, _parse=string_reply, **kwargs)

    def client_tracking(
        self,
        on: bool = True,
        clientid: int | None = None,
        prefix: Sequence[KeyT] = [],
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
        **kwargs: Any,
    ) -> ReplyT:
        """``CLIENT TRACKING ON|OFF`` with its options; ``OK``.

        A ``prefix`` without ``bcast`` raises DataError.  The command table
        refuses it on shared and pipeline connections (invalidation messages
        need a connection of their own).
        """
        if len(prefix) != 0 and not bcast:
            raise DataError("prefix", prefix, "needs bcast=True")
        pieces: list[Any] = ["ON" if on else "OFF"]
        if clientid is not None:
            pieces += ["REDIRECT", clientid]
        for item in prefix:
            pieces += ["PREFIX", item]
        for flag, word in ((bcast, "BCAST"), (optin, "OPTIN"), (optout, "OPTOUT"),
                           (noloop, "NOLOOP")):
            if flag:
                pieces.append(word)
        return self.execute_command("CLIENT", "TRACKING", *pieces, _parse=string_reply, **kwargs)

    def client_tracking_on(
        self,
        clientid: int | None = None,
        prefix: Sequence[KeyT] = [],
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> ReplyT:
        """:meth:`client_tracking` with ``on=True``."""
        return self.client_tracking(True, clientid, prefix, bcast, optin, optout, noloop)

    def client_tracking_off(
        self,
        clientid: int | None = None,
        prefix: Sequence[KeyT] = [],
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> ReplyT:
        """:meth:`client_tracking` with ``on=False``."""
        return self.client_tracking(False, clientid, prefix, bcast, optin, optout, noloop)

    def client_trackinginfo(self, **kwargs: Any) -> list[Any]:
        """The connection's tracking state as redis-py gives it: a flat list,
        labels (and other top-level strings) as ``str``, nested lists as sent."""
        return self.execute_command("CLIENT", "TRACKINGINFO", _parse=_tracking_info, **kwargs)

    def client_getredir(self, **kwargs: Any) -> int:
        """The id of the connection tracking messages are redirected to (-1: none, 0: not
        tracking)."""
        return self.execute_command("CLIENT", "GETREDIR", _parse=integer_reply, **kwargs)


def _client_list(reply: Any) -> list[dict[str, str]]:
    clients = []
    for line in to_text(reply).splitlines():
        fields: dict[str, str] = {}
        last = None
        for token in line.split(" "):
            name, equals, value = token.partition("=")
            if equals:
                fields[name] = value
                last = name
            elif last is not None:
                # A value with a space in it (a unix socket path).
                fields[last] += " " + token
        if fields:
            clients.append(fields)
    return clients


def _killed(reply: Any) -> bool | int:
    if isinstance(reply, int):
        return reply
    return to_text(reply) == "OK"


def _tracking_info(reply: Any) -> list[Any]:
    items = [x for pair in reply.items() for x in pair] if isinstance(reply, dict) else reply
    return [to_text(item) if isinstance(item, (bytes, str)) else item for item in items]
