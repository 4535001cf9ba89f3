"""One probe per rule: a plan built from the finding, and the verdict read from what the probe showed.

Each probe reads only the finding's evidence (the rule's typed dataclass, whose fields are listed on
its page), through :func:`evidence`, and the source file itself; a missing value gives ``skipped``
with the reason, never an error. Verdict texts are gillint's own words and
numbers; the only text a probe contributes is a short, cleaned exception message or type name.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from gillint.findings import Finding
from gillint.verify.drivers import SWITCH_INTERVAL
from gillint.verify.extract import OBJECT_NAME, ExtractionError, SourceModule, wrapper
from gillint.verify.stand_ins import OBJECTS
from gillint.verify.targets import Request, Target, resolve, shared_state
from gillint.verify.verdict import Status, Verification, skipped

#: Threads a race probe starts at most (the sandbox caps tasks at 32).
MAX_RACE_THREADS = 16
_MISSING = object()


def evidence(finding: Finding, *path: str, default: Any = _MISSING) -> Any:
    """One value of the finding's evidence, by field path (``evidence(f, "target", "name")``).

    A field that is absent or a part that is None raises KeyError unless ``default`` is given.
    """
    value: Any = finding.evidence
    for key in path:
        value = value.get(key, _MISSING) if isinstance(value, Mapping) else getattr(value, key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise KeyError(".".join(path))
            return default
    return value


@dataclass(frozen=True)
class Plan:
    """A probe ready to run: its driver, the files and spec for the sandbox, how to read the result."""

    kind: str  # a drivers.DRIVERS key
    files: dict[str, str]
    spec: dict[str, Any]
    read: Callable[[dict[str, Any]], Verification]
    import_paths: tuple[str, ...] = ()
    stand_ins: int = 0

    @property
    def timing(self) -> bool:
        """Timing probes run one at a time, after all others: they never overlap anything gillint starts."""
        return self.kind == "timing"

    @property
    def key(self) -> str:
        """Equal for probes that would run the very same thing (their observation is shared)."""
        return json.dumps([self.kind, self.files, self.spec, self.import_paths], sort_keys=True)


@dataclass(frozen=True)
class Context:
    """What builders need besides the finding."""

    arguments: Mapping[str, Any]
    argv: tuple[str, ...]
    window: float
    timeout: float


def plan(finding: Finding, context: Context) -> Plan | Verification:
    """The probe for ``finding``, or a ``skipped`` verdict saying why there is none."""
    builder = BUILDERS.get(finding.code)
    if builder is None:
        return skipped(f"no probe for {finding.code}")
    try:
        return builder(finding, context)
    except ExtractionError as error:
        return skipped(str(error))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return skipped(f"evidence incomplete ({type(error).__name__}: {error})")
    except (OSError, RecursionError, SyntaxError) as error:
        return skipped(f"could not build the snippet ({type(error).__name__}: {error})")


def finish(plan: Plan, observation: dict[str, Any], cpus: int) -> Verification:
    """The verdict: a failure of the run itself is inconclusive, otherwise the probe's reading."""
    outcome = observation.get("outcome")
    failure = _failure(observation)
    if failure:
        verdict = Verification(Status.INCONCLUSIVE, failure, {"outcome": outcome})
    else:
        try:
            verdict = plan.read(observation)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            verdict = Verification(Status.INCONCLUSIVE, f"unexpected probe result ({type(error).__name__})",
                                   {"outcome": outcome})
    return Verification(verdict.status, verdict.summary, verdict.evidence, observation.get("python", ""), cpus,
                        verdict.chart)


def _failure(observation: dict[str, Any]) -> str:
    outcome = observation.get("outcome")
    if outcome == "timed-out":
        return (f"timed out after {observation.get('elapsed', 0):.1f} s (the probe was killed; "
                "--verify-timeout raises the limit)")
    if outcome == "killed":
        name = observation.get("signal", "?")
        return f"killed by {name}" + (" (CPU time limit)" if name == "SIGXCPU" else "")
    if outcome == "failed":
        return f"the snippet failed: {observation.get('error', '')}"
    if outcome == "ended":
        return f"the probe exited with status {observation.get('exitcode')} before reporting"
    if outcome == "malformed":
        return "the probe sent a malformed result"
    return ""


