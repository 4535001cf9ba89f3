"""``--format github``: GitHub Actions workflow commands, escaped as GitHub's toolkit escapes them."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from gillint.findings import Finding, Severity, analysis_error
from gillint.frontends.cli import main as gillint_main
from gillint.report.github import annotation, escape_data, escape_property


def test_escaping() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("a: b, c") == "a: b, c"
    assert escape_property("dir,x/a:b%.py\n") == "dir%2Cx/a%3Ab%25.py%0A"


def test_annotation_properties_and_severity() -> None:
    finding = Finding("pkg/a,b.py", 3, 8, 3, 31, "GIL401", "missing-main-guard", "50% of: it\nbreaks",
                      Severity.ERROR)
    assert annotation(finding) == (
        "::error file=pkg/a%2Cb.py,line=3,col=8,endLine=3,endColumn=30,"
        "title=GIL401 missing-main-guard::50%25 of: it%0Abreaks"
    )
    warning = Finding("a.py", 1, 1, 4, 2, "GIL101", "cpu-bound-thread", "m", Severity.WARNING)
    assert annotation(warning).startswith("::warning file=a.py,line=1,col=1,endLine=4,endColumn=2,")
    note = Finding("a.py", 1, 5, 1, 5, "GIL999", "x", "m", Severity.NOTE)
    assert annotation(note).startswith("::notice ") and "col=5,endLine=1,endColumn=5," in annotation(note)
    assert annotation(analysis_error("a.py", "syntax error")).startswith("::error file=a.py,line=1,col=1,")


def test_cli_github_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text("import multiprocessing\n\npool = multiprocessing.Pool(2)\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with redirect_stdout(out):
        assert gillint_main(["--format", "github", "."]) == 1
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines  # one command per finding, no summary line
    expected = "::error file=app.py,line=3,col=8,endLine=3,endColumn=30,title=GIL401 missing-main-guard::"
    assert lines[0].startswith(expected)
    assert lines[1].startswith("::error file=broken.py,line=1,") and "title=GIL000 analysis-error::" in lines[1]
