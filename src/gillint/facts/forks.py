"""Forks, and the threads of the program that may be running when one happens.

``fork()`` copies the whole memory of a process but only the thread that called it. A lock another
thread held at that moment (the ``logging`` module's, an allocator's, a ``queue.Queue``'s) stays
locked in the child forever, with no thread left to release it: the child deadlocks the first time
it takes that lock. CPython 3.12 and later warn, ``DeprecationWarning: This process (pid=...) is
multi-threaded, use of fork() may lead to deadlocks in the child.``

A *fork* here is ``os.fork()`` (and ``os.forkpty()``, ``pty.fork()``), which always forks, or a
process start (:func:`gillint.facts.dispatch.process_start`), which forks under the fork start
method only (the rule asks :class:`gillint.targets.Targets` which one governs it).

A thread *may be running* at a call when, before it on the same path of the same function (or of
module-level code):

- a ``Thread`` (a subclass, a ``Timer``) was started, or ``_thread.start_new_thread`` called;
- a thread pool was given work (``ThreadPoolExecutor.submit/map``) or made (``ThreadPool(4)``,
  whose threads start at once);
- a project function was called that starts one and returns without joining it (two calls deep);

and no ``join()``/``shutdown()``/``terminate()`` on the same object, nor the end of the ``with``
block that owns the pool, came in between; or, for calls in a function, when the module (or a
project module it imports) starts a thread at import time. Threads started before a fork do not
exist in its child: on a path only the child runs (``if pid == 0:``, after ``if pid: os._exit(0)``),
only threads started after that fork count.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from gillint.api.concurrency import (
    EAGER_PROCESS_POOLS,
    EXECUTOR_TASK_METHODS,
    FORK_CALLS,
    MANAGER_FACTORIES,
    POOL_TASK_METHODS,
    THREAD_CLASSES,
    THREAD_POOLS,
    THREADS_AT_CONSTRUCTION,
    TIMER_CLASSES,
)
from gillint.facts.dispatch import may_reach_workers, pool_types, process_start
from gillint.project import (
    BindingKind,
    CallSite,
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    Project,
    Scope,
    TargetKind,
    enclosing_function,
)
from gillint.project.syntax import FOR_LOOPS, WITHS, guarded_branch, int_value, is_name

#: The classes whose ``start()`` starts a thread.
_THREADS = THREAD_CLASSES | TIMER_CLASSES
#: Calls that stop what a thread source started: a thread's join, an executor's shutdown, a pool's.
_STOPS = ("join", "shutdown", "terminate")
#: How many calls deep a called project function is searched for threads it leaves running.
_LEFT_RUNNING_DEPTH = 2
#: How many process starts a function's forks are collected up to (the rule needs the first that forks).
_MAX_FORKS = 4
#: The last names of the calls that can start a process themselves (``ctx.Pool(4)``, ``child.start()``,
#: ``executor.submit(...)``, ``Manager()``): only those, and calls of project code that may reach a
#: process API, are asked whether they start one (the question costs type inference).
_PROCESS_CALL_NAMES = frozenset({"start", "run_in_executor", *EXECUTOR_TASK_METHODS,
                                 *(name.rpartition(".")[2] for name in EAGER_PROCESS_POOLS | MANAGER_FACTORIES)})


@dataclass(frozen=True)
class Fork:
    """A call that starts a process, possibly by forking this one."""

    site: CallSite
    #: The API as messages name it: ``os.fork()``, ``Process.start()``, ``multiprocessing.Pool()``.
    api: str
    #: The functions the reported call goes through to reach it (empty when it is the call itself).
    via: tuple[str, ...] = ()
    #: ``os.fork()`` forks whatever the start method; the others fork only under the fork method.
    always: bool = False


@dataclass(frozen=True)
class RunningThread:
    """A thread that may be running when a fork happens, and where it was started."""

    #: What it is, for messages: ``the thread``, ``the worker threads of 'pool'`` (a pool's start with its first task).
    what: str
    line: int
    path: str
    #: The functions a call goes through to start it (empty when the call itself starts it).
    via: tuple[str, ...] = ()
    #: Started while a module was being imported.
    at_import: bool = False
    #: The fork itself runs on this thread, while the thread that started it goes on.
    runs_the_fork: bool = False


# -- forks -------------------------------------------------------------------------------------------


def forks_at(project: Project, site: CallSite) -> tuple[Fork, ...]:
    """The process starts ``site`` makes: itself (``os.fork()``, ``Process.start()``...), or the first ones
    the project function it calls reaches, at any depth."""
    own = direct_fork(project, site)
    if own is not None:
        return (own,)
    if not _worth_following(project, site):
        return ()
    found: list[Fork] = []
    for function in _called_functions(project, site):
        found.extend(function_forks(project, function))
    return tuple(found[:_MAX_FORKS])


def function_forks(project: Project, function: FunctionInfo) -> tuple[Fork, ...]:
    """The first process starts calling ``function`` reaches (memoised; followed to any depth)."""
    def compute() -> tuple[Fork, ...]:
        found: list[Fork] = []
        for call in function.calls:
            if call.scope.function_scope is not function.scope or in_child_branch(project, call):
                continue  # a lambda's body runs only if called; a forked child is single-threaded
            found.extend(Fork(f.site, f.api, (function.qualname, *f.via), f.always) for f in forks_at(project, call))
            if len(found) >= _MAX_FORKS:
                break
        return tuple(found[:_MAX_FORKS])

    return project.memo("forks", function.node, compute, ())


def direct_fork(project: Project, site: CallSite) -> Optional[Fork]:
    name = project.qualified_name(site.node.func, site.scope)
    if name in FORK_CALLS:
        return Fork(site, f"{name}()", always=True)
    func = site.node.func
    last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if last not in _PROCESS_CALL_NAMES and (name is None or not may_reach_workers(project, name)):
        return None
    how = process_start(project, site)
    if how is None:
        return None
    return Fork(site, how.split(" starts ")[0].split(" on a ")[0])


def _called_functions(project: Project, site: CallSite) -> list[FunctionInfo]:
    found = []
    for target in project.callable_targets(site.node.func, site.scope):
        function = target.function
        if target.kind is TargetKind.CLASS and target.cls is not None:
            function = project.find_method(target.cls, "__init__")
        if function is not None:
            found.append(function)
    return found


# -- threads running at a call -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Start:
    """A call in a scope that starts threads: the thread, and the code of what can stop it (None: nothing)."""

    call: CallSite
    thread: RunningThread
    key: Optional[str]


@dataclass(frozen=True)
class _Scope:
    """What the code of one function (or module-level code) does with threads and forks, in source order."""

    calls: tuple[CallSite, ...]
    #: Calls that start threads directly or through project functions (``via``).
    starts: tuple[_Start, ...]
    #: ``join()``/``shutdown()``/``terminate()`` calls: (line, code of the receiver).
    stops: tuple[tuple[int, str], ...]
    #: ``os.fork()`` and friends (for the paths only a child runs).
    forks: tuple[CallSite, ...]


def threads_running_at(project: Project, site: CallSite) -> Optional[RunningThread]:
    """A thread of the program that may be running when ``site`` runs (None: none gillint can see)."""
    own = site.scope.function_scope
    function = enclosing_function(site.scope)
    if own is not None and function is None:
        return None  # in a lambda: runs whenever it is called
    scope = _scope(project, site.module, function)
    line = site.module.line_of(site.node)
    child_from = max((site.module.line_of(fork.node) for fork in scope.forks
                      if site.module.line_of(fork.node) < line and _child_runs_alone(fork, site)), default=-1)
    for start in scope.starts:
        start_line = start.thread.line if not start.thread.via else site.module.line_of(start.call.node)
        if start_line >= line or start_line <= child_from or start.call is site:
            continue
        if _exclusive_branches(start.call, site) or _leaves_before(start.call, site):
            continue
        if _stopped(start, scope, site):
            continue
        return start.thread
    if own is not None and child_from < 0:
        return import_time_threads(project, site.module) or _imported_threads(project, site.module)
    return None


def _scope(project: Project, module: ModuleInfo, function: Optional[FunctionInfo]) -> _Scope:
    """The thread starts, stops and forks of ``function``'s own code (of module-level code when None)."""
    def compute() -> _Scope:
        own = function.scope if function is not None else None
        calls = tuple(call for call in _calls_of(module, function) if call.scope.function_scope is own)
        starts, stops, forks = [], [], []
        for call in calls:
            func = call.node.func
            if isinstance(func, ast.Attribute) and func.attr in _STOPS:
                stops.append((module.line_of(call.node), module.code_of(func.value)))
            if _is_fork_call(project, call):
                forks.append(call)
            start = _start(project, call)
            if start is not None:
                starts.append(start)
        return _Scope(calls, tuple(starts), tuple(stops), tuple(forks))

    return project.memo("thread-scope", function.node if function is not None else module.tree, compute,
                        _Scope((), (), (), ()))


