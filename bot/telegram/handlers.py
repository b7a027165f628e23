"""What the bot does with each kind of update.

Private chats: any text is a question. Groups: `/ask <question>`, a message that mentions the
bot, or a reply to one of the bot's messages; other chatter is none of its business. Buttons
page through an answer's points, open a whole readout, or page `/sources`. Inline queries offer
points to post. Anything else (photos, stickers, edits, channel posts) is ignored, except that a
private non-text message gets a one-line hint.

Handlers never compute answers themselves: they go through the batcher to `engine.ask_many`.

No question goes unanswered: every handler is wrapped in `never_silent`, which tells the user
"something went wrong" when the handler fails (a bug, the engine failing, or Telegram refusing
what the bot sent) before re-raising for the error handler's log line. It does not when the
failure is Telegram being out of reach or possibly having delivered the message already (see
retry.py): a second message then would be lost too, or be a duplicate. Texts for users speak
plain words: no command-line options, no environment variable names, no engine error messages
(those name options like --index and go to the log instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.advice import BOT, explain
from embeddings.readouts.shown import without_date
from embeddings.records import Answer, Hit

from . import buttons, render, retry
from .catalog import readout_key
from .services import services
from .split import TELEGRAM_LIMIT, plain_length, split_html
from .state import AnswerState

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

MAX_QUESTION = 1000  # characters passed to the engine; the model reads far fewer anyway
TYPING_AFTER = 0.7  # seconds: show "typing…" only when an answer is not instant (and the bot
# is not busy: under load every answer waits its turn, and a sendChatAction per question would
# double the calls to Telegram and, under its flood limit, delay the answers themselves)
INLINE_RESULTS = 5


async def show_action_if_slow(context: Context, chat_id: int, work: asyncio.Future, action: str,
                              unless: Callable[[], bool] = lambda: False) -> None:
    """Show `action` ("typing…", "sending a photo…") when `work` is not done within TYPING_AFTER,
    unless `unless()` says so then; best effort: the answer matters, not the action."""
    done, _ = await asyncio.wait({work}, timeout=TYPING_AFTER)
    if not done and not unless():
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(chat_id, action)
REFUSAL = "Sorry, this bot is not available in this chat."
NON_TEXT_HINT = "Please send your question as text, e.g. " + render.EXAMPLE_QUESTION
EMPTY_HINT = "Send a question as text, e.g. " + render.EXAMPLE_QUESTION
APOLOGY = "Sorry, something went wrong while answering. Please try again later."
BUTTON_APOLOGY = "Sorry, that did not work. Please try again later."
INLINE_APOLOGY = "Sorry, no results right now. Tap for help"
CANNOT_ANSWER = "Sorry, I cannot answer questions right now. Please try again later."


# --- never silent ------------------------------------------------------------------------------


@dataclass
class _Turn:
    """What a handler has done for its update so far (for `never_silent`)."""

    query_answered: bool = False  # the callback or inline query got its one answer (or a try)


_turn: ContextVar[_Turn | None] = ContextVar("readout_turn", default=None)


def _query_answered() -> None:
    turn = _turn.get()
    if turn is not None:
        turn.query_answered = True


def apology_helps(exc: BaseException) -> bool:
    """Worth telling the user after `exc`? Yes for bugs, engine failures and refused messages; no
    when Telegram is out of reach, refuses the chat, floods, or may have delivered already."""
    return not isinstance(exc, TelegramError) or isinstance(exc, BadRequest)


Handler = Callable[[Update, "Context"], Awaitable[None]]


def never_silent(handler: Handler) -> Handler:
    """Wrap a handler so that the user hears back when it fails (see the module docstring)."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        turn = _Turn()
        token = _turn.set(turn)
        try:
            await handler(update, context)
        except ApplicationHandlerStop:
            raise
        except Exception as exc:
            if apology_helps(exc):
                await _apologise(update, context, turn)
            raise
        finally:
            _turn.reset(token)

    return guarded


