"""What a function does to state, and whether a lock is held while it does it.

:func:`function_facts` walks a function body once (memoised per function) and records, without
knowing yet which objects are shared:

- mutations that race when the state is shared: read-modify-writes (``x += 1``, ``x = x + 1``,
  ``d[k] = d.get(k, 0) + 1``, ``Counter.update``), check-then-acts (a write under an ``if`` that
  tested the same thing) and writes of the same keys from every thread (``shared[i] = ...`` in a
  ``for i in range(...)`` loop),
- the calls it makes while no lock is held (so callees are analysed only on unlocked paths).

A check is what an ``if`` tests (``k in cache``, ``self._inst is None``, ``q.empty()``), also
through a variable that holds it (``pool = pools.get(key)``, ``if pool is None:``), a method that
returns it (``if not self.has(k):``), or a ``try:``/``except AttributeError:`` around reading it.
Its act is a write of the same thing under the ``if`` (or after an ``if ...: return``), also through
a method that writes it (``self.add(k)``). A check-then-act races unless one lock block holds both:
a check and an act each under the lock but in separate ``with`` blocks race too.

A lock is held inside ``with X:`` when ``X`` may be a lock, and between ``X.acquire()`` and
``X.release()`` in a block (``try``/``finally`` included). Precision first: a ``with`` on an object
gillint cannot type (``with self._guard:``, a parameter) counts as a lock; only objects known to be
something else (files, executors, sockets, ``contextlib`` helpers...) do not. Separate lock blocks
count as a race only when both hold objects known to be locks.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from gillint.project import BindingKind, CallSite, FunctionInfo, ModuleInfo, Project, Scope, TargetKind
from gillint.project.syntax import LOOPS, TRIES, WITHS, dotted, ends_block, terminal_name, walk

#: Classes whose instances are locks (``with``/``acquire`` on them serialises threads).
LOCK_TYPES = frozenset({
    "threading.Lock", "threading.RLock", "threading.Condition", "threading.Semaphore",
    "threading.BoundedSemaphore", "_thread.allocate_lock", "_thread.allocate", "_thread.LockType",
    "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Condition", "multiprocessing.Semaphore",
    "multiprocessing.BoundedSemaphore", "asyncio.Lock",
})
#: Locks between threads (an ``asyncio.Lock`` orders the coroutines of one thread).
THREAD_LOCK_TYPES = LOCK_TYPES - {"asyncio.Lock"}
#: ``with`` on a call to one of these (or on a value made by one) holds no lock.
NOT_LOCK_PREFIXES = (
    "builtins.open", "builtins.memoryview", "io.", "os.", "contextlib.", "tempfile.", "socket.", "ssl.",
    "urllib.", "http.", "subprocess.", "concurrent.futures.", "multiprocessing.Pool", "multiprocessing.pool.",
    "multiprocessing.dummy.Pool", "warnings.", "unittest.", "sqlite3.", "zipfile.", "tarfile.", "gzip.",
    "bz2.", "lzma.", "codecs.", "selectors.", "shelve.", "dbm.", "mmap.", "wave.", "decimal.localcontext",
    "telnetlib.", "ftplib.", "smtplib.", "imaplib.", "poplib.", "requests.", "pytest.",
)
#: Queues: each call is atomic, ``if not q.empty(): q.get()`` is not (``Queue`` is Python 2's ``queue``).
QUEUE_TYPES = frozenset({
    "queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "queue.SimpleQueue", "multiprocessing.dummy.Queue",
    "Queue.Queue", "Queue.LifoQueue", "Queue.PriorityQueue",
})
#: Words that make an unknown context manager call look like a lock: ``with self._lock_for(key):``.
_LOCKISH = ("lock", "mutex", "sem", "cond", "guard", "synchron", "critical", "atomic", "acquire")
#: Method calls after ``if x not in seen:`` that act on the checked container.
_ACT_METHODS = frozenset({"append", "insert", "extend", "pop", "remove", "popitem", "__setitem__"})
#: Methods of ``collections.Counter`` that read and write every count they touch.
_COUNTER_UPDATES = frozenset({"update", "subtract"})
COUNTER_TYPES = frozenset({"collections.Counter"})
#: Queue methods that report what a queue holds, and the blocking call each makes unsafe.
_QUEUE_CHECKS = {"empty": "get", "qsize": "get", "full": "put"}

RMW = "read-modify-write"
CHECK_THEN_ACT = "check-then-act"
RACING_WRITES = "racing writes"

#: How a lock shows that a check-then-act expects several threads (:attr:`Mutation.lock_shape`).
UNCHECKED_UNDER_LOCK = "unchecked under the lock"  # double-checked locking without the second check
SEPARATE_BLOCKS = "separate lock blocks"  # the check and the act each hold the lock, in different blocks
CREATES_LOCK = "creates the lock"  # lazy creation of the lock itself


@dataclass(frozen=True)
class Region:
    """Where a lock is held: a ``with`` block, ``acquire()`` to ``release()``, a locking decorator."""

    node_id: int
    #: The lock as written (``self._lock``); the decorator's text for a decorator.
    lock: str
    #: The object is known to be a lock (not just possibly one).
    known: bool


Held = tuple[Region, ...]


@dataclass(frozen=True)
class Mutation:
    """A statement that races if ``target`` is shared between threads and no lock is held."""

    node: ast.stmt
    #: The expression written: a name, ``obj.attr``, ``container[key]``, or a Counter.
    target: ast.expr
    operation: str
    scope: Scope
    #: For a check-then-act: the line of the check it acts on.
    check_line: Optional[int] = None
    #: A lock that shows the code expects several threads: the act takes it but the check did not
    #: (double-checked locking without the second check), the check and the act take it in separate
    #: blocks, or the act creates the lock itself. Such a mutation races wherever threads run it.
    lock: Optional[str] = None
    #: Which of those (:data:`UNCHECKED_UNDER_LOCK`, :data:`SEPARATE_BLOCKS`, :data:`CREATES_LOCK`).
    lock_shape: Optional[str] = None
    #: The act stores a new object (``cls()``, ``Pool(...)``, ``{}``): two threads that both pass the
    #: check make two of them (a cached value computed twice is only duplicated work).
    constructs: bool = False


@dataclass(frozen=True)
class FunctionFacts:
    mutations: tuple[Mutation, ...]
    #: Calls evaluated while no lock is held.
    unlocked_calls: tuple[CallSite, ...]
    #: Writes made while a known lock is held (``with self._lock: self.count += 1``), with the lock:
    #: state that the code protects with a lock, which other threads therefore share.
    locked_writes: tuple[tuple[ast.stmt, ast.expr, str], ...] = ()


@dataclass(frozen=True)
class _Guard:
    """A check (``values`` and ``contents`` as source text) and the locks held while it ran.

    ``values`` are tested as a whole (``x is None``, ``not x``): only rebinding them acts on the
    check. ``contents`` are tested for what they hold (``k in d``, ``d.get(k)``, ``len(d)``,
    ``q.empty()``): storing into them acts on it.
    """

    values: frozenset[str]
    contents: frozenset[str]
    held: Held
    line: int


@dataclass(frozen=True)
class _Check:
    """What an expression checks, before the locks are known."""

    values: frozenset[str]
    contents: frozenset[str]


def function_facts(project: Project, function: FunctionInfo) -> FunctionFacts:
    """The racing candidates and unlocked calls of ``function`` (computed once per function)."""
    def compute() -> FunctionFacts:
        walker = _Walker(project, function)
        walker.run()
        return FunctionFacts(tuple(walker.mutations), tuple(walker.unlocked_calls), tuple(walker.locked_writes))

    return project.memo("sync-facts", function.node, compute, FunctionFacts((), ()))


def called_with_lock(project: Project, function: FunctionInfo) -> bool:
    """Does every caller hold a lock when it calls ``function``?

    True when the function says so (``_read_unlocked``, ``_flush_locked``, a comment such as "you are
    already holding the lock"), or when each of its uses in its module is a call made with a lock
    held (itself, or by a caller that is always called so). A function used any other way
    (``flush = self._flush``), or not used in its module, may be called without one.
    """
    def compute() -> bool:
        if _LOCKED_NAME.search(function.name) or _says_caller_locks(function):
            return True
        module = function.module
        sites = {id(site.node.func): site for site in module.calls}
        called = False
        for use in _name_uses(project, module).get(function.name, ()):
            site = sites.get(id(use))
            if site is None:
                return False  # ``flush = self._flush``: it may be called anywhere
            targets = project.callable_targets(site.node.func, site.scope)
            if not any(t.function is function for t in targets):
                if all(t.kind is TargetKind.FUNCTION and t.function is not None for t in targets):
                    continue  # another function of the same name
                return False
            called = True
            caller = _enclosing_def(site)
            if caller is None:
                return False
            if site in function_facts(project, caller).unlocked_calls and not called_with_lock(project, caller):
                return False
        return called

    return project.memo("called-with-lock", function.node, compute, False)


def sometimes_called_with_lock(project: Project, function: FunctionInfo) -> bool:
    """Is ``function`` called with a lock held at some call in its module?

    Then its callers take the lock for it, and a call without one is where a race would be fixed,
    not the function's own statements (waitress flushes with the lock held, and without it only when
    no task thread runs).
    """
    def compute() -> bool:
        module = function.module
        sites = {id(site.node.func): site for site in module.calls}
        for use in _name_uses(project, module).get(function.name, ()):
            site = sites.get(id(use))
            caller = _enclosing_def(site) if site is not None else None
            if site is None or caller is None or caller is function or site.scope.function_scope is not caller.scope:
                continue
            if not any(t.function is function for t in project.callable_targets(site.node.func, site.scope)):
                continue
            if site not in function_facts(project, caller).unlocked_calls:
                return True
        return False

    return project.memo("sometimes-called-with-lock", function.node, compute, False)


def says_one_thread(function: FunctionInfo) -> bool:
    """Does the docstring say one thread alone runs the function ("Only one thread should ever be in
    this function")? Its callers keep that promise; its own updates race with no one."""
    body = function.node.body
    if not body or not _is_docstring(body[0]):
        return False
    return bool(_ONE_THREAD.search(body[0].value.value))  # type: ignore[attr-defined]


#: Docstrings that say one thread runs the function.
_ONE_THREAD = re.compile(r"\b(only|just) (one|a single) thread\b|\bsingle[- ]threaded\b|\bnot thread[- ]safe\b",
                         re.IGNORECASE)


#: Names that say the caller holds the lock: ``_read_unlocked`` ("does not lock: call me locked").
_LOCKED_NAME = re.compile(r"_(unlocked|locked|nolock|no_lock)$")
#: Comments and docstrings that say so: "you are already holding the lock", "caller must hold the lock".
_CALLER_LOCKS = re.compile(r"(holding|hold|holds|held|acquired|with)\b[^\n]{0,30}\block", re.IGNORECASE)


def _name_uses(project: Project, module: ModuleInfo) -> dict[str, list[ast.expr]]:
    """Every name and attribute read in ``module``, by name (computed once per module)."""
    def compute() -> dict[str, list[ast.expr]]:
        uses: dict[str, list[ast.expr]] = {}
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                uses.setdefault(node.attr, []).append(node)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                uses.setdefault(node.id, []).append(node)
        return uses

    return project.memo("name-uses", module.tree, compute, {})


def _says_caller_locks(function: FunctionInfo) -> bool:
    """The docstring, or a comment before the first statement, says the caller holds the lock."""
    body = function.node.body
    if not body:
        return False
    module = function.module
    first = body[0]
    texts = [first.value.value] if _is_docstring(first) else []  # type: ignore[attr-defined]
    start = module.line_of(body[1]) if _is_docstring(first) and len(body) > 1 else module.line_of(first)
    texts += [line.strip() for line in module.lines[function.node.lineno:start]
              if line.strip().startswith("#")]
    return any(_CALLER_LOCKS.search(text) for text in texts)


def _name_of(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _enclosing_def(site: CallSite) -> Optional[FunctionInfo]:
    scope: Optional[Scope] = site.scope
    while scope is not None:
        if scope.function is not None:
            return scope.function
        scope = scope.parent
    return None


def asks_whose_turn(function: FunctionInfo) -> bool:
    """Does the function compare something with the running thread (``self._owner == get_ident()``)?
    Its updates may be the owner's alone, as in a re-entrant lock."""
    for node in walk(ast.Module(body=function.node.body, type_ignores=[])):
        if isinstance(node, ast.Call) and terminal_name(node.func) in _WHO:
            return True
    return False


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


def is_known_lock(project: Project, expr: ast.expr, scope: Scope) -> bool:
    """Is ``expr`` a lock between threads for sure: made by a :data:`THREAD_LOCK_TYPES` call?"""
    if isinstance(expr, ast.Call):
        return lock_type(project, expr, scope) in THREAD_LOCK_TYPES
    values = project.values(expr, scope)
    return bool(values) and all(isinstance(v.expr, ast.Call) and lock_type(project, v.expr, v.scope)
                                in THREAD_LOCK_TYPES for v in values)


#: Modules that stand in for another where it is missing (``except ImportError: import dummy_threading``).
_FALLBACK_MODULES = {"dummy_threading": "threading", "_dummy_thread": "_thread"}


def lock_type(project: Project, call: ast.Call, scope: Scope) -> Optional[str]:
    """The qualified name of what ``call`` makes, through aliases such as ``Lock = threading.RLock`` in
    another project module and ``try: import threading / except ImportError: import dummy_threading
    as threading``."""
    name = project.qualified_name(call.func, scope)
    if name is None and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        bindings = scope.lookup(call.func.value.id)
        modules = {_FALLBACK_MODULES.get(b.imported or "", b.imported) for b in bindings
                   if b.kind is BindingKind.IMPORT}
        if len(modules) == 1 and len(bindings) == len([b for b in bindings if b.kind is BindingKind.IMPORT]):
            name = f"{modules.pop()}.{call.func.attr}"
    return _unaliased(project, name, 0)


def _unaliased(project: Project, name: Optional[str], depth: int) -> Optional[str]:
    """``pkg.compat.Lock`` where ``pkg/compat.py`` says ``Lock = threading.RLock``: ``threading.RLock``."""
    if name is None or depth > 3 or name in LOCK_TYPES or "." not in name:
        return name
    module_name, _, attribute = name.rpartition(".")
    module = project.module(module_name) if project.may_start_workers(name) or attribute.endswith("Lock") else None
    if module is None:
        return name
    bindings = module.scope.bindings.get(attribute, [])
    if len(bindings) != 1 or bindings[0].value is None:
        return name
    binding = bindings[0]
    if binding.kind is BindingKind.IMPORT:
        return _unaliased(project, binding.imported, depth + 1)
    if binding.kind is BindingKind.ASSIGN and isinstance(binding.value, (ast.Name, ast.Attribute)):
        return _unaliased(project, project.qualified_name(binding.value, module.scope), depth + 1)
    return name


def _known_not_lock(name: Optional[str]) -> bool:
    return name is not None and name not in LOCK_TYPES and name.startswith(NOT_LOCK_PREFIXES)


def code(scope: Scope, node: ast.AST) -> str:
    return scope.module.code_of(node).strip()


def method_check(project: Project, method: FunctionInfo) -> Optional[_Check]:
    """What a method's result checks about its own object: ``return key in self._items`` checks the
    contents of ``self._items`` (texts start with the method's ``self`` name)."""
    def compute() -> Optional[_Check]:
        body = [s for s in method.node.body if not _is_docstring(s)]
        if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
            return None
        values: set[str] = set()
        contents: set[str] = set()
        _checked(method.scope, body[0].value, values, contents)
        own = _self_name(method)
        values = {v for v in values if _on_self(v, own)}
        contents = {c for c in contents if _on_self(c, own)}
        return _Check(frozenset(values), frozenset(contents)) if values or contents else None

    return project.memo("method-check", method.node, compute, None)


def method_acts(project: Project, method: FunctionInfo) -> tuple[frozenset[str], frozenset[str]]:
    """What a method writes on its own object: ``(rebound attributes, attributes stored into)`` as
    ``self.x`` texts (``self._inst = ...`` rebinds, ``self._items[k] = v``/``self._items.append(v)``
    store into), also in the functions it defines (a thread's target that sets ``self._loop``)."""
    def compute() -> tuple[frozenset[str], frozenset[str]]:
        own = _self_name(method)
        rebound: set[str] = set()
        stored: set[str] = set()
        if own is None:
            return frozenset(), frozenset()
        for node in walk(ast.Module(body=method.node.body, type_ignores=[]), into_scopes=True):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and syntax_self(target.value, own):
                    rebound.add(f"{own}.{target.attr}")
                elif isinstance(target, ast.Subscript):
                    container = target.value
                    if isinstance(container, ast.Attribute) and syntax_self(container.value, own):
                        stored.add(f"{own}.{container.attr}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _ACT_METHODS and isinstance(node.func.value, ast.Attribute)
                    and syntax_self(node.func.value.value, own)):
                stored.add(f"{own}.{node.func.value.attr}")
        return frozenset(rebound), frozenset(stored)

    nothing: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    return project.memo("method-acts", method.node, compute, nothing)


def syntax_self(expr: ast.AST, own: str) -> bool:
    return isinstance(expr, ast.Name) and expr.id == own


def _self_name(method: FunctionInfo) -> Optional[str]:
    names = method.parameter_names
    return names[0] if method.owner is not None and names else None


def _on_self(text: str, own: Optional[str]) -> bool:
    return own is not None and text.startswith(f"{own}.")


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


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
        self.locked_writes: list[tuple[ast.stmt, ast.expr, str]] = []
        self._unlocked_nodes: set[int] = set()
        self._loop_keys: list[str] = []
        #: Inside ``try: ... except (KeyError, ValueError):``: a lost check-then-act race is handled.
        self._tolerant = 0
        #: Local names holding a check: ``pool = self.pools.get(key)`` (the check, and its locks).
        self._check_variables: dict[str, _Guard] = {}

    def run(self) -> None:
        decorators = [d for d in self.function.node.decorator_list
                      if _lockish_text(code(self.function.defining_scope, d))]
        held: Held = tuple(Region(id(d), code(self.function.defining_scope, d), False) for d in decorators[:1])
        self._block(self.function.node.body, held, guards=())
        own = self.function.scope
        self.unlocked_calls = [
            site for site in self.function.calls
            if id(site.statement) in self._unlocked_nodes and site.scope.function_scope is own
        ]

    # -- statements ----------------------------------------------------------------------------

    def _block(self, statements: Sequence[ast.stmt], held: Held, guards: tuple[_Guard, ...]) -> tuple[_Guard, ...]:
        """Walk a block; returns the checks its ``if ...: return`` statements leave for what follows."""
        acquired: dict[str, Region] = {}
        added: tuple[_Guard, ...] = ()
        for statement in statements:
            now_held = held + tuple(acquired.values())
            acquires = {text: Region(id(statement), text, self._known_lock_text(statement, text))
                        for text in _acquired(self.scope, _header(statement)) if text not in acquired}
            inside = now_held + tuple(acquires.values())
            left = self._statement(statement, inside, guards)
            acquired.update(acquires)
            for text in _released(self.scope, statement):
                acquired.pop(text, None)
            if isinstance(statement, ast.If) and not statement.orelse and ends_block(statement.body):
                # ``if k in cache: return cache[k]`` guards the rest of the block like an else branch.
                left = (*left, *self._guards(statement.test, inside))
            guards, added = (*guards, *left), (*added, *left)
        return added

    def _statement(self, statement: ast.stmt, held: Held, guards: tuple[_Guard, ...]) -> tuple[_Guard, ...]:
        """Walk a statement; returns the checks that hold after it (those a ``with`` body leaves)."""
        if not held:
            self._unlocked_nodes.add(id(statement))  # the statement, or the header of a compound one
        if not isinstance(statement, _COMPOUND):
            self._small(statement, held, guards)
        elif isinstance(statement, ast.If):
            inner = (*guards, *self._guards(statement.test, held))
            self._block(statement.body, held, inner)
            if statement.orelse:
                self._block(statement.orelse, held, inner)
        elif isinstance(statement, WITHS):
            regions = tuple(Region(id(statement), code(self.scope, item.context_expr),
                                   is_known_lock(self.project, item.context_expr, self.scope))
                            for item in statement.items
                            if is_possible_lock(self.project, item.context_expr, self.scope))
            return self._block(statement.body, held + regions[:1], guards)
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
            # ``if done: return`` at the top of ``try`` also holds in the handlers and after the ``try``.
            left = self._block(statement.body, held, guards)  # type: ignore[attr-defined]
            self._tolerant -= tolerant
            lazy = self._lazy_guard(statement, held)
            after = (*guards, *left)
            for handler in statement.handlers:  # type: ignore[attr-defined]
                self._block(handler.body, held, (*after, lazy) if lazy is not None else after)
            for extra in (statement.orelse, statement.finalbody):  # type: ignore[attr-defined]
                self._block(extra, held, after)
            return left
        return ()

    def _small(self, small: ast.stmt, held: Held, guards: tuple[_Guard, ...]) -> None:
        self._queue_acts(small, held, guards)
        if held:
            self._record_locked_write(small, held)
            self._checked_outside_lock(small, held, guards)
        elif isinstance(small, ast.AugAssign):
            self._add(small, small.target, RMW)
        elif isinstance(small, (ast.Assign, ast.AnnAssign)):
            targets = small.targets if isinstance(small, ast.Assign) else [small.target]
            value = small.value
            for target in targets:
                if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
                    continue
                guard = _guarded_by(self.scope, target, guards, True, held)
                if value is not None and _reads_back(self.scope, target, value):
                    self._add(small, target, RMW)
                elif guard is not None and not self._same_for_every_thread(value):
                    self._add(small, target, CHECK_THEN_ACT, guard, lock=self._lock_evidence(guard, held, value))
                elif isinstance(target, ast.Subscript) and _index_text(self.scope, target) in self._loop_keys:
                    self._add(small, target, RACING_WRITES)
        elif isinstance(small, ast.Delete):
            for element in _del_targets(small.targets):
                guard = _guarded_by(self.scope, element, guards, False, held) \
                    if isinstance(element, ast.Subscript) else None
                if guard is not None:
                    self._add(small, element, CHECK_THEN_ACT, guard)
        elif isinstance(small, ast.Expr) and isinstance(small.value, ast.Call):
            self._method_call(small, small.value, held, guards)
        if isinstance(small, ast.Return) and isinstance(small.value, ast.Call) \
                and isinstance(small.value.func, ast.Attribute):
            self._acting_method(small, small.value, held, guards)  # ``return self._start()`` acts too
        self._remember_check(small, held)

    def _record_locked_write(self, small: ast.stmt, held: Held) -> None:
        known = [region for region in held if region.known]
        if not known:
            return
        targets: list[ast.expr] = []
        if isinstance(small, ast.Assign):
            targets = list(small.targets)
        elif isinstance(small, (ast.AugAssign, ast.AnnAssign)):
            targets = [small.target]
        for target in targets:
            if isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
                self.locked_writes.append((small, target, known[-1].lock))

    def _checked_outside_lock(self, small: ast.stmt, held: Held, guards: tuple[_Guard, ...]) -> None:
        """A check made without the lock (or under the lock, in another block) acted on under it:
        double-checked locking without the second check."""
        targets: list[ast.expr] = []
        value: Optional[ast.expr] = None
        if isinstance(small, ast.Assign):
            targets, value = list(small.targets), small.value
        elif isinstance(small, ast.AnnAssign):
            targets, value = [small.target], small.value
        elif isinstance(small, ast.Expr) and isinstance(small.value, ast.Call):
            func = small.value.func
            if isinstance(func, ast.Attribute) and func.attr in _ACT_METHODS:
                targets = [] if _tolerates_absence(small.value) else [func.value]
            else:
                self._method_call(small, small.value, held, guards)
        for target in targets:
            if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
                continue
            guard = _guarded_by(self.scope, target, guards, not isinstance(small, ast.Expr), held)
            if guard is not None and not self._same_for_every_thread(value):
                self._add(small, target, CHECK_THEN_ACT, guard, lock=self._lock_evidence(guard, held, value))

    def _method_call(self, small: ast.Expr, call: ast.Call, held: Held, guards: tuple[_Guard, ...]) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        receiver = func.value
        method = func.attr
        if method in _ACT_METHODS:
            if _tolerates_absence(call):
                return
            guard = _guarded_by(self.scope, receiver, guards, False, held)
            if guard is not None:
                self._add(small, receiver, CHECK_THEN_ACT, guard, lock=self._lock_evidence(guard, held, None))
            return
        if method in _COUNTER_UPDATES:
            types = self.project.instance_types(receiver, self.scope)
            if types and all(t in COUNTER_TYPES for t in types):
                if not held:
                    self._add(small, receiver, RMW)
                return
        self._acting_method(small, call, held, guards)

    def _acting_method(self, small: ast.stmt, call: ast.Call, held: Held, guards: tuple[_Guard, ...]) -> None:
        """``self.add(k)`` after ``if not self.has(k):``: a method that writes what the check read."""
        func = call.func
        assert isinstance(func, ast.Attribute)
        receiver = func.value
        if not guards or dotted(receiver) is None:
            return
        for method in self._methods(func):
            own = _self_name(method)
            rebound, stored = method_acts(self.project, method)
            shown = dotted(receiver)
            for texts, rebinds in ((rebound, True), (stored, False)):
                for text in sorted(texts):
                    attribute = text[len(f"{own}."):]
                    target = ast.copy_location(ast.Attribute(receiver, attribute, ast.Load()), receiver)
                    target.end_lineno, target.end_col_offset = receiver.end_lineno, receiver.end_col_offset
                    guard = _guarded_by_text(f"{shown}.{attribute}", None, guards, rebinds, held)
                    if guard is not None:
                        self._add(small, target, CHECK_THEN_ACT, guard, lock=self._lock_evidence(guard, held, None))
                        return

    def _methods(self, func: ast.Attribute) -> list[FunctionInfo]:
        """The project methods ``receiver.method`` calls (bound: their ``self`` is the receiver)."""
        found = []
        for target in self.project.callable_targets(func, self.scope):
            if target.kind is TargetKind.FUNCTION and target.bound and target.function is not None \
                    and target.function.owner is not None:
                found.append(target.function)
        return found

    def _queue_acts(self, small: ast.stmt, held: Held, guards: tuple[_Guard, ...]) -> None:
        """``if not q.empty(): item = q.get()``: the queue may be empty again when ``get()`` blocks."""
        if not guards:
            return
        for node in walk(small):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "put") and _blocks(node)):
                continue
            receiver = node.func.value
            guard = _guarded_by(self.scope, receiver, guards, False, held)
            if guard is None or self._checked_queue_method(guard, receiver) != node.func.attr:
                continue
            types = self.project.instance_types(receiver, self.scope)
            if types and all(t in QUEUE_TYPES for t in types):
                self._add(small, receiver, CHECK_THEN_ACT, guard, lock=self._lock_evidence(guard, held, None))
                return

    def _checked_queue_method(self, guard: _Guard, receiver: ast.expr) -> Optional[str]:
        """The blocking method the queue check makes unsafe (``get`` after ``empty()``)."""
        text = code(self.scope, receiver)
        for method, blocking in _QUEUE_CHECKS.items():
            if f"{text}.{method}()" in guard.values:
                return blocking
        return None

    def _add(self, node: ast.stmt, target: ast.expr, operation: str, guard: Optional[_Guard] = None,
             lock: Optional[tuple[str, str]] = None) -> None:
        if operation == CHECK_THEN_ACT and self._tolerant:
            return
        check_line = guard.line if guard is not None else None
        shape, text = lock if lock is not None else (None, None)
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        self.mutations.append(Mutation(node, target, operation, self.scope, check_line, text, shape,
                                       self._constructs(value)))

    def _constructs(self, value: Optional[ast.expr], depth: int = 0) -> bool:
        """Does ``value`` make a new object: a class called (``cls()``, ``Pool(4)``, ``super().__new__``),
        a container display, or a local name every assignment of which does?"""
        if value is None or depth > 2:
            return False
        if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
            return depth == 0  # stored as made; a list built in a local first is a computed value
        if isinstance(value, ast.Call):
            func = value.func
            if terminal_name(func) == "__new__" or (isinstance(func, ast.Name) and func.id == "cls"):
                return True
            if isinstance(func, ast.Call) and terminal_name(func.func) == "type":
                return True  # type(self)(...)
            name = terminal_name(func)
            if name[:1].isupper() and not name.isupper():
                return True  # ``Pool(...)``: a class, by the naming convention
            if _FACTORY_NAME.match(name):
                return True  # ``self._new_pool(...)``, ``create_engine(...)``: a factory, by its name
            return self.project.qualified_name(func, self.scope) in _LOWERCASE_CLASSES
        if isinstance(value, ast.Name):
            reaching = self.project.reaching(value, self.scope)  # the assignments that reach this use
            return bool(reaching) and all(
                b.kind is BindingKind.ASSIGN and not b.partial and b.scope is self.scope
                and self._constructs(b.value, depth + 1) for b in reaching)
        return False

    # -- checks --------------------------------------------------------------------------------

    def _guards(self, test: ast.expr, held: Held) -> tuple[_Guard, ...]:
        """The checks an ``if`` test makes: directly and through methods that return one (with the
        locks held now), and through variables that hold a check (with the locks held then)."""
        values: set[str] = set()
        contents: set[str] = set()
        _checked(self.scope, test, values, contents, self._local_names())
        found: list[_Guard] = []
        for node in walk(test):
            if isinstance(node, ast.Name) and node.id in self._check_variables:
                found.append(self._check_variables[node.id])
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                self._method_guard(node.func, values, contents)
        if values or contents:
            found.append(_Guard(frozenset(values), frozenset(contents), held, self.scope.module.line_of(test)))
        return tuple(found)

    def _local_names(self) -> frozenset[str]:
        """Names local to the function: comparing with one (``self._owner == me``) checks who asks,
        not what the shared state holds."""
        scope = self.scope
        return frozenset(name for name in scope.bindings
                         if name not in scope.global_names and name not in scope.nonlocal_names)

    def _method_guard(self, func: ast.Attribute, values: set[str], contents: set[str]) -> None:
        """``self.has(k)``: what the method checks, on the receiver (``self._items`` -> ``REGISTRY._items``)."""
        receiver = dotted(func.value)
        if receiver is None:
            return
        for method in self._methods(func):
            check = method_check(self.project, method)
            own = _self_name(method)
            if check is None or own is None:
                continue
            values.update(receiver + text[len(own):] for text in check.values)
            contents.update(receiver + text[len(own):] for text in check.contents)

    def _remember_check(self, small: ast.stmt, held: Held) -> None:
        """``pool = self.pools.get(key)``: ``if pool:`` later checks ``self.pools``."""
        if not isinstance(small, ast.Assign) or len(small.targets) != 1:
            return
        target = small.targets[0]
        if not isinstance(target, ast.Name):
            return
        self._check_variables.pop(target.id, None)
        if _is_check_value(small.value):
            values: set[str] = set()
            contents: set[str] = set()
            _checked(self.scope, small.value, values, contents, self._local_names())
            if values or contents:
                self._check_variables[target.id] = _Guard(frozenset(values), frozenset(contents), held,
                                                          self.scope.module.line_of(small))

    def _lazy_guard(self, statement: ast.stmt, held: Held) -> Optional[_Guard]:
        """``try: self._lock except AttributeError: self._lock = Lock()``: the handler acts on the
        attribute (or key) the ``try`` found missing."""
        body = statement.body  # type: ignore[attr-defined]
        if len(body) != 1:
            return None
        read: Optional[ast.expr] = None
        if isinstance(body[0], (ast.Expr, ast.Return)):
            read = body[0].value
        elif isinstance(body[0], ast.Assign) and len(body[0].targets) == 1:
            read = body[0].value
        caught = {name for handler in statement.handlers for name in _caught(handler)}  # type: ignore[attr-defined]
        line = self.scope.module.line_of(body[0])
        if isinstance(read, ast.Attribute) and "AttributeError" in caught:
            return _Guard(frozenset({code(self.scope, read)}), frozenset(), held, line)
        if isinstance(read, ast.Subscript) and caught & {"KeyError", "LookupError"}:
            return _Guard(frozenset(), frozenset({code(self.scope, read.value)}), held, line)
        return None

    def _same_for_every_thread(self, value: Optional[ast.expr]) -> bool:
        """``registry[k] = registry[DEFAULT]``, ``self._ready = True``: whichever thread stores it, the
        same value is stored (no call, no new container, nothing local to the call)."""
        if value is None:
            return False
        own = _self_name(self.function)
        for node in walk(value):
            if isinstance(node, (ast.Call, ast.Lambda, ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp,
                                 ast.SetComp, ast.GeneratorExp, ast.JoinedStr, ast.BinOp, ast.Await,
                                 ast.Yield, ast.YieldFrom, ast.NamedExpr)):
                return False
            if isinstance(node, ast.Name) and node.id != own and self.scope.bindings.get(node.id):
                return False
        return True

    def _lock_evidence(self, guard: _Guard, held: Held, value: Optional[ast.expr]) -> Optional[tuple[str, str]]:
        """How a lock shows the code expects several threads, and which (see :attr:`Mutation.lock`)."""
        known = [region for region in held if region.known]
        if known and not guard.held:
            return UNCHECKED_UNDER_LOCK, known[-1].lock
        checked = [region for region in guard.held if region.known]
        if checked:
            return SEPARATE_BLOCKS, checked[-1].lock
        if isinstance(value, ast.Call) and lock_type(self.project, value, self.scope) in THREAD_LOCK_TYPES:
            return CREATES_LOCK, code(self.scope, value)
        return None

    def _known_lock_text(self, statement: ast.stmt, text: str) -> bool:
        for node in walk(statement):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "acquire" and code(self.scope, node.func.value) == text):
                return is_known_lock(self.project, node.func.value, self.scope)
        return False

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
    return any(_caught(handler) & _LOOKUP_ERRORS for handler in getattr(statement, "handlers", ()))


