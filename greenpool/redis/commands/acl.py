"""ACL commands: ACL SETUSER, ACL GETUSER, ACL LIST ....

No method yet: the command table (:mod:`._table`) already knows the group's
commands, and the redis-py methods come group by group.
"""

from __future__ import annotations

from ._base import CommandGroup


class ACLCommands(CommandGroup):
    """The acl group: redis-py's methods for it."""
