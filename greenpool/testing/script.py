"""Run a Python script as a separate server process on a free loopback port.

For the faults no real server makes (garbage replies, a peer that answers
twice, a TLS terminator in front of a server without TLS): the test writes
a small script that serves on the port it is given, and
:class:`ScriptServer` runs it as a real process in between.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from .servers import HOST, free_port

__all__ = ["ScriptServer"]


class ScriptServer:
    """``python SCRIPT PORT *args`` as a child process; ready once the port accepts.

    Raises RuntimeError if the process dies or does not listen within
    ``timeout`` seconds.  ``address``, ``port``, ``process``, ``stop()``
    (kills by PID and reaps).
    """

    def __init__(self, script: str, *args: str, timeout: float = 10.0) -> None:
        self.port = free_port()
        self.address = f"{HOST}:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, script, str(self.port), *args], stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{script} did not start listening") from None
                time.sleep(0.02)

    def stop(self) -> None:
        """Kill the process (if still running) and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
