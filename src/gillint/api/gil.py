"""The GIL knowledge base: what a call does to the GIL, by qualified name.

Entries are dotted names matched after import resolution (``import numpy as np; np.dot`` is
``numpy.dot``) and by prefix: ``socket`` covers ``socket.create_connection`` and methods of
``socket.socket`` instances (``socket.socket.recv``). The longest matching entry wins, so
``time.sleep`` (releases) beats ``time`` (pure). Anything not listed is *unknown*, and unknown
calls keep GIL101 silent.

Sources: the CPython docs (I/O, ``time.sleep``, ``hashlib`` on data over 2047 bytes, ``zlib``/
``bz2``/``lzma`` release the GIL; ``sum``/``sorted``/``re``/``json`` do not) and the NumPy docs
(most array operations release it). The measurements are in ``docs/rules/GIL101.md``.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Iterable, Mapping, Optional


class Effect(str, Enum):
    """What a call does while a thread runs it."""

    #: Waits (I/O, sleep, locks, queues, futures) or runs C code that releases the GIL.
    RELEASES = "releases"
    #: C code that keeps the GIL for the whole call, which is long on big inputs.
    HOLDS = "holds"
    #: Declared CPU-bound by the user (``extend-cpu-bound``).
    CPU = "cpu"
    #: Cheap work done under the GIL: builtins, containers, strings, math.
    PURE = "pure"
    #: Bookkeeping that neither waits long nor computes: logging, releasing locks, queue puts.
    NEUTRAL = "neutral"


def _entries(effect: Effect, names: str) -> dict[str, Effect]:
    return {name: effect for name in names.split()}


RELEASES_GIL = _entries(Effect.RELEASES, """
    builtins.open builtins.input io _io os.read os.write os.pread os.pwrite os.readv os.writev
    os.open os.fdopen os.popen os.system os.wait os.waitpid os.wait3 os.wait4 os.waitid os.listdir
    os.scandir os.walk os.fwalk os.stat os.lstat os.fstat os.remove os.unlink os.rename os.replace
    os.mkdir os.makedirs os.rmdir os.removedirs os.fsync os.fdatasync os.sendfile os.truncate
    os.utime os.chmod os.chown os.link os.symlink os.readlink os.copy_file_range os.splice
    os.path.exists os.path.isfile os.path.isdir os.path.getsize os.path.getmtime os.path.islink
    os.path.realpath os.path.lexists
    sys.stdin sys.stdout sys.stderr shutil pathlib glob tempfile fileinput filecmp mmap
    socket ssl select selectors socketserver asyncio signal.pause signal.sigwait
    subprocess pty
    urllib.request urllib3 http.client http.server ftplib smtplib poplib imaplib telnetlib
    xmlrpc.client webbrowser requests httpx aiohttp httplib2 pycurl websocket websockets grpc paramiko
    time.sleep
    queue.Queue.get queue.Queue.join queue.LifoQueue.get queue.LifoQueue.join
    queue.PriorityQueue.get queue.PriorityQueue.join queue.SimpleQueue.get
    multiprocessing.Queue multiprocessing.SimpleQueue multiprocessing.Pipe multiprocessing.connection
    threading.Event.wait threading.Condition.wait threading.Condition.wait_for threading.Lock.acquire
    threading.RLock.acquire threading.Semaphore.acquire threading.BoundedSemaphore.acquire
    threading.Barrier.wait threading.Thread.join threading.Timer.join _thread.allocate_lock.acquire
    concurrent.futures.wait concurrent.futures.as_completed concurrent.futures.Future.result
    concurrent.futures.Future.exception
    sqlite3 dbm shelve psycopg2 psycopg pymysql MySQLdb mysql.connector cx_Oracle oracledb pyodbc
    pymongo redis sqlalchemy boto3 botocore google.cloud elasticsearch kafka pika
    hashlib zlib bz2 lzma gzip zipfile tarfile
    numpy scipy numexpr
    json.load json.dump pickle.load pickle.dump marshal.load marshal.dump csv.reader csv.writer
    csv.DictReader csv.DictWriter
