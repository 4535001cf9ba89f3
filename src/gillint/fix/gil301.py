"""GIL301: the racing statements are wrapped in ``with <lock>:``.

The statements: the update itself for a read-modify-write; for check-then-act, the ``if`` that
checks the state together with the update (or the early-exit ``if`` before it and everything up to
the update). The lock: one that already guards the same state in a ``with`` elsewhere in the module
(a module-level lock, or ``self.<lock>`` of the same class), else a new ``threading.Lock()`` named
after the state: module-level next to the state's definition, in the function that owns a closure
variable, ``self.<state>_lock`` created in ``__init__`` (a class attribute when the class has no
``__init__``), or a class attribute next to the class attribute it guards. When the update already
sits under ``with <lock>:`` inside the check (double-checked locking without the second check), the
check is repeated inside the lock instead.

Always unsafe: which lock guards what, the order locks are taken in, and the time spent holding
one are the program's design. No fix when the statements already take the lock or call a function
of the module that does (a deadlock), for racing writes, which a lock would only serialise, nor
when the check is one branch of an ``if``/``elif`` chain (the lock would hold every branch).
"""

from __future__ import annotations

import re
from typing import Optional, Sequence, Union

import libcst as cst
from libcst.metadata import Assignment, FunctionScope, GlobalScope

from gillint.facts.locks import RACING_WRITES
from gillint.findings import Finding
from gillint.fix.document import Document, FixContext, NameClash, code_of, is_docstring, nested, spaced
from gillint.fix.model import Applicability, Candidate, Changes, Declined, Plan
from gillint.rules.gil301_unguarded_shared_mutation import RaceEvidence

#: Constructors whose objects are locks a ``with`` can hold.
LOCKS = frozenset({
    "threading.Lock", "threading.RLock", "threading.Condition", "threading.Semaphore",
    "threading.BoundedSemaphore", "_thread.allocate_lock",
})
_LOCK_CALL = r"[\w.]*\b(?:Lock|RLock|Condition|Semaphore|BoundedSemaphore)\("
EXITS = (cst.Return, cst.Continue, cst.Break, cst.Raise)
State = Union[cst.Name, cst.Attribute]


def plan(finding: Finding, context: FixContext) -> Plan:
    if isinstance(finding.evidence, RaceEvidence) and finding.evidence.operation == RACING_WRITES:
        return Declined("a lock would only serialise the writes; the last writer would still win")
    document = context.document
    small = document.node_at(finding, (cst.BaseSmallStatement,))
    line = document.parent(small) if small is not None else None
    state = _state(small) if small is not None else None
    if not isinstance(line, cst.SimpleStatementLine) or state is None:
        return Declined()
    shown = code_of(state)
    check = _check(document, line, shown)
    try:
        if check is not None:
            again = _check_again(document, line, check, shown, finding)
            if again is not None:
                return again
        if check is not None and isinstance(check.orelse, cst.If):
            return Declined("the check is one branch of an `if`/`elif` chain: a lock around it would hold "
                            "every branch")
        region = _region(document, line, check)
        lock = _existing_lock(document, line, shown)
        if lock is None:
            return _new_lock(finding, document, region, state, shown)
        if _takes(document, region, lock):
            return Declined(f"the statements already take `{lock}` or call code that does")
        return _wrap(finding, document, region, lock, Changes(),
                     f"Hold `{lock}`, which guards `{shown}` elsewhere, around the update")
    except NameClash as clash:
        return Declined(f"the name '{clash}' means something else in this module")


def _state(small: cst.BaseSmallStatement) -> Optional[State]:
    """The shared state a statement updates: ``x`` of ``x += 1``, ``d`` of ``d[k] = ...``,
    ``self.n`` of ``self.n += 1``, ``seen`` of ``seen.append(k)``."""
    target: Optional[cst.BaseExpression] = None
    if isinstance(small, (cst.AugAssign, cst.AnnAssign, cst.Del)):
        target = small.target
    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
    elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        method = small.value.func
        target = method.value if isinstance(method, cst.Attribute) else None
    while isinstance(target, cst.Subscript):
        target = target.value
    return target if isinstance(target, (cst.Name, cst.Attribute)) else None


