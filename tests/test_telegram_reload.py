"""A running bot picks up index changes without a restart or a lost answer.

A second bot process (its own corpus and index) answers questions from several chats in a loop
while another process adds a readout (`readout add`, which updates the index); every question gets its answer, and
the new readout is found once the bot has swapped indexes. Removing the file by hand makes it
disappear from answers. /reload is for admins only.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest


from botapi import FakeBotAPI  # noqa: E402
from conftest import cli_env, run_cli  # noqa: E402
from conftest_telegram import BUNDLED_CORPUS, TOKEN, bot_env, readout_command  # noqa: E402

pytestmark = pytest.mark.e2e

ADMIN = 7_000_001
USER = 7_000_002
ASKERS = [7_100_000 + i for i in range(4)]

NEW_READOUT = """Elbonia-Atlantis Relations

March 3, 2031

On March 3, President VALE Ash of Elbonia held a telephone talk with President Poseidon of Atlantis.

  1. President Vale proposed a joint observatory to monitor the undersea volcano near the strait.
  2. President Poseidon welcomed the proposal and offered research ships.
"""
VOLCANO = "Who proposed monitoring the undersea volcano?"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    base = tmp_path_factory.mktemp("reload_bot")
    corpus = base / "corpus"
    corpus.mkdir()
    for f in BUNDLED_CORPUS.glob("*.txt"):
        (corpus / f.name).write_bytes(f.read_bytes())
    index = base / "index"
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index)], cli_env(base))
    assert r.returncode == 0, r.stderr
    api = FakeBotAPI(TOKEN, username="readout_test_bot")
    api.start()
    env = {**bot_env(base), "TELEGRAM_API_URL": api.base_url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "READOUT_ADMIN_CHATS": str(ADMIN), "READOUT_RELOAD_INTERVAL": "0.5", "READOUT_RATE_LIMIT": "0"}
    err = open(base / "stderr.txt", "wb")
    proc = subprocess.Popen([*readout_command(), "telegram", "--corpus", str(corpus), "--index", str(index)],
                            env=env, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    try:
        api.wait_for(lambda: any(c.method == "getupdates" for c in api.calls), 120, "the bot to poll")
        yield api, corpus, index, base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        err.close()
        api.stop()
        assert "Traceback" not in (base / "stderr.txt").read_text()


def test_new_readout_is_answered_after_an_update_while_questions_flow(bot):
    api, corpus, index, base = bot
    asked: dict[int, int] = {c: 0 for c in ASKERS}
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            for chat in ASKERS:
                api.send_text(chat, "What was said about grave visits?")
                asked[chat] += 1
            time.sleep(0.2)

    t = threading.Thread(target=keep_asking)
    t.start()
    added = None
    try:
        time.sleep(1.0)
        new = base / "elbonia.txt"
        new.write_text(NEW_READOUT)
        r = run_cli(["add", str(new), "--corpus", str(corpus), "--index", str(index)], cli_env(base))
        assert r.returncode == 0, r.stderr
        added = next(corpus.glob("2031-03-03-*.txt"))
        done_at = time.monotonic()
        # within seconds of the update finishing, the bot answers from the new readout
        chat = 7_200_000  # a new chat per try: the other chats' records must stay for the count below
        while True:
            chat += 1
            api.send_text(chat, VOLCANO)
            msgs = api.wait_messages(chat, 1, 15)
            if msgs[-1].plain.startswith("Vale – Poseidon telephone talk, 3 March 2031"):
                break
            assert time.monotonic() - done_at < 120, msgs[-1].plain  # a bound for a reloader that never reloads
            time.sleep(0.5)
        print(f"new readout {added.name} answered {time.monotonic() - done_at:.1f} s after readout add")
        time.sleep(1.0)
    finally:
        stop.set()
        t.join()
    for chat in ASKERS:  # every question asked during the swap got its answer
        msgs = api.wait_messages(chat, asked[chat], 30)
        assert all("point 5" in m.plain.splitlines()[0] for m in msgs)
    assert api.rejections == []


def test_hand_edited_corpus_is_followed_and_reload_is_for_admins(bot):
    api, corpus, index, base = bot
    for f in corpus.glob("2031-03-03-*.txt"):
        f.unlink()  # by hand, not with readout remove
    api.clear_records()
    api.send_text(USER, "/reload")
    (msg,) = api.wait_messages(USER, 1, 10)
    assert "admins" in msg.plain
    api.send_text(ADMIN, "/reload")
    (msg,) = api.wait_messages(ADMIN, 1, 60)
    assert msg.plain.startswith(("Reloaded", "The index is current")), msg.plain
    deadline = time.monotonic() + 120
    while True:  # the deleted readout disappears from answers (the bot rebuilt by itself or on /reload)
        api.clear_records()
        api.send_text(ADMIN, VOLCANO)
        (msg,) = api.wait_messages(ADMIN, 1, 15)
        if "Elbonia" not in msg.plain:
            break
        assert time.monotonic() < deadline, msg.plain
        time.sleep(0.5)
    api.clear_records()
    api.send_text(ADMIN, "/reload")
    (msg,) = api.wait_messages(ADMIN, 1, 30)
    assert msg.plain == "The index is current: 1 readout."
