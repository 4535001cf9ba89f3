"""The project model every rule queries: modules by name, names to definitions, values to types.

Modules passed on the command line are loaded up front; any other module of the project is
parsed on demand the first time a rule follows an import into it. Facts are memoised
(:mod:`gillint.project.memo`), so a function's summary is computed once per run whichever rule or
file asks for it, and the answer does not depend on which one asked first.
"""

from __future__ import annotations

import ast
import builtins
import os
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, Hashable, Iterable, Mapping, Optional, TypeVar, Union

from gillint.api.concurrency import FACTORY_RESULTS, PARTIAL, context_attribute_type
from gillint.project.flow import FLOW_SCOPES, reaching_bindings
from gillint.project.instances import InstanceAttribute, instance_contents, method_resolution_order
from gillint.project.memo import FactMemo
from gillint.project.module import ClassInfo, FunctionInfo, ModuleInfo
from gillint.project.parse import SyntaxProblem
from gillint.project.scopes import Binding, BindingKind, Scope, ScopeKind
from gillint.project.sources import SourceError, module_name_for, read_source, resolve_path

_BUILTINS = frozenset(dir(builtins))
#: How far name following goes (aliases of aliases, re-exports of re-exports).
MAX_DEPTH = 8

T = TypeVar("T")
Definition = Union[FunctionInfo, ClassInfo]


@dataclass(frozen=True)
class Value:
    """An expression a name may hold, and the scope it is evaluated in."""

    expr: ast.AST
    scope: Scope
    #: Set when the value is a binding that cannot be followed further (a parameter, a loop target).
    binding: Optional[Binding] = None


class TargetKind(str, Enum):
    FUNCTION = "function"  # a def in the project (possibly a bound method)
    LAMBDA = "lambda"
    CLASS = "class"  # a class in the project: calling it constructs an instance
    PARTIAL = "partial"  # functools.partial(inner, ...)
    EXTERNAL = "external"  # a dotted name outside the project: builtins.len, time.sleep
    PARAMETER = "parameter"  # a parameter of the enclosing function: depends on the caller
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CallableTarget:
    """What a callable expression (``target=...``, ``pool.map(f, ...)``) refers to."""

    kind: TargetKind
    expr: ast.AST
    scope: Scope
    function: Optional[FunctionInfo] = None
    cls: Optional[ClassInfo] = None
    qualname: Optional[str] = None
    #: For PARTIAL: what the partial wraps. For a bound method: True when reached via an instance.
    inner: Optional[CallableTarget] = None
    bound: bool = False

    @property
    def display_name(self) -> str:
        if self.function is not None:
            return self.function.qualname
        if self.cls is not None:
            return self.cls.qualname
        if self.kind is TargetKind.LAMBDA:
            return "<lambda>"
        if self.inner is not None:
            return self.inner.display_name
        return self.qualname or self.scope.module.code_of(self.expr)


