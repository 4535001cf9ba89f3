"""Where code hands work to another thread or process, and where a process is started.

:func:`dispatches` classifies a module's call sites once (memoised per module): each
:class:`Dispatch` says which executor runs the work, which callable and which arguments are
sent, whether they are pickled, and how many workers may run it. GIL101, GIL201/202 and GIL301
all start from these; GIL401 starts from :func:`process_start`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from gillint.api import concurrency as kb
from gillint.facts.bodies import body_facts
from gillint.findings import Location, Site
from gillint.project.model import CallableTarget, Project, TargetKind
from gillint.project.module import CallSite, ClassInfo, FunctionInfo, ModuleInfo
from gillint.project.scopes import BindingKind, Scope
from gillint.project.syntax import (
    COMPREHENSIONS,
    FOR_LOOPS,
    SCOPES,
    argument,
    elements,
    int_value,
    is_name,
    is_none,
    positional,
    sent_values,
)


class Executor(str, Enum):
    THREAD = "thread"
    PROCESS = "process"


class Pickling(str, Enum):
    """When the callable and arguments of a dispatch cross a process boundary by pickle."""

    NEVER = "never"  # threads
    ALWAYS = "always"  # pool task submission: under every start method
    SPAWN = "spawn"  # Process(target=...), pool initializers: only under spawn and forkserver


@dataclass(frozen=True)
class Dispatch:
    """A call site that hands a callable to a thread or a process."""

    site: CallSite
    executor: Executor
    #: Human name of the API, used in messages: ``threading.Thread``, ``ThreadPoolExecutor.submit``.
    api: str
    #: The callable expression sent (None for a Thread/Process subclass: its ``run`` is the target).
    callable: Optional[ast.expr]
    #: The Thread/Process subclass instantiated, when the dispatch is ``Worker(...)``.
    subclass: Optional[ClassInfo]
    #: Argument expressions sent one by one (``args=(a, b)`` elements, ``submit(f, a, b)``).
    arguments: tuple[ast.expr, ...]
    #: Iterables whose items become arguments (``pool.map(f, items)``); the iterable itself stays.
    iterables: tuple[ast.expr, ...]
    pickling: Pickling
    #: Several workers may run it at once: a pool's map, or a dispatch inside a loop/comprehension.
    concurrent: bool
    is_initializer: bool = False
    #: The pool expression the task goes to (``pool`` in ``pool.submit``); None for threads and processes.
    pool: Optional[ast.expr] = None

    @property
    def module(self) -> ModuleInfo:
        return self.site.module

    @property
    def is_pool_task(self) -> bool:
        """Work given to a pool or executor (not a thread or process of its own)."""
        return self.pool is not None or self.api in ("asyncio.to_thread", "run_in_executor")

    def targets(self, project: Project) -> list[CallableTarget]:
        """What the dispatched callable refers to (the subclass's ``run`` for subclasses)."""
        if self.subclass is not None:
            run = project.find_method(self.subclass, "run")
            if run is None:
                return []
            return [CallableTarget(TargetKind.FUNCTION, self.site.node, self.site.scope, function=run, bound=True)]
        if self.callable is None:
            return []
        return project.callable_targets(self.callable, self.site.scope)

    def site_evidence(self) -> Site:
        """The dispatch as findings' evidence: the API, the file and the line."""
        return Site(self.api, self.module.display_path, self.module.line_of(self.site.node))

    def workers(self, project: Project) -> Optional[int]:
        """How many workers may run the callable, when the code says so literally: the pool's size
        (``ThreadPoolExecutor(max_workers=4)``), else ``range(N)`` of the loop around the dispatch."""
        if self.pool is not None:
            sizes = {_pool_size(value.expr) for value in project.values(self.pool, self.site.scope)}
            return sizes.pop() if len(sizes) == 1 else None
        return _loop_count(self.site)


def function_location(function: FunctionInfo) -> Location:
    """A project function as findings' evidence: its qualified name, file and line."""
    return Location(function.qualname, function.module.display_path, function.module.line_of(function.node))


def dispatches(project: Project, module: ModuleInfo) -> list[Dispatch]:
    """Every dispatch in ``module``, in source order (computed once per module)."""
    def compute() -> list[Dispatch]:
        found: list[Dispatch] = []
        for site in module.calls:
            found.extend(classify(project, site))
        return found

    return project.memo("dispatches", module.tree, compute, [])


def process_start(project: Project, site: CallSite) -> Optional[str]:
    """If the call starts a process right away, a short description of how (else None)."""
    call = site.node
    name = project.qualified_name(call.func, site.scope)
    types = _constructed_type(project, site) if may_reach_workers(project, name) else None
    if name in kb.MANAGER_FACTORIES or types in kb.MANAGER_FACTORIES:
        return "multiprocessing.Manager() starts a server process"
    if types in kb.EAGER_PROCESS_POOLS:
        return "multiprocessing.Pool() starts its worker processes"
    if not isinstance(call.func, ast.Attribute):
        return None
    method = call.func.attr
    receiver_types = project.instance_types(call.func.value, site.scope)
    if method == "start" and _all_process_like(project, receiver_types):
        return "Process.start() starts a process"
    if method in kb.EXECUTOR_TASK_METHODS and kb.family(receiver_types, kb.PROCESS_POOLS - kb.EAGER_PROCESS_POOLS):
        return f"ProcessPoolExecutor.{method}() starts worker processes"
    if method == "run_in_executor" and call.args:
        executor_types = project.instance_types(call.args[0], site.scope)
        if kb.family(executor_types, kb.PROCESS_POOLS - kb.EAGER_PROCESS_POOLS):
            return "run_in_executor() on a ProcessPoolExecutor starts worker processes"
    return None


# -- classification ----------------------------------------------------------------------------


def may_reach_workers(project: Project, name: Optional[str]) -> bool:
    """Can calling ``name`` (a qualified name, None when unknown) make or use a thread, process, pool or
    manager? Answered without loading a module when the prefilter saw that ``name`` cannot reach any
    thread or process API."""
    return name is None or name in kb.WORKER_APIS or project.may_start_workers(name)


def _constructed_type(project: Project, site: CallSite) -> Optional[str]:
    types = project.instance_types(site.node, site.scope)
    return types[0] if len(types) == 1 else None


def _all_process_like(project: Project, types: list[Optional[str]]) -> bool:
    if not types:
        return False
    for type_name in types:
        if type_name is None:
            return False
        if type_name in kb.PROCESS_CLASSES or type_name in kb.MANAGER_CLASSES:
            continue
        cls = project.definition(type_name)
        if not isinstance(cls, ClassInfo) or not project.base_names(cls) & kb.PROCESS_CLASSES:
            return False
    return True


def _subclass_of(project: Project, site: CallSite, bases: frozenset[str]) -> Optional[ClassInfo]:
    definition = project.resolve_definition(site.node.func, site.scope)
    if isinstance(definition, ClassInfo) and project.base_names(definition) & bases:
        return definition
    return None


def classify(project: Project, site: CallSite) -> list[Dispatch]:
    """The dispatches of one call site (what :func:`dispatches` lists for a whole module)."""
    call = site.node
    name = project.qualified_name(call.func, site.scope)
    if not may_reach_workers(project, name):
        return _method_dispatch(project, site, call.func) if isinstance(call.func, ast.Attribute) else []
    constructed = _constructed_type(project, site)
    kind = constructed or name

    if kind in kb.THREAD_CLASSES or kind in kb.PROCESS_CLASSES:
        return _thread_or_process(project, site, kind in kb.THREAD_CLASSES)
    if kind in kb.THREAD_POOLS or kind in kb.PROCESS_POOLS:
        return _pool_initializer(project, site, kind)
    if name in kb.TO_THREAD:
        return _task(site, Executor.THREAD, "asyncio.to_thread", Pickling.NEVER, None)
    if name in kb.START_NEW_THREAD:
        return _start_new_thread(site)
    for bases, thread in ((kb.THREAD_CLASSES, True), (kb.PROCESS_CLASSES, False)):
        subclass = _subclass_of(project, site, bases)
        if subclass is not None:
            kind_name = "Thread" if thread else "Process"
            return [Dispatch(
                site, Executor.THREAD if thread else Executor.PROCESS, f"{subclass.name} (a {kind_name} subclass)",
                None, subclass, (), (), Pickling.NEVER if thread else Pickling.SPAWN, site.in_loop,
            )]
    if isinstance(call.func, ast.Attribute):
        return _method_dispatch(project, site, call.func)
    return []


def _sent(project: Project, site: CallSite, expr: Optional[ast.expr]) -> tuple[ast.expr, ...]:
    """:func:`elements` of ``args=(a, b)``, or of the literal a name such as ``args=job_args`` is bound to
    (once, in the same module)."""
    if isinstance(expr, ast.Name):
        values = project.values(expr, site.scope)
        if len(values) == 1 and values[0].expr is not expr and values[0].scope.module is site.module:
            return elements(values[0].expr)
    return elements(expr)


def _thread_or_process(project: Project, site: CallSite, thread: bool) -> list[Dispatch]:
    """``Thread(target=f, args=(...), kwargs={...})`` and ``Process(...)``: same signature."""
    call = site.node
    target = argument(call, "target", 1)
    if target is None:
        return []
    arguments = _sent(project, site, argument(call, "args", 3)) + _sent(project, site, argument(call, "kwargs", 4))
    api = "threading.Thread" if thread else "multiprocessing.Process"
    return [Dispatch(
        site, Executor.THREAD if thread else Executor.PROCESS, api,
        target, None, arguments, (), Pickling.NEVER if thread else Pickling.SPAWN, site.in_loop,
    )]


def _start_new_thread(site: CallSite) -> list[Dispatch]:
    """``_thread.start_new_thread(f, args)``."""
    args = site.node.args
    if not args or isinstance(args[0], ast.Starred):
        return []
    arguments = elements(args[1]) if len(args) > 1 else ()
    return [Dispatch(
        site, Executor.THREAD, "_thread.start_new_thread", args[0], None, arguments, (), Pickling.NEVER, site.in_loop,
    )]


def _pool_initializer(project: Project, site: CallSite, kind: str) -> list[Dispatch]:
    """``Pool(initializer=f, initargs=(...))``: the initializer runs in every worker."""
    is_executor = kind.startswith("concurrent.futures")
    position = 2 if is_executor else 1
    initializer = argument(site.node, "initializer", position)
    if initializer is None or kind in kb.THREAD_POOLS:
        return []
    initargs = _sent(project, site, argument(site.node, "initargs", position + 1))
    api = f"{kind.rpartition('.')[2]}(initializer=...)"
    return [Dispatch(site, Executor.PROCESS, api, initializer, None, initargs, (), Pickling.SPAWN, True, True)]


def _task(
    site: CallSite, executor: Executor, api: str, pickling: Pickling, pool: Optional[ast.expr],
) -> list[Dispatch]:
    """``submit(f, *args, **kwargs)`` shaped calls: the first positional is the callable."""
    call = site.node
    if not call.args or isinstance(call.args[0], ast.Starred):
        return []
    return [Dispatch(site, executor, api, call.args[0], None, sent_values(call, 1), (), pickling, site.in_loop,
                     pool=pool)]


def _method_dispatch(project: Project, site: CallSite, func: ast.Attribute) -> list[Dispatch]:
    method = func.attr
    call = site.node
    if method == "run_in_executor":
        return _run_in_executor(project, site)
    if method not in kb.POOL_TASK_METHODS and method not in kb.EXECUTOR_TASK_METHODS:
        return []
    receiver = pool_types(project, func.value, site.scope)
    family = _pool_family(receiver)
    if family is None:
        return []
    executor, pickling = family
    pool_name = receiver[0].rpartition(".")[2] if receiver[0] else "pool"
    api = f"{pool_name}.{method}"
    is_executor = "Executor" in pool_name
    if is_executor and method == "submit":
        return _task(site, executor, api, pickling, func.value)
    if is_executor and method == "map":
        given = positional(call)
        if not given:
            return []
        return [Dispatch(site, executor, api, given[0], None, (), tuple(given[1:]), pickling, True, pool=func.value)]
    if is_executor:
        return []
    function = argument(call, "func", 0)
    if function is None:
        return []
    if method in kb.POOL_ITERABLE_METHODS:
        iterable = argument(call, "iterable", 1)
        iterables = (iterable,) if iterable is not None else ()
        return [Dispatch(site, executor, api, function, None, (), iterables, pickling, True, pool=func.value)]
    arguments = _sent(project, site, argument(call, "args", 1)) + _sent(project, site, argument(call, "kwds", 2))
    return [Dispatch(site, executor, api, function, None, arguments, (), pickling, site.in_loop, pool=func.value)]


def pool_types(project: Project, expr: ast.expr, scope: Scope) -> list[Optional[str]]:
    """:meth:`Project.instance_types`, plus pools known from a parameter annotation (``pool: Pool``),
    returned by a project function (``pool = make_pool()``) or wrapped in ``contextlib.closing``.

    An attribute set to ``None`` until the pool is made (``self._pool = None`` in ``__init__``) is the
    pool when a task is given to it; ``executor or ThreadPoolExecutor()`` is the pool made when no
    executor is passed (a parameter without annotation, ``None`` by default)."""
    types = project.instance_types(expr, scope)
    if all(t in _POOLS for t in types):
        return types
    found: list[Optional[str]] = []
    for value in project.values(expr, scope):
        if is_none(value.expr):
            continue
        if isinstance(value.expr, ast.BoolOp) and isinstance(value.expr.op, ast.Or):
            found.extend(t for operand in value.expr.values if not _none_by_default(project, operand, value.scope)
                         for t in pool_types(project, operand, value.scope))
        elif value.binding is not None and value.binding.kind is BindingKind.PARAMETER:
            found.append(_annotated_pool(project, value.binding.node, value.binding.name, value.binding.scope))
        elif isinstance(value.expr, ast.Call):
            found.extend(_returned_pools(project, value.expr, value.scope))
        else:
            found.extend(project.instance_types(value.expr, value.scope))
    return found


_POOLS = kb.THREAD_POOLS | kb.PROCESS_POOLS


def _none_by_default(project: Project, expr: ast.expr, scope: Scope) -> bool:
    """``executor`` in ``executor or ThreadPoolExecutor()``: a parameter without annotation whose
    default is ``None``."""
    if not isinstance(expr, ast.Name):
        return False
    bindings = scope.lookup(expr.id)
    if len(bindings) != 1 or bindings[0].kind is not BindingKind.PARAMETER:
        return False
    node = bindings[0].node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return False
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(zip((a.arg for a in positional[len(positional) - len(args.defaults):]), args.defaults))
    defaults.update((a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None)
    annotated = {a.arg for a in (*positional, *args.kwonlyargs) if a.annotation is not None}
    return expr.id not in annotated and is_none(defaults.get(expr.id))


def _annotated_pool(project: Project, node: ast.AST, name: str, scope: Scope) -> Optional[str]:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or scope.parent is None:
        return None
    args = node.args
    for param in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if param.arg == name and param.annotation is not None:
            annotation = project.qualified_name(param.annotation, scope.parent)
            return annotation if annotation in _POOLS else None
    return None


def _returned_pools(project: Project, call: ast.Call, scope: Scope) -> list[Optional[str]]:
    """Pools a project factory returns (one level: ``return Pool(4)``), else what the call constructs.

    ``contextlib.closing(Pool(4))`` is the pool it closes.
    """
    if project.qualified_name(call.func, scope) == "contextlib.closing" and call.args:
        return project.instance_types(call.args[0], scope)
    for target in project.callable_targets(call.func, scope):
        if target.kind is TargetKind.FUNCTION and target.function is not None:
            function = target.function
            returns = body_facts(project, function).returns
            types = [t for r in returns for t in project.instance_types(r, function.scope)]
            return types if types and all(t in _POOLS for t in types) else [None]
    return project.instance_types(call, scope)


def _pool_family(types: list[Optional[str]]) -> Optional[tuple[Executor, Pickling]]:
    """Thread pool or process pool (and whether tasks are pickled), when every possible type agrees."""
    if kb.family(types, kb.THREAD_POOLS):
        return Executor.THREAD, Pickling.NEVER
    if kb.family(types, kb.PROCESS_POOLS):
        return Executor.PROCESS, Pickling.ALWAYS
    return None


def _run_in_executor(project: Project, site: CallSite) -> list[Dispatch]:
    """``loop.run_in_executor(executor, f, *args)``; ``None`` means the loop's default thread pool."""
    call = site.node
    if len(call.args) < 2 or any(isinstance(a, ast.Starred) for a in call.args[:2]):
        return []
    executor_expr = call.args[0]
    if is_none(executor_expr):
        executor, pickling = Executor.THREAD, Pickling.NEVER
        pool: Optional[ast.expr] = None
    else:
        family = _pool_family(pool_types(project, executor_expr, site.scope))
        if family is None:
            return []
        executor, pickling = family
        pool = executor_expr
    arguments = sent_values(call, 2)
    return [Dispatch(site, executor, "run_in_executor", call.args[1], None, arguments, (), pickling, site.in_loop,
                     pool=pool)]


# -- worker counts ---------------------------------------------------------------------------------


#: Keywords that give a pool's size.
_SIZE_KEYWORDS = ("max_workers", "processes")


def _pool_size(expr: ast.AST) -> Optional[int]:
    """The literal size a pool is constructed with: ``Pool(4)``, ``ThreadPoolExecutor(max_workers=8)``."""
    if not isinstance(expr, ast.Call):
        return None
    for name in _SIZE_KEYWORDS:
        given = next((k.value for k in expr.keywords if k.arg == name), None)
        if given is not None:
            return int_value(given)
    return int_value(expr.args[0]) if expr.args else None


def _loop_count(site: CallSite) -> Optional[int]:
    """``N`` of ``for _ in range(N)`` (or a comprehension over it) around the call, in its function."""
    for node in reversed(site.ancestors):
        if isinstance(node, SCOPES):
            return None
        if isinstance(node, COMPREHENSIONS):
            node = node.generators[0]
        if isinstance(node, (*FOR_LOOPS, ast.comprehension)):
            return range_count(node.iter)
    return None


def range_count(iterable: ast.AST) -> Optional[int]:
    """``N`` of ``range(N)``, else None."""
    if (isinstance(iterable, ast.Call) and is_name(iterable.func, "range") and len(iterable.args) == 1
            and not iterable.keywords):
        return int_value(iterable.args[0])
    return None
