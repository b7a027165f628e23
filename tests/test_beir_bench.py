"""benchmarks/beir.py: its nDCG against hand-computed values, and a run on a tiny BEIR folder."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "beir.py"


def _beir():
    spec = importlib.util.spec_from_file_location("beir_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.fast
def test_ndcg_by_hand():
    beir = _beir()
    run = {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6}
    rels = {"b": 2, "d": 1, "e": 1, "f": 0}
    # gains at ranks 2 and 4; the ideal ranking is grades 2, 1, 1
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert beir.ndcg_at_k(run, rels, 10) == pytest.approx(dcg / idcg)  # 0.5406
    assert beir.ndcg_at_k(run, rels, 10) == pytest.approx(0.540586, abs=1e-6)
    # the cut: only rank 1 (irrelevant) counts, the ideal is grade 2 at rank 1
    assert beir.ndcg_at_k(run, rels, 1) == 0.0
    assert beir.ndcg_at_k(run, rels, 2) == pytest.approx((2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert beir.ndcg_at_k({"b": 1.0, "d": 0.5, "e": 0.1}, rels, 10) == pytest.approx(1.0)
    assert beir.ndcg_at_k(run, {}, 10) == 0.0
    # ties go to the larger doc id first, as trec_eval (and so pytrec_eval) orders them
    assert beir.ndcg_at_k({"x": 1.0, "y": 1.0}, {"x": 1}, 10) == pytest.approx(1 / math.log2(3))
    assert beir.recall_at_k(run, rels, 100) == pytest.approx(2 / 3)
    assert beir.recall_at_k(run, rels, 2) == pytest.approx(1 / 3)


DOCS = [
    ("d1", "Volcanoes", "Magma rises through the crust and erupts as lava from a volcano."),
    ("d2", "Penguins", "Emperor penguins breed during the Antarctic winter on the sea ice."),
    ("d3", "Zebras", "A zebra has black and white stripes. Herds of them graze on the African savanna."),
    ("d4", "Coffee", "Coffee beans are the roasted seeds of the Coffea plant, brewed into a hot drink."),
    ("d5", "Glaciers", "Glaciers are slow rivers of ice that carve deep valleys over centuries."),
    ("d6", "Chess", "Chess is a board game in which two players move pieces to checkmate a king."),
]
QUERIES = [
    ("q1", "zebra stripes savanna"),  # every word in d3 only
    ("q2", "How are coffee beans made into a drink?"),
    ("q3", "Which birds breed on Antarctic ice in winter?"),
    ("q4", "a query without qrels is not evaluated"),
]
QRELS = [("q1", "d3", 1), ("q2", "d4", 1), ("q3", "d2", 2)]


@pytest.mark.e2e
def test_tiny_beir_folder(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "corpus.jsonl").write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in DOCS))
    (d / "queries.jsonl").write_text("".join(json.dumps({"id": i, "text": q}) + "\n" for i, q in QUERIES))
    (d / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t{s}\n" for q, c, s in QRELS))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    p = subprocess.run([sys.executable, str(SCRIPT), str(d), "--json", "--no-cache"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["docs"] == 6 and out["queries"] == 3
    for name in ("dense", "bm25", "shipped"):
        s = out["systems"][name]
        assert 0.0 <= s["ndcg@10"] <= 1.0
        assert 0.0 <= s["recall@100"] <= 1.0
        assert set(s["per_query"]) == {"q1", "q2", "q3"}
    assert out["systems"]["bm25"]["per_query"]["q1"] == pytest.approx(1.0)
    assert "rrf" in out["systems"]
    assert not (ROOT / "benchmarks" / ".cache" / "tiny-all-MiniLM-L6-v2.npz").exists()  # --no-cache
