"""Broken configuration: a clear message naming the key and the file (exit 2) or a silent
default, never a traceback. Complements ``test_cli.test_config_errors``."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_cli import CLEAN, UNGUARDED, gillint, write


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param('[tool.gillint]\nselect = [1, 2]\n', "select", id="list-of-ints"),
        pytest.param("[tool.gillint]\nexclude = true\n", "exclude", id="bool-for-list"),
        pytest.param('[tool.gillint]\nignore = {a = 1}\n', "ignore", id="table-for-list"),
        pytest.param('[tool]\ngillint = "GIL"\n', "[tool.gillint] must be a table", id="tool-gillint-string"),
        pytest.param("[tool]\ngillint = [1]\n", "[tool.gillint] must be a table", id="tool-gillint-array"),
        pytest.param('[tool.gillint]\nper-file-ignores = ["x"]\n', "per-file-ignores", id="pfi-array"),
        pytest.param('[tool.gillint.per-file-ignores]\n"*.py" = [1]\n', "per-file-ignores", id="pfi-ints"),
        pytest.param('[tool.gillint.per-file-ignores]\n"*.py" = ["NOPE"]\n', "'NOPE'", id="pfi-unknown-code"),
        pytest.param('[tool.gillint.per-file-ignores]\n"*.py" = {a = 1}\n', "per-file-ignores", id="pfi-table"),
        pytest.param('[tool.gillint]\nverify = 3\n', "verify", id="verify-not-table"),
        pytest.param('[tool.gillint]\nselect = ["GIL"]\nselect = ["GIL4"]\n', "invalid TOML", id="duplicate-key"),
        pytest.param("[tool.gillint]\nselect = [\n", "invalid TOML", id="unterminated-array"),
        pytest.param(b"[tool.gillint]\nselect = ['\xff']\n", "pyproject.toml", id="invalid-utf8"),
        pytest.param('[tool.gillint]\nselect = [""]\n', "select", id="empty-code"),
        pytest.param("[tool.gillint]\n[tool.gillint]\n", "invalid TOML", id="table-twice"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, content: str | bytes, message: str) -> None:
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "mod.py", CLEAN)
    result = gillint(str(tmp_path))
    stderr = result.stderr.decode()
    assert result.returncode == 2, (result.stdout, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert message in stderr and "pyproject.toml" in stderr, stderr


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("", id="empty-file"),
        pytest.param("[project]\nname = 'x'\n", id="no-tool-table"),
        pytest.param("[tool.black]\nline-length = 88\n", id="other-tools-only"),
        pytest.param("[tool.gillint]\n", id="empty-table"),
    ],
)
def test_harmless_config_is_a_silent_default(tmp_path: Path, content: str) -> None:
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "mod.py", UNGUARDED)
    result = gillint(str(tmp_path))
    assert result.returncode == 1 and b"GIL401" in result.stdout, result.stderr
    assert result.stderr == b""


@pytest.mark.parametrize(
    ("content", "patterns"),
    [
        pytest.param('[tool.gillint]\nextend-exclude = ["no/such/dir/*", "*.nothing"]\n',
                     ["extend-exclude pattern 'no/such/dir/*'", "extend-exclude pattern '*.nothing'"],
                     id="globs-match-nothing"),
        pytest.param('[tool.gillint.per-file-ignores]\n"no/such/*.py" = ["GIL401"]\n',
                     ["per-file-ignores pattern 'no/such/*.py'"], id="pfi-glob-matches-nothing"),
    ],
)
def test_pattern_that_matches_nothing_is_a_warning(tmp_path: Path, content: str, patterns: list[str]) -> None:
    """The run goes on as if the pattern were absent, and stderr says which pattern matched no file."""
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "mod.py", UNGUARDED)
    result = gillint(str(tmp_path))
    assert result.returncode == 1 and b"GIL401" in result.stdout, result.stderr
    warnings = result.stderr.decode().splitlines()
    assert len(warnings) == len(patterns), warnings
    for pattern, warning in zip(sorted(patterns), warnings):
        assert warning.startswith(f"gillint: warning: {pattern} ({tmp_path / 'pyproject.toml'}) matches no file")


def test_unreadable_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    """A directory named pyproject.toml is skipped when searching; named with --config it is an error."""
    (tmp_path / "pyproject.toml").mkdir()
    write(tmp_path, "mod.py", UNGUARDED)
    assert gillint(str(tmp_path)).returncode == 1
    result = gillint("--config", str(tmp_path / "pyproject.toml"), str(tmp_path))
    assert result.returncode == 2 and b"Traceback" not in result.stderr
    assert b"pyproject.toml" in result.stderr and b"cannot read" in result.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, "mod.py", CLEAN)
    result = gillint("--config", str(tmp_path / "nope.toml"), str(tmp_path))
    assert result.returncode == 2 and b"nope.toml" in result.stderr and b"Traceback" not in result.stderr


def test_explicit_config_without_the_table_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, "other.toml", "[project]\nname = 'x'\n")
    write(tmp_path, "mod.py", CLEAN)
    result = gillint("--config", str(tmp_path / "other.toml"), str(tmp_path))
    assert result.returncode == 2 and b"no [tool.gillint] table" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--select", "NOPE"), id="unknown-select"),
        pytest.param(("--ignore", ",,,"), id="empty-list"),
        pytest.param(("--format", "xml"), id="unknown-format"),
        pytest.param(("--no-such-flag",), id="unknown-flag"),
    ],
)
def test_bad_command_line_is_a_usage_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    write(tmp_path, "mod.py", CLEAN)
    result = gillint(*args, str(tmp_path))
    assert result.returncode in (0, 2) and b"Traceback" not in result.stderr
    if args != ("--ignore", ",,,"):
        assert result.returncode == 2
