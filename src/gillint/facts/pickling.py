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
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Iterator, Optional, TypeVar, Union

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
    ModuleInfo,
    Project,
    Scope,
    TargetKind,
    Value,
)
from gillint.project.syntax import FOR_LOOPS, FUNCTIONS, positional

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
THREAD_QUEUES = frozenset({"queue.Queue", "queue.LifoQueue", "queue.PriorityQueue"})
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
    **{name: "sqlite3 connection" for name in DATABASE_CONNECTIONS},
    **{name: "csv reader or writer" for name in CSV_OBJECTS},
    **{name: "logging handler" for name in LOGGING_HANDLERS},
    **{name: "thread-local data" for name in kb.THREAD_LOCAL_TYPES},
    **{name: "pool" for name in POOLS},
}
_WHY = {
    "open file": "an open file object cannot be pickled",
    "lock": "a threading lock cannot be pickled",
    "thread queue": "a queue.Queue holds threading locks and cannot be pickled (use a multiprocessing queue)",
    "sqlite3 connection": "a sqlite3 connection cannot be pickled",
    "sqlite3 cursor": "a sqlite3 cursor cannot be pickled",
    "csv reader or writer": "a csv reader or writer cannot be pickled",
    "logging handler": "a logging handler holds a lock (and often an open file) and cannot be pickled",
    "thread-local data": "threading.local data cannot be pickled",
    "pool": "a process or thread pool cannot be pickled",
    "generator": "a generator object cannot be pickled",
    "coroutine": "a coroutine object cannot be pickled (it must be awaited where it was created)",
    "multiprocessing lock": "a multiprocessing lock may only be shared by inheritance, not sent as a task argument",
    "multiprocessing queue": "a multiprocessing queue may only be shared by inheritance, not sent as a task "
                             "argument (use a Manager().Queue())",
    "multiprocessing shared value": "a multiprocessing shared value may only be shared by inheritance, not "
                                    "sent as a task argument",
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

    def bound(self, value: Value, sent_from: Scope) -> Problem:
        """The same problem, located where ``value`` was bound."""
        module = value.scope.module
        path = module.display_path if module is not sent_from.module else None
        return Problem(self.kind, self.reason, self.target, module.line_of(value.expr), path)


def start_methods(dispatch: Dispatch) -> tuple[str, ...]:
    """The start methods under which ``dispatch`` pickles what it sends."""
    return START_METHODS.get(dispatch.pickling, ())


def describe_start_methods(dispatch: Dispatch) -> str:
    """:func:`start_methods` in words, for messages."""
    if dispatch.pickling is Pickling.ALWAYS:
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
    """A process dispatch whose payload is pickled under the start method its module may use."""
    if dispatch.executor is not Executor.PROCESS or dispatch.pickling is Pickling.NEVER:
        return False
    return dispatch.pickling is Pickling.ALWAYS or "fork" not in start_method_choice(project, dispatch.module).named


def _dispatch_sends(project: Project, dispatch: Dispatch) -> Iterator[Sent]:
    scope = dispatch.site.scope
    if dispatch.callable is not None:
        yield Sent(Role.CALLABLE, dispatch.callable, scope, dispatch)
        # ``partial(f, a, b)``: the bound arguments travel with it.
        for argument in partial_parts(project, dispatch.callable, scope)[1:]:
            yield Sent(Role.ARGUMENT, argument, scope, dispatch)
    for argument in dispatch.arguments:
        yield Sent(Role.ARGUMENT, argument, scope, dispatch)
    for iterable in dispatch.iterables:
        for item, item_scope in iterable_items(project, iterable, scope):
            at = iterable if _outside(item, iterable) else None  # bound elsewhere: report at what is sent
            yield Sent(Role.ITEM, item, item_scope, dispatch, at=at)


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


def argument_problem(project: Project, expr: ast.expr, scope: Scope, dispatch: Dispatch) -> Optional[Problem]:
    """Why the argument ``expr`` sent by ``dispatch`` cannot be pickled, or None."""
    for value in project.values(expr, scope):
        value = _imported(project, value) or value  # ``from settings import LOCK``, ``settings.LOCK``
        problem = _value_problem(project, value.expr, value.scope, dispatch)
        if problem is None and isinstance(value.expr, (ast.Lambda, *FUNCTIONS)):
            problem = callable_problem(project, expr, scope)
        if problem is not None:
            return problem.bound(value, scope) if value.expr is not expr else problem
    return None


def _imported(project: Project, value: Value) -> Optional[Value]:
    binding = value.binding
    if binding is not None and binding.kind is BindingKind.IMPORT and binding.imported:
        return module_variable(project, binding.imported)
    if binding is None and isinstance(value.expr, ast.Attribute):
        dotted = project.qualified_name(value.expr, value.scope)
        return module_variable(project, dotted) if dotted else None
    return None


def _value_problem(project: Project, node: ast.AST, scope: Scope, dispatch: Dispatch) -> Optional[Problem]:
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
    if kind in INHERIT_ONLY.values() and dispatch.pickling is not Pickling.ALWAYS:
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
    """Callables (GIL201) or arguments and items (GIL202) that ``module`` sends and cannot be pickled.

    Each expression is reported once, even when a helper sends its parameter to several pools.
    """
    reported: set[int] = set()
    for sent in process_sends(project, module):
        if (sent.role is Role.CALLABLE) != callables or id(sent.node) in reported:
            continue
        if callables:
            problem = callable_problem(project, sent.expr, sent.scope)
        else:
            problem = argument_problem(project, sent.expr, sent.scope, sent.dispatch)
        if problem is not None:
            reported.add(id(sent.node))
            yield sent, problem


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
    if sent.via is None:
        return f"{problem.reason}{bound}; `{dispatch.api}` pickles {what} {when}"
    dispatch_line = dispatch.module.line_of(dispatch.site.node)
    where = "" if dispatch.module is sent.scope.module else f" of {dispatch.module.display_path}"
    return (f"{problem.reason}{bound}; `{sent.via.qualname}` passes its parameter '{sent.parameter}' to "
            f"`{dispatch.api}` (line {dispatch_line}{where}), which pickles {what} {when}")


@dataclass(frozen=True)
class Via(Evidence):
    """The project helper that forwards a value to the dispatch, and its parameter."""

    #: The helper's qualified name.
    name: str
    parameter: str


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

    @classmethod
    def of(cls: type[P], sent: Sent, problem: Problem) -> P:
        """The evidence of sending ``sent``, which cannot be pickled because of ``problem``."""
        return cls(
            kind=problem.kind,
            start_methods=start_methods(sent.dispatch),
            dispatch=sent.dispatch.site_evidence(),
            target=function_location(problem.target) if problem.target is not None else None,
            via=Via(sent.via.qualname, sent.parameter or "") if sent.via is not None else None,
            **{cls.expression_key: sent.scope.module.code_of(sent.node)},
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

When a module explicitly selects fork (`multiprocessing.set_start_method("fork")` or
`multiprocessing.get_context("fork")`), gillint does not report `Process(...)` and initializer sites of
that module: under fork nothing is pickled for them. Such code still fails where fork does not exist
(Windows) or is unsafe (macOS).
"""
