"""What crosses a process boundary by pickle, and which of it cannot be pickled.

:func:`process_sends` lists everything a module sends to another process: the callable, the
arguments and the items of the iterables of every process dispatch, and the arguments a call
gives to a project function that forwards its parameter to a process dispatch (one level of
helper). :func:`callable_problem` and :func:`argument_problem` decide, statically and
conservatively, whether one of those values cannot be pickled. Anything unknown pickles.

Facts relied on (``tests/test_pickling_claims.py`` checks them against the real pickler):
pickle stores functions and classes by reference (module + ``__qualname__``), so lambdas and
anything defined inside a function fail; open files, ``threading`` locks, generators and
``sqlite3`` connections refuse to pickle; ``multiprocessing`` locks, queues and shared values
pickle only while a process is being spawned, never as a pool task argument.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from enum import Enum
from typing import ClassVar, Iterator, Optional, TypeVar, Union, cast

from gillint.api import concurrency as kb
from gillint.facts.bodies import body_facts
from gillint.facts.dispatch import (
    Dispatch,
    Executor,
    Pickling,
    classify,
    dispatches,
    function_location,
    may_reach_workers,
)
from gillint.facts.start_methods import start_method_choice
from gillint.findings import Evidence, Location, Site
from gillint.project import (
    BindingKind,
    CallableTarget,
    CallSite,
    ClassInfo,
    FunctionInfo,
    InstanceAttribute,
    ModuleInfo,
    Project,
    Scope,
    TargetKind,
    Value,
)
from gillint.project.instances import CONSTRUCTORS
from gillint.project.syntax import FOR_LOOPS, FUNCTIONS, positional, walk_body

#: Calls that return an open file object.
OPEN_FILE_FACTORIES = frozenset({
    "builtins.open", "io.open", "io.FileIO", "codecs.open", "gzip.open", "gzip.GzipFile", "bz2.open",
    "bz2.BZ2File", "lzma.open", "lzma.LZMAFile", "tempfile.TemporaryFile", "tempfile.NamedTemporaryFile",
    "os.fdopen", "zipfile.ZipFile", "tarfile.open", "tarfile.TarFile", "mmap.mmap",
})
#: Classes whose ``.open()`` method returns an open file object.
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
STANDARD_STREAMS = frozenset({"sys.stdin", "sys.stdout", "sys.stderr"})
THREAD_LOCKS = frozenset({
    "threading.Lock", "threading.RLock", "threading.Condition", "threading.Event", "threading.Semaphore",
    "threading.BoundedSemaphore", "threading.Barrier", "_thread.allocate_lock",
})
#: ``queue`` queues hold ``threading`` locks (``multiprocessing.Queue`` is the process-safe one).
THREAD_QUEUES = frozenset({"queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "queue.SimpleQueue"})
#: A thread object holds the locks that track its state.
THREADS = frozenset({"threading.Thread", "threading.Timer"})
DATABASE_CONNECTIONS = frozenset({"sqlite3.connect", "sqlite3.Connection", "sqlite3.dbapi2.connect"})
#: Objects that hold an open file or a lock inside.
CSV_OBJECTS = frozenset({"csv.reader", "csv.writer", "csv.DictReader", "csv.DictWriter"})
LOGGING_HANDLERS = frozenset({
    "logging.Handler", "logging.StreamHandler", "logging.FileHandler", "logging.handlers.RotatingFileHandler",
    "logging.handlers.TimedRotatingFileHandler", "logging.handlers.WatchedFileHandler",
})
#: Pools themselves refuse to be pickled (``NotImplementedError``) or hold locks.
POOLS = kb.PROCESS_POOLS | kb.THREAD_POOLS
#: ``multiprocessing`` synchronisation objects: shared only by inheritance, at process creation.
#: Any ``get_context(...).X`` reaches these names through :func:`kb.context_attribute_type`.
INHERIT_ONLY = {
    **{f"multiprocessing.{name}": "multiprocessing lock" for name in (
        "Lock", "RLock", "Condition", "Event", "Semaphore", "BoundedSemaphore", "Barrier",
    )},
    **{f"multiprocessing.{name}": "multiprocessing queue" for name in ("Queue", "JoinableQueue", "SimpleQueue")},
    **{f"multiprocessing.{name}": "multiprocessing shared value" for name in (
        "Value", "Array", "RawValue", "RawArray",
    )},
}
_CALL_KINDS = {
    **{name: "open file" for name in OPEN_FILE_FACTORIES},
    **{name: "lock" for name in THREAD_LOCKS},
    **{name: "thread queue" for name in THREAD_QUEUES},
    **{name: "thread" for name in THREADS},
    **{name: "sqlite3 connection" for name in DATABASE_CONNECTIONS},
    **{name: "csv reader or writer" for name in CSV_OBJECTS},
    **{name: "logging handler" for name in LOGGING_HANDLERS},
    **{name: "thread-local data" for name in kb.THREAD_LOCAL_TYPES},
    **{name: "pool" for name in POOLS},
}
_WHY = {
    "open file": "an open file object cannot be pickled (pass its path and open it in the child)",
    "lock": "a threading lock cannot be pickled (create it in the child, or share a Manager().Lock())",
    "thread queue": "a queue.Queue holds threading locks and cannot be pickled (use a multiprocessing queue)",
    "sqlite3 connection": "a sqlite3 connection cannot be pickled (pass the database path and connect in the child)",
    "sqlite3 cursor": "a sqlite3 cursor cannot be pickled (pass the database path and connect in the child)",
    "csv reader or writer": "a csv reader or writer cannot be pickled (pass the file's path and make it in the child)",
    "logging handler": "a logging handler holds a lock (and often an open file) and cannot be pickled "
                       "(configure logging in the child)",
    "thread-local data": "threading.local data cannot be pickled (create it in the child)",
    "thread": "a threading.Thread holds locks and cannot be pickled (start the thread in the child)",
    "test case": "a unittest.TestCase instance holds the running test's result and its output stream while the "
                 "test runs, which cannot be pickled (send a module-level function and the test's data)",
    "pool": "a process or thread pool cannot be pickled (send the work to the pool instead)",
    "generator": "a generator object cannot be pickled (pass a list, or what the child needs to make it)",
    "coroutine": "a coroutine object cannot be pickled (it must be awaited where it was created)",
    "multiprocessing lock": "a multiprocessing lock may only be shared by inheritance, not sent as a task argument "
                            "(pass it to the pool's initargs, or use a Manager().Lock())",
    "multiprocessing queue": "a multiprocessing queue may only be shared by inheritance, not sent as a task "
                             "argument (use a Manager().Queue())",
    "multiprocessing shared value": "a multiprocessing shared value may only be shared by inheritance, not "
                                    "sent as a task argument (pass it to the pool's initargs, or use a "
                                    "Manager().Value())",
}
WRAPS = frozenset({"functools.wraps"})
#: Which start methods pickle what a dispatch sends.
START_METHODS = {
    Pickling.ALWAYS: ("fork", "spawn", "forkserver"),
    Pickling.SPAWN: ("spawn", "forkserver"),
}


class Role(str, Enum):
    CALLABLE = "callable"
    ARGUMENT = "argument"
    ITEM = "item"  # an item of an iterable the pool maps over


@dataclass(frozen=True)
class Sent:
    """A value a module sends to another process, and where to report it."""

    role: Role
    expr: ast.expr
    scope: Scope
    dispatch: Dispatch
    #: The project function whose parameter forwards ``expr`` to ``dispatch`` (helper following).
    via: Optional[FunctionInfo] = None
    parameter: Optional[str] = None
    #: Where to report when it is not ``expr``: the iterable name whose bound items are ``expr``.
    at: Optional[ast.expr] = None
    #: For an argument of a ``Process`` subclass's constructor: the attribute ``__init__`` stores it in.
    stored_as: Optional[InstanceAttribute] = None

    @property
    def node(self) -> ast.expr:
        return self.at if self.at is not None else self.expr


@dataclass(frozen=True)
class Problem:
    """Why a value cannot be pickled: its kind (evidence vocabulary) and a one-clause reason."""

    kind: str
    reason: str
    target: Optional[FunctionInfo] = None
    #: Set when the value was bound away from where it is sent: its line, and its module when another.
    bound_at: Optional[int] = None
    bound_path: Optional[str] = None
    #: What holds the unpicklable value: ``tuple``, ``list``, ``dict``, ``set``, ``conditional expression``,
    #: ``instance`` (then :attr:`attribute` says which attribute); None when it is the value sent.
    holder: Optional[str] = None
    attribute: Optional[InstanceAttribute] = None

    def bound(self, value: Value, sent_from: Scope) -> Problem:
        """The same problem, located where ``value`` was bound."""
        module = value.scope.module
        path = module.display_path if module is not sent_from.module else None
        return replace(self, bound_at=module.line_of(value.expr), bound_path=path)

    def held(self, holder: str, reason: str, attribute: Optional[InstanceAttribute] = None) -> Problem:
        """The same unpicklable kind, found inside ``holder``, explained by ``reason``."""
        return Problem(self.kind, reason, self.target, holder=holder, attribute=attribute)


def start_methods(dispatch: Dispatch) -> tuple[str, ...]:
    """The start methods under which ``dispatch`` pickles what it sends."""
    return START_METHODS.get(dispatch.pickling, ())


def describe_start_methods(dispatch: Dispatch) -> str:
    """:func:`start_methods` in words, for messages."""
    return describe_start_methods_for(dispatch.pickling)


def describe_start_methods_for(pickling: Pickling) -> str:
    if pickling is Pickling.ALWAYS:
        return "under every start method"
    return ("under the spawn and forkserver start methods (the default on macOS and Windows, and on Linux "
            "since Python 3.14)")


# -- what is sent ------------------------------------------------------------------------------


def process_sends(project: Project, module: ModuleInfo) -> Iterator[Sent]:
    """Everything ``module`` sends to another process, directly or through a project helper."""
    for dispatch in dispatches(project, module):
        if _pickles(project, dispatch):
            yield from _dispatch_sends(project, dispatch)
    for site in module.calls:
        if not may_reach_workers(project, project.qualified_name(site.node.func, site.scope)):
            continue  # a function that cannot reach a process API forwards nothing to one
        for target in project.callable_targets(site.node.func, site.scope):
            function, offset = _called_function(project, target)
            if function is None:
                continue
            for parameter, sent in forwarded_parameters(project, function):
                argument = _argument_for(site.node, function, parameter, offset)
                if argument is not None:
                    yield Sent(sent.role, argument, site.scope, sent.dispatch, function, parameter)


def _pickles(project: Project, dispatch: Dispatch) -> bool:
    """A process dispatch whose payload is pickled under some start method; whether the start method
    that governs it pickles is the target's question (:meth:`gillint.targets.Targets.pickles_sent`)."""
    return dispatch.executor is Executor.PROCESS and dispatch.pickling is not Pickling.NEVER


