"""Who may ask, and how often.

`AllowList` implements `$READOUT_ALLOWED_CHATS`: when set, only those chats (a private chat's id
is the user's id) get answers; others get a one-line refusal. `RateLimiter` keeps each user to
N questions per sliding minute, because every question costs an encode on a small CPU and one
user's script must not starve everyone else.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


class AllowList:
    """Chat ids that may use the bot; `None` means every chat."""

    def __init__(self, chats: frozenset[int] | None) -> None:
        self._chats = chats

    @property
    def restricted(self) -> bool:
        return self._chats is not None

    def allows(self, chat_id: int | None) -> bool:
        if self._chats is None:
            return True
        return chat_id is not None and chat_id in self._chats


@dataclass
class Verdict:
    """The outcome of `RateLimiter.check`: allowed, else how long to wait and whether to say so."""

    allowed: bool
    retry_in: float = 0.0
    notify: bool = False  # True for the first refused question of a burst: tell the user once


class RateLimiter:
    """Sliding-window limit of `limit` events per `period` seconds per key; `limit=0` is off."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.period = period
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[int, deque[float]] = OrderedDict()
        self._notified_until: dict[int, float] = {}

    def check(self, key: int) -> Verdict:
        """Count one event for `key` if allowed; otherwise say when the next one would be."""
        if self.limit <= 0:
            return Verdict(True)
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            if len(self._events) > self._max_keys:  # forget the least recently active user
                old, _ = self._events.popitem(last=False)
                self._notified_until.pop(old, None)
        else:
            self._events.move_to_end(key)
        while events and events[0] <= now - self.period:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            return Verdict(True)
        retry_in = max(0.0, events[0] + self.period - now)
        # Say "slow down" once per burst, not once per refused message: replying to a flood
        # would itself be a flood.
        notify = self._notified_until.get(key, 0.0) <= now
        if notify:
            self._notified_until[key] = now + retry_in
        return Verdict(False, retry_in=retry_in, notify=notify)
