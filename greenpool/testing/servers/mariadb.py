"""MariaDB: ``mariadb-install-db`` + ``mariadbd``."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from ._process import HOST, ServerNotInstalled, ServerProcess, ServerStartError, find_program


class MariaDBServer(ServerProcess):
    """A MariaDB server (Debian package ``mariadb-server``).

    ``mariadb-install-db --no-defaults --auth-root-authentication-method=normal``
    into ``<tmpdir>/data``, then ``mariadbd --no-defaults --datadir ...
    --port P --bind-address=127.0.0.1 --socket=<tmpdir>/mysql.sock`` (with
    ``--user=root`` when we are root).  ``root`` has an empty password over
    TCP.  Ready once PyMySQL can connect; the ``database`` (``test``) is
    created on the first start.  Data persists across :meth:`restart`.
    """

    name = "mariadb"

    def __init__(
        self,
        port: int | None = None,
        *,
        database: str = "test",
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port)
        for program in ("mariadbd", "mysqld"):
            with contextlib.suppress(ServerNotInstalled):
                self.program = find_program(program, "mariadb-server")
                break
        else:
            raise ServerNotInstalled("mariadbd", "mariadb-server")
        for program in ("mariadb-install-db", "mysql_install_db"):
            with contextlib.suppress(ServerNotInstalled):
                self.install_db = find_program(program, "mariadb-server")
                break
        else:
            raise ServerNotInstalled("mariadb-install-db", "mariadb-server")
        if not re.fullmatch(r"\w+", database):
            raise ValueError(f"database={database!r}: letters, digits and _ only")
        self.database = database
        self.extra_args = list(extra_args)

    @property
    def data_dir(self) -> str:
        """``<tmpdir>/data``."""
        assert self.tmpdir is not None
        return os.path.join(self.tmpdir, "data")

    @property
    def unix_path(self) -> str:
        """The server's unix socket, ``<tmpdir>/mysql.sock``."""
        assert self.tmpdir is not None
        return os.path.join(self.tmpdir, "mysql.sock")

    @property
    def url(self) -> str:
        """``mysql://root@127.0.0.1:P/test``."""
        return f"mysql://root@{self.address}/{self.database}"

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``pymysql.connect``: host, port, user, password, database."""
        return {
            "host": HOST,
            "port": self.port,
            "user": "root",
            "password": "",
            "database": self.database,
        }

    def _user_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def _prepare(self) -> None:
        cmd = [
            self.install_db,
            "--no-defaults",
            f"--datadir={self.data_dir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *self._user_args(),
        ]
        with open(self.log_path, "ab") as log:
            log.write(f"=== greenpool: {' '.join(cmd)}\n".encode())
            log.flush()
            result = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmpdir,
                timeout=120,
                check=False,
            )
        if result.returncode != 0:
            raise ServerStartError(
                f"mariadb-install-db failed with exit code {result.returncode}", self.log_tail()
            )

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        return [
            self.program,
            "--no-defaults",
            f"--datadir={self.data_dir}",
            f"--port={self.port}",
            f"--bind-address={HOST}",
            f"--socket={self.unix_path}",
            f"--pid-file={os.path.join(self.tmpdir, 'mariadb.pid')}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            "--max-connections=500",
            *self._user_args(),
            *self.extra_args,
        ]

    def connect(self, database: str | None = None, **kwargs: Any) -> Any:
        """A new ``pymysql`` connection as root (autocommit); the caller closes it."""
        import pymysql

        params = self.connect_kwargs
        params["database"] = database
        params.update(autocommit=True, connect_timeout=10)
        params.update(kwargs)
        return pymysql.connect(**params)

    def _probe(self) -> bool:
        conn = self.connect(connect_timeout=1, read_timeout=2)
        conn.close()
        return True

    def _after_first_ready(self) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        finally:
            conn.close()

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[Any]:
        """Run one statement in :attr:`database` (autocommit) and return its rows."""
        conn = self.connect(self.database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            conn.close()
