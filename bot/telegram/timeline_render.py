"""Telegram-HTML for /timeline: the chart's caption and the list of points, a page at a time.

As in render.py, every piece of corpus or user text goes through `esc`. The caption must stay
within Telegram's 1,024 characters; the list is cut into pages of a few entries, each sent with
its own row of **Full readout** buttons (the same callback data as an answer's, buttons.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.timeline_text import entry_name
from embeddings.search.excerpt import around
from embeddings.search.timeline import Timeline, TimelineEntry

from .buttons import readout_data
from .catalog import readout_key
from .render import esc, human_date, shorten

CAPTION_LIMIT = 1024  # Telegram's, after entity parsing
PER_PAGE = 8  # entries per list message: ~8 x 450 characters stays under one message's 4,096
LISTED = 40  # entries listed at most (five messages); the chart shows every dated one
SENTENCE_CHARS = 300
EXAMPLE_TOPIC = "grave visits"
USAGE = ("Send /timeline and a topic, e.g. <i>/timeline grave visits</i>: I show every readout's "
         "point on it, oldest first, with a chart.")


def nothing_found(tl: Timeline) -> str:
    n = tl.readouts
    return (f"None of the {n} readout{'' if n == 1 else 's'} I know says anything about "
            f"<i>{esc(shorten(tl.topic, 200))}</i> closely enough to show. Try other words, or ask "
            "a question about it.")


def _span(tl: Timeline) -> str:
    dated = tl.dated
    if not dated:
        return ""
    first, last = human_date(dated[0].date), human_date(dated[-1].date)
    return f", {first}" if first == last else f", {first} to {last}"


def caption(tl: Timeline) -> str:
    """The photo's caption: the topic, how many readouts and when; within CAPTION_LIMIT."""
    n = len(tl.entries)
    text = (f"<b>{esc(shorten(tl.topic, 200))}</b> over time: {n} readout{'' if n == 1 else 's'}"
            f"{esc(_span(tl))}.")
    if tl.undated:
        text += f" {tl.undated} undated, not on the chart."
    return text + " The list follows."


@dataclass(frozen=True)
class Page:
    """One list message and its buttons."""

    html: str
    keyboard: InlineKeyboardMarkup | None


def _entry(number: int, e: TimelineEntry, topic: str) -> str:
    when = human_date(e.date) or "undated"
    lines = [f"{number}. <b>{esc(when)}</b> — {esc(entry_name(e))}, {esc(e.label)}"]
    if e.who:
        lines.append(esc(", ".join(e.who)))
    lines.append(f"<i>{esc(around(e.sentence, topic, SENTENCE_CHARS))}</i>")
    return "\n".join(lines)


def _button(number: int, e: TimelineEntry) -> InlineKeyboardButton:
    when = e.date or "undated"
    return InlineKeyboardButton(f"{number}. Full readout, {when}", callback_data=readout_data(readout_key(e.doc)))


def pages(tl: Timeline) -> list[Page]:
    """The list, oldest first, PER_PAGE entries a message; past LISTED entries, the most recent
    LISTED (the chart has the older ones too)."""
    numbered = list(enumerate(tl.entries, start=1))
    skipped = 0
    if len(numbered) > LISTED:  # undated entries come last, so the cut takes the oldest dated
        skipped = len(numbered) - LISTED
        numbered = numbered[-LISTED:]
    head = f"<b>{esc(shorten(tl.topic, 200))}</b>: {len(tl.entries)} of {tl.readouts} readouts, oldest first"
    if skipped:
        head += f"; the latest {len(numbered)} listed, the {skipped} older ones are on the chart"
    out = []
    for start in range(0, len(numbered), PER_PAGE):
        chunk = numbered[start:start + PER_PAGE]
        body = "\n\n".join(_entry(n, e, tl.topic) for n, e in chunk)
        html = f"{head}\n\n{body}" if start == 0 else body
        buttons = [_button(n, e) for n, e in chunk]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        out.append(Page(html, InlineKeyboardMarkup(rows)))
    return out
