"""The parser on readouts written for the tests, one per house style."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from embeddings.readouts.dates import date_line, find_date
from embeddings.readouts.parse import ParseError, parse_readout

pytestmark = pytest.mark.fast


def parse(text: str, doc: str = "t.txt"):
    return parse_readout(textwrap.dedent(text).lstrip("\n"), doc)


def numbers(r):
    return [(p.number, p.position, p.preamble) for p in r.points]


MOFA = """
Japan-Atlantis Relations

March 3, 2030

 On March 3, commencing at 9:00 a.m. for approximately 20 minutes, Mr. TANAKA Hiroshi, Prime Minister of Japan, held a summit telephone talk with H.E. Mr. Poseidon, Nereus Oceanus, President of the Republic of Atlantis. An overview of the talk is as follows.

  1. Prime Minister Tanaka congratulated President Poseidon on his election.
  2. In response, President Poseidon thanked him and said he values fisheries cooperation.
  3. The two leaders agreed to resume ferry services between the two countries.

Back to Japan-Atlantis Relations
"""


def test_mofa_numbered_points_title_date_participants_speakers():
    r = parse(MOFA)
    assert r.title == "Japan-Atlantis Relations"
    assert r.date == dt.date(2030, 3, 3)
    assert [p.label for p in r.participants] == ["Prime Minister Tanaka", "President Poseidon"]
    assert numbers(r) == [(None, 0, True), (1, 1, False), (2, 2, False), (3, 3, False)]
    assert r.points[1].speakers == ["Prime Minister Tanaka", "President Poseidon"]
    assert r.points[3].speakers == ["the two leaders"]
    assert not any("Back to" in p.text for p in r.points)
    assert r.points[1].text.startswith("Prime Minister Tanaka")  # no leading number


def test_front_matter_wins_over_text():
    r = parse("---\nsource: https://example.org/x\ntitle: Custom Title\ndate: 2031-01-02\n---\n" + textwrap.dedent(MOFA))
    assert (r.title, r.date, r.source) == ("Custom Title", dt.date(2031, 1, 2), "https://example.org/x")
    assert [p.number for p in r.points if not p.preamble] == [1, 2, 3]


@pytest.mark.parametrize("style", ["{n}. ", "{n} ", "({n}) ", "• ({n}) "])
def test_numbering_styles(style):
    body = "\n".join(style.format(n=n) + f"Point number {n} says Minister Vale spoke." for n in (1, 2, 3))
    r = parse(f"Title\n\n7 October 2021\n\nMr. Ash Vale, Minister for Foreign Affairs of Elbonia, spoke.\n\n{body}\n")
    assert [p.number for p in r.points if not p.preamble] == [1, 2, 3]
    assert r.date == dt.date(2021, 10, 7)


def test_numbered_subheadings_with_bullets_and_paragraphs():
    r = parse("""
    Ministers' Meeting
    2030-05-01
    On May 1, the two ministers met. The overview is as follows.

    1. Peace treaty

      • The two ministers discussed the treaty.
      • They agreed to meet again.

    2. Economy

    Minister Vale explained trade figures.
    """)
    pts = [p for p in r.points if not p.preamble]
    assert [p.number for p in pts] == [1, 2]
    assert pts[0].text.splitlines() == ["Peace treaty", "• The two ministers discussed the treaty.", "• They agreed to meet again."]
    assert "trade figures" in pts[1].text


def test_sub_items_and_follow_on_paragraphs_stay_with_their_point():
    r = parse("""
    Talk
    June 1, 2030
    Preamble sentence about the talk.
      1. First point.
      2. Second point.
    Furthermore, a follow-on paragraph of the second point.
      3. Third point on regional affairs.
      • (1) Regarding Elbonia, something.
      • (2) Regarding Atlantis, something else.
    * The foregoing is a provisional translation.
    """)
    pts = [p for p in r.points if not p.preamble]
    assert [p.number for p in pts] == [1, 2, 3]
    assert "follow-on paragraph" in pts[1].text
    assert "(2) Regarding Atlantis" in pts[2].text
    assert "provisional translation" not in pts[2].text


def test_plain_paragraphs_uk_style():
    r = parse("""
    ---
    title: PM call with President Vale
    date: 2030-02-01
    ---

    The Prime Minister spoke to President Vale of Elbonia this morning.

    The leaders discussed energy security.

    The Prime Minister thanked President Vale for his support.
    """)
    assert [(p.number, p.position) for p in r.points] == [(None, 1), (None, 2), (None, 3)]
    assert r.points[1].speakers == ["the two leaders"]
    assert r.points[2].speakers == ["the Prime Minister", "President Vale"]


def test_bullets_without_numbers():
    r = parse("""
    Summit Telephone Talk
    August 13, 2024
    On August 13, Prime Minister Tanaka held a telephone talk with President Vale.
    - At the outset, Prime Minister Tanaka explained his decision.
    - President Vale said he understood.
    Related Link
    - Some link
    """)
    pts = [p for p in r.points if not p.preamble]
    assert [(p.number, p.position) for p in pts] == [(None, 1), (None, 2)]
    assert r.preamble.startswith("On August 13")


def test_reference_list_and_junk_are_not_points():
    r = parse("""
    Relations
    October 8, 2021
    [Provisional Translation]
    On October 8, the two leaders talked.
      1. A point.
    [Reference] Recent talks
     September 28, 2007 Prime Minister Somebody - Premier Else
    """)
    assert [p.text for p in r.points if not p.preamble] == ["A point."]
    assert "Provisional" not in r.preamble


@pytest.mark.parametrize("text", ["", "   \n\n  ", "\x00\x01binary"])
def test_no_text_is_an_error(text):
    with pytest.raises(ParseError):
        parse_readout(text, "x.txt")


def test_broken_front_matter_is_an_error():
    with pytest.raises(ParseError, match="front matter"):
        parse_readout("---\ntitle: [unclosed\n---\nBody text.\n", "x.txt")


@pytest.mark.parametrize(
    "line,expected",
    [
        ("October 7, 2021", dt.date(2021, 10, 7)),
        ("Monday, April 2, 2012", dt.date(2012, 4, 2)),
        ("7 October 2021", dt.date(2021, 10, 7)),
        ("2021-10-07", dt.date(2021, 10, 7)),
        ("On October 7, commencing at 5:30 p.m.", None),
        ("2018", None),
    ],
)
def test_date_lines(line, expected):
    assert date_line(line) == expected


def test_find_date_in_text():
    assert find_date("held on 12 May 2019 in Tokyo") == dt.date(2019, 5, 12)