def _caught(handler: ast.ExceptHandler) -> set[str]:
    """The exception names an ``except`` clause catches (``except (KeyError, ValueError):``)."""
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return {n.id for n in names if isinstance(n, ast.Name)}


def _tolerates_absence(call: ast.Call) -> bool:
    """``d.pop(k, None)``: removing what may already be gone, on purpose."""
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == "pop" and len(call.args) + len(call.keywords) >= 2


def _blocks(call: ast.Call) -> bool:
    """``q.get()``/``q.put(x)`` that waits for as long as it takes (no ``block=False``, no timeout)."""
    if any(k.arg == "timeout" for k in call.keywords):
        return False
    block = next((k.value for k in call.keywords if k.arg == "block"), None)
    position = 1 if isinstance(call.func, ast.Attribute) and call.func.attr == "put" else 0
    if block is None and len(call.args) > position:
        block = call.args[position]
    if len(call.args) > position + 1:
        return False  # a timeout given by position
    return block is None or (isinstance(block, ast.Constant) and block.value is True)


def _is_check_value(value: ast.expr) -> bool:
    """A value worth remembering as a check: ``d.get(k)``, ``k in d``, ``self._inst``, ``len(d)``."""
    if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Compare, ast.UnaryOp)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute):
            return func.attr == "get" and bool(value.args) or func.attr in _QUEUE_CHECKS
        return isinstance(func, ast.Name) and func.id in ("len", "getattr")
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