def _mentions(node: cst.CSTNode, shown: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(shown)}(?!\w)", code_of(node)) is not None


def _check(document: Document, line: cst.SimpleStatementLine, shown: str) -> Optional[cst.If]:
    """The ``if`` that checks the state before the update: one around it (the first of an ``elif``
    chain), or an earlier ``if ...: return`` in the same block."""
    for ancestor in document.ancestors(line):
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)):
            break
        if isinstance(ancestor, cst.If) and _mentions(ancestor.test, shown):
            parent = document.parent(ancestor)
            while isinstance(parent, cst.If) and parent.orelse is ancestor:
                ancestor, parent = parent, document.parent(parent)
            return ancestor
    block = _block_of(document, line)
    for earlier in reversed(block[:_position(block, line)]):
        if isinstance(earlier, cst.If) and earlier.orelse is None and _mentions(earlier.test, shown) \
                and _exits(earlier):
            return earlier
    return None


def _exits(check: cst.If) -> bool:
    """Does the ``if`` body end by leaving (``return``, ``continue``, ``break``, ``raise``)?"""
    last: cst.CSTNode = check.body.body[-1]
    if isinstance(last, cst.SimpleStatementLine):
        last = last.body[-1]
    return isinstance(last, EXITS)


def _block_of(document: Document, statement: cst.BaseStatement) -> list[cst.BaseStatement]:
    parent = document.parent(statement)
    return list(parent.body) if isinstance(parent, (cst.IndentedBlock, cst.Module)) else [statement]


def _position(block: list[cst.BaseStatement], statement: cst.BaseStatement) -> int:
    return next(i for i, s in enumerate(block) if s is statement)


def _region(document: Document, line: cst.SimpleStatementLine, check: Optional[cst.If]) -> list[cst.BaseStatement]:
    """The statements the lock must cover."""
    if check is None:
        return [line]
    if document.contains(check, line):
        return [check]
    block = _block_of(document, line)
    return block[_position(block, check):_position(block, line) + 1]


def _check_again(document: Document, line: cst.SimpleStatementLine, check: cst.If, shown: str,
                 finding: Finding) -> Optional[Plan]:
    """``if x is None: with lock: x = make()`` becomes ``... with lock: if x is None: x = make()``."""
    holder = next((a for a in document.ancestors(line) if isinstance(a, cst.With) and document.contains(check, a)),
                  None)
    if holder is None:
        return None
    if check.orelse is not None or not _pure(check.test):
        return Declined("the check cannot be repeated inside the lock")
    again = cst.If(test=check.test, body=cst.IndentedBlock(nested([line.with_changes(leading_lines=[])])),
                   leading_lines=line.leading_lines)
    message = f"Check `{shown}` again while holding `{code_of(holder.items[0].item)}`"
    return Candidate(Applicability.UNSAFE, message, Changes(replace={line: again}), (finding,))


def _pure(test: cst.BaseExpression) -> bool:
    """Evaluating ``test`` twice is harmless: names, attributes, constants, comparisons, not/and/or."""
    if isinstance(test, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(test, cst.Attribute):
        return _pure(test.value)
    if isinstance(test, cst.Subscript):
        return _pure(test.value) and all(isinstance(e.slice, cst.Index) and _pure(e.slice.value) for e in test.slice)
    if isinstance(test, cst.Comparison):
        return _pure(test.left) and all(_pure(c.comparator) for c in test.comparisons)
    if isinstance(test, cst.UnaryOperation):
        return isinstance(test.operator, cst.Not) and _pure(test.expression)
    if isinstance(test, cst.BooleanOperation):
        return _pure(test.left) and _pure(test.right)
    return False


def _existing_lock(document: Document, line: cst.SimpleStatementLine, shown: str) -> Optional[str]:
    """A lock that guards the same state in a ``with`` elsewhere and means the same here: a
    module-level lock, or ``self.<lock>`` in the same class."""
    owner = document.enclosing(line, (cst.ClassDef,))
    for node in document.positions:
        if not isinstance(node, cst.With) or not _mentions(node.body, shown):
            continue
        for item in node.items:
            lock = item.item
            if isinstance(lock, cst.Name) and document.is_global(lock) and _module_lock(document, lock.value) \
                    and document.usable(lock.value, line):
                return lock.value
            if isinstance(lock, cst.Attribute) and code_of(lock.value) == "self" and owner is not None \
                    and document.enclosing(node, (cst.ClassDef,)) is owner \
                    and re.search(rf"\bself\.{re.escape(lock.attr.value)}\s*=\s*{_LOCK_CALL}", code_of(owner)):
                return code_of(lock)
    return None


def _module_lock(document: Document, name: str) -> bool:
    """Is ``name`` bound once at module level, to a new lock?"""
    assignments = list(document.global_scope.assignments[name])
    if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
        return False
    target = document.parent(assignments[0].node)
    assign = document.parent(target) if isinstance(target, cst.AssignTarget) else None
    return isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call) \
        and bool(document.qualified_names(assign.value.func) & LOCKS)


