"""The runtime verifier: real sandboxed subprocesses on small workloads, and the sandbox's limits.

GIL101/201/202/301 findings are built by hand with the evidence contract (docs/verifier.md);
GIL401 runs end to end through the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import psutil
import pytest

from gillint.findings import Finding
from gillint.rules import rule_for
from gillint.verify import Status, Verification, VerifySettings, settings_from, verify
from gillint.verify.extract import SourceModule
from gillint.verify.sandbox import Limits, run_probe
from verify_support import needs_sandbox

# Every probe runs in the sandbox: where it cannot be set up, these tests are skipped (verify_support.py).
pytestmark = [pytest.mark.integration, needs_sandbox]
FAST = VerifySettings(timeout=6.0, budget=60.0)
QUICK = VerifySettings(timeout=2.0, budget=60.0)  # a 0.33 s window: enough when the numbers do not matter


def module(tmp_path: Path, text: str, name: str = "work.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def finding(code: str, path: Path, line: int, **evidence: Any) -> Finding:
    """A finding with the given values for its rule's evidence keys, as they are (the others None, keys the
    rule does not have left out): probes must cope."""
    rule = rule_for(code)
    keys = {item.name: None for item in dataclasses.fields(rule.evidence)} if rule is not None else {}
    given = {key: value for key, value in evidence.items() if key in keys}
    return Finding(str(path), line, 1, line, 2, code, "rule", "message",
                   evidence=rule.evidence(**{**keys, **given}) if rule is not None else None)


def function_finding(code: str, path: Path, name: str, arguments: list[str], **evidence: Any) -> Finding:
    target = {"name": name, "path": str(path), "line": 1}
    return finding(code, path, 1, target=target, arguments=arguments,
                   dispatch={"api": "threading.Thread", "path": str(path), "line": 1}, **evidence)


def one(found: Finding, settings: VerifySettings = FAST) -> Verification:
    return verify([found], settings)[found]


# -- GIL101 -------------------------------------------------------------------------------------


def _timing_agrees(verdict: Verification) -> None:
    """When a core was free, the second figure (serial / threads / processes) ran and its numbers are shown."""
    if verdict.evidence["timing"] == "measured":
        assert "threads" in verdict.summary and "processes" in verdict.summary
        assert "process_speedup" in verdict.evidence and verdict.chart
    else:
        assert f"timing skipped ({verdict.evidence['timing']})" in verdict.summary


def test_cpu_bound_threads_are_confirmed_by_the_gil_wait_even_without_a_free_core(tmp_path: Path) -> None:
    path = module(tmp_path, """
        N = 400_000

        def sum_of_squares(n):
            return sum(i * i for i in range(n))
    """)
    verdict = one(function_finding("GIL101", path, "sum_of_squares", ["N"]))
    # Another thread waits about a switch interval for the GIL while the worker runs, busy machine or not.
    assert verdict.status is Status.CONFIRMED, verdict.line()
    assert verdict.evidence["gil_wait_ms"] >= verdict.evidence["switch_interval_ms"] / 2
    assert verdict.summary.startswith("the worker holds the GIL: GIL wait") and "(GIL)" in verdict.python
    _timing_agrees(verdict)


def test_call_longer_than_the_time_box_is_measured_over_a_window(tmp_path: Path) -> None:
    path = module(tmp_path, "def sum_of_squares(n):\n    return sum(i * i for i in range(n))\n")
    verdict = one(function_finding("GIL101", path, "sum_of_squares", ["10**10"]), QUICK)
    assert verdict.evidence["mode"] == "window" and "CPU-s per wall-s" in verdict.summary
    assert verdict.status is Status.CONFIRMED, verdict.line()
    _timing_agrees(verdict)


def test_gil_releasing_workload_is_refuted_even_without_a_free_core(tmp_path: Path) -> None:
    path = module(tmp_path, """
        import hashlib
        import zlib

        DATA = bytes(range(256)) * 16_384

        def digest(data):
            for _ in range(4):
                hashlib.sha256(data).digest()
            return zlib.crc32(data)
    """)
    verdict = one(function_finding("GIL101", path, "digest", ["DATA"]))
    assert verdict.status is Status.REFUTED and "releases the GIL" in verdict.summary, verdict.line()
    assert verdict.evidence["gil_wait_ms"] <= verdict.evidence["switch_interval_ms"] / 4
    assert verdict.droppable  # decided by what gillint measured


def test_waiting_workload_is_refuted_even_on_a_busy_machine(tmp_path: Path) -> None:
    path = module(tmp_path, "import time\n\ndef wait(seconds):\n    time.sleep(seconds)\n")
    verdict = one(function_finding("GIL101", path, "wait", ["0.05"]), QUICK)
    assert verdict.status is Status.REFUTED and "threads overlap the waiting" in verdict.summary, verdict.line()


def test_arguments_that_are_not_literal_get_stand_ins_unless_configured(tmp_path: Path) -> None:
    path = module(tmp_path, "def work(n):\n    return sum(range(n))\n")
    found = function_finding("GIL101", path, "work", ["size"])
    verdict = one(found, QUICK)
    # `range(n)` makes an int the first stand-in tried; the verdict names it.
    assert verdict.status is Status.CONFIRMED and "stand-in arguments: n = the int 200000" in verdict.summary
    configured = one(found, settings_from({"timeout": 2, "arguments": {"work": ["50_000"]}}))
    assert configured.status is not Status.SKIPPED and "stand-in" not in configured.summary
    missing = one(function_finding("GIL101", path, "work", []), QUICK)  # the dispatch passes too few
    assert "stand-in arguments: n = the int 200000" in missing.summary, missing.line()


@pytest.mark.parametrize(("api", "arguments"), [("ThreadPoolExecutor.map", ["SIZES"]),
                                                ("ThreadPool.starmap", ["[(n, 1) for n in SIZES]"])])
def test_a_map_sends_one_item_per_call(tmp_path: Path, api: str, arguments: list[str]) -> None:
    path = module(tmp_path, "SIZES = [200_000] * 8\n\ndef work(n, step=1):\n    return sum(range(0, n, step))\n")
    found = finding("GIL101", path, 1, target={"name": "work", "path": str(path)}, arguments=arguments,
                    dispatch={"api": api, "path": str(path), "line": 1})
    verdict = one(found, QUICK)
    assert verdict.status is not Status.SKIPPED and "snippet failed" not in verdict.summary, verdict.line()


@pytest.mark.parametrize("evidence", [{}, {"target": {"name": "f"}}, {"target": "nonsense", "arguments": 3}])
def test_missing_evidence_is_skipped_with_a_reason(tmp_path: Path, evidence: dict[str, Any]) -> None:
    path = module(tmp_path, "def f():\n    pass\n")
    for code in ("GIL101", "GIL201", "GIL202", "GIL301"):
        verdict = one(finding(code, path, 1, **evidence))
        assert verdict.status is Status.SKIPPED and verdict.summary, (code, verdict)


def test_budget_used_up_skips_the_remaining_probes(tmp_path: Path) -> None:
    path = module(tmp_path, UNGUARDED, "script.py")
    verdict = one(finding("GIL401", path, 6), VerifySettings(budget=0.5))
    assert verdict.status is Status.SKIPPED and "budget of 0.5 s used up" in verdict.summary


def test_no_probe_for_unknown_codes(tmp_path: Path) -> None:
    assert one(finding("GIL999", tmp_path / "x.py", 1)).summary == "no probe for GIL999"


# -- GIL201 / GIL202 -------------------------------------------------------------------------------

PICKLING = """
    import sqlite3
    import threading
    from concurrent.futures import ProcessPoolExecutor

    def main(scale):
        def local(x):
            return x
        def closure(x):
            return x * scale
        lock = threading.Lock()
        rows = (n for n in range(3))
        db = sqlite3.connect(":memory:")
        with ProcessPoolExecutor() as executor:
            with open(__file__) as handle:
                executor.submit(lambda x: x, 1)
                executor.submit(local, 1)
                executor.submit(closure, 1)
                executor.submit(print, lock)
                executor.submit(print, rows)
                executor.submit(print, handle)
                executor.submit(print, db)
                executor.submit(len, "ok")
