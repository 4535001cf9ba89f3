"""Parsing one file into the project model and running every enabled rule on it.

A file that cannot be read or parsed, and a rule that fails on a file, become ``GIL000``
findings: the rest of the run goes on.
"""

from __future__ import annotations

from typing import Optional, Union

from gillint.config import Config
from gillint.engine.discovery import SourceFile
from gillint.findings import Finding, analysis_error
from gillint.project import ModuleInfo, Project
from gillint.project.limits import deep_recursion
from gillint.project.parse import SyntaxProblem, syntax_problem, target_syntax_problem
from gillint.project.sources import SourceError, decode_source, read_source
from gillint.rules import Rule, all_rules
from gillint.rules.base import Report, RuleContext
from gillint.targets import Targets


class Analyzer:
    """Lints files against one project model. Not thread-safe: one per worker."""

    def __init__(self, config: Config, project: Optional[Project] = None) -> None:
        self.config = config
        self.project = project if project is not None else Project()
        self.rules: list[Rule] = [cls() for cls in all_rules() if config.is_enabled(cls.code)]
        self.context = RuleContext.of(self.project, config.settings)
        #: The oldest Python the code must parse on (``target-version``).
        self.target = Targets.from_settings(config.settings).version

    def load(self, file: SourceFile, data: Union[bytes, str, None] = None) -> ModuleInfo | Finding:
        """Parse and index a file (or ``data``, its content as bytes or text); ``GIL000`` when that fails."""
        try:
            source = _source(file, data)
            module = self.project.add_module(file.path, file.display, source)
            problem = target_syntax_problem(source, self.target, file.display)
            return module if problem is None else _syntax_error(file, problem)
        except SourceError as error:
            return analysis_error(file.display, str(error))
        except SyntaxProblem as error:
            return _syntax_error(file, error)
        except RecursionError:
            return analysis_error(file.display, "code is nested too deeply to analyse")
        except (ValueError, MemoryError) as error:
            return analysis_error(file.display, f"cannot parse: {error}")

    def check_syntax(self, file: SourceFile, data: Union[bytes, str, None] = None) -> Optional[Finding]:
        """The cheap check of a file the prefilter skipped: can it be read, decoded and parsed (also by
        ``target-version``)?

        The verdict is the one a full analysis would give (see :mod:`gillint.project.parse`).
        """
        try:
            source = _source(file, data)
            problem = syntax_problem(source, file.display) or target_syntax_problem(source, self.target, file.display)
        except SourceError as error:
            return analysis_error(file.display, str(error))
        except RecursionError:
            return analysis_error(file.display, "code is nested too deeply to analyse")
        except (ValueError, MemoryError) as error:
            return analysis_error(file.display, f"cannot parse: {error}")
        return _syntax_error(file, problem) if problem else None

    def check(self, module: ModuleInfo) -> list[Finding]:
        """Run every enabled rule on ``module``; a failing rule becomes a ``GIL000`` finding."""
        findings: list[Finding] = []
        for rule in self.rules:
            try:
                with deep_recursion():
                    findings.extend(_finding(rule, report, module) for report in rule.check(module, self.context))
            except RecursionError:
                findings.append(analysis_error(module.display_path, f"{rule.code} gave up: code nested too deeply"))
            except Exception as error:  # one rule's bug must not stop the run
                findings.append(analysis_error(
                    module.display_path, f"internal error in {rule.code} ({type(error).__name__}: {error})"
                ))
        return findings


def _syntax_error(file: SourceFile, problem: SyntaxProblem) -> Finding:
    return analysis_error(file.display, str(problem), problem.line, problem.column)


def _source(file: SourceFile, data: Union[bytes, str, None]) -> str:
    """The text of a file: given as text, given as bytes (decoded as Python would), or read."""
    if data is None:
        return read_source(file.path)
    return data if isinstance(data, str) else decode_source(data)


def _finding(rule: Rule, report: Report, module: ModuleInfo) -> Finding:
    target = report.module or module
    span = target.span(report.node)
    return Finding(
        path=target.display_path,
        line=span.line,
        column=span.column + 1,
        end_line=span.end_line,
        end_column=span.end_column + 1,
        code=rule.code,
        name=rule.name,
        message=report.message,
        severity=report.severity or rule.severity,
        evidence=report.evidence,
    )
