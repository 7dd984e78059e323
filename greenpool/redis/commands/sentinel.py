"""Sentinel commands: SENTINEL MASTER, SENTINEL GET-MASTER-ADDR-BY-NAME ....

Only sentinels answer them (a data server says the command is unknown).
A :class:`~greenpool.redis.Redis` pointed at a sentinel runs them on its
shared connections, as it runs anything else: sentinels accept PING,
``HELLO 3`` and CLIENT SETNAME, so ``protocol=3``, ``client_name=`` and the
heartbeat work; ``db`` must stay 0 (a sentinel has no SELECT).

As redis-py's do, some methods pass the options ``once=True`` (any one
sentinel may answer) and ``return_responses`` to ``execute_command``: an
executor that fans a command out over several sentinels reads them, a
client of one sentinel ignores them.
"""

from __future__ import annotations

from typing import Any

from ._base import CommandGroup, EncodableT
from ._replies import ok, sentinel_address, sentinel_masters, sentinel_state, sentinel_states


class SentinelCommands(CommandGroup):
    """The sentinel group: redis-py's methods for it."""

    def sentinel(self, *args: EncodableT) -> Any:
        """SENTINEL subcommand [arg ...]: the reply as the sentinel sends it.

        (redis-py's method of this name only warns that it is deprecated and
        sends nothing; this one sends the command.)
        """
        return self.execute_command("SENTINEL", *args)

    def sentinel_get_master_addr_by_name(
        self, service_name: str, return_responses: bool = False
    ) -> tuple[Any, int] | None:
        """SENTINEL GET-MASTER-ADDR-BY-NAME: the primary of ``service_name`` as
        ``(host, port)`` (host ``bytes``, or ``str`` when decoding), None if the
        sentinel does not monitor it."""
        return self.execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", service_name, once=True,
            return_responses=return_responses, _parse=sentinel_address,
        )

    def sentinel_master(
        self, service_name: str, return_responses: bool = False
    ) -> dict[str, Any]:
        """SENTINEL MASTER: the state of ``service_name``'s primary as a dict.

        ``str`` keys and texts, the counters (``port``, ``quorum``,
        ``num-slaves`` ...) as ints, ``flags`` as its text and one ``is_*``
        bool per flag (``is_master``, ``is_sdown``, ``is_odown`` ...).  An
        unknown name raises ResponseError.
        """
        return self.execute_command(
            "SENTINEL", "MASTER", service_name, return_responses=return_responses,
            _parse=sentinel_state,
        )

    def sentinel_masters(self) -> dict[str, dict[str, Any]]:
        """SENTINEL MASTERS: ``{name: state}`` for every monitored primary
        (each state as :meth:`sentinel_master` gives it)."""
        return self.execute_command("SENTINEL", "MASTERS", _parse=sentinel_masters)

    def sentinel_slaves(self, service_name: str) -> list[dict[str, Any]]:
        """SENTINEL SLAVES: the state of each replica of ``service_name``
        (each as :meth:`sentinel_master` gives a state)."""
        return self.execute_command("SENTINEL", "SLAVES", service_name, _parse=sentinel_states)

    def sentinel_sentinels(
        self, service_name: str, return_responses: bool = False
    ) -> list[dict[str, Any]]:
        """SENTINEL SENTINELS: the state of each other sentinel watching ``service_name``."""
        return self.execute_command(
            "SENTINEL", "SENTINELS", service_name, return_responses=return_responses,
            _parse=sentinel_states,
        )

    def sentinel_monitor(self, name: str, ip: str, port: int, quorum: int) -> bool:
        """SENTINEL MONITOR: start watching the primary at ``ip:port`` as ``name``,
        failing over when ``quorum`` sentinels agree it is down; True."""
        return self.execute_command("SENTINEL", "MONITOR", name, ip, port, quorum, _parse=ok)

    def sentinel_remove(self, name: str) -> bool:
        """SENTINEL REMOVE: stop watching ``name``; True."""
        return self.execute_command("SENTINEL", "REMOVE", name, _parse=ok)

    def sentinel_set(self, name: str, option: str, value: EncodableT) -> bool:
        """SENTINEL SET: change one of ``name``'s settings (``quorum`` ...); True."""
        return self.execute_command("SENTINEL", "SET", name, option, value, _parse=ok)

    def sentinel_reset(self, pattern: str) -> bool:
        """SENTINEL RESET: forget the state of the primaries matching ``pattern``.

        The sentinel answers with how many it reset; like redis-py, this
        returns whether the answer was ``OK``, so False.
        """
        return self.execute_command("SENTINEL", "RESET", pattern, once=True, _parse=ok)

    def sentinel_failover(self, new_master_name: str) -> bool:
        """SENTINEL FAILOVER: fail ``new_master_name``'s primary over now, without
        asking the other sentinels; True (ResponseError when no replica can take over)."""
        return self.execute_command("SENTINEL", "FAILOVER", new_master_name, _parse=ok)

    def sentinel_ckquorum(self, new_master_name: str) -> bool:
        """SENTINEL CKQUORUM: check that enough sentinels are reachable to fail over.

        A sentinel answers ``OK 3 usable Sentinels...`` or an error
        (ResponseError); like redis-py, this returns whether the answer was
        exactly ``OK``, so False when the quorum is reachable.
        """
        return self.execute_command("SENTINEL", "CKQUORUM", new_master_name, once=True, _parse=ok)

    def sentinel_flushconfig(self) -> bool:
        """SENTINEL FLUSHCONFIG: rewrite the sentinel's configuration file; True."""
        return self.execute_command("SENTINEL", "FLUSHCONFIG", _parse=ok)
