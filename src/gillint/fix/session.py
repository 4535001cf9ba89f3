"""The fixes of a command-line run: offered with the findings, or applied (``--fix``), or shown as a
diff (``--diff``), and listed (``--show-fixes``)."""

from __future__ import annotations

import difflib
import io
import os
import tokenize
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from gillint.config import Config
from gillint.engine.discovery import SourceFile
from gillint.engine.importers import importers
from gillint.findings import Finding, RunResult
from gillint.fix.apply import lines_of
from gillint.fix.engine import FIXERS, FileFixes, Target, fix_text
from gillint.fix.model import Fix
from gillint.project.sources import SourceError, decode_source, read_bytes
from gillint.rules import all_rules


@dataclass
class FileResult:
    """A file fixed (in memory until written)."""

    file: SourceFile
    encoding: str
    before: str
    after: str
    fixed: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, Finding]] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    """Which fixes a run applies: fixable codes (per file) and whether unsafe ones count."""

    unsafe: bool = False
    disable_noqa: bool = False

    def allows(self, config: Config) -> Callable[[Finding, Fix], bool]:
        return lambda finding, fix: config.is_fixable(finding.code) and fix.applies(self.unsafe)


def offer_fixes(result: RunResult, files: Sequence[tuple[SourceFile, Config]], policy: Policy) -> None:
    """Attach the fix of each finding that has one to ``result.fixes``; a finding that has none for
    a reason worth knowing gets it at the end of its message (``(no fix: ...)``)."""
    result.unsafe_fixes = policy.unsafe
    renamed: dict[Finding, Finding] = {}
    for target, text, findings in _fixable(result, files, policy):
        baseline = target.lint(text)
        for finding, suggestion in FileFixes(target, text, findings, baseline).suggestions.items():
            if suggestion.fix is not None:
                result.fixes[finding] = suggestion.fix
            elif suggestion.note:
                renamed[finding] = replace(finding, message=f"{finding.message} (no fix: {suggestion.note})")
    result.findings = [renamed.get(f, f) for f in result.findings]


def fix_files(result: RunResult, files: Sequence[tuple[SourceFile, Config]], policy: Policy) -> list[FileResult]:
    """Fix every file with a fixable finding, in memory; the files whose text changed."""
    changed = []
    for target, text, _ in _fixable(result, files, policy):
        encoding = _encoding(target.file.path)
        applied = fix_text(target, text, policy.allows(target.config))
        if applied.text != text:
            changed.append(FileResult(target.file, encoding, text, applied.text, applied.fixed, applied.skipped))
    return changed


def _fixable(result: RunResult, files: Sequence[tuple[SourceFile, Config]],
             policy: Policy) -> Iterator[tuple[Target, str, list[Finding]]]:
    """Each file with findings a fixer knows and the configuration lets fix: its target, text, findings."""
    by_path: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_path.setdefault(finding.path, []).append(finding)
    for file, config in files:
        findings = [f for f in by_path.get(file.display, ()) if f.code in FIXERS and config.is_fixable(f.code)]
        if not findings:
            continue
        try:
            text = decode_source(read_bytes(file.path))
        except SourceError:
            continue
        # Importers that dispatch work reveal findings of rules that report in other modules (GIL301).
        revealed = any(rule.reports_in_other_modules for rule in all_rules() if rule.code in {f.code for f in findings})
        context = [SourceFile(path, str(path)) for path in importers(file.path, config)] if revealed else []
        yield Target(file, config, policy.disable_noqa, context), text, findings


def _encoding(path: Path) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(read_bytes(path)).readline)[0]
    except (SourceError, SyntaxError):
        return "utf-8"


def write(results: Sequence[FileResult]) -> None:
    for result in results:
        result.file.path.write_bytes(result.after.encode(result.encoding))


def unified_diff(results: Sequence[FileResult]) -> str:
    """A diff that ``patch -p1`` and ``git apply`` apply from the current directory."""
    chunks = []
    for result in results:
        name = _diff_path(result.file.path)
        lines = difflib.unified_diff(lines_of(result.before), lines_of(result.after), f"a/{name}", f"b/{name}")
        chunks.append("".join(_terminated(lines)))
    return "".join(chunks)


def _diff_path(path: Path) -> str:
    """The path relative to the current directory when it is below it, with forward slashes."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix().lstrip("/")


def _terminated(lines: Iterator[str]) -> Iterator[str]:
    """Diff lines, with the marker patch and git expect after a last line without a newline."""
    for line in lines:
        if line.endswith(("\n", "\r")):
            yield line
        else:
            yield line + "\n\\ No newline at end of file\n"


def summary(results: Sequence[FileResult], verb: str = "Fixed") -> str:
    """``--show-fixes``: what was fixed, per file and code (ruff's layout)."""
    total = sum(len(r.fixed) for r in results)
    if not total:
        return f"{'No fixes' if verb == 'Fixed' else 'No fixes would be'} applied.\n"
    lines = [f"{verb} {total} finding{'s' if total != 1 else ''}:"]
    for result in results:
        lines.append(f"- {result.file.display}:")
        counts = Counter((f.code, f.name) for f in result.fixed)
        for (code, name), count in sorted(counts.items()):
            lines.append(f"    {count} × {code} ({name})")
    return "\n".join(lines) + "\n"


def conflicts(results: Sequence[FileResult]) -> list[str]:
    """A line per fix that was skipped because it overlapped another."""
    return [f"{result.file.display}:{skipped.line}:{skipped.column}: {skipped.code} fix not applied: it touches "
            f"the code the {kept.code} fix at line {kept.line} changed; run --fix again"
            for result in results for skipped, kept in result.skipped]
