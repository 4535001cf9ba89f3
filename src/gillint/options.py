"""Settings declared once, read from ``[tool.gillint]`` and (for rule options) the command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """A setting: its ``[tool.gillint]`` key (kebab-case), type, default, help text and allowed values."""

    name: str
    type: str  # "list[str]", "str", "int", "bool"
    default: Any
    help: str
    #: For a "str" option: the values it accepts (empty: any string).
    choices: tuple[str, ...] = ()

    @property
    def attribute(self) -> str:
        """The snake_case name used in code and in argparse/flake8 namespaces."""
        return self.name.replace("-", "_")

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    def check(self, value: Any) -> Any:
        """Return ``value`` if it has this option's type (and is one of its choices), else raise
        ``TypeError`` naming the type or the choices."""
        expected = {"str": str, "int": int, "bool": bool}.get(self.type)
        if self.type == "list[str]":
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return tuple(value)
        elif expected is not None and isinstance(value, expected) and not (
            expected is int and isinstance(value, bool)
        ):
            if self.choices and value not in self.choices:
                raise TypeError(f"expected one of {', '.join(map(repr, self.choices))}, got {value!r}")
            return value
        raise TypeError(f"expected {self.type}, got {type(value).__name__}")
