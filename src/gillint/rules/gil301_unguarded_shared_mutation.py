"""GIL301 unguarded-shared-mutation: read-modify-write or check-then-act on state threads share."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Iterator, Optional

from gillint.facts.dispatch import function_location
from gillint.facts.locks import CHECK_THEN_ACT, RACING_WRITES, RMW, Mutation, function_facts
from gillint.facts.threads import ThreadedFunction, concurrent_window, run_together, shared_state, threaded_functions
from gillint.findings import Evidence, Location, Severity, Site
from gillint.project import FunctionInfo, ModuleInfo, Project
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc

_MAX_SHOWN = 60

_CONSEQUENCE = {
    RMW: "is a read-modify-write of {shared}",
    CHECK_THEN_ACT: "acts on an earlier check of {shared}",
    RACING_WRITES: "writes the same keys of {shared}",
}
_OUTCOME = {
    RMW: "updates can be lost",
    CHECK_THEN_ACT: "two threads can both pass the check",
    RACING_WRITES: "the final content depends on which thread writes last",
}


@dataclass(frozen=True)
class RaceEvidence(Evidence):
    """GIL301's evidence (the JSON keys of its findings)."""

    #: Where the threads are started, and the function they are given.
    dispatch: Site
    target: Location
    arguments: tuple[str, ...]
    #: The literal number of threads, when the code says it.
    workers: Optional[int]
    #: What the threads share, in words: ``global 'hits'``, ``attribute 'count' of the 'Stats' instance...``.
    shared: str
    #: The function that holds the racing statement (the target or a function it calls) and its file.
    function: str
    function_path: str
    #: ``read-modify-write``, ``check-then-act`` or ``racing writes``.
    operation: str


