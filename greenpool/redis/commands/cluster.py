"""Cluster commands that one node answers: CLUSTER INFO, CLUSTER NODES, CLUSTER SLOTS ....

Two kinds of method:

* redis-py's ``Redis`` methods: :meth:`~ClusterCommands.cluster` (any
  CLUSTER subcommand, its reply shaped as redis-py's ``Redis`` shapes it),
  :meth:`~ClusterCommands.readonly` and :meth:`~ClusterCommands.readwrite`;
* redis-py's ``RedisCluster`` management methods (``cluster_info``,
  ``cluster_nodes``, ``cluster_slots``, ``cluster_shards``,
  ``cluster_keyslot`` ...), with their signatures and reply shapes, for
  the cluster client and for a client of one cluster node alike.  Their
  ``target_node``/``target_nodes`` argument chooses nodes on a cluster
  client; it is passed on as the ``target_nodes`` option when given, and a
  client of one node (:class:`~greenpool.redis.Redis`) ignores it.

READONLY and READWRITE switch one connection between replica reads and
primary-only reads: :class:`~greenpool.redis.Redis` and pipelines refuse
them (:class:`~greenpool.ConfigurationError`, as the command table says),
because a client's connections are shared and replaced behind its back; the
cluster client sends READONLY on the replica connections it keeps for reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ..exceptions import DataError
from ._args import not_implemented
from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import (
    cluster_info,
    cluster_nodes,
    cluster_shards,
    cluster_slots,
    flat_maps,
    integer_reply,
    ok,
    string_reply,
    text_list,
    to_text,
)

# CLUSTER subcommand -> its reply's shape, as redis-py's Redis shapes them
# for Redis.cluster(); the others come as the server sends them.
_SHAPES: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(
        ("ADDSLOTS", "ADDSLOTSRANGE", "DELSLOTS", "DELSLOTSRANGE", "FAILOVER", "FORGET", "MEET",
         "REPLICATE", "RESET", "SAVECONFIG", "SET-CONFIG-EPOCH", "SETSLOT"),
        ok,
    ),
    "INFO": cluster_info,
    "NODES": cluster_nodes,
    "REPLICAS": cluster_nodes,
    "SLAVES": cluster_nodes,
    "GETKEYSINSLOT": text_list,
    "LINKS": flat_maps,
}


def _targets(target: Any) -> dict[str, Any]:
    return {} if target is None else {"target_nodes": target}


class ClusterCommands(CommandGroup):
    """The cluster group: redis-py's methods for it (``Redis``'s and ``RedisCluster``'s)."""

    # ------------------------------------------------------------------
    # redis-py's Redis methods

    def cluster(self, cluster_arg: str, *args: EncodableT, **kwargs: Any) -> Any:
        """CLUSTER ``cluster_arg`` [arg ...]: any CLUSTER subcommand.

        The reply is shaped as redis-py's ``Redis.cluster`` shapes it: INFO
        as :meth:`cluster_info`, NODES, REPLICAS and SLAVES as
        :meth:`cluster_nodes`, the subcommands answering ``OK`` as True,
        GETKEYSINSLOT as ``str`` names; the others as the server sends them.
        """
        if not isinstance(cluster_arg, str) or not cluster_arg:
            raise DataError("cluster_arg", cluster_arg, "must be a CLUSTER subcommand name")
        sub = cluster_arg.upper()
        return self.execute_command("CLUSTER", sub, *args, _parse=_SHAPES.get(sub), **kwargs)

    def readonly(self, **kwargs: Any) -> bool:
        """READONLY: refused by :class:`~greenpool.redis.Redis` and pipelines
        (see the module docs); True where an executor sends it."""
        return self.execute_command("READONLY", _parse=ok, **kwargs)

    def readwrite(self, **kwargs: Any) -> bool:
        """READWRITE: refused like :meth:`readonly`; True where an executor sends it."""
        return self.execute_command("READWRITE", _parse=ok, **kwargs)

    # ------------------------------------------------------------------
    # redis-py's RedisCluster management methods: the node's view

    def cluster_info(self, target_nodes: Any = None) -> dict[str, str]:
        """CLUSTER INFO as ``str -> str`` (``cluster_state``, ``cluster_known_nodes`` ...)."""
        return self.execute_command(
            "CLUSTER", "INFO", _parse=cluster_info, **_targets(target_nodes)
        )

    def cluster_nodes(self) -> dict[str, dict[str, Any]]:
        """CLUSTER NODES: ``{"host:port": {"node_id", "flags", "master_id", "slots", ...}}``.

        Every text is ``str``; ``slots`` lists each owned range as
        ``[first, last]`` (``[slot]`` for a single slot), ``migrations``
        the slots moving in or out, ``connected`` is a bool.
        """
        return self.execute_command("CLUSTER", "NODES", _parse=cluster_nodes)

    def cluster_replicas(self, node_id: str, target_nodes: Any = None) -> dict[str, dict[str, Any]]:
        """CLUSTER REPLICAS: the replicas of the primary ``node_id``, shaped as
        :meth:`cluster_nodes`."""
        return self.execute_command(
            "CLUSTER", "REPLICAS", node_id, _parse=cluster_nodes, **_targets(target_nodes)
        )

    def cluster_slots(self, target_nodes: Any = None) -> dict[tuple[int, int], dict[str, Any]]:
        """CLUSTER SLOTS: ``{(first, last): {"primary": (host, port), "replicas":
        [(host, port) ...]}}``, hosts as ``str``."""
        return self.execute_command(
            "CLUSTER", "SLOTS", _parse=cluster_slots, **_targets(target_nodes)
        )

    def cluster_shards(self, target_nodes: Any = None) -> list[dict[str, Any]]:
        """CLUSTER SHARDS: ``[{"slots": [(first, last) ...], "nodes": [{...} ...]}]``.

        Each node's fields (``id``, ``port``, ``ip``, ``role``,
        ``replication-offset``, ``health`` ...) keep the server's keys and
        values (``bytes`` unless decoding), on RESP2 and RESP3 alike.
        """
        return self.execute_command(
            "CLUSTER", "SHARDS", _parse=cluster_shards, **_targets(target_nodes)
        )

    def cluster_links(self, target_node: Any) -> list[list[Any]]:
        """CLUSTER LINKS: each link to a peer as a flat ``[name, value ...]`` list
        (as redis-py gives it on RESP2, also on RESP3)."""
        return self.execute_command("CLUSTER", "LINKS", _parse=flat_maps, **_targets(target_node))

    def cluster_myid(self, target_node: Any) -> ReplyT:
        """CLUSTER MYID: the node's id."""
        return self.execute_command("CLUSTER", "MYID", _parse=string_reply, **_targets(target_node))

    def cluster_myshardid(self, target_nodes: Any = None) -> str:
        """CLUSTER MYSHARDID (Redis 7.2): the node's shard id, as ``str``."""
        return self.execute_command(
            "CLUSTER", "MYSHARDID", _parse=to_text, **_targets(target_nodes)
        )

    def cluster_keyslot(self, key: KeyT) -> int:
        """CLUSTER KEYSLOT: the hash slot of ``key``, as the server computes it."""
        return self.execute_command("CLUSTER", "KEYSLOT", key, _parse=integer_reply)

    def cluster_countkeysinslot(self, slot_id: int) -> int:
        """CLUSTER COUNTKEYSINSLOT: how many keys the node holds in ``slot_id``."""
        return self.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot_id, _parse=integer_reply)

    def cluster_get_keys_in_slot(self, slot: int, num_keys: int) -> list[str]:
        """CLUSTER GETKEYSINSLOT: up to ``num_keys`` key names of ``slot``, as ``str``."""
        return self.execute_command("CLUSTER", "GETKEYSINSLOT", slot, num_keys, _parse=text_list)

    def cluster_count_failure_report(self, node_id: str) -> int:
        """CLUSTER COUNT-FAILURE-REPORTS: how many failure reports ``node_id`` has."""
        return self.execute_command(
            "CLUSTER", "COUNT-FAILURE-REPORTS", node_id, _parse=integer_reply
        )

    # ------------------------------------------------------------------
    # redis-py's RedisCluster management methods: changing the cluster

    def cluster_addslots(self, target_node: Any, *slots: EncodableT) -> bool:
        """CLUSTER ADDSLOTS: give ``slots`` to the node; True."""
        return self.execute_command(
            "CLUSTER", "ADDSLOTS", *slots, _parse=ok, **_targets(target_node)
        )

    def cluster_addslotsrange(self, target_node: Any, *slots: EncodableT) -> bool:
        """CLUSTER ADDSLOTSRANGE: give the node the ranges ``first, last, first, last
        ...``; True."""
        return self.execute_command(
            "CLUSTER", "ADDSLOTSRANGE", *slots, _parse=ok, **_targets(target_node)
        )

    def cluster_delslots(self, *slots: EncodableT) -> list[bool]:
        """CLUSTER DELSLOTS, once per slot (as redis-py sends it): a True per slot."""
        return [self.execute_command("CLUSTER", "DELSLOTS", slot, _parse=ok) for slot in slots]

    def cluster_delslotsrange(self, *slots: EncodableT) -> bool:
        """CLUSTER DELSLOTSRANGE: unassign the ranges ``first, last, first, last ...``; True."""
        return self.execute_command("CLUSTER", "DELSLOTSRANGE", *slots, _parse=ok)

    def cluster_failover(self, target_node: Any, option: str | None = None) -> bool:
        """CLUSTER FAILOVER [FORCE|TAKEOVER]: make the replica take over its primary; True.

        Another ``option`` raises DataError (a RedisError, as redis-py raises).
        """
        if option:
            if not isinstance(option, str) or option.upper() not in ("FORCE", "TAKEOVER"):
                raise DataError("option", option, "must be 'FORCE' or 'TAKEOVER'")
            return self.execute_command(
                "CLUSTER", "FAILOVER", option, _parse=ok, **_targets(target_node)
            )
        return self.execute_command("CLUSTER", "FAILOVER", _parse=ok, **_targets(target_node))

    def cluster_meet(self, host: str, port: int, target_nodes: Any = None) -> bool:
        """CLUSTER MEET: make the node handshake with the node at ``host:port``; True."""
        return self.execute_command(
            "CLUSTER", "MEET", host, port, _parse=ok, **_targets(target_nodes)
        )

    def cluster_replicate(self, target_nodes: Any, node_id: str) -> bool:
        """CLUSTER REPLICATE: make the node a replica of ``node_id``; True."""
        return self.execute_command(
            "CLUSTER", "REPLICATE", node_id, _parse=ok, **_targets(target_nodes)
        )

    def cluster_reset(self, soft: bool = True, target_nodes: Any = None) -> bool:
        """CLUSTER RESET SOFT (or HARD): make the node forget the cluster; True."""
        mode = b"SOFT" if soft else b"HARD"
        return self.execute_command("CLUSTER", "RESET", mode, _parse=ok, **_targets(target_nodes))

    def cluster_save_config(self, target_nodes: Any = None) -> bool:
        """CLUSTER SAVECONFIG: write the node's cluster configuration to disk; True."""
        return self.execute_command("CLUSTER", "SAVECONFIG", _parse=ok, **_targets(target_nodes))

    def cluster_set_config_epoch(self, epoch: int, target_nodes: Any = None) -> bool:
        """CLUSTER SET-CONFIG-EPOCH: set a new node's configuration epoch; True."""
        return self.execute_command(
            "CLUSTER", "SET-CONFIG-EPOCH", epoch, _parse=ok, **_targets(target_nodes)
        )

    def cluster_setslot(self, target_node: Any, node_id: str, slot_id: int, state: str) -> bool:
        """CLUSTER SETSLOT slot IMPORTING|MIGRATING|NODE node_id; True.

        ``state`` ``"STABLE"`` has its own method (:meth:`cluster_setslot_stable`);
        it and any other state raise DataError (a RedisError, as redis-py raises).
        """
        word = state.upper() if isinstance(state, str) else state
        if word not in ("IMPORTING", "NODE", "MIGRATING"):
            reason = ("use cluster_setslot_stable()" if word == "STABLE"
                      else "must be 'IMPORTING', 'MIGRATING' or 'NODE'")
            raise DataError("state", state, reason)
        return self.execute_command(
            "CLUSTER", "SETSLOT", slot_id, state, node_id, _parse=ok, **_targets(target_node)
        )

    def cluster_setslot_stable(self, slot_id: int) -> bool:
        """CLUSTER SETSLOT slot STABLE: clear the slot's migrating or importing state; True."""
        return self.execute_command("CLUSTER", "SETSLOT", slot_id, "STABLE", _parse=ok)

    def cluster_flushslots(self, target_nodes: Any = None) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("CLUSTER FLUSHSLOTS")

    def cluster_bumpepoch(self, target_nodes: Any = None) -> NoReturn:
        """Raise NotImplementedError, as redis-py does."""
        not_implemented("CLUSTER BUMPEPOCH")