"""


@pytest.mark.parametrize(
    ("code", "line", "evidence", "error"),
    [
        ("GIL201", 17, {"callable": "lambda x: x", "kind": "lambda"}, "main.<locals>.<lambda>"),
        ("GIL201", 18, {"callable": "local", "kind": "local function"}, "main.<locals>.local"),
        ("GIL201", 19, {"callable": "closure", "kind": "closure"}, "main.<locals>.closure"),
        ("GIL202", 20, {"argument": "lock", "kind": "lock"}, "cannot pickle '_thread.lock' object"),
        ("GIL202", 21, {"argument": "rows", "kind": "generator"}, "cannot pickle 'generator' object"),
        ("GIL202", 22, {"argument": "handle", "kind": "open file"}, "TypeError: cannot pickle '"),
        ("GIL202", 23, {"argument": "db", "kind": "sqlite3 connection"}, "sqlite3.Connection"),
    ],
)
def test_pickling_failures_are_confirmed_with_the_real_error(
    tmp_path: Path, code: str, line: int, evidence: dict[str, str], error: str
) -> None:
    path = module(tmp_path, PICKLING)
    dispatch = {"api": "ProcessPoolExecutor.submit", "path": str(path), "line": line}
    verdict = one(finding(code, path, line, dispatch=dispatch, **evidence))
    assert verdict.status is Status.CONFIRMED, verdict.line()
    assert error in verdict.summary and "spawn child" in verdict.summary
    assert "stands in" not in verdict.summary  # rebuilt from the source, not a stand-in


def test_picklable_callable_is_refuted(tmp_path: Path) -> None:
    path = module(tmp_path, PICKLING)
    dispatch = {"api": "ProcessPoolExecutor.submit", "path": str(path), "line": 24}
    verdict = one(finding("GIL201", path, 24, dispatch=dispatch, callable="len", kind="lambda"))
    assert verdict.status is Status.REFUTED, verdict.line()


# -- GIL301 ------------------------------------------------------------------------------------


def test_lost_update_race_is_confirmed_by_forced_preemption(tmp_path: Path) -> None:
    path = module(tmp_path, """
        hits = 0

        def record(n):
            global hits
            for _ in range(n):
                hits += 1
    """)
    found = finding("GIL301", path, 6, function="record", function_path=str(path), shared="global 'hits'",
                    arguments=["20_000"], operation="read-modify-write", workers=4)
    verdict = one(found)
    assert verdict.status is Status.CONFIRMED, verdict.line()
    assert verdict.evidence["expected"] == "80000"
    assert any(value != "80000" for value in verdict.evidence["forced"])
    if verdict.evidence["plain"] == "80000":  # the usual case from CPython 3.10 on
        assert "it hid the race" in verdict.summary


def _race(path: Path, name: str, shared: str, operation: str = "read-modify-write", **evidence: Any) -> Verification:
    found = finding("GIL301", path, 3, target={"name": name, "path": str(path), "line": 3}, arguments=[],
                    shared=shared, operation=operation, workers=4, **evidence)
    return one(found, QUICK)


def test_per_thread_keys_and_recomputed_totals_are_not_lost_updates(tmp_path: Path) -> None:
    """A difference is not a race: each thread's own key, or a total every call recomputes (so four
    threads may leave four times one call's sum), breaks no invariant."""
    path = module(tmp_path, """
        import threading
        RESULTS = {}
        total = 0

        def per_thread():
            RESULTS[threading.get_ident()] = 1

        def recompute():
            global total
            total = 0
            for i in range(2_000):
                total += i
    """)
    for name, shared in (("per_thread", "module-level 'RESULTS'"), ("recompute", "global 'total'")):
        verdict = _race(path, name, shared)
        assert verdict.status is Status.INCONCLUSIVE and "not an accumulator" not in verdict.summary, verdict.line()
        assert "neither an accumulator nor done once" in verdict.summary


