"""The fix modes of the command line and what the reports say about fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gillint.config import Config
from gillint.frontends.cli import main as gillint_main


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
