"""One probe per rule: build the sandbox files and spec from a finding, then read the verdict.

Each probe reads only the finding's ``evidence`` (its keys are listed on each rule's page)
and the source file itself; a missing key gives ``skipped`` with the reason, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import libcst as cst

from gillint.findings import Finding
from gillint.verify.extract import (
    OBJECT_NAME,
    ExtractionError,
    SourceModule,
    expression_names,
    literal_arguments,
    wrapper,
)
from gillint.verify.sandbox import SandboxRun
from gillint.verify.verdict import Status, Verification, skipped

#: Stand-ins for GIL202 arguments whose value cannot be rebuilt: a fresh object of the reported
#: kind (the GIL202 evidence vocabulary). Pools have none: making one would start processes.
STAND_INS = {
    "open file": "open(__file__)",
    "lock": "__import__('threading').Lock()",
    "thread queue": "__import__('queue').Queue()",
    "sqlite3 connection": "__import__('sqlite3').connect(':memory:')",
    "sqlite3 cursor": "__import__('sqlite3').connect(':memory:').cursor()",
    "csv reader or writer": "__import__('csv').reader([])",
    "logging handler": "__import__('logging').StreamHandler()",
    "thread-local data": "__import__('threading').local()",
    "generator": "(item for item in ())",
    "multiprocessing lock": "__import__('multiprocessing').Lock()",
    "multiprocessing queue": "__import__('multiprocessing').Queue()",
    "multiprocessing shared value": "__import__('multiprocessing').Value('i', 0)",
}


#: Threads a race probe starts at most (the sandbox caps tasks at 32).
MAX_RACE_THREADS = 16


@dataclass(frozen=True)
class Plan:
    """A probe ready to run: files for the sandbox, the harness spec, and how to read the result."""

    files: dict[str, str]
    spec: dict[str, Any]
    timing: bool
    read: Callable[[dict[str, Any]], Verification]
    import_paths: tuple[str, ...] = ()


def plan(finding: Finding, arguments: Mapping[str, Any], window: float) -> Plan | Verification:
    """The probe for ``finding``, or a ``skipped`` verdict saying why there is none."""
    builder = BUILDERS.get(finding.code)
    if builder is None:
        return skipped(f"no probe for {finding.code}")
    try:
        return builder(finding, arguments, window)
    except ExtractionError as error:
        return skipped(str(error))
    except (KeyError, TypeError, ValueError) as error:
        return skipped(f"evidence incomplete ({type(error).__name__}: {error})")
    except (OSError, RecursionError, SyntaxError) as error:
        return skipped(f"could not build the snippet ({type(error).__name__}: {error})")


def finish(plan: Plan, run: SandboxRun) -> Verification:
    """Turn a sandbox run into a verdict (failures of the run itself are inconclusive)."""
    result = run.result
    if result is None:
        return Verification(Status.INCONCLUSIVE, run.failure, {"output": run.output[-2000:]})
    python, cpus = result.get("python", ""), int(result.get("cpus", 0))
    if result.get("outcome") == "error":
        verdict = Verification(Status.INCONCLUSIVE, f"the snippet failed: {result.get('error', '')[:300]}",
                               {"traceback": result.get("traceback", "")})
    else:
        try:
            verdict = plan.read(result)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            verdict = Verification(Status.INCONCLUSIVE, f"unexpected probe result ({type(error).__name__}: {error})",
                                   {"result": result})
    return Verification(verdict.status, verdict.summary, verdict.evidence, python, cpus, verdict.chart)


# -- building ----------------------------------------------------------------------------------


def _evidence(finding: Finding) -> dict[str, Any]:
    """The finding's evidence as its JSON keys say it (see each rule's page), keys without a value left out."""
    found = finding.evidence.to_dict() if finding.evidence is not None else {}
    return {key: value for key, value in found.items() if value is not None}


def _source(path_text: Any) -> SourceModule:
    path = Path(str(path_text))
    if not path.is_file():
        raise ExtractionError(f"source file {path} not found")
    return SourceModule.load(path)


def _function_target(finding: Finding, arguments: Mapping[str, Any]) -> tuple[SourceModule, str, list[str]]:
    evidence = _evidence(finding)
    target = evidence.get("target") or {"name": evidence["function"], "path": evidence["function_path"]}
    if "path" not in target:
        raise ExtractionError(f"target `{target['name']}` is not project code")
    name, module = str(target["name"]), _source(target["path"])
    function = module.function(name)
    if function is None:
        raise ExtractionError(f"target `{name}` is not a module-level function of {target['path']}")
    how = f"give them in [tool.gillint.verify.arguments] as {name} = [\"...\"]"
    given = arguments.get(name)
    if given is not None:
        if not isinstance(given, list) or not all(isinstance(item, str) for item in given):
            raise ExtractionError(f"[tool.gillint.verify.arguments] {name}: expected a list of expression strings")
        return module, name, given
    texts = literal_arguments(module, [str(text) for text in evidence["arguments"]])
    if texts is None:
        raise ExtractionError(f"arguments are not literal ({how})")
    texts = _one_call(str((evidence.get("dispatch") or {}).get("api", "")), texts)
    required = _required_positional(function)
    if len(texts) < required and not _is_starred(texts):
        raise ExtractionError(f"the dispatch site passes {len(texts)} argument(s), `{name}` needs {required} ({how})")
    return module, name, texts


def _one_call(api: str, texts: list[str]) -> list[str]:
    """The arguments of ONE call: a pool map sends the items of its iterables, starmap unpacks them."""
    method = api.rpartition(".")[2]
    if method.startswith("starmap") and len(texts) == 1:
        return [f"*next(iter({texts[0]}))"]
    if "map" in method:
        return [f"next(iter({text}))" for text in texts]
    return texts


def _is_starred(texts: list[str]) -> bool:
    return len(texts) == 1 and texts[0].startswith("*")


def _required_positional(function: cst.FunctionDef) -> int:
    params = function.params
    return sum(1 for param in (*params.posonly_params, *params.params) if param.default is None)


def _shared_name(module: SourceModule, shared: str) -> str:
    """The module-level name in ``global 'hits'``, ``module-level 'cache'`` or a bare ``hits``."""
    found = re.search(r"(?:global|module-level)\s+'?([A-Za-z_]\w*)'?\s*$", shared)
    name = found.group(1) if found else shared.strip()
    if name.isidentifier() and name in module.bound:
        return name
    raise ExtractionError(f"shared state `{shared}` is not a module-level name (only module globals are probed)")


def _files(module: SourceModule, code: str) -> tuple[dict[str, str], tuple[str, ...]]:
    return {"snippet.py": code}, (str(module.import_root),)


def build_timing(finding: Finding, arguments: Mapping[str, Any], window: float) -> Plan:
    module, name, texts = _function_target(finding, arguments)
    files, paths = _files(module, module.snippet([name, *_names(texts)]))
    spec = {"probe": "timing", "function": name, "arguments": texts, "window": window}
    return Plan(files, spec, True, read_timing, paths)


def build_race(finding: Finding, arguments: Mapping[str, Any], window: float) -> Plan:
    module, name, texts = _function_target(finding, arguments)
    shared = _shared_name(module, str(_evidence(finding)["shared"]))
    threads = min(max(int(_evidence(finding).get("workers") or 4), 2), MAX_RACE_THREADS)
    files, paths = _files(module, module.snippet([name, shared, *_names(texts)]))
    spec = {"probe": "race", "function": name, "arguments": texts, "shared": shared,
            "threads": threads, "attempts": 3, "trace_seconds": window}
    return Plan(files, spec, False, read_race, paths)


def build_pickle(finding: Finding, arguments: Mapping[str, Any], window: float) -> Plan:
    evidence = _evidence(finding)
    # The finding points at the expression sent (which may be passed on to a dispatch elsewhere).
    module, line = _source(finding.path), finding.line
    expression = str(evidence["callable"] if finding.code == "GIL201" else evidence["argument"])
    note = "rebuilt from its source"
    try:
        tail = wrapper(module, line, expression, placeholders=finding.code == "GIL201")
    except ExtractionError:
        kind = str(evidence.get("kind", ""))
        if finding.code != "GIL202" or kind not in STAND_INS:
            raise
        tail, note = f"{OBJECT_NAME} = {STAND_INS[kind]}\n", f"a fresh {kind} stands in for `{expression}`"
    files, paths = _files(module, module.snippet([], tail))
    spec = {"probe": "pickle", "object": OBJECT_NAME, "task": _pickled_as_task(evidence)}
    return Plan(files, spec, False, lambda result: read_pickle(result, expression, note), paths)


def _pickled_as_task(evidence: Mapping[str, Any]) -> bool:
    """Pool/executor tasks are pickled outside process start-up; Process args and initargs while spawning.

    The difference matters: multiprocessing locks, queues and shared values may be passed while
    spawning (inheritance) but not as task arguments.
    """
    methods = evidence.get("start_methods")
    if isinstance(methods, list):
        return "fork" in methods
    api = str((evidence.get("dispatch") or {}).get("api", ""))
    return "Process" not in api and "initializer" not in api


def build_import(finding: Finding, arguments: Mapping[str, Any], window: float) -> Plan:
    path = Path(finding.path)
    if not path.is_file():
        raise ExtractionError(f"source file {path} not found")
    copy = f"module/{path.name}"
    files = {copy: path.read_text(encoding="utf-8", errors="replace")}
    return Plan(files, {"probe": "import", "module_path": copy}, False, read_import,
                (str(path.resolve().parent),))


def _names(texts: list[str]) -> set[str]:
    return {name for text in texts for name in expression_names(text.lstrip("*"))}


BUILDERS: dict[str, Callable[[Finding, Mapping[str, Any], float], Plan]] = {
    "GIL101": build_timing,
    "GIL201": build_pickle,
    "GIL202": build_pickle,
    "GIL301": build_race,
    "GIL401": build_import,
}


# -- reading -----------------------------------------------------------------------------------


def read_timing(result: dict[str, Any]) -> Verification:
    k = int(result["k"])
    serial, threads, processes = (float(result[m]) for m in ("serial", "threads", "processes"))
    free_threaded = "free-threaded" in result.get("python", "")
    if result["mode"] == "complete":
        thread_x, process_x = serial / threads, serial / processes
        text = (f"serial {serial:.2f} s, {k} threads {threads:.2f} s ({thread_x:.2f}x), "
                f"{k} processes {processes:.2f} s ({process_x:.2f}x)")
        unit = " s"
    else:
        thread_x, process_x = threads / max(serial, 1e-9), processes / max(serial, 1e-9)
        text = (f"CPU-s per wall-s over a {result['window']:.1f} s window: serial {serial:.2f}, "
                f"{k} threads {threads:.2f} ({thread_x:.2f}x), {k} processes {processes:.2f} ({process_x:.2f}x)")
        unit = " CPU-s/s"
    evidence = {**{key: result[key] for key in result if key not in ("python", "cpus", "outcome")},
                "thread_speedup": round(thread_x, 3), "process_speedup": round(process_x, 3)}
    chart = tuple((label, value, f"{value:.2f}{unit}")
                  for label, value in (("serial", serial), (f"{k} threads", threads), (f"{k} processes", processes)))
    rates = (float(result.get("serial_cpu_rate", 1.0)), float(result.get("threads_cpu_rate", thread_x)))
    status, text = _timing_status(k, thread_x, process_x, rates, text, free_threaded,
                                  result["mode"] == "complete" and serial < 0.05)
    return Verification(status, text, evidence, chart=chart)


def _timing_status(k: int, thread_x: float, process_x: float, rates: tuple[float, float], text: str,
                   free_threaded: bool, too_short: bool) -> tuple[Status, str]:
    """Decided from what was measured in the same run, never by a time threshold alone.

    Processes must scale (else there is no spare core to show anything). Whether threads ran in
    parallel is read from the CPU-seconds per wall-second of the threaded run: a neighbour that
    slows the serial run makes wall-clock speed-ups lie, but cannot push a GIL-bound run above one
    core. A wall-clock speed-up with little CPU use means the work waits (I/O, sleep) instead.
    """
    scales, flat = 1 + 0.4 * (k - 1), 1 + 0.2 * (k - 1)
    serial_rate, threads_rate = rates
    if k < 2:
        return Status.INCONCLUSIVE, f"one CPU available, nothing can run in parallel; {text}"
    if too_short:
        return Status.INCONCLUSIVE, f"too short to measure; {text}"
    if process_x < scales:
        return Status.INCONCLUSIVE, f"{text}; processes did not scale either (no spare core?)"
    if threads_rate >= scales:
        why = "free-threaded build" if free_threaded else "the work releases the GIL"
        return Status.REFUTED, f"{text}; threads scale too, using {threads_rate:.2f} CPUs ({why})"
    if thread_x >= scales and serial_rate < 0.2 and threads_rate < 0.5:  # CPU-bound work gets more, even shared
        return Status.REFUTED, f"{text}; threads overlap the waiting (serial used {serial_rate:.2f} CPU): not CPU-bound"
    if threads_rate <= flat:
        return Status.CONFIRMED, text
    return Status.INCONCLUSIVE, f"{text}; threads partly scale ({threads_rate:.2f} CPUs)"


def read_race(result: dict[str, Any]) -> Verification:
    expected, plain, forced = result["expected"], result["plain"], result["forced"]
    lost = [value for value in forced if value != expected]
    threads = result["threads"]
    evidence = {key: result[key] for key in ("expected", "plain", "forced", "threads")}
    hid = "it hid the race" if plain == expected else "it lost updates too"
    if lost or plain != expected:
        observed = lost[0] if lost else plain
        return Verification(Status.CONFIRMED,
                            f"expected {expected} (serial), {threads} threads with forced preemption gave "
                            f"{observed}; a plain threaded run gave {plain} ({hid})", evidence)
    return Verification(Status.INCONCLUSIVE,
                        f"no lost update in {len(forced)} forced runs on {threads} threads (expected {expected})",
                        evidence)


def read_pickle(result: dict[str, Any], expression: str, note: str) -> Verification:
    evidence = {key: result[key] for key in result if key not in ("python", "cpus")}
    sent = f"`{expression}` ({result.get('type', '?')}; {note})"
    if result["outcome"] == "unpicklable":
        error = f"{result['error_type']}: {result['error']}"
        if result.get("in_child"):
            return Verification(Status.CONFIRMED, f"{sent} pickled, but a spawn child could not unpickle it: {error}",
                                evidence)
        return Verification(Status.CONFIRMED, f"sending {sent} to a spawn child: {error}", evidence)
    if result["outcome"] == "picklable":
        return Verification(Status.REFUTED, f"{sent} was pickled and received by a spawn child", evidence)
    return Verification(Status.INCONCLUSIVE, f"the spawn child failed (exit code {result.get('exitcode')})", evidence)


def read_import(result: dict[str, Any]) -> Verification:
    evidence = {key: result[key] for key in result if key not in ("python", "cpus")}
    outcome = result["outcome"]
    if outcome == "started":
        where = f" at line {result['line']}" if result.get("line") else ""
        return Verification(Status.CONFIRMED, f"importing it as __mp_main__ (as a spawned child does) starts a "
                            f"process{where} ({result['process']}.start intercepted)", evidence)
    if outcome == "imported":
        return Verification(Status.REFUTED, "imported as __mp_main__ without starting a process", evidence)
    return Verification(Status.INCONCLUSIVE,
                        f"the import failed before any process start: {result.get('error', '')[:300]}", evidence)


def window_for(timeout: float) -> float:
    """How long each GIL101 mode may run: the time box leaves room for start-up and three modes."""
    return max(0.3, min(1.5, timeout / 6))

