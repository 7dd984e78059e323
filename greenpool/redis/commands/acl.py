"""ACL commands: ACL SETUSER, ACL GETUSER, ACL LIST, ACL LOG ....

Users and their rules belong to the server, so these run on a shared
connection like any other command; the connections' own user is the one
the client authenticated as (``username=``), and ACL WHOAMI answers for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..exceptions import DataError
from ._args import as_bytes, integer, list_or_args, sequence_of
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import acl_log_entries, acl_user, integer_reply, ok, string_reply, text_list, to_text


class ACLCommands(CommandGroup):
    """The acl group: redis-py's methods for it."""

    def acl_cat(self, category: str | None = None, **kwargs: Any) -> list[str]:
        """ACL CAT [category]: the ACL categories, or the commands in ``category``, as ``str``."""
        args = ("ACL", "CAT", category) if category else ("ACL", "CAT")
        return self.execute_command(*args, _parse=text_list, **kwargs)

    def acl_dryrun(self, username: str, *args: EncodableT, **kwargs: Any) -> ReplyT:
        """ACL DRYRUN: whether ``username`` may run the command ``args``: ``OK``,
        or a text saying why not."""
        return self.execute_command(
            "ACL", "DRYRUN", username, *args, _parse=string_reply, **kwargs
        )

    def acl_deluser(self, *username: str, **kwargs: Any) -> int:
        """ACL DELUSER: delete the users; how many existed."""
        return self.execute_command("ACL", "DELUSER", *username, _parse=integer_reply, **kwargs)

    def acl_genpass(self, bits: int | None = None, **kwargs: Any) -> str:
        """ACL GENPASS [bits]: a random password (``bits`` of randomness, 0 to 4096,
        rounded up to a multiple of 4; 256 by default), as ``str``."""
        if bits is None:
            return self.execute_command("ACL", "GENPASS", _parse=to_text, **kwargs)
        if integer("bits", bits, 0) > 4096:
            raise DataError("bits", bits, "must be between 0 and 4096")
        return self.execute_command("ACL", "GENPASS", bits, _parse=to_text, **kwargs)

    def acl_getuser(self, username: str, **kwargs: Any) -> dict[str, Any] | None:
        """ACL GETUSER: ``username``'s rules as a dict, None if there is no such user.

        ``{"flags": [...], "passwords": [...], "commands": [...],
        "categories": [...], "keys": [...], "channels": [...],
        "selectors": [...], "enabled": bool}``, every text a ``str``
        (see :func:`~._replies.acl_user`).
        """
        return self.execute_command("ACL", "GETUSER", username, _parse=acl_user, **kwargs)

    def acl_help(self, **kwargs: Any) -> list[str]:
        """ACL HELP: the subcommands' descriptions, as ``str`` lines."""
        return self.execute_command("ACL", "HELP", _parse=text_list, **kwargs)

    def acl_list(self, **kwargs: Any) -> list[str]:
        """ACL LIST: every user's rules, one ``str`` per user."""
        return self.execute_command("ACL", "LIST", _parse=text_list, **kwargs)

    def acl_log(
        self, count: int | None = None, **kwargs: Any
    ) -> list[dict[str, Any]] | bool | None:
        """ACL LOG [count]: the latest denied commands and logins (``count`` of them).

        Each entry is a dict with ``str`` keys and texts, its ``client-info``
        parsed into a dict and ``age-seconds`` a float.
        """
        args: tuple[Any, ...] = ("ACL", "LOG")
        if count is not None:
            args += (integer("count", count, 0),)
        return self.execute_command(*args, _parse=acl_log_entries, **kwargs)

    def acl_log_reset(self, **kwargs: Any) -> bool:
        """ACL LOG RESET: empty the ACL log; True."""
        return self.execute_command("ACL", "LOG", b"RESET", _parse=ok, **kwargs)

    def acl_load(self, **kwargs: Any) -> bool:
        """ACL LOAD: reload the users from the server's ``aclfile``; True.

        A server without an ``aclfile`` answers with an error (ResponseError).
        """
        return self.execute_command("ACL", "LOAD", _parse=ok, **kwargs)

    def acl_save(self, **kwargs: Any) -> bool:
        """ACL SAVE: write the users to the server's ``aclfile``; True."""
        return self.execute_command("ACL", "SAVE", _parse=ok, **kwargs)

    def acl_setuser(
        self,
        username: str,
        enabled: bool = False,
        nopass: bool = False,
        passwords: str | Iterable[str] | None = None,
        hashed_passwords: str | Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        commands: Iterable[str] | None = None,
        keys: Iterable[KeyT] | None = None,
        channels: Iterable[KeyT] | None = None,
        selectors: Iterable[tuple[str, KeyT]] | None = None,
        reset: bool = False,
        reset_keys: bool = False,
        reset_channels: bool = False,
        reset_passwords: bool = False,
        **kwargs: Any,
    ) -> bool:
        """ACL SETUSER: create ``username`` or change its rules; True.

        The rules are applied in redis-py's order, on top of the user's
        current ones: ``reset`` (everything), ``reset_keys``,
        ``reset_channels``, ``reset_passwords``; then ``on`` if ``enabled``,
        else ``off``; ``passwords`` (plain text) and ``hashed_passwords``
        (SHA-256 hex), one or a list, each prefixed ``+`` to add or ``-``
        to remove; ``nopass``; ``categories`` (``+name`` or ``+@name``,
        ``-name`` or ``-@name``); ``commands`` (``+get``, ``-flushall``);
        ``keys`` (glob patterns, ``~`` added unless they start with ``~``
        or ``%``); ``channels`` (``&`` added); ``selectors``, ``(command
        rule, key pattern)`` pairs.

        Raises DataError, sending nothing, for a rule without its ``+`` or
        ``-``, for ``nopass`` with passwords, and for one string where a
        list is expected.
        """
        rules: list[EncodableT] = [username]
        for flag, word in ((reset, b"reset"), (reset_keys, b"resetkeys"),
                           (reset_channels, b"resetchannels"), (reset_passwords, b"resetpass")):
            if flag:
                rules.append(word)
        rules.append(b"on" if enabled else b"off")
        if (passwords or hashed_passwords) and nopass:
            raise DataError("nopass", nopass, "cannot be combined with passwords")
        if passwords:
            rules += _signed("passwords", passwords, b">", b"<")
        if hashed_passwords:
            rules += _signed("hashed_passwords", hashed_passwords, b"#", b"!")
        if nopass:
            rules.append(b"nopass")
        for category in sequence_of("categories", categories or ()):
            rule = as_bytes("categories", category)
            if rule[:1] not in (b"+", b"-"):
                raise DataError("categories", category, "must start with '+' or '-'")
            rules.append(rule if rule[1:2] == b"@" else rule[:1] + b"@" + rule[1:])
        for command in sequence_of("commands", commands or ()):
            rules.append(_command_rule("commands", command))
        for key in sequence_of("keys", keys or ()):
            rules.append(_key_pattern("keys", key))
        for channel in sequence_of("channels", channels or ()):
            rules.append(b"&" + as_bytes("channels", channel))
        for selector in sequence_of("selectors", selectors or ()):
            try:
                if isinstance(selector, (str, bytes)):
                    raise ValueError
                command, key = selector
            except (TypeError, ValueError):
                raise DataError(
                    "selectors", selector, "each must be a (command, key) pair"
                ) from None
            rules.append(
                b"(" + _command_rule("selectors", command) + b" "
                + _key_pattern("selectors", key) + b")"
            )
        return self.execute_command("ACL", "SETUSER", *rules, _parse=ok, **kwargs)

    def acl_users(self, **kwargs: Any) -> list[str]:
        """ACL USERS: the user names, as ``str``."""
        return self.execute_command("ACL", "USERS", _parse=text_list, **kwargs)

    def acl_whoami(self, **kwargs: Any) -> str:
        """ACL WHOAMI: the user the connection is authenticated as, as ``str``."""
        return self.execute_command("ACL", "WHOAMI", _parse=to_text, **kwargs)


def _signed(argument: str, values: Any, add: bytes, remove: bytes) -> list[bytes]:
    # Errors name the argument, never a password.
    hidden = "<hidden>"
    if not isinstance(values, (str, bytes)) and not isinstance(values, Iterable):
        raise DataError(argument, hidden, "must be a string or a list of strings")
    rules = []
    for value in list_or_args(argument, values, ()):
        if not isinstance(value, (str, bytes)):
            raise DataError(argument, hidden, "each must be a string")
        text = as_bytes(argument, value)
        if text[:1] == b"+":
            rules.append(add + text[1:])
        elif text[:1] == b"-":
            rules.append(remove + text[1:])
        else:
            raise DataError(argument, hidden, "each must start with '+' (add) or '-' (remove)")
    return rules


def _command_rule(argument: str, command: Any) -> bytes:
    rule = as_bytes(argument, command)
    if rule[:1] not in (b"+", b"-"):
        raise DataError(argument, command, "a command rule must start with '+' or '-'")
    return rule


def _key_pattern(argument: str, key: Any) -> bytes:
    pattern = as_bytes(argument, key)
    return pattern if pattern[:1] in (b"~", b"%") else b"~" + pattern
