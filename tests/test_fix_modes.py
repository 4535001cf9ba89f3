"""The fix modes of the command line and what the reports say about fixes: ``--diff`` applied by git
and patch, ``fix`` objects in JSON and SARIF, ``fixable``/``unfixable``, ``--show-fixes``, conflicts,
encodings."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from gillint.config import Config
from gillint.engine.discovery import SourceFile
from gillint.fix.engine import FileFixes, Target, fix_text
from gillint.fix.model import Edit
from gillint.frontends.cli import main as gillint_main
from test_fixes import CASES, FIXES
from test_sarif import validate

LAMBDA = (
    "from concurrent.futures import ProcessPoolExecutor\n\n\n"
    "def main(items):\n"
    "    with ProcessPoolExecutor() as pool:\n"
    "        return list(pool.map(lambda x: x + 1, items))\n"
)
FIXED_LAMBDA = (
    "from concurrent.futures import ProcessPoolExecutor\n\n\n"
    "def _main_lambda(x):\n    return x + 1\n\n\n"
    "def main(items):\n"
    "    with ProcessPoolExecutor() as pool:\n"
    "        return list(pool.map(_main_lambda, items))\n"
)
COUNTER = (
    "import threading\n\ncount = 0\n\n\ndef work():\n    global count\n    count += 1\n\n\n"
    "def start():\n    for _ in range(4):\n        threading.Thread(target=work).start()\n"
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gillint", "--no-cache", "-j1", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def report(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert gillint_main(["--no-cache", "-j1", *args]) in (0, 1)
    return json.loads(out.getvalue())


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """What a consumer of the JSON output does with a fix's edits (rows and columns 1-based)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(where: dict[str, int]) -> int:
        return starts[where["row"] - 1] + where["column"] - 1 if where["row"] <= len(lines) else len(text)

    for edit in sorted(edits, key=lambda e: (e["location"]["row"], e["location"]["column"]), reverse=True):
        text = text[:offset(edit["location"])] + edit["content"] + text[offset(edit["end_location"]):]
    return text


@pytest.mark.integration
@pytest.mark.parametrize("code", sorted({case.code for case in CASES}))
def test_diff_applies_with_git_and_patch(code: str, tmp_path: Path) -> None:
    """``--diff`` for every single-file case of a code, applied by ``git apply`` and by ``patch -p1``
    from the repository root: the files become what ``--fix --unsafe-fixes`` makes of them."""
    repo = tmp_path / "repo"
    cases = [case for case in CASES if case.code == code and case.path.is_file()]
    for case in cases:
        shutil.copy(case.path, repo / case.path.name if repo.exists() else _mkdir(repo) / case.path.name)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    diff = run("--diff", "--unsafe-fixes", "--select", code, ".", cwd=repo)
    assert diff.returncode == 1, diff.stderr
    assert "Would fix" in diff.stderr
    (tmp_path / "fix.diff").write_text(diff.stdout, encoding="utf-8")
    for apply in (["git", "apply", str(tmp_path / "fix.diff")], ["patch", "-p1", "-i", str(tmp_path / "fix.diff")]):
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=repo, check=True)
        applied = subprocess.run(apply, cwd=repo, capture_output=True, text=True)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        for case in cases:
            expected = case.expected(case.path, unsafe=True).read_text(encoding="utf-8")
            assert (repo / case.path.name).read_text(encoding="utf-8") == expected, f"{apply[0]}: {case.id}"
    again = run("--diff", "--unsafe-fixes", "--select", code, ".", cwd=repo)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


@pytest.mark.integration
def test_diff_keeps_line_endings_and_a_missing_last_newline(tmp_path: Path) -> None:
    (tmp_path / "crlf.py").write_bytes(LAMBDA.replace("\n", "\r\n").encode())
    (tmp_path / "last.py").write_bytes(LAMBDA.rstrip("\n").encode())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    diff = subprocess.run([sys.executable, "-m", "gillint", "--no-cache", "-j1", "--diff", "."], cwd=tmp_path,
                          capture_output=True, timeout=300)
    assert b"\\ No newline at end of file" in diff.stdout and b"+def _main_lambda(x):\r\n" in diff.stdout
    (tmp_path / "fix.diff").write_bytes(diff.stdout)
    applied = subprocess.run(["git", "apply", "fix.diff"], cwd=tmp_path, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "crlf.py").read_bytes() == FIXED_LAMBDA.replace("\n", "\r\n").encode()
    assert (tmp_path / "last.py").read_bytes() == FIXED_LAMBDA.rstrip("\n").encode()


