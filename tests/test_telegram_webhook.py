"""Webhook mode: `readout telegram --webhook-url https://… --listen 127.0.0.1 --port P` with a
secret, against the strict local Bot API server, which POSTs updates to the bot's own web server
(as Telegram would through the TLS proxy that fronts it in production)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


from botapi import FakeBotAPI  # noqa: E402
from conftest_telegram import TOKEN, bot_env, readout_command  # noqa: E402

pytestmark = pytest.mark.e2e

pytest_plugins = ["conftest_telegram"]

SECRET = "s3cret-webhook_token"
PUBLIC_URL = "https://bot.example.test/readout/hook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webhook_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeBotAPI, subprocess.Popen, int, object]]:
    base = tmp_path_factory.mktemp("webhook_bot")
    api = FakeBotAPI(TOKEN)
    api.start()
    port = free_port()
    secret_file = base / "secret"
    secret_file.write_text(SECRET + "\n")
    env = {**bot_env(base), "TELEGRAM_API_URL": api.base_url, "TELEGRAM_BOT_TOKEN": TOKEN}
    err_path = base / "stderr.txt"
    with open(base / "stdout.txt", "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [*readout_command(), "telegram", "--index", str(base / "index"), "--webhook-url", PUBLIC_URL,
             "--listen", "127.0.0.1", "--port", str(port), "--webhook-secret-file", str(secret_file)],
            env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=base,
        )
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"bot exited: {err_path.read_text()}")
            return bool(api.webhook.get("url"))

        api.wait_for(ready, 120, "setWebhook")
        api.webhook_target = f"http://127.0.0.1:{port}/readout/hook"
        deadline = time.monotonic() + 120
        while True:  # setWebhook comes just before the web server accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield api, proc, port, base
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        api.stop()


def test_webhook_mode_end_to_end(webhook_bot) -> None:
    api, proc, port, base = webhook_bot
    assert api.webhook["url"] == PUBLIC_URL and api.webhook["secret_token"] == SECRET

    chat = 4_242_001
    api.send_text(chat, "What was said about grave visits?")
    (msg,) = api.wait_messages(chat, 1, 15)
    assert msg.plain.splitlines()[0] == "Kishida – Putin telephone talk, 7 October 2021 — point 5"
    assert all(status == 200 for _, status in api.deliveries)

    # An update without the right secret is refused by the bot's web server and not answered.
    forged = {"message": {"message_id": 99, "date": int(time.time()), "text": "grave visits?",
                          "chat": {"id": 4_242_002, "type": "private", "first_name": "X"},
                          "from": {"id": 4_242_002, "is_bot": False, "first_name": "X"}}}
    assert api.deliver_with_secret(forged, "wrong-secret") == 403

    qid = api.inline(4_242_003, "grave visits")
    assert api.inline_answer(qid)["results"][0]["title"] == "Kishida – Putin telephone talk — point 5"
    assert api.rejections == []

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0  # a bound for a hung bot, not a speed check
    err = (base / "stderr.txt").read_text()
    out = (base / "stdout.txt").read_text()
    for secret in (TOKEN.split(":", 1)[1], SECRET):
        assert secret not in err and secret not in out
    assert "Traceback" not in err
    assert api.sent_to(4_242_002) == []
