"""A distributed lock on one Redis key, with redis-py's ``Lock`` semantics, for greenlets.

``r.lock("name", timeout=10)`` gives a :class:`Lock`: :meth:`Lock.acquire`
sets the key to a random token if nobody holds it (``SET NX PX``), polling
every ``sleep`` seconds while ``blocking`` (up to ``blocking_timeout``);
:meth:`Lock.release`, :meth:`Lock.extend` and :meth:`Lock.reacquire` act
only while the key still holds this lock's token (checked and acted on in
one Lua script, so a lock that expired and was taken by someone else is
never released or extended by its old holder: that raises
:class:`~greenpool.redis.exceptions.LockNotOwnedError`).

Waiting sleeps with ``gevent.sleep``: other greenlets run meanwhile.  With
``thread_local`` (the default) the token is kept per greenlet
(``gevent.local.local``), as redis-py keeps it per thread: a lock acquired
in one greenlet can't be released from another.  With
``thread_local=False`` any greenlet holding the object may release it.

A greenlet killed while its ``SET`` is on the wire may leave the key taken
with a token nobody holds (the server may have run it): give locks a
``timeout`` so that such a key expires.

A lock held when the process forks stays the parent's: in the child the
token is forgotten (see :mod:`greenpool._fork`), so the child's copy of a
greenlet inside ``with lock:`` can't release it (leaving the block raises,
or logs, :class:`LockError`), nor can :meth:`Lock.release` or
:meth:`Lock.extend` there.
"""

from __future__ import annotations

import logging
import time
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any

import gevent
from gevent.local import local

from .._fork import register
from .exceptions import LockError, LockNotOwnedError

if TYPE_CHECKING:
    from .commands.scripting import Script

__all__ = ["Lock"]