class UnguardedSharedMutation(Rule):
    code = "GIL301"
    reports_in_other_modules = True
    name = "unguarded-shared-mutation"
    summary = "Shared state is read-modified-written or checked-then-set by several threads without a lock."
    severity = Severity.WARNING
    evidence = RaceEvidence
    doc = RuleDoc(
        what_it_does="""
Finds statements in code that runs on several threads at once which update shared state in more
than one step without holding a lock:

- **read-modify-write**: `counter += 1`, `x = x + 1`, `d[k] = d.get(k, 0) + 1`, `totals[k] += n`,
  `Counter.update(...)`;
- **check-then-act**: `if k not in cache: cache[k] = build(k)`, `if self._inst is None:
  self._inst = ...` (also double-checked locking whose second check is missing);
- **racing writes**: every thread writing `shared[i]` for the same `range(...)` of keys.

Shared state is a module global written through `global`, a variable of the function that starts
the threads written through `nonlocal` or mutated in place by a closure, a module-level container or
instance (also imported from another module), a class attribute, `self.x` of a bound method handed
to several threads (`target=self.work` in a loop, `pool.map(self.work, ...)`), and an argument
every thread receives (`args=(stats,)` in a loop).

Threaded code is every function given to `threading.Thread`, a `Thread` subclass's `run`, thread
pools (`ThreadPoolExecutor`, `multiprocessing.dummy`, `ThreadPool`), `asyncio.to_thread` and
`run_in_executor`, plus the project functions those call, across modules. It runs on several
threads when it is dispatched in a loop or comprehension, to a pool's `map`, at two or more
places, or when the starting code calls it itself before joining. Updates of the same state by
two different functions whose threads run at the same time, or by the starting function between
`start()` and `join()`, race as well and are reported at both statements.
""",
        why_bad="""
`counter += 1` is three steps: read `counter`, add one, store the result. The GIL makes each
bytecode atomic, not the sequence: a thread switch between the read and the store makes another
thread's update disappear. `if key not in cache: cache[key] = build()` lets two threads both see the
key missing and both build. Free-threaded Python (3.13t, 3.14t) runs the threads in parallel and
loses updates all the time.

A passing stress test proves nothing. Since CPython 3.10 the interpreter switches threads only at
a few points (backward jumps, calls), so `counter += 1` from 4 threads x 20,000 iterations gives
80,000 every time on 3.11-3.13, while 3.8 loses more than half of the updates. Forcing preemption
inside the statement (opcode-level tracing) loses updates on 3.11-3.13 too: the race is in the
code, the interpreter only hides it.
""",
        example="""
import threading

hits = 0

def record(n):
    global hits
    for _ in range(n):
        hits += 1

threads = [threading.Thread(target=record, args=(1000,)) for _ in range(4)]
""",
        use_instead="""
import threading

hits = 0
hits_lock = threading.Lock()

def record(n):
    global hits
    for _ in range(n):
        with hits_lock:
            hits += 1

threads = [threading.Thread(target=record, args=(1000,)) for _ in range(4)]
""",
        known_problems="""
- A `with` statement on an object gillint cannot identify (a parameter, an attribute set
  elsewhere) is assumed to hold a lock; only objects known to be something else (files,
  executors, sockets, `contextlib` helpers...) are not. A decorator whose name mentions a lock
  (`@synchronized`) also counts. This misses races but never reports locked code.
- `container[key]` updates where `key` is a parameter of the function are assumed to touch a
  per-thread slot (`out[i] += v` with each thread's own `i`), even when two threads could pass the
  same key.
- Only threads gillint sees being started count: a function run by one thread while the main
  thread (or a thread started elsewhere) mutates the same state is not reported, nor is code that
  runs on threads started by a framework (web servers, GUI toolkits, `socketserver`).
- Calls are followed through project functions only (5 calls deep); callbacks and calls through
  `getattr` are not.
- An object shared through a parameter is recognised only for the dispatched function itself.
- A statement in another module is reported when the module that starts the threads is linted in
  the same run (the project model follows imports from the dispatch, not back to it).
- Check-then-act is recognised when the write is under the `if` that tested the same expression
  (or follows an `if ...: return` that did); a test and a write in different functions are not.
""",
        references=(
            "[threading: Lock objects](https://docs.python.org/3/library/threading.html#lock-objects)",
            "[Python FAQ: what kinds of global value mutation are thread-safe?]"
            "(https://docs.python.org/3/faq/library.html#what-kinds-of-global-value-mutation-are-thread-safe)",
            "[PEP 703: Making the Global Interpreter Lock Optional](https://peps.python.org/pep-0703/)",
        ),
        fix_safety="""
`--fix` wraps the racing statements in `with <lock>:`: the update for a read-modify-write; for
check-then-act, the `if` that checks the state together with the update (or the early-exit `if`
before it and everything up to the update). The lock is one that already guards the same state in
a `with` elsewhere in the module (a module-level lock, or `self.<lock>` in the same class), else a
new `threading.Lock()` named after the state: module-level next to the state's definition, in the
function that owns a closure variable, `self.<state>_lock` created in `__init__` (a class attribute
when the class has none), or a class attribute next to the one it guards. When the update already
sits under `with <lock>:` inside the check (double-checked locking without the second check), the
check is repeated inside the lock instead.

- **Unsafe**, always: which lock guards what, the order locks are taken in (a new lock can
  deadlock with another), and the time spent holding one are the program's design. Review every
  such fix.
- **No fix** for racing writes of the same keys (a lock would only serialise them: the last writer
  still wins), when the statements already take the lock or call a function of the module that
  does (taking a `threading.Lock` twice deadlocks), for a check that is one branch of an
  `if`/`elif` chain (the lock would hold every branch), and for updates on one line with their `if`.
""",
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        project = context.project
        racing: list[tuple[ThreadedFunction, Mutation, str]] = []
        for threaded in threaded_functions(project, module):
            for mutation in function_facts(project, threaded.function).mutations:
                shared = shared_state(project, threaded, mutation.target)
                if shared is not None:
                    racing.append((threaded, mutation, shared))
        for threaded, mutation, shared in racing:
            if threaded.several:
                threads = _thread_count(threaded)
            else:
                other = _other_writer(threaded, shared, racing)
                main = _main_thread_writes(project, threaded, shared) if other is None else []
                if main:
                    other = main[0][0].function.qualname
                    for main_threaded, main_mutation in main:
                        yield _report(module, main_threaded, main_mutation, shared,
                                  f"the thread that starts '{threaded.function.qualname}' while it runs")
                if other is None:
                    continue
                threads = f"a thread while '{other}' writes it on another"
            yield _report(module, threaded, mutation, shared, threads)


def _main_thread_writes(
    project: Project, threaded: ThreadedFunction, shared: str,
) -> list[tuple[ThreadedFunction, Mutation]]:
    """Racing updates of ``shared`` by the starting function between the thread's start and join."""
    window = concurrent_window(threaded.dispatch)
    if window is None or window[0] is threaded.function:
        return []
    dispatcher, start, end = window
    main = replace(threaded, function=dispatcher, via=(dispatcher.qualname,), self_shared=False,
                   shared_parameters=frozenset(), distinct_parameters=frozenset())
    found = []
    for mutation in function_facts(project, dispatcher).mutations:
        if not start < dispatcher.module.line_of(mutation.node) < end:
            continue
        if shared in (shared_state(project, main, mutation.target), _own_variable(dispatcher, mutation.target)):
            found.append((main, mutation))
    return found


def _own_variable(dispatcher: FunctionInfo, target: ast.expr) -> Optional[str]:
    """How a thread's closure sees the starting function's own variable: nonlocal or closure variable."""
    base = target
    while isinstance(base, (ast.Attribute, ast.Subscript)):
        base = base.value
    if not isinstance(base, ast.Name) or base.id not in dispatcher.scope.bindings:
        return None
    return f"nonlocal '{base.id}'" if base is target else f"closure variable '{base.id}'"


def _thread_count(threaded: ThreadedFunction) -> str:
    if not threaded.workers:
        return "several threads"
    pooled = threaded.dispatch.is_pool_task
    return f"up to {threaded.workers} pool threads" if pooled else f"{threaded.workers} threads"


def _other_writer(
    threaded: ThreadedFunction, shared: str, racing: list[tuple[ThreadedFunction, Mutation, str]],
) -> Optional[str]:
    """A function on another thread, running at the same time, that also updates ``shared``."""
    for other, _, other_shared in racing:
        if (other_shared == shared and other.function is not threaded.function
                and run_together(threaded.dispatch, other.dispatch)):
            return other.function.qualname
    return None


def _report(module: ModuleInfo, threaded: ThreadedFunction, mutation: Mutation, shared: str, threads: str) -> Report:
    function = threaded.function
    target_module = function.module
    shown = " ".join(target_module.code_of(mutation.node).split())
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 3] + "..."
    via = f" (called from '{threaded.via[0]}')" if len(threaded.via) > 1 else ""
    what = _CONSEQUENCE[mutation.operation].format(shared=shared)
    message = (f"'{shown}' {what} from '{function.qualname}'{via}, which runs on {threads} without a lock; "
               f"{_OUTCOME[mutation.operation]}")
    dispatch = threaded.dispatch
    root = threaded.root
    evidence = RaceEvidence(
        dispatch=dispatch.site_evidence(),
        target=function_location(root),
        arguments=tuple(module.code_of(a) for a in dispatch.arguments),
        workers=threaded.workers,
        shared=shared,
        function=function.qualname,
        function_path=target_module.display_path,
        operation=mutation.operation,
    )
    return Report(mutation.node, message, module=None if target_module is module else target_module,
                  evidence=evidence)
