"""Which start methods a module chooses for the processes it starts.

``multiprocessing.set_start_method("fork")`` at module level makes fork the default of everything the
program starts afterwards; ``get_context("fork")`` (or a ``set_start_method`` call inside a function)
chooses it for the processes made from that context or after that call.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from gillint.api.concurrency import START_METHOD_SETTERS
from gillint.project import CallSite, ModuleInfo, Project
from gillint.project.syntax import string_value


@dataclass(frozen=True)
class StartMethodChoice:
    """The start methods a module names."""

    #: Set with ``set_start_method(...)`` by a module-level statement: the program's default.
    module_default: Optional[str]
    #: Every start method the module names in ``set_start_method``/``get_context`` calls.
    named: frozenset[str]


def start_method_choice(project: Project, module: ModuleInfo) -> StartMethodChoice:
    """What ``module`` says about start methods (computed once per module)."""
    def compute() -> StartMethodChoice:
        default: Optional[str] = None
        named: set[str] = set()
        for site in module.calls:
            name = project.qualified_name(site.node.func, site.scope)
            if name not in START_METHOD_SETTERS:
                continue
            method = _method_argument(site)
            if method is None:
                continue
            named.add(method)
            if site.scope is module.scope and name.endswith(".set_start_method"):
                default = method
        return StartMethodChoice(default, frozenset(named))

    return project.memo("start-methods", module.tree, compute, StartMethodChoice(None, frozenset()))


def _method_argument(site: CallSite) -> Optional[str]:
    """The literal start method of ``set_start_method("fork")`` / ``get_context(method="spawn")``."""
    call: ast.Call = site.node
    given = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "method"), None)
    return string_value(given)
