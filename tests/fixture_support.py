"""Fixture files: expected findings are written as trailing comments on the lines they concern.

    pool = Pool(4)  # GIL401
    pool.map(lambda x: x, data)  # GIL201, GIL202
    pool.map(lambda x: x, data)  # GIL201:14 a lambda cannot be pickled

An expectation may give the finding's column after a colon and a fragment of its message after a
space (as flake8-async's and Fixit's examples do); several are separated by commas.

Each ``tests/fixtures/<CODE>/`` directory holds cases for one code: a ``.py`` file is a case, and
so is a sub-directory (a small project, for cross-module cases). A case runs with only that code
selected. Runs under the flake8 plugin and with noqa reuse the same cases.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
_ITEM = r"GIL\d{3}(?::\d+)?(?:[ \t]+[^,#\s][^,#]*?)?"
_EXPECTATION = re.compile(rf"#\s*({_ITEM}(?:\s*,\s*{_ITEM})*)\s*,?\s*(?:#.*)?$")
_DETAILS = re.compile(r"(GIL\d{3})(?::(\d+))?(?:\s+(.*))?")
_CODE = re.compile(r"GIL\d{3}")


@dataclass(frozen=True)
class Case:
    code: str
    path: Path  # a file, or a directory of files

    @property
    def id(self) -> str:
        return self.path.relative_to(FIXTURES).as_posix()

    @property
    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        return sorted(self.path.rglob("*.py"))


def cases() -> list[Case]:
    found = []
    for code_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and _CODE.fullmatch(p.name)):
        for entry in sorted(code_dir.iterdir()):
            if entry.suffix == ".py" or (entry.is_dir() and entry.name != "__pycache__"):
                found.append(Case(code_dir.name, entry))
    return found


@dataclass(frozen=True)
class Detail:
    """What an expectation says besides its place and code."""

    column: int | None
    fragment: str | None


def expectations(files: list[Path]) -> Counter[tuple[str, int, str]]:
    """(path, line, code) -> how many findings are expected there."""
    return Counter(key for key, _ in _expected_items(files))


def expected_details(files: list[Path]) -> list[tuple[tuple[str, int, str], Detail]]:
    """The expectations that give a column or a message fragment, with their place and code."""
    return [(key, detail) for key, detail in _expected_items(files) if detail.column or detail.fragment]


def _expected_items(files: list[Path]) -> list[tuple[tuple[str, int, str], Detail]]:
    found = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            match = _EXPECTATION.search(line)
            if match:
                for item in match.group(1).split(","):
                    parts = _DETAILS.fullmatch(item.strip())
                    assert parts is not None, f"{file}:{number}: unreadable expectation {item!r}"
                    code, column, fragment = parts.groups()
                    detail = Detail(int(column) if column else None, fragment.strip() if fragment else None)
                    found.append(((str(file), number, code), detail))
    return found


def as_noqa(text: str) -> str:
    """Turn every expectation comment into a ``# noqa: CODES`` comment."""
    lines = []
    for line in text.splitlines(keepends=True):
        match = _EXPECTATION.search(line.rstrip("\r\n"))
        if match:
            codes = ",".join(_CODE.findall(match.group(1)))
            end = line[len(line.rstrip("\r\n")):]
            line = line[: match.start()] + f"# noqa: {codes}" + end
        lines.append(line)
    return "".join(lines)
