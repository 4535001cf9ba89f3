"""What a GIL101 or GIL301 probe calls: the target, its instance, one call's arguments, shared state.

A target is a module-level function; a method (the instance is built with ``__init__``); a nested
function or a lambda (rebuilt inside a wrapper named like the function around it, extract.wrapper);
or a library callable named by its dotted path (``json.loads``). Each argument is, in this order:
configured (``[tool.gillint.verify.arguments]``, by the target's name, ``Class`` for ``__init__``),
the dispatch site's expression when it is literal or built from module-level names, or a stand-in
(stand_ins.py) the probe picks by trying one call.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import libcst as cst

from gillint.verify.extract import (
    BUILTINS,
    OBJECT_NAME,
    ExtractionError,
    SourceModule,
    expression_names,
    wrapper,
)
from gillint.verify.stand_ins import Kind, candidates


@dataclass(frozen=True)
class Request:
    """The facts of a finding a call is built from (read from its evidence by probes.evidence)."""

    name: str
    path: Optional[str]  # None: the target is not project code (a library callable)
    line: int
    dispatch_path: str
    dispatch_line: int
    api: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool


@dataclass(frozen=True)
class Target:
    """A call ready for the harness: its spec keys, the snippet it needs, how verdicts name it."""

    module: SourceModule
    spec: dict[str, Any]  # harness keys "target", "init", "arguments"
    roots: frozenset[str]  # module-level names the snippet needs
    tail: str  # code after them: a rebuilt nested function or lambda
    name: str
    #: Per stand-in slot: the parameter it is for and the kinds tried, in order.
    stand_ins: tuple[tuple[str, tuple[Kind, ...]], ...]
    #: The call's positional parameters (without ``self``).
    parameters: tuple[str, ...] = ()

    def snippet(self, extra_roots: Sequence[str] = ()) -> str:
        return self.module.snippet([*self.roots, *extra_roots], self.tail)

    def describe(self, choice: Sequence[int]) -> str:
        """``n = the int 200000`` for the stand-ins the probe picked (empty without stand-ins)."""
        return ", ".join(f"{name} = {kinds[index].description}"
                         for (name, kinds), index in zip(self.stand_ins, choice))


def resolve(request: Request, configured: Mapping[str, Any]) -> Target:
    """The call for ``request``; raises ExtractionError with the reason it cannot be built."""
    if request.path is None:
        return _library(request, configured)
    module = _load(request.path)
    name = request.name
    if name == "<lambda>" or "<locals>" in name:
        return _nested(request, module, configured)
    owner, _, method = name.rpartition(".")
    function = module.function(name)
    if function is None or "." in owner:
        raise ExtractionError(f"target `{name}` is not a function, method or nested function of {request.path}")
    parameters = _parameters(function, skip_self=bool(owner))
    slots, stand_ins = _arguments(request, module, configured.get(name), parameters, function)
    names = tuple(p.name for p in parameters)
    if not owner:
        return Target(module, {"target": {"name": name}, "arguments": slots}, _roots(name, slots), "", name,
                      stand_ins, names)
    init = module.function(f"{owner}.__init__")
    init_slots, init_stand_ins = _slots(
        [], module, configured.get(owner), _parameters(init, skip_self=True) if init is not None else [], init)
    spec = {"target": {"class": owner, "method": method}, "init": init_slots, "arguments": slots}
    return Target(module, spec, _roots(owner, init_slots + slots), "", name, init_stand_ins + stand_ins, names)


def _load(path: str) -> SourceModule:
    if not Path(path).is_file():
        raise ExtractionError(f"source file {path} not found")
    return SourceModule.load(Path(path))


def _library(request: Request, configured: Mapping[str, Any]) -> Target:
    """A callable outside the project (``json.loads``), called on the dispatch site's arguments."""
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", request.name):
        raise ExtractionError(f"target `{request.name}` is not project code nor a dotted library name")
    module = _load(request.dispatch_path)
    slots, stand_ins = _arguments(request, module, configured.get(request.name), [], None)
    top, _, rest = request.name.partition(".")
    spec = {"target": {"module": top, "attribute": rest}, "arguments": slots}
    return Target(module, spec, _roots("", slots), "", request.name, stand_ins)


