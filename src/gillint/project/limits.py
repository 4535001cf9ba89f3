"""Guards that keep pathological source from crashing or stalling the parser and the visitors.

libcst's native parser recurses once per nesting level on the C stack: a few thousand nested
brackets or a few thousand chained operators (``-----x``, ``a.b.c...``, ``"a" "b" "c"...``)
overflow it and kill the whole process with SIGSEGV, and bracket nesting also makes it
quadratically slow (200 nested lists already take a second). :func:`check_limits` measures
both with one cheap scan before parsing, after refusing files so large that parsing them would
take minutes and gigabytes (libcst needs about 15 s and 800 MB per MB of source). Code within
the limits is then walked by recursive Python visitors; :func:`deep_recursion` gives them
enough recursion depth to finish.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from typing import Iterator

from gillint.project.sources import SourceError

#: Larger sources are refused: nearly always generated code, and slow enough to stall a CI job.
MAX_SOURCE_CHARS = 2_000_000
#: CPython's own tokenizer refuses more than 200 nested brackets ("too many nested parentheses").
MAX_BRACKET_DEPTH = 200
#: Operators, keywords, dots and strings chained in one expression, counted through the brackets
#: that enclose it. CPython's compiler gives up (RecursionError) near 3000; libcst crashes from
#: 4000 (adjacent strings, lambdas). Generated code such as sympy's polyquinticconst.py needs ~2000.
MAX_EXPRESSION_DEPTH = 2500
#: Recursion limit while indexing and analysing code within those limits. From Python 3.11 on a call
#: of a Python function does not use the C stack, and the parser accepts expressions up to ~10,000
#: levels deep (3.13), which the indexer walks at two frames a level.
RECURSION_LIMIT = 100_000 if sys.version_info >= (3, 11) else 20_000

_TOKEN = re.compile(
    r"""
      \#[^\r\n]*                                             # comment
    | [rRbBuUfFtT]{0,2}(?:'''(?:\\.|[^\\])*?(?:'''|\Z)        # strings, unterminated ones to the end
                      |\"\"\"(?:\\.|[^\\])*?(?:\"\"\"|\Z)
                      |'(?:\\.|[^'\\\r\n])*'?
                      |"(?:\\.|[^"\\\r\n])*"?)
    | \\\r?\n                                                # explicit line continuation
    | [(\[{] | [)\]}] | [,;] | \r?\n | \r
    | \b(?:if|else|lambda|not|and|or|await|is|in|for)\b
    | (?<![\w.])\d[\w.]*(?:[eE][+-]\d+)?                    # numbers (so 1.5 is not a dot)
    | [-+*/%@&|^~<>=!.]
    """,
    re.VERBOSE | re.DOTALL,  # DOTALL: a backslash-newline inside a string is part of it
)
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")


class LimitError(SourceError):
    """The code is larger or nested deeper than gillint analyses; the message says where and how much."""


def check_size(source: str) -> None:
    """Raise :class:`LimitError` when ``source`` is too large to analyse."""
    if len(source) > MAX_SOURCE_CHARS:
        raise LimitError(f"file too large: {len(source):,} characters (the limit is {MAX_SOURCE_CHARS:,})")


def check_limits(source: str) -> None:
    """Raise :class:`LimitError` when ``source`` is too large or nests brackets or expressions too deeply.

    Counts are approximate in the safe direction (every operator counts as one more level), so
    ordinary code, including long flat literals, stays far below the limits.
    """
    check_size(source)
    bases: list[int] = []
    depth = 0
    line = 1
    for match in _TOKEN.finditer(source):
        token = match.group()
        first = token[0]
        if first in "\r\n\\":
            line += 1
            if not bases and first != "\\":
                depth = 0  # end of a logical line
            continue
        if first == "#" or first.isdigit():
            continue
        if first in _OPEN:
            bases.append(depth)
            depth += 1
            if len(bases) > MAX_BRACKET_DEPTH:
                raise LimitError(
                    f"nested too deeply: more than {MAX_BRACKET_DEPTH} levels of brackets at line {line}"
                )
        elif first in _CLOSE:
            if bases:
                depth = bases.pop() + 1
        elif first in ",;":
            depth = bases[-1] + 1 if bases else 0
        else:
            depth += 1
            line += token.count("\n")
        if depth > MAX_EXPRESSION_DEPTH:
            raise LimitError(
                f"nested too deeply: an expression more than {MAX_EXPRESSION_DEPTH} levels deep at line {line}"
            )


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Raise the interpreter's recursion limit to :data:`RECURSION_LIMIT` for the block."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
