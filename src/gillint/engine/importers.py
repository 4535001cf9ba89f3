"""Which project files import a module, found by a text scan of its import root.

Only used when an enabled rule ``reports_in_other_modules`` (GIL301), and only for import roots of
at most :data:`MAX_SCANNED_FILES` files.

flake8 hands gillint one file at a time, but a finding can sit in a module whose code only runs on
threads or in processes because another module dispatches it (GIL301 reports the mutation in
``state.py`` that ``server.py`` hands to threads). Checking a file together with the modules that
import it, directly or through a few others, finds those findings too.

The scan is textual and generous (any module whose import statements mention the file's module
name is a candidate); the project model then resolves the imports for real. Importers are followed
a few steps, but only those whose text could hand work to a thread or process are returned: the
others are loaded on demand if a dispatching module's analysis leads through them.
"""

from __future__ import annotations

import re
import stat
from functools import lru_cache
from pathlib import Path
from typing import Optional

from gillint.api.concurrency import API_NAMES, DISPATCH_METHODS, TRIGGER_WORDS
from gillint.config import Config
from gillint.engine.discovery import discover
from gillint.project.sources import module_name_for, resolve_path
from gillint.rules import all_rules

#: ``import a.b, c as d`` and ``from .a import (b, c)``: the names an import statement mentions.
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]*)", re.MULTILINE)
_WORD = re.compile(r"\w+")
#: Text without any of these cannot start a thread or process, or hand work to a pool.
_DISPATCH_HINT = re.compile(
    r"\b(?:" + "|".join((*TRIGGER_WORDS, "asyncio", *API_NAMES)) + r")\b"
    r"|\.(?:" + "|".join(DISPATCH_METHODS) + r")\("
)
#: Files larger than this are not scanned (generated code, data): they are not importers worth parsing.
_MAX_BYTES = 1_000_000
#: An import root with more files than this is not scanned at all (a home directory, /tmp, a whole
#: interpreter's library): the scan would cost more than the findings it could reveal.
MAX_SCANNED_FILES = 3_000


def importers(path: Path, config: Config, limit: int = 8, depth: int = 3) -> list[Path]:
    """Files under ``path``'s import root that import its module (or import one of its importers,
    up to ``depth`` steps away) and may dispatch work, nearest first; at most ``limit`` of them.

    Files ``config`` excludes are not scanned.
    """
    if limit <= 0 or not any(
        rule.reports_in_other_modules for rule in all_rules() if config.is_enabled(rule.code)
    ):
        return []
    resolved = resolve_path(path)
    name, _, root = module_name_for(resolved)
    index = _index(root, (*config.exclude, *config.extend_exclude), resolve_path(config.root)) or ()
    found: list[Path] = []
    seen = {resolved}
    frontier = [name]
    for _ in range(depth):
        wanted = {module.rsplit(".", 1)[-1] for module in frontier}
        frontier = []
        for candidate, words, dispatches in index:
            if candidate not in seen and not wanted.isdisjoint(words):
                seen.add(candidate)
                frontier.append(module_name_for(candidate)[0])
                if dispatches:
                    found.append(candidate)
                    if len(found) >= limit:
                        return found
        if not frontier:
            break
    return found


def direct_importers(path: Path, config: Config) -> Optional[list[Path]]:
    """Files under ``path``'s import root whose import statements mention its module's name (a
    generous match: read them to be sure), or None when the root is too large to scan."""
    resolved = resolve_path(path)
    name, _, root = module_name_for(resolved)
    index = _index(root, (*config.exclude, *config.extend_exclude), resolve_path(config.root))
    if index is None:
        return None
    short = name.rsplit(".", 1)[-1]
    return [candidate for candidate, words, _ in index if candidate != resolved and short in words]


@lru_cache(maxsize=8)
def _index(root: Path, exclude: tuple[str, ...], config_root: Path,
           ) -> Optional[tuple[tuple[Path, frozenset[str], bool], ...]]:
    """Every ``.py`` file under ``root``: the words of its imports, whether it may dispatch (once per
    process); None when there are more than :data:`MAX_SCANNED_FILES`."""
    config = Config(exclude=exclude, extend_exclude=(), root=config_root)
    entries = []
    for count, file in enumerate(discover([str(root)], config)):
        if count >= MAX_SCANNED_FILES:
            return None
        try:
            info = file.path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_BYTES:
                continue  # a FIFO named *.py would block the read forever
            text = file.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        words = frozenset(word for match in _IMPORT.finditer(text) for group in match.groups() if group
                          for word in _WORD.findall(group))
        if words:
            entries.append((resolve_path(file.path), words, _DISPATCH_HINT.search(text) is not None))
    return tuple(sorted(entries))
