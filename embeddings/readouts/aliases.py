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
    "North Korea": ("north korea", "north korean", "north koreans", "dprk", "pyongyang", "democratic people's republic of korea"),
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
    "Philippines": ("philippines", "philippine", "filipino", "manila"),
    "Vietnam": ("vietnam", "viet nam", "vietnamese", "hanoi"),
    "Thailand": ("thailand", "thai", "bangkok"),
    "Malaysia": ("malaysia", "malaysian", "kuala lumpur"),
    "Singapore": ("singapore", "singaporean"),
    "Taiwan": ("taiwan", "taiwanese", "taipei"),
    "Belarus": ("belarus", "belarusian", "minsk"),
    "Poland": ("poland", "polish", "warsaw"),
    "Spain": ("spain", "spanish", "madrid"),
    "Netherlands": ("netherlands", "dutch", "the hague"),
    "Brazil": ("brazil", "brazilian", "brasilia", "brasília"),
    "Mexico": ("mexico", "mexican", "mexico city"),
    "Argentina": ("argentina", "argentine", "buenos aires"),
    "Saudi Arabia": ("saudi arabia", "saudi", "riyadh"),
    "Iran": ("iran", "iranian", "tehran"),
    "Egypt": ("egypt", "egyptian", "cairo"),
    "South Africa": ("south africa", "south african", "pretoria"),
    "Pakistan": ("pakistan", "pakistani", "islamabad"),
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
    # leaders users ask about whether or not a readout has them: naming one that no readout has
    # must give "nothing found", not the nearest talk of someone else (search.Searcher._consistent)
    _leader("Aso", "Prime Minister", "Japan", "taro aso"),
    _leader("Hatoyama", "Prime Minister", "Japan", "yukio hatoyama"),
    _leader("Koizumi", "Prime Minister", "Japan", "junichiro koizumi"),
    _leader("Takaichi", "Prime Minister", "Japan", "sanae takaichi"),
    _leader("Kishi", "Defence Minister", "Japan", "nobuo kishi"),
    _leader("Mishustin", "Prime Minister", "Russia", "mikhail mishustin"),
    _leader("Shoigu", "Defence Minister", "Russia", "sergei shoigu", "sergey shoigu"),
    _leader("Bush", "President", "United States", "george w. bush", "george bush"),
    _leader("Harris", "Vice President", "United States", "kamala harris"),
    _leader("Pence", "Vice President", "United States", "mike pence"),
    _leader("Vance", "Vice President", "United States", "jd vance", "j.d. vance"),
    _leader("Pompeo", "Secretary", "United States", "mike pompeo"),
    _leader("Tillerson", "Secretary", "United States", "rex tillerson"),
    _leader("Kerry", "Secretary", "United States", "john kerry"),
    _leader("Rubio", "Secretary", "United States", "marco rubio"),
    _leader("Clinton", "Secretary", "United States", "hillary clinton", "bill clinton"),
    _leader("Cameron", "Prime Minister", "United Kingdom", "david cameron"),
    _leader("Brown", "Prime Minister", "United Kingdom", "gordon brown", bare=False),
    _leader("Blair", "Prime Minister", "United Kingdom", "tony blair"),
    _leader("Raab", "Foreign Secretary", "United Kingdom", "dominic raab"),
    _leader("Lammy", "Foreign Secretary", "United Kingdom", "david lammy"),
    _leader("Hu", "President", "China", "hu jintao", "president hu", bare=False),
    _leader("Li Keqiang", "Premier", "China", "li keqiang", "premier li", bare=False),
    _leader("Li Qiang", "Premier", "China", "li qiang", bare=False),
    _leader("Wang Yi", "Foreign Minister", "China", "wang yi", bare=False),
    _leader("Sarkozy", "President", "France", "nicolas sarkozy"),
    _leader("Hollande", "President", "France", "francois hollande", "françois hollande"),
    _leader("Scholz", "Chancellor", "Germany", "olaf scholz"),
    _leader("Merz", "Chancellor", "Germany", "friedrich merz"),
    _leader("Baerbock", "Foreign Minister", "Germany", "annalena baerbock"),
    _leader("Meloni", "Prime Minister", "Italy", "giorgia meloni"),
    _leader("Draghi", "Prime Minister", "Italy", "mario draghi"),
    _leader("Harper", "Prime Minister", "Canada", "stephen harper"),
    _leader("Carney", "Prime Minister", "Canada", "mark carney"),
    _leader("Rudd", "Prime Minister", "Australia", "kevin rudd"),
    _leader("Gillard", "Prime Minister", "Australia", "julia gillard"),
    _leader("Albanese", "Prime Minister", "Australia", "anthony albanese"),
    _leader("Ardern", "Prime Minister", "New Zealand", "jacinda ardern"),
    _leader("Luxon", "Prime Minister", "New Zealand", "christopher luxon"),
    _leader("Hipkins", "Prime Minister", "New Zealand", "chris hipkins"),
    _leader("Moon", "President", "South Korea", "moon jae-in", "moon jae in", "president moon", bare=False),
    _leader("Yoon", "President", "South Korea", "yoon suk yeol", "yoon suk-yeol"),
    _leader("Park", "President", "South Korea", "park geun-hye", "president park", bare=False),
    _leader("Lee Jae-myung", "President", "South Korea", "lee jae-myung", "lee jae myung", bare=False),
    _leader("Kim", "Supreme Leader", "North Korea", "kim jong un", "kim jong-un", "kim jong il", bare=False),
    _leader("Modi", "Prime Minister", "India", "narendra modi"),
    _leader("Jaishankar", "Foreign Minister", "India", "subrahmanyam jaishankar"),
    _leader("Prabowo", "President", "Indonesia", "prabowo subianto"),
    _leader("Yudhoyono", "President", "Indonesia", "susilo bambang yudhoyono"),
    _leader("Marcos", "President", "Philippines", "ferdinand marcos", "bongbong marcos"),
    _leader("Duterte", "President", "Philippines", "rodrigo duterte"),
    _leader("Erdoğan", "President", "Turkey", "erdogan", "recep tayyip erdoğan", "recep tayyip erdogan"),
    _leader("Lukashenko", "President", "Belarus", "alexander lukashenko"),
    _leader("Tsai", "President", "Taiwan", "tsai ing-wen"),
    _leader("Lai", "President", "Taiwan", "lai ching-te", bare=False),
    _leader("Lula", "President", "Brazil", "lula da silva", "luiz inácio lula da silva"),
    _leader("Bolsonaro", "President", "Brazil", "jair bolsonaro"),
    _leader("Anwar", "Prime Minister", "Malaysia", "anwar ibrahim"),
    _leader("Lee Hsien Loong", "Prime Minister", "Singapore", "lee hsien loong", bare=False),
    _leader("Wong", "Prime Minister", "Singapore", "lawrence wong", bare=False),
    _leader("Tusk", "Prime Minister", "Poland", "donald tusk"),
    _leader("Sánchez", "Prime Minister", "Spain", "pedro sánchez", "pedro sanchez"),
    _leader("Rutte", "Prime Minister", "Netherlands", "mark rutte"),
    _leader("Bennett", "Prime Minister", "Israel", "naftali bennett", bare=False),
    _leader("Lapid", "Prime Minister", "Israel", "yair lapid"),
    _leader("Sisi", "President", "Egypt", "el-sisi", "abdel fattah el-sisi", "al-sisi"),
    _leader("Ramaphosa", "President", "South Africa", "cyril ramaphosa"),
    _leader("Sheinbaum", "President", "Mexico", "claudia sheinbaum"),
    _leader("Milei", "President", "Argentina", "javier milei"),
    _leader("Salman", "Crown Prince", "Saudi Arabia", "mohammed bin salman", "mbs", bare=False),
    _leader("Pezeshkian", "President", "Iran", "masoud pezeshkian"),
    _leader("Raisi", "President", "Iran", "ebrahim raisi"),
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
        c = _COUNTRY_WORDS.get(word.lower())  # None for look-alikes re.I folds ("ſingapore")
        if c is not None and c not in found:
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
        leader = _LEADER_BY_NAME.get(word.lower())  # None for look-alikes re.I folds ("Kıshida")
        if leader is not None and leader not in found:
            found.append(leader)
    return found


