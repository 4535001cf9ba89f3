"""Where the linted code runs: the target settings, and the questions rules ask about them.

Three settings (``[tool.gillint]`` keys and command-line flags) describe the target:

- ``target-version``: the oldest Python the code supports (``"3.9"`` ... ``"3.14"``); by default the
  oldest that ``requires-python`` of the same ``pyproject.toml`` allows, else the running interpreter;
- ``start-method``: the multiprocessing start method of processes whose start method the code does
  not choose: ``"fork"``, ``"spawn"``, ``"forkserver"``, or ``"portable"`` (the default: the code
  must work under every platform's default, so each rule assumes the strictest);
- ``free-threaded``: the code runs on a free-threaded build (3.13t, 3.14t), where threads run
  Python in parallel.

A start method chosen in code (``get_context("spawn")``, ``set_start_method("fork")``) wins over
``start-method`` for the processes it governs; :mod:`gillint.facts.start_methods` finds it. Rules
ask :class:`Targets` (``context.targets``) and never read the settings themselves.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional, TypeVar

from gillint.findings import Severity
from gillint.options import Option

#: The start methods of multiprocessing.
FORK, SPAWN, FORKSERVER = "fork", "spawn", "forkserver"
START_METHODS = (FORK, SPAWN, FORKSERVER)
PORTABLE = "portable"
#: Pickling of a dispatch (:class:`gillint.facts.dispatch.Pickling`): what a process start pickles only
#: under spawn and forkserver (``Process(target=...)``, pool initializers).
_SPAWN_PICKLING = "spawn"
#: The oldest and newest Python a target may name.
OLDEST, NEWEST = (3, 9), (3, 14)
VERSIONS = tuple(f"3.{minor}" for minor in range(OLDEST[1], NEWEST[1] + 1))
#: From this version on, Linux (and every POSIX platform but macOS) defaults to forkserver, not fork.
FORKSERVER_BY_DEFAULT = (3, 14)

TARGET_OPTIONS = (
    Option("target-version", "str", None,
           "the oldest Python the code runs on (default: the oldest requires-python allows, else this interpreter)",
           choices=VERSIONS),
    Option("start-method", "str", PORTABLE,
           "the start method of processes the code does not choose one for (portable: any platform's default)",
           choices=(PORTABLE, *START_METHODS)),
    Option("free-threaded", "bool", False, "the code runs on a free-threaded build (3.13t, 3.14t)"),
)


def running_version() -> str:
    """The running interpreter's version, as a target (clamped to the versions targets can name)."""
    return _clamped((sys.version_info[0], sys.version_info[1]))


def _clamped(version: tuple[int, int]) -> str:
    version = max(OLDEST, min(NEWEST, version))
    return f"{version[0]}.{version[1]}"


def _parse_version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@dataclass(frozen=True)
class Targets:
    """The target of a run, and what it implies for processes and threads."""

    #: The oldest Python the code runs on.
    version: tuple[int, int] = OLDEST
    #: ``fork``, ``spawn``, ``forkserver`` or ``portable``.
    start_method: str = PORTABLE
    free_threaded: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Targets:
        version = settings.get("target_version") or running_version()
        return cls(_parse_version(version), settings.get("start_method") or PORTABLE,
                   bool(settings.get("free_threaded", False)))

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    # -- start methods ----------------------------------------------------------------------------

    def default_methods(self) -> frozenset[str]:
        """The start methods a process may get when the code does not choose one.

        ``portable``: every platform's default on every Python from ``target-version`` on: spawn
        (macOS, Windows), forkserver (Linux from 3.14) and, for targets before 3.14, fork (Linux up to
        3.13). ``fork`` stands for Linux's default, which is forkserver from 3.14 on.
        """
        before_forkserver = self.version < FORKSERVER_BY_DEFAULT
        if self.start_method == PORTABLE:
            return frozenset({SPAWN, FORKSERVER, *((FORK,) if before_forkserver else ())})
        if self.start_method == FORK and not before_forkserver:
            return frozenset({FORKSERVER})
        return frozenset({self.start_method})

    def methods(self, project: Any, site: Any) -> frozenset[str]:
        """The start methods the process started at ``site`` may use: those the code chooses for it,
        and the defaults when it may go unchosen (:func:`gillint.facts.start_methods.start_method_of`)."""
        from gillint.facts.start_methods import start_method_of

        choice = start_method_of(project, site)
        return choice.methods | (self.default_methods() if choice.default else frozenset())

    def pickles_at_process_start(self, project: Any, site: Any) -> bool:
        """Does starting the process at ``site`` pickle its target, arguments and initializer (spawn,
        forkserver)? Under fork alone the child inherits them."""
        return bool(self.methods(project, site) - {FORK})

    def reimports_main(self, project: Any, site: Any) -> bool:
        """Does the child of the process started at ``site`` import the main module (spawn, forkserver)?"""
        return bool(self.methods(project, site) & {SPAWN, FORKSERVER})

    def forks(self, project: Any, site: Any) -> bool:
        """May the process started at ``site`` be a fork of this one (the fork start method)?"""
        return FORK in self.methods(project, site)

    @property
    def pickles_unchosen_starts(self) -> bool:
        """Does a process whose start method the code does not choose pickle itself, its target and
        arguments when started (spawn or forkserver among the target's defaults)?"""
        return bool(self.default_methods() - {FORK})

    def pickles_sent(self, project: Any, dispatch: Any) -> bool:
        """Is what ``dispatch`` (a :class:`~gillint.facts.dispatch.Dispatch` to processes) sends pickled
        under this target? Tasks always are; a process's target and arguments and a pool's initializer
        only when the start may spawn (GIL201, GIL202)."""
        if dispatch.pickling != _SPAWN_PICKLING:
            return True
        return self.pickles_at_process_start(project, dispatch.site)

    # -- threads ----------------------------------------------------------------------------------

    @property
    def threads_scale(self) -> bool:
        """Do threads running Python code run in parallel (a free-threaded build)? Then CPU-bound work
        on threads is not a mistake (GIL101 reports nothing)."""
        return self.free_threaded

    def race(self, report: _Report) -> _Report:
        """A GIL301 finding under this target: on a free-threaded build an unguarded update races on
        every run, without waiting for a thread switch, so it is an error and says so."""
        if not self.free_threaded:
            return report
        message = (f"{report.message}; on a free-threaded build threads run at the same time, so updates "
                   "are lost without any preemption point")
        return replace(report, message=message, severity=Severity.ERROR)


