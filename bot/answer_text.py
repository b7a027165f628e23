"""Answers as plain text for a terminal: the best points, each with where it comes from."""

from __future__ import annotations

import textwrap

from embeddings.records import Answer, Hit


def cite(hit: Hit) -> str:
    """"Japan-Russia Relations, 2021-10-07, point 5": readout, date and point, as a reader cites it."""
    parts = [hit.title, hit.date or "undated", hit.label]
    return ", ".join(parts)


def format_hit(hit: Hit, rank: int, width: int = 100) -> str:
    lines = [f"[{rank}] {cite(hit)}  (score {hit.score:.2f})"]
    if hit.speakers:
        lines.append(f"    who: {', '.join(hit.speakers)}")
    lines.append(f"    from: {hit.doc}" + (f"  {hit.source}" if hit.source else ""))
    for para in hit.text.split("\n"):
        lines.append(textwrap.fill(para, width=width, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def format_answer(answer: Answer, width: int = 100) -> str:
    if not answer.hits:
        return "Nothing in the corpus yet."
    head = [] if answer.found else ["Nothing relevant found. The nearest points are:"]
    body = [format_hit(h, i, width) for i, h in enumerate(answer.hits, start=1)]
    return "\n\n".join(head + body)
