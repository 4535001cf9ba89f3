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

from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import libcst as cst

from gillint.project import CallSite, FunctionInfo, Project, Scope
from gillint.project.module import child_nodes

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

    node: cst.CSTNode
    #: The expression written: a name, ``obj.attr``, ``container[key]``, or a Counter.
    target: cst.BaseExpression
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
    def of(cls, scope: Scope, test: cst.BaseExpression, held: bool) -> Optional[_Guard]:
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


def is_possible_lock(project: Project, expr: cst.BaseExpression, scope: Scope) -> bool:
    """May ``with expr:`` hold a lock? True unless ``expr`` is known to be something else."""
    if isinstance(expr, cst.Call):
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


def code(scope: Scope, node: cst.CSTNode) -> str:
    return scope.module.code_of(node).strip()


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
        decorated = any(_lockish_text(code(self.function.defining_scope, d.decorator))
                        for d in self.function.node.decorators)
        self._block(_statements(self.function.node.body), held=decorated, guards=())
        own = self.function.scope
        self.unlocked_calls = [
            site for site in self.function.calls
            if id(site.statement) in self._unlocked_nodes and site.scope.function_scope is own
        ]

    # -- statements ----------------------------------------------------------------------------

    def _block(self, statements: Sequence[cst.BaseStatement], held: bool, guards: tuple[_Guard, ...]) -> None:
        acquired: set[str] = set()
        for statement in statements:
            now_held = held or bool(acquired)
            acquires = _acquired(self.scope, _header(statement))
            self._statement(statement, now_held or bool(acquires), guards)
            acquired |= acquires
            acquired -= _released(self.scope, statement)
            if isinstance(statement, cst.If) and statement.orelse is None and _leaves(statement.body):
                # ``if k in cache: return cache[k]`` guards the rest of the block like an else branch.
                guard = _Guard.of(self.scope, statement.test, now_held or bool(acquires))
                if guard is not None:
                    guards = (*guards, guard)

    def _statement(self, statement: cst.BaseStatement, held: bool, guards: tuple[_Guard, ...]) -> None:
        if not held:
            self._mark_unlocked(statement)
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if not held:
                    self._unlocked_nodes.add(id(small))
                self._small(small, held, guards)
        elif isinstance(statement, cst.If):
            guard = _Guard.of(self.scope, statement.test, held)
            inner = (*guards, guard) if guard is not None else guards
            self._block(_statements(statement.body), held, inner)
            if statement.orelse is not None:
                orelse = statement.orelse
                body = [orelse] if isinstance(orelse, cst.If) else _statements(orelse.body)
                self._block(body, held, inner)
        elif isinstance(statement, cst.With):
            locked = held or any(is_possible_lock(self.project, item.item, self.scope) for item in statement.items)
            self._block(_statements(statement.body), locked, guards)
        elif isinstance(statement, (cst.For, cst.While)):
            key = self._same_keys_loop(statement)
            if key is not None:
                self._loop_keys.append(key)
            self._block(_statements(statement.body), held, guards)
            if key is not None:
                self._loop_keys.pop()
            if statement.orelse is not None:
                self._block(_statements(statement.orelse.body), held, guards)
        elif isinstance(statement, cst.Try) or type(statement).__name__ == "TryStar":
            tolerant = _catches_lookup_errors(statement)
            self._tolerant += tolerant
            self._block(_statements(statement.body), held, guards)  # type: ignore[attr-defined]
            self._tolerant -= tolerant
            for handler in statement.handlers:  # type: ignore[attr-defined]
                self._block(_statements(handler.body), held, guards)
            for extra in (statement.orelse, statement.finalbody):  # type: ignore[attr-defined]
                if extra is not None:
                    self._block(_statements(extra.body), held, guards)

    def _mark_unlocked(self, statement: cst.BaseStatement) -> None:
        """Calls in the header of a compound statement (``if f():``, ``for x in g():``)."""
        self._unlocked_nodes.add(id(statement))

    def _small(self, small: cst.BaseSmallStatement, held: bool, guards: tuple[_Guard, ...]) -> None:
        if held:
            self._checked_outside_lock(small, guards)
        elif isinstance(small, cst.AugAssign):
            self._add(small, small.target, RMW)
        elif isinstance(small, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            value = small.value
            for target in targets:
                if not isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)):
                    continue
                if value is not None and _reads_back(self.scope, target, value):
                    self._add(small, target, RMW)
                elif _guarded_by(self.scope, target, guards, rebinds=True):
                    self._add(small, target, CHECK_THEN_ACT)
                elif isinstance(target, cst.Subscript) and _index_text(self.scope, target) in self._loop_keys:
                    self._add(small, target, RACING_WRITES)
        elif isinstance(small, cst.Del):
            for element in _del_targets(small.target):
                if isinstance(element, cst.Subscript) and _guarded_by(self.scope, element, guards, rebinds=False):
                    self._add(small, element, CHECK_THEN_ACT)
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            self._method_call(small, small.value, guards)

    def _checked_outside_lock(self, small: cst.BaseSmallStatement, guards: tuple[_Guard, ...]) -> None:
        """Double-checked locking without the second check: tested unlocked, written locked."""
        targets: list[cst.BaseExpression] = []
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
        elif isinstance(small, cst.AnnAssign):
            targets = [small.target]
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            func = small.value.func
            if isinstance(func, cst.Attribute) and func.attr.value in _ACT_METHODS:
                targets = [func.value]
        for target in targets:
            if _guarded_by(self.scope, target, guards, rebinds=not isinstance(small, cst.Expr)):
                self._add(small, target, CHECK_THEN_ACT)

    def _method_call(self, small: cst.Expr, call: cst.Call, guards: tuple[_Guard, ...]) -> None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        receiver = func.value
        method = func.attr.value
        if method in _ACT_METHODS and _guarded_by(self.scope, receiver, guards, rebinds=False):
            self._add(small, receiver, CHECK_THEN_ACT)
        elif method in _COUNTER_UPDATES:
            types = self.project.instance_types(receiver, self.scope)
            if types and all(t in COUNTER_TYPES for t in types):
                self._add(small, receiver, RMW)

    def _add(self, node: cst.CSTNode, target: cst.BaseExpression, operation: str) -> None:
        if operation == CHECK_THEN_ACT and self._tolerant:
            return
        self.mutations.append(Mutation(node, target, operation, self.scope))

    def _same_keys_loop(self, statement: cst.BaseStatement) -> Optional[str]:
        """``for i in range(<no parameters>)``: every thread visits the same keys ``i``."""
        if not isinstance(statement, cst.For) or not isinstance(statement.target, cst.Name):
            return None
        iterable = statement.iter
        if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name)
                and iterable.func.value == "range"):
            return None
        parameters = set(self.function.parameter_names)
        names = {n.value for n in _walk(iterable) if isinstance(n, cst.Name)}
        if names & parameters:
            return None
        return statement.target.value


