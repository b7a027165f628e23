"""Settings of the Telegram bot, read from the environment and the command line.

Everything is checked here, before the model loads, so that a typo in the token or an env var
costs the operator one line on stderr and exit status 1 instead of a ten-second wait and a
traceback. The token is never accepted on argv (it would show in `ps` and shell history).

`ENV` is the one list of the environment settings the bot reads, its own and the engine's: the
parsers below take their names and defaults from it, and `readout telegram --help` prints it, so
the help cannot fall behind the code (tests/test_telegram_units.py checks that every `READOUT_*`
or `TELEGRAM_*` name in bot/telegram/ is in it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
API_URL_ENV = "TELEGRAM_API_URL"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
ALLOWED_CHATS_ENV = "READOUT_ALLOWED_CHATS"
RATE_LIMIT_ENV = "READOUT_RATE_LIMIT"
ADMIN_CHATS_ENV = "READOUT_ADMIN_CHATS"
MAX_RATE_ENV = "READOUT_MAX_RATE"
RELOAD_INTERVAL_ENV = "READOUT_RELOAD_INTERVAL"
FEEDS_INTERVAL_ENV = "READOUT_FEEDS_INTERVAL"
STATE_DIR_ENV = "READOUT_STATE_DIR"

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_RATE_LIMIT = 20  # questions per user per minute
# Messages a second the bot sends overall: Telegram's documented limit for a bot broadcasting to
# many chats ("not more than 30 messages per second"). Faster sending earns 429s.
DEFAULT_MAX_RATE = 30.0
DEFAULT_RELOAD_INTERVAL = 5.0  # seconds between checks for a newer index
DEFAULT_FEEDS_INTERVAL = 3600.0  # seconds between checks of the corpus's feeds (readout feeds)
STATE_FILE = "bot.sqlite3"  # in the state folder: follows, and which alerts went to whom


@dataclass(frozen=True)
class EnvSetting:
    """One environment setting: its name, what it means, and what applies when it is unset."""

    name: str
    meaning: str
    default: str
    engine: bool = False  # read by the engine (embeddings/), not by bot/telegram/


ENV: tuple[EnvSetting, ...] = (
    EnvSetting(TOKEN_ENV, "The bot token from @BotFather (or --token-file).", "none; required"),
    EnvSetting(API_URL_ENV, "Bot API base URL (or --api-url), e.g. http://127.0.0.1:8081/bot "
               "for a self-hosted Bot API server.", DEFAULT_API_URL),
    EnvSetting(WEBHOOK_SECRET_ENV, "Webhook mode: the secret Telegram sends with each update, "
               "1-256 of A-Z a-z 0-9 _ - (or --webhook-secret-file).", "none"),
    EnvSetting(ALLOWED_CHATS_ENV, "Comma-separated chat ids that get answers (a private chat's id "
               "is the user's id); other chats get a one-line refusal.", "every chat"),
    EnvSetting(ADMIN_CHATS_ENV, "Comma-separated chat ids that may use /reload.", "none"),
    EnvSetting(RATE_LIMIT_ENV, "Questions per user per minute; 0 for no limit.",
               f"{DEFAULT_RATE_LIMIT}"),
    EnvSetting(MAX_RATE_ENV, "Messages a second the bot sends overall; 0 for no pacing (a 429 "
               "from Telegram is still waited out).", f"{DEFAULT_MAX_RATE:g}, Telegram's flood limit"),
    EnvSetting(RELOAD_INTERVAL_ENV, "Seconds between checks for a newer index (after readout "
               "index, add or remove, or edits of the corpus files); 0 checks only on /reload.",
               f"{DEFAULT_RELOAD_INTERVAL:g}"),
    EnvSetting(FEEDS_INTERVAL_ENV, "Seconds between checks of the feeds the corpus follows (readout "
               "feeds add); new readouts are added and announced to the chats that /follow their "
               "topic. 0 turns the checks off.", f"{DEFAULT_FEEDS_INTERVAL:g}"),
    EnvSetting(STATE_DIR_ENV, f"Folder of the bot's own state ({STATE_FILE}: the topics chats "
               "follow and the alerts sent).", "readout/ in the user's state directory "
               "(~/.local/state/readout on Linux)"),
    EnvSetting("READOUT_CORPUS", "Folder of readouts (or --corpus).", "the bundled corpus",
               engine=True),
    EnvSetting("READOUT_INDEX", "Index folder (or --index); built at start if missing or stale.",
               "a folder per corpus in the cache directory", engine=True),
    EnvSetting("READOUT_DEVICE", "Where the model encodes when it must: cpu, cuda, cuda:N or mps.",
               "cpu", engine=True),
    EnvSetting("READOUT_LOCK_TIMEOUT", "Seconds to wait at start or reload while another readout "
               "process updates the index.", "600", engine=True),
    EnvSetting("READOUT_DELTA_MAX", "Vectors an index update keeps apart (searched exactly) before "
               "it folds them into the main vector file.", "20000", engine=True),
    EnvSetting("READOUT_HNSW_FROM", "Vectors from which an index build makes an HNSW graph "
               "instead of an exact index.", "100000", engine=True),
    EnvSetting("READOUT_FETCH_TIMEOUT", "Seconds a feed or a feed entry's page may take to "
               "arrive (feed checks; readout add URL).", "20", engine=True),
    EnvSetting("XDG_CACHE_HOME", "Cache directory; readout/ in it holds the default indexes and "
               "the question encoder's export.", "~/.cache", engine=True),
)

# Settings of the engine that `readout telegram` never reaches (used by other commands only).
ENGINE_ONLY_ELSEWHERE: frozenset[str] = frozenset()

# Telegram tokens are "<bot id>:<35 url-safe characters>"; accept a little more than that so a
# future longer secret does not lock people out, but catch the usual paste accidents.
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,100}$")
# setWebhook's secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


T = TypeVar("T", int, float)


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for stderr."""


