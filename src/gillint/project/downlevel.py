"""Source newer than the running interpreter, rewritten with libcst into older syntax on the same lines.

Imported only when ``ast`` rejects a file (see :mod:`gillint.project.parse`): libcst takes about 0.3 s
to import.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence, Union

import libcst as cst

from gillint.project.limits import check_limits, deep_recursion


def libcst_accepts(source: str) -> bool:
    """Whether libcst parses ``source`` (it knows every Python 3 grammar up to 3.14)."""
    return _libcst_parse(source) is not None


def _libcst_parse(source: str) -> Optional[cst.Module]:
    try:
        with deep_recursion():
            return cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None


def rewrite_newer_syntax(source: str) -> Optional[str]:
    """``source`` with the constructs this interpreter's ``ast`` lacks rewritten, or None when libcst
    rejects it too (or a rewrite would move a line)."""
    check_limits(source)  # libcst's native parser crashes on deep nesting whatever the Python
    tree = _libcst_parse(source)
    if tree is None:
        return None
    try:
        with deep_recursion():
            code = tree.visit(_Downlevel()).code
    except Exception:  # noqa: BLE001 - any failure of a rewrite means "cannot be analysed here", never a crash
        return None
    return code if code.count("\n") == source.count("\n") else None


_FSTRINGS_NEED_REWRITE = sys.version_info < (3, 12)


class _Downlevel(cst.CSTTransformer):
    """Rewrites Python 3.10-3.14 constructs into 3.9 ones, keeping every line where it was."""

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        return updated.with_changes(type_parameters=None)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return updated.with_changes(type_parameters=None)

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Assign:
        return cst.Assign([cst.AssignTarget(updated.name)], updated.value, semicolon=updated.semicolon)

    def leave_Index(self, original: cst.Index, updated: cst.Index) -> cst.Index:
        return updated.with_changes(star=None)  # ``tuple[*Ts]``

    def leave_Annotation(self, original: cst.Annotation, updated: cst.Annotation) -> cst.Annotation:
        inner = updated.annotation
        if isinstance(inner, cst.StarredElement):  # ``*args: *Ts``
            return updated.with_changes(annotation=inner.value)
        return updated

    def leave_TryStar(self, original: cst.TryStar, updated: cst.TryStar) -> cst.Try:
        handlers = [cst.ExceptHandler(h.body, h.type, h.name, h.leading_lines, h.whitespace_after_except,
                                      h.whitespace_before_colon) for h in updated.handlers]
        return cst.Try(updated.body, handlers, updated.orelse, updated.finalbody, updated.leading_lines,
                       updated.whitespace_before_colon)

    def leave_Match(self, original: cst.Match, updated: cst.Match) -> cst.If:
        cases = [cst.If(_case_test(case), case.body, leading_lines=case.leading_lines) for case in updated.cases]
        block = cst.IndentedBlock(cases, header=updated.whitespace_after_colon, indent=updated.indent,
                                  footer=updated.footer)
        return cst.If(_parenthesized(updated.subject), block, leading_lines=updated.leading_lines)

    def __init__(self) -> None:
        super().__init__()
        #: Strings written next to another string: rewritten together with it (a tuple cannot be
        #: concatenated implicitly).
        self._concatenated: set[int] = set()

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._concatenated.update((id(node.left), id(node.right)))

    def leave_FormattedString(
        self, original: cst.FormattedString, updated: cst.FormattedString,
    ) -> Union[cst.FormattedString, cst.Tuple]:
        if not _FSTRINGS_NEED_REWRITE or id(original) in self._concatenated:
            return updated
        return _expressions_tuple(updated.parts, updated)

    def leave_TemplatedString(
        self, original: cst.TemplatedString, updated: cst.TemplatedString,
    ) -> Union[cst.TemplatedString, cst.Tuple]:
        return updated if id(original) in self._concatenated else _expressions_tuple(updated.parts, updated)

    def leave_ConcatenatedString(
        self, original: cst.ConcatenatedString, updated: cst.ConcatenatedString,
    ) -> cst.BaseExpression:
        if id(original) in self._concatenated:
            return updated  # the tail of a longer run: rewritten with the run's first string
        parts: list[cst.BaseExpression] = []
        spaces = []
        run: cst.BaseExpression = updated
        while isinstance(run, cst.ConcatenatedString):
            parts.append(_rewritten_string(run.left))
            spaces.append(run.whitespace_between)
            run = run.right
        parts.append(_rewritten_string(run))
        if all(isinstance(part, cst.BaseString) for part in parts):
            return updated
        result = parts[0]
        for space, part in zip(spaces, parts[1:]):
            result = cst.BinaryOperation(result, cst.Add(space, cst.SimpleWhitespace("")), part)
        return result.with_changes(lpar=updated.lpar, rpar=updated.rpar)


def _rewritten_string(string: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(string, cst.TemplatedString) or (_FSTRINGS_NEED_REWRITE and isinstance(string, cst.FormattedString)):
        return _expressions_tuple(string.parts, string)
    return string


def _parenthesized(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, cst.Tuple) and not expr.lpar:  # ``match a, b:``
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr


def _case_test(case: cst.MatchCase) -> cst.BaseExpression:
    test = _parenthesized(_pattern(case.pattern))
    if case.guard is None:
        return test
    return cst.BooleanOperation(test, cst.And(), _parenthesized(case.guard))


def _pattern(pattern: cst.MatchPattern) -> cst.BaseExpression:
    """A pattern as the expression it looks like: ``Point(x=0) | None`` stays, a capture is its name."""
    if isinstance(pattern, (cst.MatchValue, cst.MatchSingleton)):
        return pattern.value
    lpar, rpar = getattr(pattern, "lpar", ()), getattr(pattern, "rpar", ())
    if isinstance(pattern, cst.MatchAs):
        name = pattern.name or cst.Name("_")
        if pattern.pattern is None:
            return name.with_changes(lpar=lpar, rpar=rpar)
        return cst.NamedExpr(name, _pattern(pattern.pattern), lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    if isinstance(pattern, cst.MatchOr):
        result = _pattern(pattern.patterns[0].pattern)
        for previous, element in zip(pattern.patterns, pattern.patterns[1:]):
            separator = previous.separator
            operator = cst.BitOr(separator.whitespace_before, separator.whitespace_after) \
                if isinstance(separator, cst.BitOr) else cst.BitOr()
            result = cst.BinaryOperation(result, operator, _pattern(element.pattern))
        return result.with_changes(lpar=lpar, rpar=rpar)
    if isinstance(pattern, cst.MatchList):
        return cst.List(_sequence(pattern.patterns), pattern.lbracket or cst.LeftSquareBracket(),
                        pattern.rbracket or cst.RightSquareBracket(), lpar=lpar, rpar=rpar)
    if isinstance(pattern, cst.MatchTuple):
        elements = _sequence(pattern.patterns)
        return cst.Tuple(elements, lpar=lpar, rpar=rpar) if pattern.lpar else cst.List(elements)
    if isinstance(pattern, cst.MatchMapping):
        items: list[cst.BaseDictElement] = [
            cst.DictElement(e.key, _pattern(e.pattern), e.comma, e.whitespace_before_colon, e.whitespace_after_colon)
            for e in pattern.elements
        ]
        if pattern.rest is not None:
            items.append(cst.StarredDictElement(pattern.rest))
        return cst.Dict(items, pattern.lbrace, pattern.rbrace, lpar=lpar, rpar=rpar)
    if isinstance(pattern, cst.MatchClass):
        arguments = [cst.Arg(_pattern(p.value), comma=p.comma) for p in pattern.patterns]
        arguments += [cst.Arg(_pattern(k.pattern), keyword=k.key, comma=k.comma) for k in pattern.kwds]
        return cst.Call(pattern.cls, arguments, lpar=lpar, rpar=rpar)
    return cst.Name("_")


def _sequence(patterns: Sequence[Union[cst.MatchSequenceElement, cst.MatchStar]]) -> list[cst.BaseElement]:
    elements: list[cst.BaseElement] = []
    for item in patterns:
        if isinstance(item, cst.MatchStar):
            elements.append(cst.StarredElement(item.name or cst.Name("_"), comma=item.comma))
        else:
            elements.append(cst.Element(_pattern(item.value), comma=item.comma))
    return elements


def _expressions_tuple(
    parts: Sequence[cst.CSTNode], string: Union[cst.FormattedString, cst.TemplatedString],
) -> cst.Tuple:
    """``f"{a} and {b!r:>{w}}"`` as ``(a, b, w)``, with a triple-quoted string holding the newlines of a
    multi-line literal, so that later lines stay where they were."""
    expressions: list[cst.BaseExpression] = []
    newlines = 0

    def collect(items: Sequence[cst.CSTNode]) -> None:
        nonlocal newlines
        for part in items:
            expression = getattr(part, "expression", None)
            if expression is None:
                newlines += getattr(part, "value", "").count("\n")
                continue
            expressions.append(expression)
            collect(getattr(part, "format_spec", None) or ())

    collect(parts)
    if newlines:
        expressions.append(cst.SimpleString('"""' + "\n" * newlines + '"""'))
    elements = [cst.Element(expr, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for expr in expressions]
    return cst.Tuple(elements, lpar=string.lpar or [cst.LeftParen()], rpar=string.rpar or [cst.RightParen()])