# -- building ----------------------------------------------------------------------------------


def _request(finding: Finding) -> Request:
    name = evidence(finding, "target", "name", default=None)
    path = evidence(finding, "target", "path", default=None)
    if name is None:  # GIL301 may name only the function that mutates
        name, path = evidence(finding, "function"), evidence(finding, "function_path")
    return Request(
        name=str(name), path=None if path is None else str(path),
        line=int(evidence(finding, "target", "line", default=None) or finding.line),
        dispatch_path=str(evidence(finding, "dispatch", "path", default=None) or finding.path),
        dispatch_line=int(evidence(finding, "dispatch", "line", default=None) or finding.line),
        api=str(evidence(finding, "dispatch", "api", default="") or ""),
        arguments=tuple(str(text) for text in evidence(finding, "arguments")),
    )


def _call_files(target: Target, extra_roots: Sequence[str] = ()) -> tuple[dict[str, str], tuple[str, ...]]:
    return {"snippet.py": target.snippet(extra_roots)}, (str(target.module.import_root),)


def build_timing(finding: Finding, context: Context) -> Plan:
    request, note = _request(finding), ""
    hot = _hot_loop_request(finding, request)
    if hot is not None:  # a mixed worker: time the function that holds its hot loop, not its wait
        request, note = hot, f"; timed '{hot.name}', which holds the mixed worker's hot loop"
    target = resolve(request, context.arguments)
    files, paths = _call_files(target)
    spec = {**target.spec, "window": context.window, "switch_interval": SWITCH_INTERVAL, "paths": list(paths)}

    def read(result: dict[str, Any]) -> Verification:
        verdict = read_timing(result, target)
        return replace(verdict, summary=verdict.summary + note)

    return Plan("timing", files, spec, read, paths, len(target.stand_ins))


def _hot_loop_request(finding: Finding, worker: Request) -> Optional[Request]:
    """For a GIL101 mixed worker whose hot loop is in another function than the worker (a helper it
    calls after its wait), a call of that function, with configured arguments or stand-ins."""
    if evidence(finding, "kind", default="cpu") != "mixed":
        return None
    name, path = evidence(finding, "hot_function", "name", default=None), evidence(finding, "hot_function", "path",
                                                                                    default=None)
    if name is None or path is None or (str(name), str(path)) == (worker.name, worker.path):
        return None
    line = int(evidence(finding, "hot_function", "line", default=None) or worker.line)
    return Request(name=str(name), path=str(path), line=line, dispatch_path=str(path), dispatch_line=line,
                   api="", arguments=())


def build_race(finding: Finding, context: Context) -> Plan:
    target = resolve(_request(finding), context.arguments)
    shared, roots = shared_state(target, str(evidence(finding, "shared")))
    threads = min(max(int(evidence(finding, "workers", default=None) or 4), 2), MAX_RACE_THREADS)
    files, paths = _call_files(target, sorted(roots))
    phase = max(0.5, (context.timeout - 1.5) / 6)  # one call, serial, threads, 3 forced runs (harness)
    spec = {**target.spec, "shared": shared, "threads": threads, "phase_seconds": phase,
            "trace_seconds": min(context.window, phase / 2), "paths": list(paths)}
    what = str(evidence(finding, "shared"))
    operation = str(evidence(finding, "operation", default="") or "")
    return Plan("race", files, spec, lambda result: read_race(result, target, what, operation), paths,
                len(target.stand_ins))


def build_pickle(finding: Finding, context: Context) -> Plan:
    # The finding points at the expression sent (which may be passed on to a dispatch elsewhere).
    module = _source(finding.path)
    expression = str(evidence(finding, "callable" if finding.code == "GIL201" else "argument"))
    note = "rebuilt from its source"
    try:
        tail = wrapper(module, finding.line, expression, placeholders=finding.code == "GIL201")
    except ExtractionError:
        kind = str(evidence(finding, "kind", default=""))
        if finding.code != "GIL202" or kind not in OBJECTS:
            raise
        tail, note = f"{OBJECT_NAME} = {OBJECTS[kind]}\n", f"a fresh {kind} stands in for `{expression}`"
    paths = (str(module.import_root),)
    spec = {"task": _pickled_as_task(finding), "paths": list(paths)}
    return Plan("pickle", {"snippet.py": module.snippet([], tail)}, spec,
                lambda result: read_pickle(result, expression, note), paths)


