"""`readout telegram`: run the Telegram bot (long polling by default, or a webhook).

Order of work, chosen so mistakes cost seconds, not a model load:
1. read and check the token and settings (one line on stderr and exit 1 on any problem);
2. load the engine once (it builds the index if missing or stale) and warm it up;
3. build the Application and run it until SIGINT/SIGTERM, which stop it cleanly.

python-telegram-bot and the engine are imported inside the command so `readout --help` is fast.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from bot.advice import BOT, explain
from bot.options import corpus_option, index_option, model_option

from . import config  # standard library only: cheap enough for --help

log = logging.getLogger("bot.telegram")


class _EnvironmentHelp(click.Command):
    """A command whose --help ends with the environment settings of `config.ENV`."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, engine in (("Environment", False), ("Environment read by the engine", True)):
            with formatter.section(title):
                formatter.write_dl(config.env_help(engine))
        super().format_epilog(ctx, formatter)


def _fail(message: str, secrets: tuple[str, ...] = ()) -> click.exceptions.Exit:
    """Print `readout: error: <message>` on stderr (scrubbed of secrets); exit status 1."""
    from .logs import RedactingFormatter

    line = " ".join(message.split())
    line = RedactingFormatter("%(message)s", secrets, verbose=False).scrub(line)
    click.echo(f"readout: error: {line}", err=True)
    return click.exceptions.Exit(1)


def _stop_during_load(signum: int, frame: FrameType | None) -> None:
    """SIGTERM before the bot runs (e.g. while the model loads): leave quietly, status 0."""
    raise SystemExit(0)


@click.command("telegram", cls=_EnvironmentHelp)
@corpus_option
@index_option
@model_option
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Read the bot token from this file instead of $TELEGRAM_BOT_TOKEN.",
)
@click.option(
    "--api-url",
    default=None,
    metavar="URL",
    help="Bot API base URL, e.g. http://127.0.0.1:8081/bot for a self-hosted "
    "server [env: TELEGRAM_API_URL; default: Telegram's].",
)
@click.option(
    "--webhook-url",
    default=None,
    metavar="URL",
    help="Receive updates by webhook at this public https URL instead of polling.",
)
@click.option(
    "--listen",
    default="127.0.0.1",
    show_default=True,
    help="Webhook mode: address the local web server listens on.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8443,
    show_default=True,
    help="Webhook mode: port the local web server listens on.",
)
@click.option(
    "--webhook-secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Webhook mode: file holding the secret Telegram sends with each update "
    "[env: TELEGRAM_WEBHOOK_SECRET].",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging, with tracebacks.")
def telegram_command(
    corpus: Path | None,
    index: Path | None,
    model: str | None,
    token_file: Path | None,
    api_url: str | None,
    webhook_url: str | None,
    listen: str,
    port: int,
    webhook_secret_file: Path | None,
    verbose: bool,
) -> None:
    """Answer questions about the readouts in Telegram chats.

    The bot token comes from $TELEGRAM_BOT_TOKEN or --token-file, never from the command line.
    In private chats any text is a question; in groups use /ask, mention the bot, or reply to it.
    The environment settings below are checked before the model loads: a bad value ends the
    command with one line on stderr.
    """
    env = os.environ
    secrets: tuple[str, ...] = ()
    try:
        token = config.read_token(token_file)
        secrets = (token,)
        webhook_secret = config.read_webhook_secret(webhook_secret_file)
        if webhook_secret:
            secrets = (token, webhook_secret)
        settings = config.Settings(
            token=token,
            api_url=config.read_api_url(api_url),
            allowed_chats=config.parse_allowed_chats(env.get(config.ALLOWED_CHATS_ENV)),
            admin_chats=config.parse_allowed_chats(env.get(config.ADMIN_CHATS_ENV),
                                                   config.ADMIN_CHATS_ENV) or frozenset(),
            rate_limit=config.parse_rate_limit(env.get(config.RATE_LIMIT_ENV)),
            max_rate=config.parse_max_rate(env.get(config.MAX_RATE_ENV)),
            reload_interval=config.parse_reload_interval(env.get(config.RELOAD_INTERVAL_ENV)),
            feeds_interval=config.parse_feeds_interval(env.get(config.FEEDS_INTERVAL_ENV)),
            state_dir=config.read_state_dir(env.get(config.STATE_DIR_ENV)),
            webhook_url=config.check_webhook_url(webhook_url) if webhook_url else None,
            listen=listen,
            port=port,
            webhook_secret=webhook_secret,
        )
    except config.ConfigError as exc:
        raise _fail(str(exc), secrets) from None

    from .logs import setup_logging

    # `readout -vv telegram` (the group's option) means the same as `readout telegram -v`.
    verbose = verbose or logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    setup_logging(verbose, secrets)
    previous_term = signal.signal(signal.SIGTERM, _stop_during_load)
    try:
        app = _load(settings, corpus, index, model, secrets)
    except KeyboardInterrupt:
        log.info("interrupted while loading; exiting")
        raise click.exceptions.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    _run(app, settings, secrets)


def _load(settings, corpus, index, model, secrets):  # type: ignore[no-untyped-def]
    """Load the engine (once) and build the Application; EngineError -> one line, exit 1."""
    from embeddings.engine import Engine, EngineError

    from ..memory import trim_now
    from .app import build_application

    log.info("loading the engine (model and index)…")
    try:
        engine = Engine.load(
            corpus=corpus,
            index=index,
            model=model,
            on_build=lambda why: log.info("building the index first: %s", why),
        )
        engine.warm_up()  # the first encode pays one-off costs; not a user's question
    except EngineError as exc:
        raise _fail(explain(exc, BOT), secrets) from None
    trim_now()
    log.info("engine ready: %d readout(s)", len(engine.readouts))
    return build_application(engine, settings, EngineError)


def _run(app, settings, secrets) -> None:  # type: ignore[no-untyped-def]
    """Poll or serve the webhook until SIGINT/SIGTERM; startup failures -> one line, exit 1."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        if settings.webhook_url:
            log.info("webhook mode: listening on %s:%d", settings.listen, settings.port)
            app.run_webhook(
                listen=settings.listen,
                port=settings.port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                bootstrap_retries=3,
            )
        else:
            app.run_polling(bootstrap_retries=3)
    except InvalidToken:
        raise _fail("Telegram refused the bot token (check it with @BotFather)", secrets) from None
    except NetworkError as exc:
        raise _fail(f"cannot reach the Bot API at {settings.api_url}: {exc}", secrets) from None
    except TelegramError as exc:
        raise _fail(f"Bot API error: {exc}", secrets) from None
    except OSError as exc:  # e.g. webhook port already in use
        raise _fail(f"cannot start: {exc}", secrets) from None
    log.info("stopped")
    sys.stdout.flush()
