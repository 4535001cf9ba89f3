"""Per-function GIL effects: is a callable CPU-bound Python work, does it wait, or is it unknown?

:class:`EffectsModel` summarises a function once per run (a memoised fact, see
:mod:`gillint.project.memo`) into :class:`Effects`: the first piece of CPU-bound evidence (a loop
doing Python work, a call into C code that holds the GIL, recursion, a CPU-bound callee), the first
call that waits or releases the GIL, the first wait that is not a bulk read, the first call whose
effect is unknown, and the first *hot loop*: a pure-Python loop over data in which nothing waits,
whether in the loop itself or in a loop around it. Calls of project functions are followed across
modules, to any depth; functions that call each other in a cycle see each other as recursion.

Two verdicts come out of a summary. :attr:`Effects.cpu_bound`: CPU evidence, nothing that waits and
nothing unknown. :attr:`Effects.mixed`: the callable waits, but only for bulk reads (files,
subprocesses, queues) and outside its hot loop, so the time goes to the loop: the worker that reads
a file once and then tokenises every line of it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence, Union

from gillint.api.gil import (
    APPLY_CALLS,
    BLOCKING_ARGUMENT_NAMES,
    BULK_METHODS,
    CLIENT_NAMES,
    NEUTRAL_METHODS,
    OUTPUT_CALLS,
    PASS_THROUGH_ITERATORS,
    PURE_METHODS,
    QUEUE_NAMES,
    WAITING_KEYWORDS,
    WAITING_METHODS,
    WAITING_WITHOUT_POSITIONAL,
    WHOLE_READS,
    Effect,
    Knowledge,
)
from gillint.facts.bodies import body_facts
from gillint.facts.locks import is_possible_lock
from gillint.project import (
    BindingKind,
    CallableTarget,
    CallSite,
    FunctionInfo,
    ModuleInfo,
    Project,
    Scope,
    TargetKind,
)
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

Iterating = Union[ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp]
Loop = Union[Iterating, ast.While]


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

    def phrase(self, home: ModuleInfo) -> str:
        """``json.load() (line 7)``, or ``a pure-Python loop over 'rows' (line 7 of k.py, in 'parse')``."""
        where = f"line {self.line}" if self.module is home else f"line {self.line} of {self.module.display_path}"
        if self.via:
            where += f", in {' -> '.join(repr(name) for name in self.via)}"
        return f"{self.what} ({where})"

    def through(self, name: str) -> Evidence:
        return replace(self, via=(name, *self.via))


@dataclass(frozen=True)
class Effects:
    """What running a callable does with the GIL."""

    cpu: Optional[Evidence] = None
    waits: Optional[Evidence] = None
    unknown: Optional[Evidence] = None
    #: The first wait that is not a bulk read (a network round trip, a sleep, a lock, an event, a
    #: future): it may last longer than any loop after it.
    latency: Optional[Evidence] = None
    #: The first pure-Python loop over data (nested work, a loop over a parameter or over what the
    #: function read) in which nothing waits, in the loop or in a loop around it.
    hot: Optional[Evidence] = None
    #: Returned for a function already being summarised: the call is recursive.
    recursive: bool = False

    @property
    def cpu_bound(self) -> bool:
        """CPU evidence, and nothing that waits or might wait."""
        return self.cpu is not None and self.waits is None and self.unknown is None

    @property
    def mixed(self) -> bool:
        """Waits, but only for bulk reads and outside a hot loop that then holds the GIL."""
        return (self.hot is not None and self.waits is not None and self.latency is None
                and self.unknown is None)

    def through(self, name: str) -> Effects:
        """The same effects seen from a caller that reaches them by calling ``name``."""
        def via(evidence: Optional[Evidence]) -> Optional[Evidence]:
            return evidence.through(name) if evidence is not None else None

        return Effects(via(self.cpu), via(self.waits), via(self.unknown), via(self.latency), via(self.hot),
                       self.recursive)


_NOTHING = Effects()
_RECURSION = Effects(recursive=True)


def combine(*parts: Effects) -> Effects:
    """The effects of running ``parts`` one after another (the first evidence of each kind wins)."""
    return Effects(_first(*(p.cpu for p in parts)), _first(*(p.waits for p in parts)),
                   _first(*(p.unknown for p in parts)), _first(*(p.latency for p in parts)),
                   _first(*(p.hot for p in parts)))


def _first(*evidence: Optional[Evidence]) -> Optional[Evidence]:
    return next((e for e in evidence if e is not None), None)


class _Accumulator:
    """Collects the first evidence of each kind while a body is walked."""

    def __init__(self) -> None:
        self.loop: Optional[Evidence] = None
        self.callee_cpu: Optional[Evidence] = None
        self.holds: Optional[Evidence] = None
        self.waits: Optional[Evidence] = None
        self.unknown: Optional[Evidence] = None
        self.latency: Optional[Evidence] = None
        self.hot: Optional[Evidence] = None

    def add(self, effects: Effects) -> None:
        """Merge a callee's effects (already seen :meth:`Effects.through` it)."""
        self.callee_cpu = _first(self.callee_cpu, effects.cpu)
        self.add_waits(effects)

    def add_waits(self, effects: Effects) -> None:
        self.waits = _first(self.waits, effects.waits)
        self.unknown = _first(self.unknown, effects.unknown)
        self.latency = _first(self.latency, effects.latency)

    def result(self) -> Effects:
        return Effects(self.loop or self.callee_cpu or self.holds, self.waits, self.unknown, self.latency, self.hot)


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

    def of_argument(self, expr: ast.expr, scope: Scope) -> Effects:
        """Effects of the work an argument carries into the worker that consumes it: a generator
        expression or a ``map``/``filter``/``itertools.starmap`` object is evaluated there."""
        if isinstance(expr, ast.GeneratorExp):
            return self._of_generator(expr, scope)
        if isinstance(expr, ast.Call) and self.project.qualified_name(expr.func, scope) in APPLY_CALLS:
            return self._of_apply(expr, scope)
        return _NOTHING

    def of_function(self, function: FunctionInfo) -> Effects:
        """The memoised summary of a ``def``; a recursive request reports recursion."""
        def compute() -> Effects:
            if function.is_async or body_facts(self.project, function).yields:
                return _NOTHING  # calling it only creates a coroutine or generator
            calls = [c for c in function.calls if not _in_nested_class(c, function.node)]
            return self._of_body(function.node.body, function.module, calls, function)

        return self.project.memo(self._memo_kind, function.node, compute, _RECURSION)

    def of_iterating(self, function: FunctionInfo) -> Effects:
        """What iterating a generator function's result does: its body runs as it is iterated."""
        def compute() -> Effects:
            if function.is_async or not body_facts(self.project, function).yields:
                return _NOTHING
            calls = [c for c in function.calls if not _in_nested_class(c, function.node)]
            return self._of_body(function.node.body, function.module, calls, function)

        return self.project.memo(f"gil-iterating:{self.knowledge.key}", function.node, compute, _NOTHING)

    def _generators(self, iterable: ast.AST, scope: Scope, depth: int = 0) -> list[FunctionInfo]:
        """Project generator functions whose results ``iterable`` iterates: ``lines(f)``,
        ``enumerate(lines(f))``, ``rows`` after ``rows = lines(f)``."""
        if depth > _MAX_DATA_DEPTH:
            return []
        if isinstance(iterable, ast.Name):
            return [g for value in self.project.values(iterable, scope)
                    if value.expr is not iterable for g in self._generators(value.expr, value.scope, depth + 1)]
        if not isinstance(iterable, ast.Call):
            return []
        if self.project.qualified_name(iterable.func, scope) in PASS_THROUGH_ITERATORS:
            return [g for arg in iterable.args for g in self._generators(arg, scope, depth + 1)]
        return [t.function for t in self.project.callable_targets(iterable.func, scope)
                if t.kind is TargetKind.FUNCTION and t.function is not None and not t.function.is_async
                and body_facts(self.project, t.function).yields]

    def _of_lambda(self, node: ast.Lambda, scope: Scope) -> Effects:
        module = scope.module
        calls = [c for c in module.calls if node in c.ancestors]
        return self._of_body(node.body, module, calls, None)

    def _of_generator(self, node: ast.GeneratorExp, scope: Scope) -> Effects:
        """A generator expression run by its consumer; its first iterable was evaluated by its maker."""
        module = scope.module
        made = node.generators[0].iter
        calls = [c for c in module.calls if node in c.ancestors and made not in c.ancestors and c.node is not made]
        return self._of_body(node, module, calls, None, consumed=True)

    def _of_apply(self, call: ast.Call, scope: Scope) -> Effects:
        """``map(f, items)`` and the like: ``f`` called on every item, where the iteration happens."""
        module = scope.module
        given = positional(call)
        if not given:
            return _NOTHING
        targets = self.project.callable_targets(given[0], scope)
        if not targets or not all(t.kind in _FOLLOWED for t in targets):
            external = [t.qualname for t in targets if t.kind is TargetKind.EXTERNAL and t.qualname]
            if len(external) == 1 and len(targets) == 1:
                return self._external(external[0], given[0], module, in_loop=True, call=None)
            return Effects(unknown=Evidence(module, given[0], f"{_short(module.code_of(given[0]))} is not known"))
        found = _Accumulator()
        for target in targets:
            found.add(self.of_target(target).through(target.display_name))
        effects = found.result()
        name = targets[0].display_name
        what = f"'{name}' called on every item by {module.code_of(call.func)}()"
        work = Evidence(module, call, what)
        clean = effects.waits is None and effects.unknown is None
        heavy = effects.cpu is not None or any(self._is_data(item, scope) for item in given[1:])
        return replace(effects, cpu=effects.cpu or work, hot=work if clean and heavy else None)

    # -- bodies --------------------------------------------------------------------------------

    def _of_body(
        self, body: Union[ast.expr, Sequence[ast.stmt]], module: ModuleInfo, calls: list[CallSite],
        function: Optional[FunctionInfo], consumed: bool = False,
    ) -> Effects:
        """Summarise a body: its loops, its calls, its ``with`` blocks on possible locks.

        ``consumed``: the body is a generator expression that its consumer runs (it is a loop).
        """
        found = _Accumulator()
        shape = _walk_loops(body, consumed)
        if shape.hot:
            found.loop = Evidence(module, shape.hot[0], _loop_description(shape.hot[0]))
        scope = function.scope if function is not None else (calls[0].scope if calls else module.scope)
        locked = []
        for statement in shape.withs:
            context = next((item.context_expr for item in statement.items
                            if is_possible_lock(self.project, item.context_expr, scope)), None)
            if context is not None:
                locked.append(statement)
                wait = Evidence(module, context, f"`with {module.code_of(context)}:` may wait for a lock")
                found.add_waits(Effects(waits=wait, latency=wait))
        #: Loops in which something waits or is unknown on every iteration, and loops that call
        #: CPU-bound code on every iteration.
        stalled: set[ast.AST] = set()
        busy: set[ast.AST] = set()
        callee_hot: Optional[Evidence] = None
        #: ``for root, dirs, files in os.walk(top)``: iterating what a waiting call returned waits too.
        iterated: dict[ast.AST, Loop] = {
            _iterable(loop): loop for loop in shape.loops if not isinstance(loop, ast.While)}
        for site in calls:
            around = _iterations(site, shape)
            effects = self._add_call(found, site, bool(around), function)
            if effects.waits is not None or effects.unknown is not None:
                stalled.update(around)
                iterating = iterated.get(site.node)
                if iterating is not None and not self._returns_whole(site.node, site.scope):
                    stalled.update((iterating, *shape.around[iterating]))
            if effects.cpu is not None:
                busy.update(around)
            if effects.hot is not None and not around and not any(w in site.ancestors for w in locked):
                callee_hot = callee_hot or effects.hot
        for loop in shape.loops:
            if isinstance(loop, FOR_LOOPS) and not isinstance(loop.iter, ast.Call):
                if self._add_iteration(found, loop.iter, scope):
                    stalled.update((loop, *shape.around[loop]))
            if isinstance(loop, ast.While):
                continue
            for generator in self._generators(_iterable(loop), scope):
                effects = self.of_iterating(generator).through(generator.qualname)
                found.add(effects)
                if effects.waits is not None or effects.unknown is not None:
                    stalled.update((loop, *shape.around[loop]))
                if effects.cpu is not None:
                    busy.add(loop)
        for statement in locked:
            stalled.update(shape.around[statement])
        found.hot = self._hot_loop(shape, stalled, busy, locked, module, scope) or callee_hot
        return found.result()

    def _hot_loop(
        self, shape: _Loops, stalled: set[ast.AST], busy: set[ast.AST], locked: Sequence[ast.stmt],
        module: ModuleInfo, scope: Scope,
    ) -> Optional[Evidence]:
        """The first loop that does Python work over data and in which nothing waits, in it or around it."""
        for loop in shape.hot:
            if loop in stalled or any(outer in stalled for outer in shape.around[loop]):
                continue
            if any(statement in shape.withs_around[loop] for statement in locked):
                continue
            nested = any(loop in shape.around[other] for other in shape.hot)
            if loop in busy or nested or self._loops_over_data(loop, scope):
                return Evidence(module, loop, _hot_description(module, loop))
        return None

    def _loops_over_data(self, loop: Loop, scope: Scope) -> bool:
        if isinstance(loop, ast.While):
            names = [n for n in ast.walk(loop.test) if isinstance(n, (ast.Name, ast.Attribute))]
            return any(self._is_data(name, scope) for name in names)
        return self._is_data(_iterable(loop), scope)

    def _is_data(self, expr: ast.AST, scope: Scope, depth: int = 0) -> bool:
        """Does ``expr`` hold data whose size the code does not fix: a parameter, an attribute of
        ``self``, or what a bulk read returned, through views and builtins (``data.items()``,
        ``enumerate(lines)``, ``text.splitlines()``, ``rows[1:]``, ``range(len(rows))``)?"""
        if depth > _MAX_DATA_DEPTH:
            return False
        if isinstance(expr, (ast.Subscript, ast.Starred)):
            return self._is_data(expr.value, scope, depth + 1)
        if isinstance(expr, ast.BinOp):
            return self._is_data(expr.left, scope, depth + 1) or self._is_data(expr.right, scope, depth + 1)
        if isinstance(expr, ast.Attribute):
            if self.project.self_class(expr.value, scope) is not None:
                return True
            return self._is_data(expr.value, scope, depth + 1)
        if isinstance(expr, ast.Call):
            return self._call_gives_data(expr, scope, depth)
        if not isinstance(expr, ast.Name):
            return False
        for value in self.project.values(expr, scope):
            binding = value.binding
            if binding is not None and binding.kind is BindingKind.PARAMETER:
                return True
            if binding is not None and binding.value is not None and binding.value is not expr:
                if self._is_data(binding.value, binding.evaluated_in or binding.scope, depth + 1):
                    return True
            elif binding is None and value.expr is not expr and self._is_data(value.expr, value.scope, depth + 1):
                return True
        return False

    def _call_gives_data(self, call: ast.Call, scope: Scope, depth: int) -> bool:
        """``f.read()``, ``json.load(f)``, ``load_rows(path)`` (a project function doing bulk reads), or a
        view or copy of data (``text.splitlines()``, ``sorted(rows)``, ``parse(text)``)."""
        func = call.func
        targets = self.project.callable_targets(func, scope)
        if targets and all(t.kind in _FOLLOWED for t in targets):
            every = [self.of_target(t) for t in targets]
            if all(e.waits is not None and e.latency is None and e.unknown is None for e in every):
                return True
        else:
            qualname = self._callee_name(call, scope, targets)
            effect = self.knowledge.effect_of(qualname) if qualname is not None else _by_method_name(call)
            if effect is Effect.RELEASES:
                return self._is_bulk(call, qualname)
            if isinstance(func, ast.Attribute) and func.attr in PURE_METHODS:
                return self._is_data(func.value, scope, depth + 1)
        return any(self._is_data(arg, scope, depth + 1) for arg in (*call.args, *(k.value for k in call.keywords)))

    def _returns_whole(self, call: ast.Call, scope: Scope, qualname: Optional[str] = None) -> bool:
        """A bulk read whose result holds all its data (``json.load(f)``, ``f.read()``): iterating it
        does not wait, unlike iterating a file or ``os.scandir()``."""
        if qualname is None:
            qualname = self._callee_name(call, scope, self.project.callable_targets(call.func, scope))
        if qualname in WHOLE_READS:
            return True
        func = call.func
        return isinstance(func, ast.Attribute) and func.attr in BULK_METHODS and self._is_bulk(call, qualname)

    def _is_bulk(self, call: ast.Call, qualname: Optional[str]) -> bool:
        """A wait that hands over data in bulk (see :data:`gillint.api.gil.BULK_WAITS`)."""
        if qualname is not None:
            return self.knowledge.is_bulk(qualname)
        func = call.func
        return (isinstance(func, ast.Attribute) and func.attr in BULK_METHODS
                and not CLIENT_NAMES.search(terminal_name(func.value)))

    def _add_call(
        self, found: _Accumulator, site: CallSite, in_loop: bool, function: Optional[FunctionInfo],
    ) -> Effects:
        """Merge one call's effects into ``found``, and return them."""
        call, module = site.node, site.module
        targets = self.project.callable_targets(call.func, site.scope)
        if targets and all(t.kind in _FOLLOWED for t in targets):
            merged = _Accumulator()
            for target in targets:
                recursive = function is not None and target.function is function
                effects = _RECURSION if recursive else self.of_target(target)
                if effects.recursive:
                    holds = Evidence(module, call, "a recursive pure-Python function", confidence="medium")
                    found.holds = found.holds or holds
                    merged.holds = merged.holds or holds
                seen = effects.through(target.display_name)
                found.add(seen)
                merged.add(seen)
                merged.hot = merged.hot or seen.hot
            return merged.result()
        qualname = self._callee_name(call, site.scope, targets)
        if qualname in APPLY_CALLS:
            effects = self._of_apply(call, site.scope)
            if effects.cpu is not None and effects.cpu.node is call:
                found.loop = found.loop or effects.cpu  # the function applied does no loop of its own
            found.add(effects)
            return effects
        if qualname is not None:
            direct = self._external(qualname, call, module, in_loop, call)
            found.holds = found.holds or direct.cpu
            found.add_waits(direct)
            return direct
        namesakes = self._same_module_methods(call, module)
        if namesakes:
            merged = _Accumulator()
            for method in namesakes:
                seen = self.of_function(method).through(method.qualname)
                found.add(seen)
                merged.add(seen)
            return merged.result()
        effect = _by_method_name(call)
        if effect is Effect.RELEASES:
            wait = Evidence(module, call, f"{_short(module.code_of(call.func))}()")
            waits = Effects(waits=wait, latency=None if self._is_bulk(call, None) else wait)
            found.add_waits(waits)
            return waits
        if effect is None:
            unknown = Effects(unknown=Evidence(module, call, f"{_short(module.code_of(call.func))} is not known"))
            found.add_waits(unknown)
            return unknown
        return _NOTHING

    @staticmethod
    def _same_module_methods(call: ast.Call, module: ModuleInfo) -> list[FunctionInfo]:
        """``body.step(dt)`` on an object of unknown type, where this module's classes define ``step``."""
        if not isinstance(call.func, ast.Attribute):
            return []
        name = call.func.attr
        return [c.methods[name] for c in module.classes if name in c.methods and not name.startswith("__")]

    def _add_iteration(self, found: _Accumulator, iterable: ast.expr, scope: Scope) -> bool:
        """``for line in self.file`` waits when the object iterated came from an I/O call; True when
        iterating may wait (or is unknown)."""
        name = self.project.qualified_name(iterable, scope)
        if name is None and isinstance(iterable, ast.Attribute):
            receiver = self._receiver_type(iterable.value, scope, 0)  # proc.stdout of a Popen
            name = f"{receiver[0]}.{iterable.attr}" if receiver is not None else None
        effects: list[Optional[Effect]] = [self.knowledge.effect_of(name)] if name is not None else []
        bulk = name is not None and self.knowledge.is_bulk(name)
        for value in self.project.values(iterable, scope):
            call = value.expr
            if isinstance(call, ast.Call) and call is not iterable:
                targets = self.project.callable_targets(call.func, value.scope)
                if not any(t.kind in _FOLLOWED for t in targets):
                    qualname = self._callee_name(call, value.scope, targets)
                    effect = self.knowledge.effect_of(qualname) if qualname else _by_method_name(call)
                    if effect is Effect.RELEASES and self._returns_whole(call, value.scope, qualname):
                        continue
                    effects.append(effect)
                    bulk = bulk or (effect is Effect.RELEASES and self._is_bulk(call, qualname))
                    if effect is None:
                        unknown = Evidence(scope.module, iterable, "iterating an unknown object")
                        found.unknown = found.unknown or unknown
                        return True
        if Effect.RELEASES in effects:
            wait = Evidence(scope.module, iterable, f"iterating {scope.module.code_of(iterable)}")
            found.add_waits(Effects(waits=wait, latency=None if bulk else wait))
            return True
        return False

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
            wait = Evidence(module, node, f"{short}()")
            return Effects(waits=wait, latency=None if self.knowledge.is_bulk(qualname) else wait)
        if effect is Effect.CPU:
            return Effects(cpu=Evidence(module, node, f"{short}(), declared CPU-bound"))
        if effect is Effect.HOLDS and (call is None or _big_input(call)):
            what = "C code that holds the GIL" if call is None else f"{short}(), C code that holds the GIL"
            return Effects(cpu=Evidence(module, node, what, confidence="medium"))
        if effect is None:
            return Effects(unknown=Evidence(module, node, f"{short}() is not known"))
        return _NOTHING


