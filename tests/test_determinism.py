"""The same findings, in the same order, whatever the order of the paths on the command line and
however the work is split (``--jobs``) or cached."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from fixture_support import Case, cases
from gillint.frontends.cli import main as gillint_main
from test_cli import UNGUARDED, gillint, write

CASES = cases()

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


# -- a file's findings do not depend on what else is linted or cached ------------------------------


def _findings(*args: str, cwd: Path) -> set[tuple[str, int, int, str, str]]:
    """(resolved path, line, column, code, message) of an in-process ``gillint`` run."""
    out = io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out):
            code = gillint_main(["--format", "json", "--select", "GIL", *args])
    finally:
        os.chdir(previous)
    assert code in (0, 1)
    document = json.loads(out.getvalue())
    return {(str((cwd / f["path"]).resolve()), f["line"], f["column"], f["code"], f["message"])
            for f in [*document["findings"], *document["errors"]]}


def _in(findings: set[tuple[str, int, int, str, str]], path: Path) -> set[tuple[str, int, int, str, str]]:
    return {finding for finding in findings if finding[0] == str(path.resolve())}


def _three_ways(root: Path, tmp_path: Path) -> None:
    """Each file alone, the whole tree, and a warm cache after removing a file agree on every file."""
    files = sorted(root.rglob("*.py"))
    whole = _findings("--no-cache", ".", cwd=root)
    for file in files:
        alone = _findings("--no-cache", str(file.relative_to(root)), cwd=root)
        assert _in(alone, file) == _in(whole, file), f"{file.name} alone"
    for removed in files if len(files) > 1 else []:
        cache = tmp_path / f"cache-{removed.name}"
        _findings("--cache-dir", str(cache), ".", cwd=root)
        text = removed.read_bytes()
        removed.unlink()
        try:
            warm = _findings("--cache-dir", str(cache), ".", cwd=root)
            assert warm == _findings("--no-cache", ".", cwd=root), f"warm cache after removing {removed.name}"
        finally:
            removed.write_bytes(text)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture_findings_do_not_depend_on_what_else_is_linted_or_cached(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "project"
    if case.path.is_dir():
        shutil.copytree(case.path, root)
    else:
        root.mkdir()
        shutil.copy(case.path, root / case.path.name)
    _three_ways(root, tmp_path)


STATE = "counter = 0\n\n\ndef bump():\n    global counter\n    counter += 1\n"
STARTER = ("import threading\nfrom state import bump\n\n\ndef run():\n"
           "    threads = [threading.Thread(target=bump) for _ in range(4)]\n"
           "    for thread in threads:\n        thread.start()\n")


def test_a_finding_revealed_by_two_files_survives_removing_one_with_a_warm_cache(tmp_path: Path) -> None:
    """GIL301 de-duplicated findings through a memo shared across files: a warm cache then lost them."""
    for name, text in {"state.py": STATE, "a.py": STARTER, "b.py": STARTER}.items():
        write(tmp_path, name, text)
    cache = str(tmp_path / "cache")
    state = tmp_path / "state.py"
    assert [f[1] for f in _in(_findings("--cache-dir", cache, ".", cwd=tmp_path), state)] == [6]
    (tmp_path / "a.py").unlink()
    assert [f[1] for f in _in(_findings("--cache-dir", cache, ".", cwd=tmp_path), state)] == [6]
    assert [f[1] for f in _in(_findings("--no-cache", ".", cwd=tmp_path), state)] == [6]


def _chain(length: int) -> str:
    calls = "".join(f"def f{i}(n):\n    return f{i + 1}(n)\n\n\n" for i in range(length - 1))
    hot = f"def f{length - 1}(n):\n    total = 0\n    for i in range(n):\n        total += i * i\n    return total\n"
    return calls + hot


def _mapper(function: str) -> str:
    return ("from concurrent.futures import ThreadPoolExecutor\nfrom kernels import " + function + "\n\n\n"
            "def run(sizes):\n    with ThreadPoolExecutor(max_workers=4) as pool:\n"
            f"        return list(pool.map({function}, sizes))\n")


def test_a_deep_call_chain_gives_the_same_findings_whichever_file_asks_first(tmp_path: Path) -> None:
    """The effects memo ignored the call-depth budget: an answer computed near the limit was reused."""
    write(tmp_path, "kernels.py", _chain(8))
    write(tmp_path, "b_inner.py", _mapper("f3"))
    write(tmp_path, "a_outer.py", _mapper("f0"))
    inner = tmp_path / "b_inner.py"
    alone = _in(_findings("--no-cache", "b_inner.py", cwd=tmp_path), inner)
    assert [f[3] for f in alone] == ["GIL101"]
    assert _in(_findings("--no-cache", ".", cwd=tmp_path), inner) == alone
    _three_ways(tmp_path, tmp_path / "caches")


def test_a_cached_result_is_recomputed_once_a_missing_import_appears(tmp_path: Path) -> None:
    write(tmp_path, "script.py", "from workers import run_all\n\nrun_all()\n")
    cache = str(tmp_path / "cache")
    assert _findings("--cache-dir", cache, ".", cwd=tmp_path) == set()
    write(tmp_path, "workers.py", "from multiprocessing import Pool\n\n\ndef run_all():\n"
                                  "    with Pool(2) as pool:\n        pool.map(abs, [1])\n")
    found = _in(_findings("--cache-dir", cache, ".", cwd=tmp_path), tmp_path / "script.py")
    assert [(line, code) for _, line, _, code, _ in found] == [(3, "GIL401")]


def test_a_cached_result_is_recomputed_when_an_unloaded_module_starts_to_matter(tmp_path: Path) -> None:
    """The prefilter's verdict that ``helpers.make`` reaches no process API spared loading helpers.py;
    once helpers.py starts a process, the importer's cached result must not stand."""
    write(tmp_path, "script.py", "import multiprocessing\nfrom helpers import make\n\nmake()\n")
    write(tmp_path, "helpers.py", "def make():\n    return 1\n")
    cache = str(tmp_path / "cache")
    assert _findings("--cache-dir", cache, ".", cwd=tmp_path) == set()
    write(tmp_path, "helpers.py", "from multiprocessing import Pool\n\n\ndef make():\n    return Pool(2)\n")
    found = _in(_findings("--cache-dir", cache, ".", cwd=tmp_path), tmp_path / "script.py")
    assert [(line, code) for _, line, _, code, _ in found] == [(4, "GIL401")]