def test_check_then_act_is_confirmed_by_a_repeated_act_or_a_second_object(tmp_path: Path) -> None:
    path = module(tmp_path, """
        SEEN = []

        class Lazy:
            def __init__(self):
                self.instance = None

            def get(self):
                if self.instance is None:
                    self.instance = object()
                return self.instance

        def once():
            if "key" not in SEEN:
                SEEN.append("key")
    """)
    appended = _race(path, "once", "module-level 'SEEN'", "check-then-act")
    assert appended.status is Status.CONFIRMED and "the check passed in more than one thread" in appended.summary
    created = _race(path, "Lazy.get", "attribute 'instance' of the 'Lazy' instance its threads share",
                    "check-then-act")
    assert created.status in (Status.CONFIRMED, Status.INCONCLUSIVE), created.line()  # a race is probabilistic
    if created.status is Status.CONFIRMED:
        assert "all returned the same object" in created.summary


# -- targets beyond module-level functions --------------------------------------------------------


def test_methods_nested_functions_lambdas_and_library_callables_are_probed(tmp_path: Path) -> None:
    path = module(tmp_path, """
        import json
        import threading

        class Crunch:
            def __init__(self, size):
                self.size = size

            def run(self):
                return sum(i * i for i in range(self.size))

        def outer(rows):
            def inner(row):
                return sum(i * i for i in range(row))
            threading.Thread(target=inner, args=(rows[0],)).start()
            threading.Thread(target=lambda r: sum(i * i for i in range(r)), args=(rows,)).start()
    """)
    method = finding("GIL101", path, 9, target={"name": "Crunch.run", "path": str(path), "line": 9}, arguments=[],
                     dispatch={"api": "threading.Thread", "path": str(path), "line": 9})
    nested = finding("GIL101", path, 15, target={"name": "outer.<locals>.inner", "path": str(path), "line": 13},
                     arguments=["rows[0]"], dispatch={"api": "threading.Thread", "path": str(path), "line": 15})
    lambdas = finding("GIL101", path, 16, target={"name": "<lambda>", "path": str(path), "line": 16},
                      arguments=["rows"], dispatch={"api": "threading.Thread", "path": str(path), "line": 16})
    library = finding("GIL101", path, 2, target={"name": "json.loads"}, arguments=["documents"],
                      dispatch={"api": "ThreadPoolExecutor.map", "path": str(path), "line": 1})
    verdicts = verify([method, nested, lambdas, library], QUICK)
    for found, stand_in in ((method, "size = the int 200000"), (nested, "row = the int 200000"),
                            (lambdas, "r = the int 200000"), (library, "a 90 kB JSON document")):
        verdict = verdicts[found]
        assert verdict.status is Status.CONFIRMED and stand_in in verdict.summary, verdict.line()


