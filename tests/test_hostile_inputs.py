"""Hostile inputs through the real ``gillint`` command: each file gets a clear per-file diagnostic,
the rest of the run completes, and the exit code is the documented one. Subprocesses matter
here: a stack overflow in the native parser kills the process, which only shows from outside.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path
from typing import Callable, Union

import pytest

from gillint.config import Config
from gillint.engine.discovery import discover
from gillint.engine.run import lint
from gillint.project.limits import MAX_BRACKET_DEPTH, MAX_EXPRESSION_DEPTH, MAX_SOURCE_CHARS
from test_cli import UNGUARDED, gillint, write

#: The file every run also lints: its finding proves the run went on past the hostile file.
CONTROL = "zz_control.py"
PROCESS = "from multiprocessing import Process\nProcess(target=print).start()\n"

Content = Union[str, bytes]

#: name -> (content, expected fragment of the GIL000 message, or None when the file is analysed).
HOSTILE: dict[str, tuple[Content, str | None]] = {
    "syntax_error.py": ("def f(:\n    pass\n", "syntax error"),
    "python2.py": ('print "hello"\nexec "x = 1"\n', "syntax error"),
    "invalid_utf8.py": (b"x = '\xff\xfe'\n", "cannot decode as utf-8"),
    "unknown_cookie.py": (b"# -*- coding: no-such-codec -*-\nx = 1\n", "no-such-codec"),
    "wrong_cookie.py": ("# -*- coding: ascii -*-\nname = 'caf\u00e9'\n".encode("utf-8"), "cannot decode as ascii"),
    "bom_and_cookie.py": (b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n", "encoding problem"),
    "nul_byte.py": (b"x = 1\x00\n", "NUL byte"),
    "tabs_and_spaces.py": ("if x:\n\tif y:\n        pass\n", "tabs and spaces"),
    "too_many_indents.py": ("".join("    " * i + "if x:\n" for i in range(120)) + "    " * 120 + "pass\n",
                            "indentation"),
    "binary.py": (bytes(range(256)) * 4, "decode"),
    "empty.py": ("", None),
    "only_comments.py": ("# nothing here\n", None),
    "bom.py": (b"\xef\xbb\xbf" + PROCESS.encode(), None),
    "crlf.py": (PROCESS.replace("\n", "\r\n"), None),
    "lone_cr.py": (PROCESS.replace("\n", "\r"), None),
    "latin1_cookie.py": ("# -*- coding: latin-1 -*-\nname = 'caf\u00e9'\n".encode("latin-1"), None),
    "no_newline_at_end.py": (PROCESS.rstrip("\n"), None),
}


def run_json(*args: str) -> tuple[int, dict]:
    result = gillint("--format", "json", *args)
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return result.returncode, json.loads(result.stdout)


def errors_by_name(document: dict) -> dict[str, str]:
    return {Path(e["path"]).name: e["message"] for e in document["errors"]}


def test_hostile_files_each_get_a_diagnostic_and_the_run_completes(tmp_path: Path) -> None:
    for name, (content, _) in HOSTILE.items():
        write(tmp_path, name, content)
    write(tmp_path, CONTROL, UNGUARDED)
    code, document = run_json(str(tmp_path))
    assert code == 1
    errors = errors_by_name(document)
    for name, (_, expected) in HOSTILE.items():
        if expected is None:
            assert name not in errors, errors.get(name)
        else:
            assert expected in errors.get(name, ""), (name, errors.get(name))
    found = {Path(f["path"]).name: f["line"] for f in document["findings"]}
    # Line endings and a BOM do not shift positions: the start() call is on line 2 everywhere.
    assert found == {CONTROL: 6, "bom.py": 2, "crlf.py": 2, "lone_cr.py": 2, "no_newline_at_end.py": 2}


def test_clean_run_over_analysable_odd_files_exits_zero(tmp_path: Path) -> None:
    write(tmp_path, "empty.py", "")
    write(tmp_path, "bom.py", b"\xef\xbb\xbfx = 1\r\n")
    assert gillint(str(tmp_path)).returncode == 0


@pytest.mark.parametrize("depth", [3_000, 10_000, 100_000])
@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda d: "x = " + "(" * d + "1" + ")" * d, id="parentheses"),
        pytest.param(lambda d: "x = " + "[" * d + "]" * d, id="lists"),
        pytest.param(lambda d: "x = " + "f(" * d + ")" * d, id="calls"),
        pytest.param(lambda d: "x = " + "-" * d + "1", id="unary"),
        pytest.param(lambda d: "x = 1" + " + 1" * d, id="binary"),
        pytest.param(lambda d: "x = a" + ".b" * d, id="attributes"),
        pytest.param(lambda d: "x = a" + "()" * d, id="call-chain"),
        pytest.param(lambda d: "x = " + " ".join(["'a'"] * d), id="implicit-concatenation"),
        pytest.param(lambda d: "x = " + "lambda: " * d + "1", id="lambdas"),
        pytest.param(lambda d: "x = " + "1 if a else " * d + "1", id="conditional"),
    ],
)
def test_deep_nesting_is_a_clear_gil000_not_a_crash(
    tmp_path: Path, shape: Callable[[int], str], depth: int
) -> None:
    """Python 3.9's and 3.10's parsers segfault on some of these (a long ``x+x+...`` chain), libcst's on
    most: the nesting guard or (3.11+) the parser's own limit must turn them into a clear GIL000."""
    source = shape(depth)
    write(tmp_path, "deep.py", source + "\n")
    write(tmp_path, CONTROL, UNGUARDED)
    code, document = run_json(str(tmp_path))
    assert code == 1
    assert [Path(f["path"]).name for f in document["findings"]] == [CONTROL]
    if _python_parses(source):
        # From Python 3.11 on, the parser's own limits decide (it raises instead of crashing): code it
        # accepts (adjacent strings are one constant; 3.13 takes ~6000 nested operators) is analysed.
        assert "deep.py" not in errors_by_name(document)
    else:
        assert _NESTING_MESSAGE.search(errors_by_name(document)["deep.py"])


