"""What a readout itself says about who and where, read once when it is indexed.

A question names people and places to select readouts: "What did Ilves say about fisheries?" can
only be answered by a readout Ilves is in. The built-in table (aliases.py) knows a few dozen
leaders; a user's corpus has its own, and its readouts say who they are ("Mr. RASK Henrik, Prime
Minister of the Republic of Norland"). So every readout's people and places are recorded in the
index table at build time, as the parser reads them, and search matches a question's names
against the people of this corpus, whatever countries they lead. It never parses readouts at
question time for this.

Each point also records which kinds of answer it holds (a number, a duration, a date, a place, a
person), for questions that ask how many, how long, when, where or who.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.readouts.aliases import COUNTRIES, countries_in, host_country, leaders_in
from embeddings.readouts.dates import MONTH_NAMES, MONTHS
from embeddings.records import Readout, short_role

# a title before a name: "President Ilves", "Prime Minister Rask", "Mr. KISHIDA Fumio"
TITLES = (
    r"(?:(?:Deputy\s+|Vice\s+|First\s+)?(?:Prime\s+Minister|President|Premier|Chancellor)"
    r"|(?:Foreign|Defen[cs]e|Finance|Trade)\s+(?:Minister|Secretary)|Minister(?:\s+for\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)?"
    r"|Secretary(?:\s+of\s+State|[\s-]General)?|State\s+Councill?or|Ambassador|Governor|Senator|Speaker"
    r"|King|Queen|Emperor|Empress|Crown\s+Prince|Prince|Princess|Emir|Sultan|Sheikh"
    r"|Mr|Ms|Mrs|Dr|Madam|Madame)\.?"
)
# the name after it: capitalised words or MOFA's capitals ("KISHIDA Fumio"), up to three
_NAME_WORD = r"(?:[A-Z][a-z]+(?:['’-][A-Za-z]+)*|[A-Z]{2,}(?:-[A-Z]+)?)"
NAMED = re.compile(r"\b" + TITLES + r"\s+(" + _NAME_WORD + r"(?:\s+" + _NAME_WORD + r"){0,2})")
# words that follow a title without being a name ("President Of", "Minister Today")
NOT_NAMES = frozenset(
    """the of and for his her their our its a an to in on at by with from this that who which said stated
    also today yesterday again both foreign prime minister president premier chancellor secretary general
    state affairs office government republic kingdom federation people minister's president's pm mp hon
    honourable honorable excellency his rt right sir dame h e""".split()
) | frozenset(MONTHS)
# "the Republic of Norland" -> "Norland"
_STATE_FORM = re.compile(
    r"^(?:the\s+)?(?:(?:(?:Democratic|Federal|Islamic|People's|United|Socialist|Grand|Independent)\s+)*"
    r"(?:Republic|Kingdom|Federation|Commonwealth|State|States|Sultanate|Principality|Duchy|Emirate|Union|"
    r"Confederation|Realm|Dominion)\s+of\s+)?(?:the\s+)?",
    re.I,
)


@dataclass(frozen=True)
class ReadoutFacts:
    """Who and where a readout is about, as the index table keeps it (lower-case names)."""

    people: list[str]  # every name word of its participants, and of people its points name after a title
    places: list[str]  # the countries it is between or names: the built-in table's names, else as written
    unnamed: list[str]  # "role|country" of participants left unnamed ("the Prime Minister" of gov.uk)


def name_words(name: str) -> list[str]:
    """The words of a person's name that a question may use, lower case: "KISHIDA Fumio" ->
    ["kishida", "fumio"]; "Putin, Vladimir Vladimirovich" -> ["putin", "vladimir", "vladimirovich"]."""
    return [w.lower() for w in re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", name)
            if len(w) > 1 and w.lower() not in NOT_NAMES]


def titled_names(text: str) -> list[tuple[str, list[str]]]:
    """Each title and name a text has ("President Ilves", "Prime Minister Henrik Rask"), as written,
    with the lower-case words of the name (up to the first word that is no name: "of", a country)."""
    out = []
    for m in NAMED.finditer(text):
        words = []
        for w in m.group(1).split():
            if w.lower() in NOT_NAMES or countries_in(w):
                break
            words.append(w.lower())
        if words:
            out.append((" ".join(m.group(0).split()), words))
    return out


def named_people(text: str) -> list[list[str]]:
    """The people a text names after a title: each as the lower-case words of their name."""
    out: list[list[str]] = []
    for _, words in titled_names(text):
        if words not in out:
            out.append(words)
    return out


def state_name(country: str) -> str:
    """A country as a question names it: "the Republic of Norland" -> "Norland"; the built-in
    table's name when it knows the country ("the Russian Federation" -> "Russia")."""
    known = countries_in(country)
    if known:
        return known[0]
    name = " ".join(_STATE_FORM.sub("", country.strip()).split())
    if not name or any(w.lower() in NOT_NAMES for w in name.split()):  # "Foreign Affairs": a role misread
        return ""
    return name


