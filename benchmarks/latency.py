"""Warm per-question latency of the shipped search, beside the floor, at growing index sizes.

    python benchmarks/latency.py [--sizes 1000,100000,1000000] [--rounds 10]

For each size it builds an index in memory the way `readout index` would (FAISS kind chosen by
size, BM25 over real-looking text), then times, in alternating rounds so that the machine's noise
hits both alike (each round: every question through `ask`, then every question through the floors):

- `ask`: the whole answer path of a warm process (the bot, after Engine.warm_up): read the
  question, encode it (the question encoder: the model's layers exported to ONNX, run by
  onnxruntime), dense + BM25 candidates, fusion;
- floor: the model's own encode of the same question (sentence-transformers) plus an exact
  FAISS search (IndexFlatIP) over the same vectors, and the same with the encoder ask uses.

Sizes up to --real-up-to points use real embeddings of real-looking text (encoded once, cached in
benchmarks/.cache); larger sizes use generated vectors. For approximate (HNSW, IVF) indexes it also
reports recall@10 against exact search: the exact top 10 found in the top 10 of the FAISS search as
the searcher makes it (it asks for `Settings.dense_rows` = 256 rows, as many as HNSW explores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUESTIONS, clustered_vectors, median, percentile, synthetic_points, table  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def build_stored(n_points: int, real: bool, encoder, compact: str | None):
    from embeddings.index.build import faiss_index_of, index_kind, text_key
    from embeddings.index.lexical import Lexical
    from embeddings.records import Point, Readout
    from embeddings.index.store import Manifest, StoredIndex
    from embeddings.index.units import dense_texts, lexical_text

    t0 = time.perf_counter()
    texts = synthetic_points(n_points)
    readouts, files = [], []
    base = dt.date(2010, 1, 1)
    for i in range(0, n_points, 6):
        pts = [Point(j + 1, j + 1, t, []) for j, t in enumerate(texts[i : i + 6])]
        readouts.append(Readout(f"synthetic/{i // 6}.txt", f"Synthetic Talk {i // 6}", base + dt.timedelta(days=i // 6 % 5000),
                                None, [], "", pts))
        files.append(f"synthetic/{i // 6}.txt")
    points = [(ri, pi) for ri, r in enumerate(readouts) for pi in range(len(r.points))]
    if real:
        unit_texts, owner = [], []
        for pid, (ri, pi) in enumerate(points):
            for t in dense_texts(readouts[ri], readouts[ri].points[pi]):
                unit_texts.append(t)
                owner.append(pid)
        key = hashlib.sha256("\n".join(unit_texts).encode()).hexdigest()[:16]
        f = CACHE / f"latency-{n_points}-{encoder.name}-{key}.npy"
        if f.exists():
            vectors = np.load(f)
        else:
            print(f"encoding {len(unit_texts)} texts for {n_points} points (cached for next time)...", file=sys.stderr)
            vectors = encoder.encode(unit_texts, progress=True)
            CACHE.mkdir(exist_ok=True)
            np.save(f, vectors)
        units = np.asarray(owner, dtype=np.int32)
    else:
        units = np.repeat(np.arange(n_points, dtype=np.int32), 2)  # a point and one of its sentences
        vectors = clustered_vectors(len(units))
        unit_texts = None
    kind = index_kind(len(units), compact)
    t_add = time.perf_counter()
    index = generated_index(kind, vectors) if unit_texts is None else faiss_index_of(kind, vectors)
    t_add = time.perf_counter() - t_add
    lexical = Lexical.build([lexical_text(readouts[ri], readouts[ri].points[pi]) for ri, pi in points])
    keys = np.zeros(len(units), dtype=np.int64) if unit_texts is None else np.array([text_key(t) for t in unit_texts])
    manifest = Manifest(2, encoder.name, vectors.shape[1], "synthetic", "", len(readouts), len(points), len(units), "", {"faiss": kind}, {})
    stored = StoredIndex.of(readouts, files, units, index, lexical, manifest=manifest, unit_keys=keys)
    return stored, vectors, kind, time.perf_counter() - t0, t_add


def generated_index(kind: str, vectors: np.ndarray):
    """The FAISS index of generated vectors, kept in benchmarks/.cache: a 2M-vector HNSW graph takes
    half an hour to build, and its build is not what this script measures (build.py is)."""
    import faiss

    from embeddings.index.build import HNSW_EF_CONSTRUCTION, faiss_index_of
    from embeddings.index.store import HNSW_EF_SEARCH
    from embeddings.index.vectors import tune

    name = f"latency-generated-{len(vectors)}-{kind.replace(',', '_')}-efc{HNSW_EF_CONSTRUCTION}.faiss"
    f = CACHE / name
    if f.exists():
        index = faiss.read_index(str(f))
        tune(index, HNSW_EF_SEARCH)
        return index
    print(f"building {kind} over {len(vectors):,} generated vectors (cached for next time)...", file=sys.stderr)
    index = faiss_index_of(kind, vectors)
    CACHE.mkdir(exist_ok=True)
    faiss.write_index(index, str(f))
    return index


def approximate(kind: str) -> bool:
    return kind.startswith(("HNSW", "IVF"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--rounds", type=int, default=10, help="passes over the question set")
    ap.add_argument("--real-up-to", type=int, default=10000, help="largest size encoded with the real model")
    ap.add_argument("--compact", choices=["fp16", "sq8", "sq4"], default=None)
    args = ap.parse_args()

    import faiss

    from embeddings.model.encoder import Encoder
    from embeddings.search.searcher import Searcher

    st = Encoder()
    model = st._load()  # the model's own encode, through sentence-transformers
    st.export_for_queries()  # as a build with the model leaves it
    fast = Encoder()
    fast.encode_queries(["warm up"])  # as the bot does (Engine.warm_up)
    print(f"questions encoded by {fast.question_encoder}", file=sys.stderr)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        stored, vectors, kind, build_s, add_s = build_stored(n, n <= args.real_up_to, st, args.compact)
        searcher = Searcher(stored, fast)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        ask_t, floor_st, floor_enc, recall = [], [], [], []
        # search asks FAISS for this many rows (HNSW then explores at least as many): recall@10
        # is of the top 10 of that list, as the searcher gets them
        depth = min(stored.vectors.ntotal, searcher.settings.dense_rows)
        searcher.warm_up()  # as the bot does (Engine.warm_up)
        searcher.answers(QUESTIONS[:2], 5)
        for _ in range(args.rounds):
            # the questions back to back through `ask`, then through the floors: an exact search of
            # 2M vectors reads 3 GB, so between two asks it would leave every cache cold
            for q in QUESTIONS:
                t = time.perf_counter()
                searcher.answers([q], 5)
                ask_t.append(time.perf_counter() - t)
            for q in QUESTIONS:
                t = time.perf_counter()
                v = model.encode([q], batch_size=1, normalize_embeddings=True, convert_to_numpy=True)
                exact.search(v, 10)
                floor_st.append(time.perf_counter() - t)
                t = time.perf_counter()
                v = fast.encode_queries([q])
                _, I_exact = exact.search(v, 10)
                floor_enc.append(time.perf_counter() - t)
                if approximate(kind):
                    _, I_approx = stored.vectors.search(v, depth)
                    recall.append(len(set(I_exact[0]) & set(I_approx[0][:10])) / 10)
        # real questions are nearly equidistant from generated vectors, so their recall says little;
        # queries drawn around the same centres as the generated vectors do
        gen_recall = []
        if approximate(kind) and n > args.real_up_to:
            qv = clustered_vectors(200, draw_seed=1)
            _, I_exact = exact.search(qv, 10)
            _, I_approx = stored.vectors.search(qv, depth)
            gen_recall = [len(set(a) & set(b[:10])) / 10 for a, b in zip(I_exact, I_approx)]
        p50, p99 = percentile(ask_t, 50) * 1e3, percentile(ask_t, 99) * 1e3
        f_st, f_enc = median(floor_st) * 1e3, median(floor_enc) * 1e3
        rows.append([f"{n:,}", f"{len(stored.units):,}", kind, "real" if n <= args.real_up_to else "generated",
                     f"{p50:.1f}", f"{p99:.1f}", f"{f_st:.1f}", f"{f_enc:.1f}", f"{p50 / f_st:.2f}",
                     f"{np.mean(recall):.3f}" if recall else "exact",
                     f"{np.mean(gen_recall):.3f}" if gen_recall else "-", f"{build_s:.0f}"])
        print(table(["points", "vectors", "faiss", "vectors are", "ask p50 ms", "ask p99 ms", "floor (ST) p50 ms",
                     "floor (ask's encoder) p50 ms", "p50 / floor", "recall@10 (questions)", "recall@10 (generated queries)", "setup s"],
                    rows[-1:]), file=sys.stderr)
        del stored, vectors, exact, searcher
    print(table(["points", "vectors", "faiss", "vectors are", "ask p50 ms", "ask p99 ms", "floor (ST) p50 ms",
                 "floor (ask's encoder) p50 ms", "p50 / floor", "recall@10 (questions)", "recall@10 (generated queries)", "setup s"],
                rows))
    print(f"\n{len(QUESTIONS)} questions x {args.rounds} rounds per size; floor = encode + exact IndexFlatIP search, k=10. "
          "Recall@10 of the approximate index against exact search (in the top 10 of the searcher's 256-row FAISS search), for the questions and, where the vectors are "
          "generated, for 200 queries drawn around the same centres as the vectors (the questions are nearly "
          "equidistant from generated vectors, so only the second says how the index does on its own data). "
          "Setup: the synthetic corpus, its BM25 and FAISS index (a generated size's FAISS index is read from "
          "benchmarks/.cache once built).")


if __name__ == "__main__":
    main()