_FOLLOWED = (TargetKind.FUNCTION, TargetKind.CLASS, TargetKind.LAMBDA, TargetKind.PARTIAL)
#: How many assignments, views and calls :meth:`EffectsModel._is_data` follows back from a loop's iterable.
_MAX_DATA_DEPTH = 4
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
    blocking_flag = (isinstance(first, ast.Constant) and isinstance(first.value, bool)) or (
        first is not None and terminal_name(first) in BLOCKING_ARGUMENT_NAMES)
    if method in WAITING_WITHOUT_POSITIONAL and (not call.args or blocking_flag or keywords & WAITING_KEYWORDS):
        return Effect.RELEASES
    if method == "get" and QUEUE_NAMES.search(terminal_name(func.value)):
        return Effect.RELEASES  # self.queue.get(block): a queue, whatever the argument
    if method in WAITING_METHODS:
        return Effect.RELEASES
    if method in PURE_METHODS:
        # session.get(url), conn.update(...), s3.copy(...): a container method name on a client.
        return Effect.RELEASES if CLIENT_NAMES.search(terminal_name(func.value)) else Effect.PURE
    if method in NEUTRAL_METHODS:
        return Effect.NEUTRAL
    return None


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
    """Loops of a body (not of nested defs or classes), the ones that do real work, its ``with``
    statements (``with self._lock:`` may wait for a lock), and what encloses each of them."""

    loops: list[Loop] = field(default_factory=list)
    hot: list[Loop] = field(default_factory=list)
    withs: list[Union[ast.With, ast.AsyncWith]] = field(default_factory=list)
    #: For each loop and ``with``: the loops it runs in on every iteration (outermost first).
    around: dict[ast.AST, tuple[ast.AST, ...]] = field(default_factory=dict)
    #: For each loop: the ``with`` statements whose block it is in.
    withs_around: dict[ast.AST, tuple[ast.AST, ...]] = field(default_factory=dict)


