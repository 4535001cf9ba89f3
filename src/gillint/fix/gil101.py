"""GIL101: a thread pool running CPU-bound work becomes the equivalent process pool.

``ThreadPoolExecutor`` becomes ``ProcessPoolExecutor``, ``multiprocessing.dummy.Pool`` becomes
``multiprocessing.Pool`` and ``multiprocessing.pool.ThreadPool`` becomes ``multiprocessing.pool.Pool``,
at the call that creates the pool the work is given to. Always unsafe: every task of that pool now
runs in another process, with its own copy of the program's state. The fix is offered only when the
result lints clean, which is how gillint checks that everything the pool is given can be pickled
(GIL201, GIL202) and that the pool is not started at import time (GIL401).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst
from libcst.metadata import Assignment

from gillint.findings import Finding
from gillint.fix.document import Document, FixContext, NameClash
from gillint.fix.model import Applicability, Candidate, Changes, Declined, Plan

#: Each thread pool and the process pool with the same interface.
PROCESS_POOLS = {
    "concurrent.futures.ThreadPoolExecutor": "concurrent.futures.ProcessPoolExecutor",
    "concurrent.futures.thread.ThreadPoolExecutor": "concurrent.futures.ProcessPoolExecutor",
    "multiprocessing.dummy.Pool": "multiprocessing.Pool",
    "multiprocessing.pool.ThreadPool": "multiprocessing.pool.Pool",
}
NOT_A_POOL = "only work given to a thread pool created in view is moved to processes"


def plan(finding: Finding, context: FixContext) -> Plan:
    document = context.document
    call = document.node_at(finding, (cst.Call,))
    if call is None or not isinstance(call.func, cst.Attribute):
        return Declined(NOT_A_POOL)
    constructor = _constructor(document, call.func.value)
    old = next((n for n in document.qualified_names(constructor.func) if n in PROCESS_POOLS), None) \
        if constructor is not None else None
    if constructor is None or old is None:
        return Declined(NOT_A_POOL)
    if any(arg.keyword is not None and arg.keyword.value == "thread_name_prefix" for arg in constructor.args) \
            or sum(arg.keyword is None for arg in constructor.args) > 1:
        return Declined("the pool's arguments other than the worker count have no process-pool equivalent")
    new = PROCESS_POOLS[old]
    changes = Changes()
    code = _renamed_import(document, constructor.func, old, new, changes)
    try:
        code = code or document.reference(new, constructor, changes, prefer_from=isinstance(constructor.func, cst.Name))
    except NameClash as clash:
        return Declined(f"the name '{clash}' means something else in this module")
    changes.replace[constructor.func] = document.expression_code(code)
    names = (new.rsplit(".", 1)[1], old.rsplit(".", 1)[1])
    shown = (new, old) if names[0] == names[1] else names
    message = f"Use `{shown[0]}` instead of `{shown[1]}`: processes run Python code in parallel"
    return Candidate(Applicability.UNSAFE, message, changes, (finding,))


def _renamed_import(document: Document, used: cst.BaseExpression, old: str, new: str,
                    changes: Changes) -> Optional[str]:
    """When the thread pool's name is imported for this use alone, its import goes: renamed to the
    process pool when that lives in the same module (the name to use is returned), else removed."""
    binding = document.binding(used) if isinstance(used, cst.Name) else None
    statement = binding.node if isinstance(binding, Assignment) else None
    if binding is None or len(document.references(binding)) != 1 or \
            not isinstance(statement, (cst.Import, cst.ImportFrom)) or isinstance(statement.names, cst.ImportStar):
        return None
    line = document.statement(statement)
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    aliases = list(statement.names)
    index = next(i for i, a in enumerate(aliases) if (a.evaluated_alias or a.evaluated_name) == binding.name)
    module, _, name = new.rpartition(".")
    same = isinstance(statement, cst.ImportFrom) and aliases[index].asname is None and old.rpartition(".")[0] == module
    if same and name not in document.variables:
        aliases[index] = aliases[index].with_changes(name=cst.Name(name))
    else:
        del aliases[index]
        if aliases:
            aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    kept = line.with_changes(body=[statement.with_changes(names=aliases)]) if aliases else cst.RemoveFromParent()
    changes.replace[line] = kept
    return name if same and (name not in document.variables or document.imports.get(name) == new) else None


def _constructor(document: Document, pool: cst.BaseExpression) -> Optional[cst.Call]:
    """The call that created ``pool``: itself, or the one value of its name (``with X() as pool``,
    ``pool = X()``)."""
    if isinstance(pool, cst.Call):
        return pool
    if not isinstance(pool, cst.Name):
        return None
    assignment = document.sole_binding(pool)
    bound = assignment.node if assignment is not None else None
    holder = document.parent(bound) if isinstance(bound, cst.CSTNode) else None
    if isinstance(holder, cst.AsName):
        item = document.parent(holder)
        value = item.item if isinstance(item, cst.WithItem) else None
    elif isinstance(holder, cst.AssignTarget):
        assign = document.parent(holder)
        value = assign.value if isinstance(assign, cst.Assign) and len(assign.targets) == 1 else None
    else:
        value = None
    return value if isinstance(value, cst.Call) else None
