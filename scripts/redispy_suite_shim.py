"""Run redis-py's own tests against greenpool.redis.Redis ("a change of import").

See docs/redis.md, "redis-py's own tests", for the command.  Copy this file
next to redis-py's ``tests`` package (from its sdist) as
``greenpool_shim.py`` and load it with ``-p greenpool_shim``.

It starts a redis-server on a free loopback port, DEBUG enabled (at
``pytest_configure``);
rebinds ``redis.Redis``,
``redis.StrictRedis``, ``redis.client.Redis/Pipeline/PubSub``,
``redis.lock.Lock``, ``redis.commands.core.Script``, ``redis.Subscription``,
``redis.retry.Retry`` and ``redis.backoff``'s classes,
``redis.sentinel.Sentinel`` (its errors, ``SentinelConnectionPool`` and the
``SentinelManaged*Connection`` names) and every exception
class of ``redis`` and ``redis.exceptions`` to greenpool's (the "change of
import"); and replaces conftest's ``_get_client`` (greenpool's client from
the server's URL with the fixture's keyword arguments), ``_get_info`` and
``_get_raw_protocol`` and ``get_legacy_responses`` (the ``protocol`` and
``legacy_responses`` the greenpool client was given: they choose its reply
shapes as redis-py's).  For test_sentinel.py it also starts a primary, a
replica and three sentinels watching them as ``redis-py-test`` (its
``--sentinels``), and for test_ssl.py and test_connect.py a TLS
redis-server (its ``--redis-ssl-url``) with certificates made by ``trustme``.
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
redis.Subscription = gr.Subscription
# Retry and the back-offs: `from redis.retry import Retry` and `from
# redis.backoff import ...` become greenpool's (which retry greenpool's
# errors by default and wait greenly).  redis-py's own modules keep the
# names they bound at import, so its Connection classes still make redis-py's.
import redis.backoff  # noqa: E402
import redis.retry  # noqa: E402

import greenpool.redis.backoff as gbackoff  # noqa: E402
import greenpool.redis.retry as gretry  # noqa: E402

redis.retry.Retry = gretry.Retry
for _name in gbackoff.__all__:
    if hasattr(redis.backoff, _name):
        setattr(redis.backoff, _name, getattr(gbackoff, _name))
redis.default_backoff = gbackoff.default_backoff
# redis-py's own code that builds Subscription objects (its ClusterPubSub,
# which some of test_pubsub.py's tests drive with mocks) builds greenpool's
# too, so the two compare equal.
import redis.cluster  # noqa: E402
import redis.commands.helpers  # noqa: E402

redis.commands.helpers.Subscription = gr.Subscription
redis.cluster.Subscription = gr.Subscription
# Sentinel: the client class and its errors, as `from redis.sentinel import
# Sentinel, MasterNotFoundError, SlaveNotFoundError` becomes greenpool's.
import redis.sentinel  # noqa: E402

redis.sentinel.Sentinel = gr.Sentinel
redis.Sentinel = gr.Sentinel
redis.sentinel.MasterNotFoundError = gr.MasterNotFoundError
redis.sentinel.SlaveNotFoundError = gr.SlaveNotFoundError
redis.sentinel.ReplicaNotFoundError = gr.ReplicaNotFoundError
# ... and `from redis.sentinel import SentinelConnectionPool` (its pool class
# and the connection classes a pool is given) too.
for _name in ("SentinelConnectionPool", "SentinelManagedConnection",
              "SentinelManagedSSLConnection"):
    setattr(redis.sentinel, _name, getattr(gr, _name))
    setattr(redis, _name, getattr(gr, _name))

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
    if "legacy_responses" not in kwargs:
        legacy = request.config.getoption("--legacy-responses", None) if request else None
        # "default" (the option's default) leaves the client's own default, as
        # redis-py's conftest does: passing it on as False asked for other shapes
        if legacy and legacy.lower() != "default":
            kwargs["legacy_responses"] = legacy.lower() == "true"
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
        return r.settings.user_protocol
    if isinstance(r, _real_redis):
        return r.connection_pool.connection_kwargs.get("protocol")
    return None


def _get_legacy(r):
    if isinstance(r, gr.Redis):
        return r.settings.legacy_responses
    if isinstance(r, _real_redis):
        return r.connection_pool.connection_kwargs.get("legacy_responses", True)
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
    # DEBUG enabled, as in redis-py's test images: its tests make error
    # replies with DEBUG ERROR (LOADING, READONLY, OOM, WRONGPASS ...)
    config.option.redis_url = start(RedisServer(extra_args=["--enable-debug-command", "yes"]))
    config.option.redis_mod_url = "redis://127.0.0.1:1"
    if any("test_sentinel" in arg for arg in config.args):
        # a primary, a replica and three sentinels watching it as the
        # service redis-py's tests name (their --sentinels, --master-service)
        from greenpool.testing import RedisSentinelSet

        group = RedisSentinelSet(replicas=1, service_name="redis-py-test")
        group.start()
        atexit.register(group.stop)
        config.option.sentinels = ",".join(f"{s.host}:{s.port}" for s in group.sentinels)
    if any("test_ssl" in arg or "test_connect" in arg for arg in config.args):
        config.option.redis_ssl_url = _tls_server()


def _tls_server():
    """A TLS-only redis-server, with the certificates where redis-py's
    ssl_utils looks for them (dockers/standalone/tls next to ``tests``)."""
    import os

    import trustme

    tls = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dockers", "standalone", "tls")
    os.makedirs(tls, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(os.path.join(tls, "ca.crt"))
    # name, host name, common name (test_user's is the ACL user a certificate names)
    for name, identity, common in (("redis", "localhost", "localhost"),
                                   ("client", "client", "client"),
                                   ("test_user", "test-user", "test_user")):
        cert = ca.issue_cert(identity, "127.0.0.1", common_name=common)
        cert.cert_chain_pems[0].write_to_path(os.path.join(tls, f"{name}.crt"))
        cert.private_key_pem.write_to_path(os.path.join(tls, f"{name}.key"))
    server = RedisServer(tls=True, tls_cert=os.path.join(tls, "redis.crt"),
                         tls_key=os.path.join(tls, "redis.key"),
                         tls_ca=os.path.join(tls, "ca.crt"), tls_auth_clients="optional")
    server.start()
    atexit.register(server.stop)
    return f"rediss://localhost:{server.port}"
