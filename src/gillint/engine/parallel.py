"""Analysing files in chunks, in-process or on a process pool, with identical results.

Files to analyse are cut into chunks deterministically (in order, bounded by bytes); each chunk
is analysed by a fresh :class:`~gillint.engine.analyzer.Analyzer` (a fresh project model and memo)
whichever process runs it, so a chunk's findings never depend on ``--jobs``. Parsed modules are not
fresh: a process keeps the modules it built on a :class:`~gillint.project.model.ModuleShelf`
(bounded by :data:`SHELF_CHARS` of source), so a module imported by files of many chunks is parsed
and indexed once per process. Each root file's result records the modules its analysis used (its
dependencies) so the cache can invalidate it when one of them changes.

The worker function is module-level (picklable) and the pool is created only when a run asks
for it, never at import: this works under the spawn start method.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

from gillint.config import Config
from gillint.engine.analyzer import Analyzer
from gillint.engine.discovery import SourceFile
from gillint.findings import Finding
from gillint.project import ModuleInfo, Project
from gillint.project.model import ModuleShelf

T = TypeVar("T")

#: Source bytes per chunk (about 13k lines): a chunk's peak memory is set by the modules its files
#: import, and smaller chunks import fewer at once; the shelf keeps the re-parsing this costs low.
CHUNK_BYTES = 500_000
#: Source characters of the modules a process keeps for the next chunks (roughly 160 MB of trees
#: and index): the modules most files import stay, rarely used ones are parsed again if needed.
SHELF_CHARS = 2_000_000
#: A syntax check (``ast.parse`` alone) weighs a tenth of an analysis (parse, index and rules) in a chunk.
SYNTAX_CHECK_DISCOUNT = 10


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Task:
    """A root file to analyse (``data`` only for stdin; workers read files themselves)."""

    index: int
    path: str
    display: str
    #: Weight for cutting chunks: bytes to analyse (a syntax check counts a tenth).
    size: int
    #: False: only check that it parses (the prefilter skipped it).
    analyse: bool = True
    data: Union[bytes, str, None] = None


@dataclass(frozen=True)
class Chunk:
    """What one worker call analyses, with everything it needs (picklable)."""

    config: Config
    search_roots: tuple[str, ...]
    display_paths: tuple[tuple[str, str], ...]
    tasks: tuple[Task, ...]
    #: The prefilter's relevant names per scanned module (None: the prefilter did not run).
    relevant: Optional[Mapping[str, frozenset[str]]] = None


@dataclass(frozen=True)
class RootResult:
    """A root file's raw findings and the resolved paths of the other modules its analysis used."""

    index: int
    findings: tuple[Finding, ...]
    dependencies: tuple[str, ...]
    #: Where modules it looked for were not found: the result is stale once one of them exists.
    absent: tuple[str, ...] = ()


def chunks(tasks: Sequence[Task], limit: Optional[int] = None) -> list[list[Task]]:
    """Cut ``tasks`` in order into runs of at most ``limit`` bytes (at least one task each)."""
    limit = CHUNK_BYTES if limit is None else limit
    found: list[list[Task]] = []
    size = 0
    for task in tasks:
        if not found or size + task.size > limit:
            found.append([])
            size = 0
        found[-1].append(task)
        size += task.size
    return found


def run(chunk_list: Sequence[Chunk], jobs: int, start_method: Optional[str] = None) -> Iterator[RootResult]:
    """Analyse every chunk, on ``jobs`` processes when there is more than one chunk."""
    workers = min(jobs, len(chunk_list))
    if workers <= 1:
        with _collector_paused():
            for chunk in chunk_list:
                yield from analyse_chunk(chunk)
        return
    context = multiprocessing.get_context(start_method)
    with context.Pool(workers, initializer=gc.disable) as pool:
        for results in pool.imap(analyse_chunk, chunk_list):
            yield from results


def analyse_chunk(chunk: Chunk) -> list[RootResult]:
    """The worker: a fresh analyzer loads the chunk's files, then checks each one.

    Runs without the cyclic garbage collector (paused for the whole run): it would walk the millions
    of objects the trees on the shelf are made of at every collection, which doubled the time of a run
    over the standard library. The modules a chunk is done with are disposed of instead (their cycles
    broken), and everything else a chunk leaves has no cycles: it goes with its last reference.
    """
    project = TrackingProject([Path(root) for root in chunk.search_roots], chunk.relevant, _shelf())
    try:
        return _analyse(chunk, project)
    finally:
        project.dispose()


_SHELF: Optional[ModuleShelf] = None


