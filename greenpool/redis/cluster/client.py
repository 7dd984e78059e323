"""``greenpool.redis.RedisCluster``: redis-py's cluster client over green nodes.

Every server of the cluster is a :class:`~greenpool.redis.node.Node`: a few
shared, auto-pipelined connections that any number of greenlets use at once,
and a checkout pool of dedicated connections (blocking commands, pipelines,
transactions) whose limit makes callers wait up to ``pool_timeout``, never
fail at once.  So 1,000 greenlets on a 6-node cluster hold about a dozen
sockets, not thousands.

A command is routed by its keys' slot (the command table's key specs,
:mod:`.routing`) through the slot map (:mod:`.topology`).  Redirects and
failures, per command:

* ``MOVED``: the slot is patched at once and a refresh is scheduled; the
  command goes to the new owner;
* ``ASK``: ``ASKING`` and the command go to the named node together, on one
  connection with nothing in between; the map is untouched;
* ``TRYAGAIN``, ``CLUSTERDOWN``: wait with back-off and try again, within
  ``cluster_error_retry_attempts`` attempts and the caller's
  ``socket_timeout``;
* a connection error: the node becomes suspect and a refresh starts.  The
  command is tried again only when nothing was written (the connection
  could not be made) or when it only reads; a write that may have reached
  the server is never sent twice: its ConnectionError is raised.
"""

from __future__ import annotations

import inspect
import random
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import gevent

from ..._backoff import Backoff
from ..._stats import add_up
from ...errors import ConnectionError, NoConnectionAvailable, ReplyError, TimeoutError
from ...protocol.resp import encode_command
from .. import _execute
from .._encoder import Encoder
from .._route import EVERY, REFUSE, refusal
from ..commands import Commands
from ..commands._args import integer, scan_args
from ..commands._replies import scan_reply
from ..commands._reply_modes import command_names, reshaped, reshapes
from ..exceptions import (
    FAILED_REPLIES,
    ClusterDownError,
    SlotNotCoveredError,
    WatchError,
)
from ..lock import Lock
from ..node import Node
from ..pubsub import Monitor
from ..settings import RedisSettings, parse_url
from .errors import (
    ClusterConfigurationError,
    ClusterError,
    RedisClusterException,
    cluster_error,
)
from .pipeline import ClusterPipeline
from .pubsub import ClusterPubSub
from .routing import (
    ALL_NODES,
    DEFAULT_NODE,
    FAST,
    MISSING_KEY,
    PRIMARIES,
    RANDOM,
    REPLICAS,
    is_blocking,
    merge,
    missing_key,
    plan,
)
from .slots import key_slot
from .topology import AddressRemap, ClusterNode, NodesManager, Shard, Topology

__all__ = ["ClusterNode", "LoadBalancingStrategy", "NodeClient", "RedisCluster"]

#: How many redirects one command may follow (Redis's own clients use 16).
REDIRECT_TTL = 16

_ASKING = _execute.encode(("ASKING",))
_POOL_OPTIONS = ("pool_size", "max_connections", "pool_timeout", "health_check_interval")
# Every connection argument of the standalone client, but where to connect.
_SETTINGS_OPTIONS = frozenset(inspect.signature(RedisSettings.build).parameters) - {
    "host", "port", "unix_socket_path", "db",
}
_RETRYABLE_KINDS = frozenset({"TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN"})


class LoadBalancingStrategy:
    """redis-py's strategies for reads (``load_balancing_strategy=``), by value.

    ``ROUND_ROBIN``: the primary and its replicas in turn;
    ``ROUND_ROBIN_REPLICAS``: the replicas in turn; ``RANDOM_REPLICA``: a
    random replica; ``RANDOM``: any node of the shard.  redis-py's own
    ``LoadBalancingStrategy`` members are accepted too.
    """

    ROUND_ROBIN = "round_robin"
    ROUND_ROBIN_REPLICAS = "round_robin_replicas"
    RANDOM_REPLICA = "random_replica"
    RANDOM = "random"


_STRATEGIES = frozenset({
    LoadBalancingStrategy.ROUND_ROBIN, LoadBalancingStrategy.ROUND_ROBIN_REPLICAS,
    LoadBalancingStrategy.RANDOM_REPLICA, LoadBalancingStrategy.RANDOM,
})


