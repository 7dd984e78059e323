"""What every command group builds on: the executor contract and the argument types.

The groups do no I/O.  A method checks its arguments, builds the command
and hands it to its *executor* (the :class:`~greenpool.redis.Redis` client,
a :class:`~greenpool.redis.Pipeline`, or any class that mixes the groups in
and provides :class:`Executor`'s members), together with the reply's shape.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, overload

__all__ = [
    "AbsExpiryT",
    "CommandGroup",
    "CommandOptions",
    "EncodableT",
    "Executor",
    "ExpiryT",
    "KeyT",
    "MemberSetT",
    "ReplyT",
    "ScoreCastT",
]

T = TypeVar("T")

KeyT = bytes | str | memoryview
"""A key, a field or a channel name."""

EncodableT = bytes | bytearray | memoryview | str | int | float
"""What can be sent as one argument."""

ReplyT = bytes | str
"""A string reply: ``bytes``, or ``str`` when the client decodes."""

MemberSetT = set[bytes | str]
"""The members of a set (named so because ``Commands.set`` hides ``set``)."""

ExpiryT = int | datetime.timedelta
AbsExpiryT = int | datetime.datetime
ScoreCastT = Callable[[Any], Any]


class CommandOptions(TypedDict, total=False):
    """The per-command options a method may pass to ``execute_command``.

    Every executor honours each of them the same way, through
    :mod:`greenpool.redis._execute`.
    """

    _parse: Callable[[Any], Any]
    """The reply's shape: applied to the reply (never to an error reply)."""

    never_decode: bool
    """The reply is binary (DUMP): it stays ``bytes`` even when the client decodes."""

    _block_timeout: float | None
    """For a command that blocks in the server: how long it may block, in
    seconds (None: forever).  The executor waits that long plus a margin."""

    target_nodes: Any
    """For a cluster executor: the node(s) to run on (redis-py's ``target_nodes``).
    Passed only when the caller gives one; an executor of one node ignores it."""

    once: bool
    """For an executor over several sentinels: any one of them may answer
    (redis-py's ``once``).  An executor of one server ignores it."""

    return_responses: bool
    """For an executor over several sentinels: return every sentinel's reply
    (redis-py's ``return_responses``).  An executor of one server ignores it."""


class Executor(Protocol):
    """What the command groups need from the class they are mixed into.

    ``execute_command(*args, **options)`` sends one command (``args[0]`` is
    its name; a container command's subcommand is ``args[1]``: ``"CONFIG",
    "GET"``) and returns its reply passed through ``options["_parse"]`` (the
    reply as it is without one).  An error reply is raised as a
    :class:`~greenpool.redis.exceptions.ResponseError` (``_parse`` is not
    called).  A pipeline may buffer the command and apply ``_parse`` when it
    runs: so a method never looks at a reply itself.  ``options`` are
    :class:`CommandOptions`.  The executor decides where the command runs
    (a shared connection, a dedicated one, or nowhere: refused) from the
    command table, :mod:`greenpool.redis.commands._table`.  Options it does
    not know (redis-py's ``target_nodes``, ``keys`` ..., which methods taking
    ``**kwargs`` pass along as redis-py's do) are ignored.

    ``protocol`` (2 or 3) and ``decode_responses`` say what replies look like.
    """

    protocol: int
    decode_responses: bool

    @overload
    def execute_command(self, *args: Any, _parse: Callable[[Any], T], **options: Any) -> T: ...

    @overload
    def execute_command(self, *args: Any, _parse: None = None, **options: Any) -> Any: ...


class _Known:
    """What an executor does with a result known without asking the server."""

    def _known(self, value: T) -> T:
        """``value`` at once (MGET of no keys is ``[]``): an executor that
        buffers commands (:class:`~greenpool.redis.Pipeline`) overrides it to
        buffer the value in the command's place, as redis-py's does."""
        return value


if TYPE_CHECKING:

    class CommandGroup(Executor, _Known):
        """Base of every command group: the :class:`Executor` members, for mypy."""

else:

    class CommandGroup(_Known):
        """Base of every command group (the :class:`Executor` members come from the executor)."""
