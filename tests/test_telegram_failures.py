"""When something fails, the user still hears back, once: the real Application and handlers
(`build_application`) against the strict local Bot API server, in this process, with a small
stand-in engine that fails on demand (no model to load, so these run in seconds).

Each test feeds updates straight to `Application.process_update`, which runs the handlers and the
error handler to the end before returning, so nothing here waits on time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterator

import pytest


from telegram import Update  # noqa: E402

from bot.telegram import config, handlers  # noqa: E402
from bot.telegram.app import build_application  # noqa: E402
from bot.telegram.services import services  # noqa: E402
from botapi import FakeBotAPI, Sent  # noqa: E402
from embeddings.engine import EngineError  # noqa: E402
from embeddings.records import Answer, Hit, Point, Readout  # noqa: E402
from embeddings.search.timeline import Timeline  # noqa: E402

pytestmark = pytest.mark.e2e

TOKEN = "7012345678:AAF-test_token_for_the_local_bot_api_Xy9"
ADMIN = 6_000_001
FLAG_HINT = "no model folder at /srv/m (give --model a model name, or run readout index --corpus C)"


def readout(i: int, points: int = 3) -> Readout:
    return Readout(
        doc=f"r{i}.txt", title=f"Testland-Example{i} Relations", date=dt.date(2020, 1, 1 + i),
        source=None, participants=[], preamble="The leaders talked.",
        points=[Point(n, n, f"Point {n} of readout {i}: " + "cooperation and trade. " * 30)
                for n in range(1, points + 1)])


class FakeEngine:
    """What `build_application` needs of an Engine; a question in `fail` raises its exception."""

    def __init__(self) -> None:
        self.readouts = [readout(0, points=40), readout(1), readout(2)]  # r0: several messages
        self.table = None
        self.fail: dict[str, BaseException] = {}
        self.refresh_error: BaseException | None = None
        self.asked: list[str] = []

    def ask_many(self, questions: list[str], k: int) -> list[Answer]:
        self.asked.extend(questions)
        for q in questions:
            if q in self.fail:
                raise self.fail[q]
        return [Answer(q, True, [self.hit(n) for n in range(1, 6)]) for q in questions]

    def hit(self, n: int) -> Hit:
        r = self.readouts[1]
        return Hit(doc=r.doc, title=r.title, date=r.iso_date, point=n, position=n,
                   text=f"Point {n}: cooperation and trade.", score=0.8, speakers=[])

    def refresh(self, rebuild: bool = True, on_build: object = None) -> None:
        if self.refresh_error is not None:
            raise self.refresh_error
        return None

    def timeline(self, topic: str, span: object = None) -> Timeline:
        """No readout has a point on any topic (the /timeline tests run the real engine)."""
        return Timeline(topic=topic, entries=[], readouts=len(self.readouts))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI(TOKEN)
    api.start()
    yield api
    api.stop()


@pytest.fixture
def api(server: FakeBotAPI) -> Iterator[FakeBotAPI]:
    server.reset()
    yield server
    assert server.rejections == [], f"the Bot API refused: {server.rejections}"
    for s in server.sent:  # what users saw names no option, command line or variable
        assert "--" not in s.plain and "readout index" not in s.plain, s.plain


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


def run(api: FakeBotAPI, engine: FakeEngine, updates: Callable[[], list[dict]], **settings) -> None:
    """Build the bot's Application for `engine` and process the updates `updates()` makes."""
    settings = config.Settings(token=TOKEN, api_url=api.base_url, rate_limit=0, max_rate=0,
                               reload_interval=0, admin_chats=frozenset({ADMIN}), **settings)
    app = build_application(engine, settings, EngineError)

    async def main() -> None:
        async with app:  # initialize (getMe) and shutdown; no polling: updates are fed directly
            services(app).batcher.start()
            try:
                for payload in updates():
                    await app.process_update(Update.de_json(payload, app.bot))
            finally:
                await services(app).batcher.stop()

    asyncio.run(main())


def queued(api: FakeBotAPI, push: Callable[[], object]) -> dict:
    """The update that `push()` (one of the server's update makers) queued."""
    push()
    with api.cond:
        return api.updates[-1]


def messages(api: FakeBotAPI, chat: int) -> list[Sent]:
    return api.sent_to(chat)


def send_calls(api: FakeBotAPI, chat: int) -> int:
    with api.cond:
        return sum(1 for c in api.calls if c.method == "sendmessage" and int(c.params["chat_id"]) == chat)


# --- the engine fails --------------------------------------------------------------------------


def test_a_bug_while_answering_gets_an_apology(api: FakeBotAPI, engine: FakeEngine, caplog) -> None:
    engine.fail["boom"] = RuntimeError("index file truncated")
    group, user = -1_006_000_000_001, 6_000_101
    with caplog.at_level(logging.WARNING):
        run(api, engine, lambda: [api.send_text(6_000_100, "boom"),
                                  api.send_group_text(group, "/ask boom", user)])
    (msg,) = messages(api, 6_000_100)
    assert msg.plain == handlers.APOLOGY
    (reply,) = messages(api, group)
    assert reply.plain == handlers.APOLOGY and reply.reply_to is not None  # to the question
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "RuntimeError: index file truncated" in errors[0].getMessage()


def test_engine_errors_are_told_in_plain_words(api: FakeBotAPI, engine: FakeEngine, caplog) -> None:
    engine.fail["why"] = EngineError(FLAG_HINT)
    with caplog.at_level(logging.WARNING):
        run(api, engine, lambda: [api.send_text(6_000_200, "why"), api.send_text(6_000_200, "fine")])
    first, second = messages(api, 6_000_200)
    assert first.plain == handlers.CANNOT_ANSWER
    assert second.plain.startswith("Testland-Example1 Relations")  # the next question is answered
    assert FLAG_HINT in caplog.text  # the operator gets the engine's words


