"""The JSON format: one object, stable and documented in docs/index.md ("JSON output")."""

from __future__ import annotations

import json
from typing import TextIO

from gillint import __version__
from gillint.engine import RunResult
from gillint.report.text import ReportOptions

#: Bumped when a field changes meaning or disappears (adding fields does not bump it).
SCHEMA_VERSION = 1


def render_json(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    findings = [f.to_dict() for f in result.findings if not f.is_analysis_error]
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
