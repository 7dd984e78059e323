"""Which OS thread a connection or pool belongs to, and the error for using it from another.

gevent runs one hub per OS thread.  A connection's socket, reader greenlet
and waiters belong to the hub that connected it; a checkout pool's lists
and queue of waiters are changed between yields without a lock, which is
safe among the greenlets of one thread only.  So each belongs to one OS
thread, and a call from another raises :class:`~greenpool.WrongThreadError`
before it changes anything (without the check, such a call switched into
the other thread's hub and failed with greenlet's "Cannot switch to a
different thread", after queueing its request).

Under ``gevent.monkey.patch_all()`` the ``threading`` module's threads are
greenlets of one OS thread, so this never fires there.  The thread is told
by the OS's own id (``_thread.get_ident`` as it was before patching).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gevent import get_hub, monkey

from .errors import WrongThreadError

__all__ = ["check_hub", "thread_ident", "wrong_thread"]

#: The OS thread's id, whatever monkey patching did to ``threading.get_ident``.
thread_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")


def wrong_thread(what: str, owner: int) -> WrongThreadError:
    """The error for ``what`` (a description, no secrets), owned by OS thread ``owner``."""
    return WrongThreadError(
        f"{what} belongs to OS thread {owner:#x} (its gevent hub) and was used from OS "
        f"thread {thread_ident():#x}; nothing was done.  greenpool's connections and "
        "pools work in one OS thread: make one client or pool per thread (under "
        "gevent.monkey.patch_all() threads are greenlets of one OS thread)"
    )


def check_hub(hub: Any, what: str) -> None:
    """Raise :func:`wrong_thread`'s error unless ``hub`` is the calling thread's gevent hub."""
    if hub is not get_hub():
        raise wrong_thread(what, hub.thread_ident)
