"""The project model: parsed modules, names, values and the concurrency sites rules start from."""

from gillint.project.dispatch import Dispatch, Executor, Pickling, classify, dispatches, process_start
from gillint.project.model import CallableTarget, Project, TargetKind, Value, enclosing_function
from gillint.project.module import CallSite, ClassInfo, FunctionInfo, ModuleInfo, is_main_guard
from gillint.project.scopes import Binding, BindingKind, Scope, ScopeKind

__all__ = [
    "Binding", "BindingKind", "CallSite", "CallableTarget", "ClassInfo", "Dispatch", "Executor",
    "FunctionInfo", "ModuleInfo", "Pickling", "Project", "Scope", "ScopeKind", "TargetKind", "Value",
    "classify", "dispatches", "enclosing_function", "is_main_guard", "process_start",
]