def _python_parses(source: str) -> bool:
    if sys.version_info < (3, 11):
        return False  # gillint's own nesting guard decides: this parser can crash
    try:
        ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError):
        return False
    return True


#: gillint's own nesting guard, or Python's parser refusing more than 200 nested brackets.
_NESTING_MESSAGE = re.compile(r"nested too deeply|too many nested parentheses")


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = " + "(" * MAX_BRACKET_DEPTH + "1" + ")" * MAX_BRACKET_DEPTH, id="brackets"),
        pytest.param("x = 1" + " + 1" * (MAX_EXPRESSION_DEPTH // 2 - 2), id="binary"),
        pytest.param("x = " + "-" * (MAX_EXPRESSION_DEPTH - 2) + "1", id="unary"),
        pytest.param("x = a" + "()" * 1000, id="call-chain"),
        pytest.param("x = " + "(1 + " * 150 + "1" + ")" * 150, id="mixed"),
    ],
)
def test_nesting_just_under_the_limits_is_analysed(tmp_path: Path, source: str) -> None:
    """The limits reject nothing the parser and visitors can handle: code at the limit is linted."""
    write(tmp_path, "deep.py", PROCESS + source + "\n")
    code, document = run_json(str(tmp_path / "deep.py"))
    assert code == 1 and document["errors"] == []
    assert [f["code"] for f in document["findings"]] == ["GIL401"]