def _source(path_text: Any) -> SourceModule:
    path = Path(str(path_text))
    if not path.is_file():
        raise ExtractionError(f"source file {path} not found")
    return SourceModule.load(path)


def _pickled_as_task(finding: Finding) -> bool:
    """Pool/executor tasks are pickled outside process start-up; Process args and initargs while spawning.

    The difference matters: multiprocessing locks, queues and shared values may be passed while
    spawning (inheritance) but not as task arguments.
    """
    methods = evidence(finding, "start_methods", default=None)
    if isinstance(methods, list):
        return "fork" in methods
    api = str(evidence(finding, "dispatch", "api", default="") or "")
    return "Process" not in api and "initializer" not in api


def build_import(finding: Finding, context: Context) -> Plan:
    """The module itself is copied next to the harness (readable by the probe whatever its directory's
    mode); its directory is on ``sys.path`` for the modules it imports."""
    path = Path(finding.path).resolve()
    if not path.is_file():
        raise ExtractionError(f"source file {finding.path} not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    copy = f"module/{path.name}"
    paths = (str(path.parent),)
    spec = {"module_path": copy, "argv": list(context.argv), "paths": list(paths)}
    direct = not evidence(finding, "via", default=()) and _runs_on_every_import(text, finding.line)
    return Plan("import", {copy: text}, spec, lambda result: read_import(result, finding.line if direct else None),
                paths)


def _runs_on_every_import(source: str, line: int) -> bool:
    """Is ``line`` the start of a module-level statement outside any if/for/try (so every import that
    runs to its end runs it)? Then a complete import without a process start there is suspect."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, RecursionError, ValueError):
        return False
    simple = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.With)
    return any(isinstance(node, simple) and node.lineno == line for node in body)


BUILDERS: dict[str, Callable[[Finding, Context], Plan]] = {
    "GIL101": build_timing,
    "GIL201": build_pickle,
    "GIL202": build_pickle,
    "GIL301": build_race,
    "GIL401": build_import,
}


# -- reading: GIL101 ---------------------------------------------------------------------------


def read_timing(result: dict[str, Any], target: Optional[Target] = None) -> Verification:
    """Decided by the GIL wait (needs no free core); the serial / threads / processes timing, when a
    core was free, is a second figure that can only make a verdict inconclusive."""
    if "gil" not in result:  # the timing comparison alone
        return _read_speedups(result)
    gil, timing = result["gil"], result.get("timing")
    wait, interval, cpu = float(gil["wait_ms"]), float(gil["switch_interval_ms"]), gil["worker_cpu_rate"]
    figure = (f"GIL wait {wait:.1f} ms per turn: another thread waited that long for the GIL while the worker ran "
              f"(switch interval {interval:g} ms; {1000 / max(gil['ticks_per_s_alone'], 1e-9):.1f} ms per turn "
              f"without the worker)")
    used = "" if cpu is None else f"; the worker used {cpu:.2f} CPU-s per wall-s"
    speedups = _read_speedups(timing) if timing else None
    second = f"; timing: {speedups.summary}" if speedups else f"; timing skipped ({result.get('timing_skipped')})"
    notes = _notes(result, target)
    evidence = {"gil_wait_ms": wait, "switch_interval_ms": interval, "ticks_per_s": gil["ticks_per_s"],
                "ticks_per_s_alone": gil["ticks_per_s_alone"], "worker_cpu_rate": cpu,
                "first_call": gil["first_call"], "gil_window": gil["window"],
                "mode": "complete" if gil["first_call"] is not None else "window",
                "timing": "measured" if timing else result.get("timing_skipped"),
                **(dict(speedups.evidence) if speedups else {}), **_note_evidence(result, target),
                "decided_by": "gillint"}
    chart = speedups.chart if speedups else ()
    status, lead = _gil_status(wait, interval, cpu, gil["first_call"], "free-threaded" in result.get("python", ""),
                               timing)
    return Verification(status, f"{lead}: {figure}{used}{second}{notes}", evidence, chart=chart)


#: Below this many CPU-seconds per wall-second the worker is waiting (sleep, I/O), not computing. A
#: computing worker gets more even on a machine with twice as many runnable tasks as cores.
WAITING_CPU = 0.1


def _gil_status(wait: float, interval: float, cpu: Optional[float], first_call: Optional[float], free_threaded: bool,
                timing: Optional[dict[str, Any]]) -> tuple[Status, str]:
    """Held: the ticker waited at least half a switch interval per turn (and the worker ran). Free:
    at most a quarter (the rest is the scheduler's latency on a busy machine)."""
    waiting = cpu is not None and cpu < WAITING_CPU
    scales = 1 + 0.4 * (int(timing["k"]) - 1) if timing else math.inf
    threads_cpu = float(timing["threads_cpu_rate"]) if timing else 0.0
    if wait >= 0.5 * interval and not waiting:
        if threads_cpu >= scales:
            return Status.INCONCLUSIVE, f"the figures disagree: threads ran in parallel ({threads_cpu:.2f} CPUs)"
        return Status.CONFIRMED, "the worker holds the GIL"
    if wait <= 0.25 * interval:
        if free_threaded:
            return Status.REFUTED, "free-threaded build, threads run in parallel"
        if waiting and first_call is None:
            return Status.INCONCLUSIVE, ("the call neither returned nor used the CPU: it waits on something "
                                         "the probe cannot provide")
        if waiting:
            return Status.REFUTED, "threads overlap the waiting: the work waits rather than computes"
        return Status.REFUTED, "the work releases the GIL"
    return Status.INCONCLUSIVE, "the worker holds the GIL part of the time"


def _read_speedups(result: dict[str, Any]) -> Verification:
    """The serial / threads / processes comparison of one run (docs/verifier.md, "GIL101")."""
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
        return Status.CONFIRMED, f"{text}; threads used {threads_rate:.2f} CPUs between them: they took turns"
    return Status.INCONCLUSIVE, f"{text}; threads partly scale ({threads_rate:.2f} CPUs)"


def _notes(result: dict[str, Any], target: Optional[Target]) -> str:
    """``; stand-in arguments: n = the int 200000; stubbed imports: numpy`` (empty when neither)."""
    notes = ""
    choice = result.get("choice")
    if target is not None and target.stand_ins and choice:
        notes += f"; stand-in arguments: {target.describe(choice)}"
    if result.get("stubbed"):
        notes += f"; stubbed imports: {', '.join(result['stubbed'])}"
    return notes


def _note_evidence(result: dict[str, Any], target: Optional[Target]) -> dict[str, Any]:
    choice = result.get("choice")
    found: dict[str, Any] = {}
    if target is not None and target.stand_ins and choice:
        found["stand_ins"] = target.describe(choice)
    if result.get("stubbed"):
        found["stubbed"] = list(result["stubbed"])
    return found


# -- reading: GIL301 ---------------------------------------------------------------------------


def read_race(result: dict[str, Any], target: Optional[Target] = None, what: str = "the shared state",
              operation: str = "") -> Verification:
    """A race shows as a broken invariant, never as a mere difference: n calls of an accumulator
    change the shared value n times as much as one call (fewer is a lost update: read-modify-write);
    a check-then-act changes it once however often it runs (more is an act repeated), or hands every
    caller the same object (several is the check passing in several threads). Per-thread keys,
    resets and totals that grow faster break none of these. Races never refute: a clean run proves
    nothing."""
    if "free-threaded" in result.get("python", ""):  # the harness ran those threads without preempting them
        verdict = read_race({**result, "python": ""}, target, what, operation)
        summary = verdict.summary.replace("with forced preemption", "in parallel (free-threaded, not preempted)")
        return replace(verdict, summary=summary.replace("forced runs", "parallel runs"))
    notes = _notes(result, target)
    if result["one"].get("timed_out") or result.get("serial", {}).get("timed_out"):
        return Verification(Status.INCONCLUSIVE, f"the serial baseline timed out (each run is time-boxed; "
                            f"--verify-timeout raises the limit){notes}", {"decided_by": "probe"})
    n, m = int(result["threads"]), int(result["calls"])
    one, serial, plain, forced = result["one"], result["serial"], result["plain"], result["forced"]
    evidence = {"threads": n, "calls_per_thread": m, "expected": _show(serial["after"]), "plain": _show(plain["after"]),
                "forced": [_show(run.get("after")) for run in forced], **_note_evidence(result, target),
                "decided_by": "probe"}
    runs = f"{n} threads x {m} calls" if m > 1 else f"{n} threads"
    invariants = _invariants(one, serial, what, n * m, operation)
    if not invariants:
        reason = (f"{what} is neither a number nor a container" if one["before"] is None else
                  f"{n * m} serial calls changed {what} by {_show(_delta(serial))}, one call by {_show(_delta(one))}: "
                  "neither an accumulator nor done once")
        return Verification(Status.INCONCLUSIVE, f"{reason}, and the calls do not return one shared object: no "
                            f"invariant to show a race with{notes}", evidence)
    for broken, says, _ in invariants:
        bad = [run for run in forced if broken(run)]
        if bad or broken(plain):
            hid = "it broke it too" if broken(plain) else "it hid the race"
            return Verification(Status.CONFIRMED, f"{says(bad[0] if bad else plain, runs)}; a plain threaded run "
                                f"{says(plain, runs, plain=True)} ({hid}){notes}", evidence)
    names = " or ".join(name for _, _, name in invariants)
    return Verification(Status.INCONCLUSIVE, f"no {names} in {len(forced)} forced runs of {runs} "
                        f"(serially: {_show(_delta(serial)) if serial['before'] is not None else 'one object'}){notes}",
                        evidence)


Invariant = tuple[Callable[[dict[str, Any]], bool], Callable[..., str], str]


def _invariants(one: dict[str, Any], serial: dict[str, Any], what: str, total: int, operation: str
                ) -> list[Invariant]:
    """The invariants the serial runs establish for the finding's kind of operation (all of them when
    the finding does not say): (is it broken in a run, how a run reads, its name)."""
    found: list[Invariant] = []
    updates, checks = operation != "check-then-act", operation != "read-modify-write"
    if one["before"] is not None and any(_delta(one)):
        once, expected = _delta(one), _delta(serial)
        if updates and all(_close(e, total * o) for e, o in zip(expected, once)):
            def lost(run: dict[str, Any], runs: str, plain: bool = False) -> str:
                head = "" if plain else f"{total} serial calls changed {what} by {_show(expected)}; {runs} with " \
                                        "forced preemption "
                return f"{head}changed it by {_show(_delta(run))}" + ("" if plain else ": lost updates")
            found.append((lambda run: _lost(run, expected), lost, "lost update"))
        elif checks and all(_close(e, o) for e, o in zip(expected, once)):
            def repeated(run: dict[str, Any], runs: str, plain: bool = False) -> str:
                head = "" if plain else (f"one call and {total} serial calls both changed {what} by {_show(expected)} "
                                         f"(the act runs once); {runs} with forced preemption ")
                return f"{head}changed it by {_show(_delta(run))}" + (
                    "" if plain else ": the check passed in more than one thread")
            found.append((lambda run: _repeated(run, expected), repeated, "repeated act"))
    if checks and serial["distinct"] == 1 and total > 1:
        def objects(run: dict[str, Any], runs: str, plain: bool = False) -> str:
            head = "" if plain else (f"{total} serial calls all returned the same object; {runs} with forced "
                                     "preemption ")
            return f"{head}got {run.get('distinct')} different ones" + (
                "" if plain else ": the check passed in more than one thread")
        found.append((lambda run: int(run.get("distinct") or 0) > 1, objects, "second object"))
    return found


def _delta(run: dict[str, Any]) -> list[float]:
    return [after - before for before, after in zip(run["before"], run["after"])]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _repeated(run: dict[str, Any], expected: list[float]) -> bool:
    """A check-then-act whose act ran more than once: more effects than the one a serial run has."""
    if run.get("timed_out") or run.get("after") is None:
        return False
    return any(abs(d) > abs(e) and not _close(d, e) for d, e in zip(_delta(run), expected))


def _lost(run: dict[str, Any], expected: list[float]) -> bool:
    """Fewer effects than serially in some measure, and more in none (same direction)."""
    if run.get("timed_out") or run.get("after") is None:
        return False
    pairs = list(zip(_delta(run), expected))
    fewer = any(abs(d) < abs(e) and not _close(d, e) and d * e >= 0 for d, e in pairs)
    more = any(abs(d) > abs(e) and not _close(d, e) for d, e in pairs)
    return fewer and not more


def _show(values: Optional[Sequence[float]]) -> str:
    if values is None:
        return "?"
    shown = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in values]
    return shown[0] if len(shown) == 1 else f"({', '.join(shown)})"


# -- reading: GIL201 / GIL202 ------------------------------------------------------------------


def read_pickle(result: dict[str, Any], expression: str, note: str) -> Verification:
    evidence: dict[str, Any] = {key: result[key] for key in ("outcome", "type", "error", "in_child", "size",
                                                             "stubbed", "decided_by") if key in result}
    sent = f"`{expression}` ({result.get('type') or '?'}; {note})"
    if result["outcome"] == "unpicklable":
        error = result["error"]
        if result.get("in_child"):
            return Verification(Status.CONFIRMED, f"{sent} pickled, but a fresh spawn child could not unpickle it: "
                                f"{error}", evidence)
        return Verification(Status.CONFIRMED, f"sending {sent} to a spawn child: {error}", evidence)
    if result["outcome"] == "picklable":
        how = ("was pickled, and a fresh interpreter in its own sandbox unpickled it, as a spawn child would"
               if "size" in result else "was pickled and received by a spawn child")
        return Verification(Status.REFUTED, f"{sent} {how}", evidence)
    if result["outcome"] == "unreadable":
        return Verification(Status.INCONCLUSIVE, f"{sent}: the probe sent something that is not a pickle "
                            "(or one over 4 MiB)", evidence)
    return Verification(Status.INCONCLUSIVE, f"the spawn child failed (exit code {result.get('exitcode')})",
                        evidence)


# -- reading: GIL401 ---------------------------------------------------------------------------


def read_import(result: dict[str, Any], unconditional_line: Optional[int] = None) -> Verification:
    """``unconditional_line``: the finding's start is a module-level statement every complete import
    runs. A complete import without a process start then cannot be told from a module that ended
    its own import early with the harness's exit status, so it is not a refutation."""
    evidence: dict[str, Any] = {key: result[key] for key in ("outcome", "process", "line", "exit", "error",
                                                             "decided_by") if key in result}
    outcome = result["outcome"]
    if outcome == "started":
        where = f" at line {result['line']}" if result.get("line") else ""
        how = ("the kernel stopped the fork" if result.get("decided_by") == "gillint"
               else "intercepted")
        return Verification(Status.CONFIRMED, f"importing it as __mp_main__ (as a spawned child does) starts a "
                            f"process{where} ({result.get('process') or 'Process'}.start; {how})", evidence)
    if outcome == "imported" and unconditional_line is not None:
        return Verification(Status.INCONCLUSIVE, f"the import ended without a process start, although every "
                            f"complete import runs line {unconditional_line}: either that line starts nothing or "
                            "the module ended its own import early; the probe cannot tell which", evidence)
    if outcome == "imported":
        return Verification(Status.REFUTED, "imported as __mp_main__ without starting a process", evidence)
    if outcome == "exited":
        return Verification(Status.INCONCLUSIVE, f"the module exited (SystemExit: {result.get('exit')}) before any "
                            "process start; a spawned child gets the parent's arguments: give them in "
                            "[tool.gillint.verify] argv", evidence)
    if outcome == "forked":
        return Verification(Status.INCONCLUSIVE, "the import started a process outside multiprocessing (os.fork or "
                            "subprocess), which the probe does not allow", evidence)
    return Verification(Status.INCONCLUSIVE,
                        f"the import failed before any process start: {result.get('error', '')}", evidence)


def window_for(timeout: float) -> float:
    """How long each GIL101 mode may run: the time box leaves room for start-up and every mode."""
    return max(0.3, min(1.5, timeout / 6))
