"""Run redis-py's own cluster tests against greenpool.redis.RedisCluster.

See docs/redis-cluster.md, "redis-py's own cluster tests", for the command.
Copy this file next to redis-py's ``tests`` package (from its sdist) as
``greenpool_cluster_shim.py``, and ``redispy_suite_shim.py`` beside it as
``greenpool_shim.py`` (whose change of import this one extends); load it
with ``-p greenpool_cluster_shim``.

It starts a Redis Cluster (3 primaries, 3 replicas) on free loopback ports
at ``pytest_configure`` and points ``--redis-url`` at its first node, so
that redis-py's conftest sees ``cluster_enabled`` and its ``-m onlycluster``
tests run; rebinds ``redis.RedisCluster``, ``redis.cluster.RedisCluster``,
``ClusterNode``, ``ClusterPipeline``, ``ClusterPubSub`` and
``LoadBalancingStrategy`` to greenpool's (the exception classes, ``_get_info`` of the
node at ``--redis-url`` and the standalone classes are the standalone
shim's); and replaces conftest's ``_get_client`` (greenpool's cluster client
from the URL with the fixture's keyword arguments; the teardown flushes
every primary) and ``_get_raw_protocol``.  The tests' helpers that mock
redis-py's connection objects (``mock_node_resp``, ``mock_all_nodes_resp``,
conftest's ``mock_cluster_resp_*``) raise ``RedisPyInternals`` instead: their
commands (CLUSTER RESET, DELSLOTS, FAILOVER ...) would run for real.
"""
import greenpool_shim as S
import redis
import redis.cluster

import greenpool.redis.cluster as gc
from greenpool.testing import RedisClusterServer

for _name in (
    "RedisCluster", "ClusterNode", "ClusterPipeline", "ClusterPubSub", "LoadBalancingStrategy",
):
    setattr(redis.cluster, _name, getattr(gc, _name))
redis.RedisCluster = gc.RedisCluster

import tests.conftest as C  # noqa: E402

_standalone_protocol = C._get_raw_protocol  # the standalone shim's

CLUSTER = RedisClusterServer()
URL = None  # the first node's, once pytest_configure has started the cluster


def _get_client(cls, request, single_connection_client=True, flushdb=True, from_url=None, **kwargs):
    # whatever class the test names: in cluster mode redis-py's conftest builds a cluster client
    client = gc.RedisCluster.from_url(from_url or URL, **S.fixture_kwargs(request, kwargs))
    return S.closed_at_teardown(request, client, CLUSTER.flushall if flushdb else lambda: None)


def _get_raw_protocol(r):
    if isinstance(r, gc.RedisCluster):
        return r.protocol
    return _standalone_protocol(r)




class RedisPyInternals(Exception):
    """Raised by the tests' helpers that mock redis-py's connection objects."""


def _refuse_mock(*args, **kwargs):
    # Their mocks can't reach greenpool's connections: the command would run
    # for real (CLUSTER RESET, DELSLOTS, FAILOVER ... on the shim's cluster).
    raise RedisPyInternals("the test mocks redis-py's connection objects")


C._get_client = _get_client
C._get_raw_protocol = _get_raw_protocol
C._gen_cluster_mock_resp = _refuse_mock


def pytest_collection_modifyitems(items):
    for module in {item.module for item in items if getattr(item, "module", None)}:
        for name in ("mock_node_resp", "mock_node_resp_func", "mock_all_nodes_resp"):
            if hasattr(module, name):
                setattr(module, name, _refuse_mock)


def pytest_configure(config):
    global URL
    URL = S.start(CLUSTER)
    config.option.redis_url = URL
    config.option.redis_mod_url = "redis://127.0.0.1:1"
    config.option.redis_cluster_nodes = len(CLUSTER.nodes)
