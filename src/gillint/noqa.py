"""``# noqa`` comments, understood the way flake8 understands them."""

from __future__ import annotations

import re
from typing import Optional

# flake8's own pattern (flake8/defaults.py): "# noqa" optionally followed by ":" and a list of codes.
_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def noqa_codes(line: str) -> Optional[frozenset[str]]:
    """None when the line has no noqa; an empty set for a bare ``# noqa``; else the codes."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return frozenset(c.upper() for c in _CODE.findall(codes)) if codes else frozenset()


def is_suppressed(code: str, line: str) -> bool:
    codes = noqa_codes(line)
    if codes is None:
        return False
    return not codes or any(code.startswith(c) for c in codes)
