"""Run a probe's subjects in its sandbox and collect the observation a verdict is read from.

An observation holds what gillint measured itself (its clock, the cgroup's CPU time, bytes counted
on tick pipes, exit statuses and signals) and the subjects' claims, validated: numbers in range,
names that are identifiers, texts reduced to printable ASCII and cut short (:func:`clean`). No other
text from a subject reaches a verdict. ``decided_by`` says which of the two a refutation rests on.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import pickletools
import select
import signal
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from gillint.verify.harness import (
    EXIT_FAILED,
    EXIT_IMPORTED,
    EXIT_RECEIVED,
    EXIT_STARTED,
    EXIT_SYSTEM_EXIT,
    PICKLE_FILE,
)
from gillint.verify.sandbox import Sandbox, Subject, readable

#: The GIL-wait measure: how long the ticker runs alone, and the switch interval during the run.
BASELINE_SECONDS = 0.2
SWITCH_INTERVAL = 0.02
#: A core counts as free for the timing comparison when this much CPU stayed idle meanwhile.
FREE_CORE = 0.7


def observe(kind: str, spec: dict[str, Any], box: Sandbox, stand_ins: int = 0) -> dict[str, Any]:
    """What the probe of ``kind`` showed (``stand_ins``: how many stand-in slots the call has)."""
    return DRIVERS[kind](spec, box, stand_ins)


# -- validating claims ------------------------------------------------------------------------


def clean(value: Any, limit: int = 160) -> str:
    """A claimed text as a verdict may quote it: printable ASCII, one line, at most ``limit`` characters."""
    text = value if isinstance(value, str) else ""
    text = " ".join("".join(c if " " <= c <= "~" else "?" for c in text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _number(value: Any, low: float = -math.inf, high: float = math.inf) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value if low <= value <= high else None


def _numbers(value: Any) -> Optional[list[float]]:
    """A measure: one to three finite numbers (harness.measure), else None."""
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        return None
    numbers = [_number(v) for v in value]
    return None if any(n is None for n in numbers) else [n for n in numbers if n is not None]


def _names(value: Any) -> list[str]:
    """Module names a subject says it stubbed (dotted identifiers only)."""
    items = value if isinstance(value, list) else []
    return [n for n in items[:10] if isinstance(n, str) and n.replace(".", "_").isidentifier() and len(n) < 80]


def _choice(claim: dict[str, Any], stand_ins: int) -> Optional[list[int]]:
    """The stand-in indices a subject picked: one small int per stand-in slot."""
    value = claim.get("choice")
    if not isinstance(value, list) or len(value) != stand_ins:
        return None
    picked = [_number(v, 0, 64) for v in value]
    return None if any(p is None or p != int(p) for p in picked) else [int(p) for p in picked if p is not None]


def python_of(subject: Subject) -> str:
    """``CPython 3.11.7 (GIL)`` from the subject's claim, validated (empty when malformed)."""
    claim = next(iter(subject.claims("python")), {})
    implementation, version, gil = claim.get("implementation"), claim.get("version"), claim.get("gil")
    if not (isinstance(implementation, str) and implementation.isalpha() and len(implementation) <= 20
            and isinstance(version, str) and len(version) <= 20 and version[:1].isdigit()
            and all(c.isalnum() or c in ".+" for c in version) and isinstance(gil, bool)):
        return ""
    return f"{implementation} {version} ({'GIL' if gil else 'free-threaded, GIL disabled'})"


def ended(box: Sandbox, subject: Subject) -> dict[str, Any]:
    """Why a subject gave no result: timed out, killed by a signal, failed (with the error), exited."""
    status = subject.wait(timeout=0.5)
    base: dict[str, Any] = {"python": python_of(subject)}
    if status is None:
        return {**base, "outcome": "timed-out", "elapsed": round(time.monotonic() - subject.started, 2)}
    number = subject.signal
    if number is not None:
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        return {**base, "outcome": "killed", "signal": name}
    failed = subject.claims("failed")
    if status == EXIT_FAILED and failed:
        return {**base, "outcome": "failed", "error": clean(failed[-1].get("error"))}
    return {**base, "outcome": "ended", "exitcode": status}


# -- GIL101 -----------------------------------------------------------------------------------


