"""Reading questions: speakers, collectives, dates and the aliases of countries and leaders."""

from __future__ import annotations

import pytest

from embeddings.readouts.aliases import countries_in, host_country
from embeddings.search.query import read_question

pytestmark = pytest.mark.fast


def test_speaker_is_taken_out_of_the_content():
    q = read_question("What did Putin say about North Korea?")
    assert [l.surname for l in q.speakers] == ["Putin"]
    assert "Putin" not in q.content and "North Korea" in q.content


def test_possessive_is_a_topic_not_a_speaker():
    q = read_question("what did Macron say after Abe's death?")
    assert [l.surname for l in q.speakers] == ["Macron"]
    assert "Abe" in q.content


def test_collective_speakers():
    q = read_question("Will the two leaders meet in person?")
    assert q.collective and "leaders" not in q.content


@pytest.mark.parametrize(
    "text,year,month",
    [("the February 2020 meeting in Munich", 2020, 2), ("Singapore 2018", 2018, None), ("talks in Sept. 2017", 2017, 9),
     ("what did they say about grave visits", None, None), ("may they meet again", None, None)],
)
def test_dates_in_questions(text, year, month):
    q = read_question(text)
    assert (q.year, q.month) == (year, month)


@pytest.mark.parametrize(
    "text,countries",
    [("Tokyo and Moscow", ["Japan", "Russia"]), ("the Kremlin", ["Russia"]), ("Pyongyang's missiles", ["North Korea"]),
     ("Downing Street", ["United Kingdom"]), ("the White House", ["United States"]), ("what did Trudeau say", ["Canada"]),
     ("tell us about it", []), ("Japan Philippines leaders call", ["Japan", "Philippines"]),
     ("North Korean missile launches", ["North Korea"]), ("Erdogan and Abe", ["Turkey", "Japan"]),
     ("they may call in May", [])],
)
def test_aliases(text, countries):
    assert countries_in(text) == countries


@pytest.mark.parametrize(
    "url,country",
    [("https://www.gov.uk/government/news/pm-call", "United Kingdom"), ("http://en.kremlin.ru/events/1", "Russia"),
     ("https://www.whitehouse.gov/briefing-room/", "United States"), ("https://www.mofa.go.jp/a/b.html", "Japan"),
     ("https://example.com/gov.uk", None), ("not a url", None), (None, None)],
)
def test_publishing_country_from_the_address(url, country):
    assert host_country(url) == country


@pytest.mark.parametrize(
    "text,about",
    [("when did Abe and Putin talk?", True), ("how long was the call", True), ("where did Motegi and Lavrov meet", True),
     ("who called whom first", True), ("What was said about grave visits?", False), ("Did they discuss North Korea", False)],
)
def test_questions_about_the_talk_itself(text, about):
    assert read_question(text).about_the_talk is about
