"""The ``gillint`` command.

Exit codes: 0 no findings, 1 findings (including files that could not be analysed, GIL000),
2 usage or configuration error, or an internal failure. ``--verify`` verdicts change the exit
code only through ``--drop-refuted`` / ``--only-confirmed``, which remove findings first.
"""

from __future__ import annotations

import argparse
import os
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
from gillint.engine.cache import CACHE_DIR_NAME
from gillint.engine.discovery import SourceFile, discover
from gillint.engine.importers import importers
from gillint.engine.parallel import default_jobs
from gillint.engine.run import lint
from gillint.findings import Finding, RunResult
from gillint.project.sources import resolve_path
from gillint.report import FORMATS, ReportOptions
from gillint.rules import all_rules
from gillint.rules.docs import documented, documented_for, render_rule_doc

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
    verify = parser.add_argument_group("runtime verification (runs flagged code in a sandbox: docs/verifier.md)")
    verify.add_argument("--verify", action="store_true", help="back each finding with a sandboxed run and a verdict")
    verify.add_argument("--verify-timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit per finding (default 8; [tool.gillint.verify] timeout)")
    verify.add_argument("--verify-budget", type=float, metavar="SECONDS",
                        help="limit for all verification together (default 120; [tool.gillint.verify] budget)")
    verify.add_argument("--drop-refuted", action="store_true",
                        help="leave out findings the verifier refuted (implies --verify)")
    verify.add_argument("--only-confirmed", action="store_true",
                        help="report only findings the verifier confirmed (implies --verify)")
    speed = parser.add_argument_group("speed")
    speed.add_argument("-j", "--jobs", type=_positive, default=None, metavar="N",
                       help="processes to analyse with (default: the usable CPUs; 1: in this process)")
    speed.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    speed.add_argument("--cache-dir", metavar="DIR",
                       help=f"where the cache lives (default: {CACHE_DIR_NAME}/ at the project root)")
    speed.add_argument("--no-prefilter", action="store_true",
                       help="analyse every file, not only those that mention threads or processes")
    parser.add_argument("--config", metavar="FILE", help="read [tool.gillint] from FILE")
    parser.add_argument("--version", action="version", version=f"gillint {__version__}")
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


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
    except Exception as error:  # report, never a traceback
        print(f"gillint: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list_rules:
        for rule in all_rules():
            print(f"{rule.code}  {rule.name:<28} {rule.summary}")
        return EXIT_CLEAN
    if args.explain:
        documented_rule = documented_for(args.explain.upper())
        if documented_rule is None:
            known = ", ".join(r.code for r in documented())
            print(f"gillint: error: unknown rule {args.explain!r}; known rules: {known}", file=sys.stderr)
            return EXIT_ERROR
        print(render_rule_doc(documented_rule), end="")
        return EXIT_CLEAN
    if not args.paths:
        parser.print_usage(sys.stderr)
        print("gillint: error: no paths given (use '.' for the current directory)", file=sys.stderr)
        return EXIT_ERROR
    config = _configure(args)
    files, stdin_data = _files(args, config)
    cache_dir = None if args.no_cache else Path(args.cache_dir) if args.cache_dir else config.root / CACHE_DIR_NAME
    result = lint(files, config, stdin_data=stdin_data, disable_noqa=args.disable_noqa,
                  jobs=args.jobs or default_jobs(), prefilter=not args.no_prefilter, cache_dir=cache_dir,
                  context=_importer_context(files, args.paths, config))
    if args.verify or args.drop_refuted or args.only_confirmed:
        _verify(result, config, args)
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


def _verify(result: RunResult, config: Config, args: argparse.Namespace) -> None:
    """Attach verdicts to ``result.verifications``; drop findings the flags ask to leave out."""
    if os.name != "posix":
        raise ConfigError("--verify needs a POSIX system (Linux or macOS): its sandbox uses resource limits")
    from gillint.verify import Status, settings_from, verify

    try:
        settings = settings_from(config.verify, timeout=args.verify_timeout, budget=args.verify_budget)
    except ValueError as error:
        raise ConfigError(f"{config.source}: {error}" if config.source else str(error)) from None
    progress = _progress_line if sys.stderr.isatty() else None
    result.verifications = verify(result.findings, settings, progress)
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
    keep = set(Status) - {Status.REFUTED} if args.drop_refuted else set(Status)
    if args.only_confirmed:
        keep = {Status.CONFIRMED}
    result.findings = [f for f in result.findings if f.is_analysis_error or result.verifications[f].status in keep]


def _progress_line(index: int, total: int, finding: Finding) -> None:
    sys.stderr.write(f"\r\x1b[Kverifying {index}/{total}: {finding.code} {finding.path}:{finding.line}")
    sys.stderr.flush()


def _write_report(result: RunResult, args: argparse.Namespace) -> None:
    options = ReportOptions(show_source=args.show_source, statistics=args.statistics, quiet=args.quiet,
                            bars=not args.output_file and sys.stdout.isatty())
    renderer = FORMATS[args.format]
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as out:
            renderer(result, options, out)
    else:
        renderer(result, options, sys.stdout)