@dataclass(frozen=True)
class Settings:
    """What the running bot needs besides the engine."""

    token: str
    api_url: str = DEFAULT_API_URL
    allowed_chats: frozenset[int] | None = None  # None: every chat may ask
    rate_limit: int = DEFAULT_RATE_LIMIT  # questions per user per minute; 0 disables the limit
    max_rate: float = DEFAULT_MAX_RATE  # messages a second overall; 0: no pacing (429s still waited out)
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    webhook_secret: str | None = None
    admin_chats: frozenset[int] = frozenset()  # may use /reload
    reload_interval: float = DEFAULT_RELOAD_INTERVAL  # seconds; 0: only on /reload
    feeds_interval: float = DEFAULT_FEEDS_INTERVAL  # seconds between feed checks; 0: none
    state_dir: Path | None = None  # holds STATE_FILE; None: the user's state directory

    def __repr__(self) -> str:  # never let the token reach a log line through repr()
        return f"Settings(api_url={self.api_url!r}, webhook_url={self.webhook_url!r}, ...)"

    @property
    def webhook_path(self) -> str:
        """The path PTB's webhook server listens on: the path of the public webhook URL."""
        if not self.webhook_url:
            return ""
        return urlsplit(self.webhook_url).path.lstrip("/")


def read_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str:
    """The bot token from `--token-file` (if given) or `$TELEGRAM_BOT_TOKEN`, checked for shape.

    The error messages never quote the token: a half-pasted token is still a secret.
    """
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            raw = Path(token_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read token file {token_file}: {exc.strerror or exc}"
            ) from None
        origin = f"token file {token_file}"
    else:
        raw = env.get(TOKEN_ENV, "")
        origin = f"${TOKEN_ENV}"
        if not raw.strip():
            raise ConfigError(
                f"no bot token: set ${TOKEN_ENV} or pass --token-file PATH "
                "(get a token from @BotFather)"
            )
    token = raw.strip()
    if not token:
        raise ConfigError(f"{origin} is empty")
    if not TOKEN_RE.match(token):
        raise ConfigError(
            f"{origin} does not look like a bot token "
            "(expected <digits>:<30+ letters, digits, _ or ->)"
        )
    return token


def read_api_url(option: str | None, environ: dict[str, str] | None = None) -> str:
    """The Bot API base URL as PTB's `base_url` takes it, e.g. `http://127.0.0.1:8081/bot`."""
    env = os.environ if environ is None else environ
    url = (option or env.get(API_URL_ENV) or DEFAULT_API_URL).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"bad Bot API URL {url!r}: expected e.g. http://127.0.0.1:8081/bot")
    return url


