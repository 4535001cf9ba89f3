"""Configuration: ``[tool.gillint]`` in the nearest ``pyproject.toml`` above each file, then the command line.

Each directory is governed by the nearest ``pyproject.toml`` with a ``[tool.gillint]`` table
(ruff's hierarchical model); ``extend = "../pyproject.toml"`` inherits from another file. The
command line (:class:`Overrides`) applies on top of every configuration. Rule selection is
layered like ruff's (:class:`Selection`): later layers win, and within a layer the most specific
prefix wins.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from gillint.findings import ANALYSIS_ERROR_CODE, UNUSED_NOQA_CODE
from gillint.options import Option
from gillint.patterns import PathPatterns, anchored
from gillint.project.sources import resolve_path
from gillint.rules import all_rules
from gillint.targets import TARGET_OPTIONS, oldest_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 in CI
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "build", "dist", "node_modules",
    "__pycache__", ".eggs", "*.egg-info", ".gillint_cache", ".mypy_cache", ".pytest_cache", ".ruff_cache",
)
SELECTION_KEYS = ("select", "extend-select", "ignore")
#: Keys that hold rule codes or prefixes, checked against the known codes.
CODE_KEYS = (*SELECTION_KEYS, "fixable", "unfixable")
PATTERN_KEYS = ("exclude", "extend-exclude")

#: The keys of ``[tool.gillint]`` that are not rule options.
CORE_OPTIONS = (
    Option("select", "list[str]", ("GIL",), "codes or prefixes to enable"),
    Option("ignore", "list[str]", (), "codes or prefixes to disable"),
    Option("extend-select", "list[str]", (), "codes or prefixes to enable on top of select"),
    Option("exclude", "list[str]", DEFAULT_EXCLUDE, "patterns (.gitignore syntax) of files and directories to skip"),
    Option("extend-exclude", "list[str]", (), "patterns to skip on top of exclude"),
    Option("respect-gitignore", "bool", True, "skip what .gitignore files and .git/info/exclude ignore"),
    Option("force-exclude", "bool", False, "apply exclude and extend-exclude to paths named on the command line"),
    Option("fixable", "list[str]", ("GIL",), "codes or prefixes whose fixes may be applied"),
    Option("unfixable", "list[str]", (), "codes or prefixes whose fixes are never applied"),
)
#: ``extend`` and the tables inside ``[tool.gillint]``.
OTHER_KEYS = ("extend", "per-file-ignores", "verify")


class ConfigError(Exception):
    """A configuration problem the user must fix; the message names the key and the file."""


def known_codes() -> list[str]:
    return [ANALYSIS_ERROR_CODE, UNUSED_NOQA_CODE, *(rule.code for rule in all_rules())]


def rule_options() -> list[Option]:
    seen: dict[str, Option] = {}
    for rule in all_rules():
        for option in rule.options:
            seen.setdefault(option.name, option)
    return list(seen.values())


def setting_options() -> list[Option]:
    """Every option that reaches the rules (``RuleContext.settings``): the targets, then rule options."""
    return [*TARGET_OPTIONS, *rule_options()]


@dataclass(frozen=True)
class Selection:
    """One layer of rule selection: the defaults, a configuration file, or the command line.

    A layer that sets ``select`` starts afresh; one that does not changes only the codes its
    ``extend-select`` and ``ignore`` match. Within a layer the longest matching prefix decides,
    and ``ignore`` wins a tie.
    """

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    origin: str = "command line"

    def apply(self, code: str, enabled: bool) -> bool:
        """Whether ``code`` is enabled after this layer, given whether it was before."""
        selected = _longest_prefix(code, (*(self.select or ()), *self.extend_select))
        ignored = _longest_prefix(code, self.ignore)
        if selected or ignored:
            return selected > ignored
        return False if self.select is not None else enabled


DEFAULT_SELECTION = Selection(select=("GIL",), origin="default")


@dataclass(frozen=True)
class Config:
    """The settings that govern the files of one directory tree.

    ``select``, ``extend_select`` and ``ignore`` are the selection of the configuration file itself
    (None: it sets no ``select``); ``inherited`` the layers below it (the defaults, the files it
    extends) and ``overrides`` the command line above it.
    """

    select: Optional[tuple[str, ...]] = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    fixable: tuple[str, ...] = ("GIL",)
    unfixable: tuple[str, ...] = ()
    #: Target settings and rule options by attribute name (``start_method``, ``extend_releases_gil``),
    #: defaults filled in (``target_version`` None: the running interpreter).
    settings: Mapping[str, Any] = field(default_factory=lambda: {o.attribute: o.default for o in setting_options()})
    verify: Mapping[str, Any] = field(default_factory=dict)
    #: Where relative patterns are anchored and the cache lives: the directory of the pyproject.toml, or the cwd.
    root: Path = field(default_factory=Path.cwd)
    source: Optional[Path] = None
    inherited: tuple[Selection, ...] = (DEFAULT_SELECTION,)
    overrides: Selection = Selection()
    #: Key -> where its value was set (a pyproject.toml, "command line"); absent: the default.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: The same for each pattern of exclude, extend-exclude and per-file-ignores (they can mix sources).
    pattern_origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def layers(self) -> tuple[Selection, ...]:
        own = Selection(self.select, self.extend_select, self.ignore, origin=str(self.source or "code"))
        return (*self.inherited, own, self.overrides)

    def enabled_codes(self) -> list[str]:
        """The codes this configuration enables."""
        return [code for code in known_codes() if self.is_enabled(code)]

    def is_enabled(self, code: str, extra_ignores: Iterable[str] = ()) -> bool:
        """Is ``code`` enabled (``extra_ignores``: the file's ``per-file-ignores``, which always win)?"""
        enabled = False
        for layer in self.layers:
            enabled = layer.apply(code, enabled)
        return enabled and not code.startswith(tuple(extra_ignores))

    def ignored_for(self, path: str) -> tuple[str, ...]:
        """Codes ``per-file-ignores`` disables for ``path``."""
        if not self.per_file_ignores:
            return ()
        hits = self.per_file_patterns.covering(real_path(path))
        return tuple(code for index in hits for code in self.per_file_ignores[index][1])

    def is_fixable(self, code: str) -> bool:
        """May ``--fix`` apply fixes of ``code``? The longest matching prefix decides; ``unfixable`` wins a tie."""
        return _longest_prefix(code, self.fixable) > _longest_prefix(code, self.unfixable)

    @property
    def per_file_patterns(self) -> PathPatterns:
        return _compiled(tuple(pattern for pattern, _ in self.per_file_ignores), str(self.root))

    @property
    def exclusions(self) -> PathPatterns:
        return _compiled((*self.exclude, *self.extend_exclude), str(self.root))

    def force_excludes(self, path: str) -> bool:
        """For a path named on the command line under ``force-exclude``: does an exclude pattern match
        it or one of its directories below :attr:`root` (never the directories above)?"""
        absolute = real_path(path)
        root = real_path(str(self.root)).rstrip(os.sep)
        checked = [absolute]
        parent = os.path.dirname(absolute)
        while parent.startswith(root + os.sep):
            checked.append(parent)
            parent = os.path.dirname(parent)
        return any(self.exclusions.excludes(item, item != absolute or os.path.isdir(item)) for item in checked)


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...], root: str) -> PathPatterns:
    return PathPatterns(patterns, real_path(root))


