"""Path patterns in ``.gitignore`` syntax, compiled by ``pathspec`` (the library black uses).

``exclude``, ``extend-exclude``, ``per-file-ignores`` and ``.gitignore`` files all use this syntax:

- a pattern without a slash (``test_*.py``, ``build``, ``tests/``) matches a file or directory of
  that name at any depth; a trailing slash matches directories only;
- a pattern with a slash (``src/gen/*.py``, ``/build``) is anchored at the directory of the file
  that declares it (the ``pyproject.toml``, the ``.gitignore``; the current directory for the
  command line); :func:`anchored` turns it into an absolute pattern when it is loaded, so it keeps
  its meaning whichever configuration ends up using it;
- ``*`` does not cross ``/``, ``**`` does; ``!pattern`` re-includes.

:meth:`PathPatterns.decide` judges one entry by itself, never by its ancestors: discovery does not
enter an excluded directory, and a directory named on the command line is searched even when its
own path (``/srv/build/app``) looks excluded.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Optional, Sequence

import pathspec

_ESCAPE = re.compile(r"([\\*?\[\]!#])")
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def is_bare(pattern: str) -> bool:
    """A pattern without a slash (apart from a trailing one) matches names at any depth."""
    return "/" not in pattern.lstrip("!").rstrip("/")


def anchored(pattern: str, directory: str) -> str:
    """``pattern`` as written in a file of ``directory``: bare patterns unchanged, the others made
    absolute (``src/gen`` and ``/src/gen`` both become ``<directory>/src/gen``)."""
    if is_bare(pattern):
        return pattern
    negation = "!" if pattern.startswith("!") else ""
    return negation + _escape(directory.rstrip(os.sep)) + "/" + pattern.lstrip("!").lstrip("/")


def shown(pattern: str, directory: str) -> str:
    """``pattern`` as its author wrote it when it is anchored at ``directory`` (for messages)."""
    prefix = _escape(directory.rstrip(os.sep)) + "/"
    body = pattern.lstrip("!")
    if body.startswith(prefix):
        return pattern[: len(pattern) - len(body)] + body[len(prefix):]
    return pattern


def _escape(directory: str) -> str:
    return _ESCAPE.sub(r"\\\1", directory)


class PathPatterns:
    """Compiled patterns: bare ones match names, the others absolute paths.

    A pattern with a slash is absolute when it starts with one (see :func:`anchored`), else
    relative to ``root`` (configurations built in code). Bare patterns in :meth:`covering` see the
    path below ``root`` only.
    """

    def __init__(self, patterns: Sequence[str], root: str) -> None:
        self.patterns = tuple(patterns)
        self.root = root.rstrip(os.sep) or os.sep
        compiled = [self._compile(pattern) for pattern in self.patterns]
        self._regexes = [regex for regex, _, _ in compiled]
        self.include = [include for _, include, _ in compiled]
        self._bare = [bare for _, _, bare in compiled]
        self._any_bare = _union(r for r, bare in zip(self._regexes, self._bare) if bare)
        self._any_absolute = _union(r for r, bare in zip(self._regexes, self._bare) if not bare)

    def _compile(self, pattern: str) -> tuple[Optional[re.Pattern[str]], bool, bool]:
        if not is_bare(pattern) and not pattern.lstrip("!").startswith("/"):
            pattern = anchored(pattern, self.root)
        compiled = pathspec.GitIgnoreSpec.from_lines([pattern]).patterns
        if not compiled or compiled[0].regex is None:  # a blank line or a comment: matches nothing
            return None, False, True
        return compiled[0].regex, bool(compiled[0].include), is_bare(pattern)

    def decide(self, path: str, is_dir: bool) -> Optional[int]:
        """The index of the last pattern that matches ``path`` itself (absolute), or None."""
        slash = "/" if is_dir else ""
        name = os.path.basename(path) + slash
        absolute = path.lstrip(os.sep).replace(os.sep, "/") + slash
        bare_hit = self._any_bare is not None and self._any_bare.fullmatch(name)
        if not bare_hit and not (self._any_absolute is not None and self._any_absolute.fullmatch(absolute)):
            return None
        found = None
        for index, regex in enumerate(self._regexes):
            if regex is not None and regex.fullmatch(name if self._bare[index] else absolute):
                found = index
        return found

    def excludes(self, path: str, is_dir: bool) -> bool:
        index = self.decide(path, is_dir)
        return index is not None and self.include[index]

    def covering(self, path: str) -> list[int]:
        """Indices of the patterns that match the file ``path`` or one of its directories below ``root``."""
        absolute = path.lstrip(os.sep).replace(os.sep, "/")
        inside = path.startswith(self.root.rstrip(os.sep) + os.sep)
        relative = path[len(self.root.rstrip(os.sep)) + 1:].replace(os.sep, "/") if inside else os.path.basename(path)
        return [index for index, regex in enumerate(self._regexes)
                if regex is not None and regex.match(relative if self._bare[index] else absolute)]


def _union(regexes: Iterable[Optional[re.Pattern[str]]]) -> Optional[re.Pattern[str]]:
    """One regular expression matching what any of ``regexes`` matches (a fast first test)."""
    parts = [_NAMED_GROUP.sub("(?:", regex.pattern) for regex in regexes if regex is not None]
    return re.compile("|".join(f"(?:{part})" for part in parts)) if parts else None
