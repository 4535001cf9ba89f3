"""Where threads start, which functions run on them, on how many, and with which shared objects.

**Thread entry points** (:func:`thread_entry_points`) are the functions that start running on a
thread, and who starts them:

- work handed to a thread by the project (:mod:`gillint.facts.dispatch`: ``Thread(target=...)``,
  ``Thread`` subclasses' ``run``, thread pools, ``asyncio.to_thread``, ``run_in_executor``);
- a ``threading.Timer`` callback, a ``Future.add_done_callback`` callback (run by the pool thread
  that completes the future), a thread pool's ``initializer`` (run once in every worker thread);
- the request handlers of a threading server (``socketserver.ThreadingMixIn`` and the ready-made
  ``ThreadingTCPServer``, ``ThreadingHTTPServer``...): the handler class's ``handle()``/``do_GET()``,
  the server's own per-request methods, functions registered with a threading XML-RPC server, and
  WSGI applications served by threads (:mod:`gillint.api.servers`);
- callables put on a queue whose worker loop runs what it takes (``fn, args = q.get(); fn(*args)``);
- functions the user names in the ``thread-entry-points`` option.

Threaded code (:func:`threaded_functions`) is each entry point and the project functions it calls
on paths where no lock is held (:mod:`gillint.facts.locks`), across modules, depth-bounded and
cycle-safe. Each reached function says whether several threads run it:

- the entry point is concurrent (a pool's ``map``, a dispatch in a loop, a server's request threads),
- the module starts it (or a function that reaches it) at two or more sites that run together,
- the dispatching function also calls it itself after starting the thread and before any join,

and which objects its threads share: ``self`` of a bound method run by several threads (not
``self`` of a ``Thread`` subclass's ``run``, nor of a request handler: each thread has its own
instance), attributes of ``self`` that hold a shared object (a handler's ``self.server``), and
parameters given the same object at every dispatch (``args=(stats,)`` in a loop).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from enum import Enum
from fnmatch import fnmatchcase
from typing import Iterable, Optional, Sequence

from gillint.api import servers
from gillint.api.concurrency import THREAD_LOCAL_TYPES, THREAD_POOLS
from gillint.facts.dispatch import Dispatch, Executor, Pickling, dispatches
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
    ScopeKind,
    TargetKind,
    enclosing_function,
    syntax,
)
from gillint.project.syntax import FOR_LOOPS, LOOPS, is_none, terminal_name

#: How many calls deep threaded code is followed from the entry point.
MAX_CALL_DEPTH = 5
#: Method calls after which the thread that started work no longer runs beside it.
_WAITS_FOR_THREADS = ("join", "result", "shutdown")
#: Queues whose ``get()`` a worker loop blocks on.
QUEUE_TYPES = frozenset({
    "queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "queue.SimpleQueue",
    "multiprocessing.dummy.Queue",
})
_TIMER = "threading.Timer"


class StartKind(str, Enum):
    """How an entry point comes to run on a thread."""

    DISPATCH = "dispatch"  # Thread(target=...), a Thread subclass, a thread pool, to_thread, run_in_executor
    TIMER = "timer"  # threading.Timer(interval, function)
    DONE_CALLBACK = "done-callback"  # Future.add_done_callback(function)
    INITIALIZER = "initializer"  # ThreadPoolExecutor(initializer=function)
    REQUEST_HANDLER = "request-handler"  # a threading server's handler, registered function or WSGI app
    SERVER_REQUEST = "server-request"  # a threading server's own per-request methods
    SERVER_LOOP = "server-loop"  # a threading server's methods that run on its serving thread
    QUEUE_TASK = "queue-task"  # a callable put on a queue that a worker loop runs
    CONFIGURED = "configured"  # named in the thread-entry-points option
    LOCKING = "locking"  # code that takes a lock around a check or its act: the lock says threads run it


@dataclass(frozen=True)
class EntryPoint:
    """A function that starts running on a thread, and what starts it."""

    function: FunctionInfo
    kind: StartKind
    #: What starts the threads, for messages: ``threading.Thread``, ``ThreadingTCPServer``, ``threading.Timer``.
    api: str
    #: The threads, for messages: ``threads``, ``pool threads``, ``request threads``.
    threads: str
    #: The call that starts the threads or hands the function over (None for configured entry points).
    site: Optional[CallSite]
    several: bool
    #: Literal number of threads when known (``range(4)``, ``max_workers=8``).
    workers: Optional[int] = None
    #: ``self`` is one object shared by the threads.
    self_shared: bool = False
    #: Parameters every thread receives the same object for.
    shared_parameters: frozenset[str] = frozenset()
    #: Parameters each thread receives a different value for (``range`` items, loop indexes, the future).
    distinct_parameters: frozenset[str] = frozenset()
    #: Attributes of ``self`` that hold one object every thread shares (``server`` of a request
    #: handler), with the project class of that object when known.
    shared_attributes: tuple[tuple[str, Optional[ClassInfo]], ...] = ()
    #: The dispatch (real, or made up for a Timer, a callback, an initializer or a queue task).
    dispatch: Optional[Dispatch] = None
    #: Entry points of the same group run at the same time (a server's handler and its own methods).
    group: Optional[int] = None

    @property
    def module(self) -> ModuleInfo:
        return self.site.module if self.site is not None else self.function.module


# -- entry points ------------------------------------------------------------------------------------


def thread_entry_points(project: Project, module: ModuleInfo, configured: Sequence[str] = ()) -> list[EntryPoint]:
    """The thread entry points that ``module`` reveals: those it starts, and those it defines that
    match a ``configured`` pattern (the ``thread-entry-points`` option).

    A module that turns threads into greenlets (``gevent.monkey.patch_all()``) starts none.
    """
    patterns = tuple(configured)

    def compute() -> list[EntryPoint]:
        if _monkey_patched(project, module):
            return []
        found: list[EntryPoint] = []
        for dispatch in dispatches(project, module):
            if dispatch.executor is Executor.THREAD:
                found.extend(_callable_entries(project, dispatch, StartKind.DISPATCH, _dispatch_threads(dispatch)))
        inherited: list[EntryPoint] = []  # from super().__init__: after the servers constructed here
        for site in module.calls:
            name = terminal_name(site.node.func)
            finder = _FINDERS.get(name)
            if name == "__init__":
                inherited.extend(_super_init_entries(project, site))
            elif finder is not None:
                found.extend(finder(project, site))
            elif len(site.node.args) >= 2 or site.node.keywords:
                found.extend(_server_entries(project, site))
        found.extend(inherited)
        found.extend(_configured_entries(module, patterns))
        return found

    return project.memo(f"thread-entry-points:{patterns!r}", module.tree, compute, [])


def matches_entry_pattern(function: FunctionInfo, patterns: Iterable[str]) -> Optional[str]:
    """The first pattern of the ``thread-entry-points`` option that names ``function``, if any.

    ``pkg.views.index`` and globs of it (``pkg.views.*``) match the function's qualified name;
    ``pkg.api:Handler.do_*`` matches the module and the name inside it separately. A pattern that
    names a class (``pkg.views.Root``) matches its public methods and ``__call__``.
    """
    if function.is_local:
        return None
    module = function.module.name
    owner = function.owner
    public = not function.name.startswith("_") or function.name == "__call__"
    for pattern in patterns:
        if ":" in pattern:
            module_pattern, _, inner = pattern.partition(":")
            if fnmatchcase(module, module_pattern) and (
                    fnmatchcase(function.qualname, inner) or (owner is not None and public
                                                              and fnmatchcase(owner.qualname, inner))):
                return pattern
        elif fnmatchcase(function.full_name, pattern) or (owner is not None and public
                                                         and fnmatchcase(owner.full_name, pattern)):
            return pattern
    return None


def locking_entry(function: FunctionInfo, lock: str) -> EntryPoint:
    """``function`` takes ``lock`` around a check or its act: its author expects several threads to run
    it, on one object (``self``) that they share, wherever the threads are started."""
    return EntryPoint(function, StartKind.LOCKING, f"'{lock}'", "threads", None, True,
                      self_shared=function.owner is not None)


def _configured_entries(module: ModuleInfo, patterns: tuple[str, ...]) -> list[EntryPoint]:
    if not patterns:
        return []
    found = []
    for function in module.functions:
        pattern = matches_entry_pattern(function, patterns)
        if pattern is not None:
            found.append(EntryPoint(function, StartKind.CONFIGURED, f"thread-entry-points '{pattern}'", "threads",
                                    None, True, self_shared=function.owner is not None, group=0))
    return found


def _monkey_patched(project: Project, module: ModuleInfo) -> bool:
    return any(terminal_name(site.node.func) in ("patch_all", "patch_thread", "monkey_patch")
               and project.qualified_name(site.node.func, site.scope) in servers.MONKEY_PATCHES
               for site in module.calls)


def _dispatch_threads(dispatch: Dispatch) -> str:
    return "pool threads" if dispatch.is_pool_task else "threads"


def _callable_entries(
    project: Project, dispatch: Dispatch, kind: StartKind, threads: str, several: Optional[bool] = None,
    workers: Optional[int] = None, distinct_first: bool = False,
) -> list[EntryPoint]:
    """The entry points of a callable handed over at a call site (a real or made-up dispatch)."""
    if several is None:
        several = dispatch.concurrent or _also_run_by_dispatcher(project, dispatch)
        workers = dispatch.workers(project) if several else None
    if workers == 1:  # range(1), max_workers=1: one thread runs every task in turn
        several, workers = False, None
    found = []
    for target in _dispatched_functions(project, dispatch):
        assert target.function is not None
        function = target.function
        thread_subclass = dispatch.subclass is not None
        self_shared = several and target.bound and not thread_subclass and function.owner is not None
        names = _sent_parameters(dispatch, function, target.bound)
        shared = _shared_parameters(dispatch, names) if several else frozenset()
        distinct = _distinct_parameters(dispatch, names)
        if distinct_first and names:
            distinct |= {names[0]}
        found.append(EntryPoint(function, kind, dispatch.api, threads, dispatch.site, several, workers,
                                self_shared, shared, distinct, dispatch=dispatch))
    return found


def _made_up_dispatch(site: CallSite, api: str, function: ast.expr, arguments: tuple[ast.expr, ...] = (),
                      concurrent: bool = False, pool: Optional[ast.expr] = None) -> Dispatch:
    return Dispatch(site, Executor.THREAD, api, function, None, arguments, (), Pickling.NEVER, concurrent,
                    pool=pool)


def _timer_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    """``threading.Timer(interval, function, args=None, kwargs=None)``: the function runs on a new thread."""
    call = site.node
    if project.qualified_name(call.func, site.scope) != _TIMER:
        return []
    function = syntax.argument(call, "function", 1)
    if function is None:
        return []
    sent = syntax.elements(syntax.argument(call, "args", 2)) + syntax.elements(syntax.argument(call, "kwargs", 3))
    dispatch = _made_up_dispatch(site, _TIMER, function, sent, site.in_loop)
    return _callable_entries(project, dispatch, StartKind.TIMER, "timer threads")


def _initializer_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    """``ThreadPoolExecutor(initializer=f)``, ``ThreadPool(initializer=f)``: ``f`` runs in every worker thread."""
    call = site.node
    kind = project.qualified_name(call.func, site.scope)
    if kind not in THREAD_POOLS:
        return []
    position = 2 if kind.startswith("concurrent.futures") else 1
    initializer = syntax.argument(call, "initializer", position)
    if initializer is None or is_none(initializer):
        return []
    initargs = syntax.elements(syntax.argument(call, "initargs", position + 1))
    name = kind.rpartition(".")[2]
    dispatch = _made_up_dispatch(site, f"{name}(initializer=...)", initializer, initargs, True, pool=call)
    workers = dispatch.workers(project)
    return _callable_entries(project, dispatch, StartKind.INITIALIZER, "pool threads", True, workers)


def _done_callback_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    """``future.add_done_callback(f)``: ``f`` runs on the thread that completes the future.

    Only futures of a thread pool (each callback on the pool thread that ran the task) or of a
    process pool (on the pool's result thread) are followed; asyncio futures run callbacks on the
    event loop's thread.
    """
    call = site.node
    func = call.func
    if not isinstance(func, ast.Attribute) or len(call.args) != 1 or isinstance(call.args[0], ast.Starred):
        return []
    source = _future_source(project, func.value, site.scope, 0)
    if source is None:
        return []
    origin, many = source
    several = (many or site.in_loop) and origin.executor is Executor.THREAD
    workers = origin.workers(project) if several else None
    threads = "pool threads" if origin.executor is Executor.THREAD else "result thread"
    dispatch = _made_up_dispatch(site, "Future.add_done_callback", call.args[0], (), several, origin.pool)
    return _callable_entries(project, dispatch, StartKind.DONE_CALLBACK, threads, several, workers,
                             distinct_first=True)


def _future_source(project: Project, expr: ast.expr, scope: Scope, depth: int) -> Optional[tuple[Dispatch, bool]]:
    """The pool task whose future ``expr`` is, and whether there may be several of them."""
    if depth > 3:
        return None
    if isinstance(expr, ast.Call):
        dispatch = _dispatch_at(project, scope.module, expr)
        if dispatch is not None and dispatch.pool is not None and dispatch.api.endswith(".submit"):
            return dispatch, False
        name = project.qualified_name(expr.func, scope)
        if name in ("concurrent.futures.as_completed", "concurrent.futures.wait") and expr.args:
            found = _future_source(project, expr.args[0], scope, depth + 1)
            return (found[0], True) if found is not None else None
        return None
    if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        found = _future_source(project, expr.elt, scope, depth + 1)
        return (found[0], True) if found is not None else None
    if isinstance(expr, ast.DictComp):
        for side in (expr.key, expr.value):
            found = _future_source(project, side, scope, depth + 1)
            if found is not None:
                return found[0], True
        return None
    if not isinstance(expr, ast.Name):
        return None
    values = project.values(expr, scope)
    if len(values) != 1:
        return None
    value = values[0]
    binding = value.binding
    if binding is not None and binding.kind is BindingKind.LOOP and binding.value is not None:
        found = _future_source(project, binding.value, binding.evaluated_in or binding.scope, depth + 1)
        return (found[0], True) if found is not None else None
    if isinstance(value.expr, ast.expr) and value.expr is not expr:
        return _future_source(project, value.expr, value.scope, depth + 1)
    return None


def _dispatch_at(project: Project, module: ModuleInfo, call: ast.Call) -> Optional[Dispatch]:
    for dispatch in dispatches(project, module):
        if dispatch.site.node is call:
            return dispatch
    return None


# -- threading servers -------------------------------------------------------------------------------


def threading_server(project: Project, cls: ClassInfo) -> bool:
    """Is the project class a threading server (a subclass of ``ThreadingMixIn`` or of a ready-made one)?"""
    return project.memo("threading-server", cls.node,
                        lambda: bool(project.base_names(cls) & servers.THREADING_SERVERS), False)


def _server_class(project: Project, expr: ast.expr, scope: Scope) -> tuple[Optional[str], Optional[ClassInfo]]:
    """``(name, project class)`` when ``expr`` names a threading server class, else ``(None, None)``."""
    name = project.qualified_name(expr, scope)
    if name in servers.THREADING_SERVERS:
        return name.rpartition(".")[2], None
    if name is not None and not project.may_start_workers(name):
        return None, None
    definition = project.resolve_definition(expr, scope)
    if isinstance(definition, ClassInfo) and threading_server(project, definition):
        return definition.name, definition
    return None, None


def _server_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    """``ThreadingTCPServer(address, Handler)``: the handler's methods run on the request threads, and
    so do the server subclass's per-request methods; ``make_server(host, port, app, server_class=...)``
    and the other serving calls of :data:`servers.SERVING_CALLS` run the application on threads."""
    call = site.node
    name, cls = _server_class(project, call.func, site.scope)
    if name is None:
        return _serving_call_entries(project, site)
    handler = syntax.argument(call, "RequestHandlerClass", 1)
    return _server_and_handler(project, site, name, cls, handler)


def _server_and_handler(
    project: Project, site: CallSite, name: str, cls: Optional[ClassInfo], handler: Optional[ast.expr],
) -> list[EntryPoint]:
    group = id(site.node)
    found = []
    if handler is not None:
        server = ((servers.HANDLER_SERVER_ATTRIBUTE, cls),)
        for handler_cls in _classes(project, handler, site.scope):
            for method in _handler_methods(project, handler_cls):
                found.append(EntryPoint(method, StartKind.REQUEST_HANDLER, name, "request threads", site, True,
                                        shared_attributes=server, group=group))
    if cls is not None:
        for kind, names, threads, several in (
                (StartKind.SERVER_REQUEST, servers.SERVER_REQUEST_METHODS, "request threads", True),
                (StartKind.SERVER_LOOP, servers.SERVER_LOOP_METHODS, "serving thread", False)):
            for method_name in names:
                server_method = _project_method(project, cls, method_name)
                if server_method is not None:
                    found.append(EntryPoint(server_method, kind, name, threads, site, several,
                                            self_shared=True, group=group))
    return found


def _project_method(project: Project, cls: ClassInfo, name: str) -> Optional[FunctionInfo]:
    method = project.find_method(cls, name)
    return method if method is not None and not method.is_local else None


def _classes(project: Project, expr: ast.expr, scope: Scope) -> list[ClassInfo]:
    """The project classes ``expr`` names (also through ``functools.partial(Handler, ...)``)."""
    found = []
    for target in project.callable_targets(expr, scope):
        if target.kind is TargetKind.PARTIAL and target.inner is not None:
            target = target.inner
        if target.kind is TargetKind.CLASS and target.cls is not None:
            found.append(target.cls)
    return found


def _handler_methods(project: Project, cls: ClassInfo) -> list[FunctionInfo]:
    """``setup``/``handle``/``finish`` and ``do_<METHOD>`` of a handler class and its project bases."""
    names: dict[str, None] = dict.fromkeys(servers.HANDLER_METHODS)
    for current in class_and_bases(project, cls):
        names.update(dict.fromkeys(n for n in current.methods if n.startswith(servers.HANDLER_PREFIX)))
    methods = [project.find_method(cls, name) for name in names]
    return [m for m in methods if m is not None]


def class_and_bases(project: Project, cls: ClassInfo, depth: int = 0) -> list[ClassInfo]:
    """``cls`` and its project base classes, transitively."""
    if depth > 8:
        return []
    found = [cls]
    for base in project.base_classes(cls):
        found.extend(class_and_bases(project, base, depth + 1))
    return found


def _super_init_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    """``super().__init__(address, Handler)`` in a threading server subclass: the subclass is the server."""
    call = site.node
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            and syntax.is_name(func.value.func, "super")):
        return []
    function = enclosing_function(site.scope)
    cls = function.owner if function is not None else None
    if cls is None or function is None or function.name != "__init__" or not threading_server(project, cls):
        return []
    handler = syntax.argument(call, "RequestHandlerClass", 1)
    return _server_and_handler(project, site, cls.name, cls, handler)


def _registration_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    """``server.register_function(f)``, ``server.register_instance(obj)``, ``server.set_app(app)`` on a
    threading server: the request threads run them."""
    call = site.node
    func = call.func
    if not isinstance(func, ast.Attribute) or not call.args or isinstance(call.args[0], ast.Starred):
        return []
    types = project.instance_types(func.value, site.scope)
    names = {_server_type(project, t) for t in types}
    if len(names) != 1 or None in names:
        return []
    return _application_entries(project, site, call.args[0], names.pop() or "", "request threads",
                                servers.SERVER_REGISTRATIONS[func.attr])


def _server_type(project: Project, type_name: Optional[str]) -> Optional[str]:
    """The short name of a threading server class given by its dotted name, else None."""
    if type_name is None:
        return None
    if type_name in servers.THREADING_SERVERS:
        return type_name.rpartition(".")[2]
    if not project.may_start_workers(type_name):
        return None
    definition = project.definition(type_name)
    if isinstance(definition, ClassInfo) and threading_server(project, definition):
        return definition.name
    return None


def _serving_call_entries(project: Project, site: CallSite) -> list[EntryPoint]:
    call = site.node
    name = project.qualified_name(call.func, site.scope)
    serving = servers.SERVING_CALLS.get(name or "")
    if serving is None:
        return []
    if serving.when is not None:
        flag = syntax.keyword(call, serving.when)
        if not (isinstance(flag, ast.Constant) and flag.value is True):
            return []
    if serving.server_class is not None:
        given = syntax.keyword(call, serving.server_class)
        if given is None or _server_class(project, given, site.scope)[0] is None:
            return []
    app = syntax.argument(call, serving.parameter, serving.position)
    if app is None:
        return []
    return _application_entries(project, site, app, name or "", serving.threads, True)


def _application_entries(
    project: Project, site: CallSite, app: ast.expr, api: str, threads: str, instance_methods: bool,
) -> list[EntryPoint]:
    """A function, or an object's methods (its ``__call__`` for a WSGI application), run on request threads."""
    found = []
    for target in project.callable_targets(app, site.scope):
        if target.kind is TargetKind.PARTIAL and target.inner is not None:
            target = target.inner
        if target.kind is TargetKind.FUNCTION and target.function is not None:
            function = target.function
            found.append(EntryPoint(function, StartKind.REQUEST_HANDLER, api, threads, site, True,
                                    self_shared=target.bound and function.owner is not None, group=id(site.node)))
    if found or not instance_methods:
        return found
    for type_name in project.instance_types(app, site.scope):
        cls = project.definition(type_name) if type_name else None
        if not isinstance(cls, ClassInfo):
            continue
        for method_name, method in cls.methods.items():
            if method_name == "__call__" or not method_name.startswith("_"):
                found.append(EntryPoint(method, StartKind.REQUEST_HANDLER, api, threads, site, True,
                                        self_shared=True, group=id(site.node)))
    return found


_FINDERS = {
    "Timer": _timer_entries,
    "add_done_callback": _done_callback_entries,
    "ThreadPoolExecutor": _initializer_entries,
    "ThreadPool": _initializer_entries,
    "Pool": _initializer_entries,
    **{name: _registration_entries for name in servers.SERVER_REGISTRATIONS},
}


# -- queue worker loops -----------------------------------------------------------------------------


def _queue_task_entries(project: Project, worker: ThreadedFunction) -> list[EntryPoint]:
    """Callables put on a queue that ``worker`` (running on threads) takes and calls.

    ``fn, args = q.get(); fn(*args)``, ``task = q.get(); task()`` and ``q.get()()`` run whatever
    ``q.put((fn, args))`` / ``q.put(task)`` sends, wherever in the worker's module it is put.
    """
    found = []
    function = worker.function
    for queue, position in _called_items(project, function):
        key = state_key(project, queue, function.scope)
        if key is None:
            continue
        for site in function.module.calls:
            func = site.node.func
            if (not isinstance(func, ast.Attribute) or func.attr not in ("put", "put_nowait") or not site.node.args
                    or state_key(project, func.value, site.scope) != key):
                continue
            item = site.node.args[0]
            sent: tuple[ast.expr, ...] = ()
            if position is not None:
                if not isinstance(item, ast.Tuple) or len(item.elts) <= position:
                    continue
                sent = tuple(e for e in item.elts[position + 1:] if not isinstance(e, ast.Starred))
                item = item.elts[position]
            shown = function.module.code_of(queue)
            dispatch = _made_up_dispatch(site, f"queue '{shown}'", item, _unpacked(sent), worker.several)
            threads = f"worker threads of '{worker.function.qualname}'" if worker.several \
                else f"worker thread of '{worker.function.qualname}'"
            found.extend(_callable_entries(project, dispatch, StartKind.QUEUE_TASK, threads, worker.several,
                                           worker.workers))
    return found


def _unpacked(sent: tuple[ast.expr, ...]) -> tuple[ast.expr, ...]:
    """``q.put((fn, (a, b)))`` run as ``fn(*args)``: the arguments are the tuple's items."""
    if len(sent) == 1 and isinstance(sent[0], ast.Tuple):
        return syntax.elements(sent[0])
    return sent


def _called_items(project: Project, function: FunctionInfo) -> list[tuple[ast.expr, Optional[int]]]:
    """The queues whose items ``function`` calls: ``(queue expression, position of the callable in the
    item, None for the item itself)``."""
    def compute() -> list[tuple[ast.expr, Optional[int]]]:
        taken: dict[str, tuple[ast.expr, Optional[int]]] = {}  # local name -> (queue, position)
        nodes = list(syntax.walk_body(function.node.body))
        assignments = sorted((n for n in nodes if isinstance(n, ast.Assign) and len(n.targets) == 1),
                             key=lambda n: (n.lineno, n.col_offset))
        for node in assignments:
            queue = _queue_get(project, node.value, function.scope)
            target = node.targets[0]
            if queue is not None:
                if isinstance(target, ast.Name):
                    taken[target.id] = (queue, None)
                elif isinstance(target, (ast.Tuple, ast.List)):
                    for index, element in enumerate(target.elts):
                        if isinstance(element, ast.Name):
                            taken[element.id] = (queue, index)
            elif (isinstance(node.value, ast.Name) and node.value.id in taken
                  and isinstance(target, (ast.Tuple, ast.List)) and taken[node.value.id][1] is None):
                queue = taken[node.value.id][0]
                for index, element in enumerate(target.elts):
                    if isinstance(element, ast.Name):
                        taken[element.id] = (queue, index)
        found: list[tuple[ast.expr, Optional[int]]] = []
        for call in nodes:
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            if isinstance(func, ast.Name) and func.id in taken:
                found.append(taken[func.id])
            elif isinstance(func, ast.Call):
                queue = _queue_get(project, func, function.scope)
                if queue is not None:
                    found.append((queue, None))
        return found

    return project.memo("queue-called-items", function.node, compute, [])


def _queue_get(project: Project, expr: ast.expr, scope: Scope) -> Optional[ast.expr]:
    """``q`` of a blocking ``q.get()`` on a known queue type."""
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get"
            and len(expr.args) <= 1):
        return None
    queue = expr.func.value
    types = project.instance_types(queue, scope)
    if types and all(t in QUEUE_TYPES for t in types):
        return queue
    return None


