"""Celery signal wiring for greenpool: :func:`install`, once, in the module that makes the app.

::

    from celery import Celery
    from greenpool.integrations import celery as greenpool_celery

    app = Celery("tasks", broker=...)
    greenpool_celery.install()

What it connects:

* ``worker_init`` (the worker's main process, before its pool starts):
  logs an error for a pool greenpool does not support (``threads``,
  ``eventlet``: a greenpool client belongs to one gevent hub, in one
  thread), and warns when the gevent pool was chosen but the process is
  not monkey-patched (Celery patches only for ``-P gevent`` given on the
  command line, not for ``worker_pool`` set in the configuration).
* ``worker_process_init`` (each prefork child, as it starts): nothing is
  needed for safety, since the sockets the child inherited were severed at
  the fork; logs what was inherited.
* ``worker_process_shutdown`` (each prefork child, as it ends) and
  ``worker_shutdown`` (the main process: with ``-P gevent`` or ``solo``,
  where the tasks ran; with prefork, the parent's own clients): close every
  pool and client with :func:`greenpool.integrations.shutdown.close_all`.

Supported pools: ``gevent`` (tasks are greenlets sharing the worker's
clients; ``-c`` sets how many run at once), ``prefork`` (each child process
has its own connections, made on first use) and ``solo``.  See
docs/celery.md.
"""

from __future__ import annotations

import logging
from typing import Any

from .._fork import registered
from .._util import monkey_patched
from .shutdown import close_all

__all__ = ["SUPPORTED_POOLS", "install", "uninstall"]

log = logging.getLogger("greenpool.celery")

#: Celery pools greenpool works with.
SUPPORTED_POOLS = ("gevent", "prefork", "solo")

_UNSUPPORTED = {
    "threads": "a greenpool client belongs to one gevent hub, in one thread",
    "eventlet": "greenpool runs on gevent, not eventlet",
    "custom": "unknown pool",
}

_UID = "greenpool.integrations.celery"


def install() -> None:
    """Connect greenpool's handlers to Celery's worker signals.  Calling it again does nothing.

    Raises ``ImportError`` when Celery is not installed.
    """
    from celery import signals

    signals.worker_init.connect(_on_worker_init, weak=False, dispatch_uid=_UID)
    signals.worker_process_init.connect(_on_process_init, weak=False, dispatch_uid=_UID)
    signals.worker_process_shutdown.connect(_on_shutdown, weak=False, dispatch_uid=_UID)
    signals.worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid=_UID)


def uninstall() -> None:
    """Disconnect what :func:`install` connected."""
    from celery import signals

    signals.worker_init.disconnect(_on_worker_init, dispatch_uid=_UID)
    signals.worker_process_init.disconnect(_on_process_init, dispatch_uid=_UID)
    signals.worker_process_shutdown.disconnect(_on_shutdown, dispatch_uid=_UID)
    signals.worker_shutdown.disconnect(_on_shutdown, dispatch_uid=_UID)


def pool_name(pool_cls: Any) -> str:
    """Celery's short name for a worker pool class or name: ``gevent``, ``prefork``..."""
    if isinstance(pool_cls, str):
        return pool_cls
    module = getattr(pool_cls, "__module__", "") or ""
    short = module.rsplit(".", 1)[-1]
    return {"thread": "threads", "asynpool": "prefork"}.get(short, short or "custom")


def _on_worker_init(sender: Any = None, **_: Any) -> None:
    name = pool_name(getattr(sender, "pool_cls", "prefork"))
    if name not in SUPPORTED_POOLS:
        log.error(
            "greenpool: Celery's %r pool is not supported (%s); use -P gevent, prefork or solo",
            name, _UNSUPPORTED.get(name, "unknown pool"),
        )
    elif name == "gevent" and not monkey_patched():
        log.warning(
            "greenpool: the gevent pool was chosen but this process is not monkey-patched: "
            "give -P gevent on the celery command line (Celery patches only then)"
        )


def _on_process_init(**_: Any) -> None:
    inherited = len(registered())
    if inherited:
        log.debug("greenpool: this pool process inherited %d pools and connections; "
                  "they connect afresh on first use", inherited)


def _on_shutdown(**_: Any) -> None:
    close_all()
