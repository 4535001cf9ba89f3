"""Output formats. Each renders the same :class:`~gillint.engine.RunResult`; none decides anything."""

from __future__ import annotations

from typing import Callable, TextIO

from gillint.findings import RunResult
from gillint.report.github import render_github
from gillint.report.gitlab import render_gitlab
from gillint.report.json_format import render_json
from gillint.report.sarif import render_sarif
from gillint.report.text import ReportOptions, render_text

Renderer = Callable[[RunResult, ReportOptions, TextIO], None]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "gitlab": render_gitlab,
}

__all__ = ["FORMATS", "ReportOptions", "Renderer"]
