"""GIL201: a lambda or local function sent to a process becomes a module-level function.

pickle finds a function by its module and qualified name, so the fix gives it one: a ``def`` at
module level, placed before the top-level statement that uses it, named after what it was
(``_main_lambda`` for a lambda in ``main``; a local function keeps its name when nothing else in the
file uses that name). Safe when the callable reads no variable of an enclosing function. Otherwise
those variables become its leading parameters and every use passes them with
``functools.partial(fn, var, ...)`` (a direct call gets them as arguments): unsafe, because their
values are now pickled and sent when the work is, instead of being read when it runs.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import libcst as cst
from libcst.metadata import Assignment, FunctionScope, GlobalScope

from gillint.findings import Finding
from gillint.fix.apply import substitute
from gillint.fix.document import (
    Document,
    FixContext,
    NameClash,
    blank_lines,
    code_of,
    is_constant,
    spaced,
    walk,
)
from gillint.fix.model import Applicability, Candidate, Changes, Declined, Plan, Replacement

Definition = Union[cst.Lambda, cst.FunctionDef]
PARTIAL = "functools.partial"


def plan(finding: Finding, context: FixContext) -> Plan:
    document = context.document
    node = document.node_at(finding, (cst.Lambda, cst.Name, cst.Call))
    if isinstance(node, cst.Call) and PARTIAL in document.qualified_names(node.func) and node.args \
            and node.args[0].keyword is None and not node.args[0].star:
        node = node.args[0].value  # partial(callable, ...): the callable is what cannot be pickled
    try:
        if isinstance(node, cst.Lambda):
            return _move(finding, document, node, None, None)
        if isinstance(node, cst.Name):
            assignment = document.sole_binding(node)
            if assignment is not None:
                return _bound(finding, document, assignment)
    except NameClash as clash:
        return Declined(f"the name '{clash}' means something else in this module")
    return Declined()


def _bound(finding: Finding, document: Document, assignment: Assignment) -> Plan:
    """A name bound to a local function, or to a lambda (locally or at module level)."""
    bound = assignment.node
    if isinstance(bound, cst.FunctionDef) and isinstance(assignment.scope, FunctionScope):
        return _move(finding, document, bound, assignment, bound)
    line = document.parent(document.parent(bound) or bound)  # Name -> AssignTarget -> Assign
    if not (isinstance(bound, cst.Name) and isinstance(line, cst.Assign) and len(line.targets) == 1
            and isinstance(line.value, cst.Lambda)):
        return Declined()
    statement = document.statement(line)
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return Declined()
    if isinstance(assignment.scope, GlobalScope):
        return _define_in_place(finding, statement, bound.value, line.value)
    if isinstance(assignment.scope, FunctionScope):
        return _move(finding, document, line.value, assignment, statement)
    return Declined()


def _define_in_place(finding: Finding, statement: cst.SimpleStatementLine, name: str, function: cst.Lambda) -> Plan:
    """``square = lambda x: x * x`` at module level becomes ``def square(x): return x * x``."""
    changes = Changes(replace={statement: _function(function, name, (), statement)})
    return Candidate(Applicability.SAFE, f"Define `{name}` with `def` instead of a lambda", changes, (finding,))


def _move(finding: Finding, document: Document, definition: Definition, assignment: Optional[Assignment],
          statement: Optional[cst.BaseStatement]) -> Plan:
    """Move ``definition`` to module level: an inline lambda, or one that ``statement`` binds to a name."""
    anchor = document.top_level(definition)
    index = document.index(anchor)
    unsafe, problem = _definition_time(document, definition, index)
    if problem is not None:
        return Declined(problem)
    if any(isinstance(node, cst.Nonlocal) for node in walk(definition)):
        return Declined("it assigns a variable of the enclosing function (nonlocal)")
    own = assignment.name if assignment is not None else None
    free = document.free_names(definition, exclude=[own] if own else [])
    name = _new_name(document, definition, assignment)
    changes = Changes(names={name})
    uses: dict[cst.CSTNode, Replacement] = {}  # uses inside the moved function itself
    if assignment is None:
        assert isinstance(definition, cst.Lambda)
        changes.replace[definition] = _use(document, definition, name, free, changes)[1]
    else:
        for read in document.references(assignment):
            if isinstance(document.parent(read), cst.Del):
                return Declined("it is deleted where it is used")
            old, new = _use(document, read, name, free, changes)
            (uses if document.contains(definition, read) else changes.replace)[old] = new
        changes.replace[statement or definition] = cst.RemoveFromParent()
    if _nested(document, list(changes.replace)):
        return Declined()
    function = _function(definition, name, free, statement)
    if uses:
        function = substitute(function, uses)  # type: ignore[assignment]
    # Two blank lines around a top-level function (PEP 8): before it, and with the statement after it.
    footer = [cst.EmptyLine(indent=False)] * max(0, 2 - blank_lines(anchor))
    function = spaced(function, 0 if index == 0 and not document.module.header else 2)
    changes.before[anchor] = [function.with_changes(body=function.body.with_changes(footer=footer))]
    what = "the lambda" if assignment is None else f"`{assignment.name}`"
    moved = f"Move {what} to a module-level function" + (f" `{name}`" if name != own else "")
    if free:
        passed = ", ".join(f"`{variable}`" for variable in free)
        return Candidate(Applicability.UNSAFE, f"{moved}; pass {passed} with functools.partial", changes, (finding,))
    return Candidate(unsafe or Applicability.SAFE, moved, changes, (finding,))


def _new_name(document: Document, definition: Definition, assignment: Optional[Assignment]) -> str:
    """The function's module-level name: its own when nothing else in the file uses that name, else
    ``_<enclosing function>_<name>`` (``_<enclosing function>_lambda`` for an inline lambda)."""
    outer = document.enclosing(definition, (cst.FunctionDef,))
    prefix = f"_{outer.name.value}" if outer is not None else ""
    if assignment is None:
        return document.unique_name(f"{prefix}_lambda")
    if document.names_only_for(assignment):
        return assignment.name
    return document.unique_name(f"{prefix}_{assignment.name}")


def _definition_time(document: Document, definition: Definition, index: int) -> tuple[Optional[Applicability],
                                                                                      Optional[str]]:
    """What is evaluated when the function is defined (default values, decorators, annotations) now
    runs once, at import: (UNSAFE when that may change something, a reason when it cannot move)."""
    params = definition.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.default is not None and not is_constant(param.default):
            return None, f"its default value `{code_of(param.default)}` is computed where it is defined"
    if not isinstance(definition, cst.FunctionDef):
        return None, None
    evaluated: list[cst.CSTNode] = [d.decorator for d in definition.decorators]
    if document.imports.get("annotations") != "__future__.annotations":
        every = (*params.posonly_params, *params.params, *params.kwonly_params, params.star_arg, params.star_kwarg)
        evaluated += [p.annotation for p in every if isinstance(p, cst.Param) and p.annotation]
        evaluated += [definition.returns] if definition.returns else []
    for node in evaluated:
        for read in document.reads(node):
            if not document.is_global(read) or not document.defined_before(read.value, index):
                return None, f"'{read.value}' in its decorators or annotations is not defined before it at module level"
    return (Applicability.UNSAFE if definition.decorators else None), None


def _use(document: Document, read: cst.BaseExpression, name: str, free: list[str],
         changes: Changes) -> tuple[cst.CSTNode, cst.CSTNode]:
    """How a use of the callable reads after the move: (the node to replace, its replacement).
    With free variables, a call gets them as leading arguments and any other use a partial."""
    parent = document.parent(read)
    if not free:
        return read, cst.Name(name)
    if isinstance(parent, cst.Call) and parent.func is read:
        arguments = [cst.Arg(cst.Name(variable)) for variable in free]
        return parent, parent.with_changes(func=cst.Name(name), args=[*arguments, *parent.args])
    partial = document.reference(PARTIAL, read, changes)
    return read, document.expression_code(f"{partial}({name}, {', '.join(free)})")


def _function(definition: Definition, name: str, free: Sequence[str],
              statement: Optional[cst.BaseStatement] = None) -> cst.FunctionDef:
    """``definition`` as a ``def name(free..., params...)``; a lambda keeps the comments of the
    ``statement`` that names it."""
    params = definition.params
    leading = [cst.Param(cst.Name(variable)) for variable in free]
    if params.posonly_params:
        params = params.with_changes(posonly_params=[*leading, *params.posonly_params])
    else:
        params = params.with_changes(params=[*leading, *params.params])
    if isinstance(definition, cst.FunctionDef):
        return definition.with_changes(name=cst.Name(name), params=params)
    body = definition.body
    if "\n" in code_of(body) and not body.lpar:
        body = body.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    block = cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(body)])])
    if isinstance(statement, cst.SimpleStatementLine):
        return cst.FunctionDef(name=cst.Name(name), params=params, leading_lines=statement.leading_lines,
                               body=block.with_changes(header=statement.trailing_whitespace))
    return cst.FunctionDef(name=cst.Name(name), params=params, body=block)


def _nested(document: Document, nodes: list[cst.CSTNode]) -> bool:
    """Does one replaced node hold another (its replacement would drop the inner change)?"""
    return any(a is not b and document.contains(a, b) for a in nodes for b in nodes)
