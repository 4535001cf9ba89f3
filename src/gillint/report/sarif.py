"""SARIF 2.1.0 for code-scanning services (GitHub code scanning, GitLab, Azure DevOps).

One ``reportingDescriptor`` per rule, one ``result`` per finding. Files gillint could not analyse
(``GIL000``) are not code problems: they become ``toolExecutionNotifications`` of the invocation,
which GitHub shows on the tool's status page. Columns count Unicode code points, as gillint's positions do.
When a run carries runtime-verification verdicts (``--verify``), each result's ``properties``
holds its verdict.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Mapping, TextIO
from urllib.parse import quote

from gillint import __version__
from gillint.findings import Finding, RunResult, Severity
from gillint.report.fingerprint import fingerprints
from gillint.report.text import ReportOptions
from gillint.rules import all_rules
from gillint.rules.docs import DOCS_URL, AnalysisError, render_rule_doc

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/gillint/gillint"
SOURCE_ROOT = "%SRCROOT%"
#: The key of gillint's fingerprint in ``partialFingerprints``; bump the version if the recipe changes.
FINGERPRINT_KEY = "gillint/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def render_sarif(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    json.dump(sarif_log(result, options), out, indent=2, ensure_ascii=False)
    out.write("\n")


def sarif_log(result: RunResult, options: ReportOptions) -> dict[str, Any]:
    """The SARIF log of a run, as a JSON-ready dict."""
    rules = all_rules()
    index = {rule.code: position for position, rule in enumerate(rules)}
    verdicts = _verdicts(result)
    findings = [f for f in result.findings if not f.is_analysis_error]
    identities = fingerprints(findings, options.sources)
    results = [_with_fix(_result(f, index, identities[i], verdicts.get(f)), f, result.fixes.get(f))
               for i, f in enumerate(findings)]
    notifications = [_notification(f) for f in result.findings if f.is_analysis_error]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gillint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(rule) for rule in rules],
                "notifications": [_descriptor(AnalysisError)],
            }},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "originalUriBaseIds": {SOURCE_ROOT: {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _descriptor(rule: Any) -> dict[str, Any]:
    page = render_rule_doc(rule)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.doc.what_it_does.split())},
        "help": {"text": page, "markdown": page},
        "helpUri": DOCS_URL.format(code=rule.code),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["concurrency", "gil"]},
    }


def _location(finding: Finding) -> dict[str, Any]:
    path = PurePath(finding.path)
    if path.is_absolute():
        artifact: dict[str, Any] = {"uri": Path(path).as_uri()}
    else:
        artifact = {"uri": quote(path.as_posix()), "uriBaseId": SOURCE_ROOT}
    region = {"startLine": finding.line, "startColumn": finding.column}
    if (finding.end_line, finding.end_column) > (finding.line, finding.column):
        region.update(endLine=finding.end_line, endColumn=finding.end_column)
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _result(finding: Finding, index: Mapping[str, int], fingerprint: str, verdict: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(finding)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    if finding.code in index:
        entry["ruleIndex"] = index[finding.code]
    properties: dict[str, Any] = {}
    if finding.evidence is not None:
        properties["evidence"] = finding.evidence.to_dict()
    if verdict is not None:
        properties["verification"] = _jsonable(verdict)
    if properties:
        entry["properties"] = properties
    return entry


def _with_fix(entry: dict[str, Any], finding: Finding, fix: Any) -> dict[str, Any]:
    """Add the finding's fix as a SARIF ``fix``: the replacements of its edits (1-based, end exclusive)."""
    if fix is not None:
        artifact = _location(finding)["physicalLocation"]["artifactLocation"]
        replacements = [{
            "deletedRegion": {"startLine": e.start[0], "startColumn": e.start[1],
                              "endLine": e.end[0], "endColumn": e.end[1]},
            "insertedContent": {"text": e.content},
        } for e in fix.edits]
        entry["fixes"] = [{
            "description": {"text": f"{fix.message} ({fix.applicability.value} fix)"},
            "artifactChanges": [{"artifactLocation": artifact, "replacements": replacements}],
            "properties": {"applicability": fix.applicability.value},
        }]
    return entry


def _notification(finding: Finding) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": finding.message},
        "locations": [_location(finding)],
        "descriptor": {"id": finding.code, "index": 0},
    }


def _verdicts(result: RunResult) -> dict[Finding, Any]:
    """Runtime-verification verdicts by finding, when the run has them (``--verify``).

    Accepts ``result.verifications`` as a mapping from finding to verdict, or as a sequence of
    objects with a ``finding`` attribute; absent or None means the run was not verified.
    """
    verifications = getattr(result, "verifications", None)
    if not verifications:
        return {}
    if isinstance(verifications, Mapping):
        return dict(verifications)
    return {item.finding: item for item in verifications if getattr(item, "finding", None) is not None}


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses, enums, tuples, paths and mappings included)."""
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not isinstance(getattr(value, f.name), Finding)}
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