class RedisCluster(Commands):
    """A Redis Cluster client for greenlets; redis-py's ``RedisCluster`` names and arguments.

    Seeds: ``host``/``port``, or ``startup_nodes`` (:class:`ClusterNode`
    objects or ``(host, port)`` pairs), or :meth:`from_url`.  The slot map
    is read here (blocks until a seed answers; raises
    :class:`~greenpool.redis.cluster.RedisClusterException` when none does,
    or when slots are missing and ``require_full_coverage``).

    Routing and retries: see the module docs.  ``read_from_replicas`` (or a
    ``load_balancing_strategy``) sends read-only commands to replicas too,
    over connections that sent ``READONLY``.  ``reinitialize_steps=0``
    stops MOVED from scheduling refreshes (the slot is still patched).
    ``cluster_error_retry_attempts`` bounds the attempts after TRYAGAIN,
    CLUSTERDOWN and connection errors; a redis-py ``retry`` replaces it
    (see :meth:`set_retry`).
    ``address_remap((host, port)) -> (host, port)`` rewrites every address
    the cluster announces; ``dynamic_startup_nodes`` adds the discovered
    nodes to the seeds of later refreshes.

    ``node_kwargs`` are :class:`~greenpool.redis.Redis`'s connection and
    pool arguments, applied to every node (``max_connections`` and
    ``pool_timeout`` per node).  redis-py-cluster's names are accepted:
    ``max_connections_per_node`` (an int: ``max_connections``; a bool:
    ignored, the limit is always per node), ``host_port_remap`` (a list of
    ``{"from_host", "from_port", "to_host", "to_port"}``),
    ``skip_full_coverage_check`` and ``readonly_mode``.

    Bad arguments raise :class:`~greenpool.redis.cluster.ClusterConfigurationError`
    (a ConfigurationError and a RedisClusterException).
    """

    PRIMARIES = PRIMARIES
    REPLICAS = REPLICAS
    ALL_NODES = ALL_NODES
    RANDOM = RANDOM
    DEFAULT_NODE = DEFAULT_NODE
    NODE_FLAGS = frozenset({PRIMARIES, REPLICAS, ALL_NODES, RANDOM, DEFAULT_NODE})
    #: redis-py's name for the errors after which a command is tried again
    #: (within ``cluster_error_retry_attempts``), the slot map re-read first;
    #: TRYAGAIN and MASTERDOWN (a ClusterDownError) are retried too.
    ERRORS_ALLOW_RETRY: tuple[type[Exception], ...] = (
        ConnectionError,
        TimeoutError,
        ClusterDownError,
        SlotNotCoveredError,
    )

    def __init__(
        self,
        host: str | None = None,
        port: int = 6379,
        startup_nodes: Iterable[ClusterNode | tuple[str, int]] | None = None,
        require_full_coverage: bool = True,
        read_from_replicas: bool = False,
        load_balancing_strategy: Any = None,
        reinitialize_steps: int = 5,
        cluster_error_retry_attempts: int = 3,
        retry: Any = None,
        address_remap: Callable[[tuple[str, int]], tuple[str, int]] | None = None,
        dynamic_startup_nodes: bool = True,
        url: str | None = None,
        *,
        max_connections_per_node: int | bool | None = None,
        host_port_remap: Sequence[Mapping[str, Any]] | None = None,
        skip_full_coverage_check: bool | None = None,
        readonly_mode: bool | None = None,
        **node_kwargs: Any,
    ) -> None:
        if url is not None:
            from_url = parse_url(url)
            host = from_url.pop("host", host or "localhost")
            port = from_url.pop("port", port)
            node_kwargs = {**from_url, **node_kwargs}
        if node_kwargs.get("db", 0) != 0:
            raise ClusterConfigurationError("db", node_kwargs["db"], "a cluster has only db 0")
        node_kwargs.pop("db", None)
        if "unix_socket_path" in node_kwargs:
            raise ClusterConfigurationError(
                "unix_socket_path", node_kwargs["unix_socket_path"], "a cluster needs TCP nodes"
            )
        if isinstance(max_connections_per_node, int) and not isinstance(
            max_connections_per_node, bool
        ):
            node_kwargs["max_connections"] = max_connections_per_node
        if skip_full_coverage_check is not None:
            require_full_coverage = not skip_full_coverage_check
        if readonly_mode:
            read_from_replicas = True
        if host_port_remap is not None:
            address_remap = _remap_table(host_port_remap)
        if address_remap is not None and not callable(address_remap):
            raise ClusterConfigurationError("address_remap", address_remap, "must be callable")
        strategy = getattr(load_balancing_strategy, "value", load_balancing_strategy)
        if strategy is not None and strategy not in _STRATEGIES:
            raise ClusterConfigurationError(
                "load_balancing_strategy", load_balancing_strategy,
                f"must be one of {sorted(_STRATEGIES)}",
            )
        if read_from_replicas and strategy is None:
            strategy = LoadBalancingStrategy.ROUND_ROBIN
        if isinstance(reinitialize_steps, bool) or not isinstance(reinitialize_steps, int) or (
            reinitialize_steps < 0
        ):
            raise ClusterConfigurationError(
                "reinitialize_steps", reinitialize_steps, "must be an int >= 0"
            )
        attempts = cluster_error_retry_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
            raise ClusterConfigurationError(
                "cluster_error_retry_attempts", attempts, "must be an int >= 0"
            )
        pool_options = {k: node_kwargs.pop(k) for k in _POOL_OPTIONS if k in node_kwargs}
        unknown = [k for k in node_kwargs if k not in _SETTINGS_OPTIONS]
        if unknown:
            raise ClusterConfigurationError(unknown[0], node_kwargs[unknown[0]], "unknown argument")
        seeds = _seeds(host, port, startup_nodes)
        # A bad argument fails here (and the seeds' nodes, made below, check the pool's).
        self.settings = RedisSettings.build(host=seeds[0].host, port=seeds[0].port, **node_kwargs)
        self._settings_kwargs = node_kwargs
        self._pool_options = pool_options
        self.protocol = self.settings.protocol
        self.decode_responses = self.settings.decode_responses
        # The reply shapes of the client's mode (protocol=3, legacy_responses=False),
        # chosen once; None (the default) leaves execute_command as it is.
        self._reshapes = reshapes(self.settings.user_protocol, self.settings.legacy_responses)
        if self._reshapes:
            self.execute_command = partial(  # type: ignore[method-assign]
                _reshaping, weakref.proxy(self), self._reshapes
            )
        self.read_from_replicas = strategy is not None
        self.load_balancing_strategy = strategy
        self.reinitialize_steps = reinitialize_steps
        self.cluster_error_retry_attempts = attempts
        self._retry: Any = None
        self.set_retry(retry)
        self.require_full_coverage = require_full_coverage
        self._strategy = strategy
        self._kept: dict[str, tuple[Any, ...]] = {}
        self._topology = Topology(
            seeds, self._make_node, require_full_coverage=require_full_coverage,
            address_remap=address_remap, dynamic_startup_nodes=dynamic_startup_nodes,
            ask_timeout=self.settings.socket_timeout or 2.0,
        )
        try:
            self._topology.refresh()
        except BaseException:
            self._topology.close()
            raise

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisCluster:
        """A client seeded with ``redis://[[user]:password@]host[:port][?options]``
        (or ``rediss://``); ``kwargs`` as the constructor's."""
        if isinstance(url, str) and url.startswith("unix"):
            raise ClusterConfigurationError("url", url, "a cluster needs TCP nodes")
        return cls(url=url, **kwargs)

    def _make_node(self, node: ClusterNode) -> Node:
        node.redis_connection = NodeClient(self, node)
        settings = RedisSettings.build(host=node.host, port=node.port, **self._settings_kwargs)
        settings.connection_commands.update(self._kept)
        if self._strategy is not None:
            settings.connection_commands["readonly"] = ("READONLY",)
        return Node(settings, **self._pool_options)

    def __repr__(self) -> str:
        return f"<RedisCluster nodes={len(self._topology.nodes)}>"

    # ------------------------------------------------------------------ nodes

    def get_nodes(self) -> list[ClusterNode]:
        """Every node of the slot map (primaries and replicas)."""
        return list(self._topology.nodes.values())

    def get_primaries(self) -> list[ClusterNode]:
        """The primaries."""
        return self._topology.primaries()

    def get_replicas(self) -> list[ClusterNode]:
        """The replicas."""
        return self._topology.replicas()

    def get_random_node(self) -> ClusterNode:
        """Any node."""
        return random.choice(self.get_nodes())

    def get_node(
        self, host: str | None = None, port: int | None = None, node_name: str | None = None
    ) -> ClusterNode | None:
        """The node named ``host:port`` (or ``node_name``), None if unknown."""
        return self._topology.named(host, port, node_name)

    def get_default_node(self) -> ClusterNode:
        """The node keyless commands go to (a primary)."""
        node = self._topology.default_node
        if node is None:
            raise RedisClusterException("the cluster has no primary")
        return node

    def set_default_node(self, node: ClusterNode | None) -> bool:
        """Make ``node`` the default node; False if it is unknown."""
        if node is None or node.name not in self._topology.nodes:
            return False
        self._topology.default_node = self._topology.nodes[node.name]
        return True

    def replace_default_node(self, target_node: ClusterNode | None = None) -> None:
        """Make ``target_node`` the default node (ignored if unknown), or without it
        another node at random: a primary, or a replica when there is no other
        primary; unchanged when the cluster has one node.  (redis-py's name; the
        client also moves off a default node that stopped answering by itself.)"""
        if target_node is not None:
            self.set_default_node(target_node)
            return
        if not self._move_default(self.get_primaries()):
            self._move_default(self.get_replicas())

    def _move_default(self, pool: list[ClusterNode]) -> bool:
        others = [node for node in pool if node != self._topology.default_node]
        if others:
            self._topology.default_node = random.choice(others)
        return bool(others)

    def get_retry(self) -> Any:
        """The retry given as ``retry=`` or to :meth:`set_retry`; None: greenpool's own
        back-off with ``cluster_error_retry_attempts`` attempts."""
        return self._retry

    def set_retry(self, retry: Any) -> None:
        """Let ``retry`` (a redis-py ``redis.retry.Retry``, with any ``redis.backoff``)
        decide the attempts after TRYAGAIN, CLUSTERDOWN, a node that could not be
        reached, or a read whose connection broke.

        A command is then run through ``retry.call_with_retry``: it makes
        ``retry.get_retries()`` more attempts (read at every command, as
        redis-py does; negative: no limit), each from the current slot map,
        waiting ``backoff.compute(failures)`` between them.  Only those
        failures are retried, never a write whose connection broke after it
        was sent, nor a command with ``target_nodes=``.  Pipelines take the
        count and keep greenpool's waits.  redis-py's Retry waits with
        ``time.sleep``: other greenlets run meanwhile only under gevent's
        monkey-patching; without it use ``NoBackoff``.  None goes back to
        ``cluster_error_retry_attempts``.  Raises
        :class:`~greenpool.ConfigurationError` naming ``retry`` when it has
        no ``call_with_retry``.
        """
        self._retry = _execute.checked_retry(retry, [_Again])

    @property
    def retry(self) -> Any:
        """redis-py's ``RedisCluster.retry`` attribute: :meth:`get_retry` (None unless
        a retry was given); assigning it is :meth:`set_retry`."""
        return self._retry

    @retry.setter
    def retry(self, retry: Any) -> None:
        self.set_retry(retry)

    def keyslot(self, key: Any) -> int:
        """The hash slot of ``key``."""
        return key_slot(key)

    def get_node_from_key(self, key: Any, replica: bool = False) -> ClusterNode | None:
        """The primary serving ``key``'s slot, or with ``replica`` its first
        replica (None if it has none).  Raises SlotNotCoveredError."""
        shard = self._topology.shard_of(key_slot(key))
        if replica:
            return shard.replicas[0] if shard.replicas else None
        return shard.primary

    def get_redis_connection(self, node: ClusterNode) -> NodeClient:
        """The commands of the standalone client, all sent to ``node`` (no redirect
        followed): redis-py's per-node client, over the node's own connections
        (a known node's ``redis_connection``)."""
        known = self._topology.nodes.get(node.name)
        client = known.redis_connection if known is not None else None
        return client if isinstance(client, NodeClient) else NodeClient(self, node)

    @property
    def nodes_manager(self) -> NodesManager:
        """redis-py's ``nodes_manager``: the slot map and the nodes, as
        :class:`~greenpool.redis.cluster.topology.NodesManager` shows them
        (``get_node_from_slot``, ``slots_cache``, ``nodes_cache``,
        ``startup_nodes``, ``default_node``, ``initialize()``)."""
        manager: NodesManager | None = getattr(self, "_nodes_manager", None)
        if manager is None:
            manager = self._nodes_manager = NodesManager(self._topology)
        return manager

    def refresh_slots(self, timeout: float | None = None) -> None:
        """Read the slot map now (or wait for the refresh already running)."""
        self._topology.refresh(timeout)

    @property
    def name(self) -> str:
        """``redis-cluster-<id>``: the client's name in metrics."""
        return f"redis-cluster-{id(self):x}"

    def stats(self) -> dict[str, int]:
        """The figures of every node's client added up (see
        :meth:`greenpool.redis.Node.stats`), and the cluster's own counters:
        ``refreshes`` (slot-map reads, one per node asked), ``moved`` and
        ``ask`` (redirects followed).  Never blocks; safe from another thread.
        """
        return self._stats(reset=False)

    def pop_stats(self) -> dict[str, int]:
        """:meth:`stats`, then the counters start again from zero.  Call it
        from the client's own thread."""
        return self._stats(reset=True)

    def _stats(self, reset: bool) -> dict[str, int]:
        # Every node ever made, not only those of the slot map now: a node that
        # left it (a failover, a reshard) keeps its counts, so no total drops.
        nodes = self._topology.made_nodes()
        total: dict[str, int] = add_up(n.pop_stats() if reset else n.stats() for n in nodes)
        counters = self._topology.counters
        total.update(counters)
        if reset:
            for key in counters:
                counters[key] = 0
        return total

    def connections_used(self) -> dict[str, dict[str, int]]:
        """Per node name: ``shared`` (connected) and ``dedicated`` (open) connections."""
        out = {}
        for node in self.get_nodes():
            if node.node is not None:
                out[node.name] = node.node.connections_used()
        return out

    # ------------------------------------------------------------------ commands

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send one command to the node its keys say (or ``target_nodes=``); return its result.

        Raises :class:`~greenpool.redis.cluster.RedisClusterException` for
        keys on several slots (nothing sent), the command's error reply as
        :class:`~greenpool.redis.ResponseError`, :class:`~greenpool.TimeoutError`
        past ``socket_timeout``, :class:`~greenpool.ConnectionError` when the
        node can't be reached within the retry attempts (or, for a write,
        when the connection broke after it may have been sent),
        :class:`~greenpool.redis.cluster.ClusterError` after too many
        redirects.  Blocks on the reply, on a dedicated connection's checkout
        (blocking commands) and on back-off waits.
        """
        if self._retry is not None and "_attempt" not in options:
            return self._retried(args, options)
        if options and options.get("target_nodes") is not None:
            return self._on_targets(options.pop("target_nodes"), args, options)
        try:
            index, readonly = FAST[args[0]]
            key = args[index]
            slot = key_slot(key)
            payload = encode_command(*args)
        except (KeyError, TypeError, IndexError, UnicodeError):
            return self._general(args, options)
        if options.get("never_decode"):
            return self._general(args, options)
        shard = self._topology.slots[slot]
        if shard is None:
            shard = self._topology.shard_of(slot)
        node = self._reader(shard) if readonly and self._strategy else shard.primary
        try:
            conn = node.node.shared_pool.get_least_loaded_connection()  # type: ignore[union-attr]
        except IndexError:  # nothing connected: the loop connects (nothing written yet)
            return self._on_slot(slot, readonly, args, payload, options, False, None, node)
        try:
            reply = conn.request(payload)
        except ConnectionError:
            self._topology.suspect(node)
            if not readonly:
                raise  # it may have been written: never sent twice
            return self._on_slot(slot, readonly, args, payload, options, False)
        if type(reply) in FAILED_REPLIES:
            return self._on_slot(slot, readonly, args, payload, options, False, reply, node)
        parse = options.get("_parse")
        return reply if parse is None else parse(reply)

    def _retried(self, args: Sequence[Any], options: dict[str, Any]) -> Any:
        """The command through the user's retry: each retryable failure is an _Again."""
        try:
            return self._retry.call_with_retry(
                lambda: self.execute_command(*args, _attempt=True, **options),
                _ignore, is_retryable=_is_again,
            )
        except _Again as again:
            raise again.error from None

    def _general(self, args: Sequence[Any], options: dict[str, Any]) -> Any:
        where = plan(args)
        route = where.route
        if route is not None and route.kind == REFUSE:
            raise refusal(route, "a shared connection")
        if route is not None and route.kind == EVERY:
            return self._everywhere(route.name, tuple(where.command), options)
        command = where.command
        dedicated = is_blocking(route) or bool(
            options.get("never_decode") and self.decode_responses
        )
        if where.slot is None:
            flag = where.nodes or DEFAULT_NODE
            if flag == MISSING_KEY:
                raise missing_key(where.name)
            if flag == DEFAULT_NODE:
                return self._on_default(command, options, dedicated)
            return self._on_targets(flag, command, options, where.name)
        payload = _execute.encode(command)
        return self._on_slot(where.slot, where.readonly, command, payload, options, dedicated)

    def _reader(self, shard: Shard) -> ClusterNode:
        replicas = [r for r in shard.replicas if not self._topology.is_suspect(r)]
        if not replicas:
            return shard.primary
        strategy = self._strategy
        if strategy == LoadBalancingStrategy.ROUND_ROBIN:
            turn = shard.turn % (len(replicas) + 1)
            shard.turn += 1
            return shard.primary if turn == 0 else replicas[turn - 1]
        if strategy == LoadBalancingStrategy.ROUND_ROBIN_REPLICAS:
            shard.turn += 1
            return replicas[shard.turn % len(replicas)]
        if strategy == LoadBalancingStrategy.RANDOM_REPLICA:
            return random.choice(replicas)
        return random.choice([shard.primary, *replicas])

    def _on_slot(
        self, slot: int, readonly: bool, args: Sequence[Any], payload: bytes,
        options: Mapping[str, Any], dedicated: bool, reply: Any = None,
        node: ClusterNode | None = None,
    ) -> Any:
        """The command's loop: redirects, back-off, retries (see the module docs)."""
        topology = self._topology
        ttl = REDIRECT_TTL
        asking: ClusterNode | None = None
        backoff: Backoff | None = None
        chosen = node if reply is None else None  # the fast path's pick, not connected yet
        while True:
            if reply is None:
                if asking is not None:
                    node = asking
                elif chosen is not None:
                    node, chosen = chosen, None
                else:
                    shard = topology.shard_of(slot)
                    node = self._reader(shard) if readonly and self._strategy else shard.primary
                try:
                    reply = self._send(node, payload, options, dedicated, asking is not None)
                except _NotSent as exc:
                    topology.suspect(node)
                    backoff = self._pause(backoff, exc.error)
                    asking = None
                    continue
                except NoConnectionAvailable:
                    raise  # the node's pool stayed full: not a node failure
                except ConnectionError as exc:
                    topology.suspect(node)
                    if not readonly:
                        raise  # it may have been written: never sent twice
                    backoff = self._pause(backoff, exc)
                    asking = None
                    continue
            assert node is not None
            if type(reply) not in FAILED_REPLIES:
                if dedicated:
                    return _execute.result_from_raw(reply, options, node.node.settings)  # type: ignore[union-attr]
                parse = options.get("_parse")
                return reply if parse is None else parse(reply)
            kind = reply.kind if type(reply) is ReplyError else ""
            if kind == "MOVED" or kind == "ASK":
                ttl -= 1
                if ttl <= 0:
                    raise ClusterError(f"TTL exhausted: {reply.message}")
                error = cluster_error(reply)
                host, port = error.host, error.port  # type: ignore[attr-defined]
                if kind == "MOVED":
                    asking = None
                    # The next attempt goes where the server said, even when the map
                    # already had that primary (a replica that no longer serves the slot).
                    chosen = topology.moved(slot, host, port, refresh=bool(self.reinitialize_steps))
                    if node is not chosen and node.server_type != "primary":
                        topology.suspect(node)
                else:
                    topology.counters["ask"] += 1
                    asking = topology.node_at(host, port)
                reply = None
                continue
            if kind in _RETRYABLE_KINDS:
                if kind != "TRYAGAIN":
                    topology.refresh_soon()
                backoff = self._pause(backoff, cluster_error(reply))
                asking = None
                reply = None
                continue
            if kind == "READONLY" or kind == "LOADING":
                # A replica (or a demoted primary): the map is stale.
                topology.suspect(node)
                if readonly or kind == "READONLY":
                    # READONLY: the write was refused, nothing done; LOADING: nothing read.
                    backoff = self._pause(backoff, cluster_error(reply))
                    reply = None
                    continue
            raise cluster_error(reply)

    def _send(
        self, node: ClusterNode, payload: bytes, options: Mapping[str, Any], dedicated: bool,
        asking: bool,
    ) -> Any:
        """One attempt on ``node``; raises _NotSent when nothing was written."""
        green = node.node
        assert green is not None
        if dedicated:
            wait = _execute.reply_wait(options.get("_block_timeout"), green.settings) if (
                "_block_timeout" in options) else green.settings.socket_timeout
            try:
                lease = green.dedicated_pool.connection()
                conn = lease.__enter__()
            except NoConnectionAvailable:
                raise  # the pool stayed full for pool_timeout: not a node failure
            except (ConnectionError, OSError) as exc:
                raise _NotSent(exc) from exc
            try:
                if asking:
                    reply = conn.request_many(_ASKING + payload, 2, timeout=wait)[1]
                else:
                    reply = conn.request(payload, timeout=wait)
            except BaseException as exc:
                lease.__exit__(type(exc), exc, None)
                raise
            lease.__exit__(None, None, None)
            return reply
        try:
            conn = green.shared_connection()
        except ConnectionError as exc:
            raise _NotSent(exc) from exc
        if asking:
            return conn.request_many(_ASKING + payload, 2)[1]
        return conn.request(payload)

    def _pause(self, backoff: Backoff | None, error: BaseException) -> Backoff:
        """Wait before the next attempt, or raise ``error`` when no attempt is left
        (with a user's retry: hand the failure to it, as an _Again)."""
        if self._retry is not None:
            raise _Again(error) from error
        return self._backoff_pause(backoff, error)

    def _backoff_pause(self, backoff: Backoff | None, error: BaseException) -> Backoff:
        if backoff is None:
            timeout = self.settings.socket_timeout
            attempts: int | None = self.cluster_error_retry_attempts
            if self._retry is not None:
                count = self._retry.get_retries()
                attempts = None if count < 0 else int(count)
            backoff = Backoff(
                base=0.05, cap=0.5, max_attempts=attempts,
                deadline=None if timeout is None else time.monotonic() + timeout,
            )
        backoff = backoff.increment()
        delay = backoff.delay()
        if backoff.is_exhausted(delay):
            raise error
        gevent.sleep(delay)
        return backoff

    def _on_default(
        self, command: Sequence[Any], options: Mapping[str, Any], dedicated: bool
    ) -> Any:
        node = self.get_default_node()
        try:
            return self._run_on(node, command, options, dedicated)
        except NoConnectionAvailable:
            raise
        except ConnectionError:
            # The default node failed: pick another primary for next time.
            self._topology.suspect(node)
            self._move_default(self.get_primaries())
            raise

    def _run_on(
        self, node: ClusterNode, command: Sequence[Any], options: Mapping[str, Any],
        dedicated: bool = False,
    ) -> Any:
        """``command`` on ``node`` only (no redirect followed); its result."""
        try:
            reply = self._send(node, _execute.encode(command), options, dedicated, False)
        except _NotSent as exc:
            raise exc.error from None
        if dedicated:
            return _execute.result_from_raw(reply, options, node.node.settings)  # type: ignore[union-attr]
        if type(reply) in FAILED_REPLIES:
            raise cluster_error(reply)
        parse = options.get("_parse")
        return reply if parse is None else parse(reply)

    def _nodes_for(self, target: Any) -> list[ClusterNode]:
        if isinstance(target, ClusterNode):
            known = self._topology.nodes.get(target.name)
            return [known or self._topology.node_at(target.host, target.port)]
        if isinstance(target, str):
            if target == PRIMARIES:
                return self.get_primaries()
            if target == REPLICAS:
                return self.get_replicas()
            if target == ALL_NODES:
                return self.get_nodes()
            if target == RANDOM:
                pool = self.get_nodes() if self._strategy else self.get_primaries()
                return [random.choice(pool)]
            if target == DEFAULT_NODE:
                return [self.get_default_node()]
            raise ClusterConfigurationError("target_nodes", target, "unknown node flag")
        if isinstance(target, Mapping):
            target = list(target.values())
        if isinstance(target, (list, tuple)) and all(isinstance(n, ClusterNode) for n in target):
            return [n for t in target for n in self._nodes_for(t)]
        raise TypeError(
            f"target_nodes type can be one of the following: node_flag (PRIMARIES, REPLICAS, "
            f"RANDOM, ALL_NODES), ClusterNode, list<ClusterNode>, or dict<any, ClusterNode>. "
            f"The passed type is {type(target)}"
        )

    def _on_targets(
        self, target: Any, args: Sequence[Any], options: dict[str, Any], name: str | None = None
    ) -> Any:
        nodes = self._nodes_for(target)
        where = plan(args)
        route = where.route
        if route is not None and route.kind == REFUSE:
            raise refusal(route, "a shared connection")
        dedicated = is_blocking(route)
        if len(nodes) == 1:
            return self._run_on(nodes[0], where.command, options, dedicated)
        replies = self._on_each({n.name: (n, where.command) for n in nodes}, options, dedicated)
        return merge(name or where.name, replies)

    def _on_each(
        self, commands: Mapping[str, tuple[ClusterNode, Sequence[Any]]],
        options: Mapping[str, Any], dedicated: bool = False,
    ) -> dict[str, Any]:
        """Each ``(node, command)`` on its node, all at once; ``{name: result}``.
        The first error is raised once every node answered (the others are dropped)."""
        if len(commands) <= 1:
            return {name: self._run_on(node, command, options, dedicated)
                    for name, (node, command) in commands.items()}
        jobs = {
            name: gevent.spawn(self._run_on, node, command, options, dedicated)
            for name, (node, command) in commands.items()
        }
        try:
            gevent.joinall(list(jobs.values()))
        finally:
            gevent.killall([j for j in jobs.values() if not j.dead], block=True)
        return {name: job.get() for name, job in jobs.items()}

    def _everywhere(self, name: str, command: tuple[Any, ...], options: Mapping[str, Any]) -> Any:
        """A per-connection setting (CLIENT SETNAME): every node, and nodes made later."""
        first: Any = None
        for node in self.get_nodes():
            assert node.node is not None
            reply = node.node.set_everywhere(name, command)
            if type(reply) in FAILED_REPLIES:
                raise cluster_error(reply)
            if first is None:
                first = reply
        key = name if name != "client|setinfo" else f"{name}|{str(command[2]).lower()}"
        self._kept[key] = command
        return _execute.result(first, options)

    # ------------------------------------------------------------------ multi-key, split by slot

    def _by_slot(self, keys: Iterable[Any]) -> dict[int, list[Any]]:
        groups: dict[int, list[Any]] = {}
        for key in keys:
            groups.setdefault(key_slot(key), []).append(key)
        return groups

    def _split_sum(self, name: str, keys: Sequence[Any]) -> int:
        groups = self._by_slot(keys)
        if len(groups) <= 1:
            return int(self.execute_command(name, *keys))
        with self.pipeline() as pipe:
            for group in groups.values():
                pipe.execute_command(name, *group)
            return sum(int(n) for n in pipe.execute())

    def delete(self, *names: Any) -> int:
        """DEL, one command per slot; the number of keys removed (not atomic across slots)."""
        return self._split_sum("DEL", names)

    def unlink(self, *names: Any) -> int:
        """UNLINK, one command per slot; the number of keys unlinked."""
        return self._split_sum("UNLINK", names)

    def exists(self, *names: Any) -> int:
        """EXISTS, one command per slot; how many of the keys exist."""
        return self._split_sum("EXISTS", names)

    def touch(self, *args: Any) -> int:
        """TOUCH, one command per slot; how many of the keys exist."""
        return self._split_sum("TOUCH", args)

    def mget_nonatomic(self, keys: Any, *args: Any) -> list[Any]:
        """MGET split by slot (one MGET per slot, sent per node at once); values in
        the order of ``keys``.  Not atomic across slots."""
        if isinstance(keys, (str, bytes, memoryview)):
            keys = [keys]
        ordered = [*keys, *args]
        groups = self._by_slot(ordered)
        with self.pipeline() as pipe:
            for group in groups.values():
                pipe.execute_command("MGET", *group)
            replies = pipe.execute()
        found: dict[Any, Any] = {}
        for group, values in zip(groups.values(), replies, strict=True):
            found.update(zip(group, values, strict=True))
        return [found[key] for key in ordered]

    def mset_nonatomic(self, mapping: Mapping[Any, Any]) -> list[bool]:
        """MSET split by slot; the per-slot results (redis-py returns the same list)."""
        groups: dict[int, list[Any]] = {}
        for key, value in mapping.items():
            groups.setdefault(key_slot(key), []).extend((key, value))
        with self.pipeline() as pipe:
            for pairs in groups.values():
                pipe.execute_command("MSET", *pairs, _parse=bool)
            return pipe.execute()

    def scan(  # type: ignore[override]
        self, cursor: int | Mapping[str, int] = 0, match: Any = None, count: int | None = None,
        _type: str | None = None, **kwargs: Any,
    ) -> tuple[dict[str, int], list[Any]]:
        """One SCAN step on every primary (or on ``target_nodes=``), run on all at once.

        Returns redis-py's ``({node name: next cursor}, keys)``; a node is done
        when its cursor is 0.  ``cursor``: an int, sent to every node as
        redis-py does, or the dict a previous call returned: each named node
        continues from its own cursor (nodes at 0 are skipped), so repeating
        ``scan(cursors)`` until every cursor is 0 visits each node's keys.
        Raises as :meth:`execute_command` (a node that can't be reached
        raises; nothing is merged from a partial round), and
        :class:`~greenpool.redis.cluster.ClusterConfigurationError` for a
        cursor dict naming a node the map no longer has (after a failover
        the new primary's cursors are unrelated: start again from 0).
        Blocks on every node's reply.
        """
        target = kwargs.pop("target_nodes", None)
        if isinstance(cursor, Mapping):
            steps: dict[str, tuple[ClusterNode, int]] = {}
            for name, at in cursor.items():
                node = self.get_node(node_name=name)
                if node is None:
                    raise ClusterConfigurationError("cursor", name, "not a node of the cluster")
                if at:
                    steps[name] = (node, integer("cursor", at, 0))
        else:
            at = integer("cursor", cursor, 0)
            nodes = self._nodes_for(target) if target is not None else self.get_primaries()
            steps = {node.name: (node, at) for node in nodes}
        args = scan_args(match, count)
        if _type is not None:
            args += ["TYPE", _type]
        options = {**kwargs, "_parse": scan_reply}
        replies = self._on_each(
            {name: (node, ("SCAN", at, *args)) for name, (node, at) in steps.items()}, options
        )
        cursors: dict[str, int] = {}
        keys: list[Any] = []
        for name, (next_cursor, found) in replies.items():
            cursors[name] = next_cursor
            keys.extend(found)
        return cursors, keys

    def scan_iter(
        self, match: Any = None, count: int | None = None, _type: str | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield every key matching ``match`` on every primary (or on ``target_nodes=``):
        one :meth:`scan` round on all of them, then rounds on the nodes whose cursor
        is not 0 yet (redis-py's order per node).  A key may be yielded twice if the
        keyspace changes meanwhile (or a slot moves)."""
        cursors, keys = self.scan(0, match, count, _type, **kwargs)
        yield from keys
        kwargs.pop("target_nodes", None)
        while any(cursors.values()):
            cursors, keys = self.scan(cursors, match, count, _type, **kwargs)
            yield from keys

    # ------------------------------------------------------------------ pipelines, lifecycle

    def pipeline(self, transaction: bool | None = None, shard_hint: Any = None) -> ClusterPipeline:
        """A :class:`~greenpool.redis.cluster.ClusterPipeline` (not a transaction unless
        ``transaction=True``; then every key must be on one slot)."""
        if shard_hint is not None:
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        pipe = ClusterPipeline(self, transaction=bool(transaction))
        if self._reshapes:
            pipe.execute_command = partial(  # type: ignore[method-assign]
                _reshaping, weakref.proxy(pipe), self._reshapes
            )
        return pipe

    def transaction(
        self, func: Callable[[ClusterPipeline], Any], *watches: Any, shard_hint: Any = None,
        value_from_callable: bool = False, watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipe)`` in a WATCH/MULTI/EXEC loop until no watched key changed.

        ``watches`` (keys on one slot) are watched first; ``func`` reads
        through the pipeline (at once), calls ``pipe.multi()`` and buffers
        the writes.  Returns EXEC's results, or ``func``'s value with
        ``value_from_callable``.  ``watch_delay`` seconds between attempts.
        """
        while True:
            with self.pipeline(transaction=True, shard_hint=shard_hint) as pipe:
                try:
                    if watches:
                        pipe.watch(*watches)
                    value = func(pipe)
                    results = pipe.execute()
                    return value if value_from_callable else results
                except WatchError:
                    if watch_delay:
                        gevent.sleep(watch_delay)

    def pubsub(
        self, node: ClusterNode | None = None, host: str | None = None, port: int | None = None,
        **kwargs: Any,
    ) -> ClusterPubSub:
        """A :class:`~greenpool.redis.cluster.ClusterPubSub`: plain subscriptions on one
        node, shard channels (``ssubscribe``) on their slots' primaries.

        ``node`` (or ``host`` and ``port``; default: the default node) takes
        the plain subscriptions: SUBSCRIBE and PUBLISH reach every node (the
        cluster bus broadcasts them), so any node will do.  ``kwargs`` are
        :class:`~greenpool.redis.PubSub`'s.  SPUBLISH is routed by its
        channel's slot.  Raises ``DataError`` for ``host`` without ``port``
        (or the reverse), ``ClusterConfigurationError`` (a
        ``RedisClusterException``) for a node not in the cluster.
        """
        return ClusterPubSub(self, node, host, port, **kwargs)

    def lock(
        self, name: str, timeout: float | None = None, sleep: float = 0.1,
        blocking: bool = True, blocking_timeout: float | None = None, lock_class: Any = None,
        thread_local: bool = True, raise_on_release_error: bool = True,
    ) -> Lock:
        """A :class:`~greenpool.redis.lock.Lock` on the key ``name``, on that key's
        primary (redis-py's semantics; see that class).  Nothing is sent until
        it is acquired."""
        cls = Lock if lock_class is None else lock_class
        lock: Lock = cls(
            self, name, timeout=timeout, sleep=sleep, blocking=blocking,
            blocking_timeout=blocking_timeout, thread_local=thread_local,
            raise_on_release_error=raise_on_release_error,
        )
        return lock

    def get_encoder(self) -> Encoder:
        """How this client encodes arguments and decodes replies (redis-py's ``Encoder``)."""
        s = self.settings
        return Encoder(s.encoding, s.encoding_errors, s.decode_responses)

    def monitor(self, target_node: ClusterNode | None = None) -> Monitor:
        """A :class:`~greenpool.redis.Monitor` of one node (default: the default node)."""
        node = target_node if target_node is not None else self.get_default_node()
        green = self._nodes_for(node)[0].node
        assert green is not None
        return Monitor(green)

    def close(self) -> None:
        """Close every node's connections.  Commands in flight fail with ConnectionError."""
        self._topology.close()

    def __enter__(self) -> RedisCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # For ClusterPipeline (same package).
    @property
    def topology(self) -> Topology:
        """The nodes and slot map (shared with this client's pipelines)."""
        return self._topology

    def node_for_slot(self, slot: int, readonly: bool) -> ClusterNode:
        """The node a command on ``slot`` goes to now (a replica for reads when configured)."""
        shard = self._topology.shard_of(slot)
        return self._reader(shard) if readonly and self._strategy else shard.primary

    def pause_before_retry(self, backoff: Backoff | None, error: BaseException) -> Backoff:
        """Back off before another attempt; raise ``error`` when none is left."""
        return self._backoff_pause(backoff, error)


class NodeClient(Commands):
    """Every command on one node of a :class:`RedisCluster` (``get_redis_connection``).

    Routed like ``target_nodes=node``: no redirect is followed, an error
    reply (MOVED included) is raised.
    """

    def __init__(self, cluster: RedisCluster, node: ClusterNode) -> None:
        self.owner = cluster
        self.node = node
        self.protocol = cluster.protocol
        self.decode_responses = cluster.decode_responses

    def __repr__(self) -> str:
        return f"<NodeClient {self.node.name}>"

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send one command to the node; return its result (as ``RedisCluster``'s)."""
        options.pop("target_nodes", None)
        return self.owner.execute_command(*args, target_nodes=self.node, **options)


def _reshaping(target: Any, shapes: dict[str, Any], *args: Any, **options: Any) -> Any:
    """``target``'s own execute_command with the mode's reply shape (once: not again
    for the user's retry's attempts, which come back through it)."""
    if args and "_attempt" not in options:
        options = reshaped(shapes, command_names(args), options)
    return target.__class__.execute_command(target, *args, **options)


class _Again(Exception):
    """A failure that may be retried, handed to the user's retry (``set_retry``)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _is_again(error: BaseException) -> bool:
    return isinstance(error, _Again)


def _ignore(error: BaseException) -> None:
    """The user's retry's failure callback: nothing to do (the map was refreshed)."""


class _NotSent(Exception):
    """Nothing was written: the node could not be reached."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _seeds(
    host: str | None, port: int, startup_nodes: Iterable[ClusterNode | tuple[str, int]] | None
) -> list[ClusterNode]:
    seeds: list[ClusterNode] = []
    if host is not None:
        seeds.append(ClusterNode(host, port))
    for item in startup_nodes or ():
        if isinstance(item, ClusterNode):
            seeds.append(ClusterNode(item.host, item.port, item.server_type))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            seeds.append(ClusterNode(str(item[0]), item[1]))
        elif isinstance(item, Mapping) and "host" in item:
            seeds.append(ClusterNode(str(item["host"]), item.get("port", 6379)))
        else:
            raise ClusterConfigurationError(
                "startup_nodes", item, "need ClusterNode or (host, port)"
            )
    if not seeds:
        raise ClusterConfigurationError(
            "startup_nodes", startup_nodes,
            "RedisCluster requires at least one node to discover the cluster: pass host and "
            "port, startup_nodes, or a url",
        )
    return seeds


def _remap_table(table: Sequence[Mapping[str, Any]]) -> AddressRemap:
    rules: dict[tuple[str, int], tuple[str, int]] = {}
    for rule in table:
        try:
            rules[(str(rule["from_host"]), int(rule["from_port"]))] = (
                str(rule["to_host"]), int(rule["to_port"]))
        except (KeyError, TypeError, ValueError):
            raise ClusterConfigurationError("host_port_remap", rule, (
                "each rule needs from_host, from_port, to_host, to_port")) from None

    def remap(address: tuple[str, int]) -> tuple[str, int]:
        return rules.get((address[0], int(address[1])), address)

    return remap