def _takes(document: Document, region: Sequence[cst.BaseStatement], lock: str) -> bool:
    """Do the statements take ``lock`` themselves, or call a function of this module that does?"""
    taken = re.compile(rf"\bwith\b[^:\n]*(?<![\w.]){re.escape(lock)}\b|(?<![\w.]){re.escape(lock)}\.acquire\(")
    code = "\n".join(code_of(statement) for statement in region)
    called = set(re.findall(r"(\w+)\s*\(", code))
    return bool(taken.search(code)) or any(
        isinstance(node, cst.FunctionDef) and node.name.value in called and taken.search(code_of(node))
        for node in document.positions)


def _wrap(finding: Finding, document: Document, region: Sequence[cst.BaseStatement], lock: str, changes: Changes,
          message: str) -> Plan:
    """``changes`` plus ``with lock:`` around ``region``."""
    first = region[0]
    assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    holder = document.statement_code(f"with {lock}:\n{document.module.default_indent}pass\n")
    block = cst.IndentedBlock(nested([first.with_changes(leading_lines=[]), *region[1:]]))
    changes.replace[first] = holder.with_changes(body=block, leading_lines=first.leading_lines)
    for statement in region[1:]:
        changes.replace[statement] = cst.RemoveFromParent()
    return Candidate(Applicability.UNSAFE, message, changes, (finding,))


def _new_lock(finding: Finding, document: Document, region: list[cst.BaseStatement], state: State,
              shown: str) -> Plan:
    """A new ``threading.Lock()`` for the state, created where the state lives."""
    changes = Changes()
    constructor = document.reference("threading.Lock", document.top_level(region[0]), changes)
    parts = shown.split(".")
    owner = document.enclosing(region[0], (cst.ClassDef,))
    base = state
    while isinstance(base, cst.Attribute):
        base = base.value  # type: ignore[assignment]
    assignments = document.assignments(base) if isinstance(base, cst.Name) else []
    if parts[0] == "self" and len(parts) > 1 and owner is not None:
        lock = f"self.{_on_instance(document, owner, parts[1], constructor, changes)}"
    elif len(parts) > 1 and len(assignments) == 1 and isinstance(assignments[0].node, cst.ClassDef):
        owner = assignments[0].node
        lock = f"{owner.name.value}.{_on_class(document, owner, parts[1], constructor, changes)}"
    else:
        lock = document.unique_name("_".join(part.strip("_").lower() for part in parts) + "_lock")
        created = document.statement_code(f"{lock} = {constructor}()\n")
        changes.names.add(lock)
        function_local = _in_owning_function(document, assignments, region[0])
        if function_local is not None:
            changes.after[function_local] = [created]
        else:
            _at_module_level(document, assignments, region[0], constructor, created, changes)
    return _wrap(finding, document, region, lock, changes, f"Hold a new lock `{lock}` around the update of `{shown}`")


