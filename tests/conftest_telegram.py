"""Fixtures for the Telegram bot tests, loaded with `pytest_plugins = ["conftest_telegram"]`.

The bot is started once per session as the real CLI, `readout telegram`, in a subprocess pointed
at the strict local Bot API server (tests/botapi), because loading the model costs seconds per
process. Each test then uses its own chat ids and starts from cleared server records.

The corpus is the bundled readout plus eleven small generated ones (one of them long), so that
/sources has two pages and "Full readout" has to split a readout over several messages. The
generated readouts are fictitious and say nothing about grave visits, so the bundled point 5
still answers that question.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from botapi import FakeBotAPI, stop
from conftest import share_question_encoders

REPO = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO / "corpus"
TOKEN = "7012345678:AAF-test_token_for_the_local_bot_api_Xy9"
BOT_USERNAME = "readout_test_bot"
STARTUP_TIMEOUT = 120.0

# Chat ids the bot may serve (READOUT_ALLOWED_CHATS); tests take fresh ones from these ranges.
PRIVATE_IDS = range(5_000_001, 5_000_400)
GROUP_IDS = range(-1_001_000_000_400, -1_001_000_000_000)
STRANGER_IDS = range(9_000_001, 9_000_100)  # not allowed

TOPICS = [
    ("Testland-Exampleland Relations", "2023-03-14", "fisheries quotas in the northern sea",
     "the joint fisheries commission would meet in spring"),
    ("Testland-Sampleland Relations", "2022-11-02", "a new rail link between the two capitals",
     "feasibility studies for the rail link would be completed next year"),
    ("Testland-Demoland Relations", "2022-06-21", "cooperation on renewable energy and offshore wind",
     "a working group on offshore wind would report by the end of the year"),
    ("Testland-Mockland Relations", "2021-12-09", "student exchanges and university partnerships",
     "the number of exchange scholarships would be doubled"),
    ("Testland-Stubland Relations", "2021-05-30", "customs procedures at the shared border",
     "border crossings would be digitised to shorten waiting times"),
    ("Testland-Fakeland Relations", "2020-09-17", "pandemic supplies and vaccine logistics",
     "the two sides would share cold-chain storage capacity"),
    ("Testland-Dummyland Relations", "2020-02-08", "satellite launches and space research",
     "a joint lunar research mission would be studied"),
    ("Testland-Placeholderland Relations", "2019-10-25", "flood protection along the shared river",
     "early-warning data from river gauges would be exchanged daily"),
    ("Testland-Proxyland Relations", "2019-04-12", "tourism visas for short stays",
     "visa fees for short tourist stays would be waived for a trial year"),
    ("Testland-Shimland Relations", "2019-01-03", "cultural heritage and museum loans",
     "a travelling exhibition of ceramics would open in both countries"),
]


def _readout_text(title: str, iso: str, topic: str, outcome: str, points: int = 3) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    month = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"][m - 1]
    date = f"{month} {d}, {y}"
    body = [
        f"President ALPHA Anna of Testland stated that she attaches great importance to {topic}.",
        f"In response, Prime Minister BETA Bruno expressed his readiness to work on {topic}.",
        f"The two leaders confirmed that {outcome}.",
    ]
    while len(body) < points:
        n = len(body) + 1
        body.append(
            f"On item {n} of the agenda the two leaders reviewed {topic} at length, "
            + " ".join(
                f"noting clause {n}.{j} of the working plan, its budget, its schedule and the "
                f"agencies responsible for carrying it out in both countries;"
                for j in range(1, 6)
            )
            + " and they agreed to review progress at their next meeting."
        )
    lines = [title, "", date, "",
             f" On {month} {d}, commencing at 10:00 a.m. for approximately 30 minutes, President "
             f"ALPHA Anna of Testland held a telephone talk with Prime Minister BETA Bruno. An "
             f"overview of the talk is as follows.", ""]
    lines += [f"  {i}. {t}" for i, t in enumerate(body, start=1)]
    lines += ["", f"Back to {title}"]
    return "\n".join(lines) + "\n"


def make_corpus(root: Path) -> Path:
    """The bundled readout plus the generated ones; the last generated one is long."""
    root.mkdir(parents=True, exist_ok=True)
    for f in BUNDLED_CORPUS.iterdir():
        if f.is_file() and f.suffix in (".txt", ".md", ".jsonl"):
            shutil.copy(f, root / f.name)
    for i, (title, iso, topic, outcome) in enumerate(TOPICS):
        points = 12 if i == len(TOPICS) - 1 else 3
        (root / f"test_{i:02d}.txt").write_text(
            _readout_text(title, iso, topic, outcome, points), encoding="utf-8"
        )
    return root


@dataclass
class BotProcess:
    proc: subprocess.Popen
    stdout_path: Path
    stderr_path: Path
    started_at: float
    ready_at: float
    api: FakeBotAPI
    corpus: Path

    def output(self) -> tuple[str, str]:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.flush()
        return (self.stdout_path.read_text(errors="replace"),
                self.stderr_path.read_text(errors="replace"))


class ChatIds:
    """Fresh chat ids per test, so tests never see each other's messages."""

    def __init__(self) -> None:
        self._private = iter(PRIVATE_IDS)
        self._group = iter(GROUP_IDS)
        self._stranger = iter(STRANGER_IDS)

    def private(self) -> int:
        return next(self._private)

    def group(self) -> int:
        return next(self._group)

    def stranger(self) -> int:
        return next(self._stranger)


