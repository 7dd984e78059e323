"""gunicorn's config for examples/flask_app.py (see docs/gunicorn.md).

    .venv/bin/gunicorn -c examples/gunicorn_conf.py flask_app:app

greenpool's hooks do the right thing for gevent workers: ``when_ready``
warns if the master was monkey-patched; ``post_fork`` has nothing to do
for safety (the sockets a worker inherits are severed at the fork);
``worker_exit`` closes the worker's pools and clients.
"""

import os

from greenpool.integrations.gunicorn import post_fork, when_ready, worker_exit

__all__ = ["post_fork", "when_ready", "worker_exit"]

pythonpath = os.path.dirname(os.path.abspath(__file__))
bind = os.environ.get("EXAMPLE_BIND", "127.0.0.1:8000")
worker_class = "gevent"
workers = int(os.environ.get("EXAMPLE_WORKERS", "2"))
worker_connections = 1000
preload_app = True
graceful_timeout = 10
max_requests = int(os.environ.get("EXAMPLE_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 5
control_socket_disable = True  # gunicorn >= 25.1: no control socket in $HOME