def state_key(project: Project, expr: ast.expr, scope: Scope) -> Optional[tuple[str, ...]]:
    """An identity for the object an expression names, the same wherever it is spelled: a module
    global (``tasks``), an attribute of ``self`` (per class), or a variable of an enclosing function."""
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        owner = project.self_class(expr.value, scope)
        if owner is not None:
            root = owner
            for base in class_and_bases(project, owner):
                if base.instance_attributes.get(expr.attr):
                    root = base
            return ("attribute", root.full_name, expr.attr)
        return None
    if not isinstance(expr, ast.Name):
        return None
    bindings = scope.lookup(expr.id)
    if not bindings:
        return None
    where = bindings[0].scope
    if where.kind is ScopeKind.MODULE:
        return ("global", where.module.name, expr.id)
    if where.kind is ScopeKind.FUNCTION:
        return ("local", str(id(where.node)), expr.id)
    return None


def target_key(project: Project, target: ast.expr, scope: Scope) -> Optional[tuple[str, ...]]:
    """The identity of the state a write changes: ``self._stats[k] += 1`` and ``self._stats = {}``
    both change ``_stats`` of the class (:func:`state_key` of ``self._stats``); ``CACHE[k] = v``
    changes the module global ``CACHE``."""
    chain: list[ast.expr] = []
    base: ast.expr = target
    while isinstance(base, (ast.Attribute, ast.Subscript)):
        chain.append(base)
        base = base.value
    if chain and isinstance(chain[-1], ast.Attribute) and project.self_class(base, scope) is not None:
        return state_key(project, chain[-1], scope)
    if isinstance(base, ast.Name):
        key = state_key(project, base, scope)
        if key is not None and key[0] == "global" and (chain or base.id in scope.global_names):
            return key
    return None


