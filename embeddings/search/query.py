"""Reading a question before searching: who it asks about, when, and what it is about.

"What did Putin say about North Korea?" is a speaker (Putin) and a topic (North Korea); "Will the two
leaders meet?" is about meeting, and "the two leaders" appear in half the points of any readout.
Taking the speaker and time out of the words that BM25 matches, and using them as preferences
instead, keeps common names from outvoting the topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from embeddings.readouts.aliases import Leader, countries_in, leaders_in
from embeddings.readouts.dates import MONTH_NAMES, MONTHS

_COLLECTIVE = re.compile(
    r"\b(?:the\s+two|both|the)\s+(?:leaders|sides|ministers|foreign\s+ministers|prime\s+ministers|heads\s+of\s+\w+)\b", re.I
)
_SPEECH = r"(?:say|said|says|tell|told|state|stated|ask|asked|think|propose|proposed|want|express|expressed|mention|mentioned|raise|raised|note|noted|explain|explained|stress|stressed|request|requested|offer|offered|convey|conveyed|thank|thanked|emphasi[sz]e|emphasi[sz]ed|call|called|welcome|welcomed|urge|urged)"
_ABOUT_TALK = re.compile(
    r"\b(?:when|where|how\s+long|what\s+time|how\s+many\s+minutes|duration|who\s+(?:called|phoned|talked|spoke|met|held|initiated)"
    r"|who\s+(?:was|were)\s+(?:on|in|at)|(?:call|talk|meeting)\s+(?:last|lasted|start|began|begin))\b",
    re.I,
)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
_MONTH = re.compile(r"\b(" + MONTH_NAMES + r")\b\.?", re.I)


@dataclass
class Query:
    text: str
    content: str  # what BM25 matches: the question without its speaker and time words
    speakers: list[Leader] = field(default_factory=list)
    collective: bool = False  # "the two leaders"
    countries: list[str] = field(default_factory=list)
    year: int | None = None
    month: int | None = None
    about_the_talk: bool = False  # when/where/how long/who talked: what preambles answer
    leaders: list[Leader] = field(default_factory=list)  # every leader named, speaker or not


def read_question(text: str) -> Query:
    content = text
    speakers: list[Leader] = []
    named = leaders_in(text)
    for leader in named:
        for name in sorted(leader.names, key=len, reverse=True):
            pat = re.compile(
                r"(?:\b(?:did|does|do|has|had|would|will)\s+(?:\w+\s+){0,2})?"
                r"(?:(?:prime\s+minister|president|chancellor|premier|minister|secretary|mr\.?|ms\.?)\s+)?"
                + re.escape(name) + r"(?!['’]s)\b(?=\s+" + _SPEECH + r"|\s*\?|\s+(?:say|on|about)\b)",
                re.I,
            )
            m = pat.search(content)
            if m:
                speakers.append(leader)
                content = content[: m.start()] + " " + content[m.end():]
                break
    collective = bool(_COLLECTIVE.search(content))
    content = _COLLECTIVE.sub(" ", content)
    year = None
    m = _YEAR.search(text)
    if m:
        year = int(m.group(1))
    month = None
    mm = _MONTH.search(text)
    if mm and (mm.group(1).lower() != "may" or mm.group(0)[0] == "M") and (year or mm.group(1)[0].isupper()):
        if len(mm.group(1)) > 3 or mm.group(0).endswith(".") or year:
            month = MONTHS[mm.group(1).lower()]
    return Query(
        text=text,
        content=" ".join(content.split()),
        speakers=speakers,
        collective=collective,
        countries=countries_in(text),
        year=year,
        month=month,
        about_the_talk=bool(_ABOUT_TALK.search(text)),
        leaders=named,
    )
