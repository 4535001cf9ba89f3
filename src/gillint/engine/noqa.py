"""``# noqa`` comments, understood the way flake8 understands them.

As in flake8, the text searched for a line's ``# noqa`` is its *noqa range*: the physical lines
from one end-of-line token to the next, so a multi-line string or a backslash continuation is one
range, while each line inside brackets is its own. Codes are matched as written (``# noqa: GIL4``
covers GIL401; ``# noqa: gil401`` covers nothing) and a line ``# flake8: noqa`` on its own skips
the whole file.

:func:`add_noqa` writes comments where that logic sees them (``--add-noqa``); :func:`noqa_comments`
finds the comments whose codes :mod:`gillint.frontends.adopt` checks for use (``--unused-noqa``).
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Iterable, Iterator, Mapping, Optional, Sequence

# flake8's own patterns (flake8/defaults.py): the noqa marker, optionally followed by a colon and codes.
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
    """Line number -> the text searched for ``# noqa``: the lines of its noqa range, joined."""
    mapping = {number: line for number, line in enumerate(lines, start=1)}
    if not any("noqa" in line.lower() for line in lines):
        return mapping  # no range can hold a comment: tokenizing the file would change nothing
    for first, last in noqa_ranges(lines):
        joined = "\n".join(lines[first - 1:last])
        mapping.update(dict.fromkeys(range(first, last + 1), joined))
    return mapping


def noqa_ranges(lines: Sequence[str]) -> list[tuple[int, int]]:
    """The noqa ranges (first, last line) of ``lines`` as flake8 forms them, up to the first
    tokenizing error."""
    return [(first, last) for first, last, _ in _ranges(lines)]


def _ranges(lines: Sequence[str]) -> list[tuple[int, int, bool]]:
    """Noqa ranges and whether a comment may end each: a range ends with an end-of-line token, so
    its last line ends outside any string and without a backslash continuation, except (Python
    3.12+) when that token is inside an f-string's replacement field: there a comment would be
    inside the string, and a syntax error before Python 3.12."""
    ranges = []
    first, last, depth = len(lines) + 2, -1, 0
    for token in _tokens(lines):
        if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
            continue
        depth += (token.type in _STRING_STARTS) - (token.type in _STRING_ENDS)
        first, last = min(first, token.start[0]), max(last, token.end[0])
        if token.type in (tokenize.NL, tokenize.NEWLINE):
            ranges.append((first, last, depth == 0))
            first, last = len(lines) + 2, -1
    return ranges


#: The tokens that open and close f-strings (and t-strings) where Python splits them (3.12+).
_STRING_STARTS = {getattr(tokenize, name) for name in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, name)}
_STRING_ENDS = {getattr(tokenize, name) for name in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, name)}


def _tokens(lines: Sequence[str]) -> Iterator[tokenize.TokenInfo]:
    """The tokens of ``lines``, up to the first tokenizing error."""
    source = "".join(line + "\n" for line in lines)
    try:
        yield from tokenize.generate_tokens(io.StringIO(source).readline)
    except (tokenize.TokenError, SyntaxError):
        return


def noqa_comments(lines: Sequence[str]) -> dict[int, tuple[int, frozenset[str]]]:
    """Line -> (column from 1, codes) of each ``# noqa: CODES`` comment (bare ones left out)."""
    found = {}
    for token in _tokens(lines):
        match = _NOQA.search(token.string) if token.type == tokenize.COMMENT else None
        codes = noqa_codes(token.string) if match is not None else None
        if match is not None and codes:
            found[token.start[0]] = (token.start[1] + match.start() + 1, codes)
    return found


def add_noqa(lines: Sequence[str], codes_by_line: Mapping[int, Iterable[str]]) -> tuple[list[str], list[int]]:
    """``lines`` with ``# noqa: CODE`` for each line's codes on the last line of its noqa range, and
    the lines for which no safe place exists (past a tokenizing error, or a range that ends inside
    an f-string on Python 3.12+).

    An existing ``# noqa: ...`` comment there keeps its codes and gains the new ones; otherwise the
    comment is appended to the line.
    """
    last_of = {line: last for first, last, safe in _ranges(lines) if safe for line in range(first, last + 1)}
    wanted: dict[int, set[str]] = {}
    for line, codes in codes_by_line.items():
        if line in last_of:
            wanted.setdefault(last_of[line], set()).update(codes)
    comments = _comments(lines)
    edited = list(lines)
    for number, codes in wanted.items():
        text = edited[number - 1]
        column = comments.get(number)
        match = _NOQA.search(text, column) if column is not None else None
        if match is not None and match.group("codes"):
            written = match.group("codes")
            present = [c for c in _SEPARATOR.split(written) if c]
            added = ", ".join([*present, *sorted(set(codes) - set(present))])
            trailing = written[len(written.rstrip()):]
            edited[number - 1] = text[:match.start("codes")] + added + trailing + text[match.end("codes"):]
        else:
            edited[number - 1] = f"{text.rstrip()}  # noqa: {', '.join(sorted(codes))}"
    return edited, sorted(line for line in codes_by_line if line not in last_of)


def _comments(lines: Sequence[str]) -> dict[int, int]:
    """Line -> the 0-based column where its comment starts."""
    return {token.start[0]: token.start[1] for token in _tokens(lines) if token.type == tokenize.COMMENT}
