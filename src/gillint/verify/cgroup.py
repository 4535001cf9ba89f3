"""A cgroup per probe: memory and process limits for the whole probe, its CPU time, and a kill switch.

gillint creates the group below its own cgroup (or, on cgroup v2 when its own group cannot have
children with controllers, below the hierarchy's root), writes the limits, and moves each sandbox
into it before ``exec``. The probe cannot raise the limits or leave the group: ``/sys`` is not
mounted in the sandbox and the probe runs as an unprivileged user. Works on cgroup v1 (one
hierarchy per controller) and v2 (one unified hierarchy).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

#: Controllers a probe group needs. ``cpuacct`` (v1) / ``cpu.stat`` (v2) give the CPU time.
V1_CONTROLLERS = ("memory", "pids", "cpuacct")


@dataclass(frozen=True)
class ProbeCgroup:
    """The directories of one probe's cgroup (one per v1 hierarchy, or one v2 directory)."""

    directories: tuple[Path, ...]
    unified: bool

    @classmethod
    def create(cls, memory_bytes: int, max_tasks: int) -> ProbeCgroup:
        """A new group with the limits; raises OSError (with the reason) when none can be made."""
        name = f"gillint-probe-{uuid.uuid4().hex[:12]}"
        layout = _layout()
        if layout is None:
            raise OSError("no cgroup file system is mounted")
        unified, parents = layout
        made: list[Path] = []
        try:
            if unified:
                made.append(_v2_child(parents[0], name))
            else:
                made.extend(_mkdir(parent / name) for parent in parents)
            group = cls(tuple(made), unified)
            group._limit(memory_bytes, max_tasks)
            return group
        except OSError:
            cls(tuple(made), unified).destroy()
            raise

    @property
    def procs_files(self) -> tuple[str, ...]:
        """``cgroup.procs`` of every directory: a process joins by writing its pid to each."""
        return tuple(str(directory / "cgroup.procs") for directory in self.directories)

    def cpu_seconds(self) -> float:
        """CPU time used by every task that ever ran in the group (threads included)."""
        if self.unified:
            for line in (self.directories[0] / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            raise OSError("cpu.stat has no usage_usec")
        return int(self._file("cpuacct", "cpuacct.usage").read_text()) / 1e9

    def tasks(self) -> list[int]:
        pids: set[int] = set()
        for directory in self.directories:
            try:
                pids.update(int(line) for line in (directory / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(pids)

    def kill(self) -> None:
        """SIGKILL every task, until none is left (a fork between two reads is caught by the next)."""
        kill_file = self.directories[0] / "cgroup.kill"
        if self.unified and kill_file.exists():
            try:
                kill_file.write_text("1")
            except OSError:
                pass
        for _ in range(200):
            pids = self.tasks()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def destroy(self) -> None:
        """Kill what is left and remove the directories (the kernel frees them once empty)."""
        self.kill()
        for directory in self.directories:
            for _ in range(100):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)

    def _limit(self, memory_bytes: int, max_tasks: int) -> None:
        if self.unified:
            (self.directories[0] / "memory.max").write_text(str(memory_bytes))
            swap = self.directories[0] / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
            (self.directories[0] / "pids.max").write_text(str(max_tasks))
            return
        self._file("memory", "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = self._file("memory", "memory.memsw.limit_in_bytes")
        if swap.exists():  # memory + swap: the probe cannot page out past the limit
            swap.write_text(str(memory_bytes))
        self._file("pids", "pids.max").write_text(str(max_tasks))

    def _file(self, controller: str, name: str) -> Path:
        return self.directories[V1_CONTROLLERS.index(controller)] / name


def _layout() -> Optional[tuple[bool, list[Path]]]:
    """(unified, parent directories): v1 when every needed controller has its own hierarchy."""
    mounts = _mounts()
    if all(controller in mounts for controller in V1_CONTROLLERS):
        return False, [_own_directory(mounts, c) for c in V1_CONTROLLERS]
    if "" in mounts:
        return True, [_own_directory(mounts, "")]
    return None


def _own_directory(mounts: dict[str, tuple[Path, str]], controller: str) -> Path:
    """Where this process's group is, below the mount point (which may mount a subtree)."""
    point, root = mounts[controller]
    own = _own_groups().get(controller, "/")
    relative = os.path.relpath(own, root) if own.startswith(root) else "."
    return point if relative == "." else point / relative


def _v2_child(parent: Path, name: str) -> Path:
    """A child with memory and pids enabled: under our own group if it can delegate, else the root."""
    root = _mounts()[""][0]
    for candidate in dict.fromkeys([parent, root]):
        try:
            _enable(candidate)
            return _mkdir(candidate / name)
        except OSError:
            continue
    raise OSError(f"cannot enable the memory and pids controllers below {parent} or {root}")


def _enable(directory: Path) -> None:
    wanted = {"memory", "pids"}
    enabled = set((directory / "cgroup.subtree_control").read_text().split())
    if not wanted <= enabled:
        (directory / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted - enabled)))


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _mounts() -> dict[str, tuple[Path, str]]:
    """(mount point, subtree it mounts) per v1 controller, and "" for the v2 hierarchy."""
    found: dict[str, tuple[Path, str]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        separator = fields.index("-")
        root, point, kind, options = fields[3], fields[4], fields[separator + 1], fields[separator + 3]
        if kind == "cgroup2":
            found.setdefault("", (Path(point), root))
        elif kind == "cgroup":
            for option in options.split(","):
                found.setdefault(option, (Path(point), root))
    return found


def _own_groups() -> dict[str, str]:
    """This process's group per v1 controller, and "" for v2 (from /proc/self/cgroup)."""
    groups: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups
