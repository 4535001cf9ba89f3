"""GIL202 beyond the fixtures: the evidence of findings about what an instance holds."""

from __future__ import annotations

from pathlib import Path

from gillint.config import Config, rule_options
from gillint.engine.run import lint_source

SOURCE = '''\
import threading
from multiprocessing import Pool, Process


class Crawler:
    def __init__(self):
        self.lock = threading.Lock()

    def crawl(self, url):
        return url

    def start(self, urls):
        with Pool() as pool:
            pool.map(self.crawl, urls)


class Worker(Process):
    def __init__(self, handle):
        super().__init__()
        self.handle = handle
        self.lock = threading.Lock()


def main(path):
    Worker(open(path)).start()
'''


def _gil202(source: str, tmp_path: Path) -> list:
    defaults = {o.attribute: o.default for o in rule_options()}
    config = Config(select=("GIL202",), settings=defaults)
    return lint_source(source, str(tmp_path / "mod.py"), config)


def test_instance_findings_name_the_attribute(tmp_path: Path) -> None:
    path = str(tmp_path / "mod.py")
    bound, subclass, stored = sorted(_gil202(SOURCE, tmp_path), key=lambda f: f.line)
    bound_evidence, subclass_evidence, stored_evidence = (f.evidence.to_dict() for f in (bound, subclass, stored))
    assert bound.line == 14 and bound.message.startswith("`self.lock` (set on line 7) holds a lock")
    assert bound_evidence["argument"] == "self.crawl" and bound_evidence["kind"] == "lock"
    assert bound_evidence["inside"] == "instance"
    assert bound_evidence["attribute"] == {"name": "self.lock", "owner": "Crawler", "path": path, "line": 7}
    assert bound_evidence["dispatch"] == {"api": "Pool.map", "path": path, "line": 14}

    assert subclass.line == 21 and "create it in `run()` instead" in subclass.message
    assert subclass_evidence["argument"] == "self.lock"
    assert subclass_evidence["start_methods"] == ["spawn", "forkserver"]
    assert subclass_evidence["dispatch"] == {"api": "Worker.start", "path": path, "line": 17}

    assert stored.line == 25 and stored_evidence["argument"] == "open(path)"
    assert stored_evidence["kind"] == "open file"
    assert stored_evidence["stored_as"] == {"name": "self.handle", "owner": "Worker", "path": path, "line": 20}
    assert "`Worker.__init__` keeps it in `self.handle` (line 20)" in stored.message
