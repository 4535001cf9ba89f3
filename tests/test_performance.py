"""The speed machinery changes nothing but speed: prefilter, --jobs and the cache give the same findings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixture_support import Case, cases
from gillint.config import Config
from gillint.engine import parallel
from gillint.engine.discovery import discover
from gillint.engine.prefilter import select
from gillint.engine.run import lint
from gillint.findings import Finding
from gillint.project import ModuleInfo, Project
from gillint.project.model import ModuleShelf

CASES = cases()

WORKERS = """\
import multiprocessing


def square(x):
    return x * x


def run_all(items):
    with multiprocessing.Pool(2) as pool:
        return pool.map(square, items)
"""
#: kernels.py starts nothing and mentions no concurrency: the prefilter skips it.
KERNELS_QUIET = "def run_all(items):\n    return [x * x for x in items]\n"
KERNELS_STARTS = "from workers import run_all as start\n\n\ndef run_all(items):\n    return start(items)\n"
RUNNER = "from kernels import run_all\n\nprint(run_all(range(3)))\n"


def _lint(paths: list[Path], config: Config, **options: object) -> list[Finding]:
    return lint(discover([str(p) for p in paths], config), config, **options).findings  # type: ignore[arg-type]


def _full(findings: list[Finding]) -> list[tuple]:
    """Everything a finding says, evidence included (Finding equality ignores evidence)."""
    return [(f.path, f.line, f.column, f.end_line, f.end_column, f.code, f.message,
             json.dumps(f.to_dict()["evidence"], sort_keys=True)) for f in findings]


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")


# -- prefilter ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_prefilter_never_changes_findings(case: Case) -> None:
    """Every fixture case, every rule enabled: the same findings with and without the prefilter."""
    root = case.path if case.path.is_dir() else case.path.parent
    config = Config(root=root)
    with_prefilter = _lint([case.path], config, prefilter=True)
    without = _lint([case.path], config, prefilter=False)
    assert _full(with_prefilter) == _full(without)


def test_prefilter_follows_relevant_imports(tmp_path: Path) -> None:
    files = {
        "workers.py": WORKERS,
        "kernels.py": KERNELS_STARTS,  # imports a relevant name: chosen, and its run_all is relevant
        "runner.py": RUNNER,  # imports kernels.run_all: chosen in the second wave
        "attribute.py": "import workers\n\nworkers.run_all([1])\n",
        "star.py": "from workers import *\n",
        "irrelevant.py": "from workers import square\nimport workers\n\nprint(workers.square(2))\n",
        "unrelated.py": "import os\n\nprint(os.getcwd())\n",
        # logs.py uses threading, but record() mentions the APIs only in prose: it is not relevant.
        "logs.py": 'import threading\n\nLOCK = threading.Lock()\n\n\ndef record():\n'
                   '    """Process ID, Thread name."""\n',
        "user.py": "from logs import record, LOCK\n\nrecord()\n",
    }
    _write(tmp_path, files)
    paths = [tmp_path / name for name in files]
    verdicts = dict(zip(files, select(paths, [p.read_bytes() for p in paths]).chosen))
    assert verdicts == {
        "workers.py": True, "kernels.py": True, "runner.py": True, "attribute.py": True, "star.py": True,
        "irrelevant.py": False, "unrelated.py": False,
        "logs.py": True, "user.py": False,
    }


def test_skipped_files_still_report_syntax_errors(tmp_path: Path) -> None:
    _write(tmp_path, {"broken.py": "def f(:\n    pass\n"})
    (finding,) = _lint([tmp_path], Config(root=tmp_path))
    assert finding.code == "GIL000" and "syntax error" in finding.message and finding.line == 1


# -- --jobs ---------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project of several files, cut into one chunk per file."""
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1)
    _write(tmp_path, {"workers.py": WORKERS, "kernels.py": KERNELS_STARTS, "runner.py": RUNNER,
                      "direct.py": "from multiprocessing import Pool\n\nPool(2)\n",
                      "guarded.py": "from multiprocessing import Pool\n\nif __name__ == '__main__':\n    Pool(2)\n",
                      "broken.py": "import threading\ndef f(:\n", "quiet.py": "x = 1\n"})
    return tmp_path


def test_jobs_give_identical_results(project: Path) -> None:
    config = Config(root=project)
    one = _full(_lint([project], config, jobs=1))
    assert [(Path(p).name, line, code) for p, line, _, _, _, code, _, _ in one] == [
        ("broken.py", 2, "GIL000"), ("direct.py", 3, "GIL401"), ("runner.py", 3, "GIL401"),
    ]
    assert _full(_lint([project], config, jobs=2)) == one
    assert _full(_lint([project], config, jobs=3, start_method="spawn")) == one


def test_the_module_shelf_reuses_a_module_only_while_its_source_is_the_same(tmp_path: Path) -> None:
    """Projects of one process share imported modules through the shelf, never a stale one."""
    _write(tmp_path, {"workers.py": WORKERS, "runner.py": "import workers\n"})
    shelf = ModuleShelf(budget=10**6)

    def imported() -> ModuleInfo:
        project = Project([tmp_path], shelf=shelf)
        project.add_module(tmp_path / "runner.py", "runner.py", "import workers\n")
        found = project.module("workers")
        assert found is not None
        return found

    first = imported()
    assert imported() is first
    _write(tmp_path, {"workers.py": WORKERS + "\nsquare(2)\n"})
    assert imported() is not first
    assert shelf.evicted == [first]