def parse_allowed_chats(value: str | None, env: str = ALLOWED_CHATS_ENV) -> frozenset[int] | None:
    """`READOUT_ALLOWED_CHATS="123,-100456"` -> {123, -100456}; unset or blank -> None (all)."""
    if value is None or not value.strip():
        return None
    chats: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            chats.add(int(part))
        except ValueError:
            raise ConfigError(
                f"${env}: {part!r} is not a chat id "
                "(comma-separated integers expected)"
            ) from None
    return frozenset(chats)


def _parse_count(value: str | None, env: str, default: T, convert: Callable[[str], T], what: str,
                 zero: str) -> T:
    """A number of 0 or more from an env var; unset or blank -> `default`."""
    if value is None or not value.strip():
        return default
    try:
        number = convert(value.strip())
    except ValueError:
        raise ConfigError(f"${env}: {value!r} is not {what}") from None
    if not 0 <= number < float("inf"):  # also refuses nan
        raise ConfigError(f"${env} must be 0 ({zero}) or more, not {value.strip()}")
    return number


def parse_rate_limit(value: str | None) -> int:
    """`READOUT_RATE_LIMIT` questions per user per minute; 0 turns the limit off."""
    return _parse_count(value, RATE_LIMIT_ENV, DEFAULT_RATE_LIMIT, int, "a whole number", "off")


def parse_max_rate(value: str | None) -> float:
    """`READOUT_MAX_RATE`: messages a second the bot sends overall, to stay under Telegram's flood
    limit (default 30). 0 turns the pacing off: the bot sends as fast as it answers and only waits
    out the `retry_after` of a 429. The limit of 20 messages a minute per group stays either way."""
    return _parse_count(value, MAX_RATE_ENV, DEFAULT_MAX_RATE, float,
                        "a number of messages a second", "no pacing")


def parse_reload_interval(value: str | None) -> float:
    """`READOUT_RELOAD_INTERVAL`: seconds between checks for a newer index; 0: only on /reload."""
    return _parse_count(value, RELOAD_INTERVAL_ENV, DEFAULT_RELOAD_INTERVAL, float,
                        "a number of seconds", "only on /reload")


def parse_feeds_interval(value: str | None) -> float:
    """`READOUT_FEEDS_INTERVAL`: seconds between checks of the corpus's feeds; 0: no checks."""
    return _parse_count(value, FEEDS_INTERVAL_ENV, DEFAULT_FEEDS_INTERVAL, float,
                        "a number of seconds", "no feed checks")


def read_state_dir(value: str | None) -> Path:
    """`READOUT_STATE_DIR`, else readout/ in the user's state directory: created now, and its
    state file checked, so that a folder the bot cannot write (or a file that is no database)
    is one line at start rather than a failure at the first /follow."""
    import sqlite3

    if value is not None and value.strip():
        folder, origin = Path(value.strip()).expanduser(), f"${STATE_DIR_ENV}"
    else:
        from platformdirs import user_state_dir

        folder, origin = Path(user_state_dir("readout")), "the state directory"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {origin} {folder}: {exc.strerror or exc}; "
                          f"set ${STATE_DIR_ENV} to a folder the bot can write") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write to {origin} {folder}; set ${STATE_DIR_ENV} to a folder the bot can write")
    state = folder / STATE_FILE
    if state.exists():
        try:
            db = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)
            try:
                db.execute("PRAGMA schema_version").fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ConfigError(f"{state} is not a readable SQLite database ({exc}); move it away "
                              "(the chats' follows are in it) or set "
                              f"${STATE_DIR_ENV} to another folder") from None
    return folder


def read_webhook_secret(
    secret_file: Path | None, environ: dict[str, str] | None = None
) -> str | None:
    """The webhook secret from `--webhook-secret-file` or `$TELEGRAM_WEBHOOK_SECRET`, if any."""
    env = os.environ if environ is None else environ
    if secret_file is not None:
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read webhook secret file {secret_file}: {exc.strerror or exc}"
            ) from None
    else:
        secret = env.get(WEBHOOK_SECRET_ENV, "").strip()
        if not secret:
            return None
    if not SECRET_RE.match(secret):
        raise ConfigError("webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return secret


def env_help(engine: bool) -> list[tuple[str, str]]:
    """(name, "meaning [default: …]") rows of `ENV` for --help: the bot's, or the engine's."""
    return [(e.name, f"{e.meaning} [default: {e.default}]") for e in ENV if e.engine is engine]


def check_webhook_url(url: str) -> str:
    """Telegram only delivers webhooks to HTTPS URLs; say so now rather than after model load."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"--webhook-url must be an https:// URL, not {url!r}")
    return url
