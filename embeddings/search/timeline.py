"""How a topic moved over time: from each readout, its point on the topic, oldest first.

"What was said about grave visits?" gets the best few points; "and how has that changed since
2018?" wants every readout's say on it. So the topic is ranked as a question is, over every point
(not only the shortlist a question ranks), and each readout keeps its best-ranked point that
passes the same `found` test a question's answer must pass (`Searcher.passes`): no second
threshold. A readout with no such point is left out.

Entries carry what both front ends show (the CLI's list and chart, the bot's photo and list):
the readout, its date, countries and who spoke, the point, its key sentence and a short phrase
for a chart label (embeddings/search/excerpt.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embeddings.errors import ReadoutError
from embeddings.readouts.aliases import countries_in, host_country
from embeddings.model.blas import blas_threads
from embeddings.search.excerpt import key_phrase, key_sentence
from embeddings.search.query import read_question
from embeddings.records import Readout, point_label
from embeddings.search.searcher import Searcher

log = logging.getLogger(__name__)

EXACT_POINTS = 20_000  # up to this many points, every point is scored for the topic
LEXICAL_DEPTH = 20_000  # past it: the points with the most BM25 evidence...
DENSE_ROWS = 4_096  # ...and the nearest vectors. A point with none of the topic's words needs a
# cosine of 0.49 to pass `found` (threshold 0.37 at 0.75 weight); such points are among the
# nearest few thousand vectors unless thousands of points say the same thing

_BOUND = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
# "Japan-Russia Relations", "Testland–Exampleland Summit Telephone Talk": the pair of countries
_TITLE_PAIR = re.compile(r"^([A-Z][\w.]*(?: [A-Z][\w.]*){0,3}?)\s?[-–]\s?([A-Z][\w.]*(?: (?:of )?[A-Z][\w.]*){0,4}?)"
                         r"(?= Relations| Summit| Foreign| Leaders| Telephone| Talks?| Meeting|$)")


class DateError(ReadoutError, ValueError):
    """A date bound that is not YYYY, YYYY-MM or YYYY-MM-DD; the message says so."""


def parse_bound(text: str, end: bool = False) -> dt.date:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD` as the first day it covers, or with `end` the last:
    "--to 2020" means up to 31 December 2020."""
    m = _BOUND.match(text.strip())
    if not m:
        raise DateError(f"{text!r} is not a date; give YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2018 or 2020-08")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        if day is None:
            first = dt.date(year, int(month), 1)
            if not end:
                return first
            return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return dt.date(year, int(month), int(day))
    except ValueError:
        raise DateError(f"{text!r} is not a day of the calendar; give YYYY, YYYY-MM or YYYY-MM-DD") from None


@dataclass(frozen=True)
class Span:
    """The dates a timeline keeps, both ends included; None for an open end."""

    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def filtered(self) -> bool:
        return self.start is not None or self.end is not None

    def keeps(self, iso: str | None) -> bool:
        """Undated readouts are kept only without a filter (they cannot be placed in one)."""
        if iso is None:
            return not self.filtered
        d = dt.date.fromisoformat(iso)
        return (self.start is None or d >= self.start) and (self.end is None or d <= self.end)


@dataclass
class TimelineEntry:
    """One readout's point on the topic."""

    date: str | None  # ISO YYYY-MM-DD
    doc: str
    title: str
    point: int | None
    position: int
    preamble: bool
    speakers: list[str]  # who speaks in the point, as the readout names them
    participants: list[str]  # who took part in the talk ("Prime Minister Abe")
    countries: list[str]  # the countries the readout is between, its title's order first
    text: str  # the whole point
    sentence: str  # the point's sentence with the most of the topic's words
    phrase: str  # a few words of it, for a chart label
    score: float  # the point's confidence (0-1): what the relevance threshold is applied to
    source: str | None = None
    name: str = ""  # the readout as people say it: who talked, how and when (readouts/naming.py)

    @property
    def label(self) -> str:
        return point_label(self.point, self.position, self.preamble)

    @property
    def who(self) -> list[str]:
        """Who spoke, by name: "the two ministers" becomes the ministers who took part."""
        named = [s for s in self.speakers if not s.lower().startswith("the ")]
        return named or list(self.participants) or list(self.speakers)

    def to_dict(self) -> dict[str, Any]:
        """The documented `--json` keys first; the keys after them are additive."""
        return {
            "date": self.date, "doc": self.doc, "title": self.title, "point": self.point,
            "speakers": list(self.speakers), "text": self.text, "score": round(float(self.score), 4),
            "position": self.position, "preamble": self.preamble, "participants": list(self.participants),
            "countries": list(self.countries), "sentence": self.sentence, "phrase": self.phrase,
            "source": self.source, "name": self.name,
        }