def test_the_module_shelf_keeps_its_budget() -> None:
    shelf = ModuleShelf(budget=12)  # two modules of 6 characters
    modules = [ModuleInfo.build(Path(f"/m{i}.py"), f"m{i}.py", f"m{i}", False, "x = 1\n") for i in range(3)]
    for module in modules:
        shelf.put(module.path, module.name, "x = 1\n", module)
    assert [m in shelf for m in modules] == [False, True, True]
    assert shelf.evicted == modules[:1]


# -- cache ----------------------------------------------------------------------------------------


def _touch_content(path: Path, text: str) -> None:
    """Rewrite a file; the mtime moves on even on coarse clocks (the cache compares size and mtime)."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_cache_gives_the_same_findings_and_follows_dependencies(tmp_path: Path) -> None:
    source, cache = tmp_path / "src", tmp_path / "cache"
    source.mkdir()
    _write(source, {"workers.py": WORKERS, "kernels.py": KERNELS_STARTS, "runner.py": RUNNER})
    config = Config(root=source)

    def run(**options: object) -> list[tuple]:
        return _full(_lint([source], config, cache_dir=cache, **options))

    uncached = _full(_lint([source], config))
    assert [Path(f[0]).name for f in uncached] == ["runner.py"]
    assert run() == uncached  # cold
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    assert run() == uncached  # warm
    # runner.py did not change, but what it calls no longer starts a process.
    _touch_content(source / "kernels.py", KERNELS_QUIET)
    assert run() == _full(_lint([source], config)) == []
    _touch_content(source / "kernels.py", KERNELS_STARTS)
    assert run() == uncached
    # A dependency of a dependency: workers.py stops starting a process.
    serial = WORKERS.replace("with multiprocessing.Pool(2) as pool:\n        return pool.map(square, items)",
                             "return [square(x) for x in items]")
    assert serial != WORKERS
    _touch_content(source / "workers.py", serial)
    assert run() == _full(_lint([source], config)) == []


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[1, 2]", b'{"format": 1, "entries": {"x": 3}, "files": []}',
                                     b'{"format": 1, "files": {"a": [1]}, "entries": {"a": {"hash": 1, "deps": 5}}}'])
def test_corrupt_or_foreign_cache_is_ignored(tmp_path: Path, garbage: bytes) -> None:
    source, cache = tmp_path / "src", tmp_path / "cache"
    source.mkdir()
    _write(source, {"workers.py": WORKERS, "kernels.py": KERNELS_STARTS, "runner.py": RUNNER})
    config = Config(root=source)
    expected = _full(_lint([source], config))
    _lint([source], config, cache_dir=cache)
    (stored,) = cache.glob("run-*.json")
    stored.write_bytes(garbage)
    assert _full(_lint([source], config, cache_dir=cache)) == expected
    assert _full(_lint([source], config, cache_dir=cache)) == expected


def test_unwritable_cache_is_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path, {"direct.py": "from multiprocessing import Pool\n\nPool(2)\n"})
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert len(_lint([tmp_path / "direct.py"], Config(root=tmp_path), cache_dir=blocker / "cache")) == 1


def test_cache_respects_noqa_and_configuration(tmp_path: Path) -> None:
    source, cache = tmp_path / "src", tmp_path / "cache"
    source.mkdir()
    _write(source, {"direct.py": "from multiprocessing import Pool\n\nPool(2)\n"})
    assert len(_lint([source], Config(root=source), cache_dir=cache)) == 1
    assert _lint([source], Config(root=source, ignore=("GIL401",)), cache_dir=cache) == []
    _touch_content(source / "direct.py", "from multiprocessing import Pool\n\nPool(2)  # noqa: GIL401\n")
    assert _lint([source], Config(root=source), cache_dir=cache) == []


def test_cli_cache_lives_at_the_project_root(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text("[tool.gillint]\nselect = ['GIL4']\n", encoding="utf-8")
    package = tmp_path / "pkg"
    package.mkdir()
    _write(package, {"direct.py": "from multiprocessing import Pool\n\nPool(2)\n"})

    def gillint(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gillint", *args, str(package)], capture_output=True,
                              cwd=package, timeout=120)

    assert gillint("--no-cache").returncode == 1
    assert not (tmp_path / ".gillint_cache").exists()
    first, second = gillint("--jobs", "2"), gillint()
    assert first.returncode == second.returncode == 1 and b"GIL401" in first.stdout and first.stdout == second.stdout
    assert (tmp_path / ".gillint_cache" / ".gitignore").is_file()
    assert gillint("--jobs", "0").returncode == 2


def test_prefilter_ignores_imports_that_name_no_module(tmp_path: Path) -> None:
    """``from . import x`` in a top-level script, and import-like text, name no file to read."""
    script = tmp_path / "script.py"
    data = b"from . import sibling\nfrom .. import up\nimport a..b\nx = 1\n"
    script.write_bytes(data)
    assert select([script], [data]).chosen == [False]