def _longest_prefix(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=0)


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


@dataclass(frozen=True)
class Overrides:
    """What the command line sets; it applies on top of every configuration file."""

    selection: Selection = Selection()
    #: Core options other than the selection, by attribute name (patterns already anchored at the cwd).
    values: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, config: Config) -> Config:
        """``config`` with the command line on top (``--extend-exclude`` adds to the file's)."""
        origins = dict(config.origins)
        for name in (*self.values, *self.settings):
            origins[name.replace("_", "-")] = "command line"
        values = dict(self.values)
        patterns = {**config.pattern_origins,
                    **{p: "command line" for name in PATTERN_KEYS for p in values.get(name.replace("-", "_"), ())}}
        if "extend_exclude" in values:
            values["extend_exclude"] = (*config.extend_exclude, *values["extend_exclude"])
        return replace(config, **values, settings={**config.settings, **self.settings},
                       overrides=self.selection, origins=origins, pattern_origins=patterns)


def find_pyproject(paths: Sequence[Path]) -> Optional[Path]:
    """The nearest ``pyproject.toml`` with a ``[tool.gillint]`` table above the first path."""
    start = resolve_path(paths[0] if paths else Path.cwd())
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        if _has_table(candidate / "pyproject.toml"):
            return candidate / "pyproject.toml"
    return None


