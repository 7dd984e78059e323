"""The one place that turns a command into bytes and a reply into a result or an error.

Every executor (:class:`~greenpool.redis.Redis`, :class:`~greenpool.redis.Pipeline`,
and the cluster client to come) sends with :func:`encode` and finishes each
reply with :func:`result`, so the per-command options
(:class:`~greenpool.redis.commands.CommandOptions`) mean the same everywhere:

* ``_parse``: the reply's shape, applied to a reply that is not an error;
* ``never_decode``: the reply stays bytes when the client decodes.  Dedicated
  connections never decode (the client decodes their replies here), so a
  command with this option runs on one of those;
* ``_block_timeout``: how long the command may block in the server; the
  reply is awaited that long plus a margin (:func:`reply_wait`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ConfigurationError
from ..protocol.resp import encode_command
from ._codec import decode_reply
from .exceptions import FAILED_REPLIES, DataError, error_from_reply
from .settings import RedisSettings

__all__ = ["checked_retry", "encode", "failed", "reply_wait", "result", "result_from_raw"]


def encode(args: Sequence[Any]) -> bytes:
    """One command as RESP bytes.  Raises DataError for an argument that can't be sent."""
    try:
        return encode_command(*args)
    except TypeError as exc:
        raise DataError("args", args[0] if args else None, str(exc)) from None


def checked_retry(retry: Any, errors: Sequence[type[BaseException]]) -> Any:
    """``retry`` (a redis-py ``Retry``, or anything with its ``call_with_retry``), made
    to retry ``errors`` too (``update_supported_errors``, when it has it), or None.

    Raises ConfigurationError naming ``retry`` when it can't be called.
    """
    if retry is not None and not callable(getattr(retry, "call_with_retry", None)):
        raise ConfigurationError("retry", retry, "must have call_with_retry(do, fail)")
    update = getattr(retry, "update_supported_errors", None)
    if callable(update):
        # redis-py's Retry knows redis-py's errors; add greenpool's (as redis-py's
        # connections add retry_on_error's).
        update(list(errors))
    return retry


def failed(reply: Any) -> bool:
    """True for an error reply (or one that did not decode)."""
    return type(reply) in FAILED_REPLIES


def result(reply: Any, options: Mapping[str, Any]) -> Any:
    """The command's result: its error raised, or the reply through ``_parse``."""
    if type(reply) in FAILED_REPLIES:
        raise error_from_reply(reply)
    parse: Callable[[Any], Any] | None = options.get("_parse")
    return reply if parse is None else parse(reply)


def result_from_raw(reply: Any, options: Mapping[str, Any], settings: RedisSettings) -> Any:
    """:func:`result` for a reply read without decoding: decoded first, unless
    the client does not decode or the command is ``never_decode``."""
    if settings.decode_responses and not options.get("never_decode") and not failed(reply):
        reply = decode_reply(reply, settings.encoding, settings.encoding_errors)
    return result(reply, options)


def reply_wait(block_timeout: float | None, settings: RedisSettings) -> float | None:
    """How long to await a blocking command's reply: its blocking time plus
    ``socket_timeout`` (or 1 s); None (forever) when it may block forever."""
    if not block_timeout:
        return None
    return float(block_timeout) + (settings.socket_timeout or 1.0)
