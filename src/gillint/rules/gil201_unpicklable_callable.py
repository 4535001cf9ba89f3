"""GIL201 unpicklable-callable: a lambda, local function or local class sent to another process."""

from __future__ import annotations

from typing import Iterator

from gillint.facts.pickling import (
    REFERENCES,
    START_METHOD_TABLE,
    CallableEvidence,
    explain,
    unpicklable_sends,
)
from gillint.findings import Severity
from gillint.project import ModuleInfo
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc
from gillint.targets import TARGETS_DOC


class UnpicklableCallable(Rule):
    code = "GIL201"
    name = "unpicklable-callable"
    summary = "The callable given to a process pool or process cannot be pickled."
    severity = Severity.ERROR
    evidence = CallableEvidence
    doc = RuleDoc(
        what_it_does="""
Finds callables handed to another process that `pickle` cannot serialise: a `lambda` (written inline
or bound to a name first), a function defined inside another function (a local function or closure),
a method of a class defined inside a function (or an instance of such a class), `functools.partial`
wrapping one of those, the result of a project factory that returns a local function, and a function
whose project decorator replaces it with a local wrapper without `functools.wraps`. The
sites are the task methods of `multiprocessing.Pool` and `get_context(...).Pool` (`map`, `imap`,
`starmap`, `apply_async`, ...), `ProcessPoolExecutor.submit`/`.map`, `loop.run_in_executor` on a
process pool, `multiprocessing.Process(target=...)` and the `initializer` of process pools. A
callable passed to a project function that forwards its parameter to such a site is reported at the
caller's argument.
""",
        why_bad="""
Work sent to another process is pickled, and pickle stores a function *by reference*: its module and
qualified name, looked up again in the child. A lambda is named `<lambda>` and a local function
`outer.<locals>.inner`; neither can be looked up, so the call fails with `PicklingError: Can't pickle
<function <lambda>>` or `Can't pickle local object`. Pool task submission pickles under every start
method; `Process(target=...)` and pool initializers only under spawn and forkserver, which is why such
code often works on Linux up to Python 3.13 and breaks on macOS, Windows and Python 3.14. With
`apply_async` and `submit` the error is stored in the result: code that never calls `.get()` or
`.result()` silently loses the work.
""",
        example="""
from concurrent.futures import ProcessPoolExecutor

def main(data):
    with ProcessPoolExecutor() as pool:
        return list(pool.map(lambda x: x * 2, data))
""",
        use_instead="""
from concurrent.futures import ProcessPoolExecutor

def double(x):
    return x * 2

def main(data):
    with ProcessPoolExecutor() as pool:
        return list(pool.map(double, data))
""",
        known_problems="""
- Only pools gillint can type are checked: constructed in view, annotated on a parameter
  (`pool: Pool`), kept on `self` (also when built from a class attribute, `self.executor_type(...)`
  with `executor_type = ProcessPoolExecutor`), or returned by a project function. A pool in a
  container, received untyped, or chosen at run time (`ProcessPoolExecutor() if cpu else
  ThreadPoolExecutor()`) is not. Helpers are followed one level deep, and so are factories and
  decorators; `functools.partial` of a local function given to such a helper is reported like the
  bare function.
- A name is followed to the assignments that reach its use, in statement order: a name that holds a
  thread pool and later a process pool is a process pool only after the second assignment. A name
  bound to a lambda on one branch and to a module-level function on another is reported.
- Thread pools (`ThreadPoolExecutor`, `multiprocessing.dummy`, `ThreadPool`) pickle nothing and are
  never reported. Libraries that serialise with cloudpickle or dill (joblib, loky, dask, pathos, the
  `multiprocess` package) accept lambdas and closures and are not checked.
- A bound method of an instance of a module-level class pickles the instance too: when the instance
  holds a lock, an open file or a pool, GIL202 reports it.
- A local function sent as a data argument (`Process(args=(fn, ...))`) rather than as the callable
  is reported by GIL202.
- Choice for `Process(target=...)` and pool initializers: when the same module explicitly selects
  fork (`multiprocessing.set_start_method("fork")` or `multiprocessing.get_context("fork")`),
  nothing is pickled for them and gillint stays silent. Task submission is reported regardless.
""",
        references=REFERENCES,
        extra_sections=(("Start methods", START_METHOD_TABLE), ("Targets", TARGETS_DOC["GIL201"])),
        fix_safety="""
`--fix` moves the callable to a module-level `def`, placed before the top-level statement that uses
it, so that pickle can find it by name: `pool.map(lambda x: x * 2, data)` in `main` becomes
`pool.map(_main_lambda, data)` with `def _main_lambda(x): return x * 2` above `main`. A local
function keeps its name when nothing else in the file uses it; a lambda bound to a name becomes a
`def` of that name. The fix is offered for lambdas (inline, or bound to a name in a function or at
module level) and for functions defined inside functions, also inside `functools.partial(...)`.

- **Safe** when the callable reads no variable of an enclosing function and is not decorated: the
  new function does exactly what the old one did.
- **Unsafe** when it reads such variables: they become its leading parameters, and each use passes
  them with `functools.partial(fn, var, ...)` (a direct call gets them as arguments). Their values
  are now pickled when the work is sent, and fixed at that moment instead of read when the
  function runs. A decorated local function is unsafe too: its decorator now runs once, at import.
- **No fix** for methods and instances of local classes, callables bound in loops or imported from
  elsewhere, a function that assigns a variable of its enclosing function (`nonlocal`), a default
  value that is not a constant, or when the result would report a new finding (a variable passed
  by value that cannot be pickled is a GIL202).
""",
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        for sent, problem in unpicklable_sends(context.project, module, callables=True):
            if not context.targets.pickles_sent(context.project, sent.dispatch):
                continue
            message = explain(sent, problem, "the callable")
            yield Report(sent.node, message, evidence=CallableEvidence.of(sent, problem))
