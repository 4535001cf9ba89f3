"""The project model's shared capabilities, queried directly: flow-sensitive names."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Optional

from gillint.project import ModuleInfo, Project, Scope


def _load(tmp_path: Path, source: str, name: str = "mod") -> tuple[Project, ModuleInfo]:
    path = tmp_path / f"{name}.py"
    text = textwrap.dedent(source)
    path.write_text(text, encoding="utf-8")
    project = Project([tmp_path])
    return project, project.add_module(path, path.name, text)


def _scope_of(module: ModuleInfo, node: ast.AST) -> Scope:
    """The scope of the innermost ``def`` containing ``node``, else the module's."""
    containing = [f for f in module.functions if any(inner is node for inner in ast.walk(f.node))]
    if not containing:
        return module.scope
    return max(containing, key=lambda f: f.qualname.count(".")).scope


def _reads(module: ModuleInfo, name: str, line: Optional[int] = None) -> list[ast.Name]:
    return [node for node in ast.walk(module.tree) if isinstance(node, ast.Name) and node.id == name
            and isinstance(node.ctx, ast.Load) and (line is None or node.lineno == line)]


def _types_at(project: Project, module: ModuleInfo, name: str, line: int) -> list[Optional[str]]:
    (read,) = _reads(module, name, line)
    return project.instance_types(read, _scope_of(module, read))


def _values_at(project: Project, module: ModuleInfo, name: str, line: int) -> list[str]:
    (read,) = _reads(module, name, line)
    return [module.code_of(value.expr) for value in project.values(read, _scope_of(module, read))]


# -- flow-sensitive names ------------------------------------------------------------------------


def test_each_read_sees_the_binding_that_reaches_it(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        def main(items):
            with ThreadPoolExecutor() as executor:
                executor.map(str, items)
            with ProcessPoolExecutor() as executor:
                executor.map(str, items)
            executor = None
            return executor
        """)
    assert _types_at(project, module, "executor", 5) == ["concurrent.futures.ThreadPoolExecutor"]
    assert _types_at(project, module, "executor", 7) == ["concurrent.futures.ProcessPoolExecutor"]
    assert _values_at(project, module, "executor", 9) == ["None"]


def test_a_later_loop_target_does_not_hide_an_earlier_assignment(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        from multiprocessing import Process

        process = Process(target=print)
        process.start()
        processes = [process]
        for process in processes:
            process.join()
        """)
    assert _types_at(project, module, "process", 4) == ["multiprocessing.Process"]
    assert _values_at(project, module, "process", 5) == ["Process(target=print)"]
    (join,) = _reads(module, "process", 7)
    (binding,) = project.reaching(join, module.scope)
    assert binding.kind.value == "loop"


def test_branches_merge_and_a_value_read_in_its_own_rebinding_is_the_earlier_one(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        import sys

        def main(quiet, path):
            if quiet:
                out = sys.stderr
            else:
                out = open(path, "a")
            use(out)
            data = open(path)
            data = data.read()
            use(data)
        """)
    assert _values_at(project, module, "out", 8) == ["sys.stderr", 'open(path, "a")']
    assert _values_at(project, module, "data", 10) == ["open(path)"]
    assert _values_at(project, module, "data", 11) == ["data.read()"]


def test_loops_see_their_own_later_bindings_and_stop_at_return(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        def main(paths):
            handle = None
            for path in paths:
                use(handle)
                handle = open(path)
                if path:
                    handle = path
                    continue
                handle = 1
            use(handle)
            while True:
                current = open("a")
                if current:
                    break
                current = 2
            use(current)

        def early(flag):
            value = 1
            if flag:
                value = 2
                return value
            return value
        """)
    assert _values_at(project, module, "handle", 4) == ["None", "path", "1"]
    assert _values_at(project, module, "handle", 10) == ["None", "path", "1"]
    assert _values_at(project, module, "current", 16) == ['open("a")']
    assert _values_at(project, module, "value", 22) == ["2"]
    assert _values_at(project, module, "value", 23) == ["1"]


def test_handlers_see_what_the_try_body_may_have_bound(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        try:
            from fast import Pool
            Pool = Pool
        except ImportError:
            use(Pool)
            Pool = None
        use(Pool)
        """)
    assert _values_at(project, module, "Pool", 5) == ["Pool", "Pool"]  # the import, then the alias
    assert _values_at(project, module, "Pool", 7) == ["Pool", "None"]


def test_reads_the_walk_cannot_place_see_every_binding(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        LIMIT = 1

        def reset():
            global LIMIT
            LIMIT = 2

        def read():
            return LIMIT

        use(LIMIT)
        LIMIT = 3
        use(lambda: LIMIT)
        use(LIMIT)
        """)
    assert _values_at(project, module, "LIMIT", 8) == ["1", "2", "3"]  # in a function: called any time
    assert _values_at(project, module, "LIMIT", 10) == ["1", "2"]  # reset() may have run
    assert _values_at(project, module, "LIMIT", 12) == ["1", "2", "3"]  # a lambda runs later
    assert _values_at(project, module, "LIMIT", 13) == ["2", "3"]


