"""`found` checks the best point against what the question names: leaders and dates."""

from __future__ import annotations

import pytest


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
