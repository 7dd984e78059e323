"""Private helpers shared by every layer: argument checks, the caller's frame, listener calls
(and :func:`mask_secret`).

``mask_secret`` lives in :mod:`greenpool._secrets` with the rest of the
masking rules; it is re-exported here.  Nothing here does I/O or imports
from a higher layer.
"""

from __future__ import annotations

import logging
import math
import sys
import warnings
from collections.abc import Callable
from types import FrameType
from typing import Any

from ._secrets import mask_secret
from .errors import ConfigurationError

__all__ = [
    "call_listener",
    "caller_frame",
    "check_bool",
    "check_float",
    "check_int",
    "check_timeout",
    "mask_secret",
]


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int = 0,
    allow_none: bool = False,
    unlimited: int | None = None,
) -> int | None:
    """Return ``value`` if it is an int >= ``minimum``; raise ConfigurationError otherwise.

    ``None`` is accepted when ``allow_none``; the sentinel ``unlimited`` (such as
    ``-1``) is accepted and returned as is.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(name, value, "must be an integer")
    if unlimited is not None and value == unlimited:
        return value
    if value < minimum:
        extra = f" (or {unlimited} for no limit)" if unlimited is not None else ""
        raise ConfigurationError(name, value, f"must be >= {minimum}{extra}")
    return value


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float = 0.0,
    allow_none: bool = False,
    strict: bool = False,
) -> float | None:
    """Return ``value`` as a float if it is a finite real number >= ``minimum``.

    With ``strict`` the value must be greater than ``minimum``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(name, value, "must be a number of seconds")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ConfigurationError(name, value, "must be finite")
    if number < minimum or (strict and number == minimum):
        op = ">" if strict else ">="
        raise ConfigurationError(name, value, f"must be {op} {minimum}")
    return number


def check_timeout(name: str, value: Any) -> float | None:
    """Normalise a timeout: ``None`` or ``-1`` mean wait forever (returned as None).

    ``0`` means do not wait.  Anything else must be a positive finite number.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            name, value, "must be a number of seconds, 0 (do not wait) or None/-1 (wait forever)"
        )
    if value == -1:
        return None
    number = float(value)
    if math.isnan(number) or number < 0:
        raise ConfigurationError(
            name, value, "must be >= 0 seconds, or None/-1 to wait forever"
        )
    if math.isinf(number):
        return None
    return number


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool; raise ConfigurationError otherwise."""
    if not isinstance(value, bool):
        raise ConfigurationError(name, value, "must be True or False")
    return value


def caller_frame(depth: int = 1) -> FrameType | None:
    """The frame ``depth`` levels above the function calling this, or None.

    None when there is no such Python frame (a greenlet's ``run``, C code,
    called the function).  Used to remember where a connection was checked
    out, for leak reports; ``sys._getframe`` keeps it cheap.
    """
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        return None


def call_listener(logger: logging.Logger, listener: Callable[..., Any], *args: Any) -> None:
    """Call an application's ``listener(*args)``; log an Exception it raises, and go on.

    A BaseException (``gevent.Timeout``, ``kill()``) passes through.
    """
    try:
        listener(*args)
    except Exception:
        logger.exception("listener %r raised", listener)


def monkey_patched() -> bool:
    """True when gevent's monkey patching has run in this process (``socket`` is patched).

    Imports nothing: a process that never imported ``gevent.monkey`` is not patched.
    """
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("socket"))


def former_names(module: str, renamed: dict[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that keeps former names working, with a DeprecationWarning.

    ``renamed`` maps each former name to ``(new name, object)``.  Any other
    missing name raises AttributeError as usual.
    """

    def __getattr__(name: str) -> Any:
        if name in renamed:
            new, value = renamed[name]
            warnings.warn(f"{module}.{name} is now called {new}", DeprecationWarning,
                          stacklevel=2)
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