def _checked(scope: Scope, test: ast.expr, values: set[str], contents: set[str],
             local: frozenset[str] = frozenset()) -> None:
    """Collect what an ``if`` test inspects: ``x is None`` -> value x, ``k in d`` -> contents of d.

    A comparison with a name in ``local`` or a call (``self._owner == me``, ``x is get_ident()``)
    asks whose turn it is, not what the state holds: it is no check.
    """
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            _checked(scope, value, values, contents, local)
    elif isinstance(test, ast.UnaryOp):
        _checked(scope, test.operand, values, contents, local)
    elif isinstance(test, ast.Compare):
        left = test.left
        for operator, comparator in zip(test.ops, test.comparators):
            if isinstance(operator, (ast.In, ast.NotIn)):
                if isinstance(comparator, (ast.Name, ast.Attribute, ast.Subscript)):
                    contents.add(code(scope, comparator))
            elif not (isinstance(operator, _IDENTITY_TESTS)
                      and (_asks_who(left, local) or _asks_who(comparator, local))):
                _subject(scope, left, values, contents)
                _subject(scope, comparator, values, contents)
            left = comparator
    else:
        _subject(scope, test, values, contents)


_IDENTITY_TESTS = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)
#: Names of functions that make a new object (a connection, a pool, a client): ``_new_pool``,
#: ``create_engine``, ``make_client``, ``open_connection``, ``connect``.
_FACTORY_NAME = re.compile(r"_*(new|create|make|open|connect|spawn)(_|$)")
#: Classes whose names are not capitalised: calling them makes a new object.
_LOWERCASE_CLASSES = frozenset({
    "builtins.object", "builtins.dict", "builtins.list", "builtins.set", "builtins.bytearray",
    "collections.deque", "collections.defaultdict", "threading.local",
})
#: Calls that name the running thread or process.
_WHO = frozenset({"get_ident", "get_native_id", "current_thread", "getpid", "current_task"})


