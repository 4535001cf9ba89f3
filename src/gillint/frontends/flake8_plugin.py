"""gillint as a flake8 plugin (entry point ``GIL``): the same engine, flake8's selection and noqa.

flake8 hands the plugin one file at a time. The plugin lints the text flake8 read (``lines``, so
stdin and editor buffers work); the project model still loads the modules that file imports from
disk, and the modules that import it (found by a text scan, see :mod:`gillint.engine.importers`)
are checked too, so a finding another module's dispatch reveals in this file is reported. Only
findings in that file are reported. Selection (``--select``, ``extend-ignore``,
``per-file-ignores``) and ``# noqa`` are flake8's business; rule options come from the flake8
configuration or command line first, then ``[tool.gillint]`` in the nearest ``pyproject.toml``.

A file Python cannot parse never reaches the plugin: flake8 reports it as ``E999`` itself. A file
Python parses but gillint cannot analyse (or a rule failing on it) is reported as ``GIL000``.
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

from gillint import __version__
from gillint.config import Config, find_pyproject, load_config, setting_options
from gillint.engine.discovery import SourceFile
from gillint.engine.importers import importers
from gillint.engine.run import lint
from gillint.options import Option
from gillint.project.sources import resolve_path

Flake8Error = tuple[int, int, str, type]


def flake8_option_arguments(option: Option) -> dict[str, Any]:
    """Keyword arguments for flake8's ``OptionManager.add_option`` that declare ``option``.

    The default is None so that "not given" can fall back to ``[tool.gillint]``.
    """
    arguments: dict[str, Any] = {"default": None, "parse_from_config": True, "help": option.help}
    if option.type == "list[str]":
        arguments["comma_separated_list"] = True
    elif option.type == "int":
        arguments["type"] = int
    elif option.type == "bool":
        arguments["action"] = "store_true"
    if option.choices:
        arguments["choices"] = option.choices
    return arguments


def merged_settings(
    base: Mapping[str, Any], namespace: argparse.Namespace, options: Sequence[Option]
) -> dict[str, Any]:
    """``base`` (``[tool.gillint]`` and defaults) overridden by the options flake8 was given."""
    settings = dict(base)
    for option in options:
        value = getattr(namespace, option.attribute, None)
        if value is not None:
            settings[option.attribute] = tuple(value) if option.type == "list[str]" else value
    return settings


class GillintFlake8:
    """The flake8 entry point. flake8 requires a ``tree`` argument to call this a tree plugin."""

    name = "gillint"
    version = __version__
    #: Rule options given to flake8 (its command line or config), set by :meth:`parse_options`.
    _flake8_options: argparse.Namespace = argparse.Namespace()

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        for option in setting_options():
            manager.add_option(option.flag, **flake8_option_arguments(option))

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls._flake8_options = options

    def run(self) -> Iterator[Flake8Error]:
        base = _config_for(resolve_path(Path(self.filename)).parent)
        config = replace(
            base, select=("GIL",), ignore=(), extend_select=(), per_file_ignores=(),
            settings=merged_settings(base.settings, self._flake8_options, setting_options()),
        )
        path = Path(self.filename)
        context = [SourceFile(p, str(p)) for p in importers(path, config)] if path.is_file() else []
        result = lint([SourceFile(path, self.filename)], config, stdin_data="".join(self.lines),
                      disable_noqa=True, context=context)
        for finding in result.findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)


@lru_cache(maxsize=None)
def _config_for(directory: Path) -> Config:
    """``[tool.gillint]`` of the nearest ``pyproject.toml`` above ``directory`` (once per directory)."""
    pyproject: Optional[Path] = find_pyproject([directory])
    return load_config(pyproject)
