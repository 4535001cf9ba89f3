"""Configuration: ``[tool.gillint]`` in the nearest ``pyproject.toml``, then command-line overrides."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch, translate
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any, Iterable, Mapping, Optional, Sequence

from gillint.findings import ANALYSIS_ERROR_CODE
from gillint.options import Option
from gillint.project.sources import resolve_path
from gillint.rules import all_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 in CI
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "build", "dist", "node_modules",
    "__pycache__", ".eggs", "*.egg-info", ".gillint_cache", ".mypy_cache", ".pytest_cache", ".ruff_cache",
)

#: The keys of ``[tool.gillint]`` that are not rule options.
CORE_OPTIONS = (
    Option("select", "list[str]", ("GIL",), "codes or prefixes to enable"),
    Option("ignore", "list[str]", (), "codes or prefixes to disable"),
    Option("extend-select", "list[str]", (), "codes or prefixes to enable on top of select"),
    Option("exclude", "list[str]", DEFAULT_EXCLUDE, "globs of files and directories to skip"),
    Option("extend-exclude", "list[str]", (), "globs to skip on top of exclude"),
)
#: Tables inside ``[tool.gillint]`` owned by other components (validated there).
SUBTABLES = ("per-file-ignores", "verify")


class ConfigError(Exception):
    """A configuration problem the user must fix; the message names the key and the file."""


def known_codes() -> list[str]:
    return [ANALYSIS_ERROR_CODE, *(rule.code for rule in all_rules())]


def rule_options() -> list[Option]:
    seen: dict[str, Option] = {}
    for rule in all_rules():
        for option in rule.options:
            seen.setdefault(option.name, option)
    return list(seen.values())


@dataclass(frozen=True)
class Config:
    """The effective settings of a run."""

    select: tuple[str, ...] = ("GIL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: Rule options by attribute name (``extend_releases_gil``), defaults filled in.
    settings: Mapping[str, Any] = field(default_factory=lambda: {o.attribute: o.default for o in rule_options()})
    verify: Mapping[str, Any] = field(default_factory=dict)
    #: Where relative globs are anchored: the directory of the pyproject.toml, or the cwd.
    root: Path = field(default_factory=Path.cwd)
    source: Optional[Path] = None

    def enabled_codes(self) -> list[str]:
        """The codes this configuration enables (the most specific matching prefix wins)."""
        return [code for code in known_codes() if self.is_enabled(code)]

    def is_enabled(self, code: str, extra_ignores: Iterable[str] = ()) -> bool:
        selected = _longest_prefix(code, (*self.select, *self.extend_select))
        ignored = _longest_prefix(code, (*self.ignore, *extra_ignores))
        return selected > 0 and selected > ignored

    def ignored_for(self, path: str) -> tuple[str, ...]:
        """Codes ``per-file-ignores`` disables for ``path``."""
        candidates = _path_forms(path, self.root)
        found: list[str] = []
        for pattern, codes in self.per_file_ignores:
            if any(fnmatch(candidate, pattern) for candidate in candidates):
                found.extend(codes)
        return tuple(found)

    def is_excluded(self, path: Path) -> bool:
        """True when the file or any of its directories matches an exclude glob."""
        pattern = _glob_pattern((*self.exclude, *self.extend_exclude))
        if pattern is None:
            return False
        if pattern.match(os.path.normcase(path.name)) or _excluded_directory(pattern, str(path.parent)):
            return True
        return any(pattern.match(os.path.normcase(form)) for form in _path_forms(str(path), self.root))

    def rule_setting(self, name: str) -> Any:
        return self.settings[name]


@lru_cache(maxsize=64)
def _glob_pattern(patterns: tuple[str, ...]) -> Optional[re.Pattern[str]]:
    """One regular expression for a set of ``fnmatch`` globs (discovery tests every entry)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{translate(os.path.normcase(p))})" for p in patterns))


@lru_cache(maxsize=4096)
def _excluded_directory(pattern: re.Pattern[str], directory: str) -> bool:
    """Does the name of ``directory`` or of one of its parents match?"""
    head, name = os.path.split(directory)
    if name and pattern.match(os.path.normcase(name)):
        return True
    return bool(name) and head != directory and _excluded_directory(pattern, head)


