"""One parsed module and its index, built in a single traversal of its ``ast``.

The index holds what every rule queries: scopes and bindings (imports as dotted names), the
functions and classes defined (with ``self.x = ...`` instance attributes), and every call site
with its enclosing nodes. Positions come from the tree; character columns and source text are
computed only for the nodes that need them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

from gillint.project.limits import deep_recursion
from gillint.project.parse import parse_module
from gillint.project.scopes import Binding, BindingKind, Scope, ScopeKind
from gillint.project.syntax import (
    COMPREHENSIONS,
    DEFINITIONS,
    FUNCTIONS,
    LOOPS,
    FunctionNode,
    child_nodes,
    iter_statements,
    parameter_names,
)


class _Definition:
    """What functions and classes share: a name, a module, and a qualified name inside it."""

    node: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]
    module: ModuleInfo
    qualname: str

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def full_name(self) -> str:
        """Dotted name across the project: ``pkg.mod.C.method``."""
        return f"{self.module.name}.{self.qualname}"

    @property
    def is_local(self) -> bool:
        """Defined inside a function body (so it cannot be pickled by reference)."""
        return "<locals>" in self.qualname


@dataclass(eq=False)
class FunctionInfo(_Definition):
    """A ``def`` (sync or async) and what the index knows about it."""

    node: FunctionNode
    module: ModuleInfo
    #: Qualified name inside the module: ``f``, ``C.method``, ``outer.<locals>.inner``.
    qualname: str
    #: The scope the ``def`` statement is in, and the scope of its own body.
    defining_scope: Scope
    scope: Scope
    #: The class this is a method of (directly in the class body), if any.
    owner: Optional[ClassInfo] = None
    calls: list[CallSite] = field(default_factory=list)

    @property
    def is_async(self) -> bool:
        return isinstance(self.node, ast.AsyncFunctionDef)

    @property
    def parameter_names(self) -> list[str]:
        return parameter_names(self.node.args)


@dataclass(eq=False)
class ClassInfo(_Definition):
    """A ``class`` statement: its bases, methods and the attributes its methods set on ``self``."""

    node: ast.ClassDef
    module: ModuleInfo
    qualname: str
    defining_scope: Scope
    scope: Scope
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    #: ``self.<name> = value`` assignments in any method, in source order.
    instance_attributes: dict[str, list[Binding]] = field(default_factory=dict)

    @property
    def bases(self) -> list[ast.expr]:
        return [base for base in self.node.bases if not isinstance(base, ast.Starred)]


@dataclass(eq=False)
class CallSite:
    """A call expression, the scope it is evaluated in, and its enclosing nodes (outermost first)."""

    node: ast.Call
    scope: Scope
    ancestors: tuple[ast.AST, ...]

    @property
    def module(self) -> ModuleInfo:
        return self.scope.module

    @property
    def statement(self) -> ast.AST:
        """The innermost statement that contains the call."""
        for node in reversed(self.ancestors):
            if isinstance(node, ast.stmt):
                return node
        return self.node

    @property
    def in_loop(self) -> bool:
        """Evaluated repeatedly inside its function: in a loop or comprehension."""
        for node in reversed(self.ancestors):
            if isinstance(node, (*LOOPS, ast.comprehension, *COMPREHENSIONS)):
                return True
            if isinstance(node, (*FUNCTIONS, ast.Lambda, ast.ClassDef)):
                return False
        return False


@dataclass(frozen=True)
class Span:
    """Where a node is: 1-based lines, 0-based character columns, the end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(eq=False)
