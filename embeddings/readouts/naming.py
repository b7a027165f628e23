"""A readout's name as people say it: who talked, how and when.

MOFA heads many pages with the name of a section ("Japan-Russia Relations" heads seven different
readouts of ours), so the page title does not tell one readout from another. The name does:

    Kishida – Putin telephone talk, 7 October 2021
    Johnson – Suga call, 23 September 2020
    Kono – Lavrov foreign ministers' meeting, 31 July 2018
    UK Prime Minister – Kishida call, 13 October 2021

- the people are the participants' surnames as the readout writes them, in the order its opening
  sentence names them; the publisher's own unnamed leader ("The Prime Minister spoke to ...") is
  named by the title's words when they name them, else by the role and the publisher's country;
  people named as "former"/"late" someone (a condolence call about them) took no part;
- the kind of talk is the readout's own words: "telephone talk", "call", "meeting", "informal
  talks", "videoconference" ...; "foreign ministers'" when the talk was between foreign ministers;
- the date is the day of the talk when the opening says it ("On September 3, commencing at
  11:28 p.m." on a page dated September 4), else the readout's date, written out: "3 September 2017".

Without two people the name is the title and the date; without a date, the name has none.
It is never empty, and is at most NAME_CHARS characters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from embeddings.readouts.aliases import host_country, leader_named
from embeddings.readouts.dates import MONTH_NAMES, MONTHS, find_date
from embeddings.readouts.shown import shorten, spoken_date
from embeddings.records import Participant, Readout

NAME_CHARS = 90
OPENING_CHARS = 600  # the opening sentence(s) names who talked, how and when
TITLE_CHARS = 300  # of the title, searched for the kind of talk and the own leader's name
DATE_CHARS = 250  # of the opening, searched for the day of the talk ("On September 3, ...")
MAX_PEOPLE = 3
DASH = " – "

# How the publisher's country is written before its leader's role: "UK Prime Minister".
_ADJECTIVE = {
    "United Kingdom": "UK", "United States": "US", "Japan": "Japanese", "Russia": "Russian",
    "Canada": "Canadian", "France": "French", "Germany": "German", "Australia": "Australian",
    "New Zealand": "New Zealand", "Ukraine": "Ukrainian", "India": "Indian", "China": "Chinese",
}

# The opening ends where the overview begins: "The overview of the meeting is as follows" would
# otherwise make a telephone talk a meeting.
_OPENING_END = re.compile(r"\b(?:The|An)\s+(?:overview|outline|summary)\b|\bThe\s+(?:meeting|talk)\s+was\s+also\s+attended\b")

# The kind of talk: an optional qualifier and the noun, in the readout's words. Strong kinds are
# taken from the opening first, then the title; weak ones only when no strong kind is found.
_QUALIFIER = (
    r"(?:(?P<fm>foreign\s+ministers?['’]?s?['’]?)\s+|(?P<informal>informal|brief|short)\s+"
    r"|(?:summit|bilateral|leaders['’]?|official|[a-z]+(?:[-–][a-z.]+)+)\s+)*"  # "Japan-U.S. Foreign Ministers’ Meeting"
)
_STRONG = [
    (r"video\s*(?:conference|teleconference)(?:\s+(?:talks?|meeting|call))?|videoconference(?:\s+(?:talks?|meeting|call))?"
     r"|teleconference|video\s+(?:call|talks?|meeting)|virtual\s+(?:meeting|talks?|summit)|online\s+(?:meeting|talks?|summit)",
     "videoconference"),
    (r"tele(?:phone)?[- ]?conversation", "telephone conversation"),
    (r"tele(?:phone)?[- ]?talks?", "telephone talk"),
    (r"(?:tele)?phone\s+calls?|telephone\s+call", "telephone call"),
    (r"conversation\s+by\s+telephone|talk(?:ed)?\s+(?:by|over\s+the)\s+(?:tele)?phone", "telephone talk"),
    (r"meetings?", "meeting"),
    (r"talks", "talks"),
]
_TITLE_ONLY = [(r"calls?(?!\s+(?:on|for|upon)\b)", "call")]  # "call" in a sentence is too often a verb
_WEAK = [
    (r"(?:spoke|speaks|talked)\s+(?:to|with)|(?:had|held)\s+a\s+(?:(?:brief|short)\s+)?(?:discussion|conversation)", "call"),
    (r"\bmet\b|\bmeets\b", "meeting"),
    (r"\bsummit\b", "summit"),  # weak: "met ... at the G7 Summit" was a meeting
    (r"visit(?:ed|s)?\b", "visit"),
]


def _compile(table: list[tuple[str, str]]) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(r"\b" + _QUALIFIER + r"(?P<noun>" + p + r")", re.I), label) for p, label in table]


_STRONG_RES = _compile(_STRONG)
_TITLE_RES = _compile(_STRONG + _TITLE_ONLY)
_WEAK_RES = [(re.compile(p, re.I), label) for p, label in _WEAK]

_WEEKDAY = r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?"
_EVENT_DATE = re.compile(
    r"\b[Oo]n\s+" + _WEEKDAY + r"(?P<month>" + MONTH_NAMES + r")\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?"
    r"(?:,?\s+(?P<year>\d{4}))?\b", re.I,
)
_FORMER = re.compile(r"\b(?:former|late|the\s+death\s+of)\s+(?:[A-Z][\w.'’\-]*\s+){0,5}$", re.I)


def readout_name(r: Readout) -> str:
    """The readout as people say it: "Kishida – Putin telephone talk, 7 October 2021"."""
    opening = _opening(r)
    when = _talk_date(r, opening)
    chosen = _chosen(r, opening)
    people = _names(r, chosen)
    title = _clean(r.title) or _clean(r.doc) or "Untitled readout"
    if len(people) < 2:
        return _fit(_title_and_date(title, r.date, when))
    kind = _kind(opening, title, chosen)
    date = f", {spoken_date(when)}" if when else ""
    for names, k in ((people, kind), (people, _unqualified(kind)), (people[:2], _unqualified(kind))):
        name = _clean(DASH.join(names) + (f" {k}" if k else "") + date)
        if len(name) <= NAME_CHARS:
            return name
    return _fit(name)


# --- parts -------------------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _fit(name: str) -> str:
    return shorten(name, NAME_CHARS)


def _opening(r: Readout) -> str:
    """The sentence(s) that say who talked, how and when: the preamble, or the first paragraph of
    a readout without one, up to where its overview begins."""
    intro = r.preamble or next((p.text for p in r.points if not p.preamble), "")
    intro = _clean(intro)[:OPENING_CHARS]
    m = _OPENING_END.search(intro)
    return intro[: m.start()] if m and m.start() > 0 else intro


def _title_and_date(title: str, date: dt.date | None, when: dt.date | None) -> str:
    """The fallback: "Japan-Russia Relations, 7 October 2021", or the title alone when it is
    undated or already says its date ("PM call with PM Suga of Japan: 23 September 2020")."""
    day = when or date
    if day is None or find_date(title) == day or spoken_date(day) in title:
        return title
    return f"{title}, {spoken_date(day)}"


def _talk_date(r: Readout, opening: str) -> dt.date | None:
    """The day of the talk: "On September 3, ..." in the opening, when it is at most two weeks
    before the readout's date (a readout without a date: when it gives its year); else the
    readout's date."""
    m = _EVENT_DATE.search(opening[:DATE_CHARS])
    if m is None:
        return r.date
    month, day = MONTHS[m.group("month").lower()], int(m.group("day"))
    year = int(m.group("year")) if m.group("year") else None
    if year is None and r.date is None:
        return None
    try:
        if year is not None:
            d = dt.date(year, month, day)
        else:
            assert r.date is not None
            d = dt.date(r.date.year, month, day)
            if d > r.date:
                d = dt.date(r.date.year - 1, month, day)
    except ValueError:
        return r.date
    if r.date is None:
        return d
    return d if 0 <= (r.date - d).days <= 14 else r.date


