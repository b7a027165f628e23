"""What BM25 indexed for a point, read back from the stored index: its readout's title and
countries (those of the preamble too) and its own words, not the readout's speaker labels.

An index built while the indexer took the table's last column (the speakers) for the countries
holds speaker labels instead; its manifest names no BM25 recipe, and the next update or question
redoes its BM25 side from the readouts, reusing every vector.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.index import build as indexer
from embeddings.model.encoder import Encoder
from embeddings.engine import Engine, build, stale_reason
from embeddings.index.lexical import tokenize
from embeddings.index.store import StoredIndex, load_index
from embeddings.index.units import LEXICAL_RECIPE

pytestmark = pytest.mark.e2e

# Mongolia is named in the preamble only; point 1 names neither country nor the Prime Minister's
# surname, though the parser gives it him as its speaker ("The Prime Minister stated")
TALK = """---
title: Telephone Talk between the Leaders
date: 2031-03-03
---
On March 3, 2031, from 9:00 p.m. for about 30 minutes, Prime Minister KISHIDA Fumio held a telephone talk with H.E. Mr. Batu Tsogt, President of Mongolia. The overview is as follows.

1. The Prime Minister stated that he looked forward to cooperation on tidal energy.

2. The President expressed his gratitude for the support on drought relief.
"""
POINT_1 = "The Prime Minister stated that he looked forward to cooperation on tidal energy."


def stem(word: str) -> str:
    (t,) = tokenize(word)
    return t


def point_tokens(stored: StoredIndex, pid: int) -> list[str]:
    """The BM25 tokens stored for point `pid`: its token ids in the point cache, as words of the
    index's lexical vocabulary."""
    words = {i: w for w, i in stored.lexical.vocab.items()}
    cache = stored.point_cache
    return [words[int(t)] for t in cache.tokens[cache.offsets[pid]:cache.offsets[pid + 1]]]


def point_id(stored: StoredIndex, text: str) -> int:
    (pid,) = [p for p in range(stored.n_points) if stored.point(p)[1].text == text]
    return pid


def assert_countries_not_speakers(index: Path) -> None:
    stored = load_index(index)
    pid = point_id(stored, POINT_1)
    r, p = stored.point(pid)
    assert p.speakers == ["Prime Minister Kishida"]  # the label the old text took in
    assert stored.table.countries[stored.point_readout[pid]] == ["Mongolia", "Japan"]
    tokens = point_tokens(stored, pid)
    assert stem("Mongolia") in tokens and stem("Japan") in tokens
    assert stem("Kishida") not in tokens and stem("Tsogt") not in tokens
    assert sorted(tokens) == sorted(tokenize(f"{r.title} Mongolia Japan {POINT_1}"))
    # and the BM25 weights search adds up: the country finds the point, the speaker's name does not
    assert stored.lexical.scores("Mongolia")[pid] > 0
    assert stored.lexical.scores("Kishida")[pid] == 0
    assert stored.manifest.settings["lexical"] == LEXICAL_RECIPE


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "talk.md").write_text(TALK)
    return folder


@pytest.fixture
def encoded(monkeypatch) -> list[int]:
    """How many texts each build sent to the model."""
    calls: list[int] = []
    encode = Encoder.encode

    def counting(self, texts, *args, **kwargs):
        calls.append(len(texts))
        return encode(self, texts, *args, **kwargs)

    monkeypatch.setattr(Encoder, "encode", counting)
    return calls


def test_a_points_bm25_text_has_its_readouts_countries_and_not_its_speakers(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    assert_countries_not_speakers(tmp_path / "index")


def _old_build(corpus: Path, index: Path, monkeypatch, **patches) -> None:
    """Build with indexer functions replaced, then drop the manifest's BM25 recipe, as indexes
    written before it was recorded have none."""
    with monkeypatch.context() as m:
        for name, fn in patches.items():
            m.setattr(indexer, name, fn)
        build(corpus, index)
    manifest = index / "current" / "manifest.json"
    d = json.loads(manifest.read_text())
    del d["settings"]["lexical"]
    manifest.write_text(json.dumps(d))


def _speakers_as_countries(r, p, countries=None):
    """The BM25 text the indexer made before this fix: the readout's speakers where its countries go."""
    speakers = " ".join("\n".join(q.speakers) for q in r.points)  # the table's last column, joined
    return f"{r.title} {speakers} {p.text}"


def test_an_index_of_the_old_recipe_has_its_bm25_side_redone_on_the_next_question(corpus, tmp_path, monkeypatch, encoded):
    index = tmp_path / "index"
    _old_build(corpus, index, monkeypatch, lexical_text=_speakers_as_countries)
    old = load_index(index)
    assert stem("Kishida") in point_tokens(old, point_id(old, POINT_1))
    assert stem("Mongolia") not in point_tokens(old, point_id(old, POINT_1))
    assert "BM25" in stale_reason(corpus, index, None)
    vectors_file = (index / "current" / "vectors.faiss").stat().st_ino
    encoded.clear()

    reasons: list[str] = []
    engine = Engine.load(corpus, index, on_build=reasons.append)
    assert len(reasons) == 1 and "BM25" in reasons[0]
    assert encoded == []  # the dense texts did not change: every vector was reused
    new = load_index(index)
    assert (new.unit_keys == old.unit_keys).all()
    assert (index / "current" / "vectors.faiss").stat().st_ino == vectors_file  # linked, not rewritten
    assert_countries_not_speakers(index)
    assert stale_reason(corpus, index, None) is None
    hit = engine.ask("What was said about tidal energy with Mongolia?", 1).hits[0]
    assert hit.text == POINT_1


def test_tokens_of_another_recipe_are_redone_even_where_the_bm25_text_is_the_same(corpus, tmp_path, monkeypatch, encoded):
    """Tokens are reused by a hash of the BM25 text; a new recipe may tokenize the same text
    otherwise, so an index of another recipe lends none (nor its vocabulary)."""
    index = tmp_path / "index"
    _old_build(corpus, index, monkeypatch, tokenize=lambda text: ["stale"])
    old = load_index(index)
    assert point_tokens(old, point_id(old, POINT_1)) == ["stale"]
    encoded.clear()

    report = build(corpus, index)
    assert report.encoded == 0 and encoded == []
    new = load_index(index)
    assert (new.point_cache.lex_keys == old.point_cache.lex_keys).all()  # the same texts
    assert "stale" not in new.lexical.vocab
    assert_countries_not_speakers(index)


def test_an_unchanged_index_of_this_recipe_lends_its_tokens(corpus, tmp_path, monkeypatch):
    """The other side: an update of a current index copies the tokens of unchanged readouts
    rather than tokenizing them again."""
    index = tmp_path / "index"
    build(corpus, index)
    (corpus / "other.md").write_text(TALK.replace("tidal energy", "ocean currents").replace("Mongolia", "Canada"))
    tokenized: list[str] = []
    real = indexer.tokenize
    monkeypatch.setattr(indexer, "tokenize", lambda text: tokenized.append(text) or real(text))
    build(corpus, index)
    assert tokenized and not any("Mongolia" in t for t in tokenized)  # the new readout's points only
    assert_countries_not_speakers(index)
