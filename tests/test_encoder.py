"""The numpy question encoder against sentence-transformers, and the index reusing vectors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import BUNDLED, cli_env, run_cli

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
def encoders():
    from embeddings.encoder import Encoder

    fast, torch_side = Encoder(), Encoder()
    torch_side._fast = False  # never the numpy path
    return fast, torch_side


def test_numpy_encoder_matches_sentence_transformers(encoders):
    fast, torch_side = encoders
    a = fast.encode_queries(QUESTIONS)
    assert fast._model is None, "questions were encoded without loading sentence-transformers"
    b = torch_side.encode(QUESTIONS)
    cos = (a * b).sum(1)
    assert cos.min() >= 0.9999, cos
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


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
