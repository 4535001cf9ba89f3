"""Facts about a function's own body (nested defs, lambdas and classes excluded), computed once."""

from __future__ import annotations

import libcst as cst

from gillint.project.model import Project
from gillint.project.module import FunctionInfo


class BodyFacts(cst.CSTVisitor):
    """Whether the body yields, and the expressions its ``return`` statements give back."""

    def __init__(self) -> None:
        super().__init__()
        self.yields = False
        self.returns: list[cst.BaseExpression] = []

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.yields = True
        return False

    def visit_Return(self, node: cst.Return) -> bool:
        if node.value is not None:
            self.returns.append(node.value)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def body_facts(project: Project, function: FunctionInfo) -> BodyFacts:
    def compute() -> BodyFacts:
        facts = BodyFacts()
        function.node.body.visit(facts)
        return facts

    return project.memo("body-facts", function.node, compute, BodyFacts())