def _dispatch_sends(project: Project, dispatch: Dispatch) -> Iterator[Sent]:
    scope = dispatch.site.scope
    if dispatch.callable is not None:
        yield Sent(Role.CALLABLE, dispatch.callable, scope, dispatch)
        # ``partial(f, a, b)``: the bound arguments travel with it.
        for argument in partial_parts(project, dispatch.callable, scope)[1:]:
            yield Sent(Role.ARGUMENT, argument, scope, dispatch)
    for argument in dispatch.arguments:
        yield Sent(Role.ARGUMENT, argument, scope, dispatch)
    if dispatch.subclass is not None:
        yield from _stored_arguments(project, dispatch, dispatch.subclass)
    for iterable in dispatch.iterables:
        for item, item_scope in iterable_items(project, iterable, scope):
            at = iterable if _outside(item, iterable) else None  # bound elsewhere: report at what is sent
            yield Sent(Role.ITEM, item, item_scope, dispatch, at=at)


def _stored_arguments(project: Project, dispatch: Dispatch, subclass: ClassInfo) -> Iterator[Sent]:
    """``Worker(handle)`` where ``Worker.__init__`` does ``self.handle = handle``: the argument travels in
    the instance, which ``start()`` pickles."""
    init = project.find_method(subclass, "__init__")
    if init is None or not plain_pickling(project, subclass):
        return
    for attributes in project.instance_contents(subclass).values():
        for attribute in attributes:
            if attribute.method is not init or not isinstance(attribute.value, ast.Name):
                continue
            values = project.values(attribute.value, attribute.scope)
            binding = values[0].binding if len(values) == 1 else None
            if binding is None or binding.kind is not BindingKind.PARAMETER or binding.scope is not init.scope:
                continue
            argument = _argument_for(dispatch.site.node, init, binding.name, 1)
            if argument is not None:
                yield Sent(Role.ARGUMENT, argument, dispatch.site.scope, dispatch, stored_as=attribute)


def partial_parts(project: Project, expr: ast.expr, scope: Scope) -> tuple[ast.expr, ...]:
    """The wrapped function and bound arguments of a literal ``functools.partial(f, ...)`` call."""
    if not isinstance(expr, ast.Call) or project.qualified_name(expr.func, scope) not in kb.PARTIAL:
        return ()
    if not expr.args or isinstance(expr.args[0], ast.Starred):
        return ()
    return (*positional(expr), *(k.value for k in expr.keywords if k.arg is not None))


