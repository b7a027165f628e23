"""Memory policy of the long-running bot process: hand freed memory back to the system.

glibc's malloc raises its threshold for serving a large block from a map of its own each time
such a block is freed, so after the first questions the bot's large temporaries (vectors read back
for the candidates, arrays over every point of the index, the encoder's activations) come from the
heap, and freed heap is rarely returned: at 100,000 points the bot's own memory held ~40 MB of
freed blocks after a few dozen questions. `malloc_trim` returns them (0.4 ms a call). After every
question it cost 2-3 ms in re-faulted pages; at most once every `INTERVAL` seconds it costs
nothing measurable. A fixed mmap threshold (mallopt) would do it too, at 7 ms a question.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
from collections.abc import Callable
from typing import TypeVar

INTERVAL = 2.0  # seconds
T = TypeVar("T")


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where there is none (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_now() -> bool:
    """Return freed memory now: after loading or reloading an index, which parses megabytes of
    JSON (the manifest, the table) and frees nearly all of it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class Trimmer:
    """`trimmer.after(fn)`: fn, followed by a malloc_trim when the last one is INTERVAL old."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        # -inf, not 0.0: the monotonic clock counts from an arbitrary point (boot, on Linux), so
        # on a machine up for less than `interval` a start at 0.0 would skip the first trim
        self._last = float("-inf")
        self._lock = threading.Lock()
        self.trims = 0

    def maybe_trim(self) -> bool:
        if _malloc_trim() is None:
            return False
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval:
                return False
            self._last = now
        trim_now()  # ctypes lets go of the GIL for the call
        self.trims += 1
        return True

    def after(self, fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                return fn(*args, **kwargs)
            finally:
                self.maybe_trim()

        return wrapped
