"""Run probe code isolated from the machine, and watch it from outside (docs/verifier.md, "Sandbox").

A probe is one or more *subjects*: interpreters running ``harness.py`` in some role next to the
snippet. Each subject runs under bubblewrap with its own PID, mount, network, IPC and UTS
namespaces; a read-only view of the system, the interpreter and the project; a size-limited
private ``/tmp``; a ``/dev`` without terminals; no environment from gillint; an unprivileged uid
(root drops to ``nobody`` through ``setpriv``); no controlling terminal; and a seccomp filter
against unix sockets. All subjects of a probe share one cgroup that caps memory and tasks and
counts CPU time. gillint talks to a subject over pipes it created: the subject's messages are
*claims*, parsed and validated by the caller; timings, CPU time, exit statuses and signals are
what gillint measures itself.

Without full isolation :class:`Sandbox` refuses (:class:`IsolationUnavailable`, naming what is
missing) unless it is built with ``sandboxed=False`` (``--verify-unsandboxed``): then subjects
are plain child processes with resource limits, for code the user trusts.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from gillint.verify import seccomp
from gillint.verify.cgroup import ProbeCgroup

HARNESS = Path(__file__).with_name("harness.py")
#: Where a probe's files appear inside the sandbox (read-only), and its writable directory.
INSIDE_INPUT = "/gillint/in"
INSIDE_WORK = "/tmp"
NOBODY = 65534
#: Host files under /etc a Python interpreter may read; the rest of /etc (shadow, ssh keys...) is absent.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
             "hosts", "alternatives", "mime.types")
#: Directories never bound into a sandbox, even when a project or interpreter lives in them.
NEVER_BOUND = ("/", "/root", "/home", "/etc", "/var", "/run", "/tmp", "/proc", "/sys", "/dev", "/boot")
MESSAGE_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Limits:
    """What one probe may use (all its subjects together)."""

    timeout: float = 8.0
    memory_mb: int = 1024
    max_processes: int = 32
    output_bytes: int = 64 * 1024
    #: Size of the private writable /tmp (tmpfs), the probe's disk quota.
    file_mb: int = 64


class IsolationUnavailable(Exception):
    """Full isolation cannot be set up here; the message lists what is missing."""


@dataclass(frozen=True)
class Isolation:
    """How subjects are isolated on this machine (found once by :func:`isolation`)."""

    bwrap: str
    #: ``setpriv`` prefix that turns root into ``nobody`` (empty when gillint is not root).
    drop_root: tuple[str, ...]
    socket_filter: bytes
    process_filter: bytes


@functools.lru_cache(maxsize=None)
def isolation() -> Isolation:
    """This machine's isolation, or :class:`IsolationUnavailable` saying what is missing."""
    missing: list[str] = []
    if not sys.platform.startswith("linux"):
        raise IsolationUnavailable("Linux (bubblewrap, namespaces and cgroups)")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        missing.append("bubblewrap (`bwrap`; e.g. `apt-get install bubblewrap`)")
    else:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
        absent = [o for o in ("--size", "--perms", "--add-seccomp-fd", "--die-with-parent") if o not in text]
        if absent:
            missing.append(f"bubblewrap 0.8 or newer (this one has no {', '.join(absent)})")
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv is None:
        missing.append("`setpriv` (util-linux), to run probes as an unprivileged user instead of root")
    sockets, processes = seccomp.program(seccomp.NO_UNIX_SOCKETS), seccomp.program(seccomp.NO_NEW_PROCESSES)
    if sockets is None or processes is None:
        missing.append("a seccomp filter for this machine (x86-64 or aarch64)")
    try:
        ProbeCgroup.create(64 * 2**20, 8).destroy()
    except OSError as error:
        missing.append(f"a cgroup gillint can create with memory and pids limits ({error})")
    if missing:
        raise IsolationUnavailable("; ".join(missing))
    assert bwrap is not None and sockets is not None and processes is not None
    drop = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--") if os.geteuid() == 0 and setpriv else ()
    found = Isolation(bwrap, drop, sockets, processes)
    _trial(found)
    return found


