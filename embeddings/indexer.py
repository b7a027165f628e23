"""Building an index from a parsed corpus: encode every point's units, index them in FAISS, index
the points for BM25, and publish the lot atomically (see store.py)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .corpus import Corpus
from .encoder import Encoder
from .lexical import Lexical
from .store import FORMAT_VERSION, Manifest, write_index
from .units import dense_texts, lexical_text

log = logging.getLogger(__name__)

PROGRESS_FROM = 256  # units; smaller builds finish before a bar would be read


@dataclass
class BuildReport:
    readouts: int
    points: int
    units: int
    skipped: int
    seconds: float
    path: Path


def build_index(corpus: Corpus, index_root: Path, encoder: Encoder, fingerprint: str) -> BuildReport:
    import faiss

    t0 = time.perf_counter()
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
    show = len(texts) >= PROGRESS_FROM and sys.stderr.isatty()
    vectors = encoder.encode(texts, progress=show)
    index = faiss.IndexFlatIP(encoder.dim)
    index.add(vectors)
    manifest = Manifest(
        format=FORMAT_VERSION,
        model=encoder.name,
        dim=encoder.dim,
        corpus=str(corpus.root),
        fingerprint=fingerprint,
        readouts=len(corpus.readouts),
        points=pid,
        units=len(texts),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        settings={"faiss": "IndexFlatIP"},
    )
    path = write_index(index_root, manifest, corpus.readouts, np.asarray(owner, dtype=np.int32), index, Lexical.build(lex))
    return BuildReport(len(corpus.readouts), pid, len(texts), len(corpus.skipped), time.perf_counter() - t0, path)
