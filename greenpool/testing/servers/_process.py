"""The process machinery every server fixture shares.

The error types, :func:`free_port` and :func:`find_program`, the registry of
live PIDs and temporary directories with its :mod:`atexit` hook, the
parent-death signal, and :class:`ServerProcess`, the base class that starts,
probes, pauses, kills, restarts and stops one server program by its PID.
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
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

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


def poll_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = 0.01,
    ignore: tuple[type[BaseException], ...] = (),
) -> float:
    """Call ``predicate`` every ``interval`` seconds until it returns true.

    Returns ``time.monotonic()`` taken just before the call that returned
    true.  Exceptions of the ``ignore`` types count as false.  Raises
    :class:`TimeoutError` ("``what`` within N s") after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        try:
            if predicate():
                return now
        except ignore:
            pass
        if now >= deadline:
            raise TimeoutError(f"{what} within {timeout:g}s")
        time.sleep(interval)


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


def _live_processes() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every live process (read from /proc)."""
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
        if len(fields) > 2 and fields[0] != b"Z":
            yield int(entry), int(fields[1]), int(fields[2])


def _group_members(pgid: int) -> list[int]:
    """PIDs of the processes whose process group is ``pgid``."""
    return [pid for pid, _, group in _live_processes() if group == pgid]


def _tree(pid: int) -> list[int]:
    """``pid`` and every live process descended from it, whatever their process group."""
    children: dict[int, list[int]] = {}
    for child, parent, _ in _live_processes():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


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
    def paused(self) -> bool:
        """True while the server process is stopped by a signal (after :meth:`pause`).

        Read from the kernel (``/proc/<pid>/stat``), so a SIGSTOP sent by
        other means counts too.
        """
        pid = self.pid
        if pid is None:
            return False
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        return stat[stat.rfind(b")") + 2 :].split()[:1] == [b"T"]

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
            # pause() stopped every descendant, some in sessions of their own
            # (PostgreSQL's backends): outside the process group, they would
            # stay stopped, orphaned for good, once the server is gone.
            paused = self.paused
            if hard:
                # Killed where they stand: none may run on and answer first.
                stopped = _tree(pid) if paused else []
                _killpg(pid, signal.SIGKILL)
                for member in stopped:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(member, signal.SIGKILL)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, self.stop_signal)
                # A paused server must run to exit, and so must its descendants.
                if paused:
                    self._signal_group(signal.SIGCONT)
                else:
                    _killpg(pid, signal.SIGCONT)
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

        Sends :attr:`stop_signal` to the PID (SIGCONT too, to it and, after
        :meth:`pause`, every process it forked), waits :attr:`stop_grace`
        seconds, then SIGKILLs the process group.  Always reaps the process.
        Safe to call more than once.
        """
        try:
            self._terminate(hard=False)
        finally:
            self._remove_tmpdir()

    def kill(self) -> None:
        """SIGKILL the server's process group and reap it; the directory stays.

        After :meth:`pause`, every process the server forked is killed too,
        still stopped (PostgreSQL's backends are outside the group, and
        stopped they would never see the postmaster gone).

        A later :meth:`start` or :meth:`restart` brings the server back on the
        same port with the same directory.
        """
        self._terminate(hard=True)

    def pause(self) -> None:
        """SIGSTOP the server and every process it forked: connections stay open, nothing answers.

        Every descendant, not just the process group: PostgreSQL's backends
        each run in a session of their own, and would go on answering.

        Returns once the kernel reports the process stopped (:attr:`paused`),
        or after a second.
        """
        self._signal_group(signal.SIGSTOP)
        with contextlib.suppress(TimeoutError):
            poll_until(lambda: self.paused, 1.0, "SIGSTOP", interval=0.001)

    def resume(self) -> None:
        """SIGCONT the server and every process it forked, after :meth:`pause`."""
        self._signal_group(signal.SIGCONT)

    def _signal_group(self, sig: int) -> None:
        pid = self.pid
        if pid is None:
            raise RuntimeError(f"{self!r} is not running")
        _killpg(pid, sig)
        for member in _tree(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, sig)

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


_G = TypeVar("_G", bound="ServerGroup")


class ServerGroup:
    """Several server processes started and stopped as one (a cluster, a replica set).

    Subclasses define :meth:`start` (returning ``self``) and :meth:`stop`;
    the group is then a context manager.
    """

    def start(self: _G, timeout: float = 30.0) -> _G:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _G) -> _G:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch_waves(
        self,
        waves: Callable[[], Sequence[Sequence[ServerProcess]]],
        rebuild: Callable[[], None],
        timeout: float,
    ) -> None:
        """Start each wave of processes at once and wait for it, then the next wave.

        A process whose free port was taken meanwhile fails to start; then
        everything is stopped, ``rebuild()`` makes new processes on new
        ports, and the launch starts over (three attempts in all).
        """
        for attempt in range(3):
            try:
                for wave in waves():
                    for process in wave:
                        process.start(wait=False)
                    for process in wave:
                        process.wait_ready(timeout)
                return
            except ServerStartError as exc:
                if attempt == 2 or "already in use" not in exc.log_tail.lower():
                    raise
                self.stop()
                rebuild()


def stop_all(servers: Iterable[ServerProcess]) -> None:
    """Stop several servers at once: signal them all, then :meth:`~ServerProcess.stop` each.

    A server notices its stop signal on its next timer tick (Redis: up to
    100 ms), so signalling first makes N servers take one tick, not N.
    Every server is stopped even if one fails; the first error is raised.
    """
    servers = list(servers)
    for server in servers:
        pid = server.pid
        if pid is not None:
            paused = server.paused
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, server.stop_signal)
            # A paused server must run to exit, and so must its descendants.
            if paused:
                server.resume()
            else:
                _killpg(pid, signal.SIGCONT)
    errors: list[Exception] = []
    for server in servers:
        try:
            server.stop()
        except Exception as exc:  # stop the others anyway
            errors.append(exc)
    if errors:
        raise errors[0]