def _trial(found: Isolation) -> None:
    """Start one sandbox for real: namespaces may be forbidden (containers, AppArmor) despite bwrap."""
    with tempfile.TemporaryDirectory(prefix="gillint-trial-") as directory:
        os.chmod(directory, 0o755)
        filters = [found.socket_filter]
        command, fds = _bwrap_command(found, Path(directory), _interpreter_binds(sys.executable), filters,
                                      Limits(), INSIDE_WORK)
        try:
            result = subprocess.run([*command, sys.executable, "-I", "-c", "pass"], capture_output=True,
                                    text=True, timeout=30, pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1][:200]
        raise IsolationUnavailable(f"bubblewrap could not start a sandbox here ({reason})")


# -- the sandbox -------------------------------------------------------------------------------


class Sandbox:
    """The files, cgroup and subjects of one probe; everything is killed and removed on exit."""

    def __init__(self, files: dict[str, str], spec: dict[str, Any], limits: Limits, python: str = sys.executable,
                 import_paths: Sequence[str] = (), sandboxed: bool = True) -> None:
        self.limits, self.python, self.sandboxed = limits, python, sandboxed
        self.isolation = isolation() if sandboxed else None
        self.deadline = time.monotonic() + limits.timeout
        self.subjects: list[Subject] = []
        self.input = Path(tempfile.mkdtemp(prefix="gillint-verify-"))
        self.work = None if sandboxed else Path(tempfile.mkdtemp(prefix="gillint-work-"))
        self.cgroup: Optional[ProbeCgroup] = None
        self.binds: list[str] = []
        try:
            os.chmod(self.input, 0o755)  # readable by the unprivileged uid of the probe
            for name, text in {"harness.py": HARNESS.read_text(encoding="utf-8"), "spec.json": json.dumps(spec),
                               **files}.items():
                self.write(name, text.encode("utf-8"))
            if sandboxed:
                self.cgroup = ProbeCgroup.create(limits.memory_mb * 2**20, limits.max_processes)
                self.binds = [*_interpreter_binds(python), *import_paths]
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workdir(self) -> str:
        """The host directory holding the probe's files (removed on exit)."""
        return str(self.input)

    def write(self, name: str, data: bytes) -> None:
        """Add a file the next subjects can read (read-only for them)."""
        path = self.input / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o755)
        path.write_bytes(data)
        os.chmod(path, 0o644)

    def spawn(self, role: str, params: Optional[dict[str, Any]] = None, pipes: Iterable[str] = (),
              no_new_processes: bool = False, chdir: Optional[str] = None) -> Subject:
        """Start a subject running ``harness.py`` in ``role`` with ``params``, and pipes it writes to."""
        channels = {name: os.pipe() for name in ("messages", *pipes)}
        control_read, control_write = os.pipe()
        fds = {"control": control_read, **{name: write for name, (_, write) in channels.items()}}
        options = json.dumps({"role": role, "fds": fds, "params": params or {}})
        inherited = list(fds.values())
        if self.isolation is not None:
            filters = [self.isolation.socket_filter] + ([self.isolation.process_filter] if no_new_processes else [])
            prefix, filter_fds = _bwrap_command(self.isolation, self.input, self.binds, filters, self.limits,
                                                chdir or INSIDE_WORK)
            command = [*prefix, self.python, "-E", "-s", "-B", f"{INSIDE_INPUT}/harness.py", options]
            cwd, env, inherited = None, {"PATH": "/usr/bin:/bin"}, inherited + filter_fds
        else:
            filter_fds = []
            command = [self.python, "-E", "-s", "-B", str(self.input / "harness.py"), options]
            cwd, env = chdir or str(self.work), _environment(str(self.work))
        procs = self.cgroup.procs_files if self.cgroup is not None else ()
        try:
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, pass_fds=inherited, start_new_session=True,
                preexec_fn=functools.partial(_limit_child, self.limits, procs,
                                             None if self.sandboxed else _nproc_limit(self.limits)))
        finally:
            for fd in [control_read, *filter_fds, *(write for _, write in channels.values())]:
                os.close(fd)
        subject = Subject(process, {name: read for name, (read, _) in channels.items()}, control_write,
                          self.limits.output_bytes, self.deadline, self.sandboxed)
        self.subjects.append(subject)
        return subject

    def cpu_seconds(self) -> Optional[float]:
        """CPU time used so far by the probe's subjects (all threads and children), or None."""
        if self.cgroup is not None:
            return self.cgroup.cpu_seconds()
        times = [subject.cpu_seconds() for subject in self.subjects if subject.running]
        return None if any(t is None for t in times) else sum(t for t in times if t is not None)

    def stop(self, subjects: Iterable[Subject]) -> None:
        """Kill these subjects and everything they started, and wait until they are gone."""
        for subject in subjects:
            subject.kill()
        if self.cgroup is not None and all(not s.running for s in self.subjects):
            self.cgroup.kill()

    def close(self) -> None:
        self.stop(self.subjects)
        if self.cgroup is not None:
            self.cgroup.destroy()
        for subject in self.subjects:
            subject.close()
        shutil.rmtree(self.input, ignore_errors=True)
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)


