"""Is the system clock trustworthy? A Raspberry Pi has no RTC: until NTP syncs it may
think it is 1970 or last week, and signed snapshots would be refused for clock skew.

The kernel knows: adjtimex() returns TIME_ERROR while the clock is unsynchronised.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from datetime import UTC, datetime

TIME_ERROR = 5  # adjtimex() return value: clock not synchronised
_TIMEX_SIZE = 256  # bytes: struct timex is 208 on 64-bit Linux; the rest is slack
EARLIEST_PLAUSIBLE = datetime(2026, 1, 1, tzinfo=UTC)  # older than this build: surely wrong


def kernel_clock_synchronised() -> bool | None:
    """True/False from the kernel, None where adjtimex is unavailable (not Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        buffer = ctypes.create_string_buffer(_TIMEX_SIZE)  # modes = 0: read only
        state = int(libc.adjtimex(buffer))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def clock_plausible(now: datetime) -> bool:
    return now >= EARLIEST_PLAUSIBLE


def clock_synchronised(now: datetime | None = None) -> bool | None:
    moment = now or datetime.now(UTC)
    if not clock_plausible(moment):
        return False
    return kernel_clock_synchronised()
