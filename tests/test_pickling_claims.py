"""The pickling facts GIL201/GIL202 rely on, checked against the real pickler multiprocessing uses.

Pools and executors send work through ``multiprocessing.reduction.ForkingPickler`` (a
``pickle.Pickler`` with extra reducers, e.g. for sockets). Every name in the knowledge tables of
:mod:`gillint.facts.pickling` is constructed for real here and must fail to pickle; every kind the
fixtures treat as picklable must pickle. No mocks.
"""

from __future__ import annotations

import functools
import importlib
import io
import math
import multiprocessing
import os
import socket
import sys
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, Callable

import pytest

from gillint.api.concurrency import THREAD_LOCAL_TYPES
from gillint.facts import pickling

square = lambda x: x * x  # noqa: E731 - the module-level named lambda of the fixtures


def top(x: int, y: int = 0) -> int:
    return x + y


def numbers():
    yield 1


async def fetch() -> int:
    return 1


def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        return fn(*args)
    return wrapper


def timed_wraps(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        return fn(*args)
    return wrapper


@timed
def slow(x: int) -> int:
    return x


@timed_wraps
def fine(x: int) -> int:
    return x


@functools.lru_cache(maxsize=None)
def cached(x: int) -> int:
    return x


def make_worker(k: int) -> Callable[[int], int]:
    def work(x: int) -> int:
        return x * k
    return work


class Model:
    def predict(self, x: int) -> int:
        return x

    @staticmethod
    def static(x: int) -> int:
        return x

    @classmethod
    def build(cls, x: int) -> int:
        return x


def _local_objects() -> dict[str, Any]:
    offset = 1

    def local(x: int) -> int:
        return x

    def closure(x: int) -> int:
        return x + offset

    class Local:
        def method(self, x: int) -> int:
            return x

    return {
        "lambda": lambda x: x,
        "named lambda": square,
        "local function": local,
        "closure": closure,
        "partial": functools.partial(closure, 1),
        "local class": Local,
        "local class method": Local().method,
        "local class instance": Local(),
        "factory result": make_worker(2),
        "decorated without functools.wraps": slow,
        "generator": numbers(),
        "generator expression": (x for x in range(3)),
    }


def _pickles(value: object) -> bool:
    try:
        ForkingPickler.dumps(value)
    except Exception:  # noqa: BLE001 - PicklingError, TypeError, AttributeError, RuntimeError all mean "no"
        return False
    return True


def _resolve(dotted: str) -> Callable[..., Any]:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def _construct(dotted: str, tmp_path: Path) -> Any:
    """A real instance of what the knowledge table says ``dotted`` creates."""
    if dotted.startswith("torch."):
        pytest.importorskip("torch")
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 16)
    function = _resolve(dotted)
    text = open(tmp_path / "text.csv", "w+")  # noqa: SIM115 - closed when tmp_path goes
    special: dict[str, Callable[[], Any]] = {
        "os.fdopen": lambda: function(os.open(path, os.O_RDONLY)),
        "mmap.mmap": lambda: function(os.open(path, os.O_RDWR), 0),
        "zipfile.ZipFile": lambda: function(tmp_path / "a.zip", "w"),
        "tarfile.open": lambda: function(tmp_path / "a.tar", "w"),
        "tarfile.TarFile": lambda: function(tmp_path / "b.tar", "w"),
        "csv.DictWriter": lambda: function(text, fieldnames=["a"]),
        "logging.handlers.TimedRotatingFileHandler": lambda: function(path),
        "multiprocessing.Pool": lambda: function(1),
        "multiprocessing.pool.Pool": lambda: function(1),
        "threading.Timer": lambda: function(60, print),
    }
    if dotted in special:
        return special[dotted]()
    if dotted in pickling.CSV_OBJECTS:
        return function(text)
    if dotted in pickling.OPEN_FILE_FACTORIES or dotted in pickling.LOGGING_HANDLERS - {"logging.Handler",
                                                                                         "logging.StreamHandler"}:
        if dotted.startswith("tempfile."):
            return function()
        if dotted in ("gzip.open", "gzip.GzipFile", "bz2.open", "bz2.BZ2File", "lzma.open", "lzma.LZMAFile"):
            return function(tmp_path / f"new.{dotted.split('.')[0]}", "wb")
        return function(path)
    if dotted in pickling.DATABASE_CONNECTIONS:
        return function(":memory:")
    if dotted.endswith("Barrier"):
        return function(2)
    if dotted.endswith(("Value", "Array")):
        return function("i", 3)
    return function()


TABLES = sorted(
    pickling.OPEN_FILE_FACTORIES | pickling.THREAD_LOCKS | pickling.THREAD_QUEUES | pickling.THREADS
    | pickling.DATABASE_CONNECTIONS
    | pickling.CSV_OBJECTS | pickling.LOGGING_HANDLERS | THREAD_LOCAL_TYPES | pickling.POOLS
    | set(pickling.INHERIT_ONLY)
)


