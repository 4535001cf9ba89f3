"""GIL301 beyond the fixtures: the thread-entry-points option, what messages say, the evidence."""

from __future__ import annotations

from pathlib import Path

from gillint.config import Config, rule_options
from gillint.engine.run import lint_source

# A view of a web framework gillint does not know: the framework runs it on its request threads.
VIEWS = """
VISITS = {}
total = 0


def index(request):
    global total
    total += 1
    return "ok"


class Api:
    def __init__(self):
        self.served = 0

    def get(self, request):
        self.served += 1
        if request.path not in VISITS:
            VISITS[request.path] = []
        return "ok"

    def _helper(self):
        self.served += 1
"""


def _gil301(source: str, tmp_path: Path, name: str = "views.py", **settings: tuple[str, ...]) -> list:
    defaults = {o.attribute: o.default for o in rule_options()}
    config = Config(select=("GIL301",), settings={**defaults, **settings})
    return lint_source(source, str(tmp_path / name), config)


def test_framework_code_is_silent_until_named(tmp_path: Path) -> None:
    assert _gil301(VIEWS, tmp_path) == []


def test_thread_entry_points_by_qualified_name(tmp_path: Path) -> None:
    (finding,) = _gil301(VIEWS, tmp_path, thread_entry_points=("views.index",))
    assert finding.line == 8
    assert "thread-entry-points 'views.index'" in finding.message
    assert finding.evidence.start == "configured"


def test_thread_entry_points_globs_and_classes(tmp_path: Path) -> None:
    every = _gil301(VIEWS, tmp_path, thread_entry_points=("views.*",))
    assert sorted(f.line for f in every) == [8, 17, 19, 23]
    # A class names its public methods (``_helper`` is not an entry point of its own).
    methods = _gil301(VIEWS, tmp_path, thread_entry_points=("views.Api",))
    assert sorted(f.line for f in methods) == [17, 19]
    # ``module:Class.method`` matches the module and the name inside it separately.
    split = _gil301(VIEWS, tmp_path, thread_entry_points=("vie*:Api.g*",))
    assert sorted(f.line for f in split) == [17, 19]
    assert _gil301(VIEWS, tmp_path, thread_entry_points=("other:Api.*",)) == []


SERVER = """
import socketserver

hits = 0


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        global hits
        hits += 1


server = socketserver.ThreadingTCPServer(("", 0), Handler)
"""


def test_message_says_which_threads_and_where_they_start(tmp_path: Path) -> None:
    (finding,) = _gil301(SERVER, tmp_path, name="server.py")
    assert "the request threads of ThreadingTCPServer (line 13)" in finding.message
    assert finding.evidence.start == "request-handler"
    evidence = finding.to_dict()["evidence"]  # the JSON contract
    assert evidence["dispatch"] == {"api": "ThreadingTCPServer", "path": str(tmp_path / "server.py"), "line": 13}
    assert finding.evidence.target.name == "Handler.handle"


def test_greenlets_are_not_threads(tmp_path: Path) -> None:
    """A module that runs ``gevent.monkey.patch_all()``: its "threads" are greenlets."""
    source = "from gevent import monkey\nmonkey.patch_all()\n" + SERVER
    assert _gil301(source, tmp_path, name="server.py") == []