def drive_timing(spec: dict[str, Any], box: Sandbox, stand_ins: int) -> dict[str, Any]:
    """How long another thread waits for the GIL while the target runs (needs no free core); then,
    when a core is free, serial against threads against processes."""
    window = float(spec["window"])
    gil_window = min(window, 0.6)
    subject = box.spawn("gil", pipes=("baseline", "ticks", "first_call"))
    ready = subject.receive("ready")
    choice = _choice(ready, stand_ins) if ready is not None else None
    if ready is None or choice is None:
        return ended(box, subject)
    subject.send("baseline")
    alone, _, elapsed = _watch(subject, ("baseline",), BASELINE_SECONDS)
    subject.send("worker")
    cpu, idle = box.cpu_seconds(), _idle_cpus()
    counts, firsts, elapsed_worker = _watch(subject, ("ticks", "first_call"), gil_window)
    cpu_used, idle_during = _difference(box.cpu_seconds(), cpu), _difference(_idle_cpus(), idle)
    if elapsed < BASELINE_SECONDS * 0.9 or elapsed_worker < gil_window * 0.9:
        return ended(box, subject)  # it died, or the deadline came, before the phases were over
    box.stop([subject])
    failed = subject.claims("failed")
    if failed:  # the worker's call raised: the ticks would only show an idle GIL
        return {"outcome": "failed", "python": python_of(subject), "error": clean(failed[-1].get("error"))}
    idle_rate, rate = alone["baseline"] / elapsed, counts["ticks"] / elapsed_worker
    wait = (1 / rate - 1 / idle_rate) if rate > 0 and idle_rate > 0 else elapsed_worker
    gil = {"wait_ms": round(max(wait, 0.0) * 1000, 3), "switch_interval_ms": SWITCH_INTERVAL * 1000,
           "ticks_per_s": round(rate, 1), "ticks_per_s_alone": round(idle_rate, 1),
           "worker_cpu_rate": None if cpu_used is None else round(cpu_used / elapsed_worker, 3),
           "first_call": firsts.get("first_call"), "window": gil_window}
    observation = {"outcome": "measured", "python": python_of(subject), "choice": choice,
                   "stubbed": _names(ready.get("stubbed")), "gil": gil}
    k = max(1, min(usable_cpus(), 4))
    free = None if idle_during is None else idle_during / elapsed_worker
    if k < 2:
        observation["timing_skipped"] = "one CPU"
    elif free is None or cpu_used is None or free < FREE_CORE:
        observation["timing_skipped"] = "no free core"
    elif box.deadline - time.monotonic() < 3 * window + 1:
        observation["timing_skipped"] = "not enough time left"
    else:
        timing = _timing(box, choice, k, gil["first_call"], window)
        if timing:
            observation["timing"] = timing
        else:
            observation["timing_skipped"] = "a mode did not finish"
    return observation


def _timing(box: Sandbox, choice: list[int], k: int, first_call: Optional[float], window: float
            ) -> Optional[dict[str, Any]]:
    """Serial, k threads and k processes in the same run. A short call is repeated so each worker's
    share lasts about window / 2k; a call longer than that is measured in CPU-seconds per wall-second
    over a fixed window instead."""
    if first_call is None or first_call > window / (2 * k):
        rates = [_mode(box, choice, shapes, window) for shapes in ([(1, None)], [(k, None)], [(1, None)] * k)]
        if any(r is None for r in rates):
            return None
        serial, threads, processes = (r[1] / r[0] for r in rates if r is not None)
        return {"mode": "window", "k": k, "window": window, "serial": serial, "threads": threads,
                "processes": processes, "serial_cpu_rate": serial, "threads_cpu_rate": threads}
    calls = max(1, math.ceil(window / (2 * k) / max(first_call, 1e-6)))
    runs = [_mode(box, choice, shapes, None) for shapes in ([(1, calls * k)], [(k, calls)], [(1, calls)] * k)]
    if any(r is None for r in runs):
        return None
    (serial, serial_cpu), (threads, threads_cpu), (processes, _) = (r for r in runs if r is not None)
    return {"mode": "complete", "k": k, "calls_per_worker": calls, "first_call": first_call, "serial": serial,
            "threads": threads, "processes": processes, "serial_cpu_rate": serial_cpu / serial,
            "threads_cpu_rate": threads_cpu / threads}


