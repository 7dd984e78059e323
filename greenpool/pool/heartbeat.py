"""Heartbeat: keep idle connections proven alive, and close silent ones.

Every ``interval`` seconds :class:`Heartbeat` looks at each live connection
it watches:

* nothing written for longer than ``interval``: it sends ``ping(conn)`` (in
  a greenlet of its own, with ``timeout`` as the deadline), so an idle
  connection keeps proving the server is there;
* nothing read for longer than ``timeout``: the server is silent (paused,
  black-holed, half-open).  ``on_heartbeat_stopped(conn)`` listeners are
  called and the connection is closed, which fails its pending requests at
  once instead of letting them wait;
* a connection that stopped and is reading again (after its pool
  reconnected it): ``on_heartbeat_restored(conn)`` listeners are called.

The heartbeat greenlet sleeps between ticks: an idle process pays one
wake-up per interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from time import monotonic
from typing import Any

import gevent

from .._util import call_listener, check_float
from ..errors import ConfigurationError
from ..transport.connection import Connection

__all__ = ["Heartbeat"]

log = logging.getLogger("greenpool.heartbeat")


class Heartbeat:
    """Pings idle connections and closes silent ones.

    ``connections()`` returns the connections to watch (called every tick);
    ``ping(conn)`` sends one cheap request and returns when it is answered.
    """

    def __init__(
        self,
        interval: float = 5.0,
        timeout: float = 60.0,
        *,
        connections: Callable[[], Iterable[Connection]],
        ping: Callable[[Connection], Any],
    ) -> None:
        self.interval = check_float("interval", interval, strict=True) or 5.0
        self.timeout = check_float("timeout", timeout, strict=True) or 60.0
        if self.timeout <= self.interval:
            raise ConfigurationError("timeout", timeout, "must be longer than interval")
        if not callable(connections) or not callable(ping):
            raise ConfigurationError("ping", ping, "connections and ping must be callables")
        self._connections = connections
        self._ping = ping
        self._stopped: set[int] = set()
        self._pinging: set[int] = set()
        self._restored: list[Callable[[Connection], Any]] = []
        self._stopped_listeners: list[Callable[[Connection], Any]] = []
        self._greenlet: Any = None

    def add_listener(
        self,
        on_heartbeat_restored: Callable[[Connection], Any] | None = None,
        on_heartbeat_stopped: Callable[[Connection], Any] | None = None,
    ) -> None:
        """Register callbacks for a connection going silent and coming back."""
        if on_heartbeat_restored is not None:
            self._restored.append(on_heartbeat_restored)
        if on_heartbeat_stopped is not None:
            self._stopped_listeners.append(on_heartbeat_stopped)

    def start(self) -> None:
        """Start the heartbeat greenlet (idempotent)."""
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._run)
            self._greenlet.name = "greenpool-heartbeat"

    def shutdown(self) -> None:
        """Stop the heartbeat greenlet."""
        glet, self._greenlet = self._greenlet, None
        if glet is not None:
            glet.kill(block=False)

    @property
    def running(self) -> bool:
        """True while the heartbeat greenlet runs."""
        return self._greenlet is not None and not self._greenlet.dead

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("heartbeat tick failed")
            gevent.sleep(min(self.interval, self.timeout / 4))

    def tick(self) -> None:
        """Check every watched connection once (the greenlet calls this each interval)."""
        now = monotonic()
        for conn in list(self._connections()):
            key = id(conn)
            if not conn.live():
                continue
            silent = now - conn.last_read
            if silent > self.timeout:
                if key not in self._stopped:
                    self._stopped.add(key)
                    for listener in list(self._stopped_listeners):
                        call_listener(log, listener, conn)
                log.warning("heartbeat: %s silent for %.1fs; closing it", conn, silent)
                conn.close(f"heartbeat: nothing read for {silent:.1f}s (timeout {self.timeout}s)")
                continue
            if key in self._stopped and conn.last_read > conn.connected_at:
                self._stopped.discard(key)
                for listener in list(self._restored):
                    call_listener(log, listener, conn)
            if now - conn.last_write > self.interval and key not in self._pinging:
                self._pinging.add(key)
                gevent.spawn(self._send_ping, conn)

    def _send_ping(self, conn: Connection) -> None:
        key = id(conn)
        try:
            with gevent.Timeout(self.timeout, False):
                self._ping(conn)
        except Exception as exc:
            log.debug("heartbeat: ping on %s failed: %r", conn, exc)
        finally:
            self._pinging.discard(key)


