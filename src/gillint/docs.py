"""Rule documentation rendered from the rules themselves (``--explain`` and ``docs/rules/``)."""

from __future__ import annotations

from gillint.rules import Rule

DOCS_URL = "https://github.com/gillint/gillint/blob/main/docs/rules/{code}.md"

#: The sections every rule page has, in order (a test checks them).
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Known problems", "References")


def render_rule_doc(rule: type[Rule]) -> str:
    """The markdown page of a rule, exactly as committed under ``docs/rules/<CODE>.md``."""
    doc = rule.doc
    parts = [
        f"# {rule.code} `{rule.name}`\n",
        f"{rule.summary}\n",
        f"Default severity: {rule.severity.value}.\n",
        f"## What it does\n\n{doc.what_it_does.strip()}\n",
        f"## Why is this bad?\n\n{doc.why_bad.strip()}\n",
        f"## Example\n\n```python\n{doc.example.strip()}\n```\n",
        f"## Use instead\n\n```python\n{doc.use_instead.strip()}\n```\n",
    ]
    for title, body in doc.extra_sections:
        parts.append(f"## {title}\n\n{body.strip()}\n")
    if rule.options:
        rows = "\n".join(f"- `{o.name}` ({o.type}, default `{_default(o.default)}`): {o.help}" for o in rule.options)
        where = "In `[tool.gillint]` of `pyproject.toml`, or as `--<name>` on the command line."
        parts.append(f"## Options\n\n{where}\n\n{rows}\n")
    parts.append(f"## Known problems\n\n{doc.known_problems.strip()}\n")
    refs = "\n".join(f"- {ref}" for ref in doc.references) or "- (none)"
    parts.append(f"## References\n\n{refs}\n")
    return "\n".join(parts)


def _default(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def write_rule_docs(directory: str = "docs/rules") -> list[str]:
    """Render every rule's page into ``directory``; returns the paths written."""
    from pathlib import Path

    from gillint.rules import all_rules

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in all_rules():
        path = target / f"{rule.code}.md"
        path.write_text(render_rule_doc(rule), encoding="utf-8")
        written.append(str(path))
    return written


if __name__ == "__main__":
    for written_path in write_rule_docs():
        print(written_path)
