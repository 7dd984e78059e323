"""``tarantool``: one instance, and a full-mesh replica set."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._process import HOST, ServerGroup, ServerProcess, find_program, free_port


def _lua_str(value: str) -> str:
    """Quote ``value`` as a Lua string literal (bytes escaped as ``\\ddd``)."""
    out = ['"']
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\' or byte < 32 or byte > 126:
            out.append(f"\\{byte:03d}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class TarantoolServer(ServerProcess):
    """A ``tarantool`` instance (Debian package ``tarantool``).

    Writes ``init.lua`` into the temporary directory; it calls ``box.cfg``
    with ``listen=127.0.0.1:P``, ``work_dir=<tmpdir>`` (snapshots and WAL live
    there, so data survives :meth:`restart`), the ``read_only`` flag and the
    ``replication`` URIs, and logs to ``tarantool.log``.  On a writable
    instance it then grants ``guest`` the ``super`` and ``replication`` roles
    (unless ``guest_access=False``: then only ``user`` can do anything) and creates
    ``user`` with ``password`` and the ``super`` role, if given.  Finally it
    runs the test's ``lua`` and writes a ``ready`` file.

    Ready once the ``ready`` file exists and the 128-byte greeting is read
    from the port.  :meth:`eval_lua` runs Lua on the instance.
    """

    name = "tarantool"
    stop_grace = 10.0

    def __init__(
        self,
        port: int | None = None,
        *,
        lua: str = "",
        user: str | None = None,
        password: str | None = None,
        read_only: bool = False,
        replication: Sequence[str] | None = None,
        replication_connect_quorum: int | None = None,
        replication_connect_timeout: float = 10.0,
        replication_timeout: float | None = None,
        guest_access: bool = True,
        memtx_memory: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__(port)
        self.program = find_program("tarantool", "tarantool")
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        self.lua = lua
        self.user = user
        self.password = password
        self.read_only = read_only
        self.replication = list(replication) if replication is not None else None
        self.replication_connect_quorum = replication_connect_quorum
        self.replication_connect_timeout = replication_connect_timeout
        self.replication_timeout = replication_timeout
        self.guest_access = guest_access
        self.memtx_memory = memtx_memory

    @property
    def url(self) -> str:
        """``[user:password@]127.0.0.1:P``, the URI form tarantool itself uses."""
        if self.user is not None and self.password is not None:
            return f"{self.user}:{self.password}@{self.address}"
        return self.address

    def _log_files(self) -> list[Path]:
        assert self.tmpdir is not None
        return [self.log_path, Path(self.tmpdir) / "tarantool.log"]

    def _init_lua(self) -> str:
        assert self.tmpdir is not None
        cfg = [
            f"listen = {_lua_str(self.address)}",
            f"work_dir = {_lua_str(self.tmpdir)}",
            f"log = {_lua_str(os.path.join(self.tmpdir, 'tarantool.log'))}",
            f"read_only = {'true' if self.read_only else 'false'}",
            f"memtx_memory = {int(self.memtx_memory)}",
            "background = false",
        ]
        if self.replication is not None:
            uris = ", ".join(_lua_str(u) for u in self.replication)
            cfg.append(f"replication = {{{uris}}}")
            cfg.append(f"replication_connect_timeout = {float(self.replication_connect_timeout)}")
            if self.replication_connect_quorum is not None:
                cfg.append(f"replication_connect_quorum = {int(self.replication_connect_quorum)}")
            if self.replication_timeout is not None:
                cfg.append(f"replication_timeout = {float(self.replication_timeout)}")
        lines = ["-- written by greenpool.testing", "box.cfg{", *(f"    {c}," for c in cfg), "}"]
        lines.append("if not box.info.ro then")
        if self.guest_access:
            lines.append(
                "    box.schema.user.grant('guest', 'super', nil, nil, {if_not_exists = true})"
            )
            lines.append(
                "    box.schema.user.grant('guest', 'replication', nil, nil,"
                " {if_not_exists = true})"
            )
        if self.user is not None and self.password is not None:
            user, password = _lua_str(self.user), _lua_str(self.password)
            lines.append(f"    box.schema.user.create({user}, {{if_not_exists = true}})")
            lines.append(f"    box.schema.user.passwd({user}, {password})")
            lines.append(
                f"    box.schema.user.grant({user}, 'super', nil, nil, {{if_not_exists = true}})"
            )
        lines.append("end")
        lines.append("-- the test's own Lua")
        lines.append(self.lua)
        ready = _lua_str(os.path.join(self.tmpdir, "ready"))
        lines.append(f"do local f = io.open({ready}, 'w'); f:write('ok'); f:close() end")
        return "\n".join(lines) + "\n"

    def _before_launch(self) -> None:
        assert self.tmpdir is not None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.tmpdir, "ready"))
        Path(self.tmpdir, "init.lua").write_text(self._init_lua())

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        return [self.program, os.path.join(self.tmpdir, "init.lua")]

    def _probe(self) -> bool:
        assert self.tmpdir is not None
        if not os.path.exists(os.path.join(self.tmpdir, "ready")):
            return False
        with socket.create_connection((HOST, self.port), timeout=1.0) as sock:
            greeting = b""
            while len(greeting) < 128:
                chunk = sock.recv(128 - len(greeting))
                if not chunk:
                    return False
                greeting += chunk
            return greeting.startswith(b"Tarantool")

    def connect(
        self, *, user: str | None = None, password: str | None = None, timeout: float = 10.0
    ) -> Any:
        """A ``tarantool.Connection`` to the instance (the ``tarantool`` package).

        Uses ``user``/``password`` when given, else the server's own user, else
        guest.  The caller closes it.
        """
        import tarantool  # the tarantool-python package, only in the testing layer

        if user is None:
            user, password = self.user, self.password
        return tarantool.Connection(
            HOST,
            self.port,
            user=user,
            password=password,
            socket_timeout=timeout,
            connection_timeout=timeout,
            reconnect_max_attempts=0,
            fetch_schema=False,
        )

    def eval_lua(self, code: str, *args: Any, timeout: float = 10.0) -> list[Any]:
        """Run ``code`` (a Lua chunk; ``...`` are ``args``) and return its results as a list.

        Connects over IPROTO with the ``tarantool`` package as :attr:`user`, or
        as guest (a superuser unless ``guest_access=False``).
        Blocks at most about ``timeout`` seconds; raises the package's errors.
        """
        conn = self.connect(timeout=timeout)
        try:
            response = conn.eval(code, list(args))
            return list(response.data)
        finally:
            conn.close()

    def set_read_only(self, read_only: bool) -> None:
        """Run ``box.cfg{read_only=...}`` now and remember it for restarts."""
        self.eval_lua("box.cfg{read_only = ...}", read_only)
        self.read_only = read_only

    def vclock(self) -> dict[int, int]:
        """``box.info.vclock`` as a dict of replica id to LSN."""
        raw = self.eval_lua(
            "local t = {} for k, v in pairs(box.info.vclock) do t[tostring(k)] = v end return t"
        )[0]
        return {int(k): int(v) for k, v in raw.items()}


class TarantoolReplicaSet(ServerGroup):
    """``n`` Tarantool instances in one full-mesh replica set.

    Member 0 starts read-write (the master); the others start read-only.
    Every member lists every member's URI in ``replication`` (guest has the
    ``replication`` role), so after :meth:`promote` the new master's writes
    reach everyone.  ``lua`` runs on the master only (its effects replicate).
    ``replication_timeout`` defaults to 0.5 s (Tarantool's is 1 s) so that
    members notice a dead peer, and retry joining, twice as fast.

    The members must start together (each ``box.cfg`` waits to reach its
    peers); a member restarted alone waits up to
    ``replication_connect_timeout`` for its peers, then runs read-only
    ("orphan") until it reaches enough of them.
    """

    def __init__(
        self,
        n: int = 3,
        *,
        lua: str = "",
        user: str | None = None,
        password: str | None = None,
        replication_connect_quorum: int | None = None,
        replication_connect_timeout: float = 10.0,
        replication_timeout: float = 0.5,
    ) -> None:
        if n < 1:
            raise ValueError(f"n={n!r}: need at least one member")
        ports: list[int] = []
        while len(ports) < n:
            port = free_port()
            if port not in ports:
                ports.append(port)
        uris = [f"{HOST}:{p}" for p in ports]
        self.members: list[TarantoolServer] = [
            TarantoolServer(
                port,
                lua=lua if i == 0 else "",
                user=user,
                password=password,
                read_only=i != 0,
                replication=uris,
                replication_connect_quorum=replication_connect_quorum,
                replication_connect_timeout=replication_connect_timeout,
                replication_timeout=replication_timeout,
            )
            for i, port in enumerate(ports)
        ]

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, index: int) -> TarantoolServer:
        return self.members[index]

    def __iter__(self) -> Iterator[TarantoolServer]:
        return iter(self.members)

    @property
    def master(self) -> TarantoolServer:
        """The member configured read-write (the first one if several are)."""
        for member in self.members:
            if not member.read_only:
                return member
        raise RuntimeError("no member is read-write")

    @property
    def addresses(self) -> list[str]:
        """``"127.0.0.1:P"`` of every member, in order."""
        return [m.address for m in self.members]

    def start(self, timeout: float = 60.0) -> TarantoolReplicaSet:
        """Launch every member at once, then wait until all are ready.

        The members must start together: each one's ``box.cfg`` waits to
        reach the others.  Raises :class:`ServerStartError` (and stops all)
        when one fails.
        """
        try:
            for member in self.members:
                member.start(wait=False)
            for member in self.members:
                member.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def promote(self, index: int) -> None:
        """Make member ``index`` the only read-write one.

        Demotes the others first (``box.cfg{read_only=true}``), then promotes.
        A member that is not running is only marked read-only, so that it
        comes back read-only when it is started again.
        """
        for i, member in enumerate(self.members):
            if i == index:
                continue
            if member.running:
                member.set_read_only(True)
            else:
                member.read_only = True
        self.members[index].set_read_only(False)

    def wait_synced(self, timeout: float = 10.0) -> None:
        """Block until every running member's vclock has caught up with the master's.

        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        target = self.master.vclock()
        for member in self.members:
            if member is self.master or not member.running:
                continue
            while True:
                have = member.vclock()
                if all(have.get(k, 0) >= v for k, v in target.items() if k != 0):
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{member.address} vclock {have} behind {target}")
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop every member and remove their directories."""
        for member in self.members:
            member.stop()
