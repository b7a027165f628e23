"""Building an index from the corpus folder, reusing what the previous index already holds.

A rebuild re-reads only the files whose content changed (a renamed file keeps its parsed readouts)
and re-encodes only texts it has no vector for: vectors are looked up by a hash of the text they
encode, so editing one point of one readout costs one encode, not a corpus. The FAISS and BM25
indexes are then rebuilt from those parts (cheap next to encoding) and published atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .corpus import Corpus, FileState, fingerprint, parse_file, report
from .encoder import Encoder
from .lexical import Lexical
from .records import Readout
from .store import FORMAT_VERSION, Manifest, StoredIndex, write_index
from .units import dense_texts, lexical_text

log = logging.getLogger(__name__)

PROGRESS_FROM = 256  # texts to encode; smaller builds finish before a bar would be read
HNSW_FROM = int(os.environ.get("READOUT_HNSW_FROM", "250000"))  # vectors
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80


@dataclass
class BuildReport:
    readouts: int
    points: int
    units: int
    encoded: int  # units that needed the model; the rest came from the previous index
    skipped: int
    seconds: float
    path: Path


def text_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def _reuse_parsed(previous: StoredIndex | None) -> dict[str, list[Readout]]:
    """Parsed readouts of the previous index by file content hash (so renames reuse them too)."""
    if previous is None:
        return {}
    by_file: dict[str, list[Readout]] = {}
    for r, f in zip(previous.readouts, previous.readout_files):
        by_file.setdefault(f, []).append(r)
    out: dict[str, list[Readout]] = {}
    for f, rs in by_file.items():
        state = previous.manifest.files.get(f)
        if state:
            out[state[2]] = rs
    return out


def _rename(r: Readout, old_file: str, new_file: str) -> Readout:
    if old_file == new_file:
        return r
    from dataclasses import replace

    return replace(r, doc=new_file + r.doc[len(old_file):])


def index_kind(n_vectors: int, compact: str | None) -> str:
    """Exact search while it is fast enough, HNSW past that; vectors as float32 unless compacted.

    Past `HNSW_FROM` vectors an exact scan costs more than a question's encoding, so the index
    becomes an HNSW graph (recall@10 against exact search is measured in benchmarks/latency.py).
    `compact` stores vectors as float16 ("fp16") or 8-bit ("sq8"): half or a quarter of the memory,
    at a cost measured with readout eval.
    """
    storage = {None: "Flat", "fp16": "SQfp16", "sq8": "SQ8"}[compact]
    if n_vectors >= HNSW_FROM:
        return f"HNSW{HNSW_M},{storage}"
    return storage


def new_faiss_index(kind: str, dim: int):
    import faiss

    index = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    if kind.startswith("HNSW"):
        faiss.downcast_index(index).hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return index


def build_index(root: Path, states: dict[str, FileState], index_root: Path, encoder: Encoder,
                previous: StoredIndex | None = None, compact: str | None = None) -> BuildReport:
    import faiss

    t0 = time.perf_counter()
    reuse = _reuse_parsed(previous)
    prev_file_of = {}
    if previous is not None:
        for r, f in zip(previous.readouts, previous.readout_files):
            prev_file_of[id(r)] = f
    corpus = Corpus(root=root)
    files: list[str] = []
    for rel, state in states.items():
        if state.sha256 in reuse:
            rs = [_rename(r, prev_file_of[id(r)], rel) for r in reuse[state.sha256]]
        else:
            rs, skipped = parse_file(root, rel)
            corpus.skipped += skipped
        corpus.readouts += rs
        files += [rel] * len(rs)
    report(corpus)

    texts: list[str] = []
    owner: list[int] = []
    lex: list[str] = []
    pid = 0
    for r in corpus.readouts:
        for p in r.points:
            for t in dense_texts(r, p):
                texts.append(t)
                owner.append(pid)
            lex.append(lexical_text(r, p))
            pid += 1
    keys = np.fromiter((text_key(t) for t in texts), dtype=np.int64, count=len(texts))

    known: dict[int, int] = {}
    old = None
    # vectors read back from a compacted index are approximations: reuse them only into an index
    # at most as precise, so that asking for float32 again re-encodes
    loss = {None: 0, "fp16": 1, "sq8": 2}
    if (previous is not None and previous.manifest.model == encoder.name and previous.vectors.ntotal
            and loss[previous.manifest.settings.get("compact")] <= loss[compact]):
        known = {int(k): i for i, k in enumerate(previous.unit_keys)}
        old = previous.vectors
    todo = [i for i, k in enumerate(keys) if int(k) not in known]
    show = len(todo) >= PROGRESS_FROM and sys.stderr.isatty()
    fresh = encoder.encode([texts[i] for i in todo], progress=show) if todo else None
    dim = fresh.shape[1] if fresh is not None else (old.d if old is not None else encoder.dim)
    vectors = np.empty((len(texts), dim), dtype=np.float32)
    if fresh is not None:
        vectors[todo] = fresh
    if old is not None and len(todo) < len(texts):
        rows = np.array([known[int(k)] for k in keys if int(k) in known], dtype=np.int64)
        mask = np.ones(len(texts), dtype=bool)
        mask[todo] = False
        vectors[mask] = old.reconstruct_batch(rows)
    kind = index_kind(len(texts), compact)
    index = new_faiss_index(kind, dim)
    if not index.is_trained:  # 8-bit quantisation learns each dimension's range
        index.train(vectors)
    index.add(vectors)
    manifest = Manifest(
        format=FORMAT_VERSION,
        model=encoder.name,
        dim=dim,
        corpus=str(root),
        fingerprint=fingerprint(states),
        readouts=len(corpus.readouts),
        points=pid,
        units=len(texts),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        settings={"faiss": kind, "compact": compact},
        files={rel: [s.size, s.mtime_ns, s.sha256] for rel, s in states.items()},
    )
    path = write_index(index_root, manifest, corpus.readouts, files, np.asarray(owner, dtype=np.int32), keys,
                       index, Lexical.build(lex))
    return BuildReport(len(corpus.readouts), pid, len(texts), len(todo), len(corpus.skipped), time.perf_counter() - t0, path)