def test_inline_query_failures_still_answer_the_query(api: FakeBotAPI, engine: FakeEngine, caplog) -> None:
    engine.fail["boom"] = RuntimeError("bug")
    engine.fail["why"] = EngineError(FLAG_HINT)
    ids: list[str] = []
    queries = ["boom", "why", "grave visits " * 25]  # the last: 325 characters
    run(api, engine, lambda: [queued(api, lambda q=q: ids.append(api.inline(6_000_300, q)))
                              for q in queries])
    for qid in ids[:2]:
        answer = api.inline_answer(qid, 1)
        assert answer["results"] == [] and answer["button"]["text"] == handlers.INLINE_APOLOGY
    assert len(api.inline_answer(ids[2], 1)["results"]) == 5


def test_reload_failure_is_told_without_the_engines_words(api: FakeBotAPI, engine: FakeEngine) -> None:
    engine.refresh_error = EngineError(FLAG_HINT)
    run(api, engine, lambda: [api.send_text(ADMIN, "/reload")])
    (msg,) = messages(api, ADMIN)
    assert msg.plain == "Reload failed; I am still serving the previous index. The bot's log says why."


# --- Telegram refuses or loses a message -------------------------------------------------------


def test_a_refused_answer_is_followed_by_an_apology(api: FakeBotAPI, engine: FakeEngine, caplog) -> None:
    api.fail_next("sendMessage", code=400)  # e.g. markup Telegram would not parse: a bug of ours
    with caplog.at_level(logging.WARNING):
        run(api, engine, lambda: [api.send_text(6_000_400, "grave visits?")])
    (msg,) = messages(api, 6_000_400)
    assert msg.plain == handlers.APOLOGY
    assert any(r.levelno == logging.ERROR and "BadRequest" in r.getMessage() for r in caplog.records)


def test_an_answer_that_may_have_arrived_is_not_sent_again(api: FakeBotAPI, engine: FakeEngine, caplog) -> None:
    api.drop_next("sendMessage")  # carried out, but the answer to the bot is lost
    with caplog.at_level(logging.WARNING):
        run(api, engine, lambda: [api.send_text(6_000_500, "grave visits?")])
    (msg,) = messages(api, 6_000_500)
    assert msg.plain.startswith("Testland-Example1 Relations")  # the answer, once; no apology
    assert send_calls(api, 6_000_500) == 1
    assert api.injected == [("sendmessage", "dropped")]
    assert "it may have been delivered, so it is not sent again" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # Telegram's trouble


def test_a_long_readout_goes_on_after_a_piece_in_doubt(api: FakeBotAPI, engine: FakeEngine) -> None:
    run(api, engine, lambda: [api.send_text(6_000_600, "/readout 3")])  # r0 is the oldest
    whole = [m.plain for m in messages(api, 6_000_600)]
    assert len(whole) >= 3
    api.clear_records()
    api.drop_next("sendMessage")  # the first piece is lost on the way back
    run(api, engine, lambda: [api.send_text(6_000_601, "/readout 3")])
    assert [m.plain for m in messages(api, 6_000_601)] == whole  # each piece once, none missing
    assert send_calls(api, 6_000_601) == len(whole)


def test_a_failed_button_answer_does_not_cost_the_content(api: FakeBotAPI, engine: FakeEngine) -> None:
    chat = 6_000_700
    run(api, engine, lambda: [api.send_text(chat, "grave visits?")])
    (answer,) = messages(api, chat)
    api.fail_next("answerCallbackQuery", code=400)  # "query is too old", e.g. after a restart
    press = answer.button("Full readout")
    run(api, engine, lambda: [queued(api, lambda: api.press(chat, answer.message_id, press))])
    full = messages(api, chat)[1]
    assert full.plain.startswith("2. Testland-Example1 Relations")


def test_a_bug_on_a_button_press_is_answered(api: FakeBotAPI, engine: FakeEngine, monkeypatch) -> None:
    chat = 6_000_800
    run(api, engine, lambda: [api.send_text(chat, "/start")])
    (msg,) = messages(api, chat)

    def broken(data: str | None) -> None:
        raise ValueError("parser bug")

    monkeypatch.setattr(handlers.buttons, "parse", broken)
    qids: list[str] = []
    run(api, engine, lambda: [queued(api, lambda: qids.append(api.press(chat, msg.message_id, "s:1")))])
    assert api.callback_answer(qids[0], 1)["text"] == handlers.BUTTON_APOLOGY
    assert len(messages(api, chat)) == 1


# --- the allow-list holds even when the refusal fails ------------------------------------------


def test_a_refused_chat_stays_refused_when_the_refusal_fails(api: FakeBotAPI, engine: FakeEngine) -> None:
    stranger = 6_100_001
    api.fail_next("sendMessage", code=403)  # the refusal cannot be sent
    api.fail_next("answerInlineQuery", code=403)
    qids: list[str] = []

    run(api, engine, lambda: [api.send_text(stranger, "grave visits?"),
                              queued(api, lambda: qids.append(api.inline(stranger, "grave visits")))],
        allowed_chats=frozenset({ADMIN}))
    assert engine.asked == []  # neither question reached the engine
    assert messages(api, stranger) == [] and api.inline_answers == []
    assert api.injected == [("sendmessage", 403), ("answerinlinequery", 403)]