def _walk_loops(body: Union[ast.expr, Sequence[ast.stmt]], consumed: bool = False) -> _Loops:
    """The loops of a body; ``consumed``: the body is a generator expression its consumer runs."""
    found = _Loops()
    Item = tuple[ast.AST, Optional[ast.AST], tuple[ast.AST, ...], tuple[ast.AST, ...]]
    stack: list[Item] = [(node, None, (), ()) for node in reversed(_as_list(body))]
    while stack:
        node, parent, loops, withs = stack.pop()
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            continue
        inner, inner_withs = loops, withs
        if isinstance(node, (*LOOPS, ast.ListComp, ast.SetComp, ast.DictComp)) or (
                isinstance(node, ast.GeneratorExp) and (_consumed(node, parent) or (consumed and parent is None))):
            found.loops.append(node)
            found.around[node], found.withs_around[node] = loops, withs
            if _does_work(node):
                found.hot.append(node)
            inner = (*loops, node)
        elif isinstance(node, WITHS):
            found.withs.append(node)
            found.around[node] = loops
            inner_withs = (*withs, node)
        once = _evaluated_once(node)
        stack.extend((child, node, loops if child is once else inner, withs if child is once else inner_withs)
                     for child in reversed(list(child_nodes(node))))
    return found


def _evaluated_once(node: ast.AST) -> Optional[ast.AST]:
    """The part of a loop evaluated once, before its iterations: a ``for``'s iterable, a
    comprehension's first generator (whose other parts run on every iteration: see
    :func:`_iterations`)."""
    if isinstance(node, FOR_LOOPS):
        return node.iter
    if isinstance(node, COMPREHENSIONS):
        return node.generators[0]
    return None


