"""The rule base class: a rule declares what it is and reports nodes; it never formats output."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping, Optional

from gillint.findings import Evidence, Severity
from gillint.options import Option
from gillint.project import ModuleInfo, Project
from gillint.targets import Targets


@dataclass(frozen=True)
class RuleDoc:
    """A rule's documentation, in the sections ruff uses. Rendered to ``docs/rules/<CODE>.md``.

    ``example`` must trigger the rule and ``use_instead`` must not: a test checks both.
    """

    what_it_does: str
    why_bad: str
    example: str
    use_instead: str
    known_problems: str
    references: tuple[str, ...] = ()
    #: Extra sections (title -> markdown), e.g. the start-method table of GIL201.
    extra_sections: tuple[tuple[str, str], ...] = ()
    #: What ``--fix`` does for the rule and when the fix is safe or unsafe (ruff's "Fix safety").
    fix_safety: str = ""


@dataclass(frozen=True)
class Report:
    """A rule's raw report: a node and a message. The engine adds the position and rule facts."""

    node: ast.AST
    message: str
    #: The module the node belongs to, when it is not the module being checked.
    module: Optional[ModuleInfo] = None
    evidence: Optional[Evidence] = None
    #: When the target makes this finding more (or less) serious than the rule's usual severity.
    severity: Optional[Severity] = None


@dataclass
class RuleContext:
    """What a rule can ask while checking a module: the project model, its settings, and the target
    (the Python version, start method and build the code runs on: :class:`~gillint.targets.Targets`)."""

    project: Project
    settings: Mapping[str, Any]
    targets: Targets = field(default_factory=lambda: Targets.from_settings({}))

    @classmethod
    def of(cls, project: Project, settings: Mapping[str, Any]) -> RuleContext:
        return cls(project, settings, Targets.from_settings(settings))


class Rule:
    """Base class of every rule. Subclasses live one per module in :mod:`gillint.rules`."""

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case, e.g. "missing-main-guard"
    summary: ClassVar[str]  # one line for --list-rules and SARIF's shortDescription
    severity: ClassVar[Severity] = Severity.WARNING
    doc: ClassVar[RuleDoc]
    #: The class of the evidence its findings carry (read back from the cache with ``from_dict``).
    evidence: ClassVar[type[Evidence]]
    #: Settings this rule reads; available in ``[tool.gillint]`` and on the command line.
    options: ClassVar[tuple[Option, ...]] = ()
    #: True when a finding can land in a module other than the one that reveals it (GIL301 reports a
    #: mutation in the module of a function that another module runs on threads). Checking a file
    #: alone then needs the modules that import it (``project/importers.py``).
    reports_in_other_modules: ClassVar[bool] = False

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        """Yield a :class:`Report` for each problem found in ``module``."""
        raise NotImplementedError
