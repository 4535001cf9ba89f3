"""Which start method the code chooses for a process start: the one place that answers it.

A process gets its start method, in this order of precedence:

1. from the context it is made with: ``get_context("spawn").Process(...)``, ``ctx.Pool(...)``,
   ``ProcessPoolExecutor(mp_context=ctx)``, ``Pool(context=ctx)``, the process or pool object a
   ``.start()``/``.submit()`` is called on having been made that way, or a ``SpawnProcess``-like class;
2. from ``set_start_method(...)``, which sets the method of the default context for the whole
   program: earlier in the same function; in the program's set-up code in the same module (its
   module-level statements, ``if __name__ == "__main__":`` included, and the functions they call,
   across modules); or in the set-up code of the ``__main__.py`` of its package (``python -m pkg``
   runs it first, so it governs the modules of the package);
3. otherwise from the target (``start-method``, ``target-version``): :class:`gillint.targets.Targets`.

A choice made only on some paths (inside an ``if``, a loop, an ``except``) leaves the default possible
too. The facts here name what the code chooses and never read the settings, so they are memoised
once for every target.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from gillint.api.concurrency import START_METHOD_SETTERS
from gillint.facts.dispatch import may_reach_workers
from gillint.project import CallSite, ClassInfo, FunctionInfo, ModuleInfo, Project, Scope, TargetKind
from gillint.project.syntax import FUNCTIONS, LOOPS, TRIES, guarded_branch, string_value

#: Classes whose instances always use one start method.
_FIXED_METHOD_CLASSES = {
    "multiprocessing.context.ForkProcess": "fork",
    "multiprocessing.context.SpawnProcess": "spawn",
    "multiprocessing.context.ForkServerProcess": "forkserver",
}
#: Keywords that hand a context to a pool: ``ProcessPoolExecutor(mp_context=)``, ``pool.Pool(context=)``.
_CONTEXT_KEYWORDS = ("mp_context", "context")
#: How many objects back a receiver is followed to the call that made it (``pool`` -> ``ctx.Pool(4)``).
_MAX_RECEIVER_DEPTH = 2
#: Nodes whose parts run only on some paths (``match`` where the running Python has it).
_CONDITIONAL: tuple[type, ...] = (*LOOPS, ast.IfExp, ast.BoolOp, ast.Lambda, ast.comprehension,
                                  *((ast.Match,) if hasattr(ast, "Match") else ()))


@dataclass(frozen=True)
class Choice:
    """The start methods the code chooses for a process start."""

    #: The methods chosen (empty: none).
    methods: frozenset[str] = frozenset()
    #: True when the start may go without a choice (none made, or made only on some paths): then the
    #: target's default start method applies too.
    default: bool = True
    #: What makes the choice, for messages: ``get_context("spawn")``, ``set_start_method("fork")``.
    source: str = ""
    #: Where: the line, and the display path of its module.
    line: int = 0
    path: str = ""

    def then(self, fallback: Choice) -> Choice:
        """This choice, with ``fallback`` deciding the starts it may leave unchosen."""
        if not self.default:
            return self
        first = self if self.methods else fallback
        return Choice(self.methods | fallback.methods, fallback.default, first.source, first.line, first.path)

    def sometimes(self) -> Choice:
        """The same choice, made on some paths only."""
        return Choice(self.methods, True, self.source, self.line, self.path)

    def describe(self, module: ModuleInfo) -> str:
        """``get_context("spawn") on line 4`` (``... of pkg/__main__.py`` when made in another module)."""
        if not self.source:
            return ""
        where = f" of {self.path}" if self.path and self.path != module.display_path else ""
        return f"{self.source} on line {self.line}{where}" if self.line else f"{self.source}{where}"


UNCHOSEN = Choice()


def start_method_of(project: Project, site: CallSite) -> Choice:
    """The start methods the code chooses for the process started (or pool made or used) at ``site``."""
    def compute() -> Choice:
        context = _context_choice(project, site.node, site.scope, 0)
        if context is not None and not context.default:
            return context
        program = _local_choice(project, site).then(_module_choice(project, site.module))
        program = program.then(_package_main_choice(project, site.module))
        return context.then(program) if context is not None else program

    return project.memo("start-method-of", site.node, compute, UNCHOSEN)


# -- 1. the context a process or pool is made with ---------------------------------------------------


def _context_choice(project: Project, call: ast.Call, scope: Scope, depth: int) -> Optional[Choice]:
    """The methods of the context ``call`` makes its process or pool with (None: the default context)."""
    for keyword in call.keywords:
        if keyword.arg in _CONTEXT_KEYWORDS:
            return _context_value(project, keyword.value, scope)
    func = call.func
    fixed = _fixed_method(project, func, scope)
    if fixed is not None:
        return fixed
    if not isinstance(func, ast.Attribute):
        return None
    context = _context_value(project, func.value, scope)  # ctx.Process(...), get_context("spawn").Pool(...)
    if context is not None or depth >= _MAX_RECEIVER_DEPTH:
        return context
    made = [value for value in project.values(func.value, scope) if isinstance(value.expr, ast.Call)]
    if not made:
        return None
    # process.start(), pool.map(...), executor.submit(...): the context of the call that made the object.
    choices = [_context_choice(project, value.expr, value.scope, depth + 1) for value in made
               if isinstance(value.expr, ast.Call)]
    return _union(choices)


def _context_value(project: Project, expr: ast.expr, scope: Scope) -> Optional[Choice]:
    """The methods of a context expression: ``get_context("fork")`` literally, or a name bound to it."""
    choices: list[Optional[Choice]] = []
    for value in project.values(expr, scope):
        call = value.expr
        name = project.qualified_name(call.func, value.scope) if isinstance(call, ast.Call) else None
        if not isinstance(call, ast.Call) or name not in START_METHOD_SETTERS or not name.endswith(".get_context"):
            choices.append(None)
            continue
        method = _method_argument(call)
        module = value.scope.module
        choices.append(Choice(frozenset({method}), False, f'get_context("{method}")', module.line_of(call),
                              module.display_path) if method else None)
    return _union(choices)


def _fixed_method(project: Project, func: ast.expr, scope: Scope) -> Optional[Choice]:
    """``SpawnProcess(...)`` or a project subclass of one: the class fixes the method."""
    names = {project.qualified_name(func, scope)}
    definition = project.resolve_definition(func, scope)
    if isinstance(definition, ClassInfo):
        names |= project.base_names(definition)
    methods = {_FIXED_METHOD_CLASSES[name] for name in names if name in _FIXED_METHOD_CLASSES}
    if len(methods) != 1:
        return None
    method = methods.pop()
    return Choice(frozenset({method}), False, f"a {method} process class")


def _union(choices: list[Optional[Choice]]) -> Optional[Choice]:
    """One choice for several possible values: what they choose, and the default if one chooses nothing."""
    chosen = [choice for choice in choices if choice is not None]
    if not chosen:
        return None
    methods = frozenset().union(*(choice.methods for choice in chosen))
    default = len(chosen) < len(choices) or any(choice.default for choice in chosen)
    first = chosen[0]
    return Choice(methods, default, first.source, first.line, first.path)


# -- 2. set_start_method: in the function, in the program's set-up ------------------------------------


def _local_choice(project: Project, site: CallSite) -> Choice:
    """``set_start_method(...)`` earlier in the function (or module-level code) that starts the process."""
    line = site.module.line_of(site.node)
    return _sequence([choice for at, choice in _setters(project, site) if at < line])


def _setters(project: Project, site: CallSite) -> tuple[tuple[int, Choice], ...]:
    """The ``set_start_method`` calls of the function (or module-level code) of ``site``, with their lines."""
    own = site.scope.function_scope
    function = own.function if own is not None else None
    module = site.module

    def compute() -> tuple[tuple[int, Choice], ...]:
        calls = function.calls if function is not None else module.calls
        found = []
        for call in calls:
            if call.scope.function_scope is own:
                choice = _setter(project, call)
                if choice is not None:
                    found.append((module.line_of(call.node), choice if _always_runs(call) else choice.sometimes()))
        return tuple(found)

    return project.memo("start-method-setters", function.node if function is not None else module.tree, compute, ())


#: How many calls deep set-up code is searched for ``set_start_method`` (``main()`` -> ``cli.run()`` -> ...).
SETUP_CALL_DEPTH = 2


def _module_choice(project: Project, module: ModuleInfo) -> Choice:
    """What the set-up code of ``module`` chooses: its module-level statements and what they call."""
    def compute() -> Choice:
        calls = [call for call in module.calls if call.scope.function_scope is None]
        return _sequence([choice for call in calls for choice in _call_choices(project, call, SETUP_CALL_DEPTH)])

    return project.memo("start-method-setup", module.tree, compute, UNCHOSEN)


def _call_choices(project: Project, call: CallSite, depth: int) -> list[Choice]:
    """What running ``call`` chooses: it is a ``set_start_method``, or a project function whose body
    (and its callees', ``depth`` calls deep) calls one. A call that runs on some paths only chooses so."""
    choice = _setter(project, call)
    found = [choice] if choice is not None else []
    if choice is None and depth > 0:
        for function in _called_functions(project, call):
            own = [c for c in function.calls if c.scope.function_scope is function.scope]
            inner = _sequence([each for c in own for each in _call_choices(project, c, depth - 1)])
            if inner.methods:
                found.append(inner)
                break
    if _always_runs(call):
        return found
    return [each.sometimes() for each in found]


def _called_functions(project: Project, call: CallSite) -> list[FunctionInfo]:
    name = project.qualified_name(call.node.func, call.scope)
    if name is not None and not may_reach_workers(project, name):
        return []  # the prefilter saw that it reaches nothing of multiprocessing: not loaded to look
    return [target.function for target in project.callable_targets(call.node.func, call.scope)
            if target.kind is TargetKind.FUNCTION and target.function is not None]


def _setter(project: Project, call: CallSite) -> Optional[Choice]:
    """``set_start_method("spawn")`` (with a literal method): the program's default from then on."""
    name = project.qualified_name(call.node.func, call.scope)
    if name not in START_METHOD_SETTERS or not name.endswith(".set_start_method"):
        return None
    method = _method_argument(call.node)
    if method is None:
        return None
    return Choice(frozenset({method}), False, f'set_start_method("{method}")', call.module.line_of(call.node),
                  call.module.display_path)


def _sequence(choices: list[Choice]) -> Choice:
    """Choices made one after the other: the last one made on every path wins; those after it add to it."""
    result = UNCHOSEN
    for choice in choices:
        if not choice.default:
            result = choice
        else:
            last = choice if choice.methods else result
            result = Choice(result.methods | choice.methods, result.default, last.source, last.line, last.path)
    return result


def _always_runs(call: CallSite) -> bool:
    """Runs whenever its function (or module) runs: not in a branch, a loop, a handler or a lambda.
    ``if __name__ == "__main__":`` counts as always (it is the program's set-up), and so does a ``try``."""
    chain = (*call.ancestors, call.node)
    for node, child in zip(chain, chain[1:]):
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            return True  # ancestors outside the function do not matter
        if isinstance(node, ast.If):
            if not any(child is statement for statement in guarded_branch(node) or ()):
                return False
        elif isinstance(node, TRIES):
            protected = (*getattr(node, "body", ()), *getattr(node, "finalbody", ()))
            if not any(child is statement for statement in protected):
                return False
        elif isinstance(node, _CONDITIONAL):
            return False
    return True


# -- 2b. the __main__.py of the package --------------------------------------------------------------


def _package_main_choice(project: Project, module: ModuleInfo) -> Choice:
    """What the set-up of the nearest ``__main__.py`` of ``module``'s packages chooses (``python -m pkg``)."""
    def compute() -> Choice:
        parts = module.name.split(".")
        for cut in range(len(parts) - (0 if module.is_package else 1), 0, -1):
            name = ".".join(parts[:cut]) + ".__main__"
            if name == module.name:
                continue
            main = project.module(name)
            if main is None:
                continue
            choice = _module_choice(project, main)
            if choice.methods:
                return choice
        return UNCHOSEN

    return project.memo("start-method-package-main", module.tree, compute, UNCHOSEN)


# -- what a module says (kept for the rules that ask per module) --------------------------------------


@dataclass(frozen=True)
class StartMethodChoice:
    """The start methods a module names."""

    #: Set with ``set_start_method(...)`` by a module-level statement: the program's default.
    module_default: Optional[str]
    #: Every start method the module names in ``set_start_method``/``get_context`` calls.
    named: frozenset[str]


def start_method_choice(project: Project, module: ModuleInfo) -> StartMethodChoice:
    """What ``module`` says about start methods (computed once per module)."""
    def compute() -> StartMethodChoice:
        default: Optional[str] = None
        named: set[str] = set()
        for site in module.calls:
            name = project.qualified_name(site.node.func, site.scope)
            if name not in START_METHOD_SETTERS:
                continue
            method = _method_argument(site.node)
            if method is None:
                continue
            named.add(method)
            if site.scope is module.scope and name.endswith(".set_start_method"):
                default = method
        return StartMethodChoice(default, frozenset(named))

    return project.memo("start-methods", module.tree, compute, StartMethodChoice(None, frozenset()))


def _method_argument(call: ast.Call) -> Optional[str]:
    """The literal start method of ``set_start_method("fork")`` / ``get_context(method="spawn")``."""
    given = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "method"), None)
    method = string_value(given)
    return method if method in ("fork", "spawn", "forkserver") else None
