"""Compare gillint with flake8, Fixit and ruff on the standard library and a second corpus.

    python bench/compare.py [--runs 3] [--stdlib DIR] [--corpus DIR] [--touch FILE] [--skip fixit]
                            [--peers-bin DIR] [--no-scaling]

Every measurement runs the tool in a fresh subprocess; wall time is the median of ``--runs`` runs,
peak memory the largest ``ru_maxrss`` of the children (``resource.getrusage(RUSAGE_CHILDREN)`` is
read in a fresh helper process per run, so each figure is one run's). Cold runs start without a
cache; warm runs repeat with the cache of the previous run. Tools that are not installed are
skipped. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(json.loads(sys.argv[1]), cwd=sys.argv[2], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, result.returncode]))
"""


Measurement = Tuple[float, float, float]  # wall s, peak MB, CPU s (user + system, all processes)


def measure(command: Sequence[str], cwd: Path) -> Measurement:
    """Wall seconds, peak MB and CPU seconds of one run of ``command`` (in a fresh helper process).

    CPU time is reported besides wall time because a shared machine's load inflates wall time.
    """
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(list(command)), str(cwd)],
                         capture_output=True, text=True, check=True)
    wall, peak, cpu, _ = json.loads(out.stdout)
    return wall, peak, cpu


PEERS_BIN: Optional[Path] = None


def tool(name: str) -> Optional[str]:
    """The peer tool from ``--peers-bin``, else on PATH."""
    if PEERS_BIN is not None:
        local = PEERS_BIN / name
        return str(local) if local.exists() else None
    return shutil.which(name)


def gillint_command(corpus: Path, cache: Optional[Path], jobs: Optional[int] = None) -> list[str]:
    command = [sys.executable, "-m", "gillint", "-q", "--exit-zero"]
    command += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    return [*command, str(corpus)]


def peers(corpus: Path, cache: Path) -> dict[str, tuple[list[str], Optional[list[str]]]]:
    """name -> (cold command, warm command or None) for each installed peer."""
    found: dict[str, tuple[list[str], Optional[list[str]]]] = {}
    flake8, fixit, ruff_path = tool("flake8"), tool("fixit"), tool("ruff")
    if flake8:
        found["flake8"] = ([flake8, "--exit-zero", str(corpus)], None)
    if fixit:
        found["fixit"] = ([fixit, "lint", str(corpus)], None)
    if ruff_path:
        ruff = [ruff_path, "check", "--exit-zero", "--quiet"]
        found["ruff"] = ([*ruff, "--cache-dir", str(cache / "ruff"), str(corpus)],
                         [*ruff, "--cache-dir", str(cache / "ruff"), str(corpus)])
        found["ruff --no-cache"] = ([*ruff, "--no-cache", str(corpus)], None)
    return found


def median_run(command: Sequence[str], cwd: Path, runs: int,
               before: Optional[Callable[[], None]] = None) -> Measurement:
    """Median wall and CPU time, largest peak memory, over ``runs`` runs."""
    results = []
    for _ in range(runs):
        if before is not None:
            before()
        results.append(measure(command, cwd))
    return (statistics.median(r[0] for r in results), max(r[1] for r in results),
            statistics.median(r[2] for r in results))


def corpus_size(corpus: Path) -> tuple[int, int]:
    files = lines = 0
    for path in corpus.rglob("*.py"):
        files += 1
        try:
            lines += path.read_bytes().count(b"\n")
        except OSError:
            pass
    return files, lines


def bench_corpus(label: str, corpus: Path, runs: int, skip: set[str], work: Path,
                 touch: Optional[str] = None) -> list[dict]:
    rows = []
    files, lines = corpus_size(corpus)
    print(f"\n## {label}: {corpus} ({files} files, {lines} lines)", flush=True)
    cache = work / f"cache-{label}"

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    print("| tool | cold wall s | cold CPU s | cold peak MB | warm wall s | warm CPU s | gillint/peer cold wall |")
    print("|---|---|---|---|---|---|---|", flush=True)
    cold = median_run(gillint_command(corpus, cache), work, runs, clear)
    warm = median_run(gillint_command(corpus, cache), work, runs)
    rows.append(_row(label, "gillint", cold, warm, cold))
    if touch is not None and (corpus / touch).is_file():
        edited = median_run(gillint_command(corpus, cache), work, runs, lambda: _edit(corpus / touch))
        print(f"| gillint, warm after editing {touch} | | | | {edited[0]:.2f} | {edited[2]:.2f} | |", flush=True)
    for name, (cold_command, warm_command) in peers(corpus, cache).items():
        if name in skip:
            continue
        peer_runs = 1 if name in ("flake8", "fixit") else runs
        cold_peer = median_run(cold_command, work, peer_runs, clear)
        warm_peer = median_run(warm_command, work, runs) if warm_command else None
        rows.append(_row(label, name, cold_peer, warm_peer, cold))
    return rows