def _nested(request: Request, module: SourceModule, configured: Mapping[str, Any]) -> Target:
    """A lambda at the dispatch site, or a function defined in another function."""
    if request.name == "<lambda>":
        code = module.lambda_at(request.dispatch_line)
        if code is None:
            raise ExtractionError(f"no single lambda on line {request.dispatch_line} to rebuild")
        node: Optional[ast.AST] = _parse(code, "eval")
        expression = code
    else:
        expression = request.name.rpartition(".")[2]
        node = _nested_def(module, expression, request.line)
    tail = wrapper(module, request.dispatch_line, expression, placeholders=True)
    parameters = _ast_parameters(node) if node is not None else []
    slots, stand_ins = _arguments(request, module, configured.get(request.name), parameters, node)
    spec = {"target": {"name": OBJECT_NAME}, "arguments": slots}
    return Target(module, spec, _roots("", slots), tail, request.name, stand_ins,
                  tuple(p.name for p in parameters))


def _arguments(request: Request, module: SourceModule, configured: Any, parameters: list[Parameter],
               function: Any) -> tuple[list[dict[str, Any]], tuple[tuple[str, tuple[Kind, ...]], ...]]:
    """One call's argument slots from the dispatch site (a pool ``map`` sends one item per call)."""
    method = request.api.rpartition(".")[2]
    texts = list(request.arguments)
    if configured is None and method.startswith("starmap") and len(texts) == 1:
        if _literal(module, texts[0]):
            return [{"expr": f"*next(iter({texts[0]}))"}], ()
        texts = []  # the items are tuples of unknown arguments: all become stand-ins
    wrap = "map" in method and configured is None
    return _slots(texts, module, configured, parameters, function, wrap)


def _slots(texts: list[str], module: SourceModule, configured: Any, parameters: list[Parameter], function: Any,
           wrap: bool = False) -> tuple[list[dict[str, Any]], tuple[tuple[str, tuple[Kind, ...]], ...]]:
    if configured is not None:
        if not isinstance(configured, list) or not all(isinstance(item, str) for item in configured):
            raise ExtractionError("[tool.gillint.verify.arguments]: expected a list of expression strings")
        return [{"expr": text} for text in configured], ()
    tree = _function_ast(function)
    slots: list[dict[str, Any]] = []
    stand_ins: list[tuple[str, tuple[Kind, ...]]] = []
    required = [p for p in parameters if p.required]
    for index in range(max(len(texts), len(required))):
        text = texts[index] if index < len(texts) else None
        if text is not None and (text.startswith("*") or _literal(module, text)):
            slots.append({"expr": f"next(iter({text}))" if wrap and not text.startswith("*") else text})
            continue
        parameter = parameters[index].name if index < len(parameters) else f"argument {index + 1}"
        kinds = tuple(candidates(tree, parameter, _classes(module)))
        slots.append({"candidates": [kind.expression for kind in kinds]})
        stand_ins.append((parameter, kinds))
    return slots, tuple(stand_ins)


def _literal(module: SourceModule, text: str) -> bool:
    return expression_names(text.lstrip("*")) <= module.bound | BUILTINS


def _roots(name: str, slots: list[dict[str, Any]]) -> frozenset[str]:
    names = {name} if name else set()
    for slot in slots:
        for text in [slot["expr"]] if "expr" in slot else slot["candidates"]:
            names |= expression_names(text.lstrip("*"))
    return frozenset(names - BUILTINS)


def _classes(module: SourceModule) -> dict[str, frozenset[str]]:
    """Module-level classes whose ``__init__`` needs no argument, with the methods they define."""
    found = {}
    for statement in module.tree.body:
        if isinstance(statement, cst.ClassDef):
            methods = {s.name.value: s for s in statement.body.body if isinstance(s, cst.FunctionDef)}
            init = methods.get("__init__")
            if init is None or not any(p.required for p in _parameters(init, skip_self=True)):
                found[statement.name.value] = frozenset(methods)
    return found


