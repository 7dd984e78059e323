"""What the command table says about one command, and how to find it.

:mod:`._table` maps every command and subcommand name (``"get"``,
``"client|reply"``) to a :class:`CommandSpec`: the facts Redis's own
``COMMAND INFO`` and ``COMMAND DOCS`` give (group, arity, flags, key
specs, tips, version), plus greenpool's own decisions: whether the command
blocks in the server (:attr:`CommandSpec.blocking`) and whether it changes
a connection's state, so that it must not run on a shared connection
(:attr:`CommandSpec.state`, with :attr:`CommandSpec.hint` saying what to
use instead).

:func:`lookup` finds the entry for a command as it is sent (a container
command's entry is chosen by its subcommand), :func:`keys_of` lists the
key arguments of a command following its key specs (what a cluster client
routes by), and :func:`spec_from_server` builds an entry from a server's
``COMMAND INFO`` and ``COMMAND DOCS`` replies (what the table was generated
from, and what the table's test compares it with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = [
    "ALWAYS",
    "EVERY_CONNECTION",
    "REFUSED",
    "CommandSpec",
    "KeyNum",
    "KeySpec",
    "Range",
    "command_name",
    "group_of",
    "keys_of",
    "spec_from_server",
    "word",
]

ALWAYS = "always"
""":attr:`CommandSpec.blocking`: the command may always block in the server."""

REFUSED = "refused"
""":attr:`CommandSpec.state`: it changes its connection's state; never sent on a
shared connection (nor on a pipeline's, which goes back to a pool)."""

EVERY_CONNECTION = "every connection"
""":attr:`CommandSpec.state`: it sets a per-connection option; a client applies it to
every connection it has and will open (``CLIENT SETNAME``)."""


class Range(NamedTuple):
    """Keys from the begin position up to ``lastkey``, every ``step``-th one.

    ``lastkey`` counts from the first key (0: just the first), or from the
    end when negative (-1: the last argument).  ``limit`` > 1 takes only
    the first 1/limit of the arguments that remain (0 and 1: all).
    """

    lastkey: int
    step: int
    limit: int


class KeyNum(NamedTuple):
    """A count of keys at ``keynumidx`` after the begin position; the keys from
    ``firstkey`` (after the begin position), every ``step``-th one (EVAL, ZUNIONSTORE)."""

    keynumidx: int
    firstkey: int
    step: int


class KeySpec(NamedTuple):
    """Where some of a command's keys are: Redis's key specs (``COMMAND INFO``).

    ``begin`` is the index of the first key (an ``int``), or the keyword that
    precedes the keys (a ``str``, searched from ``startfrom``, counting from
    the end when negative: XREAD's ``STREAMS``), or None when only the
    command's own logic knows (SORT's ``BY`` and ``STORE``).  ``find`` says
    how many keys follow (None: unknown).  ``flags`` are Redis's key spec
    flags (``RO``, ``RW``, ``OW``, ``RM``, ``access``, ``insert``, ``update``,
    ``delete``, ``not_key``, ``incomplete``, ``variable_flags``).
    """

    begin: int | str | None
    startfrom: int
    find: Range | KeyNum | None
    flags: tuple[str, ...]


class CommandSpec(NamedTuple):
    """One command or subcommand in the table (see the module docs)."""

    group: str
    """The command group, which is also the ``commands`` module holding its methods:
    Redis's group (``sorted-set`` spelled ``sorted_set``), except ACL (``acl``) and
    FUNCTION, FCALL, FCALL_RO (``functions``), which have modules of their own.
    MULTI/EXEC/WATCH are ``transactions``: their methods are the pipeline's."""

    arity: int
    """Redis's arity: the argument count with the name, negative for "at least"."""

    flags: tuple[str, ...]
    """Redis's command flags (``readonly``, ``write``, ``blocking``, ``admin`` ...)."""

    keys: tuple[KeySpec, ...] = ()
    """Where the keys are (none for a command without keys)."""

    tips: tuple[str, ...] = ()
    """Redis's command tips (``request_policy:all_shards``, ``nondeterministic_output`` ...)."""

    since: str = ""
    """The Redis version that added the command."""

    blocking: str | None = None
    """None: never blocks; :data:`ALWAYS`; or the option that makes it block
    (``"BLOCK"`` for XREAD and XREADGROUP).  A blocking command runs on a
    connection of its own."""

    state: str | None = None
    """None: it leaves its connection as it was; :data:`REFUSED`; or
    :data:`EVERY_CONNECTION`."""

    hint: str | None = None
    """With a ``state``: why, and what to use instead."""

    container: bool = False
    """It has subcommands (``CLIENT``, ``CONFIG`` ...): the entry that applies
    is ``name|subcommand``."""

    @property
    def readonly(self) -> bool:
        """It only reads (a replica may serve it)."""
        return "readonly" in self.flags


def command_name(args: Sequence[Any], table: Mapping[str, CommandSpec]) -> str | None:
    """The table's name for a command as sent (``"client|reply"``), None if unknown.

    ``args[0]`` (and ``args[1]`` for a container command) may be ``str`` or
    ``bytes`` in any case.  A subcommand the table does not know gives None.
    """
    if not args:
        return None
    name = word(args[0])
    spec = table.get(name)
    if spec is None:
        return None
    if not spec.container or len(args) < 2:
        return name
    full = f"{name}|{word(args[1])}"
    return full if full in table else None


def keys_of(args: Sequence[Any], spec: CommandSpec) -> list[Any]:
    """The key arguments of ``args`` (the whole command, name first) per ``spec``'s key specs.

    Follows Redis's own key-spec algorithm.  Keys behind a spec whose
    ``begin`` or ``find`` is unknown (SORT ... STORE) are not found: such a
    command's keys are known only to its own logic.
    """
    found: list[Any] = []
    count = len(args)
    for key_spec in spec.keys:
        begin = key_spec.begin
        if begin is None or key_spec.find is None:
            continue
        start = begin if isinstance(begin, int) else _after_keyword(args, begin, key_spec.startfrom)
        if start is None:
            continue
        first: int = start
        find = key_spec.find
        if isinstance(find, Range):
            if find.lastkey >= 0:
                last = first + find.lastkey
            elif find.limit > 1:
                last = first + (count - first) // find.limit - 1
            else:
                last = count + find.lastkey
            step = find.step
        else:
            position = first + find.keynumidx
            if position >= count:
                continue
            try:
                number = int(args[position])
            except (TypeError, ValueError):
                continue
            first = first + find.firstkey
            step = find.step
            last = first + (number - 1) * step
        last = min(last, count - 1)
        if last < first:
            continue
        found.extend(args[i] for i in range(first, last + 1, step))
    return found


def _after_keyword(args: Sequence[Any], keyword: str, startfrom: int) -> int | None:
    count = len(args)
    # Like the server: forwards to the last argument but one, or backwards to 1.
    forwards = startfrom > 0
    positions = range(startfrom, count - 1) if forwards else range(count + startfrom, 0, -1)
    for i in positions:
        if 0 < i < count and word(args[i]) == keyword.lower():
            return i + 1
    return None


def word(arg: Any) -> str:
    """A command or option word as the table spells it (lower-case text)."""
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg).decode("utf-8", "replace").lower()
    return str(arg).lower()


