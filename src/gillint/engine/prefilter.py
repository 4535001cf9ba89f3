"""Which files can hold a dispatch site or a process start, decided from their bytes alone.

Parsing and indexing modules is what gillint pays for; most files of a project never touch a thread or a
process. Two cheap waves over the raw bytes pick the files worth parsing up front:

1. **Keywords**: the file mentions a concurrency module or API (``threading``, ``_thread``,
   ``concurrent``, ``multiprocessing``, ``to_thread``, ``run_in_executor``), a threading server
   (``ThreadingMixIn``, ``ThreadingHTTPServer``...), a library that serves code from threads
   (``waitress``, ``cheroot``, ``websockets``, ``werkzeug``), ``add_done_callback``, a lock being
   made (``Lock(``), forks (``os.fork``, ``pty.fork``, ``forkpty``), or a name the user configured
   (the last name in every entry of a list-valued rule option).
2. **Imports of relevant names**, to a fixpoint: a file that imports a *relevant* name of an
   already selected file (``from workers import run_all``), or imports such a module and uses
   ``.name`` on it (``import workers; workers.run_all()``), or star-imports it. A name is relevant
   when its top-level ``def``/``class``/assignment block mentions a keyword (wave 1) or one of the
   names the file imported from a relevant module (wave 2).

Everything else is not parsed unless a rule follows an import into it. This module imports
nothing heavy: it runs on the warm (cached) path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from gillint.api.concurrency import API_NAMES, FORK_WORDS, TRIGGER_WORDS
from gillint.api.servers import SERVER_NAMES, SERVING_WORDS

#: A file that mentions none of these cannot dispatch work, start a process or fork by itself.
KEYWORDS: tuple[bytes, ...] = tuple(word.encode() for word in (*TRIGGER_WORDS, *SERVING_WORDS, *FORK_WORDS))
#: A top-level block that mentions one of these (or an alias of one) may dispatch or start a
#: process when called or instantiated from another file: its name is *relevant*.
API_WORDS: tuple[bytes, ...] = tuple(word.encode() for word in (*API_NAMES, *SERVER_NAMES))

# _BLOCK starts with a literal newline (searched for with a newline prepended to the file): the
# regular expression engine then scans for it at C speed instead of trying every position.
#: Top-level ``def``/``class``/``NAME =`` lines: where a relevant block starts.
_BLOCK = re.compile(rb"\n(?:(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+)|(\w+)[ \t]*(?::[^=\n]*)?=(?!=))")
#: Import statements, including parenthesised multi-line ``from x import (...)``.
_IMPORT = re.compile(
    rb"[ \t]*(?:from[ \t]+(?P<module>[.\w]+)[ \t]+import[ \t]*(?P<names>\([^)]*\)|[^\n#;]*)"
    rb"|import[ \t]+(?P<modules>[^\n#;]*))")
#: How Python keywords that can follow a name start (``Pool if ...``, ``Pool and ...``, ``Pool not in``):
#: an API word followed by a space and a word that does not start like one is prose ("Process ID").
_CODE_FOLLOWERS = frozenset({b"if", b"or", b"as", b"in", b"is", b"an", b"el", b"fo", b"no"})


def keywords(settings: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The wave-1 keywords plus the names configured in list-valued rule options: the last name of
    each entry, globs and ``module:`` prefixes aside (``app.views:Index.do_*`` gives ``do_``). An
    entry whose last part is only a glob (``app.views.*``) names no word: ``def`` stands for it."""
    extra: set[bytes] = set()
    for value in settings.values():
        if isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, str):
                    last = re.split(r"[.:]", item.rstrip("."))[-1]
                    names = [name for name in re.split(r"[^\w]+", last) if name]
                    if names:
                        extra.add(names[-1].encode("utf-8"))
                    elif last:
                        extra.add(b"def")
    return KEYWORDS + tuple(sorted(extra - set(KEYWORDS)))


@dataclass(frozen=True)
class Selection:
    """The prefilter's verdicts on a run's files."""

    #: For each file, whether it can hold a finding and must be analysed.
    chosen: list[bool]
    #: For each module whose bytes were scanned: its top-level names that may reach a thread or
    #: process API (a name missing here cannot, so the project model need not load the module to
    #: classify a call of it).
    relevant: dict[str, frozenset[str]]


