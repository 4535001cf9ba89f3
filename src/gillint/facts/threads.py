"""Threaded code: which functions run on threads, on how many, and with which shared objects.

Starts from the THREAD dispatches of a module (``Thread(target=...)``, ``Thread`` subclasses'
``run``, thread pools, ``asyncio.to_thread``, ``run_in_executor``) and follows the project
functions they call on paths where no lock is held (:mod:`gillint.facts.locks`), across modules,
depth-bounded and cycle-safe. Each reached function says whether several threads run it:

- the dispatch is concurrent (a pool's ``map``, a dispatch in a loop or comprehension),
- the module dispatches it (or a function that reaches it) at two or more sites,
- the dispatching function also calls it itself after starting the thread and before any join.

and which objects its threads share: ``self`` of a bound method dispatched to several threads
(not ``self`` of a ``Thread`` subclass's ``run``: each thread has its own instance), and
parameters given the same object at every dispatch (``args=(stats,)`` in a loop).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Optional

from gillint.api.concurrency import THREAD_LOCAL_TYPES
from gillint.facts.dispatch import Dispatch, Executor, dispatches
from gillint.facts.locks import function_facts
from gillint.project import (
    BindingKind,
    CallableTarget,
    CallSite,
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    Project,
    Scope,
    TargetKind,
    enclosing_function,
    syntax,
)
from gillint.project.syntax import FOR_LOOPS, LOOPS, terminal_name

#: How many calls deep threaded code is followed from the dispatched function.
MAX_CALL_DEPTH = 5
#: Method calls after which the thread that started work no longer runs beside it.
_WAITS_FOR_THREADS = ("join", "result", "shutdown")


@dataclass(frozen=True)
class ThreadedFunction:
    """A function that runs on threads started by ``dispatch``, reached through ``via``."""

    function: FunctionInfo
    dispatch: Dispatch
    #: The function the dispatch hands to the thread.
    root: FunctionInfo
    #: Qualified names from the dispatched function down to this one.
    via: tuple[str, ...]
    several: bool
    #: Literal number of threads when known (``range(4)``, ``max_workers=8``).
    workers: Optional[int]
    #: ``self`` is one object shared by the threads (a bound method dispatched to several threads).
    self_shared: bool
    #: Parameters every thread receives the same object for.
    shared_parameters: frozenset[str]
    #: Parameters each thread receives a different value for (``range`` items, loop indexes).
    distinct_parameters: frozenset[str] = frozenset()


def threaded_functions(project: Project, module: ModuleInfo) -> list[ThreadedFunction]:
    """Every function reached from the thread dispatches of ``module`` (one entry per function)."""
    def compute() -> list[ThreadedFunction]:
        found: dict[int, ThreadedFunction] = {}
        reached_by: dict[int, list[Dispatch]] = {}
        for dispatch in dispatches(project, module):
            if dispatch.executor is not Executor.THREAD:
                continue
            for root in _roots(project, dispatch):
                for reached in _reach(project, root):
                    key = id(reached.function.node)
                    sites = reached_by.setdefault(key, [])
                    if dispatch not in sites:
                        sites.append(dispatch)
                    found[key] = _merge(found.get(key), reached)
        result = []
        for key, reached in found.items():
            if not reached.several and _overlapping(project, reached_by[key]):
                # Two dispatches that run together start two threads; with more, some may not run.
                count = len(reached_by[key])
                reached = replace(reached, several=True, workers=2 if count == 2 else None)
            result.append(reached)
        return result

    return project.memo("threaded-functions", module.tree, compute, [])


def _merge(old: Optional[ThreadedFunction], new: ThreadedFunction) -> ThreadedFunction:
    if old is None:
        return new
    best = old if (old.several, old.self_shared) >= (new.several, new.self_shared) else new
    return replace(
        best, several=old.several or new.several, self_shared=old.self_shared or new.self_shared,
        shared_parameters=old.shared_parameters | new.shared_parameters,
        distinct_parameters=old.distinct_parameters | new.distinct_parameters,
    )


def _overlapping(project: Project, sites: list[Dispatch]) -> bool:
    """Two of the dispatches start threads that can run at the same time."""
    return any(run_together(first, second) for index, first in enumerate(sites) for second in sites[index + 1:])


def run_together(first: Dispatch, second: Dispatch) -> bool:
    """Both dispatches start threads in the same function with no ``join()`` between them."""
    if first is second or first.site.module is not second.site.module:
        return False
    if first.site.scope.function_scope is not second.site.scope.function_scope:
        return False
    if _exclusive_branches(first.site, second.site):
        return False
    lines = sorted((first.module.line_of(first.site.node), second.module.line_of(second.site.node)))
    return not _joins_between(first.site, *lines)


def _exclusive_branches(first: CallSite, second: CallSite) -> bool:
    """``if x: Thread(target=f) else: pool.submit(f)``: only one of the two runs."""
    branches = _if_branches(first)
    return any(branches.get(id(node), branch) != branch for node, branch in _if_branches_list(second))


def _if_branches(site: CallSite) -> dict[int, str]:
    return {id(node): branch for node, branch in _if_branches_list(site)}


def _if_branches_list(site: CallSite) -> list[tuple[ast.If, str]]:
    """Each enclosing ``if`` of the call, with the part of it the call is in (``body``, ``orelse``, ``test``)."""
    chain = (*site.ancestors, site.node)
    found = []
    for node, child in zip(chain, chain[1:]):
        if isinstance(node, ast.If):
            branch = "body" if child in node.body else "orelse" if child in node.orelse else "test"
            found.append((node, branch))
    return found


def _joins_between(site: CallSite, start: int, end: int) -> bool:
    module = site.module
    own = site.scope.function_scope
    for call in _calls_in_scope(site):
        func = call.node.func
        if (isinstance(func, ast.Attribute) and func.attr in _WAITS_FOR_THREADS
                and call.scope.function_scope is own and start < module.line_of(call.node) < end):
            return True
    return False


def concurrent_window(dispatch: Dispatch) -> Optional[tuple[FunctionInfo, int, int]]:
    """The function that starts the thread, and the lines where it runs alongside it.

    From the dispatch to the first ``join()``/``result()``/``shutdown()`` after it (or the end of
    the function): statements there run on the starting thread while the new one runs.
    """
    site = dispatch.site
    dispatcher = enclosing_function(site.scope)
    if dispatcher is None:
        return None
    module = site.module
    start = module.line_of(site.node)
    end = module.end_line_of(dispatcher.node) + 1
    for call in dispatcher.calls:
        func = call.node.func
        line = module.line_of(call.node)
        if isinstance(func, ast.Attribute) and func.attr in _WAITS_FOR_THREADS and start < line < end:
            end = line
    return dispatcher, start, end


def _calls_in_scope(site: CallSite) -> list[CallSite]:
    owner = enclosing_function(site.scope)
    return owner.calls if owner is not None else [c for c in site.module.calls if c.scope.function_scope is None]


def _roots(project: Project, dispatch: Dispatch) -> list[ThreadedFunction]:
    several = dispatch.concurrent or _also_run_by_dispatcher(project, dispatch)
    workers = dispatch.workers(project) if several else None
    if workers == 1:  # range(1), max_workers=1: one thread runs every task in turn
        several, workers = False, None
    roots = []
    for target in _dispatched_functions(project, dispatch):
        assert target.function is not None
        function = target.function
        thread_subclass = dispatch.subclass is not None
        self_shared = several and target.bound and not thread_subclass and function.owner is not None
        names = _sent_parameters(dispatch, function, target.bound)
        shared = _shared_parameters(dispatch, names) if several else frozenset()
        roots.append(ThreadedFunction(function, dispatch, function, (function.qualname,), several, workers,
                                      self_shared, shared, _distinct_parameters(dispatch, names)))
    return roots


def _dispatched_functions(project: Project, dispatch: Dispatch) -> list[CallableTarget]:
    """The project functions a dispatch runs, also through a callable parameter of its function.

    ``def run_all(work, n): ... Thread(target=work) ...`` called as ``run_all(count, 4)`` in the
    same module dispatches ``count``.
    """
    found = []
    for target in dispatch.targets(project):
        if target.kind is TargetKind.PARTIAL and target.inner is not None:
            target = target.inner
        if target.kind is TargetKind.PARAMETER and target.qualname:
            found.extend(_passed_functions(project, dispatch, target.qualname))
        elif target.kind is TargetKind.LAMBDA and isinstance(target.expr, ast.Lambda):
            body = target.expr.body  # ``target=lambda: work(n)`` runs ``work``
            if isinstance(body, ast.Call):
                found.extend(t for t in project.callable_targets(body.func, target.scope)
                             if t.kind is TargetKind.FUNCTION and t.function is not None)
        elif target.kind is TargetKind.FUNCTION and target.function is not None:
            found.append(target)
    return found


def _passed_functions(project: Project, dispatch: Dispatch, parameter: str) -> list[CallableTarget]:
    dispatcher = enclosing_function(dispatch.site.scope)
    if dispatcher is None or parameter not in dispatcher.parameter_names:
        return []
    position = dispatcher.parameter_names.index(parameter)
    found = []
    for call in dispatch.module.calls:
        func = call.node.func
        if not isinstance(func, (ast.Name, ast.Attribute)) or terminal_name(func) != dispatcher.name:
            continue
        if not any(t.function is dispatcher for t in project.callable_targets(func, call.scope)):
            continue
        index = position - 1 if dispatcher.owner is not None and isinstance(func, ast.Attribute) else position
        given = syntax.argument(call.node, parameter, index)
        if given is None:
            continue
        for target in project.callable_targets(given, call.scope):
            if target.kind is TargetKind.PARTIAL and target.inner is not None:
                target = target.inner
            if target.kind is TargetKind.FUNCTION and target.function is not None:
                found.append(target)
    return found


def _reach(project: Project, root: ThreadedFunction) -> list[ThreadedFunction]:
    """``root`` and the project functions it calls with no lock held, breadth first."""
    reached = [root]
    seen = {(id(root.function.node), root.self_shared)}
    frontier = [root]
    for _ in range(MAX_CALL_DEPTH):
        next_frontier = []
        for caller in frontier:
            for callee in _callees(project, caller):
                key = (id(callee.function.node), callee.self_shared)
                if key in seen:
                    continue
                seen.add(key)
                reached.append(callee)
                next_frontier.append(callee)
        frontier = next_frontier
    return reached


def _callees(project: Project, caller: ThreadedFunction) -> list[ThreadedFunction]:
    found = []
    for site in function_facts(project, caller.function).unlocked_calls:
        targets = project.callable_targets(site.node.func, site.scope) + _shared_argument_method(project, caller, site)
        for target in targets:
            function = target.function
            if target.kind is TargetKind.CLASS and target.cls is not None:
                function = project.find_method(target.cls, "__init__")
            elif target.kind is not TargetKind.FUNCTION:
                continue
            if function is None:
                continue
            self_shared = (caller.self_shared and _called_on_self(project, site, caller.function)) \
                or _called_on_shared_object(caller, site)
            found.append(replace(caller, function=function, via=(*caller.via, function.qualname),
                                 self_shared=self_shared,
                                 shared_parameters=frozenset(), distinct_parameters=frozenset()))
    return found


def _shared_argument_method(project: Project, caller: ThreadedFunction, site: CallSite) -> list[CallableTarget]:
    """``counter.increment()`` where ``counter`` is the ``Counter()`` the dispatch passes to every thread."""
    func = site.node.func
    if (caller.function is not caller.root or not isinstance(func, ast.Attribute)
            or not isinstance(func.value, ast.Name) or func.value.id not in caller.shared_parameters):
        return []
    dispatch = caller.dispatch
    bound = isinstance(dispatch.callable, ast.Attribute) and caller.root.owner is not None
    found = []
    for name, argument in zip(_sent_parameters(dispatch, caller.root, bound), dispatch.arguments):
        if name != func.value.id:
            continue
        for type_name in project.instance_types(argument, dispatch.site.scope):
            cls = project.definition(type_name) if type_name else None
            method = project.find_method(cls, func.attr) if isinstance(cls, ClassInfo) else None
            if method is not None:
                found.append(CallableTarget(TargetKind.FUNCTION, func, site.scope, function=method, bound=True))
    return found


def _called_on_self(project: Project, site: CallSite, caller: FunctionInfo) -> bool:
    func = site.node.func
    return isinstance(func, ast.Attribute) and project.self_class(func.value, site.scope) is caller.owner


def _called_on_shared_object(caller: ThreadedFunction, site: CallSite) -> bool:
    """``REGISTRY.add(...)``, ``counter.increment()``: a method of an object every thread shares.

    The receiver is a module-level instance, an argument every thread receives, or an object
    created by the function that starts the threads (a closure variable).
    """
    func = site.node.func
    if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
        return False
    name = func.value.id
    bindings = site.scope.lookup(name)
    if not bindings:
        return False
    if all(b.scope.kind.value == "module" and b.kind is BindingKind.ASSIGN and isinstance(b.value, ast.Call)
           for b in bindings):
        return True
    if bindings[0].scope is caller.function.scope:
        return name in caller.shared_parameters and all(b.kind is BindingKind.PARAMETER for b in bindings)
    return _owned_by_dispatcher(caller, name) and all(
        b.kind is BindingKind.ASSIGN and isinstance(b.value, ast.Call) for b in bindings)


def _also_run_by_dispatcher(project: Project, dispatch: Dispatch) -> bool:
    """``t.start(); work(); t.join()``: the dispatching code runs the target itself meanwhile."""
    site = dispatch.site
    calls = _calls_in_scope(site)
    module = site.module
    start = module.line_of(site.node)
    targets = {id(t.function.node) for t in dispatch.targets(project) if t.function is not None}
    if not targets:
        return False
    for call in calls:
        line = module.line_of(call.node)
        if line <= start or call.scope.function_scope is not site.scope.function_scope:
            continue
        func = call.node.func
        if isinstance(func, ast.Attribute) and func.attr in _WAITS_FOR_THREADS:
            return False
        if any(t.function is not None and id(t.function.node) in targets
               for t in project.callable_targets(func, call.scope)):
            return True
    return False


def _sent_parameters(dispatch: Dispatch, function: FunctionInfo, bound: bool) -> list[str]:
    """The parameters the dispatch's arguments (or iterable items) land in, in order."""
    if dispatch.subclass is not None:
        return []
    return function.parameter_names[1:] if bound else function.parameter_names