def _mention(p: Participant, opening: str) -> int | None:
    """Where the opening first names `p` as a party to the talk; None when it does not, or names
    them only as "former Prime Minister Shinzo Abe" (the subject of a condolence call)."""
    if not p.surname:
        role = re.escape(p.role).replace(r"\ ", r"\s+")
        if p.role == "Prime Minister":
            role = r"(?:Prime\s+Minister|PM)"
        m = re.search(r"\b(?:The|the)\s+" + role + r"\b(?!\s+of\b)", opening)
        return m.start() if m else None
    for m in re.finditer(r"(?<![\w-])" + re.escape(p.surname) + r"(?![\w-])", opening, re.I):
        if not _FORMER.search(opening[: m.start()][-80:]):
            return m.start()
    return None


def _chosen(r: Readout, opening: str) -> list[Participant]:
    """Who talked, in the order the opening names them."""
    placed = [(at, i, p) for i, p in enumerate(r.participants) if (at := _mention(p, opening)) is not None]
    placed.sort(key=lambda t: (t[0], t[1]))
    return [p for _, _, p in placed][:MAX_PEOPLE]


def _names(r: Readout, chosen: list[Participant]) -> list[str]:
    names: list[str] = []
    for p in chosen:
        name = _surname(p, r) if p.surname else _own_leader(p, r, chosen)
        if name and name not in names:
            names.append(name)
    return names


