"""Facts about a function's own body (nested defs, lambdas and classes excluded), computed once."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from gillint.project.model import Project
from gillint.project.module import FunctionInfo
from gillint.project.syntax import walk_body


@dataclass(frozen=True)
class BodyFacts:
    """Whether the body yields, and the expressions its ``return`` statements give back."""

    yields: bool
    returns: tuple[ast.expr, ...]


def body_facts(project: Project, function: FunctionInfo) -> BodyFacts:
    def compute() -> BodyFacts:
        yields = False
        returns = []
        for node in walk_body(function.node.body):
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                yields = True
            elif isinstance(node, ast.Return) and node.value is not None:
                returns.append(node.value)
        return BodyFacts(yields, tuple(returns))

    return project.memo("body-facts", function.node, compute, BodyFacts(False, ()))