def readout_facts(r: Readout) -> ReadoutFacts:
    text = " ".join([r.title, r.preamble, *(p.text for p in r.points)])
    people: dict[str, None] = {}
    for x in r.participants:
        for w in [*name_words(x.name), *name_words(x.surname)]:
            people[w] = None
    for words in named_people(text):
        for w in words:
            people[w] = None
    for leader in leaders_in(text):
        for w in [*name_words(leader.surname), *(w for n in leader.names for w in name_words(n))]:
            people[w] = None
    host = host_country(r.source)
    seated = [s for s in (state_name(x.country) for x in r.participants if x.country) if s]
    places = dict.fromkeys([*countries_in(text), *(s for s in seated if s), *([host] if host else [])])
    unnamed: dict[str, None] = {}
    seated_known = {s for s in seated if s in COUNTRIES}
    for x in r.participants:
        if x.surname:
            continue
        own = [s for s in [state_name(x.country or "")] if s] or ([host] if host else [])
        if not own:  # nobody says whose: any country not otherwise at the table
            own = [c for c in COUNTRIES if c not in seated_known]
        else:
            places.update(dict.fromkeys(own))
        for c in own:
            unnamed[f"{short_role(x.role)}|{c}"] = None
    return ReadoutFacts(people=list(people), places=list(places), unnamed=list(unnamed))


# --- answer kinds ------------------------------------------------------------------------------------

NUMBER, DURATION, DATE, PLACE, PERSON = 1, 2, 4, 8, 16
_NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|trillion|dozens?|several)"
# "the two leaders" is who talked, not a quantity
_HAS_NUMBER = re.compile(r"\d|\b" + _NUMBER_WORDS + r"\b(?!\s+(?:leaders|sides|countries|ministers|governments|nations|heads|men))"
                         r"|%|per\s*cent", re.I)
_UNITS = r"(?:minutes?|hours?|days?|weeks?|months?|years?|decades?)"
_HAS_DURATION = re.compile(
    # "for about 35 minutes", "a 20-minute call", "two years": a number and a unit of time; "a year"
    # only after for/over/within... ("150 scholarships a year" is a rate)
    r"\b(?:\d+|" + _NUMBER_WORDS + r")[\s-]+" + _UNITS + r"\b"
    r"|\b(?:for|over|within|lasting|lasted|of)\s+(?:about\s+|approximately\s+|around\s+|nearly\s+|some\s+)?"
    r"(?:an?|half\s+an?)\s+" + _UNITS + r"\b|\blasted\b|\b\d+:\d\d\b",
    re.I,
)
_HAS_DATE = re.compile(
    r"\b(?:" + MONTH_NAMES + r")\.?\s+\d{1,2}\b|\b\d{1,2}\s+(?:" + MONTH_NAMES + r")\b|\b(?:19|20)\d\d\b"
    r"|\b(?:next|last|this)\s+(?:week|month|year|spring|summer|autumn|fall|winter)\b"
    r"|\b(?:early|late|mid)[\s-](?:" + MONTH_NAMES + r"|\w+\s+year)\b",
    re.I,
)
_PLACE_WORDS = re.compile(r"\b(?:in|at|to|visit(?:ed|ing)?|host(?:ed|ing)?)\s+(?:the\s+)?[A-Z][a-z]+", re.U)


def point_kinds(text: str) -> int:
    """Which kinds of answer a point holds, as bits: a number, a duration, a date, a place (a
    capitalised name after in/at/to/visit, or a country, city or institution of the table), a
    person named after a title."""
    kinds = 0
    if _HAS_NUMBER.search(text):
        kinds |= NUMBER
    if _HAS_DURATION.search(text):
        kinds |= DURATION
    if _HAS_DATE.search(text):
        kinds |= DATE
    if _PLACE_WORDS.search(text) or countries_in(text):
        kinds |= PLACE
    if NAMED.search(text):
        kinds |= PERSON
    return kinds


_ASKS = (
    (DURATION, re.compile(r"\bhow\s+long\b|\bfor\s+how\s+(?:many\s+)?(?:minutes|hours|long)\b|\bduration\b", re.I)),
    (NUMBER, re.compile(r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:number|amount|percentage|share|sum)\b|\bhow\s+large\b", re.I)),
    (DATE, re.compile(r"^\s*when\b|\bwhen\s+(?:did|will|was|were|is|are|does|do|would)\b|\b(?:on\s+)?what\s+(?:date|day|month|year)\b|\bwhich\s+(?:date|day|month|year)\b", re.I)),
    (PLACE, re.compile(r"^\s*where\b|\bwhere\s+(?:did|will|was|were|is|are|does|do|would)\b|\b(?:in\s+|at\s+)?(?:what|which)\s+(?:city|place|country|venue|capital|town)\b", re.I)),
    (PERSON, re.compile(r"^\s*who(?:m)?\b|\bwho\s+(?:did|will|was|were|is|are|called|phoned|led|heads?|chaired)\b|\b(?:what|which)\s+(?:person|official|envoy|minister)\b", re.I)),
)


def asks_for(question: str) -> int:
    """The kind of answer a question asks for (one of the bits above), or 0."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return 0
