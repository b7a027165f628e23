"""The records that flow through readout: readouts and their points, then hits and answers.

They are plain dataclasses so that every stage (parser, index, search, front ends) can pass them
around and serialise them without knowing about the others.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Participant:
    """A person named in a readout's preamble, e.g. "Mr. KISHIDA Fumio, Prime Minister of Japan"."""

    name: str  # as written, cleaned of honorifics: "KISHIDA Fumio", "Putin, Vladimir Vladimirovich"
    surname: str  # the name people use after a title: "Kishida", "Putin"
    role: str  # "Prime Minister", "President", "Minister for Foreign Affairs", ...
    country: str | None = None  # "Japan", "the Russian Federation", ...

    @property
    def label(self) -> str:
        """How readouts refer to the person in their points: "Prime Minister Kishida"; the
        publisher's own unnamed leader in UK/US readouts is "the Prime Minister"."""
        if not self.surname:
            return f"the {self.role}"
        return f"{short_role(self.role)} {self.surname}".strip()


def short_role(role: str) -> str:
    """Foreign ministers are "Minister Kono" in the points, not "Minister for Foreign Affairs Kono"."""
    low = role.lower()
    if "foreign" in low and "minister" in low:
        return "Foreign Minister"
    if low.startswith("minister"):
        return "Minister"
    return role


@dataclass
class Point:
    """One answerable unit of a readout.

    `number` is the point's own number ("5." -> 5) or None for an unnumbered paragraph; `position`
    is its 1-based place among the readout's points, so every point can be cited even without a
    number. The preamble of a numbered readout is kept as position 0 with `preamble=True`, because
    questions such as "how long did the call last?" are answered there and nowhere else.
    """

    number: int | None
    position: int
    text: str
    speakers: list[str] = field(default_factory=list)
    preamble: bool = False

    @property
    def label(self) -> str:
        return point_label(self.number, self.position, self.preamble)


def point_label(number: int | None, position: int, preamble: bool) -> str:
    """How answers cite a point: "point 5", "paragraph 2" (unnumbered readouts) or "preamble"."""
    if preamble:
        return "preamble"
    if number is not None:
        return f"point {number}"
    return f"paragraph {position}"


@dataclass
class Readout:
    """A parsed readout. `doc` is its path relative to the corpus folder (`file.jsonl#id` for JSONL)."""

    doc: str
    title: str
    date: _dt.date | None
    source: str | None
    participants: list[Participant]
    preamble: str
    points: list[Point]

    @property
    def iso_date(self) -> str | None:
        return self.date.isoformat() if self.date else None


@dataclass
class Hit:
    """A point returned for a question, with everything needed to cite it."""

    doc: str
    title: str
    date: str | None  # ISO YYYY-MM-DD
    point: int | None
    position: int
    text: str
    score: float  # the ranking score: compares points for one question, and can pass 1
    speakers: list[str]
    source: str | None = None
    preamble: bool = False
    name: str = ""  # the readout as people say it: who talked, how and when (readouts/naming.py)
    confidence: float = 0.0  # 0-1: how surely this point answers the question (what `found` is decided on)

    @property
    def label(self) -> str:
        return point_label(self.point, self.position, self.preamble)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` shape; extra keys after the documented ones are additive. `score` is the
        0-1 confidence users read (also under its own name); `rank_score` what the hits are
        ordered by, which compares points for this question only."""
        return {
            "doc": self.doc,
            "title": self.title,
            "date": self.date,
            "point": self.point,
            "text": self.text,
            "score": round(float(self.confidence), 4),
            "speakers": list(self.speakers),
            "position": self.position,
            "source": self.source,
            "preamble": self.preamble,
            "name": self.name or self.title,
            "confidence": round(float(self.confidence), 4),
            "rank_score": round(float(self.score), 4),
        }


@dataclass
class Answer:
    """What a question gets: `found` says whether any hit passed the relevance threshold.

    When `found` is False the hits are still the nearest points, so a front end can show them as
    "nearest, but probably not what you asked".
    """

    question: str
    found: bool
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "hits": [h.to_dict() for h in self.hits],
        }


def readout_to_dict(r: Readout) -> dict[str, Any]:
    """Field by field rather than `dataclasses.asdict`, whose deep copies cost seconds on
    corpora of thousands of readouts (measured in benchmarks/update.py)."""
    return {
        "doc": r.doc,
        "title": r.title,
        "date": r.iso_date,
        "source": r.source,
        "participants": [{"name": p.name, "surname": p.surname, "role": p.role, "country": p.country} for p in r.participants],
        "preamble": r.preamble,
        "points": [{"number": p.number, "position": p.position, "text": p.text, "speakers": list(p.speakers),
                    "preamble": p.preamble} for p in r.points],
    }
