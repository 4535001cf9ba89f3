"""The one engine behind every front end (CLI, flake8, pre-commit).

Each file is parsed once and indexed in one traversal; every enabled rule then queries the
project model. Files that cannot be read or parsed, and rules that fail on a file, become
``GIL000`` findings: the rest of the run goes on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import libcst as cst

from gillint.config import Config
from gillint.discovery import SourceFile
from gillint.findings import Finding, analysis_error, sorted_findings
from gillint.noqa import file_is_skipped, is_suppressed, noqa_lines
from gillint.project import ModuleInfo, Project
from gillint.project.sources import SourceError, decode_source, read_source
from gillint.rules import Rule, all_rules
from gillint.rules.base import Report, RuleContext


@dataclass
class RunResult:
    """Findings of a run (sorted, filtered) and what was filtered out."""

    findings: list[Finding]
    files: int
    #: Findings hidden by ``# noqa``, per code.
    suppressed: Counter[str] = field(default_factory=Counter)


class Analyzer:
    """Lints files against one project model. Not thread-safe: one per worker."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.project = Project()
        self.rules: list[Rule] = [cls() for cls in all_rules() if config.is_enabled(cls.code)]
        self.context = RuleContext(self.project, config.settings)

    def load(self, file: SourceFile, data: Union[bytes, str, None] = None) -> ModuleInfo | Finding:
        """Parse and index a file (or ``data``, its content as bytes or text); ``GIL000`` when that fails."""
        try:
            if data is None:
                source = read_source(file.path)
            else:
                source = data if isinstance(data, str) else decode_source(data)
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
    stdin_data: Union[bytes, str, None] = None,
    disable_noqa: bool = False,
    context: Iterable[SourceFile] = (),
) -> RunResult:
    """Lint ``files`` (``stdin_data`` is the content of the single file read from stdin or an editor).

    ``context`` files are checked too, only for the findings they reveal in ``files`` (a dispatch in
    an importer that makes a function of ``files`` run on threads); their own findings are dropped.
    """
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
    for file in context:
        loaded = analyzer.load(file)
        if not isinstance(loaded, Finding):
            raw.extend(finding for finding in analyzer.check(loaded) if finding.path in lines)
    return _filter(raw, lines, config, disable_noqa, len(files))


def _filter(
    raw: Sequence[Finding], lines: dict[str, list[str]], config: Config, disable_noqa: bool, file_count: int
) -> RunResult:
    """Keep findings in linted files that the configuration enables and no ``# noqa`` hides."""
    kept: list[Finding] = []
    suppressed: Counter[str] = Counter()
    noqa_by_path: dict[str, Optional[dict[int, str]]] = {}
    for finding in sorted_findings(list(raw)):
        if finding.path not in lines and not finding.is_analysis_error:
            continue  # in a module loaded only to follow an import
        if not config.is_enabled(finding.code, config.ignored_for(finding.path)):
            continue
        if not disable_noqa:
            if finding.path not in noqa_by_path:
                source_lines = lines.get(finding.path, [])
                noqa_by_path[finding.path] = None if file_is_skipped(source_lines) else noqa_lines(source_lines)
            noqa = noqa_by_path[finding.path]
            if noqa is None or is_suppressed(finding.code, noqa.get(finding.line, "")):
                suppressed[finding.code] += 1
                continue
        kept.append(finding)
    return RunResult(kept, file_count, suppressed)


def lint_source(source: str, path: str = "<string>.py", config: Optional[Config] = None) -> list[Finding]:
    """Lint one piece of source code (used by tests and the flake8 plugin)."""
    file = SourceFile(Path(path), path)
    return lint([file], config or Config(), stdin_data=source).findings
