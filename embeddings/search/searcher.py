"""Ranking points for a question: dense and BM25 evidence fused, then the question's speaker, time
and countries used as preferences.

Candidates are the points of the best dense units (from FAISS) and the best BM25 points; every
candidate gets its exact cosine (its units' vectors are read back from the index), so a point
found by words alone is not penalised for missing the dense shortlist. On a small corpus every
point is a candidate.

Ranking and `found` are decided apart. Ranking compares points for one question, so BM25 is
scaled by the question's best BM25 score. `found` must mean the same for every question, so it
looks at absolute evidence for the best point, as a 0-1 confidence (a logistic model; its weights
and every ranking weight are chosen by cross-validation, benchmarks/cv.py): its cosine similarity,
the share of the question's words it contains, and whether it contains the topic itself - the
question with its names, places and dates set aside, since "Did Kishida and Putin discuss fishing
quotas?" finds both names in every point of their talks. A topic word no readout of the corpus
contains is strong evidence against an answer. Before any of that, the point must be able to be
what the question asks for: the people and places the question names are in its readout.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from embeddings.index.lexical import WORD, STOPWORDS, tokenize
from embeddings.index.lexical import best as best_scored
from embeddings.index.store import StoredIndex
from embeddings.model.blas import blas_threads
from embeddings.model.encoder import Encoder
from embeddings.records import Answer, Hit, short_role
from embeddings.search.query import CorpusNames, Query, read_question


class Passing(NamedTuple):
    """A readout's best point for a question that passes `found`: its cosine and ranking score."""

    pid: int
    dense: float
    fused: float


class Components(NamedTuple):
    """Per candidate, the evidence ranking adds up (`Settings` weighs it): kept apart so that the
    weights can be chosen by cross-validation without searching again (benchmarks/cv.py)."""

    dense: np.ndarray  # exact cosine of the best unit
    lexical: np.ndarray  # BM25, scaled by the question's best
    speaker: np.ndarray  # 1 where the point has a speaker the question names
    time: np.ndarray  # +1 the readout is of the time the question names, -1 of another, 0 undated
    countries: np.ndarray  # how many of the question's countries the readout is about (at most 2)
    kind: np.ndarray  # 1 where the point holds the kind of answer asked for (how many, when, where...)
    preamble: np.ndarray  # 1 for preambles (0 for all when the question is about the talk itself)
    readout: np.ndarray  # the candidate's readout, to add a share of the readout's best


@dataclass(frozen=True)
class Evidence:
    """What the confidence of a point is made of (each 0-1). Measured by cross-validation beside
    these: the share of all the question's words the point has (names included, which is what
    fooled `found` before), and the share of topic words no readout has at all; neither added
    anything held out once the topic's meaning was in, so they are not used."""

    dense: float  # its cosine with the question
    topic: float  # share of the topic's words it contains, weighted by rarity (1 without topic words)
    meaning: float  # each topic word's closest word of the point in meaning (1 if it has it), averaged
    absent_name: float  # 1 when the topic names something ("Zaporizhzhia") no readout of the corpus has

    def vector(self) -> tuple[float, ...]:
        return (self.dense, self.topic, self.meaning, self.absent_name)


