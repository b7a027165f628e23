"""What text stands for a point in the two indexes.

Dense: the point itself (in overlapping sentence windows when longer than all-MiniLM-L6-v2's 256
word pieces), the same text after a context line (who talked, and when), and each of its
sentences; a point scores as its best unit. The context line is an extra unit, not a prefix of the
only one: as the only text it hurt (the cosine of "What was said about grave visits?" with point 5
of the seed fell from 0.37 to 0.15, the context drowning the point), beside the plain text it lets
"did Abe and Putin talk about ..." reach the point through the names (dev set R@3 0.922 -> 0.949,
MRR 0.873 -> 0.883). The readout's title and countries also go into the BM25 text, and the
question's speakers, dates and countries are preferences in search.py.
"""

from __future__ import annotations

import re

from embeddings.readouts.aliases import countries_in
from embeddings.records import Point, Readout

UNITS_RECIPE = 2  # how points become dense units (this module and the aliases it uses); an index
# made by another recipe is rebuilt, and only a same-recipe index lends whole readouts
LEXICAL_RECIPE = 2  # how points become BM25 tokens (`lexical_text`, lexical.tokenize): an index of
# another recipe has its BM25 side redone on the next update, its vectors kept. 1 (indexes that do
# not say): the indexer took the table's speakers column for the readout's countries
WINDOW_WORDS = 150  # about 200 word pieces, within the model's 256
_SENTENCE = re.compile(r"(?<=[.!?;”\"])\s+(?=[A-Z“\"(•])|\n+")


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


def context_line(r: Readout) -> str:
    """Who talked and when, as the points call them: "Prime Minister Kishida, President Putin, 2016-05-06"."""
    return ", ".join([*(x.label for x in r.participants), *([r.iso_date] if r.iso_date else [])])


def dense_texts(r: Readout, p: Point, context: str | None = None) -> list[str]:
    """The point (in windows when long), the same after the readout's context line, and, when it
    has several, each of its sentences: a question usually matches one sentence of a point, and a
    point's average dilutes it. Preambles get no context unit: they already name who and when.
    `context` saves recomputing the line per point."""
    out = windows(p.text)
    if context is None:
        context = context_line(r)
    if context and not p.preamble:
        out += [f"{context}: {w}" for w in out]
    sents = sentences(p.text)
    if len(sents) > 1:
        out += [s for s in sents if len(s.split()) >= 4]
    return out


def readout_countries(r: Readout) -> str:
    """The countries a readout's title and preamble name (what `ReadoutTable.row` keeps), as words."""
    return " ".join(countries_in(f"{r.title}\n{r.preamble}"))


def lexical_text(r: Readout, p: Point, countries: str | None = None) -> str:
    """BM25 text of a point: its words, and its readout's title and countries (so "Japan Canada"
    finds the points of the Japan-Canada talks). `countries` saves recomputing them per point."""
    if countries is None:
        countries = readout_countries(r)
    return f"{r.title} {countries} {p.text}"
