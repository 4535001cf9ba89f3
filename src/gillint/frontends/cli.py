"""The ``gillint`` command.

Exit codes: 0 no findings, 1 findings (including files that could not be analysed, GIL000),
2 usage or configuration error, or an internal failure. ``--verify`` verdicts change the exit
code only through ``--drop-refuted`` / ``--only-confirmed``, which remove findings first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from gillint import __version__
from gillint.config import (
    CODE_KEYS,
    CORE_OPTIONS,
    PATTERN_KEYS,
    SELECTION_KEYS,
    Config,
    ConfigError,
    Overrides,
    Resolver,
    Selection,
    rule_options,
    setting_options,
    validate_codes,
)
from gillint.engine.cache import CACHE_DIR_NAME
from gillint.engine.discovery import Discovery, SourceFile
from gillint.engine.importers import importers
from gillint.engine.parallel import default_jobs
from gillint.engine.run import lint
from gillint.findings import UNUSED_NOQA_CODE, Finding, RunResult, sorted_findings
from gillint.frontends.adopt import add_noqa_comments, unused_noqa
from gillint.patterns import anchored
from gillint.project.model import display_path
from gillint.project.sources import resolve_path
from gillint.report import FORMATS, ReportOptions
from gillint.rules import all_rules
from gillint.rules.docs import documented, documented_for, render_rule_doc
from gillint.targets import TARGET_OPTIONS, running_version

if TYPE_CHECKING:  # the fix package imports libcst: only when fixes are planned
    from gillint.fix.session import FileResult, Policy

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
    selection = parser.add_argument_group("rule and file selection (also [tool.gillint] keys)")
    for option in CORE_OPTIONS:
        if option.type == "bool":
            selection.add_argument(option.flag, action=argparse.BooleanOptionalAction, default=None,
                                   help=f"{option.help} (default: {'on' if option.default else 'off'})")
        else:
            selection.add_argument(option.flag, metavar="PATTERNS" if option.name in PATTERN_KEYS else "CODES",
                                   type=_comma_list, default=None, help=f"comma-separated {option.help}")
    selection.add_argument("--disable-noqa", action="store_true", help="report findings hidden by # noqa")
    targets = parser.add_argument_group("targets: where the code runs (also [tool.gillint] keys)")
    for option in TARGET_OPTIONS:
        if option.type == "bool":
            targets.add_argument(option.flag, action=argparse.BooleanOptionalAction, default=None,
                                 help=f"{option.help} (default: off)")
        else:
            targets.add_argument(option.flag, choices=option.choices, default=None, help=option.help)
    rules = parser.add_argument_group("rule options (also [tool.gillint] keys)")
    for option in rule_options():
        rules.add_argument(option.flag, type=_comma_list if option.type == "list[str]" else str,
                           default=None, help=option.help)
    output = parser.add_argument_group("output")
    output.add_argument("--format", "--output-format", dest="format", choices=sorted(FORMATS), default="text",
                        help="output format (default: text)")
    output.add_argument("--output-file", metavar="FILE", help="write the report to FILE instead of stdout")
    output.add_argument("--show-source", action="store_true", help="show the source line of each finding")
    output.add_argument("--statistics", action="store_true", help="count findings per code")
    output.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    output.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    fixes = parser.add_argument_group("fixes (docs/fixes.md)")
    fixes.add_argument("--fix", action="store_true", help="apply the safe fixes to the files")
    fixes.add_argument("--unsafe-fixes", action="store_true",
                       help="also apply (or count as fixable) fixes that may change behaviour")
    fixes.add_argument("--diff", action="store_true",
                       help="print the fixes as a unified diff instead of applying them (exit 1 when there is one)")
    fixes.add_argument("--show-fixes", action="store_true",
                       help="list the findings --fix or --diff fixed; without them, mark fixable findings with [*] "
                            "even when the output is not a terminal")
    adopt = parser.add_argument_group("adopting gillint on existing code")
    adopt.add_argument("--add-noqa", action="store_true",
                       help="append '# noqa: CODE' to the line of every current finding, then exit")
    adopt.add_argument("--unused-noqa", action="store_true",
                       help="also report '# noqa: GIL...' comments that suppress nothing (GIL001)")
    adopt.add_argument("--show-files", action="store_true", help="list the files that would be linted, then exit")
    adopt.add_argument("--show-settings", metavar="PATH",
                       help="print the settings that apply to PATH and where each comes from, then exit")
    verify = parser.add_argument_group("runtime verification (runs flagged code in a sandbox: docs/verifier.md)")
    verify.add_argument("--verify", action="store_true", help="back each finding with a sandboxed run and a verdict")
    verify.add_argument("--verify-timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit per finding (default 8; [tool.gillint.verify] timeout)")
    verify.add_argument("--verify-budget", type=float, metavar="SECONDS",
                        help="limit for all verification together (default 120; [tool.gillint.verify] budget)")
    verify.add_argument("--verify-python", metavar="PATH",
                        help="run the probes under this interpreter, e.g. a free-threaded 3.13t "
                             "(default: the one running gillint; [tool.gillint.verify] python)")
    verify.add_argument("--drop-refuted", action="store_true",
                        help="leave out findings the verifier refuted (implies --verify)")
    verify.add_argument("--only-confirmed", action="store_true",
                        help="report only findings the verifier confirmed (implies --verify)")
    verify.add_argument("--verify-unsandboxed", action="store_true",
                        help="verify without isolation where it is unavailable: ONLY for code you trust")
    speed = parser.add_argument_group("speed")
    speed.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                       help="processes to analyse with: a number, or auto (the default: the usable CPUs); "
                            "1 analyses in this process")
    speed.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    speed.add_argument("--cache-dir", metavar="DIR",
                       help=f"where the cache lives (default: {CACHE_DIR_NAME}/ at the project root)")
    speed.add_argument("--no-prefilter", action="store_true",
                       help="analyse every file, not only those that mention threads or processes")
    parser.add_argument("--config", metavar="FILE",
                        help="read [tool.gillint] from FILE for every path (no per-directory configuration)")
    parser.add_argument("--version", action="version", version=f"gillint {__version__}")
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    return parser


def _jobs(text: str) -> int:
    return default_jobs() if text == "auto" else _positive(text)


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
    except BrokenPipeError:  # a listing piped into a reader that stopped reading (| head)
        _silence_stdout()
        return EXIT_CLEAN
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
    resolver = _resolver(args)
    if args.show_settings:
        print(_settings_text(args.show_settings, resolver.for_path(args.show_settings)), end="")
        return EXIT_CLEAN
    if not args.paths:
        parser.print_usage(sys.stderr)
        print("gillint: error: no paths given (use '.' for the current directory)", file=sys.stderr)
        return EXIT_ERROR
    _check_combinations(args)
    files, stdin_data, discovery = _files(args, resolver)
    if args.show_files:
        for file, _ in files:
            print(file.display)
        return EXIT_CLEAN
    for warning in discovery.unmatched_patterns() if discovery else ():
        print(f"gillint: warning: {warning}", file=sys.stderr)
    result = _lint(args, files, stdin_data)
    if args.add_noqa:
        return _add_noqa(result)
    fixed: list[FileResult] = []
    offers = _wants_fix_offers(args)  # always with --fix
    if args.diff or offers:
        from gillint.fix import session  # libcst: imported only when fixes are planned

        policy = session.Policy(unsafe=args.unsafe_fixes, disable_noqa=args.disable_noqa)
        if args.diff:
            return _diff(result, files, policy, args.show_fixes)
        if args.fix:
            fixed = session.fix_files(result, files, policy)
            session.write(fixed)
            for conflict in session.conflicts(fixed):
                print(f"gillint: warning: {conflict}", file=sys.stderr)
            result = _lint(args, files, stdin_data)
            result.fixed = sum(len(f.fixed) for f in fixed)
        if offers:
            session.offer_fixes(result, files, policy)
    if args.unused_noqa:
        result.findings = sorted_findings([*result.findings, *unused_noqa(result, files)])
    if args.verify or args.drop_refuted or args.only_confirmed or args.verify_unsandboxed:
        _verify(result, files[0][1] if files else resolver.for_path("."), args)
    _write_report(result, args)
    if args.fix and args.show_fixes:  # session was imported above: --fix plans fixes
        print(session.summary(fixed), end="", file=sys.stdout if args.format == "text" else sys.stderr)
    if args.exit_zero or not result.findings:
        return EXIT_CLEAN
    return EXIT_FINDINGS


def _wants_fix_offers(args: argparse.Namespace) -> bool:
    """Whether to plan a fix for each finding (``[*]`` marks, ``fix`` objects, "no fix" notes).

    Planning re-lints each file that has fixable findings, seconds on a large module, so a run whose
    text goes to a pipe or a file (CI logs, pre-commit) skips it unless ``--show-fixes`` asks; JSON and
    SARIF always carry it, and so does text on a terminal.
    """
    if args.fix or args.show_fixes or args.format in ("json", "sarif"):
        return True
    return args.format == "text" and not args.output_file and sys.stdout.isatty()


def _check_combinations(args: argparse.Namespace) -> None:
    """Usage errors found before any work: impossible combinations, an --output-file that cannot be written."""
    for flag in ("add_noqa", "fix", "diff"):
        if getattr(args, flag) and "-" in args.paths:
            raise ConfigError(f"--{flag.replace('_', '-')} edits files; it cannot edit stdin")
    if args.add_noqa and (args.fix or args.diff):
        raise ConfigError("--add-noqa cannot be combined with --fix or --diff")
    for flag in ("add_noqa", "unused_noqa"):
        if getattr(args, flag) and args.disable_noqa:
            raise ConfigError(f"--{flag.replace('_', '-')} needs # noqa comments honoured; "
                              "it cannot be combined with --disable-noqa")
    if args.output_file and not (args.show_files or args.add_noqa):
        try:
            with open(args.output_file, "a", encoding="utf-8"):
                pass
        except OSError as error:
            raise ConfigError(f"cannot write --output-file {args.output_file}: {error.strerror or error}") from None


def _resolver(args: argparse.Namespace) -> Resolver:
    """The command line as :class:`Overrides` on top of the configuration files."""
    for name in CODE_KEYS:
        codes = getattr(args, name.replace("-", "_"))
        if codes is not None:
            validate_codes(codes, f"--{name}")
    # --unused-noqa is the switch for GIL001: it selects it whatever the other selection says.
    unused = (UNUSED_NOQA_CODE,) if args.unused_noqa else ()
    selection = Selection(select=args.select, extend_select=(*(args.extend_select or ()), *unused),
                          ignore=args.ignore or ())
    values: dict[str, Any] = {}
    for option in CORE_OPTIONS:
        value = getattr(args, option.attribute)
        if value is not None and option.name not in SELECTION_KEYS:
            if option.name in PATTERN_KEYS:
                value = tuple(anchored(pattern, str(resolve_path(Path.cwd()))) for pattern in value)
            values[option.attribute] = value
    settings = {option.attribute: getattr(args, option.attribute) for option in setting_options()
                if getattr(args, option.attribute) is not None}
    overrides = Overrides(selection, values, settings)
    return Resolver(overrides, Path(args.config) if args.config else None)


def _files(args: argparse.Namespace, resolver: Resolver,
           ) -> tuple[list[tuple[SourceFile, Config]], Optional[bytes], Optional[Discovery]]:
    """The files to lint with their configurations, stdin's content, and the search (None for stdin)."""
    if "-" in args.paths:
        if len(args.paths) > 1:
            raise ConfigError("'-' (stdin) cannot be combined with other paths")
        name = args.stdin_filename or "stdin.py"
        config = resolver.for_path(name)
        data = sys.stdin.buffer.read()
        if config.force_exclude and config.force_excludes(name):
            return [], None, None
        return [(SourceFile(Path(name), name), config)], data, None
    discovery = Discovery(resolver)
    return list(discovery.files(args.paths)), None, discovery


