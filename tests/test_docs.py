"""Rule documentation: one page per code, all sections, committed pages up to date, examples true."""

from __future__ import annotations

from pathlib import Path

import pytest

from gillint.config import Config
from gillint.engine.run import lint_source
from gillint.fix.engine import FIXERS
from gillint.frontends.cli import main as gillint_main
from gillint.rules import all_rules
from gillint.rules.docs import SECTIONS, documented, render_rule_doc

DOCS = Path(__file__).parent.parent / "docs" / "rules"
#: The rules and the GIL000 pseudo-rule: every code a finding can carry.
RULES = documented()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_page_is_committed_and_current(rule) -> None:
    page = DOCS / f"{rule.code}.md"
    assert page.is_file(), f"{page} is missing: run `python -m gillint.rules.docs`"
    assert page.read_text(encoding="utf-8") == render_rule_doc(rule), (
        f"{page} is stale: run `python -m gillint.rules.docs`"
    )


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_page_has_every_section(rule) -> None:
    text = render_rule_doc(rule)
    for section in SECTIONS:
        assert f"## {section}\n" in text, f"{rule.code} lacks '{section}'"


@pytest.mark.parametrize("rule", all_rules(), ids=[r.code for r in all_rules()])
def test_rule_page_says_how_it_is_fixed(rule) -> None:
    """Every rule's page has ruff's "Fix safety" section, after "Use instead": what ``--fix`` does
    and when it is safe, or that there is no automatic fix."""
    text = render_rule_doc(rule)
    assert "## Fix safety\n" in text, f"{rule.code} lacks 'Fix safety'"
    assert text.index("## Use instead\n") < text.index("## Fix safety\n") < text.index("## Known problems\n")
    if rule.code in FIXERS:
        safety = rule.doc.fix_safety
        assert "`--fix`" in safety and ("**Safe**" in safety or "**Unsafe**" in safety)
    else:
        assert "no automatic fix" in rule.doc.fix_safety


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_doc_examples_are_true(rule, tmp_path: Path) -> None:
    """The Example triggers the rule; the Use instead does not."""
    config = Config(select=(rule.code,))
    bad = lint_source(rule.doc.example, str(tmp_path / "example.py"), config)
    good = lint_source(rule.doc.use_instead, str(tmp_path / "use_instead.py"), config)
    assert [f.code for f in bad if f.code == rule.code], f"{rule.code}: Example reports nothing"
    assert not good, f"{rule.code}: 'Use instead' reports {good}"


def test_no_page_without_a_rule() -> None:
    codes = {r.code for r in RULES}
    orphans = [p.name for p in DOCS.glob("GIL*.md") if p.stem not in codes]
    assert not orphans


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_explain_prints_the_page(rule, capsys: pytest.CaptureFixture[str]) -> None:
    assert gillint_main(["--explain", rule.code.lower()]) == 0
    assert capsys.readouterr().out == (DOCS / f"{rule.code}.md").read_text(encoding="utf-8")


def test_explain_unknown_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert gillint_main(["--explain", "GIL999"]) == 2
    assert "known rules: GIL000" in capsys.readouterr().err
