"""Questions piped into `readout ask --json`: what a question costs, beside the model's own floor.

    python benchmarks/pipe.py [--rounds 5] [--corpus DIR] [--questions FILE.jsonl]

Side by side, in one run, round-robin so that the machine's noise hits all alike:

- pipe: `readout ask --json` in a new process, fed the questions on stdin; a question's cost is
  (time for all of them - time for one) / (n - 1), so the process's start and the index's load
  are left out;
- floor: in this process, sentence-transformers encodes each question (the model's own encode,
  one at a time, and in batches of 32 as the pipe reads them) plus an exact FAISS search
  (IndexFlatIP) over the index's vectors.

The corpus defaults to ../shared/readouts plus the bundled readout (the bundled one alone without
../shared); the questions to the dev set's. Prints medians and the ratio pipe / floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, ROOT, log, machine_line, median, readout_exe, real_corpus, table

def pipe_seconds(env: dict[str, str], corpus: Path, index: Path, questions: list[str]) -> float:
    t = time.perf_counter()
    r = subprocess.run([*readout_exe(), "ask", "--json", "-k", "3", "--corpus", str(corpus), "--index", str(index)],
                       input="\n".join(questions) + "\n", capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if r.returncode != 0 or len(r.stdout.splitlines()) != len(questions):
        sys.exit(f"readout ask failed: {r.stderr.strip()[-400:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--questions", type=Path, default=ROOT / "evaluation" / "readouts-dev.jsonl")
    args = ap.parse_args()

    corpus = (args.corpus or real_corpus("pipe-corpus")).resolve()
    questions = [json.loads(line)["q"] for line in args.questions.read_text().splitlines() if line.strip()]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    index = CACHE / f"pipe-index-{corpus.name}"
    subprocess.run([*readout_exe(), "index", "--corpus", str(corpus), "--index", str(index)], env=env, check=True,
                   capture_output=True)

    import faiss
    import numpy as np

    from embeddings.model.encoder import Encoder
    from embeddings.index.store import load_index

    model = Encoder()._load()
    stored = load_index(index)
    vectors = stored.vectors.reconstruct_n(0, stored.vectors.ntotal)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.omp_set_num_threads(1)
    log(f"{len(questions)} questions, {stored.vectors.ntotal:,} vectors of {len(stored.readouts)} readouts in {corpus}")

    def floor(batch: int) -> float:
        t = time.perf_counter()
        for s in range(0, len(questions), batch):
            v = model.encode(questions[s:s + batch], batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
            exact.search(np.ascontiguousarray(v, dtype=np.float32), 10)
        return (time.perf_counter() - t) / len(questions)

    floor(32)  # warm up
    pipe_seconds(env, corpus, index, questions[:1])
    pipe_t, one_t, floor1_t, floor32_t = [], [], [], []
    for _ in range(args.rounds):
        one_t.append(pipe_seconds(env, corpus, index, questions[:1]))
        pipe_t.append(pipe_seconds(env, corpus, index, questions))
        floor1_t.append(floor(1))
        floor32_t.append(floor(32))
    per_q = [(all_ - one) / (len(questions) - 1) for all_, one in zip(pipe_t, one_t)]
    pipe_ms = median(per_q) * 1000
    rows = [
        ["readout ask --json, piped (a question)", f"{pipe_ms:.2f}", "1.00"],
        ["floor: model encode one at a time + exact search", f"{median(floor1_t) * 1000:.2f}",
         f"{pipe_ms / (median(floor1_t) * 1000):.2f}"],
        ["floor: model encode in batches of 32 + exact search", f"{median(floor32_t) * 1000:.2f}",
         f"{pipe_ms / (median(floor32_t) * 1000):.2f}"],
        ["readout ask, 1 question, whole process (s)", f"{median(one_t):.2f}", ""],
    ]
    print(machine_line())
    print(table(["what", "ms a question (median)", "pipe / this"], rows))


if __name__ == "__main__":
    main()
