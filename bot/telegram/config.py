"""Settings of the Telegram bot, read from the environment and the command line.

Everything is checked here, before the model loads, so that a typo in the token or an env var
costs the operator one line on stderr and exit status 1 instead of a ten-second wait and a
traceback. The token is never accepted on argv (it would show in `ps` and shell history).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
API_URL_ENV = "TELEGRAM_API_URL"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
ALLOWED_CHATS_ENV = "READOUT_ALLOWED_CHATS"
RATE_LIMIT_ENV = "READOUT_RATE_LIMIT"
ADMIN_CHATS_ENV = "READOUT_ADMIN_CHATS"

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_RATE_LIMIT = 20  # questions per user per minute

# Telegram tokens are "<bot id>:<35 url-safe characters>"; accept a little more than that so a
# future longer secret does not lock people out, but catch the usual paste accidents.
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,100}$")
# setWebhook's secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for stderr."""


@dataclass(frozen=True)
class Settings:
    """What the running bot needs besides the engine."""

    token: str
    api_url: str = DEFAULT_API_URL
    allowed_chats: frozenset[int] | None = None  # None: every chat may ask
    rate_limit: int = DEFAULT_RATE_LIMIT  # questions per user per minute; 0 disables the limit
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    webhook_secret: str | None = None
    admin_chats: frozenset[int] = frozenset()  # may use /reload

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


def parse_rate_limit(value: str | None) -> int:
    """`READOUT_RATE_LIMIT` questions per user per minute; 0 turns the limit off."""
    if value is None or not value.strip():
        return DEFAULT_RATE_LIMIT
    try:
        limit = int(value.strip())
    except ValueError:
        raise ConfigError(f"${RATE_LIMIT_ENV}: {value!r} is not a whole number") from None
    if limit < 0:
        raise ConfigError(f"${RATE_LIMIT_ENV} must be 0 (off) or more, not {limit}")
    return limit


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


def check_webhook_url(url: str) -> str:
    """Telegram only delivers webhooks to HTTPS URLs; say so now rather than after model load."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigError(f"--webhook-url must be an https:// URL, not {url!r}")
    return url
