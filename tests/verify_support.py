"""Shared by the verifier's tests: skip what needs the sandbox where it cannot be set up."""

from __future__ import annotations

import os

import pytest

from gillint.verify.sandbox import IsolationUnavailable, isolation


def _missing() -> str:
    try:
        isolation()
    except IsolationUnavailable as error:
        return str(error)
    return ""


MISSING = _missing()
#: Skipped where isolation is missing, unless CI says it installed it (.ci/run sets the variable):
#: there a missing sandbox is a failure, not a skip.
needs_sandbox = pytest.mark.skipif(bool(MISSING) and not os.environ.get("GILLINT_REQUIRE_SANDBOX"),
                                   reason=f"no isolation here: {MISSING}")