def iterable_items(
    project: Project, iterable: ast.expr, scope: Scope, depth: int = 0,
) -> Iterator[tuple[ast.expr, Scope]]:
    """Items a pool sends from ``iterable``, where they are written: literals and comprehensions,
    ``zip``/``enumerate``/``itertools.repeat`` of those, ``[x] * n``, and names bound to any of them
    in the same module. Items that are tuples give their elements (``starmap`` arguments)."""
    if depth > 3:
        return
    items: list[ast.expr] = []
    if isinstance(iterable, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        items.append(iterable.elt)
    elif isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
        items.extend(e for e in iterable.elts if not isinstance(e, ast.Starred))
    elif isinstance(iterable, ast.BinOp) and isinstance(iterable.op, ast.Mult):
        yield from iterable_items(project, iterable.left, scope, depth + 1)
    elif isinstance(iterable, ast.Call):
        name = project.qualified_name(iterable.func, scope)
        given = positional(iterable)
        if name == "itertools.repeat" and given:
            items.append(given[0])
        elif name in ("builtins.zip", "builtins.enumerate", "builtins.list", "builtins.tuple", "builtins.set"):
            for element in given:
                yield from iterable_items(project, element, scope, depth + 1)
    elif isinstance(iterable, ast.Name):  # ``items = [open(p) for p in paths]`` earlier in the module
        for value in project.values(iterable, scope):
            if value.expr is not iterable and value.scope.module is scope.module:
                yield from iterable_items(project, value.expr, value.scope, depth + 1)  # type: ignore[arg-type]
    for item in items:
        if isinstance(item, (ast.Tuple, ast.List)):
            yield from ((e, scope) for e in item.elts if not isinstance(e, ast.Starred))
        else:
            yield item, scope


def _outside(node: ast.AST, container: ast.AST) -> bool:
    """``node`` is not written inside ``container`` (found by following a name)."""
    return all(inner is not node for inner in ast.walk(container))


def forwarded_parameters(project: Project, function: FunctionInfo) -> list[tuple[str, Sent]]:
    """Parameters of ``function`` that reach a process dispatch unchanged, with what they become.

    Only the calls that can see the parameter are classified: the function's own body, its nested
    functions, and, for ``__init__`` (``self.fn = fn``), every method of its class.
    """
    if not _mentions_dispatch(project, function.module):
        return []  # cheap: no pool or process in sight

    def compute() -> list[tuple[str, Sent]]:
        found = []
        for site in _calls_seeing(function):
            for dispatch in classify(project, site):
                if not _pickles(project, dispatch):
                    continue
                for sent in _dispatch_sends(project, dispatch):
                    for expr in (sent.expr, *partial_parts(project, sent.expr, sent.scope)[:1]):
                        parameter = _parameter_of(project, expr, sent.scope, function)
                        if parameter is not None:
                            found.append((parameter, sent))
        return found

    return project.memo("forwarded-parameters", function.node, compute, [])


#: Words any module with a process dispatch contains (``Pool``, ``ProcessPoolExecutor``, ``pool.map``).
_DISPATCH_MARKERS = ("pool", "executor", "process")


def _mentions_dispatch(project: Project, module: ModuleInfo) -> bool:
    def compute() -> bool:
        source = module.source.lower()
        return any(marker in source for marker in _DISPATCH_MARKERS)

    return project.memo("mentions-dispatch", module.tree, compute, True)


def _calls_seeing(function: FunctionInfo) -> Iterator[CallSite]:
    owners = [function]
    if function.owner is not None and function.name == "__init__":
        owners = list(function.owner.methods.values())
    prefixes = tuple(f"{owner.qualname}.<locals>." for owner in owners)
    for candidate in function.module.functions:
        if candidate in owners or candidate.qualname.startswith(prefixes):
            yield from candidate.calls


def _parameter_of(project: Project, expr: ast.expr, scope: Scope, function: FunctionInfo) -> Optional[str]:
    """The parameter of ``function`` that ``expr`` (a name, or ``self.attr`` set from it) holds."""
    values = project.values(expr, scope)
    if len(values) != 1:
        return None
    binding = values[0].binding
    if binding is None or binding.kind is not BindingKind.PARAMETER or binding.scope is not function.scope:
        return None
    return binding.name


def _called_function(project: Project, target: CallableTarget) -> tuple[Optional[FunctionInfo], int]:
    """The function a call runs and how many leading parameters the call does not fill (self)."""
    if target.kind is TargetKind.CLASS and target.cls is not None:
        init = project.find_method(target.cls, "__init__")
        return init, 1
    function = target.function
    if target.kind is not TargetKind.FUNCTION or function is None:
        return None, 0
    if function.owner is not None and _decorated(function, "staticmethod"):
        return function, 0
    if target.bound or (function.owner is not None and _decorated(function, "classmethod")):
        return function, 1
    return function, 0


def _decorated(function: FunctionInfo, name: str) -> bool:
    return any(isinstance(d, ast.Name) and d.id == name for d in function.node.decorator_list)


def _argument_for(call: ast.Call, function: FunctionInfo, parameter: str, offset: int) -> Optional[ast.expr]:
    """The argument ``call`` gives for ``parameter`` (None once ``*args``/``**kwargs`` make it unknowable)."""
    args = function.node.args
    names = [p.arg for p in (*args.posonlyargs, *args.args)][offset:]
    index = names.index(parameter) if parameter in names else None
    for position, given in enumerate(call.args):
        if isinstance(given, ast.Starred):
            return None
        if position == index:
            return given
    for keyword in call.keywords:
        if keyword.arg is None:
            return None
        if keyword.arg == parameter:
            return keyword.value
    return None


# -- callables -------------------------------------------------------------------------------------


def callable_problem(project: Project, expr: ast.expr, scope: Scope) -> Optional[Problem]:
    """Why the callable ``expr`` cannot be pickled by reference, or None (picklable or unknown)."""
    problem = _local_instance(project, expr, scope) or _picked_from_literal(project, expr, scope)
    if problem is not None:
        return problem
    for target in project.callable_targets(expr, scope):
        problem = _target_problem(project, target)
        if problem is None and target.kind is TargetKind.EXTERNAL and target.qualname:
            imported = module_variable(project, target.qualname)  # ``from jobs import handler``
            if imported is not None:
                targets = project.callable_targets(imported.expr, imported.scope)
                problem = next(filter(None, (_target_problem(project, t) for t in targets)), None)
                target = CallableTarget(target.kind, imported.expr, imported.scope)
        if problem is not None:
            if target.expr is not expr and not _inside(target.expr, expr):
                problem = problem.bound(Value(target.expr, target.scope), scope)
            return problem
    return None


def _picked_from_literal(project: Project, expr: ast.expr, scope: Scope) -> Optional[Problem]:
    """``handlers[kind]`` or ``for fn in (a, b):`` over a literal whose every element is unpicklable."""
    containers: list[Value] = []
    if isinstance(expr, ast.Subscript):
        containers = project.values(expr.value, scope)
    elif isinstance(expr, ast.Name):
        reaching = project.reaching(expr, scope)
        binding = reaching[0] if len(reaching) == 1 else None
        if binding is not None and binding.kind is BindingKind.LOOP and binding.value is not None \
                and isinstance(binding.node, FOR_LOOPS) and isinstance(binding.node.target, ast.Name):
            containers = project.values(binding.value, binding.evaluated_in or binding.scope)
    problems = []
    for container in containers:
        literal = container.expr
        if isinstance(literal, ast.Dict):
            elements = [v for k, v in zip(literal.keys, literal.values) if k is not None]
        elif isinstance(literal, (ast.List, ast.Tuple)):
            elements = [e for e in literal.elts if not isinstance(e, ast.Starred)]
        else:
            return None
        problems += [callable_problem(project, element, container.scope) for element in elements]
    if not problems or not all(problems):
        return None
    return problems[0]


def module_variable(project: Project, dotted: str) -> Optional[Value]:
    """The value of a project module's variable bound once at module level (``LOCK = Lock()``)."""
    module_name, _, name = dotted.rpartition(".")
    module = project.module(module_name) if module_name else None
    if module is None:
        return None
    bindings = module.scope.bindings.get(name, [])
    if len(bindings) != 1 or bindings[0].kind is not BindingKind.ASSIGN or bindings[0].partial:
        return None
    value = bindings[0].value
    return Value(value, module.scope) if value is not None else None


def _local_instance(project: Project, expr: ast.expr, scope: Scope) -> Optional[Problem]:
    """An instance of a class defined inside a function, or ``instance.method`` of one."""
    receiver = expr.value if isinstance(expr, ast.Attribute) else expr
    for value in project.values(receiver, scope):
        if not isinstance(value.expr, ast.Call):
            continue
        cls = project.resolve_definition(value.expr.func, value.scope)
        if not isinstance(cls, ClassInfo) or not cls.is_local:
            continue
        if not isinstance(expr, ast.Attribute):
            return Problem("local class instance", f"an instance of '{cls.qualname}', a class defined inside a "
                           "function, cannot be pickled")
        method = project.find_method(cls, expr.attr)
        if method is not None:
            return Problem("local class method", f"'{method.qualname}' is a method of a class defined inside "
                           "a function, which cannot be pickled by reference", method)
    return None


def _inside(node: ast.AST, container: ast.AST) -> bool:
    return node is container or (isinstance(container, ast.Call) and any(
        a is node for a in (*container.args, *(k.value for k in container.keywords))))


def _target_problem(project: Project, target: CallableTarget) -> Optional[Problem]:
    if target.kind is TargetKind.LAMBDA:
        return Problem("lambda", "a lambda cannot be pickled by reference")
    if target.kind is TargetKind.PARTIAL and target.inner is not None:
        inner = _target_problem(project, target.inner)
        if inner is None:
            return None
        return Problem("partial", f"the partial wraps {_article(inner.kind)}: {inner.reason}", inner.target)
    if target.kind is TargetKind.CLASS and target.cls is not None and target.cls.is_local:
        return Problem("local class", f"class '{target.cls.qualname}' is defined inside a function and cannot "
                       "be pickled by reference")
    if target.kind is TargetKind.UNKNOWN and isinstance(target.expr, ast.Call):
        return _factory_problem(project, target.expr, target.scope)
    if target.kind is TargetKind.EXTERNAL and target.qualname and ".<locals>." in target.qualname:
        # ``Local.helper``: a static method or attribute of a class defined inside a function
        return Problem("local class method", f"'{target.qualname}' belongs to a class defined "
                       "inside a function, which cannot be pickled by reference")
    function = target.function
    if target.kind is not TargetKind.FUNCTION or function is None:
        return None
    if not function.is_local:
        return _decorator_problem(project, function)
    owner = function.owner
    if owner is not None and owner.is_local:
        return Problem("local class method", f"'{function.qualname}' is a method of a class defined inside a "
                       "function, which cannot be pickled by reference", function)
    kind = "closure" if is_closure(function) else "local function"
    return Problem(kind, f"'{function.qualname}' is defined inside a function and cannot be pickled by "
                   "reference", function)


def _factory_problem(project: Project, call: ast.Call, scope: Scope) -> Optional[Problem]:
    """``make_worker(3)`` where the project function returns a local function or a lambda."""
    for target in project.callable_targets(call.func, scope):
        if target.kind is not TargetKind.FUNCTION or target.function is None:
            continue
        factory = target.function
        returned = returned_local(project, factory)
        if isinstance(returned, ast.Lambda):
            return Problem("lambda", f"'{factory.qualname}()' returns a lambda, which cannot be pickled by reference")
        if returned is not None:
            kind = "closure" if is_closure(returned) else "local function"
            return Problem(kind, f"'{factory.qualname}()' returns '{returned.qualname}', a function defined inside "
                           "a function, which cannot be pickled by reference", returned)
    return None


def _decorator_problem(project: Project, function: FunctionInfo) -> Optional[Problem]:
    """A def whose outermost project decorator replaces it with a local wrapper lacking ``functools.wraps``."""
    if not function.node.decorator_list:
        return None
    decorator = function.node.decorator_list[0]
    scope = function.defining_scope
    factory = decorator.func if isinstance(decorator, ast.Call) else decorator
    for target in project.callable_targets(factory, scope):
        if target.kind is not TargetKind.FUNCTION or target.function is None:
            continue
        wrapper = returned_local(project, target.function)
        if isinstance(decorator, ast.Call) and isinstance(wrapper, FunctionInfo):
            wrapper = returned_local(project, wrapper)  # ``@retry(3)``: the factory returns the decorator
        if isinstance(wrapper, FunctionInfo) and not _copies_qualname(project, wrapper):
            return Problem("closure", f"its decorator replaces '{function.qualname}' with '{wrapper.qualname}', "
                           "a function defined inside a function (no functools.wraps), which cannot be pickled "
                           "by reference", wrapper)
    return None


def _copies_qualname(project: Project, wrapper: FunctionInfo) -> bool:
    """``@functools.wraps(f)``, ``update_wrapper`` or a ``__qualname__`` assignment keeps pickling by name."""
    for decorator in wrapper.node.decorator_list:
        expr = decorator.func if isinstance(decorator, ast.Call) else decorator
        if project.qualified_name(expr, wrapper.defining_scope) in WRAPS:
            return True
    enclosing = wrapper.defining_scope.function_scope
    source = enclosing.module.code_of(enclosing.node) if enclosing is not None else ""
    return "update_wrapper" in source or "__qualname__" in source


def returned_local(project: Project, function: FunctionInfo) -> Union[FunctionInfo, ast.Lambda, None]:
    """What ``function`` returns when every ``return`` gives a lambda or a def local to it."""
    def compute() -> Union[FunctionInfo, ast.Lambda, None]:
        found: Union[FunctionInfo, ast.Lambda, None] = None
        for returned in body_facts(project, function).returns:
            if isinstance(returned, ast.Lambda):
                found = found or returned
                continue
            values = project.values(returned, function.scope) if isinstance(returned, ast.Name) else []
            local = [function.module.function_for(v.expr) for v in values if isinstance(v.expr, FUNCTIONS)]
            if not values or len(local) != len(values) or any(f is None or not f.is_local for f in local):
                return None
            found = found or local[0]
        return found

    return project.memo("returned-local", function.node, compute, None)


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def is_closure(function: FunctionInfo) -> bool:
    """The local function reads a name bound by an enclosing function."""
    enclosing = function.defining_scope
    names = {node.id for statement in function.node.body for node in ast.walk(statement)
             if isinstance(node, ast.Name)}
    for name in names:
        for binding in function.scope.lookup(name):
            if binding.scope is not function.scope and enclosing.is_within(binding.scope) \
                    and binding.scope.function is not None:
                return True
    return False


# -- arguments -------------------------------------------------------------------------------------


def argument_problem(
    project: Project, expr: ast.expr, scope: Scope, dispatch: Dispatch, sending: Optional[Sending] = None,
) -> Optional[Problem]:
    """Why the argument ``expr`` sent by ``dispatch`` cannot be pickled, or None: the value itself, what
    a literal container or conditional expression holds (one level deep), or what an instance of a
    project class holds (``self``, or ``Worker(...)`` constructed in view)."""
    pickling = dispatch.pickling
    for value in project.values(expr, scope):
        value = _imported(project, value) or value  # ``from settings import LOCK``, ``settings.LOCK``
        problem = _direct_problem(project, value, pickling) or _held_problem(project, value, pickling)
        if problem is None:
            instance = sent_instance(project, value, sending)
            problem = instance_problem(project, instance, pickling) if instance is not None else None
        if problem is not None:
            return problem.bound(value, scope) if value.expr is not expr else problem
    return None


def _direct_problem(project: Project, value: Value, pickling: Pickling) -> Optional[Problem]:
    """The value cannot be pickled itself (a lock, a file, a generator, a lambda...)."""
    problem = _value_problem(project, value.expr, value.scope, pickling)
    node = value.expr
    if problem is None and (isinstance(node, (ast.Lambda, *FUNCTIONS))
                            or isinstance(node, ast.Call) and partial_parts(project, node, value.scope)):
        problem = callable_problem(project, cast(ast.expr, node), value.scope)  # a def is followed like a name
    return problem


#: Literal containers and comprehensions, by the word messages use.
_CONTAINERS: dict[type, str] = {
    ast.Tuple: "tuple", ast.List: "list", ast.Set: "set", ast.Dict: "dict",
    ast.ListComp: "list", ast.SetComp: "set", ast.DictComp: "dict",
}


def _held_problem(project: Project, value: Value, pickling: Pickling) -> Optional[Problem]:
    """One level inside a literal container, a comprehension or a conditional expression: ``(lock, 1)``,
    ``[open(p) for p in paths]``, ``sys.stderr if quiet else open(log)``."""
    node = value.expr
    if isinstance(node, ast.IfExp):
        for branch in (node.body, node.orelse):
            for inner in project.values(branch, value.scope):
                problem = _direct_problem(project, inner, pickling)
                if problem is not None:
                    return problem.held("conditional expression", f"{problem.reason}, in one branch of the "
                                        f"conditional expression `{value.scope.module.code_of(node)}`")
        return None
    container = _CONTAINERS.get(type(node))
    if container is None or not isinstance(node, ast.expr):
        return None
    for element, follow in _elements(node):
        values = project.values(element, value.scope) if follow else [Value(element, value.scope)]
        for inner in values:
            problem = _direct_problem(project, inner, pickling)
            if problem is not None:
                return problem.held(container, f"the {container} holds {_article(problem.kind)}: {problem.reason}")
    return None


def _elements(node: ast.expr) -> Iterator[tuple[ast.expr, bool]]:
    """What a container literal holds, and whether to follow it as a name (not the element of a
    comprehension: its names are the comprehension's own)."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        yield from ((e, True) for e in node.elts if not isinstance(e, ast.Starred))
    elif isinstance(node, ast.Dict):
        yield from ((v, True) for k, v in zip(node.keys, node.values) if k is not None)
    elif isinstance(node, (ast.ListComp, ast.SetComp)):
        yield node.elt, False
    elif isinstance(node, ast.DictComp):
        yield node.value, False


# -- instances ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sending:
    """Where an instance's own method sends it: the method, and the line of the send (attributes the
    method sets or deletes before that line replace what the constructor set)."""

    method: FunctionInfo
    line: int


@dataclass(frozen=True)
class Instance:
    """An instance of a project class that is pickled: its class, the constructor call when it is in
    view (its arguments fill the attributes set from ``__init__`` parameters), and the method sending it."""

    cls: ClassInfo
    construction: Optional[Value] = None
    sending: Optional[Sending] = None


#: Methods that replace what pickle stores for an instance: whatever its attributes, gillint stays silent.
CUSTOM_PICKLING = ("__getstate__", "__reduce__", "__reduce_ex__")
#: Base classes known to pickle an instance by its ``__dict__`` (other external bases may customise it).
PLAIN_BASES = frozenset({
    "builtins.object", "builtins.Exception", "builtins.BaseException", "abc.ABC", "typing.Generic",
    *kb.PROCESS_CLASSES, *kb.THREAD_CLASSES, "unittest.TestCase", "unittest.case.TestCase",
    "unittest.IsolatedAsyncioTestCase",
})
TEST_CASES = frozenset({"unittest.TestCase", "unittest.case.TestCase", "unittest.IsolatedAsyncioTestCase"})


def sent_instance(project: Project, value: Value, sending: Optional[Sending] = None) -> Optional[Instance]:
    """The project instance ``value`` is: ``self`` of the sending method, or ``Worker(...)``."""
    node = value.expr
    if isinstance(node, ast.Call):
        cls = project.resolve_definition(node.func, value.scope)
        if isinstance(cls, ClassInfo) and not cls.is_local:
            return Instance(cls, value)
        return None
    binding = value.binding
    if isinstance(node, ast.Name) and binding is not None and binding.kind is BindingKind.PARAMETER:
        owner = project.self_class(node, value.scope)
        if owner is not None and not owner.is_local:
            return Instance(owner, sending=sending)
    return None


def bound_instance(project: Project, expr: ast.expr, scope: Scope) -> Optional[Instance]:
    """The instance pickled along with a callable: the receiver of a bound method (``self.crawl``,
    ``worker.run`` with ``worker = Worker(...)``, also inside ``functools.partial``), or an instance
    sent as the callable itself (``pool.apply(self)``)."""
    wrapped = partial_parts(project, expr, scope)
    if wrapped:
        expr = wrapped[0]
    method: Optional[str] = None
    receiver = expr
    if isinstance(expr, ast.Attribute):
        method, receiver = expr.attr, expr.value
    sending = _sending(project, scope, expr)
    for value in project.values(receiver, scope):
        instance = sent_instance(project, value, sending)
        if instance is None:
            continue
        function = project.find_method(instance.cls, method or "__call__")
        if function is None or any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")
                                   for d in function.node.decorator_list):
            continue  # an attribute holding a function, a static method: the instance stays behind
        return instance
    return None


def _sending(project: Project, scope: Scope, expr: ast.expr) -> Optional[Sending]:
    function = scope.function_scope.function if scope.function_scope is not None else None
    if function is None or function.owner is None:
        return None
    return Sending(function, scope.module.line_of(expr))


def instance_problem(project: Project, instance: Instance, pickling: Pickling) -> Optional[Problem]:
    """Why pickling ``instance`` fails: an attribute it holds when it is sent cannot be pickled.

    Attributes count when they are set on construction (``__init__`` and what it calls), or by the
    sending method before the send; an attribute that method deletes first does not count. A class
    that customises pickling (``__getstate__``, ``__reduce__``) or has an external base that might is
    left alone."""
    cls = instance.cls
    if project.base_names(cls) & TEST_CASES:
        return Problem("test case", _WHY["test case"], holder="instance")
    if not plain_pickling(project, cls):
        return None
    for name, attributes in project.instance_contents(cls).items():
        for attribute in _held_when_sent(attributes, instance.sending, pickling):
            problem = _attribute_problem(project, attribute, instance.construction, pickling)
            if problem is not None:
                where = _where(attribute, cls.module)
                return problem.held("instance", f"`self.{name}` (set on line {attribute.line}{where}) holds "
                                    f"{_article(problem.kind)}: {problem.reason}", attribute)
    return None


def _where(attribute: InstanceAttribute, module: ModuleInfo) -> str:
    return "" if attribute.module is module else f" of {attribute.module.display_path}"


def plain_pickling(project: Project, cls: ClassInfo) -> bool:
    """Instances of ``cls`` pickle their ``__dict__``: no class of its MRO customises pickling, and
    every external base class is one known not to."""
    for current in project.mro(cls):
        if any(name in current.methods or name in current.scope.bindings for name in CUSTOM_PICKLING):
            return False
        for base in current.bases:
            if isinstance(project.resolve_definition(base, current.defining_scope), ClassInfo):
                continue
            if project.qualified_name(base, current.defining_scope) not in PLAIN_BASES:
                return False
    return True


def _held_when_sent(
    attributes: tuple[InstanceAttribute, ...], sending: Optional[Sending], pickling: Pickling,
) -> list[InstanceAttribute]:
    """The settings of one attribute that may still hold when the instance is sent."""
    if sending is not None:
        before = [a for a in attributes if a.method is sending.method and a.line < sending.line]
        if before:
            return before[-1:]
        if _deleted_before(attributes[0].name, sending):
            return []
        if pickling is Pickling.ALWAYS and sending.method.name in CONSTRUCTORS:
            return []  # a task submitted by the constructor is pickled before the rest is set
    return [a for a in attributes if a.on_construction]


def _deleted_before(name: str, sending: Sending) -> bool:
    """``del self.<name>`` in the sending method before the send."""
    params = sending.method.parameter_names
    for node in walk_body(sending.method.node.body):
        if isinstance(node, ast.Delete) and node.lineno < sending.line:
            for target in node.targets:
                if (isinstance(target, ast.Attribute) and target.attr == name and params
                        and isinstance(target.value, ast.Name) and target.value.id == params[0]):
                    return True
    return False


def _attribute_problem(
    project: Project, attribute: InstanceAttribute, construction: Optional[Value], pickling: Pickling,
) -> Optional[Problem]:
    """What the attribute holds cannot be pickled: its value, one level inside a container or a
    conditional expression, or, for ``self.x = x`` in ``__init__``, the argument the constructor call
    in view gives for ``x``."""
    if attribute.value is None:
        return None
    for value in project.values(attribute.value, attribute.scope):
        stored = _constructor_argument(project, value, attribute, construction)
        if stored is not None:
            return argument_problem_in(project, stored, pickling)
        problem = _direct_problem(project, value, pickling) or _held_problem(project, value, pickling)
        if problem is not None:
            return problem
    return None


def argument_problem_in(project: Project, value: Value, pickling: Pickling) -> Optional[Problem]:
    """:func:`_direct_problem` or :func:`_held_problem` of every value of an expression."""
    for inner in project.values(value.expr, value.scope):
        problem = _direct_problem(project, inner, pickling) or _held_problem(project, inner, pickling)
        if problem is not None:
            return problem
    return None


def _constructor_argument(
    project: Project, value: Value, attribute: InstanceAttribute, construction: Optional[Value],
) -> Optional[Value]:
    """The argument of the constructor call in view that a ``self.x = x`` of ``__init__`` stores."""
    binding = value.binding
    method = attribute.method
    if (construction is None or binding is None or binding.kind is not BindingKind.PARAMETER or method is None
            or method.name != "__init__" or binding.scope is not method.scope):
        return None
    call = construction.expr
    if not isinstance(call, ast.Call):
        return None
    init = project.find_method(attribute.cls, "__init__")
    constructed = project.resolve_definition(call.func, construction.scope)
    if not isinstance(constructed, ClassInfo) or project.find_method(constructed, "__init__") is not init:
        return None  # a base class's __init__, called by the subclass's with arguments of its own
    argument = _argument_for(call, method, binding.name, 1)
    return Value(argument, construction.scope) if argument is not None else None


def _imported(project: Project, value: Value) -> Optional[Value]:
    binding = value.binding
    if binding is not None and binding.kind is BindingKind.IMPORT and binding.imported:
        return module_variable(project, binding.imported)
    if binding is None and isinstance(value.expr, ast.Attribute):
        dotted = project.qualified_name(value.expr, value.scope)
        return module_variable(project, dotted) if dotted else None
    return None


def _value_problem(project: Project, node: ast.AST, scope: Scope, pickling: Pickling) -> Optional[Problem]:
    if isinstance(node, ast.GeneratorExp):
        return Problem("generator", _WHY["generator"])
    if isinstance(node, ast.Attribute) and project.qualified_name(node, scope) in STANDARD_STREAMS:
        return Problem("open file", "a standard stream is an open file object and cannot be pickled")
    if not isinstance(node, ast.Call):
        return None
    local = _local_instance(project, node, scope) or _factory_problem(project, node, scope)
    if local is not None:
        return local
    kind = _call_kind(project, node, scope)
    if kind is None:
        return None
    if kind in INHERIT_ONLY.values() and pickling is not Pickling.ALWAYS:
        return None  # given to Process(args=...) or initargs: inherited while spawning, which is allowed
    return Problem(kind, _WHY[kind])


def _call_kind(project: Project, call: ast.Call, scope: Scope) -> Optional[str]:
    name = project.qualified_name(call.func, scope)
    if name in _CALL_KINDS:
        return _CALL_KINDS[name]
    types = project.instance_types(call, scope)
    constructed = types[0] if len(types) == 1 else None
    if constructed in INHERIT_ONLY:
        return INHERIT_ONLY[constructed]
    if constructed in POOLS:
        return "pool"
    if isinstance(call.func, ast.Attribute) and call.func.attr in ("open", "cursor"):
        receiver = project.instance_types(call.func.value, scope)
        if call.func.attr == "open" and kb.family(receiver, PATH_CLASSES):
            return "open file"
        if call.func.attr == "cursor" and kb.family(receiver, DATABASE_CONNECTIONS):
            return "sqlite3 cursor"
    for target in project.callable_targets(call.func, scope):
        function = target.function
        if target.kind is TargetKind.FUNCTION and function is not None:
            if is_generator(project, function):
                return "generator"
            if function.is_async:
                return "coroutine"
    return None


def is_generator(project: Project, function: FunctionInfo) -> bool:
    """The ``def`` has ``yield`` in its own body (not in nested functions or lambdas)."""
    return body_facts(project, function).yields


def unpicklable_sends(project: Project, module: ModuleInfo, callables: bool) -> Iterator[tuple[Sent, Problem]]:
    """Callables (GIL201) or arguments, items and the instances bound methods carry (GIL202) that
    ``module`` sends and cannot be pickled.

    Each expression is reported once, even when a helper sends its parameter to several pools.
    """
    reported: set[int] = set()
    for sent in process_sends(project, module):
        if id(sent.node) in reported:
            continue
        problem: Optional[Problem] = None
        if sent.role is Role.CALLABLE:
            problem = callable_problem(project, sent.expr, sent.scope)
            if not callables and problem is None:  # the callable pickles; what its instance holds may not
                instance = bound_instance(project, sent.expr, sent.scope)
                problem = instance_problem(project, instance, sent.dispatch.pickling) if instance else None
            elif not callables:
                problem = None
        elif not callables:
            problem = argument_problem(project, sent.expr, sent.scope, sent.dispatch, _sending(project, sent.scope,
                                                                                            sent.expr))
        if problem is not None:
            reported.add(id(sent.node))
            yield sent, problem


@dataclass(frozen=True)
class SubclassProblem:
    """An attribute a ``multiprocessing.Process`` subclass sets on construction that cannot be pickled:
    ``start()`` pickles the whole instance under spawn and forkserver."""

    cls: ClassInfo
    attribute: InstanceAttribute
    problem: Problem
    #: Where to report: the assignment, or the class's first base when the assignment is in another module.
    node: ast.AST


def process_subclass_problems(project: Project, module: ModuleInfo) -> Iterator[SubclassProblem]:
    """The unpicklable attributes of the ``Process`` subclasses defined in ``module``, each once.

    An attribute set by a base class that is itself a ``Process`` subclass is its module's finding. A
    module that selects fork anywhere, a subclass of ``ForkProcess`` and a class that customises
    pickling are left alone, as ``Process(target=...)`` sites are."""
    if "Process" not in module.source or "fork" in start_method_choice(project, module).named:
        return  # cheap: a module that never says Process defines no subclass of it (of this module's own)
    reported: set[int] = set()
    for cls in module.classes:
        if not any(may_reach_workers(project, project.qualified_name(base, cls.defining_scope)) for base in cls.bases):
            continue  # cheap: a base that cannot reach multiprocessing is not a Process subclass
        bases = project.base_names(cls)
        if not bases & kb.PROCESS_CLASSES or FORK_PROCESSES & bases or cls.is_local:
            continue
        if not plain_pickling(project, cls):
            continue
        for name, attributes in project.instance_contents(cls).items():
            for attribute in attributes:
                if not attribute.on_construction or _reported_elsewhere(project, attribute, cls, module):
                    continue
                problem = _attribute_problem(project, attribute, None, Pickling.SPAWN)
                if problem is None:
                    continue
                here = attribute.module is module
                node: ast.AST = attribute.binding.node if here else cls.bases[0]
                if id(node) not in reported:
                    reported.add(id(node))
                    where = "" if here else f" (set on line {attribute.line}{_where(attribute, module)})"
                    reason = f"`self.{name}`{where} holds {_article(problem.kind)}: {problem.reason}"
                    yield SubclassProblem(cls, attribute, problem.held("instance", reason, attribute), node)
                break


def _reported_elsewhere(project: Project, attribute: InstanceAttribute, cls: ClassInfo, module: ModuleInfo) -> bool:
    """Set by a ``Process`` subclass of another module: a finding there."""
    return (attribute.cls is not cls and attribute.module is not module
            and bool(project.base_names(attribute.cls) & kb.PROCESS_CLASSES))


#: Process classes that always fork: nothing they hold is pickled.
FORK_PROCESSES = frozenset({"multiprocessing.context.ForkProcess"})


# -- messages and evidence ----------------------------------------------------------------------


def explain(sent: Sent, problem: Problem, what: str) -> str:
    """``<reason> (line N); <who> pickles <what> <when>``: the shared shape of GIL201/GIL202 messages."""
    dispatch = sent.dispatch
    verb = "defined" if problem.kind.startswith("local") or problem.kind == "closure" else "bound"
    line = problem.bound_at
    if line is None and sent.at is not None:
        line = sent.scope.module.line_of(sent.expr)
    of = f" of {problem.bound_path}" if problem.bound_path else ""
    bound = f" ({verb} on line {line}{of})" if line is not None else ""
    when = describe_start_methods(dispatch)
    stored = sent.stored_as
    if stored is not None:
        subclass = dispatch.subclass.name if dispatch.subclass is not None else stored.cls.name
        return (f"{problem.reason}{bound}; `{stored.cls.name}.__init__` keeps it in `self.{stored.name}` (line "
                f"{stored.line}{_where(stored, sent.scope.module)}), and `{subclass}` is a "
                f"`multiprocessing.Process` subclass: `start()` pickles the instance {when}")
    if sent.via is None:
        return f"{problem.reason}{bound}; `{dispatch.api}` pickles {what} {when}"
    dispatch_line = dispatch.module.line_of(dispatch.site.node)
    where = "" if dispatch.module is sent.scope.module else f" of {dispatch.module.display_path}"
    return (f"{problem.reason}{bound}; `{sent.via.qualname}` passes its parameter '{sent.parameter}' to "
            f"`{dispatch.api}` (line {dispatch_line}{where}), which pickles {what} {when}")


def explain_subclass(found: SubclassProblem) -> str:
    """The message of an unpicklable attribute of a ``Process`` subclass."""
    when = describe_start_methods_for(Pickling.SPAWN)
    return (f"{found.problem.reason}; `{found.cls.name}` is a `multiprocessing.Process` subclass: `start()` "
            f"pickles the instance {when}; create it in `run()` instead")


@dataclass(frozen=True)
class Via(Evidence):
    """The project helper that forwards a value to the dispatch, and its parameter."""

    #: The helper's qualified name.
    name: str
    parameter: str


@dataclass(frozen=True)
class Attribute(Evidence):
    """An attribute of a project class's instances, and where it is set."""

    #: ``self.<attribute>``.
    name: str
    #: The qualified name of the class whose instances hold it.
    owner: str
    path: str
    line: int

    @classmethod
    def of(cls, attribute: InstanceAttribute) -> Attribute:
        return cls(f"self.{attribute.name}", attribute.cls.qualname, attribute.module.display_path, attribute.line)