class ModuleInfo:
    """A parsed module: source, tree, index, and positions on demand."""

    path: Path
    #: Path as the user gave it (or as discovered): what findings print.
    display_path: str
    #: Dotted module name as the project's imports would spell it.
    name: str
    is_package: bool
    #: The source the tree's positions refer to (see :class:`~gillint.project.parse.Parsed`).
    source: str
    tree: ast.Module
    scope: Scope = field(init=False)
    functions: list[FunctionInfo] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    star_imports: list[str] = field(default_factory=list)
    _by_node: dict[ast.AST, Union[FunctionInfo, ClassInfo]] = field(default_factory=dict, repr=False)
    _lines: Optional[list[str]] = field(default=None, repr=False)

    @classmethod
    def build(cls, path: Path, display_path: str, name: str, is_package: bool, source: str) -> ModuleInfo:
        """Parse ``source`` and index it.

        Raises :class:`~gillint.project.parse.SyntaxProblem` on invalid code and
        :class:`~gillint.project.limits.LimitError` (a ``SourceError``) on code too large or nested too
        deeply to parse safely. Valid code too new for this interpreter to represent is an empty module.
        """
        parsed = parse_module(source, display_path)
        tree = parsed.tree if parsed is not None else ast.Module(body=[], type_ignores=[])
        module = cls(path, display_path, name, is_package, parsed.source if parsed is not None else source, tree)
        module.scope = Scope(ScopeKind.MODULE, tree, None, module, "")
        with deep_recursion():
            _Indexer(module).walk(tree)
        return module

    # -- lookups -------------------------------------------------------------------------------

    @property
    def package(self) -> str:
        """The package relative imports are resolved against."""
        if self.is_package:
            return self.name
        return self.name.rpartition(".")[0]

    def function_for(self, node: ast.AST) -> Optional[FunctionInfo]:
        info = self._by_node.get(node)
        return info if isinstance(info, FunctionInfo) else None

    def class_for(self, node: ast.AST) -> Optional[ClassInfo]:
        info = self._by_node.get(node)
        return info if isinstance(info, ClassInfo) else None

    def top_level(self, name: str) -> Optional[Union[FunctionInfo, ClassInfo]]:
        """The function or class a module-level name is bound to by ``def``/``class``, if unique."""
        bindings = self.scope.bindings.get(name, [])
        if len(bindings) != 1 or bindings[0].kind not in (BindingKind.FUNCTION, BindingKind.CLASS):
            return None
        return self._by_node.get(bindings[0].node)

    def member(self, dotted: str) -> Optional[Union[FunctionInfo, ClassInfo]]:
        """A function or class by qualified name inside this module (``C.method`` included)."""
        head, _, rest = dotted.partition(".")
        found = self.top_level(head)
        if not rest or found is None:
            return found
        if isinstance(found, ClassInfo) and "." not in rest:
            return found.methods.get(rest)
        return None

    def dispose(self) -> None:
        """Break the reference cycles of the index (the module, its scopes, bindings, definitions and
        call sites refer to each other) so that dropping the last reference frees it at once, without
        the cyclic garbage collector. The module must not be used afterwards."""
        scopes = {self.scope, *(f.scope for f in self.functions), *(c.scope for c in self.classes),
                  *(site.scope for site in self.calls)}
        for scope in scopes:
            for bindings in scope.bindings.values():
                for binding in bindings:
                    binding.__dict__.clear()
        for item in [*scopes, *self.functions, *self.classes, *self.calls]:
            item.__dict__.clear()
        self.__dict__.clear()

    # -- positions -----------------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = source_lines(self.source)
        return self._lines

    def line_of(self, node: ast.AST) -> int:
        """The first line of ``node``."""
        line = getattr(node, "lineno", None)
        return line if line is not None else _bounds(node)[0]

    def end_line_of(self, node: ast.AST) -> int:
        line = getattr(node, "end_lineno", None)
        return line if line is not None else _bounds(node)[2]

    def span(self, node: ast.AST) -> Span:
        """Where ``node`` is, in characters (``ast`` counts columns in UTF-8 bytes)."""
        line, column, end_line, end_column = _bounds(node)
        return Span(line, self._characters(line, column), end_line, self._characters(end_line, end_column))

    def code_of(self, node: ast.AST) -> str:
        """Source text of an expression or statement, as written."""
        line, column, end_line, end_column = _bounds(node)
        lines = [text.encode("utf-8") for text in self.lines[line - 1:end_line]]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][column:end_column].decode("utf-8", "replace")
        lines[0], lines[-1] = lines[0][column:], lines[-1][:end_column]
        return b"\n".join(lines).decode("utf-8", "replace")

    def _characters(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return min(byte_column, len(text))
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "ignore"))


