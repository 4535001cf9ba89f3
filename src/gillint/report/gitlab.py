"""GitLab Code Quality: the Code Climate subset GitLab reads from ``artifacts:reports:codequality``.

Each finding is one issue; GitLab shows them in the merge request widget and the diff. Files that
could not be analysed (``GIL000``) are issues too: GitLab has no other place for them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any, TextIO

from gillint.findings import RunResult, Severity
from gillint.report.fingerprint import fingerprints
from gillint.report.text import ReportOptions

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.NOTE: "minor"}


def render_gitlab(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    identities = fingerprints(result.findings, options.sources)
    issues: list[dict[str, Any]] = [
        {
            "type": "issue",
            "description": f"{finding.code} {finding.message}",
            "check_name": finding.code,
            "categories": ["Bug Risk"],
            "fingerprint": hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32],
            "severity": SEVERITIES[finding.severity],
            "location": {
                "path": PurePath(finding.path).as_posix(),
                "lines": {"begin": finding.line, "end": finding.end_line},
            },
        }
        for finding, identity in zip(result.findings, identities)
    ]
    json.dump(issues, out, indent=2, ensure_ascii=False)
    out.write("\n")
