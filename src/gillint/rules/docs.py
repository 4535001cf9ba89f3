"""Rule documentation rendered from the rules themselves (``--explain`` and ``docs/rules/``)."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from typing import Any, Optional, Union

from gillint.findings import ANALYSIS_ERROR_CODE, ANALYSIS_ERROR_NAME, Evidence, Severity
from gillint.options import Option
from gillint.rules import Rule, RuleDoc, all_rules

DOCS_URL = "https://github.com/gillint/gillint/blob/main/docs/rules/{code}.md"

#: The sections every rule page has, in order (a test checks them).
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Known problems", "References")


class AnalysisError:
    """The ``GIL000`` pseudo-rule, documented like a rule but never run: the engine reports it."""

    code = ANALYSIS_ERROR_CODE
    name = ANALYSIS_ERROR_NAME
    summary = "A file gillint could not read or parse, or a rule that failed on it; the file was not fully checked."
    severity = Severity.ERROR
    options: tuple[Option, ...] = ()
    doc = RuleDoc(
        what_it_does="""
Reports a file that gillint could not analyse: it cannot be read or decoded, it is not valid Python
(neither the running interpreter's parser nor libcst, which knows the grammar of every Python up to
3.14, accepts it), it uses syntax that `target-version` does not have (a `match` statement when the
project supports Python 3.9: the message names the target), it is nested too deeply, or one rule
failed on it. The message says which. The other files of the run are still checked, and so is the
file by every rule that did not fail.
""",
        why_bad="""
A file that was not analysed may hide every problem the rules look for. Silence would read as "no
findings", so gillint says so instead, and exits 1. In the flake8 plugin a file Python itself cannot
parse is reported by flake8 as `E999` and never reaches gillint, so it is not reported twice.
""",
        example="""
def broken(:
    pass
""",
        use_instead="""
def fixed():
    pass
""",
        known_problems="""
- Syntax newer than both the running Python and libcst (a future Python release) is reported until
  libcst supports it. Exclude the file (`extend-exclude`) or turn `GIL000` off for it in
  `per-file-ignores`; a `# noqa` comment cannot silence a file that could not be parsed.
- Syntax newer than the running Python but known to libcst (a `match` statement on Python 3.9, a
  3.12 f-string on 3.11) is valid: gillint rewrites it into older syntax with the same meaning to
  the rules (same lines, columns within the line may shift) and analyses it; it is never a `GIL000`.
- Syntax too new for `target-version` is found by the running interpreter's parser
  (`ast.parse(feature_version=...)`, best effort): only when the target is older than the running
  Python, only for what that parser checks (pattern matching, `except*`, type parameters; not
  parenthesized context managers), and the position is where the construct ends.
- Nesting limits: on Python 3.11 and later the interpreter's own parser decides how deep an
  expression may be (about 3,000 levels; more on 3.13); on 3.9 and 3.10, whose parser can crash on
  such input, gillint refuses more than 2,500 chained operators or 200 nested brackets first.
- In SARIF output these are tool execution notifications, not results: they appear on the code
  scanning tool status page, not as alerts.
""",
        references=("[libcst: supported Python versions](https://libcst.readthedocs.io/en/latest/)",),
    )


Documented = Union[type[Rule], type[AnalysisError]]


def documented() -> tuple[Documented, ...]:
    """Everything with a page under ``docs/rules/``: the rules and ``GIL000``."""
    return (AnalysisError, *all_rules())


def documented_for(code: str) -> Optional[Documented]:
    return next((item for item in documented() if item.code == code), None)


def render_rule_doc(rule: Documented) -> str:
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
    if doc.fix_safety:
        parts.append(f"## Fix safety\n\n{doc.fix_safety.strip()}\n")
    for title, body in doc.extra_sections:
        parts.append(f"## {title}\n\n{body.strip()}\n")
    if rule.options:
        rows = "\n".join(f"- `{o.name}` ({o.type}, default `{_default(o.default)}`): {o.help}" for o in rule.options)
        where = "In `[tool.gillint]` of `pyproject.toml`, or as `--<name>` on the command line."
        parts.append(f"## Options\n\n{where}\n\n{rows}\n")
    evidence = getattr(rule, "evidence", None)
    if evidence is not None:
        intro = "The `evidence` object of a finding in JSON and SARIF output (`null` where not applicable):"
        parts.append(f"## Evidence\n\n{intro}\n\n" + "\n".join(_evidence_rows(evidence)) + "\n")
    parts.append(f"## Known problems\n\n{doc.known_problems.strip()}\n")
    refs = "\n".join(f"- {ref}" for ref in doc.references) or "- (none)"
    parts.append(f"## References\n\n{refs}\n")
    return "\n".join(parts)


def _evidence_rows(evidence: type[Evidence], indent: str = "") -> list[str]:
    """One line per key of an evidence class (nested parts indented), with the ``#:`` comment of its field."""
    hints = typing.get_type_hints(evidence, vars(sys.modules[evidence.__module__]))
    rows = []
    for item in dataclasses.fields(evidence):
        hint = hints[item.name]
        part = next((arg for arg in (hint, *typing.get_args(hint))
                     if isinstance(arg, type) and issubclass(arg, Evidence)), None)
        comment = _field_comments(evidence).get(item.name, "")
        kind = f"object: {part.__doc__.splitlines()[0].rstrip('.') if part.__doc__ else part.__name__}" if part else \
            _type_words(hint)
        rows.append(f"{indent}- `{item.name}` ({kind}){': ' + comment if comment else ''}")
        if part is not None:
            rows.extend(_evidence_rows(part, indent + "  "))
    return rows


_JSON_WORDS = {str: "string", int: "integer", bool: "boolean", float: "number"}


def _type_words(hint: Any) -> str:
    """A field's type in JSON's words: ``integer or null``, ``list of strings``."""
    arguments = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is Union:
        return f"{_type_words(arguments[0])} or null"
    if typing.get_origin(hint) is tuple:
        return f"list of {_type_words(arguments[0])}s"
    return _JSON_WORDS.get(hint, getattr(hint, "__name__", str(hint)))


def _field_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comments above each field of a class and of its bases."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, Evidence)):
            continue
        lines, _ = inspect.getsourcelines(klass)
        comment: list[str] = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("#:"):
                comment.append(stripped[2:].strip())
            elif ":" in stripped and not stripped.startswith(("#", "class", '"""', "def", "@")):
                name = stripped.split(":", 1)[0].strip()
                if name.isidentifier() and comment:
                    found[name] = " ".join(comment).replace("``", "`")
                comment = []
            else:
                comment = []
    return found


def _default(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def write_rule_docs(directory: str = "docs/rules") -> list[str]:
    """Render every rule's page into ``directory``; returns the paths written."""
    from pathlib import Path

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in documented():
        path = target / f"{rule.code}.md"
        path.write_text(render_rule_doc(rule), encoding="utf-8")
        written.append(str(path))
    return written


if __name__ == "__main__":
    for written_path in write_rule_docs():
        print(written_path)
