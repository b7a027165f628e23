"""The steps of an index build (embeddings/index/build.py), each on a tiny corpus written here, with a
deterministic stand-in for the model: what is parsed, what is reused, what is encoded."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from embeddings.index import build as indexer
from embeddings.readouts.corpus import scan
from embeddings.index.build import (assemble_vectors, build_index, encode_new, lending, plan_units, read_readouts, text_key,
                                write_and_publish)
from embeddings.index.store import load_index
from embeddings.index.units import context_line, dense_texts

pytestmark = pytest.mark.fast  # no model, no subprocess

TIDES = ("Talks on tides\n\nMarch 3, 2031\n\n"
         "1. The leaders discussed tidal energy in the northern seas. They agreed to meet again next spring in Oslo.\n"
         "2. Both sides welcomed the new ferry route between the two ports.\n")
ORCHARDS = ("Talks on orchards\n\nJune 9, 2032\n\n"
            "1. The ministers compared notes on apple harvests and late frosts.\n"
            "2. They signed a memorandum on the exchange of seed stock.\n")


class HashEncoder:
    """Unit vectors drawn from each text's hash: the same text always gets the same vector."""

    name = "hash-encoder"
    dim = 16
    loaded = False

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.progress: list[bool] = []

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        self.progress.append(progress)
        return np.stack([self.vector(t) for t in texts])

    def vector(self, text: str) -> np.ndarray:
        v = np.random.default_rng(text_key(text) & 0x7FFFFFFFFFFFFFFF).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    @property
    def encoded(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "tides.txt").write_text(TIDES)
    (root / "orchards.txt").write_text(ORCHARDS)
    return root


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder()


def build(corpus: Path, index: Path, encoder, compact: str | None = None):
    """build_index as the engine calls it: the previous published index (if any) reused."""
    previous = load_index(index) if (index / "current").exists() else None
    return build_index(corpus, scan(corpus), index, encoder, previous, compact)


def plan_of(corpus: Path, index: Path | None, model: str = HashEncoder.name, compact: str | None = None):
    previous = load_index(index) if index is not None else None
    entries, _ = read_readouts(corpus, scan(corpus), previous)
    lend = lending(previous, model, compact)
    return plan_units(entries, lend), lend, entries


def all_texts(entries) -> list[str]:
    return [t for e in entries for p in e.readout.points for t in dense_texts(e.readout, p, context_line(e.readout))]


# --- read_readouts ------------------------------------------------------------------------------


def test_a_first_build_parses_every_file(corpus):
    entries, skipped = read_readouts(corpus, scan(corpus), None)
    assert skipped == 0
    assert sorted(e.file for e in entries) == ["orchards.txt", "tides.txt"]
    assert all(e.readout is not None and e.previous is None for e in entries)
    assert {e.readout.title for e in entries} == {"Talks on tides", "Talks on orchards"}


def test_unchanged_files_are_not_parsed_and_a_renamed_one_keeps_its_readouts(corpus, tmp_path, encoder, monkeypatch):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    previous = load_index(index)
    (corpus / "orchards.txt").rename(corpus / "fruit.txt")
    parsed: list[str] = []
    monkeypatch.setattr(indexer, "parse_file", lambda root, rel: parsed.append(rel) or ([], []))
    entries = {e.file: e for e in read_readouts(corpus, scan(corpus), previous)[0]}
    assert parsed == []
    tides, fruit = entries["tides.txt"], entries["fruit.txt"]
    assert tides.readout is None and previous.readout_files[tides.previous] == "tides.txt"  # its line is copied
    assert previous.readout_files[fruit.previous] == "orchards.txt"
    assert fruit.readout.doc.startswith("fruit.txt") and fruit.readout.title == "Talks on orchards"


# --- lending ------------------------------------------------------------------------------------


def test_the_previous_index_lends_vectors_only_of_its_model_and_at_least_its_precision(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder, compact="sq8")
    previous = load_index(index)
    assert not lending(None, encoder.name, None).vectors
    same = lending(previous, encoder.name, "sq8")
    assert same.vectors and same.tokens and same.readouts
    assert lending(previous, encoder.name, "sq4").vectors  # coarser than what it holds: fine
    assert not lending(previous, encoder.name, None).vectors  # float32 asked again: re-encode
    other = lending(previous, "another-model", "sq8")
    assert not other.vectors and not other.readouts and other.tokens  # BM25 tokens do not depend on the model


# --- plan_units ---------------------------------------------------------------------------------


def test_the_plan_of_a_first_build_has_every_text_new(corpus):
    plan, lend, entries = plan_of(corpus, None)
    assert lend.index is None
    assert plan.new_texts == all_texts(entries)
    assert (plan.new_at == np.arange(plan.n_units)).all() and len(plan.reused_rows) == 0
    assert (plan.unit_keys == [text_key(t) for t in plan.new_texts]).all()
    per_point = [len(dense_texts(e.readout, p)) for e in entries for p in e.readout.points]
    assert plan.n_points == 4 and sorted(per_point) == [2, 2, 2, 4]
    assert (plan.owners == np.repeat(np.arange(4), per_point)).all()
    assert len(plan.lines) == len(plan.table_rows) == 2
    assert len(plan.cache.text_keys) == len(plan.cache.lex_keys) == 4 and plan.cache.offsets[-1] == len(plan.cache.tokens)