# -- expressions ---------------------------------------------------------------------------------


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and its descendants, not entering nested functions or lambdas."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(child_nodes(current))


def _lockish_text(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _LOCKISH)


def _statements(body: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(body, cst.IndentedBlock):
        return body.body
    return [cst.SimpleStatementLine(body=body.body)] if isinstance(body, cst.SimpleStatementSuite) else []


_LOOKUP_ERRORS = frozenset({"KeyError", "ValueError", "IndexError", "LookupError", "AttributeError"})


def _catches_lookup_errors(statement: cst.CSTNode) -> bool:
    """``except KeyError:``/``except (ValueError, ...)``: the code expects the entry to be gone."""
    for handler in getattr(statement, "handlers", ()):
        caught = handler.type
        names = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
        if any(isinstance(n, cst.Name) and n.value in _LOOKUP_ERRORS for n in names):
            return True
    return False


def _leaves(body: cst.BaseSuite) -> bool:
    """The block ends with ``return``/``raise``/``continue``/``break``."""
    statements = _statements(body)
    last = statements[-1] if statements else None
    return (isinstance(last, cst.SimpleStatementLine)
            and isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break)))


def _header(statement: cst.BaseStatement) -> Sequence[cst.CSTNode]:
    """The parts of a statement evaluated before its body: all of a simple line, an ``if`` test."""
    if isinstance(statement, cst.SimpleStatementLine):
        return [statement]
    test = getattr(statement, "test", None)
    return [test] if test is not None else []


