"""What a method returns for a given reply, greenpool's against redis-py's, without a server.

For commands the test server (Redis 7.0) does not run, the reply shaping
is checked by feeding both clients the same canned reply: greenpool's
method through an executor that answers with it (its ``_parse`` applied as
every executor applies it, :func:`greenpool.redis._execute.result`), and
redis-py's method with its ``execute_command`` answering with the reply
passed through redis-py's own response callback for that command, as its
``parse_response`` does.  ``protocol`` picks redis-py's callbacks: 2 for
``protocol=2``, 3 for its default RESP3 connection (legacy shapes).

    ours, theirs = results("hgetdel", "h", "a", reply=[b"1", None], protocol=3)
    assert_same(ours, theirs)
"""

from __future__ import annotations

import warnings
from typing import Any

import redis

from greenpool.redis import _execute
from greenpool.redis.commands import Commands


class _Answering(Commands):
    """An executor that records every command and answers it with one canned reply."""

    def __init__(self, reply: Any, protocol: int, decode_responses: bool) -> None:
        self.reply = reply
        self.protocol = protocol
        self.decode_responses = decode_responses
        self.sent: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:  # type: ignore[override]
        self.sent.append(args)
        return _execute.result(self.reply, options)


def ours(
    method: str, *args: Any, reply: Any = None, protocol: int = 2, decode: bool = False,
    **kwargs: Any,
) -> tuple[Any, list[tuple[Any, ...]]]:
    """greenpool's result of ``method(*args, **kwargs)`` for ``reply``, and what it sent."""
    executor = _Answering(reply, protocol, decode)
    return getattr(executor, method)(*args, **kwargs), executor.sent


def results(
    method: str, *args: Any, reply: Any, protocol: int, decode: bool = False, **kwargs: Any
) -> tuple[Any, Any]:
    """(greenpool's result, redis-py's result) of ``method(*args, **kwargs)`` for ``reply``."""
    mine = getattr(_Answering(reply, protocol, decode), method)(*args, **kwargs)
    theirs = redis.Redis(protocol=2 if protocol == 2 else None, decode_responses=decode)
    callbacks = theirs.response_callbacks

    def answer(*command: Any, **options: Any) -> Any:
        options.pop("keys", None)
        name = command[0]
        if name in callbacks:
            return callbacks[name](reply, **options)
        return reply

    theirs.execute_command = answer  # type: ignore[method-assign]
    with warnings.catch_warnings():  # redis-py's "experimental" and deprecation notes
        warnings.simplefilter("ignore")
        return mine, getattr(theirs, method)(*args, **kwargs)


def refusals(method: str, *args: Any, **kwargs: Any) -> tuple[BaseException, Any, int]:
    """(greenpool's exception, redis-py's exception or None, commands greenpool sent).

    For a bad argument: greenpool must raise, send nothing, and raise what
    redis-py raises for the same call where redis-py checks it too (its
    DataError being greenpool's :class:`~greenpool.redis.DataError`).
    """
    executor = _Answering(None, 2, False)
    try:
        getattr(executor, method)(*args, **kwargs)
    except Exception as exc:
        mine: BaseException = exc
    else:
        raise AssertionError(f"{method}{args}{kwargs}: greenpool raised nothing")
    theirs = redis.Redis()
    theirs.execute_command = lambda *a, **o: None  # type: ignore[method-assign]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(theirs, method)(*args, **kwargs)
    except Exception as exc:
        return mine, exc, len(executor.sent)
    return mine, None, len(executor.sent)


def assert_refused_alike(method: str, *args: Any, **kwargs: Any) -> None:
    """greenpool refuses the call before sending, with redis-py's exception type if it has one."""
    from greenpool.redis import DataError

    mine, theirs, sent = refusals(method, *args, **kwargs)
    assert sent == 0, f"{method}: greenpool sent something before refusing"
    if theirs is None or isinstance(theirs, redis.exceptions.DataError):
        assert isinstance(mine, DataError), f"{method}: {mine!r}, redis-py {theirs!r}"
    else:
        assert isinstance(mine, type(theirs)), f"{method}: {mine!r}, redis-py {theirs!r}"


def assert_refused_before_sending(method: str, *args: Any, **kwargs: Any) -> None:
    """greenpool raises DataError and sends nothing (a check stricter than redis-py's)."""
    from greenpool.redis import DataError

    mine, _, sent = refusals(method, *args, **kwargs)
    assert isinstance(mine, DataError), f"{method}: {mine!r}"
    assert sent == 0, f"{method}: greenpool sent something before refusing"


def assert_same_results(method: str, *args: Any, reply: Any, protocol: int,
                        **kwargs: Any) -> None:
    """greenpool's and redis-py's results for the canned ``reply`` are equal, types included."""
    from commands_executor import assert_same

    mine, theirs = results(method, *args, reply=reply, protocol=protocol, **kwargs)
    assert_same(mine, theirs, f"{method} on RESP{protocol}")
