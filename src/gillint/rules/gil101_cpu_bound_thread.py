"""GIL101 cpu-bound-thread: pure-Python CPU work handed to threads, where the GIL serialises it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Iterator, Optional

from gillint.api.gil import Knowledge
from gillint.facts.dispatch import Dispatch, Executor, dispatches, function_location
from gillint.facts.effects import Effects, EffectsModel, combine
from gillint.facts.effects import Evidence as Seen
from gillint.findings import Evidence, Location, Severity, Site
from gillint.options import Option
from gillint.project import CallableTarget, CallSite, ClassInfo, ModuleInfo, Project, TargetKind, enclosing_function
from gillint.project.syntax import int_value, string_value, terminal_name
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc

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
Finds CPU-bound pure-Python functions handed to threads: `threading.Thread(target=...)` and
`Thread` subclasses whose `run()` is CPU-bound, `ThreadPoolExecutor.submit/map`,
`multiprocessing.pool.ThreadPool` / `multiprocessing.dummy.Pool` methods, `asyncio.to_thread` and
`loop.run_in_executor(None | <thread pool>, ...)`.

A function is CPU-bound when it runs a loop or comprehension doing Python work (arithmetic,
containers, strings, calls of project functions that are themselves CPU-bound, followed across
modules), or calls C code that holds the GIL on big inputs (`sum`, `sorted`, `min`, `max`, `re`,
`json`), **and** it does nothing that waits or releases the GIL (file, socket and HTTP I/O,
`time.sleep`, `subprocess`, `select`, queue gets, `Event.wait`, `Lock.acquire`, `join`,
`Future.result`, database drivers, NumPy/SciPy, `hashlib`, `zlib`/`bz2`/`lzma`), **and** every call
it makes is known. A call gillint cannot classify keeps the rule silent.
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
- **Only side-by-side work is reported.** A CPU-bound function is reported when several threads can
  run it at once (a pool's `map`, a dispatch inside a loop or comprehension, several CPU-bound
  `Thread`s started in the same function, any task given to a thread pool with more than one
  worker), or when it is handed to `asyncio.to_thread`/`run_in_executor`, where the event loop keeps
  running Python code beside it (the asyncio docs say these are for I/O-bound functions). A single
  `Thread` doing CPU work in the background is reported only when the function that starts it goes
  on to call CPU-bound code before any `join()`; otherwise it is often there to keep a GUI or server
  responsive, not to make anything faster, and gillint cannot see what else the program computes
  meanwhile.
- **Input sizes are unknown.** A loop over a parameter may run three times; `sorted(items)` on a
  short list is instant. Findings whose only evidence is a holding C call or recursion have
  `"confidence": "medium"`.
- **Unknown calls silence the rule.** A call of a third-party function, of a method on an object
  of unknown type (other than well-known container/string methods such as `append` or `split`),
  or of a parameter may wait or release the GIL, so the function is not reported. Teach gillint
  with `extend-releases-gil` / `extend-cpu-bound`.
- **Waiting anywhere wins.** A function that waits once (one download, one `queue.get()`) and then
  computes is not reported, though its computation still serialises.
- Guesses on objects of unknown type: `x.read()`, `x.recv()`, `x.get()` (without a key), `x.join()`
  (without arguments) are taken as waits, and so is a container method on a client-like name
  (`session.get(url)`, `db_conn.update(row)`); `x.step()` follows the `step` methods of the
  classes of the same module; an object a library call returned belongs to that library
  (`m = pattern.match(line)` is `re`). `hashlib` on a short literal or `str(...).encode()` is taken
  to keep the GIL (it releases it only above 2 KiB).
- **Free-threaded builds.** On CPython 3.13t/3.14t with the GIL disabled (`sys._is_gil_enabled()`
  is False) threads do run Python code in parallel and the finding does not apply; extension
  modules that are not marked free-threading safe re-enable the GIL. Ignore GIL101 for code that
  only runs on such builds.
""",
        references=(
            "[threading: CPython implementation detail (GIL)](https://docs.python.org/3/library/threading.html#thread-objects)",
            "[asyncio.to_thread](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)",
            "[Glossary: global interpreter lock](https://docs.python.org/3/glossary.html#term-global-interpreter-lock)",
            "[PEP 703: Making the GIL optional](https://peps.python.org/pep-0703/)",
        ),
    )

    def check(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
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


#: Calls that turn threads into greenlets for the whole program.
_MONKEY_PATCHES = frozenset({
    "gevent.monkey.patch_all", "gevent.monkey.patch_thread", "eventlet.monkey_patch",
    "eventlet.patcher.monkey_patch",
})
#: Calls that time code: a test that times its threads is a demonstration of their speed.
_TIMERS = ("time.perf_counter", "time.time", "time.monotonic", "time.process_time", "timeit.")
#: Objects that release waiting threads together.
_BARRIERS = frozenset({"threading.Barrier", "multiprocessing.Barrier"})
_EVENTS = frozenset({"threading.Event", "multiprocessing.Event"})


def _patches_threads(project: Project, module: ModuleInfo) -> bool:
    """The module monkey-patches threads into greenlets (gevent, eventlet)."""
    return any(project.qualified_name(site.node.func, site.scope) in _MONKEY_PATCHES for site in module.calls)


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
    return name is not None and name.startswith(_TIMERS)


def _released_together(project: Project, dispatch: Dispatch, target: CallableTarget) -> bool:
    """The worker waits at a ``Barrier``, or runs until an ``Event`` says so (``while not done.is_set()``),
    or waits for one to start: the threads are meant to run at the same time, not to share work."""
    function = _unwrap(target).function
    if function is None:
        return False
    sent = {t for argument in dispatch.arguments for t in project.instance_types(argument, dispatch.site.scope)}
    handed = bool(sent & (_BARRIERS | _EVENTS))
    for site in function.calls:
        func = site.node.func
        if not isinstance(func, ast.Attribute) or func.attr not in ("wait", "is_set"):
            continue
        receiver = func.value
        if set(project.instance_types(receiver, site.scope)) & (_BARRIERS | _EVENTS):
            return True
        if "barrier" in terminal_name(receiver).lower():
            return True
        if handed and isinstance(receiver, ast.Name) and receiver.id in function.parameter_names:
            return True  # Thread(target=worker, args=(done, data)) with done = Event()
    return False


# -- the finding ---------------------------------------------------------------------------------


def _report(dispatch: Dispatch, target: CallableTarget, effects: Effects, workers: Optional[int]) -> Report:
    module = dispatch.module
    name = target.display_name.replace("builtins.", "")
    if _unwrap(target).kind is TargetKind.EXTERNAL and dispatch.arguments:  # list(map(parse, lines))
        name = _short(f"{name}({', '.join(module.code_of(a) for a in dispatch.arguments)})")
    label = f"Thread subclass '{dispatch.subclass.name}'" if dispatch.subclass is not None else (
        "Thread" if dispatch.api == "threading.Thread" else dispatch.api)
    if effects.cpu_bound:
        assert effects.cpu is not None
        message = f"{label} runs '{name}', {effects.cpu.describe(module)}: {_ADVICE}"
    else:
        assert effects.hot is not None and effects.waits is not None
        message = (f"{label} runs '{name}', which waits on {effects.waits.phrase(module)} but then runs "
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
        details = replace(details, waits=waits)
    return details


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
