"""Scopes and bindings: which names each scope binds, to what, and where (Python's LEGB rule).

gillint records only what its rules ask about, in the single traversal that indexes a module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:
    from gillint.project.module import ClassInfo, FunctionInfo, ModuleInfo


class ScopeKind(str, Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    LAMBDA = "lambda"
    COMPREHENSION = "comprehension"


class BindingKind(str, Enum):
    IMPORT = "import"  # import a.b / import a.b as c / from a import b
    FUNCTION = "function"
    CLASS = "class"
    ASSIGN = "assign"  # x = value, x: T = value, walrus
    AUG_ASSIGN = "aug_assign"
    PARAMETER = "parameter"
    LOOP = "loop"  # for x in ...
    WITH = "with"  # with expr as x
    OTHER = "other"  # except ... as x


@dataclass(eq=False)
class Binding:
    """One place where a scope binds a name."""

    name: str
    kind: BindingKind
    scope: Scope
    #: The binding statement (``Assign``, ``Import``, ``For``...), ``withitem``, ``comprehension``,
    #: ``ExceptHandler``, or the function/lambda of a parameter.
    node: ast.AST
    #: The bound expression: the assigned value, the ``with`` context expression, the loop iterable.
    value: Optional[ast.expr] = None
    #: For imports: the dotted name the binding stands for (``np`` -> ``numpy``).
    imported: Optional[str] = None
    #: True when the value is not the whole right-hand side (tuple unpacking, loop targets).
    partial: bool = False
    #: The scope the binding statement runs in (``scope`` differs for ``global``/``nonlocal``).
    evaluated_in: Optional[Scope] = None


ScopeNode = Union[ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.expr]


@dataclass(eq=False)
class Scope:
    """A Python scope with the names bound in it."""

    kind: ScopeKind
    node: ScopeNode
    parent: Optional[Scope]
    module: ModuleInfo
    #: ``outer.<locals>.inner`` style qualified name inside the module ("" for the module).
    qualname: str
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)
    function: Optional[FunctionInfo] = None
    class_info: Optional[ClassInfo] = None

    def bind(self, binding: Binding) -> None:
        binding.evaluated_in = self
        target = self
        if binding.name in self.global_names:
            target = self.module_scope
        elif binding.name in self.nonlocal_names:
            enclosing = self.enclosing_function_scope_binding(binding.name)
            target = enclosing if enclosing is not None else self
        binding.scope = target
        target.bindings.setdefault(binding.name, []).append(binding)

    @property
    def module_scope(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def enclosing_function_scope_binding(self, name: str) -> Optional[Scope]:
        """The nearest enclosing function scope that binds ``name`` (what ``nonlocal`` refers to)."""
        scope = self.parent
        while scope is not None and scope.kind is not ScopeKind.MODULE:
            if scope.kind is not ScopeKind.CLASS and name in scope.bindings:
                return scope
            scope = scope.parent
        return None

    def lookup(self, name: str) -> list[Binding]:
        """The bindings ``name`` may refer to when read in this scope (Python's LEGB rule)."""
        if name in self.global_names:
            return self.module_scope.bindings.get(name, [])
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            # Class bodies are visible only to code directly inside them, not to nested functions.
            if first or scope.kind is not ScopeKind.CLASS:
                found = scope.bindings.get(name)
                if found:
                    return found
            first = False
            scope = scope.parent
        return []

    def is_within(self, other: Scope) -> bool:
        scope: Optional[Scope] = self
        while scope is not None:
            if scope is other:
                return True
            scope = scope.parent
        return False

    @property
    def function_scope(self) -> Optional[Scope]:
        """The nearest enclosing function or lambda scope (comprehensions count as part of it)."""
        scope: Optional[Scope] = self
        while scope is not None:
            if scope.kind in (ScopeKind.FUNCTION, ScopeKind.LAMBDA):
                return scope
            scope = scope.parent
        return None