def test_pickling_needs_only_what_the_object_needs(tmp_path: Path) -> None:
    """An import the pickled object does not use is stubbed when it fails, and the verdict says so."""
    path = module(tmp_path, """
        import not_installed_anywhere as np
        from concurrent.futures import ProcessPoolExecutor

        def main():
            with ProcessPoolExecutor() as executor:
                executor.submit(lambda x: np.dot(x, x), 1)
    """)
    dispatch = {"api": "ProcessPoolExecutor.submit", "path": str(path), "line": 7}
    verdict = one(finding("GIL201", path, 7, dispatch=dispatch, callable="lambda x: np.dot(x, x)", kind="lambda"))
    assert verdict.status is Status.CONFIRMED and "main.<locals>.<lambda>" in verdict.summary, verdict.line()
    assert verdict.evidence["stubbed"] == ["not_installed_anywhere"]


# -- GIL401 through the CLI ------------------------------------------------------------------------

UNGUARDED = "from multiprocessing import Pool\n\ndef f(x):\n    return x\n\nPool(2).map(f, [1])\n"
CONDITIONAL = ("import os\nfrom multiprocessing import Pool\n\ndef f(x):\n    return x\n\n"
               "if os.environ.get('GILLINT_NEVER_SET'):\n    Pool(2).map(f, [1])\n")