def select(paths: Sequence[Path], contents: Sequence[Optional[bytes]],
           words: Iterable[bytes] = KEYWORDS) -> Selection:
    """Which files can hold a finding and must be analysed (None content: yes), and which names matter.

    Project modules that the files import but that are not among them (a single file checked by
    flake8 or pre-commit) are read from disk and take part in wave 2, one import level deep.
    """
    words = tuple(words)
    linted = len(paths)
    paths, contents = list(paths), list(contents)
    chosen = [data is None or any(word in data for word in words) for data in contents]
    namer = ModuleNamer()
    names = [namer.name(path)[0].encode("utf-8", "surrogateescape") for path in paths]
    #: Relevant names per dotted module name.
    relevant: dict[bytes, set[bytes]] = {}

    def add(index: int, triggers: Iterable[bytes], reexported: Iterable[bytes] = ()) -> None:
        data = contents[index]
        if data is not None:
            found = relevant.setdefault(names[index], set())
            found.update(_relevant_blocks(data, tuple(triggers)))
            found.update(reexported)

    imports: dict[int, list[_Import]] = {}

    def statements(index: int, data: bytes) -> list[_Import]:
        if index not in imports:
            name = names[index]
            package = name if paths[index].name == "__init__.py" else name.rpartition(b".")[0]
            imports[index] = [_Import.parse(match, package) for match in _imports(data)]
        return imports[index]

    known = set(names)
    for index in range(linted):
        data = contents[index]
        if chosen[index] or data is None:
            continue
        root = namer.name(paths[index])[1]
        for key in {key for statement in statements(index, data) for key in statement.keys} - known:
            known.add(key)
            found = _module_file(root, key)
            if found is not None:
                paths.append(found[0])
                contents.append(found[1])
                names.append(key)
                chosen.append(any(word in found[1] for word in words))

    api = (*API_WORDS, *words[len(KEYWORDS):])
    for index, data in enumerate(contents):
        if chosen[index] and data is not None:
            aliases = [alias for statement in statements(index, data) if any(w in statement.text for w in api)
                       for alias in statement.aliases]
            add(index, (*api, *aliases))
    changed = True
    while changed:
        changed = False
        for index, data in enumerate(contents):
            if chosen[index] or data is None:
                continue
            triggers = [word for statement in statements(index, data) for word in statement.reaches(relevant, data)]
            if triggers:
                chosen[index] = changed = True
                add(index, triggers, [word for word in triggers if not word.startswith(b".")])
    scanned: dict[str, frozenset[str]] = {}
    for module, content in zip(names, contents):
        if content is not None:
            dotted = module.decode("utf-8", "surrogateescape")
            closed = {word.decode("utf-8", "surrogateescape") for word in _closed(content, relevant.get(module, set()))}
            scanned[dotted] = scanned.get(dotted, frozenset()) | closed
    return Selection(chosen[:linted], scanned)


def _closed(data: bytes, names: set[bytes]) -> set[bytes]:
    """``names`` and the top-level blocks of ``data`` that use them, to a fixpoint: ``class Derived(Cruncher)``
    reaches a thread API when ``Cruncher`` does. (Only for the model's loading decisions; choosing
    files with it would pull in every module that mentions ``Thread`` anywhere.)"""
    found = set(names)
    while found:
        new = _relevant_blocks(data, tuple(found)) - found
        if not new:
            break
        found |= new
    return found


#: Imported modules larger than this are not read by the prefilter (they are parsed if needed).
_MAX_IMPORTED_BYTES = 2_000_000


def _module_file(root: Path, dotted: bytes) -> Optional[tuple[Path, bytes]]:
    """The file and bytes of project module ``dotted`` under ``root``, if there is one."""
    try:
        parts = dotted.decode("utf-8").split(".")
        if not all(part.isidentifier() for part in parts):
            return None  # ``from . import x`` at the top, or text that only looked like an import
        relative = Path(*parts)
        candidates = (root / relative / "__init__.py", root / relative.with_suffix(".py"))
    except (UnicodeDecodeError, ValueError):
        return None
    for candidate in candidates:
        try:
            if candidate.is_file() and candidate.stat().st_size <= _MAX_IMPORTED_BYTES:
                return candidate, candidate.read_bytes()
        except (OSError, ValueError):
            continue
    return None


class ModuleNamer:
    """Dotted module names and import roots of files, the way ``project.sources`` computes them.

    Directories are looked at once each (a run over a big tree asks about thousands of files).
    """

    def __init__(self) -> None:
        self._packages: dict[Path, tuple[str, Path]] = {}

    def name(self, path: Path) -> tuple[str, Path]:
        """``(dotted name, import root)``: ``src/pkg/mod.py`` is ``("pkg.mod", src)``."""
        package, root = self._package(Path(os.path.abspath(path.parent)))
        own = "" if path.name == "__init__.py" else path.stem
        return ".".join(part for part in (package, own) if part) or path.stem, root

    def _package(self, directory: Path) -> tuple[str, Path]:
        found = self._packages.get(directory)
        if found is None:
            if directory.parent != directory and (directory / "__init__.py").is_file():
                parent, root = self._package(directory.parent)
                found = (f"{parent}.{directory.name}" if parent else directory.name, root)
            else:
                found = ("", directory)
            self._packages[directory] = found
        return found


