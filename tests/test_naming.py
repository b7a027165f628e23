"""Readout names (embeddings/readouts/naming.py): who talked, how and when, through the real parser."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import BUNDLED

from embeddings.readouts.corpus import read_corpus
from embeddings.readouts.naming import NAME_CHARS, readout_name
from embeddings.readouts.shown import names_date, spoken_date, without_date
from embeddings.readouts.parse import parse_readout

pytestmark = pytest.mark.fast

MOFA = """---
title: Japan-Elbonia Relations
date: 2030-03-05
source: https://www.mofa.go.jp/erp/page1.html
---
Japan-Elbonia Relations

March 5, 2030

On March 4, commencing at 9:00 p.m. for approximately 20 minutes, Mr. TANAKA Hiroshi, Prime Minister
of Japan, held a summit telephone talk with H.E. Mr. Boris Grubnik, President of the Republic of
Elbonia. The overview of the meeting is as follows.

1. Prime Minister Tanaka stated that he would like to deepen Japan-Elbonia relations.

2. President Grubnik stated that Elbonia welcomes investment from Japan.
"""

GOVUK = """---
title: "PM call with President Grubnik of Elbonia: 5 March 2030"
date: 2030-03-05
source: https://www.gov.uk/government/news/pm-call-with-president-grubnik-5-march-2030
---
The Prime Minister spoke to President Grubnik of Elbonia today.
The leaders discussed trade and security, and the death of former Prime Minister Shinzo Abe.
The Prime Minister and President Grubnik agreed to stay in touch.
"""

NO_PARTICIPANTS = """---
title: Joint Statement on Fisheries
date: 2030-03-05
---
The two governments agreed on quotas for the coming season.

Both sides will review them next year.
"""

NO_DATE = """Japan-Elbonia Foreign Ministers' Meeting

Mr. SATO Kenji, Minister for Foreign Affairs of Japan, held a meeting with H.E. Ms. Mara Volk,
Minister of Foreign Affairs of the Republic of Elbonia. The overview is as follows.

1. Minister Sato welcomed Minister Volk.

2. Minister Volk thanked Minister Sato.
"""


def name_of(text: str, doc: str = "r.txt") -> str:
    return readout_name(parse_readout(text, doc))


def test_mofa_readout_is_named_by_its_people_kind_and_day_of_the_talk() -> None:
    # the talk was on March 4 (the opening says so); the page is dated March 5; "the meeting" in
    # "The overview of the meeting" does not make the telephone talk a meeting
    assert name_of(MOFA) == "Tanaka – Grubnik telephone talk, 4 March 2030"


def test_govuk_readout_names_its_unnamed_leader_by_role_and_country() -> None:
    assert name_of(GOVUK) == "UK Prime Minister – Grubnik call, 5 March 2030"
    # without a source, the role alone; the "former Prime Minister" took no part in the call, so
    # is not named
    no_source = "\n".join(ln for ln in GOVUK.splitlines() if not ln.startswith("source:"))
    assert name_of(no_source) == "Prime Minister – Grubnik call, 5 March 2030"
    named = GOVUK.replace('title: "PM call with', 'title: "PM Keir Starmer call with')
    assert name_of(named) == "Starmer – Grubnik call, 5 March 2030"


def test_a_readout_without_participants_is_named_by_its_title_and_date() -> None:
    assert name_of(NO_PARTICIPANTS) == "Joint Statement on Fisheries, 5 March 2030"
    undated = NO_PARTICIPANTS.replace("date: 2030-03-05\n", "")
    assert name_of(undated) == "Joint Statement on Fisheries"


def test_a_readout_without_a_date_has_no_date_in_its_name() -> None:
    assert name_of(NO_DATE) == "Sato – Volk foreign ministers' meeting"


def test_names_are_never_empty_never_long_and_single_spaced() -> None:
    long_title = "A " + "very " * 40 + "long title"
    text = f"---\ntitle: '{long_title}'\ndate: 2030-01-02\n---\nSomething   was agreed.\n\nAnd more.\n"
    name = name_of(text)
    assert 0 < len(name) <= NAME_CHARS and "  " not in name and name.endswith("…")
    assert name_of("x\n\nThe sides talked.\n") == "x"


def test_date_helpers() -> None:
    assert spoken_date(dt.date(2021, 10, 7)) == "7 October 2021"
    name = "Kishida – Putin telephone talk, 7 October 2021"
    assert without_date(name, "2021-10-07") == "Kishida – Putin telephone talk"
    assert without_date(name, "2021-10-08") == name and without_date(name, None) == name
    assert names_date(name, "2021-10-07") and not names_date(name, "2021-10-08")
    assert not names_date("Japan-Russia Relations", "2021-10-07")


@pytest.mark.shared
def test_the_seven_japan_russia_relations_readouts_get_distinct_names(shared) -> None:
    # six in ../shared/readouts and the bundled seed (the 2021-10-07 Kishida–Putin talk)
    readouts = read_corpus(shared / "readouts").readouts + read_corpus(BUNDLED).readouts
    same_title = [r for r in readouts if r.title == "Japan-Russia Relations"]
    assert len(same_title) == 7
    names = {r.doc: readout_name(r) for r in same_title}
    assert len(set(names.values())) == 7, names
    assert names["mofa-2015-06-24-japan-russia-teltalk.txt"] == "Abe – Putin telephone talk, 24 June 2015"
    assert names["000_f357f723c89b56b9.txt"] == "Kishida – Putin telephone talk, 7 October 2021"
    assert names["mofa-2018-07-31-japan-russia-fm-meeting.txt"] == "Kono – Lavrov foreign ministers' meeting, 31 July 2018"
    # every real readout: a distinct name, within bounds
    all_names = [readout_name(r) for r in readouts]
    assert len(set(all_names)) == len(all_names)
    assert all(0 < len(n) <= NAME_CHARS for n in all_names)


def test_a_timeline_line_shows_the_name_with_its_day_once() -> None:
    from bot.timeline_text import entry_line
    from embeddings.search.timeline import TimelineEntry

    e = TimelineEntry(date="2018-07-31", doc="a.txt", title="Japan-Russia Relations", point=2, position=2,
                      preamble=False, speakers=["Foreign Minister Kono"], participants=[], countries=[],
                      text="-", sentence="-", phrase="-", score=0.5)
    assert entry_line(e) == "2018-07-31  Japan-Russia Relations, point 2 — Foreign Minister Kono"  # no name kept
    e.name = "Kono – Lavrov foreign ministers' meeting, 31 July 2018"  # type: ignore[attr-defined]
    assert entry_line(e) == "2018-07-31  Kono – Lavrov foreign ministers' meeting, point 2 — Foreign Minister Kono"
