"""Flow-sensitive names: which bindings of a name reach each place where the name is read.

A scope (module, function or class body) binds a name in several places: ``executor =
ThreadPoolExecutor()`` and later ``executor = ProcessPoolExecutor()``, ``process = Process(...)``
and later ``for process in processes:``. :func:`reaching_bindings` walks the scope's statements
once, in the order they run, and records for every read of such a name the bindings that may
reach it: the latest one on straight-line code, both branches of an ``if``/``try`` merged, a loop's
body seen again from its end (to a fixed point), nothing after ``return``/``raise``/``break``.

Reads that the walk cannot place are left out of the answer, and callers fall back to every
binding of the scope: reads inside nested functions and lambdas (they run later, at an unknown
time), and names that a nested function rebinds with ``global``/``nonlocal`` (such bindings may
reach any read, and are always added).

The walk is purely syntactic, so its answer depends on the scope's node only (memoised by
:meth:`gillint.project.model.Project.reaching`), and it tracks only the names bound more than once
in the scope: a name bound once has one answer, found without a walk.
"""

from __future__ import annotations

import ast
from typing import Iterable, Optional, Sequence

from gillint.project.scopes import Binding, BindingKind, Scope, ScopeKind

#: Names to the bindings that may reach the current point; None where the point cannot be reached.
State = Optional[dict[str, frozenset[Binding]]]
_EMPTY: frozenset[Binding] = frozenset()
#: A loop body is walked again until what reaches its top stops growing (twice in practice).
_MAX_LOOP_PASSES = 8
_TRY_STATEMENTS: tuple[type, ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_MATCH: tuple[type, ...] = (ast.Match,) if hasattr(ast, "Match") else ()
FLOW_SCOPES = (ScopeKind.MODULE, ScopeKind.FUNCTION, ScopeKind.CLASS)


def reaching_bindings(scope: Scope) -> dict[int, frozenset[Binding]]:
    """For every read (``ast.Name`` in a load context, by ``id``) of a name that ``scope`` binds more
    than once, the bindings of ``scope`` that may reach it. Reads in nested functions and lambdas are
    absent (see the module docstring)."""
    if scope.kind not in FLOW_SCOPES:
        return {}
    tracked = {name: bindings for name, bindings in scope.bindings.items() if len(bindings) > 1}
    if not tracked:
        return {}
    walker = _Walker(scope, tracked)
    body = scope.node.body if isinstance(scope.node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                                      ast.AsyncFunctionDef)) else []
    walker.block(body, walker.entry_state())
    return walker.reads


def _merge(*states: State) -> State:
    reachable = [state for state in states if state is not None]
    if not reachable:
        return None
    if len(reachable) == 1:
        return reachable[0]
    merged: dict[str, frozenset[Binding]] = {}
    for state in reachable:
        for name, bindings in state.items():
            merged[name] = merged.get(name, _EMPTY) | bindings
    return merged