def _start(project: Project, call: CallSite) -> Optional[_Start]:
    """The threads ``call`` starts itself, or through the project functions it calls (left running)."""
    module = call.module
    source = _thread_source(project, call)
    if source is not None:
        key, what = source
        return _Start(call, RunningThread(what, module.line_of(call.node), module.display_path), key)
    if not _worth_following(project, call):
        return None
    for function in _called_functions(project, call):
        running = left_running(project, function)
        if running is None:
            for inner in _scope(project, function.module, function).calls:
                deeper = [left_running(project, f) for f in _inner_functions(project, inner)]
                running = next((r for r in deeper if r is not None), None)
                if running is not None:
                    break
        if running is not None:
            return _Start(call, RunningThread(running.what, running.line, running.path,
                                              (function.qualname, *running.via)), None)
    return None


def _inner_functions(project: Project, call: CallSite) -> list[FunctionInfo]:
    return _called_functions(project, call) if _worth_following(project, call) else []


def _worth_following(project: Project, site: CallSite) -> bool:
    """Is the project code ``site`` calls searched for forks and threads? A call gillint can name, when
    the prefilter saw that it may reach a thread or process API; of the others, only plain names and
    methods of ``self``/``cls``: finding the class of any other object at every call of the program
    costs more type inference than the rest of the analysis."""
    name = project.qualified_name(site.node.func, site.scope)
    if name is not None:
        return may_reach_workers(project, name)
    func = site.node.func
    return isinstance(func, ast.Name) or (
        isinstance(func, ast.Attribute) and (is_name(func.value, "self") or is_name(func.value, "cls")))