# -- threaded code ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadedFunction:
    """A function that runs on threads started at ``entry``, reached through ``via``."""

    function: FunctionInfo
    entry: EntryPoint
    #: The function the threads start in.
    root: FunctionInfo
    #: Qualified names from the entry point down to this one.
    via: tuple[str, ...]
    several: bool
    #: Literal number of threads when known (``range(4)``, ``max_workers=8``).
    workers: Optional[int]
    #: ``self`` is one object shared by the threads (a bound method run by several threads).
    self_shared: bool
    #: Parameters every thread receives the same object for.
    shared_parameters: frozenset[str]
    #: Parameters each thread receives a different value for (``range`` items, loop indexes).
    distinct_parameters: frozenset[str] = frozenset()
    #: Attributes of ``self`` holding an object every thread shares (see :class:`EntryPoint`).
    shared_attributes: tuple[tuple[str, Optional[ClassInfo]], ...] = ()

    @property
    def dispatch(self) -> Optional[Dispatch]:
        return self.entry.dispatch

    @classmethod
    def start(cls, entry: EntryPoint) -> ThreadedFunction:
        function = entry.function
        return cls(function, entry, function, (function.qualname,), entry.several, entry.workers, entry.self_shared,
                   entry.shared_parameters, entry.distinct_parameters, entry.shared_attributes)