def test_fix_keeps_encoding_bom_and_line_endings(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n# café\n" + LAMBDA).encode("latin-1"))
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + LAMBDA.replace("\n", "\r\n").encode())
    assert gillint_main(["--fix", "--no-cache", "-j1", str(tmp_path)]) == 0
    assert latin.read_bytes() == ("# -*- coding: latin-1 -*-\n# café\n" + FIXED_LAMBDA).encode("latin-1")
    assert bom.read_bytes() == b"\xef\xbb\xbf" + FIXED_LAMBDA.replace("\n", "\r\n").encode()


def test_json_has_ruffs_fix_objects(tmp_path: Path) -> None:
    source = tmp_path / "inline.py"
    source.write_text(LAMBDA, encoding="utf-8")
    (tmp_path / "counter.py").write_text(COUNTER, encoding="utf-8")
    findings = {f["code"]: f for f in report("--format", "json", str(tmp_path))["findings"]}
    fix = findings["GIL201"]["fix"]
    assert fix["applicability"] == "safe" and "_main_lambda" in fix["message"]
    assert set(fix["edits"][0]) == {"content", "location", "end_location"}
    assert apply_edits(LAMBDA, fix["edits"]) == FIXED_LAMBDA
    assert findings["GIL301"]["fix"]["applicability"] == "unsafe"
    without = report("--format", "json", "--unfixable", "GIL3", str(tmp_path))["findings"]
    assert {f["code"]: f["fix"] for f in without}["GIL301"] is None


def test_sarif_fixes_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("inline.py").write_text(LAMBDA, encoding="utf-8")
    log = report("--format", "sarif", ".")
    validate(log)
    (fix,) = log["runs"][0]["results"][0]["fixes"]
    assert fix["properties"]["applicability"] == "safe"
    change = fix["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "inline.py"
    assert any("_main_lambda" in r["insertedContent"]["text"] for r in change["replacements"])


def test_fixable_and_unfixable(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gillint]\nunfixable = ["GIL2"]\n', encoding="utf-8")
    source = tmp_path / "inline.py"
    source.write_text(LAMBDA, encoding="utf-8")
    assert gillint_main(["--fix", "--no-cache", "-j1", str(source)]) == 1
    assert source.read_text(encoding="utf-8") == LAMBDA
    assert gillint_main(["--fix", "--no-cache", "-j1", "--fixable", "GIL201", "--unfixable", "GIL3", str(source)]) == 0
    assert source.read_text(encoding="utf-8") == FIXED_LAMBDA


def test_fixable_longest_prefix_wins() -> None:
    assert Config().is_fixable("GIL201")
    assert not Config(unfixable=("GIL2",)).is_fixable("GIL201")
    assert Config(fixable=("GIL201",), unfixable=("GIL2",)).is_fixable("GIL201")
    assert not Config(fixable=("GIL2",), unfixable=("GIL2",)).is_fixable("GIL201")
    assert not Config(fixable=("GIL4",)).is_fixable("GIL201")


def test_unknown_fixable_code_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gillint_main(["--fixable", "GIL999", str(tmp_path)]) == 2
    assert "unknown rule code or prefix 'GIL999'" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text('[tool.gillint]\nunfixable = ["E501"]\n', encoding="utf-8")
    assert gillint_main([str(tmp_path)]) == 2


def test_show_settings_shows_fixable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gillint]\nunfixable = ["GIL3"]\n', encoding="utf-8")
    assert gillint_main(["--show-settings", str(tmp_path / "x.py"), "--fixable", "GIL2"]) == 0
    out = capsys.readouterr().out
    assert 'fixable = ["GIL2"]  # command line' in out
    assert f'unfixable = ["GIL3"]  # {tmp_path / "pyproject.toml"}' in out


