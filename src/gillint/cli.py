"""The ``gillint`` command.

Exit codes: 0 no findings, 1 findings (including files that could not be analysed, GIL000),
2 usage or configuration error, or an internal failure.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from gillint import __version__
from gillint.config import (
    CORE_OPTIONS,
    Config,
    ConfigError,
    find_pyproject,
    load_config,
    rule_options,
    validate_codes,
)
from gillint.discovery import SourceFile, discover
from gillint.docs import documented, documented_for, render_rule_doc
from gillint.engine import RunResult, lint
from gillint.project.importers import importers
from gillint.project.sources import resolve_path
from gillint.report import FORMATS, ReportOptions
from gillint.rules import all_rules

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gillint",
        description="Find the mistakes people make around the GIL: threads, processes and pickling.",
        epilog="Exit codes: 0 no findings, 1 findings, 2 usage/configuration error or internal failure.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories; '-' reads stdin")
    parser.add_argument("--stdin-filename", metavar="NAME", help="the name of the file read from stdin")
    selection = parser.add_argument_group("rule selection")
    for option in CORE_OPTIONS:
        selection.add_argument(option.flag, metavar="CODES" if "select" in option.name or option.name == "ignore"
                               else "GLOBS", type=_comma_list, default=None, help=f"comma-separated {option.help}")
    selection.add_argument("--disable-noqa", action="store_true", help="report findings hidden by # noqa")
    rules = parser.add_argument_group("rule options (also [tool.gillint] keys)")
    for option in rule_options():
        rules.add_argument(option.flag, type=_comma_list if option.type == "list[str]" else str,
                           default=None, help=option.help)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    output.add_argument("--output-file", metavar="FILE", help="write the report to FILE instead of stdout")
    output.add_argument("--show-source", action="store_true", help="show the source line of each finding")
    output.add_argument("--statistics", action="store_true", help="count findings per code")
    output.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    output.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("--config", metavar="FILE", help="read [tool.gillint] from FILE")
    parser.add_argument("--version", action="version", version=f"gillint {__version__}")
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    return parser


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args, parser)
    except ConfigError as error:
        print(f"gillint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - report, never a traceback
        print(f"gillint: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list_rules:
        for rule in all_rules():
            print(f"{rule.code}  {rule.name:<28} {rule.summary}")
        return EXIT_CLEAN
    if args.explain:
        rule = documented_for(args.explain.upper())
        if rule is None:
            known = ", ".join(r.code for r in documented())
            print(f"gillint: error: unknown rule {args.explain!r}; known rules: {known}", file=sys.stderr)
            return EXIT_ERROR
        print(render_rule_doc(rule), end="")
        return EXIT_CLEAN
    if not args.paths:
        parser.print_usage(sys.stderr)
        print("gillint: error: no paths given (use '.' for the current directory)", file=sys.stderr)
        return EXIT_ERROR
    config = _configure(args)
    files, stdin_data = _files(args, config)
    result = lint(files, config, stdin_data=stdin_data, disable_noqa=args.disable_noqa,
                  context=_importer_context(files, args.paths, config))
    _write_report(result, args)
    if args.exit_zero or not result.findings:
        return EXIT_CLEAN
    return EXIT_FINDINGS


def _configure(args: argparse.Namespace) -> Config:
    if args.config:
        config = load_config(Path(args.config), explicit=True)
    else:
        given = [Path(p) for p in args.paths if p != "-"]
        if args.stdin_filename:
            given.append(Path(args.stdin_filename))
        config = load_config(find_pyproject(given))
    overrides = {}
    for option in CORE_OPTIONS:
        value = getattr(args, option.attribute)
        if value is not None:
            if option.name in ("select", "ignore", "extend-select"):
                validate_codes(value, f"--{option.name}")
            overrides[option.attribute] = value
    settings = dict(config.settings)
    for option in rule_options():
        value = getattr(args, option.attribute)
        if value is not None:
            settings[option.attribute] = value
    return replace(config, **overrides, settings=settings)


def _importer_context(files: list[SourceFile], paths: Sequence[str], config: Config) -> list[SourceFile]:
    """For files named one by one (as pre-commit names them): the modules that import them and may
    dispatch work, so findings those reveal in the named files are reported (as under flake8)."""
    linted = {resolve_path(file.path) for file in files}
    context: dict[Path, SourceFile] = {}
    for given in paths:
        if given != "-" and Path(given).is_file():
            for importer in importers(Path(given), config):
                if importer not in linted:
                    context.setdefault(importer, SourceFile(importer, str(importer)))
    return list(context.values())


def _files(args: argparse.Namespace, config: Config) -> tuple[list[SourceFile], Optional[bytes]]:
    if "-" in args.paths:
        if len(args.paths) > 1:
            raise ConfigError("'-' (stdin) cannot be combined with other paths")
        name = args.stdin_filename or "stdin.py"
        return [SourceFile(Path(name), name)], sys.stdin.buffer.read()
    missing = [p for p in args.paths if not Path(p).exists() and not Path(p).is_symlink()]
    if missing:
        raise ConfigError(f"no such file or directory: {', '.join(missing)}")
    return list(discover(args.paths, config)), None


def _write_report(result: RunResult, args: argparse.Namespace) -> None:
    options = ReportOptions(show_source=args.show_source, statistics=args.statistics, quiet=args.quiet)
    renderer = FORMATS[args.format]
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as out:
            renderer(result, options, out)
    else:
        renderer(result, options, sys.stdout)


