"""GIL202 unpicklable-argument: an open file, lock, generator or connection sent to another process."""

from __future__ import annotations

from typing import Iterator

from gillint.facts.pickling import (
    REFERENCES,
    START_METHOD_TABLE,
    ArgumentEvidence,
    Role,
    explain,
    explain_subclass,
    process_subclass_problems,
    unpicklable_sends,
)
from gillint.findings import Severity
from gillint.project import ModuleInfo
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc
from gillint.targets import TARGETS_DOC


class UnpicklableArgument(Rule):
    code = "GIL202"
    name = "unpicklable-argument"
    summary = "An argument sent to a process pool or process cannot be pickled."
    severity = Severity.ERROR
    evidence = ArgumentEvidence
    doc = RuleDoc(
        what_it_does="""
Finds arguments handed to another process that cannot be pickled:

- open file objects: `open(...)`, `with open(...) as fh`, `Path.open()`, `gzip.open`, `zipfile.ZipFile`,
  `sys.stdout`; csv readers and writers; logging handlers;
- `threading` locks, conditions, events, semaphores, barriers, threads, `threading.local`, and
  `queue.Queue`;
- generator and coroutine objects: a call of a generator or `async` function, a generator expression;
- `sqlite3` connections and cursors; pools; lambdas and local functions (also in a `functools.partial`);
- `multiprocessing` locks, queues and shared values, but only as *pool task* arguments;
- any of those one level inside a literal tuple, list, set or dict, a list, set or dict
  comprehension, or one branch of a conditional expression (`sys.stderr if quiet else open(log)`);
- **instances of project classes that hold one of those**: a bound method sent as the callable
  (`Process(target=self.crawl)`, `pool.submit(self.work, x)`, `partial(self.work, ...)`) pickles its
  instance, and so does an instance sent as an argument or as the callable (`pool.apply(self)`). The
  attributes checked are those set on construction (by `__init__`, the base `__init__` it calls, and
  the methods it calls on `self`), or by the sending method before the send; `self.x = x` in
  `__init__` is checked against the argument of a constructor call in view (`Uploader(open(path))`).
  A bound method of a `unittest.TestCase` is reported too: while a test runs, the instance holds the
  test result and its output stream;
- **attributes of `multiprocessing.Process` subclasses**: `start()` pickles the whole instance under
  spawn and forkserver, so an unpicklable attribute set on construction is reported where it is set,
  and an argument of `Worker(...)` that `__init__` keeps on `self` is reported at the call.

Arguments are those of `submit`/`apply_async`/`run_in_executor`, `Process(args=..., kwargs=...)`,
pool `initargs`, the bound arguments of a `functools.partial` callable, and the items a pool maps
over when they are written at the call or bound in the module (a list or comprehension, `zip`,
`enumerate`, `itertools.repeat`, `[x] * n`). Values are followed through the assignments that reach
the call (statement order, both branches of an `if`), `with ... as`, `self.attr`, module variables
imported from the project, and one level of project helper parameters.
""",
        why_bad="""
Every argument sent to another process is pickled. Files, locks, generators and database
connections wrap operating-system or interpreter state that cannot be copied, so pickling raises
`TypeError: cannot pickle '_io.TextIOWrapper' object` (or `'_thread.lock'`, `'generator'`,
`'sqlite3.Connection'`). `multiprocessing` locks, queues and shared values can be given to a process
only when it is created (`Process(args=...)`, `initargs`); as a pool task argument they raise
`RuntimeError: Lock objects should only be shared between processes through inheritance`. Pool tasks
pickle under every start method; `Process(args=...)` and `initargs` only under spawn and forkserver,
the default on macOS, Windows and Linux since Python 3.14.
""",
        example="""
from concurrent.futures import ProcessPoolExecutor

def count_lines(handle):
    return sum(1 for _ in handle)

def main(path):
    with ProcessPoolExecutor() as pool, open(path) as handle:
        return pool.submit(count_lines, handle).result()
""",
        use_instead="""
from concurrent.futures import ProcessPoolExecutor

def count_lines(path):
    with open(path) as handle:
        return sum(1 for _ in handle)

def main(path):
    with ProcessPoolExecutor() as pool:
        return pool.submit(count_lines, path).result()
""",
        known_problems="""
- A generator (or any iterable) given as the iterable of `map`/`imap`/`starmap` is consumed in the
  parent and is not reported; its items are checked only when gillint can see how they are built.
- Arguments passed with `*args`/`**kwargs` are not checked; an `args=` tuple bound to a name is followed
  when it is bound once, in the same module.
- Plain sockets are picklable through multiprocessing's reducer and are not reported. Manager
  proxies (`Manager().Lock()`, `Manager().Queue()`) pickle and are not reported.
- Containers and conditional expressions are followed one level deep: a lock in a tuple inside a
  list is not seen. Instances are looked into one level deep too, and only for attributes whose value
  gillint can see (an attribute set from a parameter is checked only against a constructor call in
  view; what a third-party object such as a database engine holds is unknown).
- Instances stay silent when their class, or one of its project base classes, defines
  `__getstate__`, `__reduce__` or `__reduce_ex__`, and when a base class is outside the project and
  not known to pickle plainly (only `object`, `Exception`, `ABC`, `Generic`, `Process`, `Thread` and
  `TestCase` are). Attributes set only by other methods (`connect()`, `run()`), or cleared by the
  sending method before the send (`self.handle = None`, `del self.lock`), are not reported.
- Serialisers other than the standard pickler are not checked: joblib, loky, dask, pathos and the
  `multiprocess` package use cloudpickle or dill, and so do project helpers that dill-encode a task.
- Choice for `Process(args=...)`, `initargs` and `Process` subclasses: when the same module
  explicitly selects fork (`set_start_method("fork")` or `get_context("fork")`), or the class derives
  from `ForkProcess`, nothing is pickled for them and gillint stays silent. Task submission is
  reported regardless.
""",
        references=REFERENCES,
        extra_sections=(("Start methods", START_METHOD_TABLE), ("Targets", TARGETS_DOC["GIL202"])),
        fix_safety="""
There is no automatic fix: what to send instead depends on what the child needs. The message ends
with the usual repair: pass a file's path and open it in the child, create a lock in the child or
share a `Manager().Lock()`, give a `multiprocessing` lock to the pool's `initargs`, pass a list
instead of a generator, pass the database path and connect in the child.
""",
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        for sent, problem in unpicklable_sends(context.project, module, callables=False):
            if not context.targets.pickles_sent(context.project, sent.dispatch):
                continue
            message = explain(sent, problem, _WHAT[sent.role])
            yield Report(sent.node, message, evidence=ArgumentEvidence.of(sent, problem))
        if not context.targets.pickles_unchosen_starts:
            return  # the Process subclasses below are started under the target's default method: fork
        for found in process_subclass_problems(context.project, module):
            yield Report(found.node, explain_subclass(found), evidence=ArgumentEvidence.of_subclass(found))


_WHAT = {
    Role.ITEM: "the items it maps over",
    Role.ARGUMENT: "its arguments",
    Role.CALLABLE: "the callable with the instance it is bound to",
}
