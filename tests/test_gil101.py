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


HELPERS = """
import json
from concurrent.futures import ThreadPoolExecutor

def load_rows(path):
    with open(path) as handle:
        return json.load(handle)

def summarise(rows):
    totals = {}
    for row in rows:
        for key, value in row.items():
            totals[key] = totals.get(key, 0) + value
    return totals

def job(path):
    return summarise(load_rows(path))

def run(paths):
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(job, paths))
"""


def test_a_mixed_worker_is_timed_through_the_function_of_its_hot_loop(tmp_path: Path) -> None:
    from gillint.verify.probes import Context, Plan, plan

    path = tmp_path / "mod.py"
    path.write_text(HELPERS)
    (finding,) = _gil101(HELPERS, tmp_path)
    evidence = finding.to_dict()["evidence"]
    assert evidence["target"]["name"] == "job" and evidence["hot_function"] == {
        "name": "summarise", "path": str(path), "line": 9}
    built = plan(finding, Context(arguments={"summarise": ["[{'a': 1}] * 1000"]}, argv=(), window=1.0, timeout=5.0))
    assert isinstance(built, Plan) and built.spec["target"] == {"name": "summarise"}
    assert built.spec["arguments"] == [{"expr": "[{'a': 1}] * 1000"}]


def test_a_confirmed_timing_names_the_cpus_the_threads_used() -> None:
    from gillint.verify.probes import read_timing
    from gillint.verify.verdict import Status

    result = {"mode": "complete", "k": 2, "serial": 0.62, "threads": 0.44, "processes": 0.33,
              "serial_cpu_rate": 0.9, "threads_cpu_rate": 1.0, "python": "CPython 3.11.7 (GIL)", "cpus": 2}
    verdict = read_timing(result)
    # 1.41x from threads reads as a speed-up; the CPU rate says they took turns (the serial run was slowed).
    assert verdict.status is Status.CONFIRMED and "2 threads 0.44 s (1.41x)" in verdict.summary
    assert "threads used 1.00 CPUs between them" in verdict.summary