def threaded_functions(project: Project, module: ModuleInfo, configured: Sequence[str] = ()) -> list[ThreadedFunction]:
    """Every function reached from the thread entry points ``module`` reveals (one entry per function)."""
    patterns = tuple(configured)

    def compute() -> list[ThreadedFunction]:
        found: dict[int, ThreadedFunction] = {}
        reached_by: dict[int, list[EntryPoint]] = {}
        entries = thread_entry_points(project, module, patterns)
        seen_entries = 0
        for _ in range(2):  # entry points, then the tasks their queue worker loops run
            for entry in entries[seen_entries:]:
                for reached in _reach(project, ThreadedFunction.start(entry)):
                    key = id(reached.function.node)
                    sites = reached_by.setdefault(key, [])
                    if entry not in sites:
                        sites.append(entry)
                    found[key] = _merge(found.get(key), reached)
            seen_entries = len(entries)
            entries = entries + [task for reached in list(found.values())
                                 for task in _queue_task_entries(project, reached)]
            if len(entries) == seen_entries:
                break
        result = []
        for key, reached in found.items():
            if not reached.several and _overlapping(reached_by[key]):
                # Two entry points that run together start two threads; with more, some may not run.
                count = len(reached_by[key])
                reached = replace(reached, several=True, workers=2 if count == 2 else None)
            result.append(reached)
        return result

    return project.memo(f"threaded-functions:{patterns!r}", module.tree, compute, [])


