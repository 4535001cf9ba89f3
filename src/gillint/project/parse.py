"""Source to :mod:`ast`, with one syntax verdict whatever Python runs gillint.

``ast.parse`` knows only the running interpreter's grammar: on Python 3.11 a 3.12 f-string, a
``type`` statement or a type parameter list is a syntax error, and on 3.9 so is ``match``. libcst
parses every Python 3 grammar up to 3.14, so it decides: source that ``ast`` rejects but libcst
accepts is valid. Its newer constructs are then rewritten into older ones that mean nearly the same
to the analysis (``match`` into ``if``s, ``except*`` into ``except``, type parameters dropped,
f-strings and t-strings into tuples of their expressions), keeping every statement on its line, and
the result is parsed again. Only source both parsers reject is a syntax error.
"""

from __future__ import annotations

import ast
import sys
import warnings
from dataclasses import dataclass
from typing import Optional

from gillint.project.limits import LimitError, check_limits, check_size


@dataclass(frozen=True)
class SyntaxProblem(Exception):
    """Source that neither ``ast`` nor libcst can parse: the message and position are ``ast``'s."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"syntax error: {self.message}"


@dataclass(frozen=True)
class Parsed:
    """A parsed module; ``source`` is what the tree's positions refer to (rewritten when newer syntax
    had to be, with every line where it was)."""

    tree: ast.Module
    source: str
    rewritten: bool = False


def parse_module(source: str, filename: str = "<unknown>") -> Optional[Parsed]:
    """Parse ``source``; None when it is valid but newer than this interpreter can represent even after
    rewriting (it is then not analysed).

    Raises :class:`SyntaxProblem` for invalid source and :class:`~gillint.project.limits.LimitError`
    for source too large or too deeply nested to parse safely.
    """
    _check_before_ast(source)
    try:
        return Parsed(_ast_parse(source, filename), source)
    except SyntaxError as error:
        problem = _problem(error)
    from gillint.project.downlevel import rewrite_newer_syntax  # libcst costs 0.3 s to import: only here

    rewritten = rewrite_newer_syntax(source)
    if rewritten is None:
        raise problem
    try:
        return Parsed(_ast_parse(rewritten, filename), rewritten, rewritten=True)
    except SyntaxError:
        return None


def syntax_problem(source: str, filename: str = "<unknown>") -> Optional[SyntaxProblem]:
    """The syntax error in ``source``, or None when ``ast`` or (failing that) libcst parses it.

    What a file the prefilter skips is checked with: the same verdict as :func:`parse_module`, for
    the price of ``ast.parse`` on almost every file.
    """
    _check_before_ast(source)
    try:
        _ast_parse(source, filename)
        return None
    except SyntaxError as error:
        problem = _problem(error)
    check_limits(source)
    from gillint.project.downlevel import libcst_accepts

    return None if libcst_accepts(source) else problem


def _check_before_ast(source: str) -> None:
    """Refuse what the parsers cannot take safely. Python 3.11's parser and later raise errors on
    pathological nesting; 3.9's and 3.10's can crash the process (a long ``x+x+...`` chain), so there
    every file is scanned first (about 3 ms per thousand lines)."""
    if sys.version_info >= (3, 11):
        check_size(source)
    else:
        check_limits(source)


def _ast_parse(source: str, filename: str) -> ast.Module:
    # Never under a raised recursion limit: Python 3.11's parser derives its own nesting limit from it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning (invalid escapes...): not gillint's business
        try:
            return ast.parse(source, filename)
        except (RecursionError, MemoryError):  # Python 3.11+: an expression nested ~3000 levels deep
            raise LimitError("nested too deeply: an expression deeper than Python's parser accepts") from None


def _problem(error: SyntaxError) -> SyntaxProblem:
    return SyntaxProblem(error.msg, error.lineno or 1, error.offset or 1)


def target_syntax_problem(source: str, target: tuple[int, int], filename: str = "<unknown>") -> Optional[SyntaxProblem]:
    """The first construct of valid ``source`` that Python ``target`` rejects (a ``match`` statement
    for 3.9), as far as the running interpreter can tell (``ast``'s ``feature_version``: best effort,
    only for targets older than it), or None."""
    if target >= sys.version_info[:2]:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(source, filename, feature_version=target)
        except SyntaxError as error:
            problem = _problem(error)
            return SyntaxProblem(f"{problem.message} (target-version {target[0]}.{target[1]})", problem.line,
                                 problem.column)
        except (RecursionError, MemoryError, ValueError):  # the plain parse accepted it: not a target question
            return None
    return None
