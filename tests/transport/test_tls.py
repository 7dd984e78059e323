"""greenpool.transport.tls: contexts that verify by default, switches that take only bools.

Against a real TLS redis-server: the certificate and the host name are
checked, a client certificate is presented, a stdlib context works as
well as gevent's.  Then the arguments: ``check_hostname`` takes only a
bool and ``cert_reqs`` only its names or the ``ssl.CERT_*`` constants.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme

from greenpool import ConfigurationError, ConnectionError
from greenpool.protocol import encode_command
from greenpool.redis._codec import RespCodec
from greenpool.testing import RedisServer
from greenpool.transport import Connection, cert_reqs_mode, make_ssl_context


def cmd(*args: Any) -> bytes:
    return encode_command(*args)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    other_ca = trustme.CA()
    base = tmp_path_factory.mktemp("tls")
    files = {
        "ca": base / "ca.pem",
        "cert": base / "cert.pem",
        "key": base / "key.pem",
        "other_ca": base / "other.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    other_ca.cert_pem.write_to_path(str(files["other_ca"]))
    return {k: str(v) for k, v in files.items()}


def test_tls_verifies_the_certificate_and_host_name(tls_files: dict[str, str]) -> None:
    with RedisServer(
        tls=True, tls_cert=tls_files["cert"], tls_key=tls_files["key"], tls_ca=tls_files["ca"],
        tls_auth_clients="yes",
    ) as server:
        good = make_ssl_context(
            ca_certs=tls_files["ca"], certfile=tls_files["cert"], keyfile=tls_files["key"]
        )
        c = Connection(server.address, codec=RespCodec, ssl_context=good)
        c.connect()
        assert c.request(cmd("PING")) == b"PONG"
        # Through the writer greenlet too: TLS never writes from the hub.
        big = b"x" * 3_000_000
        assert c.request(cmd("SET", "t:tls", big)) == b"OK"
        assert c.request(cmd("GET", "t:tls")) == big
        c.close()

        untrusted = make_ssl_context(
            ca_certs=tls_files["other_ca"], certfile=tls_files["cert"], keyfile=tls_files["key"]
        )
        bad = Connection(server.address, codec=RespCodec, ssl_context=untrusted)
        with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            bad.connect()

        wrong_name = Connection(
            server.address, codec=RespCodec, ssl_context=good, server_hostname="db.example"
        )
        with pytest.raises(ConnectionError, match="mismatch|doesn't match|not valid"):
            wrong_name.connect()

        no_client_cert = Connection(
            server.address, codec=RespCodec, ssl_context=make_ssl_context(ca_certs=tls_files["ca"])
        )
        with pytest.raises(ConnectionError):
            no_client_cert.connect()
            no_client_cert.request(cmd("PING"))


def test_a_stdlib_context_and_check_hostname_false(tls_files: dict[str, str]) -> None:
    with RedisServer(tls=True, tls_cert=tls_files["cert"], tls_key=tls_files["key"]) as server:
        stdlib = ssl.create_default_context(cafile=tls_files["ca"])
        c = Connection(server.address, codec=RespCodec, ssl_context=stdlib)
        c.connect()
        assert c.request(cmd("PING")) == b"PONG"
        c.close()
        # Host name checking off: another name is accepted, the CA is still checked.
        lax = make_ssl_context(ca_certs=tls_files["ca"], check_hostname=False)
        c = Connection(server.address, codec=RespCodec, ssl_context=lax,
                       server_hostname="db.example")
        c.connect()
        assert c.request(cmd("PING")) == b"PONG"
        c.close()
        untrusted = make_ssl_context(ca_certs=tls_files["other_ca"], check_hostname=False)
        bad = Connection(server.address, codec=RespCodec, ssl_context=untrusted)
        with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            bad.connect()


def test_defaults_verify_everything() -> None:
    ctx = make_ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True


@pytest.mark.parametrize(
    ("cert_reqs", "check_hostname", "mode", "checked"),
    [
        ("required", True, ssl.CERT_REQUIRED, True),
        ("REQUIRED", False, ssl.CERT_REQUIRED, False),
        ("optional", True, ssl.CERT_OPTIONAL, True),
        ("none", True, ssl.CERT_NONE, False),  # nothing to check a name against
        (ssl.CERT_REQUIRED, True, ssl.CERT_REQUIRED, True),
        (0, False, ssl.CERT_NONE, False),
        (1, True, ssl.CERT_OPTIONAL, True),
    ],
)
def test_switches_mean_what_they_say(
    cert_reqs: Any, check_hostname: bool, mode: ssl.VerifyMode, checked: bool
) -> None:
    assert cert_reqs_mode(cert_reqs) == mode
    ctx = make_ssl_context(cert_reqs=cert_reqs, check_hostname=check_hostname)
    assert ctx.verify_mode == mode and ctx.check_hostname is checked


@pytest.mark.parametrize("value", ["", "no", "yes", "false", "true", 0, 1, None, 1.0])
def test_check_hostname_takes_only_a_bool(value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_ssl_context(check_hostname=value)
    assert info.value.argument == "ssl_check_hostname"
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [True, False, None, "", "no", "maybe", 3, -1, 1.0])
def test_cert_reqs_takes_only_its_names_and_constants(value: Any) -> None:
    # True == 1 == CERT_OPTIONAL and False == 0 == CERT_NONE: a bool would pass silently.
    for call in (lambda: cert_reqs_mode(value), lambda: make_ssl_context(cert_reqs=value)):
        with pytest.raises(ConfigurationError) as info:
            call()
        assert info.value.argument == "ssl_cert_reqs"
        assert repr(value) in str(info.value)


def test_bad_files_raise_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ssl_ca_certs"):
        make_ssl_context(ca_certs=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match="ssl_keyfile"):
        make_ssl_context(keyfile="k.pem")
    with pytest.raises(ConfigurationError, match="ssl_certfile") as info:
        make_ssl_context(certfile=str(tmp_path / "c.pem"), password="hunter2-secret")
    assert "hunter2" not in str(info.value)
