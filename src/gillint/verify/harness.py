"""The code that runs INSIDE the sandbox: one probe per run, result written to ``result.json``.

This file is copied into the probe's temporary directory next to ``snippet.py`` (the extracted
code) and ``spec.json`` (what to run), and started as ``python -c "import harness; harness.main()"``
so that spawned children never re-run it. It imports nothing from gillint and only the standard
library: it must work on every supported interpreter the user points the verifier at.
"""

from __future__ import annotations

import importlib.util
import json
import math
import multiprocessing
import os
import pickle
import platform
import runpy
import signal
import sys
import threading
import time
import traceback
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Optional

RESULT_FILE = "result.json"
#: Every child a probe starts is spawned: a fresh interpreter, the way pickling is tested and portable.
SPAWN = multiprocessing.get_context("spawn")
SNIPPET_FILE = "snippet.py"


def main() -> None:
    """Run the probe described by ``spec.json`` and write ``result.json``."""
    with open("spec.json", encoding="utf-8") as handle:
        spec = json.load(handle)
    result: dict[str, Any] = {"python": _python(), "cpus": _cpus()}
    try:
        result.update(PROBES[spec["probe"]](spec))
    except BaseException as error:  # every failure is a result, never a hang
        result.update(outcome="error", error=_describe(error), traceback=traceback.format_exc(limit=6))
    with open(RESULT_FILE + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(RESULT_FILE + ".tmp", RESULT_FILE)
    sys.stdout.flush()
    os._exit(0)  # worker threads that never return must not keep the probe alive


# -- shared helpers --------------------------------------------------------------------------


def _python() -> str:
    gil = getattr(sys, "_is_gil_enabled", None)
    build = "free-threaded, GIL disabled" if gil is not None and not gil() else "GIL"
    return f"{platform.python_implementation()} {platform.python_version()} ({build})"


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def load_snippet(name: str = "snippet") -> Any:
    """A fresh copy of the snippet module (each call re-executes it: fresh module state)."""
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(SNIPPET_FILE))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _call_target(spec: dict[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...], Any]:
    module = load_snippet()
    function = getattr(module, spec["function"])
    # One call's arguments; "*expr" (a starmap item) is unpacked by the tuple display.
    namespace = vars(module)
    arguments = tuple(item for text in spec["arguments"] for item in eval(f"({text},)", namespace))  # noqa: S307
    return function, arguments, module


# -- GIL101: serial vs threads vs processes ----------------------------------------------------


def _repeat(function: Callable[..., Any], arguments: tuple[Any, ...], calls: int) -> None:
    for _ in range(calls):
        function(*arguments)


def _process_worker(spec: dict[str, Any], calls: int, done: Any, ready: Any, go: Any) -> None:
    function, arguments, _ = _call_target(spec)
    ready.put(os.getpid())
    go.wait()
    _repeat(function, arguments, calls)
    done.put(time.time())


class _Alarm(BaseException):
    """Raised by SIGALRM to stop a calibration call that runs past the window."""


