"""Property tests: for programs generated from the Python grammar (hypothesmith) and for arbitrary
bytes, the engine never raises, its output is deterministic, and every finding points at a real
line and column of the input.

Example counts are bounded so the suite stays fast; ``GILLINT_HYPOTHESIS_PROFILE=thorough`` runs
many more examples (e.g. in a nightly job).
"""

from __future__ import annotations

import os
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gillint.config import Config
from gillint.engine.discovery import SourceFile
from gillint.engine.run import lint
from gillint.findings import Finding
from gillint.project.module import source_lines

settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("GILLINT_HYPOTHESIS_PROFILE", "default"))

#: Code that makes the rules fire, so generated code is also checked next to real findings.
DISPATCH = (
    "from multiprocessing import Pool, Process\n"
    "from concurrent.futures import ThreadPoolExecutor\n"
    "Process(target=lambda: 0).start()\n"
    "ThreadPoolExecutor(2).submit(print)\n"
)


def run(data: bytes, name: str = "fuzzed.py") -> list[Finding]:
    return lint([SourceFile(Path(name), name)], Config(), stdin_data=data).findings


def assert_positions_real(findings: list[Finding], source: str) -> None:
    lines = source_lines(source) or [""]
    for finding in findings:
        assert finding.path == "fuzzed.py"
        assert 1 <= finding.line <= len(lines), finding
        assert 1 <= finding.column <= len(lines[finding.line - 1]) + 1, finding
        assert (finding.end_line, finding.end_column) >= (finding.line, finding.column), finding
        assert finding.end_line <= len(lines), finding


def test_source_lines_are_python_lines() -> None:
    """Form feeds and other Unicode line separators do not start a line for Python (or for noqa)."""
    assert source_lines("a\x0cb\x1ec\u2028d\r\ne\rf\n") == ["a\x0cb\x1ec\u2028d", "e", "f"]
    assert source_lines("") == [] and source_lines("x") == ["x"]


def check(source: str) -> None:
    data = source.encode("utf-8", "surrogatepass")
    first = run(data)
    assert run(data) == first  # deterministic, finding for finding, in the same order
    if not any(f.is_analysis_error for f in first):
        assert_positions_real(first, source)


@given(hypothesmith.from_grammar())
def test_generated_programs(source: str) -> None:
    check(source)


@given(hypothesmith.from_grammar())
def test_generated_programs_next_to_dispatches(source: str) -> None:
    check(DISPATCH + source)
    check(source + "\n" + DISPATCH)


@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    findings = run(data)
    assert run(data) == findings
    assert all(f.line >= 1 and f.column >= 1 for f in findings)


@given(st.text(alphabet=st.sampled_from(list("()[]{}:,;=+-*. \t\n\r\\'\"#abfx01")), max_size=400))
def test_token_soup(text: str) -> None:
    """Brackets, quotes, continuations and line endings in any order: the nesting scan and parser hold."""
    check(text)
