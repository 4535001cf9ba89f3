"""Small questions every layer asks about :mod:`ast` nodes: names, call arguments, literals, blocks.

The project model is built on Python's own ``ast`` (about ten times cheaper to parse than a
concrete syntax tree, with positions on every node). These helpers keep the rest of the code from
repeating ``isinstance`` ladders.
"""

from __future__ import annotations

import ast
from typing import Iterator, Optional, Sequence, Union

FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: Nodes whose body runs in a scope of its own (comprehensions aside).
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
LOOPS = (ast.For, ast.AsyncFor, ast.While)
FOR_LOOPS = (ast.For, ast.AsyncFor)
WITHS = (ast.With, ast.AsyncWith)
#: ``try`` statements, with ``try``/``except*`` where the running Python has it (3.11+).
TRIES: tuple[type, ...] = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
#: Literal displays and constants: what ``_is_literal`` accepts besides scalar constants.
_DISPLAYS = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.JoinedStr)


def dotted(node: Optional[ast.AST]) -> Optional[str]:
    """``a.b.c`` for a name or attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def terminal_name(node: ast.AST) -> str:
    """The last name of ``a.b.c`` (``c``), of a plain name, else ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def is_name(node: Optional[ast.AST], name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def is_none(node: Optional[ast.AST]) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def string_value(node: Optional[ast.AST]) -> Optional[str]:
    """The value of a plain string literal (``"x"``, ``'x' 'y'``), else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def is_string_literal(node: Optional[ast.AST]) -> bool:
    """A string or bytes literal, plain or formatted."""
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def int_value(node: Optional[ast.AST]) -> Optional[int]:
    """The value of an integer literal (not a bool), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def is_literal(node: Optional[ast.AST]) -> bool:
    """A literal display or constant: ``[1, 2]``, ``{...}``, ``"text"``, ``f"..."``, ``3``, ``2.5``."""
    if isinstance(node, _DISPLAYS):
        return True
    return isinstance(node, ast.Constant) and type(node.value) in (str, bytes, int, float)


# -- calls ------------------------------------------------------------------------------------------


def positional(call: ast.Call) -> list[ast.expr]:
    """The positional arguments of a call, ``*args`` excluded."""
    return [arg for arg in call.args if not isinstance(arg, ast.Starred)]


def has_starred(call: ast.Call) -> bool:
    """The call unpacks ``*args`` or ``**kwargs``."""
    return any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords)


def keyword(call: ast.Call, name: str) -> Optional[ast.expr]:
    return next((k.value for k in call.keywords if k.arg == name), None)


def argument(call: ast.Call, name: str, position: Optional[int]) -> Optional[ast.expr]:
    """The argument given for parameter ``name``: by keyword, or at ``position`` (counting every
    positional argument, ``*args`` included, but never returning one)."""
    found = keyword(call, name)
    if found is not None or position is None or position >= len(call.args):
        return found
    value = call.args[position]
    return None if isinstance(value, ast.Starred) else value


def sent_values(call: ast.Call, skip: int = 0) -> tuple[ast.expr, ...]:
    """Argument values after the first ``skip`` positional ones: positional then keyword values
    (``*args`` and ``**kwargs`` excluded). ``submit(f, a, b=c)`` with ``skip=1`` gives ``(a, c)``."""
    return (*(a for a in call.args[skip:] if not isinstance(a, ast.Starred)),
            *(k.value for k in call.keywords if k.arg is not None))


def elements(node: Optional[ast.AST]) -> tuple[ast.expr, ...]:
    """The items of a literal tuple/list (``args=(a, b)``) or the values of a literal dict."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(e for e in node.elts if not isinstance(e, ast.Starred))
    if isinstance(node, ast.Dict):
        return tuple(v for k, v in zip(node.keys, node.values) if k is not None)
    return ()


# -- parameters -----------------------------------------------------------------------------------


def parameter_names(args: ast.arguments) -> list[str]:
    """Every parameter name: positional-only, positional, keyword-only, then ``*args``, ``**kwargs``."""
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return names


def positional_parameters(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args]


def required_positional(args: ast.arguments) -> int:
    """How many positional parameters have no default."""
    return len(positional_parameters(args)) - len(args.defaults)


# -- statements -----------------------------------------------------------------------------------


def child_blocks(statement: ast.stmt) -> Iterator[Sequence[ast.stmt]]:
    """The statement lists nested directly in a compound statement (bodies, branches, handlers)."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(statement, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


