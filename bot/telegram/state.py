"""Recent answers, kept so that a "More results" press can show the next points.

Callback data is limited to 64 bytes, so a button cannot carry the hits; it carries a short
random id into this store. The store is a bounded LRU in memory: after a restart, or once an
answer has been pushed out by newer ones, its button is stale and the bot says so briefly.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from embeddings.records import Hit


@dataclass(frozen=True)
class AnswerState:
    """What a "More results" press needs: the question's hits and where they were asked."""

    question: str
    found: bool
    hits: tuple[Hit, ...]
    chat_id: int | None


class AnswerStore:
    """An LRU of `AnswerState` keyed by 8-character url-safe ids."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, AnswerState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, state: AnswerState) -> str:
        key = secrets.token_urlsafe(6)  # 8 characters, 48 random bits
        while key in self._items:
            key = secrets.token_urlsafe(6)
        self._items[key] = state
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> AnswerState | None:
        state = self._items.get(key)
        if state is not None:
            self._items.move_to_end(key)
        return state