def group_of(name: str, server_group: str) -> str:
    """The table's group for a command Redis puts in ``server_group``."""
    head = name.partition("|")[0]
    if head == "acl":
        return "acl"
    if head in ("function", "fcall", "fcall_ro"):
        return "functions"
    return server_group.replace("-", "_")


def spec_from_server(info: Sequence[Any], docs: Mapping[str, Any]) -> dict[str, CommandSpec]:
    """Table entries, without greenpool's own decisions, from one ``COMMAND INFO`` entry.

    ``info`` is the command's ``COMMAND INFO`` reply (a list, RESP3, strings
    decoded); ``docs`` its ``COMMAND DOCS`` map.  Returns the command's entry
    and one per subcommand.
    """
    out: dict[str, CommandSpec] = {}
    name = str(info[0]).lower()
    subcommands = info[9] if len(info) > 9 else []
    out[name] = CommandSpec(
        group=group_of(name, str(docs.get("group", ""))),
        arity=int(info[1]),
        flags=tuple(sorted(str(f) for f in info[2])),
        keys=tuple(_key_spec(ks) for ks in info[8]),
        tips=tuple(str(t) for t in info[7]),
        since=str(docs.get("since", "")),
        container=bool(subcommands),
    )
    sub_docs = docs.get("subcommands") or {}
    for sub in subcommands:
        out.update(spec_from_server(sub, sub_docs.get(str(sub[0]).lower(), {})))
    return out


def _key_spec(raw: Mapping[str, Any]) -> KeySpec:
    search = raw["begin_search"]
    spec = search.get("spec") or {}
    begin: int | str | None = None
    startfrom = 0
    if search["type"] == "index":
        begin = int(spec["index"])
    elif search["type"] == "keyword":
        begin = str(spec["keyword"])
        startfrom = int(spec["startfrom"])
    find_raw = raw["find_keys"]
    fspec = find_raw.get("spec") or {}
    find: Range | KeyNum | None = None
    if find_raw["type"] == "range":
        find = Range(int(fspec["lastkey"]), int(fspec["keystep"]), int(fspec["limit"]))
    elif find_raw["type"] == "keynum":
        find = KeyNum(int(fspec["keynumidx"]), int(fspec["firstkey"]), int(fspec["keystep"]))
    return KeySpec(begin, startfrom, find, tuple(sorted(str(f) for f in raw["flags"])))