class ModuleShelf:
    """Imported modules built by earlier projects of the same process, reused while their source is
    the same: a module many files import is parsed and indexed once per process.

    Modules are immutable once built (facts about them live in each project's memo), so projects can
    share them. The shelf holds at most ``budget`` characters of source; the least recently used
    modules go first, into :attr:`evicted`, for the owner to dispose of once no project uses them.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.evicted: list[ModuleInfo] = []
        self._modules: OrderedDict[tuple[Path, str], tuple[str, ModuleInfo]] = OrderedDict()
        self._size = 0

    def __contains__(self, module: ModuleInfo) -> bool:
        found = self._modules.get((module.path, module.name))
        return found is not None and found[1] is module

    def get(self, path: Path, name: str, source: str) -> Optional[ModuleInfo]:
        found = self._modules.get((path, name))
        if found is None or found[0] != source:
            return None
        self._modules.move_to_end((path, name))
        return found[1]

    def put(self, path: Path, name: str, source: str, module: ModuleInfo) -> None:
        previous = self._modules.pop((path, name), None)
        if previous is not None:
            self._size -= len(previous[0])
            self.evicted.append(previous[1])
        self._modules[(path, name)] = (source, module)
        self._size += len(source)
        while self._size > self.budget and len(self._modules) > 1:
            _, (text, dropped) = self._modules.popitem(last=False)
            self._size -= len(text)
            self.evicted.append(dropped)


class Project:
    """All modules of the project that gillint has looked at, and the queries rules make."""

    def __init__(self, search_roots: Iterable[Path] = (),
                 relevant: Optional[Mapping[str, frozenset[str]]] = None, shelf: Optional[ModuleShelf] = None) -> None:
        self.search_roots: list[Path] = []
        #: Modules earlier projects of this process built, reused while their source is unchanged.
        self.shelf = shelf
        #: The prefilter's verdicts: per scanned module, the names that may reach a thread or process API.
        self.relevant = relevant
        self._by_name: dict[str, Optional[ModuleInfo]] = {}
        self._by_path: dict[Path, ModuleInfo] = {}
        self._facts = FactMemo()
        self._places: dict[str, list[tuple[Path, bool]]] = {}
        #: Per scope: the bindings that reach each read of a name it binds more than once.
        self._flows: dict[Scope, dict[int, frozenset[Binding]]] = {}
        #: How findings name files that are loaded lazily but were also given to lint (resolved path -> display).
        self.display_paths: dict[Path, str] = {}
        for root in search_roots:
            self.add_search_root(root)

    # -- modules --------------------------------------------------------------------------------

    def add_search_root(self, root: Path) -> None:
        root = resolve_path(root)
        if root not in self.search_roots:
            self.search_roots.append(root)

    def add_module(self, path: Path, display_path: str, source: str) -> ModuleInfo:
        """Parse and index a file being linted (see :meth:`ModuleInfo.build` for what it raises)."""
        resolved = resolve_path(path)
        existing = self._by_path.get(resolved)
        if existing is not None and existing.source == source:
            return existing
        name, is_package, root = module_name_for(resolved)
        self.add_search_root(root)
        module = self._build(resolved, display_path, name, is_package, source, shelve=False)
        self._by_path[resolved] = module
        self._by_name.setdefault(name, module)
        return module

    def _build(self, path: Path, display_path: str, name: str, is_package: bool, source: str,
               shelve: bool = True) -> ModuleInfo:
        """A module built from ``source``, or the same one an earlier project of this process built;
        imported modules (``shelve``) are kept on the shelf for later projects."""
        module = self.shelf.get(path, name, source) if self.shelf is not None else None
        if module is None:
            module = ModuleInfo.build(path, display_path, name, is_package, source)
            if self.shelf is not None and shelve:
                self.shelf.put(path, name, source, module)
        module.display_path = display_path
        return module

    def dispose(self) -> None:
        """Free the modules of this project that the shelf does not keep (and those it let go): the
        project must not be used afterwards."""
        shelved = self.shelf if self.shelf is not None else ()
        evicted = self.shelf.evicted if self.shelf is not None else []
        for module in {id(m): m for m in [*self._by_path.values(), *evicted]}.values():
            if module not in shelved:
                module.dispose()
        evicted.clear()
        self._by_path.clear()
        self._by_name.clear()

    def module(self, name: str) -> Optional[ModuleInfo]:
        """The project module ``name``, parsed on first use; None when it is not in the project."""
        if name in self._by_name:
            return self._by_name[name]
        self._by_name[name] = None  # also guards against import cycles while loading
        for candidate, is_package in self.module_files(name):
            if candidate.is_file():
                loaded = self._load(candidate, name, is_package)
                self._by_name[name] = loaded
                return loaded
        return None

    def module_files(self, name: str) -> list[tuple[Path, bool]]:
        """Where module ``name`` would be, in search order, and whether each place is a package."""
        found = self._places.get(name)
        if found is None:
            relative = os.path.join(*name.split("."))
            found = self._places[name] = [
                (Path(os.path.join(root, relative, "__init__.py")), True) if package
                else (Path(os.path.join(root, relative + ".py")), False)
                for root in map(str, self.search_roots) for package in (True, False)
            ]
        return found

    def _load(self, path: Path, name: str, is_package: bool) -> Optional[ModuleInfo]:
        resolved = resolve_path(path)
        if resolved in self._by_path:
            return self._by_path[resolved]
        try:
            source = read_source(resolved)
            module = self._build(resolved, self.display_paths.get(resolved, display_path(path)), name, is_package,
                                 source)
        except (SourceError, SyntaxProblem, RecursionError, ValueError):
            return None
        self._by_path[resolved] = module
        return module

    def may_start_workers(self, dotted: str) -> bool:
        """Can the project name ``dotted`` reach a thread or process API (by what it calls, subclasses or
        holds)? False only when the prefilter scanned its module and found it cannot, so that classifying
        ``re.compile(...)`` does not load ``re``."""
        found = self.relevance_of(dotted)
        return found is None or found[1]

    def relevance_of(self, dotted: str) -> Optional[tuple[str, bool]]:
        """The scanned module that ``dotted`` belongs to and the prefilter's verdict on the name, if any."""
        if self.relevant is None:
            return None
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            names = self.relevant.get(module)
            if names is not None:
                return module, parts[cut] in names
        return None

    # -- memoised facts -------------------------------------------------------------------------

    def memo(self, kind: str, node: ast.AST, compute: Callable[[], T], on_cycle: T) -> T:
        """The fact ``kind`` about ``node``, computed once (see :mod:`gillint.project.memo`).

        ``kind`` must name every input besides the node that changes the answer (settings included).
        """
        return self.remember((kind, id(node)), compute, on_cycle)  # nodes live as long as the project

    def remember(self, key: Hashable, compute: Callable[[], T], on_cycle: T) -> T:
        """A memoised fact under any hashable ``key`` that names all its inputs (see :meth:`memo`)."""
        return self._facts.get(key, compute, on_cycle)

    # -- names ---------------------------------------------------------------------------------

    def reaching(self, name: ast.Name, scope: Scope) -> list[Binding]:
        """The bindings that may reach this read of a name, in source order: flow-sensitive within the
        scope that binds it (statement order, branches merged, loops to a fixed point; see
        :mod:`gillint.project.flow`), every binding of that scope for a read the walk cannot place (in
        a nested function or lambda, or reached by none). ``scope`` is the scope the read is in."""
        bindings = scope.lookup(name.id)
        return bindings if len(bindings) < 2 else self._reaching(name, bindings)

    def _reaching(self, name: ast.Name, bindings: list[Binding]) -> list[Binding]:
        owner = bindings[0].scope
        if owner.kind not in FLOW_SCOPES:
            return bindings
        reads = self._flows.get(owner)
        if reads is None:  # purely syntactic, of the module the read is in: no memo bookkeeping needed
            reads = self._flows[owner] = reaching_bindings(owner)
        found = reads.get(id(name))
        if not found:
            return bindings
        return [binding for binding in bindings if binding in found]

    def definition(self, dotted: str, depth: int = 0) -> Optional[Definition]:
        """The project function or class a dotted name refers to, following re-exports and star
        imports (memoised: packages that star-import each other are searched once per name and depth)."""
        if depth > MAX_DEPTH:
            return None
        return self.remember(("definition", dotted, depth), lambda: self._definition(dotted, depth), None)

    def _definition(self, dotted: str, depth: int) -> Optional[Definition]:
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.module(".".join(parts[:cut]))
            if module is None:
                continue
            rest = parts[cut:]
            found = module.member(".".join(rest))
            if found is not None:
                return found
            for binding in module.scope.bindings.get(rest[0], []):
                if binding.kind is BindingKind.IMPORT and binding.imported:
                    return self.definition(".".join([binding.imported, *rest[1:]]), depth + 1)
            for star in module.star_imports:
                found = self.definition(".".join([star, *rest]), depth + 1)
                if found is not None:
                    return found
            return None
        return None

    def qualified_name(self, expr: ast.AST, scope: Scope, depth: int = 0) -> Optional[str]:
        """The dotted name an expression spells, through imports and aliases (``np.sum`` -> ``numpy.sum``).

        Project definitions resolve to their full name (``pkg.mod.func``); builtins to
        ``builtins.<name>``; anything that is not a plain name or attribute chain to None.
        """
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Attribute):
            base = self.qualified_name(expr.value, scope, depth + 1)
            return f"{base}.{expr.attr}" if base else None
        if not isinstance(expr, ast.Name):
            return None
        bindings = scope.lookup(expr.id)
        if len(bindings) > 1:
            bindings = self._reaching(expr, bindings)
        if not bindings:
            if expr.id in _BUILTINS:
                return f"builtins.{expr.id}"
            for star in scope.module.star_imports:
                if self.definition(f"{star}.{expr.id}") is not None:
                    return f"{star}.{expr.id}"
            return None
        names = {self._binding_name(binding, depth) for binding in bindings}
        if len(names) == 1:
            return names.pop()
        return None

    def _binding_name(self, binding: Binding, depth: int) -> Optional[str]:
        if binding.kind is BindingKind.IMPORT:
            return binding.imported
        if binding.kind in (BindingKind.FUNCTION, BindingKind.CLASS):
            info = binding.scope.module.function_for(binding.node) or binding.scope.module.class_for(binding.node)
            return info.full_name if info is not None else None
        if binding.kind is BindingKind.ASSIGN and not binding.partial and binding.value is not None:
            # An alias such as ``Pool = multiprocessing.Pool`` (not a call result).
            if isinstance(binding.value, (ast.Name, ast.Attribute)):
                return self.qualified_name(binding.value, binding.evaluated_in or binding.scope, depth + 1)
        return None

    # -- values --------------------------------------------------------------------------------

    def values(self, expr: ast.AST, scope: Scope, depth: int = 0) -> list[Value]:
        """The expressions ``expr`` may evaluate to, following assignments, ``with ... as`` and ``self.x``."""
        if depth > MAX_DEPTH:
            return [Value(expr, scope)]
        if isinstance(expr, ast.Name):
            bindings = scope.lookup(expr.id)
            if len(bindings) > 1:
                bindings = self._reaching(expr, bindings)
            if not bindings:
                return [Value(expr, scope)]
            found: list[Value] = []
            for binding in bindings:
                found.extend(self._binding_values(binding, expr, scope, depth))
            return found
        if isinstance(expr, ast.Attribute):
            owner = self.self_class(expr.value, scope)
            if owner is not None:
                attributes = self.instance_attribute(owner, expr.attr) or self._subclass_attribute(owner, expr.attr)
                if attributes:
                    found = []
                    for binding in attributes:
                        found.extend(self._binding_values(binding, expr, scope, depth))
                    return found
        return [Value(expr, scope)]

    def _binding_values(self, binding: Binding, expr: ast.AST, scope: Scope, depth: int) -> list[Value]:
        where = binding.evaluated_in or binding.scope
        if binding.kind in (BindingKind.ASSIGN, BindingKind.WITH) and binding.value is not None:
            if not binding.partial:
                return self.values(binding.value, where, depth + 1)
        if binding.kind in (BindingKind.FUNCTION, BindingKind.CLASS):
            return [Value(binding.node, where, binding)]
        return [Value(expr, scope, binding)]

    def self_class(self, expr: ast.AST, scope: Scope) -> Optional[ClassInfo]:
        """The class whose instance ``expr`` is, when it is the ``self`` of the enclosing method."""
        if not isinstance(expr, ast.Name):
            return None
        function_scope = scope.function_scope
        while function_scope is not None and function_scope.function is None:
            function_scope = function_scope.parent.function_scope if function_scope.parent else None
        if function_scope is None or function_scope.function is None:
            return None
        function = function_scope.function
        params = function.parameter_names
        if function.owner is None or not params or params[0] != expr.id:
            return None
        bindings = scope.lookup(expr.id)
        if any(b.kind is not BindingKind.PARAMETER for b in bindings):
            return None
        return function.owner

    def instance_attribute(self, cls: ClassInfo, name: str, depth: int = 0) -> list[Binding]:
        """``self.<name> = ...`` assignments of a class and its project base classes."""
        found = list(cls.instance_attributes.get(name, []))
        found += [b for b in cls.scope.bindings.get(name, []) if b.kind is BindingKind.ASSIGN]
        if found or depth > MAX_DEPTH:
            return found
        for base in self.base_classes(cls):
            found = self.instance_attribute(base, name, depth + 1)
            if found:
                return found
        return []

    def instance_contents(self, cls: ClassInfo) -> Mapping[str, tuple[InstanceAttribute, ...]]:
        """What the instances of ``cls`` hold, by attribute name: every ``self.<name> = ...`` of the
        methods that run for them (inherited ones included, overridden ones only when the override
        calls them), subclass first, each with its value, the method that sets it and whether that
        happens on construction; class-body assignments follow as class attributes
        (see :mod:`gillint.project.instances`)."""
        nothing: dict[str, tuple[InstanceAttribute, ...]] = {}
        return self.memo("instance-contents", cls.node, lambda: instance_contents(self, cls), nothing)

    def mro(self, cls: ClassInfo) -> list[ClassInfo]:
        """``cls`` and its project base classes in method resolution order."""
        return self.memo("mro", cls.node, lambda: method_resolution_order(self, cls), [cls])

    def _subclass_attribute(self, cls: ClassInfo, name: str) -> list[Binding]:
        """``self.<name>`` in a class that leaves it to its subclasses (a mixin's ``self.executor_type``):
        what the subclasses in the same module set, all of them."""
        subclasses = self._module_subclasses(cls.module).get(cls)
        if not subclasses or self.find_method(cls, name) is not None:
            return []  # no subclass here, or ``self.method``: nothing to gather

        def compute() -> list[Binding]:
            found: list[Binding] = []
            for subclass in subclasses:
                found += [b for b in self.instance_attribute(subclass, name) if b not in found]
            return found

        return self.memo(f"subclass-attribute:{name}", cls.node, compute, [])

    def _attribute_names(self, module: ModuleInfo) -> frozenset[str]:
        """The names ``module`` assigns in class bodies or on ``self``: the only ones whose values
        ``self.<name>`` can be followed to within it."""
        def compute() -> frozenset[str]:
            names: set[str] = set()
            for cls in module.classes:
                names.update(cls.instance_attributes)
                names.update(name for name, bindings in cls.scope.bindings.items()
                             if any(b.kind is BindingKind.ASSIGN for b in bindings))
            return frozenset(names)

        return self.memo("attribute-names", module.tree, compute, frozenset())

    def _module_subclasses(self, module: ModuleInfo) -> dict[ClassInfo, list[ClassInfo]]:
        """Each top-level class of ``module`` to the classes of the same module that name it as a base,
        directly or through each other (read from the ``class`` statements alone: nothing is loaded)."""
        def compute() -> dict[ClassInfo, list[ClassInfo]]:
            by_name = {cls.name: cls for cls in module.classes if cls.defining_scope is module.scope}
            direct: dict[ClassInfo, list[ClassInfo]] = {}
            for cls in module.classes:
                for base in cls.bases:
                    if isinstance(base, ast.Name) and by_name.get(base.id) not in (None, cls):
                        direct.setdefault(by_name[base.id], []).append(cls)
            subclasses: dict[ClassInfo, list[ClassInfo]] = {}
            for cls in direct:
                found: list[ClassInfo] = []
                pending = list(direct[cls])
                while pending:
                    current = pending.pop(0)
                    if current not in found and current is not cls:
                        found.append(current)
                        pending.extend(direct.get(current, ()))
                subclasses[cls] = found
            return subclasses

        nothing: dict[ClassInfo, list[ClassInfo]] = {}
        return self.memo("module-subclasses", module.tree, compute, nothing)

    def base_classes(self, cls: ClassInfo) -> list[ClassInfo]:
        bases = []
        for base in cls.bases:
            found = self.resolve_definition(base, cls.defining_scope)
            if isinstance(found, ClassInfo):
                bases.append(found)
        return bases

    def base_names(self, cls: ClassInfo, depth: int = 0) -> set[str]:
        """Dotted names of every base class, transitively, project classes included."""
        names: set[str] = set()
        if depth > MAX_DEPTH:
            return names
        for base in cls.bases:
            name = self.qualified_name(base, cls.defining_scope)
            if name:
                names.add(name)
            found = self.resolve_definition(base, cls.defining_scope)
            if isinstance(found, ClassInfo):
                names.add(found.full_name)
                names |= self.base_names(found, depth + 1)
        return names

    def find_method(self, cls: ClassInfo, name: str, depth: int = 0) -> Optional[FunctionInfo]:
        if name in cls.methods:
            return cls.methods[name]
        if depth > MAX_DEPTH:
            return None
        for base in self.base_classes(cls):
            found = self.find_method(base, name, depth + 1)
            if found is not None:
                return found
        return None

    def resolve_definition(self, expr: ast.AST, scope: Scope) -> Optional[Definition]:
        """The project function or class a name or attribute chain refers to."""
        if isinstance(expr, ast.Name):
            bindings = self.reaching(expr, scope)
            if len(bindings) == 1 and bindings[0].kind in (BindingKind.FUNCTION, BindingKind.CLASS):
                module = bindings[0].scope.module
                return module.function_for(bindings[0].node) or module.class_for(bindings[0].node)
        name = self.qualified_name(expr, scope)
        return self.definition(name) if name else None

    def instance_types(self, expr: ast.AST, scope: Scope, depth: int = 0) -> list[Optional[str]]:
        """Dotted class names of what ``expr`` may evaluate to; None for each unknown possibility.

        Only constructor calls are typed: ``ThreadPoolExecutor(4)`` gives
        ``concurrent.futures.ThreadPoolExecutor``; a project class gives its full name.
        Factories and context attributes (``multiprocessing.get_context("spawn").Pool()``)
        are typed through :mod:`gillint.api.concurrency`. Memoised per expression: ``df = df.dropna()``
        makes a receiver's type depend on itself, and chains of such rebindings would otherwise
        be explored exponentially.
        """
        if depth > MAX_DEPTH:
            return [None]  # a long chain of receivers (``a.b().c().d()...``): unknown, not a RecursionError
        return self.memo("instance-types", expr, lambda: self._instance_types(expr, scope, depth), [None])

    def _instance_types(self, expr: ast.AST, scope: Scope, depth: int) -> list[Optional[str]]:
        types: list[Optional[str]] = []
        for value in self.values(expr, scope):
            call = value.expr
            if not isinstance(call, ast.Call):
                types.append(None)
                continue
            definition = self.resolve_definition(call.func, value.scope)
            if isinstance(definition, ClassInfo):
                types.append(definition.full_name)
                continue
            name = self.qualified_name(call.func, value.scope)
            if name is not None:
                types.append(FACTORY_RESULTS.get(name, name))
            elif isinstance(call.func, ast.Attribute):
                held = self._held_classes(call.func, value.scope)
                if held is not None:
                    types.extend(held)
                    continue
                owners = self.instance_types(call.func.value, value.scope, depth + 1)
                types.append(context_attribute_type(owners, call.func.attr))
            else:
                types.append(None)
        return types

    def _held_classes(self, func: ast.Attribute, scope: Scope) -> Optional[list[Optional[str]]]:
        """``self.executor_type(...)`` where the attribute holds a class (``executor_type =
        ProcessPoolExecutor`` in the class body or set in a method): the classes it may hold."""
        if func.attr not in self._attribute_names(scope.module):
            return None  # cheap: ``self.method()``, or an attribute this module never sets
        owner = self.self_class(func.value, scope)
        if owner is None:
            return None  # only ``self.<attribute>`` has values to follow
        held = self.values(func, scope)
        if not held or any(value.expr is func or not isinstance(value.expr, (ast.Name, ast.Attribute))
                           for value in held):
            return None
        found: list[Optional[str]] = []
        for value in held:
            definition = self.resolve_definition(value.expr, value.scope)
            if isinstance(definition, ClassInfo):
                found.append(definition.full_name)
                continue
            name = self.qualified_name(value.expr, value.scope)
            found.append(FACTORY_RESULTS.get(name, name) if name is not None else None)
        return found

    # -- callables -----------------------------------------------------------------------------

    def callable_targets(self, expr: ast.AST, scope: Scope, depth: int = 0) -> list[CallableTarget]:
        """What a callable expression refers to: project defs, lambdas, partials, external names."""
        if depth > MAX_DEPTH:
            return [CallableTarget(TargetKind.UNKNOWN, expr, scope)]
        if isinstance(expr, ast.Lambda):
            return [CallableTarget(TargetKind.LAMBDA, expr, scope)]
        if isinstance(expr, ast.Call):
            if (self.qualified_name(expr.func, scope) in PARTIAL and expr.args
                    and not isinstance(expr.args[0], ast.Starred)):
                inner = self.callable_targets(expr.args[0], scope, depth + 1)
                return [CallableTarget(TargetKind.PARTIAL, expr, scope, inner=i) for i in inner]
            return [CallableTarget(TargetKind.UNKNOWN, expr, scope)]
        if isinstance(expr, ast.Attribute):
            method = self._method_target(expr, scope)
            if method is not None:
                return [method]
        targets: list[CallableTarget] = []
        for value in self.values(expr, scope, depth):
            targets.append(self._target_for_value(value, expr, scope, depth))
        return targets

    def _target_for_value(self, value: Value, expr: ast.AST, scope: Scope, depth: int) -> CallableTarget:
        node = value.expr
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = value.scope.module.function_for(node)
            return CallableTarget(TargetKind.FUNCTION, node, value.scope, function=function)
        if isinstance(node, ast.ClassDef):
            return CallableTarget(TargetKind.CLASS, node, value.scope, cls=value.scope.module.class_for(node))
        if value.binding is not None and value.binding.kind is BindingKind.PARAMETER:
            return CallableTarget(TargetKind.PARAMETER, node, value.scope, qualname=value.binding.name)
        if node is not expr and isinstance(node, (ast.Lambda, ast.Call, ast.Attribute)):
            targets = self.callable_targets(node, value.scope, depth + 1)
            if len(targets) == 1:
                return targets[0]
        name = self.qualified_name(node, value.scope)
        if name is None:
            return CallableTarget(TargetKind.UNKNOWN, node, value.scope)
        definition = self.definition(name)
        if isinstance(definition, FunctionInfo):
            return CallableTarget(TargetKind.FUNCTION, node, value.scope, function=definition, qualname=name)
        if isinstance(definition, ClassInfo):
            return CallableTarget(TargetKind.CLASS, node, value.scope, cls=definition, qualname=name)
        return CallableTarget(TargetKind.EXTERNAL, node, value.scope, qualname=name)

    def _method_target(self, expr: ast.Attribute, scope: Scope) -> Optional[CallableTarget]:
        """``self.method`` or ``obj.method`` where ``obj`` is an instance of a project class."""
        owner = self.self_class(expr.value, scope)
        classes = [owner] if owner is not None else []
        if not classes:
            for type_name in self.instance_types(expr.value, scope):
                definition = self.definition(type_name) if type_name else None
                if not isinstance(definition, ClassInfo):
                    return None
                classes.append(definition)
        for cls in classes:
            method = self.find_method(cls, expr.attr)
            if method is not None:
                return CallableTarget(TargetKind.FUNCTION, expr, scope, function=method, bound=True)
        return None


def display_path(path: Path) -> str:
    """How messages name a module loaded to follow an import: relative to the cwd when inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def enclosing_function(scope: Scope) -> Optional[FunctionInfo]:
    """The ``def`` whose body contains ``scope`` (through lambdas and comprehensions)."""
    current: Optional[Scope] = scope
    while current is not None:
        if current.kind is ScopeKind.FUNCTION and current.function is not None:
            return current.function
        if current.kind in (ScopeKind.MODULE, ScopeKind.CLASS):
            return None
        current = current.parent
    return None
