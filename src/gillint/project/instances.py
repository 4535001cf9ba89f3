"""Instance contents: what the instances of a project class hold.

An instance of ``Worker`` holds every attribute that the methods it runs set on ``self``: those of
its own class and, through inheritance, of its project base classes, but only the methods that
actually run for it. A base-class method that ``Worker`` overrides runs only when the override
calls it (``super().__init__()``, ``Base.__init__(self)``). :func:`instance_contents` lists each
place an attribute is set, with the method that sets it and whether that happens while the instance
is constructed (by ``__init__`` or a method it calls on ``self``, to any depth); class-body
assignments are listed too, as class attributes, which every instance sees but does not carry.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from gillint.project.module import ClassInfo, FunctionInfo, ModuleInfo
from gillint.project.scopes import Binding, BindingKind, Scope

if TYPE_CHECKING:
    from gillint.project.model import Project

#: Methods that run while an instance is being made.
CONSTRUCTORS = ("__new__", "__init__", "__post_init__")
_NOT_ON_INSTANCES = ("staticmethod", "classmethod")


@dataclass(frozen=True)
class InstanceAttribute:
    """One place where instances of a class get an attribute (``self.lock = threading.Lock()``)."""

    name: str
    #: The assignment: ``self.<name> = value`` in a method, or ``<name> = value`` in a class body.
    binding: Binding
    #: The class whose code sets it: the class asked about, or one of its project base classes.
    cls: ClassInfo
    #: The method that sets it; None for a class-body assignment (a class attribute).
    method: Optional[FunctionInfo]
    #: Set while the instance is constructed: by ``__init__`` (and the base ``__init__`` it runs), or by
    #: a method that those call on ``self``.
    on_construction: bool

    @property
    def value(self) -> Optional[ast.expr]:
        """The assigned expression (None for ``+=`` and for targets that unpack)."""
        return None if self.binding.partial else self.binding.value

    @property
    def scope(self) -> Scope:
        """Where :attr:`value` is evaluated."""
        return self.binding.evaluated_in or self.binding.scope

    @property
    def module(self) -> ModuleInfo:
        return self.cls.module

    @property
    def line(self) -> int:
        return self.module.line_of(self.binding.node)

    @property
    def is_class_attribute(self) -> bool:
        return self.method is None


def method_resolution_order(project: Project, cls: ClassInfo) -> list[ClassInfo]:
    """``cls`` and its project base classes in Python's C3 order (external bases left out; a
    hierarchy C3 rejects falls back to depth-first order). The bases' orders come from
    :meth:`Project.mro`, memoised (a cycle of project classes ends there)."""
    bases = project.base_classes(cls)
    sequences = [project.mro(base) for base in bases] + [list(bases)]
    order = [cls]
    while any(sequences):
        for sequence in sequences:
            if not sequence:
                continue
            head = sequence[0]
            if not any(head in other[1:] for other in sequences):
                break
        else:
            return _depth_first(project, cls)
        if head not in order:
            order.append(head)
        sequences = [s[1:] if s and s[0] is head else s for s in sequences]
    return order


def _depth_first(project: Project, cls: ClassInfo) -> list[ClassInfo]:
    order: list[ClassInfo] = []
    stack = [cls]
    while stack and len(order) < 64:
        current = stack.pop(0)
        if current not in order:
            order.append(current)
            stack[:0] = project.base_classes(current)
    return order


def instance_contents(project: Project, cls: ClassInfo) -> dict[str, tuple[InstanceAttribute, ...]]:
    """Every attribute the instances of ``cls`` may hold, by name: where it is set (subclass first,
    then base classes; source order within a class) and whether on construction."""
    order = project.mro(cls)
    running = _running_methods(project, cls, order)
    constructing = _construction_methods(project, cls, order)
    found: dict[str, list[InstanceAttribute]] = {}
    for owner in order:
        for name, bindings in owner.instance_attributes.items():
            for binding in bindings:
                method = _method_of(owner, binding)
                if method is None or method not in running:
                    continue
                attribute = InstanceAttribute(name, binding, owner, method, method in constructing)
                found.setdefault(name, []).append(attribute)
        for name, bindings in owner.scope.bindings.items():
            for binding in bindings:
                if binding.kind is BindingKind.ASSIGN and binding.evaluated_in is owner.scope:
                    found.setdefault(name, []).append(InstanceAttribute(name, binding, owner, None, False))
    return {name: tuple(attributes) for name, attributes in found.items()}


def _method_of(cls: ClassInfo, binding: Binding) -> Optional[FunctionInfo]:
    function = binding.scope.function
    if function is None or function.owner is not cls:
        return None
    if any(isinstance(d, ast.Name) and d.id in _NOT_ON_INSTANCES for d in function.node.decorator_list):
        return None
    return function


def _running_methods(project: Project, cls: ClassInfo, order: list[ClassInfo]) -> set[FunctionInfo]:
    """The methods an instance of ``cls`` can run: for each name, the first in the MRO, and the ones
    further down that it (transitively) calls with ``super()`` or ``Base.name(self, ...)``."""
    running: set[FunctionInfo] = set()
    names = {name for owner in order for name in owner.methods}
    for name in names:
        running |= _implementations(project, order, name)
    return running


def _implementations(project: Project, order: list[ClassInfo], name: str) -> set[FunctionInfo]:
    """The ``name`` methods that run when an instance (of the class ``order`` linearises) calls it."""
    found: set[FunctionInfo] = set()
    pending = [0]
    while pending:
        start = pending.pop()
        index = next((i for i in range(start, len(order)) if name in order[i].methods), None)
        if index is None:
            continue
        method = order[index].methods[name]
        if method in found:
            continue
        found.add(method)
        for site in method.calls:
            func = site.node.func
            if not isinstance(func, ast.Attribute) or func.attr != name:
                continue
            receiver = func.value
            if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == "super":
                pending.append(index + 1)
                continue
            base = project.resolve_definition(receiver, site.scope)
            if isinstance(base, ClassInfo) and base in order:
                pending.append(order.index(base))
    return found


def _construction_methods(project: Project, cls: ClassInfo, order: list[ClassInfo]) -> set[FunctionInfo]:
    """The constructors that run for ``cls``, and every method they call on ``self``, to any depth."""
    found: set[FunctionInfo] = set()
    pending: list[FunctionInfo] = []
    for name in CONSTRUCTORS:
        pending.extend(_implementations(project, order, name))
    while pending:
        method = pending.pop()
        if method in found:
            continue
        found.add(method)
        params = method.parameter_names
        if not params:
            continue
        for site in method.calls:
            func = site.node.func
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == params[0] and site.scope is method.scope):
                pending.extend(_implementations(project, order, func.attr))
    return found
