"""PubSub takes redis-py's keyword arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import wait_until

from greenpool import ConfigurationError
from greenpool.redis import Redis
from greenpool.testing import RedisServer


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=redis_server.host, port=redis_server.port, protocol=request.param)
    yield client
    client.close()


def test_pubsub_accepts_redis_py_keyword_arguments(r: Redis) -> None:
    seen: list[Any] = []

    def handler(raw: Any) -> Any:
        seen.append(raw)
        return raw

    p = r.pubsub(
        ignore_subscribe_messages=True,
        push_handler_func=handler,
        shard_hint=None,
        encoder=None,
        event_dispatcher=None,
    )
    p.subscribe("t:ps-kw")
    wait_until(lambda: r.execute_command("PUBSUB", "NUMSUB", "t:ps-kw")[1] == 1)
    r.publish("t:ps-kw", "hi")
    message = None
    for _ in range(20):
        message = p.get_message(timeout=0.5)
        if message is not None:
            break
    assert message is not None and message["data"] == b"hi"
    if r.protocol == 3:  # redis-py calls it for RESP3 push messages only
        assert [m[0] for m in seen] == [b"subscribe", b"message"]
    else:
        assert seen == []
    p.close()


def test_a_push_handler_returning_none_swallows_the_message(redis_server: RedisServer) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, protocol=3) as client:
        p = client.pubsub(push_handler_func=lambda raw: None)
        p.subscribe("t:ps-none")
        wait_until(lambda: client.execute_command("PUBSUB", "NUMSUB", "t:ps-none")[1] == 1)
        client.publish("t:ps-none", "x")
        assert p.get_message(timeout=0.2) is None
        p.close()


def test_pubsub_refuses_unknown_keywords_and_a_bad_handler(r: Redis) -> None:
    with pytest.raises(TypeError):
        r.pubsub(no_such_option=True)
    with pytest.raises(ConfigurationError, match="push_handler_func"):
        r.pubsub(push_handler_func="nope")
