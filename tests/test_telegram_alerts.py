"""Following the news in Telegram: chats /follow topics, the bot checks the corpus's feeds by
itself, and a new readout's point on a topic goes to each chat that follows it, once.

A bot process of its own (corpus, index, state folder, Bot API stand-in) runs with
READOUT_FEEDS_INTERVAL=5 against a local website (tests/feedsite.py) whose RSS feed the corpus
follows. In order, in one test (each step needs the state the previous one left):

1. chats follow topics (one of them then blocks the bot: the stand-in answers 403 for it);
2. an entry appears in the feed: the followers of "grave visits" get the alert, nobody else,
   and the blocked chat's follows are dropped;
3. `readout add` from another process brings a readout on two topics: both kinds of followers hear;
4. the bot restarts after a readout was written into the corpus by hand while it was down: that
   one is announced, and nothing is sent twice.

The limits a user meets (/follow without a topic, too long, too many; /following and its buttons;
/unfollow N) have their own test on the same bot. Waits are on conditions, with generous deadlines.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from botapi import FakeBotAPI, stop
from conftest import cli_env, run_cli
from conftest_telegram import BOT_USERNAME, TOKEN, bot_env, make_corpus, readout_command
from feedsite import Item, Site, standard_site, wait_until

pytestmark = pytest.mark.e2e

FOLLOWER = 6_100_001  # follows "grave visits"
WIND = 6_100_002  # follows "offshore wind"
QUIET = 6_100_003  # follows nothing
LIMITS = 6_100_004  # tries the limits
BLOCKER = 6_100_005  # follows "grave visits", then blocks the bot
GROUP = -1_006_100_000_001  # a group following "grave visits"
MEMBER = 6_100_010
STRANGER = 6_900_001  # not on the allow-list
ALLOWED = [FOLLOWER, WIND, QUIET, LIMITS, BLOCKER, GROUP, MEMBER]
RSS = "/rss/whatsnew.xml"
STARTUP = 180.0
ALERT_WAIT = 120.0

HAND_WRITTEN = """Corvenia-Brantia Foreign Ministers' Telephone Talk

October 2, 2025

On October 2, Foreign Minister SOLBERG Ina of Corvenia held a telephone talk with Foreign Minister Karl Dorn of Brantia. An overview of the talk is as follows.

  1. Foreign Minister Solberg thanked Foreign Minister Dorn for the quick return of the Corvenian fishing crew.
  2. The two ministers agreed to arrange grave visits for the families of Corvenian sailors buried on Kessel Island.
  3. The two ministers confirmed that they would meet in Vesk in November.
"""


class Bot:
    """The bot process and what it works on; `start` and `stop` it as often as a test needs."""

    def __init__(self, base: Path, api: FakeBotAPI, site: Site) -> None:
        self.base, self.api, self.site = base, api, site
        self.corpus, self.index, self.state = base / "corpus", base / "index", base / "state"
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    def env(self) -> dict[str, str]:
        return {**bot_env(self.base), "TELEGRAM_API_URL": self.api.base_url, "TELEGRAM_BOT_TOKEN": TOKEN,
                "READOUT_ALLOWED_CHATS": ",".join(map(str, ALLOWED)), "READOUT_FEEDS_INTERVAL": "5",
                "READOUT_STATE_DIR": str(self.state), "READOUT_RATE_LIMIT": "0",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def start(self) -> None:
        self.runs += 1
        self.api.clear_records()
        err = open(self.base / f"stderr-{self.runs}.txt", "wb")
        self.proc = subprocess.Popen(
            [*readout_command(), "telegram", "-v", "--corpus", str(self.corpus), "--index", str(self.index)],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, cwd=self.base)
        err.close()

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode}: {self.stderr()[-3000:]}")
            names = [c.method for c in self.api.calls]
            return "setmycommands" in names and "getupdates" in names[names.index("setmycommands"):]

        self.api.wait_for(ready, STARTUP, "the bot to start polling")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=30)
            assert self.proc.returncode == 0, self.stderr()[-3000:]
            self.proc = None

    def stderr(self) -> str:
        return (self.base / f"stderr-{self.runs}.txt").read_text(errors="replace")

    def db(self, sql: str, *args) -> list[tuple]:
        """A query on the bot's state file, read-only, as any other process may read it."""
        path = self.state / "bot.sqlite3"
        if not path.exists():
            return []
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # the tables are not made yet
            return []
        finally:
            db.close()

    def matched(self, name: str) -> bool:
        """The bot has matched readout `name` against the follows (its alerts are all sent)."""
        return bool(self.db("SELECT 1 FROM readouts WHERE doc = ?", name))

    def feeds(self) -> list[dict]:
        path = self.corpus / ".readout-feeds.json"
        return json.loads(path.read_text())["feeds"] if path.exists() else []


