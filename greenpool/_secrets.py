"""Secrets kept out of sight: which names hold one, and masking them in text and values.

Every place that echoes a configuration value (an error message, a repr, a
log line) passes it through :func:`mask_value` or :func:`mask_secret`
first; :class:`~greenpool.ConfigurationError` does it for every value it is
given.  A secret is replaced by ``***``.

What counts as a secret:

* the value of any argument or key whose name says so
  (:func:`is_secret_name`: ``password``, ``ssl_password``, ``sslpassword``,
  ``passwd``, ``pwd``, ``passphrase``, ``secret``, ``token``,
  ``credentials``, ``api_key`` ...; a name ending in ``_file`` or ``_path``
  names where a secret is kept, not the secret);
* in text, the password of a URL (``scheme://user:secret@host``) and of a
  scheme-less URI (``user:secret@host:3301``, Tarantool's form), the value
  of a secret-named query parameter (``?password=secret``), of a libpq-style
  ``key=value`` pair (``password='se cret'``) and of a quoted key in a
  dict's repr or JSON (``'token': 'secret'``).

URLs are masked as :func:`urllib.parse.urlsplit` reads them, and more: the
password runs to the *last* ``@`` of the authority (urllib's rule, so
``redis://:a@b@host`` hides ``a@b``) or of the whitespace-free token,
whichever is further, so a password with an unencoded ``/``, ``?`` or
``#`` (which urllib would cut short) is hidden whole too.

Masking errs on the side of hiding: text that only looks like a secret is
masked as well.  Nothing here imports from the rest of greenpool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "is_secret_name", "mask_secret", "mask_value"]

#: What a secret is replaced with.
MASK = "***"

_WORDS = r"passw(?:or)?d|passphrase|pwd|secret|token|credentials?|api_?key"
# A key naming a secret; "ssl_password_file" names a file, which is not secret.
_KEY = rf"(?![\w.-]*_(?:file|path)\b)[\w.-]*?(?:{_WORDS})[\w.-]*"
_SECRET_NAME = re.compile(rf"(?:{_KEY})\Z", re.IGNORECASE)

# "scheme://" then the authority; the userinfo, if any, ends at an "@".
_SCHEME = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://")
# Where urllib's netloc ends (in our text, also a quote, bracket or line end),
# and where a whitespace-free token ends.
_NETLOC_END = re.compile(r"[/?#\n'\"<>]")
_TOKEN_END = re.compile(r"[\s'\"<>]")
# user:secret@host[:port] with no scheme (Tarantool's URI form).
_BARE_URI = re.compile(
    r"(?<![\w.:/@%+-])(?P<head>[\w.-]+:)(?!//)(?P<secret>[^\s'\"<>]*)@(?=[\w\[/.])"
)
_QUERY = re.compile(rf"(?P<head>[?&;](?:{_KEY})=)(?P<secret>[^&\s'\"]*)", re.IGNORECASE)
_KEY_VALUE = re.compile(
    rf"(?P<head>(?<![\w.?&;-])(?:{_KEY})\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|\S+)",
    re.IGNORECASE,
)
_QUOTED_KEY = re.compile(
    rf"(?P<head>(?P<q>['\"])(?:{_KEY})(?P=q)\s*:\s*)"
    r"(?P<secret>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|[^,}\s]+)",
    re.IGNORECASE,
)


def is_secret_name(name: object) -> bool:
    """True if an argument or key called ``name`` holds a secret (see the module docstring)."""
    return isinstance(name, str) and _SECRET_NAME.match(name) is not None


def _mask_urls(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _SCHEME.finditer(text):
        start = match.end()
        if start < pos:
            continue
        # The userinfo ends at the last "@" of the authority as urllib reads it,
        # or of the token, whichever is further.
        at = max(
            text.rfind("@", start, end.start() if end else len(text))
            for end in (_NETLOC_END.search(text, start), _TOKEN_END.search(text, start))
        )
        colon = text.find(":", start, at) if at >= 0 else -1
        if colon < 0:
            continue  # no userinfo, or a user name and no password
        out.append(text[pos : colon + 1])
        out.append(MASK)
        pos = at
    out.append(text[pos:])
    return "".join(out)


def mask_secret(text: str) -> str:
    """Return ``text`` with every password and token in it replaced by ``***``.

    Handles URLs (``scheme://user:secret@host``, an unencoded ``@`` in the
    password included), scheme-less URIs (``user:secret@host:port``), query
    parameters (``?password=secret``), libpq-style ``key=value`` strings
    (``password=secret``, ``sslpassword = 'se cret'``) and quoted keys
    (``'password': 'secret'``).  Never raises.
    """
    if not isinstance(text, str):
        text = str(text)
    text = _mask_urls(text)
    text = _BARE_URI.sub(rf"\g<head>{MASK}@", text)
    text = _QUERY.sub(rf"\g<head>{MASK}", text)
    text = _QUOTED_KEY.sub(_masked_match, text)
    return _KEY_VALUE.sub(_masked_match, text)


def _masked_match(match: re.Match[str]) -> str:
    # A quoted secret stays quoted: password='***', "token": "***".
    quote = match["secret"][:1]
    shown = f"{quote}{MASK}{quote}" if quote in ("'", '"') else MASK
    return match["head"] + shown


def mask_value(value: Any) -> Any:
    """A copy of ``value`` that is safe to show.

    In a mapping, the value of every secret-named key (:func:`is_secret_name`)
    becomes ``***`` unless it is None; strings go through
    :func:`mask_secret`; lists, tuples and mappings are copied with their
    items masked.  Anything else is returned as it is (its repr is the
    caller's to mask).
    """
    if isinstance(value, str):
        return mask_secret(value)
    if isinstance(value, Mapping):
        return {
            k: (MASK if is_secret_name(k) and v is not None else mask_value(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [mask_value(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value
