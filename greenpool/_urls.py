"""Options in a URL's query string, typed and checked, with secrets kept out of errors.

Used by the drivers' ``from_url``: ``?socket_timeout=2.5&fetch_schema=no``
becomes ``{"socket_timeout": 2.5, "fetch_schema": False}``.  Nothing here
imports from a higher layer.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigurationError

__all__ = ["BOOL", "query_options"]

#: What a boolean option may say, lower-cased.
BOOL: Mapping[str, bool] = {
    "1": True, "true": True, "yes": True, "on": True,
    "0": False, "false": False, "no": False, "off": False,
}


def _to_bool(text: str) -> bool:
    return BOOL[text.lower()]


def query_options(query: str, kinds: Mapping[str, type], *, shown: str) -> dict[str, Any]:
    """Read ``key=value`` pairs of ``query``, each converted by its type in ``kinds``.

    ``kinds`` maps every option allowed to ``int``, ``float``, ``str`` or
    ``bool`` (see :data:`BOOL`).  The last of repeated keys wins.  Raises
    :class:`~greenpool.ConfigurationError` naming ``url`` (shown as
    ``shown``, its password masked) for an unknown option, and naming the
    option for a value of the wrong type.
    """
    options: dict[str, Any] = {}
    for key, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
        kind = kinds.get(key)
        if kind is None:
            allowed = ", ".join(sorted(kinds))
            raise ConfigurationError("url", shown, f"unknown option {key!r} (known: {allowed})")
        convert: Callable[[str], Any] = _to_bool if kind is bool else kind
        try:
            options[key] = convert(values[-1])
        except (KeyError, ValueError):
            raise ConfigurationError(key, values[-1], "bad value in the URL") from None
    return options
