"""Run one command with ``REDIS_URL``, ``DATABASE_URL`` and ``TARANTOOL_URL`` set.

    .venv/bin/python examples/run_with_servers.py COMMAND [ARGS...]

Servers whose URL is not in the environment are started first (throwaway,
on free loopback ports) and stopped when the command ends; Ctrl-C stops
both, and so does SIGTERM.  For example::

    .venv/bin/python examples/run_with_servers.py \
        .venv/bin/gunicorn -c examples/gunicorn_conf.py flask_app:app
"""

from __future__ import annotations

import signal
import subprocess
import sys

from _servers import servers


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with servers("REDIS_URL", "DATABASE_URL", "TARANTOOL_URL") as urls:
        for name, url in urls.items():
            print(f"{name}={url}", file=sys.stderr)
        child = subprocess.Popen(argv)
        # SIGTERM is passed on; Ctrl-C reaches the command from the terminal
        # itself.  Either way the servers stop once the command has ended.
        signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