@dataclass
class Timeline:
    """A topic's entries, oldest first (undated last), and what was searched."""

    topic: str
    entries: list[TimelineEntry]
    readouts: int  # readouts searched (those the date filter keeps)
    span: Span = field(default_factory=Span)

    @property
    def dated(self) -> list[TimelineEntry]:
        return [e for e in self.entries if e.date is not None]

    @property
    def undated(self) -> int:
        return len(self.entries) - len(self.dated)

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "entries": [e.to_dict() for e in self.entries]}


def readout_countries(r: Readout, named: list[str]) -> list[str]:
    """The countries a readout is between: the pair its title names ("Japan-Russia Relations",
    kept as written when the alias table does not know a name, such as an invented "Testland");
    without one, those the index found in its title and preamble (`named`), its participants'
    (when known: the parser's "Foreign Affairs" of "Minister for Foreign Affairs" is no country)
    and its publisher's. The title's pair wins because a preamble also names where the talk was
    held (the 2020 Japan-Russia meeting in Munich is not about Germany)."""
    out: list[str] = []

    def add(name: str | None, unknown_too: bool = False) -> None:
        known = countries_in(name or "")
        if not known and unknown_too and name:
            known = [name.strip()]
        out.extend(c for c in known if c not in out)

    m = _TITLE_PAIR.match(r.title.strip())
    if m:
        add(m.group(1), unknown_too=True)
        add(m.group(2), unknown_too=True)
        if len(out) == 2:
            return out
    for c in named:
        add(c)
    for p in r.participants:
        add(p.country)
    add(host_country(r.source))
    return out


def _candidates(searcher: Searcher, vec: np.ndarray, bm25: np.ndarray) -> np.ndarray:
    """The points scored for the topic: all of them up to EXACT_POINTS, else the best by BM25
    and the nearest vectors (a question looks at ~400; a timeline needs every readout's best)."""
    index = searcher.index
    if index.n_points <= EXACT_POINTS:
        return np.arange(index.n_points)
    from embeddings.index.lexical import best

    lexical = best(bm25, LEXICAL_DEPTH)
    _, rows = index.vectors.search(vec.reshape(1, -1), min(index.vectors.ntotal, DENSE_ROWS))
    dense = index.units[rows[0][rows[0] >= 0]]
    return np.union1d(dense[dense >= 0], lexical)


def timeline(searcher: Searcher, topic: str, span: Span | None = None) -> Timeline:
    """Every readout's best point on `topic` that passes `found`, oldest first, undated last."""
    span = span or Span()
    index = searcher.index
    table = index.table
    kept = np.array([span.keeps(d) for d in table.dates], dtype=bool)
    q = read_question(topic)
    vec = np.ascontiguousarray(searcher.encoder.encode_queries([topic])[0], dtype=np.float32)
    with blas_threads(1):
        bm25 = index.lexical.scores(q.content or q.text)
        cands = _candidates(searcher, vec, bm25)
        cands = cands[kept[index.point_readout[cands]]]
        if not len(cands):
            return Timeline(topic, [], int(kept.sum()), span)
        passing = searcher.best_per_readout(q, vec, cands, bm25)
    entries = [_entry(searcher, int(index.point_readout[p.pid]), p.pid, searcher.confidence(q, p.pid, p.dense), topic)
               for p in passing]
    entries.sort(key=lambda e: (e.date is None, e.date or "", e.title.casefold(), e.doc))
    log.debug("timeline %r: %d of %d readouts", topic, len(entries), int(kept.sum()))
    return Timeline(topic, entries, int(kept.sum()), span)


def _entry(searcher: Searcher, ri: int, pid: int, score: float, topic: str) -> TimelineEntry:
    r, p = searcher.index.point(pid)
    sentence = key_sentence(p.text, topic)
    return TimelineEntry(
        date=r.iso_date, doc=r.doc, title=r.title, point=p.number, position=p.position, preamble=p.preamble,
        speakers=list(p.speakers), participants=[x.label for x in r.participants],
        countries=readout_countries(r, list(searcher.index.table.countries[ri])),
        text=p.text, sentence=sentence, phrase=key_phrase(sentence, topic), score=score, source=r.source,
        name=(searcher.index.table.names or [""] * (ri + 1))[ri] or r.title,
    )
