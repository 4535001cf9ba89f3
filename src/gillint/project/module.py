"""One parsed module and its index, built in a single traversal of the libcst tree.

The index holds what every rule queries: scopes and bindings (imports as dotted names), the
functions and classes defined (with ``self.x = ...`` instance attributes), and every call site
with its enclosing nodes. Positions are resolved lazily, only when a finding needs one.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from gillint.project.limits import check_limits, deep_recursion
from gillint.project.scopes import Binding, BindingKind, Scope, ScopeKind

FunctionNode = Union[cst.FunctionDef, cst.Lambda]


class _Definition:
    """What functions and classes share: a name, a module, and a qualified name inside it."""

    node: Union[cst.FunctionDef, cst.ClassDef]
    module: ModuleInfo
    qualname: str

    @property
    def name(self) -> str:
        return self.node.name.value

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

    node: cst.FunctionDef
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
        return self.node.asynchronous is not None

    @property
    def parameter_names(self) -> list[str]:
        params = self.node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        if isinstance(params.star_arg, cst.Param):
            every.append(params.star_arg)
        if params.star_kwarg is not None:
            every.append(params.star_kwarg)
        return [p.name.value for p in every]


@dataclass(eq=False)
class ClassInfo(_Definition):
    """A ``class`` statement: its bases, methods and the attributes its methods set on ``self``."""

    node: cst.ClassDef
    module: ModuleInfo
    qualname: str
    defining_scope: Scope
    scope: Scope
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    #: ``self.<name> = value`` assignments in any method, in source order.
    instance_attributes: dict[str, list[Binding]] = field(default_factory=dict)

    @property
    def bases(self) -> list[cst.BaseExpression]:
        return [arg.value for arg in self.node.bases if arg.keyword is None]


@dataclass(eq=False)
class CallSite:
    """A call expression, the scope it is evaluated in, and its enclosing nodes (outermost first)."""

    node: cst.Call
    scope: Scope
    ancestors: tuple[cst.CSTNode, ...]

    @property
    def module(self) -> ModuleInfo:
        return self.scope.module

    @property
    def statement(self) -> cst.CSTNode:
        """The innermost simple or compound statement that contains the call."""
        for node in reversed(self.ancestors):
            if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return node
        return self.node

    @property
    def module_statement(self) -> Optional[cst.CSTNode]:
        """The top-level statement of the module that contains the call."""
        for node in self.ancestors[1:]:
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return node
        return None

    @property
    def in_loop(self) -> bool:
        """Evaluated repeatedly inside its function: in a loop or comprehension body."""
        for node in reversed(self.ancestors):
            # A comprehension's element is not inside its CompFor node: the comprehension counts.
            if isinstance(node, (cst.For, cst.While, cst.CompFor, *_COMPREHENSIONS)):
                return True
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
        return False


@dataclass(eq=False)
class ModuleInfo:
    """A parsed module: source, tree, index and lazily resolved positions."""

    path: Path
    #: Path as the user gave it (or as discovered): what findings print.
    display_path: str
    #: Dotted module name as the project's imports would spell it.
    name: str
    is_package: bool
    source: str
    tree: cst.Module
    scope: Scope = field(init=False)
    functions: list[FunctionInfo] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    star_imports: list[str] = field(default_factory=list)
    _positions: Optional[dict[cst.CSTNode, CodeRange]] = field(default=None, repr=False)
    _by_node: dict[cst.CSTNode, Union[FunctionInfo, ClassInfo]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, path: Path, display_path: str, name: str, is_package: bool, source: str) -> ModuleInfo:
        """Parse ``source`` and index it.

        Raises ``libcst.ParserSyntaxError`` on invalid code and :class:`~gillint.project.limits.LimitError`
        (a ``SourceError``) on code too large or nested too deeply to parse safely.
        """
        check_limits(source)
        with deep_recursion():
            tree = cst.parse_module(source)
            module = cls(path, display_path, name, is_package, source, tree)
            module.scope = Scope(ScopeKind.MODULE, tree, None, module, "")
            _Indexer(module).walk(tree)
        return module

    # -- lookups -------------------------------------------------------------------------------

    @property
    def package(self) -> str:
        """The package relative imports are resolved against."""
        if self.is_package:
            return self.name
        return self.name.rpartition(".")[0]

    def function_for(self, node: cst.CSTNode) -> Optional[FunctionInfo]:
        info = self._by_node.get(node)
        return info if isinstance(info, FunctionInfo) else None

    def class_for(self, node: cst.CSTNode) -> Optional[ClassInfo]:
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

    # -- positions -----------------------------------------------------------------------------

    def position(self, node: cst.CSTNode) -> CodeRange:
        """1-based line, 0-based column range of ``node`` (resolved for the whole module on first use)."""
        if self._positions is None:
            with deep_recursion():
                wrapper = MetadataWrapper(self.tree, unsafe_skip_copy=True)
                self._positions = dict(wrapper.resolve(PositionProvider))
        return self._positions[node]

    def line_of(self, node: cst.CSTNode) -> int:
        return self.position(node).start.line

    def code_of(self, node: cst.CSTNode) -> str:
        """Source text of an expression or small statement, as written."""
        with deep_recursion():
            return self.tree.code_for_node(node)

    @property
    def lines(self) -> list[str]:
        return source_lines(self.source)


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


def is_main_guard(test: cst.BaseExpression) -> bool:
    """``__name__ == "__main__"`` in either order and any quote style."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = [test.left, target.comparator]
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in sides if isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__"]
    return len(names) == 1 and len(strings) == 1