def bot_env(tmp: Path) -> dict[str, str]:
    """The environment without the caller's READOUT_*/TELEGRAM_* settings, offline, own caches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READOUT_", "TELEGRAM_"))}
    env.update({
        "HF_HUB_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "PYTHONUNBUFFERED": "1",
    })
    share_question_encoders(tmp / "cache")
    return env


def readout_command() -> list[str]:
    """The installed console script, else the same CLI through the interpreter."""
    exe = shutil.which("readout")
    if exe:
        return [exe]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI(TOKEN, username=BOT_USERNAME)
    api.start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def chat_ids() -> ChatIds:
    return ChatIds()


@contextmanager
def running_bot(bot_api: FakeBotAPI, base: Path, corpus: Path) -> Iterator[BotProcess]:
    """`readout telegram --corpus C --index I` against `bot_api`, until the block ends."""
    index = base / "index"
    allowed = itertools.chain(PRIVATE_IDS, GROUP_IDS)
    env = {
        **bot_env(base),
        "TELEGRAM_API_URL": bot_api.base_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "READOUT_ALLOWED_CHATS": ",".join(str(c) for c in allowed),
        "READOUT_RATE_LIMIT": "20",
    }
    stdout_path, stderr_path = base / "stdout.txt", base / "stderr.txt"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [*readout_command(), "telegram", "--corpus", str(corpus), "--index", str(index)],
            env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=base,
        )
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"bot exited with {proc.returncode}: {stderr_path.read_text(errors='replace')}"
                )
            # Ready = commands registered and polling (a getUpdates after setMyCommands).
            names = [c.method for c in bot_api.calls]
            return "setmycommands" in names and "getupdates" in names[names.index("setmycommands"):]

        bot_api.wait_for(ready, STARTUP_TIMEOUT, "the bot to start polling")
        ready_at = time.monotonic()
        yield BotProcess(proc, stdout_path, stderr_path, started, ready_at, bot_api, corpus)
    finally:
        stop(proc, timeout=15)


@pytest.fixture(scope="session")
def telegram_bot(bot_api: FakeBotAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The bot on the test corpus, once per session; every test may use it, in any order."""
    base = tmp_path_factory.mktemp("telegram_bot")
    with running_bot(bot_api, base, make_corpus(base / "corpus")) as bot:
        yield bot
