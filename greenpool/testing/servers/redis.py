"""``redis-server``: one standalone Redis."""

from __future__ import annotations

import os
import socket
import ssl
import urllib.parse
from collections.abc import Sequence
from typing import Any

from ._process import HOST, ServerProcess, find_program
from ._resp import Arg, RespClient


class RedisServer(ServerProcess):
    """A ``redis-server`` (Debian package ``redis-server``) with no persistence.

    Runs ``redis-server --port P --bind 127.0.0.1 --save "" --appendonly no
    --dir <tmpdir>``.  Ready once ``PING`` (after ``AUTH`` when a password is
    set) answers ``+PONG`` over a raw socket.  Data does not survive a
    restart.

    ``password`` sets ``requirepass``; with ``username`` too, an ACL user of
    that name with that password and every permission is created as well.
    ``tls=True`` serves TLS only on the port (``--port 0 --tls-port P``), with
    ``tls_cert``/``tls_key`` (and ``tls_ca``, needed when ``tls_auth_clients``
    is ``"yes"`` or ``"optional"``) files the test provides.  ``unixsocket``
    also listens on :attr:`unix_path` in the temporary directory.
    """

    name = "redis"

    def __init__(
        self,
        port: int | None = None,
        *,
        password: str | None = None,
        username: str | None = None,
        tls: bool = False,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        tls_auth_clients: str = "optional",
        unixsocket: bool = False,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port)
        self.program = find_program("redis-server", "redis-server")
        if username is not None and password is None:
            raise ValueError("username needs a password")
        if tls and (tls_cert is None or tls_key is None):
            raise ValueError("tls=True needs tls_cert and tls_key files")
        if tls_auth_clients not in ("yes", "no", "optional"):
            raise ValueError(f"tls_auth_clients={tls_auth_clients!r}: yes, no or optional")
        self.password = password
        self.username = username
        self.tls = tls
        self.tls_cert = os.fspath(tls_cert) if tls_cert is not None else None
        self.tls_key = os.fspath(tls_key) if tls_key is not None else None
        self.tls_ca = os.fspath(tls_ca) if tls_ca is not None else None
        self.tls_auth_clients = tls_auth_clients if tls_ca is not None else "no"
        self.unixsocket = unixsocket
        self.extra_args = list(extra_args)

    @property
    def unix_path(self) -> str | None:
        """The unix socket path when ``unixsocket=True`` (and the server was started)."""
        if not self.unixsocket or self.tmpdir is None:
            return None
        return os.path.join(self.tmpdir, "redis.sock")

    @property
    def url(self) -> str:
        """``redis://[user:password@]127.0.0.1:P/0`` (``rediss://`` with TLS)."""
        scheme = "rediss" if self.tls else "redis"
        auth = ""
        if self.password is not None:
            user = urllib.parse.quote(self.username or "", safe="")
            auth = f"{user}:{urllib.parse.quote(self.password, safe='')}@"
        return f"{scheme}://{auth}{self.address}/0"

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        cmd = [
            self.program,
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", self.tmpdir,
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip
        if self.tls:
            assert self.tls_cert is not None and self.tls_key is not None
            cmd += ["--port", "0", "--tls-port", str(self.port)]
            cmd += ["--tls-cert-file", self.tls_cert, "--tls-key-file", self.tls_key]
            if self.tls_ca is not None:
                cmd += ["--tls-ca-cert-file", self.tls_ca]
            cmd += ["--tls-auth-clients", self.tls_auth_clients]
        else:
            cmd += ["--port", str(self.port)]
        if self.password is not None:
            cmd += ["--requirepass", self.password]
            if self.username is not None:
                cmd += ["--user", self.username, "on", f">{self.password}", "~*", "&*", "+@all"]
        if self.unixsocket:
            cmd += ["--unixsocket", str(self.unix_path), "--unixsocketperm", "700"]
        return cmd + self.extra_args

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting ``tls_ca`` and presenting the server's own cert.

        The certificate the test gave the server doubles as a client
        certificate, which satisfies ``tls_auth_clients="yes"``.
        """
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.tls_ca)
        if self.tls_ca is None:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.tls_cert is not None and self.tls_key is not None:
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
        return ctx

    def connect_raw(self, timeout: float = 2.0) -> socket.socket:
        """A raw (TLS when configured) socket connected to the server."""
        sock = socket.create_connection((HOST, self.port), timeout=timeout)
        if self.tls:
            try:
                return self.ssl_context().wrap_socket(sock, server_hostname=HOST)
            except BaseException:
                sock.close()
                raise
        return sock

    def client(self, timeout: float = 2.0) -> RespClient:
        """A new raw RESP connection to the server (TLS and ``AUTH`` as configured).

        The caller closes it.  Raises ``OSError`` when the server does not
        accept, :class:`~greenpool.testing.RedisReplyError` when ``AUTH`` fails.
        """
        conn = RespClient(self.connect_raw(timeout=timeout))
        try:
            if self.password is not None:
                auth = (self.username, self.password) if self.username else (self.password,)
                conn.execute("AUTH", *auth)
        except BaseException:
            conn.close()
            raise
        return conn

    def execute(self, *args: Arg, timeout: float = 2.0) -> Any:
        """Run one command on a new connection and return its reply.

        Replies are RESP2 values (``bytes`` for bulk strings); an error reply
        raises :class:`~greenpool.testing.RedisReplyError`.  Blocks at most
        about ``timeout`` seconds per read.
        """
        with self.client(timeout=timeout) as conn:
            return conn.execute(*args)

    def _probe(self) -> bool:
        return bool(self.execute("PING", timeout=1.0) == "PONG")