def _parameters(function: cst.FunctionDef, skip_self: bool = False) -> list[Parameter]:
    params = function.params
    positional = [*params.posonly_params, *params.params][1 if skip_self else 0:]
    return [Parameter(p.name.value, p.default is None) for p in positional]


def _ast_parameters(node: ast.AST) -> list[Parameter]:
    args = getattr(node, "args", None)
    if args is None:
        return []
    positional = [*args.posonlyargs, *args.args]
    defaults = len(args.defaults)
    return [Parameter(a.arg, i < len(positional) - defaults) for i, a in enumerate(positional)]


def _function_ast(function: Any) -> Optional[ast.AST]:
    """An ast node for stand-in guessing, from a libcst definition or an ast node already."""
    if function is None or isinstance(function, ast.AST):
        return function
    return _parse(textwrap.dedent(cst.Module(body=[]).code_for_node(function)), "exec")


def _parse(code: str, mode: str) -> Optional[ast.AST]:
    try:
        tree = ast.parse(code, mode=mode)
    except SyntaxError:
        return None
    if isinstance(tree, ast.Expression):
        return tree.body
    assert isinstance(tree, ast.Module)
    return tree.body[0] if tree.body else None


def _nested_def(module: SourceModule, name: str, line: int) -> Optional[ast.AST]:
    try:
        tree = ast.parse(module.tree.code)
    except (SyntaxError, RecursionError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name and node.lineno == line:
            return node
    return None


# -- GIL301: which shared state to watch -------------------------------------------------------

_SHARED = [
    (re.compile(r"(?:global|module-level)\s+'(\w+)'\s+of\s+([\w.]+)"), lambda m: {"kind": "module",
                                                                                 "module": m[2], "name": m[1]}),
    (re.compile(r"(?:global|module-level)\s+'?(\w+)'?"), lambda m: {"kind": "global", "name": m[1]}),
    (re.compile(r"class attribute '(\w+)\.(\w+)'"), lambda m: {"kind": "attribute", "owner": m[1], "name": m[2]}),
    (re.compile(r"'(\w+)\.(\w+)' of module-level '\w+'"), lambda m: {"kind": "attribute", "owner": m[1],
                                                                    "name": m[2]}),
    # The instance is the one the threads' bound method belongs to, or one they all receive.
    (re.compile(r"attribute '(\w+)' of the '(\w+)' instance its threads share"),
     lambda m: {"kind": "attribute", "owner": None, "name": m[1], "class": m[2]}),
    (re.compile(r"nonlocal '(\w+)'"), lambda m: {"kind": "cell", "name": m[1]}),
    (re.compile(r"the argument '(\w+)' that every thread receives"), lambda m: {"kind": "argument", "name": m[1]}),
    (re.compile(r"(\w+)"), lambda m: {"kind": "global", "name": m[1]}),
]


def shared_state(target: Target, text: str) -> tuple[dict[str, Any], frozenset[str]]:
    """The harness's locator for the state a GIL301 finding names, and the snippet names it needs."""
    for pattern, build in _SHARED:
        found = pattern.fullmatch(text.strip())
        if found:
            locator = build(found)
            break
    else:
        raise ExtractionError(f"shared state `{text}` is not one the probe can watch")
    kind = locator["kind"]
    if kind == "global" and locator["name"] not in target.module.bound:
        raise ExtractionError(f"shared state `{text}` is not a module-level name of {target.module.path}")
    if kind == "cell" and target.spec["target"].get("name") != OBJECT_NAME:
        raise ExtractionError(f"shared state `{text}`: the target is not a nested function")
    if kind == "argument":
        if locator["name"] not in target.parameters:
            raise ExtractionError(f"shared argument `{locator['name']}` is not a parameter of `{target.name}`")
        locator["name"] = target.parameters.index(locator["name"])
    if kind == "global":
        return locator, frozenset({locator["name"]})
    owner = locator.get("owner")
    return locator, frozenset({owner.split(".")[0]} if owner else set())
