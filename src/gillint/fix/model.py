"""What a fix is: an applicability, a one-line description and text edits (as ruff reports them),
and, inside gillint, the libcst changes that produce those edits.

A fixer (one module per rule in this package) plans :class:`Changes` on the libcst tree of the
file; :mod:`gillint.fix.apply` turns the changes of several fixes into one transformer pass, and
the difference between the old and the new text into :class:`Edit` objects for JSON and SARIF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any, Callable, Optional, Union

import libcst as cst

from gillint.findings import Finding


class Applicability(str, Enum):
    """ruff's applicability: a safe fix keeps the program's behaviour except for the bug; an unsafe
    one may change it and is applied only with ``--unsafe-fixes``."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace the text from ``start`` to ``end`` (1-based line and character column, end exclusive)."""

    content: str
    start: tuple[int, int]
    end: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """ruff's JSON shape of an edit."""
        return {
            "content": self.content,
            "location": {"row": self.start[0], "column": self.start[1]},
            "end_location": {"row": self.end[0], "column": self.end[1]},
        }


@dataclass(frozen=True)
class Fix:
    """A fix as users see it: how safe it is, what it does, and the edits that do it."""

    applicability: Applicability
    message: str
    #: Computes :attr:`edits`, when a report shows them (text output does not).
    compute_edits: Callable[[], tuple[Edit, ...]] = field(compare=False, repr=False)

    @cached_property
    def edits(self) -> tuple[Edit, ...]:
        return self.compute_edits()

    def applies(self, unsafe: bool) -> bool:
        """Is it applied by ``--fix`` (``unsafe``: with ``--unsafe-fixes``)?"""
        return unsafe or self.applicability is Applicability.SAFE

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability.value,
            "message": self.message,
            "edits": [edit.to_dict() for edit in self.edits],
        }


#: What a node becomes: another node, several statements, or nothing.
Replacement = Union[cst.CSTNode, cst.FlattenSentinel[Any], cst.RemovalSentinel]


@dataclass
class Changes:
    """What one fix does to the tree, keyed by the original nodes (libcst nodes compare by identity)."""

    replace: dict[cst.CSTNode, Replacement] = field(default_factory=dict)
    #: Statements to insert before or after a statement, in the same block.
    before: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    after: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    #: Names the fix adds to the module (two fixes adding the same name conflict).
    names: set[str] = field(default_factory=set)


@dataclass
class Candidate:
    """A fix a fixer proposes for a finding, before gillint has checked it."""

    applicability: Applicability
    message: str
    changes: Changes
    #: The findings it repairs (several GIL401 findings of a module share one fix).
    repairs: tuple[Finding, ...]


@dataclass(frozen=True)
class Declined:
    """No fix for a finding; ``note`` says why when that helps the user (it ends the message)."""

    note: Optional[str] = None


Plan = Union[Candidate, Declined]
