"""Applying fixes: the changes of several fixes in one libcst transformer pass; which fixes
conflict; and the text edits between two versions of a file."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any, Sequence

import libcst as cst

from gillint.fix.document import Document, Span, blank_lines, code_of, spaced
from gillint.fix.model import Changes, Edit, Replacement

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def apply_changes(document: Document, changes: Sequence[Changes]) -> str:
    """The text of ``document`` with ``changes`` applied; they must not conflict (:func:`conflicts`)."""
    module = document.module.visit(_Apply(changes))
    assert isinstance(module, cst.Module)
    return module.code


def substitute(node: cst.CSTNode, replacements: dict[cst.CSTNode, Replacement]) -> cst.CSTNode:
    """``node`` with some of its descendants (original nodes) replaced."""
    result = node.visit(_Apply([Changes(replace=replacements)]))
    assert isinstance(result, cst.CSTNode)
    return result


class _Apply(cst.CSTTransformer):
    """Replace, remove and insert around original nodes, all fixes at once."""

    def __init__(self, changes: Sequence[Changes]) -> None:
        super().__init__()
        self.replace: dict[cst.CSTNode, Replacement] = {}
        self.before: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.after: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        for change in changes:
            self.replace.update(change.replace)
            for inserted, added in ((self.before, change.before), (self.after, change.after)):
                for anchor, statements in added.items():
                    _extend(inserted.setdefault(anchor, []), statements)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Replacement:  # type: ignore[override]
        if original_node in self.replace:
            result = self.replace[original_node]
        else:
            result = super().on_leave(original_node, updated_node)
        if original_node not in self.before and original_node not in self.after:
            return result
        if isinstance(result, cst.RemovalSentinel):
            middle: list[Any] = []
        elif isinstance(result, cst.FlattenSentinel):
            middle = list(result.nodes)
        else:
            middle = [result]
        items = [*self.before.get(original_node, ()), *middle, *self.after.get(original_node, ())]
        return cst.FlattenSentinel(items) if items else cst.RemovalSentinel.REMOVE

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock,
                            updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        """A block whose first statement was removed does not start with the blank lines that
        separated it from the next one."""
        if original_node.body and updated_node.body:
            first = updated_node.body[0]
            wanted = blank_lines(original_node.body[0])
            if blank_lines(first) > wanted:
                return updated_node.with_changes(body=[spaced(first, wanted), *updated_node.body[1:]])
        return updated_node


def _extend(statements: list[cst.BaseStatement], more: Sequence[cst.BaseStatement]) -> None:
    """Add ``more``, leaving out statements already there (two fixes adding ``import threading``)."""
    seen = {code_of(s) for s in statements}
    statements.extend(s for s in more if code_of(s) not in seen)


def conflicts(document: Document, first: Changes, second: Changes) -> bool:
    """Do two fixes touch the same code? Replaced nodes must not overlap, nor hold the statement the
    other inserts next to, and the names they add must differ."""
    if first.names & second.names:
        return True
    hard = [[document.span(node) for node in c.replace] for c in (first, second)]
    anchors = [[document.span(node) for node in (*c.before, *c.after)] for c in (first, second)]
    if any(_overlap(a, b) for a in hard[0] for b in hard[1]):
        return True
    return any(_inside(anchor, span) for span in hard[0] for anchor in anchors[1]) or any(
        _inside(anchor, span) for span in hard[1] for anchor in anchors[0])


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _inside(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def edits_between(old: str, new: str) -> tuple[Edit, ...]:
    """The edits that turn ``old`` into ``new``: changed lines, trimmed to the characters that differ."""
    before, after = lines_of(old), lines_of(new)
    found = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        inserted = after[j1:j2]
        while tag == "insert" and i1 < len(before) and inserted[0] == before[i1]:
            i1, i2, inserted = i1 + 1, i2 + 1, [*inserted[1:], inserted[0]]  # "\n\ndef f" -> "def f\n\n"
        removed, added = "".join(before[i1:i2]), "".join(inserted)
        prefix = _common_prefix(removed, added)
        suffix = _common_prefix(removed[prefix:][::-1], added[prefix:][::-1])
        start = _advance((i1 + 1, 1), removed[:prefix])
        end = _advance(start, removed[prefix:len(removed) - suffix])
        found.append(Edit(added[prefix:len(added) - suffix], start, end))
    return tuple(found)


def lines_of(text: str) -> list[str]:
    """The lines of ``text`` with their endings, split only where Python ends a line."""
    return _LINE.findall(text)


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length


def _advance(position: tuple[int, int], text: str) -> tuple[int, int]:
    """The position after ``text`` when it starts at ``position``."""
    line, column = position
    lines = lines_of(text)
    if not lines:
        return position
    if lines[-1].endswith(("\n", "\r")):
        return line + len(lines), 1
    if len(lines) == 1:
        return line, column + len(text)
    return line + len(lines) - 1, len(lines[-1]) + 1

