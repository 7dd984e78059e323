"""Counting the client sockets a group of Redis servers has open, during a run.

For the benchmarks that run under gevent: a greenlet samples the servers'
``INFO clients`` every ``interval`` seconds and keeps the largest sum of
``connected_clients`` seen, without its own sampling connections and
without the connections ``ignore(server)`` says a fixture holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gevent

from greenpool.testing import RedisServer, RespClient


class ClientSockets:
    """Samples ``connected_clients`` on ``servers``; :meth:`stop` returns the peak."""

    def __init__(
        self,
        servers: Sequence[RedisServer],
        *,
        ignore: Callable[[RedisServer], int] = lambda server: 0,
        interval: float = 0.2,
    ) -> None:
        self.servers = list(servers)
        self.ignore = ignore
        self.peak = 0
        self._conns: dict[int, RespClient] = {}
        self._greenlet = gevent.spawn(self._loop, interval)

    def count(self) -> int:
        """The client connections open now, on the servers that can answer."""
        total = 0
        for server in self.servers:
            if not server.running or server.paused:
                continue
            try:
                conn = self._conns.get(server.port) or server.client()
                self._conns[server.port] = conn
                info = conn.execute("INFO", "clients").decode()
            except (OSError, ConnectionError):
                self._conns.pop(server.port, None)
                continue
            fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
            total += int(fields["connected_clients"]) - 1 - self.ignore(server)
        return total

    def _loop(self, interval: float) -> None:
        while True:
            self.peak = max(self.peak, self.count())
            gevent.sleep(interval)

    def stop(self) -> int:
        """Stop sampling, close the sampling connections, return the peak."""
        self._greenlet.kill()
        self.peak = max(self.peak, self.count())
        for conn in self._conns.values():
            conn.close()
        return self.peak
