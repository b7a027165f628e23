"""Recall of the approximate FAISS indexes on real sentence embeddings.

    python benchmarks/recall.py [--cache benchmarks/.cache/scifact-all-MiniLM-L6-v2.npz] [--queries 300]

`latency.py` measures speed at a million points with generated vectors, which cluster around a few
thousand centres; real sentence embeddings do not, and an inverted file (IVF) that finds all of a
generated top 10 from 1/128 of its lists found 93% of a real one from 1/32. This script takes the
vectors `beir.py` cached for a BEIR dataset (SciFact: 63,539 vectors of real abstracts' units),
holds out --queries of them as queries (drawn from the data itself) and, for the approximate
index each `--compact` choice makes past the size threshold (`embeddings.index.build.approximate_kind`,
with the search-time settings `load_index` applies), reports recall@10 against exact float32 search
in the top 10 of a 256-row search (as the searcher asks for), and the time per search. Run
`benchmarks/beir.py ../shared/benchmarks/scifact` once first to make the cache.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_line, table  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE / "scifact-all-MiniLM-L6-v2.npz")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--depth", type=int, default=256, help="rows asked of FAISS (the searcher's Settings.dense_rows)")
    args = ap.parse_args()
    if not args.cache.exists():
        raise SystemExit(f"no cached vectors at {args.cache}: run benchmarks/beir.py ../shared/benchmarks/scifact first")

    import faiss

    from embeddings.index.build import approximate_kind, faiss_index_of
    from embeddings.index.store import HNSW_EF_SEARCH

    with np.load(args.cache) as z:
        x = np.ascontiguousarray(z["vecs"], dtype=np.float32)
    rng = np.random.default_rng(0)
    held = np.zeros(len(x), dtype=bool)
    held[rng.choice(len(x), args.queries, replace=False)] = True
    base, queries = x[~held], x[held]
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(queries, 10)
    rows = []
    for compact in (None, "fp16", "sq8", "sq4"):
        kind = approximate_kind(len(base), compact)
        t0 = time.perf_counter()
        index = faiss_index_of(kind, base)
        build = time.perf_counter() - t0
        times, found = [], []
        for i in range(len(queries)):
            t = time.perf_counter()
            _, got = index.search(queries[i : i + 1], args.depth)
            times.append(time.perf_counter() - t)
            found.append(len(set(truth[i]) & set(got[0][:10])) / 10)
        ivf = faiss.try_extract_index_ivf(index)
        search = f"nprobe {ivf.nprobe} of {ivf.nlist}" if ivf is not None else f"efSearch {HNSW_EF_SEARCH}"
        rows.append([compact or "none", kind, search, f"{np.mean(found):.3f}", f"{np.median(times) * 1e3:.2f}", f"{build:.1f}"])
    print(f"### Recall@10 on real embeddings: {len(base):,} vectors from {args.cache.name}, {len(queries)} held-out vectors as queries\n")
    print(table(["--compact", "index past the threshold", "search", "recall@10 vs exact", "ms a search", "build s"], rows))
    print(f"\nRecall: the exact float32 top 10 found in the top 10 of a {args.depth}-row search. {machine_line()}")


if __name__ == "__main__":
    main()