""")

#: Waits that hand the worker its data in bulk, or C code that releases the GIL while it works on
#: it: files, directories, subprocesses, queues, (de)compression, hashing, (de)serialisation from a
#: file. A worker that waits on these and then loops over what it got spends its time in the loop.
#: The other waits (network round trips, sleeps, locks, events, futures, databases, NumPy) may take
#: longer than any loop that follows, so a worker that does them is not weighed (see ``Effects.mixed``).
BULK_WAITS = frozenset("""
    builtins.open io _io os.read os.write os.pread os.pwrite os.readv os.writev os.open os.fdopen
    os.popen os.system os.wait os.waitpid os.wait3 os.wait4 os.waitid os.listdir os.scandir os.walk
    os.fwalk os.stat os.lstat os.fstat os.remove os.unlink os.rename os.replace os.mkdir os.makedirs
    os.rmdir os.removedirs os.fsync os.fdatasync os.sendfile os.truncate os.utime os.chmod os.chown
    os.link os.symlink os.readlink os.copy_file_range os.splice os.path sys.stdout sys.stderr
    shutil pathlib glob tempfile fileinput filecmp mmap subprocess
    queue.Queue.get queue.LifoQueue.get queue.PriorityQueue.get queue.SimpleQueue.get
    multiprocessing.Queue multiprocessing.SimpleQueue
    hashlib zlib bz2 lzma gzip zipfile tarfile
    json.load json.dump pickle.load pickle.dump marshal.load marshal.dump csv
""".split())

#: Method names of bulk waits on receivers of unknown type: ``f.read()``, ``proc.communicate()``,
#: ``q.get()``. Each returns its data whole: iterating the result does not wait.
BULK_METHODS = frozenset({"read", "readlines", "communicate", "get"})

#: Bulk reads that return their data whole (a list, a string, a parsed document), unlike ``open()``,
#: ``os.scandir()`` or ``csv.reader()``, whose results wait while they are iterated.
WHOLE_READS = frozenset("""
    json.load pickle.load marshal.load os.listdir glob.glob subprocess.check_output
""".split())

#: Calls that apply their first argument to every item of the others, where they are iterated:
#: ``map(parse, lines)`` runs ``parse`` in whichever thread consumes it.
APPLY_CALLS = frozenset({
    "builtins.map", "builtins.filter", "itertools.starmap", "itertools.filterfalse", "functools.reduce",
})

#: Calls whose result iterates their arguments' items: iterating ``enumerate(rows(f))`` iterates ``rows(f)``.
PASS_THROUGH_ITERATORS = frozenset({
    "builtins.iter", "builtins.enumerate", "builtins.zip", "builtins.reversed", "builtins.sorted", "builtins.list",
    "builtins.tuple", "builtins.set", "itertools.chain", "itertools.islice",
    # A progress bar iterates what it wraps; it redraws at most every 0.1 s.
    "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.std.tqdm", "tqdm.notebook.tqdm",
})

# -- what says that threads are meant to run at the same time, not to finish sooner (GIL101) --

#: Calls that turn threads into greenlets for the whole program.
THREAD_MONKEY_PATCHES = frozenset({
    "gevent.monkey.patch_all", "gevent.monkey.patch_thread", "eventlet.monkey_patch", "eventlet.patcher.monkey_patch",
})
#: Prefixes of calls that time code: threads timed against a serial run demonstrate their speed.
TIMERS = ("time.perf_counter", "time.time", "time.monotonic", "time.process_time", "timeit.")
#: Objects that hold threads back until the others are ready, or until told to stop.
BARRIER_TYPES = frozenset({"threading.Barrier", "multiprocessing.Barrier"})
EVENT_TYPES = frozenset({"threading.Event", "multiprocessing.Event"})

#: C code that keeps the GIL: on a big input, as CPU-bound as a Python loop.
HOLDS_GIL = _entries(Effect.HOLDS, """
    builtins.sum builtins.sorted builtins.min builtins.max
    re json pickle marshal copy.deepcopy
""")

PURE_WORK = _entries(Effect.PURE, """
    builtins math cmath random itertools functools operator collections heapq bisect array struct
    string textwrap unicodedata difflib base64 binascii decimal fractions statistics numbers
    dataclasses enum typing datetime calendar time copy keyword fnmatch colorsys html.escape
    os.path os.getpid os.getenv os.environ os.cpu_count os.urandom sys.getsizeof sys.intern
    uuid secrets ipaddress contextlib types abc weakref pprint.pformat reprlib zoneinfo
    threading.get_ident threading.current_thread threading.main_thread threading.active_count
""")

NEUTRAL_WORK = _entries(Effect.NEUTRAL, """
    logging warnings threading queue builtins.print sys.exit gc
    tqdm.tqdm tqdm.auto.tqdm tqdm.std.tqdm tqdm.notebook.tqdm
