"""Finding the Python files to lint, in a deterministic order, the way ruff does.

Directories are searched for ``*.py``. An entry is skipped when an ``exclude``/``extend-exclude``
pattern of the configuration governing its directory matches it, when ``.gitignore`` files (and
``.git/info/exclude``) ignore it (``respect-gitignore``), or, for a directory, when it holds a
``pyvenv.cfg`` (a virtual environment, whatever its name). Patterns judge what lies under the
paths named on the command line, never those paths or their parents; named paths are linted as
given unless ``force-exclude`` is on (pre-commit names files one by one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

from gillint.config import DEFAULT_EXCLUDE, Config, Resolver, real_path
from gillint.patterns import PathPatterns, anchored, shown


@dataclass(frozen=True)
class SourceFile:
    """A file to lint: where it is and how findings should name it."""

    path: Path
    display: str


def discover(paths: Sequence[str], config: Config) -> Iterator[SourceFile]:
    """The files under ``paths`` with one configuration for all (see :class:`Discovery`)."""
    return (file for file, _ in Discovery(Resolver(fixed=config)).files(paths))


class Discovery:
    """One search: the files, the configuration of each, and which patterns matched something."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        #: Real paths of the directories named on the command line.
        self.searched: list[str] = []
        #: Configurations that governed a file or directory, by id.
        self.configs: dict[int, Config] = {}
        self._matched: set[tuple[int, str]] = set()
        self._gitignores: dict[str, Optional[tuple[PathPatterns, ...]]] = {}

    def files(self, paths: Sequence[str]) -> Iterator[tuple[SourceFile, Config]]:
        """Files named explicitly (even missing ones: the engine reports them) and ``*.py`` files of
        directories, each once, directories sorted by name."""
        seen: set[str] = set()
        for given in paths:
            path = Path(given)
            config = self._use(self.resolver.for_path(given))
            if config.force_exclude and config.force_excludes(given):
                continue
            if path.is_dir():
                self.searched.append(real_path(given))
                candidates: Iterator[tuple[Path, Config]] = self._walk(path)
            else:
                candidates = iter([(path, config)])
            for candidate, governing in candidates:
                key = os.path.abspath(candidate)
                if key not in seen:
                    seen.add(key)
                    self._note_per_file_ignores(key, governing)
                    yield SourceFile(candidate, _display(candidate)), governing

    def _use(self, config: Config) -> Config:
        self.configs.setdefault(id(config), config)
        return config

    def _walk(self, directory: Path) -> Iterator[tuple[Path, Config]]:
        visited: set[tuple[int, int]] = set()
        stack = [(directory, real_path(str(directory)))]
        while stack:
            current, real = stack.pop()
            try:
                info = os.stat(real)
                if (info.st_dev, info.st_ino) in visited:
                    continue  # a symlink loop
                visited.add((info.st_dev, info.st_ino))
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError:
                continue
            if current is not directory and any(entry.name == "pyvenv.cfg" for entry in entries):
                continue  # a virtual environment
            config = self._use(self.resolver.for_directory(real))
            ignores = self._ignores(real) if config.respect_gitignore else None
            subdirectories = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False  # a symlink loop: a *.py one is yielded, and reading it reports why
                if not is_dir and not entry.name.endswith(".py"):
                    continue
                path = real + os.sep + entry.name
                if self._excluded(config, path, is_dir) or (ignores and _ignored(ignores, path, is_dir)):
                    continue
                if is_dir:
                    subdirectories.append((Path(entry.path), path))
                else:
                    yield Path(entry.path), config
            stack.extend(reversed(subdirectories))

    def _excluded(self, config: Config, path: str, is_dir: bool) -> bool:
        exclusions = config.exclusions
        index = exclusions.decide(path, is_dir)
        if index is None:
            return False
        self._matched.add((id(config), exclusions.patterns[index]))
        return exclusions.include[index]

    def _note_per_file_ignores(self, path: str, config: Config) -> None:
        if config.per_file_ignores:
            for index in config.per_file_patterns.covering(real_path(path)):
                self._matched.add((id(config), config.per_file_ignores[index][0]))

    def _ignores(self, directory: str) -> Optional[tuple[PathPatterns, ...]]:
        """The ``.gitignore`` patterns that apply in ``directory``, outermost first; None outside a
        git repository (as in git, ruff and black, ``.gitignore`` files count only inside one)."""
        if directory in self._gitignores:
            return self._gitignores[directory]
        parent = os.path.dirname(directory)
        chain: Optional[tuple[PathPatterns, ...]]
        if os.path.lexists(os.path.join(directory, ".git")):
            chain = tuple(filter(None, [_patterns_file(_info_exclude(directory), directory)]))
        else:
            chain = self._ignores(parent) if parent != directory else None
        own = _patterns_file(os.path.join(directory, ".gitignore"), directory) if chain is not None else None
        result = (*chain, own) if chain is not None and own else chain
        self._gitignores[directory] = result
        return result

    def unmatched_patterns(self) -> list[str]:
        """Warnings for the patterns that matched nothing, in configurations whose whole directory
        was searched (a run on named files, as under pre-commit, cannot tell)."""
        warnings = []
        for key, config in self.configs.items():
            root = real_path(str(config.root))
            if not any(root == searched or root.startswith(searched.rstrip(os.sep) + os.sep)
                       for searched in self.searched):
                continue
            user_patterns = [
                *(("exclude", p) for p in config.exclude if p not in DEFAULT_EXCLUDE),
                *(("extend-exclude", p) for p in config.extend_exclude),
                *(("per-file-ignores", p) for p, _ in config.per_file_ignores),
            ]
            for option, pattern in user_patterns:
                if (key, pattern) not in self._matched:
                    origin = config.pattern_origins.get(pattern, "default")
                    warnings.append(f"{option} pattern {shown(pattern, root)!r} ({origin}) matches no file")
        return sorted(set(warnings))


def _ignored(ignores: tuple[PathPatterns, ...], path: str, is_dir: bool) -> bool:
    """The deepest ``.gitignore`` with a matching pattern decides; in it, the last matching pattern."""
    for patterns in reversed(ignores):
        index = patterns.decide(path, is_dir)
        if index is not None:
            return patterns.include[index]
    return False


def _patterns_file(path: Optional[str], directory: str) -> Optional[PathPatterns]:
    """The patterns of a ``.gitignore``-style file, anchored at ``directory``; None when absent or empty."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.rstrip("\r\n") for line in handle]
    except OSError:
        return None
    patterns = [anchored(line, directory) for line in lines if line.strip() and not line.startswith("#")]
    return PathPatterns(patterns, directory) if patterns else None


def _info_exclude(repository: str) -> Optional[str]:
    """``.git/info/exclude``; for a worktree or submodule (``.git`` is a file), the common git directory's."""
    dot_git = os.path.join(repository, ".git")
    if os.path.isfile(dot_git):
        try:
            with open(dot_git, encoding="utf-8") as handle:
                first = handle.readline().strip()
        except OSError:
            return None
        if not first.startswith("gitdir:"):
            return None
        dot_git = os.path.join(repository, first[len("gitdir:"):].strip())
        try:
            with open(os.path.join(dot_git, "commondir"), encoding="utf-8") as handle:
                dot_git = os.path.join(dot_git, handle.read().strip())
        except OSError:
            pass  # a submodule: its git directory is the common one
    return os.path.join(dot_git, "info", "exclude")


def _display(path: Path) -> str:
    text = str(path)
    return text[2:] if text.startswith("./") else text