def _shelf() -> ModuleShelf:
    """This process's shelf of built modules."""
    global _SHELF
    if _SHELF is None:
        _SHELF = ModuleShelf(SHELF_CHARS)
    return _SHELF


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyse(chunk: Chunk, project: TrackingProject) -> list[RootResult]:
    project.display_paths.update((Path(path), display) for path, display in chunk.display_paths)
    analyzer = Analyzer(chunk.config, project)
    results = []
    loaded: list[tuple[Task, ModuleInfo | Finding]] = []
    for task in chunk.tasks:
        file = SourceFile(Path(task.path), task.display)
        if task.analyse:
            loaded.append((task, analyzer.load(file, task.data)))
        else:
            error = analyzer.check_syntax(file, task.data)
            results.append(RootResult(task.index, (error,) if error else (), ()))
    for task, module in loaded:
        if isinstance(module, Finding):
            results.append(RootResult(task.index, (module,), ()))
            continue
        findings, used = project.tracking(lambda module=module: analyzer.check(module))  # type: ignore[misc]
        used.present.discard(module.path)
        results.append(RootResult(task.index, tuple(findings), tuple(sorted(str(p) for p in used.present)),
                                  tuple(sorted(str(p) for p in used.absent))))
    return results


class TrackingProject(Project):
    """A project that records what an analysis depended on, through memoised facts too: the modules it
    used, the places where a module it looked for was absent, and the modules whose prefilter verdict
    spared loading them.

    A fact memoised while checking one file (a function's summary) may have loaded modules;
    another file that reuses the fact depends on them as well. Each computation records the lookups
    it made itself and the facts it asked (a graph, not copies of sets: facts of large packages ask
    thousands of others); a root file's dependencies are what its graph reaches.
    """

    def __init__(self, search_roots: Sequence[Path] = (), relevant: Optional[Mapping[str, frozenset[str]]] = None,
                 shelf: Optional[ModuleShelf] = None) -> None:
        super().__init__(search_roots, relevant, shelf)
        self._frames: list[_Frame] = []
        self._fact_frames: dict[Hashable, _Frame] = {}
        self._lookup_uses: dict[str, Uses] = {}
        self._found_uses: dict[str, Uses] = {}

    def tracking(self, work: Callable[[], T]) -> tuple[T, Uses]:
        """Run ``work`` and return its result with what it depended on."""
        with self._recording() as frame:
            result = work()
        return result, self._closure(frame)

    @contextmanager
    def _recording(self) -> Iterator[_Frame]:
        """A frame that records what the computation run inside it uses directly."""
        frame = _Frame()
        self._frames.append(frame)
        try:
            yield frame
        finally:
            self._frames.pop()

    def _closure(self, root: _Frame) -> Uses:
        used = Uses()
        seen: set[int] = set()
        pending = [root]
        while pending:
            frame = pending.pop()
            if id(frame) in seen:
                continue
            seen.add(id(frame))
            for uses in frame.lookups.values():
                used.update(uses)
            pending.extend(self._fact_frames[key] for key in frame.facts if key in self._fact_frames)
        return used

    def module(self, name: str) -> Optional[ModuleInfo]:
        found = super().module(name)
        if found is not None:
            uses = self._found_uses.get(name)
            if uses is None:
                uses = self._found_uses[name] = Uses({found.path})
            self._use(name, uses)
        else:  # the result holds while no file appears where the module would be
            self._use(name, self._lookups(name))
        return found

    def may_start_workers(self, dotted: str) -> bool:
        found = self.relevance_of(dotted)
        if found is not None:  # the verdict depends on that module's text
            self._use(found[0], self._lookups(found[0]))
        return found is None or found[1]

    def _lookups(self, name: str) -> Uses:
        """What looking module ``name`` up depends on: the files found where it would be, or the places
        where none is (computed once per name)."""
        uses = self._lookup_uses.get(name)
        if uses is None:
            places = [place for place, _ in self.module_files(name)]
            present = {place for place in places if place.is_file()}
            uses = self._lookup_uses[name] = Uses(present, set() if present else set(places))
        return uses

    def remember(self, key: Hashable, compute: Callable[[], T], on_cycle: T) -> T:
        if self._frames:
            self._frames[-1].facts.add(key)

        def tracked() -> T:
            with self._recording() as frame:
                self._fact_frames[key] = frame  # a recomputation (memo.py's cycles) records afresh
                return compute()

        return super().remember(key, tracked, on_cycle)

    def _use(self, name: str, uses: Uses) -> None:
        if self._frames:
            self._frames[-1].lookups[name] = uses


@dataclass
class _Frame:
    """What one computation used directly: module lookups (by name) and the facts it asked."""

    lookups: dict[str, Uses] = field(default_factory=dict)
    facts: set[Hashable] = field(default_factory=set)


@dataclass
class Uses:
    """What an analysis depended on: files it read, and places where it found no module."""

    present: set[Path] = field(default_factory=set)
    absent: set[Path] = field(default_factory=set)

    def update(self, other: Uses) -> None:
        self.present |= other.present
        self.absent |= other.absent
