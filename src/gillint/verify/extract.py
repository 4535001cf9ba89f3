"""Snippet extraction: the flagged code plus exactly what it needs from its module, nothing else.

The module is re-parsed from its file with libcst; each top-level statement is summarised with
:mod:`symtable` (names it binds, global names it reads). Starting from the names a probe needs,
the defining statements are collected transitively and emitted in source order. Statements that
bind nothing needed (``print(...)``, ``main()``, the ``if __name__ == "__main__":`` block) are
never copied, so they never run. Code inside a function (the dispatch site of a lambda or a local
function) is rebuilt the same way from that function's body, into a wrapper named like it.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import libcst as cst
from libcst.metadata import PositionProvider

from gillint.project.sources import read_source
from gillint.project.syntax import is_main_guard
from gillint.verify.harness import OBJECT_NAME, STUB_NAME

#: Names every module has without binding them.
BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__package__", "__spec__"}


class ExtractionError(Exception):
    """The snippet cannot be built; the message is the ``skipped`` reason."""


@dataclass(frozen=True)
class Unit:
    """One statement that may be copied into a snippet."""

    code: str
    line: int
    end_line: int
    binds: frozenset[str]
    uses: frozenset[str]
    #: A ``def`` or ``class``: the names its body uses are only looked up when it is called.
    definition: bool = False


def _summarise(code: str, line: int, end_line: int, definition: bool = False) -> Unit:
    # A nested def's `nonlocal x` reads x from the function around it: as a unit of its own it
    # reads it like a global (and a standalone `nonlocal` would not even compile).
    table = symtable.symtable(re.sub(r"\bnonlocal\b", "global", code), "<snippet>", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    return Unit(code, line, end_line, frozenset(binds), frozenset(_uses(table)), definition)


def _safe_summary(code: str, line: int, end_line: int, definition: bool) -> Unit:
    """A unit; one :mod:`symtable` cannot analyse (``return`` out of its function, syntax newer than
    this interpreter, nesting too deep) binds nothing, so it is never copied."""
    try:
        return _summarise(code, line, end_line, definition)
    except (SyntaxError, RecursionError, ValueError):
        return Unit(code, line, end_line, frozenset(), frozenset())


def _uses(table: symtable.SymbolTable) -> Iterator[str]:
    """Global names the code reads from elsewhere. At module level a name the code assigns itself
    is left out: on 3.12+ that includes inlined comprehension variables, which are not globals."""
    module = table.get_type() == "module"
    for symbol in table.get_symbols():
        if (module and symbol.is_referenced() and not symbol.is_assigned()) or (not module and symbol.is_global()):
            yield symbol.get_name()
    for child in table.get_children():
        yield from _uses(child)


def closure(units: Sequence[Unit], roots: Iterable[str]) -> list[Unit]:
    """The units that bind ``roots`` and, transitively, what those use, in source order."""
    wanted, chosen, pending = set(), set(), list(roots)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        for index, unit in enumerate(units):
            if name in unit.binds and index not in chosen:
                chosen.add(index)
                pending.extend(unit.uses)
    return [unit for index, unit in enumerate(units) if index in chosen]


@dataclass
class SourceModule:
    """A module re-parsed for extraction: its top-level units and its tree."""

    path: Path
    tree: cst.Module
    units: list[Unit]
    future: list[str]
    package: str
    import_root: Path

    @classmethod
    def load(cls, path: Path) -> SourceModule:
        try:
            tree = cst.parse_module(read_source(path))
        except Exception as error:  # any reason is a skip reason
            raise ExtractionError(f"cannot re-read {path}: {error}") from None
        wrapper = cst.MetadataWrapper(tree, unsafe_skip_copy=True)
        positions = wrapper.resolve(PositionProvider)
        units, future = [], []
        for statement in tree.body:
            code = tree.code_for_node(statement)
            if _is_main_guard(statement):
                continue
            if _is_future_import(statement):
                future.append(code.strip())
                continue
            position = positions[statement]
            units.append(_safe_summary(code, position.start.line, position.end.line, False))
        package, root = _package_of(path)
        return cls(path, tree, units, future, package, root)

    @property
    def bound(self) -> frozenset[str]:
        return frozenset(name for unit in self.units for name in unit.binds)

    def function(self, qualname: str) -> Optional[cst.FunctionDef]:
        """The module-level function ``name`` or method ``Class.name`` (None for anything nested deeper)."""
        owner, _, name = qualname.rpartition(".")
        body = self.tree.body if not owner else getattr(self.class_def(owner), "body", None)
        for statement in getattr(body, "body", body) or ():
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                return statement
        return None

    def class_def(self, name: str) -> Optional[cst.ClassDef]:
        """The module-level class ``name``."""
        for statement in self.tree.body:
            if isinstance(statement, cst.ClassDef) and statement.name.value == name:
                return statement
        return None

    def lambda_at(self, line: int) -> Optional[str]:
        """The source of the one lambda that starts on ``line`` (None if there is not exactly one)."""
        found = _LambdaFinder(line)
        cst.MetadataWrapper(self.tree, unsafe_skip_copy=True).visit(found)
        return found.codes[0] if len(found.codes) == 1 else None

    def enclosing_function(self, line: int) -> tuple[Optional[cst.FunctionDef], list[Unit]]:
        """The innermost function around ``line`` (None at module level) and the units before
        ``line`` of its body, or of the ``if __name__ == "__main__":`` block around it."""
        found = _Enclosing(line)
        cst.MetadataWrapper(self.tree, unsafe_skip_copy=True).visit(found)
        return found.best, [u for u in found.units if u.end_line < line]

    def snippet(self, roots: Iterable[str], tail: str = "") -> str:
        """Module text with what ``roots`` need, then ``tail`` (code that may use them)."""
        needed = set(roots)
        if tail:
            needed |= set(_uses(symtable.symtable(tail, "<tail>", "exec")))
        parts = [*self.future]
        if self.package:
            parts.append(f"__package__ = {self.package!r}")
        parts.extend(_stubbed(unit.code.rstrip("\n")) for unit in closure(self.units, needed))
        parts.append(tail)
        return "\n".join(parts).rstrip("\n") + "\n"


def _stubbed(code: str) -> str:
    """An import statement that binds a stub (harness.Stub) for what fails to import: the probe
    needs a module only if it calls into it, and then the stub raises."""
    try:
        statements = ast.parse(code).body
    except SyntaxError:
        return code
    if not statements or not all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in statements):
        return code
    stubs = []
    for statement in statements:
        assert isinstance(statement, (ast.Import, ast.ImportFrom))
        for alias in statement.names:
            if alias.name == "*":
                return code
            if isinstance(statement, ast.Import):
                bound, module = alias.asname or alias.name.partition(".")[0], alias.name.partition(".")[0]
            else:
                bound, module = alias.asname or alias.name, f"{statement.module or ''}.{alias.name}".lstrip(".")
            stubs.append(f"{bound} = {STUB_NAME}({module!r})")
    body = textwrap.indent(code, "    ")
    return f"try:\n{body}\nexcept ImportError:\n" + "\n".join(f"    {stub}" for stub in stubs)


class _LambdaFinder(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, line: int) -> None:
        self.line = line
        self.codes: list[str] = []

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        if self.get_metadata(PositionProvider, node).start.line == self.line:
            self.codes.append(_code(node))
            return False
        return True


class _Enclosing(cst.CSTVisitor):
    """Finds the innermost function (or main-guard block) containing a line, flattening its body."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, line: int) -> None:
        self.line = line
        self.best: Optional[cst.FunctionDef] = None
        self.units: list[Unit] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        position = self.get_metadata(PositionProvider, node)
        if position.start.line <= self.line <= position.end.line:
            self.best = node
            self.units = list(self._flatten(node.body))
            return True
        return False

    def visit_If(self, node: cst.If) -> bool:
        position = self.get_metadata(PositionProvider, node)
        if self.best is None and _is_main_guard(node) and position.start.line <= self.line <= position.end.line:
            self.units = list(self._flatten(node.body))
        return True

    def _flatten(self, block: cst.BaseSuite) -> Iterator[Unit]:
        for statement in getattr(block, "body", ()):
            if isinstance(statement, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef)):
                yield self._unit(statement, textwrap.dedent(_code(statement)))
                continue
            if isinstance(statement, cst.With):
                for item in statement.items:
                    if item.asname is not None and isinstance(item.asname.name, cst.Name):
                        text = f"{item.asname.name.value} = {_code(item.item)}\n"
                        yield self._unit(statement, text)
            for name in ("body", "orelse", "finalbody"):
                child = getattr(statement, name, None)
                if isinstance(child, cst.BaseSuite):
                    yield from self._flatten(child)
                elif child is not None and hasattr(child, "body"):
                    yield from self._flatten(child.body)
            for handler in getattr(statement, "handlers", ()):
                yield from self._flatten(handler.body)

    def _unit(self, node: cst.CSTNode, code: str) -> Unit:
        position = self.get_metadata(PositionProvider, node)
        end = position.end.line if not isinstance(node, cst.With) else position.start.line
        return _safe_summary(code, position.start.line, end, isinstance(node, (cst.FunctionDef, cst.ClassDef)))


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _is_main_guard(statement: cst.CSTNode) -> bool:
    """The project model's test (:func:`~gillint.project.syntax.is_main_guard`), on libcst's node."""
    if not isinstance(statement, cst.If):
        return False
    try:
        test = ast.parse(_code(statement.test).strip(), mode="eval").body
    except SyntaxError:
        return False
    return is_main_guard(test)