@dataclass(frozen=True)
class Settings:
    # Every weight and the confidence model are chosen by 5-fold cross-validation over
    # evaluation/readouts-dev.jsonl (benchmarks/cv.py prints the held-out figures and these values)
    alpha: float = 0.8  # weight of the dense side in ranking (vs. BM25)
    speaker_boost: float = 0.0  # the point has the speaker the question names
    date_boost: float = 0.05  # the readout is of the time the question names (and minus for others)
    country_boost: float = 0.025  # per country of the question the readout is about
    kind_boost: float = 0.15  # the point holds the kind of answer the question asks for
    # the confidence: a logistic model over Evidence.vector() (dense, topic, meaning, absent_name)
    confidence_weights: tuple[float, ...] = (7.938, 0.434, 5.817, -2.073)
    confidence_bias: float = -6.339
    threshold: float = 0.35  # confidence the best point needs for found=True
    candidates: int = 200  # points taken from each side before fusion
    dense_rows: int = 256  # unit vectors asked of FAISS for the dense side's points: what an HNSW
    # search explores anyway (efSearch 256; asking 400 made it explore 400, +1 ms at 1M points).
    # SciFact (59k units) and XQuAD-en give the same nDCG@10 and recall@100 with 256 as with 400
    # (100 rows: SciFact recall@100 0.962 against 0.965)
    readout_weight: float = 0.2  # share of the readout's best point added to each of its points
    preamble_penalty: float = 0.05  # preambles name the date and the people, so they match every
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
        self._named: dict[int, tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str]]]] = {}
        self._word_cache: dict[str, np.ndarray] = {}
        self._words_of_point: dict[int, list[str]] = {}
        # point p owns the vector rows _rows[_unit_start[p]:_unit_start[p + 1]]
        self._rows, self._unit_start = index.point_rows

    def warm_up(self) -> None:
        """Work out now what the first question would otherwise wait for: the corpus's names and
        every point's answer kinds (at a million points, a tenth of a second)."""
        self.names, self._kinds  # noqa: B018  (cached properties)

    def answers(self, questions: list[str], k: int = 5) -> list[Answer]:
        """The questions are encoded in another thread while this one reads them and finds
        their BM25 candidates (onnxruntime and numpy's indexing let go of the GIL): at a million
        points that takes ~4 ms a question, half what encoding it takes, and the two overlapped
        took a question from 17-20 to 15-16 ms on two cores. Words are scored ahead for as many
        questions as 16 MB of scores hold (at least one); the rest while ranking."""
        vecs = _workers().submit(self.encoder.encode_queries, questions)
        ahead = max(1, LEXICAL_AHEAD // max(1, self.index.lexical.n_docs))
        queries = [self.read(q) for q in questions]
        with blas_threads(1):  # small products: see blas.py
            scores = [self._bm25(q) for q in queries[:ahead]]
            vectors = vecs.result()
            return [self._rank(q, v, k, scores[i] if i < len(scores) else None)
                    for i, (q, v) in enumerate(zip(queries, vectors))]

    @functools.cached_property
    def names(self) -> CorpusNames:
        """The people and places of this corpus, from the index table (older tables: the readouts)."""
        t = self.index.table
        if t.people is not None and t.places is not None:
            return CorpusNames.of(t.people, t.places)
        from embeddings.readouts.facts import readout_facts

        facts = [readout_facts(r) for r in self.index.readouts]
        return CorpusNames.of([f.people for f in facts], [f.places for f in facts])

    @functools.cached_property
    def _kinds(self) -> np.ndarray:
        """Per point, the kinds of answer it holds (readouts/facts.py point_kinds), as one array."""
        kinds = self.index.table.kinds
        if kinds is None:
            from embeddings.readouts.facts import point_kinds

            kinds = [[point_kinds(p.text) for p in r.points] for r in self.index.readouts]
        flat = [k for ks in kinds for k in ks]
        return np.array(flat, dtype=np.uint8) if flat else np.zeros(0, np.uint8)

    def read(self, question: str) -> Query:
        """The question read against the built-in table and this corpus's people and places."""
        return read_question(question, self.names)

    def _bm25(self, q: Query) -> tuple[np.ndarray, np.ndarray | None]:
        """Every point's BM25 score for the question, and the best `candidates` points by it
        (None when every point is a candidate anyway)."""
        scores = self.index.lexical.scores(q.content or q.text)
        c = self.settings.candidates
        return scores, (best_scored(scores, c) if self.index.n_points > 2 * c else None)

    def shortlist(self, q: Query, vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The candidate points for a question, and every point's BM25 score for it."""
        bm25, lexical_best = self._bm25(q)
        return self._candidates(np.ascontiguousarray(vec, dtype=np.float32), lexical_best), bm25

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

    def components(self, q: Query, vec: np.ndarray, cands: np.ndarray, bm25: np.ndarray) -> Components:
        """The evidence for each candidate that ranking weighs. `bm25`: every point's BM25 score."""
        n = len(cands)
        dense = self._exact_dense(vec, cands)
        bm = bm25[cands]
        top_bm = float(bm.max()) if bm.size else 0.0
        lexical = bm / top_bm if top_bm > 0 else bm
        speaker = np.zeros(n, dtype=np.float32)
        if q.speakers:
            names = [l.surname for l in q.speakers]
            for i, pid in enumerate(cands):
                speakers = self.index.point_speakers(int(pid))
                if speakers and any(name in speakers for name in names):
                    speaker[i] = 1
        ro = self._readout_of[cands]
        time = np.zeros(n, dtype=np.float32)
        if q.year is not None or q.month is not None:  # + for the named time, - for another, 0 without a date
            years = self._years[ro]
            right = np.ones(n, dtype=bool)
            if q.year is not None:
                right &= years == q.year
            if q.month is not None:
                right &= self._months[ro] == q.month
            time = np.where(years > 0, np.where(right, 1, -1), 0).astype(np.float32)
        named = np.zeros(n, dtype=np.int32)
        for c in set(q.countries):
            having = self._readouts_of_country.get(c)
            if having is not None:
                at = np.minimum(np.searchsorted(having, ro), len(having) - 1)
                named += having[at] == ro
        kind = np.zeros(n, dtype=np.float32)
        if q.asks and len(self._kinds) == self.index.n_points:
            kind = ((self._kinds[cands] & q.asks) > 0).astype(np.float32)
        preamble = self._is_preamble[cands] if not q.about_the_talk else np.zeros(n, dtype=np.float32)
        return Components(dense, lexical, speaker, time, np.minimum(named, 2).astype(np.float32), kind, preamble, ro)

    def fused(self, c: Components) -> np.ndarray:
        """The ranking score of each candidate: its evidence weighed by `settings`."""
        s = self.settings
        fused = (s.alpha * c.dense + (1 - s.alpha) * c.lexical + s.speaker_boost * c.speaker + s.date_boost * c.time
                 + s.country_boost * c.countries + s.kind_boost * c.kind - s.preamble_penalty * c.preamble)
        if s.readout_weight:
            best_of = np.full(len(self.index.readouts), -np.inf, dtype=np.float32)
            np.maximum.at(best_of, c.readout, fused)
            fused = fused + s.readout_weight * best_of[c.readout]
        return fused.astype(np.float32)

    def _rank(self, q: Query, vec: np.ndarray, k: int,
              words: tuple[np.ndarray, np.ndarray | None] | None = None) -> Answer:
        """`words`: the question's `_bm25`, when computed ahead."""
        vec = np.ascontiguousarray(vec, dtype=np.float32)
        bm25, lexical_best = words if words is not None else self._bm25(q)
        cands = self._candidates(vec, lexical_best)
        dense, fused = self.fuse(q, vec, cands, bm25)
        k = max(1, min(k, len(fused)))
        order = np.argsort(-fused, kind="stable")[:k]
        sure = [self.confidence(q, int(cands[i]), float(dense[i])) for i in order]
        hits = [self.hit(int(cands[i]), float(fused[i]), confidence=c) for i, c in zip(order, sure)]
        return Answer(question=q.text, found=sure[0] >= self.settings.threshold, hits=hits)

    def fuse(self, q: Query, vec: np.ndarray, cands: np.ndarray, bm25: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The candidates' exact cosines, and their ranking scores for the question."""
        c = self.components(q, vec, cands, bm25)
        return c.dense, self.fused(c)

    def evidence(self, q: Query, pid: int, dense: float) -> Evidence:
        """What point `pid`'s confidence for the question is made of."""
        if not q.topic_terms:
            return Evidence(dense, 1.0, 1.0, 0.0)
        lex = self.index.lexical
        topic = lex.term_coverage(q.topic_terms, pid)
        absent = any(not lex.has(tokenize(w)[:1]) for w in q.topic_names)
        return Evidence(dense, topic, self._meaning(q, pid, topic), float(absent))

    def _meaning(self, q: Query, pid: int, topic: float) -> float:
        """How close in meaning the point's words come to the topic's: per topic word, 1 when the
        point has it, 0 for a name no readout of the corpus has, else its best cosine with a word
        of the point (the model's own word-piece embeddings, no model run); averaged, rarer words
        weighing more (IDF). Without word
        vectors (another model): `topic`."""
        words = q.topic_words
        if not words:
            return topic
        point_words = self._point_words(pid)
        vectors = self._word_vectors([*words, *point_words])
        if vectors is None or not point_words:
            return topic
        lex = self.index.lexical
        sims = vectors[len(words):] @ vectors[: len(words)].T  # point words x topic words
        best = sims.max(axis=0)
        weight = np.ones(len(words))
        for i, w in enumerate(words):
            stem = tokenize(w)[:1]
            weight[i] = lex.idf(stem[0]) if stem else 1.0
            if lex.term_coverage(stem, pid) > 0:
                best[i] = 1.0
            elif w in q.topic_names and not lex.has(stem):
                best[i] = 0.0  # a name no readout has: nothing here is about it
        # weighted by rarity, as `topic` is: "grave visits" is about "grave" more than "visits"
        return float(np.average(np.clip(best, 0.0, 1.0), weights=weight))

    def _point_words(self, pid: int) -> list[str]:
        words = self._words_of_point.get(pid)
        if words is None:
            text = self.index.point(pid)[1].text
            words = list(dict.fromkeys(w.lower() for w in WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2))
            if len(self._words_of_point) > 100_000:
                self._words_of_point.clear()
            self._words_of_point[pid] = words
        return words

    def _word_vectors(self, words: list[str]) -> np.ndarray | None:
        """Word vectors, each looked up once per process (a point's words recur across questions)."""
        missing = [w for w in dict.fromkeys(words) if w not in self._word_cache]
        if missing:
            got = self.encoder.word_vectors(missing) if hasattr(self.encoder, "word_vectors") else None
            if got is None:
                return None
            if len(self._word_cache) > 200_000:
                self._word_cache.clear()
            self._word_cache.update(zip(missing, got))
        return np.stack([self._word_cache[w] for w in words])

    def confidence(self, q: Query, pid: int, dense: float) -> float:
        """How surely point `pid` answers the question, 0-1, on a scale that means the same for
        every question: 0 when it cannot be what the question asks for (`consistent`)."""
        if q.unknown_people or not self.consistent(q, pid):
            return 0.0
        s = self.settings
        z = s.confidence_bias + sum(w * x for w, x in zip(s.confidence_weights, self.evidence(q, pid, dense).vector()))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def passes(self, q: Query, pid: int, dense: float) -> bool:
        """The `found` test for one point. An answer is found when its best point passes; a
        timeline keeps each readout's best point that passes (embeddings/search/timeline.py)."""
        return self.confidence(q, pid, dense) >= self.settings.threshold

    def consistent(self, q: Query, pid: int) -> bool:
        """Whether the point can be what the question asks for: every person and country the
        question names takes part in (or is named in) its readout, and a year or month the
        question names is the readout's (or is written in the point). "What did Abe and Merkel
        discuss?" is not answered by a talk between their foreign ministers, however close the topic."""
        ri = int(self._readout_of[pid])
        if q.leaders or q.countries:
            people, places, unnamed = self._named_in(ri)
            for leader in q.leaders:
                # UK and US readouts call their own leader "the Prime Minister"/"the President",
                # never by name: a leader of that rank from the publishing country may be them
                if leader.surname.lower() not in people and (short_role(leader.role), leader.country) not in unnamed:
                    return False
            if any(c not in places for c in q.countries):
                return False
        if q.year is None and q.month is None:
            return True
        date = self.index.table.dates[ri]
        if date is None:
            return True
        year, month = int(date[:4]), int(date[5:7])
        if q.year is not None and year != q.year and str(q.year) not in self.index.point(pid)[1].text:
            return False
        if q.month is not None and (q.year is None or year == q.year):
            if min(abs(month - q.month), 12 - abs(month - q.month)) > 1:
                return False
        return True

    def _named_in(self, ri: int) -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, str]]]:
        """Who and which countries readout `ri` has or names, and the rank and country of each
        participant it leaves unnamed, as the index table keeps them (readouts/facts.py)."""
        cached = self._named.get(ri)
        if cached is None:
            t = self.index.table
            if t.people is not None and t.places is not None and t.unnamed is not None:
                people, places, unnamed = t.people[ri], t.places[ri], t.unnamed[ri]
            else:  # a table from before these columns
                from embeddings.readouts.facts import readout_facts

                f = readout_facts(self.index.readouts[ri])
                people, places, unnamed = f.people, f.places, f.unnamed
            pairs = frozenset(tuple(u.split("|", 1)) for u in unnamed if "|" in u)
            cached = self._named[ri] = (frozenset(people), frozenset(places), pairs)  # type: ignore[assignment]
        return cached

    def best_per_readout(self, q: Query, vec: np.ndarray, cands: np.ndarray, bm25: np.ndarray,
                         readouts: int | None = None) -> list[Passing]:
        """Among `cands`, each readout's best point that passes `found` and has the topic's key
        word, best first: what a timeline lists and a followed topic is sent. A question names its
        readouts (people, dates) and `found` judges one best point; a topic is matched against
        every readout, so a point that has only its common half ("visits" of "grave visits", in
        any talk that mentions a visit) would come up again and again. `readouts`: stop once that
        many are found."""
        dense, fused = self.fuse(q, vec, cands, bm25)
        key = self._key_word(q)
        out: list[Passing] = []
        seen: set[int] = set()
        for i in np.argsort(-fused, kind="stable"):
            pid = int(cands[i])
            ri = int(self.index.point_readout[pid])
            if ri in seen or (key and not self.index.lexical.term_coverage(key, pid)):
                continue
            if not self.passes(q, pid, float(dense[i])):
                continue
            seen.add(ri)
            out.append(Passing(pid, float(dense[i]), float(fused[i])))
            if readouts is not None and len(out) == readouts:
                break
        return out

    def _key_word(self, q: Query) -> list[str]:
        """The topic's rarest word that some readout has (as a one-word list of its stem), when the
        topic has more than one word; else none."""
        lex = self.index.lexical
        seen = [t for t in q.topic_terms if lex.has([t])]
        if len(q.topic_terms) < 2 or not seen:
            return []
        return [max(seen, key=lex.idf)]

    def hit(self, pid: int, score: float, q: Query | None = None, dense: float | None = None,
            confidence: float | None = None) -> Hit:
        """Point `pid` as an answer cites it; with its confidence, or the question and its cosine to
        work it out."""
        r, p = self.index.point(pid)
        names = self.index.table.names
        name = names[int(self._readout_of[pid])] if names is not None else ""
        if confidence is None:
            confidence = self.confidence(q, pid, dense) if q is not None and dense is not None else 0.0
        return Hit(doc=r.doc, title=r.title, date=r.iso_date, point=p.number, position=p.position,
                   text=p.text, score=score, speakers=list(p.speakers), source=r.source, preamble=p.preamble,
                   name=name or r.title, confidence=round(confidence, 4))
