"""The one engine behind every front end (CLI, flake8, pre-commit).

Each file is parsed once and indexed in one traversal; every enabled rule then queries the
project model. Files that cannot be read or parsed, and rules that fail on a file, become
``GIL000`` findings: the rest of the run goes on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import libcst as cst

from gillint.config import Config
from gillint.discovery import SourceFile
from gillint.findings import Finding, analysis_error, sorted_findings
from gillint.noqa import is_suppressed
from gillint.project import ModuleInfo, Project
from gillint.project.sources import SourceError, decode_source, read_source
from gillint.rules import Rule, all_rules
from gillint.rules.base import Report, RuleContext

if TYPE_CHECKING:
    from gillint.verify.verdict import Verification


@dataclass
class RunResult:
    """Findings of a run (sorted, filtered) and what was filtered out."""

    findings: list[Finding]
    files: int
    #: Findings hidden by ``# noqa``, per code.
    suppressed: Counter[str] = field(default_factory=Counter)
    #: Verdicts of ``--verify`` by finding (empty without it). Reporters render
    #: ``verifications[finding].to_dict()`` as the finding's ``verification`` object.
    verifications: dict[Finding, Verification] = field(default_factory=dict)


class Analyzer:
    """Lints files against one project model. Not thread-safe: one per worker."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.project = Project()
        self.rules: list[Rule] = [cls() for cls in all_rules() if config.is_enabled(cls.code)]
        self.context = RuleContext(self.project, config.settings)

    def load(self, file: SourceFile, data: Optional[bytes] = None) -> ModuleInfo | Finding:
        """Parse and index a file (or ``data``, its content); ``GIL000`` when that fails."""
        try:
            source = read_source(file.path) if data is None else decode_source(data)
            return self.project.add_module(file.path, file.display, source)
        except SourceError as error:
            return analysis_error(file.display, str(error))
        except cst.ParserSyntaxError as error:
            return analysis_error(
                file.display, f"syntax error: {error.message}", error.raw_line, error.raw_column + 1
            )
        except RecursionError:
            return analysis_error(file.display, "code is nested too deeply to analyse")
        except (ValueError, MemoryError) as error:
            return analysis_error(file.display, f"cannot parse: {error}")

    def check(self, module: ModuleInfo) -> list[Finding]:
        """Run every enabled rule on ``module``; a failing rule becomes a ``GIL000`` finding."""
        findings: list[Finding] = []
        for rule in self.rules:
            try:
                for report in rule.check(module, self.context):
                    findings.append(_finding(rule, report, module))
            except RecursionError:
                findings.append(analysis_error(module.display_path, f"{rule.code} gave up: code nested too deeply"))
            except Exception as error:  # noqa: BLE001 - one rule's bug must not stop the run
                findings.append(analysis_error(
                    module.display_path, f"internal error in {rule.code} ({type(error).__name__}: {error})"
                ))
        return findings


def _finding(rule: Rule, report: Report, module: ModuleInfo) -> Finding:
    target = report.module or module
    position = target.position(report.node)
    return Finding(
        path=target.display_path,
        line=position.start.line,
        column=position.start.column + 1,
        end_line=position.end.line,
        end_column=position.end.column + 1,
        code=rule.code,
        name=rule.name,
        message=report.message,
        severity=rule.severity,
        evidence=report.evidence,
    )


def lint(
    files: Iterable[SourceFile],
    config: Config,
    stdin_data: Optional[bytes] = None,
    disable_noqa: bool = False,
) -> RunResult:
    """Lint ``files`` (``stdin_data`` is the content of the single file read from stdin)."""
    analyzer = Analyzer(config)
    files = list(files)
    raw: list[Finding] = []
    modules: list[ModuleInfo] = []
    for file in files:
        loaded = analyzer.load(file, stdin_data)
        if isinstance(loaded, Finding):
            raw.append(loaded)
        else:
            modules.append(loaded)
    for module in modules:
        raw.extend(analyzer.check(module))
    lines = {module.display_path: module.lines for module in modules}
    return _filter(raw, lines, config, disable_noqa, len(files))


def _filter(
    raw: Sequence[Finding], lines: dict[str, list[str]], config: Config, disable_noqa: bool, file_count: int
) -> RunResult:
    """Keep findings in linted files that the configuration enables and no ``# noqa`` hides."""
    kept: list[Finding] = []
    suppressed: Counter[str] = Counter()
    for finding in sorted_findings(list(raw)):
        if finding.path not in lines and not finding.is_analysis_error:
            continue  # in a module loaded only to follow an import
        if not config.is_enabled(finding.code, config.ignored_for(finding.path)):
            continue
        source_lines = lines.get(finding.path, [])
        line = source_lines[finding.line - 1] if 0 < finding.line <= len(source_lines) else ""
        if not disable_noqa and is_suppressed(finding.code, line):
            suppressed[finding.code] += 1
            continue
        kept.append(finding)
    return RunResult(kept, file_count, suppressed)


def lint_source(source: str, path: str = "<string>.py", config: Optional[Config] = None) -> list[Finding]:
    """Lint one piece of source code (used by tests and the flake8 plugin)."""
    file = SourceFile(Path(path), path)
    return lint([file], config or Config(), stdin_data=source.encode("utf-8")).findings
