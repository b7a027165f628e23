"""The question encoder against sentence-transformers, and the index reusing vectors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import BUNDLED, cli_env, run_cli

pytestmark = pytest.mark.e2e

QUESTIONS = [
    "What was said about grave visits?",
    "What did Putin say about North Korea?",
    "Year of Regional Exchanges",
    "did they talk about letting former residents visit family burial sites?",
    "Singapore 2018",
    "x",
    "Trudeau Ishiba critical minerals — and the G20 in Rio de Janeiro, Brazil!",
    "a much longer question " * 80,  # past the model's 256 word pieces: truncated alike
    "Prime Minister KISHIDA Fumio’s “Free and Open Indo-Pacific” (FOIP)",
    "émigrés in Zürich and Çavuşoğlu",
]


@pytest.fixture(scope="module")
def model_side():
    """The model's own encoding, through sentence-transformers."""
    from embeddings.model.encoder import Encoder

    side = Encoder()
    side.encode(["the model loads on its first encode"])
    return side


def test_the_question_encoder_matches_sentence_transformers(model_side, tmp_path):
    """The layers a build exports, run by onnxruntime, give the model's own vectors, in a batch
    and one question at a time, without loading torch."""
    from embeddings.model.encoder import Encoder

    exports = tmp_path / "query-encoder"
    assert model_side.export_for_queries(to=exports)
    questions = Encoder(exports=exports)
    a = questions.encode_queries(QUESTIONS)
    assert not questions.loaded, "questions were encoded without loading sentence-transformers"
    assert questions.question_encoder == "onnxruntime"
    b = model_side.encode(QUESTIONS)
    cos = (a * b).sum(1)
    assert cos.min() >= 0.9999, cos
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    alone = np.stack([questions.encode_queries([q])[0] for q in QUESTIONS])
    assert (alone * b).sum(1).min() >= 0.9999


def test_with_no_export_questions_export_one_first_and_another_models_export_is_never_used(model_side, tmp_path, caplog):
    import json

    from embeddings.model.encoder import Encoder

    exports = tmp_path / "query-encoder"
    fresh = Encoder(exports=exports)  # a machine where no build ran: the first question exports
    with caplog.at_level("WARNING", logger="embeddings.model.encoder"):
        a = fresh.encode_queries(QUESTIONS[:3])
    assert [r.getMessage() for r in caplog.records if "no question encoder" in r.getMessage()], caplog.text
    assert (exports / "layers.onnx").is_file()
    b = model_side.encode(QUESTIONS[:3])
    assert (a * b).sum(1).min() >= 0.9999
    assert Encoder(exports=exports).question_encoder == "onnxruntime"

    (exports / "model.json").write_text(json.dumps({"source": {"model_dir": "/elsewhere", "weights_bytes": 1}}))
    assert Encoder(exports=exports).question_encoder == "sentence-transformers"


def test_rebuild_reencodes_only_new_texts(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED, corpus)
    env = cli_env(tmp_path)
    index = tmp_path / "index"
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index), "--json"], env)
    import json

    first = json.loads(r.stdout)
    assert first["encoded"] == first["vectors"] > 0
    (corpus / "000_f357f723c89b56b9.txt").rename(corpus / "renamed.txt")
    (corpus / "new.txt").write_text("A New Talk\n\nJune 2, 2030\n\n1. The leaders discussed volcano monitoring.\n")
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index), "--json"], env)
    second = json.loads(r.stdout)
    # the new point, alone and after its context line (its date); the renamed file's nothing
    assert second["readouts"] == 2 and second["encoded"] == 2, second
    r = run_cli(["ask", "--corpus", str(corpus), "--index", str(index), "--json", "-k", "1", "grave visits"], env)
    hit = json.loads(r.stdout)["hits"][0]
    assert (hit["doc"], hit["point"]) == ("renamed.txt", 5)

    # one sentence of point 5 edited: the point (alone and after its context line) and that
    # sentence are encoded, nothing else
    seed = corpus / "renamed.txt"
    seed.write_text(seed.read_text().replace("by airplane", "by ship and by airplane"))
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index), "--json"], env)
    third = json.loads(r.stdout)
    assert third["encoded"] == 3, third
    r = run_cli(["ask", "--corpus", str(corpus), "--index", str(index), "--json", "-k", "1", "grave visits by ship"], env)
    hit = json.loads(r.stdout)["hits"][0]
    assert hit["point"] == 5 and "by ship and by airplane" in hit["text"]


