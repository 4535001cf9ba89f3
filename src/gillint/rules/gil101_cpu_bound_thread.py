"""GIL101 cpu-bound-thread: pure-Python CPU work handed to threads, where the GIL serialises it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Iterator, Optional

from gillint.api.gil import BARRIER_TYPES, EVENT_TYPES, THREAD_MONKEY_PATCHES, TIMERS, Knowledge
from gillint.facts.dispatch import Dispatch, Executor, dispatches, function_location
from gillint.facts.effects import Effects, EffectsModel, combine
from gillint.facts.effects import Evidence as Seen
from gillint.findings import Evidence, Location, Severity, Site
from gillint.options import Option
from gillint.project import CallableTarget, CallSite, ClassInfo, ModuleInfo, Project, TargetKind, enclosing_function
from gillint.project.syntax import int_value, string_value, terminal_name
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc
from gillint.targets import TARGETS_DOC

_ADVICE = "under the GIL threads take turns; use ProcessPoolExecutor or multiprocessing, or a GIL-releasing library"
#: APIs whose callers keep running Python code (an event loop) while the thread works.
_EVENT_LOOP_APIS = frozenset({"asyncio.to_thread", "run_in_executor"})


@dataclass(frozen=True)
class Wait(Evidence):
    """Where a mixed worker waits (outside its hot loop)."""

    line: int
    path: str
    #: The call, through the functions followed: ``'load_rows': open()``.
    what: str


@dataclass(frozen=True)
class CpuBoundEvidence(Evidence):
    """GIL101's evidence (the JSON keys of its findings)."""

    dispatch: Site
    #: The dispatched callable (path and line None when it is not project code).
    target: Location
    #: The arguments (or iterables mapped over) as written at the dispatch.
    arguments: tuple[str, ...]
    #: The literal number of workers, when the code says it.
    workers: Optional[int]
    evidence_line: int
    evidence_path: str
    #: What makes it CPU-bound, through the functions followed: ``'crunch' -> 'step': a pure-Python loop``.
    evidence: str
    #: ``high`` for a Python loop, ``medium`` for a C call that holds the GIL or recursion.
    confidence: str
    #: ``cpu``: the worker computes and never waits; ``mixed``: it waits for bulk reads only, outside
    #: the hot loop that ``evidence_line`` points at.
    kind: str = "cpu"
    #: For a mixed worker, its first wait.
    waits: Optional[Wait] = None
    #: For a mixed worker, the function whose body holds the hot loop (``--verify`` times it).
    hot_function: Optional[Location] = None
_WEIGHING = """
gillint estimates where a worker's time goes, function by function, following the project
functions it calls:

- **Computing** (holds the GIL): a loop or comprehension doing Python work (arithmetic, containers,
  strings, calls of project functions), recursion, or C code that keeps the GIL on a big input
  (`sum`, `sorted`, `min`, `max`, `re`, `json`, `pickle`).
- **Waiting** (releases the GIL): I/O, `time.sleep`, `subprocess`, `select`, queue gets,
  `Event.wait`, `Lock.acquire` and `with lock:`, `join`, `Future.result`, database drivers, and C
  code that releases the GIL (`hashlib`, `zlib`/`bz2`/`lzma`, NumPy/SciPy). Of these, *bulk
  reads* hand the worker its data in one go: files and directories, `subprocess`, queue gets,
  `json.load`, (de)compression and hashing. The others (network round trips, sleeps, locks, events,
  futures, databases, NumPy) may last longer than anything that follows them.
- **Unknown**: anything else (a third-party call, a callback). It keeps the rule silent.

A **hot loop** is a loop or comprehension doing Python work whose trip count is not a small
constant (`for _ in range(3)` is not one), and that goes over data: it holds another loop or calls
computing code on each iteration, or it iterates a parameter, an attribute of `self`, or what a
bulk read returned (`json.load(f)`, `f.read().splitlines()`). Nothing in it may wait, and nothing
in a loop around it: a loop that reads a socket or a file line on each iteration is I/O-bound.

A worker is reported when it computes and never waits (**CPU-bound**), or when it waits only for
bulk reads, outside a hot loop it then runs (**mixed**): *"runs 'encode_shard', which waits on
open() (line 35) but then runs a pure-Python loop over 'stories' (line 38) in which nothing
waits"*. The JSON evidence says which (`"kind": "cpu"` or `"mixed"`, and for a mixed worker
`"waits"`: its line, path and call).
"""

