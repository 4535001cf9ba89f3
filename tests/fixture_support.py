"""Fixture files: expected findings are written as trailing comments on the lines they concern.

    pool = Pool(4)  # GIL401
    pool.map(lambda x: x, data)  # GIL201, GIL202

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
_EXPECTATION = re.compile(r"#\s*((?:GIL\d{3}[,\s]*)+)\s*(?:#.*)?$")
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


def expectations(files: list[Path]) -> Counter[tuple[str, int, str]]:
    """(path, line, code) -> how many findings are expected there."""
    expected: Counter[tuple[str, int, str]] = Counter()
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            match = _EXPECTATION.search(line)
            if match:
                for code in _CODE.findall(match.group(1)):
                    expected[(str(file), number, code)] += 1
    return expected


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
