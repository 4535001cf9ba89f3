"""Every fixture case, linted for real: findings must match the inline expectations exactly."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from fixture_support import Case, as_noqa, cases, expectations, expected_details
from gillint.config import Config
from gillint.engine.discovery import discover
from gillint.engine.run import lint
from gillint.findings import Finding

CASES = cases()


def _lint(case: Case, root: Path) -> list[Finding]:
    config = Config(select=(case.code,), root=root)
    return lint(discover([str(root if case.path.is_dir() else root / case.path.name)], config), config).findings


def _run(case: Case, root: Path) -> Counter[tuple[str, int, str]]:
    return Counter((str(Path(f.path).resolve()), f.line, f.code) for f in _lint(case, root))


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
    details = expected_details(case.files)
    if details:
        findings = _lint(case, root)
        for (path, line, code), detail in details:
            place = (str(Path(path).resolve()), line, code)
            here = [f for f in findings if (str(Path(f.path).resolve()), f.line, f.code) == place]
            assert any((detail.column is None or f.column == detail.column)
                       and (detail.fragment is None or detail.fragment in f.message) for f in here), (
                f"{Path(path).name}:{line} {code}: expected column {detail.column}, message with "
                f"{detail.fragment!r}; got {[(f.column, f.message) for f in here]}")


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
