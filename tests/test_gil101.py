"""GIL101 beyond the fixtures: the user's extensions of the effects model, and the finding's evidence."""

from __future__ import annotations

from pathlib import Path

from gillint.config import Config, rule_options
from gillint.engine.run import lint_source

# ``fastlib`` is unknown to gillint: the rule stays silent until the user says what it does.
SOURCE = """
import fastlib as fl
from concurrent.futures import ThreadPoolExecutor

def work(items):
    total = 0
    for item in items:
        total += fl.score(item)
    return total

def run(batches):
    with ThreadPoolExecutor(4) as executor:
        return list(executor.map(work, batches))
"""


def _gil101(source: str, tmp_path: Path, **settings: tuple[str, ...]) -> list:
    defaults = {o.attribute: o.default for o in rule_options()}
    config = Config(select=("GIL101",), settings={**defaults, **settings})
    return lint_source(source, str(tmp_path / "mod.py"), config)


def test_unknown_calls_keep_the_rule_silent(tmp_path: Path) -> None:
    assert _gil101(SOURCE, tmp_path) == []


def test_extend_cpu_bound_matches_whatever_the_alias(tmp_path: Path) -> None:
    (finding,) = _gil101(SOURCE, tmp_path, extend_cpu_bound=("fastlib.score",))
    assert finding.line == 13 and "'work'" in finding.message


def test_extend_releases_gil_overrides_a_cpu_bound_entry(tmp_path: Path) -> None:
    both = _gil101(SOURCE, tmp_path, extend_cpu_bound=("fastlib",), extend_releases_gil=("fastlib.score",))
    assert both == []
    builtin = SOURCE.replace("fl.score(item)", "sum(item)")
    assert len(_gil101(builtin, tmp_path)) == 1
    assert _gil101(builtin, tmp_path, extend_releases_gil=("builtins.sum",)) == []


def test_evidence_contract(tmp_path: Path) -> None:
    (finding,) = _gil101(SOURCE, tmp_path, extend_cpu_bound=("fastlib.score",))
    evidence = finding.to_dict()["evidence"]  # the JSON contract
    assert evidence["dispatch"] == {"api": "ThreadPoolExecutor.map", "path": str(tmp_path / "mod.py"), "line": 13}
    assert evidence["target"] == {"name": "work", "path": str(tmp_path / "mod.py"), "line": 5}
    assert evidence["arguments"] == ["batches"] and evidence["workers"] == 4
    assert evidence["evidence_line"] == 7 and evidence["confidence"] == "high"
    assert evidence["evidence"] == "a pure-Python loop"


MIXED = """
import json
from concurrent.futures import ThreadPoolExecutor

def encode_shard(path):
    with open(path) as handle:
        stories = json.load(handle)
    tokens = []
    for story in stories:
        tokens.extend(ord(c) for c in story)
    return tokens

def run(paths):
    with ThreadPoolExecutor(8) as executor:
        return list(executor.map(encode_shard, paths))
"""


def test_mixed_worker_names_the_wait_and_the_loop(tmp_path: Path) -> None:
    (finding,) = _gil101(MIXED, tmp_path)
    assert finding.line == 15
    assert "waits on open() (line 6)" in finding.message
    assert "a pure-Python loop over 'stories' (line 9)" in finding.message
    evidence = finding.to_dict()["evidence"]
    assert evidence["kind"] == "mixed" and evidence["evidence_line"] == 9
    assert evidence["waits"] == {"line": 6, "path": str(tmp_path / "mod.py"), "what": "open()"}


def test_a_declared_wait_is_not_weighed(tmp_path: Path) -> None:
    # gillint does not know how long a call the user declared as waiting takes: no mixed finding.
    source = MIXED.replace("json.load(handle)", "fastlib.fetch(handle)").replace("import json", "import fastlib")
    assert _gil101(source, tmp_path) == []
    assert _gil101(source, tmp_path, extend_releases_gil=("fastlib.fetch",)) == []


def test_cpu_bound_worker_evidence_kind(tmp_path: Path) -> None:
    (finding,) = _gil101(SOURCE, tmp_path, extend_cpu_bound=("fastlib.score",))
    evidence = finding.to_dict()["evidence"]
    assert evidence["kind"] == "cpu" and evidence["waits"] is None
