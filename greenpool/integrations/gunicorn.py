"""gunicorn hooks for greenpool: a config module, or hooks to import into your own.

Use it as the config::

    gunicorn -c python:greenpool.integrations.gunicorn --preload -w 4 app:app

(it sets ``worker_class = "gevent"``; anything on the command line wins),
or from your own config file::

    from greenpool.integrations.gunicorn import post_fork, when_ready, worker_exit

The hooks:

* :func:`when_ready` (in the master, once): warns when the master has been
  monkey-patched, which is what ``monkey.patch_all()`` at the top of an
  app module loaded with ``--preload`` does.  A patched master's signal and
  child handling is gevent's, and gunicorn then fails to replace workers
  on time (recycled by ``--max-requests``, or killed).  The gevent worker
  patches itself: the app module must not.
* :func:`post_fork` (in each new worker, before it patches itself): nothing
  is needed for safety, since greenpool severed every socket the worker
  inherited at the fork itself; it logs what was inherited.
* :func:`worker_exit` (in the worker, as it ends): closes every pool and
  client of the worker with
  :func:`greenpool.integrations.shutdown.close_all`.  gunicorn also calls
  this hook in the master for a worker that was already gone; there it does
  nothing, since the master's pools must stay open for the workers it forks
  later.

Where clients are made: at import (module level) is right with or without
``--preload``: pools connect on first use in the process that uses them, so
a pool made in the master opens nothing there, and each worker opens its
own.  A client *used* at import in a ``--preload`` master keeps the
connections it opened there for the master's life (the workers don't
inherit them: they open their own).  See docs/gunicorn.md.

This module imports neither gunicorn nor gevent's monkey patching.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .._fork import registered
from .._util import monkey_patched
from .shutdown import close_all

__all__ = ["post_fork", "when_ready", "worker_class", "worker_exit"]

_log = logging.getLogger("greenpool.gunicorn")

#: gunicorn reads this module's settings by name: greenpool wants gevent workers.
worker_class = "gevent"

_PATCH_WARNING = (
    "greenpool: the gunicorn master is monkey-patched by gevent (monkey.patch_all() "
    "ran in the master, most likely at the top of an app module loaded with --preload). "
    "gunicorn's master then fails to replace workers on time (--max-requests, killed "
    "workers). Remove patch_all() from the app: the gevent worker (-k gevent) patches itself."
)


def when_ready(server: Any) -> None:
    """gunicorn's ``when_ready``: in the master; warns if the master is monkey-patched."""
    if monkey_patched():
        server.log.warning(_PATCH_WARNING)


def post_fork(server: Any, worker: Any) -> None:
    """gunicorn's ``post_fork``: in a new worker; logs the greenpool objects it inherited.

    Nothing else is needed: their sockets were severed when the worker was
    forked, and each pool connects on its first use in the worker.
    """
    inherited = len(registered())
    if inherited:
        server.log.debug(
            "greenpool: worker %s inherited %d pools and connections; "
            "they connect afresh on first use", worker.pid, inherited,
        )


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit``: close every pool and client, in the worker only."""
    if getattr(worker, "pid", None) != os.getpid():
        return  # called in the master for a worker already gone
    closed = close_all()
    server.log.info("greenpool: worker %s closed %d pools and clients", worker.pid, closed)
