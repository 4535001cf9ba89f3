"""The same findings, in the same order, whatever the order of the paths on the command line and
however the work is split (``--jobs``) or cached."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from test_cli import UNGUARDED, gillint, write

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/workers.py": "def work(x):\n    return x * 2\n",
    "pkg/run.py": "from multiprocessing import Pool\nfrom pkg.workers import work\n\nPool(2).map(work, [1])\n",
    "b.py": UNGUARDED,
    "a.py": UNGUARDED + "\n" + UNGUARDED.splitlines()[-1] + "\n",
    "broken.py": "def f(:\n",
    "z/deep.py": "x = " + "(" * 500 + ")" * 500 + "\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in PROJECT.items():
        write(tmp_path, name, text)
    return tmp_path


def test_path_order_does_not_change_the_output(project: Path) -> None:
    paths = ["a.py", "b.py", "broken.py", "pkg", "z"]
    outputs = set()
    for order in itertools.islice(itertools.permutations(paths), 0, None, 17):
        result = gillint("--format", "json", *order, cwd=project)
        assert result.returncode == 1
        outputs.add(result.stdout)
    assert len(outputs) == 1
    whole = gillint("--format", "json", ".", cwd=project).stdout
    assert whole.replace(b"./", b"") == outputs.pop().replace(b"./", b"")


def test_repeated_runs_are_identical(project: Path) -> None:
    runs = {gillint("--format", "json", ".", cwd=project).stdout for _ in range(3)}
    assert len(runs) == 1


def test_jobs_do_not_change_the_output(project: Path) -> None:
    outputs = {gillint("--format", "json", "--jobs", str(jobs), ".", cwd=project).stdout for jobs in (1, 2, 4)}
    assert len(outputs) == 1


def test_cache_state_does_not_change_the_output(project: Path) -> None:
    cold = gillint("--format", "json", ".", cwd=project).stdout
    warm = gillint("--format", "json", ".", cwd=project).stdout
    uncached = gillint("--format", "json", "--no-cache", ".", cwd=project).stdout
    assert cold == warm == uncached