_INTENT = """
GIL101's promise is "these threads were supposed to make this faster, and cannot". It is kept only
where the code shows that intent:

- **Work handed to threads as data**: a pool's `map`, a task given to a thread pool with more than
  one worker (futures whose results are gathered), threads created in a loop or comprehension (one
  per chunk, slice, range or item), several computing threads started by the same function, work
  given to `asyncio.to_thread`/`run_in_executor` (the event loop keeps running Python beside it),
  or a thread whose starter computes too before it joins it. A single thread doing CPU work in the
  background, or a one-worker pool, is there to keep something responsive and is not reported.

And the rule stays silent where the code shows that concurrency itself is the point:

- **Thread-safety tests**: the dispatch is in a `test*` function or in a method of a test class
  (named `Test*`, `*Test`, `*Tests`, or derived from a `*TestCase`): such tests start several
  threads on one object on purpose. A test that times its threads (`time.perf_counter`,
  `time.time`, `time.monotonic`, `timeit`) is the classic demonstration of the GIL and is still
  reported.
- **Threads released together**: the worker waits at a `threading.Barrier`, waits for or polls an
  `Event` (`while not done.is_set():`) that it is given or can see.
- **Greenlets**: the module monkey-patches threads (`gevent.monkey.patch_all()`,
  `eventlet.monkey_patch()`); greenlets take turns by design.
"""


