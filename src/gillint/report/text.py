"""flake8-compatible text: ``path:line:col: CODE message``, optionally with source and statistics."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gillint.findings import RunResult
from gillint.project.module import source_lines


@dataclass(frozen=True)
class ReportOptions:
    show_source: bool = False
    statistics: bool = False
    quiet: bool = False
    #: Draw a bar per mode under timing verdicts (the CLI sets it when stdout is a terminal).
    bars: bool = False
    #: Source lines by path, for --show-source (filled by the caller when needed).
    sources: dict[str, list[str]] = field(default_factory=dict)
    #: ANSI colours in text output (the CLI decides: a terminal, NO_COLOR, FORCE_COLOR).
    color: bool = False


#: ANSI styles: the path bold, the position dim, the code bold red (as ruff and flake8 colour them).
_STYLES = {"path": "\x1b[1m", "position": "\x1b[2m", "code": "\x1b[1;31m", "ok": "\x1b[32m"}
_RESET = "\x1b[0m"


def render_text(result: RunResult, options: ReportOptions, out: TextIO) -> None:
    def paint(style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if options.color else text

    for finding in result.findings:
        fix = result.fixes.get(finding)
        marker = "[*] " if fix is not None and fix.applies(result.unsafe_fixes) else ""
        out.write(f"{paint('path', finding.path)}:{paint('position', f'{finding.line}:{finding.column}:')} "
                  f"{paint('code', finding.code)} {marker}{finding.message}\n")
        verification = result.verifications.get(finding)
        if verification is not None:
            out.write(f"  {verification.line()}\n")
            for bar in verification.bars() if options.bars else ():
                out.write(f"    {bar}\n")
        if options.show_source:
            line = source_line(finding.path, finding.line, options.sources)
            if line is not None:
                out.write(f"    {line}\n")
                indent = "".join(c if c == "\t" else " " for c in line[: finding.column - 1])
                out.write(f"    {indent}^\n")
    if options.statistics:
        counts = Counter(f.code for f in result.findings)
        names = {f.code: f.name for f in result.findings}
        for code in sorted(counts):
            out.write(f"{counts[code]:<6} {code} {names[code]}\n")
        total = sum(result.suppressed.values())
        if total:
            detail = ", ".join(f"{code}: {n}" for code, n in sorted(result.suppressed.items()))
            out.write(f"{total:<6} suppressed by noqa ({detail})\n")
    if not options.quiet:
        if result.fixed:
            out.write(f"Fixed {result.fixed} finding{'s' if result.fixed != 1 else ''}.\n")
        count = len(result.findings)
        files = len({f.path for f in result.findings})
        noun = "finding" if count == 1 else "findings"
        if count:
            out.write(f"Found {count} {noun} in {files} file{'s' if files != 1 else ''} "
                      f"({result.files} checked).\n")
            out.write(_fixable_line(result))
        else:
            out.write(paint("ok", f"All clear: no findings in {result.files} file{'s' if result.files != 1 else ''}.")
                      + "\n")


def _fixable_line(result: RunResult) -> str:
    """How many findings ``--fix`` would fix, as ruff says it (empty when none)."""
    applies = [fix.applies(result.unsafe_fixes) for fix in result.fixes.values()]
    if not applies:
        return ""
    fixable, more = sum(applies), len(applies) - sum(applies)
    if not fixable:
        return f"{more} fixable with `gillint --fix --unsafe-fixes`.\n"
    hidden = f" ({more} more with `--unsafe-fixes`)" if more else ""
    return f"[*] {fixable} fixable with `gillint --fix`{hidden}.\n"


def source_line(path: str, line: int, sources: dict[str, list[str]]) -> str | None:
    """Line ``line`` of ``path`` (read once and kept in ``sources``); None when it cannot be read."""
    lines = sources.get(path)
    if lines is None:
        try:
            lines = source_lines(Path(path).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return None
        sources[path] = lines
    return lines[line - 1] if 0 < line <= len(lines) else None
