"""A readout's stored name shown beside its date, and text cut to fit: what the front ends use
for every answer. Apart from naming.py, which makes the names when readouts are indexed, so that
answering a question need not load it.
"""

from __future__ import annotations

import datetime as dt


def spoken_date(d: dt.date) -> str:
    """ "7 October 2021": day without a leading zero, month and year in words."""
    return f"{d.day} {d:%B} {d.year}"


def without_date(name: str, iso: str | None) -> str:
    """`name` without its closing ", 7 October 2021" when that is the day `iso`: for lists that
    show the date on their own (a timeline's entries lead with it)."""
    if not iso:
        return name
    try:
        day = spoken_date(dt.date.fromisoformat(iso))
    except ValueError:
        return name
    tail = f", {day}"
    return name[: -len(tail)] if name.endswith(tail) and len(name) > len(tail) else name


def names_date(name: str, iso: str | None) -> bool:
    """Whether `name` already says the day `iso` (so a heading need not repeat it)."""
    if not iso or not name:
        return False
    try:
        return spoken_date(dt.date.fromisoformat(iso)) in name
    except ValueError:
        return False


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters, with an ellipsis
    if cut (names, and the front ends' excerpts)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"
