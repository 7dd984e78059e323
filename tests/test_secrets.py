"""greenpool._secrets: which names hold a secret, and masking them in text and values.

A table of texts and what they must look like once masked: URLs (an
unencoded ``@``, ``/``, ``?``, ``#`` in the password included), scheme-less
Tarantool URIs, query strings, libpq key/value DSNs with quotes and
spaces, dict reprs.  The drivers' reprs, errors and logs are checked in
``test_secrets_drivers.py``.
"""

from __future__ import annotations

import urllib.parse

import pytest

from greenpool import ConfigurationError
from greenpool._secrets import is_secret_name, mask_value
from greenpool._util import mask_secret

SECRET = "s3cr3t-@:/?#-P4ss"
QUOTED = urllib.parse.quote(SECRET, safe="")

# (text, what mask_secret must make of it)
CASES = [
    # URLs: the password runs to the last "@" of the authority, as urllib reads it...
    (f"redis://:{QUOTED}@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    (f"redis://app:{QUOTED}@h:1/0?db=1", "redis://app:***@h:1/0?db=1"),
    ("redis://:a@b@host:6379/0", "redis://:***@host:6379/0"),
    ("rediss://user:p@ss@w@rd@host/0", "rediss://user:***@host/0"),
    ("postgresql://user@domain:pw@host/db", "postgresql://user@domain:***@host/db"),
    ("redis://:my pass@host/0", "redis://:***@host/0"),
    # ... or of the token, when an unencoded "/", "?" or "#" cut urllib's netloc short.
    (f"redis://:{SECRET}@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    (f"postgresql://u:{SECRET}@h:5432/db?sslmode=require",
     "postgresql://u:***@h:5432/db?sslmode=require"),
    (f"tcp://app:{SECRET}@h:3301", "tcp://app:***@h:3301"),
    # In a repr, and two in one text.
    ("<C url='redis://:a@b@h/0'> and 'redis://:c@d/1'",
     "<C url='redis://:***@h/0'> and 'redis://:***@d/1'"),
    # No password: left alone.
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@127.0.0.1:5432/postgres"),
    ("connecting to redis://127.0.0.1:6379/0 failed: refused",
     "connecting to redis://127.0.0.1:6379/0 failed: refused"),
    ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    # Tarantool's scheme-less URI.
    (f"app:{SECRET}@127.0.0.1:3301", "app:***@127.0.0.1:3301"),
    (f"uri 'guest:{QUOTED}@[::1]:3301' refused", "uri 'guest:***@[::1]:3301' refused"),
    ("127.0.0.1:3301", "127.0.0.1:3301"),
    # Query strings.
    (f"redis://h/0?password={QUOTED}&db=2", "redis://h/0?password=***&db=2"),
    (f"redis://h/0?db=2&ssl_password={SECRET}", "redis://h/0?db=2&ssl_password=***"),
    ("redis://h/0?access_token=abc&db=1", "redis://h/0?access_token=***&db=1"),
    # libpq key/value DSNs: plain, quoted, spaces around "=", escaped quotes.
    ("host=h port=5432 password=pw dbname=d", "host=h port=5432 password=*** dbname=d"),
    (f"host=h password='{SECRET} x' dbname=d", "host=h password='***' dbname=d"),
    ("host=h password = 'it\\'s a \\\\ secret' dbname=d", "host=h password = '***' dbname=d"),
    ("host=h PASSWORD='unterminated dbname=d", "host=h PASSWORD='***'"),
    (f"sslpassword={SECRET} user=x", "sslpassword=*** user=x"),
    ("user=x passwd=pw pwd=pw2 token=t secret=s", "user=x passwd=*** pwd=*** token=*** secret=***"),
    # A file that holds a secret is not one.
    ("ssl_password_file=/etc/pw passfile=/x", "ssl_password_file=/etc/pw passfile=/x"),
    # Dict reprs and JSON.
    (f"{{'host': 'h', 'password': '{SECRET}'}}", "{'host': 'h', 'password': '***'}"),
    ('{"api_key": "k\\"ey", "port": 1}', '{"api_key": "***", "port": 1}'),
    ("{'ssl_password': None}", "{'ssl_password': ***}"),
    # Words alone are not secrets.
    ("password authentication failed for user \"app\"",
     "password authentication failed for user \"app\""),
    ("Access denied for user 'app'@'localhost' (using password: YES)",
     "Access denied for user 'app'@'localhost' (using password: YES)"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_mask_secret(text: str, expected: str) -> None:
    assert mask_secret(text) == expected
    assert mask_secret(expected) == expected  # masking twice changes nothing


def test_mask_secret_takes_any_object() -> None:
    assert mask_secret(12) == "12"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    ["password", "Password", "ssl_password", "sslpassword", "passwd", "pwd", "passphrase",
     "token", "access_token", "secret", "client_secret", "credentials", "api_key", "apikey"],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["host", "user", "username", "auth_type", "ssl_password_file", "ssl_key_file",
             "password_path", "port", "", None, 12],
)
def test_names_that_are_not_secret(name: object) -> None:
    assert not is_secret_name(name)


def test_mask_value_copies_with_secrets_masked() -> None:
    addr = {"host": "h", "password": SECRET, "nested": [{"token": "t"}, (f"redis://:{SECRET}@h",)],
            "ssl_password": None, "port": 1}
    assert mask_value(addr) == {
        "host": "h", "password": "***", "nested": [{"token": "***"}, ("redis://:***@h",)],
        "ssl_password": None, "port": 1,
    }
    assert addr["password"] == SECRET  # the original is untouched
    sentinel = object()
    assert mask_value(sentinel) is sentinel


@pytest.mark.parametrize(
    ("argument", "value", "shown"),
    [
        ("password", SECRET, "'***'"),
        ("ssl_password", 12345, "'***'"),
        ("password", None, "None"),
        ("addrs", {"host": "h", "port": 1, "password": SECRET},
         "{'host': 'h', 'port': 1, 'password': '***'}"),
        ("url", f"redis://:{SECRET}@h/0", "'redis://:***@h/0'"),
        ("servers", [f"app:{SECRET}@h:1"], "['app:***@h:1']"),
        ("dsn", f"host=h password='{SECRET}'", '"host=h password=\'***\'"'),
    ],
)
def test_configuration_error_masks_its_value(argument: str, value: object, shown: str) -> None:
    err = ConfigurationError(argument, value, "bad")
    assert str(err) == f"{argument}={shown}: bad"
    assert "s3cr3t" not in repr(err) and "s3cr3t" not in repr(err.value)
    assert err.argument == argument
