"""GIL202 unpicklable-argument: an open file, lock, generator or connection sent to another process."""

from __future__ import annotations

from typing import Iterator

from gillint.facts.pickling import (
    REFERENCES,
    START_METHOD_TABLE,
    ArgumentEvidence,
    Role,
    explain,
    unpicklable_sends,
)
from gillint.findings import Severity
from gillint.project import ModuleInfo
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc


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
- `threading` locks, conditions, events, semaphores, barriers, `threading.local`, and `queue.Queue`;
- generator and coroutine objects: a call of a generator or `async` function, a generator expression;
- `sqlite3` connections and cursors; pools; lambdas and local functions;
- `multiprocessing` locks, queues and shared values, but only as *pool task* arguments.

Arguments are those of `submit`/`apply_async`/`run_in_executor`, `Process(args=..., kwargs=...)`,
pool `initargs`, the bound arguments of a `functools.partial` callable, and the items a pool maps
over when they are written at the call or bound in the module (a list or comprehension, `zip`,
`enumerate`, `itertools.repeat`, `[x] * n`). Values are followed through assignments (the last one
before the call), `with ... as`, `self.attr`, module variables imported from the project, and one
level of project helper parameters.
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
- Objects that merely *contain* an unpicklable value (an instance holding a lock) are not seen.
- Choice for `Process(args=...)` and `initargs`: when the same module explicitly selects fork
  (`set_start_method("fork")` or `get_context("fork")`), nothing is pickled for them and gillint
  stays silent. Task submission is reported regardless.
""",
        references=REFERENCES,
        extra_sections=(("Start methods", START_METHOD_TABLE),),
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        for sent, problem in unpicklable_sends(context.project, module, callables=False):
            what = "the items it maps over" if sent.role is Role.ITEM else "its arguments"
            yield Report(sent.node, explain(sent, problem, what),
                         evidence=ArgumentEvidence.of(sent, problem))
