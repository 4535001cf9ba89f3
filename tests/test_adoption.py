"""Adopting gillint on an existing codebase (issue #14), through the real command, a real git
repository and a real terminal: which files are linted, how patterns and the selection read, the
configuration of each directory, ``--add-noqa`` / ``--unused-noqa``, and the output conventions.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_cli import CLEAN, UNGUARDED, gillint, write

ROOT = Path(__file__).parent.parent
COUNTER = (ROOT / "examples" / "shared_counter.py").read_text(encoding="utf-8")  # GIL301 on line 10
GIT_ENV = {
    "GIT_AUTHOR_NAME": "gillint tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gillint tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def shown_files(*args: str, cwd: Path) -> list[str]:
    result = gillint("--show-files", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        env.pop(name, None)
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


# -- 1. file selection ------------------------------------------------------------------------------


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git repository with a root and a nested .gitignore, .git/info/exclude and a virtualenv."""
    git(tmp_path, "init", "-q")
    write(tmp_path, ".gitignore", "generated.py\n/src/gen/\n!keep.py\n# a comment/with a slash\n")
    write(tmp_path, "sub/.gitignore", "*_pb2.py\n")
    (tmp_path / ".git" / "info").mkdir(exist_ok=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("local/\n", encoding="utf-8")
    write(tmp_path, "env/pyvenv.cfg", "home = /usr/bin\n")  # a virtualenv not named like one
    for name in ("app.py", "generated.py", "keep.py", "src/gen/x.py", "src/gen/keep.py", "src/real.py",
                 "sub/model_pb2.py", "sub/ok.py", "env/lib/site-packages/dep.py", "local/scratch.py"):
        write(tmp_path, name, UNGUARDED)
    return tmp_path


@needs_git
def test_gitignore_agrees_with_git(repository: Path) -> None:
    """What gillint lints is what git does not ignore (and no virtualenv)."""
    listed = git(repository, "ls-files", "--cached", "--others", "--exclude-standard").split()
    from_git = sorted(name for name in listed if name.endswith(".py") and not name.startswith("env/"))
    assert shown_files(".", cwd=repository) == ["app.py", "keep.py", "src/real.py", "sub/ok.py"] == from_git
    result = gillint(".", cwd=repository)
    assert result.returncode == 1 and "generated.py" not in result.stdout.decode()


@needs_git
def test_gitignore_can_be_turned_off(repository: Path) -> None:
    everything = ["app.py", "generated.py", "keep.py", "local/scratch.py", "src/gen/keep.py", "src/gen/x.py",
                  "src/real.py", "sub/model_pb2.py", "sub/ok.py"]
    assert sorted(shown_files("--no-respect-gitignore", ".", cwd=repository)) == everything
    write(repository, "pyproject.toml", "[tool.gillint]\nrespect-gitignore = false\n")
    assert sorted(shown_files(".", cwd=repository)) == everything
    assert shown_files("--respect-gitignore", ".", cwd=repository)[0:2] == ["app.py", "keep.py"]


def test_gitignore_outside_a_repository_is_not_read(tmp_path: Path) -> None:
    """As in git, ruff and black: a .gitignore means something only inside a git repository."""
    write(tmp_path, ".gitignore", "*.py\n")
    write(tmp_path, "mod.py", CLEAN)
    assert shown_files(".", cwd=tmp_path) == ["mod.py"]


@needs_git
def test_named_paths_inside_ignored_directories_are_linted(repository: Path) -> None:
    """Patterns judge what lies under the paths given, never the paths themselves."""
    assert shown_files("src/gen", "generated.py", cwd=repository) == ["src/gen/keep.py", "src/gen/x.py", "generated.py"]
    assert shown_files("env", cwd=repository) == ["env/lib/site-packages/dep.py"]


def test_virtualenv_with_any_name_is_skipped(tmp_path: Path) -> None:
    for venv in ("env", "python-3.12", ".direnv"):
        write(tmp_path, f"{venv}/pyvenv.cfg", "home = /usr/bin\n")
        write(tmp_path, f"{venv}/lib/python3.12/site-packages/big.py", UNGUARDED)
    write(tmp_path, "app.py", CLEAN)
    assert shown_files(".", cwd=tmp_path) == ["app.py"]
    result = gillint(".", cwd=tmp_path)
    assert result.returncode == 0 and b"in 1 file" in result.stdout


@pytest.mark.parametrize("parent", ["venv/lib/python3.11/site-packages", "srv/build", ".tox/py311", "dist"])
def test_excluded_names_above_a_named_path_do_not_count(tmp_path: Path, parent: str) -> None:
    """Issue #14 item 8: `/home/me/venv/lib/python3.11/site-packages/pkg` was "All clear", 0 files."""
    package = tmp_path / parent / "pkg"
    write(package, "mod.py", UNGUARDED)
    write(package, "__pycache__/mod.py", UNGUARDED)  # excluded: it lies under the named path
    for cwd in (tmp_path, package.parent, ROOT):
        result = gillint(str(package), cwd=cwd)
        assert result.returncode == 1, (cwd, result.stdout, result.stderr)
        assert result.stdout.decode().count("GIL401") == 1 and b"(1 checked)" in result.stdout


def test_force_exclude_applies_excludes_to_named_files(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.gillint]\nextend-exclude = ["migrations/", "legacy_*.py"]\n')
    named = [write(tmp_path, name, UNGUARDED) for name in ("app/migrations/0001.py", "legacy_io.py", "app/ok.py")]
    paths = [str(path.relative_to(tmp_path)) for path in named]
    assert gillint(*paths, cwd=tmp_path).stdout.decode().count("GIL401") == 3
    forced = gillint("--force-exclude", *paths, cwd=tmp_path)
    assert forced.stdout.decode().count("GIL401") == 1 and "app/ok.py" in forced.stdout.decode()
    assert gillint("--force-exclude", "app/migrations", cwd=tmp_path).returncode == 0
    write(tmp_path, "pyproject.toml",
          '[tool.gillint]\nforce-exclude = true\nextend-exclude = ["migrations/", "legacy_*.py"]\n')
    assert gillint(*paths, cwd=tmp_path).stdout.decode().count("GIL401") == 1
    assert gillint("--no-force-exclude", *paths, cwd=tmp_path).stdout.decode().count("GIL401") == 3
    stdin = gillint("-", "--stdin-filename", "legacy_x.py", cwd=tmp_path, stdin=UNGUARDED.encode())
    assert stdin.returncode == 0


# -- 2. patterns as users write them ----------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["tests", "tests/", "test_*.py", "**/tests/*.py", "pkg/tests/", "/pkg/tests"])
def test_per_file_ignores_patterns(tmp_path: Path, pattern: str) -> None:
    write(tmp_path, "pyproject.toml", f'[tool.gillint.per-file-ignores]\n"{pattern}" = ["GIL401"]\n')
    write(tmp_path, "pkg/tests/test_app.py", UNGUARDED)
    write(tmp_path, "pkg/app.py", UNGUARDED)
    for cwd in (tmp_path, tmp_path / "pkg", ROOT):  # relative to the configuration file, not the cwd
        result = gillint(str(tmp_path / "pkg"), cwd=cwd)
        assert result.stdout.decode().count("GIL401") == 1 and b"/pkg/app.py:6:1" in result.stdout, (cwd, result)
        assert result.stderr == b""


@pytest.mark.parametrize("pattern", ["generated", "generated/", "gen_*.py", "pkg/generated", "pkg/generated/*"])
def test_exclude_patterns(tmp_path: Path, pattern: str) -> None:
    write(tmp_path, "pyproject.toml", f'[tool.gillint]\nextend-exclude = ["{pattern}"]\n')
    write(tmp_path, "pkg/generated/gen_a.py", UNGUARDED)
    write(tmp_path, "pkg/app.py", CLEAN)
    assert shown_files(str(tmp_path), cwd=tmp_path / "pkg") == [str(tmp_path / "pkg" / "app.py")]


def test_blank_and_comment_patterns_match_nothing(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.gillint]\nextend-exclude = ["", "# note", "x/"]\n')
    write(tmp_path, "mod.py", UNGUARDED)
    result = gillint(".", cwd=tmp_path)
    assert result.returncode == 1 and b"GIL401" in result.stdout
    assert result.stderr.count(b"matches no file") == 3 and b"internal error" not in result.stderr


def test_command_line_patterns_are_relative_to_the_cwd(tmp_path: Path) -> None:
    write(tmp_path, "pkg/generated/a.py", CLEAN)
    write(tmp_path, "pkg/app.py", CLEAN)
    assert shown_files("--extend-exclude", "generated/a.py", ".", cwd=tmp_path / "pkg") == ["app.py"]
    assert shown_files("--extend-exclude", "pkg/generated", ".", cwd=tmp_path) == ["pkg/app.py"]


def test_patterns_that_match_nothing_are_named_on_stderr(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml",
          '[tool.gillint]\nextend-exclude = ["gen/"]\n[tool.gillint.per-file-ignores]\n"test_*.py" = ["GIL4"]\n')
    write(tmp_path, "app.py", CLEAN)
    result = gillint(".", "--extend-exclude", "nothing_here", cwd=tmp_path)
    assert result.stderr.decode().splitlines() == [
        f"gillint: warning: extend-exclude pattern 'gen/' ({tmp_path / 'pyproject.toml'}) matches no file",
        "gillint: warning: extend-exclude pattern 'nothing_here' (command line) matches no file",
        f"gillint: warning: per-file-ignores pattern 'test_*.py' ({tmp_path / 'pyproject.toml'}) matches no file",
    ]
    # Files named one by one (pre-commit) cannot tell: no warning.
    assert gillint("app.py", cwd=tmp_path).stderr == b""


# -- 3. selection precedence ------------------------------------------------------------------------


def _precedence_rows() -> list[tuple[str, str, bool]]:
    text = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    section = text[text.index("## Selecting rules"):text.index("## Text output")]
    rows = re.findall(r"^\| (`[^|]*`|) ?\| (`[^|]*`|) ?\| (reported|not reported) \|$", section, re.MULTILINE)
    assert len(rows) >= 10
    return [(config.strip("`"), command.strip("`"), verdict == "reported") for config, command, verdict in rows]


@pytest.mark.parametrize(("config", "command", "reported"), _precedence_rows())
def test_selection_precedence_table(tmp_path: Path, config: str, command: str, reported: bool) -> None:
    """Each row of the table in docs/index.md, "Selecting rules"."""
    toml = ["[tool.gillint]"]
    for part in filter(None, config.split("; ")):
        header, _, rest = part.partition("] ")
        toml.extend([header + "]", rest] if part.startswith("[") else [part])
    write(tmp_path, "pyproject.toml", "\n".join(toml) + "\n")
    write(tmp_path, "counter.py", COUNTER)
    result = gillint("--format", "json", *command.split(), "counter.py", cwd=tmp_path)
    codes = [finding["code"] for finding in json.loads(result.stdout)["findings"]]
    assert ("GIL301" in codes) == reported, (config, command, codes, result.stderr)


# -- 4. per-directory configuration -----------------------------------------------------------------


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """A root configuration, a child that extends it, a sibling with its own, and plain files."""
    write(tmp_path, "pyproject.toml", '[tool.gillint]\nignore = ["GIL401"]\nextend-exclude = ["skip_*.py"]\n')
    write(tmp_path, "child/pyproject.toml",
          '[tool.gillint]\nextend = "../pyproject.toml"\nextend-select = ["GIL401"]\n'
          '[tool.gillint.per-file-ignores]\n"test_*.py" = ["GIL4"]\n')
    write(tmp_path, "sibling/pyproject.toml", '[tool.gillint]\nselect = ["GIL3"]\n')
    write(tmp_path, "tools/pyproject.toml", '[project]\nname = "tools"\n')  # no table: not a configuration
    for name in ("root.py", "child/c.py", "child/test_c.py", "child/skip_c.py", "sibling/s.py", "tools/t.py"):
        write(tmp_path, name, UNGUARDED)
    return tmp_path


def test_each_file_uses_the_nearest_configuration(nested: Path) -> None:
    result = gillint(".", cwd=nested)
    reported = sorted(line.split(":")[0] for line in result.stdout.decode().splitlines() if "GIL401" in line)
    assert reported == ["child/c.py"], result.stdout
    assert b"(5 checked)" in result.stdout  # root.py, child/c.py, child/test_c.py, sibling/s.py, tools/t.py
    # Not the first path's configuration for every path:
    assert gillint("root.py", "child/c.py", cwd=nested).stdout.decode().count("GIL401") == 1
    assert gillint("child/c.py", "root.py", cwd=nested).stdout.decode().count("GIL401") == 1


def test_config_option_uses_one_file_for_everything(nested: Path) -> None:
    result = gillint("--config", "pyproject.toml", ".", cwd=nested)
    assert result.returncode == 0 and b"no findings in 5 files" in result.stdout


def test_show_settings_says_where_each_setting_comes_from(nested: Path) -> None:
    result = gillint("--show-settings", "child/test_c.py", "--extend-select", "GIL3", cwd=nested)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    root, child = nested / "pyproject.toml", nested / "child" / "pyproject.toml"
    assert f"configuration: {child}" in out
    assert 'select = ["GIL"]  # default' in out
    assert f'ignore = ["GIL401"]  # {root}' in out
    assert f'extend-select = ["GIL401"]  # {child}' in out
    assert 'extend-select = ["GIL3"]  # command line' in out
    assert "per-file-ignores for this file: GIL4" in out
    assert f'extend-exclude = ["skip_*.py"]  # {root}' in out
    assert "respect-gitignore = true  # default" in out


def test_extend_errors_name_the_file(tmp_path: Path) -> None:
    write(tmp_path, "a/pyproject.toml", '[tool.gillint]\nextend = "../b/pyproject.toml"\n')
    write(tmp_path, "b/pyproject.toml", '[tool.gillint]\nextend = "../a/pyproject.toml"\n')
    write(tmp_path, "a/mod.py", CLEAN)
    cycle = gillint(str(tmp_path / "a"))
    assert cycle.returncode == 2 and b"cycle" in cycle.stderr and b"pyproject.toml" in cycle.stderr
    write(tmp_path, "a/pyproject.toml", '[tool.gillint]\nextend = "../nowhere.toml"\n')
    missing = gillint(str(tmp_path / "a"))
    assert missing.returncode == 2 and b"extend: no such file" in missing.stderr


def test_show_files_lists_what_would_be_linted(nested: Path) -> None:
    # Files of a directory, then its subdirectories, each sorted by name.
    assert shown_files(".", cwd=nested) == ["root.py", "child/c.py", "child/test_c.py", "sibling/s.py", "tools/t.py"]


# -- 5. a way in: --add-noqa and --unused-noqa ------------------------------------------------------

#: Each GIL401 finding sits somewhere a naive end-of-line comment would break or miss.
LEGACY = '''\
import multiprocessing
pool = multiprocessing.Pool(
    2,
)
s = str(multiprocessing.Pool(4)) + """x  # a hash in a string is no comment
y"""
p = multiprocessing.Pool(5) if True \\
    else None
q = multiprocessing.Pool(6)  # noqa: E501
r = multiprocessing.Pool(7)  # keep this comment
t = multiprocessing.Pool(8)  # noqa:GIL201 because
'''
LEGACY_WITH_NOQA = '''\
import multiprocessing
pool = multiprocessing.Pool(  # noqa: GIL401
    2,
)
s = str(multiprocessing.Pool(4)) + """x  # a hash in a string is no comment
y"""  # noqa: GIL401
p = multiprocessing.Pool(5) if True \\
    else None  # noqa: GIL401
q = multiprocessing.Pool(6)  # noqa: E501, GIL401
r = multiprocessing.Pool(7)  # keep this comment  # noqa: GIL401
t = multiprocessing.Pool(8)  # noqa:GIL201, GIL401 because
'''


def test_add_noqa_places_comments_where_noqa_logic_sees_them(tmp_path: Path) -> None:
    path = write(tmp_path, "legacy.py", LEGACY)
    before = gillint("--disable-noqa", "-q", ".", cwd=tmp_path).stdout.decode()
    assert before.count("GIL401") == 6, before
    added = gillint("--add-noqa", ".", cwd=tmp_path)
    assert added.returncode == 0 and b"Added 6 noqa comments to 1 file." in added.stderr, added.stderr
    assert path.read_text(encoding="utf-8") == LEGACY_WITH_NOQA
    compile(LEGACY_WITH_NOQA, "legacy.py", "exec")
    after = gillint(".", "--statistics", cwd=tmp_path)
    assert after.returncode == 0 and b"suppressed by noqa (GIL401: 6)" in after.stdout, after.stdout
    again = gillint("--add-noqa", ".", cwd=tmp_path)  # idempotent
    assert b"Added 0 noqa comments" in again.stderr and path.read_text(encoding="utf-8") == LEGACY_WITH_NOQA


def test_add_noqa_never_writes_inside_an_f_string(tmp_path: Path) -> None:
    """Python 3.12 tokenizes f-strings: a newline in a replacement field then ends flake8's noqa range,
    and the only line it reads for the finding ends inside the f-string. Refused, not broken."""
    source = 'import multiprocessing\nu = [multiprocessing.Pool(9), f"""{\n1}"""]\n'
    path = write(tmp_path, "fstring.py", source)
    result = gillint("--add-noqa", ".", cwd=tmp_path)
    if sys.version_info >= (3, 12):
        assert result.returncode == 1 and b"fstring.py:2: no noqa comment added" in result.stderr
        assert path.read_text(encoding="utf-8") == source
    else:  # one string token: the comment goes after it
        assert result.returncode == 0
        assert path.read_text(encoding="utf-8") == source.replace('"""]', '"""]  # noqa: GIL401')
        assert gillint(".", cwd=tmp_path).returncode == 0


def test_add_noqa_keeps_encoding_and_line_endings(tmp_path: Path) -> None:
    source = "\ufeff# -*- coding: utf-8 -*-\r\nimport multiprocessing\r\nname = 'é'\x0c\r\nmultiprocessing.Pool(2)\r\n"
    path = write(tmp_path, "crlf.py", source.encode("utf-8"))
    assert gillint("--add-noqa", ".", cwd=tmp_path).returncode == 0
    assert path.read_bytes() == source.replace("Pool(2)", "Pool(2)  # noqa: GIL401").encode("utf-8")
    assert gillint(".", cwd=tmp_path).returncode == 0


def test_add_noqa_leaves_unanalysable_files_alone(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.py", "def f(:\n")
    write(tmp_path, "bad.py", UNGUARDED)
    result = gillint("--add-noqa", ".", cwd=tmp_path)
    assert result.returncode == 1 and b"broken.py: not changed" in result.stderr
    assert broken.read_text() == "def f(:\n" and gillint("bad.py", cwd=tmp_path).returncode == 0
    assert gillint("--add-noqa", "-", stdin=b"x = 1\n").returncode == 2
    assert gillint("--add-noqa", "--disable-noqa", ".", cwd=tmp_path).returncode == 2


@pytest.mark.integration
def test_flake8_reads_the_added_comments(tmp_path: Path) -> None:
    write(tmp_path, "legacy.py", LEGACY)
    assert gillint("--add-noqa", ".", cwd=tmp_path).returncode == 0
    flake8 = subprocess.run([sys.executable, "-m", "flake8", "--select", "GIL", "."], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert flake8.returncode == 0 and flake8.stdout == "", flake8.stdout + flake8.stderr


def test_unused_noqa(tmp_path: Path) -> None:
    write(tmp_path, "mod.py", (
        "import multiprocessing\n"
        "a = multiprocessing.Pool(2)  # noqa: GIL401\n"          # used
        "b = 1  # noqa: GIL201, E501\n"                          # GIL201 unused; E501 is not ours
        "c = multiprocessing.Pool(3)  # noqa: GIL4, GIL3\n"      # GIL4 used, GIL3 unused
        "d = '# noqa: GIL101'  # noqa\n"                          # a string, and a bare noqa: not judged
        "e = 2  # noqa: gil401\n"                                # lower case never matches
        "f = multiprocessing.Pool(  # noqa: GIL401\n    4,\n)\n"  # used
    ))
    result = gillint("--unused-noqa", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode().splitlines()[:-1] == [
        "mod.py:3:8: GIL001 unused noqa: no GIL201 finding here",
        "mod.py:4:30: GIL001 unused noqa: no GIL3 finding here",
        "mod.py:6:8: GIL001 unused noqa: gil401 matches no code (codes are matched as written: GIL401)",
    ]
    narrowed = gillint("--unused-noqa", "--select", "GIL4", "--format", "json", ".", cwd=tmp_path)
    messages = [f["message"] for f in json.loads(narrowed.stdout)["findings"]]
    assert "unused noqa: GIL201 is not enabled for this file" in messages
    assert gillint(".", cwd=tmp_path).returncode == 0  # off by default
    write(tmp_path, "pyproject.toml", '[tool.gillint.per-file-ignores]\n"mod.py" = ["GIL001"]\n')
    assert gillint("--unused-noqa", ".", cwd=tmp_path).returncode == 0
    assert gillint("--unused-noqa", "--disable-noqa", ".", cwd=tmp_path).returncode == 2


# -- 6. output conventions --------------------------------------------------------------------------


def test_output_format_alias_and_url(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    write(tmp_path, "broken.py", "def f(:\n")
    document = json.loads(gillint("--output-format", "json", ".", cwd=tmp_path).stdout)
    (finding,) = document["findings"]
    (error,) = document["errors"]
    assert finding["url"] == "https://github.com/gillint/gillint/blob/main/docs/rules/GIL401.md"
    assert error["url"] == "https://github.com/gillint/gillint/blob/main/docs/rules/GIL000.md"
    for url in (finding["url"], error["url"]):
        assert (ROOT / url.split("/blob/main/")[1]).is_file()


def _on_a_terminal(args: list[str], cwd: Path, **env: str) -> bytes:
    """Run gillint with stdout on a real pseudo-terminal; what it wrote there."""
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen([sys.executable, "-m", "gillint", *args], cwd=cwd, stdout=terminal,
                               stderr=subprocess.DEVNULL, env={**environment, **env})
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(controller)
    return output


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_colour_on_a_terminal_honours_no_color_and_force_color(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    assert b"\x1b[1;31mGIL401\x1b[0m" in _on_a_terminal(["."], tmp_path)
    assert b"\x1b[" not in _on_a_terminal(["."], tmp_path, NO_COLOR="1")
    piped = subprocess.run([sys.executable, "-m", "gillint", "."], cwd=tmp_path, capture_output=True,
                           env={**os.environ, "FORCE_COLOR": "1"})
    assert b"\x1b[1mbad.py\x1b[0m" in piped.stdout
    assert b"\x1b[" not in gillint(".", cwd=tmp_path).stdout  # a pipe: no colour


def test_unwritable_output_file_fails_before_the_analysis(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    for target in ("no/such/dir/report.json", "."):
        result = gillint("--output-file", target, "--format", "json", ".", cwd=tmp_path)
        lines = result.stderr.decode().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("gillint: error: cannot write")
        assert "internal error" not in lines[0] and result.stdout == b""
        assert not (tmp_path / ".gillint_cache").exists()  # nothing was analysed


def test_output_piped_into_a_reader_that_stops_early(tmp_path: Path) -> None:
    write(tmp_path, "many.py", "import multiprocessing\n" + "multiprocessing.Pool(2)\n" * 3000)
    pipeline = f"{shlex_quote(sys.executable)} -m gillint --no-cache . | head -1"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], cwd=tmp_path, capture_output=True, timeout=300)
    assert result.stdout.decode().startswith("many.py:2:1: GIL401") and result.stdout.count(b"\n") == 1
    assert result.stderr == b"" and result.returncode == 1  # findings: exit 1, said quietly
    listing = subprocess.run(["bash", "-c", f"{shlex_quote(sys.executable)} -m gillint --list-rules | head -1"],
                             capture_output=True, timeout=120)
    assert listing.stderr == b""


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


# -- 7. configuration hygiene -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[tool.gillint]\nselct = ["GIL"]\n', "unknown key 'selct' in [tool.gillint]; did you mean 'select'?"),
        ('[tool.gillint]\nextend-exclud = ["x"]\n', "did you mean 'extend-exclude'?"),
        ('[tool.gillint]\nrespect-gitignore = "yes"\n', "respect-gitignore: expected bool, got str"),
        ('[tool.gillint.verify]\ntimout = 3\n', "[tool.gillint.verify]: unknown key 'timout'"),
        ('[tool.gillint.verify]\ntimeout = "3"\n', "[tool.gillint.verify] timeout: expected float"),
        ('[tool.gillint.verify]\nbudget = -1\n', "budget must be positive"),
    ],
)
def test_config_errors_at_load(tmp_path: Path, content: str, message: str) -> None:
    """Every table is checked when the file is read, not when --verify happens to run."""
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "mod.py", CLEAN)
    result = gillint(".", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr.decode(), result.stderr
    assert str(tmp_path / "pyproject.toml") in result.stderr.decode()


def test_old_cache_files_are_pruned(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", UNGUARDED)
    cache = tmp_path / ".gillint_cache"
    cache.mkdir()
    month_ago = time.time() - 40 * 86400
    stale = [cache / f"run-old{i}.json" for i in range(3)]
    recent = [cache / f"run-recent{i}.json" for i in range(12)]
    for number, path in enumerate([*stale, *recent]):
        path.write_text("{}")
        moment = month_ago if path in stale else time.time() - 3600 - number
        os.utime(path, (moment, moment))
    assert gillint(".", cwd=tmp_path).returncode == 1
    left = sorted(path.name for path in cache.glob("run-*.json"))
    assert len(left) == 8 and not any(name.startswith("run-old") for name in left)
    assert "run-recent3.json" in left and "run-recent11.json" not in left  # the most recently used stay
