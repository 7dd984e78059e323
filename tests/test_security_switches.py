"""Every security switch of every driver takes only what says so plainly.

``ssl_check_hostname=""`` must not turn host-name checking off, nor
``"no"`` leave it on: a switch that weakens TLS takes a bool (or, for
``ssl_cert_reqs`` and PostgreSQL's ``sslmode``, one of its names), and
anything else is a :class:`~greenpool.ConfigurationError` naming the
argument and the value.  A URL's query string is the one place text
becomes a bool.  TLS options given without TLS are refused, not ignored.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import pytest

from greenpool import ConfigurationError
from greenpool.postgres import PostgresPool
from greenpool.redis import Redis
from greenpool.redis.settings import RedisSettings, parse_url
from greenpool.tarantool import Connection as TarantoolConnection
from greenpool.tarantool import ConnectionPool, make_ssl_context
from greenpool.testing import free_port

NOT_BOOLS = ["", "no", "yes", "false", "true", "off", 0, 1, 1.0]
NOT_MODES = [True, False, "", "no", "yes", "maybe"]


def redis(**kwargs: Any) -> Any:
    return Redis(port=free_port(), **kwargs)


def tarantool(**kwargs: Any) -> Any:
    return TarantoolConnection("127.0.0.1", free_port(), connect_now=False, **kwargs)


def tarantool_pool(**addr: Any) -> Any:
    return ConnectionPool([{"host": "127.0.0.1", "port": free_port(), **addr}],
                          connect_now=False)


def postgres(**kwargs: Any) -> Any:
    return PostgresPool(f"host=127.0.0.1 port={free_port()}", prefill=False, **kwargs)


# (what, make it with the switch set to value, the argument named, bad values)
SWITCHES: list[tuple[str, Callable[[Any], Any], str, list[Any]]] = [
    ("redis ssl", lambda v: redis(ssl=v), "ssl", [*NOT_BOOLS, None]),
    ("redis ssl_check_hostname", lambda v: redis(ssl=True, ssl_check_hostname=v),
     "ssl_check_hostname", [*NOT_BOOLS, None]),
    ("redis ssl_check_hostname without ssl", lambda v: redis(ssl_check_hostname=v),
     "ssl_check_hostname", [*NOT_BOOLS, None]),
    ("redis ssl_cert_reqs", lambda v: redis(ssl=True, ssl_cert_reqs=v), "ssl_cert_reqs",
     [*NOT_MODES, None, 3]),
    ("redis decode_responses", lambda v: redis(decode_responses=v), "decode_responses",
     NOT_BOOLS),
    ("tarantool ssl_verify", lambda v: tarantool(ssl_verify=v), "ssl_verify", NOT_BOOLS),
    ("tarantool ssl_check_hostname", lambda v: tarantool(ssl_check_hostname=v),
     "ssl_check_hostname", NOT_BOOLS),
    ("tarantool addrs ssl_verify", lambda v: tarantool_pool(transport="ssl", ssl_verify=v),
     "ssl_verify", NOT_BOOLS),
    ("tarantool addrs ssl_check_hostname",
     lambda v: tarantool_pool(transport="ssl", ssl_check_hostname=v),
     "ssl_check_hostname", NOT_BOOLS),
    ("tarantool make_ssl_context verify", lambda v: make_ssl_context(verify=v), "ssl_verify",
     [*NOT_BOOLS, None]),
    ("postgres sslmode keyword", lambda v: postgres(sslmode=v), "sslmode",
     [*NOT_MODES, "off", "verify_full", "Require"]),
    ("postgres sslmode in the DSN",
     lambda v: PostgresPool(f"host=127.0.0.1 port=1 sslmode='{v}'", prefill=False), "sslmode",
     ["", "no", "True", "Require"]),
]


@pytest.mark.parametrize(
    ("make", "argument", "value"),
    [pytest.param(make, argument, value, id=f"{what}={value!r}")
     for what, make, argument, bad in SWITCHES for value in bad],
)
def test_a_switch_refuses_what_is_not_plainly_on_or_off(
    make: Callable[[Any], Any], argument: str, value: Any
) -> None:
    with pytest.raises(ConfigurationError) as info:
        made = make(value)
        made.close()
    assert info.value.argument == argument
    assert repr(value) in str(info.value)


def test_redis_switches_mean_what_they_say() -> None:
    for check in (True, False):
        settings = RedisSettings.build(ssl=True, ssl_check_hostname=check)
        assert settings.ssl_context is not None
        assert settings.ssl_context.check_hostname is check
        assert settings.ssl_context.verify_mode == ssl.CERT_REQUIRED
    lax = RedisSettings.build(ssl=True, ssl_cert_reqs="none").ssl_context
    assert lax is not None and lax.verify_mode == ssl.CERT_NONE and not lax.check_hostname
    assert RedisSettings.build(ssl_check_hostname=False).ssl_context is None  # no TLS asked


@pytest.mark.parametrize(
    ("query", "value"),
    [("false", False), ("no", False), ("0", False), ("off", False), ("FALSE", False),
     ("true", True), ("yes", True), ("1", True), ("on", True)],
)
def test_a_url_query_is_where_text_becomes_a_bool(query: str, value: bool) -> None:
    kwargs = parse_url(f"rediss://127.0.0.1:1/0?ssl_check_hostname={query}")
    assert kwargs["ssl_check_hostname"] is value
    settings = RedisSettings.build(**kwargs)
    assert settings.ssl_context is not None and settings.ssl_context.check_hostname is value


@pytest.mark.parametrize("query", ["maybe", "2", "nein"])
def test_a_url_query_that_is_not_a_bool_is_refused(query: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_url(f"rediss://127.0.0.1:1/0?ssl_check_hostname={query}")
    assert info.value.argument == "ssl_check_hostname"


def test_a_url_query_left_empty_keeps_the_safe_default() -> None:
    # An option with no value is not given (as redis-py reads URLs): the
    # hostname check stays on, never turned off by an empty value.
    kwargs = parse_url("rediss://127.0.0.1:1/0?ssl_check_hostname=")
    assert "ssl_check_hostname" not in kwargs
    settings = RedisSettings.build(**kwargs)
    assert settings.ssl_context is not None and settings.ssl_context.check_hostname is True


@pytest.mark.parametrize("option", ["ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_password"])
def test_redis_tls_options_without_tls_are_refused(option: str) -> None:
    # Ignored, they would leave the connection in clear text without a word.
    with pytest.raises(ConfigurationError, match="needs ssl=True") as info:
        redis(**{option: "/etc/ssl/x.pem"})
    assert info.value.argument == option
    with pytest.raises(ConfigurationError, match="not both"):
        redis(ssl=True, ssl_context=ssl.create_default_context(), **{option: "/etc/ssl/x.pem"})
    with pytest.raises(ConfigurationError, match="needs ssl=True"):
        Redis.from_url(f"redis://127.0.0.1:{free_port()}/0?ssl_ca_certs=/etc/ssl/x.pem")


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require", "verify-ca",
                                  "verify-full"])
def test_postgres_sslmodes_that_exist_are_accepted(mode: str) -> None:
    postgres(sslmode=mode).close()
