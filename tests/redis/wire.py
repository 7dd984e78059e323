"""What a method sends, greenpool's against redis-py's, without a server.

For commands the test server (Redis 7.0) does not run (hash-field expiry,
HGETDEL, arrays, vector sets ...) and for every method in general, the
promise is "the same name, the same arguments, and the same command on the
wire as redis-py".  :func:`sent` records the commands one method call
makes, through a recording executor for greenpool and through redis-py's
own ``Redis`` with its ``execute_command`` replaced; :func:`assert_sends_same`
compares the two, argument by argument, as the bytes that would be sent
(greenpool's RESP encoder for both, so a value redis-py would encode
differently shows as a difference).

    assert_sends_same("hgetdel", "h", "f1", "f2")
    assert_sends_same("set", "k", "v", ex=10, get=True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from greenpool.protocol.resp import encode_arg
from greenpool.redis import _execute
from greenpool.redis.commands import Commands

Sent = list[list[bytes]]


class _Recording(Commands):
    """An executor that records each command and answers with a canned reply."""

    protocol = 2
    decode_responses = False

    def __init__(self, reply: Any) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.reply = reply

    def execute_command(self, *args: Any, **options: Any) -> Any:  # type: ignore[override]
        self.sent.append(args)
        return self.reply


def _wire(commands: list[tuple[Any, ...]]) -> Sent:
    return [[_arg(a) for a in args] for args in commands]


def _arg(value: Any) -> bytes:
    if isinstance(value, (bytes, str, int, float)) and not isinstance(value, bool):
        return encode_arg(value)
    return repr(value).encode()  # not sendable: shown as is, so a difference is visible


def sent(method: str, *args: Any, reply: Any = None, **kwargs: Any) -> tuple[Sent, Sent]:
    """(what greenpool sends, what redis-py sends) for ``method(*args, **kwargs)``.

    ``reply`` is what each executor answers (methods that look at a reply
    to send more need a plausible one).  An exception from either side
    propagates.
    """
    return sent_to(redis.Redis(), method, *args, reply=reply, **kwargs)


def sent_to(
    theirs: Any, method: str, /, *args: Any, reply: Any = None, **kwargs: Any
) -> tuple[Sent, Sent]:
    """:func:`sent`, with ``theirs`` (a redis-py object whose class has ``method``:
    a ``RedisCluster``'s management commands, say) instead of a ``redis.Redis``."""
    return sent_by(lambda client: getattr(client, method)(*args, **kwargs), reply, theirs)


def _split(commands: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """redis-py passes some names as one string ("CONFIG GET"): split them as sent."""
    out = []
    for args in commands:
        if args and isinstance(args[0], str) and " " in args[0]:
            args = (*args[0].split(), *args[1:])
        out.append(args)
    return out


def assert_sends_same(method: str, *args: Any, reply: Any = None, **kwargs: Any) -> None:
    """Assert greenpool's ``method(*args, **kwargs)`` sends what redis-py's sends."""
    assert_sends_same_as(redis.Redis(), method, *args, reply=reply, **kwargs)


def assert_sends_same_as(theirs: Any, method: str, /, *args: Any, reply: Any = None,
                         **kwargs: Any) -> None:
    """:func:`assert_sends_same` against ``theirs`` (see :func:`sent_to`)."""
    ours, reference = sent_to(theirs, method, *args, reply=reply, **kwargs)
    assert ours == reference, f"{method}: greenpool sends {ours}, redis-py sends {reference}"


def case(method: str, *args: Any, **kwargs: Any) -> Any:
    """A ``pytest.param`` for a table of calls to check with :func:`assert_sends_same`.

        @pytest.mark.parametrize(("method", "args", "kwargs"), [case("zadd", "z", {"a": 1})])
    """
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return pytest.param(method, args, kwargs, id=f"{method}({shown})"[:120])


def sent_by(call: Callable[[Any], Any], reply: Any = None,
            theirs: Any = None) -> tuple[Sent, Sent]:
    """:func:`sent` for any ``call(client)``, such as a method of an object a
    client hands out (``lambda c: c.vset().vadd(...)``); ``theirs`` is the
    redis-py object to compare with (a ``redis.Redis`` by default)."""
    ours = _Recording(reply)
    call(ours)
    theirs_sent: list[tuple[Any, ...]] = []
    if theirs is None:
        theirs = redis.Redis()

    def record(*command: Any, **options: Any) -> Any:
        theirs_sent.append(command)
        return reply

    theirs.execute_command = record  # type: ignore[method-assign]
    call(theirs)
    return _wire(_split(ours.sent)), _wire(_split(theirs_sent))


class _Answering(Commands):
    """An executor that answers every command with one canned reply, shaped as the client would."""

    def __init__(self, reply: Any, protocol: int, decode_responses: bool) -> None:
        self.reply = reply
        self.protocol = protocol
        self.decode_responses = decode_responses

    def execute_command(self, *args: Any, **options: Any) -> Any:  # type: ignore[override]
        return _execute.result(self.reply, options)


class _CannedConnection:
    """What redis-py's ``parse_response`` reads a reply from."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply

    def read_response(self, disable_decoding: bool = False, **kwargs: Any) -> Any:
        return self.reply


def results_by(
    call: Callable[[Any], Any], reply: Any, protocol: int = 2, decode: bool = False
) -> tuple[Any, Any]:
    """(greenpool's result, redis-py's result) of ``call(client)`` when the server
    answers ``reply``: for the reply shapes of commands the test server lacks.

    ``reply`` is written as the client's parser gives it (RESP2 or RESP3,
    ``str`` when ``decode``).  redis-py is configured as the live tests
    configure it: RESP2, or its default RESP3 connection; its own response
    callbacks shape the reply, with the options its method passes.
    """
    ours = result_of(call, reply, protocol, decode)
    theirs = redis.Redis(protocol=2 if protocol == 2 else None, decode_responses=decode)

    def answer(*command: Any, **options: Any) -> Any:
        name = command[0]
        return redis.Redis.parse_response(theirs, _CannedConnection(reply), name, **options)

    theirs.execute_command = answer  # type: ignore[method-assign]
    return ours, call(theirs)


def result_of(
    call: Callable[[Any], Any], reply: Any, protocol: int = 2, decode: bool = False
) -> Any:
    """greenpool's result of ``call(client)`` when the server answers ``reply``."""
    return call(_Answering(reply, protocol, decode))
