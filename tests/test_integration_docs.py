"""docs/integrations.md and the README say what the tools really do: their snippets are run or checked."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from gillint.frontends.cli import build_parser

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def blocks(text: str, language: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)]


def gillint_commands() -> list[list[str]]:
    commands = []
    for block in blocks(DOC, "yaml") + blocks(DOC, "sh") + blocks(README, "sh"):
        for line in block.splitlines():
            command = re.sub(r"^\s*(- run:\s*|run:\s*|-\s+)", "", line).split("#")[0].strip()
            if command.startswith("gillint "):
                commands.append(shlex.split(command)[1:])
    return commands


def test_hook_definition() -> None:
    (hook,) = HOOKS
    assert hook["id"] == "gillint" and hook["entry"] == "gillint --force-exclude" and hook["language"] == "python"
    assert hook["types"] == ["python"] and hook["require_serial"] is True


def test_pre_commit_snippets_use_the_hook() -> None:
    configs = [yaml.safe_load(b) for b in blocks(DOC, "yaml") + blocks(README, "yaml") if "repos:" in b]
    assert configs
    for config in configs:
        repo = config["repos"][0]
        assert repo["rev"] and repo["hooks"][0]["id"] == HOOKS[0]["id"]


def test_workflow_snippets_are_valid_yaml() -> None:
    workflow = next(yaml.safe_load(b) for b in blocks(DOC, "yaml") if "upload-sarif" in b)
    steps = workflow["jobs"]["gillint"]["steps"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert any("--output-file gillint.sarif" in s.get("run", "") for s in steps)
    assert upload["with"]["sarif_file"] == "gillint.sarif"
    assert workflow["permissions"]["security-events"] == "write"
    gitlab = next(yaml.safe_load(b) for b in blocks(DOC, "yaml") if "codequality" in b)
    report = gitlab["gillint"]["artifacts"]["reports"]["codequality"]
    assert any(f"--output-file {report}" in line for line in gitlab["gillint"]["script"])


@pytest.mark.parametrize("arguments", gillint_commands(), ids=lambda a: " ".join(a))
def test_documented_commands_parse(arguments: list[str]) -> None:
    build_parser().parse_args(arguments)  # exits (fails the test) on an unknown option or format


@pytest.mark.integration
def test_flake8_config_snippet(tmp_path: Path) -> None:
    """The documented flake8 config, in a project: GIL401 is reported in src, not under tests/."""
    (config,) = blocks(DOC, "ini")
    (tmp_path / "setup.cfg").write_text(config, encoding="utf-8")
    for name in ("app.py", "tests/test_app.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("import multiprocessing\n\npool = multiprocessing.Pool(2)\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "flake8", "--select", "GIL", "."], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert [line.split(":")[0] for line in run.stdout.splitlines()] == ["./app.py"], run.stdout + run.stderr
