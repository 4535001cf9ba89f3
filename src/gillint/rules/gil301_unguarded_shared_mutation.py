"""GIL301 unguarded-shared-mutation: read-modify-write or check-then-act on state threads share."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from typing import Iterator, Optional

from gillint.facts.dispatch import function_location
from gillint.facts.locks import (
    CHECK_THEN_ACT,
    CREATES_LOCK,
    RACING_WRITES,
    RMW,
    SEPARATE_BLOCKS,
    UNCHECKED_UNDER_LOCK,
    Mutation,
    asks_whose_turn,
    called_with_lock,
    function_facts,
    says_one_thread,
    sometimes_called_with_lock,
)
from gillint.facts.threads import (
    EntryPoint,
    StartKind,
    ThreadedFunction,
    class_and_bases,
    concurrent_window,
    locking_entry,
    run_together,
    shared_state,
    target_key,
    threaded_functions,
)
from gillint.findings import Evidence, Location, Severity, Site
from gillint.options import Option
from gillint.project import FunctionInfo, ModuleInfo, Project
from gillint.rules.base import Report, Rule, RuleContext, RuleDoc
from gillint.targets import TARGETS_DOC

_MAX_SHOWN = 60

_CONSEQUENCE = {
    RMW: "is a read-modify-write of {shared}",
    CHECK_THEN_ACT: "acts on the check on line {check} of {shared}",
    RACING_WRITES: "writes the same keys of {shared}",
}
_OUTCOME = {
    RMW: "updates can be lost: hold one lock around the read and the write",
    CHECK_THEN_ACT: "two threads can both pass the check: hold one lock around the check and the act",
    RACING_WRITES: "the final content depends on which thread writes last: give each thread its own keys",
}
#: For check-then-acts that take a lock: how they hold it (in threaded code; in code only its lock
#: says runs on threads), and how to fix them.
_LOCKING = {
    UNCHECKED_UNDER_LOCK: (", checking without '{lock}' and acting under it",
                           ", which takes '{lock}' for the act but not for the check",
                           "two threads can both pass the check and act in turn: check again after taking the lock"),
    SEPARATE_BLOCKS: (", checking and acting in separate blocks of '{lock}'",
                      ", which checks and acts in separate blocks of '{lock}'",
                      "another thread can act between the blocks: check again in the block that acts"),
    CREATES_LOCK: (" without a lock", " with no lock held",
                   "two threads can each create and use their own lock: create it in __init__ or at import"),
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
    #: How the threads start: ``dispatch`` (the project starts them), ``timer``, ``done-callback``,
    #: ``initializer``, ``request-handler``, ``server-request``, ``server-loop`` (a server's threads),
    #: ``queue-task`` (a worker loop runs it), ``configured`` (the ``thread-entry-points`` option).
    start: str = "dispatch"


class UnguardedSharedMutation(Rule):
    code = "GIL301"
    reports_in_other_modules = True
    name = "unguarded-shared-mutation"
    summary = "Shared state is read-modified-written or checked-then-set by several threads without a lock."
    severity = Severity.WARNING
    evidence = RaceEvidence
    options = (
        Option("thread-entry-points", "list[str]", (),
               "functions that a framework or library runs on several threads at once: qualified names or "
               "module:Class.method globs (e.g. myapp.views.*, myapp.rpc:Api.*)"),
    )
    doc = RuleDoc(
        what_it_does="""
Finds statements in code that runs on several threads at once which update shared state in more
than one step without holding a lock:

- **read-modify-write**: `counter += 1`, `x = x + 1`, `d[k] = d.get(k, 0) + 1`, `totals[k] += n`,
  `self.stats.count += n`, `Counter.update(...)`;
- **check-then-act**: `if k not in cache: cache[k] = build(k)`, lazy singletons (`if
  cls._instance is None: cls._instance = cls()` in `__new__`, a classmethod or a module function),
  a check through a variable (`pool = pools.get(k)` then `if pool is None:`), a check and an act in
  two methods of one object (`if not self.has(k): self.add(k)`), `try: self._x` /
  `except AttributeError: self._x = ...`, and `if not q.empty(): q.get()` (the `get()` can block);
- **racing writes**: every thread writing `shared[i]` for the same `range(...)` of keys.

