"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

    ::warning file=app.py,line=3,col=8,endLine=3,endColumn=31,title=GIL401 missing-main-guard::message

Escaping follows GitHub's toolkit (``@actions/core``): ``%``, CR and LF in the message; in
properties also ``:`` and ``,``. Severity maps to ``error``, ``warning`` or ``notice``.
"""

from __future__ import annotations

from typing import TextIO

from gillint.findings import Finding, RunResult, Severity
from gillint.report.text import ReportOptions

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    """The workflow command for one finding (columns are 1-based; GitHub's end column is inclusive)."""
    properties = {
        "file": finding.path,
        "line": str(finding.line),
        "col": str(finding.column),
        "endLine": str(finding.end_line),
        "endColumn": str(max(finding.column, finding.end_column - 1) if finding.end_line == finding.line
                         else finding.end_column),
        "title": f"{finding.code} {finding.name}",
    }
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{COMMANDS[finding.severity]} {joined}::{escape_data(finding.message)}"


def render_github(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    for finding in result.findings:
        out.write(annotation(finding) + "\n")
