"""``# noqa`` comments, understood the way flake8 understands them.

As in flake8, a ``# noqa`` anywhere in a multi-line statement covers every line of it, codes are
matched as written (``# noqa: GIL4`` covers GIL401; ``# noqa: gil401`` covers nothing) and a line
``# flake8: noqa`` on its own skips the whole file.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Optional, Sequence

# flake8's own patterns (flake8/defaults.py): "# noqa" optionally followed by ":" and a list of codes.
_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,\s]")


def noqa_codes(line: str) -> Optional[frozenset[str]]:
    """None when the line has no noqa; an empty set for a bare ``# noqa``; else the codes."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return frozenset(c for c in _SEPARATOR.split(codes) if c) if codes else frozenset()


def is_suppressed(code: str, line: str) -> bool:
    codes = noqa_codes(line)
    if codes is None:
        return False
    return not codes or code.startswith(tuple(codes))


def file_is_skipped(lines: Sequence[str]) -> bool:
    """True when a line is ``# flake8: noqa`` (or ``# flake8=noqa``) and nothing else."""
    return any(_NOQA_FILE.match(line) for line in lines)


def noqa_lines(lines: Sequence[str]) -> dict[int, str]:
    """Line number -> the text searched for ``# noqa``: every line of a statement maps to all of it.

    Lines the tokenizer cannot place (the file does not tokenize) map to themselves.
    """
    mapping = {number: line for number, line in enumerate(lines, start=1)}
    source = "".join(line + "\n" for line in lines)
    first, last = len(lines) + 2, -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first, last = min(first, token.start[0]), max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                joined = "\n".join(lines[first - 1:last])
                mapping.update(dict.fromkeys(range(first, last + 1), joined))
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        pass
    return mapping
