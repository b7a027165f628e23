"""Index build throughput of `readout index` beside the model's own encode of the same texts.

    python benchmarks/build.py [--points 96] [--repeats 3]

Writes a fresh corpus of synthetic readouts (6 numbered points each, with a title line and a
dateline) to a temporary folder, then, interleaved so the machine's noise hits both alike:

- raw: `SentenceTransformer.encode` of exactly the texts the build encodes (the `dense_texts` of
  every parsed point), model already loaded, same batch size and normalisation as the engine;
- build: `embeddings.engine.build` into a new index folder (what `readout index` runs): scan, parse,
  encode, BM25, FAISS, write. Its model load (each build loads the model) is timed apart, so the
  table shows the build with and without it.

Then a rebuild with nothing changed (it should encode nothing). Medians over --repeats.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import log, machine_line, median, synthetic_readouts, table, write_corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--points", type=int, default=96, help="points in the corpus (6 per readout; default 96)")
    ap.add_argument("--repeats", type=int, default=3, help="timed builds and raw encodes each (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from embeddings.model import encoder as encoder_mod
    from embeddings import engine
    from embeddings.readouts.corpus import read_corpus
    from embeddings.index.units import dense_texts

    n_readouts = max(1, -(-args.points // 6))
    tmp = Path(tempfile.mkdtemp(prefix="readout-bench-build-"))
    corpus = write_corpus(tmp / "corpus", synthetic_readouts(n_readouts, args.seed))
    parsed = read_corpus(corpus)
    texts = [t for r in parsed.readouts for p in r.points for t in dense_texts(r, p)]
    n_points = parsed.n_points
    log(f"{len(parsed.readouts)} readouts, {n_points} points, {len(texts)} texts to encode; corpus in {corpus}")
    if len(texts) <= encoder_mod.FEW_TEXTS:
        ap.error(f"--points too small: {len(texts)} texts would be encoded by the question encoder, not the model")

    # The raw side: sentence-transformers loaded once (this also imports torch for both sides).
    raw_enc = encoder_mod.Encoder()
    t = time.perf_counter()
    model = raw_enc._load()
    log(f"model loaded in {time.perf_counter() - t:.1f} s (imports included)")
    model.encode(texts[:64], batch_size=64, normalize_embeddings=True, convert_to_numpy=True)  # warm up

    # Time the build's own model loads and encodes from outside.
    spent = {"load": 0.0, "encode": 0.0}
    real_load, real_encode = encoder_mod.Encoder._load, encoder_mod.Encoder.encode

    def timed_load(self):
        first = self._model is None
        t0 = time.perf_counter()
        out = real_load(self)
        if first:
            spent["load"] += time.perf_counter() - t0
        return out

    def timed_encode(self, *a, **kw):
        t0 = time.perf_counter()
        loaded = spent["load"]
        out = real_encode(self, *a, **kw)
        spent["encode"] += time.perf_counter() - t0 - (spent["load"] - loaded)
        return out

    encoder_mod.Encoder._load, encoder_mod.Encoder.encode = timed_load, timed_encode

    raw_s, build_s, load_s, enc_s = [], [], [], []
    last_index = None
    for r in range(args.repeats):
        def raw(r: int = r) -> None:
            t0 = time.perf_counter()
            model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            raw_s.append(time.perf_counter() - t0)
            log(f"  round {r + 1}: raw encode {raw_s[-1]:.1f} s")

        def build(r: int = r) -> None:
            nonlocal last_index
            last_index = tmp / f"index-{r}"
            spent.update(load=0.0, encode=0.0)
            t0 = time.perf_counter()
            rep = engine.build(corpus, last_index)
            build_s.append(time.perf_counter() - t0)
            load_s.append(spent["load"])
            enc_s.append(spent["encode"])
            assert rep.units == len(texts) and rep.encoded == len(texts), (rep, len(texts))
            log(f"  round {r + 1}: build {build_s[-1]:.1f} s (model load {load_s[-1]:.1f} s, encode {enc_s[-1]:.1f} s)")

        for step in ((raw, build) if r % 2 == 0 else (build, raw)):
            step()

    rebuild_s, rebuild_enc = [], []
    for _ in range(args.repeats):
        spent.update(load=0.0, encode=0.0)
        t0 = time.perf_counter()
        rep = engine.build(corpus, last_index)
        rebuild_s.append(time.perf_counter() - t0)
        rebuild_enc.append(rep.encoded)
    log(f"  rebuilds with nothing changed: {', '.join(f'{s:.2f}' for s in rebuild_s)} s, encoded {rebuild_enc}")

    raw_m, build_m, load_m, enc_m = median(raw_s), median(build_s), median(load_s), median(enc_s)
    net = [b - l for b, l in zip(build_s, load_s)]
    net_m = median(net)
    # ratios per round (side by side in time), then their median
    ratio_all = median([r / b for r, b in zip(raw_s, build_s)])
    ratio_net = median([r / n for r, n in zip(raw_s, net)])
    n_t = len(texts)
    rows = [
        ["raw SentenceTransformer.encode (model loaded)", n_t, "-", f"{raw_m:.1f}", f"{n_t / raw_m:.0f}", f"{n_points / raw_m:.1f}", "1.00x"],
        ["readout build (engine.build), whole", n_t, n_t, f"{build_m:.1f}", f"{n_t / build_m:.0f}", f"{n_points / build_m:.1f}", f"{ratio_all:.2f}x"],
        ["readout build, without its model load", n_t, n_t, f"{net_m:.1f}", f"{n_t / net_m:.0f}", f"{n_points / net_m:.1f}", f"{ratio_net:.2f}x"],
        ["  of which model load", "", "", f"{load_m:.1f}", "", "", ""],
        ["  of which encode", "", "", f"{enc_m:.1f}", "", "", ""],
        ["  of which the rest (scan, parse, BM25, FAISS, write)", "", "", f"{median([b - l - e for b, l, e in zip(build_s, load_s, enc_s)]):.2f}", "", "", ""],
        ["rebuild, nothing changed", n_t, max(rebuild_enc), f"{median(rebuild_s):.2f}", "", f"{n_points / median(rebuild_s):.0f}", ""],
    ]
    print(f"### Index build: {len(parsed.readouts)} readouts, {n_points} points, {n_t} texts\n")
    print(table(["what", "texts", "encoded", "seconds (median)", "texts/s", "points/s", "throughput vs raw"], rows))
    print(f"\nMedian of {args.repeats} rounds, raw and build interleaved; 'vs raw' is the median of per-round "
          "ratios (raw time / build time). Target: build ≥ 0.9x raw.")
    print(machine_line())
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