@pytest.mark.parametrize("dotted", TABLES)
def test_every_listed_kind_fails_to_pickle(dotted: str, tmp_path: Path) -> None:
    value = _construct(dotted, tmp_path)
    try:
        assert not _pickles(value), f"{dotted}() pickles: it must not be in the tables"
    finally:
        for method in ("terminate", "shutdown", "close"):
            stop = getattr(value, method, None)
            if callable(stop):
                stop()
                break


def test_path_open_and_standard_streams_fail(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("x")
    with path.open() as handle:
        assert not _pickles(handle)
    assert not _pickles(sys.stdout)
    import sqlite3

    with sqlite3.connect(":memory:") as connection:
        assert not _pickles(connection.cursor())


@pytest.mark.parametrize("kind", sorted(_local_objects()))
def test_unpicklable_callables_and_generators(kind: str) -> None:
    assert not _pickles(_local_objects()[kind])


def test_coroutine_objects_fail() -> None:
    coroutine = fetch()
    try:
        assert not _pickles(coroutine)
    finally:
        coroutine.close()


def test_picklable_negatives() -> None:
    model = Model()
    for value in (fine, cached, top, len, abs, str.upper, math.sqrt, Model, model.predict, Model.static, Model.build,
                  functools.partial(top, y=2), [1, 2], "path"):
        assert _pickles(value), value


def test_numpy_ufunc_pickles() -> None:
    numpy = pytest.importorskip("numpy")
    assert _pickles(numpy.sqrt)


def test_socket_pickles_through_multiprocessing() -> None:
    with socket.socket() as sock:
        assert _pickles(sock)


def test_manager_proxies_pickle() -> None:
    with multiprocessing.Manager() as manager:
        assert _pickles(manager.Lock())
        assert _pickles(manager.Queue())


def _noop(*args: object) -> None:
    return None


def test_process_arguments_pickle_only_under_spawn() -> None:
    """``Process(args=...)`` inherits under fork; spawn pickles: threading locks fail, mp locks pass."""
    spawn = multiprocessing.get_context("spawn")
    with pytest.raises(TypeError):
        spawn.Process(target=_noop, args=(threading.Lock(),)).start()
    lock = spawn.Lock()  # kept alive until the child has unpickled it
    child = spawn.Process(target=_noop, args=(lock,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    if "fork" in multiprocessing.get_all_start_methods():
        forked = multiprocessing.get_context("fork").Process(target=lambda: None)
        forked.start()
        forked.join(60)
        assert forked.exitcode == 0


class Holder:
    """An instance of a module-level class: it pickles exactly when what it holds does."""

    def __init__(self, value: object) -> None:
        self.value = value

    def work(self) -> None:
        return None


class Dropping(Holder):
    def __getstate__(self) -> dict[str, object]:
        return {}


def test_a_bound_method_pickles_its_instance_and_what_it_holds() -> None:
    assert _pickles(Holder("path").work)
    assert not _pickles(Holder(threading.Lock()).work)
    assert not _pickles(Holder(sys.stdout).work)
    assert not _pickles(Holder(concurrent_pool := ThreadPoolExecutor(1)).work)
    concurrent_pool.shutdown()
    assert _pickles(Dropping(threading.Lock()).work)
    assert not _pickles(Holder((threading.Lock(), 1)))
    assert not _pickles(Holder([x for x in range(2) if threading.Lock()] + [threading.Lock()]))


def test_a_test_case_instance_does_not_pickle_while_its_test_runs() -> None:
    outcome: list[bool] = []

    class Case(unittest.TestCase):
        def work(self) -> None:
            return None

        def test_it(self) -> None:
            outcome.append(_pickles(self.work))

    Case.__qualname__ = Case.__name__ = "CaseForClaims"  # picklable by reference, like a module-level class
    globals()["CaseForClaims"] = Case
    unittest.TextTestRunner(stream=io.StringIO()).run(Case("test_it"))
    assert outcome == [False]


class Spawned(multiprocessing.context.SpawnProcess):
    """What ``class Worker(multiprocessing.Process)`` is under the spawn start method."""

    def __init__(self, lock: object) -> None:
        super().__init__()
        self.lock = lock


def test_a_process_subclass_is_pickled_whole_by_start_under_spawn() -> None:
    with pytest.raises(TypeError):
        Spawned(threading.Lock()).start()
    lock = multiprocessing.get_context("spawn").Lock()  # a multiprocessing lock is inherited while spawning
    child = Spawned(lock)
    child.start()
    child.join(60)
    assert child.exitcode == 0
