"""Retrying Bot API calls through flood control and passing network trouble, without ever
sending a user the same message twice.

PTB's `AIORateLimiter` keeps the bot under Telegram's flood limits (`$READOUT_MAX_RATE` messages
a second overall, 30 by default; 20 a minute per group) and, with `max_retries`, waits out a 429's
`retry_after` and tries again (a 429 means Telegram did not carry the call out). It does not
retry a 5xx or a network failure; this subclass adds a few retries with backoff for those, but
only where a repeat cannot show the user anything twice.

A network failure is not always a failed call. PTB raises `TimedOut` (a `NetworkError`) both when
no connection could be made and when the request went out and the answer did not come back in
time; in the second case Telegram may well have delivered the message (PTB issue #1045: a
`sendMessage` that raised `TimedOut` showed up three times after three tries). So each failure is
sorted by what PTB and httpx say happened (PTB chains the httpx exception as `__cause__`):

- never reached Telegram: `httpx.ConnectError` (refused, unreachable, DNS, TLS handshake),
  `httpx.ConnectTimeout`, `httpx.PoolTimeout` (no free connection; PTB says "Request was *not*
  sent"). Repeating any call is safe.
- Telegram answered with an error status (5xx, or a code PTB has no class for): PTB builds that
  `NetworkError` itself, from the status code, with no httpx cause. Telegram says the call failed, and we take it at
  its word. A gateway error (502/504) from Telegram's front end after its backend did deliver the
  message is conceivable, and the user would then see an answer twice; we accept that rare
  duplicate, because losing the answer on every passing 5xx (which Telegram produces now and
  then) is the greater harm, and a 5xx is not documented to come with a delivered message.
- may have arrived: everything else (`httpx.ReadTimeout`, `WriteTimeout`, `ReadError`,
  `RemoteProtocolError` such as "Server disconnected without sending a response", ...). The
  request may have been received and carried out.

What is repeated then depends on the call. `sendMessage` makes a new message each time, so it is
repeated only when it never reached Telegram or Telegram answered 5xx; after a failure that may
have arrived it is given up, with a warning in the log (the user most likely has the message; if
not, they ask again, which beats reading every answer twice on a flaky link). Edits, callback and
inline answers and setMyCommands are repeated after any network failure: a repeated edit changes
nothing (Telegram answers "message is not modified", which the handlers treat as done), and a
callback or inline query takes one answer only (Telegram refuses a second). A 400 (BadRequest) is
never retried: it would fail again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Calls that a repeat cannot make the user see twice: retried after any network failure.
REPEATABLE = frozenset(
    {
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "answerInlineQuery",
        "setMyCommands",
    }
)
# Calls that deliver something new each time: retried only when the first try surely did not.
ONCE = frozenset({"sendMessage"})
# Everything else is not retried here: start-up calls (getMe, deleteWebhook, setWebhook) are
# retried by PTB's bootstrap loop, getUpdates by its polling loop, and sendChatAction is not worth
# it ("typing…" that comes seconds late is worse than none, and the answer would wait for it).

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _httpx_cause(exc: BaseException) -> httpx.HTTPError | None:
    """The httpx exception PTB raised `exc` from, if any (PTB chains it as `__cause__`)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, httpx.HTTPError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__
    return None


def never_reached_telegram(exc: BaseException) -> bool:
    """No connection was made, or none was free: the request surely never left this machine."""
    return isinstance(_httpx_cause(exc), _NEVER_SENT)


def telegram_answered_error(exc: BaseException) -> bool:
    """Telegram answered with an error status PTB maps to a plain NetworkError (5xx and the like).

    PTB raises that one itself, from the status code: with no cause, or from its own
    TelegramError when the body was not JSON. A NetworkError caused by anything else wraps a
    failure of the HTTP client ("Unknown error in HTTP implementation"), which may have arrived."""
    if not isinstance(exc, NetworkError) or isinstance(exc, (BadRequest, TimedOut)):
        return False
    return exc.__cause__ is None or isinstance(exc.__cause__, TelegramError)


def may_have_arrived(exc: BaseException) -> bool:
    """A network failure after which Telegram may have received the call and carried it out."""
    return (
        isinstance(exc, NetworkError)
        and not isinstance(exc, BadRequest)
        and not never_reached_telegram(exc)
        and not telegram_answered_error(exc)
    )


def describe(exc: BaseException) -> str:
    """`TimedOut: Timed out (httpx.ReadTimeout)`: PTB's error and the httpx one behind it."""
    cause = _httpx_cause(exc)
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None and cause is not exc and f"httpx.{type(cause).__name__}" not in text:
        text += f" (httpx.{type(cause).__name__})"
    return text


def may_retry(endpoint: str, exc: NetworkError) -> bool:
    """Whether repeating `endpoint` after `exc` cannot show the user something twice."""
    if isinstance(exc, BadRequest):
        return False
    if endpoint in REPEATABLE:
        return True
    if endpoint in ONCE:
        return never_reached_telegram(exc) or telegram_answered_error(exc)
    return False


class RetryingRateLimiter(AIORateLimiter):
    """`AIORateLimiter` that also retries network failures and 5xx where that is safe (see above)."""

    def __init__(
        self, max_retries: int = 3, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(max_retries=max_retries, **kwargs)
        self._network_retries = network_retries
        self._backoff = backoff

    async def process_request(  # type: ignore[override]
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt >= self._network_retries or not may_retry(endpoint, exc):
                    if endpoint in ONCE and may_have_arrived(exc):
                        log.warning(
                            "%s: no answer from Telegram (%s); it may have been delivered, "
                            "so it is not sent again",
                            endpoint,
                            describe(exc),
                        )
                    raise
                attempt += 1
                delay = self._backoff * 2 ** (attempt - 1)
                log.warning(
                    "%s failed (%s); retry %d of %d in %.1f s",
                    endpoint,
                    describe(exc),
                    attempt,
                    self._network_retries,
                    delay,
                )
                await asyncio.sleep(delay)
