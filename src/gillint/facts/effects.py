"""Per-function GIL effects: is a callable CPU-bound Python work, does it wait, or is it unknown?

:class:`EffectsModel` summarises a function once per run (a memoised fact, see
:mod:`gillint.project.memo`) into :class:`Effects`: the first piece of CPU-bound evidence (a loop
doing Python work, a call into C code that holds the GIL, recursion, a CPU-bound callee), the first
call that waits or releases the GIL, and the first call whose effect is unknown. Calls of project
functions are followed across modules, to any depth; functions that call each other in a cycle see
each other as recursion. Only a callable with CPU evidence, nothing that waits and nothing unknown
is :attr:`Effects.cpu_bound`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence, Union

from gillint.api.gil import (
    CLIENT_NAMES,
    NEUTRAL_METHODS,
    OUTPUT_CALLS,
    PURE_METHODS,
    WAITING_KEYWORDS,
    WAITING_METHODS,
    WAITING_WITHOUT_POSITIONAL,
    Effect,
    Knowledge,
)
from gillint.facts.bodies import body_facts
from gillint.facts.locks import is_possible_lock
from gillint.project import CallableTarget, CallSite, FunctionInfo, ModuleInfo, Project, Scope, TargetKind
from gillint.project.syntax import (
    COMPREHENSIONS,
    FOR_LOOPS,
    FUNCTIONS,
    LOOPS,
    WITHS,
    child_nodes,
    int_value,
    is_literal,
    is_string_literal,
    positional,
    terminal_name,
)

#: A ``for`` over a literal range or collection this small is not a hot loop by itself.
SMALL_ITERATION = 16

Loop = Union[ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp]


@dataclass(frozen=True)
class Evidence:
    """Where an effect shows, and how to say it in a message."""

    module: ModuleInfo = field(repr=False)
    node: ast.AST = field(repr=False)
    #: ``a pure-Python loop``, ``sorted(), C code that holds the GIL``, ``requests.get``.
    what: str
    #: Functions followed from the dispatched callable to the evidence (outermost first).
    via: tuple[str, ...] = ()
    confidence: str = "high"

    @property
    def line(self) -> int:
        return self.module.line_of(self.node)

    def describe(self, home: ModuleInfo) -> str:
        """``a pure-Python loop (line 7)``, or ``'crunch', a pure-Python loop (line 7 of k.py)``."""
        where = f"line {self.line}" if self.module is home else f"line {self.line} of {self.module.display_path}"
        text = f"{self.what} ({where})"
        if self.via:
            return f"which calls {' -> '.join(repr(name) for name in self.via)}, {text}"
        return text

    def through(self, name: str) -> Evidence:
        return replace(self, via=(name, *self.via))


@dataclass(frozen=True)
class Effects:
    """What running a callable does with the GIL."""

    cpu: Optional[Evidence] = None
    waits: Optional[Evidence] = None
    unknown: Optional[Evidence] = None
    #: Returned for a function already being summarised: the call is recursive.
    recursive: bool = False

    @property
    def cpu_bound(self) -> bool:
        """CPU evidence, and nothing that waits or might wait."""
        return self.cpu is not None and self.waits is None and self.unknown is None


_NOTHING = Effects()
_RECURSION = Effects(recursive=True)


class _Accumulator:
    """Collects the first evidence of each kind while a body is walked."""

    def __init__(self) -> None:
        self.loop: Optional[Evidence] = None
        self.callee_cpu: Optional[Evidence] = None
        self.holds: Optional[Evidence] = None
        self.waits: Optional[Evidence] = None
        self.unknown: Optional[Evidence] = None

    def add(self, effects: Effects, through: Optional[str]) -> None:
        """Merge a callee's effects (``through`` its name), or a direct call's (None)."""
        def via(evidence: Evidence) -> Evidence:
            return evidence.through(through) if through is not None else evidence

        if effects.cpu is not None and self.callee_cpu is None:
            self.callee_cpu = via(effects.cpu)
        if effects.waits is not None and self.waits is None:
            self.waits = via(effects.waits)
        if effects.unknown is not None and self.unknown is None:
            self.unknown = via(effects.unknown)

    def result(self) -> Effects:
        return Effects(self.loop or self.callee_cpu or self.holds, self.waits, self.unknown)


class EffectsModel:
    """Answers "what does running this callable do with the GIL?" for the rules."""

    def __init__(self, project: Project, knowledge: Optional[Knowledge] = None) -> None:
        self.project = project
        self.knowledge = knowledge or Knowledge()
        self._memo_kind = f"gil-effects:{self.knowledge.key}"

    # -- callables -----------------------------------------------------------------------------

    def of_target(self, target: CallableTarget) -> Effects:
        """Effects of calling a dispatched callable (partials and lambdas are followed)."""
        if target.kind is TargetKind.PARTIAL and target.inner is not None:
            return self.of_target(target.inner)
        if target.kind is TargetKind.LAMBDA and isinstance(target.expr, ast.Lambda):
            return self._of_lambda(target.expr, target.scope)
        if target.function is not None:
            return self.of_function(target.function)
        if target.kind is TargetKind.CLASS and target.cls is not None:
            init = self.project.find_method(target.cls, "__init__")
            return self.of_function(init) if init is not None else _NOTHING
        if target.kind is TargetKind.EXTERNAL and target.qualname:
            node = target.expr
            return self._external(target.qualname, node, target.scope.module, in_loop=False, call=None)
        return Effects(unknown=Evidence(target.scope.module, target.expr, "an unknown callable"))

    def of_function(self, function: FunctionInfo) -> Effects:
        """The memoised summary of a ``def``; a recursive request reports recursion."""
        def compute() -> Effects:
            if function.is_async or body_facts(self.project, function).yields:
                return _NOTHING  # calling it only creates a coroutine or generator
            calls = [c for c in function.calls if not _in_nested_class(c, function.node)]
            return self._of_body(function.node.body, function.module, calls, function)

        return self.project.memo(self._memo_kind, function.node, compute, _RECURSION)

    def _of_lambda(self, node: ast.Lambda, scope: Scope) -> Effects:
        module = scope.module
        calls = [c for c in module.calls if node in c.ancestors]
        return self._of_body(node.body, module, calls, None)

    # -- bodies --------------------------------------------------------------------------------

    def _of_body(
        self, body: Union[ast.expr, Sequence[ast.stmt]], module: ModuleInfo, calls: list[CallSite],
        function: Optional[FunctionInfo],
    ) -> Effects:
        found = _Accumulator()
        loops = _walk_loops(body)
        if loops.hot:
            found.loop = Evidence(module, loops.hot[0], _loop_description(loops.hot[0]))
        loop_nodes = set(loops.loops)
        for site in calls:
            in_loop = any(node in loop_nodes for node in site.ancestors)
            self._add_call(found, site, in_loop, function)
        scope = function.scope if function is not None else (calls[0].scope if calls else module.scope)
        for context in loops.contexts:
            if found.waits is None and is_possible_lock(self.project, context, scope):
                found.waits = Evidence(module, context, f"`with {module.code_of(context)}:` may wait for a lock")
        for loop in loops.loops:
            if isinstance(loop, FOR_LOOPS) and not isinstance(loop.iter, ast.Call):
                self._add_iteration(found, loop.iter, scope)
        return found.result()

    def _add_call(
        self, found: _Accumulator, site: CallSite, in_loop: bool, function: Optional[FunctionInfo],
    ) -> None:
        call, module = site.node, site.module
        targets = self.project.callable_targets(call.func, site.scope)
        if targets and all(t.kind in _FOLLOWED for t in targets):
            for target in targets:
                recursive = function is not None and target.function is function
                effects = _RECURSION if recursive else self.of_target(target)
                if effects.recursive:
                    found.holds = found.holds or Evidence(module, call, "a recursive pure-Python function",
                                                          confidence="medium")
                found.add(effects, target.display_name)
            return
        qualname = self._callee_name(call, site.scope, targets)
        if qualname is not None:
            direct = self._external(qualname, call, module, in_loop, call)
            found.holds = found.holds or direct.cpu
            found.add(replace(direct, cpu=None), None)
            return
        namesakes = self._same_module_methods(call, module)
        if namesakes:
            for method in namesakes:
                found.add(self.of_function(method), method.qualname)
            return
        effect = _by_method_name(call)
        if effect is Effect.RELEASES and found.waits is None:
            found.waits = Evidence(module, call, f"{_callee_text(module, call)} waits")
        elif effect is None and found.unknown is None:
            found.unknown = Evidence(module, call, f"{_callee_text(module, call)} is not known")

    @staticmethod
    def _same_module_methods(call: ast.Call, module: ModuleInfo) -> list[FunctionInfo]:
        """``body.step(dt)`` on an object of unknown type, where this module's classes define ``step``."""
        if not isinstance(call.func, ast.Attribute):
            return []
        name = call.func.attr
        return [c.methods[name] for c in module.classes if name in c.methods and not name.startswith("__")]

    def _add_iteration(self, found: _Accumulator, iterable: ast.expr, scope: Scope) -> None:
        """``for line in self.file`` waits when the object iterated came from an I/O call."""
        name = self.project.qualified_name(iterable, scope)
        effects = [self.knowledge.effect_of(name)] if name is not None else []
        for value in self.project.values(iterable, scope):
            call = value.expr
            if isinstance(call, ast.Call) and call is not iterable:
                targets = self.project.callable_targets(call.func, value.scope)
                if not any(t.kind in _FOLLOWED for t in targets):
                    qualname = self._callee_name(call, value.scope, targets)
                    effect = self.knowledge.effect_of(qualname) if qualname else _by_method_name(call)
                    effects.append(effect)
                    if effect is None:
                        found.unknown = found.unknown or Evidence(scope.module, iterable, "iterating an unknown object")
        if Effect.RELEASES in effects:
            found.waits = found.waits or Evidence(scope.module, iterable, "iterating a file, socket or stream waits")

    # -- one call ------------------------------------------------------------------------------

    def _callee_name(
        self, call: ast.Call, scope: Scope, targets: list[CallableTarget], depth: int = 0,
    ) -> Optional[str]:
        """The qualified name of the callee, through the receiver's type for method calls."""
        external = [t.qualname for t in targets if t.kind is TargetKind.EXTERNAL and t.qualname]
        if len(external) == 1 and len(targets) == 1:
            return external[0]
        func = call.func
        if not isinstance(func, ast.Attribute) or depth > _MAX_RECEIVER_CHAIN:
            return None
        receiver = self._receiver_type(func.value, scope, depth)
        if receiver is None:
            return None
        name, is_result = receiver
        if is_result and func.attr in PURE_METHODS:
            name = "builtins.object"  # digest.startswith(...): a string or container a call returned
        return f"{name}.{func.attr}"

    def _receiver_type(self, expr: ast.expr, scope: Scope, depth: int) -> Optional[tuple[str, bool]]:
        """A dotted name for what ``expr`` holds (its class, or the call that made it), and
        whether it is a call's result.

        ``m = pattern.match(line)`` gives ``re.compile.match``: a result is taken to belong to the
        library that returned it. Literals and builtin results are ``builtins.object``.
        """
        types = [t for t in self.project.instance_types(expr, scope) if t is not None]
        if types and len(types) == len(self.project.instance_types(expr, scope)) and len(set(types)) == 1:
            return (types[0], False) if self.project.definition(types[0]) is None else None
        values = self.project.values(expr, scope)
        if values and all(is_literal(v.expr) for v in values):
            return "builtins.object", False
        if len(values) != 1 or not isinstance(values[0].expr, ast.Call) or values[0].expr is expr:
            return None
        made_by = values[0].expr
        targets = self.project.callable_targets(made_by.func, values[0].scope)
        if any(t.kind in _FOLLOWED for t in targets):
            return None
        name = self._callee_name(made_by, values[0].scope, targets, depth + 1)
        if name is None:
            return None
        return ("builtins.object" if name.startswith("builtins.") else name), True

    def _external(
        self, qualname: str, node: ast.AST, module: ModuleInfo, in_loop: bool, call: Optional[ast.Call],
    ) -> Effects:
        effect = self.knowledge.effect_of(qualname)
        short = qualname.replace("builtins.", "")
        if qualname in OUTPUT_CALLS:
            effect = Effect.RELEASES if in_loop else Effect.NEUTRAL
        if effect is Effect.RELEASES and call is not None and _small_hash_input(qualname, call):
            effect = Effect.PURE
        if effect is Effect.RELEASES:
            return Effects(waits=Evidence(module, node, f"{short}() releases the GIL or waits"))
        if effect is Effect.CPU:
            return Effects(cpu=Evidence(module, node, f"{short}(), declared CPU-bound"))
        if effect is Effect.HOLDS and (call is None or _big_input(call)):
            what = "C code that holds the GIL" if call is None else f"{short}(), C code that holds the GIL"
            return Effects(cpu=Evidence(module, node, what, confidence="medium"))
        if effect is None:
            return Effects(unknown=Evidence(module, node, f"{short}() is not known"))
        return _NOTHING


