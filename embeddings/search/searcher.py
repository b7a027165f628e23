"""Ranking points for a question: dense and BM25 evidence fused, then the question's speaker, time
and countries used as preferences.

Candidates are the points of the best dense units (from FAISS) and the best BM25 points; every
candidate gets its exact cosine (its units' vectors are read back from the index), so a point
found by words alone is not penalised for missing the dense shortlist. On a small corpus every
point is a candidate.

Ranking and `found` are decided apart. Ranking compares points for one question, so BM25 is
scaled by the question's best BM25 score. `found` must mean the same for every question, so it
looks at absolute evidence for the best point: its cosine similarity and the share of the
question's words it contains.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from embeddings.readouts.aliases import COUNTRIES, countries_in, host_country, leaders_in
from embeddings.model.blas import blas_threads
from embeddings.model.encoder import Encoder
from embeddings.index.lexical import best as best_scored
from embeddings.search.query import Query, read_question
from embeddings.records import Answer, Hit, short_role
from embeddings.index.store import StoredIndex


class Passing(NamedTuple):
    """A readout's best point for a question that passes `found`: its cosine and ranking score."""

    pid: int
    dense: float
    fused: float


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.8  # weight of the dense side in ranking (tuned on evaluation/readouts-dev.jsonl;
    # SciFact nDCG@10 0.7305 and XQuAD-en 0.9835 at 0.8, against 0.7443 and 0.9814 at 0.7)
    speaker_boost: float = 0.10  # the point has the speaker the question names
    date_boost: float = 0.15  # the readout is of the time the question names (and minus for others)
    country_boost: float = 0.05  # per country of the question the readout is about
    confidence_lexical: float = 0.25  # weight of word coverage (vs. cosine) in `found`
    threshold: float = 0.37  # confidence the best point needs for found=True (tuned on the dev set)
    candidates: int = 200  # points taken from each side before fusion
    dense_rows: int = 256  # unit vectors asked of FAISS for the dense side's points: what an HNSW
    # search explores anyway (efSearch 256; asking 400 made it explore 400, +1 ms at 1M points).
    # SciFact (59k units) and XQuAD-en give the same nDCG@10 and recall@100 with 256 as with 400
    # (100 rows: SciFact recall@100 0.962 against 0.965)
    readout_weight: float = 0.1  # share of the readout's best point added to each of its points
    preamble_penalty: float = 0.1  # preambles name the date and the people, so they match every
    # question about a readout; unless the question asks about the talk itself (when, where, how long)


LEXICAL_AHEAD = 4_000_000  # BM25 scores (float32) computed while the questions are encoded


