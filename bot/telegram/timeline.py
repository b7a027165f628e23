"""/timeline TOPIC: every readout's point on a topic, as a chart (a photo) and then a list.

The search (`Engine.timeline`) and the drawing (bot/timeline_chart.py) take tens of milliseconds
to a second of CPU, so they run in one worker thread of their own, off the event loop: other
chats' questions go on through the batcher meanwhile, and two timelines asked at once take turns
rather than fight the encoder for the machine's few cores. matplotlib is imported in that thread
on the first /timeline, not when the bot starts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from telegram import ReplyParameters, Update
from telegram.constants import ChatAction

from bot.advice import BOT, explain
from embeddings.search.timeline import Timeline

from . import timeline_render as view
from .handlers import CANNOT_ANSWER, Context, clean_question, never_silent, reply_target, send_html, show_action_if_slow
from .render import esc
from .services import services

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="readout-timeline")


@dataclass(frozen=True)
class Drawn:
    """A timeline and its chart (None when no entry has a date to place)."""

    timeline: Timeline
    png: bytes | None


def _find_and_draw(find, topic: str) -> Drawn:
    """In the worker thread: the timeline, and its chart when there is something to draw."""
    tl = find(topic)
    if not tl.dated:
        return Drawn(tl, None)
    from bot.timeline_chart import draw

    png, drawn = draw(tl)
    log.debug("timeline chart: %s", drawn.describe())
    return Drawn(tl, png)


@never_silent
async def timeline_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    chat_id = message.chat.id
    reply = reply_target(message)
    topic = clean_question(" ".join(context.args or []))
    if not topic:
        await send_html(context, chat_id, view.USAGE, reply_to=reply, topic=message)
        return
    svc = services(context)
    user_id = update.effective_user.id if update.effective_user else chat_id
    verdict = svc.questions.check(user_id)
    if not verdict.allowed:
        if verdict.notify:
            await send_html(context, chat_id, f"You are asking faster than {svc.questions.limit} questions a "
                            f"minute. Please wait about {max(1, round(verdict.retry_in))} s and ask again.",
                            reply_to=reply, topic=message)
        return
    log.debug("timeline in chat %s from user %s", chat_id, user_id)
    work = asyncio.get_running_loop().run_in_executor(_worker(), _find_and_draw, svc.timeline, topic)
    await show_action_if_slow(context, chat_id, work, ChatAction.UPLOAD_PHOTO)
    try:
        result = await work
    except svc.engine_error as exc:
        log.warning("cannot make a timeline in chat %s: %s", chat_id, explain(exc, BOT))
        await send_html(context, chat_id, esc(CANNOT_ANSWER), reply_to=reply, topic=message)
        return
    tl = result.timeline
    if not tl.entries:
        await send_html(context, chat_id, view.nothing_found(tl), reply_to=reply, topic=message)
        return
    if result.png is not None:
        thread = message.message_thread_id if message.is_topic_message else None
        await context.bot.send_photo(
            chat_id, result.png, caption=view.caption(tl), message_thread_id=thread,
            reply_parameters=ReplyParameters(reply, allow_sending_without_reply=True) if reply is not None else None,
        )
        reply = None  # the list follows the photo, which already answers the message
    for page in view.pages(tl):
        await send_html(context, chat_id, page.html, page.keyboard, reply_to=reply, topic=message)
        reply = None
