"""The JSON format: one object, stable and documented in docs/index.md ("JSON output")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, TextIO

from gillint import __version__
from gillint.findings import RunResult
from gillint.report.text import ReportOptions

if TYPE_CHECKING:
    from gillint.verify.verdict import Verification

#: Bumped when a field changes meaning or disappears (adding fields does not bump it).
SCHEMA_VERSION = 1


def render_json(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    findings = [_with_verification(f.to_dict(), result.verifications.get(f))
                for f in result.findings if not f.is_analysis_error]
    errors = [f.to_dict() for f in result.findings if f.is_analysis_error]
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


def _with_verification(finding: dict[str, Any], verification: Optional[Verification]) -> dict[str, Any]:
    """Add the ``verification`` object (``--verify`` only; absent otherwise)."""
    if verification is not None:
        finding["verification"] = verification.to_dict()
    return finding
