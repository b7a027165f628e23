"""The Telegram bot end to end: the real `readout telegram` CLI, the real engine and model, and a
strict local Bot API server (tests/botapi) that refuses whatever Telegram would refuse.

One bot process serves the whole module (the model loads once); every test uses fresh chat ids
and checks, on the way out, that the API refused nothing the bot sent. The last test stops the
bot with SIGTERM and checks its output.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time

import pytest


from botapi import FakeBotAPI, Sent  # noqa: E402
from conftest_telegram import (  # noqa: E402
    BOT_USERNAME, BUNDLED_CORPUS, PRIVATE_IDS, STRANGER_IDS, TOKEN, BotProcess, ChatIds, bot_env, readout_command, running_bot,
)

pytestmark = pytest.mark.e2e

pytest_plugins = ["conftest_telegram"]

GRAVE = "What was said about grave visits?"
ANSWER_TIMEOUT = 15.0


# What a Telegram user must never be shown: command-line options, readout's own commands, the
# operator's environment variables.
CLI_WORDS = re.compile(r"(?<![\w-])--[a-z][a-z-]+|\breadout (?:index|add|remove|ask|eval|list|telegram)\b"
                       r"|\b(?:READOUT|TELEGRAM)_[A-Z_]+\b")


def shown_to_users(api: FakeBotAPI) -> list[str]:
    """Every text users saw: messages and edits, button notices, inline results and buttons."""
    with api.cond:
        texts = [s.plain for s in api.sent]
        texts += [a["text"] for a in api.callback_answers if a["text"]]
        for a in api.inline_answers:
            texts += [r.get("_plain", "") + " " + str(r.get("title", "")) + " "
                      + str(r.get("description", "")) for r in a["results"]]
            if a["button"]:
                texts.append(a["button"]["text"])
    return texts


@pytest.fixture
def api(telegram_bot: BotProcess, bot_api: FakeBotAPI):
    """The server, with records cleared; after the test, nothing may have been refused, and
    nothing shown to a user may name a command-line option or variable."""
    bot_api.clear_records()
    yield bot_api
    assert bot_api.rejections == [], f"the Bot API refused: {bot_api.rejections}"
    leaks = [t for t in shown_to_users(bot_api) if CLI_WORDS.search(t)]
    assert leaks == [], f"texts for users name options or variables: {leaks}"


@pytest.fixture
def chats(chat_ids: ChatIds) -> ChatIds:
    return chat_ids


def ask(api: FakeBotAPI, chat: int, text: str, count: int = 1) -> list[Sent]:
    api.send_text(chat, text)
    return api.wait_messages(chat, count, ANSWER_TIMEOUT)


def quiet_for(api: FakeBotAPI, seconds: float) -> None:
    """Let the bot work for a moment (used before asserting that nothing was sent)."""
    api.wait_for(api.queue_drained, 10, "the bot to fetch its updates")
    time.sleep(seconds)


def assert_grave_answer(msg: Sent) -> None:
    first_line = msg.plain.splitlines()[0]
    assert first_line == "Kishida – Putin telephone talk, 7 October 2021 — point 5", msg.plain
    assert "grave visits to the four islands by airplane" in msg.plain
    assert "Speakers: Prime Minister Kishida, President Putin" in msg.plain


# --- start-up and commands ---------------------------------------------------------------------


def test_start_soon_after_startup(api: FakeBotAPI, telegram_bot: BotProcess, chats: ChatIds) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, "/start")
    assert "I know 11 readouts" in msg.plain
    assert "What was said about grave visits?" in msg.plain
    assert [c["command"] for c in api.commands] == ["start", "help", "ask", "sources", "readout", "timeline", "follow", "following", "unfollow"]
    print(f"bot ready {telegram_bot.ready_at - telegram_bot.started_at:.1f} s after spawn")


def test_grave_visits_answered_with_point_5(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, GRAVE)
    assert_grave_answer(msg)
    assert [t for t, _ in msg.buttons()] == ["More results", "Full readout"]
    assert "<blockquote>" in msg.text  # HTML parse mode, accepted by the strict server


def test_help_and_unknown_command(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, "/help")
    assert "/ask <question>" in msg.plain and f"@{BOT_USERNAME}" in msg.plain
    msgs = ask(api, chat, "/frobnicate", 2)
    assert "don't know that command" in msgs[1].plain


# --- buttons -----------------------------------------------------------------------------------


def test_more_results_button(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (answer,) = ask(api, chat, GRAVE)
    qid = api.press(chat, answer.message_id, answer.button("More results"))
    assert api.callback_answer(qid)["text"] is None
    more = api.wait_messages(chat, 2)[1]
    assert more.plain.startswith("More results (4–6 of ")
    assert len(more.plain.split("\n\n")) == 4  # the heading and three points
    assert "More results" in [t for t, _ in more.buttons()]
    # The used "More results" button is taken off the answer; "Full readout" stays.
    edit = api.wait_for(lambda: [s for s in api.sent if s.method == "editMessageReplyMarkup"], 5)[0]
    assert edit.message_id == answer.message_id
    assert [t for t, _ in edit.buttons()] == ["Full readout"]
    # Pressing it again (from the old message) still answers, and breaks nothing.
    qid = api.press(chat, answer.message_id, answer.button("More results"))
    api.callback_answer(qid)
    api.wait_messages(chat, 3)


def test_full_readout_button(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (answer,) = ask(api, chat, GRAVE)
    qid = api.press(chat, answer.message_id, answer.button("Full readout"))
    api.callback_answer(qid)
    full = api.wait_messages(chat, 2)[1]
    assert full.plain.startswith("5. Kishida – Putin telephone talk, 7 October 2021\n7 points\nSource: Japan-Russia Relations")
    assert "On October 7, commencing at 5:30 p.m." in full.plain
    for n in range(1, 8):
        assert f"\n{n}. " in full.plain
    assert "5. Prime Minister Kishida also stated" in full.plain


def test_long_readout_split_over_messages(api: FakeBotAPI, telegram_bot: BotProcess, chats: ChatIds) -> None:
    chat = chats.private()
    # The long generated readout is the oldest: number 11, newest first.
    ask(api, chat, "/readout 11", 2)
    quiet_for(api, 0.3)
    parts = api.sent_to(chat)
    assert parts[0].plain.startswith("11. Alpha – Beta telephone talk, 3 January 2019")
    assert len(parts) >= 2
    assert all(len(m.plain) <= 4096 for m in parts)
    text = "\n\n".join(m.plain for m in parts)
    for n in range(1, 13):
        assert f"{n}. " in text
    assert text.rstrip().endswith("and they agreed to review progress at their next meeting.")


def test_sources_pages_and_readout_command(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (page1,) = ask(api, chat, "/sources")
    assert page1.plain.startswith("Readouts I know: 11, newest first (page 1 of 2)")
    lines = [line for line in page1.plain.splitlines() if line[:2].strip(".").isdigit()]
    assert lines[0].startswith("1. Alpha – Beta telephone talk, 14 March 2023")
    assert [t for t, _ in page1.buttons()] == ["Older ▶"]
    qid = api.press(chat, page1.message_id, page1.button("Older ▶"))
    api.callback_answer(qid)
    edit = api.wait_for(lambda: [s for s in api.sent if s.method == "editMessageText"], 5)[0]
    assert "(page 2 of 2)" in edit.plain and "11. Alpha – Beta telephone talk, 3 January 2019" in edit.plain
    assert [t for t, _ in edit.buttons()] == ["◀ Newer"]
    qid = api.press(chat, page1.message_id, edit.button("◀ Newer"))
    api.callback_answer(qid)
    api.wait_for(lambda: len([s for s in api.sent if s.method == "editMessageText"]) == 2, 5)

    msgs = ask(api, chat, "/readout 1", 2)
    assert msgs[1].plain.startswith("1. Alpha – Beta telephone talk, 14 March 2023\n3 points\nSource: Testland-Exampleland Relations")



@pytest.mark.parametrize("args, reply", [
    ("99", "There is no readout 99: /sources lists 11."),
    ("12", "There is no readout 12: /sources lists 11."),
    ("0", "There is no readout 0: /sources numbers them from 1 to 11."),
    ("-1", "There is no readout -1: /sources numbers them from 1 to 11."),
    ("abc", "“abc” is not a readout number. Send /readout N, where N is a readout's number in "
            "/sources (from 1 to 11)."),
    ("²", "“²” is not a readout number. Send /readout N, where N is a readout's number in "
          "/sources (from 1 to 11)."),
    ("", "Which readout? Send /readout N, where N is its number in /sources (from 1 to 11)."),
])
def test_readout_numbers_that_do_not_exist_are_answered_in_plain_words(
        api: FakeBotAPI, chats: ChatIds, args: str, reply: str) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, f"/readout {args}".strip())
    assert msg.plain == reply
    group = chats.group()
    asked = api.send_group_text(group, f"/readout@{BOT_USERNAME} {args}".strip(), chats.private())
    (msg,) = api.wait_messages(group, 1, ANSWER_TIMEOUT)
    assert msg.plain == reply and msg.reply_to == asked["message"]["message_id"]


@pytest.mark.parametrize(
    "data, notice",
    [
        ("zzz", "no longer works"),
        ("m:AAAAAAAA:3", "expired"),
        ("r:0123456789", "no longer available"),
        ("s:42", "no longer exists"),
        ("m:" + "x" * 16 + ":9999", "expired"),
    ],
)
def test_stale_or_forged_buttons_get_a_notice(api: FakeBotAPI, chats: ChatIds, data: str, notice: str) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, "/start")
    qid = api.press(chat, msg.message_id, data)
    answer = api.callback_answer(qid)
    assert notice in answer["text"]
    quiet_for(api, 0.3)
    assert len(api.sent_to(chat)) == 1


# --- inline mode -------------------------------------------------------------------------------


def test_inline_query(api: FakeBotAPI, chats: ChatIds) -> None:
    user = chats.private()
    answer = api.inline_answer(api.inline(user, "grave visits"))
    results = answer["results"]
    assert 1 <= len(results) <= 5
    best = results[0]
    assert best["title"] == "Kishida – Putin telephone talk — point 5"
    content = best["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert "grave visits to the four islands" in best["_plain"]
    assert best["_plain"].startswith("Kishida – Putin telephone talk, 7 October 2021 — point 5")

    empty = api.inline_answer(api.inline(user, "   "))
    assert empty["results"] == [] and empty["button"]["start_parameter"] == "help"


# --- odd input ---------------------------------------------------------------------------------


def test_non_text_and_edits_never_break_the_bot(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    api.send_photo(chat)
    api.send_sticker(chat)
    api.send_voice(chat)
    api.send_location(chat)
    hints = api.wait_messages(chat, 4)
    assert all(h.plain.startswith("Please send your question as text") for h in hints)
    first = api.send_text(chat, "hello there")["message"]
    api.wait_messages(chat, 5)
    api.edit_text(chat, first["message_id"], "What was said about grave visits?")
    api.channel_post(-1_009_999_999_999, "What was said about grave visits?")
    api.send_text(chat, "Kishida – Putin telephone talk — point 5 …", via_bot=True)  # posted via inline
    api.send_text(chat, "   \n\t ")
    msgs = api.wait_messages(chat, 6)
    assert msgs[5].plain.startswith("Send a question as text")
    quiet_for(api, 0.5)
    assert len(api.sent_to(chat)) == 6  # nothing for the edit or the channel post
    (answer,) = ask(api, chats.private(), GRAVE)  # and it still answers
    assert_grave_answer(answer)


def test_4000_character_message(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    text = ("What was said about grave visits? " * 200)[:4000]
    (msg,) = ask(api, chat, text)
    assert_grave_answer(msg)


def test_4096_character_messages(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    text = ("What was said about grave visits? " * 130)[:4096]
    assert len(text) == 4096
    (msg,) = ask(api, chat, text)
    assert_grave_answer(msg)
    (msg,) = ask(api, chats.private(), "😀" * 2048)  # 4096 UTF-16 units, as Telegram counts
    assert msg.plain  # nothing relevant, but an answer
    group = chats.group()
    api.send_group_text(group, f"@{BOT_USERNAME} " + text[: 4096 - len(BOT_USERNAME) - 2], chats.private())
    (msg,) = api.wait_messages(group, 1, ANSWER_TIMEOUT)
    assert_grave_answer(msg)


def test_inline_query_of_300_characters(api: FakeBotAPI, chats: ChatIds) -> None:
    query = ("grave visits to the four islands " * 10)[:300]
    answer = api.inline_answer(api.inline(chats.private(), query), ANSWER_TIMEOUT)
    assert 1 <= len(answer["results"]) <= 5
    assert "point 5" in answer["results"][0]["title"]


def test_updates_the_bot_does_not_use_are_ignored_quietly(api: FakeBotAPI, chats: ChatIds) -> None:
    user, group = chats.private(), chats.group()
    api.my_chat_member(group, "supergroup", user, "left", "member")  # added to a group
    api.my_chat_member(group, "supergroup", user, "member", "administrator")
    api.my_chat_member(user, "private", user, "member", "kicked")  # the user blocked the bot
    api.my_chat_member(-1_002_000_000_002, "supergroup", chats.stranger(), "left", "member")
    asked = api.send_group_text(group, "/ask What was said about grave visits?", user)["message"]
    api.edit_text(group, asked["message_id"], "/ask and about fisheries?")  # edits: ignored
    api.channel_post(-1_009_999_999_998, f"@{BOT_USERNAME} grave visits?")
    api.send_photo(group, caption=f"@{BOT_USERNAME} grave visits?", chat_type="supergroup")
    (answer,) = api.wait_messages(group, 1, ANSWER_TIMEOUT)
    assert_grave_answer(answer)
    quiet_for(api, 0.5)
    assert api.sent_to(group) == [answer] and api.sent_to(user) == []
    (again,) = ask(api, chats.private(), GRAVE)  # and it still answers
    assert_grave_answer(again)


def test_odd_button_presses_get_a_notice(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, "/start")
    presses = [
        api.press_raw(chat, chat_id=chat, message_id=msg.message_id, game_short_name="quiz"),  # no data
        api.press_raw(chat, inline_message_id="AgAAAEx2AQA", data="r:0123456789"),  # posted inline
        api.press_raw(chat, chat_id=chat, message_id=msg.message_id, data="m:" + "é" * 20),  # 42 bytes
        api.press(chat, msg.message_id, "s:99999"),
        api.press(chat, msg.message_id, "m:AAAAAAAA:99999"),
    ]
    for qid in presses:
        assert "no longer" in api.callback_answer(qid, ANSWER_TIMEOUT)["text"]
    refused = api.press_raw(chats.stranger(), inline_message_id="AgAAAEx2AQB", data="s:1")
    assert api.callback_answer(refused, ANSWER_TIMEOUT)["text"] == "Sorry, this bot is not available in this chat."
    quiet_for(api, 0.3)
    assert api.sent_to(chat) == [msg]
    # A button on a message Telegram no longer shows the bot (date 0): its chat is still known,
    # so the page comes as a new message instead of an edit.
    qid = api.press_raw(chat, chat_id=chat, message_id=msg.message_id, data="s:1", inaccessible=True)
    assert api.callback_answer(qid, ANSWER_TIMEOUT)["text"] is None
    page = api.wait_messages(chat, 2, ANSWER_TIMEOUT)[1]
    assert "(page 2 of 2)" in page.plain and [t for t, _ in page.buttons()] == ["◀ Newer"]
    assert [s for s in api.sent if s.method == "editMessageText"] == []


def test_html_special_question(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, "<b>grave</b> visits & co")
    # Found or only "nearest" is the engine's call; either way point 5 comes first, and the
    # strict server accepted the HTML (the fixture checks there were no refusals).
    best = [p for p in msg.plain.split("\n\n") if "telephone talk, 7 October 2021 — " in p][0]
    assert "Kishida – Putin telephone talk, 7 October 2021 — point 5" in best
    (other,) = ask(api, chats.private(), "<script>alert('x')</script> & <i>\"quotes\"</i>")
    assert other.plain and "<script>" not in other.text


def test_nothing_relevant_is_said_plainly(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    (msg,) = ask(api, chat, "What is the best recipe for banana bread with walnuts?")
    assert msg.plain.startswith("I found nothing relevant to that"), msg.plain
    assert "The nearest points, probably not what you asked:" in msg.plain


# --- Telegram trouble --------------------------------------------------------------------------


def test_429_on_send_message_is_retried(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    api.fail_next("sendMessage", times=1, code=429, retry_after=1)
    t0 = time.monotonic()
    (msg,) = ask(api, chat, GRAVE)
    assert time.monotonic() - t0 >= 1.0
    assert_grave_answer(msg)
    assert api.injected == [("sendmessage", 429)]


def test_5xx_on_send_message_is_retried(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    api.fail_next("sendMessage", times=2, code=502)
    (msg,) = ask(api, chat, GRAVE)
    assert_grave_answer(msg)
    assert api.injected == [("sendmessage", 502), ("sendmessage", 502)]


def test_an_answer_whose_confirmation_was_lost_is_not_sent_twice(
        api: FakeBotAPI, telegram_bot: BotProcess, chats: ChatIds) -> None:
    chat = chats.private()
    given_up = "sendMessage: no answer from Telegram"
    before = telegram_bot.output()[1].count(given_up)
    api.drop_next("sendMessage", chat_id=chat)  # delivered, but the bot never hears so
    (msg,) = ask(api, chat, GRAVE)
    assert_grave_answer(msg)
    # The bot logs when it gives a send up as possibly delivered; it never sends that one again.
    api.wait_for(lambda: telegram_bot.output()[1].count(given_up) > before, ANSWER_TIMEOUT,
                 "the bot to give the lost send up")
    assert api.injected == [("sendmessage", "dropped")]
    with api.cond:
        assert [c.params["chat_id"] for c in api.calls if c.method == "sendmessage"] == [str(chat)]
    (again,) = ask(api, chat, GRAVE, 2)[1:]  # the chat goes on normally
    assert_grave_answer(again)


# --- groups ------------------------------------------------------------------------------------


def test_groups_answer_only_when_addressed(api: FakeBotAPI, chats: ChatIds) -> None:
    group = chats.group()
    alice, bob = chats.private(), chats.private()
    api.send_group_text(group, "What was said about grave visits? (just chatting)", alice)
    api.send_group_text(group, "/ask@some_other_bot grave visits", bob)
    asked = api.send_group_text(group, "/ask What was said about grave visits?", bob)["message"]
    (answer,) = api.wait_messages(group, 1)
    assert answer.reply_to == asked["message_id"]
    assert_grave_answer(answer)

    mention = api.send_group_text(group, f"@{BOT_USERNAME} what about grave visits?", alice)["message"]
    second = api.wait_messages(group, 2)[1]
    assert second.reply_to == mention["message_id"]
    assert_grave_answer(second)

    reply = api.send_group_text(group, "and the abductions issue?", bob, reply_to=answer.message_id)
    third = api.wait_messages(group, 3)[2]
    assert third.reply_to == reply["message"]["message_id"]
    assert "abductions issue" in third.plain.split("\n\n")[0]

    api.send_group_text(group, "nice, thanks everyone", alice)
    api.send_photo(group, chat_type="supergroup")
    quiet_for(api, 0.5)
    assert len(api.sent_to(group)) == 3


# --- load and limits ---------------------------------------------------------------------------


def test_36_chats_at_once(api: FakeBotAPI, chats: ChatIds) -> None:
    questions = [GRAVE, "grave visits to the four islands", "Did they talk about grave visits?"]
    group = [chats.private() for _ in range(36)]
    t0 = time.monotonic()
    for i, chat in enumerate(group):
        api.send_text(chat, questions[i % len(questions)])
    for chat in group:
        (msg,) = api.wait_messages(chat, 1, 30)
        assert "point 5" in msg.plain.splitlines()[0]
    elapsed = time.monotonic() - t0
    quiet_for(api, 0.3)
    assert all(len(api.sent_to(c)) == 1 for c in group)
    print(f"36 chats answered in {elapsed:.1f} s")  # how fast: benchmarks/bot_load.py


def test_rate_limit_answers_the_excess_politely(api: FakeBotAPI, chats: ChatIds) -> None:
    chat = chats.private()
    for i in range(22):
        api.send_text(chat, f"grave visits? ({i})")
    msgs = api.wait_messages(chat, 21, 30)
    quiet_for(api, 0.5)
    msgs = api.sent_to(chat)
    polite = [m for m in msgs if m.plain.startswith("You are asking faster than 20 questions a minute")]
    assert len(polite) == 1
    assert len(msgs) == 21  # 20 answers + one notice; the 22nd question gets no second notice


def test_chats_not_allowed_get_one_line(api: FakeBotAPI, chats: ChatIds) -> None:
    stranger = chats.stranger()
    (msg,) = ask(api, stranger, GRAVE)
    assert msg.plain == "Sorry, this bot is not available in this chat."
    answer = api.inline_answer(api.inline(chats.stranger(), "grave visits"))
    assert answer["results"] == []
    group = -1_002_000_000_001  # not allowed either
    user = chats.stranger()
    api.send_group_text(group, "grave visits, anyone?", user)  # chatter: no reply at all
    api.send_group_text(group, "/ask@some_other_bot grave visits", user)
    api.send_group_text(group, f"@{BOT_USERNAME} grave visits?", user)
    (refusal,) = api.wait_messages(group, 1)
    assert refusal.plain == "Sorry, this bot is not available in this chat."
    quiet_for(api, 0.3)
    assert len(api.sent_to(group)) == 1


# --- the process -------------------------------------------------------------------------------


def test_sigterm_stops_cleanly_without_leaking(tmp_path) -> None:
    """SIGTERM -> exit 0; no token, no traceback, no error in the output. A bot of its own, on
    its own Bot API server (the session's bot serves the other tests, in whatever order they run)."""
    api = FakeBotAPI(TOKEN, username=BOT_USERNAME)
    api.start()
    try:
        corpus = tmp_path / "corpus"
        shutil.copytree(BUNDLED_CORPUS, corpus)
        with running_bot(api, tmp_path, corpus) as bot:
            api.send_text(PRIVATE_IDS[0], GRAVE)
            (msg,) = api.wait_messages(PRIVATE_IDS[0], 1)
            assert_grave_answer(msg)
            api.send_text(STRANGER_IDS[0], GRAVE)
            api.wait_messages(STRANGER_IDS[0], 1)
            t0 = time.monotonic()
            bot.proc.send_signal(signal.SIGTERM)
            code = bot.proc.wait(timeout=120)  # a bound for a hung bot, not a speed check
            elapsed = time.monotonic() - t0
            out, err = bot.output()
    finally:
        api.stop()
    assert code == 0, err
    secret = TOKEN.split(":", 1)[1]
    assert secret not in out and secret not in err
    assert "Traceback" not in err and "Traceback" not in out
    assert [line for line in err.splitlines() if " ERROR " in line or " CRITICAL " in line] == []
    assert "refused chat" in err  # the allow-list tells the operator which ids it turned away
    assert "stopped" in err.splitlines()[-1]
    print(f"stopped {elapsed:.1f} s after SIGTERM")


# --- start-up errors (no model load) -----------------------------------------------------------


@pytest.mark.parametrize(
    "token, expected",
    [
        (None, "no bot token"),
        ("", "no bot token"),
        ("not-a-token", "does not look like a bot token"),
        ("12345:short", "does not look like a bot token"),
    ],
)
def test_missing_or_malformed_token_fails_fast(token: str | None, expected: str, tmp_path) -> None:
    env = bot_env(tmp_path)
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    run = subprocess.run([*readout_command(), "telegram", "-v", "--index", str(tmp_path / "i")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    lines = [line for line in run.stderr.strip().splitlines() if " INFO " not in line]
    assert len(lines) == 1 and expected in lines[0], run.stderr
    assert "loading model" not in run.stderr and "questions encoded by" not in run.stderr  # no model load
    if token:
        assert token not in run.stderr
    assert not (tmp_path / "i").exists()


def test_token_file(tmp_path) -> None:
    bad = tmp_path / "token"
    bad.write_text("123456789:tooshort\n")
    env = bot_env(tmp_path)
    run = subprocess.run([*readout_command(), "telegram", "--token-file", str(bad)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "does not look like a bot token" in run.stderr
    assert "tooshort" not in run.stderr
    run = subprocess.run([*readout_command(), "telegram", "--token-file", str(tmp_path / "missing")],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "Traceback" not in run.stderr
