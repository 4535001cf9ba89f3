"""``--format gitlab``: GitLab Code Quality issues (the Code Climate subset GitLab reads)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from gillint.frontends.cli import main as gillint_main

BAD = "import multiprocessing\n\npool = multiprocessing.Pool(2)\n"


def test_issues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text(BAD + "other = multiprocessing.Pool(2)\n" + BAD.splitlines()[2] + "\n",
                                             encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with redirect_stdout(out):
        assert gillint_main(["--format", "gitlab", "."]) == 1
    issues = json.loads(out.getvalue())
    assert [(i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues] == [
        ("GIL000", "broken.py", 1), ("GIL401", "pkg/app.py", 3), ("GIL401", "pkg/app.py", 4),
        ("GIL401", "pkg/app.py", 5),
    ]
    for issue in issues:
        assert issue["type"] == "issue" and issue["severity"] == "critical"
        assert issue["description"].startswith(issue["check_name"] + " ")
        assert len(issue["fingerprint"]) == 32
    # GitLab keeps one issue per fingerprint: identical lines 3 and 5 must still differ.
    assert len({i["fingerprint"] for i in issues}) == len(issues)
