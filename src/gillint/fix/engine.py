"""Fixes for the findings of one file: proposed by the fixers, checked, and applied together.

Every fix is checked the same way, whatever its rule: the fixed text must compile, and linting it
with every rule (``# noqa`` ignored) must report fewer findings of the repaired code and no more of
any other. A fix that would introduce a finding (a thread pool switched to processes that would
pickle a lambda, a main guard that would leave a process start outside) is dropped, and the new
finding's first clause says why. Fixes are checked all together first, and one by one only when
that fails.

Applying: the fixes chosen for a file go into one transformer pass; a fix that touches what an
earlier one (in finding order) touches is skipped. :func:`fix_text` repeats this on the result a
few rounds, so skipped fixes and findings that only appear after a fix get their turn.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional, Sequence

from libcst import ParserSyntaxError

from gillint.config import DEFAULT_SELECTION, Config, Selection
from gillint.engine.discovery import SourceFile
from gillint.engine.importers import direct_importers
from gillint.engine.run import filter_findings, lint
from gillint.findings import ANALYSIS_ERROR_CODE, Finding
from gillint.fix import gil101, gil201, gil301, gil401
from gillint.fix.apply import apply_changes, conflicts, edits_between
from gillint.fix.document import Document, FixContext
from gillint.fix.model import Candidate, Declined, Edit, Fix, Plan
from gillint.project.module import source_lines
from gillint.project.sources import SourceError, module_name_for, read_source

#: The fixer of each code: it proposes a :class:`Candidate` or says why not.
FIXERS: dict[str, Callable[[Finding, FixContext], Plan]] = {
    "GIL101": gil101.plan,
    "GIL201": gil201.plan,
    "GIL301": gil301.plan,
    "GIL401": gil401.plan,
}
#: How many times :func:`fix_text` fixes, re-lints and fixes again at most.
MAX_ROUNDS = 6
#: Files longer than this (characters) get no fix: libcst takes about a minute and over a gigabyte
#: for a megabyte of source, where the analysis takes seconds.
MAX_TEXT = 500_000


@dataclass
class Target:
    """A file to fix, with its configuration, and how to lint versions of its text."""

    file: SourceFile
    config: Config
    disable_noqa: bool = False
    #: Files that import it and dispatch work: linted with it, for the findings they reveal in it.
    context: Sequence[SourceFile] = ()

    @property
    def path(self) -> str:
        return self.file.display

    @cached_property
    def module(self) -> str:
        """The module's name as an importer writes it (the last part of its dotted name)."""
        return module_name_for(self.file.path)[0].rsplit(".", 1)[-1]

    @cached_property
    def package(self) -> bool:
        """Is the file a module of a package (its directory holds an ``__init__.py``), other than
        the package's ``__main__.py``, which is run rather than imported?"""
        name, is_package, _ = module_name_for(self.file.path)
        return (is_package or "." in name) and self.file.path.name != "__main__.py"

    def lint(self, text: str) -> list[Finding]:
        """Every rule's findings in ``text``, ``# noqa`` ignored: what fixes are checked against."""
        every = replace(self.config, select=("GIL",), extend_select=(), ignore=(), per_file_ignores=(),
                        inherited=(DEFAULT_SELECTION,), overrides=Selection())
        return lint([self.file], every, stdin_data=text, disable_noqa=True, context=self.context).findings

    def visible(self, findings: list[Finding], text: str) -> list[Finding]:
        """The findings among ``findings`` that the run reports (selection, per-file-ignores, noqa)."""
        lines = source_lines(text)
        return filter_findings(findings, lambda _: lines, {self.path}, self.config, self.disable_noqa, 1).findings

    @cached_property
    def importers(self) -> Optional[list[tuple[Path, str]]]:
        """The project files that import this module, with their text (scanned once); None when
        there are too many files to scan."""
        found = direct_importers(self.file.path, self.config)
        if found is None:
            return None
        texts = []
        for path in found:
            try:
                texts.append((path, read_source(path)))
            except SourceError:
                continue
        return texts


@dataclass(frozen=True)
class Suggestion:
    """The fix offered for a finding (checked), or a note saying why there is none."""

    fix: Optional[Fix] = None
    note: Optional[str] = None


@dataclass
class Applied:
    """What fixing a file did."""

    text: str
    fixed: list[Finding] = field(default_factory=list)
    #: Fixes not applied because they touch the same code as an applied one: (skipped, applied).
    skipped: list[tuple[Finding, Finding]] = field(default_factory=list)