def _distinct_parameters(dispatch: Dispatch, names: list[str]) -> frozenset[str]:
    """``pool.map(f, range(n))``, ``for i in range(n): Thread(target=f, args=(i,))``."""
    if not names:
        return frozenset()
    if dispatch.iterables:
        return frozenset(names[:1]) if _is_index_iterable(dispatch.iterables[0]) else frozenset()
    distinct = set()
    scope = dispatch.site.scope
    for name, argument in zip(names, dispatch.arguments):
        if not isinstance(argument, ast.Name):
            continue
        bindings = scope.lookup(argument.id)
        if bindings and all(_binds_index(b.node, argument.id) for b in bindings):
            distinct.add(name)
    return frozenset(distinct)


def _is_index_iterable(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "range"


def _binds_index(node: ast.AST, name: str) -> bool:
    """``for name in range(...)`` or ``for name, _ in enumerate(...)``."""
    if not isinstance(node, (*FOR_LOOPS, ast.comprehension)):
        return False
    if isinstance(node.target, ast.Name):
        return node.target.id == name and _is_index_iterable(node.iter)
    iterable = node.iter
    if (isinstance(node.target, ast.Tuple) and node.target.elts
            and isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "enumerate"):
        first = node.target.elts[0]
        return isinstance(first, ast.Name) and first.id == name
    return False


def _shared_parameters(dispatch: Dispatch, names: list[str]) -> frozenset[str]:
    """Parameters given the same object by every thread: a name bound outside the dispatch loop."""
    shared = set()
    site = dispatch.site
    loops = [n for n in site.ancestors if isinstance(n, (*LOOPS, ast.comprehension))]
    loop_lines = [(site.module.line_of(n), site.module.end_line_of(n)) for n in loops]
    for name, argument in zip(names, dispatch.arguments):
        if not isinstance(argument, ast.Name):
            continue
        bindings = site.scope.lookup(argument.id)
        if not bindings or any(b.kind in (BindingKind.LOOP, BindingKind.PARAMETER, BindingKind.IMPORT)
                               or not _creates_object(b.value) for b in bindings):
            continue
        lines = [site.module.line_of(b.node) for b in bindings]
        if any(start <= line <= end for line in lines for start, end in loop_lines):
            continue
        shared.add(name)
    return frozenset(shared)


def _creates_object(value: Optional[ast.expr]) -> bool:
    """A mutable container or object: ``{}``, ``[]``, ``Counter()``, ``Stats()``."""
    return isinstance(value, (ast.Dict, ast.List, ast.Set, ast.Call, ast.DictComp, ast.ListComp, ast.SetComp))


#: Keys that name the running thread: ``stats[threading.get_ident()] += 1`` touches its own slot.
_THREAD_IDENTITY = ("get_ident(", "get_native_id(", "current_thread(")


def shared_state(project: Project, threaded: ThreadedFunction, target: ast.expr) -> Optional[str]:
    """Describe what ``target`` (written in ``threaded.function``) names if the threads share it.

    ``global 'hits'``, ``nonlocal 'total'``, ``module-level 'CACHE'``, ``class attribute 'C.count'``,
    ``attribute 'hits' of the shared 'Server' instance``... None for per-thread or unknown state.
    """
    function = threaded.function
    scope = function.scope
    if isinstance(target, ast.Name):
        if target.id in scope.global_names:
            return f"global '{target.id}'"
        if target.id in scope.nonlocal_names:
            return f"nonlocal '{target.id}'" if _owned_by_dispatcher(threaded, target.id) else None
    chain: list[ast.expr] = []
    base: ast.expr = target
    while isinstance(base, (ast.Attribute, ast.Subscript)):
        chain.append(base)
        base = base.value
    if not isinstance(base, ast.Name) or _per_thread_key(threaded, target):
        return None
    if _thread_local(project, chain, base, scope):
        return None
    first = chain[-1] if chain else None  # the step right after the base name: base.attr or base[key]
    shown = scope.module.code_of(first).strip() if first is not None else base.id
    attribute = first.attr if isinstance(first, ast.Attribute) else None
    owner = project.self_class(base, scope)
    if owner is not None:
        if threaded.self_shared and attribute is not None:
            return f"attribute '{attribute}' of the '{owner.name}' instance its threads share"
        return None
    bindings = scope.lookup(base.id)
    if not bindings:
        return None
    kinds = {b.kind for b in bindings}
    where = bindings[0].scope
    if where.kind.value == "module":
        if kinds <= {BindingKind.ASSIGN, BindingKind.AUG_ASSIGN}:
            return f"module-level '{base.id}'" if attribute is None else f"'{shown}' of module-level '{base.id}'"
        if kinds == {BindingKind.CLASS} and attribute is not None:
            return f"class attribute '{shown}'"
        if kinds == {BindingKind.IMPORT} and len(bindings) == 1:
            return _imported_state(project, bindings[0].imported or "", attribute)
        return None
    if where is scope:
        if kinds == {BindingKind.PARAMETER} and base.id in threaded.shared_parameters:
            what = f"'{shown}' of the argument" if attribute is not None else "the argument"
            return f"{what} '{base.id}' that every thread receives"
        return None
    if where.kind.value == "function" and _owned_by_dispatcher(threaded, base.id):
        return f"closure variable '{base.id}'"
    return None


def _owned_by_dispatcher(threaded: ThreadedFunction, name: str) -> bool:
    """A variable of the function that starts the threads (one object for all of them)."""
    dispatcher = enclosing_function(threaded.dispatch.site.scope)
    if dispatcher is None:
        return False
    return bool(dispatcher.scope.bindings.get(name)) and threaded.function.scope.is_within(dispatcher.scope)


def _per_thread_key(threaded: ThreadedFunction, target: ast.expr) -> bool:
    """``out[i] += v`` where each thread receives its own ``i``: each thread has its own slot."""
    if not isinstance(target, ast.Subscript) or isinstance(target.slice, (ast.Tuple, ast.Slice)):
        return False
    index = target.slice
    if isinstance(index, ast.Name):
        return index.id in threaded.distinct_parameters
    shown = threaded.function.module.code_of(index)
    return any(marker in shown for marker in _THREAD_IDENTITY)


def _thread_local(project: Project, chain: list[ast.expr], base: ast.Name, scope: Scope) -> bool:
    """Some object along ``a.b.c`` (the target excluded) is a ``threading.local()``."""
    for expr in [*chain[1:], base]:
        for type_name in project.instance_types(expr, scope):
            if type_name in THREAD_LOCAL_TYPES:
                return True
            definition = project.definition(type_name) if type_name else None
            if isinstance(definition, ClassInfo) and project.base_names(definition) & THREAD_LOCAL_TYPES:
                return True
    return False


def _imported_state(project: Project, imported: str, attribute: Optional[str]) -> Optional[str]:
    """``from pkg.state import CACHE`` / ``import pkg.state`` + ``state.CACHE``: a project module global."""
    module = project.module(imported)
    if module is not None:
        if attribute is None or not _assigned_global(module, attribute):
            return None
        return f"global '{attribute}' of {module.name}"
    owner_name, _, name = imported.rpartition(".")
    owner = project.module(owner_name) if owner_name else None
    if owner is None or not _assigned_global(owner, name):
        return None
    return f"module-level '{name}' of {owner.name}"


def _assigned_global(module: ModuleInfo, name: str) -> bool:
    bindings = module.scope.bindings.get(name, [])
    return bool(bindings) and all(b.kind in (BindingKind.ASSIGN, BindingKind.AUG_ASSIGN) for b in bindings)