def _longest_prefix(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=0)


def _path_forms(path: str, root: Path) -> list[str]:
    pure = PurePath(path)
    forms = [pure.as_posix()]
    try:
        resolved, anchor = real_path(str(path)), _real_directory(str(root))
    except OSError:
        return forms
    if resolved == anchor:
        forms.append(".")
    elif resolved.startswith(anchor.rstrip(os.sep) + os.sep):
        forms.append(PurePath(resolved[len(anchor.rstrip(os.sep)) + 1:]).as_posix())
    return forms


def real_path(path: str) -> str:
    """``os.path.realpath``, resolving each directory once (discovery asks for every file)."""
    if os.path.islink(path):
        return os.path.realpath(path)
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(_real_directory(directory), name) if name else _real_directory(directory)


@lru_cache(maxsize=4096)
def _real_directory(directory: str) -> str:
    return os.path.realpath(directory)


def validate_codes(codes: Sequence[str], where: str) -> None:
    """Raise :class:`ConfigError` for a code or prefix that matches no rule."""
    known = known_codes()
    for code in codes:
        if not any(k.startswith(code) for k in known) or not code:
            raise ConfigError(
                f"{where}: unknown rule code or prefix {code!r}; known codes: {', '.join(known)}"
            )


def find_pyproject(paths: Sequence[Path]) -> Optional[Path]:
    """The nearest ``pyproject.toml`` with a ``[tool.gillint]`` table above the first path."""
    start = resolve_path(paths[0] if paths else Path.cwd())
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return pyproject  # let load_config report the problem
            if "gillint" in data.get("tool", {}):
                return pyproject
    return None


def load_config(pyproject: Optional[Path], explicit: bool = False) -> Config:
    """Read ``[tool.gillint]`` from ``pyproject`` (or defaults when None)."""
    defaults = Config()
    if pyproject is None:
        return defaults
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{pyproject}: cannot read: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject}: invalid TOML: {error}") from None
    table = data.get("tool", {}).get("gillint")
    if table is None:
        if explicit:
            raise ConfigError(f"{pyproject}: no [tool.gillint] table")
        return replace(defaults, root=pyproject.parent)
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.gillint] must be a table")
    return _from_table(table, pyproject, defaults)


def _from_table(table: Mapping[str, Any], pyproject: Path, defaults: Config) -> Config:
    core = {option.name: option for option in CORE_OPTIONS}
    rules = {option.name: option for option in rule_options()}
    values: dict[str, Any] = {}
    settings = dict(defaults.settings)
    for key, value in table.items():
        option = core.get(key) or rules.get(key)
        if option is None and key not in SUBTABLES:
            allowed = ", ".join(sorted([*core, *rules, *SUBTABLES]))
            raise ConfigError(f"{pyproject}: unknown key {key!r} in [tool.gillint]; allowed keys: {allowed}")
        if option is None:
            continue
        try:
            checked = option.check(value)
        except TypeError as error:
            raise ConfigError(f"{pyproject}: [tool.gillint] {key}: {error}") from None
        if key in core:
            values[option.attribute] = checked
        else:
            settings[option.attribute] = checked
    for key in ("select", "ignore", "extend_select"):
        if key in values:
            validate_codes(values[key], f"{pyproject}: [tool.gillint] {key.replace('_', '-')}")
    per_file = _per_file_ignores(table.get("per-file-ignores", {}), pyproject)
    verify = table.get("verify", {})
    if not isinstance(verify, dict):
        raise ConfigError(f"{pyproject}: [tool.gillint.verify] must be a table")
    return replace(
        defaults, **values, per_file_ignores=per_file, settings=settings, verify=verify,
        root=pyproject.parent, source=pyproject,
    )


def _per_file_ignores(table: Any, pyproject: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.gillint] per-file-ignores must be a table of glob = [codes]")
    entries = []
    for pattern, codes in table.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(
                f"{pyproject}: [tool.gillint.per-file-ignores] {pattern!r}: expected list[str] of codes"
            )
        validate_codes(codes, f"{pyproject}: [tool.gillint.per-file-ignores] {pattern!r}")
        entries.append((pattern, tuple(codes)))
    return tuple(entries)
