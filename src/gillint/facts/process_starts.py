"""Which functions start a process when called, directly or through the project functions they call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from gillint.facts.dispatch import may_reach_workers, process_start
from gillint.project import CallSite, FunctionInfo, Project, TargetKind


@dataclass(frozen=True)
class ProcessStart:
    """Where a process is started and through which functions a call reaches it."""

    site: CallSite
    how: str
    via: tuple[str, ...] = ()


def call_starts_process(project: Project, site: CallSite) -> Optional[ProcessStart]:
    """The process start reached by calling ``site``'s project function (or class, through ``__init__``)."""
    if not may_reach_workers(project, project.qualified_name(site.node.func, site.scope)):
        return None
    for target in project.callable_targets(site.node.func, site.scope):
        function = target.function
        if target.kind is TargetKind.CLASS and target.cls is not None:
            function = project.find_method(target.cls, "__init__")
        if function is None:
            continue
        start = function_starts_process(project, function)
        if start is not None:
            return start
    return None


def function_starts_process(project: Project, function: FunctionInfo) -> Optional[ProcessStart]:
    """The first process start that calling ``function`` reaches (memoised; followed to any depth)."""
    def compute() -> Optional[ProcessStart]:
        for call in function.calls:
            if call.scope.function_scope is not function.scope:
                continue  # inside a nested lambda: runs only if called
            how = process_start(project, call)
            if how is not None:
                return ProcessStart(call, how, (function.qualname,))
            deeper = call_starts_process(project, call)
            if deeper is not None:
                return ProcessStart(deeper.site, deeper.how, (function.qualname, *deeper.via))
        return None

    return project.memo("starts-process", function.node, compute, None)