def _mode(box: Sandbox, choice: list[int], shapes: Sequence[tuple[int, Optional[int]]],
          window: Optional[float]) -> Optional[tuple[float, float]]:
    """(wall seconds, CPU seconds) of one mode: one subject per (threads, calls) shape, all started
    together once each has built its call. With ``window`` they run that long and are stopped."""
    subjects = [box.spawn("mode", {"choice": choice, "threads": n, "calls": calls}) for n, calls in shapes]
    try:
        if any(subject.receive("ready") is None for subject in subjects):
            return None
        cpu, start = box.cpu_seconds(), time.monotonic()
        for subject in subjects:
            subject.send("go")
        if window is not None:
            time.sleep(window)
        elif any(subject.receive("done") is None for subject in subjects):
            return None
        wall, used = time.monotonic() - start, _difference(box.cpu_seconds(), cpu)
        return None if used is None else (wall, used)
    finally:
        box.stop(subjects)


def _watch(subject: Subject, names: Sequence[str], seconds: float
           ) -> tuple[dict[str, int], dict[str, float], float]:
    """Bytes written to each pipe over ``seconds`` (or until the deadline), when each first arrived,
    and the seconds actually watched."""
    start = time.monotonic()
    end = min(start + seconds, subject.deadline)
    fds = {subject.pipes[name]: name for name in names}
    counts = dict.fromkeys(names, 0)
    firsts: dict[str, float] = {}
    while (now := time.monotonic()) < end:
        readable, _, _ = select.select(list(fds), [], [], end - now)
        for fd in readable:
            data = os.read(fd, 65536)
            if not data:
                del fds[fd]
                continue
            counts[fds[fd]] += len(data)
            firsts.setdefault(fds[fd], round(time.monotonic() - start, 6))
        if not fds:
            break
    return counts, firsts, time.monotonic() - start


def _difference(after: Optional[float], before: Optional[float]) -> Optional[float]:
    return None if after is None or before is None else after - before


def _idle_cpus() -> Optional[float]:
    """Idle CPU-seconds so far, summed over the CPUs this process may use (from /proc/stat)."""
    usable = {f"cpu{n}" for n in os.sched_getaffinity(0)} if hasattr(os, "sched_getaffinity") else set()
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    ticks = [int(f[4]) + int(f[5]) for f in (line.split() for line in lines) if f and f[0] in usable]
    return sum(ticks) / os.sysconf("SC_CLK_TCK") if ticks else None


def usable_cpus() -> int:
    """The CPUs this process (and so every probe) may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# -- GIL301 -----------------------------------------------------------------------------------


def drive_race(spec: dict[str, Any], box: Sandbox, stand_ins: int) -> dict[str, Any]:
    """The harness's invariant measures for one call, n serial calls, n threads and forced runs."""
    subject = box.spawn("race")
    claim = subject.receive("race")
    if claim is None:
        return ended(box, subject)
    python = python_of(subject)
    one = _phase(claim.get("one"))
    if one is not None and "timed_out" in one:
        return {"outcome": "measured", "python": python, "one": one}
    phases = {name: _phase(claim.get(name)) for name in ("serial", "plain")}
    forced = [_phase(item) for item in claim.get("forced", [])[:10]] if isinstance(claim.get("forced"), list) else []
    every = [one, *phases.values(), *forced]
    errors = [phase["error"] for phase in every if phase is not None and "error" in phase]
    if errors:
        return {"outcome": "failed", "python": python, "error": errors[0]}
    threads, calls = _number(claim.get("threads"), 2, 64), _number(claim.get("calls"), 1, 10_000)
    if threads is None or calls is None or any(phase is None for phase in every) or not forced:
        return {"outcome": "malformed", "python": python}
    return {"outcome": "measured", "python": python, "threads": int(threads), "calls": int(calls), "one": one,
            "forced": forced, "choice": _choice(claim, stand_ins), "stubbed": _names(claim.get("stubbed")), **phases}


def _phase(value: Any) -> Optional[dict[str, Any]]:
    if not isinstance(value, dict):
        return None
    if value.get("timed_out") is True:
        return {"timed_out": True}
    if "error" in value:
        return {"error": clean(value["error"])}
    distinct = _number(value.get("distinct"), 0, 10**7)
    before, after = value.get("before"), value.get("after")
    if distinct is None:
        return None
    if before is None or after is None:  # no invariant for this kind of value
        return {"before": None, "after": None, "distinct": int(distinct)}
    measured = {"before": _numbers(before), "after": _numbers(after)}
    return {**measured, "distinct": int(distinct)} if None not in measured.values() else None