def alerts(api: FakeBotAPI, chat: int) -> list:
    return [s for s in api.sent_to(chat) if s.plain.startswith("🔔 New readout")]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    base = tmp_path_factory.mktemp("alerts_bot")
    site = standard_site()
    site.feeds[RSS].items = [site.feeds[RSS].items[0]]  # only the page that is not a readout, at first
    site.start()
    api = FakeBotAPI(TOKEN, username=BOT_USERNAME)
    api.start()
    b = Bot(base, api, site)
    make_corpus(b.corpus)
    env = cli_env(base, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    r = run_cli(["feeds", "add", site.base + RSS, "--corpus", str(b.corpus), "--index", str(b.index)], env)
    assert r.returncode == 0, r.stderr
    r = run_cli(["index", "--corpus", str(b.corpus), "--index", str(b.index)], env)
    assert r.returncode == 0, r.stderr
    b.start()
    try:
        # the first start records the readouts already there (not announced) and checks the feed
        wait_until(lambda: b.db("SELECT 1 FROM meta WHERE key = 'baseline'"), STARTUP, "the alerts' baseline")
        wait_until(lambda: all(f["last_check"] for f in b.feeds()), STARTUP, "the first feed check")
        yield b
    finally:
        b.stop()
        api.stop()
        site.stop()
        for log in sorted(base.glob("stderr-*.txt")):
            assert "Traceback" not in log.read_text(errors="replace"), log


def test_limits_following_and_unfollowing(bot):
    api = bot.api
    assert {"follow", "following", "unfollow"} <= {c["command"] for c in api.commands}
    api.send_text(QUIET, "/help")
    help_text = api.wait_messages(QUIET, 1)[0].plain
    assert "/follow <topic>" in help_text and "/following" in help_text and "/unfollow N" in help_text

    api.send_text(LIMITS, "/follow")
    assert "Send /follow and a topic, e.g. /follow grave visits" in api.wait_messages(LIMITS, 1)[-1].plain
    api.send_text(LIMITS, "/follow " + "x" * 201)
    assert "at most 200 characters; this one has 201" in api.wait_messages(LIMITS, 2)[-1].plain
    for n in range(1, 21):
        api.send_text(LIMITS, f"/follow subject number {n}")
    api.wait_messages(LIMITS, 22, timeout=240)  # a bound for a bot that hangs, on a loaded machine
    api.send_text(LIMITS, "/follow one more subject")
    assert "already follows 20 topics, the most I keep" in api.wait_messages(LIMITS, 23)[-1].plain
    api.send_text(LIMITS, "/follow Subject   Number 3")
    assert "already follows “Subject Number 3”" in api.wait_messages(LIMITS, 24)[-1].plain

    api.send_text(LIMITS, "/following")
    listing = api.wait_messages(LIMITS, 25)[-1]
    assert listing.plain.startswith("Topics this chat follows (20 of 20)")
    stops = [(t, d) for t, d in listing.buttons() if t.startswith("Stop: ")]
    assert len(stops) == 20 and stops[0][0] == "Stop: subject number 1"
    qid = api.press(LIMITS, listing.message_id, stops[0][1])
    assert api.callback_answer(qid)["text"] == "Stopped following “subject number 1”."
    edited = api.wait_for(lambda: [s for s in api.sent if s.method == "editMessageText" and s.chat_id == LIMITS],
                          30, "the /following list to be updated")[-1]
    assert edited.plain.startswith("Topics this chat follows (19 of 20)")
    qid = api.press(LIMITS, listing.message_id, stops[0][1])  # pressed again: already stopped
    assert api.callback_answer(qid)["text"] == "That topic was already stopped."
    qid = api.press(LIMITS, listing.message_id, "u:999999")  # a forged id: not this chat's
    assert api.callback_answer(qid)["text"] == "That topic was already stopped."

    api.send_text(LIMITS, "/unfollow 1")
    assert api.wait_messages(LIMITS, 26)[-1].plain == "Stopped following “subject number 2”."
    api.send_text(LIMITS, "/unfollow 99")
    assert api.wait_messages(LIMITS, 27)[-1].plain == "There is no topic 99: /following numbers them 1 to 18."
    api.send_text(LIMITS, "/unfollow two")
    assert "Send /unfollow N" in api.wait_messages(LIMITS, 28)[-1].plain
    assert len(bot.db("SELECT 1 FROM follows WHERE chat_id = ?", LIMITS)) == 18

    api.send_text(STRANGER, "/follow grave visits")  # the allow-list applies as to questions
    assert api.wait_messages(STRANGER, 1)[-1].plain == "Sorry, this bot is not available in this chat."
    assert bot.db("SELECT 1 FROM follows WHERE chat_id = ?", STRANGER) == []
    assert api.rejections == []


def test_new_readouts_reach_their_followers_once_from_a_feed_readout_add_and_a_restart(bot):
    api, site = bot.api, bot.site
    for chat, topic in ((FOLLOWER, "grave visits"), (WIND, "offshore wind"), (BLOCKER, "grave visits")):
        api.send_text(chat, f"/follow {topic}")
        assert api.wait_messages(chat, 1)[-1].plain.startswith(f"Following “{topic}”. When a new readout")
    api.send_group_text(GROUP, f"/follow@{BOT_USERNAME} grave visits", user_id=MEMBER)
    assert api.wait_messages(GROUP, 1)[-1].plain.startswith("Following “grave visits”")
    api.send_text(QUIET, "What was said about grave visits?")  # an answer, not an alert
    api.wait_messages(QUIET, 1)
    api.block_chat(BLOCKER)

    # 1. an entry appears in the feed
    talk = "2025-09-12-corvenia-marivale-summit-telephone-talk.txt"
    appeared = time.monotonic()
    site.add_item(RSS, Item("Corvenia-Marivale Summit Telephone Talk", "/press/2025/0912.html", "2025-09-12"))
    got = api.wait_for(lambda: alerts(api, FOLLOWER), ALERT_WAIT, "the follower's alert")[0]
    seconds = got.at - appeared
    print(f"\nfeed entry to alert: {seconds:.1f} s")
    (bot.base / "feed-to-alert-seconds.txt").write_text(f"{seconds:.2f}\n")
    assert got.plain.startswith("🔔 New readout on a topic you follow: “grave visits”")
    assert "Halvard – Reyes telephone talk, 12 September 2025 — point 3" in got.plain
    assert "Source: Corvenia-Marivale Summit Telephone Talk — http" in got.plain
    assert "asked that their grave visits to the islands, suspended since 2019, be resumed" in got.plain
    assert "<blockquote>" in got.text
    full = got.button("Full readout")
    api.press(FOLLOWER, got.message_id, full)
    shown = api.wait_for(lambda: [s for s in api.sent_to(FOLLOWER) if s.plain.split("\n")[0].endswith(
        ". Halvard – Reyes telephone talk, 12 September 2025")], 30, "the full readout")[0]  # "N. Name" as /readout N
    assert "4 points" in shown.plain and "grave visits by boat" in shown.plain
    wait_until(lambda: bot.matched(talk), ALERT_WAIT, "the alerts for the talk to be sent")
    assert len(alerts(api, FOLLOWER)) == 1
    assert len(alerts(api, GROUP)) == 1 and "grave visits" in alerts(api, GROUP)[0].plain
    assert alerts(api, WIND) == [] and alerts(api, QUIET) == [] and alerts(api, LIMITS) == []
    # the chat that blocked the bot answered 403: its follows are gone, the others got theirs
    refused = [c for c in api.calls if c.method == "sendmessage" and str(c.params.get("chat_id")) == str(BLOCKER)
               and c.status == 403]
    assert len(refused) == 1
    assert bot.db("SELECT 1 FROM follows WHERE chat_id = ?", BLOCKER) == []
    assert bot.feeds()[0]["readouts_added"] == 1

    # 2. `readout add` in another process: a call on grave visits and on offshore wind
    call = "2025-09-20-pm-call-with-president-reyes-of-marivale-20-september-2025.txt"
    url = site.base + "/government/news/pm-call-with-president-reyes-of-marivale-20-september-2025"
    env = cli_env(bot.base, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    r = run_cli(["add", url, "--corpus", str(bot.corpus), "--index", str(bot.index)], env)
    assert r.returncode == 0, r.stderr
    wait_until(lambda: bot.matched(call), ALERT_WAIT, "the alerts for the call to be sent")
    follower = alerts(api, FOLLOWER)
    assert len(follower) == 2 and "PM call with President Reyes of Marivale: 20 September 2025" in follower[1].plain
    assert "paragraph 2" in follower[1].plain and "resumption of grave visits" in follower[1].plain
    wind = alerts(api, WIND)
    assert len(wind) == 1 and "“offshore wind”" in wind[0].plain and "offshore wind farms" in wind[0].plain
    assert len(alerts(api, GROUP)) == 2 and alerts(api, QUIET) == []

    # 3. the bot stops; a readout is written into the corpus by hand; the bot comes back
    bot.stop()
    polled = len(site.statuses(RSS))
    (bot.corpus / "2025-10-02-corvenia-brantia-fm-talk.txt").write_text(HAND_WRITTEN, encoding="utf-8")
    bot.start()  # clears the stand-in's records: what follows was sent after the restart
    wait_until(lambda: bot.matched("2025-10-02-corvenia-brantia-fm-talk.txt"), ALERT_WAIT,
               "the readout that arrived while the bot was down to be matched")
    wait_until(lambda: site.statuses(RSS)[polled:].count(304), 60, "a feed check after the restart")
    after = alerts(api, FOLLOWER)
    assert len(after) == 1, [a.plain[:80] for a in after]  # only the new one; the talk and the call not again
    assert "Solberg – Dorn foreign ministers' telephone talk, 2 October 2025 — point 2" in after[0].plain
    assert "Source: Corvenia-Brantia Foreign Ministers' Telephone Talk" in after[0].plain
    assert len(alerts(api, GROUP)) == 1 and alerts(api, WIND) == [] and alerts(api, BLOCKER) == []
    # in all: the talk to the follower and the group (not to the chat that blocked the bot), the
    # call to them and to the wind follower, the hand-written talk to the follower and the group
    assert bot.db("SELECT COUNT(*) FROM sent")[0][0] == 7
    assert api.rejections == []