def _merge(old: Optional[ThreadedFunction], new: ThreadedFunction) -> ThreadedFunction:
    if old is None:
        return new
    best = old if (old.several, old.self_shared) >= (new.several, new.self_shared) else new
    return replace(
        best, several=old.several or new.several, self_shared=old.self_shared or new.self_shared,
        shared_parameters=old.shared_parameters | new.shared_parameters,
        distinct_parameters=old.distinct_parameters | new.distinct_parameters,
        shared_attributes=tuple(dict.fromkeys((*old.shared_attributes, *new.shared_attributes))),
    )


def _overlapping(entries: list[EntryPoint]) -> bool:
    """Two of the entry points start threads that can run at the same time."""
    return any(run_together(first, second) for index, first in enumerate(entries) for second in entries[index + 1:])


#: Entry points started where the code says, so that their call sites tell whether they overlap.
_STARTED_AT_SITE = (StartKind.DISPATCH, StartKind.TIMER)


def run_together(first: EntryPoint, second: EntryPoint) -> bool:
    """Both entry points run at the same time: a server's request threads and its serving thread,
    two configured entry points, or two threads started in the same function with no ``join()``
    between them."""
    if first is second:
        return False
    if first.group is not None and first.group == second.group:
        return True
    if first.kind not in _STARTED_AT_SITE or second.kind not in _STARTED_AT_SITE:
        return False
    assert first.site is not None and second.site is not None
    if first.site.node is second.site.node or first.site.module is not second.site.module:
        return False
    if first.site.scope.function_scope is not second.site.scope.function_scope:
        return False
    if _exclusive_branches(first.site, second.site):
        return False
    module = first.site.module
    lines = sorted((module.line_of(first.site.node), module.line_of(second.site.node)))
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