def _asks_who(expr: ast.expr, local: frozenset[str]) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in local
    return isinstance(expr, ast.Call) and terminal_name(expr.func) in _WHO


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
        elif (isinstance(func, ast.Name) and func.id == "getattr" and len(expr.args) >= 2
              and isinstance(expr.args[1], ast.Constant) and isinstance(expr.args[1].value, str)):
            values.add(f"{code(scope, expr.args[0])}.{expr.args[1].value}")
    elif (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
          and expr.func.attr in _QUEUE_CHECKS):
        values.add(code(scope, expr))  # ``q.empty()``: what the queue holds
        contents.add(code(scope, expr.func.value))


def _guarded_by(scope: Scope, target: ast.expr, guards: tuple[_Guard, ...], rebinds: bool,
                held: Held) -> Optional[_Guard]:
    """The innermost enclosing check of ``target``, when acting on it now races with other threads.

    ``rebinds``: the act assigns ``target`` itself (acts on a value check); otherwise it stores
    into ``target`` or its container (acts on a contents check).
    """
    container = code(scope, target.value) if isinstance(target, ast.Subscript) else None
    return _guarded_by_text(code(scope, target), container, guards, rebinds, held)


def _guarded_by_text(text: str, container: Optional[str], guards: tuple[_Guard, ...], rebinds: bool,
                     held: Held) -> Optional[_Guard]:
    for guard in reversed(guards):
        hit = (rebinds and text in guard.values) or text in guard.contents or container in guard.contents
        if hit:
            return guard if _races(guard.held, held) else None
    return None


def _races(checked: Held, acting: Held) -> bool:
    """Does an act race with the check it relies on? Not when one lock block holds both; yes when
    the check held no lock; and yes when they hold known locks in separate blocks."""
    if not checked:
        return True
    if {r.node_id for r in checked} & {r.node_id for r in acting}:
        return False
    if not all(r.known for r in (*checked, *acting)):
        return False
    # Separate blocks of the same lock race; blocks of different locks may hand over to each other.
    return not acting or bool({r.lock for r in checked} & {r.lock for r in acting})


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