class _Walker:
    """One pass over a scope's statements in execution order, recording what reaches each read."""

    def __init__(self, scope: Scope, tracked: dict[str, list[Binding]]) -> None:
        self.scope = scope
        self.tracked = tracked
        self.reads: dict[int, frozenset[Binding]] = {}
        #: Bindings made by the statement (or ``withitem``, handler, walrus) they belong to.
        self.by_node: dict[int, list[Binding]] = {}
        #: Bindings made elsewhere (a nested function's ``global``/``nonlocal``): they may reach any read.
        self.anytime: dict[str, frozenset[Binding]] = {}
        for name, bindings in tracked.items():
            elsewhere = []
            for binding in bindings:
                if binding.evaluated_in is not None and binding.evaluated_in is not scope:
                    elsewhere.append(binding)
                elif binding.kind is not BindingKind.PARAMETER:
                    self.by_node.setdefault(id(binding.node), []).append(binding)
            if elsewhere:
                self.anytime[name] = frozenset(elsewhere)
        #: Per enclosing loop: the states at its ``break`` and ``continue`` statements.
        self.loops: list[tuple[list[State], list[State]]] = []
        #: Per enclosing ``try`` body: every binding made in it (what its handlers may see).
        self.try_bindings: list[dict[str, set[Binding]]] = []

    def entry_state(self) -> dict[str, frozenset[Binding]]:
        state: dict[str, frozenset[Binding]] = {}
        for name, bindings in self.tracked.items():
            parameters = frozenset(b for b in bindings if b.kind is BindingKind.PARAMETER)
            if parameters:
                state[name] = parameters
        return state

    # -- bindings -------------------------------------------------------------------------------

    def bind(self, node: ast.AST, state: State) -> State:
        made = self.by_node.get(id(node))
        if not made or state is None:
            return state
        state = dict(state)
        by_name: dict[str, set[Binding]] = {}
        for binding in made:
            by_name.setdefault(binding.name, set()).add(binding)
        for name, bindings in by_name.items():
            state[name] = frozenset(bindings)
            for collected in self.try_bindings:
                collected.setdefault(name, set()).update(bindings)
        return state

    def unbind(self, names: Iterable[str], state: State) -> State:
        names = [name for name in names if name in self.tracked]
        if not names or state is None:
            return state
        state = dict(state)
        for name in names:
            state[name] = _EMPTY
        return state

    # -- expressions ----------------------------------------------------------------------------

    def expr(self, node: Optional[ast.AST], state: State) -> State:
        """Record the reads in ``node`` (not inside lambdas' bodies); a walrus binds after its value."""
        if node is None or state is None:
            return state
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id in self.tracked:
                self.reads[id(node)] = state.get(node.id, _EMPTY) | self.anytime.get(node.id, _EMPTY)
            return state
        if isinstance(node, ast.NamedExpr):
            state = self.expr(node.value, state)
            return self.bind(node, state)
        if isinstance(node, ast.Lambda):
            return self.exprs([*node.args.defaults, *node.args.kw_defaults], state)
        for child in ast.iter_child_nodes(node):
            state = self.expr(child, state)
        return state

    def exprs(self, nodes: Sequence[Optional[ast.AST]], state: State) -> State:
        for node in nodes:
            state = self.expr(node, state)
        return state

    # -- statements -----------------------------------------------------------------------------

    def block(self, statements: Sequence[ast.stmt], state: State) -> State:
        for statement in statements:
            if state is None:
                return None  # unreachable: what follows a return, raise, break or continue
            state = self.statement(statement, state)
        return state

    def statement(self, node: ast.stmt, state: State) -> State:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            state = self.expr(node.value, state)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            state = self.exprs(targets, state)
            if isinstance(node, ast.AnnAssign) and node.value is None:
                return state
            return self.bind(node, state)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return self.definition(node, state)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return self.bind(node, state)
        if isinstance(node, ast.If):
            state = self.expr(node.test, state)
            return _merge(self.block(node.body, state), self.block(node.orelse, state))
        if isinstance(node, (ast.For, ast.AsyncFor)):
            state = self.expr(node.iter, state)
            return self.loop(node, state)
        if isinstance(node, ast.While):
            return self.loop(node, state)
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                state = self.expr(item.context_expr, state)
                state = self.expr(item.optional_vars, state)
                state = self.bind(item, state)
            return self.block(node.body, state)
        if isinstance(node, _TRY_STATEMENTS):
            return self.try_(node, state)
        if _MATCH and isinstance(node, _MATCH):
            return self.match(node, state)
        if isinstance(node, ast.Delete):
            state = self.exprs([t for t in node.targets if not isinstance(t, ast.Name)], state)
            return self.unbind([t.id for t in node.targets if isinstance(t, ast.Name)], state)
        if isinstance(node, (ast.Return, ast.Raise)):
            self.expr(node, state)
            return None
        if isinstance(node, (ast.Break, ast.Continue)):
            if self.loops:
                breaks, continues = self.loops[-1]
                (breaks if isinstance(node, ast.Break) else continues).append(state)
            return None
        return self.expr(node, state)  # expression statements, assert, global, pass, type aliases

    def definition(self, node: ast.AST, state: State) -> State:
        """A ``def`` or ``class`` statement: decorators, defaults, bases now; a class body now too (its
        own bindings belong to the class scope); a function body later, elsewhere."""
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        state = self.exprs(node.decorator_list, state)
        if isinstance(node, ast.ClassDef):
            state = self.exprs([*node.bases, *node.keywords], state)
            self.block(node.body, state)
        else:
            arguments = node.args
            state = self.exprs([*arguments.defaults, *arguments.kw_defaults], state)
        return self.bind(node, state)

    def loop(self, node: ast.AST, before: State) -> State:
        """``for``/``while``: the body runs from the state before the loop merged with the states at
        the end of its body and at each ``continue``, until that stops growing."""
        assert isinstance(node, (ast.For, ast.AsyncFor, ast.While))
        breaks: list[State] = []
        continues: list[State] = []
        self.loops.append((breaks, continues))
        top = before
        for _ in range(_MAX_LOOP_PASSES):
            breaks.clear()
            continues.clear()
            if isinstance(node, ast.While):
                body_state = self.expr(node.test, top)
            else:
                body_state = self.bind(node, self.expr(node.target, top))
            end = self.block(node.body, body_state)
            grown = _merge(before, end, *continues)
            if grown == top:
                break
            top = grown
        self.loops.pop()
        endless = isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and bool(node.test.value)
        exit_state = None if endless else self.block(node.orelse, top)
        return _merge(exit_state, *breaks)

    def try_(self, node: ast.AST, before: State) -> State:
        """A handler may start after any statement of the ``try`` body: it sees everything bound there."""
        assert isinstance(node, _TRY_STATEMENTS)
        self.try_bindings.append({})
        after_body = self.block(node.body, before)  # type: ignore[attr-defined]
        made = self.try_bindings.pop()
        raised = before
        if before is not None and made:
            raised = dict(before)
            for name, bindings in made.items():
                raised[name] = raised.get(name, _EMPTY) | frozenset(bindings)
        ends = [self.block(node.orelse, after_body)]  # type: ignore[attr-defined]
        for handler in node.handlers:  # type: ignore[attr-defined]
            state = self.expr(handler.type, raised)
            state = self.bind(handler, state)
            ends.append(self.block(handler.body, state))
        finalbody = node.finalbody  # type: ignore[attr-defined]
        if not finalbody:
            return _merge(*ends)
        # ``finally`` also runs on the way out of an exception: it sees what the handlers may not.
        return self.block(finalbody, _merge(*ends, raised))

    def match(self, node: ast.AST, state: State) -> State:
        state = self.expr(node.subject, state)  # type: ignore[attr-defined]
        ends: list[State] = [state]  # no case may match
        for case in node.cases:  # type: ignore[attr-defined]
            case_state = self.expr(case.guard, state)
            ends.append(self.block(case.body, case_state))
        return _merge(*ends)

