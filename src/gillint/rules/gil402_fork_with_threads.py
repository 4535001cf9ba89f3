"""GIL402 fork-with-threads: a process is forked while other threads of the program may be running."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from gillint.facts.forks import Fork, RunningThread, direct_fork, forks_at, in_child_branch, threads_running_at
from gillint.facts.start_methods import start_method_of
from gillint.facts.threads import threaded_functions
from gillint.findings import Evidence, Severity
from gillint.project import CallSite, ModuleInfo, Project
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc
from gillint.targets import FORK, Targets

_CONSEQUENCE = "a lock a running thread holds stays locked forever in the child, which then deadlocks on it"


@dataclass(frozen=True)
class ThreadEvidence(Evidence):
    """The thread that may be running at the fork: what started it, and where."""

    #: ``the thread``, ``the worker threads of 'pool'`` (started with the pool's first task, or when made).
    what: str
    line: int
    path: str
    #: The functions a call goes through to start it (empty: the call itself starts it).
    via: tuple[str, ...] = ()
    #: Started while a module was imported (the forking module or one it imports).
    at_import: bool = False
    #: The fork runs on this thread (``what`` is the API that started it), while its starter goes on.
    runs_the_fork: bool = False


@dataclass(frozen=True)
class ForkEvidence(Evidence):
    """GIL402's evidence (the JSON keys of its findings)."""

    #: The call that forks: ``os.fork()``, ``Process.start()``, ``multiprocessing.Pool()``...
    api: str
    #: Where it is (the reported call itself, or deep inside what it calls).
    start_line: int
    start_path: str
    #: The functions the reported call goes through to reach it (empty when it forks itself).
    via: tuple[str, ...]
    #: The start methods the process may use (``os.fork()``: ``["fork"]``).
    start_methods: tuple[str, ...]
    #: Why it forks: ``os.fork()``, ``get_context("fork") on line 4``, ``start-method = "fork"``...
    method_source: str
    thread: ThreadEvidence