def _surname(p: Participant, r: Readout) -> str:
    """The surname as the points write it, when they write it in mixed case ("McDonald" for the
    parser's "Mcdonald" from a preamble's "MCDONALD"); else as the parser has it."""
    text = "\n".join(pt.text for pt in r.points)
    forms = Counter(m.group(0) for m in re.finditer(r"(?<![\w-])" + re.escape(p.surname) + r"(?![\w-])", text, re.I))
    mixed = [f for f, _ in forms.most_common() if not f.isupper() and not f.islower()]
    return mixed[0] if mixed else p.surname


def _own_leader(p: Participant, r: Readout, chosen: list[Participant]) -> str:
    """The publisher's own leader, whom UK and US readouts leave unnamed: by name when the title
    names them ("PM Keir Starmer's call with ..."), else "UK Prime Minister"."""
    country = host_country(r.source)
    others = {q.surname.lower() for q in chosen if q.surname}
    for m in re.finditer(r"\b(?:PM|Prime\s+Minister|President|Chancellor)\s+((?:[A-Z][\w'’\-.]*\s+){0,2}[A-Z][\w'’\-]+)",
                         r.title[:TITLE_CHARS]):
        for token in m.group(1).split():
            surname = re.sub(r"['’]s$", "", token)
            leader = leader_named(surname)
            if leader and leader.surname.lower() not in others and (country is None or leader.country == country):
                return leader.surname
    adjective = _ADJECTIVE.get(country or "")
    return f"{adjective} {p.role}" if adjective else p.role


def _search(res: list[tuple[re.Pattern[str], str]], text: str) -> tuple[int, re.Match[str], str] | None:
    found = [(m.start("noun"), m, label) for pat, label in res if (m := pat.search(text))]
    return min(found, key=lambda t: t[0]) if found else None


def _foreign_minister(p: Participant) -> bool:
    words = f"{p.role} {p.country or ''}".lower()
    return "foreign" in words or words.startswith(("secretary of state", "foreign secretary"))


def _kind(opening: str, title: str, people: list[Participant]) -> str:
    """ "telephone talk", "call", "foreign ministers' meeting" ...; "" when the readout does not say."""
    title = title[:TITLE_CHARS]
    hit = _search(_STRONG_RES, opening) or _search(_TITLE_RES, title)
    if hit is None:
        weak = [(m.start(), label) for pat, label in _WEAK_RES if (m := pat.search(opening))]
        return min(weak)[1] if weak else ""
    _, m, label = hit
    if m.group("informal"):
        label = f"{m.group('informal').lower()} {label}"
    if label == "meeting" and m.group("noun").lower().endswith("s"):
        label = "meetings"
    foreign = (bool(m.group("fm")) or bool(re.search(r"\bforeign\s+ministers?['’]", title, re.I))
               or (len(people) >= 2 and all(_foreign_minister(p) for p in people)))
    if foreign:
        label = f"foreign ministers' {label}"
    return label


def _unqualified(kind: str) -> str:
    return re.sub(r"^foreign ministers' ", "", kind)
