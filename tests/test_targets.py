"""Target settings (target-version, start-method, free-threaded): where they come from, what they imply."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from fixture_support import FIXTURES
from gillint.config import Config, ConfigError, load_config, setting_options
from gillint.engine.discovery import discover
from gillint.engine.run import lint
from gillint.findings import Finding, Severity
from gillint.frontends.cli import main as cli_main
from gillint.targets import FORK, FORKSERVER, SPAWN, Targets, oldest_target, running_version
from test_cli import gillint, write

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        (">=3.9", "3.9"),
        (">=3.10", "3.10"),
        (">=3.11,<4", "3.11"),
        (">3.11", "3.11"),  # 3.11.1 is above 3.11
        (">=3.7", "3.9"),  # older than gillint's oldest target
        ("~=3.12", "3.12"),
        ("==3.13.*", "3.13"),
        ("<3.14,>=3.12.2", "3.12"),
        (">=3.15", "3.14"),
        ("!=3.9.*,>=3.9", "3.10"),
        ("<3", None),
        ("not a specifier", None),
    ],
)
def test_oldest_target_of_requires_python(requires: str, expected: str | None) -> None:
    assert oldest_target(requires) == expected


def test_target_version_defaults_to_requires_python_of_the_same_file(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nrequires-python = ">=3.12"\n[tool.gillint]\n')
    config = load_config(tmp_path / "pyproject.toml")
    assert config.settings["target_version"] == "3.12"
    assert config.origins["target-version"].startswith("requires-python in ")
    write(tmp_path, "pyproject.toml",
          '[project]\nrequires-python = ">=3.12"\n[tool.gillint]\ntarget-version = "3.14"\n')
    assert load_config(tmp_path / "pyproject.toml").settings["target_version"] == "3.14"


def test_without_requires_python_the_running_interpreter(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.gillint]\n")
    config = load_config(tmp_path / "pyproject.toml")
    assert config.settings["target_version"] is None
    assert Targets.from_settings(config.settings).version_text == running_version()
    assert running_version() == f"3.{min(max(sys.version_info[1], 9), 14)}"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('start-method = "posix"', "start-method: expected one of 'portable', 'fork', 'spawn', 'forkserver'"),
        ('target-version = "3.8"', "target-version: expected one of '3.9'"),
        ("target-version = 3.12", "target-version: expected str, got float"),
        ('free-threaded = "yes"', "free-threaded: expected bool, got str"),
        ('free_threaded = true', "did you mean 'free-threaded'?"),
    ],
)
def test_bad_targets_are_clear_errors(tmp_path: Path, line: str, message: str) -> None:
    write(tmp_path, "pyproject.toml", f"[tool.gillint]\n{line}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_config(tmp_path / "pyproject.toml")


def test_show_settings_names_each_target_and_its_origin(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nrequires-python = ">=3.10"\n[tool.gillint]\nstart-method = "spawn"\n')
    write(tmp_path, "mod.py", "x = 1\n")
    text = gillint("--show-settings", "mod.py", "--free-threaded", cwd=tmp_path).stdout.decode()
    assert 'target-version = "3.10"  # requires-python in ' in text
    assert f'start-method = "spawn"  # {tmp_path / "pyproject.toml"}' in text
    assert "free-threaded = true  # command line" in text


def test_the_command_line_takes_precedence(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.gillint]\nstart-method = "spawn"\ntarget-version = "3.10"\n')
    write(tmp_path, "mod.py", "x = 1\n")
    text = gillint("--show-settings", "mod.py", "--start-method", "fork", "--target-version", "3.14",
                   cwd=tmp_path).stdout.decode()
    assert 'start-method = "fork"  # command line' in text and 'target-version = "3.14"  # command line' in text
    assert gillint("--start-method", "posix", "mod.py", cwd=tmp_path).returncode == 2


@pytest.mark.parametrize(
    ("method", "version", "defaults"),
    [
        ("portable", (3, 9), {FORK, SPAWN, FORKSERVER}),
        ("portable", (3, 13), {FORK, SPAWN, FORKSERVER}),
        ("portable", (3, 14), {SPAWN, FORKSERVER}),
        ("fork", (3, 13), {FORK}),
        ("fork", (3, 14), {FORKSERVER}),  # Linux's default from 3.14
        ("spawn", (3, 9), {SPAWN}),
        ("forkserver", (3, 12), {FORKSERVER}),
    ],
)
def test_default_start_methods(method: str, version: tuple[int, int], defaults: set[str]) -> None:
    assert Targets(version, method).default_methods() == defaults


# -- the same fixture under several targets --------------------------------------------------------------

TARGET_CASES = sorted((FIXTURES / "targets").glob("*.py"))
_VARIANTS = re.compile(r"^#\s*targets:\s*(.*)$")
_EXPECT = re.compile(r"#\s*expect\s+(GIL\d{3})\s+under\s+([\w.\- ]+)$")


def _variants(path: Path) -> dict[str, dict[str, Any]]:
    """``# targets: name: key = value, ... | name | ...`` on the first line: each variant's settings."""
    match = _VARIANTS.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name}: the first line must name the targets"
    variants = {}
    for part in match.group(1).split("|"):
        name, _, body = part.partition(":")
        table = tomllib.loads(body.replace(",", "\n")) if body.strip() else {}
        variants[name.strip()] = {key.replace("-", "_"): value for key, value in table.items()}
    return variants