def iter_statement_blocks(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """Every statement of ``body`` and of the compound statements nested in it, but not in defs."""
    for statement in body:
        yield statement
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        for block in _child_blocks(statement):
            yield from iter_statement_blocks(block)


def _child_blocks(statement: cst.BaseStatement) -> Iterator[Sequence[cst.BaseStatement]]:
    if isinstance(statement, cst.SimpleStatementLine):
        return
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    elif isinstance(body, cst.SimpleStatementSuite):
        yield [cst.SimpleStatementLine(body=body.body)]
    for attr in ("orelse", "finalbody"):
        other = getattr(statement, attr, None)
        if isinstance(other, (cst.If, cst.Else, cst.Finally)):
            if isinstance(other, cst.If):
                yield [other]
            else:
                yield from _child_blocks(other)  # type: ignore[arg-type]
    for handler in getattr(statement, "handlers", ()):
        yield from _child_blocks(handler)
    for case in getattr(statement, "cases", ()):
        yield from _child_blocks(case)


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class _Indexer:
    """The single traversal: scopes, bindings, defs, classes and call sites.

    It walks the tree's fields itself instead of using ``CSTNode.visit``: libcst's visitor rebuilds
    every node on the way back up, which cost as much as the parse (measured on ``_pydecimal.py``:
    parse 0.28 s, an empty ``CSTVisitor`` 0.25 s).
    """

    def __init__(self, module: ModuleInfo) -> None:
        self.module = module
        self.scope = module.scope
        self.stack: list[cst.CSTNode] = []
        self.functions: list[Optional[FunctionInfo]] = [None]
        self.classes: list[Optional[ClassInfo]] = [None]

    def walk(self, node: cst.CSTNode) -> None:
        """Index ``node`` and its descendants, in source order, keeping the ancestor stack."""
        kind = type(node)
        handler = _VISIT.get(kind)
        if handler is not None:
            handler(self, node)
        self.stack.append(node)
        body_hooks = _BODY_HOOKS.get(kind)
        for name in _child_fields(kind):
            if body_hooks is not None and name == "body":
                body_hooks[0](self, node)
            for child in _field_nodes(getattr(node, name)):
                self.walk(child)
            if body_hooks is not None and name == "body":
                body_hooks[1](self, node)
        self.stack.pop()
        leave = _LEAVE.get(kind)
        if leave is not None:
            leave(self, node)

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

    def _push(self, kind: ScopeKind, node: cst.CSTNode, qualname: str) -> Scope:
        self.scope = Scope(kind, node, self.scope, self.module, qualname)
        return self.scope

    def _pop(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent

    def _bind(self, name: str, kind: BindingKind, node: cst.CSTNode, **extra: object) -> Binding:
        binding = Binding(name, kind, self.scope, node, **extra)  # type: ignore[arg-type]
        self.scope.bind(binding)
        return binding

    def visit_function(self, node: cst.FunctionDef) -> None:
        qualname = self._child_qualname(node.name.value)
        self._bind(node.name.value, BindingKind.FUNCTION, node)
        defining = self.scope
        owner = self.classes[-1] if defining.kind is ScopeKind.CLASS else None
        scope = Scope(ScopeKind.FUNCTION, node, defining, self.module, qualname)
        info = FunctionInfo(node, self.module, qualname, defining, scope, owner)
        scope.function = info
        self.module.functions.append(info)
        self.module._by_node[node] = info
        if owner is not None:
            owner.methods.setdefault(node.name.value, info)
        for param_name in info.parameter_names:
            scope.bindings.setdefault(param_name, []).append(
                Binding(param_name, BindingKind.PARAMETER, scope, node)
            )

    # Decorators, defaults and bases belong to the enclosing scope; only the body to the new one.
    def enter_function_body(self, node: cst.FunctionDef) -> None:
        info = self.module.function_for(node)
        assert info is not None
        self.scope = info.scope
        self.functions.append(info)
        for statement in _declarations(node.body):
            if isinstance(statement, cst.Global):
                info.scope.global_names.update(n.name.value for n in statement.names)
            else:
                info.scope.nonlocal_names.update(n.name.value for n in statement.names)

    def leave_function_body(self, node: cst.FunctionDef) -> None:
        self.functions.pop()
        self._pop()

    def visit_class(self, node: cst.ClassDef) -> None:
        qualname = self._child_qualname(node.name.value)
        self._bind(node.name.value, BindingKind.CLASS, node)
        scope = Scope(ScopeKind.CLASS, node, self.scope, self.module, qualname)
        info = ClassInfo(node, self.module, qualname, self.scope, scope)
        scope.class_info = info
        self.module.classes.append(info)
        self.module._by_node[node] = info

    def enter_class_body(self, node: cst.ClassDef) -> None:
        info = self.module.class_for(node)
        assert info is not None
        self.scope = info.scope
        self.classes.append(info)

    def leave_class_body(self, node: cst.ClassDef) -> None:
        self.classes.pop()
        self._pop()

    def enter_lambda_body(self, node: cst.Lambda) -> None:
        scope = self._push(ScopeKind.LAMBDA, node, self._child_qualname("<lambda>"))
        params = node.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            scope.bindings.setdefault(param.name.value, []).append(
                Binding(param.name.value, BindingKind.PARAMETER, scope, node)
            )
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bindings.setdefault(star.name.value, []).append(
                    Binding(star.name.value, BindingKind.PARAMETER, scope, node)
                )

    def leave_lambda_body(self, node: cst.Lambda) -> None:
        self._pop()

    def visit_comprehension(self, node: cst.CSTNode) -> None:
        self._push(ScopeKind.COMPREHENSION, node, self.scope.qualname)

    def leave_comprehension(self, node: cst.CSTNode) -> None:
        self._pop()

    # -- bindings -------------------------------------------------------------------------------

    def _bind_target(
        self, target: cst.BaseExpression, kind: BindingKind, node: cst.CSTNode,
        value: Optional[cst.BaseExpression], partial: bool = False,
    ) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, kind, node, value=value, partial=partial)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                inner = element.value
                self._bind_target(inner, kind, node, value, partial=True)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, kind, node, value, partial=True)
        elif isinstance(target, cst.Attribute) and not partial:
            self._record_instance_attribute(target, kind, node, value)

    def _record_instance_attribute(
        self, target: cst.Attribute, kind: BindingKind, node: cst.CSTNode,
        value: Optional[cst.BaseExpression],
    ) -> None:
        function = self.functions[-1]
        if function is None or function.owner is None or not isinstance(target.value, cst.Name):
            return
        params = function.parameter_names
        if not params or target.value.value != params[0] or function.scope is not self.scope:
            return
        binding = Binding(target.attr.value, kind, self.scope, node, value=value)
        function.owner.instance_attributes.setdefault(target.attr.value, []).append(binding)

    def visit_assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, BindingKind.ASSIGN, node, node.value)

    def visit_ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, BindingKind.ASSIGN, node, node.value)

    def visit_aug_assign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target, BindingKind.AUG_ASSIGN, node, None)

    def visit_named_expr(self, node: cst.NamedExpr) -> None:
        scope = self.scope
        # The walrus binds in the enclosing function, not in a comprehension scope.
        while scope.kind is ScopeKind.COMPREHENSION and scope.parent is not None:
            scope = scope.parent
        if isinstance(node.target, cst.Name):
            binding = Binding(node.target.value, BindingKind.ASSIGN, scope, node, value=node.value)
            scope.bind(binding)

    def visit_for(self, node: Union[cst.For, cst.CompFor]) -> None:
        self._bind_target(node.target, BindingKind.LOOP, node, node.iter, partial=True)

    def visit_with_item(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, BindingKind.WITH, node, node.item)

    def visit_except_handler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, BindingKind.OTHER, node, None)

    def visit_import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, BindingKind.IMPORT, node, imported=dotted)
            else:
                head = dotted.split(".")[0]
                self._bind(head, BindingKind.IMPORT, node, imported=head)

    def visit_import_from(self, node: cst.ImportFrom) -> None:
        base = self._import_base(node)
        if base is None:
            return
        if isinstance(node.names, cst.ImportStar):
            if self.scope.kind is ScopeKind.MODULE:
                self.module.star_imports.append(base)
            return
        for alias in node.names:
            name = _dotted(alias.name)
            bound = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self._bind(bound, BindingKind.IMPORT, node, imported=f"{base}.{name}" if base else name)

    def _import_base(self, node: cst.ImportFrom) -> Optional[str]:
        module_name = _dotted(node.module) if node.module is not None else ""
        if not node.relative:
            return module_name
        package = self.module.package.split(".") if self.module.package else []
        levels = len(node.relative) - 1
        if levels > len(package):
            return None
        anchor = package[: len(package) - levels] if levels else package
        return ".".join([*anchor, *([module_name] if module_name else [])])

    def visit_call(self, node: cst.Call) -> None:
        site = CallSite(node, self.scope, tuple(self.stack))
        self.module.calls.append(site)
        function = self.functions[-1]
        if function is not None:
            function.calls.append(site)


