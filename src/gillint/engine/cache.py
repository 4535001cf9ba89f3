"""A content cache like ruff's: a file's findings are reused while nothing they depend on changed.

One JSON file per effective configuration (gillint version, Python version, enabled rules, rule
settings, prefilter on/off) under ``.gillint_cache/`` at the project root. It holds:

- ``files``: ``path -> [mtime_ns, size, hash]`` of every file seen, so an unchanged file is not
  even read (size and nanosecond mtime equal: same content, as ruff assumes);
- ``prefilter``: the digest of every linted ``(path, hash)``, the files the prefilter chose and the
  names it found relevant, reused when no linted file changed;
- ``entries``: ``path -> {hash, kind, deps: [[path, hash, display], ...], findings}``: the raw
  findings (before ``# noqa`` and per-file ignores) of a file. ``kind`` says whether it was
  analysed (and with which import search roots) or only syntax-checked (the prefilter skipped it).
  An entry is valid while its file's hash, its kind and every dependency's hash and display name are
  unchanged, and while no file exists at a place (``absent``) where the analysis looked for a module
  and found none: when ``kernels.py`` changes, or appears, ``runner.py``'s findings are recomputed.

Unreadable, corrupt or foreign cache files are ignored; writes are atomic (a temporary file
renamed into place). Each write prunes the files of other configurations and versions: those
unused for :data:`MAX_AGE_DAYS`, and all but the :data:`KEEP` most recently used. This module
imports nothing heavy: it is the warm path.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from gillint import __version__
from gillint.findings import Finding, Severity
from gillint.rules import rule_for

CACHE_DIR_NAME = ".gillint_cache"
FORMAT = 1
#: Cache files (one per configuration) kept in a directory, the most recently used first.
KEEP = 8
#: A cache file unused for this long is removed.
MAX_AGE_DAYS = 30


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def fingerprint(parts: Mapping[str, Any]) -> str:
    """A short digest of the facts a cached result depends on besides file contents."""
    key = {"gillint": __version__, "code": _code_stamp(), "python": sys.version, "format": FORMAT, **parts}
    return content_hash(json.dumps(key, sort_keys=True, default=repr).encode("utf-8"))[:20]


def _code_stamp() -> list[tuple[str, int, int]]:
    """Size and mtime of every module of gillint itself: an install from a newer commit with the same
    version number (a git or editable install) must not reuse results of the old code."""
    package = Path(__file__).resolve().parent.parent
    stamps = []
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        stamps.append((str(path.relative_to(package)), info.st_size, info.st_mtime_ns))
    return stamps


class Cache:
    """The cache of one configuration; load it, ask it, tell it, then :meth:`save`."""

    def __init__(self, directory: Path, key: str) -> None:
        self.directory = directory
        self.path = directory / f"run-{key}.json"
        self.files: dict[str, list[Any]] = {}
        self.prefilter: dict[str, Any] = {}
        self.entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self._hashes: dict[str, Optional[str]] = {}
        self._existing: dict[str, bool] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return
        try:
            os.utime(self.path)  # used now: pruning goes by last use
        except OSError:
            pass
        for name in ("files", "prefilter", "entries"):
            value = data.get(name)
            if isinstance(value, dict):
                setattr(self, name, value)

    # -- file contents --------------------------------------------------------------------------

    def known_hash(self, path: str) -> Optional[str]:
        """The content hash of ``path`` when its size and mtime match the last run's (no read)."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        record = self.files.get(path)
        if isinstance(record, list) and len(record) == 3 and record[:2] == [info.st_mtime_ns, info.st_size]:
            return record[2] if isinstance(record[2], str) else None
        return None

    def remember(self, path: str, data: bytes) -> str:
        """Record the content of ``path`` just read; returns its hash."""
        digest = content_hash(data)
        try:
            info = os.stat(path)
        except OSError:
            return digest
        record = [info.st_mtime_ns, info.st_size, digest]
        if self.files.get(path) != record:
            self.files[path] = record
            self._dirty = True
        self._hashes[path] = digest
        return digest

    def current_hash(self, path: str) -> Optional[str]:
        """The hash of ``path`` now (stat fast path, else read); None when it cannot be read."""
        if path not in self._hashes:
            digest = self.known_hash(path)
            if digest is None:
                try:
                    with open(path, "rb") as handle:
                        digest = self.remember(path, handle.read())
                except OSError:
                    digest = None
            self._hashes[path] = digest
        return self._hashes[path]

    # -- prefilter ----------------------------------------------------------------------------------

    def selection(self, digest: str) -> Optional[tuple[list[str], dict[str, frozenset[str]]]]:
        """The files the prefilter chose and the names it found relevant, when ``digest`` is the last run's."""
        record = self.prefilter
        if record.get("digest") != digest or not isinstance(record.get("chosen"), list):
            return None
        relevant = record.get("relevant")
        if not isinstance(relevant, dict):
            return None
        return record["chosen"], {module: frozenset(names) for module, names in relevant.items()}

    def set_selection(self, digest: str, chosen: list[str], relevant: Mapping[str, frozenset[str]]) -> None:
        record = {"digest": digest, "chosen": chosen,
                  "relevant": {module: sorted(names) for module, names in sorted(relevant.items())}}
        if self.prefilter != record:
            self.prefilter = record
            self._dirty = True

    # -- findings -----------------------------------------------------------------------------------

    def findings(self, path: str, digest: str, kind: str, displays: Mapping[str, str]) -> Optional[list[Finding]]:
        """The cached raw findings of ``path`` if it and everything it used are unchanged."""
        entry = self.entries.get(path)
        if not isinstance(entry, dict) or entry.get("hash") != digest or entry.get("kind") != kind:
            return None
        if entry.get("display") != displays.get(path, path):
            return None  # findings name the file as it was named then (relative, absolute, as a context file)
        try:
            for dep_path, dep_hash, dep_display in entry["deps"]:
                if self.current_hash(dep_path) != dep_hash or displays.get(dep_path, dep_path) != dep_display:
                    return None
            if any(self._exists(place) for place in entry.get("absent", ())):
                return None  # a module the analysis looked for and did not find exists now
            return [_finding(item) for item in entry["findings"]]
        except (KeyError, TypeError, ValueError):
            return None

    def _exists(self, path: str) -> bool:
        if path not in self._existing:
            self._existing[path] = os.path.isfile(path)
        return self._existing[path]

    def store(self, path: str, digest: str, kind: str, findings: Iterable[Finding],
              dependencies: Sequence[str], displays: Mapping[str, str], absent: Sequence[str] = ()) -> None:
        deps = []
        for dep in dependencies:
            dep_hash = self.current_hash(dep)
            if dep_hash is None:
                return  # a dependency vanished: do not cache a result that cannot be validated
            deps.append([dep, dep_hash, displays.get(dep, dep)])
        self.entries[path] = {"hash": digest, "kind": kind, "deps": deps, "absent": list(absent),
                              "display": displays.get(path, path),
                              "findings": [finding.to_dict() for finding in findings]}
        self._dirty = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is silently skipped."""
        if not self._dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by gillint: the cache is not part of the project.\n*\n")
            data = {"format": FORMAT, "files": self.files, "prefilter": self.prefilter, "entries": self.entries}
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(data, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
            prune(self.directory)
        except OSError:
            pass
        self._dirty = False


def prune(directory: Path, now: Optional[float] = None) -> None:
    """Remove the cache files of ``directory`` unused for :data:`MAX_AGE_DAYS`, and all but the
    :data:`KEEP` most recent; leftover temporary files older than a day go too."""
    now = time.time() if now is None else now
    try:
        entries = [(entry.stat().st_mtime, entry.name, entry.path) for entry in os.scandir(directory)
                   if entry.name.endswith(".json") and entry.name.startswith(("run-", ".tmp-"))]
    except OSError:
        return
    runs = sorted((entry for entry in entries if entry[1].startswith("run-")), reverse=True)
    stale = [path for mtime, _, path in runs[KEEP:]]
    stale += [path for mtime, _, path in runs[:KEEP] if now - mtime > MAX_AGE_DAYS * 86400]
    stale += [path for mtime, name, path in entries if name.startswith(".tmp-") and now - mtime > 86400]
    for path in stale:
        try:
            os.unlink(path)
        except OSError:
            pass


def _finding(item: Mapping[str, Any]) -> Finding:
    rule = rule_for(item["code"])
    evidence = item.get("evidence")
    return Finding(
        path=item["path"], line=int(item["line"]), column=int(item["column"]),
        end_line=int(item["end_line"]), end_column=int(item["end_column"]), code=item["code"],
        name=item["name"], message=item["message"], severity=Severity(item["severity"]),
        evidence=rule.evidence.from_dict(evidence) if rule is not None and evidence else None,
    )
