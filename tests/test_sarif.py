"""``--format sarif``: valid against the official SARIF 2.1.0 schema, and what code scanning needs."""

from __future__ import annotations

import io
import json
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest

from fixture_support import FIXTURES
from gillint.config import Config
from gillint.engine.discovery import discover
from gillint.engine.run import lint
from gillint.findings import RunResult
from gillint.frontends.cli import main as gillint_main
from gillint.report.sarif import FINGERPRINT_KEY, sarif_log
from gillint.report.text import ReportOptions
from gillint.rules import all_rules

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
DOCS = Path(__file__).parent.parent / "docs" / "rules"
BAD = "import multiprocessing\n\npool = multiprocessing.Pool(2)\n"


def validate(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def sarif(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = gillint_main(["--format", "sarif", *args])
    assert code in (0, 1)
    return json.loads(out.getvalue())


def test_fixtures_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    log = sarif(".")
    validate(log)
    run = log["runs"][0]
    assert run["results"], "the fixtures have findings"
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert (FIXTURES / location["artifactLocation"]["uri"]).is_file()


def test_one_rule_per_code_with_docs() -> None:
    log = sarif_log(RunResult([], 0), ReportOptions())
    validate(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in all_rules()]
    for descriptor, rule in zip(rules, all_rules()):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"]
        assert descriptor["helpUri"].endswith(f"/docs/rules/{rule.code}.md")
        assert urlparse(descriptor["helpUri"]).scheme == "https"  # format "uri" is absolute
        assert (DOCS / f"{rule.code}.md").is_file()
        assert descriptor["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning",
                                                               "note": "note"}[rule.severity.value]


def test_regions_are_the_findings_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text(BAD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = sarif("app.py")["runs"][0]["results"][0]
    assert result["ruleId"] == "GIL401" and result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]["region"]
    # `multiprocessing.Pool(2)` spans columns 8..30; SARIF's endColumn is the column after it.
    assert region == {"startLine": 3, "startColumn": 8, "endLine": 3, "endColumn": 31}


def test_analysis_errors_are_notifications(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(BAD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    log = sarif(".")
    validate(log)
    run = log["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["GIL401"]
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["descriptor"] == {"id": "GIL000", "index": 0} and notification["level"] == "error"
    (descriptor,) = run["tool"]["driver"]["notifications"]
    assert descriptor["id"] == "GIL000" and descriptor["helpUri"].endswith("/docs/rules/GIL000.md")
    assert "syntax error" in notification["message"]["text"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"


def _fingerprints(root: Path) -> list[str]:
    config = Config(root=root)
    result = lint(discover([str(root / "app.py")], config), config)
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in sarif_log(result, ReportOptions())["runs"][0]["results"]]


def test_fingerprints_survive_moved_and_reindented_code(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BAD, encoding="utf-8")
    before = _fingerprints(tmp_path)
    moved = "import multiprocessing\n\n# a comment\nx = 1\n\nif True:\n    pool = multiprocessing.Pool(2)\n"
    (tmp_path / "app.py").write_text(moved, encoding="utf-8")
    assert _fingerprints(tmp_path) == before
    (tmp_path / "app.py").write_text(BAD.replace("Pool(2)", "Pool(3)"), encoding="utf-8")
    assert _fingerprints(tmp_path) != before


def test_identical_lines_get_distinct_fingerprints(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BAD + "pool = multiprocessing.Pool(2)\n", encoding="utf-8")
    fingerprints = _fingerprints(tmp_path)
    assert len(fingerprints) == 2 and len(set(fingerprints)) == 2
    assert Counter(f.split(":")[0] for f in fingerprints).most_common(1)[0][1] == 2


def test_absolute_paths_and_unusual_names(tmp_path: Path) -> None:
    (tmp_path / "my app#1.py").write_text(BAD, encoding="utf-8")
    log = sarif(str(tmp_path / "my app#1.py"))
    validate(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"].startswith("file://") and "%20" in artifact["uri"] and "uriBaseId" not in artifact


def test_verification_verdicts_in_properties(tmp_path: Path) -> None:
    """With ``--verify`` the run carries verdicts; without it (or before it exists) nothing is added."""
    (tmp_path / "app.py").write_text(BAD, encoding="utf-8")
    config = Config(root=tmp_path)
    result = lint(discover([str(tmp_path / "app.py")], config), config)
    plain = sarif_log(result, ReportOptions())["runs"][0]["results"][0]
    assert "verification" not in plain.get("properties", {})
    finding = result.findings[0]
    result.verifications = {finding: {"verdict": "confirmed", "detail": "RuntimeError in child"}}  # type: ignore[attr-defined]
    log = sarif_log(result, ReportOptions())
    validate(log)
    assert log["runs"][0]["results"][0]["properties"]["verification"] == {
        "verdict": "confirmed", "detail": "RuntimeError in child"}