class CpuBoundThread(Rule):
    code = "GIL101"
    name = "cpu-bound-thread"
    summary = "CPU-bound pure-Python work runs on threads, which the GIL lets run only one at a time."
    severity = Severity.WARNING
    evidence = CpuBoundEvidence
    options = (
        Option("extend-releases-gil", "list[str]", (),
               "qualified names of calls that release the GIL or wait (e.g. mylib.fetch, mylib.Client)"),
        Option("extend-cpu-bound", "list[str]", (),
               "qualified names of calls that are CPU-bound under the GIL (e.g. mylib.parse)"),
    )
    doc = RuleDoc(
        what_it_does="""
Finds pure-Python work handed to threads that were meant to make it faster:
`threading.Thread(target=...)` and `Thread` subclasses (their `run()`), `ThreadPoolExecutor.submit/map`
(also on an executor kept on `self`), `multiprocessing.pool.ThreadPool` / `multiprocessing.dummy.Pool`
methods, `asyncio.to_thread` and `loop.run_in_executor(None | <thread pool>, ...)`. The work is the
dispatched callable (functions, bound methods, lambdas, `functools.partial`, followed across modules)
plus the lazy iterators given to it, which run in the worker: in `run_in_executor(None, list,
map(parse, lines))` and `submit(sum, (score(x) for x in xs))` the work is `parse` and `score`.

It reports two kinds of worker (see *How the work is weighed*): a **CPU-bound** one, which computes
and never waits, and a **mixed** one, which waits for its data once (reads a file, runs a
subprocess, takes from a queue) and then spends its time in a pure-Python loop over it. And it
reports them only where the threads were meant for throughput (see *Evidence of intent*).
""",
        why_bad="""
In CPython with the GIL only one thread runs Python bytecode at a time. Two threads running a
pure-Python loop take as long as running it twice in a row (measured: 0.85-1.09x of serial, where
two processes give 1.6-2.2x), and they slow down whatever else the program's threads, including an
asyncio event loop, are doing. Threads help when the work waits (I/O) or runs in C code that releases
the GIL; for Python-level computation use processes, or move the hot loop into a library that
releases the GIL (NumPy, hashlib, zlib).
""",
        example="""
from concurrent.futures import ThreadPoolExecutor

def count_primes(limit):
    found = 0
    for n in range(2, limit):
        if all(n % d for d in range(2, int(n ** 0.5) + 1)):
            found += 1
    return found

def main():
    with ThreadPoolExecutor(max_workers=4) as executor:
        return list(executor.map(count_primes, [50_000] * 4))
""",
        use_instead="""
from concurrent.futures import ProcessPoolExecutor

def count_primes(limit):
    found = 0
    for n in range(2, limit):
        if all(n % d for d in range(2, int(n ** 0.5) + 1)):
            found += 1
    return found

def main():
    with ProcessPoolExecutor(max_workers=4) as executor:
        return list(executor.map(count_primes, [50_000] * 4))
""",
        known_problems="""
- **The weighing is a static guess.** A loop over a parameter may run three times, `sorted(items)`
  on a short list is instant, and a file read once may be large or small. Findings whose only
  evidence is a holding C call or recursion have `"confidence": "medium"`.
- **Only bulk waits are weighed.** A worker that makes a network round trip, sleeps, takes a lock,
  waits for an event or a future, or calls NumPy is not reported as mixed, even when the loop after
  it is long (`[Model.from_dict(r) for r in session.get(url).json()]`): the wait may take longer.
  So is a worker whose wait is inside the loop, or inside a loop around it: reading a file line by
  line (`for line in handle:`), a socket per iteration, `for root, dirs, files in os.walk(top)`.
- **Unknown calls silence the rule.** A call of a third-party function, of a method on an object of
  unknown type (other than well-known container/string methods such as `append` or `split`), of a
  parameter or of a callback may wait or release the GIL, so the worker is not reported. Teach
  gillint with `extend-releases-gil` / `extend-cpu-bound`. A call declared with
  `extend-releases-gil` is a wait of unknown length: it is not weighed.
- **Tests are taken to test thread safety.** Threads started in a `test*` function or a method of a
  test class are not reported unless the test times them. A benchmark written as a test without a
  timer is missed; so is a worker that receives a `Barrier` or an `Event` only to cancel its work.
- Guesses on objects of unknown type: `x.read()`, `x.recv()`, `x.get()` (without a key, or with a
  `block` flag), `q.get(...)` on a receiver named like a queue (`q`, `queue`, `*_queue`, `inbox`),
  `x.join()` (without arguments) are taken as waits (`read`, `readlines`, `communicate` and `get` as bulk
  reads), and so is a container method on a client-like name (`session.get(url)`,
  `db_conn.update(row)`), as a network round trip; `x.step()` follows the `step` methods of the
  classes of the same module; an object a library call returned belongs to that library
  (`m = pattern.match(line)` is `re`). `hashlib` on a short literal or `str(...).encode()` is taken
  to keep the GIL (it releases it only above 2 KiB).
- `executor or ThreadPoolExecutor()` is taken to be the thread pool when `executor` is a parameter
  without annotation that defaults to `None`; a caller passing a process pool is not seen.
- **Free-threaded builds.** On CPython 3.13t/3.14t with the GIL disabled (`sys._is_gil_enabled()`
  is False) threads do run Python code in parallel and the finding does not apply; extension
  modules that are not marked free-threading safe re-enable the GIL. Set `free-threaded = true`
  for code that only runs on such builds (see Targets).
""",
        extra_sections=(("How the work is weighed", _WEIGHING), ("Evidence of intent", _INTENT),
                        ("Targets", TARGETS_DOC["GIL101"])),
        references=(
            "[threading: CPython implementation detail (GIL)](https://docs.python.org/3/library/threading.html#thread-objects)",
            "[asyncio.to_thread](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)",
            "[Glossary: global interpreter lock](https://docs.python.org/3/glossary.html#term-global-interpreter-lock)",
            "[PEP 703: Making the GIL optional](https://peps.python.org/pep-0703/)",
        ),
        fix_safety="""
`--fix` switches the pool the work is given to for the process pool with the same interface, where
the pool is created: `ThreadPoolExecutor` becomes `ProcessPoolExecutor`, `multiprocessing.dummy.Pool`
becomes `multiprocessing.Pool`, `multiprocessing.pool.ThreadPool` becomes `multiprocessing.pool.Pool`
(the import follows).

- **Unsafe**, always: every task of that pool now runs in another process, with its own copy of
  the program's state, so work that updates shared objects or relies on thread-local setup behaves
  differently, and arguments and results are now pickled.
- **No fix** (and the message says why) for `Thread`, `asyncio.to_thread` and `run_in_executor`,
  for a pool gillint cannot trace to the call that creates it, for `thread_name_prefix`, and when
  the switched code would report a new finding: a callable or argument that cannot be pickled
  (GIL201, GIL202) or a pool started at import time without a main guard (GIL401).
""",
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        if context.targets.threads_scale:
            return  # free-threaded: threads run Python code in parallel
        project = context.project
        knowledge = Knowledge(context.settings.get("extend_releases_gil", ()),
                              context.settings.get("extend_cpu_bound", ()))
        model = EffectsModel(project, knowledge)
        if _patches_threads(project, module):
            return  # gevent/eventlet: "threads" are greenlets, run one at a time on purpose
        candidates = [(d, *_work(model, d)) for d in dispatches(project, module)
                      if d.executor is Executor.THREAD and not d.is_initializer]
        found = [(d, t, e) for d, t, e in candidates if t is not None]
        per_scope: dict[int, int] = {}
        for dispatch, _, _ in found:
            key = _scope_key(dispatch)
            per_scope[key] = per_scope.get(key, 0) + 1
        for dispatch, target, effects in found:
            workers = dispatch.workers(project)
            if workers == 1:
                continue
            if not (_side_by_side(dispatch) or per_scope[_scope_key(dispatch)] > 1
                    or _caller_computes(model, dispatch)):
                continue
            if _tests_thread_safety(project, dispatch) or _released_together(project, dispatch, target):
                continue
            yield _report(dispatch, target, effects, workers)


def _work(model: EffectsModel, dispatch: Dispatch) -> tuple[Optional[CallableTarget], Effects]:
    """The dispatched callable and its effects, when every possible target is CPU-bound or a mixed
    worker (waits for bulk reads, then loops in Python). Lazy arguments (``map(f, xs)``, generator
    expressions) run in the worker: their work is added to the callable's."""
    targets = dispatch.targets(model.project)
    carried = [model.of_argument(argument, dispatch.site.scope) for argument in dispatch.arguments]
    every = [(t, combine(*carried, model.of_target(t))) for t in targets]
    if not every:
        return None, Effects()
    if all(e.cpu_bound for _, e in every):
        if all(_unwrap(t).kind is TargetKind.EXTERNAL for t in targets) and _literal_data(dispatch):
            return None, Effects()  # sum([40, 2]): a C call on a literal is instant
        return every[0]
    if all(e.cpu_bound or e.mixed for _, e in every):
        return next((t, e) for t, e in every if e.mixed)
    return None, Effects()


def _unwrap(target: CallableTarget) -> CallableTarget:
    while target.kind is TargetKind.PARTIAL and target.inner is not None:
        target = target.inner
    return target


def _literal_data(dispatch: Dispatch) -> bool:
    sent = (*dispatch.arguments, *dispatch.iterables)
    return all(isinstance(e, (ast.List, ast.Tuple, ast.Set, ast.Dict)) or string_value(e) is not None
               or int_value(e) is not None for e in sent)


def _scope_key(dispatch: Dispatch) -> int:
    """The function (or module) the dispatch is written in."""
    scope = dispatch.site.scope.function_scope or dispatch.site.scope.module_scope
    return id(scope)


def _side_by_side(dispatch: Dispatch) -> bool:
    """Several threads can run the callable at once, or it runs beside an event loop."""
    if dispatch.concurrent or dispatch.api in _EVENT_LOOP_APIS:
        return True
    return dispatch.is_pool_task


def _caller_computes(model: EffectsModel, dispatch: Dispatch) -> bool:
    """After starting the thread, the same function calls CPU-bound code before any ``join()``."""
    module, scope = dispatch.module, dispatch.site.scope.function_scope
    start = module.line_of(dispatch.site.node)
    later = [s for s in module.calls if s.scope.function_scope is scope and module.line_of(s.node) > start]
    for site in sorted(later, key=lambda s: module.line_of(s.node)):
        func = site.node.func
        if isinstance(func, ast.Attribute) and func.attr == "join":
            return False
        targets = model.project.callable_targets(func, site.scope)
        if any(t.kind is TargetKind.FUNCTION and model.of_target(t).cpu_bound for t in targets):
            return True
    return False


# -- intent: threads meant for concurrency, not throughput -------------------------------------


def _patches_threads(project: Project, module: ModuleInfo) -> bool:
    """The module monkey-patches threads into greenlets (gevent, eventlet)."""
    return any(project.qualified_name(site.node.func, site.scope) in THREAD_MONKEY_PATCHES for site in module.calls)


def _tests_thread_safety(project: Project, dispatch: Dispatch) -> bool:
    """The dispatch is in a test (a ``test*`` function, a method of a test class) that does not time
    its threads: the threads run at once to test thread safety, not to finish sooner."""
    function = enclosing_function(dispatch.site.scope)
    in_test = False
    timed = False
    while function is not None:
        if function.name.startswith("test") or (function.owner is not None and _is_test_class(project, function.owner)):
            in_test = True
        timed = timed or any(_is_timer(project, site) for site in function.calls)
        function = enclosing_function(function.defining_scope)
    return in_test and not timed


def _is_test_class(project: Project, cls: ClassInfo) -> bool:
    name = cls.name
    if name.startswith("Test") or name.endswith(("Test", "Tests", "TestCase")):
        return True
    return any(base.rpartition(".")[2].endswith("TestCase") for base in project.base_names(cls))


def _is_timer(project: Project, site: CallSite) -> bool:
    name = project.qualified_name(site.node.func, site.scope)
    return name is not None and name.startswith(TIMERS)


def _released_together(project: Project, dispatch: Dispatch, target: CallableTarget) -> bool:
    """The worker waits at a ``Barrier``, or runs until an ``Event`` says so (``while not done.is_set()``),
    or waits for one to start: the threads are meant to run at the same time, not to share work."""
    function = _unwrap(target).function
    if function is None:
        return False
    sent = {t for argument in dispatch.arguments for t in project.instance_types(argument, dispatch.site.scope)}
    handed = bool(sent & (BARRIER_TYPES | EVENT_TYPES))
    for site in function.calls:
        func = site.node.func
        if not isinstance(func, ast.Attribute) or func.attr not in ("wait", "is_set"):
            continue
        receiver = func.value
        if set(project.instance_types(receiver, site.scope)) & (BARRIER_TYPES | EVENT_TYPES):
            return True
        if "barrier" in terminal_name(receiver).lower():
            return True
        if handed and isinstance(receiver, ast.Name) and receiver.id in function.parameter_names:
            return True  # Thread(target=worker, args=(done, data)) with done = Event()
    return False


# -- the finding ---------------------------------------------------------------------------------


def _report(dispatch: Dispatch, target: CallableTarget, effects: Effects, workers: Optional[int]) -> Report:
    module = dispatch.module
    name = shown = target.display_name.replace("builtins.", "")
    if _unwrap(target).kind is TargetKind.EXTERNAL and dispatch.arguments:  # list(map(parse, lines))
        shown = _short(f"{name}({', '.join(module.code_of(a) for a in dispatch.arguments)})")
    label = f"Thread subclass '{dispatch.subclass.name}'" if dispatch.subclass is not None else (
        "Thread" if dispatch.api == "threading.Thread" else dispatch.api)
    if effects.cpu_bound:
        assert effects.cpu is not None
        message = f"{label} runs '{shown}', {effects.cpu.describe(module)}: {_ADVICE}"
    else:
        assert effects.hot is not None and effects.waits is not None
        message = (f"{label} runs '{shown}', which waits on {effects.waits.phrase(module)} but then runs "
                   f"{effects.hot.phrase(module)} in which nothing waits: {_ADVICE}")
    return Report(dispatch.site.node, message, evidence=_evidence(dispatch, target, name, effects, workers))


def _evidence(
    dispatch: Dispatch, target: CallableTarget, name: str, effects: Effects, workers: Optional[int],
) -> CpuBoundEvidence:
    """The facts behind a finding (the JSON ``evidence``; the verifier's probe reads them)."""
    module = dispatch.module
    mixed = not effects.cpu_bound
    shown = effects.hot if mixed else effects.cpu
    assert shown is not None
    sent = (*dispatch.arguments, *dispatch.iterables)
    details = CpuBoundEvidence(
        dispatch=dispatch.site_evidence(),
        target=_target_location(target, name),
        arguments=tuple(module.code_of(a) for a in sent),
        workers=workers,
        evidence_line=shown.line,
        evidence_path=shown.module.display_path,
        evidence=_chain(shown),
        confidence=shown.confidence,
        kind="mixed" if mixed else "cpu",
    )
    if mixed:
        assert effects.waits is not None
        waits = Wait(effects.waits.line, effects.waits.module.display_path, _chain(effects.waits))
        details = replace(details, waits=waits, hot_function=_holder(shown))
    return details


def _holder(evidence: Seen) -> Optional[Location]:
    """The innermost function whose body holds ``evidence``."""
    line = evidence.line
    around = [f for f in evidence.module.functions
              if f.node.lineno < line <= evidence.module.end_line_of(f.node)]
    return function_location(max(around, key=lambda f: f.node.lineno)) if around else None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _chain(evidence: Seen) -> str:
    return evidence.what if not evidence.via else f"{' -> '.join(evidence.via)}: {evidence.what}"


def _target_location(target: CallableTarget, name: str) -> Location:
    target = _unwrap(target)
    if target.function is not None:
        return function_location(target.function)
    module = target.scope.module
    if target.kind is TargetKind.LAMBDA:
        return Location(name, module.display_path, module.line_of(target.expr))
    return Location(name)
