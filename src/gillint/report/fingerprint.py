"""Stable identities for findings, so CI services can tell a moved finding from a new one."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import PurePath

from gillint.findings import Finding
from gillint.report.text import source_line


def fingerprints(findings: list[Finding], sources: dict[str, list[str]]) -> list[str]:
    """One fingerprint per finding: a hash of its code, file and source line (whitespace-normalised).

    Moving code up or down, or re-indenting it, keeps the fingerprint; editing the line changes it.
    Several identical lines in a file are told apart by their order of occurrence (``hash:n``).
    """
    seen: Counter[str] = Counter()
    found = []
    for finding in findings:
        text = source_line(finding.path, finding.line, sources)
        basis = "\0".join((finding.code, PurePath(finding.path).as_posix(),
                           " ".join(text.split()) if text is not None else finding.message))
        digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
        seen[digest] += 1
        found.append(f"{digest}:{seen[digest]}")
    return found
