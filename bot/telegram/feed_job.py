"""The bot checks the corpus's feeds by itself, every $READOUT_FEEDS_INTERVAL seconds.

A repeating job on python-telegram-bot's job queue runs the same check as `readout feeds check`
(embeddings/grow/feeds.py) in a worker thread (`asyncio.to_thread`: fetching feeds and pages takes
seconds and must not hold up the answers), then has the reloader swap in the updated index
(reload.py), which also announces the new readouts to the chats that follow their topics
(alerts.py). The first check is due `interval` after the last one recorded in the feed list, so a
bot restarted often does not fetch the feeds at every start, nor skip them.

A check never stops the bot: a feed that fails is a log line, and so is a check that fails. When
the bot shuts down, a check in progress stops before its next fetch.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embeddings.engine import Engine

    from .reload import Reloader

log = logging.getLogger(__name__)


class FeedChecker:
    def __init__(self, app: Any, engine: Engine, reloader: Reloader, every: float) -> None:
        self.app = app
        self.engine = engine
        self.reloader = reloader
        self.every = every
        self._busy = False
        self.checks = 0  # completed, for the log and tests

    def start(self) -> None:
        """Schedule the checks on the application's job queue (nothing when they are off)."""
        from embeddings.grow.feeds import next_check_in

        if self.every <= 0:
            log.info("feed checks are off (READOUT_FEEDS_INTERVAL=0)")
            return
        queue = self.app.job_queue
        if queue is None:  # python-telegram-bot without its job-queue extra
            log.error("feed checks need python-telegram-bot[job-queue]; the feeds are not checked")
            return
        first = next_check_in(self.engine.paths.corpus, self.every)
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # a line a run; ours say what was found
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        kwargs = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        # The first check on its own: a repeating job whose first run is due before the scheduler
        # starts (right after start-up) would skip it and wait a whole interval (PTB's JobQueue docs).
        queue.run_once(self._job, when=first, name="feed-check-first", job_kwargs=kwargs)
        queue.run_repeating(self._job, interval=self.every, first=first + self.every, name="feed-check",
                            job_kwargs=kwargs)
        log.info("feeds are checked every %g s; the next check in %.0f s", self.every, first)

    def _stopping(self) -> bool:
        return not self.app.running

    async def _job(self, context: Any) -> None:
        if self._busy:  # a slow check is still running: this turn is skipped
            return
        self._busy = True
        try:
            await self.check()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the next check may succeed; the bot goes on
            log.warning("feed check failed: %s: %s", type(e).__name__, e)
        finally:
            self._busy = False

    async def check(self) -> None:
        """One check of every feed, then the index refreshed if readouts were added."""
        from embeddings.grow.feeds import FeedError, check_feeds

        paths = self.engine.paths
        try:
            report = await asyncio.to_thread(check_feeds, paths.corpus, paths.index, self._stopping)
        except FeedError as e:
            log.warning("feed check: %s", e)
            return
        self.checks += 1
        for r in report.feeds:
            if r.error:
                log.warning("feed %s failed: %s", r.url, r.error)
            else:
                log.info("feed %s: %s", r.url, r.outcome())
            for n in r.skipped:
                log.info("feed %s: skipped %s: not a readout (%s)", r.url, n.url, n.why)
            for n in r.failed:
                log.info("feed %s: could not fetch %s (%s); tried again at the next check", r.url, n.url, n.why)
        if report.error:
            log.warning("feed check: %s", report.error)
        if report.added and not self._stopping():
            log.info("feed check added %s", ", ".join(a.doc for a in report.added))
            try:
                await self.reloader.reload()
            except Exception as e:  # noqa: BLE001 - the periodic reload tries again
                log.warning("index reload after the feed check failed: %s", e)
