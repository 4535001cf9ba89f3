"""What the verifier concludes about one finding, and how that reads in text and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping


class Status(str, Enum):
    CONFIRMED = "confirmed"  # the run showed the problem
    REFUTED = "refuted"  # the run showed the opposite (threads scale, the object pickles...)
    INCONCLUSIVE = "inconclusive"  # the run could not decide (busy machine, timeout, snippet failed)
    SKIPPED = "skipped"  # nothing was run (no probe, missing evidence, arguments not literal)


@dataclass(frozen=True)
class Verification:
    """A verdict with the one-line reason and the raw numbers or error behind it."""

    status: Status
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    python: str = ""
    cpus: int = 0
    #: Bars for the text format: (label, value, value as text) per mode; not part of the JSON.
    chart: tuple[tuple[str, float, str], ...] = ()

    @property
    def droppable(self) -> bool:
        """Refuted on gillint's own measurements (``--drop-refuted`` drops only these)."""
        return self.status is Status.REFUTED and self.evidence.get("decided_by") == "gillint"

    def line(self) -> str:
        """``verified: confirmed — ...; CPython 3.11.7 (GIL), 2 CPUs`` (what the text format prints)."""
        where = f"; {self.python}, {self.cpus} CPU{'s' if self.cpus != 1 else ''}" if self.python else ""
        return f"verified: {self.status.value} — {self.summary}{where}"

    def bars(self, width: int = 24) -> list[str]:
        """A bar per mode (serial / threads / processes) for timing evidence; empty otherwise."""
        if not self.chart:
            return []
        longest = max(value for _, value, _ in self.chart) or 1.0
        rows = []
        for label, value, text in self.chart:
            eighths = round(value / longest * width * 8)
            bar = "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]
            rows.append(f"{label:<12} {bar:<{width}} {text}")
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``verification`` object of a finding."""
        return {"status": self.status.value, "summary": self.summary, "evidence": dict(self.evidence),
                "python": self.python, "cpus": self.cpus}


def skipped(reason: str) -> Verification:
    return Verification(Status.SKIPPED, reason)
