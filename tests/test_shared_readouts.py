"""The 59 real readouts in ../shared/readouts: every file parses, with the right numbering, titles,
dates and speakers, and no navigation or footer junk among the points. Skipped without ../shared."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from embeddings.readouts.corpus import read_corpus

pytestmark = pytest.mark.e2e

JUNK = re.compile(r"^(back to|related link|\[?provisional translation|\(?\*\s*the foregoing|\[reference\]|press releases?$|\(photo)", re.I)


@pytest.fixture(scope="module")
def corpus(shared):
    return read_corpus(shared / "readouts")


@pytest.fixture(scope="module")
def by_doc(corpus):
    return {r.doc: r for r in corpus.readouts}


def test_every_file_parses(corpus, shared):
    files = sorted(p.name for p in (shared / "readouts").glob("*.txt"))
    assert corpus.skipped == []
    assert sorted(r.doc for r in corpus.readouts) == files


def test_numbered_readouts_number_1_to_n_and_no_junk(corpus, shared):
    for r in corpus.readouts:
        pts = [p for p in r.points if not p.preamble]
        assert pts, r.doc
        nums = [p.number for p in pts]
        if nums[0] is not None:
            assert nums == list(range(1, len(nums) + 1)), r.doc
        else:
            assert all(n is None for n in nums) and [p.position for p in pts] == list(range(1, len(pts) + 1)), r.doc
        for p in r.points:
            for line in p.text.splitlines():
                assert not JUNK.match(line.lstrip("•- ")), (r.doc, line)
        meta = (shared / "readouts" / r.doc).read_text().split("---")[1]
        assert f"date: {r.iso_date}" in meta, r.doc


@pytest.mark.parametrize(
    "doc,numbers,title,date",
    [
        ("kantei-2012-04-02-japan-germany-teltalk.txt", [1, 2, 3, 4], "Japan-Germany Summit Telephone Talk", dt.date(2012, 4, 2)),
        ("mofa-2015-10-01-japan-new-zealand-informal-talks.txt", [1, 2, 3], "Japan-New Zealand Relations", dt.date(2015, 10, 1)),
        ("mofa-2015-09-25-japan-germany-fm-teltalk.txt", [1, 2], None, None),
        ("mofa-2018-07-31-japan-russia-fm-meeting.txt", [1, 2, 3], "Japan-Russia Relations", dt.date(2018, 7, 31)),
        ("mofa-2020-02-15-japan-russia-fm-meeting.txt", [1, 2, 3, 4], None, None),
        ("mofa-2022-01-06-japan-us-fm-teltalk.txt", [1, 2, 3], None, None),
        ("mofa-2021-10-08-japan-china-teltalk.txt", [1, 2, 3, 4], "Japan-China Relations", dt.date(2021, 10, 8)),
        ("govuk-2022-11-04-pm-call-with-pm-kishida.txt", [None] * 7, None, None),
        ("whitehouse-2017-08-15-trump-abe-call.txt", [None], None, dt.date(2017, 8, 15)),
        ("kantei-2024-08-13-japan-mongolia-teltalk.txt", [None, None, None], None, None),
    ],
)
def test_sample_numbering_titles_dates(by_doc, doc, numbers, title, date):
    r = by_doc[doc]
    assert [p.number for p in r.points if not p.preamble] == numbers
    if title:
        assert r.title == title
    if date:
        assert r.date == date


def test_sample_contents(by_doc):
    china = by_doc["mofa-2021-10-08-japan-china-teltalk.txt"]
    assert "Wen Jiabao" not in " ".join(p.text for p in china.points)  # the reference list is not a point
    us = by_doc["mofa-2022-01-06-japan-us-fm-teltalk.txt"]
    assert "(2) Regarding Russia and Ukraine" in us.points[-1].text  # sub-items stay in point 3
    canada = by_doc["mofa-2018-03-06-japan-canada-teltalk.txt"]
    assert "G7 Summit" in canada.points[2].text  # the follow-on paragraph belongs to point 2
    germany = by_doc["mofa-2015-09-25-japan-germany-fm-teltalk.txt"]
    assert germany.points[0].preamble and "September 25" in germany.points[0].text


@pytest.mark.parametrize(
    "doc,number_or_position,speakers",
    [
        ("kantei-2022-07-12-japan-france-teltalk.txt", 1, ["President Macron"]),
        ("mofa-2016-01-22-japan-russia-teltalk.txt", 1, ["Prime Minister Abe"]),
        ("mofa-2012-04-02-japan-australia-fm-teltalk.txt", 3, ["the two ministers"]),
        ("kremlin-2017-04-04-putin-abe-telephone-conversation.txt", 2, ["Prime Minister Abe"]),
        ("govuk-2021-10-13-pm-call-with-pm-kishida.txt", 3, ["the Prime Minister"]),
        ("whitehouse-2023-11-16-biden-kishida-meeting.txt", 1, ["President Biden", "Prime Minister Kishida"]),
    ],
)
def test_sample_speakers(by_doc, doc, number_or_position, speakers):
    r = by_doc[doc]
    p = next(p for p in r.points if not p.preamble and (p.number or p.position) == number_or_position)
    assert p.speakers[: len(speakers)] == speakers, p.speakers