def test_an_unchanged_second_build_reuses_every_row_and_encodes_nothing(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    previous = load_index(index)
    plan, lend, entries = plan_of(corpus, index)
    assert lend.readouts and all(e.readout is None for e in entries)
    assert plan.new_texts == [] and len(plan.new_at) == 0
    assert sorted(plan.reused_at.tolist()) == list(range(plan.n_units)) == list(range(len(previous.unit_keys)))
    assert (plan.unit_keys[plan.reused_at] == previous.unit_keys[plan.reused_rows]).all()
    for name in ("text_keys", "lex_keys", "tokens", "offsets"):
        assert (getattr(plan.cache, name) == getattr(previous.point_cache, name)).all()
    assert plan.vocab == previous.lexical.vocab
    assert plan.lines == [previous.readouts.raw(i) for i in range(2)]  # copied, not re-serialized

    encoder.calls.clear()
    report = build(corpus, index, encoder)
    assert report.encoded == 0 and encoder.calls == []
    assert (report.readouts, report.points, report.units) == (2, 4, 10)


def test_an_edited_sentence_makes_exactly_its_points_texts_new(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    previous = load_index(index)
    (corpus / "tides.txt").write_text(TIDES.replace("next spring", "next autumn"))
    plan, _, entries = plan_of(corpus, index)
    tides = next(e.readout for e in entries if e.file == "tides.txt")
    point = tides.points[0]
    # the point's other sentence is a unit the previous index has: its row is reused
    assert plan.new_texts == [point.text, f"2031-03-03: {point.text}", "They agreed to meet again next autumn in Oslo."]
    assert {e.file: e.readout is None for e in entries} == {"tides.txt": False, "orchards.txt": True}
    assert len(plan.reused_rows) == plan.n_units - 3
    assert (plan.unit_keys[plan.reused_at] == previous.unit_keys[plan.reused_rows]).all()
    assert (plan.unit_keys[plan.new_at] == [text_key(t) for t in plan.new_texts]).all()

    encoder.calls.clear()
    assert build(corpus, index, encoder).encoded == 3 and encoder.calls == [plan.new_texts]


def test_a_renamed_file_encodes_nothing(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    (corpus / "tides.txt").rename(corpus / "sea.txt")
    plan, _, _ = plan_of(corpus, index)
    assert plan.new_texts == [] and sorted(row.file for row in plan.table_rows) == ["orchards.txt", "sea.txt"]
    encoder.calls.clear()
    assert build(corpus, index, encoder).encoded == 0 and encoder.calls == []
    assert sorted(load_index(index).readout_files) == ["orchards.txt", "sea.txt"]


def test_another_model_plans_every_text_new_but_keeps_the_tokens(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    previous = load_index(index)
    plan, _, entries = plan_of(corpus, index, model="another-model")
    assert sorted(plan.new_texts) == sorted(t for i in range(2) for p in previous.readouts[i].points
                                            for t in dense_texts(previous.readouts[i], p))
    assert len(plan.reused_rows) == 0
    assert (plan.cache.tokens == previous.point_cache.tokens).all()


# --- encode_new ---------------------------------------------------------------------------------


def test_encode_new_encodes_only_the_plans_new_texts(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    (corpus / "orchards.txt").write_text(ORCHARDS.replace("seed stock", "grafting wood"))
    plan, _, _ = plan_of(corpus, index)
    encoder.calls.clear()
    fresh = encode_new(plan, encoder)
    assert encoder.calls == [plan.new_texts] == [["They signed a memorandum on the exchange of grafting wood.",
                                                  "2032-06-09: They signed a memorandum on the exchange of grafting wood."]]
    assert np.allclose(fresh, np.stack([encoder.vector(t) for t in plan.new_texts]))

    unchanged, _, _ = plan_of(corpus, index)
    unchanged.new_texts = []
    assert encode_new(unchanged, encoder) is None and len(encoder.calls) == 1


def test_a_progress_bar_only_for_many_texts_on_a_terminal(corpus, encoder, monkeypatch):
    plan, _, _ = plan_of(corpus, None)
    monkeypatch.setattr(indexer, "sys", SimpleNamespace(stderr=SimpleNamespace(isatty=lambda: True)))
    encode_new(plan, encoder)
    monkeypatch.setattr(indexer, "PROGRESS_FROM", len(plan.new_texts))
    encode_new(plan, encoder)
    monkeypatch.setattr(indexer, "sys", SimpleNamespace(stderr=SimpleNamespace(isatty=lambda: False)))
    encode_new(plan, encoder)
    assert encoder.progress == [False, True, False]


# --- assemble_vectors and write_and_publish ------------------------------------------------------


def _rows_hold_their_texts(vectors, encoder: HashEncoder, texts: list[str]) -> None:
    """Every live row holds the vector of the text its key names."""
    by_key = {text_key(t): t for t in texts}
    live = np.flatnonzero(vectors.units >= 0)
    got = vectors.index.reconstruct_batch(live)
    want = np.stack([encoder.vector(by_key[int(k)]) for k in vectors.unit_keys[live]])
    assert np.allclose(got, want, atol=2e-3)  # fp16 codes are approximations


def test_an_update_grows_the_previous_faiss_index_in_place(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    previous = load_index(index)
    n_old = previous.vectors.ntotal
    (corpus / "orchards.txt").write_text(ORCHARDS.replace("seed stock", "grafting wood"))
    entries, _ = read_readouts(corpus, scan(corpus), previous)
    lend = lending(previous, encoder.name, None)
    plan = plan_units(entries, lend)
    vectors = assemble_vectors(plan, encode_new(plan, encoder), lend, None, encoder)
    assert vectors.index is previous.vectors and vectors.kind == "Flat" and vectors.dim == encoder.dim
    assert vectors.index.ntotal == n_old + 2 and (vectors.units == -1).sum() == 2  # the old point's rows stay, dead
    entries = read_readouts(corpus, scan(corpus), None)[0]
    _rows_hold_their_texts(vectors, encoder, all_texts(entries))


def test_another_kind_of_index_is_made_anew_from_reused_and_fresh_vectors(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    build(corpus, index, encoder)
    previous = load_index(index)
    (corpus / "tides.txt").write_text(TIDES.replace("next spring", "next autumn"))
    entries, _ = read_readouts(corpus, scan(corpus), previous)
    lend = lending(previous, encoder.name, "fp16")
    plan = plan_units(entries, lend)
    vectors = assemble_vectors(plan, encode_new(plan, encoder), lend, "fp16", encoder)
    assert vectors.index is not previous.vectors and vectors.kind == "SQfp16"
    assert vectors.index.ntotal == plan.n_units and (vectors.units == plan.owners).all()
    _rows_hold_their_texts(vectors, encoder, all_texts(read_readouts(corpus, scan(corpus), None)[0]))


def test_write_and_publish_writes_what_the_plan_says(corpus, tmp_path, encoder):
    index = tmp_path / "index"
    plan, lend, _ = plan_of(corpus, None)
    vectors = assemble_vectors(plan, encode_new(plan, encoder), lend, None, encoder)
    write_and_publish(corpus, scan(corpus), index, encoder.name, None, plan, vectors)
    stored = load_index(index)
    m = stored.manifest
    assert (m.model, m.dim, m.readouts, m.points, m.units) == (encoder.name, encoder.dim, 2, 4, 10)
    assert m.settings == {"faiss": "Flat", "compact": None, "units": indexer.UNITS_RECIPE, "lexical": indexer.LEXICAL_RECIPE,
                          "table": indexer.TABLE_RECIPE}
    assert sorted(m.files) == ["orchards.txt", "tides.txt"]
    assert (stored.unit_keys == plan.unit_keys).all() and (stored.units == plan.owners).all()
    assert (stored.point_cache.tokens == plan.cache.tokens).all() and stored.lexical.vocab == plan.vocab


def test_an_updated_index_holds_what_a_full_build_of_the_same_corpus_holds(corpus, tmp_path, encoder):
    """Steps chained by build_index: edits, a rename, an addition and a removal later, the
    updated index's points have the units and tokens of a build from scratch."""
    index = tmp_path / "index"
    build(corpus, index, encoder)
    (corpus / "tides.txt").write_text(TIDES.replace("next spring", "next autumn"))
    build(corpus, index, encoder)
    (corpus / "orchards.txt").rename(corpus / "fruit.txt")
    (corpus / "extra.txt").write_text("Talk on rivers\n\nMay 1, 2033\n\n1. The envoys discussed river dredging.\n")
    build(corpus, index, encoder)
    (corpus / "extra.txt").unlink()
    build(corpus, index, encoder)

    fresh_corpus = tmp_path / "copy"
    shutil.copytree(corpus, fresh_corpus)
    build(fresh_corpus, tmp_path / "fresh", HashEncoder())
    updated, full = load_index(index), load_index(tmp_path / "fresh")

    def points(ix):
        rows, starts = ix.point_rows
        words = {i: w for w, i in ix.lexical.vocab.items()}
        pc = ix.point_cache
        return sorted((sorted(ix.unit_keys[rows[starts[p]:starts[p + 1]]].tolist()),
                       [words[t] for t in pc.tokens[pc.offsets[p]:pc.offsets[p + 1]]]) for p in range(ix.n_points))

    assert points(updated) == points(full)
    assert sorted(updated.readout_files) == sorted(full.readout_files) == ["fruit.txt", "tides.txt"]
