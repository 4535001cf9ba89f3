"""Rules are discovered, not listed: every ``gilNNN_<name>`` module here defines a :class:`Rule` subclass."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from gillint.rules.base import Rule, RuleDoc


@lru_cache(maxsize=None)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class in this package, ordered by code."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("gil"):
            importlib.import_module(f"{__name__}.{info.name}")
    found = {cls.code: cls for cls in _subclasses(Rule) if getattr(cls, "code", None)}
    return tuple(found[code] for code in sorted(found))


def rule_for(code: str) -> type[Rule] | None:
    return next((rule for rule in all_rules() if rule.code == code), None)


def _subclasses(cls: type[Rule]) -> list[type[Rule]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


__all__ = ["Rule", "RuleDoc", "all_rules", "rule_for"]