def _lint(args: argparse.Namespace, files: list[tuple[SourceFile, Config]], stdin_data: Optional[bytes]) -> RunResult:
    """Lint each group of files that share a configuration; one result for all."""
    groups: dict[int, tuple[Config, list[SourceFile]]] = {}
    for file, config in files:
        groups.setdefault(id(config), (config, []))[1].append(file)
    merged = RunResult([], 0)
    progress = _AnalysisProgress() if sys.stderr.isatty() and not args.quiet else None
    for config, group in groups.values():
        cache_dir = None if args.no_cache else Path(args.cache_dir) if args.cache_dir else config.root / CACHE_DIR_NAME
        result = lint(group, config, stdin_data=stdin_data, disable_noqa=args.disable_noqa,
                      jobs=args.jobs or default_jobs(), prefilter=not args.no_prefilter, cache_dir=cache_dir,
                      context=_importer_context(group, args.paths, config), progress=progress)
        merged.findings.extend(result.findings)
        merged.hidden.extend(result.hidden)
        merged.files += result.files
        merged.suppressed.update(result.suppressed)
    if progress is not None:
        progress.clear()
    merged.findings = sorted_findings(merged.findings)
    return merged


class _AnalysisProgress:
    """A line on a terminal's stderr while files are analysed: files done, files to do, time spent."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        sys.stderr.write(f"\r\x1b[Kanalysing {done}/{total} files, {elapsed:.0f} s")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _importer_context(files: list[SourceFile], paths: Sequence[str], config: Config) -> list[SourceFile]:
    """For files named one by one (as pre-commit names them): the modules that import them and may
    dispatch work, so findings those reveal in the named files are reported (as under flake8)."""
    named = {resolve_path(Path(given)) for given in paths if given != "-" and Path(given).is_file()}
    linted = {resolve_path(file.path) for file in files}
    context: dict[Path, SourceFile] = {}
    for path in sorted(named & linted):
        for importer in importers(path, config):
            if importer not in linted:  # named as a module loaded on demand would be (messages may name it)
                context.setdefault(importer, SourceFile(importer, display_path(importer)))
    return list(context.values())


def _diff(result: RunResult, files: list[tuple[SourceFile, Config]], policy: Policy, show: bool) -> int:
    """``--diff``: print what ``--fix`` would change; exit 1 when it would change something."""
    from gillint.fix import session

    changed = session.fix_files(result, files, policy)
    sys.stdout.write(session.unified_diff(changed))
    sys.stdout.flush()
    for conflict in session.conflicts(changed):
        print(f"gillint: warning: {conflict}", file=sys.stderr)
    if show:
        print(session.summary(changed, "Would fix"), end="", file=sys.stderr)
    else:
        count = sum(len(f.fixed) for f in changed)
        print(f"Would fix {count} finding{'s' if count != 1 else ''}.", file=sys.stderr)
    return EXIT_FINDINGS if changed else EXIT_CLEAN


def _add_noqa(result: RunResult) -> int:
    written, files, problems = add_noqa_comments(result.findings)
    for problem in problems:
        print(f"gillint: warning: {problem}", file=sys.stderr)
    print(f"Added {written} noqa comment{'s' if written != 1 else ''} to {files} file{'s' if files != 1 else ''}.",
          file=sys.stderr)
    return EXIT_FINDINGS if problems else EXIT_CLEAN


def _settings_text(path: str, config: Config) -> str:
    """What ``--show-settings PATH`` prints: each setting and where it comes from."""

    def origin(key: str) -> str:
        return config.origins.get(key, "default")

    lines = [f"Settings for {path}", f"  configuration: {config.source or 'none (defaults)'}",
             f"  project root: {config.root}",
             f"  enabled codes: {', '.join(c for c in config.enabled_codes() if c != UNUSED_NOQA_CODE) or 'none'}"]
    ignored = config.ignored_for(path)
    if ignored:
        lines.append(f"  per-file-ignores for this file: {', '.join(ignored)}")
    lines.append("Rule selection, layer by layer (later layers win; within one, the most specific prefix):")
    for layer in config.layers:
        for name in SELECTION_KEYS:
            value = getattr(layer, name.replace("-", "_"))
            if value:
                lines.append(f"  {name} = {_toml(value)}  # {layer.origin}")
    lines.append("Files:")
    for name in ("exclude", "extend-exclude", "respect-gitignore", "force-exclude"):
        lines.append(f"  {name} = {_toml(getattr(config, name.replace('-', '_')))}  # {origin(name)}")
    if config.per_file_ignores:
        table = ", ".join(f"{_toml(pattern)} = {_toml(codes)}" for pattern, codes in config.per_file_ignores)
        lines.append(f"  per-file-ignores = {{{table}}}  # {origin('per-file-ignores')}")
    lines.append("Targets:")
    for option in TARGET_OPTIONS:
        value = config.settings.get(option.attribute)
        if value is None:  # target-version: the running interpreter
            lines.append(f"  {option.name} = {_toml(running_version())}  # default (the running interpreter)")
        else:
            lines.append(f"  {option.name} = {_toml(value)}  # {origin(option.name)}")
    lines.append("Fixes:")
    for name in ("fixable", "unfixable"):
        lines.append(f"  {name} = {_toml(getattr(config, name))}  # {origin(name)}")
    lines.append("Rule options:")
    for option in rule_options():
        lines.append(f"  {option.name} = {_toml(config.settings[option.attribute])}  # {origin(option.name)}")
    if config.verify:
        lines.append(f"[tool.gillint.verify] = {config.verify}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value)


def _verify(result: RunResult, config: Config, args: argparse.Namespace) -> None:
    """Attach verdicts to ``result.verifications``; drop findings the flags ask to leave out."""
    if os.name != "posix":
        raise ConfigError("--verify needs a POSIX system (Linux or macOS): its sandbox uses resource limits")
    from gillint.verify import IsolationUnavailable, kept, settings_from, verify

    try:
        settings = settings_from(config.verify, timeout=args.verify_timeout, budget=args.verify_budget,
                                 python=args.verify_python, sandboxed=not args.verify_unsandboxed)
    except ValueError as error:
        raise ConfigError(f"{config.source}: {error}" if config.source else str(error)) from None
    python = shutil.which(settings.python)
    if python is None:
        raise ConfigError(f"--verify-python: {settings.python!r} is not an interpreter that can be run")
    settings = replace(settings, python=python)
    progress = _progress_line if sys.stderr.isatty() else None
    try:
        result.verifications = verify(result.findings, settings, progress)
    except IsolationUnavailable as error:
        raise ConfigError(f"--verify runs project code and needs full isolation, which is missing here: {error}. "
                          "Install it (docs/verifier.md), or pass --verify-unsandboxed for code you trust") from None
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
    result.findings = kept(result.findings, result.verifications, args.drop_refuted, args.only_confirmed)


def _progress_line(index: int, total: int, finding: Finding) -> None:
    sys.stderr.write(f"\r\x1b[Kverifying {index}/{total}: {finding.code} {finding.path}:{finding.line}")
    sys.stderr.flush()


def _write_report(result: RunResult, args: argparse.Namespace) -> None:
    to_terminal = not args.output_file and sys.stdout.isatty()
    options = ReportOptions(show_source=args.show_source, statistics=args.statistics, quiet=args.quiet,
                            bars=to_terminal, color=not args.output_file and _use_color(to_terminal))
    renderer = FORMATS[args.format]
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as out:
            renderer(result, options, out)
        return
    try:
        renderer(result, options, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # gillint . | head -1: the reader has what it wanted
        _silence_stdout()


def _use_color(to_terminal: bool) -> bool:
    """Colour on a terminal unless ``NO_COLOR`` is set; ``FORCE_COLOR`` forces it (https://no-color.org)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    return to_terminal and not os.environ.get("NO_COLOR")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
