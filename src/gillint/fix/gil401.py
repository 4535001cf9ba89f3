"""GIL401: the module-level code that starts processes moves under ``if __name__ == "__main__":``.

The moved code is the top-level statement of the first GIL401 finding and everything after it
(every GIL401 finding of the module shares this one fix), with the script code just before it that
sets the work up (see :func:`_with_setup`). Function and class definitions among
those statements stay at module level, where a spawned child can find them, when what their
definition evaluates (decorators, defaults, base classes) is already defined before the moved code.
The rest goes into ``def main():`` (named ``main`` unless the file uses that name) called under a
new guard, or into the module's closing ``if __name__ == "__main__":`` block when there is one. The
statements go straight under a new guard instead, keeping their names module-level, when a
function outside them reads a name they bind, when a name is bound both in and outside them, or
when they bind nothing.

Safe when no project module imports this one, it is no module of a package, no function outside
the moved code reads a name it binds, and no definition had to move. Unsafe otherwise. No fix when
an importer uses a name the moved code binds (the module is a library whose import does the work),
when a class or function starts the process while it is being defined, or when a definition that
would move is used by code that stays.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence, Union

import libcst as cst
from libcst.metadata import Assignment

from gillint.findings import Finding
from gillint.fix.document import Document, FixContext, blank_lines, code_of, is_docstring, nested, spaced, walk
from gillint.fix.model import Applicability, Candidate, Changes, Declined, Plan

CODE = "GIL401"
GUARD = 'if __name__ == "__main__":'


def plan(finding: Finding, context: FixContext) -> Plan:
    """The module's one fix, planned for its first GIL401 finding and shared by the others."""
    if CODE not in context.shared:
        context.shared[CODE] = _plan(context, [f for f in context.findings if f.code == CODE])
    shared: Plan = context.shared[CODE]
    return shared


