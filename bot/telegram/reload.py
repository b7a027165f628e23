"""Keeping a long-running bot on the newest index.

Every few seconds ($READOUT_RELOAD_INTERVAL, read by `config`) a background task asks the engine to refresh: if `readout index`, `add` or
`remove` published a new index (or the corpus folder was edited by hand, which the refresh
rebuilds), the engine swaps it in between questions. A question already being answered keeps the
index it started with, so none is dropped or answered from a half-written index (indexes are
published whole, by a symlink swap). Admins can force a refresh with /reload.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..memory import trim_now
from .catalog import Catalog
from .tasks import cancel

if TYPE_CHECKING:
    from embeddings.engine import Change, Engine

    from .services import Services

log = logging.getLogger(__name__)

class Reloader:
    def __init__(self, engine: Engine, svc: Services, every: float) -> None:
        self.engine = engine
        self.svc = svc
        self.every = every
        self._lock = asyncio.Lock()  # one refresh at a time (the timer and /reload)
        self._task: asyncio.Task[None] | None = None

    async def reload(self) -> Change | None:
        """Refresh now; the catalog (/sources, /readout) follows the new index."""
        async with self._lock:
            change = await asyncio.to_thread(self.engine.refresh, True,
                                             lambda why: log.info("rebuilding the index: %s", why))
            if change is not None:
                await asyncio.to_thread(trim_now)  # the previous index's memory, freed
        if change is not None:
            self.svc.catalog = Catalog(self.engine.readouts, self.engine.table)
            log.info("now serving a newer index: %s", change.describe())
            if self.svc.alerts is not None:  # new readouts: the chats that follow them hear (alerts.py)
                self.svc.alerts.notice()
        return change

    def start(self) -> None:
        if self.every > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="index-reloader")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bad corpus edit must not stop the bot: keep the old index
                log.warning("index reload failed, still serving the previous index: %s", e)
