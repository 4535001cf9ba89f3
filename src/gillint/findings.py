"""What a run produces: findings, the per-file errors among them, and their ordering.

A :class:`Finding` is frozen data. Rules never build one themselves: they report a node and
the engine turns it into a finding with a position. Every output format renders these objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from gillint.verify.verdict import Verification


class Severity(str, Enum):
    """How serious a finding is; maps onto SARIF levels and GitHub annotation kinds."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


#: The code of the pseudo-rule that reports files gillint could not analyse.
ANALYSIS_ERROR_CODE = "GIL000"
ANALYSIS_ERROR_NAME = "analysis-error"
#: The code under which ``--unused-noqa`` reports a noqa comment that suppresses nothing.
UNUSED_NOQA_CODE = "GIL001"
UNUSED_NOQA_NAME = "unused-noqa"


@dataclass(frozen=True)
class Finding:
    """One reported problem, positioned in 1-based lines and columns."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    message: str
    severity: Severity = Severity.WARNING
    #: Rule-specific facts behind the finding (target function, evidence line, confidence...).
    #: Documented per rule; carried into JSON and SARIF. Not part of equality.
    evidence: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

    @property
    def is_analysis_error(self) -> bool:
        return self.code == ANALYSIS_ERROR_CODE

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of a finding (see docs/index.md, "JSON output")."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "severity": self.severity.value,
            "evidence": dict(self.evidence),
        }


def analysis_error(path: str, reason: str, line: int = 1, column: int = 1) -> Finding:
    """A ``GIL000`` finding: the file (or one rule on it) could not be analysed."""
    return Finding(
        path=path,
        line=line,
        column=column,
        end_line=line,
        end_column=column,
        code=ANALYSIS_ERROR_CODE,
        name=ANALYSIS_ERROR_NAME,
        message=f"could not analyse: {reason}",
        severity=Severity.ERROR,
    )


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Order findings by path, line, column, code (the order every format uses), one per code and place.

    The same statement can be revealed by several files of a run (two modules each start threads that
    run ``bump()``): each file's analysis reports it, and the first message in sort order is kept, so
    the result is the same whichever files were linted together or came from the cache.
    """
    kept: dict[tuple[str, int, int, str], Finding] = {}
    for finding in sorted(findings, key=lambda f: f.sort_key):
        kept.setdefault(finding.sort_key[:4], finding)
    return list(kept.values())


@dataclass
class RunResult:
    """Findings of a run (sorted, filtered) and what was filtered out."""

    findings: list[Finding]
    files: int
    #: Findings hidden by noqa comments, per code.
    suppressed: Counter[str] = field(default_factory=Counter)
    #: The findings hidden by noqa comments themselves (for ``--unused-noqa``).
    hidden: list[Finding] = field(default_factory=list)
    #: Verdicts of ``--verify`` by finding (empty without it). Reporters render
    #: ``verifications[finding].to_dict()`` as the finding's ``verification`` object.
    verifications: dict[Finding, Verification] = field(default_factory=dict)