def _edit(path: Path) -> None:
    """Change a file's content as an edit would (the cache re-analyses it and what depends on it)."""
    with path.open("a", encoding="utf-8") as out:
        out.write("# edited\n")


def _row(label: str, name: str, cold: Measurement, warm: Optional[Measurement], gillint_cold: Measurement) -> dict:
    """Print a table row as soon as it is measured (flake8 and Fixit take minutes)."""
    warm_text = f"{warm[0]:.2f} | {warm[2]:.2f}" if warm else "- | -"
    print(f"| {name} | {cold[0]:.2f} | {cold[2]:.2f} | {cold[1]:.0f} | {warm_text} | {gillint_cold[0] / cold[0]:.3f} |",
          flush=True)
    return {"corpus": label, "tool": name, "cold": cold, "warm": warm}


def single_file(work: Path, runs: int) -> Measurement:
    """A 500-line file with a thread pool, linted the way pre-commit runs gillint (no cache)."""
    body = ["from concurrent.futures import ThreadPoolExecutor", "", ""]
    for number in range(99):
        body += [f"def work_{number}(x):", f"    total = x + {number}", "    return total * 2", "", ""]
    body += ["with ThreadPoolExecutor() as pool:", "    print(list(pool.map(work_1, range(3))))"]
    (work / "single").mkdir(exist_ok=True)  # alone: pre-commit's importer scan covers the file's import root
    path = work / "single" / "single.py"
    path.write_text("\n".join(body[:500]) + "\n", encoding="utf-8")
    return median_run([sys.executable, "-m", "gillint", "--no-cache", "--exit-zero", "-q", str(path)], work, runs)


def scaling(corpus: Path, work: Path, jobs_list: Sequence[int]) -> None:
    files, _ = corpus_size(corpus)
    print(f"\n## scaling ({corpus}, cold, no cache)")
    print("| jobs | wall s | files/s | peak MB | CPU s |")
    print("|---|---|---|---|---|")
    for jobs in jobs_list:
        wall, peak, cpu = measure(gillint_command(corpus, None, jobs), work)
        print(f"| {jobs} | {wall:.2f} | {files / wall:.0f} | {peak:.0f} | {cpu:.1f} |", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median); flake8/Fixit: 1")
    parser.add_argument("--stdlib", type=Path, help="standard library to lint (default: the running Python's)")
    parser.add_argument("--corpus", type=Path, help="second corpus (default: this venv's site-packages)")
    parser.add_argument("--touch", default="concurrent/futures/process.py",
                        help="file of the standard library edited between warm runs (path inside it)")
    parser.add_argument("--skip", default="", help="comma-separated peers to skip (e.g. fixit)")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--peers-bin", type=Path,
                        help="directory of the flake8/fixit/ruff executables (a venv without gillint's flake8 "
                             "plugin: flake8 fails to load a plugin that is not importable); default: PATH")
    args = parser.parse_args(argv)
    stdlib = args.stdlib or Path(sysconfig.get_paths()["stdlib"])
    second = args.corpus or Path(sysconfig.get_paths()["purelib"])
    print(f"# gillint benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {os.uname().machine}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    global PEERS_BIN
    PEERS_BIN = args.peers_bin
    with tempfile.TemporaryDirectory(prefix="gillint-bench-") as directory:
        work = Path(directory)
        # Copies, so that every tool lints the same files: the originals sit under hidden or
        # excluded directories (.pyenv is skipped by Fixit; site-packages is not part of the stdlib).
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "site-packages")
        shutil.copytree(stdlib, work / "stdlib", ignore=ignore)
        bench_corpus("stdlib", work / "stdlib", args.runs, skip, work, args.touch)
        if second.is_dir():
            shutil.copytree(second, work / "second", ignore=ignore)
            bench_corpus("second", work / "second", args.runs, skip, work)
        wall, peak, cpu = single_file(work, max(args.runs, 5))
        print(f"\n## single 500-line file (interpreter start-up included, no cache): {wall:.3f} s wall, "
              f"{cpu:.3f} s CPU, {peak:.0f} MB")
        if not args.no_scaling:
            scaling(work / "stdlib", work, sorted({1, *range(2, (os.cpu_count() or 1) + 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