def gillint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gillint", *args], capture_output=True, timeout=120, text=True)


def test_missing_guard_confirmed_end_to_end(tmp_path: Path) -> None:
    path = module(tmp_path, UNGUARDED, "script.py")
    text = gillint("--verify", str(path))
    lines = text.stdout.splitlines()
    assert text.returncode == 1 and lines[0].startswith(f"{path}:6:1: GIL401")
    assert lines[1].startswith("  verified: confirmed — importing it as __mp_main__") and "CPUs" in lines[1]
    document = json.loads(gillint("--verify", "--format", "json", str(path)).stdout)
    verification = document["findings"][0]["verification"]
    assert set(verification) == {"status", "summary", "evidence", "python", "cpus"}
    assert verification["status"] == "confirmed" and verification["evidence"]["line"] == 6
    assert "verification" not in json.loads(gillint("--format", "json", str(path)).stdout)["findings"][0]


def test_refuted_findings_dropped_only_on_request(tmp_path: Path) -> None:
    path = module(tmp_path, CONDITIONAL, "script.py")
    plain = gillint("--verify", str(path))
    assert plain.returncode == 1 and "verified: refuted" in plain.stdout
    dropped = gillint("--drop-refuted", str(path))
    assert dropped.returncode == 0 and "GIL401" not in dropped.stdout
    assert gillint("--only-confirmed", str(path)).returncode == 0


def test_a_script_that_needs_arguments_sees_the_parents_argv(tmp_path: Path) -> None:
    """A spawned child gets the parent's sys.argv: without it the script exits early (inconclusive,
    never refuted); with [tool.gillint.verify] argv the probe reaches the process start."""
    script = ("import sys\nfrom multiprocessing import Pool\n\nif len(sys.argv) < 2:\n"
              "    sys.exit('usage: script.py FILE')\n\ndef f(x):\n    return x\n\nPool(2).map(f, [sys.argv[1]])\n")
    path = module(tmp_path, script, "script.py")
    early = gillint("--verify", str(path))
    assert "verified: inconclusive — the module exited (SystemExit: usage: script.py FILE)" in early.stdout
    assert gillint("--drop-refuted", str(path)).returncode == 1  # kept: an early exit refutes nothing
    module(tmp_path, "[tool.gillint.verify]\nargv = ['data.csv']\n", "pyproject.toml")
    assert "verified: confirmed — importing it as __mp_main__" in gillint("--verify", str(path)).stdout


def test_verify_config_errors_are_reported(tmp_path: Path) -> None:
    module(tmp_path, "[tool.gillint.verify]\ntimeout = 'soon'\n", "pyproject.toml")
    path = module(tmp_path, UNGUARDED, "script.py")
    result = gillint("--verify", str(path))
    assert result.returncode == 2 and "timeout: expected float" in result.stderr


# -- extraction ----------------------------------------------------------------------------------

DANGEROUS = """
    import math
    from pathlib import Path

    SCALE = 3
    FACTOR = SCALE * 2
    UNUSED = 99

    class Helper:
        def value(self, x):
            return math.floor(x) * FACTOR

    def helper(x):
        return Helper().value(x)

    def target(n):
        global total
        total = 0
        for i in range(n):
            total += helper(i)

    def unrelated():
        return UNUSED

    total = 0
    Path(MARKER).write_text("top-level code ran")
    print("side effect")
"""


