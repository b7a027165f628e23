"""BM25 computed from token ids, checked against the formula worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embeddings.index.lexical import Lexical, best, bm25_columns, tokenize

pytestmark = pytest.mark.fast


def test_bm25_matches_the_formula():
    docs = [["a", "b", "a"], ["b", "c"], ["c", "c", "c", "d"]]
    vocab = {"a": 0, "b": 1, "c": 2, "d": 3}
    tokens = np.array([vocab[t] for d in docs for t in d], dtype=np.int32)
    offsets = np.array([0, 3, 5, 9])
    data, indices, indptr = bm25_columns(tokens, offsets, len(vocab), k1=1.2, b=0.75)
    avgdl = 3.0

    def bm25(tf, df, dl):
        idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))

    col = lambda t: dict(zip(indices[indptr[t]:indptr[t + 1]].tolist(), data[indptr[t]:indptr[t + 1]].tolist()))  # noqa: E731
    assert col(0) == {0: pytest_approx(bm25(2, 1, 3))}
    assert col(1) == {0: pytest_approx(bm25(1, 2, 3)), 1: pytest_approx(bm25(1, 2, 2))}
    assert col(2) == {1: pytest_approx(bm25(1, 2, 2)), 2: pytest_approx(bm25(3, 2, 4))}


def pytest_approx(x):
    import pytest

    return pytest.approx(x, rel=1e-5)


def test_scores_and_coverage():
    lex = Lexical.build(["grave visits to the four islands", "North Korea's missile launches", "meeting soon"])
    s = lex.scores("What was said about grave visits?")
    assert s.argmax() == 0 and s[1] == s[2] == 0
    assert lex.term_coverage(tokenize("grave visits"), 0) == 1.0
    assert lex.term_coverage(tokenize("grave visits borscht"), 0) < 0.7  # an unknown word counts against
    assert not lex.scores("borscht recipe").any()
    assert tokenize("Japan-Russia’s leaders") == ["japan-russia", "japan", "russia", "leader"]


def test_best_is_the_exact_top_c_on_large_and_small_score_arrays():
    rng = np.random.default_rng(0)
    for n, matched in [(300, 0.5), (50_000, 0.4), (50_000, 0.002), (200_000, 0.3), (200_000, 0.0)]:
        scores = np.zeros(n, dtype=np.float32)
        hit = rng.random(n) < matched
        # rounded scores tie, as BM25 scores of short documents do
        scores[hit] = np.round(rng.gamma(2.0, 1.0, hit.sum()), 1).astype(np.float32) + 0.1
        got = best(scores, 200)
        want_n = min(200, int(hit.sum()))
        assert len(got) == len(set(got.tolist())) == want_n
        if want_n:
            assert (scores[got] > 0).all()
            # every document left out scores at most the lowest one taken
            left = np.setdiff1d(np.flatnonzero(scores), got)
            assert not len(left) or scores[left].max() <= scores[got].min()