# Government sites (and their archives) whose readouts leave their own leader unnamed ("The Prime
# Minister spoke to ..."): the site tells whose leader that is.
HOST_SITES: dict[str, str] = {
    "gov.uk": "United Kingdom",
    "wired-gov.net": "United Kingdom",
    "number10.gov.uk": "United Kingdom",
    "whitehouse.gov": "United States",
    "presidency.ucsb.edu": "United States",
    "state.gov": "United States",
    "kremlin.ru": "Russia",
    "mid.ru": "Russia",
    "mofa.go.jp": "Japan",
    "kantei.go.jp": "Japan",
    "pm.gc.ca": "Canada",
    "elysee.fr": "France",
    "bundesregierung.de": "Germany",
    "pm.gov.au": "Australia",
    "beehive.govt.nz": "New Zealand",
    "president.gov.ua": "Ukraine",
    "mea.gov.in": "India",
    "pmindia.gov.in": "India",
    "fmprc.gov.cn": "China",
}


def host_country(url: str | None) -> str | None:
    """The country whose government published a readout, from its address; None when unknown."""
    if not url:
        return None
    m = re.match(r"[a-z][a-z0-9+.-]*://([^/:?#]+)", url.strip(), re.I)
    if not m:
        return None
    host = m.group(1).lower()
    for site, country in HOST_SITES.items():
        if host == site or host.endswith("." + site):
            return country
    return None
