"""redis-py's credential providers: where a client gets its username and password.

A provider is any object whose ``get_credentials()`` returns ``(password,)``
or ``(username, password)``; the client asks it at every connect (so a
reconnection uses the credentials of the moment: a rotated password, a
short-lived token).  redis-py's own providers work as they are; these two
are for code that names redis-py's classes.
"""

from __future__ import annotations

__all__ = ["CredentialProvider", "UsernamePasswordCredentialProvider"]


class CredentialProvider:
    """The base of credential providers: subclasses implement :meth:`get_credentials`."""

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        """``(password,)`` or ``(username, password)``.  May block (a token service)."""
        raise NotImplementedError("get_credentials must be implemented")


class UsernamePasswordCredentialProvider(CredentialProvider):
    """Fixed credentials, given once.  The password is never shown in the repr."""

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.username = username or ""
        self.password = password or ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} username={self.username!r}>"

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        """``(username, password)``, or ``(password,)`` without a username."""
        if self.username:
            return self.username, self.password
        return (self.password,)
