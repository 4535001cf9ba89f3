"""The probe side of the verifier: runs inside the sandbox, next to the snippet (stdlib only).

This code shares its interpreter with project code, so nothing it says is trusted. It sends
*claims* (JSON lines on the messages pipe) that gillint validates and never lets refute a finding
on their own; verdicts rest on what gillint measures from outside: its clock, the cgroup's CPU
time, the bytes this side writes to the tick pipes, exit statuses and signals
(docs/verifier.md, "Threat model").

Usage (by gillint): ``python -E -s -B harness.py '{"role": ..., "fds": {...}, "params": {...}}'``
with ``spec.json`` and ``snippet.py`` next to this file.
"""

from __future__ import annotations

import base64
import builtins
import importlib
import importlib.util
import itertools
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
import types
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Dict, List, Optional, Tuple

#: Exit statuses gillint reads (a signal shows as 128 + its number under bubblewrap). A refutation
#: rests on one of the last two, never on a message: a plain exit (0) does not refute anything.
EXIT_DONE = 0
EXIT_FAILED = 3  # the snippet raised: a "failed" message says what
EXIT_SYSTEM_EXIT = 4  # GIL401: the module raised SystemExit before any process start
EXIT_STARTED = 5  # GIL401 without the seccomp filter: a process start was intercepted
EXIT_IMPORTED = 86  # GIL401: the import ran to its end
EXIT_RECEIVED = 87  # GIL201/GIL202: the object was unpickled on the other side
SNIPPET = "snippet"
OBJECT_NAME = "__gillint_object__"
STUB_NAME = "__gillint_stub__"
PICKLE_FILE = "sent.pickle"
MAX_PICKLE_BYTES = 4 * 2**20
#: Stand-in trials: each combination gets one call of at most this long; at most this many combinations.
TRIAL_SECONDS = 0.25
MAX_TRIALS = 24
HERE = os.path.dirname(os.path.abspath(__file__))
SPAWN = multiprocessing.get_context("spawn")


class Channel:
    """The pipes gillint gave this subject: messages out, control words in, tick pipes out."""

    def __init__(self, fds: Dict[str, int]) -> None:
        self.fds = fds
        self.control = os.fdopen(fds["control"], "rb", buffering=0)

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}).encode() + b"\n"
        while line:
            line = line[os.write(self.fds["messages"], line):]

    def expect(self, word: str) -> None:
        """Wait for a control word; a closed pipe means gillint is done with this subject."""
        received = self.control.readline().decode().strip()
        if received != word:
            os._exit(EXIT_DONE)

    def tick(self, name: str) -> None:
        os.write(self.fds[name], b".")


def main() -> None:
    options = json.loads(sys.argv[1])
    with open(os.path.join(HERE, "spec.json"), encoding="utf-8") as handle:
        spec = json.load(handle)
    channel = Channel(options["fds"])
    gil = getattr(sys, "_is_gil_enabled", None)
    channel.send("python", implementation=platform.python_implementation(), version=platform.python_version(),
                 gil=gil is None or bool(gil()))
    sys.path[1:1] = spec.get("paths", [])
    setattr(builtins, STUB_NAME, stub_import)
    try:
        ROLES[options["role"]](spec, options.get("params", {}), channel)
    except BaseException as error:  # every failure is a message and an exit status, never a hang
        channel.send("failed", error=describe(error))
        _exit(EXIT_FAILED)
    _exit(EXIT_DONE)