def _method_receivers(scope: Scope, nodes: Sequence[cst.CSTNode], method: str) -> set[str]:
    found = set()
    for node in nodes:
        for inner in _walk(node):
            if (isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)
                    and inner.func.attr.value == method):
                found.add(code(scope, inner.func.value))
    return found


def _acquired(scope: Scope, header: Sequence[cst.CSTNode]) -> set[str]:
    return _method_receivers(scope, header, "acquire")


def _released(scope: Scope, statement: cst.BaseStatement) -> set[str]:
    return _method_receivers(scope, [statement], "release")


def _checked(scope: Scope, test: cst.BaseExpression, values: set[str], contents: set[str]) -> None:
    """Collect what an ``if`` test inspects: ``x is None`` -> value x, ``k in d`` -> contents of d."""
    if isinstance(test, cst.BooleanOperation):
        _checked(scope, test.left, values, contents)
        _checked(scope, test.right, values, contents)
    elif isinstance(test, cst.UnaryOperation):
        _checked(scope, test.expression, values, contents)
    elif isinstance(test, cst.Comparison):
        left = test.left
        for comparison in test.comparisons:
            if isinstance(comparison.operator, (cst.In, cst.NotIn)):
                if isinstance(comparison.comparator, (cst.Name, cst.Attribute, cst.Subscript)):
                    contents.add(code(scope, comparison.comparator))
            else:
                _subject(scope, left, values, contents)
                _subject(scope, comparison.comparator, values, contents)
            left = comparison.comparator
    else:
        _subject(scope, test, values, contents)


def _subject(scope: Scope, expr: cst.BaseExpression, values: set[str], contents: set[str]) -> None:
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript)):
        if not (isinstance(expr, cst.Name) and expr.value in ("None", "True", "False")):
            values.add(code(scope, expr))
        if isinstance(expr, cst.Subscript):
            contents.add(code(scope, expr.value))
    elif isinstance(expr, cst.Call) and expr.args:
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value == "get":
            contents.add(code(scope, func.value))
        elif isinstance(func, cst.Name) and func.value == "len":
            contents.add(code(scope, expr.args[0].value))


def _guarded_by(scope: Scope, target: cst.BaseExpression, guards: tuple[_Guard, ...], rebinds: bool) -> bool:
    """The innermost enclosing check of ``target`` ran without a lock.

    ``rebinds``: the act assigns ``target`` itself (acts on a value check); otherwise it stores
    into ``target`` or its container (acts on a contents check).
    """
    text = code(scope, target)
    container = code(scope, target.value) if isinstance(target, cst.Subscript) else None
    for guard in reversed(guards):
        hit = (rebinds and text in guard.values) or text in guard.contents or container in guard.contents
        if hit:
            return not guard.held
    return False


def _reads_back(scope: Scope, target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    """``x = x + 1``, ``o.a = o.a + [v]``, ``d[k] = d.get(k, 0) + 1``: the value reads the target."""
    target_text = code(scope, target)
    container = code(scope, target.value) if isinstance(target, cst.Subscript) else None
    for node in _walk(value):
        if isinstance(target, cst.Name):
            if isinstance(node, cst.Name) and node.value == target.value:
                return True
            continue
        if isinstance(node, type(target)) and code(scope, node) == target_text:
            return True
        if (container is not None and isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in ("get", "setdefault") and code(scope, node.func.value) == container):
            return True
    return False


def _index_text(scope: Scope, target: cst.Subscript) -> Optional[str]:
    if len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
        return None
    return code(scope, target.slice[0].slice.value)


def _del_targets(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [e.value for e in target.elements]
    return [target]
