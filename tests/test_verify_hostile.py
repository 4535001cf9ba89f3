"""Hostile snippets under the real CLI: every escape of issue #15 is blocked or contained.

Each module below is flagged by gillint (GIL401: a pool started at import; GIL101: CPU work on
threads) and attacks the machine before it gets there: from the GIL401 modules' import-time code,
and from a module-level value the GIL101 target needs (so it runs in every probe interpreter).
One ``gillint --verify --drop-refuted --format json`` run verifies them all (as root in CI); the
tests then check the machine, not only the verdicts: nothing written outside the probe, nothing
left running, no connection accepted, the terminal untouched, no secret in any report, the
parent alive, and every real finding kept.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import socket
import subprocess
import sys
import termios
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest

import gillint
from gillint.verify.harness import EXIT_IMPORTED
from gillint.verify.sandbox import INSIDE_WORK, NOBODY, Limits, run_probe
from verify_support import needs_sandbox

pytestmark = pytest.mark.integration

MARKER = f"gillint-hostile-{os.getpid()}"
SECRET = f"SECRET-CANARY-{os.getpid()}"
TOKEN = f"token-canary-{os.getpid()}"
GUARDLESS = "\nfrom multiprocessing import Pool\n\n\ndef f(x):\n    return x\n\n\nPool(2).map(f, [1])\n"


def gil101(attack: str) -> str:
    """A module whose threaded target needs ``_ATTACK``: the attack runs wherever the target is built."""
    return textwrap.dedent(attack) + textwrap.dedent("""

        _ATTACK = _attack()


        def work(n):
            return sum(i * i for i in range(n + _ATTACK))


        def main():
            threads = [threading.Thread(target=work, args=(3_000_000,)) for _ in range(2)]
            for thread in threads:
                thread.start()
    """)


def gil401(attack: str) -> str:
    """A module that attacks at import (whatever fails is ignored), then starts a pool at import."""
    body = textwrap.indent(textwrap.dedent(attack), "    ")
    return f"try:\n{body}\nexcept BaseException:\n    pass\n{GUARDLESS}"


@dataclass
class Setting:
    """Everything the hostile run touched or could have touched, for the checks."""

    project: Path
    outside: Path
    before: dict[str, list[str]]
    document: dict[str, Any]
    sarif: str
    text: str
    returncode: int
    accepted: list[str]
    echo_after: bool


def _listing(path: Path) -> list[str]:
    """Files under ``path`` (byte-code caches aside: gillint itself may write those)."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if "__pycache__" not in p.parts)


def _watched(project: Path, outside: Path) -> dict[str, list[str]]:
    package = Path(gillint.__file__).parent
    return {"project": _listing(project), "outside": _listing(outside), "package": _listing(package),
            "tmp": sorted(n for n in os.listdir("/tmp") if MARKER in n),
            "home": sorted(n for n in os.listdir(os.path.expanduser("~")) if MARKER in n),
            "etc": sorted(n for n in os.listdir("/etc") if MARKER in n)}


