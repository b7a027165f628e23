"""The pieces of following the news, in-process and without the model: settings, the state file,
what an alert looks like, which chats get which alert, and the Bot API stand-in's 403."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest

from bot.telegram import config
from bot.telegram.alerts import Alert, plan, render_alert
from bot.telegram.follow_handlers import follow_reply, following_page, unfollow_choice
from bot.telegram.follows import MAX_TOPICS, Follow, FollowStore
from bot.telegram.split import TELEGRAM_LIMIT, plain_length, split_html
from conftest_telegram import TOKEN, bot_env, readout_command
from embeddings.records import Hit
from embeddings.search.topics import Arrival, TopicMatch, point_key


def hit(doc: str = "talk.txt", text: str = "Grave visits <by boat> & air would resume.", number: int = 3) -> Hit:
    return Hit(doc=doc, title="A-B <Talk>", date="2025-09-12", point=number, position=number, text=text,
               score=0.6, speakers=["Prime Minister Aldo"], source="https://example.org/talk")


@pytest.mark.fast
def test_settings_parse_and_refuse_in_one_line(tmp_path) -> None:
    assert config.parse_feeds_interval(None) == 3600 and config.parse_feeds_interval("0") == 0
    assert config.parse_feeds_interval(" 5 ") == 5
    defaults = {s.name: s.default for s in config.ENV}
    assert defaults[config.FEEDS_INTERVAL_ENV] == f"{config.parse_feeds_interval(None):g}"
    for bad in ("ten", "-1", "nan", "inf"):
        with pytest.raises(config.ConfigError) as e:
            config.parse_feeds_interval(bad)
        assert "READOUT_FEEDS_INTERVAL" in str(e.value) and "\n" not in str(e.value)
    assert config.read_state_dir(str(tmp_path / "new" / "state")) == tmp_path / "new" / "state"
    assert (tmp_path / "new" / "state").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(config.ConfigError, match="cannot create .*READOUT_STATE_DIR"):
        config.read_state_dir(str(tmp_path / "file" / "state"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / config.STATE_FILE).write_text("this is not a database" * 100)
    with pytest.raises(config.ConfigError, match="not a readable SQLite database"):
        config.read_state_dir(str(tmp_path / "junk"))


@pytest.mark.e2e
@pytest.mark.parametrize("name,value,needle", [
    ("READOUT_FEEDS_INTERVAL", "hourly", "$READOUT_FEEDS_INTERVAL: 'hourly' is not a number of seconds"),
    ("READOUT_STATE_DIR", "/proc/readout-state", "cannot create $READOUT_STATE_DIR /proc/readout-state"),
])
def test_a_bad_setting_stops_the_bot_at_start_with_one_line(tmp_path, name, value, needle) -> None:
    env = {**bot_env(tmp_path), "TELEGRAM_BOT_TOKEN": TOKEN, name: value}
    r = subprocess.run([*readout_command(), "telegram"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [r.stderr.strip()] and needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.fast
def test_follows_survive_a_reopen_and_keep_to_the_limits(tmp_path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = FollowStore(path)
    first = store.add(1, "  Grave   visits ")
    assert first == Follow(first.id, 1, "Grave visits")
    assert store.add(1, "grave VISITS") == "already" and store.add(1, "x" * 201) == "too long"
    assert store.add(1, "  ") == "empty" and isinstance(store.add(2, "grave visits"), Follow)
    for n in range(MAX_TOPICS - 1):
        assert isinstance(store.add(1, f"topic {n}"), Follow)
    assert store.add(1, "one too many") == "too many"
    store.remember([("a.txt", "h1", ["p1", "p2"])], baseline=True)
    store.record_sent(1, "a.txt", "p1")
    store.close()

    again = FollowStore(path)
    assert [f.topic for f in again.follows_of(1)][:2] == ["Grave visits", "topic 0"]
    assert again.has_baseline and again.readout_hashes() == {"a.txt": "h1"}
    assert again.was_sent(1, "a.txt", "p1") and not again.was_sent(2, "a.txt", "p1")
    assert again.points_of(["a.txt", "b.txt"]) == {"a.txt": {"p1", "p2"}}
    assert again.remove(2, first.id) is None  # another chat's follow
    assert again.remove(1, first.id) == first
    again.move_chat(2, 3)
    assert [f.chat_id for f in again.all_follows() if f.topic == "grave visits"] == [3]
    assert again.drop_chat(1) == MAX_TOPICS - 1 and again.follows_of(1) == []
    # a reader in another process sees what was committed
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        assert db.execute("SELECT COUNT(*) FROM follows").fetchone()[0] == 1


@pytest.mark.fast
def test_each_chat_gets_a_point_once_naming_every_topic_of_its_own_it_answers() -> None:
    grave, boat = Follow(1, 10, "grave visits"), Follow(2, 10, "boats")
    other = Follow(3, 20, "grave visits")
    arrivals = [Arrival("new.txt", "h", ("k3",)), Arrival("edited.txt", "h2", ("old", "new"))]
    h = hit("new.txt")
    matches = [TopicMatch(0, h, "k3"), TopicMatch(1, h, "k3"),
               TopicMatch(0, hit("edited.txt", "old text"), "old"), TopicMatch(0, hit("edited.txt", "new text"), "new")]
    alerts = plan(arrivals, matches, [[grave, other], [boat]], {"edited.txt": {"old"}})
    got = sorted((a.chat_id, a.doc, a.point_key, tuple(a.topics)) for a in alerts)
    assert got == [(10, "edited.txt", "new", ("grave visits",)), (10, "new.txt", "k3", ("grave visits", "boats")),
                   (20, "edited.txt", "new", ("grave visits",)), (20, "new.txt", "k3", ("grave visits",))]


@pytest.mark.fast
def test_an_alert_names_the_topic_readout_date_and_point_escapes_text_and_splits_under_4096() -> None:
    text = render_alert(Alert(1, "talk.txt", "k", hit(), ["grave <visits>"]))
    assert text.startswith("🔔 <b>New readout</b> on a topic you follow: “grave &lt;visits&gt;”")
    assert "<b>A-B &lt;Talk&gt;</b> — September 12, 2025, point 3" in text
    assert "Grave visits &lt;by boat&gt; &amp; air would resume." in text
    long = render_alert(Alert(1, "talk.txt", "k", hit(text="A sentence on grave visits. " * 400), ["a", "b"]))
    assert long.startswith("🔔 <b>New readout</b> on topics you follow: “a”, “b”")
    pieces = split_html(long, TELEGRAM_LIMIT)
    assert len(pieces) >= 3 and all(plain_length(p) <= TELEGRAM_LIMIT for p in pieces)
    assert point_key("Grave  visits\n") == point_key("grave visits")


@pytest.mark.fast
def test_replies_in_plain_words() -> None:
    follows = [Follow(7, 1, "grave visits"), Follow(9, 1, "a <b> topic")]
    text, keyboard = following_page(follows)
    assert "1. grave visits\n2. a &lt;b&gt; topic" in text
    assert [row[0].callback_data for row in keyboard.inline_keyboard] == ["u:7", "u:9"]
    assert following_page([])[1] is None and "/follow &lt;topic&gt;" in following_page([])[0]
    assert unfollow_choice(["2"], follows) == follows[1]
    assert unfollow_choice([], follows).startswith("Send /unfollow N")
    assert unfollow_choice(["3"], follows) == "There is no topic 3: /following numbers them 1 to 2."
    assert unfollow_choice(["1"], []) == "This chat follows no topics."
    assert follow_reply("too many", "x", 20).startswith(f"This chat already follows {MAX_TOPICS} topics")
    for reply in (follow_reply(Follow(1, 1, "x"), "x", 1), follow_reply("empty", "", 0),
                  follow_reply("too long", "y" * 300, 0)):
        assert "--" not in reply and "READOUT_" not in reply  # no CLI flags, no settings


@pytest.mark.fast
def test_the_stand_in_answers_403_for_a_blocked_chat() -> None:
    import json
    import urllib.error
    import urllib.request

    from botapi import FakeBotAPI

    api = FakeBotAPI(TOKEN)
    api.start()
    try:
        api.send_text(42, "hello")
        api.block_chat(42)
        req = urllib.request.Request(f"{api.base_url}{TOKEN}/sendMessage", data=b"chat_id=42&text=hi", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        body = json.loads(e.value.read())
        assert e.value.code == 403 and body["description"] == "Forbidden: bot was blocked by the user"
        assert api.rejections == []
    finally:
        api.stop()
