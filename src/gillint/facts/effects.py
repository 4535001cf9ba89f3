"""Per-function GIL effects: is a callable CPU-bound Python work, does it wait, or is it unknown?

:class:`EffectsModel` summarises a function once per run (through ``Project.memo``) into
:class:`Effects`: the first piece of CPU-bound evidence (a loop doing Python work, a call into
C code that holds the GIL, recursion, a CPU-bound callee), the first call that waits or releases
the GIL, and the first call whose effect is unknown. Calls of project functions are followed
across modules, cycle-safe and depth-bounded. Only a callable with CPU evidence, nothing that
waits and nothing unknown is :attr:`Effects.cpu_bound`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional, Union

import libcst as cst

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

#: How many calls deep project functions are followed.
MAX_CALL_DEPTH = 6
#: A ``for`` over a literal range or collection this small is not a hot loop by itself.
SMALL_ITERATION = 16

Loop = Union[cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp]
_LITERALS = (cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp,
             cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)


@dataclass(frozen=True)
class Evidence:
    """Where an effect shows, and how to say it in a message."""

    module: ModuleInfo = field(repr=False)
    node: cst.CSTNode = field(repr=False)
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
        self._depth = 0

    # -- callables -----------------------------------------------------------------------------

    def of_target(self, target: CallableTarget) -> Effects:
        """Effects of calling a dispatched callable (partials and lambdas are followed)."""
        if target.kind is TargetKind.PARTIAL and target.inner is not None:
            return self.of_target(target.inner)
        if target.kind is TargetKind.LAMBDA and isinstance(target.expr, cst.Lambda):
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
        if self._depth >= MAX_CALL_DEPTH:
            return Effects(unknown=Evidence(function.module, function.node, "a call chain too deep to follow"))

        def compute() -> Effects:
            if function.is_async or body_facts(self.project, function).yields:
                return _NOTHING  # calling it only creates a coroutine or generator
            self._depth += 1
            try:
                calls = [c for c in function.calls if not _in_nested_class(c, function.node)]
                return self._of_body(function.node.body, function.module, calls, function)
            finally:
                self._depth -= 1

        return self.project.memo(self._memo_kind, function.node, compute, _RECURSION)

    def _of_lambda(self, node: cst.Lambda, scope: Scope) -> Effects:
        module = scope.module
        calls = [c for c in module.calls if node in c.ancestors]
        return self._of_body(node.body, module, calls, None)

    # -- bodies --------------------------------------------------------------------------------

    def _of_body(
        self, body: cst.CSTNode, module: ModuleInfo, calls: list[CallSite], function: Optional[FunctionInfo],
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
            if isinstance(loop, cst.For) and not isinstance(loop.iter, cst.Call):
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
    def _same_module_methods(call: cst.Call, module: ModuleInfo) -> list[FunctionInfo]:
        """``body.step(dt)`` on an object of unknown type, where this module's classes define ``step``."""
        if not isinstance(call.func, cst.Attribute):
            return []
        name = call.func.attr.value
        return [c.methods[name] for c in module.classes if name in c.methods and not name.startswith("__")]

    def _add_iteration(self, found: _Accumulator, iterable: cst.BaseExpression, scope: Scope) -> None:
        """``for line in self.file`` waits when the object iterated came from an I/O call."""
        name = self.project.qualified_name(iterable, scope)
        effects = [self.knowledge.effect_of(name)] if name is not None else []
        for value in self.project.values(iterable, scope):
            call = value.expr
            if isinstance(call, cst.Call) and call is not iterable:
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
        self, call: cst.Call, scope: Scope, targets: list[CallableTarget], depth: int = 0,
    ) -> Optional[str]:
        """The qualified name of the callee, through the receiver's type for method calls."""
        external = [t.qualname for t in targets if t.kind is TargetKind.EXTERNAL and t.qualname]
        if len(external) == 1 and len(targets) == 1:
            return external[0]
        func = call.func
        if not isinstance(func, cst.Attribute) or depth > MAX_CALL_DEPTH:
            return None
        receiver = self._receiver_type(func.value, scope, depth)
        if receiver is None:
            return None
        name, is_result = receiver
        if is_result and func.attr.value in PURE_METHODS:
            name = "builtins.object"  # digest.startswith(...): a string or container a call returned
        return f"{name}.{func.attr.value}"

    def _receiver_type(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> Optional[tuple[str, bool]]:
        """A dotted name for what ``expr`` holds (its class, or the call that made it), and
        whether it is a call's result.

        ``m = pattern.match(line)`` gives ``re.compile.match``: a result is taken to belong to the
        library that returned it. Literals and builtin results are ``builtins.object``.
        """
        types = [t for t in self.project.instance_types(expr, scope) if t is not None]
        if types and len(types) == len(self.project.instance_types(expr, scope)) and len(set(types)) == 1:
            return (types[0], False) if self.project.definition(types[0]) is None else None
        values = self.project.values(expr, scope)
        if values and all(isinstance(v.expr, _LITERALS) for v in values):
            return "builtins.object", False
        if len(values) != 1 or not isinstance(values[0].expr, cst.Call) or values[0].expr is expr:
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
        self, qualname: str, node: cst.CSTNode, module: ModuleInfo, in_loop: bool, call: Optional[cst.Call],
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


def _by_method_name(call: cst.Call) -> Optional[Effect]:
    """``obj.method()`` on a receiver of unknown type: judged by the method's name."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    method = func.attr.value
    positional = [a for a in call.args if a.keyword is None]
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    blocking_flag = bool(positional) and isinstance(positional[0].value, cst.Name) and \
        positional[0].value.value in ("True", "False")
    if method in WAITING_WITHOUT_POSITIONAL and (not positional or blocking_flag or keywords & WAITING_KEYWORDS):
        return Effect.RELEASES
    if method in WAITING_METHODS:
        return Effect.RELEASES
    if method in PURE_METHODS:
        # session.get(url), conn.update(...), s3.copy(...): a container method name on a client.
        return Effect.RELEASES if CLIENT_NAMES.search(_terminal_name(func.value)) else Effect.PURE
    if method in NEUTRAL_METHODS:
        return Effect.NEUTRAL
    return None


def _terminal_name(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return ""


def _callee_text(module: ModuleInfo, call: cst.Call) -> str:
    text = module.code_of(call.func)
    return text if len(text) <= 40 else text[:37] + "..."


def _big_input(call: cst.Call) -> bool:
    """A holding call worth reporting: its data argument is not a literal or two scalars."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if not positional:
        return False
    if len(positional) > 1 and isinstance(call.func, cst.Name) and call.func.value in ("min", "max"):
        return False  # max(a, b)
    data = positional[-1].value if len(positional) > 1 else positional[0].value
    return not isinstance(data, _LITERALS)


def _small_hash_input(qualname: str, call: cst.Call) -> bool:
    """``hashlib.sha256(f"{block}{nonce}".encode())``: hashlib keeps the GIL below 2 KiB of data.

    Reading the result (``.hexdigest()``) is cheap too.
    """
    if not qualname.startswith("hashlib."):
        return False
    if qualname.rpartition(".")[2] in ("digest", "hexdigest", "copy"):
        return True
    if not call.args:
        return False
    data = call.args[0].value
    if isinstance(data, cst.Call) and isinstance(data.func, cst.Attribute) and data.func.attr.value == "encode":
        data = data.func.value
        if isinstance(data, cst.Call) and isinstance(data.func, cst.Name) and data.func.value in ("str", "repr"):
            return True
    return isinstance(data, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString))