def _is_future_import(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.ImportFrom)
            and _code(statement.body[0].module or cst.Name("x")) == "__future__")


def _package_of(path: Path) -> tuple[str, Path]:
    """The dotted package of ``path`` and the directory its top package is imported from."""
    parts: list[str] = []
    directory = path.resolve().parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), directory


def expression_names(text: str) -> frozenset[str]:
    """Global names an expression reads (not its comprehension or lambda variables).

    Raises :class:`ExtractionError` when ``text`` is not an expression.
    """
    direct, nested = _expression_scopes(text)
    return direct | nested


def _expression_scopes(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Free names the expression evaluates now, and those only its lambda bodies read (later).

    Comprehension and lambda variables and ``:=`` targets are not free. (With :mod:`ast`, not
    :mod:`symtable`: 3.12 inlines comprehensions, which changes what symtable reports.)
    """
    try:
        tree = ast.parse(f"({text.strip()}\n)", mode="eval")
    except SyntaxError:
        raise ExtractionError(f"`{text}` is not an expression") from None
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.comprehension, ast.NamedExpr)):
            bound.update(name.id for name in ast.walk(node.target) if isinstance(name, ast.Name))
        elif isinstance(node, ast.Lambda):
            bound.update(arg.arg for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs,
                                             *filter(None, (node.args.vararg, node.args.kwarg))))
    direct: set[str] = set()
    nested: set[str] = set()

    def visit(node: ast.AST, later: bool) -> None:
        if isinstance(node, ast.Lambda):
            visit(node.args, later)  # defaults are evaluated when the lambda is made
            visit(node.body, True)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            (nested if later else direct).add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, later)

    visit(tree, False)
    return frozenset(direct - bound), frozenset(nested - bound - direct)


def wrapper(module: SourceModule, line: int, expression: str, placeholders: bool) -> str:
    """Code that rebuilds ``expression`` as the function around ``line`` would, into OBJECT_NAME.

    The wrapper is named like that function, so local objects get the same ``__qualname__``.
    Free names of rebuilt local ``def``/``class`` statements that cannot be rebuilt (parameters,
    loop variables) become ``None`` placeholders (closure cells) when ``placeholders`` is true;
    anything else that cannot be rebuilt raises :class:`ExtractionError`: the object itself is
    never a placeholder.
    """
    function, units = module.enclosing_function(line)
    direct, nested = _expression_scopes(expression)
    chosen = closure(units, direct | nested)
    available = {name for unit in chosen for name in unit.binds} | module.bound | BUILTINS
    evaluated = direct | {name for unit in chosen if not unit.definition for name in unit.uses}
    cells = nested | {name for unit in chosen if unit.definition for name in unit.uses}
    unbuilt = sorted(evaluated - available) + sorted(cells - available if not placeholders else set())
    if unbuilt:
        raise ExtractionError(f"cannot rebuild {', '.join(f'`{m}`' for m in unbuilt)} from its source")
    missing = sorted(cells - available)
    body = [f"{name} = None  # placeholder: not rebuilt from the source" for name in missing]
    body.extend(unit.code.rstrip("\n") for unit in chosen)
    if function is None:  # module level (a main-guard block): no wrapper, as in the real script
        return "\n".join([*body, f"{OBJECT_NAME} = {expression}"]) + "\n"
    body.append(f"return {expression}")
    name = function.name.value
    inner = textwrap.indent("\n".join(body), "    ")
    return f"def {name}():\n{inner}\n\n{OBJECT_NAME} = {name}()\n"