P = TypeVar("P", bound="PicklingEvidence")


@dataclass(frozen=True)
class PicklingEvidence(Evidence):
    """What GIL201's and GIL202's findings share (their JSON keys, with the expression sent)."""

    #: The JSON key of the expression sent.
    expression_key: ClassVar[str]
    #: The kind of unpicklable value: ``lambda``, ``local function``, ``open file``, ``lock``...
    kind: str
    #: The start methods under which the dispatch pickles it.
    start_methods: tuple[str, ...]
    dispatch: Site
    #: The local function or method behind it, when there is one.
    target: Optional[Location] = None
    via: Optional[Via] = None
    #: What holds the unpicklable value when it is not sent itself: ``instance``, ``dict``,
    #: ``conditional expression``...
    inside: Optional[str] = None
    #: The instance attribute that holds it, when the value is pickled with an instance.
    attribute: Optional[Attribute] = None
    #: The attribute of a ``Process`` subclass that keeps the argument sent to its constructor.
    stored_as: Optional[Attribute] = None

    @classmethod
    def of(cls: type[P], sent: Sent, problem: Problem) -> P:
        """The evidence of sending ``sent``, which cannot be pickled because of ``problem``."""
        return cls(
            kind=problem.kind,
            start_methods=start_methods(sent.dispatch),
            dispatch=sent.dispatch.site_evidence(),
            target=function_location(problem.target) if problem.target is not None else None,
            via=Via(sent.via.qualname, sent.parameter or "") if sent.via is not None else None,
            inside=problem.holder,
            attribute=Attribute.of(problem.attribute) if problem.attribute is not None else None,
            stored_as=Attribute.of(sent.stored_as) if sent.stored_as is not None else None,
            **{cls.expression_key: sent.scope.module.code_of(sent.node)},
        )

    @classmethod
    def of_subclass(cls: type[P], found: SubclassProblem) -> P:
        """The evidence of a ``Process`` subclass whose instances hold ``found.attribute``."""
        module, problem = found.cls.module, found.problem
        return cls(
            kind=problem.kind,
            start_methods=START_METHODS[Pickling.SPAWN],
            dispatch=Site(f"{found.cls.name}.start", module.display_path, module.line_of(found.cls.node)),
            target=function_location(problem.target) if problem.target is not None else None,
            via=None,
            inside=problem.holder,
            attribute=Attribute.of(problem.attribute) if problem.attribute is not None else None,
            stored_as=None,
            **{cls.expression_key: f"self.{found.attribute.name}"},
        )


