"""How many threads BLAS may use, per call site.

A question's products are small (a dozen tokens through the encoder, a few thousand candidate
vectors against one question): on one BLAS thread they run fastest, while more threads spin and
wait, and on a busy machine (the bot's event loop, a build next door) take far longer: ranking a
question at 1,000 points took 10-12 ms with OpenBLAS's default threads beside a build, 4-5 ms on
one. A build's batches of texts use every core.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any


@functools.lru_cache(maxsize=1)
def _controller() -> Any:
    """The process's thread pools, found once: `threadpool_limits` looks for them on every call,
    which cost 2.5 ms a question (a fifth of its encoding)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads(n: int) -> AbstractContextManager[Any]:
    """Within the block, BLAS uses at most `n` threads."""
    return _controller().limit(limits=n, user_api="blas")