class _Import:
    """An import statement: the module it names and the words it binds."""

    __slots__ = ("text", "module", "names", "aliases", "star", "keys")

    def __init__(self, text: bytes, module: Optional[bytes], names: list[bytes], aliases: list[bytes],
                 star: bool) -> None:
        self.text = text
        self.module = module  # ``from X``, resolved against the package for relative imports
        self.names = names  # what is imported: names after ``import`` (dotted modules for ``import a.b``)
        self.aliases = aliases  # the name each one is bound to here
        self.star = star
        #: The modules it may bring names of (``from a import b``: ``a`` and ``a.b``).
        self.keys = [m + b"." + n if m else n for m in ([module] if module is not None else []) for n in names]
        self.keys += [module] if module is not None else names

    @classmethod
    def parse(cls, match: re.Match[bytes], package: bytes) -> _Import:
        text = match.group("names") or match.group("modules") or b""
        items = [item.split() for item in text.strip(b"()\\ \t\r\n").replace(b"\n", b",").split(b",")]
        names = [item[0] for item in items if item]
        aliases = [item[-1] for item in items if item]
        module = match.group("module")
        if module is not None and module.startswith(b"."):
            level = len(module) - len(module.lstrip(b"."))
            base = package.split(b".") if package else []
            base = base[: len(base) - level + 1] if level > 1 else base
            module = b".".join([*base, module.lstrip(b".")]).strip(b".")
        return cls(match.group(0), module, names, aliases, b"*" in text)

    def reaches(self, relevant: Mapping[bytes, set[bytes]], data: bytes) -> list[bytes]:
        """What this statement brings that is relevant, as words to look for in the file.

        An imported relevant name gives the names it binds (``run_all``, or its alias); a relevant
        module gives the ``.name`` attribute uses of its relevant names found in the file. Empty
        when the statement brings nothing relevant.
        """
        if not any(key in relevant for key in self.keys):
            return []
        found: list[bytes] = []
        if self.module is not None:
            names = relevant.get(self.module, set())
            if names and self.star:
                found.extend(names)
            found.extend(bound for name, bound in zip(self.names, self.aliases) if name in names)
            modules = [self.module + b"." + name if self.module else name for name in self.names]
        else:
            modules = self.names
        for module in modules:
            found.extend(attribute for attribute in (b"." + name for name in relevant.get(module, ()))
                         if attribute in data)
        return found


def _imports(data: bytes) -> Iterator[re.Match[bytes]]:
    """The import statements of a file: found from the word ``import``, matched from its line's start."""
    position = data.find(b"import")
    while position >= 0:
        match = _IMPORT.match(data, data.rfind(b"\n", 0, position) + 1)
        position = data.find(b"import", max(match.end(), position + 6) if match else position + 6)
        if match:
            yield match


def _relevant_blocks(data: bytes, triggers: Sequence[bytes]) -> set[bytes]:
    """Names of top-level blocks whose text (up to the next top-level block) mentions a trigger.

    A block runs to the next top-level ``def``/``class``/assignment, so module-level code between
    blocks counts for the block before it: this over-approximates, never under.
    """
    names: set[bytes] = set()
    data = b"\n" + data
    starts = list(_BLOCK.finditer(data))
    for number, match in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(data)
        block = data[match.start():end]
        if _mentions(block, triggers):
            names.add(match.group(1) or match.group(2) or match.group(3))
    return names


def _mentions(text: bytes, words: Sequence[bytes]) -> bool:
    """``text`` holds one of ``words`` as a whole word (``.name`` words: followed by a boundary)."""
    for word in words:
        start = text.find(word)
        while start >= 0:
            end = start + len(word)
            before = text[start - 1:start] if word[:1] != b"." else b""
            after = text[end:end + 1]
            prose = after == b" " and text[end + 1:end + 2].isalpha() and text[end + 1:end + 3] not in _CODE_FOLLOWERS
            if not (before.isalnum() or before == b"_") and not (after.isalnum() or after == b"_") and not prose:
                return True
            start = text.find(word, start + 1)
    return False
