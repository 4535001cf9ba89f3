"""What gillint knows about the standard concurrency APIs, by qualified name.

Names are matched after import resolution, so ``from concurrent import futures as cf`` and
``cf.ThreadPoolExecutor`` both reach ``concurrent.futures.ThreadPoolExecutor``. Pools that
serialise with cloudpickle or dill (joblib, loky, dask, pathos, the ``multiprocess`` package)
are deliberately absent: they accept lambdas and closures.
"""

from __future__ import annotations

from typing import Optional, Sequence

PARTIAL = frozenset({"functools.partial"})

THREAD_CLASSES = frozenset({
    "threading.Thread",
    "multiprocessing.dummy.Process",
    "multiprocessing.dummy.DummyProcess",
})

THREAD_POOLS = frozenset({
    "concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.thread.ThreadPoolExecutor",
    "multiprocessing.pool.ThreadPool",
    "multiprocessing.dummy.Pool",
})

PROCESS_POOLS = frozenset({
    "multiprocessing.Pool",
    "multiprocessing.pool.Pool",
    "torch.multiprocessing.Pool",  # re-exports multiprocessing: the standard pickler
    "concurrent.futures.ProcessPoolExecutor",
    "concurrent.futures.process.ProcessPoolExecutor",
})

#: Process pools that start their workers when constructed (an executor waits for work).
EAGER_PROCESS_POOLS = frozenset({"multiprocessing.Pool", "multiprocessing.pool.Pool", "torch.multiprocessing.Pool"})

PROCESS_CLASSES = frozenset({
    "multiprocessing.Process",
    "multiprocessing.process.BaseProcess",
    "multiprocessing.context.Process",
    "multiprocessing.context.SpawnProcess",
    "multiprocessing.context.ForkProcess",
    "multiprocessing.context.ForkServerProcess",
    "torch.multiprocessing.Process",
})

#: ``Timer`` is a ``Thread`` whose ``start()`` starts a thread.
TIMER_CLASSES = frozenset({"threading.Timer"})
#: Thread pools whose threads start when the pool is made (an executor starts them when given work).
THREADS_AT_CONSTRUCTION = frozenset({"multiprocessing.pool.ThreadPool", "multiprocessing.dummy.Pool"})
#: Calls that fork the calling process whatever the multiprocessing start method.
FORK_CALLS = frozenset({"os.fork", "os.forkpty", "pty.fork"})

#: ``Manager()`` starts its server process at once; a ``SyncManager`` on ``.start()``.
MANAGER_FACTORIES = frozenset({"multiprocessing.Manager"})
MANAGER_CLASSES = frozenset({"multiprocessing.managers.SyncManager", "multiprocessing.managers.BaseManager"})

#: Methods of ``multiprocessing`` pools (process or thread) that send a task.
POOL_TASK_METHODS = frozenset({
    "map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async", "apply", "apply_async",
})
#: Of those, the ones whose second argument is an iterable of task arguments.
POOL_ITERABLE_METHODS = frozenset({"map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async"})
EXECUTOR_TASK_METHODS = frozenset({"submit", "map"})

TO_THREAD = frozenset({"asyncio.to_thread"})
START_NEW_THREAD = frozenset({"_thread.start_new_thread", "_thread.start_new"})

#: Calls whose result is an object of a known kind (factories, not classes).
FACTORY_RESULTS = {
    "multiprocessing.get_context": "multiprocessing.context.BaseContext",
    "multiprocessing.context.get_context": "multiprocessing.context.BaseContext",
    "torch.multiprocessing.get_context": "multiprocessing.context.BaseContext",
}
CONTEXT_TYPE = "multiprocessing.context.BaseContext"

#: ``multiprocessing.set_start_method`` / ``get_context`` and friends: where a start method is chosen.
START_METHOD_SETTERS = frozenset({
    "multiprocessing.set_start_method", "multiprocessing.get_context",
    "torch.multiprocessing.set_start_method", "torch.multiprocessing.get_context",
})


def context_attribute_type(owner_types: Sequence[Optional[str]], attribute: str) -> Optional[str]:
    """``get_context("spawn").Pool`` is ``multiprocessing.Pool``: a context mirrors the module."""
    if owner_types and all(t == CONTEXT_TYPE for t in owner_types):
        return f"multiprocessing.{attribute}"
    return None


def family(type_names: Sequence[Optional[str]], kinds: frozenset[str]) -> bool:
    """True when every possible type is known and in ``kinds``."""
    return bool(type_names) and all(t in kinds for t in type_names)

#: Objects whose attributes are per-thread (and which cannot be pickled).
THREAD_LOCAL_TYPES = frozenset({"threading.local", "_threading_local.local"})

#: Every name that starts or makes threads, processes, pools or managers.
WORKER_APIS = (THREAD_CLASSES | THREAD_POOLS | PROCESS_POOLS | PROCESS_CLASSES | MANAGER_FACTORIES | MANAGER_CLASSES
               | TO_THREAD | START_NEW_THREAD | frozenset(FACTORY_RESULTS))

#: Words a file mentions when it can start a thread or process by itself: the modules that can, and
#: the method that hands work to an executor made elsewhere (``asyncio.to_thread`` contains ``_thread``).
TRIGGER_WORDS = ("threading", "_thread", "concurrent", "multiprocessing", "run_in_executor")
#: What a file that forks the process by itself mentions (``os.fork()``, ``os.forkpty()``, ``pty.fork()``).
FORK_WORDS = ("os.fork", "pty.fork", "forkpty")
#: The last component of every API name (``Thread``, ``Pool``, ``to_thread``...), and ``Executor``
#: (subclasses of ``concurrent.futures.Executor``): what code that may start workers mentions.
#: ``set_start_method`` and ``fork`` too: a function that calls them matters to the start method a
#: process gets (GIL201/GIL202/GIL401) and to what forks while threads run (GIL402).
API_NAMES = tuple(sorted({name.rpartition(".")[2] for name in (*WORKER_APIS, *FORK_CALLS)}
                         | {"Executor", "run_in_executor", "set_start_method"}))
#: Methods that start a thread or process or hand work to a pool.
DISPATCH_METHODS = tuple(sorted(POOL_TASK_METHODS | EXECUTOR_TASK_METHODS | {"start", "to_thread", "run_in_executor"}))