def _expected_under(path: Path, variant: str) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _EXPECT.search(line)
        if match and variant in match.group(2).split():
            expected.add((number, match.group(1)))
    return expected


def _findings_under(path: Path, settings: dict[str, Any]) -> list[Finding]:
    defaults = {option.attribute: option.default for option in setting_options()}
    config = Config(select=("GIL",), root=path.parent, settings={**defaults, **settings})
    return lint(discover([str(path)], config), config).findings


TARGET_VARIANTS = [(path, name) for path in TARGET_CASES for name in _variants(path)]


@pytest.mark.parametrize(("path", "variant"), TARGET_VARIANTS,
                         ids=[f"{path.stem}-{name}" for path, name in TARGET_VARIANTS])
def test_the_same_fixture_under_each_target(path: Path, variant: str) -> None:
    settings = _variants(path)[variant]
    found = {(f.line, f.code) for f in _findings_under(path, settings)}
    expected = _expected_under(path, variant)
    assert found == expected, f"missing: {sorted(expected - found)}\nunexpected: {sorted(found - expected)}"


def test_every_target_fixture_differs_between_targets() -> None:
    """The variants of each fixture do not all give the same findings (else it shows nothing)."""
    assert TARGET_CASES
    for path in TARGET_CASES:
        results = {frozenset(_expected_under(path, name)) for name in _variants(path)}
        assert len(results) > 1, path.name


def test_free_threaded_races_are_errors_that_say_why() -> None:
    path = FIXTURES / "targets" / "threads.py"
    races = [f for f in _findings_under(path, {}) if f.code == "GIL301"]
    free = [f for f in _findings_under(path, {"free_threaded": True}) if f.code == "GIL301"]
    assert races and all(f.severity is Severity.WARNING for f in races)
    assert free and all(f.severity is Severity.ERROR for f in free)
    assert all("without any preemption point" in f.message for f in free)
    assert not any("preemption point" in f.message for f in races)


def test_the_cache_keeps_targets_apart(tmp_path: Path) -> None:
    """A finding cached under one target is not reused under another."""
    write(tmp_path, "pyproject.toml", "[tool.gillint]\n")
    write(tmp_path, "work.py", "import multiprocessing\n\n\ndef main():\n"
                               "    multiprocessing.Process(target=lambda: None).start()\n")
    assert "GIL201" in gillint("work.py", cwd=tmp_path).stdout.decode()
    assert "GIL201" not in gillint("work.py", "--start-method", "fork", cwd=tmp_path).stdout.decode()
    assert "GIL201" in gillint("work.py", "--start-method", "fork", "--target-version", "3.14",
                               cwd=tmp_path).stdout.decode()


@pytest.mark.skipif(sys.version_info < (3, 10), reason="needs a parser newer than the 3.9 target")
def test_syntax_newer_than_the_target_version_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``requires-python = ">=3.9"`` makes a ``match`` statement a GIL000, in an analysed file and in
    one the prefilter skips alike; with a 3.10 target both are clean."""
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.9"\n\n[tool.gillint]\n')
    match = "def f(x):\n    match x:\n        case 1:\n            return 2\n"
    (tmp_path / "quiet.py").write_text(match)
    (tmp_path / "threaded.py").write_text("import threading\n\n" + match)
    assert cli_main(["--no-cache", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for name in ("quiet.py", "threaded.py"):
        assert f"{name}:" in out
    assert out.count("GIL000") == 2 and out.count("(target-version 3.9)") == 2
    assert cli_main(["--no-cache", "--target-version", "3.10", str(tmp_path)]) == 0