def test_extraction_takes_what_the_function_needs_and_nothing_else(tmp_path: Path) -> None:
    source = SourceModule.load(module(tmp_path, DANGEROUS.replace("MARKER", "'m'")))
    snippet = source.snippet(["target"])
    for needed in ("import math", "SCALE = 3", "FACTOR = SCALE * 2", "class Helper", "def helper", "def target",
                   "total = 0"):
        assert needed in snippet
    for excluded in ("UNUSED", "unrelated", "write_text", "print", "pathlib"):
        assert excluded not in snippet


def test_top_level_code_of_the_module_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    path = module(tmp_path, DANGEROUS.replace("MARKER", repr(str(marker))))
    timing = function_finding("GIL101", path, "target", ["200"])
    race = finding("GIL301", path, 20, function="target", function_path=str(path), shared="global total",
                   arguments=["200"])
    verdicts = verify([timing, race], QUICK)
    assert all(v.status is not Status.SKIPPED for v in verdicts.values()), verdicts
    assert not marker.exists()


# -- containment (issue 9) -------------------------------------------------------------------------


def _selftest(code: str, **limits: Any) -> Any:
    return run_probe({}, {"probe": "selftest", "code": textwrap.dedent(code)}, Limits(**limits))


def _running(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if marker in " ".join(process.info["cmdline"] or ()) and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process.pid)
    return found


