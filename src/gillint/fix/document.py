"""The file being fixed, as libcst sees it: nodes found by a finding's position, scopes and names.

Findings carry 1-based lines and 1-based character columns (end exclusive); libcst's
``PositionProvider`` gives 1-based lines and 0-based character columns, with the same ends. Both
leave a parenthesised expression's brackets out.
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    Scope,
    ScopeProvider,
)
from libcst.metadata.scope_provider import LocalScope

from gillint.findings import Finding
from gillint.fix.model import Changes

Node = TypeVar("Node", bound=cst.CSTNode)
Span = tuple[tuple[int, int], tuple[int, int]]
#: Scopes whose variables a nested function reads as free variables (closures).
ENCLOSING_SCOPES = (FunctionScope, ComprehensionScope)


class Document:
    """One parse of a file with libcst, and the questions fixers ask about it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.parents = self.wrapper.resolve(ParentNodeProvider)

    @cached_property
    def scopes(self) -> dict[cst.CSTNode, Optional[Scope]]:
        return dict(self.wrapper.resolve(ScopeProvider))

    # Positions and tree navigation

    def span(self, node: cst.CSTNode) -> Span:
        """``((line, column), (end_line, end_column))``: 1-based lines, 0-based columns."""
        where = self.positions[node]
        return (where.start.line, where.start.column), (where.end.line, where.end.column)

    def node_at(self, finding: Finding, kinds: tuple[type[Node], ...]) -> Optional[Node]:
        """The smallest node of one of ``kinds`` that covers the finding's position."""
        start, end = (finding.line, finding.column - 1), (finding.end_line, finding.end_column - 1)
        best: Optional[Node] = None
        best_span: Optional[Span] = None
        for node, where in self.positions.items():
            if not isinstance(node, kinds):
                continue
            span = (where.start.line, where.start.column), (where.end.line, where.end.column)
            if span[0] <= start and end <= span[1] and (best_span is None or _within(span, best_span)):
                best, best_span = node, span
        return best

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parent = self.parent(node)
        while parent is not None:
            yield parent
            parent = self.parent(parent)

    def enclosing(self, node: cst.CSTNode, kinds: tuple[type[Node], ...]) -> Optional[Node]:
        return next((a for a in self.ancestors(node) if isinstance(a, kinds)), None)

    def statement(self, node: cst.CSTNode) -> cst.BaseStatement:
        """The statement (a line of simple statements, or a compound statement) holding ``node``."""
        if isinstance(node, cst.BaseStatement):
            return node
        found = self.enclosing(node, (cst.BaseStatement,))
        assert found is not None, "every expression is inside a statement"
        return found

    def top_level(self, node: cst.CSTNode) -> cst.BaseStatement:
        """The statement of the module's body that holds ``node``."""
        chain = [node, *self.ancestors(node)]
        for child, parent in zip(chain, chain[1:]):
            if isinstance(parent, cst.Module):
                assert isinstance(child, cst.BaseStatement)
                return child
        raise ValueError("node is not in the module")

    def contains(self, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
        return inner is outer or any(a is outer for a in self.ancestors(inner))

    def index(self, statement: cst.BaseStatement) -> int:
        """The position of a top-level statement in the module's body."""
        return next(i for i, s in enumerate(self.module.body) if s is statement)

    # Scopes and names

    def binding(self, name: cst.Name) -> Optional[BaseAssignment]:
        """The one assignment ``name`` (a read) refers to, or None (several, none, or not a read)."""
        scope = self.scopes.get(name)
        if scope is None:
            return None
        referents = {r for access in scope.accesses[name] for r in access.referents}
        return referents.pop() if len(referents) == 1 else None

    def assignments(self, name: cst.Name) -> list[Assignment]:
        """The assignments ``name`` (read or written) may refer to, in source order (``global`` and
        ``nonlocal`` followed)."""
        scope = self.scopes.get(name)
        found = [a for a in scope[name.value] if isinstance(a, Assignment)] if scope is not None else []
        return sorted(found, key=lambda a: self.span(a.node))

    def sole_binding(self, name: cst.Name) -> Optional[Assignment]:
        """Like :meth:`binding`, when it is the only assignment of that name in its scope."""
        found = self.binding(name)
        if not isinstance(found, Assignment) or len(found.scope.assignments[found.name]) != 1:
            return None
        return found

    def references(self, assignment: BaseAssignment) -> list[cst.Name]:
        """The names that read ``assignment``, in source order."""
        names = [access.node for access in assignment.references if isinstance(access.node, cst.Name)]
        return sorted(names, key=lambda n: self.span(n))

    def free_names(self, node: cst.CSTNode, exclude: Iterable[str] = ()) -> list[str]:
        """Variables of enclosing functions (or comprehensions) that code inside ``node`` reads,
        in order of first use: what a closure made of ``node`` would capture."""
        inner = {scope for scope in self.scopes.values()
                 if isinstance(scope, LocalScope) and self.contains(node, scope.node)}
        found: dict[str, tuple[int, int]] = {}
        for scope in inner:
            for access in scope.accesses:
                outer = [r for r in access.referents if isinstance(r.scope, ENCLOSING_SCOPES) and r.scope not in inner]
                if outer and isinstance(access.node, cst.Name) and access.node.value not in exclude:
                    where = self.span(access.node)[0]
                    found[access.node.value] = min(found.get(access.node.value, where), where)
        return sorted(found, key=lambda name: found[name])

    @cached_property
    def global_scope(self) -> GlobalScope:
        return next(scope for scope in self.scopes.values() if isinstance(scope, GlobalScope))

    def reads(self, node: cst.CSTNode) -> list[cst.Name]:
        """The names read inside ``node`` (not attribute names, not assignment targets)."""
        names = [name for name in walk(node) if isinstance(name, cst.Name)]
        return [name for name in names if (scope := self.scopes.get(name)) is not None and scope.accesses[name]]

    def defined_before(self, name: str, index: int) -> bool:
        """Is ``name`` a builtin, or bound by a top-level statement before the ``index``-th?"""
        if name in dir(builtins):
            return True
        return any(self.index(self.top_level(a.node)) < index for a in self.global_scope.assignments[name]
                   if isinstance(a, Assignment))

    def is_global(self, name: cst.Name) -> bool:
        """Does ``name`` (a read) refer to a module-level binding, an import, a builtin or nothing?"""
        scope = self.scopes.get(name)
        if scope is None:
            return False
        referents = {r for access in scope.accesses[name] for r in access.referents}
        return all(isinstance(r.scope, GlobalScope) or r.scope is None for r in referents) or not referents

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """What an expression refers to (``functools.partial``), as libcst resolves imports."""
        scope = self.scopes.get(node)
        return {q.name for q in scope.get_qualified_names_for(node)} if scope is not None else set()

    @cached_property
    def variables(self) -> frozenset[str]:
        """The names bound or read as variables anywhere in the file (not attribute or module names)."""
        found: set[str] = set()
        for scope in set(self.scopes.values()):
            if scope is not None:
                found.update(a.name for a in scope.assignments)
                found.update(a.node.value for a in scope.accesses if isinstance(a.node, cst.Name))
        return frozenset(found)

    def unique_name(self, base: str) -> str:
        """``base``, or ``base_2``, ``base_3``...: the first that is no variable of the file, builtin
        or keyword."""
        taken = self.variables | set(dir(builtins)) | set(keyword.kwlist)
        if base not in taken:
            return base
        number = 2
        while f"{base}_{number}" in taken:
            number += 1
        return f"{base}_{number}"

    def names_only_for(self, assignment: Assignment) -> bool:
        """Is every occurrence of the assignment's name in the file the binding itself or one of its
        reads (so the name can move to module level unchanged)?"""
        bound = assignment.node
        own = {id(n) for n in self.references(assignment)}
        own.add(id(bound.name) if isinstance(bound, (cst.FunctionDef, cst.ClassDef)) else id(bound))
        if assignment.name in dir(builtins):
            return False
        return all(id(node) in own or self._is_label(node) for node in self.positions
                   if isinstance(node, cst.Name) and node.value == assignment.name)

    def _is_label(self, name: cst.Name) -> bool:
        """An attribute name (``obj.name``) or a keyword argument (``f(name=1)``): not a variable."""
        parent = self.parent(name)
        return isinstance(parent, cst.Attribute) and parent.attr is name or \
            isinstance(parent, cst.Arg) and parent.keyword is name

    # Imports

    @cached_property
    def imports(self) -> dict[str, str]:
        """Module-level imports: local name -> what it is (``{"ft": "functools", "partial": "functools.partial"}``)."""
        found: dict[str, str] = {}
        for statement in self.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        dotted = _dotted(alias.name)
                        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                            found[alias.asname.name.value] = dotted
                        else:
                            found[dotted.split(".")[0]] = dotted.split(".")[0]
                elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative \
                        and not isinstance(small.names, cst.ImportStar):
                    origin = _dotted(small.module)
                    for alias in small.names:
                        local = alias.evaluated_alias or alias.evaluated_name
                        found[local] = f"{origin}.{alias.evaluated_name}"
        return found

    def reference(self, qualified: str, at: cst.CSTNode, changes: Changes, prefer_from: bool = False) -> str:
        """Code that names ``qualified`` (``"functools.partial"``) at ``at``; the import it needs, if
        any, is added to ``changes``.

        Uses an existing import when there is one (``partial``, ``ft.partial``); otherwise
        ``import functools`` (or ``from functools import partial`` with ``prefer_from``).
        """
        module, _, name = qualified.rpartition(".")
        for local, target in self.imports.items():
            if self.usable(local, at) and target == qualified:
                return local
        for local, target in self.imports.items():
            if self.usable(local, at) and qualified.startswith(target + "."):
                return local + qualified[len(target):]
        if prefer_from and name not in self.variables:
            self.add_import(f"from {module} import {name}", changes, module)
            return name
        top = module.split(".")[0]
        if top in self.variables and self.imports.get(top) != top:
            raise NameClash(top)
        self.add_import(f"import {module}", changes)
        return qualified

    def add_import(self, code: str, changes: Changes, origin: Optional[str] = None) -> None:
        """Add an import statement to ``changes``: after the imports at the top of the module (into
        the module's ``from origin import ...`` line when ``origin`` has one)."""
        line = self.from_import(origin) if origin is not None else None
        if line is not None:
            statement = line.body[0]
            assert isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar)
            alias = cst.ImportAlias(name=cst.Name(code.rsplit(" ", 1)[1]))
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            names = [*statement.names[:-1], statement.names[-1].with_changes(comma=comma), alias]
            changes.replace[line] = line.with_changes(body=[statement.with_changes(names=names)])
            return
        body = list(self.module.body)
        last = None
        for candidate in body:
            if not isinstance(candidate, cst.SimpleStatementLine) or not (
                    all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in candidate.body)
                    or candidate is body[0] and is_docstring(candidate)):
                break
            last = candidate
        new = self.statement_code(code + "\n")
        if last is not None:
            changes.after.setdefault(last, []).append(new)
        elif body:
            changes.before.setdefault(body[0], []).append(new)

    def from_import(self, module: str) -> Optional[cst.SimpleStatementLine]:
        """The module-level line that is only ``from <module> import a, b`` (no star, no brackets)."""
        for statement in self.module.body:
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                small = statement.body[0]
                if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative \
                        and _dotted(small.module) == module and isinstance(small.names, (list, tuple)) \
                        and small.lpar is None:
                    return statement
        return None

    def usable(self, local: str, at: cst.CSTNode) -> bool:
        """Does ``local`` at ``at`` still mean the module-level import (no local variable hides it)?"""
        scope = self.scopes.get(at)
        while scope is not None and not isinstance(scope, GlobalScope):
            if scope.assignments[local]:
                return False
            scope = scope.parent
        return True

    # Building code in the file's own style

    def statement_code(self, code: str) -> cst.BaseStatement:
        """Parse one statement with the file's indentation and line ending."""
        return cst.parse_statement(code, config=self.module.config_for_parsing)

    def expression_code(self, code: str) -> cst.BaseExpression:
        return cst.parse_expression(code, config=self.module.config_for_parsing)


