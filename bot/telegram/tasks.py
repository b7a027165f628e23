"""Background tasks of the bot (the ask batcher, the index reloader)."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel(task: asyncio.Task | None) -> None:
    """Cancel `task` and wait until it has stopped, so shutdown leaves nothing running."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
