"""The long-lived objects handlers share, kept in `application.bot_data["services"]`.

One object rather than loose bot_data keys, so handlers get typed attributes and a missing piece
fails at start rather than on the first update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .batcher import AskBatcher
from .catalog import Catalog
from .limits import AllowList, RateLimiter
from .state import AnswerStore

if TYPE_CHECKING:
    from telegram.ext import ContextTypes

KEY = "services"


@dataclass
class Services:
    catalog: Catalog
    batcher: AskBatcher
    answers: AnswerStore
    allow: AllowList
    questions: RateLimiter  # per-user question limit
    inline: RateLimiter  # per-user inline-query limit (typing fires several per question)
    refusals: RateLimiter  # per-chat limit on "not allowed here" replies
    engine_error: type[Exception]  # EngineError: an answerable "bad question" rather than a bug
    admins: frozenset[int] = frozenset()  # chats that may use /reload ($READOUT_ADMIN_CHATS)
    reloader: Any = None  # reload.Reloader, set once the application is built
    timeline: Any = None  # Engine.timeline: topic -> embeddings.search.timeline.Timeline (/timeline)
    follows: Any = None  # follows.FollowStore: topics chats follow, alerts sent (SQLite)
    alerts: Any = None  # alerts.Alerter: announces new readouts to the chats that follow them
    feeds: Any = None  # feed_job.FeedChecker: checks the corpus's feeds on the job queue


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> Services:
    return context.bot_data[KEY]