def left_running(project: Project, function: FunctionInfo) -> Optional[RunningThread]:
    """A thread ``function``'s own code starts and does not stop before it returns."""
    def compute() -> Optional[RunningThread]:
        scope = _scope(project, function.module, function)
        for start in scope.starts:
            if not start.thread.via and not _stopped(start, scope, None):
                return start.thread
        return None

    return project.memo("threads-left-running", function.node, compute, None)


def import_time_threads(project: Project, module: ModuleInfo) -> Optional[RunningThread]:
    """A thread importing ``module`` starts and leaves running (outside ``if __name__ == "__main__":``)."""
    def compute() -> Optional[RunningThread]:
        scope = _scope(project, module, None)
        for start in scope.starts:
            if start.thread.via and len(start.thread.via) > 1:
                continue  # one call deep at import time
            if not _main_only(start.call) and not _stopped(start, scope, None):
                thread = start.thread
                return RunningThread(thread.what, thread.line, thread.path, thread.via, True)
        return None

    return project.memo("import-time-threads", module.tree, compute, None)


def _imported_threads(project: Project, module: ModuleInfo) -> Optional[RunningThread]:
    """A thread a project module that ``module`` imports (at its top level) starts at import time."""
    def compute() -> Optional[RunningThread]:
        for imported in _imported_modules(project, module):
            running = import_time_threads(project, imported)
            if running is not None:
                return running
        return None

    return project.memo("imported-threads", module.tree, compute, None)


def _imported_modules(project: Project, module: ModuleInfo) -> list[ModuleInfo]:
    found: dict[str, ModuleInfo] = {}
    for bindings in module.scope.bindings.values():
        for binding in bindings:
            if binding.kind is not BindingKind.IMPORT or not binding.imported:
                continue
            for name in (binding.imported, binding.imported.rpartition(".")[0]):
                if not name or name in found or name == module.name:
                    continue
                loaded = project.module(name)
                if loaded is not None:
                    found[name] = loaded
                    break
    return list(found.values())


def _calls_of(module: ModuleInfo, function: Optional[FunctionInfo]) -> list[CallSite]:
    return function.calls if function is not None else [c for c in module.calls if c.scope.function_scope is None]


def _thread_source(project: Project, call: CallSite) -> Optional[tuple[Optional[str], str]]:
    """What ``call`` starts threads with: (the code of the object that can stop them, a description)."""
    node = call.node
    func = node.func
    name = project.qualified_name(func, call.scope)
    if name in ("_thread.start_new_thread", "_thread.start_new"):
        return None, "the thread"
    if isinstance(func, ast.Attribute) and func.attr == "start" and not node.args:
        if _is_thread(project, func.value, call.scope):
            return call.module.code_of(func.value), "the thread"
        return None
    if isinstance(func, ast.Attribute) and func.attr in (POOL_TASK_METHODS | EXECUTOR_TASK_METHODS):
        types = pool_types(project, func.value, call.scope)
        if types and all(t in THREAD_POOLS for t in types):
            pool = call.module.code_of(func.value)
            return pool, f"the worker threads of '{pool}'"
        return None
    types = project.instance_types(node, call.scope) if name is None or may_reach_workers(project, name) else []
    if types and all(t in THREADS_AT_CONSTRUCTION for t in types):
        owner = _owner_of(call)
        return owner, f"the worker threads of '{owner}'" if owner else "the worker threads of a thread pool"
    return None


