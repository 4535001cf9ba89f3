"""What a function does to state, and whether a lock is held while it does it.

:func:`function_facts` walks a function body once (memoised per function) and records, without
knowing yet which objects are shared:

- mutations that race when the state is shared: read-modify-writes (``x += 1``, ``x = x + 1``,
  ``d[k] = d.get(k, 0) + 1``, ``Counter.update``), check-then-acts (a write under an ``if`` that
  tested the same thing) and writes of the same keys from every thread (``shared[i] = ...`` in a
  ``for i in range(...)`` loop),
- the calls it makes while no lock is held (so callees are analysed only on unlocked paths).

A lock is held inside ``with X:`` when ``X`` may be a lock, and between ``X.acquire()`` and
``X.release()`` in a block (``try``/``finally`` included). Precision first: a ``with`` on an object
gillint cannot type (``with self._guard:``, a parameter) counts as a lock; only objects known to be
something else (files, executors, sockets, ``contextlib`` helpers...) do not.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional, Sequence

from gillint.project import CallSite, FunctionInfo, Project, Scope
from gillint.project.syntax import LOOPS, TRIES, WITHS, ends_block, walk

#: Classes whose instances are locks (``with``/``acquire`` on them serialises threads).
LOCK_TYPES = frozenset({
    "threading.Lock", "threading.RLock", "threading.Condition", "threading.Semaphore",
    "threading.BoundedSemaphore", "_thread.allocate_lock", "_thread.allocate", "_thread.LockType",
    "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Condition", "multiprocessing.Semaphore",
    "multiprocessing.BoundedSemaphore", "asyncio.Lock",
})
#: ``with`` on a call to one of these (or on a value made by one) holds no lock.
NOT_LOCK_PREFIXES = (
    "builtins.open", "builtins.memoryview", "io.", "os.", "contextlib.", "tempfile.", "socket.", "ssl.",
    "urllib.", "http.", "subprocess.", "concurrent.futures.", "multiprocessing.Pool", "multiprocessing.pool.",
    "multiprocessing.dummy.Pool", "warnings.", "unittest.", "sqlite3.", "zipfile.", "tarfile.", "gzip.",
    "bz2.", "lzma.", "codecs.", "selectors.", "shelve.", "dbm.", "mmap.", "wave.", "decimal.localcontext",
    "telnetlib.", "ftplib.", "smtplib.", "imaplib.", "poplib.", "requests.", "pytest.",
)
#: Words that make an unknown context manager call look like a lock: ``with self._lock_for(key):``.
_LOCKISH = ("lock", "mutex", "sem", "cond", "guard", "synchron", "critical", "atomic", "acquire")
#: Method calls after ``if x not in seen:`` that act on the checked container.
_ACT_METHODS = frozenset({"append", "insert", "extend", "pop", "remove", "popitem", "__setitem__"})
#: Methods of ``collections.Counter`` that read and write every count they touch.
_COUNTER_UPDATES = frozenset({"update", "subtract"})
COUNTER_TYPES = frozenset({"collections.Counter"})

RMW = "read-modify-write"
CHECK_THEN_ACT = "check-then-act"
RACING_WRITES = "racing writes"


@dataclass(frozen=True)
class Mutation:
    """A statement that races if ``target`` is shared between threads and no lock is held."""

    node: ast.stmt
    #: The expression written: a name, ``obj.attr``, ``container[key]``, or a Counter.
    target: ast.expr
    operation: str
    scope: Scope


@dataclass(frozen=True)
class FunctionFacts:
    mutations: tuple[Mutation, ...]
    #: Calls evaluated while no lock is held.
    unlocked_calls: tuple[CallSite, ...]


@dataclass(frozen=True)
class _Guard:
    """An enclosing ``if`` whose test reads ``keys`` (source text), and whether a lock was held.

    ``values`` are tested as a whole (``x is None``, ``not x``): only rebinding them acts on the
    check. ``contents`` are tested for what they hold (``k in d``, ``d.get(k)``, ``len(d)``):
    storing into them acts on it.
    """

    values: frozenset[str]
    contents: frozenset[str]
    held: bool

    @classmethod
    def of(cls, scope: Scope, test: ast.expr, held: bool) -> Optional[_Guard]:
        values: set[str] = set()
        contents: set[str] = set()
        _checked(scope, test, values, contents)
        return cls(frozenset(values), frozenset(contents), held) if values or contents else None


def function_facts(project: Project, function: FunctionInfo) -> FunctionFacts:
    """The racing candidates and unlocked calls of ``function`` (computed once per function)."""
    def compute() -> FunctionFacts:
        walker = _Walker(project, function)
        walker.run()
        return FunctionFacts(tuple(walker.mutations), tuple(walker.unlocked_calls))

    return project.memo("sync-facts", function.node, compute, FunctionFacts((), ()))


def is_possible_lock(project: Project, expr: ast.expr, scope: Scope) -> bool:
    """May ``with expr:`` hold a lock? True unless ``expr`` is known to be something else."""
    if isinstance(expr, ast.Call):
        name = project.qualified_name(expr.func, scope)
        if name in LOCK_TYPES:
            return True
        text = scope.module.code_of(expr.func).lower()
        return any(word in text for word in _LOCKISH) and not _known_not_lock(name)
    types = project.instance_types(expr, scope)
    if types and all(t is not None and _known_not_lock(t) for t in types):
        return False
    return True


def _known_not_lock(name: Optional[str]) -> bool:
    return name is not None and name not in LOCK_TYPES and name.startswith(NOT_LOCK_PREFIXES)


def code(scope: Scope, node: ast.AST) -> str:
    return scope.module.code_of(node).strip()


#: Statements with a body of their own; the others are evaluated whole.
_COMPOUND = (ast.If, *LOOPS, *WITHS, *TRIES, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
             *((ast.Match,) if hasattr(ast, "Match") else ()))


class _Walker:
    """One pass over a function body, tracking held locks and enclosing checks."""

    def __init__(self, project: Project, function: FunctionInfo) -> None:
        self.project = project
        self.function = function
        self.scope = function.scope
        self.mutations: list[Mutation] = []
        self.unlocked_calls: list[CallSite] = []
        self._unlocked_nodes: set[int] = set()
        self._loop_keys: list[str] = []
        #: Inside ``try: ... except (KeyError, ValueError):``: a lost check-then-act race is handled.
        self._tolerant = 0

    def run(self) -> None:
        decorated = any(_lockish_text(code(self.function.defining_scope, d))
                        for d in self.function.node.decorator_list)
        self._block(self.function.node.body, held=decorated, guards=())
        own = self.function.scope
        self.unlocked_calls = [
            site for site in self.function.calls
            if id(site.statement) in self._unlocked_nodes and site.scope.function_scope is own
        ]

    # -- statements ----------------------------------------------------------------------------

    def _block(self, statements: Sequence[ast.stmt], held: bool, guards: tuple[_Guard, ...]) -> None:
        acquired: set[str] = set()
        for statement in statements:
            now_held = held or bool(acquired)
            acquires = _acquired(self.scope, _header(statement))
            self._statement(statement, now_held or bool(acquires), guards)
            acquired |= acquires
            acquired -= _released(self.scope, statement)
            if isinstance(statement, ast.If) and not statement.orelse and ends_block(statement.body):
                # ``if k in cache: return cache[k]`` guards the rest of the block like an else branch.
                guard = _Guard.of(self.scope, statement.test, now_held or bool(acquires))
                if guard is not None:
                    guards = (*guards, guard)

    def _statement(self, statement: ast.stmt, held: bool, guards: tuple[_Guard, ...]) -> None:
        if not held:
            self._unlocked_nodes.add(id(statement))  # the statement, or the header of a compound one
        if not isinstance(statement, _COMPOUND):
            self._small(statement, held, guards)
        elif isinstance(statement, ast.If):
            guard = _Guard.of(self.scope, statement.test, held)
            inner = (*guards, guard) if guard is not None else guards
            self._block(statement.body, held, inner)
            if statement.orelse:
                self._block(statement.orelse, held, inner)
        elif isinstance(statement, WITHS):
            locked = held or any(is_possible_lock(self.project, item.context_expr, self.scope)
                                 for item in statement.items)
            self._block(statement.body, locked, guards)
        elif isinstance(statement, LOOPS):
            key = self._same_keys_loop(statement)
            if key is not None:
                self._loop_keys.append(key)
            self._block(statement.body, held, guards)
            if key is not None:
                self._loop_keys.pop()
            if statement.orelse:
                self._block(statement.orelse, held, guards)
        elif isinstance(statement, TRIES):
            tolerant = _catches_lookup_errors(statement)
            self._tolerant += tolerant
            self._block(statement.body, held, guards)  # type: ignore[attr-defined]
            self._tolerant -= tolerant
            for handler in statement.handlers:  # type: ignore[attr-defined]
                self._block(handler.body, held, guards)
            for extra in (statement.orelse, statement.finalbody):  # type: ignore[attr-defined]
                self._block(extra, held, guards)

    def _small(self, small: ast.stmt, held: bool, guards: tuple[_Guard, ...]) -> None:
        if held:
            self._checked_outside_lock(small, guards)
        elif isinstance(small, ast.AugAssign):
            self._add(small, small.target, RMW)
        elif isinstance(small, (ast.Assign, ast.AnnAssign)):
            targets = small.targets if isinstance(small, ast.Assign) else [small.target]
            value = small.value
            for target in targets:
                if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
                    continue
                if value is not None and _reads_back(self.scope, target, value):
                    self._add(small, target, RMW)
                elif _guarded_by(self.scope, target, guards, rebinds=True):
                    self._add(small, target, CHECK_THEN_ACT)
                elif isinstance(target, ast.Subscript) and _index_text(self.scope, target) in self._loop_keys:
                    self._add(small, target, RACING_WRITES)
        elif isinstance(small, ast.Delete):
            for element in _del_targets(small.targets):
                if isinstance(element, ast.Subscript) and _guarded_by(self.scope, element, guards, rebinds=False):
                    self._add(small, element, CHECK_THEN_ACT)
        elif isinstance(small, ast.Expr) and isinstance(small.value, ast.Call):
            self._method_call(small, small.value, guards)

    def _checked_outside_lock(self, small: ast.stmt, guards: tuple[_Guard, ...]) -> None:
        """Double-checked locking without the second check: tested unlocked, written locked."""
        targets: list[ast.expr] = []
        if isinstance(small, ast.Assign):
            targets = list(small.targets)
        elif isinstance(small, ast.AnnAssign):
            targets = [small.target]
        elif isinstance(small, ast.Expr) and isinstance(small.value, ast.Call):
            func = small.value.func
            if isinstance(func, ast.Attribute) and func.attr in _ACT_METHODS:
                targets = [func.value]
        for target in targets:
            if _guarded_by(self.scope, target, guards, rebinds=not isinstance(small, ast.Expr)):
                self._add(small, target, CHECK_THEN_ACT)

    def _method_call(self, small: ast.Expr, call: ast.Call, guards: tuple[_Guard, ...]) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        receiver = func.value
        method = func.attr
        if method in _ACT_METHODS and _guarded_by(self.scope, receiver, guards, rebinds=False):
            self._add(small, receiver, CHECK_THEN_ACT)
        elif method in _COUNTER_UPDATES:
            types = self.project.instance_types(receiver, self.scope)
            if types and all(t in COUNTER_TYPES for t in types):
                self._add(small, receiver, RMW)

    def _add(self, node: ast.stmt, target: ast.expr, operation: str) -> None:
        if operation == CHECK_THEN_ACT and self._tolerant:
            return
        self.mutations.append(Mutation(node, target, operation, self.scope))

    def _same_keys_loop(self, statement: ast.stmt) -> Optional[str]:
        """``for i in range(<no parameters>)``: every thread visits the same keys ``i``."""
        if not isinstance(statement, (ast.For, ast.AsyncFor)) or not isinstance(statement.target, ast.Name):
            return None
        iterable = statement.iter
        if not (isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name)
                and iterable.func.id == "range"):
            return None
        parameters = set(self.function.parameter_names)
        names = {n.id for n in walk(iterable) if isinstance(n, ast.Name)}
        if names & parameters:
            return None
        return statement.target.id


# -- expressions ---------------------------------------------------------------------------------


def _lockish_text(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _LOCKISH)


_LOOKUP_ERRORS = frozenset({"KeyError", "ValueError", "IndexError", "LookupError", "AttributeError"})


def _catches_lookup_errors(statement: ast.stmt) -> bool:
    """``except KeyError:``/``except (ValueError, ...)``: the code expects the entry to be gone."""
    for handler in getattr(statement, "handlers", ()):
        caught = handler.type
        names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
        if any(isinstance(n, ast.Name) and n.id in _LOOKUP_ERRORS for n in names):
            return True
    return False


def _header(statement: ast.stmt) -> Sequence[ast.AST]:
    """The parts of a statement evaluated before its body: all of a simple statement, an ``if`` test."""
    if not isinstance(statement, _COMPOUND):
        return [statement]
    test = getattr(statement, "test", None)
    return [test] if test is not None else []


def _method_receivers(scope: Scope, nodes: Sequence[ast.AST], method: str) -> set[str]:
    found = set()
    for node in nodes:
        for inner in walk(node):
            if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == method):
                found.add(code(scope, inner.func.value))
    return found


def _acquired(scope: Scope, header: Sequence[ast.AST]) -> set[str]:
    return _method_receivers(scope, header, "acquire")


def _released(scope: Scope, statement: ast.stmt) -> set[str]:
    return _method_receivers(scope, [statement], "release")


def _checked(scope: Scope, test: ast.expr, values: set[str], contents: set[str]) -> None:
    """Collect what an ``if`` test inspects: ``x is None`` -> value x, ``k in d`` -> contents of d."""
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            _checked(scope, value, values, contents)
    elif isinstance(test, ast.UnaryOp):
        _checked(scope, test.operand, values, contents)
    elif isinstance(test, ast.Compare):
        left = test.left
        for operator, comparator in zip(test.ops, test.comparators):
            if isinstance(operator, (ast.In, ast.NotIn)):
                if isinstance(comparator, (ast.Name, ast.Attribute, ast.Subscript)):
                    contents.add(code(scope, comparator))
            else:
                _subject(scope, left, values, contents)
                _subject(scope, comparator, values, contents)
            left = comparator
    else:
        _subject(scope, test, values, contents)


def _subject(scope: Scope, expr: ast.expr, values: set[str], contents: set[str]) -> None:
    if isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript)):
        values.add(code(scope, expr))
        if isinstance(expr, ast.Subscript):
            contents.add(code(scope, expr.value))
    elif isinstance(expr, ast.Call) and (expr.args or expr.keywords):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr == "get":
            contents.add(code(scope, func.value))
        elif isinstance(func, ast.Name) and func.id == "len" and expr.args:
            contents.add(code(scope, expr.args[0]))


def _guarded_by(scope: Scope, target: ast.expr, guards: tuple[_Guard, ...], rebinds: bool) -> bool:
    """The innermost enclosing check of ``target`` ran without a lock.

    ``rebinds``: the act assigns ``target`` itself (acts on a value check); otherwise it stores
    into ``target`` or its container (acts on a contents check).
    """
    text = code(scope, target)
    container = code(scope, target.value) if isinstance(target, ast.Subscript) else None
    for guard in reversed(guards):
        hit = (rebinds and text in guard.values) or text in guard.contents or container in guard.contents
        if hit:
            return not guard.held
    return False


def _reads_back(scope: Scope, target: ast.expr, value: ast.expr) -> bool:
    """``x = x + 1``, ``o.a = o.a + [v]``, ``d[k] = d.get(k, 0) + 1``: the value reads the target."""
    target_text = code(scope, target)
    container = code(scope, target.value) if isinstance(target, ast.Subscript) else None
    for node in walk(value):
        if isinstance(target, ast.Name):
            if isinstance(node, ast.Name) and node.id == target.id:
                return True
            continue
        if isinstance(node, type(target)) and code(scope, node) == target_text:
            return True
        if (container is not None and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault") and code(scope, node.func.value) == container):
            return True
    return False


def _index_text(scope: Scope, target: ast.Subscript) -> Optional[str]:
    if isinstance(target.slice, (ast.Tuple, ast.Slice)):
        return None
    return code(scope, target.slice)


def _del_targets(targets: Sequence[ast.expr]) -> list[ast.expr]:
    found: list[ast.expr] = []
    for target in targets:
        found.extend(target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])
    return found