def _exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # threads that never return must not keep the subject alive


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class Stub(types.ModuleType):
    """Stands in for a module the snippet imports but this interpreter lacks; using it raises."""

    #: Top-level modules stubbed so far (the verdict names them).
    stubbed: List[str] = []

    def __getattr__(self, attribute: str) -> Stub:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return Stub(f"{self.__name__}.{attribute}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ImportError(f"{self.__name__} is not installed where the probe runs (stubbed)")


def stub_import(name: str) -> Stub:
    """What a snippet binds when ``import name`` (or ``from a import b``, name "a.b") fails."""
    top = name.partition(".")[0]
    if top not in Stub.stubbed:
        Stub.stubbed.append(top)
    return Stub(name)


def load_snippet() -> types.ModuleType:
    """A fresh copy of the snippet module (each call re-executes it: fresh module state)."""
    spec = importlib.util.spec_from_file_location(SNIPPET, os.path.join(HERE, f"{SNIPPET}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[SNIPPET] = module
    spec.loader.exec_module(module)
    return module


# -- building the call: target, instance, arguments (literal or stand-ins) ---------------------


class Call:
    """The target bound to one call's arguments, and what it was built from."""

    def __init__(self, function: Callable[..., Any], arguments: Tuple[Any, ...], module: types.ModuleType,
                 instance: Any, choice: List[int]) -> None:
        self.function, self.arguments, self.module = function, arguments, module
        self.instance, self.choice = instance, choice

    def __call__(self) -> Any:
        return self.function(*self.arguments)


class _Alarm(BaseException):
    """Raised by SIGALRM to end a trial call that is still running: it did not fail."""


class NoStandIn(Exception):
    """No combination of stand-in arguments made the call work."""


def build_call(spec: Dict[str, Any], choice: Optional[List[int]] = None,
               module: Optional[types.ModuleType] = None) -> Call:
    """The call the probe measures. Stand-in slots try candidates until one call does not raise,
    unless ``choice`` (one index per stand-in slot) was already made."""
    module = module or load_snippet()
    slots = [*spec.get("init", []), *spec["arguments"]]
    options = [len(slot["candidates"]) for slot in slots if "candidates" in slot]
    if choice is not None or not options:
        return _assemble(spec, module, slots, choice or [])
    failure: Optional[BaseException] = None
    for attempt in _combinations(options):
        try:
            call = _assemble(spec, module, slots, attempt)
            _boxed(call)
            return call
        except Exception as error:  # noqa: BLE001 - a failing stand-in just means "try the next"
            failure = error
    raise NoStandIn(f"no stand-in arguments worked (last: {describe(failure) if failure else '?'})")


def _combinations(options: List[int]) -> List[List[int]]:
    """Same-kind stand-ins everywhere first (a matrix for both matrices), then the rest, capped."""
    diagonal = [[min(i, n - 1) for n in options] for i in range(max(options))]
    rest = [list(c) for c in itertools.product(*(range(n) for n in options)) if list(c) not in diagonal]
    return (diagonal + rest)[:MAX_TRIALS]


def _boxed(call: Call) -> None:
    """One call, ended after TRIAL_SECONDS if still running (then it did not fail: fine)."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise _Alarm()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TRIAL_SECONDS)
    try:
        call()
    except _Alarm:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _assemble(spec: Dict[str, Any], module: types.ModuleType, slots: List[Dict[str, Any]],
              choice: List[int]) -> Call:
    namespace = vars(module)
    picks = iter(choice)
    values: List[Any] = []
    for slot in slots:
        text = slot["expr"] if "expr" in slot else slot["candidates"][next(picks)]
        values.extend(eval(f"({text},)", namespace))  # noqa: S307 - sandboxed; "*expr" unpacks
    init = values[:len(spec.get("init", []))]
    arguments = tuple(values[len(init):])
    target = spec["target"]
    instance = None
    if "class" in target:
        instance = getattr(module, target["class"])(*init)
        function = getattr(instance, target["method"])
    elif "module" in target:
        function = importlib.import_module(target["module"])
        for part in target["attribute"].split("."):
            function = getattr(function, part)
    else:
        function = getattr(module, target["name"])
    return Call(function, arguments, module, instance, list(choice))


# -- GIL101: the GIL wait, and serial / threads / processes ------------------------------------


def _ticker(channel: Channel, pipe: str) -> threading.Event:
    """A thread that writes a byte about every millisecond; each needs the GIL. Returns its stop flag."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            channel.tick(pipe)
            time.sleep(0.001)

    threading.Thread(target=run, daemon=True).start()
    return stop


def role_gil(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """Ticks alone ("baseline"), then ticks while a worker thread calls the target ("worker")."""
    call = build_call(spec)
    if not call.choice:  # stand-ins were tried already; a call that fails should fail here, not in the worker
        _boxed(call)
    channel.send("ready", choice=call.choice, stubbed=Stub.stubbed)
    sys.setswitchinterval(float(spec["switch_interval"]))
    channel.expect("baseline")
    baseline = _ticker(channel, "baseline")
    channel.expect("worker")
    baseline.set()

    def work() -> None:
        try:
            call()
            channel.tick("first_call")
            while True:
                call()
        except BaseException as error:  # noqa: BLE001 - reported, and the ticks show a free GIL
            channel.send("failed", error=describe(error))

    threading.Thread(target=work, daemon=True).start()
    _ticker(channel, "ticks")
    channel.expect("exit")  # gillint ends the subject when it has counted


def role_mode(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """One timing mode: ``threads`` threads each making ``calls`` calls (None: until killed)."""
    call = build_call(spec, params["choice"])
    threads, calls = int(params["threads"]), params["calls"]
    channel.send("ready")
    channel.expect("go")

    def work() -> None:
        for _ in range(calls) if calls is not None else itertools.count():
            call()

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    channel.send("done")
    channel.expect("exit")  # gillint reads the CPU time, then ends the subject


# -- GIL301: invariants under threads, with forced preemption -----------------------------------


def measure(value: Any) -> Optional[List[float]]:
    """Numbers that n calls of an accumulator change n times as much as one call: a number's
    value; a mapping's size and the sum of its numeric values; a collection's size."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, dict):
        numbers = [v for v in value.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return [len(value), sum(numbers)] if numbers else [len(value)]
    if isinstance(value, (list, tuple, set, frozenset, str, bytes)) or hasattr(value, "__len__"):
        try:
            return [len(value)]
        except Exception:  # noqa: BLE001
            return None
    return None


def _locate(shared: Dict[str, Any], call: Call) -> Callable[[], Any]:
    """A reader of the shared state the finding names."""
    kind, name = shared["kind"], shared["name"]
    if kind == "global":
        return lambda: getattr(call.module, name)
    if kind == "attribute":  # of a module global or class, or of the instance the threads share
        owner = _resolve(call.module, shared["owner"]) if shared.get("owner") else _shared_instance(call, shared)
        return lambda: getattr(owner, name)
    if kind == "cell":
        function = getattr(call.function, "__func__", call.function)
        cell = (function.__closure__ or ())[function.__code__.co_freevars.index(name)]
        return lambda: cell.cell_contents
    if kind == "argument":
        return lambda: call.arguments[int(name)]
    if kind == "module":
        return lambda: getattr(importlib.import_module(shared["module"]), name)
    raise ValueError(f"unknown shared state {kind}")


def _shared_instance(call: Call, shared: Dict[str, Any]) -> Any:
    """The instance of the named class the threads share: the bound method's, or an argument."""
    for candidate in (call.instance, *call.arguments, *vars(call.module).values()):
        if type(candidate).__name__ == shared.get("class"):
            return candidate
    raise LookupError(f"no {shared.get('class')} instance is shared by the threads")


def _resolve(module: types.ModuleType, dotted: str) -> Any:
    value: Any = module
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _opcode_tracer(seconds: float, project: Tuple[str, ...]) -> Callable[..., Any]:
    """A tracer that preempts the thread before every opcode of project code (files under
    ``project``), for ``seconds``; then frames run untraced. ``time.sleep(0)`` hands the GIL to any
    waiting thread, so another thread can run between the read and the write of a read-modify-write,
    or between a check and its act. Effects lost while tracing stay lost, so a long workload is
    still exposed quickly. The standard library (a barrier, say) runs at full speed.
    """
    deadline = time.monotonic() + seconds

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            frame.f_trace_opcodes = False
            return None
        if not frame.f_code.co_filename.startswith(project):
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            time.sleep(0)
        return trace

    return trace


def _phase(spec: Dict[str, Any], choice: List[int], threads: int, calls: int, force: bool) -> Dict[str, Any]:
    """From fresh module state: the shared value's measure before and after ``threads`` threads
    each made ``calls`` calls, and how long that took; or ``timed_out``, or the ``error`` a call
    raised. Threads run as daemons so the time box can end them."""
    call = build_call(spec, choice)
    read = _locate(spec["shared"], call)
    before = measure(read())
    errors: List[str] = []
    previous = sys.getswitchinterval()
    if threads > 1:
        sys.setswitchinterval(1e-6)
    if force:
        project = (os.path.join(HERE, f"{SNIPPET}.py"), *(os.path.join(p, "") for p in spec.get("paths", [])))
        threading.settrace(_opcode_tracer(float(spec["trace_seconds"]), project))

    barrier = threading.Barrier(threads)
    took: List[float] = []
    results: List[Any] = []  # kept alive, so identities stay distinct

    def work() -> None:  # all threads start calling together, so their calls overlap
        try:
            barrier.wait()
            start = time.perf_counter()
            for _ in range(calls):
                results.append(call())
            took.append(time.perf_counter() - start)
        except Exception as error:  # noqa: BLE001
            errors.append(describe(error))

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    deadline = time.monotonic() + float(spec["phase_seconds"])
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
    finally:
        threading.settrace(None)
        sys.setswitchinterval(previous)
    if errors:
        return {"error": errors[0]}
    if any(worker.is_alive() for worker in workers):
        return {"timed_out": True}
    return {"before": before, "after": measure(read()), "seconds": max(took),
            "distinct": len({id(result) for result in results if result is not None})}


def role_race(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """One call; then each of n threads makes m calls (one, or for calls under 0.2 ms enough for
    5 ms): serially, on threads, and on threads with forced preemption (3 to 10 times, as time
    allows, until a run differs from the serial one). With the GIL disabled (a free-threaded build)
    those runs are plain: threads run at the same time without being preempted."""
    choice = build_call(spec).choice
    preempt = bool(getattr(sys, "_is_gil_enabled", lambda: True)())
    n = int(spec["threads"])
    one = _phase(spec, choice, 1, 1, False)
    seconds = one.get("seconds", 1.0)
    m = 1 if seconds >= 0.0002 else min(10_000, math.ceil(0.005 / max(seconds, 1e-7)))
    phases: Dict[str, Any] = {"one": one}
    if "seconds" in one:
        phases["serial"] = _phase(spec, choice, 1, n * m, False)
        phases["plain"] = _phase(spec, choice, n, m, False)
        phases["forced"] = []
        attempts_end = time.monotonic() + 2 * float(spec["phase_seconds"])
        while len(phases["forced"]) < 3 or (len(phases["forced"]) < 10 and time.monotonic() < attempts_end):
            phases["forced"].append(_phase(spec, choice, n, m, preempt))
            last, serial = phases["forced"][-1], phases["serial"]
            if (last.get("after"), last.get("distinct")) != (serial.get("after"), serial.get("distinct")):
                break  # the first run that differs is what gillint reads
    channel.send("race", threads=n, calls=m, choice=choice, stubbed=Stub.stubbed, **phases)


# -- GIL201/GIL202: pickle the real object -----------------------------------------------------


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def role_pickle(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """Pool and executor tasks: pickle with ForkingPickler and hand the bytes to gillint, which
    unpickles them in a fresh sandbox. Process(args=...): send to a spawn child while spawning."""
    if not spec["task"]:
        multiprocessing.set_start_method("spawn", force=True)
    value = getattr(load_snippet(), OBJECT_NAME)
    channel.send("built", type=_type_name(value), stubbed=Stub.stubbed)
    try:
        if spec["task"]:
            data = bytes(ForkingPickler.dumps(value))
            channel.send("pickled", data=base64.b64encode(data).decode() if len(data) <= MAX_PICKLE_BYTES else None)
            return
        child = SPAWN.Process(target=_receive, args=(value,), daemon=True)
        child.start()
    except BaseException as error:  # the pickling error IS the result
        channel.send("unpicklable", error=describe(error))
        return
    child.join(30)
    if child.exitcode == 0:
        _exit(EXIT_RECEIVED)
    channel.send("child-failed", exitcode=child.exitcode)


def _receive(value: Any) -> None:
    """Target of the spawn child: getting here means the value was pickled and unpickled."""


def role_unpickle(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """Unpickle what gillint received, as a pool worker would (this imports what it names)."""
    with open(os.path.join(HERE, PICKLE_FILE), "rb") as handle:
        data = handle.read()
    try:
        pickle.loads(data)
    except BaseException as error:  # noqa: BLE001
        channel.send("unpicklable", error=describe(error))
        _exit(EXIT_FAILED)
    _exit(EXIT_RECEIVED)


# -- GIL401: import as __mp_main__, with the parent's arguments ---------------------------------


class ProcessStartIntercepted(BaseException):
    """Raised instead of starting a process when no seccomp filter stops it."""


def role_import(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """Run the module as a spawned child imports the main module. With the seccomp filter a real
    process start kills this subject with SIGSYS; without it the start is intercepted here."""
    path = os.path.join(HERE, spec["module_path"])
    sys.argv = [path, *spec["argv"]]  # what multiprocessing gives a spawned child
    sys.path.insert(0, os.path.dirname(path))
    from multiprocessing import process

    start = process.BaseProcess.start

    def intercept(self: Any) -> None:
        frames = [f for f in traceback.extract_stack() if os.path.abspath(f.filename) == path]
        channel.send("started", process=type(self).__name__, line=frames[-1].lineno if frames else None)
        if params["filtered"]:
            start(self)  # the kernel ends the subject here
        raise ProcessStartIntercepted()

    process.BaseProcess.start = intercept  # type: ignore[method-assign]
    try:
        runpy.run_path(path, run_name="__mp_main__")
    except ProcessStartIntercepted:
        _exit(EXIT_STARTED)
    except SystemExit as error:
        channel.send("exited", code=error.code if isinstance(error.code, int) else str(error.code))
        _exit(EXIT_SYSTEM_EXIT)
    _exit(EXIT_IMPORTED)


def role_selftest(spec: Dict[str, Any], params: Dict[str, Any], channel: Channel) -> None:
    """Run ``spec["code"]`` as is: used by the sandbox's own tests."""
    namespace: Dict[str, Any] = {"__name__": "__selftest__"}
    exec(compile(spec["code"], "selftest", "exec"), namespace)  # noqa: S102 - sandboxed
    channel.send("result", value=repr(namespace.get("result")))


ROLES: Dict[str, Callable[[Dict[str, Any], Dict[str, Any], Channel], None]] = {
    "gil": role_gil,
    "mode": role_mode,
    "race": role_race,
    "pickle": role_pickle,
    "unpickle": role_unpickle,
    "import": role_import,
    "selftest": role_selftest,
}

if __name__ == "__main__":
    main()
