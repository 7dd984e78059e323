"""The Redis command surface, with redis-py's method names, arguments and return types.

One module per Redis command group (as Redis's own command reference groups
them), each a mixin class; :class:`Commands` composes them all.  The mixins
do no I/O: a method checks its arguments (:mod:`._args`), builds the command
and hands it to the class it is mixed into, the *executor*, with its reply's
shape (:mod:`._replies`); see :class:`~._base.Executor` for the contract.
Where a command runs (a shared connection, a dedicated one, or refused) is
not decided here but by the executor, from the command table
(:mod:`._table`).

Each method names the shape redis-py gives on RESP2 (which redis-py 8 also
gives on its default RESP3 connections), the same whichever the RESP
version; a client made with ``protocol=3`` or ``legacy_responses=False``
replaces it for the commands whose shape differs in that mode
(:mod:`._reply_modes`, as redis-py's callback tables do).  Where redis-py
converts only for some inputs, so do the
groups: for example :meth:`~.server.ServerCommands.info` and
:meth:`~.server.ServerCommands.config_get` always give ``str`` keys, while
:meth:`~.hash.HashCommands.hgetall` keys follow ``decode_responses``.

Differences from redis-py (also listed in ``docs/redis.md``): bad option
arguments (expiry times, counts, flag combinations ...) raise
:class:`~greenpool.redis.exceptions.DataError` before anything is sent, in
more cases than redis-py checks, while a key or value of a type that cannot
be sent (None, say) is left to the encoder (DataError too); there is no
``select`` (the database is a connection option, and connections are
shared); :meth:`~.set.SetCommands.sismember` and
:meth:`~.set.SetCommands.smismember` give ``bool`` where redis-py gives
``0``/``1`` (equal values, ``bool`` being an ``int``); a ``score_cast_func``
is given ``str`` scores when decoding on RESP3 too, where redis-py gives it
``bytes``; where redis-py 8 with no protocol given leaves a RESP3 reply in
a shape of its own (FUNCTION STATS as a dict, XINFO STREAM FULL consumers
with ``bytes`` keys, ZDIFF/ZRANDMEMBER/ZMPOP scores as ``bytes`` when
decoding, vector sets' booleans and doubles), the groups give RESP2's
shape all the same (greenpool's default is RESP2).
"""

from __future__ import annotations

from ..exceptions import DataError
from ._base import CommandOptions, Executor
from ._replies import parse_info
from .acl import ACLCommands
from .array import (
    ArrayAggregateOperations,
    ArrayCommands,
    ArrayPredicateCombinator,
    ArrayPredicateType,
)
from .bitmap import BitFieldOperation, BitmapCommands
from .cluster import ClusterCommands
from .connection import ConnectionCommands
from .functions import FunctionCommands
from .generic import GenericCommands
from .geo import GeoCommands
from .hash import HashCommands, HashDataPersistOptions
from .hyperloglog import HyperLogLogCommands
from .list import ListCommands
from .pubsub import PubSubCommands
from .scripting import Script, ScriptingCommands
from .sentinel import SentinelCommands
from .server import ServerCommands
from .set import SetCommands
from .sorted_set import SortedSetCommands
from .stream import StreamCommands
from .string import DataPersistOptions, StringCommands
from .vector_set import QuantizationOptions, VectorSet, VectorSetCommands

__all__ = [
    "ArrayAggregateOperations",
    "ArrayPredicateCombinator",
    "ArrayPredicateType",
    "BitFieldOperation",
    "CommandOptions",
    "Commands",
    "CommandsMixin",
    "DataError",
    "DataPersistOptions",
    "Executor",
    "HashDataPersistOptions",
    "QuantizationOptions",
    "Script",
    "VectorSet",
    "parse_info",
]


class Commands(
    GenericCommands,
    StringCommands,
    BitmapCommands,
    HashCommands,
    ListCommands,
    SetCommands,
    SortedSetCommands,
    GeoCommands,
    HyperLogLogCommands,
    StreamCommands,
    ArrayCommands,
    VectorSetCommands,
    ScriptingCommands,
    FunctionCommands,
    PubSubCommands,
    ConnectionCommands,
    ServerCommands,
    ACLCommands,
    ClusterCommands,
    SentinelCommands,
):
    """Every command group composed: redis-py's methods, for any :class:`Executor`."""


CommandsMixin = Commands
"""The name this class had before the groups were split (kept for imports)."""
