"""Importers found for the flake8 plugin, and lint()'s context files (checked, never reported)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gillint.config import Config
from gillint.engine.discovery import SourceFile
from gillint.engine.importers import importers
from gillint.engine.run import lint


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_importers_nearest_first_and_only_dispatching(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/state.py": "COUNT = 0\n",
        "app/server.py": "import threading\nfrom app import state\n",
        "app/util.py": "from .state import COUNT\n",  # no dispatch: followed, not returned
        "app/main.py": "from concurrent.futures import ThreadPoolExecutor\nfrom app.util import (\n    helper,\n)\n",
        "app/other.py": "import threading\nimport os\n",
        "build/copy.py": "import threading\nfrom app import state\n",  # excluded directory
    })
    found = importers(tmp_path / "app" / "state.py", Config(root=tmp_path))
    assert [p.relative_to(tmp_path.resolve()).as_posix() for p in found] == ["app/server.py", "app/main.py"]
    assert importers(tmp_path / "app" / "state.py", Config(root=tmp_path), limit=1) == found[:1]
    assert importers(tmp_path / "app" / "state.py", Config(root=tmp_path), depth=1) == found[:1]


def test_context_findings_and_errors_are_not_reported(tmp_path: Path) -> None:
    write(tmp_path, {
        "workers.py": "def run(items):\n    return items\n",
        "script.py": "import multiprocessing\nimport workers\n\npool = multiprocessing.Pool(2)\n",
        "broken.py": "import workers\ndef f(:\n",
    })
    config = Config(root=tmp_path)
    context = [SourceFile(tmp_path / name, name) for name in ("script.py", "broken.py")]
    result = lint([SourceFile(tmp_path / "workers.py", "workers.py")], config, context=context)
    assert result.findings == [] and result.files == 1
    alone = lint(context[:1], config)
    assert [f.code for f in alone.findings] == ["GIL401"]


def test_cli_named_file_checks_its_importers_but_reports_only_itself(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from gillint.frontends.cli import main

    write(tmp_path, {
        "workers.py": "def run(items):\n    return items\n",
        "script.py": "import multiprocessing\nimport workers\n\npool = multiprocessing.Pool(2)\n",
    })
    monkeypatch.chdir(tmp_path)
    assert main(["workers.py"]) == 0
    assert "All clear: no findings in 1 file." in capsys.readouterr().out
    assert main(["script.py", "workers.py"]) == 1
