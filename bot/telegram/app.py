"""Builds the python-telegram-bot Application: network settings, handlers, start and stop hooks.

Choices that matter:
- `concurrent_updates`: one slow answer must not hold up other chats; the batcher turns the
  concurrency into batched encodes.
- `RetryingRateLimiter`: stays under Telegram's flood limits ($READOUT_MAX_RATE messages a second
  overall, 20 a minute per group), waits out 429s, retries 5xx and network failures, but never
  resends a message that may have been delivered (retry.py).
- `Defaults(parse_mode=HTML)`: every text the bot sends is rendered HTML (escaped in `render`).
- Commands are published with setMyCommands at start, so clients offer them in the "/" menu.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from . import handlers, news, timeline
from ..memory import Trimmer
from .batcher import AskBatcher
from .catalog import Catalog
from .config import Settings
from .limits import AllowList, RateLimiter
from .reload import Reloader
from .retry import RetryingRateLimiter
from .services import KEY, Services, services
from .state import AnswerStore

if TYPE_CHECKING:
    from embeddings.engine import Engine

log = logging.getLogger(__name__)

HITS_PER_QUESTION = 12  # best point + 2 shortened + three pages of "More results"
CONCURRENT_UPDATES = 64

COMMANDS = [
    BotCommand("start", "What I know, and an example question"),
    BotCommand("help", "How to ask, in private, in groups and inline"),
    BotCommand("ask", "Ask a question: /ask <question>"),
    BotCommand("sources", "The readouts I know, newest first"),
    BotCommand("readout", "Read a whole readout: /readout N"),
    BotCommand("timeline", "A topic over time, with a chart: /timeline <topic>"),
    BotCommand("follow", "Get new readouts' points on a topic: /follow <topic>"),
    BotCommand("following", "The topics this chat follows, to stop one"),
    BotCommand("unfollow", "Stop following a topic: /unfollow N"),
]


def file_url_for(api_url: str) -> str:
    """The file-download base matching a Bot API base (…/bot -> …/file/bot)."""
    if api_url.endswith("/bot"):
        return api_url[: -len("bot")] + "file/bot"
    return api_url.rstrip("/") + "/file/bot"


async def _post_init(app: Application) -> None:
    await app.bot.set_my_commands(COMMANDS)
    svc = services(app)
    svc.batcher.start()
    svc.reloader.start()
    news.start(app)  # alerts of new readouts, feed checks
    log.info(
        "serving as @%s with %d readout(s); commands registered",
        app.bot.username,
        len(svc.catalog),
    )


async def _post_stop(app: Application) -> None:
    await services(app).reloader.stop()
    await news.stop(app)
    await services(app).batcher.stop()


def build_application(
    engine: Engine, settings: Settings, engine_error: type[Exception]
) -> Application:
    """The Application for `engine`; run it with run_polling() or run_webhook()."""
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_url)
        .base_file_url(file_url_for(settings.api_url))
        .concurrent_updates(CONCURRENT_UPDATES)
        .rate_limiter(
            RetryingRateLimiter(
                max_retries=3, network_retries=3, overall_max_rate=settings.max_rate
            )
        )
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    app.bot_data[KEY] = Services(
        catalog=Catalog(engine.readouts, engine.table),
        # the worker thread hands freed memory back after a batch, now and then (see bot/memory.py)
        batcher=AskBatcher(Trimmer().after(engine.ask_many), k=HITS_PER_QUESTION),
        answers=AnswerStore(),
        allow=AllowList(settings.allowed_chats),
        questions=RateLimiter(settings.rate_limit),
        inline=RateLimiter(settings.rate_limit * 3),
        refusals=RateLimiter(3),
        engine_error=engine_error,
        admins=settings.admin_chats,
        timeline=engine.timeline,
    )
    svc = app.bot_data[KEY]
    svc.reloader = Reloader(engine, svc, settings.reload_interval)
    news.install(app, engine, settings)  # before add_handlers: /follow's handlers go first
    add_handlers(app)
    return app


def add_handlers(app: Application) -> None:
    """Route updates: access gate first, then commands, texts, buttons, inline queries."""
    new_message = filters.UpdateType.MESSAGE  # edits and channel posts are ignored
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS

    app.add_handler(TypeHandler(Update, handlers.gate), group=-1)

    for name, callback in (
        ("start", handlers.start),
        ("help", handlers.help_command),
        ("ask", handlers.ask_command),
        ("sources", handlers.sources_command),
        ("readout", handlers.readout_command),
        ("reload", handlers.reload_command),
        ("timeline", timeline.timeline_command),
    ):
        app.add_handler(CommandHandler(name, callback, filters=new_message & (private | groups)))
    app.add_handler(
        MessageHandler(new_message & private & filters.COMMAND, handlers.unknown_command)
    )
    app.add_handler(
        MessageHandler(
            new_message & private & filters.TEXT & ~filters.COMMAND, handlers.private_text
        )
    )
    app.add_handler(
        MessageHandler(new_message & groups & filters.TEXT & ~filters.COMMAND, handlers.group_text)
    )
    app.add_handler(
        MessageHandler(new_message & private & ~filters.TEXT, handlers.private_non_text)
    )
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    app.add_handler(InlineQueryHandler(handlers.on_inline))
    app.add_error_handler(handlers.on_error)