class Subject:
    """One interpreter of a probe: its messages, the pipes it writes to, its exit status."""

    def __init__(self, process: subprocess.Popen, pipes: dict[str, int], control: int, output_bytes: int,
                 deadline: float, sandboxed: bool) -> None:
        self.process, self.pipes, self.control, self.deadline = process, pipes, control, deadline
        self.sandboxed = sandboxed
        self.output = _CappedReader(process.stdout, output_bytes)
        self.messages = _MessageReader(pipes.pop("messages"))
        self.started = time.monotonic()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def send(self, word: str) -> None:
        """A control word (one line) for the harness; ignored when the subject is gone."""
        try:
            os.write(self.control, word.encode() + b"\n")
        except OSError:
            pass

    def receive(self, *events: str, timeout: Optional[float] = None) -> Optional[dict[str, Any]]:
        """The next message of one of these kinds (others are kept), or None at the deadline or EOF."""
        until = self.deadline if timeout is None else min(self.deadline, time.monotonic() + timeout)
        return self.messages.take(events, until)

    def claims(self, event: str) -> list[dict[str, Any]]:
        """Every message of kind ``event`` received so far (without waiting)."""
        return self.messages.all(event)

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """The exit status (see :meth:`signal`), or None if still running at the deadline."""
        until = self.deadline if timeout is None else min(self.deadline, time.monotonic() + timeout)
        try:
            self.process.wait(max(0.0, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
        self.output.join(2.0)
        self.messages.finish(2.0)  # what it sent before exiting is all read before anyone looks
        return self.process.returncode

    @property
    def signal(self) -> Optional[int]:
        """The signal that ended the subject (bubblewrap reports it as exit status 128 + signal)."""
        code = self.process.returncode
        if code is None:
            return None
        if code < 0:
            return -code
        return code - 128 if self.sandboxed and 128 < code < 128 + 65 else None

    def cpu_seconds(self) -> Optional[float]:
        """CPU time of an unsandboxed subject from /proc (all its threads), or None."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        if self.running:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait()
        self.output.join(2.0)

    def close(self) -> None:
        for fd in (self.control, *self.pipes.values()):
            try:
                os.close(fd)
            except OSError:
                pass
        self.messages.close()


# -- building the bubblewrap command -----------------------------------------------------------


def _bwrap_command(found: Isolation, input_dir: Path, binds: Sequence[str], filters: Sequence[bytes],
                   limits: Limits, chdir: str) -> tuple[list[str], list[int]]:
    """The ``bwrap ... --`` prefix and the file descriptors of its seccomp programs (caller closes)."""
    args = [found.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        args += ["--unshare-user", "--cap-drop", "ALL"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for path in sorted(Path("/etc").glob("python3*")):
        args += ["--ro-bind", str(path), str(path)]
    args += ["--proc", "/proc", "--perms", "0755", "--tmpfs", "/dev"]
    for device in ("null", "zero", "full", "random", "urandom"):
        args += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    # The writable tmpfs first: a project under /tmp is bound on top of it, read-only.
    args += ["--symlink", "/proc/self/fd", "/dev/fd", "--perms", "1777", "--size", str(16 * 2**20),
             "--tmpfs", "/dev/shm", "--perms", "1777", "--size", str(limits.file_mb * 2**20), "--tmpfs", INSIDE_WORK]
    made: set[str] = {"/usr", INSIDE_WORK}
    for bound in _outermost(binds):
        args += [*_parents(bound, made), "--ro-bind", bound, bound]
    args += [*_parents(INSIDE_INPUT, made), "--ro-bind", str(input_dir), INSIDE_INPUT, "--chdir", chdir]
    for key, value in _environment(INSIDE_WORK).items():
        args += ["--setenv", key, value]
    fds = []
    for program in filters:
        read, write = os.pipe()
        os.write(write, program)
        os.close(write)
        fds.append(read)
        args += ["--add-seccomp-fd", str(read)]
    return [*args, "--", *found.drop_root], fds


def _outermost(paths: Iterable[str]) -> list[str]:
    """Existing directories to bind, without those inside another one or inside /usr."""
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths if p}):
        if path in NEVER_BOUND or not os.path.isdir(path):
            continue
        if any(path == c or path.startswith(c.rstrip("/") + "/") for c in ["/usr", *chosen]):
            continue
        chosen.append(path)
    return chosen


def _parents(path: str, made: set[str]) -> list[str]:
    """``--dir`` for each missing parent (bubblewrap would copy a host parent's 0700 mode)."""
    args = []
    for parent in reversed(Path(path).parents):
        text = str(parent)
        if text != "/" and text not in made:
            made.add(text)
            args += ["--perms", "0755", "--dir", text]
    return args


def _interpreter_binds(python: str) -> list[str]:
    """Directories an interpreter needs: its prefix (and a virtual environment's base), site-packages.

    ``python`` may come from the linted project's pyproject.toml: a prefix is shown only if it looks
    like a Python installation (a ``pyvenv.cfg`` or a ``lib/python3.*``), so that setting cannot
    expose an arbitrary directory to the probe.
    """
    prefixes = {Path(p).parent.parent for p in (os.path.abspath(python), os.path.realpath(python))}
    found = {str(p) for p in prefixes if (p / "pyvenv.cfg").is_file() or any(p.glob("lib/python3*"))}
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        found.update((sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix))
        found.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    return sorted(p for p in found if not hidden(p))


def hidden(path: str) -> bool:
    """True for a directory a sandbox never exposes (/, /tmp, /home, the user's home...)."""
    real = os.path.realpath(path)
    return real in NEVER_BOUND or real == os.path.realpath(os.path.expanduser("~"))


def readable(path: str) -> bool:
    """Can the probe's user list and read ``path``? Root's probes run as ``nobody``, for whom only
    the permissions for other users count."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return os.geteuid() != 0 or mode & 0o005 == 0o005


# -- child set-up and output -------------------------------------------------------------------


def _environment(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def _nproc_limit(limits: Limits) -> Optional[int]:
    """Unsandboxed only: RLIMIT_NPROC counts every task of the user, so the cap is on top of what
    already runs. None for root: the kernel ignores the limit for root."""
    if os.name != "posix" or os.geteuid() == 0:
        return None
    return _user_tasks() + limits.max_processes


def _limit_child(limits: Limits, cgroup_procs: Sequence[str], nproc: Optional[int]) -> None:
    """Runs in the child between fork and exec: only system calls (no imports, little allocation)."""
    cpu = int(limits.timeout) + 2
    _lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    _lower(resource.RLIMIT_AS, limits.memory_mb * 2**20)
    _lower(resource.RLIMIT_FSIZE, limits.file_mb * 2**20)
    _lower(resource.RLIMIT_CORE, 0)
    if nproc is not None:
        _lower(resource.RLIMIT_NPROC, nproc)
    for procs in cgroup_procs:
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)


def _lower(which: int, soft: int, hard: Optional[int] = None) -> None:
    """Lower a limit, keeping a stricter one already in place. macOS refuses some limits
    (``RLIMIT_AS``); those stay as they were (docs/verifier.md says so)."""
    _, current = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    try:
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass


def _user_tasks() -> int:
    """Tasks (threads count) owned by this user: RLIMIT_NPROC counts them all, not ours only."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


class _CappedReader(threading.Thread):
    """Keeps the first ``cap`` bytes of a subject's output and drains (counting) the rest."""

    def __init__(self, stream: Any, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.kept = bytearray()
        self.dropped = 0
        self.start()

    def run(self) -> None:
        while True:
            chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
            if not chunk:
                break
            room = max(self.cap - len(self.kept), 0)
            self.kept += chunk[:room]
            self.dropped += max(len(chunk) - room, 0)
        self.stream.close()

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


@dataclass
class _MessageReader:
    """JSON lines from a subject's messages pipe, read by a thread; at most MESSAGE_BYTES in all.

    Anything that is not a JSON object with a string ``event`` is dropped: what a subject sends is
    a claim to validate, never trusted as it is.
    """

    fd: int
    pending: list[dict[str, Any]] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)
    arrived: queue.Queue = field(default_factory=queue.Queue)
    ended: bool = False
    reader: Optional[threading.Thread] = None

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        buffer, total = b"", 0
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            total += len(chunk)
            if not chunk or total > MESSAGE_BYTES:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and isinstance(message.get("event"), str):
                    self.arrived.put(message)
        self.arrived.put(None)

    def take(self, events: Sequence[str], until: float) -> Optional[dict[str, Any]]:
        while True:
            for index, message in enumerate(self.pending):
                if message["event"] in events:
                    return self.pending.pop(index)
            if self.ended:
                return None
            try:
                message = self.arrived.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                return None
            if message is None:
                self.ended = True
                continue
            self.seen.append(message)
            self.pending.append(message)

    def finish(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until the pipe's end has been read."""
        assert self.reader is not None
        self.reader.join(timeout)

    def all(self, event: str) -> list[dict[str, Any]]:
        self.take((), time.monotonic())  # move what has arrived into pending/seen
        return [m for m in self.seen if m["event"] == event]

    def close(self) -> None:
        """Close the pipe once the reader saw its end (closing it under a blocked reader could let a
        new file reuse the number); a pipe some leftover process still holds stays open."""
        assert self.reader is not None
        self.reader.join(1.0)
        if not self.reader.is_alive():
            os.close(self.fd)


@dataclass(frozen=True)
class SandboxRun:
    """What one ``selftest`` subject did (for the sandbox's own tests)."""

    result: Optional[dict[str, Any]]
    returncode: Optional[int]
    timed_out: bool
    elapsed: float
    output: str
    output_dropped: int
    workdir: str


def run_probe(files: dict[str, str], spec: dict[str, Any], limits: Limits, python: str = sys.executable,
              import_paths: Sequence[str] = (), sandboxed: bool = True) -> SandboxRun:
    """Run ``spec["code"]`` in one subject: its ``result`` (a "result" or "failed" message as a dict
    with ``outcome``), exit status, whether it timed out, and its capped output."""
    with Sandbox(files, spec, limits, python, import_paths, sandboxed) as box:
        subject = box.spawn("selftest")
        status = subject.wait()
        timed_out = status is None
        box.stop([subject])
        message = None if timed_out else subject.receive("result", "failed", timeout=2)
        result = None if message is None else {
            "outcome": "ran" if message["event"] == "result" else "error",
            **{k: v for k, v in message.items() if k in ("value", "error")}}
        return SandboxRun(result, subject.process.returncode, timed_out, time.monotonic() - subject.started,
                          subject.output.text(), subject.output.dropped, box.workdir)