def _in_owning_function(document: Document, assignments: list[Assignment],
                        at: cst.CSTNode) -> Optional[cst.BaseStatement]:
    """For a variable of an enclosing function (a closure or ``nonlocal`` variable): the statement of
    that function's own body that first binds it, where its lock goes."""
    scope = assignments[0].scope if assignments else None
    function = scope.node if isinstance(scope, FunctionScope) else None
    if not isinstance(function, cst.FunctionDef) or function is document.enclosing(at, (cst.FunctionDef,)) \
            or any(a.scope is not scope for a in assignments):
        return None
    first = document.statement(assignments[0].node)
    return first if any(s is first for s in function.body.body) else None


def _at_module_level(document: Document, assignments: list[Assignment], at: cst.CSTNode, constructor: str,
                     created: cst.BaseStatement, changes: Changes) -> None:
    """Create a module-level lock after the module-level statement that defines the state (and after
    the imports at the top and the one it is built with), or else before the top-level statement
    that uses it."""
    body = list(document.module.body)
    defining = next((a for a in assignments if isinstance(a.scope, GlobalScope)
                     and document.statement(a.node) is document.top_level(a.node)), None)
    if defining is None:
        changes.before[document.top_level(at)] = [spaced(created, 2)]
        return
    imports = [isinstance(s, cst.SimpleStatementLine) and all(isinstance(x, (cst.Import, cst.ImportFrom))
                                                              for x in s.body) for s in body]
    leading = next((i for i, s in enumerate(body) if not imports[i] and not is_docstring(s)), len(body)) - 1
    module = constructor.split(".")[0]
    imported = [document.index(document.top_level(a.node)) for a in document.global_scope.assignments[module]
                if isinstance(a, Assignment)]
    index = max(document.index(document.top_level(defining.node)), leading, *imported)
    while index + 1 < len(body) and imports[index + 1]:
        index += 1
    changes.after[body[index]] = [created]


def _on_instance(document: Document, owner: cst.ClassDef, attribute: str, constructor: str, changes: Changes) -> str:
    """``self.<attribute>_lock``, made in ``__init__`` after ``self.<attribute>`` is set (a class
    attribute when the class has no ``__init__``); returns the attribute's name."""
    name = _attribute_name(owner, attribute)
    changes.names.add(f"{owner.name.value}.{name}")
    init = next((s for s in owner.body.body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
    if init is None:
        _first_in(owner.body, document.statement_code(f"{name} = {constructor}()\n"), changes)
        return name
    created = document.statement_code(f"self.{name} = {constructor}()\n")
    setting = _setting(init.body, f"self.{attribute}")
    if setting is not None:
        changes.after[setting] = [created]
    else:
        _first_in(init.body, created, changes)
    return name


def _on_class(document: Document, owner: cst.ClassDef, attribute: str, constructor: str, changes: Changes) -> str:
    """``<Class>.<attribute>_lock``, a class attribute after the one it guards; returns its name."""
    name = _attribute_name(owner, attribute)
    changes.names.add(f"{owner.name.value}.{name}")
    created = document.statement_code(f"{name} = {constructor}()\n")
    setting = _setting(owner.body, attribute)
    if setting is not None:
        changes.after[setting] = [created]
    else:
        _first_in(owner.body, created, changes)
    return name


def _setting(body: cst.BaseSuite, target: str) -> Optional[cst.BaseStatement]:
    """The first statement of ``body`` that assigns ``target``."""
    pattern = re.compile(rf"{re.escape(target)}\s*(?::[^=]*)?=[^=]")
    statements = body.body if isinstance(body, cst.IndentedBlock) else []
    return next((s for s in statements if isinstance(s, cst.SimpleStatementLine) and pattern.match(code_of(s))), None)


def _attribute_name(owner: cst.ClassDef, attribute: str) -> str:
    """``<attribute>_lock`` (``_2``, ``_3``... when the class already uses that name)."""
    base = f"{attribute}_lock"
    name, number = base, 2
    while re.search(rf"\b{name}\b", code_of(owner)):
        name, number = f"{base}_{number}", number + 1
    return name


def _first_in(body: cst.BaseSuite, statement: cst.BaseStatement, changes: Changes) -> None:
    """Insert ``statement`` first in a body, after its docstring."""
    first = body.body[0] if isinstance(body, cst.IndentedBlock) else None
    if first is None:
        return
    if is_docstring(first):
        changes.after[first] = [statement]
    else:
        changes.before[first] = [statement]