def iter_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of ``body`` and of the compound statements nested in it, but not in defs or classes."""
    for statement in body:
        yield statement
        if isinstance(statement, DEFINITIONS):
            continue
        for block in child_blocks(statement):
            yield from iter_statements(block)


def ends_block(body: Sequence[ast.stmt]) -> bool:
    """The block ends with ``return``/``raise``/``continue``/``break``."""
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break))


def is_main_guard(test: ast.AST) -> bool:
    """``__name__ == "__main__"`` in either order and any quote style."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [side for side in sides if is_name(side, "__name__")]
    strings = [side for side in sides if string_value(side) == "__main__"]
    return len(names) == 1 and len(strings) == 1


def guarded_branch(statement: ast.If) -> Optional[list[ast.stmt]]:
    """The branch of ``if`` that runs only in the main module: ``if __name__ == "__main__":`` (also
    ``and``-ed with another test), or the ``else`` of ``if __name__ != "__main__":``."""
    test = statement.test
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return statement.body if any(is_main_guard(value) for value in test.values) else None
    if is_main_guard(test):
        return statement.body
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotEq)
            and is_main_guard(ast.Compare(test.left, [ast.Eq()], test.comparators))):
        return statement.orelse
    return None


# -- traversal ------------------------------------------------------------------------------------


def child_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The children of ``node`` in source order (``ast.iter_child_nodes`` orders some fields by kind:
    a decorator after its function's body, dict keys before all values, keywords after all positionals)."""
    order = _SOURCE_ORDER.get(type(node))
    if order is not None:
        yield from order(node)
        return
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    yield item


def _function_children(node: ast.AST) -> Iterator[ast.AST]:
    assert isinstance(node, (*FUNCTIONS, ast.ClassDef))
    yield from node.decorator_list
    yield from getattr(node, "type_params", ())
    if isinstance(node, ast.ClassDef):
        yield from node.bases
        yield from node.keywords
    else:
        yield node.args
        if node.returns is not None:
            yield node.returns
    yield from node.body


def _arguments_children(node: ast.AST) -> Iterator[ast.AST]:
    assert isinstance(node, ast.arguments)
    positional_args = [*node.posonlyargs, *node.args]
    defaults: list[Optional[ast.expr]] = [None] * (len(positional_args) - len(node.defaults)) + list(node.defaults)
    for arg, default in zip(positional_args, defaults):
        yield arg
        if default is not None:
            yield default
    if node.vararg is not None:
        yield node.vararg
    for arg, kw_default in zip(node.kwonlyargs, node.kw_defaults):
        yield arg
        if kw_default is not None:
            yield kw_default
    if node.kwarg is not None:
        yield node.kwarg


def _call_children(node: ast.AST) -> Iterator[ast.AST]:
    assert isinstance(node, ast.Call)
    yield node.func
    if not node.keywords:
        yield from node.args
    elif not node.args:
        yield from node.keywords
    else:  # ``f(a, k=1, *b)``: keywords may come before a starred argument
        yield from sorted([*node.args, *node.keywords], key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]


def _dict_children(node: ast.AST) -> Iterator[ast.AST]:
    assert isinstance(node, ast.Dict)
    for key, value in zip(node.keys, node.values):
        if key is not None:
            yield key
        yield value


def _if_expression_children(node: ast.AST) -> Iterator[ast.AST]:
    assert isinstance(node, ast.IfExp)
    yield node.body
    yield node.test
    yield node.orelse


_SOURCE_ORDER = {
    ast.FunctionDef: _function_children,
    ast.AsyncFunctionDef: _function_children,
    ast.ClassDef: _function_children,
    ast.arguments: _arguments_children,
    ast.Call: _call_children,
    ast.Dict: _dict_children,
    ast.IfExp: _if_expression_children,
}


def walk(node: ast.AST, into_scopes: bool = False) -> Iterator[ast.AST]:
    """``node`` and its descendants; nested functions, lambdas and classes are yielded but not
    entered unless ``into_scopes``."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and not into_scopes and isinstance(current, SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(current))


def walk_body(body: Sequence[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a function's or module's statements, not entering nested functions, lambdas or
    classes (a nested ``def`` statement is yielded, its decorators and body are not entered)."""
    for statement in body:
        if isinstance(statement, SCOPES):
            yield statement
        else:
            yield from walk(statement)
