"""The project model: parsed modules, their index, and the name and value queries every fact builds on."""

from gillint.project.instances import InstanceAttribute
from gillint.project.model import CallableTarget, Project, TargetKind, Value, enclosing_function
from gillint.project.module import CallSite, ClassInfo, FunctionInfo, ModuleInfo
from gillint.project.scopes import Binding, BindingKind, Scope, ScopeKind

__all__ = [
    "Binding", "BindingKind", "CallSite", "CallableTarget", "ClassInfo", "FunctionInfo", "InstanceAttribute",
    "ModuleInfo", "Project", "Scope", "ScopeKind", "TargetKind", "Value", "enclosing_function",
]
