"""Inline keyboards and their callback data.

Telegram allows 1-64 bytes of callback data and delivers whatever a client sends, so the data
is a tiny grammar that is both built and parsed here, and anything that does not parse (a forged
or stale press) becomes `None` for the handler to answer with a short notice:

    m:<answer id>:<start>   "More results": hits from <start> of a stored answer
    r:<readout key>          "Full readout": the readout whose doc hashes to <readout key>
    s:<page>                 a page of /sources
    u:<follow id>            "Stop" under /following: stop following that topic (follow_handlers.py
                             answers it; `parse` leaves it to that handler)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_CALLBACK_BYTES = 64

_MORE_RE = re.compile(r"^m:([A-Za-z0-9_-]{1,16}):(\d{1,4})$")
_READOUT_RE = re.compile(r"^r:([0-9a-f]{10})$")
_SOURCES_RE = re.compile(r"^s:(\d{1,5})$")
UNFOLLOW_PATTERN = r"^u:(\d{1,18})$"


@dataclass(frozen=True)
class More:
    answer_id: str
    start: int


@dataclass(frozen=True)
class FullReadout:
    key: str


@dataclass(frozen=True)
class SourcesPage:
    page: int


Action = More | FullReadout | SourcesPage


def _checked(data: str) -> str:
    if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data of {len(data.encode())} bytes")
    return data


def more_data(answer_id: str, start: int) -> str:
    return _checked(f"m:{answer_id}:{start}")


def readout_data(key: str) -> str:
    return _checked(f"r:{key}")


def sources_data(page: int) -> str:
    return _checked(f"s:{page}")


def unfollow_data(follow_id: int) -> str:
    return _checked(f"u:{follow_id}")


def parse_unfollow(data: str | None) -> int | None:
    """The follow id of a "Stop" button, or None for other data."""
    m = re.match(UNFOLLOW_PATTERN, data or "")
    return int(m.group(1)) if m else None


def parse(data: str | None) -> Action | None:
    """The action a button stands for, or None for data this bot never made."""
    if not data:
        return None
    if m := _MORE_RE.match(data):
        return More(m.group(1), int(m.group(2)))
    if m := _READOUT_RE.match(data):
        return FullReadout(m.group(1))
    if m := _SOURCES_RE.match(data):
        return SourcesPage(int(m.group(1)))
    return None


def _label(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def answer_keyboard(
    answer_id: str | None, more_start: int | None, readout_keys: list[tuple[str, str]]
) -> InlineKeyboardMarkup | None:
    """Buttons under an answer: "More results" (if more hits) and "Full readout" per readout.

    `readout_keys` are (key, title) pairs; with one readout the button just says "Full readout",
    with several each names its readout.
    """
    rows: list[list[InlineKeyboardButton]] = []
    first_row: list[InlineKeyboardButton] = []
    if answer_id is not None and more_start is not None:
        first_row.append(
            InlineKeyboardButton("More results", callback_data=more_data(answer_id, more_start))
        )
    if len(readout_keys) == 1:
        first_row.append(
            InlineKeyboardButton("Full readout", callback_data=readout_data(readout_keys[0][0]))
        )
    if first_row:
        rows.append(first_row)
    if len(readout_keys) > 1:
        for key, title in readout_keys:
            rows.append(
                [
                    InlineKeyboardButton(
                        _label(f"Full readout: {title}"), callback_data=readout_data(key)
                    )
                ]
            )
    return InlineKeyboardMarkup(rows) if rows else None


def sources_keyboard(page: int, pages: int) -> InlineKeyboardMarkup | None:
    """◀/▶ buttons for /sources; none when everything fits on one page."""
    if pages <= 1:
        return None
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀ Newer", callback_data=sources_data(page - 1)))
    if page + 1 < pages:
        row.append(InlineKeyboardButton("Older ▶", callback_data=sources_data(page + 1)))
    return InlineKeyboardMarkup([row])