class _Listener:
    """Servers the probes try to reach; records every connection accepted."""

    def __init__(self, project: Path, outside: Path) -> None:
        self.accepted: list[str] = []
        self.sockets = []
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        self.port = tcp.getsockname()[1]
        self.sockets.append(("tcp", tcp))
        for name, path in (("unix-in-project", project / "service.sock"), ("unix-outside", outside / "service.sock"),
                           ("abstract", f"\0{MARKER}")):
            server = socket.socket(socket.AF_UNIX)
            server.bind(str(path))
            if not str(path).startswith("\0"):
                os.chmod(path, 0o777)  # world-writable: only the sandbox stands in the way
            self.sockets.append((name, server))
        for name, server in self.sockets:
            server.listen()
            server.settimeout(0.2)
            threading.Thread(target=self._accept, args=(name, server), daemon=True).start()

    def _accept(self, name: str, server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(name)
            connection.close()

    def close(self) -> None:
        for _, server in self.sockets:
            server.close()


def _modules(project: Path, outside: Path, port: int) -> dict[str, str]:
    package = Path(gillint.__file__).parent
    targets = [project / f"{MARKER}.txt", outside / f"{MARKER}.txt", Path("/tmp") / MARKER,
               Path(os.path.expanduser("~")) / MARKER, Path("/etc") / MARKER, package / f"{MARKER}.py",
               Path(sys.prefix) / MARKER, Path("result.json"), Path("/gillint/in/result.json")]
    return {
        "write_anywhere.py": gil401(f"""
            for target in {[str(t) for t in targets]!r}:
                try:
                    open(target, "w").write("written by a probe")
                except OSError:
                    pass
        """),
        # Whatever it reads, it tries to carry out in the message of the exception that ends its import.
        "read_secrets.py": textwrap.dedent(f"""
            import os
            stolen = []
            for attempt in (lambda: open("/etc/shadow").read(), lambda: os.listdir("/root"),
                            lambda: open({str(outside / "secret.txt")!r}).read(), lambda: dict(os.environ)):
                try:
                    stolen.append(attempt())
                except Exception as error:
                    stolen.append(repr(error))
            raise RuntimeError(repr(stolen))
        """) + GUARDLESS,
        "sockets.py": gil401(f"""
            import socket
            for family, address in ((socket.AF_UNIX, {str(project / "service.sock")!r}),
                                    (socket.AF_UNIX, {str(outside / "service.sock")!r}),
                                    (socket.AF_UNIX, "\\0{MARKER}"), (socket.AF_INET, ("127.0.0.1", {port}))):
                try:
                    socket.socket(family).connect(address)
                except OSError:
                    pass
        """),
        "terminal.py": gil401("""
            import fcntl, glob, os, termios
            for name in ["/dev/tty", "/dev/ptmx", *glob.glob("/dev/pts/*"), "/proc/1/fd/0"]:
                try:
                    fd = os.open(name, os.O_RDWR | os.O_NOCTTY)
                    attributes = termios.tcgetattr(fd)
                    attributes[3] &= ~termios.ECHO
                    termios.tcsetattr(fd, termios.TCSANOW, attributes)
                    fcntl.ioctl(fd, termios.TIOCSTI, b"x")
                except OSError:
                    pass
            for fd in range(3):
                try:
                    attributes = termios.tcgetattr(fd)
                    attributes[3] &= ~termios.ECHO
                    termios.tcsetattr(fd, termios.TCSANOW, attributes)
                except (OSError, termios.error):
                    pass
        """),
        "fill_disk.py": gil401(f"""
            block = b"x" * 2**20
            for directory in ("/tmp", ".", {str(project)!r}, {str(outside)!r}):
                try:
                    with open(directory + "/{MARKER}.fill", "wb") as handle:
                        for _ in range(425):
                            handle.write(block)
                except OSError:
                    pass
        """),
        "kill_everyone.py": gil401("""
            import os, signal
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) != os.getpid():
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                    except OSError:
                        pass
            for pid in (os.getppid(), 1, -1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        """),
        "forge_result.py": gil401("""
            import json, os
            fake = json.dumps({"event": "imported", "outcome": "imported", "status": "refuted"}) + "\\n"
            for name in ("result.json", "/tmp/result.json", "/gillint/in/result.json", "/gillint/in/spec.json"):
                try:
                    open(name, "w").write(fake)
                except OSError:
                    pass
            for fd in range(0, 64):
                try:
                    os.write(fd, fake.encode())
                except OSError:
                    pass
        """),
        "fake_completion.py": gil401(f"""
            import os
            os._exit({EXIT_IMPORTED})  # the status the harness uses for a complete import
        """),
        "pids_cgroup.py": gil101(f"""
            import os, threading, time

            def _attack():
                for line in open("/proc/self/cgroup"):  # raise its own cap, or leave for the root group
                    path = line.strip().split(":", 2)[2]
                    for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
                        for name, value in ((path + "/pids.max", "max"), ("/cgroup.procs", str(os.getpid()))):
                            try:
                                open(root + name, "w").write(value)
                            except OSError:
                                pass
                for _ in range(200):
                    try:
                        if os.fork() == 0:
                            os.execv("/bin/sleep", ["sleep-{MARKER}", "600"])
                    except OSError:
                        break
                return 0
        """),
        "daemon.py": gil101(f"""
            import os, threading

            def _attack():
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        os.execv("/bin/sleep", ["daemon-{MARKER}", "600"])
                    os._exit(0)
                return 0
        """),
        "memory.py": gil101("""
            import os, threading, time

            def _attack():
                for _ in range(4):
                    if os.fork() == 0:
                        hoard = []
                        try:
                            while True:
                                hoard.append(bytearray(16 * 2**20))
                        except MemoryError:
                            time.sleep(600)
                return 0
        """),
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    base = tmp_path_factory.mktemp("hostile")
    project, outside = base / "project", base / "outside"
    project.mkdir()
    outside.mkdir()
    # World-writable, so that only the sandbox keeps the probes from writing here.
    os.chmod(base, 0o755)
    os.chmod(project, 0o777)
    os.chmod(outside, 0o777)
    (outside / "secret.txt").write_text(SECRET)
    os.chmod(outside / "secret.txt", 0o644)
    (project / "pyproject.toml").write_text("[tool.gillint.verify]\nmemory-mb = 384\ntimeout = 6\n")
    listener = _Listener(project, outside)
    for name, text in _modules(project, outside, listener.port).items():
        (project / name).write_text(text)
    before = _watched(project, outside)
    leader, follower = pty.openpty()
    env = {**os.environ, "GILLINT_TEST_TOKEN": TOKEN}
    command = [sys.executable, "-m", "gillint", "--verify", "--drop-refuted", "--verify-budget", "300", "--no-cache"]
    try:
        run = subprocess.run([*command, "--format", "json", str(project)], stdin=follower, capture_output=True,
                             text=True, timeout=600, env=env, cwd=base)
        sarif = subprocess.run([*command, "--format", "sarif", "--select", "GIL401", str(project / "read_secrets.py")],
                               capture_output=True, text=True, timeout=300, env=env, cwd=base).stdout
        text = subprocess.run([*command, "--select", "GIL401", str(project / "read_secrets.py")],
                              capture_output=True, text=True, timeout=300, env=env, cwd=base).stdout
        echo = bool(termios.tcgetattr(follower)[3] & termios.ECHO)
    finally:
        os.close(leader)
        os.close(follower)
        listener.close()
    yield Setting(project, outside, before, json.loads(run.stdout or "{}"), sarif, text, run.returncode,
                  listener.accepted, echo)
    for process in _leftovers():
        process.kill()
    shutil.rmtree(base, ignore_errors=True)


LAYERS = """
import ctypes, os, socket
facts = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
         "tty_nr": int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[4]), "root": sorted(os.listdir("/")),
         "dev": sorted(os.listdir("/dev")), "interfaces": [name for _, name in socket.if_nameindex()],
         "environment": sorted(os.environ), "tmp_bytes": os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize}
facts.update(line.split(":\\t") for line in open("/proc/self/status").read().splitlines()
             if line.split(":")[0] in ("CapEff", "CapBnd", "NoNewPrivs", "Seccomp"))
for name, path in (("shadow", "/etc/shadow"), ("home", "/home"), ("sys", "/sys/fs/cgroup"), ("tty", "/dev/tty")):
    facts[name] = os.path.exists(path)
try:
    socket.socket(socket.AF_UNIX)
    facts["unix_socket"] = "created"
except OSError as error:
    facts["unix_socket"] = type(error).__name__
facts["socketpair"] = len(socket.socketpair())
try:
    open("/usr/gillint-probe-was-here", "w")
    facts["usr_writable"] = True
except OSError:
    facts["usr_writable"] = False
result = facts
"""


@needs_sandbox
def test_each_isolation_layer_is_in_place() -> None:
    """One probe reports what it sees; each layer of docs/verifier.md's table shows."""
    run = run_probe({}, {"code": LAYERS}, Limits(file_mb=32))
    assert run.result is not None and run.result["outcome"] == "ran", run.output
    facts = eval(run.result["value"])  # noqa: S307 - our own repr of plain data
    if os.geteuid() == 0:  # unprivileged user: root becomes nobody, without capabilities
        assert (facts["uid"], facts["gid"], facts["groups"]) == (NOBODY, NOBODY, [])
    assert int(facts["CapEff"], 16) == 0 and int(facts["CapBnd"], 16) == 0 and facts["NoNewPrivs"] == "1"
    assert facts["pid"] <= 3 and facts["tty_nr"] == 0  # own PID namespace; no controlling terminal
    assert set(facts["root"]) <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev",
                                  "tmp", "gillint", "root", "home", "work", "opt", "srv", "mnt", "var"}
    assert not facts["shadow"] and not facts["sys"] and not facts["tty"] and not facts["usr_writable"]
    assert facts["dev"] == ["fd", "full", "null", "random", "shm", "urandom", "zero"]  # no pts, no tty
    assert facts["interfaces"] == ["lo"]  # own network namespace
    assert facts["Seccomp"] == "2" and facts["unix_socket"] == "PermissionError" and facts["socketpair"] == 2
    assert facts["tmp_bytes"] == 32 * 2**20  # the disk quota: a size-limited private /tmp
    assert "GILLINT_TEST_TOKEN" not in facts["environment"] and "HOME" in facts["environment"]
    assert INSIDE_WORK == "/tmp"


def _leftovers() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if MARKER in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found


def _verdicts(setting: Setting) -> dict[str, dict[str, Any]]:
    return {Path(f["path"]).name: f for f in setting.document.get("findings", [])}


@needs_sandbox
def test_the_parent_survives_and_reports_every_real_finding(hostile: Setting) -> None:
    """No probe can signal gillint (own PID namespace); --drop-refuted drops none of the attackers."""
    assert hostile.returncode == 1, hostile.document
    found = _verdicts(hostile)
    assert set(found) == {name for name in _modules(hostile.project, hostile.outside, 0)}, sorted(found)
    statuses = {name: finding["verification"]["status"] for name, finding in found.items()}
    assert "refuted" not in statuses.values(), statuses


@needs_sandbox
def test_forged_results_do_not_change_the_verdict(hostile: Setting) -> None:
    found = _verdicts(hostile)
    assert found["forge_result.py"]["verification"]["status"] == "confirmed"  # the kernel saw the fork
    faked = found["fake_completion.py"]["verification"]
    assert faked["status"] == "inconclusive" and "ended its own import early" in faked["summary"]


@needs_sandbox
def test_nothing_is_written_outside_the_probe(hostile: Setting) -> None:
    assert _watched(hostile.project, hostile.outside) == hostile.before


@needs_sandbox
def test_nothing_is_left_running(hostile: Setting) -> None:
    assert not _leftovers()


@needs_sandbox
def test_no_service_is_reachable(hostile: Setting) -> None:
    """TCP on loopback, a world-writable unix socket inside the (visible) project and outside it,
    an abstract unix socket: none accepted a connection."""
    assert hostile.accepted == []


@needs_sandbox
def test_the_terminal_is_untouched(hostile: Setting) -> None:
    assert hostile.echo_after


@needs_sandbox
def test_no_secret_reaches_any_report(hostile: Setting) -> None:
    verdict = _verdicts(hostile)["read_secrets.py"]["verification"]
    assert verdict["status"] == "inconclusive"
    for output in (json.dumps(hostile.document), hostile.sarif, hostile.text):
        assert SECRET not in output and TOKEN not in output and "root:" not in output
    assert "verified: inconclusive" in hostile.text


@needs_sandbox
def test_resource_attacks_are_contained(hostile: Setting) -> None:
    """The fork bomb stops at the pids cap, the memory hog at the probe's memory limit: the probes
    still give a verdict (or say why not), and the machine is fine."""
    found = _verdicts(hostile)
    for name in ("pids_cgroup.py", "memory.py", "fill_disk.py"):
        assert found[name]["verification"]["status"] in ("confirmed", "inconclusive"), found[name]


def test_verify_refuses_without_isolation_unless_told(tmp_path: Path) -> None:
    """Without bubblewrap on PATH, --verify is an error naming what is missing; --verify-unsandboxed
    (for trusted code) runs the probes as plain child processes."""
    (tmp_path / "script.py").write_text(GUARDLESS)
    env = {**os.environ, "PATH": str(tmp_path)}
    refused = subprocess.run([sys.executable, "-m", "gillint", "--verify", str(tmp_path / "script.py")],
                             capture_output=True, text=True, timeout=120, env=env)
    assert refused.returncode == 2 and "bubblewrap" in refused.stderr and "--verify-unsandboxed" in refused.stderr
    trusted = subprocess.run([sys.executable, "-m", "gillint", "--verify-unsandboxed", str(tmp_path / "script.py")],
                             capture_output=True, text=True, timeout=120, env=env)
    assert trusted.returncode == 1 and "verified: confirmed" in trusted.stdout, trusted.stdout + trusted.stderr