_FOLLOWED = (TargetKind.FUNCTION, TargetKind.CLASS, TargetKind.LAMBDA, TargetKind.PARTIAL)
#: How many receivers of a chain ``a.b().c().d()`` are typed before giving up.
_MAX_RECEIVER_CHAIN = 6


def _by_method_name(call: ast.Call) -> Optional[Effect]:
    """``obj.method()`` on a receiver of unknown type: judged by the method's name."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    method = func.attr
    keywords = {k.arg for k in call.keywords if k.arg is not None}
    first = call.args[0] if call.args else None
    blocking_flag = isinstance(first, ast.Constant) and isinstance(first.value, bool)
    if method in WAITING_WITHOUT_POSITIONAL and (not call.args or blocking_flag or keywords & WAITING_KEYWORDS):
        return Effect.RELEASES
    if method in WAITING_METHODS:
        return Effect.RELEASES
    if method in PURE_METHODS:
        # session.get(url), conn.update(...), s3.copy(...): a container method name on a client.
        return Effect.RELEASES if CLIENT_NAMES.search(terminal_name(func.value)) else Effect.PURE
    if method in NEUTRAL_METHODS:
        return Effect.NEUTRAL
    return None


def _callee_text(module: ModuleInfo, call: ast.Call) -> str:
    text = module.code_of(call.func)
    return text if len(text) <= 40 else text[:37] + "..."


def _big_input(call: ast.Call) -> bool:
    """A holding call worth reporting: its data argument is not a literal or two scalars."""
    given = positional(call)
    if not given:
        return False
    if len(given) > 1 and isinstance(call.func, ast.Name) and call.func.id in ("min", "max"):
        return False  # max(a, b)
    return not is_literal(given[-1] if len(given) > 1 else given[0])


def _small_hash_input(qualname: str, call: ast.Call) -> bool:
    """``hashlib.sha256(f"{block}{nonce}".encode())``: hashlib keeps the GIL below 2 KiB of data.

    Reading the result (``.hexdigest()``) is cheap too.
    """
    if not qualname.startswith("hashlib."):
        return False
    if qualname.rpartition(".")[2] in ("digest", "hexdigest", "copy"):
        return True
    data = call.args[0] if call.args else (call.keywords[0].value if call.keywords else None)
    if data is None:
        return False
    if isinstance(data, ast.Call) and isinstance(data.func, ast.Attribute) and data.func.attr == "encode":
        data = data.func.value
        if isinstance(data, ast.Call) and isinstance(data.func, ast.Name) and data.func.id in ("str", "repr"):
            return True
    return is_string_literal(data)


def _in_nested_class(site: CallSite, function: ast.AST) -> bool:
    inside = False
    for node in site.ancestors:
        if node is function:
            inside = True
        elif inside and isinstance(node, ast.ClassDef):
            return True
    return False


# -- loops -------------------------------------------------------------------------------------


@dataclass
class _Loops:
    """Loops of a body (not of nested defs or classes), the ones that do real work, and the context
    expressions of its ``with`` statements (``with self._lock:`` may wait for a lock)."""

    loops: list[Loop] = field(default_factory=list)
    hot: list[Loop] = field(default_factory=list)
    contexts: list[ast.expr] = field(default_factory=list)


def _walk_loops(body: Union[ast.expr, Sequence[ast.stmt]]) -> _Loops:
    found = _Loops()
    stack: list[tuple[ast.AST, Optional[ast.AST]]] = [(node, None) for node in reversed(_as_list(body))]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            continue
        if isinstance(node, (*LOOPS, ast.ListComp, ast.SetComp, ast.DictComp)) or (
                isinstance(node, ast.GeneratorExp) and _consumed(node, parent)):
            found.loops.append(node)
            if _does_work(node):
                found.hot.append(node)
        elif isinstance(node, WITHS):
            found.contexts.extend(item.context_expr for item in node.items)
        stack.extend((child, node) for child in reversed(list(child_nodes(node))))
    return found


def _as_list(body: Union[ast.expr, Sequence[ast.stmt]]) -> list[ast.AST]:
    return [body] if isinstance(body, ast.expr) else list(body)




def _consumed(node: ast.GeneratorExp, parent: Optional[ast.AST]) -> bool:
    """A generator expression passed to a call (``sum(...)``, ``"".join(...)``) is run there."""
    return (isinstance(parent, ast.Call) and node is not parent.func) or isinstance(parent, ast.keyword)


def _does_work(loop: Loop) -> bool:
    """Not a busy-wait with an empty body, nor a few fixed iterations."""
    if isinstance(loop, LOOPS):
        if _trivial_body(loop.body):
            return False
        return not (isinstance(loop, FOR_LOOPS) and _small_iteration(loop.iter))
    assert isinstance(loop, COMPREHENSIONS)
    return not _small_iteration(loop.generators[0].iter)


def _trivial_body(body: Sequence[ast.stmt]) -> bool:
    for statement in body:
        if isinstance(statement, (ast.Pass, ast.Continue, ast.Break)):
            continue
        if (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                and (statement.value.value is Ellipsis or isinstance(statement.value.value, (str, bytes)))):
            continue
        return False
    return True


def _small_iteration(iterable: ast.expr) -> bool:
    """``range(3)``, ``(a, b, c)``, ``"xyz"``: a handful of iterations known in advance."""
    if isinstance(iterable, (ast.Tuple, ast.List, ast.Set)):
        return len(iterable.elts) <= SMALL_ITERATION
    if isinstance(iterable, ast.Constant) and isinstance(iterable.value, (str, bytes)):
        return True
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "range":
        bounds = [int_value(arg) for arg in iterable.args]
        if bounds and not iterable.keywords and all(bound is not None for bound in bounds):
            values = [bound for bound in bounds if bound is not None]
            span = values[0] if len(values) == 1 else values[1] - values[0]
            return span <= SMALL_ITERATION
    return False


def _loop_description(loop: Loop) -> str:
    if isinstance(loop, ast.GeneratorExp):
        return "a pure-Python generator expression"
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp)):
        return "a pure-Python comprehension"
    if isinstance(loop, ast.While):
        return "a pure-Python while loop"
    return "a pure-Python loop"
