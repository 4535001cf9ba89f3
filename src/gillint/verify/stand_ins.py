"""Stand-in values for what a probe cannot rebuild from the source.

* **Arguments.** A dispatch site often passes a parameter or a loop variable. The probe then tries
  stand-ins of common kinds, first the kind the target's use of the parameter suggests (its
  annotation, ``range(n)``, ``text.split()``, ``json.loads(document)``...), and keeps the first
  combination with which one call does not raise. The verdict names the stand-ins it used.
* **GIL202 objects.** A fresh object of the reported kind (:data:`OBJECTS`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Mapping, Optional


@dataclass(frozen=True)
class Kind:
    """One kind of stand-in argument: the expression that builds it and how a verdict names it."""

    name: str
    expression: str
    description: str


KINDS = {kind.name: kind for kind in (
    Kind("int", "200_000", "the int 200000"),
    Kind("text", "' '.join(['lorem ipsum dolor sit amet'] * 2_000)", "a 54 kB text"),
    Kind("json", "'[' + ', '.join(['{\"id\": 1, \"tags\": [\"a\", \"b\"], \"score\": 0.5}'] * 2_000) + ']'",
         "a 90 kB JSON document"),
    Kind("numbers", "list(range(50_000))", "a list of 50,000 ints"),
    Kind("lines", "['lorem ipsum dolor sit amet 200 5120'] * 2_000", "a list of 2,000 lines of text"),
    Kind("matrix", "[[float(i * j) for j in range(60)] for i in range(60)]", "a 60x60 matrix of floats"),
    Kind("bytes", "bytes(range(256)) * 4_096", "1 MiB of bytes"),
    Kind("mapping", "{str(i): i for i in range(10_000)}", "a dict of 10,000 str: int items"),
    Kind("records", "[{'id': i, 'size': i % 97, 'score': i % 7} for i in range(20_000)]",
         "a list of 20,000 dicts (parsed JSON records)"),
    Kind("small int", "25", "the int 25"),
)}
#: The order stand-ins are tried in, after the kind the parameter's use suggests.
ORDER = tuple(KINDS)

_ANNOTATIONS = {"int": "int", "float": "int", "str": "text", "bytes": "bytes", "bytearray": "bytes",
                "memoryview": "bytes", "dict": "mapping", "Mapping": "mapping", "Dict": "mapping"}
_TEXT_METHODS = {"split", "lower", "upper", "strip", "startswith", "endswith", "encode", "replace", "find",
                 "splitlines", "format", "casefold", "isdigit", "partition"}
_MAPPING_METHODS = {"items", "keys", "values", "get", "setdefault"}


def candidates(function: Optional[ast.AST], parameter: Optional[str],
               classes: Mapping[str, frozenset[str]] = {}) -> list[Kind]:
    """Every kind, the one the parameter's use suggests first; before them, a new instance of each
    project class (``classes``: name -> methods, for classes built without arguments) that has
    every method the function calls on the parameter."""
    if function is None or not parameter:
        return [KINDS[name] for name in ORDER]
    guessed = guess(function, parameter)
    called = {node.func.attr for node in ast.walk(function) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.value.id == parameter}
    objects = [Kind(name, f"{name}()", f"a new {name}()") for name, methods in sorted(classes.items())
               if called and called <= methods]
    return objects + [KINDS[name] for name in sorted(ORDER, key=lambda name: name != guessed)]


def guess(function: ast.AST, parameter: str) -> Optional[str]:
    """The kind a function's use of ``parameter`` suggests, or None."""
    args = getattr(function, "args", None)
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs) if args is not None else ():
        if arg.arg == parameter and arg.annotation is not None:
            text = ast.unparse(arg.annotation)
            head = text.split("[", 1)[0].rpartition(".")[2]
            if head in _ANNOTATIONS:
                return _ANNOTATIONS[head]
            if "[" in text:
                return "lines" if "str" in text else "numbers"
    for node in ast.walk(function):
        kind = _use(node, parameter)
        if kind is not None:
            return kind
    return None


def _use(node: ast.AST, parameter: str) -> Optional[str]:
    def named(expression: ast.AST) -> bool:
        return isinstance(expression, ast.Name) and expression.id == parameter

    if isinstance(node, ast.Call):
        callee = node.func
        name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
        if isinstance(callee, ast.Attribute) and named(callee.value):
            if callee.attr in _TEXT_METHODS:
                return "text"
            if callee.attr == "decode":
                return "bytes"
            if callee.attr in _MAPPING_METHODS:
                return "mapping"
        if any(named(argument) for argument in node.args):
            if name == "range":
                return "int"
            if name in ("loads", "load"):
                return "json"
    if isinstance(node, (ast.For, ast.comprehension)) and named(node.iter):
        return "numbers"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.FloorDiv, ast.Mod, ast.Pow, ast.Sub)):
        if named(node.left) or named(node.right):
            return "int"
    if isinstance(node, ast.Compare) and named(node.left):
        numbers = [c for c in node.comparators if isinstance(c, ast.Constant) and isinstance(c.value, (int, float))]
        return "int" if numbers and len(numbers) == len(node.comparators) else None
    return None


#: GIL202 arguments whose value cannot be rebuilt: a fresh object of the reported kind (the GIL202
#: evidence vocabulary). Pools have none: making one would start processes.
OBJECTS = {
    "open file": "open(__file__)",
    "lock": "__import__('threading').Lock()",
    "thread queue": "__import__('queue').Queue()",
    "sqlite3 connection": "__import__('sqlite3').connect(':memory:')",
    "sqlite3 cursor": "__import__('sqlite3').connect(':memory:').cursor()",
    "csv reader or writer": "__import__('csv').reader([])",
    "logging handler": "__import__('logging').StreamHandler()",
    "thread-local data": "__import__('threading').local()",
    "generator": "(item for item in ())",
    "multiprocessing lock": "__import__('multiprocessing').Lock()",
    "multiprocessing queue": "__import__('multiprocessing').Queue()",
    "multiprocessing shared value": "__import__('multiprocessing').Value('i', 0)",
}