def _plan(context: FixContext, findings: list[Finding]) -> Plan:
    document = context.document
    body = list(document.module.body)
    starting = [document.top_level(node) for node in _nodes(document, findings)]
    if not starting:
        return Declined()
    defining = next((s for s in starting if isinstance(s, (cst.ClassDef, cst.FunctionDef))), None)
    if defining is not None:
        return Declined(f"'{defining.name.value}' starts it while it is being defined: start it when it is "
                        "first needed instead")
    guard = body[-1] if isinstance(body[-1], cst.If) and _is_main_guard(body[-1]) else None
    first = _with_setup(document, min(document.index(s) for s in starting), guard)
    moved = _moved(document, body[first:len(body) - 1 if guard is not None else len(body)], first, starting)
    if not moved:
        return Declined()
    bound = _bound_names(document, moved)
    outside = _read_outside(document, bound, [*moved, *([guard] if guard is not None else [])])
    definitions = {s.name.value for s in moved if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
    used = sorted(definitions & outside)
    if used:
        return Declined(f"'{used[0]}' would move under the guard, but code outside it uses it")
    importers = context.importers()
    users = [path.name for path, text in importers or () if _uses(text, context.module, bound)]
    if users:
        return Declined(f"'{users[0]}' imports names this code binds: the module is a library whose import "
                        "starts the work")
    changes = Changes(replace={statement: cst.RemoveFromParent() for statement in moved})
    where = _place(document, changes, moved, guard, bound, outside)
    package = context.package or context.module != "__main__" and any(
        isinstance(node, cst.ImportFrom) and node.relative for node in walk(document.module))
    safe = importers == [] and not package and not outside and not definitions
    message = f"Move the module-level code from line {document.span(moved[0])[0][0]} {where}"
    return Candidate(Applicability.SAFE if safe else Applicability.UNSAFE, message, changes, tuple(findings))


def _place(document: Document, changes: Changes, moved: list[cst.BaseStatement], guard: Optional[cst.If],
           bound: dict[str, list[Assignment]], outside: set[str]) -> str:
    """Put the moved statements into the existing guard, under a new one, or into a new ``main()``
    called under a new one; says where."""
    statements = nested(moved)
    last = document.module.body[-1]
    if guard is not None:
        block = _block(guard.body)
        guarded = guard.with_changes(body=block.with_changes(body=[*statements, *block.body]))
        changes.replace[guard] = spaced(guarded, max(blank_lines(guard), blank_lines(moved[0])))
        return f"into the `{GUARD}` block"
    if not bound or outside or _bound_elsewhere(document, bound, moved) or _needs_module_scope(moved):
        new = document.statement_code(f"{GUARD}\n{document.module.default_indent}pass\n")
        changes.after[last] = [spaced(new.with_changes(body=cst.IndentedBlock(statements)), 2)]
        return f"under `{GUARD}`"
    name = document.unique_name("main")
    function = cst.FunctionDef(name=cst.Name(name), params=cst.Parameters(), body=cst.IndentedBlock(statements))
    call = document.statement_code(f"{GUARD}\n{document.module.default_indent}{name}()\n")
    changes.after[last] = [spaced(function, 2), spaced(call, 2)]
    changes.names.add(name)
    return f"into `{name}()`, called under `{GUARD}`"


def _with_setup(document: Document, first: int, guard: Optional[cst.If]) -> int:
    """Where the moved code starts: the first start, or the script code just before it (statements
    that define and import nothing, and are no ``CONSTANT = ...``) when nothing outside reads what it
    binds: the setup of the work, which a spawned child would otherwise run again on import."""
    body = list(document.module.body)
    while first > 0:
        previous = body[first - 1]
        if isinstance(previous, (cst.FunctionDef, cst.ClassDef)) or is_docstring(previous) \
                or isinstance(previous, cst.If) and _is_main_guard(previous) \
                or any(isinstance(node, (cst.Import, cst.ImportFrom)) for node in walk(previous)):
            break
        later = [*body[first - 1:], *([guard] if guard is not None else [])]
        bound = _bound_names(document, [previous])
        if bound and all(name.isupper() for name in bound) or _read_outside(document, bound, later):
            break  # a module's CONSTANTS stay where they are
        first -= 1
    return first


def _nodes(document: Document, findings: list[Finding]) -> list[cst.CSTNode]:
    found = [document.node_at(finding, (cst.BaseExpression,)) for finding in findings]
    return [node for node in found if node is not None]


def _is_main_guard(statement: cst.If) -> bool:
    """``if __name__ == "__main__":`` (either way round) without ``elif``/``else``."""
    if statement.orelse is not None:
        return False
    test = statement.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = {code_of(test.left), code_of(target.comparator)}
    return sides in ({"__name__", '"__main__"'}, {"__name__", "'__main__'"})


def _moved(document: Document, block: Sequence[cst.BaseStatement], first: int,
           starting: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The statements that move: all but the definitions that can stay at module level."""
    moved: list[cst.BaseStatement] = []
    defined: set[str] = set()
    for statement in block:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and not any(s is statement for s in starting) \
                and len(document.global_scope.assignments[statement.name.value]) == 1 \
                and all(read.value in defined or document.defined_before(read.value, first)
                        for read in _definition_reads(document, statement) if document.is_global(read)):
            defined.add(statement.name.value)
        else:
            moved.append(statement)
    return moved


def _definition_reads(document: Document, definition: Union[cst.FunctionDef, cst.ClassDef]) -> list[cst.Name]:
    """The names read when the definition runs: decorators, defaults, annotations, a class's bases
    and body (but not the bodies of functions)."""
    parts: list[cst.CSTNode] = [d.decorator for d in definition.decorators]
    if isinstance(definition, cst.FunctionDef):
        parts += [definition.params, *([definition.returns] if definition.returns else [])]
        return [read for part in parts for read in document.reads(part)]
    parts += [*definition.bases, *definition.keywords]
    reads = [read for part in parts for read in document.reads(part)]
    for statement in _block(definition.body).body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            reads += _definition_reads(document, statement)
        else:
            reads += document.reads(statement)
    return reads


def _bound_names(document: Document, moved: list[cst.BaseStatement]) -> dict[str, list[Assignment]]:
    """Module-level names the moved statements bind, with those assignments."""
    found: dict[str, list[Assignment]] = {}
    for assignment in document.global_scope.assignments:
        if isinstance(assignment, Assignment) and _in(document, assignment.node, moved):
            found.setdefault(assignment.name, []).append(assignment)
    return found


def _read_outside(document: Document, bound: dict[str, list[Assignment]],
                  inside: Sequence[cst.BaseStatement]) -> set[str]:
    """The names among ``bound`` that code outside ``inside`` (the moved statements and the guard
    they join) reads, like a function defined earlier, or that a function declares ``global``."""
    found = {name for name, assignments in bound.items() for assignment in assignments
             if any(not _in(document, access.node, inside) for access in assignment.references)}
    declared = {n.name.value for statement in inside for node in walk(statement) if isinstance(node, cst.Global)
                for n in node.names}
    return found | (declared & set(bound))


def _bound_elsewhere(document: Document, bound: dict[str, list[Assignment]], moved: list[cst.BaseStatement]) -> bool:
    """Is a name the moved statements bind also bound outside them (it would become two variables)?"""
    return any(isinstance(a, Assignment) and not _in(document, a.node, moved)
               for name in bound for a in document.global_scope.assignments[name])


def _needs_module_scope(moved: list[cst.BaseStatement]) -> bool:
    """``from x import *`` and ``global`` at module level cannot go into a function."""
    smalls = [small for line in moved if isinstance(line, cst.SimpleStatementLine) for small in line.body]
    return any(isinstance(small, cst.Global) or isinstance(small, cst.ImportFrom)
               and isinstance(small.names, cst.ImportStar) for small in smalls)


def _in(document: Document, node: cst.CSTNode, statements: Sequence[cst.BaseStatement]) -> bool:
    top = document.top_level(node)
    return any(top is statement for statement in statements)


def _block(body: cst.BaseSuite) -> cst.IndentedBlock:
    """A compound statement's body as an indented block (``if x: y()`` becomes two lines)."""
    if isinstance(body, cst.IndentedBlock):
        return body
    assert isinstance(body, cst.SimpleStatementSuite)
    line = cst.SimpleStatementLine(body=body.body, trailing_whitespace=body.trailing_whitespace)
    return cst.IndentedBlock(body=[line])


def _uses(text: str, module: str, bound: dict[str, list[Assignment]]) -> bool:
    """Does an importer's text use a name of ``module`` that the moved code binds (or import all)?"""
    if not bound:
        return False
    names = "|".join(re.escape(name) for name in bound)
    attribute = re.compile(rf"\b{re.escape(module)}\.(?:{names})\b")
    imported = re.compile(rf"^[ \t]*from[ \t]+[.\w]*\b{re.escape(module)}[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)",
                          re.MULTILINE)
    return bool(attribute.search(text)) or any(
        "*" in match.group(1) or re.search(rf"\b(?:{names})\b", match.group(1)) for match in imported.finditer(text))
