"""GIL401 missing-main-guard: a process is started while the module is being imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import libcst as cst

from gillint.facts.dispatch import process_start
from gillint.findings import Severity
from gillint.project import CallSite, FunctionInfo, ModuleInfo, Project, Scope, ScopeKind, TargetKind, is_main_guard
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc

#: How many calls deep a module-level call is followed to find a process start.
MAX_CALL_DEPTH = 6

_CONSEQUENCE = (
    "under spawn and forkserver (Windows, macOS, Linux since Python 3.14) every child re-imports "
    "this module and fails"
)


@dataclass(frozen=True)
class ProcessStart:
    """Where a process is started and through which functions a module-level call reaches it."""

    site: CallSite
    how: str
    via: tuple[str, ...] = ()


class MissingMainGuard(Rule):
    code = "GIL401"
    name = "missing-main-guard"
    summary = "A process is started at import time, outside `if __name__ == \"__main__\":`."
    severity = Severity.ERROR
    doc = RuleDoc(
        what_it_does="""
Finds code that starts a process while its module is being imported: a `multiprocessing.Pool(...)`,
`Process(...).start()`, `Manager()`, or a `ProcessPoolExecutor` given work, reached from module-level
statements (directly, inside module-level `with`/`for`/`if`/`try` blocks, or through functions that
module-level code calls) that are not under `if __name__ == "__main__":`.
""",
        why_bad="""
Under the *spawn* and *forkserver* start methods the child process starts a fresh interpreter and
imports the main module (as `__mp_main__`) to find the function it must run. If importing the module
starts a process, the child tries to start one too, and multiprocessing stops it with
`RuntimeError: An attempt has been made to start a new process before the current process has
finished its bootstrapping phase`. Spawn is the default on Windows and macOS, and forkserver on
Linux since Python 3.14, so code that works on an older Linux breaks everywhere else.
""",
        example="""
from multiprocessing import Pool

def square(x):
    return x * x

with Pool(4) as pool:
    print(pool.map(square, range(10)))
""",
        use_instead="""
from multiprocessing import Pool

def square(x):
    return x * x

if __name__ == "__main__":
    with Pool(4) as pool:
        print(pool.map(square, range(10)))
""",
        known_problems="""
- Only calls gillint can resolve are followed: a process started through a callback, `getattr`, or a
  function of a third-party package is not seen.
- A module that explicitly chooses the fork start method at module level
  (`multiprocessing.set_start_method("fork")`) is not reported: fork does not re-import the module.
  It is still unportable (Windows has no fork).
- Constructing a `ProcessPoolExecutor` starts nothing; only giving it work is reported.
""",
        references=(
            "[multiprocessing programming guidelines: safe importing of main module]"
            "(https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods)",
            "[Contexts and start methods](https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods)",
        ),
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        project = context.project
        if _chooses_fork(project, module):
            return
        for site in module.calls:
            if not _runs_at_import(site) or _is_guarded(site):
                continue
            how = process_start(project, site)
            if how is not None:
                yield Report(site.node, f"{how} at import time, outside `if __name__ == \"__main__\":`; "
                             f"{_CONSEQUENCE}", evidence={"start_line": module.line_of(site.node)})
                continue
            start = _reaches_process_start(project, site, depth=0)
            if start is not None:
                chain = " -> ".join(start.via)
                line = start.site.module.line_of(start.site.node)
                where = "" if start.site.module is module else f" of {start.site.module.display_path}"
                yield Report(
                    site.node,
                    f"calling '{chain}' at import time starts a process ({start.how}, line {line}{where}), "
                    f"outside `if __name__ == \"__main__\":`; {_CONSEQUENCE}",
                    evidence={"start_line": line, "start_path": start.site.module.display_path,
                              "via": list(start.via)},
                )


def _runs_at_import(site: CallSite) -> bool:
    """True for calls evaluated by module-level code (module, class bodies, comprehensions there)."""
    scope: Optional[Scope] = site.scope
    while scope is not None:
        if scope.kind in (ScopeKind.FUNCTION, ScopeKind.LAMBDA):
            return False
        scope = scope.parent
    return True


def _is_guarded(site: CallSite) -> bool:
    """Inside the body of ``if __name__ == "__main__":`` (or the else of ``!=``)."""
    ancestors = site.ancestors
    for index, node in enumerate(ancestors[:-1]):
        if not isinstance(node, cst.If):
            continue
        branch = ancestors[index + 1]
        guarded_branch = _guarded_branch(node)
        if guarded_branch is not None and branch is guarded_branch:
            return True
    return False


def _guarded_branch(node: cst.If) -> Optional[cst.CSTNode]:
    test = node.test
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return node.body if is_main_guard(test.left) or is_main_guard(test.right) else None
    if is_main_guard(test):
        return node.body
    if (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.NotEqual)):
        equal = test.with_changes(comparisons=[test.comparisons[0].with_changes(operator=cst.Equal())])
        if is_main_guard(equal):
            return node.orelse
    return None


def _reaches_process_start(project: Project, site: CallSite, depth: int) -> Optional[ProcessStart]:
    """Follow a call into project functions to find a process start (memoised per function)."""
    if depth >= MAX_CALL_DEPTH:
        return None
    for target in project.callable_targets(site.node.func, site.scope):
        function = target.function
        if target.kind is TargetKind.CLASS and target.cls is not None:
            function = project.find_method(target.cls, "__init__")
        if function is None:
            continue
        start = _function_starts_process(project, function, depth)
        if start is not None:
            return start
    return None


def _function_starts_process(project: Project, function: FunctionInfo, depth: int) -> Optional[ProcessStart]:
    def compute() -> Optional[ProcessStart]:
        for call in function.calls:
            if call.scope.function_scope is not function.scope:
                continue  # inside a nested lambda: runs only if called
            how = process_start(project, call)
            if how is not None:
                return ProcessStart(call, how, (function.qualname,))
            deeper = _reaches_process_start(project, call, depth + 1)
            if deeper is not None:
                return ProcessStart(deeper.site, deeper.how, (function.qualname, *deeper.via))
        return None

    return project.memo("starts-process", function.node, compute, None)


def _chooses_fork(project: Project, module: ModuleInfo) -> bool:
    """``multiprocessing.set_start_method("fork")`` at module level."""
    for site in module.calls:
        if site.scope is not module.scope:
            continue
        if project.qualified_name(site.node.func, site.scope) != "multiprocessing.set_start_method":
            continue
        args = site.node.args
        if args and isinstance(args[0].value, cst.SimpleString) and args[0].value.evaluated_value == "fork":
            return True
    return False