def test_flow_makes_names_resolve(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        import multiprocessing
        from multiprocessing.pool import ThreadPool as Pool

        with Pool(2) as pool:
            pool.map(print, [1])
        Pool = multiprocessing.Pool
        with Pool(2) as pool:
            pool.map(print, [1])
        """)
    first, second = _reads(module, "Pool")
    assert project.qualified_name(first, module.scope) == "multiprocessing.pool.ThreadPool"
    assert project.qualified_name(second, module.scope) == "multiprocessing.Pool"


# -- instance contents ---------------------------------------------------------------------------


def _class(module: ModuleInfo, name: str):  # type: ignore[no-untyped-def]
    (cls,) = [c for c in module.classes if c.name == name]
    return cls


def _contents(project: Project, module: ModuleInfo, name: str) -> dict[str, list[tuple[str, int, bool]]]:
    contents = project.instance_contents(_class(module, name))
    return {attribute: [(a.cls.name, a.line, a.on_construction) for a in found]
            for attribute, found in contents.items()}


def test_instance_contents_follow_inheritance_and_overrides(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        import threading

        class Base:
            limit = 3

            def __init__(self, path):
                self.path = path
                self.lock = threading.Lock()

            def open(self):
                self.handle = open(self.path)

            def reset(self):
                self.handle = None

        class Child(Base):
            def __init__(self, path):
                super().__init__(path)
                self.setup()

            def setup(self):
                self.cache = {}

            def reset(self):
                self.cache = {}

        class Replaces(Base):
            def __init__(self):
                self.path = None
        """)
    assert _contents(project, module, "Child") == {
        "cache": [("Child", 22, True), ("Child", 25, False)],
        "path": [("Base", 7, True)],
        "lock": [("Base", 8, True)],
        "handle": [("Base", 11, False)],  # Base.reset is overridden and never called
        "limit": [("Base", 4, False)],
    }
    assert _contents(project, module, "Replaces") == {
        "path": [("Replaces", 29, True)],
        "handle": [("Base", 11, False), ("Base", 14, False)],
        "limit": [("Base", 4, False)],
    }
    (lock,) = project.instance_contents(_class(module, "Child"))["lock"]
    assert lock.method is not None and lock.method.qualname == "Base.__init__"
    assert project.instance_types(lock.value, lock.scope) == ["threading.Lock"]
    (limit,) = project.instance_contents(_class(module, "Child"))["limit"]
    assert limit.is_class_attribute and module.code_of(limit.value) == "3"


def test_instance_contents_explicit_base_calls_and_diamonds(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        import multiprocessing

        class Engine:
            def __init__(self):
                self.session = object()

        class Left(Engine):
            def __init__(self):
                super().__init__()
                self.left = 1

        class Right(Engine):
            def __init__(self):
                super().__init__()
                self.right = 2

        class Both(Left, Right):
            pass

        class Worker(multiprocessing.Process, Engine):
            def __init__(self):
                Engine.__init__(self)
                multiprocessing.Process.__init__(self)
                self.queue = None

            @staticmethod
            def helper(other):
                other.queue = 1
        """)
    assert [c.name for c in project.mro(_class(module, "Both"))] == ["Both", "Left", "Right", "Engine"]
    assert _contents(project, module, "Both") == {
        "left": [("Left", 10, True)], "right": [("Right", 15, True)], "session": [("Engine", 5, True)],
    }
    assert _contents(project, module, "Worker") == {
        "queue": [("Worker", 24, True)], "session": [("Engine", 5, True)],
    }


def test_an_attribute_holding_a_class_types_its_calls(tmp_path: Path) -> None:
    project, module = _load(tmp_path, """\
        from concurrent import futures

        class ExecutorMixin:
            def setUp(self):
                self.executor = self.executor_type(max_workers=2)

        class ProcessPoolMixin(ExecutorMixin):
            executor_type = futures.ProcessPoolExecutor

            def test(self):
                self.executor.submit(print)
        """)
    (setup,) = [f for f in module.functions if f.name == "test"]
    (site,) = setup.calls
    assert isinstance(site.node.func, ast.Attribute)
    assert project.instance_types(site.node.func.value, site.scope) == ["concurrent.futures.ProcessPoolExecutor"]
    project, module = _load(tmp_path, """\
        from concurrent import futures

        class ExecutorMixin:
            def setUp(self):
                self.executor = self.executor_type(max_workers=2)

            def test(self):
                self.executor.submit(print)

        class ThreadPoolMixin(ExecutorMixin):
            executor_type = futures.ThreadPoolExecutor

        class ProcessPoolMixin(ExecutorMixin):
            executor_type = futures.ProcessPoolExecutor
        """, name="mixed")
    (test,) = [f for f in module.functions if f.name == "test"]
    (site,) = test.calls
    assert isinstance(site.node.func, ast.Attribute)
    assert project.instance_types(site.node.func.value, site.scope) == [
        "concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"]
