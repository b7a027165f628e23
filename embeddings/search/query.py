"""Reading a question before searching: who it asks about, when, and what it is about.

"What did Putin say about North Korea?" is a speaker (Putin) and a topic (North Korea); "Will the two
leaders meet?" is about meeting, and "the two leaders" appear in half the points of any readout.
Taking the speaker and time out of the words that BM25 matches, and using them as preferences
instead, keeps common names from outvoting the topic.

Names are read against two lists: the built-in table of leaders and countries (aliases.py), and
the people and places of this corpus (`CorpusNames`, from the index table). A title and a name that
neither knows ("President Okafor") is someone no readout has: the question cannot be answered.
What is left once the names, countries, dates and talk words are set aside is the question's
topic (`topic_terms`): what `found` checks the best point for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from embeddings.index.lexical import WORD, tokenize
from embeddings.readouts.aliases import COUNTRIES, LEADERS, Leader, countries_in, leaders_in
from embeddings.readouts.dates import MONTH_NAMES, MONTHS
from embeddings.readouts.facts import NOT_NAMES, asks_for, titled_names

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


# words that say a talk took place, not what it was about: set aside from the topic
TALK_WORDS = frozenset(tokenize(
    """discuss discussed discussion discussions talk talks talked call called calls
    phone telephone conversation conversations leader leaders prime minister ministers president premier
    chancellor secretary foreign counterpart counterparts bilateral relations relationship exchange
    exchanged views agree agreed mention mentioned raise raised speak spoke spoken summit held hold
    country countries two sides side government today first last readout readouts question anything
    something whether regarding"""))
# words of asking, not of the topic: "how long", "who", "did they want to", "bring up", "according to"
ASK_WORDS = frozenset(tokenize(
    """how many much long often when where which who whom whose why kind type sort way time times day date
    city place want wanted wants bring brought push pushed react reacted reaction respond responded
    response promise promised pledge pledged air aired voice voiced express expressed share shared
    according someone anyone everyone new right quick quickly again still really also other another
    happen happened come came get got make made take took give gave keep kept go going went put
    plan planned plans hope hoped like say said tell told ask asked talk talking topic topics issue issues
    matter matters point points part parts thing things"""))
# everyday English that carries no topic of its own: "did they see eye to eye", "moving forward",
# "even harder", "stand by": a readout's point rarely has these words, and an answer needs none
GENERIC_WORDS = frozenset(tokenize(
    """able about actually ahead all along already among anybody anyone anything around away back
    become began begin behind believe best better big both bring came can't cannot certain clear
    come could did didn't do does doesn't done down during each either else enough especially even
    ever every everybody everyone everything fact far felt few find forward found further gave get
    give given go goes going gone good got great had hard harder has have having hear heard help
    here high however idea important indeed instead just keep kind know known large last later least
    less let letting like likely little look looked looking lot made main make making many may maybe
    mean meant might more most move moved moving much must need needed needs never next nothing now
    often once one only open others otherwise over own part per perhaps place possible pretty put
    quite rather real really recent recently same saw see seem seemed seen set several shall should
    show showed side since so some soon sort stand still such sure take taken than that them then
    there these they thing think this those though thought through together too took toward towards
    try trying turn under up upon us use used very want way well went were what whatever while whole
    will without word words work would yes yet"""))


@dataclass(frozen=True)
class CorpusNames:
    """The people and places this corpus's readouts have (readouts/facts.py, kept in the index
    table): lower-case name words, and places as written where the built-in table lacks them."""

    people: frozenset[str]
    places: tuple[str, ...] = ()

    @classmethod
    def of(cls, people: list[list[str]] | None, places: list[list[str]] | None) -> "CorpusNames":
        words = {w for ws in people or [] for w in ws}
        # a corpus name that is also a function word or a title says nothing ("will", "general")
        words = {w for w in words if w not in NOT_NAMES and w not in _STOP and (w in _leader_words() or len(w) > 2)}
        extra = sorted({p for ps in places or [] for p in ps if p not in COUNTRIES}, key=len, reverse=True)
        return cls(frozenset(words), tuple(extra))

    # what every question is read against, worked out once per corpus rather than per question
    @functools.cached_property
    def known(self) -> frozenset[str]:
        """Name words of this corpus's people and of the built-in table's leaders."""
        return self.people | _leader_words()

    @functools.cached_property
    def place_terms(self) -> frozenset[str]:
        """The stemmed words of the places the built-in table lacks (set aside from a topic)."""
        return frozenset(tokenize(" ".join(self.places)))

    @functools.cached_property
    def place_pattern(self) -> re.Pattern[str] | None:
        """One pattern that finds any of those places."""
        if not self.places:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in self.places) + r")(?!\w)")


@functools.cache
def _leader_words() -> frozenset[str]:
    return frozenset(w for leader in LEADERS for n in leader.names for w in n.split())


@functools.cache
def _aside_always() -> frozenset[str]:
    """Stems never part of a topic: talk, asking and everyday words, month names."""
    return TALK_WORDS | ASK_WORDS | GENERIC_WORDS | frozenset(tokenize(" ".join(MONTHS)))


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
    unknown_people: list[str] = field(default_factory=list)  # titled names no readout has
    topic_terms: list[str] = field(default_factory=list)  # stemmed words of the topic alone
    topic_words: list[str] = field(default_factory=list)  # the same words as the question writes them
    topic_names: list[str] = field(default_factory=list)  # those it writes as names (capitalised)
    asks: int = 0  # the kind of answer asked for (facts.asks_for)


_STOP = frozenset(w.lower() for w in "a an the of and or to in on at by for with from as is was".split())
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:['’-][A-Za-z]+)*\b|\b[A-Z]{2,}\b")


def _corpus_leaders(text: str, names: CorpusNames, known: list[Leader]) -> list[Leader]:
    """People of this corpus a question names (capitalised, as names are written), who are not
    in the built-in table: each as a Leader known by that one name word."""
    taken = {w for leader in known for n in leader.names for w in n.split()}
    out: list[Leader] = []
    for m in _CAPITALISED.finditer(text):
        w = m.group(0).lower()
        if w in names.people and w not in taken and not countries_in(m.group(0)):
            taken.add(w)
            builtin = _BY_GIVEN_NAME.get(w)  # "Boris": the table's leader, whose rank and country it knows
            if builtin is not None and builtin not in known and builtin not in out:
                out.append(builtin)
            elif builtin is None:
                out.append(Leader(m.group(0).capitalize(), "", "", (w,)))
    return out


def _given_names() -> dict[str, Leader]:
    """Words of the table's leaders' full names that only one leader has ("boris", "rishi")."""
    seen: dict[str, list[Leader]] = {}
    for leader in LEADERS:
        for n in leader.names:
            for w in n.split():
                if w != leader.surname.lower() and leader not in seen.setdefault(w, []):
                    seen[w].append(leader)
    return {w: ls[0] for w, ls in seen.items() if len(ls) == 1 and len(w) > 2}


_BY_GIVEN_NAME = _given_names()


def _unknown_people(text: str, names: CorpusNames | None) -> list[str]:
    """Titled names ("President Okafor") that neither this corpus nor the built-in table has."""
    if names is None:
        return []
    known = names.known
    return [written for written, words in titled_names(text) if not any(w in known for w in words)]


# how two leaders talk, not what about: "meet in person" asks about meeting
_MANNER = re.compile(r"\b(?:in\s+person|face[\s-]+to[\s-]+face|by\s+(?:tele)?phone|over\s+the\s+(?:tele)?phone"
                     r"|by\s+video(?:\s*conference)?|online|virtually)\b", re.I)


def _topic(content: str, leaders: list[Leader], countries: list[str], names: CorpusNames | None) -> list[str]:
    """The stemmed words of the question that are neither names, places, dates nor talk words."""
    content = _MANNER.sub(" ", content)
    aside = set(_aside_always())
    for leader in leaders:
        aside.update(tokenize(" ".join([leader.surname, *leader.names, leader.role])))
    for c in countries:
        aside.update(tokenize(" ".join([c, *COUNTRIES.get(c, ())])))
    if names is not None:
        aside.update(names.place_terms)
    # "Trudeau-Ishiba", "Japan-Australia": a compound of names is a name
    return [t for t in dict.fromkeys(tokenize(content))
            if t not in aside and not t.isdigit() and len(t) > 2
            and not ("-" in t and all(part in aside for part in tokenize(t.replace("-", " "))))]


def _words_of(content: str, terms: list[str]) -> list[str]:
    """The question's own words behind stemmed terms, lower case (a word's meaning is looked up
    by its word pieces, which a stem would break)."""
    wanted = set(terms)
    out: dict[str, None] = {}
    for w in WORD.findall(content):
        stems = tokenize(w)
        if stems and stems[0] in wanted:
            out[w.lower()] = None
    return list(out)


def _names_of(content: str, terms: list[str]) -> list[str]:
    """Topic words the question writes as names ("Zaporizhzhia", "CPTPP"), not first in it: a name
    has no paraphrase, so a readout that lacks it does not speak of it."""
    wanted = set(terms)
    out: dict[str, None] = {}
    for i, m in enumerate(WORD.finditer(content)):
        w = m.group(0)
        stems = tokenize(w)
        if i and stems and stems[0] in wanted and w[:1].isupper():
            out[w.lower()] = None
    return list(out)


def read_question(text: str, names: CorpusNames | None = None) -> Query:
    """`names`: the corpus's people and places; without them only the built-in table is read."""
    content = text
    speakers: list[Leader] = []
    named = leaders_in(text)
    if names is not None:
        named = named + _corpus_leaders(text, names, named)
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
    countries = countries_in(text)
    if names is not None:  # this corpus's places, in the order the question names them
        pattern = names.place_pattern  # most questions name none of them: one search says so
        if pattern is not None and pattern.search(text):
            at = {}
            for place in names.places:
                m = re.search(r"(?<!\w)" + re.escape(place) + r"(?!\w)", text)
                if m and place not in countries:
                    at[place] = m.start()
            countries += sorted(at, key=at.__getitem__)
    content = " ".join(content.split())
    topic = _topic(content, named, countries, names)
    return Query(
        text=text,
        content=content,
        speakers=speakers,
        collective=collective,
        countries=countries,
        year=year,
        month=month,
        about_the_talk=bool(_ABOUT_TALK.search(text)),
        leaders=named,
        unknown_people=_unknown_people(text, names),
        topic_terms=topic,
        topic_words=_words_of(content, topic),
        topic_names=_names_of(content, topic),
        asks=asks_for(text),
    )