# -- GIL201 / GIL202 --------------------------------------------------------------------------


def drive_pickle(spec: dict[str, Any], box: Sandbox, stand_ins: int) -> dict[str, Any]:
    """Pickle in one sandbox; for tasks, unpickle the bytes in a fresh sandbox (a trusted check
    that the bytes are a pickle first). Process arguments are received by a spawn child there.
    "Picklable" is read from an exit status, never from a message."""
    subject = box.spawn("pickle")
    built = subject.receive("built")
    outcome = subject.receive("pickled", "unpicklable", "child-failed") if built else None
    if built is not None and outcome is None and subject.wait() == EXIT_RECEIVED:
        return {"python": python_of(subject), "type": clean(built.get("type"), 100), "outcome": "picklable",
                "stubbed": _names(built.get("stubbed")), "decided_by": "gillint"}
    if built is None or outcome is None:
        return ended(box, subject)
    base = {"python": python_of(subject), "type": clean(built.get("type"), 100),
            "stubbed": _names(built.get("stubbed"))}
    event = outcome["event"]
    if event == "unpicklable":
        return {**base, "outcome": "unpicklable", "error": clean(outcome.get("error")), "decided_by": "probe"}
    if event == "child-failed":
        return {**base, "outcome": "child-failed", "exitcode": _number(outcome.get("exitcode"))}
    data = _pickle_bytes(outcome.get("data"))
    if data is None:
        return {**base, "outcome": "unreadable"}
    box.stop([subject])
    box.write(PICKLE_FILE, data)
    child = box.spawn("unpickle")
    status = child.wait()
    if status == EXIT_RECEIVED:
        return {**base, "outcome": "picklable", "decided_by": "gillint", "size": len(data)}
    failed = child.claims("unpicklable")
    if status == EXIT_FAILED and failed:
        return {**base, "outcome": "unpicklable", "in_child": True, "error": clean(failed[-1].get("error"))}
    return {**ended(box, child), "type": base["type"]}


def _pickle_bytes(value: Any) -> Optional[bytes]:
    """The claimed pickle, if it is well-formed: every opcode parses (nothing is executed)."""
    if not isinstance(value, str):
        return None
    try:
        data = base64.b64decode(value, validate=True)
        for _ in pickletools.genops(data):
            pass
    except (binascii.Error, ValueError):
        return None
    return data


# -- GIL401 -----------------------------------------------------------------------------------


def drive_import(spec: dict[str, Any], box: Sandbox, stand_ins: int) -> dict[str, Any]:
    """Import the module as a spawned child would. Under the seccomp filter a process start kills
    the subject with SIGSYS: a kernel fact. Without it the start is intercepted inside (a claim)."""
    filtered = box.isolation is not None
    directory = spec["paths"][0]  # where the module lives: a spawned child starts in its parent's directory
    subject = box.spawn("import", {"filtered": filtered}, no_new_processes=filtered,
                        chdir=directory if readable(directory) else None)
    status = subject.wait()
    base = {"python": python_of(subject), "decided_by": "gillint" if filtered else "probe"}
    started = subject.claims("started")
    line = _number(started[-1].get("line"), 1, 10**7) if started else None
    process = clean(started[-1].get("process"), 40) if started else ""
    if status is not None and (subject.signal == signal.SIGSYS if filtered else status == EXIT_STARTED):
        if not started:
            return {**base, "outcome": "forked"}
        return {**base, "outcome": "started", "line": None if line is None else int(line), "process": process}
    if status == EXIT_IMPORTED:
        return {**base, "outcome": "imported"}
    exited = subject.claims("exited")
    if status == EXIT_SYSTEM_EXIT and exited:
        code = exited[-1].get("code")
        return {**base, "outcome": "exited", "exit": clean(code if isinstance(code, str) else str(_number(code)), 40)}
    failed = ended(box, subject)
    return {**failed, "outcome": "import-failed"} if failed["outcome"] == "failed" else failed


DRIVERS: dict[str, Callable[[dict[str, Any], Sandbox, int], dict[str, Any]]] = {
    "timing": drive_timing,
    "race": drive_race,
    "pickle": drive_pickle,
    "import": drive_import,
}