def _iterations(site: CallSite, shape: _Loops) -> list[ast.AST]:
    """The loops of ``shape`` that run the call on each of their iterations."""
    path = (*site.ancestors, site.node)
    found = []
    for index, node in enumerate(path[:-1]):
        if node not in shape.around:
            continue
        if isinstance(node, WITHS):
            continue
        child = path[index + 1]
        if isinstance(node, FOR_LOOPS) and child is node.iter:
            continue
        if isinstance(node, COMPREHENSIONS) and child is node.generators[0] and (
                index + 2 < len(path) and path[index + 2] is node.generators[0].iter):
            continue
        found.append(node)
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


def _hot_description(module: ModuleInfo, loop: Loop) -> str:
    """``a pure-Python loop over 'lines'``: what the loop goes through, as written."""
    if isinstance(loop, ast.While):
        return f"{_loop_description(loop)} on '{_short(module.code_of(loop.test))}'"
    return f"{_loop_description(loop)} over '{_short(module.code_of(_iterable(loop)))}'"


def _iterable(loop: Iterating) -> ast.expr:
    """What a ``for`` loop or a comprehension's first generator iterates."""
    return loop.iter if isinstance(loop, FOR_LOOPS) else loop.generators[0].iter


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _loop_description(loop: Loop) -> str:
    if isinstance(loop, ast.GeneratorExp):
        return "a pure-Python generator expression"
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp)):
        return "a pure-Python comprehension"
    if isinstance(loop, ast.While):
        return "a pure-Python while loop"
    return "a pure-Python loop"
