"""Finding the Python files to lint, in a deterministic order."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from gillint.config import Config


@dataclass(frozen=True)
class SourceFile:
    """A file to lint: where it is and how findings should name it."""

    path: Path
    display: str


def discover(paths: Sequence[str], config: Config) -> Iterator[SourceFile]:
    """Files named explicitly are always linted; directories are searched for ``*.py``.

    Excluded directories are not entered. Each file is yielded once, directories sorted by name.
    """
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates: Iterator[Path] = _walk(path, config)
        else:
            candidates = iter([path])
        for candidate in candidates:
            key = Path(os.path.abspath(candidate))
            if key not in seen:
                seen.add(key)
                yield SourceFile(candidate, _display(candidate))


def _walk(directory: Path, config: Config) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            info = current.stat()
            if (info.st_dev, info.st_ino) in visited:
                continue  # a symlink loop
            visited.add((info.st_dev, info.st_ino))
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        subdirectories = []
        for entry in entries:
            path = Path(entry.path)
            if config.is_excluded(path):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False  # a symlink loop: a *.py one is yielded, and reading it reports why
            if is_dir:
                subdirectories.append(path)
            elif entry.name.endswith(".py"):
                yield path
        stack.extend(reversed(subdirectories))


def _display(path: Path) -> str:
    text = str(path)
    return text[2:] if text.startswith("./") else text
