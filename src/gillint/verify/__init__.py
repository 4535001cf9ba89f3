"""The runtime verifier (``gillint --verify``): back each finding with an isolated run.

Public API: :func:`verify` maps findings to :class:`Verification` verdicts; the CLI stores them
in ``RunResult.verifications`` where every reporter reads them, and :func:`kept` applies
``--drop-refuted`` / ``--only-confirmed``. See docs/verifier.md.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from gillint.findings import Finding
from gillint.verify.drivers import observe, usable_cpus
from gillint.verify.probes import Context, Plan, finish, plan, window_for
from gillint.verify.sandbox import IsolationUnavailable, Limits, Sandbox, hidden, isolation
from gillint.verify.verdict import Status, Verification, skipped

__all__ = ["IsolationUnavailable", "Status", "Verification", "VerifySettings", "kept", "settings_from", "verify"]

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
    #: The arguments a GIL401 module sees after its own path (a spawned child gets the parent's).
    argv: tuple[str, ...] = ()
    #: False only with ``--verify-unsandboxed``: probes run as plain child processes.
    sandboxed: bool = True


_KEYS = {"timeout": float, "budget": float, "memory-mb": int, "python": str, "arguments": dict, "argv": list}


def settings_from(table: Mapping[str, Any], **overrides: Any) -> VerifySettings:
    """Validate ``[tool.gillint.verify]``; raises ValueError naming the bad key."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = _KEYS.get(key)
        if expected is None:
            raise ValueError(f"[tool.gillint.verify]: unknown key {key!r}; allowed keys: {', '.join(_KEYS)}")
        if not isinstance(value, expected) and not (expected is float and isinstance(value, int)):
            raise ValueError(f"[tool.gillint.verify] {key}: expected {expected.__name__}")
        values[key.replace("-", "_")] = value
    if not all(isinstance(item, str) for item in values.get("argv", [])):
        raise ValueError("[tool.gillint.verify] argv: expected a list of strings")
    values["argv"] = tuple(values.get("argv", ()))
    values.update({key: value for key, value in overrides.items() if value is not None})
    for key in ("timeout", "budget", "memory_mb"):
        if key in values and values[key] <= 0:
            raise ValueError(f"verify {key.replace('_', '-')} must be positive, not {values[key]}")
    return VerifySettings(**values)


def verify(findings: Sequence[Finding], settings: VerifySettings,
           progress: Optional[Progress] = None) -> dict[Finding, Verification]:
    """A verdict for every finding: non-timing probes in parallel, then timing probes one at a time.

    Raises :class:`IsolationUnavailable` before running anything when the sandbox cannot be set up
    (unless ``settings.sandboxed`` is false). Findings whose probes would run the very same thing
    share one run.
    """
    if settings.sandboxed:
        isolation()
    deadline = time.monotonic() + settings.budget
    context = Context(settings.arguments, settings.argv, window_for(settings.timeout), settings.timeout)
    verdicts: dict[Finding, Verification] = {}
    groups: dict[str, list[tuple[Finding, Plan]]] = {}
    for finding in findings:
        built = plan(finding, context) if not finding.is_analysis_error else skipped("no probe")
        if isinstance(built, Plan) and settings.sandboxed:
            built = _exposable(built)
        if isinstance(built, Verification):
            verdicts[finding] = built
        else:
            groups.setdefault(built.key, []).append((finding, built))
    total, counter = len(groups), itertools.count(1)

    def run(group: list[tuple[Finding, Plan]]) -> None:
        first, probe = group[0]
        if progress is not None:
            progress(next(counter), total, first)
        remaining = deadline - time.monotonic()
        if remaining < 1.0:
            for finding, _ in group:
                verdicts[finding] = skipped(f"verification budget of {settings.budget:g} s used up")
            return
        observation = _observe(probe, settings, Limits(timeout=min(settings.timeout, remaining),
                                                       memory_mb=settings.memory_mb))
        for finding, each in group:
            verdicts[finding] = finish(each, observation, usable_cpus())

    parallel = [group for group in groups.values() if not group[0][1].timing]
    with ThreadPoolExecutor(max_workers=max(1, usable_cpus())) as pool:
        list(pool.map(run, parallel))
    for group in groups.values():
        if group[0][1].timing:  # alone on the machine: timing probes never overlap anything
            run(group)
    return {finding: verdicts[finding] for finding in findings}


def _exposable(probe: Plan) -> Plan | Verification:
    """The plan, if the sandbox may show its code's directories to the probe; else why not."""
    for path in probe.import_paths:
        if hidden(path):
            return skipped(f"the code is in {path}, a directory the sandbox never exposes (/, /tmp, home "
                           "directories): move it into a project directory")
    return probe


def _observe(probe: Plan, settings: VerifySettings, limits: Limits) -> dict[str, Any]:
    try:
        with Sandbox(probe.files, probe.spec, limits, settings.python, probe.import_paths,
                     settings.sandboxed) as box:
            return observe(probe.kind, probe.spec, box, probe.stand_ins)
    except (OSError, subprocess.SubprocessError) as error:  # e.g. `python` names no interpreter
        return {"outcome": "failed", "error": f"could not start the probe: {type(error).__name__}"}


def kept(findings: Sequence[Finding], verdicts: Mapping[Finding, Verification], drop_refuted: bool,
         only_confirmed: bool) -> list[Finding]:
    """The findings ``--drop-refuted`` / ``--only-confirmed`` keep.

    A refuted finding is dropped only when gillint measured the refutation itself (timings, CPU
    time, exit statuses: ``evidence["decided_by"] == "gillint"``), never on what the probe said
    about itself, which code under test could have written. ``--only-confirmed`` keeps confirmed
    findings only.
    """
    def keep(finding: Finding) -> bool:
        verdict = verdicts.get(finding)
        if finding.is_analysis_error or verdict is None:
            return True
        if only_confirmed:
            return verdict.status is Status.CONFIRMED
        return not (drop_refuted and verdict.droppable)

    return [finding for finding in findings if keep(finding)]
