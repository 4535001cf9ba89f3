"""The runtime verifier (``gillint --verify``): back each finding with a sandboxed run.

Public API: :func:`verify` maps findings to :class:`Verification` verdicts; the CLI stores them
in ``RunResult.verifications`` where every reporter reads them. See docs/verifier.md.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from gillint.findings import Finding
from gillint.verify.probes import Plan, finish, plan, window_for
from gillint.verify.sandbox import Limits, run_probe
from gillint.verify.verdict import Status, Verification, skipped

__all__ = ["Status", "Verification", "VerifySettings", "settings_from", "verify"]

#: Called before each probe runs: (index from 1, total, finding).
Progress = Callable[[int, int, Finding], None]


@dataclass(frozen=True)
class VerifySettings:
    """``[tool.gillint.verify]`` (and the ``--verify-*`` flags)."""

    timeout: float = 8.0
    budget: float = 120.0
    memory_mb: int = 1024
    python: str = sys.executable
    #: Function name -> argument expressions, for dispatch sites whose arguments are not literal.
    arguments: Mapping[str, Any] = field(default_factory=dict)


_KEYS = {"timeout": float, "budget": float, "memory-mb": int, "python": str, "arguments": dict}


def settings_from(table: Mapping[str, Any], **overrides: Optional[float]) -> VerifySettings:
    """Validate ``[tool.gillint.verify]``; raises ValueError naming the bad key."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = _KEYS.get(key)
        if expected is None:
            raise ValueError(f"[tool.gillint.verify]: unknown key {key!r}; allowed keys: {', '.join(_KEYS)}")
        if not isinstance(value, expected) and not (expected is float and isinstance(value, int)):
            raise ValueError(f"[tool.gillint.verify] {key}: expected {expected.__name__}")
        values[key.replace("-", "_")] = value
    values.update({key: value for key, value in overrides.items() if value is not None})
    for key in ("timeout", "budget", "memory_mb"):
        if key in values and values[key] <= 0:
            raise ValueError(f"verify {key.replace('_', '-')} must be positive, not {values[key]}")
    return VerifySettings(**values)


def verify(findings: Sequence[Finding], settings: VerifySettings,
           progress: Optional[Progress] = None) -> dict[Finding, Verification]:
    """A verdict for every finding: non-timing probes in parallel, then timing probes one at a time."""
    deadline = time.monotonic() + settings.budget
    window = window_for(settings.timeout)
    verdicts: dict[Finding, Verification] = {}
    plans: list[tuple[Finding, Plan]] = []
    for finding in findings:
        built = plan(finding, settings.arguments, window) if not finding.is_analysis_error else skipped("no probe")
        if isinstance(built, Verification):
            verdicts[finding] = built
        else:
            plans.append((finding, built))
    total, counter = len(plans), itertools.count(1)

    def run(item: tuple[Finding, Plan]) -> Verification:
        finding, probe = item
        index = next(counter)
        if progress is not None:
            progress(index, total, finding)
        remaining = deadline - time.monotonic()
        if remaining < 1.0:
            return skipped(f"verification budget of {settings.budget:g} s used up")
        limits = Limits(timeout=min(settings.timeout, remaining), memory_mb=settings.memory_mb)
        try:
            sandboxed = run_probe(probe.files, probe.spec, limits, settings.python, probe.import_paths)
        except (OSError, subprocess.SubprocessError) as error:  # e.g. `python` names no interpreter
            return Verification(Status.INCONCLUSIVE, f"could not start the probe: {error}")
        return finish(probe, sandboxed)

    parallel = [item for item in plans if not item[1].timing]
    with ThreadPoolExecutor(max_workers=max(1, _cpus())) as pool:
        verdicts.update(zip((f for f, _ in parallel), pool.map(run, parallel)))
    for item in plans:
        if item[1].timing:  # alone on the machine: timing probes never overlap anything
            verdicts[item[0]] = run(item)
    return {finding: verdicts[finding] for finding in findings}


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
