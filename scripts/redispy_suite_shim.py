"""Run redis-py's own tests against greenpool.redis.Redis ("a change of import").

See docs/redis.md, "redis-py's own tests", for the command.  Copy this file
next to redis-py's ``tests`` package (from its sdist) as
``greenpool_shim.py`` and load it with ``-p greenpool_shim``.

It starts a redis-server on a free loopback port (at ``pytest_configure``);
rebinds ``redis.Redis``,
``redis.StrictRedis``, ``redis.client.Redis/Pipeline/PubSub``,
``redis.lock.Lock``, ``redis.commands.core.Script`` and every exception
class of ``redis`` and ``redis.exceptions`` to greenpool's (the "change of
import"); and replaces conftest's ``_get_client`` (greenpool's client from
the server's URL with the fixture's keyword arguments), ``_get_info`` and
``_get_raw_protocol`` (the protocol the greenpool client uses).
"""
import atexit

import redis
import redis.exceptions as rex

import greenpool.redis as gr
import greenpool.redis.exceptions as gex
from greenpool.testing import RedisServer

URL = None  # the server's, once pytest_configure has started it

_real_redis = redis.Redis
for _name in dir(rex):
    _obj = getattr(rex, _name)
    if isinstance(_obj, type) and issubclass(_obj, BaseException) and hasattr(gex, _name):
        setattr(rex, _name, getattr(gex, _name))
        if hasattr(redis, _name):
            setattr(redis, _name, getattr(gex, _name))
redis.Redis = gr.Redis
redis.StrictRedis = gr.Redis
# the other public classes a user imports, as "a change of import" moves them
import redis.client  # noqa: E402
import redis.commands.core  # noqa: E402
import redis.lock  # noqa: E402

redis.client.Redis = gr.Redis
redis.client.Pipeline = gr.Pipeline
redis.client.PubSub = gr.PubSub
redis.lock.Lock = gr.Lock
redis.commands.core.Script = gr.Script

import pytest  # noqa: E402

import tests.conftest as C  # noqa: E402

_PROTO = {}


def _get_info(url):
    if url != URL:
        raise KeyError("no modules server")
    c = _real_redis.from_url(url)
    info = c.info()
    info["enterprise"] = False
    c.close()
    return info


def fixture_kwargs(request, kwargs):
    """conftest's client keyword arguments as greenpool takes them (``--protocol``
    applied; ``legacy_responses=True`` is what greenpool does); skips TLS."""
    if kwargs.get("protocol") is None:
        opt = request.config.getoption("--protocol")
        if opt:
            kwargs["protocol"] = int(opt)
    if kwargs.get("legacy_responses") is True:
        kwargs.pop("legacy_responses")
    if kwargs.pop("ssl", False):
        pytest.skip("no TLS server in the shim")
    return kwargs


def closed_at_teardown(request, client, flush):
    """``client``, closed and then ``flush()`` called when the test ends."""
    if request:
        def teardown():
            # the fixtures' `with` has closed the client already (a closed
            # greenpool client stays closed; redis-py's reconnects)
            client.close()
            flush()
        request.addfinalizer(teardown)
    return client


def _get_client(cls, request, single_connection_client=True, flushdb=True, from_url=None, **kwargs):
    url = from_url or URL
    client = cls.from_url(url, **fixture_kwargs(request, kwargs))
    _PROTO[id(client)] = client.protocol

    def flush():
        if flushdb:
            fresh = _real_redis.from_url(url, db=kwargs.get("db", 0))
            fresh.flushdb()
            fresh.close()
    return closed_at_teardown(request, client, flush)


def _get_raw_protocol(r):
    if isinstance(r, gr.Redis):
        return getattr(r, "protocol", None)
    if isinstance(r, _real_redis):
        return r.connection_pool.connection_kwargs.get("protocol")
    return None


def _get_legacy(r):
    return True


C._get_info = _get_info
C._get_client = _get_client
C._get_raw_protocol = _get_raw_protocol
C.get_legacy_responses = _get_legacy


def start(server):
    """Start ``server``, stop it at exit; return its URL."""
    global URL
    server.start()
    atexit.register(server.stop)
    URL = server.url
    return URL


def pytest_configure(config):
    config.option.redis_url = start(RedisServer())
    config.option.redis_mod_url = "redis://127.0.0.1:1"
