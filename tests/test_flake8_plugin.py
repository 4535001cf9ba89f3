"""The flake8 plugin, run through the real ``flake8`` command: same findings as the standalone CLI."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from fixture_support import FIXTURES, Case, cases
from gillint.frontends.cli import main as gillint_main
from gillint.frontends.flake8_plugin import flake8_option_arguments, merged_settings
from gillint.options import Option

pytestmark = pytest.mark.integration

CASES = cases()
FLAKE8 = [sys.executable, "-m", "flake8"]
FORMAT = "--format=%(path)s\t%(row)d\t%(col)d\t%(code)s"
Position = tuple[str, int, int, str]  # resolved path, line, column (1-based), code

MAIN_GUARD_MISSING = textwrap.dedent(
    """\
    import multiprocessing

    pool = multiprocessing.Pool(2)
    """
)


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FLAKE8, FORMAT, *args], cwd=cwd, capture_output=True, text=True, check=False)


def positions(output: str, cwd: Path) -> set[Position]:
    found = set()
    for line in output.splitlines():
        path, row, col, code = line.split("\t")
        found.add((str((cwd / path).resolve()), int(row), int(col), code))
    return found


@pytest.fixture(scope="module")
def flake8_on_fixtures() -> set[Position]:
    """flake8 over every fixture at once: it checks each file on its own, so one run serves all."""
    run = flake8("--select", "GIL", ".", cwd=FIXTURES)
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return {p for p in positions(run.stdout, FIXTURES) if p[3] != "E999"}


def standalone(case: Case) -> set[Position]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = gillint_main(["--format", "json", "--select", "GIL", str(case.path)])
    assert code in (0, 1)
    document = json.loads(out.getvalue())
    return {(str(Path(f["path"]).resolve()), f["line"], f["column"], f["code"])
            for f in [*document["findings"], *document["errors"]]}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_flake8_equals_standalone(case: Case, flake8_on_fixtures: set[Position]) -> None:
    files = {str(f.resolve()) for f in case.files}
    by_flake8 = {p for p in flake8_on_fixtures if p[0] in files}
    expected = standalone(case)
    assert by_flake8 == expected, (
        f"only flake8: {sorted(by_flake8 - expected)}\nonly gillint: {sorted(expected - by_flake8)}"
    )


def test_every_case_has_a_finding_somewhere(flake8_on_fixtures: set[Position]) -> None:
    """Guards the comparison above against vacuous truth (e.g. the plugin not being loaded)."""
    codes = {p[3] for p in flake8_on_fixtures}
    assert {c.code for c in CASES} <= codes


def _project(tmp_path: Path, config: str = "") -> Path:
    (tmp_path / "app.py").write_text(MAIN_GUARD_MISSING, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helper.py").write_text(MAIN_GUARD_MISSING, encoding="utf-8")
    if config:
        (tmp_path / "setup.cfg").write_text(textwrap.dedent(config), encoding="utf-8")
    return tmp_path


def _codes(run: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    assert "Traceback" not in run.stderr, run.stderr
    return sorted((Path(line.split("\t")[0]).as_posix(), line.split("\t")[3]) for line in run.stdout.splitlines())


def test_select_gil_and_default_selection(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "app.py").write_text(MAIN_GUARD_MISSING + "x=1\n", encoding="utf-8")  # E225 as well
    assert _codes(flake8("--select", "GIL", ".", cwd=root)) == [("app.py", "GIL401"), ("tests/helper.py", "GIL401")]
    everything = _codes(flake8(".", cwd=root))
    assert ("app.py", "GIL401") in everything and ("app.py", "E225") in everything


def test_extend_ignore_in_config(tmp_path: Path) -> None:
    root = _project(tmp_path, "[flake8]\nextend-ignore = GIL401\n")
    run = flake8(".", cwd=root)
    assert _codes(run) == [] and run.returncode == 0


def test_per_file_ignores_in_config(tmp_path: Path) -> None:
    root = _project(tmp_path, "[flake8]\nper-file-ignores =\n    tests/*: GIL401\n")
    assert _codes(flake8("--select", "GIL", ".", cwd=root)) == [("app.py", "GIL401")]


def test_noqa_is_left_to_flake8(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "app.py").write_text(MAIN_GUARD_MISSING.replace("(2)", "(2)  # noqa: GIL401"), encoding="utf-8")
    (root / "tests" / "helper.py").write_text(MAIN_GUARD_MISSING.replace("(2)", "(2)  # noqa: E501"), encoding="utf-8")
    assert _codes(flake8("--select", "GIL", ".", cwd=root)) == [("tests/helper.py", "GIL401")]
    disabled = _codes(flake8("--select", "GIL", "--disable-noqa", ".", cwd=root))
    assert disabled == [("app.py", "GIL401"), ("tests/helper.py", "GIL401")]


def test_stdin_uses_the_text_flake8_read(tmp_path: Path) -> None:
    """The file on disk is clean; the text on stdin (an editor's unsaved buffer) is not."""
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    run = subprocess.run([*FLAKE8, FORMAT, "--select", "GIL", "--stdin-display-name", "app.py", "-"],
                         input=MAIN_GUARD_MISSING, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert _codes(run) == [("app.py", "GIL401")]


def test_syntax_error_is_reported_once_by_flake8(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    run = flake8(".", cwd=tmp_path)
    assert [code for _, code in _codes(run)] == ["E999"]


def test_non_utf8_coding_cookie(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\nimport multiprocessing\nname = 'caf\xe9'\npool = multiprocessing.Pool(2)\n"
    (tmp_path / "legacy.py").write_bytes(text.encode("latin-1"))
    run = flake8("--select", "GIL", ".", cwd=tmp_path)
    assert run.stdout.split("\t")[1:3] == ["4", "8"], run.stdout + run.stderr


def test_rule_options_are_flake8_options() -> None:
    """Every rule option is registered with flake8 (so it can live in the flake8 config)."""
    from gillint.config import rule_options

    help_text = subprocess.run([*FLAKE8, "--help"], capture_output=True, text=True, check=True).stdout
    for option in rule_options():
        assert option.flag in help_text


def test_rule_options_precedence() -> None:
    """flake8's value (command line or config) wins over ``[tool.gillint]``, which wins over defaults."""
    options = [Option("extend-things", "list[str]", (), "h"), Option("limit", "int", 3, "h"),
               Option("strict", "bool", False, "h")]
    base = {"extend_things": ("a",), "limit": 5, "strict": False}
    assert merged_settings(base, argparse.Namespace(extend_things=None, limit=None, strict=None), options) == base
    given = argparse.Namespace(extend_things=["b", "c"], limit=7, strict=True)
    assert merged_settings(base, given, options) == {"extend_things": ("b", "c"), "limit": 7, "strict": True}
    assert flake8_option_arguments(options[0])["comma_separated_list"] is True
    assert flake8_option_arguments(options[1])["type"] is int
    assert flake8_option_arguments(options[2])["action"] == "store_true"


def test_cross_module_findings_stay_in_the_processed_file(tmp_path: Path) -> None:
    """flake8 checks one file at a time; a finding is attributed to that file, never a sibling."""
    project = tmp_path / "proj"
    shutil.copytree(FIXTURES / "GIL401" / "cross_module", project)
    run = flake8("--select", "GIL", "script.py", cwd=project)
    assert {path for path, _ in _codes(run)} == {"script.py"}
    assert re.search(r"script\.py\t4\t7\tGIL401", run.stdout)
    message = subprocess.run([*FLAKE8, "--select", "GIL", "script.py"], cwd=project, capture_output=True,
                             text=True, check=False).stdout
    assert "line 9 of workers.py" in message  # the sibling is named as the user would, not by absolute path
