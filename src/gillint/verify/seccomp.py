"""Two small seccomp filters that bubblewrap loads into a probe (``bwrap --add-seccomp-fd``).

* :data:`NO_UNIX_SOCKETS`: ``socket(AF_UNIX, ...)`` fails with ``EACCES`` and ``io_uring`` (which
  could open sockets without the ``socket`` system call) with ``EPERM``; ``socketpair`` stays, for
  stream pairs only (``asyncio`` and ``multiprocessing`` use them; a datagram pair could ``sendto`` a
  path). So a probe cannot connect to a service's unix socket even if one is visible.
* :data:`NO_NEW_PROCESSES`: creating a process (``fork``, ``vfork``, ``clone`` without
  ``CLONE_THREAD``) kills the probe with ``SIGSYS``; threads still work (``clone3`` answers
  ``ENOSYS``, so the C library falls back to ``clone``, whose flags the filter can read). The GIL401
  probe runs under it: a process start at import is then a signal the kernel delivers, which the
  module cannot hide or fake into a clean exit.

Each filter kills the probe on a system call of another architecture (``int 0x80`` on x86-64, the
x32 ABI), the classic way around a filter written for one. Filters exist for x86-64 and aarch64;
elsewhere :func:`program` returns None and the caller says so.
"""

from __future__ import annotations

import platform
import struct
from dataclasses import dataclass
from typing import Mapping, Optional, Union

#: ``AUDIT_ARCH_*`` and the system call numbers the filters name, per machine.
ARCHITECTURES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, {"socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58,
                            "io_uring_setup": 425, "clone3": 435}),
    "aarch64": (0xC00000B7, {"socket": 198, "socketpair": 199, "clone": 220,
                             "io_uring_setup": 425, "clone3": 435}),
}
X32_SYSCALL_BIT = 0x40000000

ALLOW, KILL_PROCESS = 0x7FFF0000, 0x80000000
EACCES, EPERM, ENOSYS = 13, 1, 38
AF_UNIX, SOCK_DGRAM, SOCK_TYPE_MASK, CLONE_THREAD = 1, 2, 0xF, 0x10000

# Classic BPF opcodes (linux/filter.h).
LOAD_WORD, JUMP_EQ, JUMP_GE, JUMP_SET, AND, RETURN = 0x20, 0x15, 0x35, 0x45, 0x54, 0x06
NR_OFFSET, ARCH_OFFSET = 0, 4

Instruction = tuple[int, int, int, int]


@dataclass(frozen=True)
class ArgumentTest:
    """Decide on the low 32 bits of one argument: ``argument & mask == value``, or, without a mask,
    whether any bit of ``value`` is set."""

    argument: int
    value: int
    matched: int
    otherwise: int
    mask: Optional[int] = None


#: What a system call gets: a fixed action or a test of one argument.
Rules = Mapping[str, Union[int, ArgumentTest]]


def errno(number: int) -> int:
    return 0x00050000 | number


NO_UNIX_SOCKETS: Rules = {
    "socket": ArgumentTest(0, AF_UNIX, errno(EACCES), ALLOW, mask=0xFFFFFFFF),
    "socketpair": ArgumentTest(1, SOCK_DGRAM, errno(EACCES), ALLOW, mask=SOCK_TYPE_MASK),
    "io_uring_setup": errno(EPERM),
}

NO_NEW_PROCESSES: Rules = {
    "fork": KILL_PROCESS,
    "vfork": KILL_PROCESS,
    "clone3": errno(ENOSYS),
    "clone": ArgumentTest(0, CLONE_THREAD, ALLOW, KILL_PROCESS),
}


def program(rules: Rules, machine: Optional[str] = None) -> Optional[bytes]:
    """The filter as ``struct sock_filter[]`` bytes for bwrap, or None on an unknown machine."""
    known = ARCHITECTURES.get(machine or platform.machine())
    if known is None:
        return None
    audit_arch, numbers = known
    code: list[Instruction] = [(LOAD_WORD, 0, 0, ARCH_OFFSET), (JUMP_EQ, 1, 0, audit_arch),
                               (RETURN, 0, 0, KILL_PROCESS), (LOAD_WORD, 0, 0, NR_OFFSET)]
    if audit_arch == ARCHITECTURES["x86_64"][0]:
        code += [(JUMP_GE, 0, 1, X32_SYSCALL_BIT), (RETURN, 0, 0, KILL_PROCESS)]
    for name, action in rules.items():
        if name not in numbers:  # aarch64 has no fork or vfork system calls
            continue
        block = _block(action)
        code.append((JUMP_EQ, 0, len(block), numbers[name]))
        code.extend(block)
    code.append((RETURN, 0, 0, ALLOW))
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in code)


def _block(action: Union[int, ArgumentTest]) -> list[Instruction]:
    """Instructions that decide one system call; every path ends in a return."""
    if isinstance(action, int):
        return [(RETURN, 0, 0, action)]
    # The low 32 bits of the argument (both machines are little-endian).
    block: list[Instruction] = [(LOAD_WORD, 0, 0, 16 + 8 * action.argument)]
    if action.mask is None:
        block.append((JUMP_SET, 0, 1, action.value))
    else:
        block += [(AND, 0, 0, action.mask), (JUMP_EQ, 0, 1, action.value)]
    return block + [(RETURN, 0, 0, action.matched), (RETURN, 0, 0, action.otherwise)]
