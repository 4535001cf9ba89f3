"""The pre-commit hook, run for real: a temporary git repository commits a file with a finding.

pre-commit installs the hook from a git repository into its own virtual environment (this needs
PyPI for gillint's dependencies). The hook repository is this checkout's working tree, committed
into a temporary repository, so uncommitted changes are what is tested (as ``try-repo`` does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHECKOUT = Path(__file__).resolve().parent.parent
BAD = "import multiprocessing\n\npool = multiprocessing.Pool(2)\n"
GOOD = textwrap.dedent(
    """\
    import multiprocessing

    if __name__ == "__main__":
        pool = multiprocessing.Pool(2)
    """
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "gillint tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gillint tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}

if shutil.which("git") is None:  # pragma: no cover - git is on every CI machine
    pytest.skip("git is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One pre-commit cache for the module: the hook environment is built once."""
    environment = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}
    environment.pop("PRE_COMMIT", None)
    environment.pop("GIT_DIR", None)
    environment.pop("GIT_INDEX_FILE", None)
    return environment


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)


def git(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(["git", *args], cwd, env)


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pre_commit", *args], cwd, env)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[Path, str]:
    """This checkout's working tree (tracked and untracked, not ignored) committed to a fresh repository."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], CHECKOUT, env)
    if listed.returncode != 0:
        pytest.skip("this checkout is not a git repository")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in filter(None, listed.stdout.split("\0")):
        source = CHECKOUT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hook under test"]):
        assert git(repo, env, *args).returncode == 0
    rev = git(repo, env, "rev-parse", "HEAD").stdout.strip()
    return repo, rev


def user_repo(root: Path, env: dict[str, str], config: str) -> Path:
    assert git(root, env, "init", "-q").returncode == 0
    (root / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    assert git(root, env, "add", ".pre-commit-config.yaml").returncode == 0
    return root


def test_commit_with_a_finding_fails_then_passes_when_fixed(
    tmp_path: Path, env: dict[str, str], hook_repo: tuple[Path, str]
) -> None:
    """The README's `.pre-commit-config.yaml`, with `repo:` and `rev:` pointing at this code."""
    repo_path, rev = hook_repo
    config = f"repos:\n  - repo: {repo_path.as_posix()}\n    rev: {rev}\n    hooks:\n      - id: gillint\n"
    root = user_repo(tmp_path, env, config)
    installed = pre_commit(root, env, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    (root / "app.py").write_text(BAD, encoding="utf-8")
    git(root, env, "add", "app.py")
    refused = git(root, env, "commit", "-m", "add app")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "app.py:3:8: GIL401" in refused.stdout + refused.stderr
    assert git(root, env, "rev-parse", "--verify", "HEAD").returncode != 0  # nothing was committed

    (root / "app.py").write_text(GOOD, encoding="utf-8")
    git(root, env, "add", "app.py")
    accepted = git(root, env, "commit", "-m", "add app")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "gillint" in accepted.stdout + accepted.stderr and "Passed" in accepted.stdout + accepted.stderr


def test_extend_exclude_applies_to_committed_files(
    tmp_path: Path, env: dict[str, str], hook_repo: tuple[Path, str]
) -> None:
    """The hook passes --force-exclude: a file under `extend-exclude` is not linted though pre-commit names it."""
    repo_path, rev = hook_repo
    config = f"repos:\n  - repo: {repo_path.as_posix()}\n    rev: {rev}\n    hooks:\n      - id: gillint\n"
    root = user_repo(tmp_path, env, config)
    (root / "pyproject.toml").write_text('[tool.gillint]\nextend-exclude = ["migrations/"]\n', encoding="utf-8")
    (root / "app" / "migrations").mkdir(parents=True)
    (root / "app" / "migrations" / "0001_initial.py").write_text(BAD, encoding="utf-8")
    (root / "app" / "views.py").write_text(BAD, encoding="utf-8")
    git(root, env, "add", "-A")
    failed = pre_commit(root, env, "run", "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "app/views.py:3:8: GIL401" in failed.stdout and "0001_initial" not in failed.stdout

    (root / "app" / "views.py").write_text(GOOD, encoding="utf-8")
    git(root, env, "add", "-A")
    passed = pre_commit(root, env, "run", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_try_repo_on_this_checkout(tmp_path: Path, env: dict[str, str], hook_repo: tuple[Path, str]) -> None:
    """`pre-commit try-repo <checkout>` (HEAD plus a shadow of uncommitted changes) runs the hook.

    try-repo's shadow holds changes to tracked files only; while the checkout has untracked files
    (new modules not yet added), the snapshot of the working tree stands in for it.
    """
    untracked = run(["git", "ls-files", "--others", "--exclude-standard"], CHECKOUT, env).stdout.strip()
    source = hook_repo[0] if untracked else CHECKOUT
    root = user_repo(tmp_path, env, "repos: []\n")
    (root / "app.py").write_text(BAD, encoding="utf-8")
    (root / "other.txt").write_text("not python: the hook must not see it\n", encoding="utf-8")
    git(root, env, "add", "app.py", "other.txt")
    failed = pre_commit(root, env, "try-repo", str(source), "gillint", "--all-files", "--verbose")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "app.py:3:8: GIL401" in failed.stdout
    assert "other.txt" not in failed.stdout.split("====")[-1]

    (root / "app.py").write_text(GOOD, encoding="utf-8")
    git(root, env, "add", "app.py")
    passed = pre_commit(root, env, "try-repo", str(source), "gillint", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