def test_infinite_loop_killed_at_timeout_with_its_process_group(tmp_path: Path) -> None:
    path = module(tmp_path, "counter = 0\n\ndef spin(n):\n    while True:\n        pass\n")
    found = finding("GIL301", path, 3, function="spin", function_path=str(path), shared="global counter",
                    arguments=["1"])
    verdict = one(found, VerifySettings(timeout=1.0))
    assert verdict.status is Status.INCONCLUSIVE and "timed out" in verdict.summary
    # Pids inside the probe's PID namespace mean nothing outside: the leftovers are found by a marker.
    marker = f"gillint-leftover-{os.getpid()}"
    run = _selftest(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "while True: pass  # {marker}"])
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)  # {marker}"])
        print("STARTED", flush=True)
        while True:
            pass
    """, timeout=1.5)
    assert run.timed_out and run.result is None and "STARTED" in run.output
    assert not _running(marker)


def test_unbounded_allocation_stops_at_the_memory_limit() -> None:
    run = _selftest("""
        blocks = []
        while True:
            blocks.append(bytearray(10 * 2**20))
    """, memory_mb=256, timeout=20)
    assert not run.timed_out and run.result is not None and run.result["error"].startswith("MemoryError")


def test_fork_bomb_is_capped() -> None:
    run = _selftest("""
        import os, time
        started = 0
        try:
            while started < 500:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                started += 1
        except OSError as error:
            result = (started, error.errno)
    """, max_processes=20, timeout=10)
    started, _ = eval(run.result["value"])
    assert started < 20


def test_output_flood_is_truncated() -> None:
    run = _selftest("import sys\nfor _ in range(200_000):\n    sys.stdout.write('x' * 99 + '\\n')\n",
                    output_bytes=4096, timeout=20)
    assert run.result is not None and len(run.output) == 4096 and run.output_dropped == 20_000_000 - 4096


def test_working_directory_is_fresh_and_removed() -> None:
    run = _selftest("import os\nopen('left-behind.txt', 'w').write('x')\nresult = sorted(os.listdir('.'))")
    assert run.result is not None and "left-behind.txt" in run.result["value"]
    assert "gillint-verify-" in run.workdir and not os.path.exists(run.workdir)


def test_probe_cannot_reach_a_listening_loopback_socket() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from here
        run = _selftest(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)")
    assert run.result is not None and run.result["outcome"] == "error"
    assert "OSError" in run.result["error"] or "ConnectionRefused" in run.result["error"]


# -- output and settings (no subprocess) ----------------------------------------------------------


def test_text_report_puts_the_verdict_and_bars_under_the_finding() -> None:
    import io

    from gillint.findings import RunResult
    from gillint.report.text import ReportOptions, render_text

    found = Finding("a.py", 3, 1, 3, 2, "GIL101", "rule", "message")
    chart = (("serial", 0.62, "0.62 s"), ("2 threads", 0.62, "0.62 s"), ("2 processes", 0.33, "0.33 s"))
    verdict = Verification(Status.CONFIRMED, "serial 0.62 s, 2 threads 0.62 s (1.00x)", {}, "CPython 3.11.7 (GIL)",
                           2, chart)
    result = RunResult([found], 1, verifications={found: verdict})
    plain, barred = io.StringIO(), io.StringIO()
    render_text(result, ReportOptions(quiet=True), plain)
    render_text(result, ReportOptions(quiet=True, bars=True), barred)
    assert plain.getvalue().splitlines()[1] == (
        "  verified: confirmed — serial 0.62 s, 2 threads 0.62 s (1.00x); CPython 3.11.7 (GIL), 2 CPUs")
    bars = barred.getvalue().splitlines()[2:]
    assert [line.split()[0] for line in bars] == ["serial", "2", "2"]
    assert bars[0].count("█") == 24 and 12 <= bars[2].count("█") <= 13


@pytest.mark.parametrize(("table", "message"), [({"timeout": "soon"}, "timeout: expected float"),
                                                 ({"colour": 1}, "unknown key 'colour'"),
                                                 ({"budget": 0}, "budget must be positive")])
def test_settings_are_validated(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from(table)
    assert settings_from({"timeout": 3}, timeout=None, budget=5.0) == VerifySettings(timeout=3, budget=5.0)


GIL, FREE = "CPython 3.11.7 (GIL)", "CPython 3.13.0 (free-threaded, GIL disabled)"


@pytest.mark.parametrize(
    ("k", "times", "rates", "python", "status", "words"),
    [
        (2, (0.62, 0.62, 0.33), (1.0, 1.0), GIL, Status.CONFIRMED, "2 processes 0.33 s (1.88x)"),
        (2, (0.62, 0.44, 0.33), (0.9, 1.0), GIL, Status.CONFIRMED, "2 threads 0.44 s (1.41x)"),  # serial slowed
        (2, (0.62, 0.33, 0.33), (1.0, 1.9), GIL, Status.REFUTED, "using 1.90 CPUs (the work releases the GIL)"),
        (2, (0.62, 0.33, 0.33), (1.0, 1.9), FREE, Status.REFUTED, "free-threaded build"),
        (2, (0.62, 0.31, 0.33), (0.02, 0.04), GIL, Status.REFUTED, "threads overlap the waiting"),
        (2, (0.62, 0.62, 0.60), (1.0, 1.0), GIL, Status.INCONCLUSIVE, "processes did not scale either"),
        (2, (0.62, 0.48, 0.33), (1.0, 1.3), GIL, Status.INCONCLUSIVE, "threads partly scale (1.30 CPUs)"),
        (1, (0.62, 0.62, 0.62), (1.0, 1.0), GIL, Status.INCONCLUSIVE, "one CPU"),
        (2, (0.02, 0.02, 0.01), (1.0, 1.0), GIL, Status.INCONCLUSIVE, "too short to measure"),
    ],
)
def test_timing_verdicts_follow_the_measured_speed_ups(
    k: int, times: tuple[float, float, float], rates: tuple[float, float], python: str, status: Status, words: str
) -> None:
    from gillint.verify.probes import read_timing

    result = {"mode": "complete", "k": k, "serial": times[0], "threads": times[1], "processes": times[2],
              "serial_cpu_rate": rates[0], "threads_cpu_rate": rates[1], "python": python, "cpus": k}
    verdict = read_timing(result)
    assert verdict.status is status and words in verdict.summary, verdict.summary
    assert [label for label, _, _ in verdict.chart] == ["serial", f"{k} threads", f"{k} processes"]
