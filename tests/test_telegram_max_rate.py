"""READOUT_MAX_RATE, the bot's overall pace of messages: read by the CLI, applied to the real
Application (`build_application` on the real engine), against the strict local Bot API server."""

from __future__ import annotations

import asyncio
import subprocess

import pytest


from botapi import FakeBotAPI
from conftest_telegram import TOKEN, bot_env, readout_command

from bot.telegram import config

pytestmark = pytest.mark.e2e

pytest_plugins = ["conftest_telegram"]

CHAT = 5_100_001


def test_parse_max_rate() -> None:
    assert config.parse_max_rate(None) == config.DEFAULT_MAX_RATE == 30
    assert config.parse_max_rate(" ") == 30
    assert config.parse_max_rate("0") == 0 and config.parse_max_rate("12.5") == 12.5
    for bad in ("-1", "abc", "nan", "inf"):
        with pytest.raises(config.ConfigError) as e:
            config.parse_max_rate(bad)
        assert "READOUT_MAX_RATE" in str(e.value)
    assert config.Settings(token=TOKEN).max_rate == 30


def test_cli_documents_and_checks_max_rate(tmp_path) -> None:
    env = {**bot_env(tmp_path), "TELEGRAM_BOT_TOKEN": TOKEN}
    shown = subprocess.run([*readout_command(), "telegram", "--help"], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert shown.returncode == 0 and "READOUT_MAX_RATE" in shown.stdout
    bad = subprocess.run([*readout_command(), "telegram"], env={**env, "READOUT_MAX_RATE": "fast"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "readout: error: $READOUT_MAX_RATE: 'fast' is not a number of messages a second"]


def send_burst(engine, api: FakeBotAPI, max_rate: float, n: int) -> list[float]:
    """Send `n` messages at once through the Application built for `max_rate`; the times (on the
    server's clock) at which they arrived, relative to the first."""
    from bot.telegram.app import build_application
    from embeddings.engine import EngineError

    settings = config.Settings(token=TOKEN, api_url=api.base_url, max_rate=max_rate)
    app = build_application(engine, settings, EngineError)

    async def main() -> None:
        async with app:  # initialize (getMe) and shutdown, as run_polling does; no polling
            await asyncio.gather(*(app.bot.send_message(CHAT, f"message {i}") for i in range(n)))

    with api.cond:
        first = len(api.sent)
    asyncio.run(main())
    with api.cond:
        at = [s.at for s in api.sent[first:] if s.chat_id == CHAT]
    assert len(at) == n and api.rejections == []
    return [t - at[0] for t in at]


def test_max_rate_paces_the_real_application(engine) -> None:
    api = FakeBotAPI(TOKEN)
    api.start()
    try:
        api.send_text(CHAT, "hello")  # the chat exists for the server from now on
        # 2 a second: the first 2 go at once, the other 4 one every half second.
        paced = send_burst(engine, api, 2, 6)
        assert paced[-1] >= 1.6, paced
        # 0: no pacing; all arrive (how fast is the machine's business: benchmarks/bot_load.py)
        unpaced = send_burst(engine, api, 0, 6)
        assert len(unpaced) == 6
    finally:
        api.stop()
