"""Answers as plain text for a terminal: the best points, each with where it comes from."""

from __future__ import annotations

import textwrap

from embeddings.readouts.shown import names_date
from embeddings.records import Answer, Hit


def readout_called(hit: Hit) -> str:
    """The readout's name ("Kishida – Putin telephone talk, 7 October 2021"), or its page title
    when the index has no names (written before they were kept)."""
    return " ".join((hit.name or "").split()) or hit.title


def cite(hit: Hit) -> str:
    """"Kishida – Putin telephone talk, 7 October 2021, point 5": readout, date and point, as a
    reader cites it; the ISO date follows a name that does not say it ("Japan-Russia Relations,
    2021-10-07, point 5")."""
    name = readout_called(hit)
    parts = [name] if names_date(name, hit.date) else [name, hit.date or "undated"]
    return ", ".join(parts + [hit.label])


def source_text(hit: Hit) -> str | None:
    """"Japan-Russia Relations — https://...": the page's own title (unless the heading shows it
    already) and its address."""
    title = " ".join(hit.title.split())
    if title.casefold() in readout_called(hit).casefold():
        title = ""
    parts = [p for p in (title, (hit.source or "").strip()) if p]
    return " — ".join(parts) or None


def format_hit(hit: Hit, rank: int, width: int = 100) -> str:
    lines = [f"[{rank}] {cite(hit)}  (confidence {hit.confidence:.2f})"]
    if hit.speakers:
        lines.append(f"    who: {', '.join(hit.speakers)}")
    source = source_text(hit)
    if source:
        lines.append(f"    source: {source}")
    lines.append(f"    from: {hit.doc}")
    for para in hit.text.split("\n"):
        lines.append(textwrap.fill(para, width=width, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def format_answer(answer: Answer, width: int = 100) -> str:
    if not answer.hits:
        return "Nothing in the corpus yet."
    head = [] if answer.found else ["Nothing relevant found. The nearest points are:"]
    body = [format_hit(h, i, width) for i, h in enumerate(answer.hits, start=1)]
    return "\n\n".join(head + body)
