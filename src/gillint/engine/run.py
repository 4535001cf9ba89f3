"""The one engine behind every front end (CLI, flake8, pre-commit): :func:`lint`.

It reads the files of a run, lets the prefilter choose which to analyse, takes what it can from
the cache, has the rest analysed (:mod:`gillint.engine.parallel`, :mod:`gillint.engine.analyzer`),
then applies the selection, ``per-file-ignores`` and ``# noqa`` to the raw findings.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence, Union

from gillint.config import Config, real_path
from gillint.engine import parallel, prefilter
from gillint.engine.cache import Cache, content_hash, fingerprint
from gillint.engine.discovery import SourceFile
from gillint.engine.noqa import file_is_skipped, is_suppressed, noqa_lines
from gillint.findings import Finding, RunResult, analysis_error, sorted_findings
from gillint.project.module import source_lines
from gillint.project.sources import SourceError, decode_source, read_bytes
from gillint.rules import all_rules


def lint(
    files: Iterable[SourceFile],
    config: Config,
    stdin_data: Union[bytes, str, None] = None,
    disable_noqa: bool = False,
    *,
    jobs: int = 1,
    prefilter: bool = True,
    cache_dir: Optional[Path] = None,
    start_method: Optional[str] = None,
    context: Sequence[SourceFile] = (),
    progress: Optional[Callable[[int, int], None]] = None,
) -> RunResult:
    """Lint ``files`` (``stdin_data`` is the content of the single file read from stdin or an editor).

    Only files the prefilter chooses are analysed up front (``prefilter=False``: all of them); the
    others are only checked to be readable and syntactically valid (``ast``), so that they still
    report ``GIL000``. ``jobs`` processes share the work (``start_method``: the multiprocessing
    start method, default the platform's); ``cache_dir`` enables the content cache (not for stdin).

    ``context`` files are analysed too, only for the findings they reveal in ``files`` (a dispatch in
    an importer that makes a function of ``files`` run on threads); their own findings are dropped.
    ``progress`` is told (files analysed, files to analyse) as results arrive; cached files are not counted.
    """
    files = list(files)
    run = _Run([*files, *context], config, stdin_data, cache_dir, prefilter)
    raw = run.analyse(jobs, start_method, progress)
    return filter_findings(raw, run.lines_of, {file.display for file in files}, config, disable_noqa, len(files))


class _Run:
    """The files of one run: their contents (read only when needed), hashes, and cached results."""

    def __init__(self, files: list[SourceFile], config: Config, stdin_data: Union[bytes, str, None],
                 cache_dir: Optional[Path], use_prefilter: bool) -> None:
        self.files = files
        self.config = config
        #: The content of ``files[0]`` when it comes from stdin or an editor (other files are read).
        self.stdin_data = stdin_data
        self.real = [file.display if self._is_stdin(index) else real_path(str(file.path))
                     for index, file in enumerate(files)]
        self.displays = dict(zip(self.real, (file.display for file in files)))
        namer = prefilter.ModuleNamer()
        roots = dict.fromkeys(str(namer.name(Path(real))[1]) for real in self.real)
        self.search_roots = tuple(roots)
        self.cache: Optional[Cache] = None
        if cache_dir is not None and stdin_data is None:
            self.cache = Cache(cache_dir, fingerprint({
                "rules": [rule.code for rule in all_rules() if config.is_enabled(rule.code)],
                "settings": sorted(config.settings.items()), "prefilter": use_prefilter,
            }))
        self.contents: list[Optional[bytes]] = [None] * len(files)
        self.hashes: list[Optional[str]] = [None] * len(files)
        self.errors: dict[int, Finding] = {}
        for index in range(len(files)):
            if self.cache is None or self._cached_hash(index) is None:
                self._read(index)
        #: Per scanned module, the names that may reach a thread or process API (None: not scanned).
        self.relevant: Optional[dict[str, frozenset[str]]] = None
        self.chosen = self._choose() if use_prefilter else [index not in self.errors for index in range(len(files))]

    def _is_stdin(self, index: int) -> bool:
        return index == 0 and self.stdin_data is not None

    def _stdin_display(self) -> tuple[tuple[str, str], ...]:
        """The name given to the source read from stdin, for its file on disk when the two hold the same
        text (the flake8 plugin): a context file that imports the module then reports in it under that
        name (GIL301 finds a race in ``store.py`` from the threads ``workers.py`` starts)."""
        file = self.files[0]
        data = self.stdin_data if isinstance(self.stdin_data, bytes) else str(self.stdin_data).encode()
        try:
            same = read_bytes(file.path) == data
        except (OSError, SourceError):
            return ()
        return ((real_path(str(file.path)), file.display),) if same else ()

    def _cached_hash(self, index: int) -> Optional[str]:
        assert self.cache is not None
        self.hashes[index] = self.cache.known_hash(self.real[index])
        return self.hashes[index]

    def _read(self, index: int) -> Optional[bytes]:
        if self.contents[index] is None and index not in self.errors:
            try:
                if self._is_stdin(index):
                    data = self.stdin_data if isinstance(self.stdin_data, bytes) else str(self.stdin_data).encode()
                else:
                    data = read_bytes(self.files[index].path)
            except SourceError as error:
                self.errors[index] = analysis_error(self.files[index].display, str(error))
                return None
            self.contents[index] = data
            if self.cache is not None:
                self.hashes[index] = self.cache.remember(self.real[index], data)
        return self.contents[index]

    def _choose(self) -> list[bool]:
        """The prefilter's verdicts (reused from the cache when no file changed)."""
        digest = None
        if self.cache is not None and not self.errors:
            digest = content_hash("\n".join(f"{r}\0{h}" for r, h in zip(self.real, self.hashes)).encode())
            cached = self.cache.selection(digest)
            if cached is not None:
                names, self.relevant = set(cached[0]), cached[1]
                return [real in names for real in self.real]
        contents = [self._read(index) for index in range(len(self.files))]
        paths = [Path(real) for real in self.real]
        selection = prefilter.select(paths, contents, prefilter.keywords(self.config.settings))
        verdicts = [verdict and index not in self.errors for index, verdict in enumerate(selection.chosen)]
        self.relevant = selection.relevant
        if self.cache is not None and digest is not None:
            self.cache.set_selection(digest, [real for real, verdict in zip(self.real, verdicts) if verdict],
                                     selection.relevant)
        return verdicts

    def analyse(self, jobs: int, start_method: Optional[str],
                progress: Optional[Callable[[int, int], None]] = None) -> list[Finding]:
        """Raw findings of every chosen file: from the cache, or analysed (then cached)."""
        raw: list[Finding] = list(self.errors.values())
        # What else an entry's findings depend on: a syntax check (the prefilter skipped the file)
        # on nothing; an analysis on where imports are searched.
        kinds = {True: "analysis:" + "\n".join(self.search_roots), False: "syntax-check"}
        tasks: list[parallel.Task] = []
        for index, chosen in enumerate(self.chosen):
            if index in self.errors:
                continue
            real, digest = self.real[index], self.hashes[index]
            cached = None
            if self.cache is not None and digest is not None:
                cached = self.cache.findings(real, digest, kinds[chosen], self.displays)
            if cached is not None:
                raw.extend(cached)
                continue
            size = len(self.contents[index] or b"") or _size(real)
            tasks.append(parallel.Task(index, str(self.files[index].path), self.files[index].display,
                                       size if chosen else size // parallel.SYNTAX_CHECK_DISCOUNT, chosen,
                                       self.stdin_data if self._is_stdin(index) else None))
        displays = tuple(self.displays.items()) if self.stdin_data is None else self._stdin_display()
        chunk_list = [parallel.Chunk(self.config, self.search_roots, displays, tuple(chunk), self.relevant)
                      for chunk in parallel.chunks(tasks)]
        for done, result in enumerate(parallel.run(chunk_list, jobs, start_method), start=1):
            if progress is not None:
                progress(done, len(tasks))
            raw.extend(result.findings)
            digest = self.hashes[result.index]
            if self.cache is not None and digest is not None:
                self.cache.store(self.real[result.index], digest, kinds[self.chosen[result.index]], result.findings,
                                 result.dependencies, self.displays, result.absent)
        if self.cache is not None:
            self.cache.save()
        return raw

    def lines_of(self, display: str) -> list[str]:
        """The source lines of a linted file (for ``# noqa``); read only for files with findings."""
        index = next((i for i, file in enumerate(self.files) if file.display == display), None)
        if index is not None and self._is_stdin(index) and isinstance(self.stdin_data, str):
            return source_lines(self.stdin_data)
        data = self._read(index) if index is not None else None
        try:
            return source_lines(decode_source(data)) if data is not None else []
        except SourceError:
            return []


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def filter_findings(
    raw: Sequence[Finding], lines_of: Callable[[str], list[str]], linted: set[str], config: Config,
    disable_noqa: bool, file_count: int,
) -> RunResult:
    """Keep findings in linted files that the configuration enables and no ``# noqa`` hides."""
    kept: list[Finding] = []
    hidden: list[Finding] = []
    suppressed: Counter[str] = Counter()
    noqa_by_path: dict[str, Optional[dict[int, str]]] = {}
    for finding in sorted_findings(list(raw)):
        if finding.path not in linted:
            continue  # in a module loaded only to follow an import, or a context file
        if not config.is_enabled(finding.code, config.ignored_for(finding.path)):
            continue
        if not disable_noqa:
            if finding.path not in noqa_by_path:
                source_lines = lines_of(finding.path) if finding.path in linted else []
                noqa_by_path[finding.path] = None if file_is_skipped(source_lines) else noqa_lines(source_lines)
            noqa = noqa_by_path[finding.path]
            if noqa is None or is_suppressed(finding.code, noqa.get(finding.line, "")):
                suppressed[finding.code] += 1
                hidden.append(finding)
                continue
        kept.append(finding)
    return RunResult(kept, file_count, suppressed, hidden=hidden)


def lint_source(source: str, path: str = "<string>.py", config: Optional[Config] = None,
                prefilter: bool = True) -> list[Finding]:
    """Lint one piece of source code (used by tests and the flake8 plugin)."""
    file = SourceFile(Path(path), path)
    return lint([file], config or Config(), stdin_data=source.encode("utf-8"), prefilter=prefilter).findings
