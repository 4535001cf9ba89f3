"""How many findings the verifier measures: its coverage, from ``gillint --verify --format json``.

    gillint --verify --verify-budget 900 --no-cache --format json examples tests/fixtures > verify.json
    python bench/verify_coverage.py verify.json          # or: ... | python bench/verify_coverage.py -

A finding is *measured* when its verdict is confirmed or refuted. Per code it prints the count of
each status, then the coverage, and every refuted finding: one whose source line carries the
fixture marker for its code (``# GIL101``, tests/fixture_support.py) is a true finding refuted,
which the verifier must never do (the script then exits 1). See docs/verifier.md, "Coverage".
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

STATUSES = ("confirmed", "refuted", "inconclusive", "skipped")


def coverage(document: dict[str, Any]) -> tuple[dict[str, Counter[str]], list[dict[str, Any]]]:
    """Status counts per code (and "all"), and the refuted findings that carry a fixture marker."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    wrongly_refuted = []
    for finding in document["findings"]:
        status = finding.get("verification", {}).get("status", "not verified")
        counts[finding["code"]][status] += 1
        counts["all"][status] += 1
        if status == "refuted" and _marked(finding):
            wrongly_refuted.append(finding)
    return counts, wrongly_refuted


def _marked(finding: dict[str, Any]) -> bool:
    try:
        line = Path(finding["path"]).read_text(encoding="utf-8").splitlines()[finding["line"] - 1]
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return re.search(rf"#\s*(GIL\d{{3}}[,\s]*)*{finding['code']}\b", line) is not None


def main(argv: list[str]) -> int:
    source = sys.stdin if not argv or argv[0] == "-" else open(argv[0], encoding="utf-8")
    counts, wrongly_refuted = coverage(json.load(source))
    print(f"{'code':<8}" + "".join(f"{s:>14}" for s in STATUSES) + f"{'measured':>12}")
    for code in sorted(counts, key=lambda c: (c == "all", c)):
        row = counts[code]
        total = sum(row.values())
        measured = row["confirmed"] + row["refuted"]
        print(f"{code:<8}" + "".join(f"{row[s]:>14}" for s in STATUSES)
              + f"{measured:>6}/{total:<3} {measured / total:>4.0%}")
    for finding in wrongly_refuted:
        print(f"TRUE FINDING REFUTED: {finding['path']}:{finding['line']} {finding['code']}: "
              f"{finding['verification']['summary']}")
    return 1 if wrongly_refuted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
