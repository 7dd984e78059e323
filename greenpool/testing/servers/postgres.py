"""PostgreSQL: a server (``initdb`` + ``postgres``) and a hot standby."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._process import HOST, ServerNotInstalled, ServerProcess, ServerStartError


def _version_key(path: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", os.path.basename(os.path.dirname(path)))
    return tuple(int(p) for p in parts)


def postgres_bin_dir() -> Path:
    """Return the directory holding the newest installed PostgreSQL server binaries.

    Prefers the highest ``/usr/lib/postgresql/<version>/bin``; falls back to
    the directory of ``postgres`` found on ``PATH`` (symlinks resolved).
    Raises :class:`ServerNotInstalled` (package ``postgresql``) otherwise.
    """
    candidates = [
        p for p in glob.glob("/usr/lib/postgresql/*/bin") if os.path.isfile(f"{p}/postgres")
    ]
    if candidates:
        return Path(max(candidates, key=lambda p: _version_key(p + "/postgres")))
    found = shutil.which("postgres")
    if found:
        return Path(os.path.realpath(found)).parent
    raise ServerNotInstalled("postgres", "postgresql")


def _os_user(name: str) -> tuple[int, int] | None:
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _pg_probe(port: int, user: str = "postgres", database: str = "postgres") -> bool:
    """Speak the start-up message; True when the server sends ReadyForQuery."""
    params = f"user\0{user}\0database\0{database}\0\0".encode()
    message = struct.pack("!ii", 8 + len(params), 196608) + params
    with socket.create_connection((HOST, port), timeout=1.0) as sock:
        sock.sendall(message)
        buf = b""
        while True:
            while len(buf) < 5:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            kind = buf[:1]
            length = struct.unpack("!i", buf[1:5])[0]
            while len(buf) < 1 + length:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            body, buf = buf[5 : 1 + length], buf[1 + length :]
            if kind == b"E":
                return False
            if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                return False  # asks for a password: trust auth expected
            if kind == b"Z":
                with contextlib.suppress(OSError):
                    sock.sendall(b"X\0\0\0\4")
                return True


class PostgresServer(ServerProcess):
    """A PostgreSQL cluster (Debian package ``postgresql``), newest installed version.

    ``initdb`` (trust authentication, user ``postgres``, UTF8, C locale) into
    ``<tmpdir>/data``, then ``postgres -D data -p P -c listen_addresses=127.0.0.1
    -c unix_socket_directories=<tmpdir> -c fsync=off -c wal_level=replica
    -c max_wal_senders=10`` plus ``settings``.  Data persists across
    :meth:`restart`.

    PostgreSQL refuses to run as root: when we are root, the temporary
    directory is given to the ``postgres`` OS user and ``initdb``,
    ``postgres``, ``pg_basebackup`` and ``pg_ctl`` run as that user (the PID
    is still the server's own: the switch happens before exec).

    Stopping sends SIGINT (fast shutdown: open sessions are ended) rather
    than SIGTERM (smart shutdown would wait for every client to leave).
    Ready once a start-up message over TCP is answered with ReadyForQuery.
    """

    name = "postgres"
    stop_signal = signal.SIGINT

    def __init__(
        self,
        port: int | None = None,
        *,
        settings: Mapping[str, str | int | float] | None = None,
    ) -> None:
        super().__init__(port)
        self.bin_dir = postgres_bin_dir()
        self.settings: dict[str, str | int | float] = dict(settings or {})
        if os.geteuid() == 0:
            owner = _os_user("postgres")
            if owner is None:
                raise ServerStartError(
                    "running as root, PostgreSQL needs the 'postgres' OS user, which the "
                    "Debian package 'postgresql' creates"
                )
            self._owner = owner

    def _bin(self, name: str) -> str:
        path = self.bin_dir / name
        if not path.exists():
            raise ServerNotInstalled(name, "postgresql")
        return str(path)

    @property
    def data_dir(self) -> str:
        """``<tmpdir>/data``, the cluster's data directory."""
        assert self.tmpdir is not None
        return os.path.join(self.tmpdir, "data")

    @property
    def socket_dir(self) -> str | None:
        """The directory holding the server's unix socket (the temporary directory)."""
        return self.tmpdir

    @property
    def dsn(self) -> str:
        """``host=127.0.0.1 port=P user=postgres dbname=postgres`` (trust auth, no password)."""
        return f"host={HOST} port={self.port} user=postgres dbname=postgres"

    @property
    def superuser_dsn(self) -> str:
        """Same as :attr:`dsn`: ``postgres`` is the superuser."""
        return self.dsn

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:P/postgres``."""
        return f"postgresql://postgres@{self.address}/postgres"

    def _run_tool(self, cmd: list[str], what: str, timeout: float = 120.0) -> None:
        kwargs: dict[str, Any] = {}
        if self._owner is not None and os.geteuid() == 0:
            kwargs.update(user=self._owner[0], group=self._owner[1], extra_groups=[])
        with open(self.log_path, "ab") as log:
            log.write(f"=== greenpool: {' '.join(cmd)}\n".encode())
            log.flush()
            try:
                result = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.tmpdir,
                    timeout=timeout,
                    check=False,
                    **kwargs,
                )
            except subprocess.TimeoutExpired:
                raise ServerStartError(f"{what} took more than {timeout:g}s", self.log_tail())
        if result.returncode != 0:
            raise ServerStartError(
                f"{what} failed with exit code {result.returncode}", self.log_tail()
            )

    def _prepare(self) -> None:
        self._run_tool(
            [
                self._bin("initdb"),
                "-D", self.data_dir,
                "-U", "postgres",
                "--auth=trust",
                "-E", "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            "initdb",
        )  # fmt: skip

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        settings: dict[str, str | int | float] = {
            "listen_addresses": HOST,
            "unix_socket_directories": self.tmpdir,
            "fsync": "off",
            "wal_level": "replica",
            "max_wal_senders": 10,
            "hot_standby": "on",
            "logging_collector": "off",
            "shared_buffers": "32MB",
        }
        settings.update(self.settings)
        cmd = [self._bin("postgres"), "-D", self.data_dir, "-p", str(self.port)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def _probe(self) -> bool:
        return _pg_probe(self.port)

    def connect(self, **kwargs: Any) -> Any:
        """A new ``psycopg2`` connection (autocommit) as ``postgres``; the caller closes it."""
        import psycopg2

        kwargs.setdefault("connect_timeout", 10)
        conn = psycopg2.connect(self.dsn, **kwargs)
        conn.autocommit = True
        return conn

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[Any]:
        """Run one statement with ``psycopg2`` (autocommit) and return its rows (``[]`` if none)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description is not None else []
        finally:
            conn.close()

    def is_in_recovery(self) -> bool:
        """``SELECT pg_is_in_recovery()``: True on a standby."""
        return bool(self.query("SELECT pg_is_in_recovery()")[0][0])

    def add_password_user(self, user: str, password: str, timeout: float = 10.0) -> None:
        """Create login role ``user`` that must give ``password`` (SCRAM) over TCP.

        Every other role keeps trust authentication.  Returns once a wrong
        password is refused for ``user``.
        """
        import psycopg2

        if not re.fullmatch(r"\w+", user):
            raise ValueError(f"user={user!r}: letters, digits and _ only")
        self.query(f"CREATE ROLE {user} LOGIN SUPERUSER PASSWORD %s", (password,))
        hba = os.path.join(self.data_dir, "pg_hba.conf")
        with open(hba, "r+", encoding="utf-8") as f:
            rules = f.read()
            f.seek(0)
            f.write(f"host all {user} {HOST}/32 scram-sha-256\n{rules}")
        self.query("SELECT pg_reload_conf()")
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(
                    host=HOST, port=self.port, user=user, password=password + "!",
                    dbname="postgres", connect_timeout=2,
                ).close()
            except psycopg2.OperationalError:
                return
            if time.monotonic() > deadline:
                raise ServerStartError(f"pg_hba.conf reload not seen within {timeout}s")
            time.sleep(0.05)


class PostgresStandby(PostgresServer):
    """A hot standby of ``primary``, streaming WAL from it.

    Made with ``pg_basebackup -R -X stream`` from the running primary into
    its own temporary directory, then started on its own free port.  It
    follows the primary until :meth:`promote`.
    """

    name = "postgres-standby"

    def __init__(
        self,
        primary: PostgresServer,
        port: int | None = None,
        *,
        settings: Mapping[str, str | int | float] | None = None,
    ) -> None:
        super().__init__(port, settings=settings)
        self.primary = primary

    def _prepare(self) -> None:
        if not self.primary.running:
            raise ServerStartError(f"the primary {self.primary!r} is not running")
        self._run_tool(
            [
                self._bin("pg_basebackup"),
                "-h", HOST,
                "-p", str(self.primary.port),
                "-U", "postgres",
                "-D", self.data_dir,
                "-R",
                "-X", "stream",
                "-c", "fast",
                "--no-sync",
            ],
            "pg_basebackup",
        )  # fmt: skip

    def promote(self, timeout: float = 60.0) -> None:
        """Promote the standby to a primary (``pg_ctl promote -w``); blocks until done."""
        self._run_tool(
            [self._bin("pg_ctl"), "promote", "-D", self.data_dir, "-w", "-t", str(int(timeout))],
            "pg_ctl promote",
            timeout=timeout + 10,
        )

    def wait_caught_up(self, timeout: float = 10.0) -> None:
        """Block until the standby has replayed the primary's current WAL position.

        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        target = self.primary.query("SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.monotonic() + timeout
        while True:
            done = self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[0][0]
            if done:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"standby {self.address} did not replay up to {target}")
            time.sleep(0.02)
