"""The JSON format: one object, stable and documented in docs/index.md ("JSON output")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, TextIO

from gillint import __version__
from gillint.findings import UNUSED_NOQA_CODE, RunResult
from gillint.report.text import ReportOptions
from gillint.rules.docs import DOCS_URL

if TYPE_CHECKING:
    from gillint.fix.model import Fix
    from gillint.verify.verdict import Verification

#: GIL001 is no rule (nothing to run, no page under docs/rules/): it is documented with --unused-noqa.
UNUSED_NOQA_URL = "https://github.com/gillint/gillint/blob/main/docs/index.md#unused-noqa-comments-gil001"

#: Bumped when a field changes meaning or disappears (adding fields does not bump it).
SCHEMA_VERSION = 1


def render_json(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    findings = [_with_fix(_with_verification(_with_url(f.to_dict()), result.verifications.get(f)), result.fixes.get(f))
                for f in result.findings if not f.is_analysis_error]
    errors = [_with_url(f.to_dict()) for f in result.findings if f.is_analysis_error]
    document = {
        "version": __version__,
        "schema": SCHEMA_VERSION,
        "files_checked": result.files,
        "findings": findings,
        "errors": errors,
        "suppressed": dict(sorted(result.suppressed.items())),
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def _with_url(finding: dict[str, Any]) -> dict[str, Any]:
    """Add ``url``: the rule's documentation page."""
    finding["url"] = UNUSED_NOQA_URL if finding["code"] == UNUSED_NOQA_CODE else DOCS_URL.format(code=finding["code"])
    return finding


def _with_fix(finding: dict[str, Any], fix: Optional[Fix]) -> dict[str, Any]:
    """Add ``fix``: ruff's shape (applicability, message, edits), or null when there is none."""
    finding["fix"] = fix.to_dict() if fix is not None else None
    return finding


def _with_verification(finding: dict[str, Any], verification: Optional[Verification]) -> dict[str, Any]:
    """Add the ``verification`` object (``--verify`` only; absent otherwise)."""
    if verification is not None:
        finding["verification"] = verification.to_dict()
    return finding
