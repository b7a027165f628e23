"""Retrying Bot API calls through flood control and passing network trouble.

PTB's `AIORateLimiter` keeps the bot under Telegram's flood limits (`$READOUT_MAX_RATE` messages
a second overall, 30 by default; 20 a minute per group) and, with `max_retries`, waits out a 429's
`retry_after` and tries again. It does not retry a 5xx or a dropped connection, which Telegram produces now and
then; this subclass adds a few retries with backoff for those, so one bad moment at Telegram's
end does not cost a user their answer. A 400 (BadRequest) is never retried: it would fail again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Calls that deliver something to a user. Start-up calls (getMe, deleteWebhook, setWebhook) are
# retried by PTB's bootstrap loop already, and getUpdates by the polling loop.
RETRIED = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "answerInlineQuery",
        "sendChatAction",
        "setMyCommands",
    }
)


class RetryingRateLimiter(AIORateLimiter):
    """`AIORateLimiter` that also retries NetworkError (5xx, timeouts, resets), not BadRequest."""

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
                if attempt >= self._network_retries or endpoint not in RETRIED:
                    raise
                attempt += 1
                delay = self._backoff * 2 ** (attempt - 1)
                log.warning(
                    "%s failed (%s); retry %d of %d in %.1f s",
                    endpoint,
                    exc,
                    attempt,
                    self._network_retries,
                    delay,
                )
                await asyncio.sleep(delay)
