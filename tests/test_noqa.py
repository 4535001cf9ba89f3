"""Suppression standalone: ``# noqa`` forms, ``# flake8: noqa``, per-file-ignores, --disable-noqa, counts.

Each form is also run through the real flake8 to prove both front ends suppress the same findings.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gillint.engine.noqa import file_is_skipped, is_suppressed, noqa_codes, noqa_lines

START = "import multiprocessing\n\n"
#: name -> (source, lines where GIL401 must still be reported)
CASES = {
    "bare": ("pool = multiprocessing.Pool(2)  # noqa\n", []),
    "exact": ("pool = multiprocessing.Pool(2)  # noqa: GIL401\n", []),
    "several": ("pool = multiprocessing.Pool(2)  # noqa: GIL201,GIL401\n", []),
    "several_spaced": ("pool = multiprocessing.Pool(2)  # NOQA:GIL201, GIL401 because\n", []),
    "prefix": ("pool = multiprocessing.Pool(2)  # noqa: GIL4\n", []),
    "other_code": ("pool = multiprocessing.Pool(2)  # noqa: GIL201\n", [3]),
    "lowercase_code": ("pool = multiprocessing.Pool(2)  # noqa: gil401\n", [3]),
    "not_a_noqa": ("pool = multiprocessing.Pool(2)  # noqa-like text: nothing\n", []),
    "multi_line_call": ("pool = multiprocessing.Pool(\n    2,\n)  # noqa: GIL401\n", [3]),
    "multi_line_string": ('pool = multiprocessing.Pool(len("""\nab\n"""))  # noqa: GIL401\n', []),
    "other_line": ("# noqa: GIL401\npool = multiprocessing.Pool(2)\n", [4]),
    "file_level": ("# flake8: noqa\npool = multiprocessing.Pool(2)\n", []),
    "file_level_on_code": ("pool = multiprocessing.Pool(2)  # flake8: noqa\n", [3]),
}


def test_noqa_codes() -> None:
    assert noqa_codes("x = 1") is None
    assert noqa_codes("x = 1  # noqa") == frozenset()
    assert noqa_codes("x = 1  # noqa:GIL101,GIL201") == {"GIL101", "GIL201"}
    assert noqa_codes("x = 1  # noqa: GIL101 GIL201 and a reason") == {"GIL101", "GIL201"}
    assert is_suppressed("GIL401", "x  # noqa: GIL4") and not is_suppressed("GIL401", "x  # noqa: GIL2")


def test_file_level_noqa_needs_its_own_line() -> None:
    assert file_is_skipped(["import os", "# flake8: noqa"])
    assert file_is_skipped(["  # FLAKE8=NOQA"])
    assert not file_is_skipped(["x = 1  # flake8: noqa"])


def test_noqa_lines_cover_a_multi_line_string() -> None:
    """As in flake8: lines of one token (a triple-quoted string) share their noqa; brackets do not."""
    lines = ["call('''", "text", "''')  # noqa", "other(", "    1,", ")  # noqa", "after = 2"]
    mapping = noqa_lines(lines)
    assert all("# noqa" in mapping[n] for n in (1, 2, 3))
    assert [mapping[n] for n in (4, 5, 7)] == ["other(", "    1,", "after = 2"]
    assert noqa_lines(["s = '''", "unterminated"])[2] == "unterminated"  # no tokens: physical lines


def test_noqa_lines_are_numbered_as_python_numbers_them(tmp_path: Path) -> None:
    """A form feed or U+2028 inside a line is no line break: the noqa of line 4 stays on line 4."""
    (tmp_path / "ff.py").write_text(
        "import multiprocessing\nx = 1\x0c\ny = '\u2028'\npool = multiprocessing.Pool(2)  # noqa: GIL401\n",
        encoding="utf-8")
    run = _gillint(tmp_path)
    assert run.returncode == 0, run.stdout


def _write_cases(root: Path) -> None:
    for name, (body, _) in CASES.items():
        (root / f"{name}.py").write_text(START + body, encoding="utf-8")


def _expected() -> set[tuple[str, int]]:
    return {(f"{name}.py", line) for name, (_, lines) in CASES.items() for line in lines}


def _gillint(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gillint", *args, "."], cwd=root,
                          capture_output=True, text=True, check=False)


def _reported(output: str) -> set[tuple[str, int]]:
    found = set()
    for line in output.splitlines():
        parts = line.split(":")
        if len(parts) > 3 and parts[3].startswith(" GIL"):
            found.add((parts[0], int(parts[1])))
    return found


def test_standalone_noqa_forms(tmp_path: Path) -> None:
    _write_cases(tmp_path)
    run = _gillint(tmp_path)
    assert _reported(run.stdout) == _expected(), run.stdout


def test_disable_noqa_and_statistics(tmp_path: Path) -> None:
    _write_cases(tmp_path)
    everything = _gillint(tmp_path, "--disable-noqa")
    assert len(_reported(everything.stdout)) == len(CASES), everything.stdout
    statistics = _gillint(tmp_path, "--statistics").stdout
    hidden = len(CASES) - len(_expected())
    assert f"{hidden:<6} suppressed by noqa (GIL401: {hidden})" in statistics, statistics
    assert "suppressed" not in _gillint(tmp_path, "--statistics", "--disable-noqa").stdout


def test_per_file_ignores_do_not_count_as_noqa(tmp_path: Path) -> None:
    _write_cases(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.gillint.per-file-ignores]
            "other_*.py" = ["GIL4"]
            """
        ),
        encoding="utf-8",
    )
    run = _gillint(tmp_path, "--statistics")
    assert _reported(run.stdout) == _expected() - {("other_code.py", 3), ("other_line.py", 4)}
    assert "suppressed by noqa (GIL401: 8)" in run.stdout


@pytest.mark.integration
def test_flake8_suppresses_the_same(tmp_path: Path) -> None:
    _write_cases(tmp_path)
    run = subprocess.run([sys.executable, "-m", "flake8", "--select", "GIL", "."], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    reported = {(Path(path).as_posix(), line) for path, line in _reported(run.stdout)}
    assert reported == _expected(), run.stdout + run.stderr