async def _apologise(update: Update, context: Context, turn: _Turn) -> None:
    """Tell the user their question or press failed: as the query's answer if it has none yet,
    else as a message in the chat. Best effort: a failure here is only logged."""
    try:
        if update.inline_query is not None:
            if not turn.query_answered:
                await update.inline_query.answer(
                    [], cache_time=0, is_personal=True,
                    button=InlineQueryResultsButton(text=INLINE_APOLOGY, start_parameter="help"),
                )
            return
        if update.callback_query is not None and not turn.query_answered:
            await update.callback_query.answer(BUTTON_APOLOGY)
            return
        message = update.effective_message
        if message is not None:
            await send_html(context, message.chat.id, render.esc(APOLOGY),
                            reply_to=reply_target(message), topic=message)
    except Exception as exc:  # noqa: BLE001 - the original failure is what the log must show
        log.warning("could not tell the user that answering failed: %s", retry.describe(exc))


async def ack(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press: stops the client's spinner and shows `text` as a notice, if any.

    Best effort: a press answered late ("query is too old", e.g. after a restart) or a lost answer
    must not cost the user the message that the press asked for, which follows."""
    _query_answered()
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.info("answering a button press failed: %s", retry.describe(exc))


# --- helpers -----------------------------------------------------------------------------------


def clean_question(text: str | None) -> str:
    """Whitespace collapsed, and cut to MAX_QUESTION characters (a 4000-character paste is fine)."""
    return " ".join((text or "").split())[:MAX_QUESTION]


def is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def via_self(message: Message, bot_id: int) -> bool:
    """A point the user posted through this bot's inline mode: not a question to answer."""
    return message.via_bot is not None and message.via_bot.id == bot_id


def group_question(message: Message, bot_id: int, username: str | None) -> str | None:
    """The question in a group message addressed to the bot, or None if it is other chatter.

    Addressed means: it mentions @username (the mention is removed from the question), names the
    bot through a text mention, or replies to one of the bot's own messages.
    """
    text = message.text or ""
    mentioned = False
    handle = f"@{username}".casefold() if username else None
    for entity, value in message.parse_entities(
        [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    ).items():
        if (entity.type == MessageEntity.MENTION and handle and value.casefold() == handle) or (
            entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id
        ):
            mentioned = True
            if entity.type == MessageEntity.MENTION:
                text = text.replace(value, " ")
    replied = message.reply_to_message
    if not mentioned and not (replied and replied.from_user and replied.from_user.id == bot_id):
        return None
    return text


async def send_html(
    context: Context,
    chat_id: int,
    markup: str,
    keyboard: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    topic: Message | None = None,
) -> Message | None:
    """Send `markup` split into messages of at most 4096 characters; the keyboard goes under the
    last one and the first one replies to `reply_to` (in groups, so it is clear who is answered).
    In a forum group the messages go to the topic of `topic` (the message being answered).
    Returns the last message sent."""
    pieces = split_html(markup, TELEGRAM_LIMIT) or ["…"]
    thread = topic.message_thread_id if topic is not None and topic.is_topic_message else None
    last: Message | None = None
    in_doubt: NetworkError | None = None
    for i, piece in enumerate(pieces):
        try:
            last = await context.bot.send_message(
                chat_id,
                piece,
                message_thread_id=thread,
                reply_markup=keyboard if i == len(pieces) - 1 else None,
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to is not None and i == 0
                    else None
                ),
            )
        except NetworkError as exc:
            # A piece that may have arrived is not sent again (retry.py). The pieces after it
            # surely have not, so send them: a long readout with one piece in doubt reads better
            # than one cut off there. A second such failure means the link is bad: stop.
            if in_doubt is not None or not retry.may_have_arrived(exc):
                raise
            in_doubt = exc
    if in_doubt is not None:
        raise in_doubt
    return last


def reply_target(message: Message) -> int | None:
    """Reply to the question in groups (several people talk there); not in private chats."""
    return message.message_id if is_group(message) else None


def readout_buttons(hits: list[Hit] | tuple[Hit, ...]) -> list[tuple[str, str]]:
    """(key, name) of each distinct readout among `hits`, in order, at most three; the name is
    the readout's title in an index written before names were kept."""
    seen: dict[str, str] = {}
    for h in hits:
        key = readout_key(h.doc)
        if key not in seen:
            seen[key] = render.heading_name(h.name, h.title)
    return list(seen.items())[:3]


async def ask(context: Context, question: str) -> Answer:
    """The engine's answer, through the batcher (off the event loop, batched with others)."""
    return await services(context).batcher.ask(question)


async def answer_question(update: Update, context: Context, raw: str | None) -> None:
    """Rate-limit, ask the engine, and reply with the rendered answer and its buttons."""
    message = update.effective_message
    if message is None:
        return
    chat_id = message.chat.id
    question = clean_question(raw)
    if not question:
        await send_html(context, chat_id, render.esc(EMPTY_HINT), reply_to=reply_target(message))
        return
    svc = services(context)
    user_id = update.effective_user.id if update.effective_user else chat_id
    log.debug("question in chat %s from user %s", chat_id, user_id)
    verdict = svc.questions.check(user_id)
    if not verdict.allowed:
        if verdict.notify:
            wait = max(1, round(verdict.retry_in))
            await send_html(
                context,
                chat_id,
                f"You are asking faster than {svc.questions.limit} questions a minute. "
                f"Please wait about {wait} s and ask again.",
                reply_to=reply_target(message),
            )
        return

    task = asyncio.ensure_future(ask(context, question))
    await show_action_if_slow(context, chat_id, task, ChatAction.TYPING, unless=lambda: svc.batcher.busy)
    try:
        answer = await task
    except svc.engine_error as exc:
        # The engine's message and its advice are for the operator's log, not the chat.
        log.warning("cannot answer a question in chat %s: %s", chat_id, explain(exc, BOT))
        await send_html(context, chat_id, render.esc(CANNOT_ANSWER),
                        reply_to=reply_target(message), topic=message)
        return
    # Any other failure (a bug, a broken index) reaches never_silent, which tells the user.

    hits = list(answer.hits)
    more = render.first_more(hits)
    answer_id = None
    if more is not None:
        answer_id = svc.answers.put(AnswerState(question, answer.found, tuple(hits), chat_id))
    keyboard = buttons.answer_keyboard(answer_id, more, readout_buttons(hits[:1]))
    await send_html(
        context, chat_id, render.render_answer(answer), keyboard, reply_target(message), message
    )


# --- access control (runs before every other handler) ------------------------------------------


async def gate(update: Update, context: Context) -> None:
    """Enforce $READOUT_ALLOWED_CHATS: other chats get a one-line refusal and nothing else.

    A refused update always ends here with ApplicationHandlerStop, even when the refusal cannot
    be sent: PTB hands any other exception to the error handler and then goes on to the next
    handler group, which would answer the chat that was just refused.
    """
    svc = services(context)
    if not svc.allow.restricted:
        return
    if update.inline_query is not None:
        user = update.inline_query.from_user
        if svc.allow.allows(user.id):
            return
        log.info("refused inline query from user %s (not in READOUT_ALLOWED_CHATS)", user.id)
        await _refuse(update.inline_query.answer([], cache_time=300, is_personal=True))
        raise ApplicationHandlerStop
    chat = update.effective_chat
    query = update.callback_query
    if chat is None:
        # A press on a message posted inline has no chat: the presser is who must be allowed.
        if query is None or svc.allow.allows(query.from_user.id):
            return
        log.info("refused a button press from user %s (not in READOUT_ALLOWED_CHATS)",
                 query.from_user.id)
        await _refuse(query.answer(REFUSAL))
        raise ApplicationHandlerStop
    if svc.allow.allows(chat.id):
        return
    if query is not None:
        log.info("refused chat %s (not in READOUT_ALLOWED_CHATS)", chat.id)
        await _refuse(query.answer(REFUSAL))
        raise ApplicationHandlerStop
    message = update.message
    if (
        message is not None
        and addressed_to_bot(message, context.bot.id, context.bot.username)
        and svc.refusals.check(chat.id).allowed  # a flood of refusals would itself be a flood
    ):
        log.info("refused chat %s (not in READOUT_ALLOWED_CHATS)", chat.id)
        await _refuse(send_html(context, chat.id, REFUSAL, reply_to=reply_target(message)))
    raise ApplicationHandlerStop


async def _refuse(call: Awaitable[object]) -> None:
    """Send a refusal; if that fails, log it (the update is refused all the same)."""
    try:
        await call
    except Exception as exc:  # noqa: BLE001 - nothing may stop the gate from closing
        log.warning("could not send a refusal: %s", retry.describe(exc))


def addressed_to_bot(message: Message, bot_id: int, username: str | None) -> bool:
    """Would the bot react to this message if the chat were allowed?"""
    if message.chat.type == ChatType.PRIVATE:
        return True
    text = message.text or ""
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        return "@" not in command or bool(
            username and command.split("@", 1)[1].casefold() == username.casefold()
        )
    return bool(text) and group_question(message, bot_id, username) is not None


# --- commands ----------------------------------------------------------------------------------


@never_silent
async def start(update: Update, context: Context) -> None:
    svc = services(context)
    message = update.effective_message
    assert message is not None
    text = render.render_start(len(svc.catalog), svc.catalog.date_span(), context.bot.username)
    await send_html(context, message.chat.id, text, reply_to=reply_target(message))


@never_silent
async def help_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    text = render.render_help(context.bot.username)
    await send_html(context, message.chat.id, text, reply_to=reply_target(message))


@never_silent
async def ask_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    question = " ".join(context.args or [])
    if not question.strip():
        await send_html(
            context,
            message.chat.id,
            f"Usage: /ask &lt;question&gt;, e.g. /ask {render.esc(render.EXAMPLE_QUESTION)}",
            reply_to=reply_target(message),
        )
        return
    await answer_question(update, context, question)


@never_silent
async def reload_command(update: Update, context: Context) -> None:
    """/reload (admins only): pick up a newer index now and say what changed."""
    svc = services(context)
    message = update.effective_message
    assert message is not None
    if message.chat.id not in svc.admins:
        text = "/reload is only for the bot's admins."
    else:
        try:
            change = await svc.reloader.reload()
        except svc.engine_error as exc:
            # The engine's message and its advice are for the operator's log, not the chat.
            log.warning("/reload failed, still serving the previous index: %s", explain(exc, BOT))
            text = "Reload failed; I am still serving the previous index. The bot's log says why."
        else:
            n = len(svc.catalog)
            text = (f"Reloaded: {render.esc(change.describe())}." if change is not None
                    else f"The index is current: {n} readout{'' if n == 1 else 's'}.")
    await send_html(context, message.chat.id, text, reply_to=reply_target(message))


SOURCES_PER_PAGE = 10


def sources_page(context: Context, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    catalog = services(context).catalog
    pages = catalog.pages(SOURCES_PER_PAGE)
    entries = catalog.page(page, SOURCES_PER_PAGE)
    names = [catalog.name_of(r.doc) or r.title for _, r in entries]
    text = render.render_sources(entries, len(catalog), page, pages, names)
    return text, buttons.sources_keyboard(page, pages)


@never_silent
async def sources_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    text, keyboard = sources_page(context, 0)
    await send_html(context, message.chat.id, text, keyboard, reply_to=reply_target(message))


_NUMBER_RE = re.compile(r"[+-]?[0-9]+")


def readout_reply(args: list[str], count: int) -> int | str:
    """The readout number `/readout <args>` asks for, or the plain-words reply when there is none
    (HTML). `count` is how many readouts /sources lists."""
    if count == 0:
        return "I know no readouts yet."
    span = f"from 1 to {count}" if count > 1 else "1"
    if not args:
        return f"Which readout? Send /readout N, where N is its number in /sources ({span})."
    given = " ".join(args)
    shown = render.esc(render.shorten(given, 24))
    if len(args) > 1 or not _NUMBER_RE.fullmatch(given) or len(given) > 30:
        return (f"“{shown}” is not a readout number. Send /readout N, where N is a readout's "
                f"number in /sources ({span}).")
    number = int(given)
    if number > count:
        return f"There is no readout {number}: /sources lists {count}."
    if number < 1:
        return f"There is no readout {number}: /sources numbers them {span}."
    return number


@never_silent
async def readout_command(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    catalog = services(context).catalog
    wanted = readout_reply(list(context.args or []), len(catalog))
    readout = catalog.by_number(wanted) if isinstance(wanted, int) else None
    if readout is None:
        text = wanted if isinstance(wanted, str) else "That readout is no longer available."
    else:
        text = render.render_readout(readout, catalog.number_of(readout.doc), catalog.name_of(readout.doc))
    await send_html(context, message.chat.id, text, reply_to=reply_target(message))


@never_silent
async def unknown_command(update: Update, context: Context) -> None:
    """Private chats only: a command this bot does not have."""
    message = update.effective_message
    assert message is not None
    await send_html(
        context,
        message.chat.id,
        "I don't know that command. Send a question as text, or see /help.",
    )


# --- messages ----------------------------------------------------------------------------------


@never_silent
async def private_text(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    if via_self(message, context.bot.id):
        return
    await answer_question(update, context, message.text)


@never_silent
async def group_text(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    if via_self(message, context.bot.id):
        return
    question = group_question(message, context.bot.id, context.bot.username)
    if question is None:
        return  # chatter not addressed to the bot
    await answer_question(update, context, question)


@never_silent
async def private_non_text(update: Update, context: Context) -> None:
    message = update.effective_message
    assert message is not None
    await send_html(context, message.chat.id, render.esc(NON_TEXT_HINT))


# --- buttons -----------------------------------------------------------------------------------


def without_button(markup: InlineKeyboardMarkup | None, data: str) -> InlineKeyboardMarkup | None:
    """`markup` minus the button carrying `data` (rows left empty are dropped)."""
    if markup is None:
        return None
    rows = [[b for b in row if b.callback_data != data] for row in markup.inline_keyboard]
    rows = [r for r in rows if r]
    return InlineKeyboardMarkup(rows) if rows else None


@never_silent
async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    action = buttons.parse(query.data)
    # The message with the button: None for one posted inline; an InaccessibleMessage, or (PTB
    # 22 parses it so) a Message dated 0, when Telegram no longer shows it to the bot. Its chat
    # is still known, so the press is served; only editing the message itself is not possible.
    pressed = query.message
    chat_id = pressed.chat.id if pressed is not None else None
    message = pressed if isinstance(pressed, Message) and pressed.is_accessible else None
    if action is None or chat_id is None:
        await ack(query, "This button no longer works. Please ask again.")
        return
    svc = services(context)

    if isinstance(action, buttons.More):
        state = svc.answers.get(action.answer_id)
        if state is None or state.chat_id != chat_id:
            await ack(query, "This answer has expired. Please ask again.")
            return
        if action.start >= len(state.hits):
            await ack(query, "There are no more results.")
            return
        await ack(query)
        nxt = action.start + render.MORE_PAGE
        page = state.hits[action.start : nxt]
        keyboard = buttons.answer_keyboard(
            action.answer_id, nxt if nxt < len(state.hits) else None, readout_buttons(page)
        )
        text = render.render_more(state.question, state.hits, action.start, state.found)
        await send_html(context, chat_id, text, keyboard, topic=message)
        # The pressed "More results" has done its job; drop it so the chat reads top to bottom.
        remaining = without_button(message.reply_markup, query.data or "") if message else None
        if message is not None and remaining != message.reply_markup:
            try:
                await context.bot.edit_message_reply_markup(
                    chat_id, message.message_id, reply_markup=remaining
                )
            except TelegramError as exc:  # e.g. already removed by a double press: cosmetic
                log.info("could not drop a used button: %s", retry.describe(exc))
        return

    if isinstance(action, buttons.FullReadout):
        readout = svc.catalog.by_key(action.key)
        if readout is None:
            await ack(query, "That readout is no longer available. See /sources.")
            return
        await ack(query)
        text = render.render_readout(readout, svc.catalog.number_of(readout.doc), svc.catalog.name_of(readout.doc))
        await send_html(context, chat_id, text, topic=message)
        return

    if isinstance(action, buttons.SourcesPage):
        pages = svc.catalog.pages(SOURCES_PER_PAGE)
        if action.page >= pages:
            await ack(query, "That page no longer exists. Send /sources again.")
            return
        await ack(query)
        text, keyboard = sources_page(context, action.page)
        if message is None:  # nothing to edit: the page comes as a new message
            await send_html(context, chat_id, text, keyboard)
            return
        try:
            await context.bot.edit_message_text(
                text, chat_id, message.message_id, reply_markup=keyboard
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
        return


# --- inline mode -------------------------------------------------------------------------------


def inline_message(hit: Hit, found: bool) -> str:
    """The posted message for an inline result, kept within one message."""
    text = render.render_inline(hit, found)
    if plain_length(text) <= TELEGRAM_LIMIT:
        return text
    return split_html(text, TELEGRAM_LIMIT)[0]


@never_silent
async def on_inline(update: Update, context: Context) -> None:
    query = update.inline_query
    assert query is not None
    question = clean_question(query.query)
    if not question:
        _query_answered()
        await query.answer(
            [],
            cache_time=300,
            button=InlineQueryResultsButton(
                text="Type a question about the readouts", start_parameter="help"
            ),
        )
        return
    svc = services(context)
    if not svc.inline.check(query.from_user.id).allowed:
        _query_answered()
        await query.answer([], cache_time=0, is_personal=True)
        return
    try:
        answer = await ask(context, question)
    except svc.engine_error as exc:
        log.warning("cannot answer an inline query: %s", explain(exc, BOT))
        _query_answered()
        await query.answer(
            [], cache_time=0, is_personal=True,
            button=InlineQueryResultsButton(text=INLINE_APOLOGY, start_parameter="help"),
        )
        return
    results = []
    for i, hit in enumerate(answer.hits[:INLINE_RESULTS]):
        # the description starts with the date: the title need not repeat it
        name = without_date(render.heading_name(hit.name, hit.title), hit.date)
        title = f"{name} — {hit.label}" if answer.found else f"Nearest: {name} — {hit.label}"
        date = render.human_date(hit.date)
        results.append(
            InlineQueryResultArticle(
                id=str(i),
                title=render.shorten(title, 64),
                description=render.shorten((f"{date}: " if date else "") + hit.text, 120),
                input_message_content=InputTextMessageContent(inline_message(hit, answer.found)),
            )
        )
    _query_answered()
    await query.answer(results, cache_time=60)


# --- errors ------------------------------------------------------------------------------------


def is_bug(err: BaseException | None) -> bool:
    """A failure the operator must look at (ERROR), rather than Telegram's passing trouble or a
    user who blocked the bot (WARNING): anything not from Telegram, Telegram refusing what the bot
    sent (BadRequest), a refused token, or a second instance polling (Conflict). A query answered
    too late, or answered twice after a lost confirmation (see retry.py), is no bug."""
    if isinstance(err, BadRequest):
        return "query is too old" not in str(err) and "query id is invalid" not in str(err).lower()
    return not isinstance(err, TelegramError) or isinstance(err, (InvalidToken, Conflict))


async def on_error(update: object, context: Context) -> None:
    """One log line per failure; the bot goes on serving (the user was told, see never_silent)."""
    err = context.error
    if isinstance(update, Update):
        where = f"update {update.update_id}"
    else:
        where = "polling" if update is None else type(update).__name__
    level = logging.ERROR if is_bug(err) else logging.WARNING
    log.log(level, "%s failed: %s", where, retry.describe(err) if err else "unknown error")
