"""The real ``gillint`` command in a subprocess: exit codes, formats, config errors, bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
UNGUARDED = "from multiprocessing import Pool\n\ndef f(x):\n    return x\n\nPool(2).map(f, [1])\n"
CLEAN = "def f(x):\n    return x\n"


def gillint(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gillint", *args], cwd=cwd, input=stdin, capture_output=True, timeout=120,
    )


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_exit_codes(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    write(tmp_path, "good.py", CLEAN)
    assert gillint(str(tmp_path / "good.py")).returncode == 0
    found = gillint(str(tmp_path / "bad.py"))
    assert found.returncode == 1
    assert f"{tmp_path / 'bad.py'}:6:1: GIL401 " in found.stdout.decode()
    assert gillint("--exit-zero", str(tmp_path)).returncode == 0
    assert gillint("--select", "GIL999", str(tmp_path)).returncode == 2
    assert gillint(str(tmp_path / "missing.py")).returncode == 1  # GIL000, as flake8's E902
    assert gillint().returncode == 2


def test_unknown_code_lists_known_codes(tmp_path: Path) -> None:
    result = gillint("--ignore", "XYZ1", str(tmp_path))
    assert result.returncode == 2
    assert b"GIL401" in result.stderr and b"Traceback" not in result.stderr


def test_select_by_prefix(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    assert gillint("--select", "GIL4", str(tmp_path)).returncode == 1
    assert gillint("--select", "GIL0", str(tmp_path)).returncode == 0
    assert gillint("--ignore", "GIL401", str(tmp_path)).returncode == 0
    assert gillint("--select", "GIL", "--ignore", "GIL4", "--extend-select", "GIL401", str(tmp_path)).returncode == 1


def test_json_schema(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    write(tmp_path, "broken.py", "def f(:\n")
    result = gillint("--format", "json", str(tmp_path))
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert set(document) >= {"version", "findings", "errors"}
    (finding,) = document["findings"]
    assert set(finding) >= {"path", "line", "column", "end_line", "end_column", "code", "name", "message", "severity"}
    position = (finding["code"], finding["name"], finding["line"], finding["column"])
    assert position == ("GIL401", "missing-main-guard", 6, 1)
    (error,) = document["errors"]
    assert error["code"] == "GIL000" and error["line"] == 1 and "syntax error" in error["message"]


def test_output_file_statistics_and_show_source(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED + "Pool(3)  # noqa: GIL401\n")
    out = tmp_path / "report.txt"
    result = gillint("--output-file", str(out), "--show-source", "--statistics", str(tmp_path))
    assert result.returncode == 1 and result.stdout == b""
    text = out.read_text()
    assert "    Pool(2).map(f, [1])\n    ^\n" in text
    assert "1      GIL401 missing-main-guard" in text
    assert "suppressed by noqa (GIL401: 1)" in text
    assert gillint("--disable-noqa", "-q", str(tmp_path)).stdout.decode().count("GIL401") == 2


def test_stdin(tmp_path: Path) -> None:
    result = gillint("-", "--stdin-filename", "piped.py", cwd=tmp_path, stdin=UNGUARDED.encode())
    assert result.returncode == 1
    assert result.stdout.decode().startswith("piped.py:6:1: GIL401")


def test_explain_and_list_rules() -> None:
    explained = gillint("--explain", "GIL401")
    assert explained.returncode == 0 and b"## Why is this bad?" in explained.stdout
    assert gillint("--explain", "GIL999").returncode == 2
    listed = gillint("--list-rules").stdout.decode()
    assert "GIL401  missing-main-guard" in listed
    assert gillint("--version").stdout.decode().startswith("gillint ")


def test_config_from_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.gillint]\nignore = ["GIL401"]\n')
    write(tmp_path, "pkg/bad.py", UNGUARDED)
    assert gillint(str(tmp_path / "pkg")).returncode == 0
    # The command line is a layer above the file (ruff's precedence, docs/index.md "Selecting rules"):
    assert gillint("--ignore", "GIL000", str(tmp_path / "pkg")).returncode == 0  # adds to the file's ignores
    assert gillint("--extend-select", "GIL401", str(tmp_path / "pkg")).returncode == 1  # overrides them


def test_per_file_ignores_and_exclude(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.gillint.per-file-ignores]\n"scripts/*" = ["GIL4"]\n')
    write(tmp_path, "scripts/bad.py", UNGUARDED)
    write(tmp_path, "app/bad.py", UNGUARDED)
    result = gillint(str(tmp_path))
    assert result.stdout.decode().count("GIL401") == 1 and "app" in result.stdout.decode()
    assert gillint("--extend-exclude", "app", str(tmp_path)).returncode == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[tool.gillint]\nselekt = ["GIL"]\n', "unknown key 'selekt'"),
        ('[tool.gillint]\nselect = "GIL"\n', "select: expected list[str]"),
        ('[tool.gillint]\nselect = ["NOPE"]\n', "unknown rule code or prefix 'NOPE'"),
        ('[tool.gillint\n', "invalid TOML"),
        ('[tool.gillint.per-file-ignores]\n"*.py" = "GIL4"\n', "expected list[str]"),
    ],
)
def test_config_errors(tmp_path: Path, content: str, message: str) -> None:
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "mod.py", CLEAN)
    result = gillint(str(tmp_path))
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert message in stderr and "pyproject.toml" in stderr and "Traceback" not in stderr


def test_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path, "mod.py", UNGUARDED)
    assert gillint(str(tmp_path)).returncode == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_as_user(tmp_path: Path) -> None:  # pragma: no cover - CI runs as root
    path = write(tmp_path, "locked.py", CLEAN)
    path.chmod(0)
    result = gillint(str(tmp_path))
    assert result.returncode == 1 and b"GIL000" in result.stdout


def test_broken_files_never_stop_the_run(tmp_path: Path) -> None:
    write(tmp_path, "a_syntax.py", "def f(:\n    pass\n")
    write(tmp_path, "b_utf8.py", b"x = '\xff\xfe'\n")
    write(tmp_path, "c_nul.py", b"x = 1\x00\n")
    write(tmp_path, "d_empty.py", "")
    write(tmp_path, "e_cookie.py", b"# -*- coding: no-such-codec -*-\nx = 1\n")
    (tmp_path / "f_dir.py").mkdir()
    write(tmp_path, "z_bad.py", UNGUARDED)
    unreadable = write(tmp_path, "g_unreadable.py", CLEAN)
    unreadable.chmod(0)
    result = gillint("--format", "json", str(tmp_path))
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    document = json.loads(result.stdout)
    errors = {Path(e["path"]).name: e["message"] for e in document["errors"]}
    assert "syntax error" in errors["a_syntax.py"]
    assert "decode" in errors["b_utf8.py"]
    assert "NUL" in errors["c_nul.py"]
    assert "coding" in errors["e_cookie.py"] or "encoding" in errors["e_cookie.py"]
    assert "d_empty.py" not in errors
    assert [Path(f["path"]).name for f in document["findings"]] == ["z_bad.py"]


def test_examples() -> None:
    """The quick start: the example with the missing guard is reported, the correct ones are not."""
    result = gillint("--format", "json", "--select", "GIL401", str(EXAMPLES))
    paths = {Path(f["path"]).name for f in json.loads(result.stdout)["findings"]}
    assert paths == {"unguarded_pool.py"}
    result = gillint("--format", "json", "--select", "GIL301", str(EXAMPLES))
    races = [(Path(f["path"]).name, f["line"]) for f in json.loads(result.stdout)["findings"]]
    assert races == [("shared_counter.py", 10)]  # hits += 1
    pickled = gillint("--format", "json", "--select", "GIL201,GIL202", str(EXAMPLES))
    found = {(Path(f["path"]).name, f["line"], f["code"], f["evidence"]["kind"])
             for f in json.loads(pickled.stdout)["findings"]}
    assert found == {("lambda_to_pool.py", 11, "GIL201", "lambda"), ("lambda_to_pool.py", 13, "GIL202", "open file")}
    clean = gillint(str(EXAMPLES / "good_processes.py"), str(EXAMPLES / "good_io_threads.py"))
    assert clean.returncode == 0, clean.stdout
    threads = gillint("--format", "json", "--select", "GIL101", str(EXAMPLES))
    targets = {Path(f["path"]).name: f["evidence"]["target"]["name"] for f in json.loads(threads.stdout)["findings"]}
    # shared_counter.py's four threads also run a pure-Python loop: true, though it is there for GIL301.
    assert targets == {"cpu_threads.py": "sum_of_squares", "shared_counter.py": "record"}


def _stderr_on_a_terminal(*args: str) -> str:
    """What gillint writes to stderr when stderr is a terminal (a real pseudo-terminal)."""
    import pty

    controller, terminal = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "gillint", *args], stdout=subprocess.DEVNULL,
                          stderr=terminal) as process:
        os.close(terminal)
        written = b""
        while True:
            try:
                data = os.read(controller, 4096)
            except OSError:  # the terminal closed: gillint has exited
                break
            if not data:
                break
            written += data
        process.wait(timeout=120)
    os.close(controller)
    return written.decode()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_terminal_sees_progress_and_a_pipe_does_not(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    write(tmp_path, "good.py", CLEAN)
    shown = _stderr_on_a_terminal("--no-cache", "--jobs", "auto", str(tmp_path))
    assert "analysing 1/2 files" in shown and "analysing 2/2 files" in shown
    assert shown.endswith("\r\x1b[K")  # the line is cleared before the report
    assert "analysing" not in _stderr_on_a_terminal("--no-cache", "--quiet", str(tmp_path))
    assert "analysing" not in gillint("--no-cache", str(tmp_path)).stderr.decode()