def _first_call(function: Callable[..., Any], arguments: tuple[Any, ...], window: float) -> Optional[float]:
    """Seconds one call takes, or None when it runs past ``window`` (then it is interrupted)."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, window)
    start = time.perf_counter()
    try:
        function(*arguments)
    except _Alarm:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return time.perf_counter() - start


def probe_timing(spec: dict[str, Any]) -> dict[str, Any]:
    """GIL101: the same work serially, on k threads and on k processes, in one run."""
    function, arguments, _ = _call_target(spec)
    k = max(1, min(_cpus(), 4))
    window = float(spec["window"])
    one = _first_call(function, arguments, window)
    if one is None:
        return _windowed(spec, function, arguments, k, window)
    # Repeat short calls so each worker's share lasts long enough to measure (about window / 2k).
    calls = max(1, math.ceil(window / (2 * k) / max(one, 1e-6)))
    serial, serial_cpu = _timed(lambda: _repeat(function, arguments, calls * k))
    threads, threads_cpu = (_timed(lambda: _threads_run(function, arguments, calls, k)) if k > 1
                            else (serial, serial_cpu))
    processes = _processes_wall(spec, calls, k) if k > 1 else serial
    # CPU-seconds per wall-second: immune to a neighbour slowing one mode down, which wall times are not.
    return {"outcome": "measured", "mode": "complete", "k": k, "calls_per_worker": calls, "first_call": one,
            "serial": serial, "threads": threads, "processes": processes,
            "serial_cpu_rate": serial_cpu / serial, "threads_cpu_rate": threads_cpu / threads}


def _timed(work: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (of this process, all threads) that ``work`` took."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return max(time.perf_counter() - start, 1e-9), time.process_time() - cpu


def _threads_run(function: Callable[..., Any], arguments: tuple[Any, ...], calls: int, k: int) -> None:
    workers = [threading.Thread(target=_repeat, args=(function, arguments, calls), daemon=True) for _ in range(k)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _start_workers(target: Callable[..., None], per_child: list[tuple[Any, ...]]) -> tuple[list[Any], Any]:
    """Start spawn children and wait until each has imported the snippet; they then wait for ``go``."""
    ready, go = SPAWN.Queue(), SPAWN.Event()
    children = [SPAWN.Process(target=target, args=(*args, ready, go), daemon=True) for args in per_child]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=60)
    return children, go


def _processes_wall(spec: dict[str, Any], calls: int, k: int) -> float:
    """Wall time from a common start signal to the last finish; start-up is excluded."""
    done = SPAWN.Queue()
    children, go = _start_workers(_process_worker, [(spec, calls, done)] * k)
    start = time.time()
    go.set()
    finished = max(done.get() for _ in children)
    for child in children:
        child.join()
    return finished - start


def _windowed(spec: dict[str, Any], function: Callable[..., Any], arguments: tuple[Any, ...],
              k: int, window: float) -> dict[str, Any]:
    """A call too long for the time box: CPU-seconds per wall-second over a fixed window."""
    serial = _cpu_rate(lambda: _run_for(function, arguments, window))
    processes = _processes_rate(spec, k, window) if k > 1 else serial
    threads = _cpu_rate(lambda: _threads_for(function, arguments, k, window)) if k > 1 else serial
    return {"outcome": "measured", "mode": "window", "k": k, "window": window,
            "serial": serial, "threads": threads, "processes": processes,
            "serial_cpu_rate": serial, "threads_cpu_rate": threads}


def _cpu_rate(work: Callable[[], None]) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return (time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9)


def _run_for(function: Callable[..., Any], arguments: tuple[Any, ...], window: float) -> None:
    try:
        _first_call(lambda *a: _repeat(function, a, 10**9), arguments, window)
    except _Alarm:
        pass


def _threads_for(function: Callable[..., Any], arguments: tuple[Any, ...], k: int, window: float) -> None:
    # Last mode of the probe: these threads are abandoned when the window ends (os._exit follows).
    for _ in range(k):
        threading.Thread(target=_repeat, args=(function, arguments, 10**9), daemon=True).start()
    time.sleep(window)


def _rate_worker(spec: dict[str, Any], index: int, cpu: Any, ready: Any, go: Any) -> None:
    function, arguments, _ = _call_target(spec)

    def report(signum: int, frame: Any) -> None:
        cpu[index] = time.process_time() - started
        os._exit(0)

    signal.signal(signal.SIGUSR1, report)
    ready.put(os.getpid())
    go.wait()
    started = time.process_time()
    _repeat(function, arguments, 10**9)


def _processes_rate(spec: dict[str, Any], k: int, window: float) -> float:
    cpu = SPAWN.Array("d", [-1.0] * k, lock=False)
    children, go = _start_workers(_rate_worker, [(spec, index, cpu) for index in range(k)])
    start = time.perf_counter()
    go.set()
    time.sleep(window)
    for child in children:
        os.kill(child.pid, signal.SIGUSR1)
    wall = time.perf_counter() - start
    for child in children:
        child.join(max(window, 1.0))
        if child.is_alive():  # a long C call kept the signal handler from running: no number
            child.kill()
    if min(cpu) < 0:
        raise RuntimeError("a worker process did not report its CPU time (stuck in a long C call?)")
    return sum(cpu) / wall


# -- GIL201/GIL202: pickle the real object for a spawn child ------------------------------------


def _receive(value: Any) -> None:
    """Target of the spawn child: getting here means the value was pickled and unpickled."""


def _receive_task(data: bytes) -> None:
    """Target of the spawn child for task pickling: unpickle the bytes as a pool worker would."""
    try:
        pickle.loads(data)
    except BaseException as error:  # noqa: BLE001
        with open("child-error.json", "w", encoding="utf-8") as handle:
            json.dump({"error_type": type(error).__name__, "error": str(error)}, handle)
        os._exit(3)


def probe_pickle(spec: dict[str, Any]) -> dict[str, Any]:
    """GIL201/202: send the real object to a spawn child the way the dispatch sends it."""
    if not spec["task"]:
        # Process(args=...) and initargs are pickled while spawning: objects made for spawn may pass.
        multiprocessing.set_start_method("spawn", force=True)
    module = load_snippet()
    value = getattr(module, spec["object"])
    described = f"{type(value).__module__}.{type(value).__qualname__}"
    try:
        if spec["task"]:  # pools pickle tasks with ForkingPickler, outside process start-up
            data = bytes(ForkingPickler.dumps(value))
            child = SPAWN.Process(target=_receive_task, args=(data,), daemon=True)
        else:
            child = SPAWN.Process(target=_receive, args=(value,), daemon=True)
        child.start()
    except BaseException as error:  # the pickling error IS the result
        return {"outcome": "unpicklable", "type": described, "error_type": type(error).__name__,
                "error": str(error)}
    child.join(30)
    if child.exitcode == 3 and os.path.exists("child-error.json"):
        with open("child-error.json", encoding="utf-8") as handle:
            return {"outcome": "unpicklable", "type": described, "in_child": True, **json.load(handle)}
    if child.exitcode != 0:
        return {"outcome": "child-failed", "type": described, "exitcode": child.exitcode}
    return {"outcome": "picklable", "type": described}


# -- GIL401: import as __mp_main__ with process creation intercepted -----------------------------


class ProcessStartIntercepted(BaseException):
    """Raised instead of starting a process (a BaseException: ``except Exception`` cannot hide it)."""


def probe_import(spec: dict[str, Any]) -> dict[str, Any]:
    path = os.path.abspath(spec["module_path"])
    from multiprocessing import process

    def intercept(self: Any) -> None:
        raise ProcessStartIntercepted(type(self).__name__)

    process.BaseProcess.start = intercept  # type: ignore[method-assign]
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(path, run_name="__mp_main__")
    except ProcessStartIntercepted as error:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) == path]
        line = frames[-1].lineno if frames else None
        return {"outcome": "started", "process": str(error), "line": line,
                "stack": [f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                          for f in traceback.extract_tb(error.__traceback__)][-6:]}
    except SystemExit as error:
        return {"outcome": "imported", "exit": str(error.code)}
    except BaseException as error:  # noqa: BLE001
        return {"outcome": "import-failed", "error": _describe(error)}
    return {"outcome": "imported"}


# -- GIL301: threads with forced preemption vs serial ---------------------------------------------


def _opcode_tracer(seconds: float) -> Callable[..., Any]:
    """A tracer that makes every opcode a switch point, for ``seconds``; then frames run untraced.

    Lost updates made while tracing stay lost, so a long workload is still exposed quickly.
    """
    deadline = time.monotonic() + seconds

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            frame.f_trace_opcodes = False
            return None
        frame.f_trace_opcodes = True
        return trace

    return trace


def _shared_after(spec: dict[str, Any], threads: int, force: bool) -> str:
    function, arguments, module = _call_target(spec)
    if threads == 0:
        _repeat(function, arguments, spec["threads"])
        return repr(getattr(module, spec["shared"]))
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    if force:
        threading.settrace(_opcode_tracer(float(spec.get("trace_seconds", 1.0))))
    workers = [threading.Thread(target=function, args=arguments, daemon=True) for _ in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        threading.settrace(None)
        sys.setswitchinterval(previous)
    return repr(getattr(module, spec["shared"]))


def probe_race(spec: dict[str, Any]) -> dict[str, Any]:
    threads = int(spec["threads"])
    expected = _shared_after(spec, 0, force=False)
    plain = _shared_after(spec, threads, force=False)
    forced: list[str] = []
    while len(forced) < int(spec.get("attempts", 3)) and all(value == expected for value in forced):
        forced.append(_shared_after(spec, threads, force=True))  # stops at the first lost update
    return {"outcome": "measured", "threads": threads, "expected": expected, "plain": plain, "forced": forced}


def probe_selftest(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec["code"]`` as is: used by the sandbox's own tests."""
    namespace: dict[str, Any] = {"__name__": "__selftest__"}
    exec(compile(spec["code"], "selftest", "exec"), namespace)  # noqa: S102 - sandboxed
    return {"outcome": "ran", "value": repr(namespace.get("result"))}


PROBES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "timing": probe_timing,
    "pickle": probe_pickle,
    "import": probe_import,
    "race": probe_race,
    "selftest": probe_selftest,
}
