"""`/follow TOPIC`, `/following`, `/unfollow N` and the "Stop" buttons: the topics a chat follows.

A chat (private or a group: the group follows, whoever sent the command) keeps up to 20 topics of
1-200 characters in the state file (follows.py); alerts.py sends it each new readout's point on
one of them. The allow-list applies as to questions: the access gate (handlers.gate) runs before
these handlers. Every command gets a reply, in plain words.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from . import buttons, render, retry
from .follows import MAX_TOPIC_CHARS, MAX_TOPICS, Follow, clean_topic
from .handlers import Context, ack, never_silent, reply_target, send_html
from .services import services

log = logging.getLogger(__name__)

EXAMPLE_TOPIC = "grave visits"
USAGE = (f"Send /follow and a topic, e.g. /follow {EXAMPLE_TOPIC}. When a new readout has a point "
         "on it, I send that point here.")
BUTTON_LABEL = 40


def _quote(topic: str) -> str:
    return f"“{render.esc(topic)}”"


def follow_reply(result: Follow | str, topic: str, count: int) -> str:
    """What /follow answers (HTML): the topic followed, or why not. `count`: the chat's topics."""
    if isinstance(result, Follow):
        return (f"Following {_quote(result.topic)}. When a new readout has a point on it, I send "
                f"that point here. /following lists this chat's topics ({count} of {MAX_TOPICS}).")
    if result == "empty":
        return render.esc(USAGE)
    if result == "too long":
        return (f"A topic can have at most {MAX_TOPIC_CHARS} characters; this one has {len(topic)}. "
                f"A few words work best, e.g. /follow {EXAMPLE_TOPIC}.")
    if result == "too many":
        return (f"This chat already follows {MAX_TOPICS} topics, the most I keep. Stop one first: "
                "/following lists them, each with a button to stop it.")
    if result == "already":
        return f"This chat already follows {_quote(topic)}. /following lists its topics."
    return render.esc(USAGE)


def following_page(follows: list[Follow]) -> tuple[str, InlineKeyboardMarkup | None]:
    """/following: the chat's topics, numbered, with a "Stop" button for each."""
    if not follows:
        return (f"This chat follows no topics. Follow one with /follow &lt;topic&gt;, e.g. "
                f"/follow {EXAMPLE_TOPIC}.", None)
    lines = [f"<b>Topics this chat follows</b> ({len(follows)} of {MAX_TOPICS})"]
    lines += [f"{n}. {render.esc(f.topic)}" for n, f in enumerate(follows, start=1)]
    lines.append("A new readout's point on one of them is sent here. Stop one with its button, "
                 "or with /unfollow N.")
    rows = [[InlineKeyboardButton(render.shorten(f"Stop: {f.topic}", BUTTON_LABEL),
                                  callback_data=buttons.unfollow_data(f.id))] for f in follows]
    return "\n".join(lines[:-1]) + "\n\n" + lines[-1], InlineKeyboardMarkup(rows)


_NUMBER = re.compile(r"^[0-9]{1,6}$")


def unfollow_choice(args: list[str], follows: list[Follow]) -> Follow | str:
    """The follow `/unfollow N` names, or the reply (HTML) saying what to send instead."""
    if not follows:
        return "This chat follows no topics."
    span = "1" if len(follows) == 1 else f"1 to {len(follows)}"
    given = " ".join(args).strip()
    if not given or not _NUMBER.match(given):
        return f"Send /unfollow N, where N is the topic's number in /following ({span})."
    n = int(given)
    if not 1 <= n <= len(follows):
        return f"There is no topic {n}: /following numbers them {span}."
    return follows[n - 1]


@never_silent
async def follow_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    store = services(context).follows
    topic = clean_topic(" ".join(context.args or []))
    result = store.add(message.chat.id, topic) if topic else "empty"
    if isinstance(result, Follow):
        log.debug("chat %s follows a new topic", message.chat.id)
    count = len(store.follows_of(message.chat.id))
    await send_html(context, message.chat.id, follow_reply(result, topic, count),
                    reply_to=reply_target(message), topic=message)


@never_silent
async def following_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    text, keyboard = following_page(services(context).follows.follows_of(message.chat.id))
    await send_html(context, message.chat.id, text, keyboard, reply_to=reply_target(message), topic=message)


@never_silent
async def unfollow_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    store = services(context).follows
    choice = unfollow_choice(list(context.args or []), store.follows_of(message.chat.id))
    if isinstance(choice, Follow):
        store.remove(message.chat.id, choice.id)
        text = f"Stopped following {_quote(choice.topic)}."
    else:
        text = choice
    await send_html(context, message.chat.id, text, reply_to=reply_target(message), topic=message)


@never_silent
async def on_stop_button(update: Update, context: Context) -> None:
    """A "Stop" button under /following: stop that topic and show the list as it is now."""
    query = update.callback_query
    assert query is not None
    follow_id = buttons.parse_unfollow(query.data)
    pressed = query.message
    chat_id = pressed.chat.id if pressed is not None else None
    if follow_id is None or chat_id is None:
        await ack(query, "This button no longer works. Send /following again.")
        return
    store = services(context).follows
    stopped = store.remove(chat_id, follow_id)
    await ack(query, f"Stopped following “{render.shorten(stopped.topic, 150)}”." if stopped
              else "That topic was already stopped.")
    if not getattr(pressed, "is_accessible", False):
        return
    markup = pressed.reply_markup
    shown = markup is not None and any(b.callback_data == query.data for row in markup.inline_keyboard for b in row)
    if stopped is None and not shown:  # the list shows it gone already: nothing to change
        return
    text, keyboard = following_page(store.follows_of(chat_id))
    try:
        await context.bot.edit_message_text(text, chat_id, pressed.message_id, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
    except TelegramError as exc:  # the list is cosmetic; the topic is stopped either way
        log.info("could not update a /following list: %s", retry.describe(exc))


def add_handlers(app: Application) -> None:
    """Before the generic button handler and the private "unknown command" reply (same group)."""
    new_message = filters.UpdateType.MESSAGE
    chats = filters.ChatType.PRIVATE | filters.ChatType.GROUPS
    for name, callback in (("follow", follow_command), ("following", following_command),
                           ("unfollow", unfollow_command)):
        app.add_handler(CommandHandler(name, callback, filters=new_message & chats))
    app.add_handler(CallbackQueryHandler(on_stop_button, pattern=buttons.UNFOLLOW_PATTERN))