@functools.lru_cache(maxsize=1)
def _workers() -> ThreadPoolExecutor:
    """Threads that encode questions beside the ranking (one per core: callers of `answers` in
    several threads at once are not made to queue)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="readout-encode")


class Searcher:
    def __init__(self, index: StoredIndex, encoder: Encoder, settings: Settings | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings or Settings()
        self._readout_of = index.point_readout
        self._is_preamble = index.point_preamble.astype(np.float32)
        # the time and country priors look at every candidate's readout: as arrays over readouts
        # (a loop over 400 candidates' dates and country sets was a tenth of a question at 1M points)
        dates = [dt.date.fromisoformat(d) if d else None for d in index.table.dates]
        self._years = np.array([d.year if d else 0 for d in dates], dtype=np.int16)
        self._months = np.array([d.month if d else 0 for d in dates], dtype=np.int8)
        having: dict[str, list[int]] = {}
        for ri, cs in enumerate(index.table.countries):
            for c in set(cs):
                having.setdefault(c, []).append(ri)
        self._readouts_of_country = {c: np.array(ris, dtype=np.int64) for c, ris in having.items()}
        self._named: dict[int, tuple[set[str], set[str], set[tuple[str, str]]]] = {}
        # point p owns the vector rows _rows[_unit_start[p]:_unit_start[p + 1]]
        self._rows, self._unit_start = index.point_rows

    def answers(self, questions: list[str], k: int = 5) -> list[Answer]:
        """The questions are encoded in another thread while this one reads them and finds
        their BM25 candidates (onnxruntime and numpy's indexing let go of the GIL): at a million
        points that takes ~4 ms a question, half what encoding it takes, and the two overlapped
        took a question from 17-20 to 15-16 ms on two cores. Words are scored ahead for as many
        questions as 16 MB of scores hold (at least one); the rest while ranking."""
        vecs = _workers().submit(self.encoder.encode_queries, questions)
        ahead = max(1, LEXICAL_AHEAD // max(1, self.index.lexical.n_docs))
        queries = [read_question(q) for q in questions]
        with blas_threads(1):  # small products: see blas.py
            scores = [self._bm25(q) for q in queries[:ahead]]
            vectors = vecs.result()
            return [self._rank(q, v, k, scores[i] if i < len(scores) else None)
                    for i, (q, v) in enumerate(zip(queries, vectors))]

    def _bm25(self, q: Query) -> tuple[np.ndarray, np.ndarray | None]:
        """Every point's BM25 score for the question, and the best `candidates` points by it
        (None when every point is a candidate anyway)."""
        scores = self.index.lexical.scores(q.content or q.text)
        c = self.settings.candidates
        return scores, (best_scored(scores, c) if self.index.n_points > 2 * c else None)

    def _candidates(self, vec: np.ndarray, lexical_best: np.ndarray | None) -> np.ndarray:
        if lexical_best is None:
            return np.arange(self.index.n_points)
        vectors = self.index.vectors
        _, I = vectors.search(vec.reshape(1, -1), min(vectors.ntotal, self.settings.dense_rows))
        dense_pts = self.index.units[I[0][I[0] >= 0]]
        dense_pts = dense_pts[dense_pts >= 0]  # rows of removed points
        return np.union1d(dense_pts, lexical_best)

    def _exact_dense(self, vec: np.ndarray, cands: np.ndarray) -> np.ndarray:
        starts, ends = self._unit_start[cands], self._unit_start[cands + 1]
        counts = ends - starts
        offsets = np.cumsum(counts) - counts  # where each candidate's rows begin in `rows`
        rows = self._rows[np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))]
        if not len(rows):
            return np.zeros(0, np.float32)
        if len(rows) > self.index.vectors.ntotal // 2:
            vecs = self.index.vectors.reconstruct_n(0, self.index.vectors.ntotal)[rows]
        else:
            vecs = self.index.vectors.reconstruct_batch(rows)
        return np.maximum.reduceat(vecs @ vec, offsets)

    def _priors(self, q: Query, cands: np.ndarray) -> np.ndarray:
        s = self.settings
        prior = np.zeros(len(cands), dtype=np.float32)
        if q.speakers:
            names = [l.surname for l in q.speakers]
            for i, pid in enumerate(cands):
                speakers = self.index.point_speakers(int(pid))
                if speakers and any(n in speakers for n in names):
                    prior[i] += s.speaker_boost
        if q.year is None and q.month is None and not q.countries:
            return prior
        ro = self._readout_of[cands]
        if q.year is not None or q.month is not None:  # + for the named time, - for another, 0 without a date
            years = self._years[ro]
            right = np.ones(len(cands), dtype=bool)
            if q.year is not None:
                right &= years == q.year
            if q.month is not None:
                right &= self._months[ro] == q.month
            prior += np.where(years > 0, np.where(right, s.date_boost, -s.date_boost), 0).astype(np.float32)
        named = np.zeros(len(cands), dtype=np.int32)
        for c in set(q.countries):
            having = self._readouts_of_country.get(c)
            if having is not None:
                at = np.minimum(np.searchsorted(having, ro), len(having) - 1)
                named += having[at] == ro
        prior += np.minimum(named, 2) * np.float32(s.country_boost)
        return prior

    def _rank(self, q: Query, vec: np.ndarray, k: int,
              words: tuple[np.ndarray, np.ndarray | None] | None = None) -> Answer:
        """`words`: the question's `_bm25`, when computed ahead."""
        vec = np.ascontiguousarray(vec, dtype=np.float32)
        bm25, lexical_best = words if words is not None else self._bm25(q)
        cands = self._candidates(vec, lexical_best)
        dense, fused = self.fuse(q, vec, cands, bm25)
        k = max(1, min(k, len(fused)))
        order = np.argsort(-fused, kind="stable")[:k]
        best = int(order[0])
        hits = [self.hit(int(cands[i]), float(fused[i])) for i in order]
        found = self.passes(q, int(cands[best]), float(dense[best]))
        return Answer(question=q.text, found=found, hits=hits)

    def fuse(self, q: Query, vec: np.ndarray, cands: np.ndarray, bm25: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The candidates' exact cosines, and their ranking scores for the question: dense and
        BM25 fused, the question's preferences added. `bm25`: every point's BM25 score (`_bm25`)."""
        s = self.settings
        dense = self._exact_dense(vec, cands)
        bm = bm25[cands]
        top_bm = float(bm.max()) if bm.size else 0.0
        lexical = bm / top_bm if top_bm > 0 else bm
        fused = s.alpha * dense + (1 - s.alpha) * lexical + self._priors(q, cands)
        if s.preamble_penalty and not q.about_the_talk:
            fused = fused - s.preamble_penalty * self._is_preamble[cands]
        if s.readout_weight:
            ro = self._readout_of[cands]
            best_of = np.full(len(self.index.readouts), -np.inf, dtype=np.float32)
            np.maximum.at(best_of, ro, fused)
            fused = fused + s.readout_weight * best_of[ro]
        return dense, fused

    def confidence(self, q: Query, pid: int, dense: float) -> float:
        """How surely point `pid` answers the question, on a scale that means the same for every
        question: its cosine `dense` and the share of the question's words it contains."""
        s = self.settings
        coverage = self.index.lexical.coverage(q.content or q.text, pid)
        return (1 - s.confidence_lexical) * dense + s.confidence_lexical * coverage

    def passes(self, q: Query, pid: int, dense: float) -> bool:
        """The `found` test for one point: its confidence reaches the threshold and it can be
        what the question asks for. An answer is found when its best point passes; a timeline
        keeps each readout's best point that passes (embeddings/search/timeline.py)."""
        s = self.settings
        if (1 - s.confidence_lexical) * dense + s.confidence_lexical < s.threshold:
            return False  # short even with every word of the question: no need to count them
        return self.confidence(q, pid, dense) >= s.threshold and self._consistent(q, pid)

    def _consistent(self, q: Query, pid: int) -> bool:
        """Whether the best point can be what the question asks for: every leader and country the
        question names takes part in (or is named in) its readout, and a year or month the
        question names is the readout's (or is written in the point). "What did Abe and Merkel
        discuss?" is not answered by a talk between their foreign ministers, however close the topic."""
        r, p = self.index.point(pid)
        if q.leaders or q.countries:
            leaders, countries, unnamed = self._named_in(int(self._readout_of[pid]))
            for leader in q.leaders:
                # UK and US readouts call their own leader "the Prime Minister"/"the President",
                # never by name: a leader of that rank from the publishing country may be them
                if leader.surname not in leaders and (short_role(leader.role), leader.country) not in unnamed:
                    return False
            if any(c not in countries for c in q.countries):
                return False
        if q.year is not None and r.date is not None and r.date.year != q.year and str(q.year) not in p.text:
            return False
        if q.month is not None and r.date is not None and (q.year is None or r.date.year == q.year):
            if min(abs(r.date.month - q.month), 12 - abs(r.date.month - q.month)) > 1:
                return False
        return True

    def _named_in(self, ri: int) -> tuple[set[str], set[str], set[tuple[str, str]]]:
        """Who and which countries a readout names anywhere (by any alias), and the rank and
        country of each participant it leaves unnamed. Worked out on first use: only best points
        need it."""
        cached = self._named.get(ri)
        if cached is None:
            r = self.index.readouts[ri]
            text = " ".join([r.title, *(x.label for x in r.participants), *(x.text for x in r.points)])
            leaders = {x.surname for x in leaders_in(text)} | {x.surname for x in r.participants if x.surname}
            host = host_country(r.source)
            seated = {c for x in r.participants if x.surname and x.country for c in countries_in(x.country)}
            countries = set(countries_in(text)) | seated | ({host} if host else set())
            unnamed: set[tuple[str, str]] = set()
            for x in r.participants:
                if x.surname:
                    continue
                own = countries_in(x.country or "") or ([host] if host else [])
                if not own:  # nobody says whose: any country not otherwise at the table
                    own = [c for c in COUNTRIES if c not in seated]
                else:
                    countries.update(own)
                unnamed.update((short_role(x.role), c) for c in own)
            cached = self._named[ri] = (leaders, countries, unnamed)
        return cached

    def best_per_readout(self, q: Query, vec: np.ndarray, cands: np.ndarray, bm25: np.ndarray,
                         readouts: int | None = None) -> list[Passing]:
        """Among `cands`, each readout's best point that passes `found`, best first: what a
        timeline lists and a followed topic is sent. `readouts`: stop once that many are found."""
        dense, fused = self.fuse(q, vec, cands, bm25)
        out: list[Passing] = []
        seen: set[int] = set()
        for i in np.argsort(-fused, kind="stable"):
            pid = int(cands[i])
            ri = int(self.index.point_readout[pid])
            if ri in seen or not self.passes(q, pid, float(dense[i])):
                continue
            seen.add(ri)
            out.append(Passing(pid, float(dense[i]), float(fused[i])))
            if readouts is not None and len(out) == readouts:
                break
        return out

    def hit(self, pid: int, score: float) -> Hit:
        r, p = self.index.point(pid)
        return Hit(doc=r.doc, title=r.title, date=r.iso_date, point=p.number, position=p.position,
                   text=p.text, score=score, speakers=list(p.speakers), source=r.source, preamble=p.preamble)
