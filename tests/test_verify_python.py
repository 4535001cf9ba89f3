"""``--verify-python``: the probes run under another interpreter, and every verdict names its build."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from pathlib import Path
from typing import Optional

import pytest

from test_cli import gillint, write
from verify_support import needs_sandbox

pytestmark = [pytest.mark.integration, needs_sandbox]

PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def _interpreter(version: str) -> Optional[str]:
    """A pyenv CPython of ``version`` (``3.9``) that is not the one running the tests."""
    for prefix in sorted(glob.glob(str(PYENV / f"{version}.*"))):
        python = Path(prefix) / "bin" / "python3"
        if python.exists() and os.path.realpath(python) != os.path.realpath(sys.executable):
            return str(python)
    return None


def _free_threaded() -> Optional[str]:
    """A free-threaded interpreter (python3.13t, python3.14t, a pyenv 3.13t), when one is installed."""
    for name in ("python3.14t", "python3.13t"):
        found = shutil.which(name)
        if found:
            return found
    found = sorted(glob.glob(str(PYENV / "3.1[3-9]*t" / "bin" / "python3*t")))
    return found[0] if found else None


LAMBDA_TO_POOL = """\
from concurrent.futures import ProcessPoolExecutor


def main(items):
    with ProcessPoolExecutor() as executor:
        return list(executor.map(lambda x: x * 2, items))
"""


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_the_verdict_names_the_interpreter_it_ran_on(tmp_path: Path, version: str) -> None:
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no pyenv CPython {version} here (other than the one running the tests)")
    write(tmp_path, "work.py", LAMBDA_TO_POOL)
    done = gillint("--no-cache", "--verify", "--verify-python", python, "work.py", cwd=tmp_path)
    out = done.stdout.decode()
    assert "GIL201" in out and "verified: confirmed" in out, out + done.stderr.decode()
    assert f"CPython {version}." in out and "(GIL)" in out


def test_an_interpreter_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, "work.py", LAMBDA_TO_POOL)
    done = gillint("--no-cache", "--verify", "--verify-python", str(tmp_path / "python9"), "work.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "is not an interpreter that can be run" in done.stderr.decode()


RACE_AND_CPU = """\
import threading

hits = 0
N = 300_000


def record(n):
    global hits
    for _ in range(n):
        hits += 1


def sum_of_squares(n):
    return sum(i * i for i in range(n))


def main():
    threads = [threading.Thread(target=record, args=(N,)) for _ in range(4)]
    threads += [threading.Thread(target=sum_of_squares, args=(N,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
"""


def test_a_free_threaded_build_races_without_preemption_and_scales() -> None:
    python = _free_threaded()
    if python is None:
        pytest.skip("no free-threaded interpreter installed (python3.13t, python3.14t); pyenv here has GIL builds only")
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write(root, "work.py", RACE_AND_CPU)
        out = gillint("--no-cache", "--verify", "--verify-python", python, "work.py", cwd=root).stdout.decode()
    assert "free-threaded, GIL disabled" in out
    race = next(line for line in out.splitlines() if "GIL301" in line)
    verdicts = out.splitlines()
    race_verdict = verdicts[verdicts.index(race) + 1]
    assert "not preempted" in race_verdict or "inconclusive" in race_verdict
    cpu = [verdicts[i + 1] for i, line in enumerate(verdicts) if "GIL101" in line and "sum_of_squares" in line]
    assert cpu and all("refuted" in verdict and "free-threaded" in verdict for verdict in cpu)
