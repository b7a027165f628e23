"""What text stands for a point in the two indexes.

A point alone often lacks its context: "The two leaders also discussed North Korea" does not say
which leaders, when. So the embedded text carries the readout's title, month and participants, and
the BM25 text also the participants' countries. all-MiniLM-L6-v2 reads at most 256 word pieces, so
long points are embedded as overlapping windows of sentences; a point scores as its best window.
"""

from __future__ import annotations

import re

from .aliases import countries_in
from .records import Point, Readout

WINDOW_WORDS = 150  # about 200 word pieces: room for the context line within 256
_SENTENCE = re.compile(r"(?<=[.!?;”\"])\s+(?=[A-Z“\"(•])|\n+")


def context_line(r: Readout) -> str:
    when = r.date.strftime("%B %Y") if r.date else ""
    people = ", ".join(p.label for p in r.participants if p.surname)
    bits = [r.title, when, people]
    return " | ".join(b for b in bits if b)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def windows(text: str, max_words: int = WINDOW_WORDS) -> list[str]:
    """The whole text when short, else runs of sentences of at most `max_words` words that
    overlap by one sentence, so no sentence loses the one before it."""
    if len(text.split()) <= max_words:
        return [text]
    sents = sentences(text)
    out: list[str] = []
    i = 0
    while i < len(sents):
        j, words = i, 0
        while j < len(sents) and (j == i or words + len(sents[j].split()) <= max_words):
            words += len(sents[j].split())
            j += 1
        out.append(" ".join(sents[i:j]))
        if j >= len(sents):
            break
        i = max(j - 1, i + 1)
    return out


def dense_texts(r: Readout, p: Point) -> list[str]:
    """The point (in windows when long) and, when it has several, each of its sentences: a
    question usually matches one sentence of a point, and a point's average dilutes it."""
    out = windows(p.text)
    sents = sentences(p.text)
    if len(sents) > 1:
        out += [s for s in sents if len(s.split()) >= 4]
    return out


def readout_countries(r: Readout) -> str:
    return " ".join(countries_in(f"{r.title} {r.preamble}"))


def lexical_text(r: Readout, p: Point, countries: str | None = None) -> str:
    """BM25 text of a point: its words, and its readout's title and countries (so "Japan Canada"
    finds the points of the Japan-Canada talks). `countries` saves recomputing them per point."""
    if countries is None:
        countries = readout_countries(r)
    return f"{r.title} {countries} {p.text}"