def _has_table(pyproject: Path) -> bool:
    """Is ``pyproject`` a file with a ``[tool.gillint]`` table (or one load_config must report on)?"""
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # let load_config report the problem
    return "gillint" in data.get("tool", {})


class Resolver:
    """The configuration of each directory, the command line applied (one instance per run).

    With ``config_file`` (``--config``) every file uses that one; otherwise the nearest
    ``pyproject.toml`` with a ``[tool.gillint]`` table above the directory, or the defaults
    anchored at the current directory.
    """

    def __init__(self, overrides: Overrides = Overrides(), config_file: Optional[Path] = None,
                 fixed: Optional[Config] = None) -> None:
        """``fixed``: use this configuration as it is for every file (tests, the import scan)."""
        self.overrides = overrides
        self.fixed = overrides.apply(load_config(config_file, explicit=True)) if config_file else fixed
        self._by_directory: dict[str, Config] = {}
        self._default: Optional[Config] = None

    def for_directory(self, directory: str) -> Config:
        """The configuration of the files directly in ``directory`` (a real, absolute path)."""
        if self.fixed is not None:
            return self.fixed
        found = self._by_directory.get(directory)
        if found is None:
            pyproject = Path(directory, "pyproject.toml")
            parent = os.path.dirname(directory)
            if _has_table(pyproject):
                found = self.overrides.apply(load_config(pyproject))
            elif parent != directory:
                found = self.for_directory(parent)
            else:
                if self._default is None:
                    self._default = self.overrides.apply(Config(root=Path.cwd()))
                found = self._default
            self._by_directory[directory] = found
        return found

    def for_path(self, path: str) -> Config:
        """The configuration of the file (or directory) ``path``."""
        real = real_path(path)
        return self.for_directory(real if os.path.isdir(real) else os.path.dirname(real))


def load_config(pyproject: Optional[Path], explicit: bool = False) -> Config:
    """Read ``[tool.gillint]`` from ``pyproject`` (or defaults when None), following ``extend``."""
    if pyproject is None:
        return Config()
    return _load(pyproject, explicit, ())


def _load(pyproject: Path, explicit: bool, extending: tuple[Path, ...]) -> Config:
    table, requires_python = _read_table(pyproject)
    if table is None:
        if explicit:
            raise ConfigError(f"{pyproject}: no [tool.gillint] table")
        return Config(root=pyproject.parent)
    base = Config()
    if "extend" in table:
        base = _extended(table["extend"], pyproject, extending)
    return _from_table(table, pyproject, base, requires_python)