def concurrent_window(entry: EntryPoint) -> Optional[tuple[FunctionInfo, int, int]]:
    """The function that starts the thread, and the lines where it runs alongside it.

    From the start (``Thread(...)``, ``Timer(...)``) to the first ``join()``/``result()``/``shutdown()``
    after it (or the end of the function): statements there run on the starting thread while the new
    one runs. None for entry points that other code starts (servers, callbacks, queues).
    """
    site = entry.site
    if entry.kind not in _STARTED_AT_SITE or site is None:
        return None
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
        shared_receiver = _shared_attribute_receiver(project, caller, site)
        targets = project.callable_targets(site.node.func, site.scope) + _shared_argument_method(project, caller, site)
        if shared_receiver is not None:
            targets += _shared_attribute_method(project, caller, site, shared_receiver)
        if not any(t.kind is TargetKind.FUNCTION for t in targets):
            targets += _held_object_methods(project, site)
        for target in targets:
            functions = [target.function]
            if target.kind is TargetKind.CLASS and target.cls is not None:
                # Constructing an object runs its ``__new__`` and ``__init__``.
                functions = [project.find_method(target.cls, name) for name in ("__new__", "__init__")]
            elif target.kind is not TargetKind.FUNCTION:
                continue
            for function in functions:
                if function is not None:
                    found.append(_callee(project, caller, site, target, function, shared_receiver))
    return found


