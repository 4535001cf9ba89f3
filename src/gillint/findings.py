"""What a run produces: findings, the per-file errors among them, and their ordering.

A :class:`Finding` is frozen data. Rules never build one themselves: they report a node and
the engine turns it into a finding with a position. Every output format renders these objects.
"""

from __future__ import annotations

import sys
import typing
from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Mapping, Optional, TypeVar, Union

if TYPE_CHECKING:
    from gillint.fix.model import Fix
    from gillint.verify.verdict import Verification


class Severity(str, Enum):
    """How serious a finding is; maps onto SARIF levels and GitHub annotation kinds."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


E = TypeVar("E", bound="Evidence")


@dataclass(frozen=True)
class Evidence:
    """The facts behind a finding: a frozen dataclass per rule whose fields are its JSON keys.

    The rule builds it next to the message; reporters render :meth:`to_dict` (JSON ``evidence``,
    SARIF properties); the verifier's probe reads its fields; the cache reads it back with
    :meth:`from_dict`. Fields hold JSON values (str, int, bool, None), tuples of them, or nested
    :class:`Evidence` parts. Each rule's page lists its keys.
    """

    def to_dict(self) -> dict[str, Any]:
        return {item.name: _plain(getattr(self, item.name)) for item in fields(self)}

    @classmethod
    def from_dict(cls: type[E], data: Mapping[str, Any]) -> E:
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        return cls(**{item.name: _typed(hints[item.name], data[item.name])
                      for item in fields(cls) if item.name in data})


@dataclass(frozen=True)
class Site(Evidence):
    """Where work is handed to a thread or process: the API and the line."""

    #: The API as the message names it: ``ThreadPoolExecutor.submit``, ``multiprocessing.Process``.
    api: str
    path: str
    line: int


@dataclass(frozen=True)
class Location(Evidence):
    """A function or lambda (path and line None when it is not project code)."""

    #: Its qualified name: ``run``, ``Worker.process``, ``main.<locals>.task``.
    name: str
    path: Optional[str] = None
    line: Optional[int] = None


def _plain(value: Any) -> Any:
    if isinstance(value, Evidence):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _typed(hint: Any, value: Any) -> Any:
    """``value`` read from JSON as the field's type says (nested parts, tuples)."""
    if value is None:
        return None
    if typing.get_origin(hint) is Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if isinstance(hint, type) and is_dataclass(hint) and issubclass(hint, Evidence):
        return hint.from_dict(value)
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_typed(item, element) for element in value)
    return value


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
    #: The rule's facts behind the finding (target function, evidence line, confidence...); None for
    #: GIL000. Carried into JSON and SARIF. Not part of equality.
    evidence: Optional[Evidence] = field(default=None, compare=False, hash=False)

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
            "evidence": self.evidence.to_dict() if self.evidence is not None else {},
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
    #: The fix each finding has (only those the configuration lets fix); see gillint.fix.
    fixes: dict[Finding, Fix] = field(default_factory=dict)
    #: Whether unsafe fixes are applied (``--unsafe-fixes``), so count as fixable in reports.
    unsafe_fixes: bool = False
    #: How many findings ``--fix`` fixed before the findings above were found.
    fixed: int = 0