def _declarations(body: cst.BaseSuite) -> Iterator[Union[cst.Global, cst.Nonlocal]]:
    """``global``/``nonlocal`` statements anywhere in a function body (not in nested defs)."""
    statements: Sequence[cst.BaseStatement] = (
        body.body if isinstance(body, cst.IndentedBlock)
        else [cst.SimpleStatementLine(body.body)]  # type: ignore[arg-type]  # a suite holds small statements
    )
    for statement in iter_statement_blocks(statements):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Global, cst.Nonlocal)):
                    yield small


def _dotted(node: Union[cst.Attribute, cst.Name, cst.BaseExpression]) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


_Handler = Callable[[_Indexer, Any], None]
_VISIT: dict[type, _Handler] = {
    cst.FunctionDef: _Indexer.visit_function,
    cst.ClassDef: _Indexer.visit_class,
    cst.Assign: _Indexer.visit_assign,
    cst.AnnAssign: _Indexer.visit_ann_assign,
    cst.AugAssign: _Indexer.visit_aug_assign,
    cst.NamedExpr: _Indexer.visit_named_expr,
    cst.For: _Indexer.visit_for,
    cst.CompFor: _Indexer.visit_for,
    cst.WithItem: _Indexer.visit_with_item,
    cst.ExceptHandler: _Indexer.visit_except_handler,
    cst.Import: _Indexer.visit_import,
    cst.ImportFrom: _Indexer.visit_import_from,
    cst.Call: _Indexer.visit_call,
    **{kind: _Indexer.visit_comprehension for kind in _COMPREHENSIONS},
}
_LEAVE: dict[type, _Handler] = {kind: _Indexer.leave_comprehension for kind in _COMPREHENSIONS}
#: Scopes of defs, classes and lambdas cover their body only (not decorators, defaults or bases).
_BODY_HOOKS: dict[type, tuple[_Handler, _Handler]] = {
    cst.FunctionDef: (_Indexer.enter_function_body, _Indexer.leave_function_body),
    cst.ClassDef: (_Indexer.enter_class_body, _Indexer.leave_class_body),
    cst.Lambda: (_Indexer.enter_lambda_body, _Indexer.leave_lambda_body),
}
#: Fields that hold only punctuation, whitespace or flags: never walked.
_TRIVIA = frozenset({
    "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon", "colon", "dot",
    "equal", "star", "arrow", "asynchronous", "operator", "leading_lines", "lines_after_decorators",
    "header", "footer", "newline", "default_indent", "default_newline", "encoding", "has_trailing_newline",
})


#: Node types whose dataclass fields are not declared in source order.
_SOURCE_ORDER: dict[type, tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
}


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The children of ``node`` that can hold code, in source order (punctuation and whitespace skipped).

    Much cheaper than libcst's ``node.children``, which runs a visitor that rebuilds the node.
    """
    for name in _child_fields(type(node)):
        yield from _field_nodes(getattr(node, name))


def _field_nodes(value: object) -> Iterator[cst.CSTNode]:
    if isinstance(value, cst.CSTNode):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, cst.CSTNode):
                yield item


@lru_cache(maxsize=None)
def _child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes, in source order."""
    names = [f.name for f in dataclasses.fields(kind) if f.name not in _TRIVIA and not f.name.startswith("whitespace")]
    order = _SOURCE_ORDER.get(kind)
    if order is not None:
        names.sort(key=lambda name: order.index(name) if name in order else len(order))
    return tuple(names)

