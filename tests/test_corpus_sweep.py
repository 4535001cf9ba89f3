"""Sweep real code: the installed standard library and site-packages, through the real CLI.

No run may crash, and ``GIL000`` is allowed only for files CPython itself cannot compile. The CI
run is bounded: a fixed random sample of ``GILLINT_SWEEP_SAMPLE`` files (default 200); set it to
``all`` for the whole corpus.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import pytest

CHUNK = 200


def corpus() -> list[Path]:
    roots = {Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib", "platlib")}
    files = set()
    for root in roots:
        files.update(path for path in root.rglob("*.py") if path.is_file())
    return sorted(files)


def sample(files: list[Path]) -> list[Path]:
    wanted = os.environ.get("GILLINT_SWEEP_SAMPLE", "200")
    if wanted == "all" or int(wanted) >= len(files):
        return files
    return sorted(random.Random(9).sample(files, int(wanted)))


def compiles(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


@pytest.mark.slow
def test_standard_library_and_site_packages() -> None:
    files = sample(corpus())
    unexpected: dict[str, str] = {}
    for start in range(0, len(files), CHUNK):
        chunk = [str(path) for path in files[start:start + CHUNK]]
        result = subprocess.run(
            [sys.executable, "-m", "gillint", "--format", "json", "--exit-zero", *chunk],
            capture_output=True, timeout=1800,
        )
        assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
        assert b"Traceback" not in result.stderr
        for error in json.loads(result.stdout)["errors"]:
            if compiles(Path(error["path"])):
                unexpected[error["path"]] = error["message"]
    assert not unexpected, f"GIL000 on files CPython compiles: {json.dumps(unexpected, indent=1)}"