""")

#: Every built-in entry. ``builtins.print`` is neutral once, but waits inside a loop (see model).
BUILTIN_TABLE: Mapping[str, Effect] = {**PURE_WORK, **NEUTRAL_WORK, **HOLDS_GIL, **RELEASES_GIL}

#: Calls that write to a terminal or file: I/O when repeated in a loop, bookkeeping once.
OUTPUT_CALLS = frozenset({"builtins.print"})

#: Method names that wait or do I/O whatever the receiver (a socket, a file, a queue, a future,
#: a DB cursor, an HTTP session). Used only when the receiver's type is unknown.
WAITING_METHODS = frozenset("""
    wait wait_for acquire result exception recv recv_into recvfrom recvmsg send sendall sendto
    sendmsg sendfile accept connect connect_ex read read1 readline readlines readinto write
    writelines flush communicate poll select execute executemany executescript fetchone fetchall
    fetchmany commit rollback cursor urlopen request download upload urlretrieve getresponse
    makefile recv_bytes send_bytes listen iter_content iter_lines raise_for_status sleep
""".split())

#: ``q.get()`` / ``q.get(timeout=1)`` wait; ``d.get(key)`` is a dict lookup. Same for ``join``:
#: ``t.join()`` waits, ``sep.join(parts)`` builds a string.
WAITING_WITHOUT_POSITIONAL = frozenset({"get", "join"})
WAITING_KEYWORDS = frozenset({"block", "timeout"})
#: A first argument that says "block": ``q.get(block)``, ``q.get(blocking, 5)`` wait too.
BLOCKING_ARGUMENT_NAMES = frozenset({"block", "blocking", "wait"})
#: Receiver names that say "a queue": ``self.queue.get(item_key)`` is taken as a wait, not a lookup.
QUEUE_NAMES = re.compile(r"(?:^|_)(?:q|queue|inbox|mailbox)$", re.IGNORECASE)

#: Method names of builtin containers, strings and numbers: cheap work under the GIL.
PURE_METHODS = frozenset("""
    append extend insert pop popleft appendleft popitem remove discard add clear copy items keys
    values setdefault update get join split rsplit splitlines strip lstrip rstrip lower upper
    casefold replace startswith endswith format format_map count index find rfind rindex isdigit
    isalpha isalnum isspace isnumeric isdecimal isidentifier islower isupper encode decode sort
    reverse most_common elements subtract bit_length bit_count to_bytes from_bytes hex zfill ljust
    rjust center partition rpartition title capitalize swapcase translate maketrans expandtabs
    is_integer as_integer_ratio conjugate union intersection difference symmetric_difference
    issubset issuperset isdisjoint intersection_update difference_update removeprefix removesuffix
    rotate fromkeys real imag
""".split())

#: Receiver names that say "a client of something remote": ``session.get(url)`` is a request,
#: not a dict lookup. Checked only when the receiver's type is unknown.
CLIENT_NAMES = re.compile(
    r"(?:^|_)(?:session|client|conn|connection|cursor|cur|db|http|api|sock|socket|redis|s3|bucket|"
    r"collection|engine|browser|driver|channel|stub|ftp|smtp|ssh|sftp|resp|response|stream|proc|pipe)$",
    re.IGNORECASE,
)

#: Method names of bookkeeping on unknown receivers: logging, queue puts, events, releases.
NEUTRAL_METHODS = frozenset("""
    debug info warning warn error exception critical log put put_nowait task_done set is_set
    release notify notify_all close start is_alive cancel done cancelled
""".split())


class Knowledge:
    """The knowledge base plus the user's extensions, queried by qualified name."""

    def __init__(self, releases_gil: Iterable[str] = (), cpu_bound: Iterable[str] = ()) -> None:
        releases_gil, cpu_bound = tuple(releases_gil), tuple(cpu_bound)
        self.table: dict[str, Effect] = dict(BUILTIN_TABLE)
        self.table.update({name: Effect.CPU for name in cpu_bound})
        self.table.update({name: Effect.RELEASES for name in releases_gil})
        self.user_releases = frozenset(releases_gil)
        self.key = (tuple(sorted(releases_gil)), tuple(sorted(cpu_bound)))

    def is_bulk(self, qualname: str) -> bool:
        """Whether a call that waits (:attr:`Effect.RELEASES`) is a bulk read (:data:`BULK_WAITS`).

        A name the user declared with ``extend-releases-gil`` is not: gillint does not know how long it waits.
        """
        name = qualname
        while name not in BULK_WAITS:
            if name in self.user_releases or "." not in name:
                return False
            name = name.rpartition(".")[0]
        return name not in self.user_releases

    def effect_of(self, qualname: str) -> Optional[Effect]:
        """The effect of calling ``qualname``: the longest matching entry, or None when unknown."""
        name = qualname
        while True:
            effect = self.table.get(name)
            if effect is not None:
                return effect
            if "." not in name:
                return None
            name = name.rpartition(".")[0]
