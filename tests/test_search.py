"""`found` checks the best point against what the question names: leaders and dates."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "question,found",
    [
        ("What was said about grave visits?", True),
        ("What did Kishida and Putin say about grave visits in October 2021?", True),
        ("What did Kishida and Merkel say about grave visits?", False),  # Merkel was not on this call
        ("What was said about grave visits in 2019?", False),  # the only readout is of 2021
        ("What was said about grave visits in March 2021?", False),
        ("What did Kishida say about the agreement reached in Singapore in 2018?", True),  # a year in the text
    ],
)
def test_found_respects_leaders_and_dates(engine, question, found):
    a = engine.ask(question, 3)
    assert a.found is found, [(h.label, h.score) for h in a.hits]


@pytest.mark.parametrize(
    "question,found",
    [
        ("What did Kishida and Erdogan say about grave visits?", False),  # a leader no readout has
        ("What did Japan and the Philippines say about grave visits?", False),  # nor this country
        ("What did Tokyo and Moscow say about grave visits?", True),  # aliases of the two at the table
    ],
)
def test_found_respects_countries_and_other_leaders(engine, question, found):
    a = engine.ask(question, 3)
    assert a.found is found, [(h.label, h.score) for h in a.hits]


UK_READOUT = """---
title: PM call with President Zelenskyy of Ukraine
date: 2022-03-09
source: https://www.gov.uk/government/news/pm-call-with-president-zelenskyy-example
---
The Prime Minister spoke with Ukrainian President Zelenskyy this evening.

The Prime Minister said the United Kingdom would send more defensive weapons and keep tightening sanctions.

President Zelenskyy thanked the Prime Minister for the humanitarian aid.
"""


@pytest.mark.parametrize(
    "question,found",
    [
        ("What did Johnson say about defensive weapons and sanctions?", True),  # the UK's unnamed PM
        ("What did Kishida say about defensive weapons and sanctions?", False),  # not a UK prime minister
    ],
)
def test_unnamed_leader_is_the_publishing_countrys(tmp_path, question, found):
    """UK readouts never name their own Prime Minister; the site that published them says whose."""
    from embeddings.engine import Engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "uk-call.md").write_text(UK_READOUT)
    eng = Engine.load(corpus, tmp_path / "index")
    a = eng.ask(question, 3)
    assert a.hits[0].text.startswith("The Prime Minister said")
    assert a.found is found, [(h.label, h.score) for h in a.hits]