@dataclass(frozen=True)
class CallableEvidence(PicklingEvidence):
    """GIL201's evidence: ``callable`` is the expression sent, as written."""

    expression_key = "callable"
    #: The callable sent, as written.
    callable: str = ""


@dataclass(frozen=True)
class ArgumentEvidence(PicklingEvidence):
    """GIL202's evidence: ``argument`` is the expression sent, as written."""

    expression_key = "argument"
    #: The argument (or the iterable mapped over) as written.
    argument: str = ""


#: References of the GIL201/GIL202 pages.
REFERENCES = (
    "[pickle: what can be pickled and unpickled]"
    "(https://docs.python.org/3/library/pickle.html#what-can-be-pickled-and-unpickled)",
    "[multiprocessing programming guidelines (picklability, explicitly pass resources to child processes)]"
    "(https://docs.python.org/3/library/multiprocessing.html#programming-guidelines)",
    "[Contexts and start methods]"
    "(https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods)",
)
#: The "Start methods" section of the GIL201/GIL202 pages.
START_METHOD_TABLE = """
What is pickled depends on the start method. With *fork* the child is a copy of the parent and
inherits the callable and arguments of `Process(...)` and of pool initializers; *spawn* and
*forkserver* start a fresh interpreter and must pickle them. Tasks submitted to a running pool are
always pickled.

| site | fork | spawn | forkserver |
|---|---|---|---|
| `Pool.map/imap/starmap/apply_async/...` (callable, arguments, items) | pickled | pickled | pickled |
| `ProcessPoolExecutor.submit/map`, `run_in_executor(process_pool, ...)` | pickled | pickled | pickled |
| `Process(target=..., args=..., kwargs=...)` | inherited | pickled | pickled |
| `Pool(initializer=..., initargs=...)`, `ProcessPoolExecutor(initializer=...)` | inherited | pickled | pickled |
| `ThreadPoolExecutor`, `multiprocessing.dummy.Pool`, `ThreadPool` | not pickled | not pickled | not pickled |

Default start method:

| platform | Python 3.8-3.13 | Python 3.14+ |
|---|---|---|
| Linux and other POSIX | fork | forkserver |
| macOS | spawn | spawn |
| Windows | spawn (the only one) | spawn (the only one) |

`multiprocessing` locks, queues and shared values are the exception in the other direction: they may
be passed to `Process(args=...)` and `initargs` under any start method (that is inheritance), but
never as a pool task argument.

When the code selects fork for a process or pool (`multiprocessing.get_context("fork").Process(...)`,
`set_start_method("fork")` in the program's set-up), or the target does (`start-method = "fork"`
before 3.14: see Targets), gillint does not report its `Process(...)` and initializer sites: under
fork nothing is pickled for them. Such code still fails where fork does not exist (Windows) or is
unsafe (macOS).
"""