class ForkWithThreads(Rule):
    code = "GIL402"
    name = "fork-with-threads"
    summary = "A process is forked while other threads of the program may be running."
    severity = Severity.WARNING
    evidence = ForkEvidence
    #: A fork inside a function another module runs on a thread is reported where the fork is.
    reports_in_other_modules = True
    doc = RuleDoc(
        what_it_does="""
Finds processes started by forking while another thread of the same program may be running:
`os.fork()` (also `os.forkpty()`, `pty.fork()`), and `multiprocessing` processes, pools and managers
and `ProcessPoolExecutor` work whose start method is fork, when before it, on the same path:

- a `threading.Thread` (a subclass, a `Timer`) was started and not joined;
- a `ThreadPoolExecutor` was given work, or a `ThreadPool` made, and not shut down (nor its `with`
  block left);
- a project function was called that starts such a thread and returns without joining it;
- or, for code in a function, its module or a project module it imports starts a thread at import.

The start method is the effective one: chosen in code (`get_context("fork")`, `set_start_method`,
also in the `__main__.py` of the package), else the target's (see Targets below). A fork on a path
only a child runs (`if pid == 0:`, after `if pid: os._exit(0)`) sees only the threads started after
that earlier fork: the child of a fork has one thread.
""",
        why_bad="""
`fork()` copies the whole memory of the process but only the thread that called it. Every lock
another thread held at that moment — in `logging`, in an `io` buffer, in `queue.Queue`, in the
allocator of a C library — is copied *locked*, and no thread is left in the child to release it.
The child hangs forever the first time it takes that lock (a log call is enough), and only sometimes,
depending on timing. CPython 3.12 and later say so when it happens: `DeprecationWarning: This
process (pid=...) is multi-threaded, use of fork() may lead to deadlocks in the child.` This is also
why Python 3.14 made forkserver the default start method on Linux, and why macOS uses spawn.
""",
        example="""
import multiprocessing
import threading

def report_progress():
    ...

def work(item):
    return item * 2

def main(items):
    threading.Thread(target=report_progress, daemon=True).start()
    with multiprocessing.get_context("fork").Pool(4) as pool:
        return pool.map(work, items)
""",
        use_instead="""
import multiprocessing
import threading

def report_progress():
    ...

def work(item):
    return item * 2

def main(items):
    threading.Thread(target=report_progress, daemon=True).start()
    with multiprocessing.get_context("forkserver").Pool(4) as pool:
        return pool.map(work, items)
""",
        fix_safety="""
There is no automatic fix: which repair fits depends on the program. Start the processes before any
thread (or from a process that has none), join the threads first, or use the `spawn` or
`forkserver` start method (`multiprocessing.get_context("forkserver")`).
""",
        known_problems="""
- Threads are seen where this function (or module-level code) starts them, where a project function
  it calls starts them (two calls deep), and at import time of the module and the project modules it
  imports directly. A thread kept on `self` by another method, started by a library (a metrics
  exporter, a gRPC channel) or by a caller of this function is not seen.
- A `join()`, `shutdown()` or `terminate()` on the same name counts as stopping the threads, even with
  a timeout that may expire, or when only some threads of a list were joined.
- Forks are followed into the project functions a call reaches, at any depth; only the first few
  process starts of each function are considered. Calls are followed when gillint can name them
  (`helper()`, `module.helper()`) or when they are methods of `self`/`cls`: a fork or thread behind
  a method of another object (`self.server.spawn()`) is not seen, and neither is a process pool
  made by a call gillint cannot name unless its name says so (`ctx.Pool(4)`).
- `multiprocessing.Pool` and `ProcessPoolExecutor` themselves run helper threads in the parent: a
  fork while one is running is not reported.
- A process started under the default start method is reported when the target allows fork
  (`start-method = "portable"` or `"fork"` with `target-version` before 3.14): on Linux up to 3.13
  fork is the default. Set `start-method` to say where the code runs.
""",
        references=(
            "[os.fork: the 3.12 DeprecationWarning about forking a multi-threaded process]"
            "(https://docs.python.org/3/library/os.html#os.fork)",
            "[Contexts and start methods](https://docs.python.org/3/library/multiprocessing.html"
            "#contexts-and-start-methods)",
            "[CPython issue 84559: change the default start method away from fork]"
            "(https://github.com/python/cpython/issues/84559)",
        ),
        extra_sections=(("Targets", """
| target | processes the code gives no start method |
|---|---|
| `start-method = "portable"` (the default), `target-version` before 3.14 | reported: Linux forks by default |
| `start-method = "portable"`, `target-version = "3.14"` or later | not reported: no platform forks by default |
| `start-method = "fork"`, `target-version` before 3.14 | reported |
| `start-method = "fork"`, `target-version = "3.14"` or later | not reported: Linux defaults to forkserver from 3.14 |
| `start-method = "spawn"` or `"forkserver"` | not reported |
| `free-threaded = true` | no change: a free-threaded build forks the same way |

A start method chosen in code decides for the processes it governs whatever the target:
`get_context("fork")` and `set_start_method("fork")` are reported under every target,
`get_context("spawn")` or `"forkserver"` never. `os.fork()` is reported under every target.
"""),),
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        project, targets = context.project, context.targets
        reported: set[tuple[object, int, str]] = set()
        for site in module.calls:
            fork = next((f for f in forks_at(project, site) if f.always or targets.forks(project, f.site)), None)
            if fork is None:
                continue
            thread = threads_running_at(project, site)
            if thread is None:
                continue
            key = (site.scope.function_scope, thread.line, thread.path)
            if key in reported:
                continue  # one finding per thread and function: the first fork after it
            reported.add(key)
            yield _report(project, module, site, fork, thread, targets)
        yield from _forks_on_threads(module, context)


def _forks_on_threads(module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
    """Forks in the functions ``module`` runs on threads: the thread that started them keeps running."""
    project, targets = context.project, context.targets
    seen: set[int] = set()
    for threaded in threaded_functions(project, module):
        function = threaded.function
        for call in function.calls:
            if call.scope.function_scope is not function.scope or id(call.node) in seen:
                continue
            fork = direct_fork(project, call)
            if fork is None or not (fork.always or targets.forks(project, call)) or in_child_branch(project, call):
                continue
            seen.add(id(call.node))
            entry = threaded.entry
            via = threaded.via if len(threaded.via) > 1 else ()
            started_at, start_module = ((entry.site.node, entry.site.module) if entry.site is not None
                                        else (entry.function.node, entry.function.module))
            thread = RunningThread(f"`{entry.api}`", start_module.line_of(started_at), start_module.display_path, via,
                                   runs_the_fork=True)
            report = _report(project, function.module, call, fork, thread, targets)
            yield Report(report.node, report.message, function.module, report.evidence)


def _report(project: Project, module: ModuleInfo, site: CallSite, fork: Fork, thread: RunningThread,
            targets: Targets) -> Report:
    start = fork.site.module
    start_line = start.line_of(fork.site.node)
    methods = (FORK,) if fork.always else tuple(sorted(targets.methods(project, fork.site)))
    source = fork.api if fork.always else _method_source(project, fork, targets)
    how = "" if fork.always else f"the fork start method, {source}"
    if fork.via:
        where = f"line {start_line}" + ("" if start is module else f" of {start.display_path}")
        forks = f"calling '{' -> '.join(fork.via)}' forks this process (`{fork.api}` on {where}"
        forks += f", {how})" if how else ")"
    else:
        forks = f"`{fork.api}` forks this process" + (f" ({how})" if how else "")
    remedy = ("fork from the main thread before starting threads" if thread.runs_the_fork
              else "stop the threads before forking or start them after")
    if not fork.always:
        remedy = f'{remedy.replace(" or start them after", "")}, or start processes with get_context("forkserver") ' \
                 'or "spawn"'
    evidence = ForkEvidence(
        api=fork.api, start_line=start_line, start_path=start.display_path, via=fork.via, start_methods=methods,
        method_source=source, thread=ThreadEvidence(thread.what, thread.line, thread.path, thread.via,
                                                    thread.at_import, thread.runs_the_fork),
    )
    return Report(site.node, f"{forks} {_describe(thread, module)}; {_CONSEQUENCE}: {remedy}", evidence=evidence)


def _method_source(project: Project, fork: Fork, targets: Targets) -> str:
    """Why the process forks: the choice in code that governs it, else the target's default."""
    choice = start_method_of(project, fork.site)
    if FORK in choice.methods:
        return f"chosen by {choice.describe(fork.site.module)}"
    if targets.start_method == FORK:
        return 'as start-method = "fork" says'
    return "the default on Linux up to Python 3.13"


def _describe(thread: RunningThread, module: ModuleInfo) -> str:
    """``while the thread started on line 12 may be running`` (or, for a fork on a thread, where it runs)."""
    where = "" if thread.path == module.display_path else f" of {thread.path}"
    if thread.runs_the_fork:
        runs = f", through '{' -> '.join(thread.via)}'" if thread.via else ""
        return f"on a thread (started by {thread.what} on line {thread.line}{where}{runs}) while the thread that " \
               "started it goes on"
    text = f"{thread.what} started on line {thread.line}{where}"
    if thread.via:
        text += f" by '{' -> '.join(thread.via)}'"
    if thread.at_import:
        text += " at import"
    return f"while {text} may be running"