def _held_object_methods(project: Project, site: CallSite) -> list[CallableTarget]:
    """``self.manager.add(x)`` where ``self.manager`` is ``None`` until a method sets it to a
    ``Manager()``: the methods of the project classes the attribute may hold (``None`` aside)."""
    func = site.node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)):
        return []
    owner = project.self_class(func.value.value, site.scope)
    if owner is None:
        return []
    found = []
    for held in project.instance_contents(owner).get(func.value.attr, ()):
        value = held.value
        if value is None or syntax.is_none(value):
            continue
        if not isinstance(value, ast.Call):
            return []
        cls = project.resolve_definition(value.func, held.scope)
        method = project.find_method(cls, func.attr) if isinstance(cls, ClassInfo) else None
        if method is None:
            return []
        found.append(CallableTarget(TargetKind.FUNCTION, func, site.scope, function=method, bound=True))
    return found


def _callee(project: Project, caller: ThreadedFunction, site: CallSite, target: CallableTarget,
            function: FunctionInfo, shared_receiver: Optional[str]) -> ThreadedFunction:
    """``function`` as called at ``site`` by threaded code: is its ``self`` shared by the threads?"""
    on_self = _called_on_self(project, site, caller.function)
    self_shared = (caller.self_shared and on_self) or _called_on_shared_object(caller, site) \
        or shared_receiver is not None \
        or (caller.self_shared and target.bound and _called_through_self(project, site))
    return replace(caller, function=function, via=(*caller.via, function.qualname), self_shared=self_shared,
                   shared_parameters=frozenset(), distinct_parameters=frozenset(),
                   shared_attributes=caller.shared_attributes if on_self else ())


def _shared_attribute_receiver(project: Project, caller: ThreadedFunction, site: CallSite) -> Optional[str]:
    """``self.server.count()`` in a request handler: a method of the object every thread shares."""
    func = site.node.func
    if not caller.shared_attributes or not isinstance(func, ast.Attribute):
        return None
    receiver = func.value
    if (isinstance(receiver, ast.Attribute) and project.self_class(receiver.value, site.scope) is not None
            and any(name == receiver.attr for name, _ in caller.shared_attributes)):
        return receiver.attr
    return None


def _shared_attribute_method(
    project: Project, caller: ThreadedFunction, site: CallSite, attribute: str,
) -> list[CallableTarget]:
    """The method of the shared object's project class, when the entry point knows the class (the
    server class a handler is given to)."""
    func = site.node.func
    assert isinstance(func, ast.Attribute)
    cls = next((c for name, c in caller.shared_attributes if name == attribute), None)
    method = project.find_method(cls, func.attr) if cls is not None else None
    return [CallableTarget(TargetKind.FUNCTION, func, site.scope, function=method, bound=True)] if method else []


