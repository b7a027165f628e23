"""A timeline as plain text for a terminal: one line per readout, then its key sentence."""

from __future__ import annotations

import textwrap

from embeddings.readouts.shown import without_date
from embeddings.search.excerpt import around
from embeddings.search.timeline import Span, Timeline, TimelineEntry

SENTENCE_CHARS = 320  # a longer key sentence (a run-on MOFA paragraph) is cut around the topic


def span_words(span: Span) -> str:
    """" between 2018-01-01 and 2020-12-31", " from 2018-01-01", "" without a filter."""
    if span.start and span.end:
        return f" between {span.start} and {span.end}"
    if span.start:
        return f" from {span.start} on"
    if span.end:
        return f" up to {span.end}"
    return ""


def nothing_found(tl: Timeline) -> str:
    """What an empty timeline says: what was searched, and what to try next."""
    where = f"{tl.readouts} readout{'' if tl.readouts == 1 else 's'}{span_words(tl.span)}"
    return (f'No point in the {where} is about "{tl.topic}" closely enough to list. '
            f'Try other words, or readout ask "{tl.topic}" for the nearest points.')


def heading(tl: Timeline) -> str:
    """"grave visits: 3 of 60 readouts, 2018-07-31 to 2021-10-07"; with --from/--to, "2 of 16
    readouts between 2018-01-01 and 2020-12-31, 2018-07-31 to 2020-08-31"."""
    dated = tl.dated
    n = len(tl.entries)
    text = f"{tl.topic}: {n} of {tl.readouts} readout{'' if tl.readouts == 1 else 's'}{span_words(tl.span)}"
    if dated:
        first, last = dated[0].date, dated[-1].date
        text += f", {first}" if first == last else f", {first} to {last}"
    if tl.undated:
        text += f" ({tl.undated} undated, listed last)"
    return text


def entry_name(e: TimelineEntry) -> str:
    """The readout's name without the day the line starts with ("Kono – Lavrov foreign
    ministers' meeting"); its page title in an index written before names were kept."""
    name = " ".join((getattr(e, "name", "") or "").split())
    return without_date(name, e.date) if name else e.title


def entry_line(e: TimelineEntry) -> str:
    """"2018-07-31  Kono – Lavrov foreign ministers' meeting, point 2 — Foreign Minister Kono,
    Minister Lavrov"."""
    who = ", ".join(e.who)
    return f"{e.date or 'undated':<10}  {entry_name(e)}, {e.label}" + (f" — {who}" if who else "")


def format_timeline(tl: Timeline, width: int = 100) -> str:
    if not tl.entries:
        return nothing_found(tl)
    lines = [heading(tl), ""]
    for e in tl.entries:
        lines.append(entry_line(e))
        lines.append(textwrap.fill(around(e.sentence, tl.topic, SENTENCE_CHARS), width=width,
                                   initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)