def _in_nested_class(site: CallSite, function: cst.FunctionDef) -> bool:
    inside = False
    for node in site.ancestors:
        if node is function:
            inside = True
        elif inside and isinstance(node, cst.ClassDef):
            return True
    return False


# -- loops -------------------------------------------------------------------------------------


class _LoopFinder(cst.CSTVisitor):
    """Loops of a body (not of nested defs or classes), and whether each one does real work."""

    def __init__(self) -> None:
        super().__init__()
        self.loops: list[Loop] = []
        self.hot: list[Loop] = []
        self.parents: list[cst.CSTNode] = []
        #: Context expressions of ``with`` statements (``with self._lock:`` may wait for a lock).
        self.contexts: list[cst.BaseExpression] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return False
        if isinstance(node, (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp)):
            self._found(node)
        elif isinstance(node, cst.GeneratorExp) and self._consumed(node):
            self._found(node)
        elif isinstance(node, cst.With):
            self.contexts.extend(item.item for item in node.items)
        self.parents.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.parents and self.parents[-1] is original_node:
            self.parents.pop()

    def _consumed(self, node: cst.GeneratorExp) -> bool:
        """A generator expression passed to a call (``sum(...)``, ``"".join(...)``) is run there."""
        return len(self.parents) >= 1 and isinstance(self.parents[-1], (cst.Arg, cst.Call))

    def _found(self, node: Loop) -> None:
        self.loops.append(node)
        if _does_work(node):
            self.hot.append(node)


def _walk_loops(body: cst.CSTNode) -> _LoopFinder:
    finder = _LoopFinder()
    body.visit(finder)
    return finder


def _does_work(loop: Loop) -> bool:
    """Not a busy-wait with an empty body, nor a few fixed iterations."""
    if isinstance(loop, (cst.For, cst.While)):
        if _trivial_body(loop.body):
            return False
        return not (isinstance(loop, cst.For) and _small_iteration(loop.iter))
    return not _small_iteration(loop.for_in.iter)


def _trivial_body(body: cst.BaseSuite) -> bool:
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        smalls = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else None
        if smalls is None:
            return False
        for small in smalls:
            if isinstance(small, (cst.Pass, cst.Continue, cst.Break)):
                continue
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.Ellipsis, cst.SimpleString)):
                continue
            return False
    return True


def _small_iteration(iterable: cst.BaseExpression) -> bool:
    """``range(3)``, ``(a, b, c)``, ``"xyz"``: a handful of iterations known in advance."""
    if isinstance(iterable, (cst.Tuple, cst.List, cst.Set)):
        return len(iterable.elements) <= SMALL_ITERATION
    if isinstance(iterable, cst.SimpleString):
        return True
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == "range":
        bounds = [a.value for a in iterable.args]
        if bounds and all(isinstance(b, cst.Integer) for b in bounds):
            try:
                values = [int(b.value.replace("_", ""), 0) for b in bounds if isinstance(b, cst.Integer)]
            except ValueError:
                return False
            span = values[0] if len(values) == 1 else values[1] - values[0]
            return span <= SMALL_ITERATION
    return False


def _loop_description(loop: Loop) -> str:
    if isinstance(loop, cst.GeneratorExp):
        return "a pure-Python generator expression"
    if isinstance(loop, (cst.ListComp, cst.SetComp, cst.DictComp)):
        return "a pure-Python comprehension"
    if isinstance(loop, cst.While):
        return "a pure-Python while loop"
    return "a pure-Python loop"



