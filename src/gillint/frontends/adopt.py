"""A way in for existing code: ``--add-noqa`` writes a ``# noqa`` for every current finding, and
``--unused-noqa`` reports the ``# noqa: GIL...`` comments that no longer hide anything (GIL001).

Both use flake8's noqa logic (:mod:`gillint.engine.noqa`), so what one writes the other, flake8 and
the next run all read the same way.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import Iterable, Sequence

from gillint.config import Config, known_codes
from gillint.engine.discovery import SourceFile
from gillint.engine.noqa import add_noqa, file_is_skipped, noqa_comments, noqa_ranges
from gillint.findings import (
    ANALYSIS_ERROR_CODE,
    UNUSED_NOQA_CODE,
    UNUSED_NOQA_NAME,
    Finding,
    RunResult,
    Severity,
)
from gillint.project.module import source_lines
from gillint.project.sources import SourceError, decode_source, read_bytes

_LINE_END = re.compile(r"(\r\n|\r|\n)")


def add_noqa_comments(findings: Iterable[Finding]) -> tuple[int, int, list[str]]:
    """Add ``# noqa: CODE`` for ``findings`` to their files; returns (comments, files changed, problems).

    Files that could not be analysed (GIL000) are left alone: a comment cannot fix them.
    """
    wanted: dict[str, dict[int, set[str]]] = {}
    problems = []
    for finding in findings:
        if finding.code == ANALYSIS_ERROR_CODE:
            problems.append(f"{finding.path}: not changed: {finding.message}")
        elif finding.code != UNUSED_NOQA_CODE:
            wanted.setdefault(finding.path, {}).setdefault(finding.line, set()).add(finding.code)
    written = files = 0
    for path, codes in sorted(wanted.items()):
        try:
            data = Path(path).read_bytes()
            encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
            parts = _LINE_END.split(data.decode(encoding))
        except (OSError, SyntaxError, UnicodeDecodeError, LookupError) as error:
            problems.append(f"{path}: not changed: {error}")
            continue
        lines, endings = parts[0::2], [*parts[1::2], ""]
        edited, unplaced = add_noqa(lines, codes)
        for line in unplaced:
            problems.append(f"{path}:{line}: no noqa comment added: every line that flake8's noqa logic reads for "
                            "it is inside a string (a multi-line f-string) or past a tokenizing error; "
                            "use per-file-ignores")
        changed = sum(old != new for old, new in zip(lines, edited))
        if changed:
            written, files = written + changed, files + 1
            Path(path).write_bytes("".join(line + end for line, end in zip(edited, endings)).encode(encoding))
    return written, files, problems


def unused_noqa(result: RunResult, files: Sequence[tuple[SourceFile, Config]]) -> list[Finding]:
    """A GIL001 finding for each ``# noqa: GIL...`` comment with codes that hid no finding of this
    run (codes of other tools are not judged). Needs the run's noqa-hidden findings."""
    hidden: dict[str, list[Finding]] = {}
    for finding in result.hidden:
        hidden.setdefault(finding.path, []).append(finding)
    found = []
    for file, config in files:
        per_file = config.ignored_for(file.display)
        if not config.is_enabled(UNUSED_NOQA_CODE, per_file):
            continue
        try:
            data = read_bytes(file.path)
            lines = source_lines(decode_source(data)) if b"noqa" in data.lower() else []
        except SourceError:
            continue
        comments = noqa_comments(lines) if lines and not file_is_skipped(lines) else {}
        range_of = {line: (first, last) for first, last in noqa_ranges(lines) for line in range(first, last + 1)}
        for line, (column, codes) in sorted(comments.items()):
            first, last = range_of.get(line, (line, line))
            near = [f for f in hidden.get(file.display, ()) if first <= f.line <= last]
            reasons = [_unused_reason(code, config, per_file) for code in sorted(codes)
                       if code.upper().startswith("GIL") and code != UNUSED_NOQA_CODE
                       and not any(f.code.startswith(code) for f in near)]
            if reasons:
                found.append(Finding(path=file.display, line=line, column=column, end_line=line,
                                     end_column=len(lines[line - 1]) + 1, code=UNUSED_NOQA_CODE,
                                     name=UNUSED_NOQA_NAME, message="unused noqa: " + "; ".join(reasons),
                                     severity=Severity.WARNING))
    return found


def _unused_reason(code: str, config: Config, per_file: Sequence[str]) -> str:
    if not code.startswith("GIL"):
        return f"{code} matches no code (codes are matched as written: {code.upper()})"
    if not any(config.is_enabled(known, per_file) for known in known_codes() if known.startswith(code)):
        return f"{code} is not enabled for this file"
    return f"no {code} finding here"