def test_huge_inputs(tmp_path: Path) -> None:
    """A 1 MB single line is analysed; a 5 MB file is refused with a clear GIL000, quickly."""
    write(tmp_path, "long_line.py", "x = '" + "a" * 1_048_576 + "'\n" + PROCESS)
    function = "def f{n}(a, b):\n    total = a + b\n    return [total * i for i in range(10)]\n\n"
    body = "".join(function.format(n=n) for n in range(5 * 1024 * 1024 // len(function)))
    write(tmp_path, "big.py", body + PROCESS)
    assert (tmp_path / "big.py").stat().st_size > 5_000_000 > MAX_SOURCE_CHARS
    write(tmp_path, CONTROL, UNGUARDED)
    code, document = run_json(str(tmp_path))
    assert code == 1
    size = len((tmp_path / "big.py").read_text())
    assert errors_by_name(document) == {
        "big.py": f"could not analyse: file too large: {size:,} characters (the limit is {MAX_SOURCE_CHARS:,})"
    }
    assert sorted(Path(f["path"]).name for f in document["findings"]) == ["long_line.py", CONTROL]


@pytest.mark.slow
def test_one_megabyte_data_literal_on_one_line(tmp_path: Path) -> None:
    """1 MB of list elements on one line: analysed (slowly: about 30 s and 1.4 GB with libcst)."""
    write(tmp_path, "long_line.py", "x = [" + "1, " * 350_000 + "]\n" + PROCESS)
    code, document = run_json(str(tmp_path))
    assert code == 1 and document["errors"] == []


def test_directory_named_like_a_module_is_searched(tmp_path: Path) -> None:
    write(tmp_path, "x.py/inner.py", UNGUARDED)
    code, document = run_json(str(tmp_path / "x.py"))
    assert code == 1 and document["errors"] == []
    assert [Path(f["path"]).name for f in document["findings"]] == ["inner.py"]


def test_symlink_loops(tmp_path: Path) -> None:
    """A file symlink loop is a GIL000 (named or found); a directory loop is walked once."""
    (tmp_path / "loop_a.py").symlink_to(tmp_path / "loop_b.py")
    (tmp_path / "loop_b.py").symlink_to(tmp_path / "loop_a.py")
    write(tmp_path, "pkg/mod.py", UNGUARDED)
    (tmp_path / "pkg" / "again").symlink_to(tmp_path / "pkg")
    write(tmp_path, CONTROL, UNGUARDED)
    code, document = run_json(str(tmp_path))
    assert code == 1
    errors = errors_by_name(document)
    assert "symbolic links" in errors["loop_a.py"] and "symbolic links" in errors["loop_b.py"]
    assert sorted(Path(f["path"]).name for f in document["findings"]) == ["mod.py", CONTROL]
    code, document = run_json(str(tmp_path / "loop_a.py"), str(tmp_path / CONTROL))
    assert code == 1 and "symbolic links" in errors_by_name(document)["loop_a.py"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_named_like_a_module_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path, CONTROL, UNGUARDED)
    code, document = run_json(str(tmp_path))
    assert code == 1 and errors_by_name(document)["pipe.py"].endswith("not a regular file")
    code, document = run_json(str(tmp_path / CONTROL))  # a named file: its importers are scanned too
    assert code == 1 and document["errors"] == []


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_unreadable_file_even_as_root(tmp_path: Path) -> None:
    """``/proc/self/mem`` fails to read with EIO whoever we are (chmod 0 does not stop root)."""
    (tmp_path / "unreadable.py").symlink_to("/proc/self/mem")
    write(tmp_path, CONTROL, UNGUARDED)
    code, document = run_json(str(tmp_path))
    assert code == 1 and "error" in errors_by_name(document)["unreadable.py"].lower()
    assert [Path(f["path"]).name for f in document["findings"]] == [CONTROL]


def test_file_deleted_during_the_run(tmp_path: Path) -> None:
    """A file discovered and then removed before it is read is a GIL000; the others are linted."""
    write(tmp_path, "a_gone.py", UNGUARDED)
    write(tmp_path, CONTROL, UNGUARDED)
    config = Config(root=tmp_path)
    files = list(discover([str(tmp_path)], config))
    (tmp_path / "a_gone.py").unlink()
    findings = lint(files, config).findings
    assert [(Path(f.path).name, f.code) for f in findings] == [("a_gone.py", "GIL000"), (CONTROL, "GIL401")]
    assert "No such file" in findings[0].message


def test_non_python_files_named_explicitly_are_linted(tmp_path: Path) -> None:
    """Explicit paths are linted whatever their suffix; directories only yield ``*.py``."""
    write(tmp_path, "script", UNGUARDED)
    write(tmp_path, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(tmp_path, "notes.txt", "Some prose, not Python at all.\n")
    code, document = run_json(*(str(tmp_path / n) for n in ("script", "image.png", "notes.txt")))
    assert code == 1
    errors = errors_by_name(document)
    assert "NUL" in errors["image.png"] or "decode" in errors["image.png"]
    assert "syntax error" in errors["notes.txt"]
    assert [Path(f["path"]).name for f in document["findings"]] == ["script"]
    assert gillint(str(tmp_path)).returncode == 0  # none of them is found in a directory


def test_missing_path_is_a_gil000_and_the_others_are_linted(tmp_path: Path) -> None:
    """As flake8's E902: a path that does not exist is reported, every other path is still linted."""
    write(tmp_path, "bad.py", "import multiprocessing\n\nmultiprocessing.Pool(2)\n")
    result = gillint(str(tmp_path / "missing.py"), str(tmp_path / "bad.py"), str(tmp_path / "gone"))
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    out = result.stdout.decode()
    assert f"{tmp_path / 'missing.py'}:1:1: GIL000 could not analyse: No such file or directory" in out
    assert f"{tmp_path / 'gone'}:1:1: GIL000" in out and "bad.py:3:1: GIL401" in out


def test_stdin_with_hostile_bytes() -> None:
    result = gillint("-", stdin=b"x = 1\x00\n")
    assert result.returncode == 1 and b"NUL" in result.stdout and b"Traceback" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_no_run_dies_from_a_signal(tmp_path: Path) -> None:
    """Everything above together in one run: the process exits normally (no SIGSEGV/abort)."""
    for name, (content, _) in HOSTILE.items():
        write(tmp_path, name, content)
    write(tmp_path, "deep.py", "x = " + "(" * 100_000 + ")" * 100_000 + "\n")
    write(tmp_path, "chain.py", "x = " + "-" * 100_000 + "1\n")
    result = gillint(str(tmp_path))
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])


def test_backslash_newline_in_a_triple_quoted_string_is_not_nesting() -> None:
    """The stdlib's test_tokenize.py opens many strings with a backslash-newline: it compiles, so no GIL000."""
    from gillint.project.limits import check_limits

    block = 'check("x", """\\\n    NAME \'x\' (1, 0) (1, 1)\n    OP \'=\' (1, 2) (1, 3)\n    """)\n'
    source = "def test():\n" + "".join("    " + block for _ in range(2000))
    compile(source, "generated.py", "exec")
    check_limits(source)