def _talk(topic: str, day: int) -> str:
    return f"Talk on {topic}\n\nMarch {day}, 2031\n\n1. The leaders discussed {topic} at length.\n\n2. They agreed to meet again about {topic}.\n"


@pytest.mark.parametrize("kind", ["Flat", "HNSW", "IVF"])
def test_updates_grow_the_faiss_index_in_place(tmp_path, monkeypatch, kind):
    """An update adds rows for new texts and leaves removed points' rows behind (an HNSW graph
    cannot drop them) instead of rebuilding the index; past DEAD_SHARE dead rows it rebuilds.
    Large indexes are HNSW graphs, or inverted files when their vectors are compact."""
    from embeddings.engine import Engine, build
    from embeddings.index.store import load_index

    compact = "sq8" if kind == "IVF" else None
    if kind != "Flat":
        monkeypatch.setenv("READOUT_HNSW_FROM", "1")
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED, corpus)
    topics = ["volcano monitoring", "fishing quotas", "space debris", "coral reefs"]
    for i, t in enumerate(topics):
        (corpus / f"talk{i}.txt").write_text(_talk(t, i + 1))
    index = tmp_path / "index"
    build(corpus, index, compact=compact)
    first = load_index(index)
    assert first.manifest.settings["faiss"].startswith(kind)
    assert (first.units >= 0).all() and first.vectors.ntotal == first.manifest.units

    (corpus / "talk0.txt").unlink()
    (corpus / "talk9.txt").write_text(_talk("glacier melt", 9))
    report = build(corpus, index)
    assert report.encoded == 4  # two one-sentence points, alone and after their context line
    second = load_index(index)
    dead = int((second.units < 0).sum())
    assert dead == 4 and second.vectors.ntotal == first.vectors.ntotal + 4
    assert second.manifest.units == second.vectors.ntotal - dead
    # the new rows are in the small delta; the vectors file is the previous one, linked
    assert second.vectors.delta.ntotal == 4
    assert (second.path / "vectors.faiss").stat().st_ino == (first.path / "vectors.faiss").stat().st_ino

    engine = Engine.load(corpus, index)
    hits = engine.ask("What was said about glacier melt?", 3).hits
    assert hits[0].doc == "talk9.txt", hits
    assert all(h.doc != "talk0.txt" for h in engine.ask("volcano monitoring", 10).hits)
    grave = engine.ask("What was said about grave visits?", 1).hits[0]
    assert grave.point == 5 and grave.doc == "000_f357f723c89b56b9.txt"

    # past DELTA_MAX rows the delta is folded into a new vectors file
    monkeypatch.setenv("READOUT_DELTA_MAX", "5")
    (corpus / "talk8.txt").write_text(_talk("desert locusts", 8))
    build(corpus, index)
    folded = load_index(index)
    assert folded.vectors.delta.ntotal == 0 and folded.vectors.ntotal == second.vectors.ntotal + 4
    assert (folded.path / "vectors.faiss").stat().st_ino != (second.path / "vectors.faiss").stat().st_ino
    assert Engine.load(corpus, index).ask("What was said about desert locusts?", 1).hits[0].doc == "talk8.txt"

    # removing most of the corpus leaves more dead rows than DEAD_SHARE allows: a full rebuild
    for f in ["talk1.txt", "talk2.txt", "talk3.txt", "talk8.txt", "000_f357f723c89b56b9.txt"]:
        (corpus / f).unlink()
    build(corpus, index)
    third = load_index(index)
    assert (third.units >= 0).all() and third.vectors.ntotal == third.manifest.units
    assert Engine.load(corpus, index).ask("glacier melt", 1).hits[0].doc == "talk9.txt"


def test_a_build_with_the_model_exports_the_question_encoder_and_a_serving_engine_uses_it(tmp_path, monkeypatch):
    import embeddings.model.encoder as encoder
    from embeddings.engine import Engine, build

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the export is kept
    monkeypatch.setattr(encoder, "FEW_TEXTS", 0)  # encode the bundled readout with sentence-transformers
    index = tmp_path / "index"
    build(BUNDLED, index)
    assert list((tmp_path / "cache").rglob("layers.onnx"))
    engine = Engine.load(BUNDLED, index)
    engine.warm_up()
    assert engine.searcher.encoder.question_encoder == "onnxruntime"
    assert not engine.searcher.encoder.loaded
    hit = engine.ask("what was said about grave visits?", 1).hits[0]
    assert hit.point == 5
