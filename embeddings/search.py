"""Ranking points for a question: dense and BM25 evidence fused, then the question's speaker, time
and countries used as preferences.

Ranking and `found` are decided apart. Ranking compares points for one question, so BM25 is
scaled by the question's best BM25 score. `found` must mean the same for every question, so it
looks at absolute evidence of the best point: its cosine similarity and its raw BM25 score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aliases import countries_in
from .encoder import Encoder
from .query import Query, read_question
from .records import Answer, Hit
from .store import StoredIndex


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.7  # weight of the dense side in ranking (tuned on evaluation/readouts-dev.jsonl)
    speaker_boost: float = 0.10  # the point has the speaker the question names
    date_boost: float = 0.15  # the readout is of the time the question names (and minus for others)
    country_boost: float = 0.05  # per country of the question the readout is about
    confidence_lexical: float = 0.3  # weight of word coverage (vs. cosine) in `found`
    threshold: float = 0.40  # confidence the best point needs for found=True
    candidates: int = 512  # dense candidates taken from FAISS before fusion


class Searcher:
    def __init__(self, index: StoredIndex, encoder: Encoder, settings: Settings | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings or Settings()
        n = len(index.points)
        self._readout_of = np.fromiter((ri for ri, _ in index.points), dtype=np.int32, count=n)
        self._countries = [set(countries_in(f"{r.title}\n{r.preamble}")) for r in index.readouts]
        self._speakers = [p.speakers for r in index.readouts for p in r.points]

    def answers(self, questions: list[str], k: int = 5) -> list[Answer]:
        vecs = self.encoder.encode_queries(questions)
        return [self._rank(q, v, k) for q, v in zip(questions, vecs)]

    def _dense(self, vec: np.ndarray) -> np.ndarray:
        ix = self.index
        n_units = ix.vectors.ntotal
        kk = min(n_units, max(self.settings.candidates, 1))
        D, I = ix.vectors.search(vec.reshape(1, -1).astype(np.float32), kk)
        D, I = D[0], I[0]
        ok = I >= 0
        floor = float(D[ok][-1]) if kk < n_units and ok.any() else -1.0
        dense = np.full(len(ix.points), floor, dtype=np.float32)
        np.maximum.at(dense, ix.units[I[ok]], D[ok])
        return dense

    def _priors(self, q: Query) -> np.ndarray:
        s = self.settings
        prior = np.zeros(len(self.index.points), dtype=np.float32)
        if q.speakers:
            names = [l.surname for l in q.speakers]
            for pid, speakers in enumerate(self._speakers):
                if any(n in sp for n in names for sp in speakers):
                    prior[pid] += s.speaker_boost
        if q.year is not None or q.month is not None:
            per_readout = np.array(
                [{True: s.date_boost, False: -s.date_boost, None: 0.0}[q.matches_date(r.date)] for r in self.index.readouts],
                dtype=np.float32,
            )
            prior += per_readout[self._readout_of]
        if q.countries:
            per_readout = np.array([s.country_boost * len(set(q.countries) & c) for c in self._countries], dtype=np.float32)
            prior += np.minimum(per_readout, 2 * s.country_boost)[self._readout_of]
        return prior

    def _rank(self, question: str, vec: np.ndarray, k: int) -> Answer:
        s = self.settings
        q = read_question(question)
        dense = self._dense(vec)
        bm = self.index.lexical.scores(q.content or question)
        top_bm = float(bm.max()) if bm.size else 0.0
        lexical = bm / top_bm if top_bm > 0 else bm
        fused = s.alpha * dense + (1 - s.alpha) * lexical + self._priors(q)
        k = max(1, min(k, len(fused)))
        top = np.argpartition(-fused, k - 1)[:k]
        top = top[np.argsort(-fused[top], kind="stable")]
        best = int(top[0])
        coverage = self.index.lexical.coverage(q.content or question, best)
        confidence = (1 - s.confidence_lexical) * float(dense[best]) + s.confidence_lexical * coverage
        hits = [self._hit(int(pid), float(fused[pid])) for pid in top]
        return Answer(question=question, found=confidence >= s.threshold, hits=hits)

    def _hit(self, pid: int, score: float) -> Hit:
        r, p = self.index.point(pid)
        return Hit(doc=r.doc, title=r.title, date=r.iso_date, point=p.number, position=p.position,
                   text=p.text, score=score, speakers=list(p.speakers), source=r.source, preamble=p.preamble)