Shared state is a module global written through `global`, a variable of the function that starts
the threads written through `nonlocal` or mutated in place by a closure, a module-level container or
instance (also imported from another module), a class attribute (`cls._instance`,
`type(self).count`, a class-level `{}` mutated through `self`), `self.x` of an object the threads
share (a bound method handed to several threads, a request handler's `self.server`), and an
argument every thread receives (`args=(stats,)` in a loop).

Threaded code is what starts on a thread, plus the project functions it calls with no lock held,
across modules and through attributes that hold callables (`self.on_item = store.save`):

- work the project hands to threads: `threading.Thread` (and a `Thread` subclass's `run`), thread
  pools (`ThreadPoolExecutor`, `multiprocessing.dummy`, `ThreadPool`), `asyncio.to_thread`,
  `run_in_executor`, `_thread.start_new_thread`;
- callbacks that libraries run on their threads: `threading.Timer`, `Future.add_done_callback` on
  a pool's futures (on the pool's threads), `ThreadPoolExecutor(initializer=...)` (on every worker);
- request handlers of threading servers: `handle()`/`do_GET()` of the handler class given to
  `socketserver.ThreadingMixIn` servers (`ThreadingTCPServer`, `ThreadingUDPServer`,
  `http.server.ThreadingHTTPServer`, an XML-RPC or `wsgiref` server with the mix-in), the server
  subclass's own per-request methods (`finish_request`, `process_request_thread`, `handle_error`),
  functions given to such a server's `register_function`/`register_instance`/`set_app`, and WSGI
  applications and handlers served by `waitress.serve`, `cheroot.wsgi.Server`,
  `werkzeug.serving.run_simple(threaded=True)` and `websockets.sync.server.serve`;
- callables put on a queue whose worker loop runs what it takes (`fn, args = q.get(); fn(*args)`,
  `q.get()()`): each `q.put((fn, args))` sends `fn` to the worker threads;
- functions named in the `thread-entry-points` option (see below).

It runs on several threads when it is started in a loop or comprehension, by a pool's `map`, by a
server for each request, at two or more places, or when the starting code calls it itself before
joining. Updates of the same state by two different functions whose threads run at the same time
(two threads started together, a server's request threads and its serving thread), or by the
starting function between `start()` and `join()`, race as well and are reported at both statements.
The message says which threads run the statement and where they start.

Some code says by itself that threads run it, wherever they are started:

- a lock taken for the act but not for the check (double-checked locking without the second
  check), a check and an act in separate blocks of the same lock, and a lock created lazily (`if
  self._lock is None: self._lock = threading.Lock()`), when the act makes a new object (`cls()`,
  `Pool(...)`, `self._new_pool()`, `{}`): two threads make two of them;
- a read-modify-write of an object's attribute that the class updates under a lock elsewhere
  (`with self._lock: self._stats[k] += 1` in one method, `self._stats[k] += 1` in another).
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
  (`@synchronized`) also counts. This misses races but never reports locked code. Separate lock
  blocks count as a race only when both hold a known `threading` lock, the same one.
- What stays silent: code under a lock held by its caller (every call of the function in its
  module holds one, or its name or docstring says so: `_read_unlocked`, "caller holds the lock"),
  `threading.local()` state, per-thread keys (`out[i]` with each thread's own `i`,
  `d[threading.get_ident()]`), queues and other objects documented thread-safe (`queue.Queue`
  `put`/`get`, `collections.deque` `append`/`popleft`, `next()` of an `itertools.count`), state one
  thread alone touches, code that compares with the running thread (a re-entrant lock's owner),
  coroutines, and a store of the same value by every thread (`registry[k] = registry[DEFAULT]`,
  `self._ready = True`: whichever thread wins, the result is the same), `d.pop(k, None)`.
- A module that runs `gevent.monkey.patch_all()` (or `eventlet.monkey_patch()`) starts greenlets,
  not threads: they switch only where they wait, never between a read and its write, so GIL301
  reports nothing for the threads it starts.
- Lock evidence is taken only where it is strong: a check-then-act outside visible threads is
  reported when its lock says threads run it *and* its act makes a new object (a cache storing a
  value computed twice is duplicated work, not a bug); a read-modify-write outside visible threads
  only when the class updates the same attribute under a lock, and neither when another call of
  the method holds the lock (its callers lock for it: the unlocked call is the line to change) nor
  when its docstring says one thread runs it ("Only one thread should ever be in this function").
  A module function that updates a global some other function locks is left to threaded code (it
  may never run on a thread).
- `container[key]` updates where `key` is a parameter of the function are assumed to touch a
  per-thread slot (`out[i] += v` with each thread's own `i`), even when two threads could pass the
  same key.
- Threads started by code gillint does not see (your web framework, a library that calls you back
  from its own threads) count only through the `thread-entry-points` option; until then a function
  run by one thread while the main thread mutates the same state is not reported.
- Calls are followed through project functions only (5 calls deep); calls through `getattr` are
  not. A check and an act are matched in one function or across one method call
  (`self.has(k)`/`self.add(k)`); a check in one function and an act in another that its caller
  calls later are not. A check followed by a plain read (`if k in d: return d[k]`) is not
  reported, though another thread may delete `k` in between.
- An object shared through a parameter is recognised only for the dispatched function itself.
- A statement in another module is reported when the module that starts the threads is linted in
  the same run (the project model follows imports from the dispatch, not back to it).
""",
        extra_sections=(("Thread entry points", """
Frameworks run your code on threads gillint cannot see being started. Name those functions in
`[tool.gillint]`; each is taken to run on several threads at once, and, for a method, on one
object every thread shares (`self`):

```toml
[tool.gillint]
thread-entry-points = [
    "myapp.views.*",            # every function and method of a module (Flask or Django views)
    "myapp.api:*Resource.on_*", # module:Class.method globs (Falcon responders)
    "myapp.root.Root",          # a class: its public methods and __call__ (CherryPy's exposed root)
    "myapp.plugins.on_event",   # one function a plugin host calls from its worker threads
]
```

A qualified name matches a function or method (`pkg.mod.func`, `pkg.mod.Class.method`) and
`*`/`?` globs match any part of it; `module:Name` matches the module and the name inside it
separately. Common cases: Flask's development server and gunicorn's `gthread` workers run views on
threads; so does Django under a threaded server (a class-based view gets a new instance per
request, so name the module's view functions, not such classes); CherryPy and Pyramid under
waitress run handlers on a thread pool, and so do Falcon's long-lived resources under a threaded
WSGI server. Request handlers of `socketserver`/`http.server`
threading servers, waitress, cheroot, werkzeug's threaded server and websockets' sync server are
known without the option.
"""), ("Targets", TARGETS_DOC["GIL301"])),
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
        for report in self._races(module, context):
            yield context.targets.race(report)

    def _races(self, module: ModuleInfo, context: RuleContext) -> Iterator[Report]:
        project = context.project
        configured = tuple(context.settings.get("thread_entry_points", ()))
        racing: list[tuple[ThreadedFunction, Mutation, str]] = []
        for threaded in threaded_functions(project, module, configured):
            for mutation in function_facts(project, threaded.function).mutations:
                shared = shared_state(project, threaded, mutation.target)
                if shared is not None:
                    racing.append((threaded, mutation, shared))
        for threaded, mutation, shared in racing:
            if threaded.several:
                threads = _threads(threaded, threaded.function.module)
            else:
                other = _other_writer(threaded, shared, racing)
                main = _main_thread_writes(project, threaded, shared) if other is None else []
                if main:
                    other = main[0][0].function.qualname
                    for main_threaded, main_mutation in main:
                        yield _report(module, main_threaded, main_mutation, shared,
                                      f"the thread that starts '{threaded.function.qualname}' "
                                      f"({_started(threaded.entry, main_threaded.function.module)}) while it runs")
                if other is None:
                    continue
                threads = f"{_one_thread(threaded, threaded.function.module)} while '{other}' writes it on another"
            yield _report(module, threaded, mutation, shared, threads)
        reported = {id(mutation.node) for _, mutation, _ in racing}
        yield from _lock_evidenced(project, module, reported)
        yield from _inconsistently_locked(project, module, reported)


def _lock_evidenced(project: Project, module: ModuleInfo, reported: set[int]) -> Iterator[Report]:
    """Check-then-acts that make a new object, in code whose own lock says several threads run it,
    wherever the threads start: double-checked locking without the second check, a check and an act
    in separate blocks of a lock, a lock created lazily."""
    if not _LOCK_WORDS.search(module.source):
        return  # no lock is made here (one made elsewhere and used here is missed: a false negative)
    for function in module.functions:
        if function.is_async or not _may_lock(module, function):
            continue  # coroutines: one thread, switching only where they await
        mutations = [m for m in function_facts(project, function).mutations
                     if m.lock is not None and m.constructs and id(m.node) not in reported]
        if not mutations or called_with_lock(project, function):
            continue
        for mutation in mutations:
            threaded = ThreadedFunction.start(locking_entry(function, mutation.lock or ""))
            shared = shared_state(project, threaded, mutation.target)
            if shared is not None:
                reported.add(id(mutation.node))
                yield _report(module, threaded, mutation, shared, _threads(threaded, module))


def _inconsistently_locked(project: Project, module: ModuleInfo, reported: set[int]) -> Iterator[Report]:
    """Read-modify-writes of an object's state that its class writes under a lock elsewhere: the
    lock says threads share the object, and this update does without it (``with self._lock:
    self._stats[k] += 1`` in one method, ``self._stats[k] += 1`` in another). Module globals are
    left to threaded code: a module function is often never run on a thread."""
    if not _LOCK_WORDS.search(module.source):
        return
    protected: dict[tuple[str, ...], tuple[str, int]] = {}
    for function in module.functions:
        if function.is_async or not _may_lock(module, function):
            continue
        for statement, target, lock in function_facts(project, function).locked_writes:
            key = target_key(project, target, function.scope)
            if key is not None and key[0] == "attribute":
                protected.setdefault(key, (lock, module.line_of(statement)))
    if not protected:
        return
    owners = {key[1] for key in protected}
    for function in module.functions:
        if function.is_async or function.name in _CONSTRUCTORS:
            continue  # coroutines switch only where they await; an object being made is not shared yet
        if not _owned_by(project, function, owners):
            continue
        if asks_whose_turn(function) or called_with_lock(project, function) or says_one_thread(function):
            continue
        if sometimes_called_with_lock(project, function):
            continue  # its callers lock for it: a call without the lock is the line to change
        for mutation in function_facts(project, function).mutations:
            if mutation.operation != RMW or id(mutation.node) in reported:
                continue
            key = target_key(project, mutation.target, mutation.scope)
            if key not in protected:
                continue
            lock, line = protected[key]
            threaded = ThreadedFunction.start(locking_entry(function, lock))
            shared = shared_state(project, threaded, mutation.target)
            if shared is not None:
                reported.add(id(mutation.node))
                runs = f" without '{lock}', which protects it on line {line}"
                yield _report(module, threaded, mutation, shared, "", runs,
                              "updates can be lost: hold the lock here too")


_CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__"})


def _owned_by(project: Project, function: FunctionInfo, owners: set[str]) -> bool:
    owner = function.owner
    return owner is not None and any(cls.full_name in owners for cls in class_and_bases(project, owner))


#: What a module that makes a lock between threads says.
_LOCK_WORDS = re.compile(r"Lock\b|Semaphore\b|Condition\b|allocate_lock\b")


def _may_lock(module: ModuleInfo, function: FunctionInfo) -> bool:
    """Can ``function`` take or make a lock: does its text have a ``with``, an ``acquire`` or a ``Lock(``?"""
    text = "\n".join(module.lines[function.node.lineno - 1:module.end_line_of(function.node)])
    return "with " in text or "acquire(" in text or "Lock(" in text


def _main_thread_writes(
    project: Project, threaded: ThreadedFunction, shared: str,
) -> list[tuple[ThreadedFunction, Mutation]]:
    """Racing updates of ``shared`` by the starting function between the thread's start and join."""
    window = concurrent_window(threaded.entry)
    if window is None or window[0] is threaded.function:
        return []
    dispatcher, start, end = window
    main = replace(threaded, function=dispatcher, via=(dispatcher.qualname,), self_shared=False,
                   shared_parameters=frozenset(), distinct_parameters=frozenset(), shared_attributes=())
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


def _where(site_module: ModuleInfo, line: int, module: ModuleInfo) -> str:
    """``line 12``, or ``line 12 of app.server`` in another module (by name: its display path depends
    on how the run reached it)."""
    return f"line {line}" if site_module is module else f"line {line} of {site_module.name}"


def _started(entry: EntryPoint, module: ModuleInfo) -> str:
    """How and where the threads start: ``threading.Thread at line 12``."""
    if entry.site is None:
        return entry.api
    site_module = entry.site.module
    where = _where(site_module, site_module.line_of(entry.site.node), module)
    if entry.kind in (StartKind.REQUEST_HANDLER, StartKind.SERVER_REQUEST, StartKind.SERVER_LOOP):
        return f"{entry.api} ({where})"
    if entry.kind is StartKind.QUEUE_TASK:
        return f"put on {entry.api} at {where}"
    return f"{entry.api} at {where}"


def _threads(threaded: ThreadedFunction, module: ModuleInfo) -> str:
    """Which threads run the code, and where they start: ``4 threads (threading.Thread at line 12)``."""
    entry = threaded.entry
    started = _started(entry, module)
    if entry.kind in (StartKind.REQUEST_HANDLER, StartKind.SERVER_REQUEST):
        return f"the {entry.threads} of {started}"
    if entry.kind is StartKind.CONFIGURED:
        return f"several threads (named in {started})"
    if entry.kind is StartKind.QUEUE_TASK:
        return f"the {entry.threads} (tasks {started})"
    if threaded.workers is None:
        quantity = "several"
    elif entry.dispatch is not None and entry.dispatch.is_pool_task:
        quantity = f"up to {threaded.workers}"
    else:
        quantity = str(threaded.workers)
    return f"{quantity} {entry.threads} ({started})"


def _one_thread(threaded: ThreadedFunction, module: ModuleInfo) -> str:
    entry = threaded.entry
    started = _started(entry, module)
    if entry.kind is StartKind.SERVER_LOOP:
        return f"the {entry.threads} of {started}"
    return f"a thread ({started})"


def _other_writer(
    threaded: ThreadedFunction, shared: str, racing: list[tuple[ThreadedFunction, Mutation, str]],
) -> Optional[str]:
    """A function on another thread, running at the same time, that also updates ``shared``."""
    for other, _, other_shared in racing:
        if (other_shared == shared and other.function is not threaded.function
                and run_together(threaded.entry, other.entry)):
            return other.function.qualname
    return None


def _report(module: ModuleInfo, threaded: ThreadedFunction, mutation: Mutation, shared: str, threads: str,
            runs_on: Optional[str] = None, outcome_on: Optional[str] = None) -> Report:
    function = threaded.function
    target_module = function.module
    shown = " ".join(target_module.code_of(mutation.node).split())
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 3] + "..."
    via = f" (called from '{threaded.via[0]}')" if len(threaded.via) > 1 else ""
    what = _CONSEQUENCE[mutation.operation].format(shared=shared, check=mutation.check_line)
    runs, outcome = f", which runs on {threads} without a lock", _OUTCOME[mutation.operation]
    if mutation.operation == CHECK_THEN_ACT and mutation.lock_shape is not None:
        threaded_locking, locking_only, outcome = _LOCKING[mutation.lock_shape]
        if threaded.entry.kind is StartKind.LOCKING:
            runs = locking_only.format(lock=mutation.lock)
        else:
            runs = f", which runs on {threads}{threaded_locking.format(lock=mutation.lock)}"
        if mutation.lock_shape == CREATES_LOCK:
            what = f"creates a lock after the check on line {mutation.check_line} of {shared}"
    runs = runs_on if runs_on is not None else runs
    outcome = outcome_on if outcome_on is not None else outcome
    message = f"'{shown}' {what} from '{function.qualname}'{via}{runs}; {outcome}"
    return Report(mutation.node, message, module=None if target_module is module else target_module,
                  evidence=_evidence(module, threaded, mutation, shared))


def _evidence(module: ModuleInfo, threaded: ThreadedFunction, mutation: Mutation, shared: str) -> RaceEvidence:
    entry = threaded.entry
    root = threaded.root
    if entry.site is not None:
        site_module = entry.site.module
        start = Site(entry.api, site_module.display_path, site_module.line_of(entry.site.node))
    else:
        start = Site(entry.api, root.module.display_path, root.module.line_of(root.node))
    dispatch = entry.dispatch
    return RaceEvidence(
        dispatch=start,
        target=function_location(root),
        arguments=tuple(dispatch.module.code_of(a) for a in dispatch.arguments) if dispatch is not None else (),
        workers=threaded.workers,
        shared=shared,
        function=threaded.function.qualname,
        function_path=threaded.function.module.display_path,
        operation=mutation.operation,
        start=entry.kind.value,
    )
