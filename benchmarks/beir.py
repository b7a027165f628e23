#!/usr/bin/env python
"""Retrieval benchmark on a BEIR-format folder: dense only, BM25 only and readout's shipped search.

    python benchmarks/beir.py DIR [--limit-queries N] [--no-cache] [--json] [--grid] [experiment flags]

DIR holds `corpus.jsonl` {"id","title","text"}, `queries.jsonl` {"id","text"} and `qrels.tsv`
(query-id, corpus-id, score; with a header). Only queries that have qrels are evaluated.

Each BEIR document becomes a one-point readout (no title, date, people or preamble) whose point
text is title + " " + text, so every system sees title + text:
  dense    one vector per document (as MTEB does), cosine
  bm25     readout's `Lexical` on title + text
  shipped  readout's own `Searcher` (embeddings/search/searcher.py, `Settings()` defaults) over an in-memory
           index built as embeddings/index/build.py builds one: dense units from
           `units.dense_texts`, BM25 on `units.lexical_text`, FAISS of the indexer's kind. The
           question priors (speaker, date, country, preamble) find nothing to act on here, and the
           readout share scales every score alike.
  rrf      (for information) reciprocal-rank fusion, k=60, of the dense and bm25 rankings

Experiments (--alpha, --norm, --agg, --k1/--b, --candidates, --grid) run a vectorised model of the
shipped fusion; the run checks that the model, at the shipped settings, reproduces the Searcher.

Metrics are pytrec_eval's ndcg_cut_10 and recall_100 (graded gains, log2 discount, ties broken
by doc id descending like trec_eval). Vectors are cached in benchmarks/.cache/ by text hash, so a
rerun only encodes what it has not seen.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE_DIR = ROOT / "benchmarks" / ".cache"
RRF_K = 60
DEPTH = 100  # documents kept per query: enough for nDCG@10 and R@100


# ---------------------------------------------------------------- metrics (pytrec_eval-compatible)

def trec_order(run: Mapping[str, float]) -> list[str]:
    """Doc ids as trec_eval ranks them: score descending, ties by doc id descending."""
    return [d for d, _ in sorted(run.items(), key=lambda x: (x[1], x[0]), reverse=True)]


def ndcg_at_k(run: Mapping[str, float], rels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k as trec_eval's ndcg_cut: gain = the qrels grade, discount 1/log2(rank + 1), ideal
    ranking from the qrels' grades; 0 when the query has no relevant doc."""
    dcg = sum(max(rels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(trec_order(run)[:k]))
    ideal = sorted((g for g in rels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(run: Mapping[str, float], rels: Mapping[str, int], k: int = 100) -> float:
    relevant = {d for d, g in rels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(trec_order(run)[:k])) / len(relevant)


# ---------------------------------------------------------------- data

@dataclass
class Beir:
    name: str
    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    qids: list[str]
    questions: list[str]
    qrels: dict[str, dict[str, int]]

    def doc_text(self, i: int) -> str:
        return f"{self.titles[i]} {self.texts[i]}".strip()


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load(folder: Path, limit: int | None = None) -> Beir:
    corpus = _jsonl(folder / "corpus.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3:
                continue
            try:
                grade = int(float(row[2]))
            except ValueError:  # the header
                continue
            qrels.setdefault(row[0], {})[row[1]] = grade
    queries = [q for q in _jsonl(folder / "queries.jsonl") if str(q["id"]) in qrels]
    if limit:
        queries = queries[:limit]
    return Beir(
        name=folder.resolve().name,
        doc_ids=[str(d["id"]) for d in corpus],
        titles=[(d.get("title") or "").strip() for d in corpus],
        texts=[(d.get("text") or "").strip() for d in corpus],
        qids=[str(q["id"]) for q in queries],
        questions=[q["text"] for q in queries],
        qrels={str(q["id"]): qrels[str(q["id"])] for q in queries},
    )


def readouts_of(data: Beir) -> list:
    """Each document as a one-point readout whose point text is title + text."""
    from embeddings.records import Point, Readout

    return [Readout(doc=did, title="", date=None, source=None, participants=[], preamble="",
                    points=[Point(number=None, position=1, text=data.doc_text(i))])
            for i, did in enumerate(data.doc_ids)]


# ---------------------------------------------------------------- vectors, cached by text hash

class Vectors:
    """Encodes texts, keeping every vector in benchmarks/.cache/<dataset>-<model>.npz keyed by
    the SHA-1 of its text: a rerun, or a run with other units, encodes only unseen texts."""

    def __init__(self, encoder, path: Path | None) -> None:
        self.encoder = encoder
        self.path = path
        self.rows: dict[bytes, int] = {}
        self.vecs: list[np.ndarray] = []
        self.encoded = self.cached = 0
        self.seconds = 0.0  # encoding only
        self.load_seconds = 0.0  # loading the model (only when something is not cached)
        self._dirty = False
        if path and path.exists():
            with np.load(path) as z:
                keys, vecs = z["keys"], z["vecs"]
            self.rows = {bytes(k): i for i, k in enumerate(keys)}
            self.vecs = [vecs]

    def get(self, texts: list[str], what: str) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest().encode() for t in texts]  # hex: "S" arrays drop trailing NULs
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            if k not in self.rows and k not in missing:
                missing[k] = t
        self.cached += len(texts) - len(missing)
        if missing:
            if not self.encoded:
                t0 = time.perf_counter()
                _ = self.encoder.dim  # loads the model, so that its time is not counted as encoding
                self.load_seconds = time.perf_counter() - t0
            print(f"encoding {len(missing):,} {what} ({len(texts) - len(missing):,} cached)", file=sys.stderr)
            t0 = time.perf_counter()
            new = self.encoder.encode(list(missing.values()), batch_size=64, progress=True)
            self.seconds += time.perf_counter() - t0
            self.encoded += len(missing)
            base = sum(len(v) for v in self.vecs)
            self.rows.update({k: base + i for i, k in enumerate(missing)})
            self.vecs.append(new)
            self._dirty = True
        allv = self._all()
        return allv[[self.rows[k] for k in keys]]

    def _all(self) -> np.ndarray:
        if len(self.vecs) > 1:
            self.vecs = [np.concatenate(self.vecs)]
        return self.vecs[0]

    def save(self) -> None:
        if not (self.path and self._dirty):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.empty(len(self.rows), dtype="S40")
        for k, i in self.rows.items():
            keys[i] = k
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vecs=self._all())
        os.replace(tmp, self.path)


# ---------------------------------------------------------------- readout's own Searcher on BEIR documents

def beir_index(readouts: list, units: np.ndarray, vectors, lexical):
    """What `Searcher` reads, for documents held as one-point readouts: an in-memory StoredIndex."""
    from embeddings.index.store import StoredIndex

    return StoredIndex.of(readouts, [r.doc for r in readouts], units, vectors, lexical)


def faiss_index(vectors: np.ndarray):
    """The FAISS index the indexer would make for this many vectors (exact, or HNSW when large)."""
    try:
        from embeddings.index.build import faiss_index_of, index_kind

        return faiss_index_of(index_kind(len(vectors), None), vectors)
    except ImportError:  # an older readout, for comparisons
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return index


def searcher_runs(searcher, questions: list[str], qv: np.ndarray, depth: int) -> list[dict[str, float]]:
    """Each question's top `depth` documents and scores, as readout's Searcher ranks them (with
    the question vectors already computed, so it goes through `_rank`, not `answers`)."""
    from embeddings.search.query import read_question

    return [{h.doc: h.score for h in searcher._rank(read_question(q), v, depth).hits} for q, v in zip(questions, qv)]


# ---------------------------------------------------------------- a vectorised model of the fusion, for experiments

@dataclass(frozen=True)
class Fusion:
    """One way of fusing the dense and BM25 evidence; `shipped_fusion()` is what readout ships."""

    alpha: float
    candidates: int  # points from each side (top 2*candidates units, top candidates BM25 points)
    norm: str = "max"  # max: dense cosine as is, BM25/max BM25 (shipped); minmax, zscore: both sides, over the candidates
    agg: str = "max"  # max: best unit (shipped); top2: mean of the 2 best units; maxdoc: mean of best unit and whole-doc vector
    k1: float = 1.2
    b: float = 0.75

    def label(self) -> str:
        return f"alpha={self.alpha:g} norm={self.norm} agg={self.agg} k1={self.k1:g} b={self.b:g} cand={self.candidates}"


def shipped_fusion() -> Fusion:
    from embeddings.search.searcher import Settings

    s = Settings()
    return Fusion(alpha=s.alpha, candidates=s.candidates)


def unit_side(qv: np.ndarray, uv: np.ndarray, owner: np.ndarray, owner_start: np.ndarray, n_docs: int,
              candidates: int, agg: str, doc_dense: np.ndarray | None, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Per document: its dense score from its units' cosines (exact, as Searcher._exact_dense), and
    whether one of its units is among the 2*candidates best (Searcher._candidates)."""
    n_units = len(uv)
    dense = np.empty((len(qv), n_docs), dtype=np.float32)
    cand = np.zeros((len(qv), n_docs), dtype=bool)
    sizes = np.diff(np.append(owner_start, n_units))
    if agg == "top2":
        width = int(sizes.max())
        chunk = max(1, min(chunk, int(2e7 // (n_docs * width))))
        pad = np.full((n_docs, width), n_units, dtype=np.int64)  # index n_units is a -inf column
        for d in range(n_docs):
            pad[d, : sizes[d]] = np.arange(owner_start[d], owner_start[d] + sizes[d])
    kk = min(n_units, 2 * candidates)
    for s in range(0, len(qv), chunk):
        S = qv[s : s + chunk] @ uv.T  # (questions, units)
        rows = np.arange(len(S))[:, None]
        if n_docs <= 2 * candidates:
            cand[s : s + chunk] = True
        else:
            top = np.argpartition(-S, kk - 1, axis=1)[:, :kk]
            cand[s + rows, owner[top]] = True
        best = np.maximum.reduceat(S, owner_start, axis=1)
        if agg == "max":
            dense[s : s + chunk] = best
        elif agg == "maxdoc":
            dense[s : s + chunk] = 0.5 * (best + doc_dense[s : s + chunk])
        elif agg == "top2":
            Sx = np.concatenate([S, np.full((len(S), 1), -np.inf, np.float32)], axis=1)
            top2 = -np.sort(-Sx[:, pad], axis=2)[:, :, :2]
            second = np.where(np.isinf(top2[:, :, 1]), top2[:, :, 0], top2[:, :, 1])  # one-unit docs
            dense[s : s + chunk] = 0.5 * (top2[:, :, 0] + second)
        else:
            raise ValueError(f"unknown unit aggregation {agg}")
    return dense, cand


def bm25_candidates(bm: np.ndarray, candidates: int) -> np.ndarray:
    """The documents that match a word, cut to the `candidates` best (Searcher._candidates)."""
    cand = bm > 0
    if bm.shape[1] <= 2 * candidates:
        return np.ones_like(cand)
    for i in np.flatnonzero(cand.sum(axis=1) > candidates):
        keep = np.argpartition(-bm[i], candidates - 1)[:candidates]
        cand[i] = False
        cand[i, keep] = True
    return cand


def _norm(x: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    xm = np.where(mask, x, np.nan)
    with np.errstate(all="ignore"):
        if how == "max":
            top = np.nanmax(np.where(mask, x, -np.inf), axis=1, keepdims=True)
            return np.where(top > 0, x / np.where(top > 0, top, 1), x)
        if how == "minmax":
            lo, hi = np.nanmin(xm, axis=1, keepdims=True), np.nanmax(xm, axis=1, keepdims=True)
            return (x - lo) / np.where(hi > lo, hi - lo, 1)
        if how == "zscore":
            return (x - np.nanmean(xm, axis=1, keepdims=True)) / np.maximum(np.nanstd(xm, axis=1, keepdims=True), 1e-9)
    raise ValueError(f"unknown normalisation {how}")


def fuse(dense: np.ndarray, bm: np.ndarray, cand: np.ndarray, f: Fusion) -> np.ndarray:
    """Scores of the candidates (-inf for the rest, which readout never returns)."""
    if f.norm == "max":  # Searcher._rank
        fused = f.alpha * dense + (1 - f.alpha) * _norm(bm, cand, "max")
    else:
        fused = f.alpha * _norm(dense, cand, f.norm) + (1 - f.alpha) * _norm(bm, cand, f.norm)
    return np.where(cand, fused, -np.inf).astype(np.float32)


def rrf(dense: np.ndarray, bm: np.ndarray, k: int = RRF_K, depth: int = 1000) -> np.ndarray:
    """Reciprocal-rank fusion of the two rankings, each cut at `depth` (BM25 keeps only docs with
    a positive score, as a BM25 engine returns them)."""
    out = np.zeros_like(dense)
    rows = np.arange(len(dense))[:, None]
    for m, positive in ((dense, False), (bm, True)):
        d = min(depth, m.shape[1])
        order = np.argsort(-m, axis=1, kind="stable")[:, :d]
        contrib = np.broadcast_to(1.0 / (k + np.arange(1, d + 1, dtype=np.float32)), order.shape).copy()
        if positive:
            contrib[np.take_along_axis(m, order, axis=1) <= 0] = 0.0
        np.add.at(out, (rows, order), contrib)
    return out


# ---------------------------------------------------------------- evaluation

def matrix_runs(scores: np.ndarray, data: Beir, depth: int = DEPTH) -> list[dict[str, float]]:
    """Each question's top `depth` documents (-inf: not retrieved)."""
    depth = min(depth, scores.shape[1])
    top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    return [{data.doc_ids[j]: float(scores[qi, j]) for j in top[qi] if scores[qi, j] > -np.inf} for qi in range(len(top))]


def evaluate(runs: list[dict[str, float]] | np.ndarray, data: Beir) -> dict:
    if isinstance(runs, np.ndarray):
        runs = matrix_runs(runs, data)
    ndcg = {qid: ndcg_at_k(run, data.qrels[qid], 10) for qid, run in zip(data.qids, runs)}
    rec = [recall_at_k(run, data.qrels[qid], 100) for qid, run in zip(data.qids, runs)]
    n = max(len(ndcg), 1)
    return {"ndcg@10": sum(ndcg.values()) / n, "recall@100": sum(rec) / n, "per_query": ndcg}


# ---------------------------------------------------------------- the run

@dataclass
class Run:
    data: Beir
    readouts: list
    qv: np.ndarray  # questions
    dv: np.ndarray  # whole documents (title + text)
    uv: np.ndarray  # dense units
    owner: np.ndarray  # unit -> document
    owner_start: np.ndarray  # document -> its first unit
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)

    def _memo(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def lexical(self, k1: float = 1.2, b: float = 0.75, shipped: bool = True):
        """readout's Lexical on the indexer's BM25 texts (`shipped`) or on title + text."""
        from embeddings.index.lexical import Lexical
        from embeddings.index.units import lexical_text

        def make():
            t0 = time.perf_counter()
            texts = ([lexical_text(r, r.points[0]) for r in self.readouts] if shipped
                     else [self.data.doc_text(i) for i in range(len(self.readouts))])
            lex = Lexical.build(texts) if (k1, b) == (1.2, 0.75) else Lexical.build(texts, k1=k1, b=b)
            self.timings.setdefault("bm25_index_s", time.perf_counter() - t0)
            return lex
        return self._memo(("lex", k1, b, shipped), make)

    def bm25(self, k1: float = 1.2, b: float = 0.75, shipped: bool = True) -> np.ndarray:
        """BM25 scores (questions x documents). `shipped`: on the indexer's texts, for the question
        as read_question leaves it for BM25 (what Searcher matches); else the raw question."""
        def make():
            from embeddings.search.query import read_question

            lex = self.lexical(k1, b, shipped)
            qs = [read_question(q).content or q for q in self.data.questions] if shipped else self.data.questions
            t0 = time.perf_counter()
            m = np.stack([lex.scores(q) for q in qs]) if qs else np.zeros((0, len(self.readouts)), np.float32)
            self.timings.setdefault("bm25_search_s", time.perf_counter() - t0)
            return m
        return self._memo(("bm", k1, b, shipped), make)

    def dense_doc(self) -> np.ndarray:
        def make():
            t0 = time.perf_counter()
            m = self.qv @ self.dv.T
            self.timings["dense_search_s"] = time.perf_counter() - t0
            return m
        return self._memo("dense", make)

    def units(self, candidates: int, agg: str) -> tuple[np.ndarray, np.ndarray]:
        return self._memo(("units", candidates, agg), lambda: unit_side(
            self.qv, self.uv, self.owner, self.owner_start, len(self.readouts), candidates, agg,
            self.dense_doc() if agg == "maxdoc" else None))

    def fused(self, f: Fusion) -> np.ndarray:
        dense, ucand = self.units(f.candidates, f.agg)
        bm = self.bm25(f.k1, f.b, shipped=True)
        return fuse(dense, bm, ucand | bm25_candidates(bm, f.candidates), f)

    def searcher(self):
        from embeddings.model.encoder import Encoder
        from embeddings.search.searcher import Searcher, Settings

        index = beir_index(self.readouts, self.owner.astype(np.int32), faiss_index(self.uv), self.lexical())
        return Searcher(index, Encoder(), Settings())


def prepare(data: Beir, use_cache: bool) -> Run:
    from embeddings.model.encoder import Encoder
    from embeddings.index.units import dense_texts

    t_start = time.perf_counter()
    encoder = Encoder()
    vectors = Vectors(encoder, CACHE_DIR / f"{data.name}-{encoder.name}.npz" if use_cache else None)
    readouts = readouts_of(data)
    n = len(readouts)
    doc_texts = [data.doc_text(i) for i in range(n)]
    unit_texts: list[str] = []
    owner_start = np.empty(n, dtype=np.int64)
    for i, r in enumerate(readouts):
        owner_start[i] = len(unit_texts)
        unit_texts += dense_texts(r, r.points[0])
    owner = np.repeat(np.arange(n), np.diff(np.append(owner_start, len(unit_texts))))
    # one encode call for documents and units: a short document is its own single unit
    allv = vectors.get(doc_texts + unit_texts, "document and unit texts")
    doc_s, doc_new = vectors.seconds, vectors.encoded
    qv = vectors.get(data.questions, "queries")
    vectors.save()
    timings = {
        "model_load_s": vectors.load_seconds,
        "encode_docs_units_s": doc_s,
        "encoded_docs_units": doc_new,
        "encode_queries_s": vectors.seconds - doc_s,
        "encoded_queries": vectors.encoded - doc_new,
        "cached_texts": vectors.cached,
        "prepare_s": time.perf_counter() - t_start,  # model load, encoding, cache I/O
    }
    return Run(data=data, readouts=readouts, qv=qv, dv=allv[:n], uv=allv[n:], owner=owner,
               owner_start=owner_start, timings=timings)


GRID_ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def grid(run: Run, shipped: Fusion) -> list[dict]:
    rows = []
    for k1, b in ((1.2, 0.75), (0.9, 0.4)):
        for agg in ("max", "top2", "maxdoc"):
            for norm in ("max", "minmax", "zscore"):
                for a in GRID_ALPHAS:
                    f = replace(shipped, alpha=a, norm=norm, agg=agg, k1=k1, b=b)
                    r = evaluate(run.fused(f), run.data)
                    rows.append({"alpha": a, "norm": norm, "agg": agg, "k1": k1, "b": b,
                                 "ndcg@10": r["ndcg@10"], "recall@100": r["recall@100"]})
        for name, m in (("rrf-units", run.units(shipped.candidates, "max")[0]), ("rrf-doc", run.dense_doc())):
            r = evaluate(rrf(m, run.bm25(k1, b, shipped=True)), run.data)
            rows.append({"alpha": None, "norm": name, "agg": "-", "k1": k1, "b": b,
                         "ndcg@10": r["ndcg@10"], "recall@100": r["recall@100"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path, help="a BEIR-format folder")
    ap.add_argument("--limit-queries", type=int, metavar="N", help="evaluate only the first N queries")
    ap.add_argument("--no-cache", action="store_true", help="neither read nor write benchmarks/.cache")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    exp = ap.add_argument_group("experiments (add a 'custom' row, from the model of the fusion; the shipped row is always Settings())")
    exp.add_argument("--alpha", type=float, help="weight of the dense side")
    exp.add_argument("--norm", choices=("max", "minmax", "zscore"), help="max: BM25/max BM25 (shipped); minmax/zscore: both sides")
    exp.add_argument("--agg", choices=("max", "top2", "maxdoc"),
                     help="document score from units: best unit (shipped), mean of best 2, mean of best unit and whole-doc vector")
    exp.add_argument("--k1", type=float, help="BM25 k1 (readout: 1.2)")
    exp.add_argument("--b", type=float, help="BM25 b (readout: 0.75)")
    exp.add_argument("--candidates", type=int, help="points from each side before fusion (Settings.candidates)")
    exp.add_argument("--grid", action="store_true", help="sweep alpha x norm x agg x (k1,b) and print nDCG@10 for each")
    args = ap.parse_args(argv)

    if not (args.dir / "corpus.jsonl").is_file():
        ap.error(f"{args.dir} has no corpus.jsonl")
    t0 = time.perf_counter()
    data = load(args.dir, args.limit_queries)
    run = prepare(data, use_cache=not args.no_cache)
    shipped = shipped_fusion()

    systems: dict[str, dict] = {}

    def system(name: str, runs, seconds: float, label: str) -> dict:
        r = evaluate(runs, data)
        systems[name] = {"label": label, "ndcg@10": r["ndcg@10"], "recall@100": r["recall@100"],
                         "search_s": seconds, "per_query": r["per_query"]}
        return systems[name]

    dense = run.dense_doc()
    system("dense", dense, run.timings["dense_search_s"], "dense only (title+text, 1 vector/doc)")
    bm = run.bm25(shipped=False)
    system("bm25", bm, run.timings["bm25_search_s"], "BM25 only (Lexical, title+text)")
    searcher = run.searcher()
    t = time.perf_counter()
    runs = searcher_runs(searcher, data.questions, run.qv, DEPTH)
    ship = system("shipped", runs, time.perf_counter() - t,
                  f"shipped Searcher (alpha={shipped.alpha:g}, cand={shipped.candidates})")
    t = time.perf_counter()
    system("rrf", rrf(dense, bm), time.perf_counter() - t + run.timings["dense_search_s"] + run.timings["bm25_search_s"],
           f"RRF k={RRF_K} dense+BM25 (info)")
    # the model of the fusion must agree with the Searcher before its experiments mean anything
    model = evaluate(run.fused(shipped), data)
    model_check = {"ndcg@10": model["ndcg@10"], "searcher_ndcg@10": ship["ndcg@10"],
                   "queries_differing": sum(abs(model["per_query"][q] - ship["per_query"][q]) > 1e-9 for q in data.qids)}
    custom = {k: getattr(args, k) for k in ("alpha", "norm", "agg", "k1", "b", "candidates") if getattr(args, k) is not None}
    if custom:
        f = replace(shipped, **custom)
        t = time.perf_counter()
        system("custom", run.fused(f), time.perf_counter() - t, f"custom ({f.label()})")
    rows = grid(run, shipped) if args.grid else []
    total = time.perf_counter() - t0

    out = {
        "dataset": data.name, "dir": str(args.dir), "docs": len(data.doc_ids), "queries": len(data.qids),
        "units": len(run.uv), "shipped_settings": {"alpha": shipped.alpha, "candidates": shipped.candidates},
        "systems": systems, "model_check": model_check,
        "timings": {**{k: round(v, 3) for k, v in run.timings.items()}, "total_s": round(total, 2)},
    }
    if rows:
        out["grid"] = rows
    if args.json:
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0

    print(f"{data.name}: {out['docs']:,} docs, {out['units']:,} dense units, {out['queries']:,} queries with qrels")
    print(f"{'system':<50} {'nDCG@10':>8} {'R@100':>7} {'search':>9}")
    for s in systems.values():
        print(f"{s['label']:<50} {s['ndcg@10']:8.4f} {s['recall@100']:7.4f} {s['search_s']:8.2f}s")
    tm = run.timings
    print(f"model of the fusion at the shipped settings: nDCG@10 {model['ndcg@10']:.4f} "
          f"({model_check['queries_differing']} queries differ from the Searcher)")
    print(f"encode: {tm['encoded_docs_units']:,} doc/unit texts in {tm['encode_docs_units_s']:.1f}s, "
          f"{tm['encoded_queries']:,} queries in {tm['encode_queries_s']:.1f}s, {tm['cached_texts']:,} from cache; "
          f"model load {tm['model_load_s']:.1f}s; prepare (load + encode + cache I/O) {tm['prepare_s']:.1f}s; "
          f"BM25 index {tm.get('bm25_index_s', 0):.1f}s; total {total:.1f}s")
    if rows:
        print("\ngrid: nDCG@10 by alpha (model of the fusion: units + BM25, shipped candidates)")
        print(f"{'k1,b':<9} {'agg':<7} {'norm':<10} " + " ".join(f"{a:>6g}" for a in GRID_ALPHAS))
        keyed: dict[tuple, dict] = {}
        for r in rows:
            keyed.setdefault((r["k1"], r["b"], r["agg"], r["norm"]), {})[r["alpha"]] = r["ndcg@10"]
        for (k1, b, agg, norm), vals in keyed.items():
            cells = " ".join(f"{vals[a]:6.4f}" for a in GRID_ALPHAS) if None not in vals else f"{vals[None]:6.4f}"
            print(f"{k1:g},{b:<5g} {agg:<7} {norm:<10} {cells}")
        best = max((r for r in rows if r["alpha"] is not None), key=lambda r: r["ndcg@10"])
        print(f"best: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
