"""Where a command runs, read from the command table and nothing else.

:data:`ROUTES` maps a command's name, as callers spell it (``"GET"``,
``"get"``, ``b"GET"`` ...), to None for a command that runs on a shared
connection whatever its arguments: the hot path is that one dict lookup.
Every other command maps to a :class:`Route`, and :func:`resolve` settles
it from the whole command: by subcommand (``CLIENT REPLY`` is refused,
``CLIENT ID`` is not), by option (``XREAD BLOCK`` blocks), for a name given
with its subcommand in one string (``"CLIENT REPLY"``, as redis-py allows),
or for a spelling not seen before.  A command the table does not know
(a module's) runs on a shared connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..errors import ConfigurationError
from .commands._spec import ALWAYS, EVERY_CONNECTION, REFUSED, CommandSpec, word
from .commands._table import TABLE

__all__ = [
    "BLOCKING",
    "EVERY",
    "REFUSE",
    "ROUTES",
    "UNSEEN",
    "Route",
    "refusal",
    "resolve",
    "route_or_unseen",
]

BLOCKING = "blocking"
"""Run it on a dedicated connection (it may block in the server)."""
REFUSE = "refuse"
"""Never send it on a shared (or pipeline) connection: :attr:`Route.hint` says why."""
EVERY = "every"
"""A per-connection setting: the node applies it to every connection."""
_SUBCOMMAND = "subcommand"
_OPTION = "option"
_UNSEEN = "unseen"


class Route(NamedTuple):
    """How to run one command: ``kind`` (:data:`BLOCKING`, :data:`REFUSE`,
    :data:`EVERY`, or an internal kind that :func:`resolve` settles), the
    table ``name``, and the blocking ``option`` or the refusal ``hint``."""

    kind: str
    name: str
    option: str | None = None
    hint: str | None = None


def _route_of(name: str, spec: CommandSpec) -> Route | None:
    if spec.state == REFUSED:
        return Route(REFUSE, name, hint=spec.hint)
    if spec.state == EVERY_CONNECTION:
        return Route(EVERY, name, hint=spec.hint)
    if spec.blocking == ALWAYS:
        return Route(BLOCKING, name)
    if spec.blocking is not None:
        return Route(_OPTION, name, option=spec.blocking.lower())
    if spec.container:
        prefix = name + "|"
        if any(_route_of(sub, s) is not None for sub, s in TABLE.items() if sub.startswith(prefix)):
            return Route(_SUBCOMMAND, name)
    return None


def _spellings(name: str) -> list[Any]:
    return [name, name.upper(), name.encode(), name.upper().encode()]


ROUTES: dict[Any, Route | None] = {}
"""Command name (as spelled) -> None (shared) or a :class:`Route` to :func:`resolve`."""
for _name, _spec in TABLE.items():
    if "|" not in _name:
        _route = _route_of(_name, _spec)
        for _spelling in _spellings(_name):
            ROUTES[_spelling] = _route
UNSEEN = Route(_UNSEEN, "")
"""For :func:`resolve`: a name that is not (yet) in :data:`ROUTES`."""
_MAX_EXTRA_SPELLINGS = 4096
_extra_spellings = 0


def route_or_unseen(name: Any) -> Route | None:
    """:data:`ROUTES`' entry for ``name``, or a route telling :func:`resolve` to look it up."""
    try:
        return ROUTES.get(name, UNSEEN)
    except TypeError:  # unhashable (a bytearray)
        return UNSEEN


def resolve(route: Route | None, args: Sequence[Any]) -> tuple[Route | None, Sequence[Any]]:
    """Settle ``route`` (from :data:`ROUTES`) for the whole command ``args``.

    Returns the final route (None: a shared connection; or :data:`BLOCKING`,
    :data:`REFUSE`, :data:`EVERY`) and the arguments to send, which differ
    from ``args`` only when the name held its subcommand (``"CONFIG GET"``).
    Raises :class:`~greenpool.ConfigurationError` for an empty command.
    """
    if not args:
        raise ConfigurationError("args", args, "a command name is needed")
    if route is not None and route.kind == _UNSEEN:
        first = args[0]
        if isinstance(first, str) and " " in first.strip():
            args = (*first.split(), *args[1:])
            return resolve(route_or_unseen(args[0]), args)
        route = _learn(first)
    if route is None:
        return None, args
    if route.kind == _SUBCOMMAND:
        sub = word(args[1]) if len(args) > 1 else ""
        spec = TABLE.get(f"{route.name}|{sub}")
        if spec is None:
            return None, args  # an unknown subcommand: the server will say so
        return resolve(_route_of(f"{route.name}|{sub}", spec), args)
    if route.kind == _OPTION:
        option = route.option
        if any(isinstance(a, (str, bytes)) and word(a) == option for a in args[1:]):
            return Route(BLOCKING, route.name), args
        return None, args
    return route, args


def _learn(name: Any) -> Route | None:
    """The route for a spelling not in :data:`ROUTES`; remembered (up to a bound)."""
    global _extra_spellings
    text = word(name)
    spec = TABLE.get(text)
    route = None if spec is None else _route_of(text, spec)
    if isinstance(name, (str, bytes)) and _extra_spellings < _MAX_EXTRA_SPELLINGS:
        ROUTES[name] = route
        _extra_spellings += 1
    return route


def refusal(route: Route, where: str) -> ConfigurationError:
    """The error for a refused command (``where``: "a shared connection", "a pipeline")."""
    name = route.name.replace("|", " ").upper()
    return ConfigurationError("command", name, f"can't run on {where}: {route.hint}")