def _read_table(pyproject: Path) -> tuple[Optional[Mapping[str, Any]], Optional[str]]:
    """``[tool.gillint]`` of ``pyproject``, and its ``[project] requires-python`` when it is a string."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{pyproject}: cannot read: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject}: invalid TOML: {error}") from None
    table = data.get("tool", {}).get("gillint")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.gillint] must be a table")
    project = data.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    return table, requires if isinstance(requires, str) else None


def _extended(value: Any, pyproject: Path, extending: tuple[Path, ...]) -> Config:
    """The configuration ``extend`` names (a path relative to ``pyproject``'s directory)."""
    if not isinstance(value, str):
        raise ConfigError(f"{pyproject}: [tool.gillint] extend: expected a path (str), got {type(value).__name__}")
    base = resolve_path(pyproject.parent / os.path.expanduser(value))
    if base in extending or base == resolve_path(pyproject):
        raise ConfigError(f"{pyproject}: [tool.gillint] extend: {value!r} extends this file again (a cycle)")
    if not base.is_file():
        raise ConfigError(f"{pyproject}: [tool.gillint] extend: no such file: {base}")
    return _load(base, True, (*extending, resolve_path(pyproject)))


def _from_table(table: Mapping[str, Any], pyproject: Path, base: Config, requires_python: Optional[str] = None,
                ) -> Config:
    """``base`` (the defaults, or what ``extend`` names) updated with ``table``; without a
    ``target-version`` of its own, the oldest version ``requires_python`` (of the same file) allows."""
    core = {option.name: option for option in CORE_OPTIONS}
    rules = {option.name: option for option in setting_options()}
    values: dict[str, Any] = {}
    settings = dict(base.settings)
    origins = dict(base.origins)
    pattern_origins = dict(base.pattern_origins)
    where = str(pyproject)
    for key, value in table.items():
        option = core.get(key) or rules.get(key)
        if option is None and key not in OTHER_KEYS:
            allowed = sorted([*core, *rules, *OTHER_KEYS])
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{pyproject}: unknown key {key!r} in [tool.gillint]; {hint}allowed keys: "
                              f"{', '.join(allowed)}")
        if option is None:
            continue
        try:
            checked = option.check(value)
        except TypeError as error:
            raise ConfigError(f"{pyproject}: [tool.gillint] {key}: {error}") from None
        if key in CODE_KEYS:
            validate_codes(checked, f"{pyproject}: [tool.gillint] {key}")
        if key in PATTERN_KEYS:
            checked = tuple(anchored(pattern, str(resolve_path(pyproject.parent))) for pattern in checked)
            pattern_origins.update(dict.fromkeys(checked, where))
        if key in core:
            values[option.attribute] = checked
        else:
            settings[option.attribute] = checked
        origins[key] = where
    if "target-version" not in table and requires_python is not None:
        inferred = oldest_target(requires_python)
        if inferred is not None:
            settings["target_version"] = inferred
            origins["target-version"] = f"requires-python in {pyproject}"
    per_file = _per_file_ignores(table.get("per-file-ignores", {}), pyproject)
    if "per-file-ignores" in table:
        origins["per-file-ignores"] = where
    verify = {**base.verify, **_verify_table(table.get("verify", {}), pyproject)}
    own = {name: values.pop(name.replace("-", "_"), None if name == "select" else ()) for name in SELECTION_KEYS}
    inherited = base.layers[:-1] if base.source is not None else base.inherited
    if "per-file-ignores" in table:
        pattern_origins.update(dict.fromkeys((pattern for pattern, _ in per_file), where))
    else:
        per_file = base.per_file_ignores
    return replace(
        base, **values, select=own["select"], extend_select=own["extend-select"], ignore=own["ignore"],
        per_file_ignores=per_file, settings=settings, verify=verify,
        root=pyproject.parent, source=pyproject, inherited=inherited, origins=origins,
        pattern_origins=pattern_origins,
    )


def _verify_table(table: Any, pyproject: Path) -> Mapping[str, Any]:
    """``[tool.gillint.verify]``, checked now by the verifier's own rules (not at ``--verify`` time)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.gillint.verify] must be a table")
    if table:
        from gillint.verify import settings_from  # only when there is something to check

        try:
            settings_from(table)
        except ValueError as error:
            raise ConfigError(f"{pyproject}: {error}") from None
    return table


def _per_file_ignores(table: Any, pyproject: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.gillint] per-file-ignores must be a table of pattern = [codes]")
    entries = []
    for pattern, codes in table.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(
                f"{pyproject}: [tool.gillint.per-file-ignores] {pattern!r}: expected list[str] of codes"
            )
        validate_codes(codes, f"{pyproject}: [tool.gillint.per-file-ignores] {pattern!r}")
        entries.append((anchored(pattern, str(resolve_path(pyproject.parent))), tuple(codes)))
    return tuple(entries)
