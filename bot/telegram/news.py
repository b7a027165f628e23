"""Following the news, wired into the Application: the state file, the alerts, the feed checks.

app.py calls `install` when it builds the Application, `start` once it is initialised and `stop`
when it stops, so the pieces (follows.py, alerts.py, feed_job.py, follow_handlers.py) stay out of
the code that builds the bot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import follow_handlers
from .alerts import Alerter
from .config import STATE_FILE, Settings
from .feed_job import FeedChecker
from .follows import FollowStore
from .services import services

if TYPE_CHECKING:
    from telegram.ext import Application

    from embeddings.engine import Engine

log = logging.getLogger(__name__)


def install(app: Application, engine: Engine, settings: Settings) -> None:
    """Open the state file and set up the alerts and the feed checks (nothing runs yet)."""
    from .config import read_state_dir

    svc = services(app)
    folder = settings.state_dir if settings.state_dir is not None else read_state_dir(None)
    svc.follows = FollowStore(folder / STATE_FILE)
    svc.alerts = Alerter(app, engine, svc.follows, svc.allow.allows)
    svc.feeds = FeedChecker(app, engine, svc.reloader, settings.feeds_interval)
    follow_handlers.add_handlers(app)
    log.info("state (follows, alerts sent) in %s", svc.follows.path)


def start(app: Application) -> None:
    svc = services(app)
    svc.alerts.start()
    svc.feeds.start()


async def stop(app: Application) -> None:
    svc = services(app)
    await svc.alerts.stop()
    svc.follows.close()