class NameClash(Exception):
    """A name a fix needs at module level already means something else there."""


def is_docstring(statement: cst.BaseStatement) -> bool:
    """Is the statement a string on its own (a docstring)?"""
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Expr) \
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))


def code_of(node: cst.CSTNode) -> str:
    """The source code of a node, without the whitespace around it."""
    return cst.Module(body=[]).code_for_node(node).strip()


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every node under it."""
    yield node
    for child in node.children:
        yield from walk(child)


def _within(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {type(node).__name__}")


def spaced(statement: Node, blank_lines: int) -> Node:
    """``statement`` with exactly ``blank_lines`` empty lines before its comments (PEP 8 spacing)."""
    return statement.with_changes(leading_lines=[cst.EmptyLine(indent=False)] * blank_lines + _rest(statement))


def blank_lines(statement: cst.CSTNode) -> int:
    """How many empty lines come before the statement (before its comments)."""
    return len(getattr(statement, "leading_lines", ())) - len(_rest(statement))


def _rest(statement: cst.CSTNode) -> list[cst.EmptyLine]:
    """The lines before a statement from its first comment on."""
    rest = list(getattr(statement, "leading_lines", ()))
    while rest and rest[0].comment is None:
        rest.pop(0)
    return rest


def nested(statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """Statements moved into a deeper block: no blank line before the first, at most one between
    the others, and no indentation on blank lines (a module's blank lines carry it)."""
    found = []
    for position, statement in enumerate(statements):
        moved = spaced(statement, 0 if position == 0 else min(1, blank_lines(statement))).visit(_BareBlankLines())
        assert isinstance(moved, cst.BaseStatement)
        found.append(moved)
    return found


class _BareBlankLines(cst.CSTTransformer):
    def leave_EmptyLine(self, original_node: cst.EmptyLine, updated_node: cst.EmptyLine) -> cst.EmptyLine:
        return updated_node.with_changes(indent=False) if updated_node.comment is None else updated_node


def is_constant(node: cst.BaseExpression) -> bool:
    """A literal whose value cannot change: a number, string, ``None``/``True``/``False``, ``...``,
    a negated number, or a tuple of those (a safe default value to evaluate once instead of per call)."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
                         cst.Ellipsis)):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, (cst.Minus, cst.Plus)) and is_constant(node.expression)
    if isinstance(node, cst.Tuple):
        return all(is_constant(element.value) for element in node.elements if isinstance(element, cst.Element))
    return False


@dataclass
class FixContext:
    """What a fixer may ask about the file of a finding."""

    document: Document
    #: The file's findings that are reported (after selection and noqa), sorted.
    findings: Sequence[Finding]
    #: The module's name, as an importer would write it (its last part).
    module: str
    #: Is it a module of a package (something imports it, whether or not gillint sees what)?
    package: bool
    #: The files that import this module, with their text (a bounded text scan, run when asked);
    #: None when the project is too large to scan.
    importers: Callable[[], Optional[list[tuple[Path, str]]]]
    #: Plans a fixer shares between the findings of one file (all GIL401 findings get one fix).
    shared: dict[str, Any] = field(default_factory=dict)