def _is_thread(project: Project, expr: ast.expr, scope: Scope) -> bool:
    """Is ``expr`` a thread object: made by a thread class (or a project subclass), also through a loop
    over a list of them (``for t in threads: t.start()``)?"""
    types: list[Optional[str]] = []
    for value in project.values(expr, scope):
        binding = value.binding
        if binding is not None and binding.kind is BindingKind.LOOP and isinstance(binding.node, FOR_LOOPS):
            types.extend(_element_types(project, binding.node.iter, binding.evaluated_in or binding.scope))
        else:
            types.extend(project.instance_types(value.expr, value.scope))
    return bool(types) and all(_thread_class(project, t) for t in types)


def _element_types(project: Project, iterable: ast.expr, scope: Scope) -> list[Optional[str]]:
    """The classes of the items of ``[Thread(...) for ...]``, ``[t1, t2]`` or a name bound to one."""
    found: list[Optional[str]] = []
    for value in project.values(iterable, scope):
        expr = value.expr
        if isinstance(expr, (ast.List, ast.Tuple)):
            for element in expr.elts:
                found.extend(project.instance_types(element, value.scope))
        elif isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
            found.extend(project.instance_types(expr.elt, _comprehension_scope(value.scope, expr)))
        else:
            found.append(None)
    return found


def _comprehension_scope(scope: Scope, node: ast.AST) -> Scope:
    """The scope of a comprehension's element (its own scope, found among ``scope``'s descendants)."""
    module = scope.module
    for call in module.calls:
        if call.scope.node is node:
            return call.scope
    return scope


def _thread_class(project: Project, type_name: Optional[str]) -> bool:
    if type_name is None:
        return False
    if type_name in _THREADS:
        return True
    cls = project.definition(type_name)
    return isinstance(cls, ClassInfo) and bool(project.base_names(cls) & _THREADS)


def _owner_of(call: CallSite) -> Optional[str]:
    """The code of what ``call``'s result is bound to: ``pool`` of ``pool = ThreadPool(4)`` or of
    ``with ThreadPool(4) as pool:`` (None: not bound)."""
    module = call.module
    parent = call.ancestors[-1] if call.ancestors else None
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
        return module.code_of(parent.targets[0])
    if isinstance(parent, ast.withitem) and parent.optional_vars is not None:
        return module.code_of(parent.optional_vars)
    return None


def _stopped(start: _Start, scope: _Scope, until: Optional[CallSite]) -> bool:
    """Are the threads of ``start`` stopped before ``until`` (None: before the function returns)?"""
    key = start.key
    if key is None:
        return False
    module = start.call.module
    begin = module.line_of(start.call.node)
    end = module.line_of(until.node) if until is not None else None
    owner = _owning_with(start.call, key)
    if owner is not None and (until is None or not any(node is owner for node in until.ancestors)):
        return True  # the with block ends before the fork (or the function's end): its __exit__ joins them
    return any(line > begin and (end is None or line < end) and stopped == key for line, stopped in scope.stops)


def _owning_with(start: CallSite, key: str) -> Optional[ast.AST]:
    """The ``with`` statement that binds ``key`` (``with ThreadPoolExecutor() as key:``) around ``start``."""
    module = start.module
    for node in (*start.ancestors, start.node):
        if isinstance(node, WITHS):
            for item in node.items:
                if item.optional_vars is not None and module.code_of(item.optional_vars) == key:
                    return node
    return None


def _exclusive_branches(first: CallSite, second: CallSite) -> bool:
    """``if x: start() else: fork()``: only one of the two runs."""
    branches = dict(_if_branches(first))
    return any(branches.get(node, branch) != branch for node, branch in _if_branches(second))


def _leaves_before(start: CallSite, site: CallSite) -> bool:
    """``if x: start(); return`` before ``site``: the block that starts the thread ends the function (or the
    process) without reaching ``site``."""
    reaching = {id(node) for node in (*site.ancestors, site.node)}
    chain = (*start.ancestors, start.node)
    for node, child in zip(chain, chain[1:]):
        for block in _blocks(node):
            if any(statement is child for statement in block) and not any(id(s) in reaching for s in block):
                if _ends(block):
                    return True
    return False