def _bounds(node: ast.AST) -> tuple[int, int, int, int]:
    """``(line, byte column, end line, end byte column)``; nodes without a position of their own
    (``comprehension``, ``withitem``, ``arguments``) span their positioned descendants."""
    line = getattr(node, "lineno", None)
    if line is not None:
        end_line = getattr(node, "end_lineno", None) or line
        return line, getattr(node, "col_offset", 0), end_line, getattr(node, "end_col_offset", None) or 0
    positioned = [n for n in ast.walk(node) if getattr(n, "lineno", None) is not None]
    if not positioned:
        return 1, 0, 1, 0
    start = min((n.lineno, n.col_offset) for n in positioned)  # type: ignore[attr-defined]
    end = max((n.end_lineno or n.lineno, n.end_col_offset or 0) for n in positioned)  # type: ignore[attr-defined]
    return (*start, *end)


def source_lines(source: str) -> list[str]:
    """The lines of ``source`` as Python numbers them: only CRLF, CR and LF end a line.

    (``str.splitlines`` also splits at form feeds, ``\x1c``-``\x1e``, ``\x85`` and U+2028, which
    would shift every later line number.)
    """
    lines = _LINE_BREAK.split(source)
    if lines[-1] == "":
        lines.pop()
    return lines


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Indexer:
    """The single traversal: scopes, bindings, defs, classes and call sites."""

    def __init__(self, module: ModuleInfo) -> None:
        self.module = module
        self.scope = module.scope
        self.stack: list[ast.AST] = []
        self.functions: list[Optional[FunctionInfo]] = [None]
        self.classes: list[Optional[ClassInfo]] = [None]

    def walk(self, node: ast.AST) -> None:
        """Index ``node`` and its descendants, in source order, keeping the ancestor stack."""
        kind = type(node)
        own = _OWN_WALK.get(kind)
        if own is not None:
            own(self, node)
            return
        handler = _VISIT.get(kind)
        if handler is not None:
            handler(self, node)
        fields = _child_fields(kind)
        if fields:
            self.stack.append(node)
            for child in _children(node, fields):
                self.walk(child)
            self.stack.pop()
        if kind in COMPREHENSIONS:
            self._pop()

    def _walk_all(self, nodes: Any) -> None:
        for node in nodes:
            if node is not None:
                self.walk(node)

    # -- scopes ---------------------------------------------------------------------------------

    def _child_qualname(self, name: str) -> str:
        scope = self.scope
        prefix = scope.qualname
        if scope.kind in (ScopeKind.FUNCTION, ScopeKind.LAMBDA):
            prefix = f"{prefix}.<locals>"
        elif scope.kind is ScopeKind.COMPREHENSION:
            function_scope = scope.function_scope
            prefix = f"{function_scope.qualname}.<locals>" if function_scope else ""
        return f"{prefix}.{name}" if prefix else name

    def _push(self, kind: ScopeKind, node: Any, qualname: str) -> Scope:
        self.scope = Scope(kind, node, self.scope, self.module, qualname)
        return self.scope

    def _pop(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent

    def _bind(self, name: str, kind: BindingKind, node: ast.AST, **extra: Any) -> Binding:
        binding = Binding(name, kind, self.scope, node, **extra)
        self.scope.bind(binding)
        return binding

    def _parameters(self, scope: Scope, node: Union[FunctionNode, ast.Lambda]) -> None:
        for name in parameter_names(node.args):
            scope.bindings.setdefault(name, []).append(Binding(name, BindingKind.PARAMETER, scope, node))

    def function(self, node: FunctionNode) -> None:
        """A ``def``: decorators, defaults and annotations belong to the enclosing scope, the body to its own."""
        qualname = self._child_qualname(node.name)
        self._bind(node.name, BindingKind.FUNCTION, node)
        defining = self.scope
        owner = self.classes[-1] if defining.kind is ScopeKind.CLASS else None
        scope = Scope(ScopeKind.FUNCTION, node, defining, self.module, qualname)
        info = FunctionInfo(node, self.module, qualname, defining, scope, owner)
        scope.function = info
        self.module.functions.append(info)
        self.module._by_node[node] = info
        if owner is not None:
            owner.methods.setdefault(node.name, info)
        self._parameters(scope, node)
        self.stack.append(node)
        self._walk_all([*node.decorator_list, *getattr(node, "type_params", ()), node.args, node.returns])
        self.scope = scope
        self.functions.append(info)
        for statement in iter_statements(node.body):
            if isinstance(statement, ast.Global):
                scope.global_names.update(statement.names)
            elif isinstance(statement, ast.Nonlocal):
                scope.nonlocal_names.update(statement.names)
        self._walk_all(node.body)
        self.functions.pop()
        self._pop()
        self.stack.pop()

    def class_(self, node: ast.ClassDef) -> None:
        qualname = self._child_qualname(node.name)
        self._bind(node.name, BindingKind.CLASS, node)
        scope = Scope(ScopeKind.CLASS, node, self.scope, self.module, qualname)
        info = ClassInfo(node, self.module, qualname, self.scope, scope)
        scope.class_info = info
        self.module.classes.append(info)
        self.module._by_node[node] = info
        self.stack.append(node)
        self._walk_all([*node.decorator_list, *getattr(node, "type_params", ()), *node.bases, *node.keywords])
        self.scope = scope
        self.classes.append(info)
        self._walk_all(node.body)
        self.classes.pop()
        self._pop()
        self.stack.pop()

    def lambda_(self, node: ast.Lambda) -> None:
        self.stack.append(node)
        self.walk(node.args)  # defaults, in the enclosing scope
        scope = self._push(ScopeKind.LAMBDA, node, self._child_qualname("<lambda>"))
        self._parameters(scope, node)
        self.walk(node.body)
        self._pop()
        self.stack.pop()

    def visit_comprehension(self, node: ast.expr) -> None:
        self._push(ScopeKind.COMPREHENSION, node, self.scope.qualname)

    # -- bindings -------------------------------------------------------------------------------

    def _bind_target(
        self, target: ast.AST, kind: BindingKind, node: ast.AST, value: Optional[ast.expr], partial: bool = False,
    ) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, kind, node, value=value, partial=partial)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, kind, node, value, partial=True)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, kind, node, value, partial=True)
        elif isinstance(target, ast.Attribute) and not partial:
            self._record_instance_attribute(target, kind, node, value)

    def _record_instance_attribute(
        self, target: ast.Attribute, kind: BindingKind, node: ast.AST, value: Optional[ast.expr],
    ) -> None:
        function = self.functions[-1]
        if function is None or function.owner is None or not isinstance(target.value, ast.Name):
            return
        params = function.parameter_names
        if not params or target.value.id != params[0] or function.scope is not self.scope:
            return
        binding = Binding(target.attr, kind, self.scope, node, value=value)
        function.owner.instance_attributes.setdefault(target.attr, []).append(binding)

    def visit_assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target, BindingKind.ASSIGN, node, node.value)

    def visit_ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, BindingKind.ASSIGN, node, node.value)

    def visit_aug_assign(self, node: ast.AugAssign) -> None:
        self._bind_target(node.target, BindingKind.AUG_ASSIGN, node, None)

    def visit_named_expr(self, node: ast.NamedExpr) -> None:
        scope = self.scope
        # The walrus binds in the enclosing function, not in a comprehension scope.
        while scope.kind is ScopeKind.COMPREHENSION and scope.parent is not None:
            scope = scope.parent
        scope.bind(Binding(node.target.id, BindingKind.ASSIGN, scope, node, value=node.value))

    def visit_for(self, node: Union[ast.For, ast.AsyncFor, ast.comprehension]) -> None:
        self._bind_target(node.target, BindingKind.LOOP, node, node.iter, partial=True)

    def visit_with_item(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._bind_target(node.optional_vars, BindingKind.WITH, node, node.context_expr)

    def visit_except_handler(self, node: ast.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name, BindingKind.OTHER, node)

    def visit_import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self._bind(alias.asname, BindingKind.IMPORT, node, imported=alias.name)
            else:
                head = alias.name.split(".")[0]
                self._bind(head, BindingKind.IMPORT, node, imported=head)

    def visit_import_from(self, node: ast.ImportFrom) -> None:
        base = self._import_base(node)
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                if self.scope.kind is ScopeKind.MODULE:
                    self.module.star_imports.append(base)
                return
            bound = alias.asname or alias.name
            self._bind(bound, BindingKind.IMPORT, node, imported=f"{base}.{alias.name}" if base else alias.name)

    def _import_base(self, node: ast.ImportFrom) -> Optional[str]:
        module_name = node.module or ""
        if not node.level:
            return module_name
        package = self.module.package.split(".") if self.module.package else []
        levels = node.level - 1
        if levels > len(package):
            return None
        anchor = package[: len(package) - levels] if levels else package
        return ".".join([*anchor, *([module_name] if module_name else [])])

    def visit_call(self, node: ast.Call) -> None:
        site = CallSite(node, self.scope, tuple(self.stack))
        self.module.calls.append(site)
        function = self.functions[-1]
        if function is not None:
            function.calls.append(site)


_Handler = Callable[[_Indexer, Any], None]
_VISIT: dict[type, _Handler] = {
    ast.Assign: _Indexer.visit_assign,
    ast.AnnAssign: _Indexer.visit_ann_assign,
    ast.AugAssign: _Indexer.visit_aug_assign,
    ast.NamedExpr: _Indexer.visit_named_expr,
    ast.For: _Indexer.visit_for,
    ast.AsyncFor: _Indexer.visit_for,
    ast.comprehension: _Indexer.visit_for,
    ast.withitem: _Indexer.visit_with_item,
    ast.ExceptHandler: _Indexer.visit_except_handler,
    ast.Import: _Indexer.visit_import,
    ast.ImportFrom: _Indexer.visit_import_from,
    ast.Call: _Indexer.visit_call,
    **{kind: _Indexer.visit_comprehension for kind in COMPREHENSIONS},
}
#: Nodes that open a scope walk their own children (their parts belong to different scopes).
_OWN_WALK: dict[type, _Handler] = {
    ast.FunctionDef: _Indexer.function,
    ast.AsyncFunctionDef: _Indexer.function,
    ast.ClassDef: _Indexer.class_,
    ast.Lambda: _Indexer.lambda_,
}
assert all(kind in _OWN_WALK for kind in DEFINITIONS)

#: Fields that never hold code: names and flags, expression contexts, operators.
_SCALAR_FIELDS = frozenset({
    "ctx", "op", "ops", "id", "attr", "name", "arg", "asname", "module", "level", "is_async", "kind",
    "conversion", "type_comment", "simple", "tag",
})


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes (none for constants)."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(name for name in kind._fields if name not in _SCALAR_FIELDS)
    return fields


def _children(node: ast.AST, fields: tuple[str, ...]) -> list[ast.AST]:
    """Child nodes in source order (calls with keywords, dicts and ``x if c else y`` need care)."""
    if isinstance(node, (ast.Call, ast.Dict, ast.IfExp, ast.arguments)):
        return list(child_nodes(node))
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found