#: A :class:`gillint.rules.base.Report` (which imports this module).
_Report = TypeVar("_Report", bound=Any)


# -- requires-python --------------------------------------------------------------------------------

_CLAUSE = re.compile(r"^\s*(===|==|!=|~=|>=|<=|>|<)\s*v?([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*$")


def oldest_target(requires_python: str) -> Optional[str]:
    """The oldest target version a ``requires-python`` specifier allows (``">=3.10,<4"`` gives
    ``"3.10"``; below 3.9 gives ``"3.9"``), or None when it allows none or cannot be read."""
    clauses = []
    for text in requires_python.split(","):
        if not text.strip():
            continue
        match = _CLAUSE.match(text)
        if match is None:
            return None
        operator, release, wildcard = match.groups()
        clauses.append((operator, tuple(int(part) for part in release.split(".")), bool(wildcard)))
    for minor in range(0, NEWEST[1] + 10):
        if any(all(_holds(clause, (3, minor, patch)) for clause in clauses) for patch in range(0, 100)):
            return _clamped((3, minor))
    return None


def _holds(clause: tuple[str, tuple[int, ...], bool], version: tuple[int, int, int]) -> bool:
    operator, release, wildcard = clause
    if wildcard or operator == "~=":
        prefix = release if wildcard else release[:-1]
        matches = version[:len(prefix)] == tuple(prefix) + (0,) * (len(prefix) - len(version[:len(prefix)]))
        if operator == "~=":
            return matches and _compare(version, release) >= 0
        return matches if operator == "==" else not matches
    order = _compare(version, release)
    return {"==": order == 0, "===": order == 0, "!=": order != 0, ">=": order >= 0, "<=": order <= 0,
            ">": order > 0, "<": order < 0}[operator]


def _compare(version: tuple[int, ...], release: tuple[int, ...]) -> int:
    width = max(len(version), len(release))
    left = tuple(version) + (0,) * (width - len(version))
    right = tuple(release) + (0,) * (width - len(release))
    return (left > right) - (left < right)


# -- what each rule's page says about the targets (its "Targets" section) ------------------------------

#: The "Targets" section of each rule page, by code (GIL402 keeps its own, with its rule).
TARGETS_DOC = {
    "GIL101": """
| target | findings |
|---|---|
| `free-threaded = false` (the default) | reported |
| `free-threaded = true` | not reported: threads run Python code in parallel on 3.13t/3.14t, so they scale |

`target-version` and `start-method` do not change it. Code that must also run on GIL builds keeps
the problem there: leave `free-threaded` off unless every deployment is free-threaded.
""",
    "GIL201": """
| target | tasks (`submit`, `map`, `apply_async`...) | `Process(target=...)`, `initializer=` |
|---|---|---|
| `start-method = "portable"` (the default) | reported | reported |
| `start-method = "spawn"` or `"forkserver"` | reported | reported |
| `start-method = "fork"`, `target-version` before 3.14 | reported | not reported: a forked child inherits them |
| `start-method = "fork"`, `target-version = "3.14"` or later | reported | reported: Linux forks no more |
| `free-threaded = true` | no change | no change |

A start method chosen in code (`get_context("fork")`, `set_start_method("fork")`, also in the
program's `__main__` module) decides for the processes it governs, whatever the target.
""",
    "GIL401": """
| target | findings |
|---|---|
| `start-method = "portable"` (the default), `"spawn"` or `"forkserver"` | reported |
| `start-method = "fork"`, `target-version` before 3.14 | not reported: a forked child does not import it |
| `start-method = "fork"`, `target-version = "3.14"` or later | reported: Linux defaults to forkserver from 3.14 |
| `free-threaded = true` | no change |

A start method chosen in code for the process decides whatever the target: `get_context("spawn")`
is reported under `start-method = "fork"` too, and a module that calls `set_start_method("fork")`
is not reported.
""",
    "GIL301": """
| target | findings |
|---|---|
| `free-threaded = false` (the default) | severity `warning`: an update is lost when a thread switch falls inside it |
| `free-threaded = true` | severity `error`: threads run at once, updates are lost without any preemption point |

`target-version` and `start-method` do not change it.
""",
}
TARGETS_DOC["GIL202"] = TARGETS_DOC["GIL201"].replace("`Process(target=...)`, `initializer=`",
                                                      "`Process(args=...)`, `initargs=`")
