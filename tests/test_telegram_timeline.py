"""/timeline in the Telegram bot, end to end: the real `readout telegram` against the strict local
Bot API stand-in (tests/botapi), which checks that the photo is a PNG upload and that the caption
and the list are valid Telegram HTML within their limits.

The bot's corpus (conftest_telegram.py) is the bundled Kishida-Putin readout and ten invented
ones that say nothing about grave visits, so /timeline grave visits has one entry: point 5.
"""

from __future__ import annotations

import pytest


from botapi import FakeBotAPI, Sent  # noqa: E402
from botapi.uploads import png_size  # noqa: E402
from conftest_telegram import BotProcess, ChatIds  # noqa: E402

pytestmark = pytest.mark.e2e

pytest_plugins = ["conftest_telegram"]


@pytest.fixture
def api(telegram_bot: BotProcess, bot_api: FakeBotAPI):
    """The stand-in with its records cleared; afterwards, it must have refused nothing."""
    bot_api.clear_records()
    yield bot_api
    assert bot_api.rejections == [], f"the Bot API refused: {bot_api.rejections}"


def photos(api: FakeBotAPI, chat: int) -> list[Sent]:
    return [s for s in api.sent if s.chat_id == chat and s.method == "sendPhoto"]


def test_timeline_sends_a_png_chart_then_the_list(api: FakeBotAPI, chat_ids: ChatIds) -> None:
    chat = chat_ids.private()
    api.send_text(chat, "/timeline grave visits")
    (photo,) = api.wait_for(lambda: photos(api, chat), what="the timeline's photo")
    (listed,) = api.wait_messages(chat, 1)
    w, h = png_size(photo.photo or b"")
    assert w <= 1600 and h <= 1000
    assert photo.plain.startswith("grave visits over time: 1 readout, October 7, 2021.")
    assert len(photo.plain) <= 1024 and "<b>grave visits</b>" in photo.text
    assert photo.at <= listed.at  # the chart first, then the list
    assert "1. October 7, 2021 — Kishida – Putin telephone talk, point 5" in listed.plain
    assert "Prime Minister Kishida, President Putin" in listed.plain
    assert "grave visits to the four islands by airplane" in listed.plain
    [(label, data)] = listed.buttons()
    assert label == "1. Full readout, 2021-10-07" and data.startswith("r:")
    # the button is an answer's Full readout button: it opens the whole readout
    qid = api.press(chat, listed.message_id, data)
    api.callback_answer(qid)
    full = api.wait_messages(chat, 2)[1]
    assert full.plain.splitlines()[:3] == ["5. Kishida – Putin telephone talk, 7 October 2021", "7 points", "Source: Japan-Russia Relations"]


def test_timeline_on_a_topic_nothing_covers_says_so_without_a_photo(api: FakeBotAPI, chat_ids: ChatIds) -> None:
    chat = chat_ids.private()
    api.send_text(chat, "/timeline chess tournament results")
    (msg,) = api.wait_messages(chat, 1)
    assert msg.plain.startswith("None of the 11 readouts I know says anything about chess tournament results")
    api.send_text(chat, "/help")  # a later answer: by then a photo would have come
    api.wait_messages(chat, 2)
    assert photos(api, chat) == []


def test_timeline_without_a_topic_says_how_to_use_it(api: FakeBotAPI, chat_ids: ChatIds) -> None:
    chat = chat_ids.private()
    api.send_text(chat, "/timeline")
    (msg,) = api.wait_messages(chat, 1)
    assert msg.plain.startswith("Send /timeline and a topic, e.g. /timeline grave visits")


def test_timeline_in_a_group_replies_to_the_command(api: FakeBotAPI, chat_ids: ChatIds) -> None:
    group, user = chat_ids.group(), chat_ids.private()
    asked = api.send_group_text(group, "/timeline grave visits", user_id=user)
    (photo,) = api.wait_for(lambda: photos(api, group), what="the timeline's photo in the group")
    assert photo.reply_to == asked["message"]["message_id"]
    api.wait_messages(group, 1)


def test_timeline_is_in_the_command_menu_and_help(api: FakeBotAPI, chat_ids: ChatIds) -> None:
    assert "timeline" in [c["command"] for c in api.commands]
    chat = chat_ids.private()
    api.send_text(chat, "/help")
    (msg,) = api.wait_messages(chat, 1)
    assert "/timeline <topic>" in msg.plain
