"""Every fixture case, linted for real: findings must match the inline expectations exactly."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from fixture_support import Case, as_noqa, cases, expectations
from gillint.config import Config
from gillint.engine.discovery import discover
from gillint.engine.run import lint

CASES = cases()


def _run(case: Case, root: Path) -> Counter[tuple[str, int, str]]:
    config = Config(select=(case.code,), root=root)
    result = lint(discover([str(root if case.path.is_dir() else root / case.path.name)], config), config)
    return Counter((str(Path(f.path).resolve()), f.line, f.code) for f in result.findings)


def _resolved(expected: Counter[tuple[str, int, str]]) -> Counter[tuple[str, int, str]]:
    return Counter({(str(Path(p).resolve()), line, code): n for (p, line, code), n in expected.items()})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture(case: Case) -> None:
    root = case.path if case.path.is_dir() else case.path.parent
    found = _run(case, root)
    expected = _resolved(expectations(case.files))
    missing = expected - found
    unexpected = found - expected
    assert not missing and not unexpected, f"missing: {sorted(missing)}\nunexpected: {sorted(unexpected)}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture_with_noqa(case: Case, tmp_path: Path) -> None:
    """The same case with every expectation turned into ``# noqa: CODE`` reports nothing."""
    copy = tmp_path / case.path.name
    if case.path.is_dir():
        shutil.copytree(case.path, copy)
    else:
        shutil.copy(case.path, copy)
    for file in [copy] if copy.is_file() else sorted(copy.rglob("*.py")):
        file.write_text(as_noqa(file.read_text(encoding="utf-8")), encoding="utf-8")
    root = copy if copy.is_dir() else tmp_path
    assert _run(Case(case.code, copy), root) == Counter()


def test_every_rule_has_fixtures() -> None:
    from gillint.rules import all_rules

    codes_with_cases = {c.code for c in CASES}
    missing = [rule.code for rule in all_rules() if rule.code not in codes_with_cases]
    assert not missing, f"rules without fixtures: {missing}"


def test_no_fixtures_without_a_rule() -> None:
    from gillint.rules import all_rules

    codes = {rule.code for rule in all_rules()}
    orphans = sorted({c.code for c in CASES} - codes)
    assert not orphans, f"fixture directories for unknown codes: {orphans}"