def _if_branches(site: CallSite) -> list[tuple[int, str]]:
    chain = (*site.ancestors, site.node)
    found = []
    for node, child in zip(chain, chain[1:]):
        if isinstance(node, ast.If):
            branch = "body" if child in node.body else "orelse" if child in node.orelse else "test"
            found.append((id(node), branch))
    return found


def _main_only(call: CallSite) -> bool:
    """Inside ``if __name__ == "__main__":``: runs when the module is the program, not when imported."""
    chain = (*call.ancestors, call.node)
    for node, child in zip(chain, chain[1:]):
        if isinstance(node, ast.If) and any(child is statement for statement in guarded_branch(node) or ()):
            return True
    return False


# -- paths only a forked child runs -----------------------------------------------------------------


def in_child_branch(project: Project, call: CallSite) -> bool:
    """Is ``call`` on a path only the child of an earlier fork in its function runs?"""
    function = enclosing_function(call.scope)
    if call.scope.function_scope is not None and function is None:
        return False
    line = call.module.line_of(call.node)
    return any(call.module.line_of(fork.node) < line and _child_runs_alone(fork, call)
               for fork in _scope(project, call.module, function).forks)


def _is_fork_call(project: Project, call: CallSite) -> bool:
    return project.qualified_name(call.node.func, call.scope) in FORK_CALLS


def _child_runs_alone(fork: CallSite, site: CallSite) -> bool:
    """``if pid == 0: <site>``, ``if os.fork() == 0: <site>``, ``else`` of ``if pid:``, or after
    ``if pid: os._exit(0)`` (the parent's branch ends the process or the function)."""
    pid = _pid_names(fork)
    if not pid and not _tested_directly(fork):
        return False
    chain = (*site.ancestors, site.node)
    for node, child in zip(chain, chain[1:]):
        if isinstance(node, ast.If):
            side = _fork_test(node.test, fork, pid)
            if side == "child" and any(child is s for s in node.body):
                return True
            if side == "parent" and any(child is s for s in node.orelse):
                return True
        for block in _blocks(node):
            if any(child is s for s in block):
                index = next(i for i, s in enumerate(block) if s is child)
                for earlier in block[:index]:
                    if (isinstance(earlier, ast.If) and _fork_test(earlier.test, fork, pid) == "parent"
                            and _ends(earlier.body)):
                        return True
    return False


def _blocks(node: ast.AST) -> list[list[ast.stmt]]:
    found = []
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            found.append(block)
    return found


def _pid_names(fork: CallSite) -> set[str]:
    """``pid`` of ``pid = os.fork()`` or ``pid, fd = pty.fork()``."""
    parent = fork.ancestors[-1] if fork.ancestors else None
    if not isinstance(parent, ast.Assign) or parent.value is not fork.node:
        return set()
    names = set()
    for target in parent.targets:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
            names.add(target.elts[0].id)
    return names


def _tested_directly(fork: CallSite) -> bool:
    return any(isinstance(node, ast.If) and _contains(node.test, fork.node) for node in fork.ancestors)


def _contains(tree: ast.AST, node: ast.AST) -> bool:
    return any(child is node for child in ast.walk(tree))


def _fork_test(test: ast.expr, fork: CallSite, pid: set[str]) -> Optional[str]:
    """Which process a test on the fork's result lets through: ``"child"`` (``pid == 0``, ``not pid``),
    ``"parent"`` (``pid``, ``pid > 0``, ``pid != 0``), or None."""
    def is_pid(expr: ast.expr) -> bool:
        return expr is fork.node or (isinstance(expr, ast.Name) and expr.id in pid)

    if is_pid(test):
        return "parent"
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and is_pid(test.operand):
        return "child"
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and is_pid(test.left):
        zero = int_value(test.comparators[0]) == 0
        op = test.ops[0]
        if zero and isinstance(op, (ast.Eq, ast.Is)):
            return "child"
        if zero and isinstance(op, (ast.NotEq, ast.IsNot, ast.Gt)):
            return "parent"
    return None


def _ends(body: list[ast.stmt]) -> bool:
    """The block ends the function or the process: ``return``/``raise``, or ``os._exit(...)``/``sys.exit()``."""
    last = body[-1] if body else None
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        func = last.value.func
        return (isinstance(func, ast.Attribute) and func.attr in ("_exit", "exit", "abort")) or is_name(func, "exit")
    return False