def test_text_marks_fixable_findings_and_counts_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inline.py").write_text(LAMBDA, encoding="utf-8")
    (tmp_path / "counter.py").write_text(COUNTER, encoding="utf-8")
    assert gillint_main(["--no-cache", "-j1", "--show-fixes", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert ": GIL201 [*] " in out and ": GIL301 'count += 1'" in out
    assert "[*] 1 fixable with `gillint --fix` (1 more with `--unsafe-fixes`)." in out
    assert gillint_main(["--no-cache", "-j1", "--show-fixes", "--unsafe-fixes", str(tmp_path)]) == 1
    assert ": GIL301 [*] " in capsys.readouterr().out


def test_text_to_a_pipe_plans_no_fixes_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Planning fixes re-lints files: text that goes to a pipe (CI, pre-commit) skips it by default."""
    (tmp_path / "inline.py").write_text(LAMBDA, encoding="utf-8")
    assert gillint_main(["--no-cache", "-j1", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert ": GIL201 " in out and "[*]" not in out and "fixable" not in out


def test_fix_shows_fixes_and_reports_what_remains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inline.py").write_text(LAMBDA, encoding="utf-8")
    (tmp_path / "counter.py").write_text(COUNTER, encoding="utf-8")
    assert gillint_main(["--fix", "--show-fixes", "--no-cache", "-j1", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Fixed 1 finding.\nFound 1 finding in 1 file (2 checked)." in out
    assert f"Fixed 1 finding:\n- {tmp_path / 'inline.py'}:\n    1 × GIL201 (unpicklable-callable)\n" in out
    assert gillint_main(["--fix", "--unsafe-fixes", "--no-cache", "-j1", str(tmp_path)]) == 0


def test_fix_and_diff_refuse_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--fix", "--diff"):
        assert gillint_main([flag, "-"]) == 2
        assert "cannot edit stdin" in capsys.readouterr().err


def test_no_fix_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    gillint_main(["--no-cache", "-j1", "--show-fixes", "--select", "GIL101", str(FIXES / "GIL101" / "no_fix.py")])
    messages = [line for line in capsys.readouterr().out.splitlines() if "GIL101" in line]
    assert len(messages) == 4 and all("(no fix: " in m for m in messages)
    assert any("would introduce GIL201: 'local_worker.<locals>.work' is defined inside a function" in m
               for m in messages)
    assert any("would introduce GIL401" in m for m in messages)


def test_overlapping_fixes_apply_in_turn(tmp_path: Path) -> None:
    """A lambda inside module-level code that starts a pool: the GIL401 fix (first, by column) moves
    the statement the GIL201 fix changes, so one pass skips the GIL201 fix; the next round applies it."""
    source = ("from concurrent.futures import ProcessPoolExecutor\n\n"
              "with ProcessPoolExecutor() as pool:\n"
              "    print(list(pool.map(lambda x: x + 1, [1, 2])))\n")
    path = tmp_path / "both.py"
    path.write_text(source, encoding="utf-8")
    target = Target(SourceFile(path, str(path)), Config())
    findings = target.lint(source)
    assert sorted(f.code for f in findings) == ["GIL201", "GIL401"]
    applied = FileFixes(target, source, findings, findings).apply(lambda finding, fix: True)
    assert [(f.code, kept.code) for f, kept in applied.skipped] == [("GIL201", "GIL401")]
    fixed = fix_text(target, source, lambda finding, fix: True)
    assert not fixed.skipped and sorted(f.code for f in fixed.fixed) == ["GIL201", "GIL401"]
    assert fixed.text == ("from concurrent.futures import ProcessPoolExecutor\n\n\n"
                          "def _main_lambda(x):\n    return x + 1\n\n\n"
                          "def main():\n"
                          "    with ProcessPoolExecutor() as pool:\n"
                          "        print(list(pool.map(_main_lambda, [1, 2])))\n\n\n"
                          'if __name__ == "__main__":\n    main()\n')
    assert not target.lint(fixed.text)


def test_edits_are_character_positions() -> None:
    """Edits count characters, as findings do, and end where the replaced text ends."""
    from gillint.fix.apply import edits_between

    assert edits_between("x = 'é'  # é\nend\n", "x = 'é'  # è\nend\n") == (Edit("è", (1, 12), (1, 13)),)
    assert edits_between("a\nb\n", "a\nnew\nb\n") == (Edit("new\n", (2, 1), (2, 1)),)
