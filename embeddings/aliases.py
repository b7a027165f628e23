"""Names users and readouts use for the same country or person.

Readouts say "the Russian Federation", users say "Moscow" or "the Kremlin"; the Kremlin writes
"Vladimir Putin" where MOFA writes "President Putin". A small hand-kept table is more reliable here
than any model: these are proper names, and all-MiniLM-L6-v2 embeds "Tokyo" and "Japan" only loosely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# country -> words that mean it (lower case). The key is the name readouts use in titles.
COUNTRIES: dict[str, tuple[str, ...]] = {
    "Japan": ("japan", "japanese", "tokyo", "kantei", "mofa", "gaimusho"),
    "Russia": ("russia", "russian", "russian federation", "moscow", "kremlin"),
    "United States": ("united states", "u.s.", "us", "usa", "america", "american", "washington", "white house"),
    "United Kingdom": ("united kingdom", "uk", "u.k.", "britain", "british", "london", "downing street", "no 10", "number 10"),
    "China": ("china", "chinese", "beijing", "people's republic of china", "prc"),
    "North Korea": ("north korea", "dprk", "pyongyang", "democratic people's republic of korea"),
    "South Korea": ("south korea", "republic of korea", "rok", "seoul", "korean"),
    "France": ("france", "french", "paris", "elysee", "élysée"),
    "Germany": ("germany", "german", "berlin"),
    "Canada": ("canada", "canadian", "ottawa"),
    "Australia": ("australia", "australian", "canberra"),
    "New Zealand": ("new zealand", "wellington", "nz"),
    "Ukraine": ("ukraine", "ukrainian", "kyiv", "kiev"),
    "Israel": ("israel", "israeli", "jerusalem"),
    "Indonesia": ("indonesia", "indonesian", "jakarta"),
    "Turkey": ("turkey", "türkiye", "turkish", "ankara"),
    "Mongolia": ("mongolia", "mongolian", "ulaanbaatar"),
    "India": ("india", "indian", "new delhi"),
    "Italy": ("italy", "italian", "rome"),
}


@dataclass(frozen=True)
class Leader:
    surname: str
    role: str
    country: str
    names: tuple[str, ...]  # lower-case forms a question or readout may use


def _leader(surname: str, role: str, country: str, *names: str, bare: bool = True) -> Leader:
    """`bare=False` for surnames that are also common words ("Key", "May"): only full names count."""
    return Leader(surname, role, country, ((surname.lower(),) if bare else ()) + names)


LEADERS: tuple[Leader, ...] = (
    _leader("Kishida", "Prime Minister", "Japan", "fumio kishida", "kishida fumio"),
    _leader("Abe", "Prime Minister", "Japan", "shinzo abe", "abe shinzo"),
    _leader("Suga", "Prime Minister", "Japan", "yoshihide suga", "suga yoshihide"),
    _leader("Ishiba", "Prime Minister", "Japan", "shigeru ishiba", "ishiba shigeru"),
    _leader("Noda", "Prime Minister", "Japan", "yoshihiko noda"),
    _leader("Kan", "Prime Minister", "Japan", "naoto kan", "prime minister kan", bare=False),
    _leader("Fukuda", "Prime Minister", "Japan", "yasuo fukuda"),
    _leader("Kono", "Foreign Minister", "Japan", "taro kono"),
    _leader("Motegi", "Foreign Minister", "Japan", "toshimitsu motegi", "motegi toshimitsu"),
    _leader("Hayashi", "Foreign Minister", "Japan", "yoshimasa hayashi", "hayashi yoshimasa"),
    _leader("Kamikawa", "Foreign Minister", "Japan", "yoko kamikawa", "kamikawa yoko"),
    _leader("Gemba", "Foreign Minister", "Japan", "koichiro gemba"),
    _leader("Putin", "President", "Russia", "vladimir putin"),
    _leader("Medvedev", "President", "Russia", "dmitry medvedev"),
    _leader("Lavrov", "Foreign Minister", "Russia", "sergey lavrov", "sergei lavrov"),
    _leader("Biden", "President", "United States", "joe biden", "joseph biden"),
    _leader("Trump", "President", "United States", "donald trump"),
    _leader("Obama", "President", "United States", "barack obama"),
    _leader("Blinken", "Secretary", "United States", "antony blinken", "secretary of state"),
    _leader("Johnson", "Prime Minister", "United Kingdom", "boris johnson"),
    _leader("Truss", "Prime Minister", "United Kingdom", "liz truss"),
    _leader("Sunak", "Prime Minister", "United Kingdom", "rishi sunak"),
    _leader("Starmer", "Prime Minister", "United Kingdom", "keir starmer"),
    _leader("May", "Prime Minister", "United Kingdom", "theresa may", "prime minister may", bare=False),
    _leader("Xi", "President", "China", "xi jinping"),
    _leader("Wen", "Premier", "China", "wen jiabao", "premier wen", bare=False),
    _leader("Macron", "President", "France", "emmanuel macron"),
    _leader("Merkel", "Chancellor", "Germany", "angela merkel"),
    _leader("Steinmeier", "Foreign Minister", "Germany", "frank-walter steinmeier"),
    _leader("Westerwelle", "Foreign Minister", "Germany", "guido westerwelle"),
    _leader("Trudeau", "Prime Minister", "Canada", "justin trudeau"),
    _leader("Turnbull", "Prime Minister", "Australia", "malcolm turnbull"),
    _leader("Abbott", "Prime Minister", "Australia", "tony abbott"),
    _leader("Morrison", "Prime Minister", "Australia", "scott morrison"),
    _leader("Carr", "Foreign Minister", "Australia", "bob carr"),
    _leader("Key", "Prime Minister", "New Zealand", "john key", "prime minister key", bare=False),
    _leader("Zelenskyy", "President", "Ukraine", "volodymyr zelenskyy", "zelensky", "zelenskiy"),
    _leader("Kuleba", "Foreign Minister", "Ukraine", "dmytro kuleba"),
    _leader("Netanyahu", "Prime Minister", "Israel", "benjamin netanyahu", "bibi"),
    _leader("Joko", "President", "Indonesia", "joko widodo", "jokowi", "widodo"),
    _leader("Çavuşoğlu", "Foreign Minister", "Turkey", "cavusoglu", "mevlüt çavuşoğlu"),
    _leader("Oyun-erdene", "Prime Minister", "Mongolia", "oyun-erdene", "oyun erdene"),
    _leader("Kang", "Foreign Minister", "South Korea", "kang kyung-wha"),
)

_LEADER_BY_NAME = {name: leader for leader in LEADERS for name in leader.names}


def leader_named(surname: str) -> Leader | None:
    return _LEADER_BY_NAME.get(surname.lower())


def _pattern(words: list[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![\w.])(?:" + alts + r")(?![\w])", re.I)


_COUNTRY_WORDS = {w: c for c, ws in COUNTRIES.items() for w in ws}
_COUNTRY_RE = _pattern(list(_COUNTRY_WORDS))
# "us" is an ordinary word: only its capitalised form counts as a name
_CASE_SENSITIVE = {"us": "US"}
_LEADER_RE = _pattern(list(_LEADER_BY_NAME))


def countries_in(text: str) -> list[str]:
    """Countries a text names, directly or through a city, institution or leader, in order."""
    found: list[str] = []
    for m in _COUNTRY_RE.finditer(text):
        word = m.group(0)
        if word.lower() in _CASE_SENSITIVE and word != _CASE_SENSITIVE[word.lower()]:
            continue
        c = _COUNTRY_WORDS[word.lower()]
        if c not in found:
            found.append(c)
    for leader in leaders_in(text):
        if leader.country not in found:
            found.append(leader.country)
    return found


def leaders_in(text: str) -> list[Leader]:
    found: list[Leader] = []
    for m in _LEADER_RE.finditer(text):
        word = m.group(0)
        if word.lower() in _CASE_SENSITIVE and word != _CASE_SENSITIVE[word.lower()]:
            continue
        leader = _LEADER_BY_NAME[word.lower()]
        if leader not in found:
            found.append(leader)
    return found
