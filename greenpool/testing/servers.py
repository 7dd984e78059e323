"""Real database servers started for tests and the demo.

Every server here is a real program (``redis-server``, ``tarantool``,
``postgres``, ``mariadbd``) started as a child process on a free loopback
port, in its own temporary directory, and stopped by its PID.  Nothing here
ever connects to a server this module did not start.

The processes are made hard to leak:

* each one runs in its own session and process group, so stopping, killing,
  pausing and resuming act on the server and every process it forked;
* every started PID is registered, and an :mod:`atexit` hook SIGKILLs the
  ones still alive when the interpreter exits (a crashed or interrupted test
  run included) and removes their directories;
* when the server is started from the main OS thread, the kernel is also
  asked to SIGKILL it should the starting process die without running
  :mod:`atexit` hooks (``os._exit``, SIGKILL);
* :meth:`ServerProcess.__del__` kills a server that was never stopped.

Only the standard library is imported at module level, and no gevent: the
blocking calls used (:func:`time.sleep`, :mod:`socket`, :mod:`subprocess`,
:mod:`select`) are the ones gevent's monkey-patching makes cooperative, so
the same code works from plain threads and from greenlets.  The client
packages (``psycopg2``, ``pymysql``, ``tarantool``) are imported lazily, only
by the helpers that need them.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

__all__ = [
    "HOST",
    "MariaDBServer",
    "PostgresServer",
    "PostgresStandby",
    "RedisServer",
    "ServerNotInstalled",
    "ServerProcess",
    "ServerStartError",
    "TarantoolReplicaSet",
    "TarantoolServer",
    "find_program",
    "free_port",
    "postgres_bin_dir",
]

#: The only address servers listen on.
HOST = "127.0.0.1"

_LOG_TAIL_LINES = 40


# --------------------------------------------------------------------------- errors


class ServerStartError(RuntimeError):
    """A server could not be prepared or did not become ready in time.

    The message ends with the tail of the server's log; :attr:`log_tail`
    holds that tail on its own.
    """

    def __init__(self, message: str, log_tail: str = "") -> None:
        text = message
        if log_tail:
            text = f"{message}\n--- last lines of the server log ---\n{log_tail}"
        super().__init__(text)
        self.log_tail = log_tail


class ServerNotInstalled(ServerStartError):
    """The server program is not installed.

    :attr:`package` names the Debian package that provides it;
    ``scripts/setup.sh`` installs all of them.
    """

    def __init__(self, program: str, package: str) -> None:
        super().__init__(
            f"{program} is not installed: install the Debian package {package!r} "
            f"(apt-get install {package}, or run scripts/setup.sh)"
        )
        self.program = program
        self.package = package


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is found by binding port 0 and closing the socket, so another
    process may take it before the caller binds it; the servers below retry
    with a new port when that happens on their first start.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_program(name: str, package: str, extra_dirs: Iterable[str] = ()) -> str:
    """Return the full path of the program ``name``.

    Looks on ``PATH``, then in ``extra_dirs`` and the sbin directories.
    Raises :class:`ServerNotInstalled` naming the Debian ``package`` when it
    is nowhere.
    """
    found = shutil.which(name)
    if found:
        return found
    for directory in (*extra_dirs, *_SBIN_DIRS):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise ServerNotInstalled(name, package)


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


def _read_tail(paths: Iterable[Path], lines: int = _LOG_TAIL_LINES) -> str:
    chunks: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 16384))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        tail = text.splitlines()[-lines:]
        if tail:
            chunks.append(f"[{path.name}]\n" + "\n".join(tail))
    return "\n".join(chunks)


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


# --------------------------------------------------------------------------- process registry

_REGISTRY_LOCK = threading.Lock()
_LIVE_PIDS: set[int] = set()
_LIVE_DIRS: set[str] = set()
_PR_SET_PDEATHSIG = 1
_libc: Any = None


def _register_pid(pid: int) -> None:
    with _REGISTRY_LOCK:
        _LIVE_PIDS.add(pid)


def _unregister_pid(pid: int) -> None:
    with _REGISTRY_LOCK:
        _LIVE_PIDS.discard(pid)


def _register_dir(path: str) -> None:
    with _REGISTRY_LOCK:
        _LIVE_DIRS.add(path)


def _remove_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with _REGISTRY_LOCK:
        _LIVE_DIRS.discard(path)


_swept = False


def _sweep_stale_dirs() -> None:
    """Remove temporary directories left by test processes that died without cleaning up.

    Directory names carry the creating process's PID; a directory whose
    creator no longer exists is removed (once per process).
    """
    global _swept
    if _swept:
        return
    _swept = True
    pattern = os.path.join(tempfile.gettempdir(), "greenpool-*-*-*")
    for path in glob.glob(pattern):
        match = re.fullmatch(r"greenpool-[\w-]+?-(\d+)-\w+", os.path.basename(path))
        if match is None or not os.path.isdir(path):
            continue
        owner = int(match.group(1))
        if owner != os.getpid() and not os.path.exists(f"/proc/{owner}"):
            shutil.rmtree(path, ignore_errors=True)


def _group_members(pgid: int) -> list[int]:
    """PIDs of the processes whose process group is ``pgid`` (read from /proc)."""
    members: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) in parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@atexit.register
def _kill_everything_at_exit() -> None:
    """SIGKILL every server still registered and remove every temporary directory."""
    with _REGISTRY_LOCK:
        pids = list(_LIVE_PIDS)
        dirs = list(_LIVE_DIRS)
        _LIVE_PIDS.clear()
        _LIVE_DIRS.clear()
    for pid in pids:
        _killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


def _child_preexec() -> Callable[[], None] | None:
    """A pre-exec hook asking the kernel to SIGKILL the child if we die.

    The kernel sends the signal when the *thread* that forked the child
    exits, so the hook is used only from the main OS thread (greenlets all
    run there).  Returns ``None`` elsewhere.
    """
    global _libc
    if threading.get_native_id() != os.getpid():
        return None
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:  # pragma: no cover - no libc?
            return None
    libc = _libc
    parent = os.getpid()

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return setup


# --------------------------------------------------------------------------- the base class

_S = TypeVar("_S", bound="ServerProcess")


class ServerProcess:
    """One server program running as a child process, on a loopback port.

    Subclasses say what to prepare in the temporary directory, what command
    to run and how to tell that the server answers.  The life cycle:

    * :meth:`start` creates the temporary directory (first time only),
      prepares it, launches the process and waits until it answers;
    * :meth:`kill`, :meth:`pause`, :meth:`resume` send SIGKILL, SIGSTOP,
      SIGCONT to the server's process group;
    * :meth:`restart` stops the process and starts it again on the same port
      with the same directory (so data a server persists survives);
    * :meth:`stop` stops the process and removes the directory.

    Instances are context managers: ``with RedisServer() as r:`` starts and
    stops.
    """

    #: Short name, used in the temporary directory's name and in messages.
    name = "server"
    #: Seconds :meth:`start` waits for the server to answer.
    start_timeout = 30.0
    #: Seconds :meth:`stop` waits after the stop signal before SIGKILL.
    stop_grace = 10.0
    #: The signal asking the server to shut down.
    stop_signal: int = signal.SIGTERM
    #: The host every server listens on.
    host = HOST

    def __init__(self, port: int | None = None) -> None:
        self._fixed_port = port is not None
        self.port: int = port if port is not None else free_port()
        self.tmpdir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._prepared = False
        self._ever_ready = False
        self._owner: tuple[int, int] | None = None  # (uid, gid) the server runs as

    # ---------------------------------------------------------------- hooks

    def _prepare(self) -> None:
        """Prepare the fresh temporary directory (initdb and the like)."""

    def _before_launch(self) -> None:
        """Write config files etc. before each launch."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _probe(self) -> bool:
        """Return True once the server answers; may raise."""
        raise NotImplementedError

    def _after_first_ready(self) -> None:
        """One-time set-up once the server first answers (create a database ...)."""

    def _log_files(self) -> list[Path]:
        return [self.log_path]

    def _popen_extra(self) -> dict[str, Any]:
        return {}

    # ---------------------------------------------------------------- properties

    @property
    def log_path(self) -> Path:
        """The file the server's standard output and error go to."""
        if self.tmpdir is None:
            raise RuntimeError(f"{self!r} was never started")
        return Path(self.tmpdir) / "server.log"

    @property
    def pid(self) -> int | None:
        """The server's PID while its process exists (running or paused), else ``None``."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return None
        return proc.pid

    @property
    def running(self) -> bool:
        """True while the server process exists (a paused server is still running)."""
        return self.pid is not None

    @property
    def address(self) -> str:
        """``"127.0.0.1:<port>"``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str | None:
        """A client URL for the server, where one is meaningful."""
        return None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the server's log files."""
        if self.tmpdir is None:
            return ""
        return _read_tail(self._log_files(), lines)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.address} pid={self.pid} {state}>"

    # ---------------------------------------------------------------- life cycle

    def _make_tmpdir(self) -> None:
        _sweep_stale_dirs()
        self.tmpdir = tempfile.mkdtemp(prefix=f"greenpool-{self.name}-{os.getpid()}-")
        _register_dir(self.tmpdir)
        if self._owner is not None:
            os.chown(self.tmpdir, *self._owner)
        self._prepared = False

    def start(self: _S, *, wait: bool = True) -> _S:
        """Start the server; return ``self``.

        Blocks until the server answers (at most :attr:`start_timeout`
        seconds) unless ``wait`` is false, in which case the caller must call
        :meth:`wait_ready`.  Does nothing when the server is already running.
        Raises :class:`ServerNotInstalled` when the program is missing and
        :class:`ServerStartError` (with the log's tail) when the server exits
        or does not answer in time.  On its first start a server whose port
        was chosen for it retries twice on a new port if the port was taken.
        """
        if self.running:
            return self
        attempts = 1 if (self._fixed_port or self._ever_ready) else 3
        for attempt in range(attempts):
            if self.tmpdir is None or not os.path.isdir(self.tmpdir):
                self._make_tmpdir()
            if not self._prepared:
                self._prepare()
                self._prepared = True
            self._launch()
            if not wait:
                return self
            try:
                self.wait_ready(self.start_timeout)
            except ServerStartError as exc:
                self._terminate(hard=True)
                if attempt + 1 < attempts and "already in use" in exc.log_tail.lower():
                    self._remove_tmpdir()
                    self.port = free_port()
                    continue
                raise
            break
        return self

    def _launch(self) -> None:
        self._before_launch()
        cmd = self._command()
        log_path = self.log_path
        with open(log_path, "ab") as log:
            log.write(f"=== greenpool: starting {' '.join(cmd)}\n".encode())
            log.flush()
            kwargs: dict[str, Any] = {
                "stdin": subprocess.DEVNULL,
                "stdout": log,
                "stderr": subprocess.STDOUT,
            }
            kwargs.update(self._popen_extra())
            if self._owner is not None and os.geteuid() == 0:
                kwargs.update(user=self._owner[0], group=self._owner[1], extra_groups=[])
            try:
                self._proc = subprocess.Popen(
                    cmd,
                    cwd=self.tmpdir,
                    start_new_session=True,
                    preexec_fn=_child_preexec(),
                    **kwargs,
                )
            except FileNotFoundError as exc:
                raise ServerStartError(f"cannot run {cmd[0]}: {exc}") from exc
        _register_pid(self._proc.pid)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the server answers its readiness probe.

        Polls every 50 ms for at most ``timeout`` seconds (default
        :attr:`start_timeout`).  Raises :class:`ServerStartError`, with the
        log's tail, if the process exits first or the time runs out.
        """
        if timeout is None:
            timeout = self.start_timeout
        proc = self._proc
        if proc is None:
            raise ServerStartError(f"{type(self).__name__} was never started")
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while True:
            code = proc.poll()
            if code is not None:
                _unregister_pid(proc.pid)
                raise ServerStartError(
                    f"{type(self).__name__} on {self.address} exited with code {code} "
                    "before it was ready",
                    self.log_tail(),
                )
            try:
                if self._probe():
                    break
            except Exception as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"{type(self).__name__} on {self.address} (pid {proc.pid}) did not "
                    f"answer within {timeout:g}s (last probe error: {last_error!r})",
                    self.log_tail(),
                )
            time.sleep(0.05)
        if not self._ever_ready:
            self._after_first_ready()
            self._ever_ready = True

    def _terminate(self, *, hard: bool) -> None:
        """End the process (gracefully unless ``hard``) and reap it; keep the directory."""
        proc = self._proc
        if proc is None:
            return
        pid = proc.pid
        if proc.poll() is None:
            if hard:
                _killpg(pid, signal.SIGKILL)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, self.stop_signal)
                _killpg(pid, signal.SIGCONT)  # a paused server must run to exit
            try:
                proc.wait(timeout=5.0 if hard else self.stop_grace)
            except subprocess.TimeoutExpired:
                _killpg(pid, signal.SIGKILL)
                proc.wait(timeout=10.0)
        # The group id cannot be reused while members remain: sweep stragglers.
        if _group_members(pid):
            _killpg(pid, signal.SIGCONT)
            _killpg(pid, signal.SIGKILL)
        _unregister_pid(pid)

    def _remove_tmpdir(self) -> None:
        if self.tmpdir is not None:
            _remove_dir(self.tmpdir)
            self.tmpdir = None
            self._prepared = False
            self._ever_ready = False

    def stop(self) -> None:
        """Stop the server and remove its temporary directory.

        Sends :attr:`stop_signal` to the PID (SIGCONT too, in case it is
        paused), waits :attr:`stop_grace` seconds, then SIGKILLs the process
        group.  Always reaps the process.  Safe to call more than once.
        """
        try:
            self._terminate(hard=False)
        finally:
            self._remove_tmpdir()

    def kill(self) -> None:
        """SIGKILL the server's process group and reap it; the directory stays.

        A later :meth:`start` or :meth:`restart` brings the server back on the
        same port with the same directory.
        """
        self._terminate(hard=True)

    def pause(self) -> None:
        """SIGSTOP the server's process group: connections stay open, nothing answers."""
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT the server's process group after :meth:`pause`."""
        self._signal_group(signal.SIGCONT)

    def _signal_group(self, sig: int) -> None:
        pid = self.pid
        if pid is None:
            raise RuntimeError(f"{self!r} is not running")
        _killpg(pid, sig)

    def restart(self, *, hard: bool = False) -> None:
        """Stop the process (SIGKILL when ``hard``) and start it again.

        Same port, same directory.  Blocks like :meth:`start`.
        """
        self._terminate(hard=hard)
        self.start()

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        try:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                _killpg(proc.pid, signal.SIGKILL)
                _unregister_pid(proc.pid)
                proc.wait(timeout=2.0)  # reap it, so Popen does not warn it still runs
            if self.tmpdir is not None:
                _remove_dir(self.tmpdir)
                self.tmpdir = None
        except Exception:
            pass


# --------------------------------------------------------------------------- Redis


def _resp(*args: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _read_line(sock: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf[:-2]


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

    def _probe(self) -> bool:
        with self.connect_raw(timeout=1.0) as sock:
            if self.password is not None:
                auth = (self.username, self.password) if self.username else (self.password,)
                sock.sendall(_resp("AUTH", *auth))
                if _read_line(sock) != b"+OK":
                    return False
            sock.sendall(_resp("PING"))
            return _read_line(sock) == b"+PONG"


# --------------------------------------------------------------------------- Tarantool


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


class TarantoolReplicaSet:
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

    def __enter__(self) -> TarantoolReplicaSet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- PostgreSQL


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


# --------------------------------------------------------------------------- MariaDB


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
