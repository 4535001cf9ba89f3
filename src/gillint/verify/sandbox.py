"""Run one probe in a contained child interpreter (see docs/verifier.md for what this does NOT stop).

Each run gets a fresh temporary working directory (removed afterwards), its own session and
process group (killed as a whole on timeout and after exit), ``resource`` limits on CPU time,
address space, file size and (for non-root users) process count, a pids cgroup as the fork cap
where one can be created, capped output, no stdin, a minimal environment, and, where
``unshare -rn`` works, its own user and network namespaces (no network at all).
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

HARNESS = Path(__file__).with_name("harness.py")
PIDS_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True)
class Limits:
    """What one probe may use."""

    timeout: float = 8.0
    memory_mb: int = 1024
    max_processes: int = 32
    output_bytes: int = 64 * 1024
    file_mb: int = 64


@dataclass(frozen=True)
class SandboxRun:
    """What came out of one sandboxed run."""

    result: Optional[dict[str, Any]]
    returncode: Optional[int]
    timed_out: bool
    elapsed: float
    output: str
    output_dropped: int
    workdir: str

    @property
    def failure(self) -> str:
        """Why there is no result (empty when there is one)."""
        if self.result is not None:
            return ""
        if self.timed_out:
            return f"timed out after {self.elapsed:.1f} s (process group killed; --verify-timeout raises the limit)"
        code = self.returncode or 0
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return f"killed by {name}" + (" (CPU time limit)" if name == "SIGXCPU" else "")
        tail = self.output.strip().splitlines()[-1:] or [f"exit code {code}"]
        return f"probe failed: {tail[0][:200]}"


@functools.lru_cache(maxsize=None)
def network_isolation() -> Optional[list[str]]:
    """The ``unshare`` prefix that gives a probe no network, or None when this system cannot."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    try:
        works = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return None
    return [unshare, "-rn"] if works else None


class _PidsCgroup:
    """A pids cgroup capping how many tasks a probe may create (and listing them to kill)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limit: int) -> Optional[_PidsCgroup]:
        for root in PIDS_ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            path = root / f"gillint-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(limit))
                return cls(path)
            except OSError:
                path.rmdir()
        return None

    def tasks(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def destroy(self) -> None:
        for _ in range(50):
            for pid in self.tasks():
                _kill(os.kill, pid, signal.SIGKILL)
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)


@functools.lru_cache(maxsize=None)
def fork_cap() -> str:
    """How the process count is capped here: "cgroup", "rlimit" or "" (not at all)."""
    group = _PidsCgroup.create(8)
    if group is not None:
        group.destroy()
        return "cgroup"
    return "rlimit" if os.name == "posix" and os.geteuid() != 0 else ""


def run_probe(files: dict[str, str], spec: dict[str, Any], limits: Limits,
              python: str = sys.executable, import_paths: Sequence[str] = ()) -> SandboxRun:
    """Run the harness with ``spec`` next to ``files`` (name -> text) and return its result."""
    workdir = tempfile.mkdtemp(prefix="gillint-verify-")
    group = _PidsCgroup.create(limits.max_processes) if fork_cap() == "cgroup" else None
    try:
        shutil.copyfile(HARNESS, os.path.join(workdir, "harness.py"))
        for name, text in files.items():
            Path(workdir, name).parent.mkdir(parents=True, exist_ok=True)
            Path(workdir, name).write_text(text, encoding="utf-8")
        Path(workdir, "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        command = [*(network_isolation() or []), python, "-s", "-B", "-c", "import harness; harness.main()"]
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=workdir, env=_environment(workdir, import_paths), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=functools.partial(_limit_child, limits, _procs_file(group),
                                         _nproc_limit(limits)),
        )
        reader = _CappedReader(process.stdout, limits.output_bytes)
        timed_out = False
        try:
            process.wait(limits.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        elapsed = time.monotonic() - started
        _kill(os.killpg, process.pid, signal.SIGKILL)  # leftovers too (resource trackers...)
        process.wait()
        if group is not None:
            group.destroy()
        reader.join(2.0)
        return SandboxRun(_read_result(workdir), process.returncode, timed_out, elapsed,
                          reader.text(), reader.dropped, workdir)
    finally:
        if group is not None:
            group.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


def _environment(workdir: str, import_paths: Sequence[str]) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        "MALLOC_ARENA_MAX": "2",
    }
    if import_paths:
        env["PYTHONPATH"] = os.pathsep.join(import_paths)
    return env


def _procs_file(group: Optional[_PidsCgroup]) -> Optional[str]:
    return None if group is None else str(group.path / "cgroup.procs")


def _nproc_limit(limits: Limits) -> Optional[int]:
    """RLIMIT_NPROC counts every task of the user, so the cap is on top of what already runs.

    None for root: the kernel ignores the limit for root (the pids cgroup covers that case).
    """
    if os.name != "posix" or os.geteuid() == 0:
        return None
    return _user_tasks() + limits.max_processes


def _limit_child(limits: Limits, cgroup_procs: Optional[str], nproc: Optional[int]) -> None:
    """Runs in the child between fork and exec: no imports, no allocation-heavy work, only system calls."""
    cpu = int(limits.timeout) + 2
    _lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    _lower(resource.RLIMIT_AS, limits.memory_mb * 2**20)
    _lower(resource.RLIMIT_FSIZE, limits.file_mb * 2**20)
    _lower(resource.RLIMIT_CORE, 0)
    if nproc is not None:
        _lower(resource.RLIMIT_NPROC, nproc)
    if cgroup_procs is not None:
        fd = os.open(cgroup_procs, os.O_WRONLY)
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


def _kill(send: Callable[[int, int], None], pid: int, signum: int) -> None:
    try:
        send(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _read_result(workdir: str) -> Optional[dict[str, Any]]:
    try:
        with open(os.path.join(workdir, "result.json"), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class _CappedReader(threading.Thread):
    """Keeps the first ``cap`` bytes of the probe's output and drains (counting) the rest."""

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
            room = self.cap - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        self.stream.close()

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")
