"""Give the C heap's free pages back to the system after a job.

The daemon's jobs are bursts minutes apart (parse a worker's JSON, render a snapshot,
sign and upload it) in a process that otherwise sleeps for months. glibc keeps what
they freed inside its heap for reuse, and the next burst rarely lands on the same
pages, so RSS sits a few MB above what the daemon holds. `malloc_trim(0)` returns
whole free pages to the kernel (madvise), a few milliseconds of work once per job.
Elsewhere than glibc (musl, macOS) this is a no-op: nothing breaks, RSS is just higher.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        return None
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    function: Callable[[int], int] = trim
    return function


def release_free_memory() -> bool:
    """True when the C library returned memory to the system (glibc only)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
