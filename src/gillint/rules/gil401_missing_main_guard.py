"""GIL401 missing-main-guard: a process is started while the module is being imported."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator, Optional

from gillint.facts.dispatch import process_start
from gillint.facts.process_starts import call_starts_process
from gillint.facts.start_methods import start_method_choice
from gillint.findings import Evidence, Severity
from gillint.project import CallSite, ModuleInfo, Scope, ScopeKind
from gillint.project.syntax import guarded_branch
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc
from gillint.targets import TARGETS_DOC

_CONSEQUENCE = (
    "under spawn and forkserver (Windows, macOS, Linux since Python 3.14) every child re-imports "
    "this module and fails"
)


@dataclass(frozen=True)
class MainGuardEvidence(Evidence):
    """GIL401's evidence (the JSON keys of its findings)."""

    #: Where the process is started (the reported call itself, or deep inside what it calls).
    start_line: int
    start_path: str
    #: The functions the reported call goes through to reach the start (empty when it starts it).
    via: tuple[str, ...] = ()


class MissingMainGuard(Rule):
    code = "GIL401"
    name = "missing-main-guard"
    summary = "A process is started at import time, outside `if __name__ == \"__main__\":`."
    severity = Severity.ERROR
    evidence = MainGuardEvidence
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
- A package's `__main__.py` (run as `python -m pkg`) is not reported: multiprocessing never re-runs
  a main module named `pkg.__main__` in the child (`multiprocessing.spawn._fixup_main_from_name`).
  Running that file by its path (`python pkg/__main__.py`) would re-run it; that is not how a
  package's `__main__` is meant to be run.
""",
        references=(
            "[multiprocessing programming guidelines: safe importing of main module]"
            "(https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods)",
            "[Contexts and start methods](https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods)",
        ),
        extra_sections=(("Targets", TARGETS_DOC["GIL401"]),),
        fix_safety="""
`--fix` moves the top-level statement of the first finding and every statement after it into
`def main():`, called under a new `if __name__ == "__main__":` (or into the module's closing
`if __name__ == "__main__":` block when it has one). The script code just before it moves too
(statements that define and import nothing, other than `CONSTANT = ...`), up to the first one that
binds a name a function outside reads: it sets the work up, and a spawned child would run it again.
Function and class definitions among the moved statements stay at module level, where a spawned
child finds them, when what their definition evaluates (decorators, defaults, base classes) is
defined before the moved code. The statements go straight under the new guard, keeping their
names module-level, when a function outside them reads a name they bind, when a name is bound both
in and outside them, or when they bind nothing (`main()` called without a guard just gets one).

- **Safe** when no module of the project imports this one (a bounded text scan of its import
  root), it is no module of a package (other than `__main__.py`), no function outside the moved
  code reads a name it binds, and every definition among them could stay at module level: running
  the script does what it did.
- **Unsafe** when a module imports this one or it belongs to a package (importing it no longer
  starts the work, which was the bug, but may be what an importer relied on), when functions read
  names the moved code binds (a spawned child does not have them), or when a definition had to
  move into `main()`.
- **No fix** when an importer uses a name the moved code binds (`from workers import POOL`): the
  module is a library whose import starts the work, and moving it would break the importer. Nor
  when a class starts the process in its body (`MANAGER = Manager()` as a class attribute: create
  it when it is first needed instead), or when a definition that would move is used by code that
  stays.
""",
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        project = context.project
        if module.name.endswith(".__main__"):
            return  # ``python -m pkg``: spawn never re-runs a package's __main__ in the child
        if start_method_choice(project, module).module_default == "fork":
            return
        for site in module.calls:
            if not _runs_at_import(site) or _is_guarded(site):
                continue
            how = process_start(project, site)
            if how is not None and not context.targets.reimports_main(project, site):
                continue  # a forked child does not import the main module again
            if how is not None:
                yield Report(site.node, f"{how} at import time, outside `if __name__ == \"__main__\":`; "
                             f"{_CONSEQUENCE}", evidence=MainGuardEvidence(module.line_of(site.node),
                                                                           module.display_path))
                continue
            start = call_starts_process(project, site)
            if start is not None and context.targets.reimports_main(project, start.site):
                chain = " -> ".join(start.via)
                line = start.site.module.line_of(start.site.node)
                where = "" if start.site.module is module else f" of {start.site.module.display_path}"
                yield Report(
                    site.node,
                    f"calling '{chain}' at import time starts a process ({start.how}, line {line}{where}), "
                    f"outside `if __name__ == \"__main__\":`; {_CONSEQUENCE}",
                    evidence=MainGuardEvidence(line, start.site.module.display_path, start.via),
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
    chain = (*site.ancestors, site.node)
    for node, child in zip(chain, chain[1:]):
        if isinstance(node, ast.If):
            branch = guarded_branch(node)
            if branch is not None and any(child is statement for statement in branch):
                return True
    return False