class FileFixes:
    """The fixes of one version of a file (``findings``: those reported; ``baseline``: every rule's)."""

    def __init__(self, target: Target, text: str, findings: Sequence[Finding], baseline: Sequence[Finding]) -> None:
        self.target, self.text = target, text
        self.baseline = Counter(f.code for f in baseline)
        self.findings = sorted((f for f in findings if f.code in FIXERS), key=lambda f: f.sort_key)
        self.plans: dict[Finding, Plan] = {}
        self.document: Optional[Document] = _document(text) if self.findings else None
        if self.document is not None:
            context = FixContext(self.document, self.findings, target.module, target.package,
                                 lambda: target.importers)
            for finding in self.findings:
                self.plans[finding] = _plan(finding, context)
        self._texts: dict[int, str] = {}
        #: The candidates checked together (a subset of them must be checked again).
        self._checked_together: set[int] = set()
        self.suggestions = self._check()

    def candidates(self) -> list[Candidate]:
        """Each proposed fix once (findings may share one), in finding order."""
        unique = {id(p): p for p in self.plans.values() if isinstance(p, Candidate)}
        return list(unique.values())

    def text_with(self, chosen: Sequence[Candidate]) -> str:
        assert self.document is not None
        return apply_changes(self.document, [c.changes for c in chosen])

    def _check(self) -> dict[Finding, Suggestion]:
        candidates = self.candidates()
        together = self._compatible(candidates)[0]
        problems: dict[int, Optional[str]] = {}
        if len(together) > 1 and self._problem(together) is None:
            problems = {id(c): None for c in together}
            self._checked_together = {id(c) for c in together}
        for candidate in candidates:
            if id(candidate) not in problems:
                problems[id(candidate)] = self._problem([candidate])
        suggestions = {}
        for finding, plan in self.plans.items():
            if isinstance(plan, Declined):
                suggestions[finding] = Suggestion(note=plan.note)
            elif problems[id(plan)] is not None:
                suggestions[finding] = Suggestion(note=problems[id(plan)])
            else:
                suggestions[finding] = Suggestion(Fix(plan.applicability, plan.message, self._edits(plan)))
        return suggestions

    def _edits(self, candidate: Candidate) -> Callable[[], tuple[Edit, ...]]:
        return lambda: edits_between(self.text, self._alone(candidate))

    def _alone(self, candidate: Candidate) -> str:
        if id(candidate) not in self._texts:
            self._texts[id(candidate)] = self.text_with([candidate])
        return self._texts[id(candidate)]

    def _problem(self, chosen: list[Candidate]) -> Optional[str]:
        """Why applying ``chosen`` is not a fix (None when it is)."""
        text = self._alone(chosen[0]) if len(chosen) == 1 else self.text_with(chosen)
        if text == self.text:
            return "the fix would change nothing"
        try:
            compile(text, self.target.path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            return f"the fixed code would not compile ({error})"
        after = self.target.lint(text)
        repaired = Counter(f.code for c in chosen for f in c.repairs)
        counts = Counter(f.code for f in after)
        if counts[ANALYSIS_ERROR_CODE]:
            return "gillint could not analyse the fixed code"
        for finding in after:
            code = finding.code
            if counts[code] > max(0, self.baseline[code] - repaired[code]):
                if repaired[code] and counts[code] >= self.baseline[code]:
                    return "the fix would not repair it"
                return f"the fix would introduce {code}: {_first_clause(finding.message)}"
        return None

    def _compatible(self, candidates: Sequence[Candidate],
                    ) -> tuple[list[Candidate], list[tuple[Candidate, Candidate]]]:
        """The candidates that can be applied together, in order, and those skipped (with the one
        they conflict with)."""
        chosen: list[Candidate] = []
        skipped = []
        for candidate in candidates:
            assert self.document is not None
            blocker = next((c for c in chosen if conflicts(self.document, c.changes, candidate.changes)), None)
            if blocker is None:
                chosen.append(candidate)
            else:
                skipped.append((candidate, blocker))
        return chosen, skipped

    def apply(self, allowed: Callable[[Finding, Fix], bool]) -> Applied:
        """Apply the checked fixes ``allowed`` accepts, in one pass."""
        wanted = []
        for finding, suggestion in self.suggestions.items():
            plan = self.plans[finding]
            if suggestion.fix is not None and allowed(finding, suggestion.fix) and isinstance(plan, Candidate) \
                    and plan not in wanted:
                wanted.append(plan)
        chosen, skipped = self._compatible(wanted)
        if len(chosen) > 1 and {id(c) for c in chosen} != self._checked_together and self._problem(chosen):
            chosen, skipped = chosen[:1], [(c, chosen[0]) for c in chosen[1:]] + skipped
        if not chosen:
            return Applied(self.text)
        return Applied(self.text_with(chosen), [f for c in chosen for f in c.repairs],
                       [(f, blocker.repairs[0]) for candidate, blocker in skipped for f in candidate.repairs])


def _document(text: str) -> Optional[Document]:
    """The file as libcst parses it; None when it cannot (libcst recurses deeper than ``ast``: a
    deeply nested expression that gillint analyses may still be too deep to fix) or the file is
    longer than :data:`MAX_TEXT`."""
    if len(text) > MAX_TEXT:
        return None
    try:
        return Document(text)
    except (ParserSyntaxError, RecursionError):
        return None


def _plan(finding: Finding, context: FixContext) -> Plan:
    """The fixer's plan; a fixer that fails offers no fix rather than stopping the run."""
    try:
        return FIXERS[finding.code](finding, context)
    except Exception:  # a bug in one fixer must not hide the report
        return Declined()


def fix_text(target: Target, text: str, allowed: Callable[[Finding, Fix], bool]) -> Applied:
    """Fix ``text`` round after round until nothing changes (at most :data:`MAX_ROUNDS`)."""
    result = Applied(text)
    for _ in range(MAX_ROUNDS):
        baseline = target.lint(result.text)
        fixes = FileFixes(target, result.text, target.visible(baseline, result.text), baseline)
        applied = fixes.apply(allowed)
        result.skipped = applied.skipped
        if applied.text == result.text:
            break
        result.text = applied.text
        result.fixed.extend(applied.fixed)
    return result


def _first_clause(message: str) -> str:
    """The reason part of a message, without line numbers that refer to the fixed text."""
    clause = message.split(";")[0]
    return re.sub(r" \((?:defined|bound) on line \d+[^)]*\)", "", clause)