# Our own scripts.  KEYS[1] is the lock; ARGV[1] the token.
_RELEASE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('del', KEYS[1])
"""
# ARGV[2]: milliseconds; ARGV[3]: '1' sets the time to live to it, '0' adds it.
_EXTEND = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local left = redis.call('pttl', KEYS[1])
if left < 0 then return 0 end
local ms = tonumber(ARGV[2])
if ARGV[3] == '0' then ms = ms + left end
redis.call('pexpire', KEYS[1], ms)
return 1
"""
# ARGV[2]: milliseconds, the lock's whole timeout again.
_REACQUIRE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('pexpire', KEYS[1], ARGV[2])
return 1
"""


class _Plain:
    """The token holder shared by every greenlet (``thread_local=False``)."""

    token: bytes | None = None


class _PerGreenlet(local):  # type: ignore[misc]
    """The token holder seen per greenlet: None in a greenlet that did not acquire."""

    token: bytes | None = None


class Lock:
    """A lock on the key ``name`` of the client ``redis`` (see the module docs).

    ``timeout``: seconds the key lives (None: until released);
    ``sleep``: seconds between attempts while waiting; ``blocking``: wait
    for the lock by default; ``blocking_timeout``: how long to wait at most
    by default (None: forever); ``thread_local``: keep the token per
    greenlet; ``raise_on_release_error``: leaving a ``with`` block raises
    when the lock was no longer owned (otherwise it is only logged).
    A ``sleep`` longer than ``timeout`` raises :class:`LockError`.
    """

    def __init__(
        self,
        redis: Any,
        name: str,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> None:
        self.redis = redis
        self.name = name
        self.timeout = timeout
        self.sleep = sleep
        self.blocking = blocking
        self.blocking_timeout = blocking_timeout
        self.thread_local = bool(thread_local)
        self.raise_on_release_error = raise_on_release_error
        self.local: Any = _PerGreenlet() if self.thread_local else _Plain()
        self.local.token = None
        if self.timeout and self.sleep > self.timeout:
            raise LockError("'sleep' must be less than 'timeout'", lock_name=name)
        self._scripts: dict[str, Script] = {}
        register(self, owner=False)  # a token to forget, nothing to close

    def __repr__(self) -> str:
        return f"<Lock {self.name!r} timeout={self.timeout}>"

    def _script(self, source: str) -> Script:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.redis.register_script(source)
        return script

    def __enter__(self) -> Lock:
        if self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified", lock_name=self.name)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.release()
        except LockError:
            if self.raise_on_release_error:
                raise
            logging.getLogger(__name__).warning(
                "lock %r was no longer owned when its with-block ended", self.name
            )

    def acquire(
        self,
        sleep: float | None = None,
        blocking: bool | None = None,
        blocking_timeout: float | None = None,
        token: str | bytes | None = None,
    ) -> bool:
        """Take the lock; True, or False if ``blocking`` is off and it is held, or
        ``blocking_timeout`` seconds passed.  Blocks (sleeping greenly) while waiting.

        ``token`` is the value to hold the key with (a random one by default).
        """
        sleep = self.sleep if sleep is None else sleep
        blocking = self.blocking if blocking is None else blocking
        blocking_timeout = self.blocking_timeout if blocking_timeout is None else blocking_timeout
        if token is None:
            token = uuid.uuid1().hex.encode()
        else:
            token = self.redis.get_encoder().encode(token)
        deadline = None if blocking_timeout is None else time.monotonic() + blocking_timeout
        while True:
            if self.do_acquire(token):
                self.local.token = token
                return True
            if not blocking:
                return False
            if deadline is not None and time.monotonic() + sleep > deadline:
                return False  # the next attempt would come too late
            gevent.sleep(sleep)

    def do_acquire(self, token: str | bytes) -> bool:
        """One attempt: SET the key to ``token`` if it is not set; True if it was set."""
        px = None if self.timeout is None else int(self.timeout * 1000)
        return bool(self.redis.set(self.name, token, nx=True, px=px))

    def locked(self) -> bool:
        """True if anyone holds the lock."""
        return self.redis.get(self.name) is not None

    def owned(self) -> bool:
        """True if this lock's token (this greenlet's, with ``thread_local``) holds the key."""
        stored = self.redis.get(self.name)
        if isinstance(stored, str):
            stored = self.redis.get_encoder().encode(stored)
        token = self.local.token
        return token is not None and stored == token

    def release(self) -> None:
        """Release the lock.  :class:`LockError` if it is not held here;
        :class:`LockNotOwnedError` if the key no longer holds the token.

        A release that did not finish (a connection error, a ``gevent.Timeout``
        or ``kill()`` while it ran) keeps the token, so that ``release()`` can
        be called again: the key is deleted only while it holds that token.
        """
        token = self.local.token
        if token is None:
            raise LockError(
                "Cannot release a lock that's not owned or is already unlocked.",
                lock_name=self.name,
            )
        try:
            self.do_release(token)
        except LockNotOwnedError:
            self.local.token = None
            raise
        self.local.token = None

    def do_release(self, expected_token: bytes) -> None:
        """Delete the key if it still holds ``expected_token``, else LockNotOwnedError."""
        if not self._script(_RELEASE)(keys=[self.name], args=[expected_token]):
            raise LockNotOwnedError(
                "Cannot release a lock that's no longer owned", lock_name=self.name
            )

    def extend(self, additional_time: float, replace_ttl: bool = False) -> bool:
        """Add ``additional_time`` seconds to the lock's time to live (or set it to that
        with ``replace_ttl``); True.  :class:`LockError` if not held here or it has no
        timeout; :class:`LockNotOwnedError` if the key no longer holds the token."""
        if self.local.token is None:
            raise LockError("Cannot extend an unlocked lock", lock_name=self.name)
        if self.timeout is None:
            raise LockError("Cannot extend a lock with no timeout", lock_name=self.name)
        return self.do_extend(additional_time, replace_ttl)

    def do_extend(self, additional_time: float, replace_ttl: bool) -> bool:
        ms = int(additional_time * 1000)
        args = [self.local.token, ms, "1" if replace_ttl else "0"]
        if not self._script(_EXTEND)(keys=[self.name], args=args):
            raise LockNotOwnedError(
                "Cannot extend a lock that's no longer owned", lock_name=self.name
            )
        return True

    def reacquire(self) -> bool:
        """Reset the lock's time to live to ``timeout``; True.  :class:`LockError` if not
        held here or it has no timeout; :class:`LockNotOwnedError` if the key no longer
        holds the token."""
        if self.local.token is None:
            raise LockError("Cannot reacquire an unlocked lock", lock_name=self.name)
        if self.timeout is None:
            raise LockError("Cannot reacquire a lock with no timeout", lock_name=self.name)
        return self.do_reacquire()

    def _forget_inherited(self) -> None:
        """In a child after fork(): the token is the parent's; forget it (every
        greenlet's, with ``thread_local``) so that nothing here releases the lock."""
        self.local = _PerGreenlet() if self.thread_local else _Plain()
        self.local.token = None

    def do_reacquire(self) -> bool:
        assert self.timeout is not None
        args = [self.local.token, int(self.timeout * 1000)]
        if not self._script(_REACQUIRE)(keys=[self.name], args=args):
            raise LockNotOwnedError(
                "Cannot reacquire a lock that's no longer owned", lock_name=self.name
            )
        return True