def _called_through_self(project: Project, site: CallSite) -> bool:
    """``self.store.save(x)``, ``self.on_item(x)``: a bound method reached through ``self``'s attributes."""
    func = site.node.func
    if not isinstance(func, ast.Attribute):
        return False
    base = func.value
    while isinstance(base, ast.Attribute):
        base = base.value
    return project.self_class(base, site.scope) is not None


def _shared_argument_method(project: Project, caller: ThreadedFunction, site: CallSite) -> list[CallableTarget]:
    """``counter.increment()`` where ``counter`` is the ``Counter()`` the dispatch passes to every thread."""
    func = site.node.func
    dispatch = caller.dispatch
    if (dispatch is None or caller.function is not caller.root or not isinstance(func, ast.Attribute)
            or not isinstance(func.value, ast.Name) or func.value.id not in caller.shared_parameters):
        return []
    bound = isinstance(dispatch.callable, ast.Attribute) and caller.root.owner is not None
    found = []
    for name, argument_expr in zip(_sent_parameters(dispatch, caller.root, bound), dispatch.arguments):
        if name != func.value.id:
            continue
        for type_name in project.instance_types(argument_expr, dispatch.site.scope):
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
    if all(b.scope.kind is ScopeKind.MODULE and b.kind is BindingKind.ASSIGN and isinstance(b.value, ast.Call)
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
    class_of_self = _class_of_self(project, base, scope)
    if class_of_self is not None:
        return _class_state(project, class_of_self, chain)
    if not isinstance(base, ast.Name) or _per_thread_key(threaded, target):
        return None
    if _thread_local(project, chain, base, scope):
        return None
    first = chain[-1] if chain else None  # the step right after the base name: base.attr or base[key]
    shown = (syntax.dotted(first) or scope.module.code_of(first).strip()) if first is not None else base.id
    attribute = first.attr if isinstance(first, ast.Attribute) else None
    owner = project.self_class(base, scope)
    if owner is not None:
        if _is_class_method(function):
            return _class_state(project, owner, chain)
        if attribute == "__class__":
            return _class_state(project, owner, chain[:-1]) if len(chain) >= 2 else None
        if attribute is not None and len(chain) >= 2:
            holder = next((name for name, _ in threaded.shared_attributes if name == attribute), None)
            if holder is not None:
                second = chain[-2]
                inner = second.attr if isinstance(second, ast.Attribute) else scope.module.code_of(second).strip()
                return f"'{inner}' of 'self.{attribute}', which every thread shares"
            if _class_level_only(project, owner, attribute):
                return f"class attribute '{owner.name}.{attribute}' (one object for every instance)"
        if threaded.self_shared and attribute is not None:
            path = _attribute_path(chain)
            return f"attribute '{path}' of the '{owner.name}' instance its threads share"
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


def _attribute_path(chain: list[ast.expr]) -> str:
    """``stats.count`` of ``self.stats.count``, ``counts`` of ``self.counts[key]``."""
    names = []
    for step in reversed(chain):
        if not isinstance(step, ast.Attribute):
            break
        names.append(step.attr)
    return ".".join(names)


def _owned_by_dispatcher(threaded: ThreadedFunction, name: str) -> bool:
    """A variable of the function that starts the threads (one object for all of them)."""
    site = threaded.entry.site
    dispatcher = enclosing_function(site.scope) if site is not None and threaded.dispatch is not None else None
    if dispatcher is None:
        return False
    return bool(dispatcher.scope.bindings.get(name)) and threaded.function.scope.is_within(dispatcher.scope)


#: Methods whose first parameter is the class: ``cls._instance`` there is class-level state.
_CLASS_METHOD_NAMES = ("__new__", "__init_subclass__", "__class_getitem__")


def _is_class_method(function: FunctionInfo) -> bool:
    if function.name in _CLASS_METHOD_NAMES:
        return True
    return any(syntax.is_name(d, "classmethod") for d in function.node.decorator_list)


def _class_of_self(project: Project, base: ast.expr, scope: Scope) -> Optional[ClassInfo]:
    """``type(self)``: the class of the method's instance (its attributes are class-level state)."""
    if (isinstance(base, ast.Call) and syntax.is_name(base.func, "type") and len(base.args) == 1
            and not base.keywords):
        return project.self_class(base.args[0], scope)
    return None


def _class_state(project: Project, owner: ClassInfo, chain: list[ast.expr]) -> Optional[str]:
    """``cls._instance``, ``type(self).count``, ``cls._registry[key]``: state of the class, which every
    thread shares."""
    if not chain:
        return None
    first = chain[-1]
    if not isinstance(first, ast.Attribute):
        return None
    return f"class attribute '{owner.name}.{first.attr}'"


def _class_level_only(project: Project, owner: ClassInfo, attribute: str) -> bool:
    """``self._registry[k] = v`` where ``_registry = {}`` is set in the class body and never on an
    instance: every instance mutates the same object."""
    classes = class_and_bases(project, owner)
    if any(cls.instance_attributes.get(attribute) for cls in classes):
        return False
    bindings = [b for cls in classes for b in cls.scope.bindings.get(attribute, [])]
    return bool(bindings) and all(b.kind is BindingKind.ASSIGN and _creates_object(b.value) for b in bindings)


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
