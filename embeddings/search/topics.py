"""Followed topics against readouts new to the index: which point of each new readout answers a topic.

A topic ("grave visits") is a standing question. When readouts arrive, each topic is ranked over
their points exactly as a question is ranked (`Searcher.fuse`: dense and BM25 evidence, the
topic's speaker, time and country preferences), and each new readout keeps its best-ranked point
that passes the same `found` test an answer must pass (`Searcher.passes`), as a timeline does
(embeddings/search/timeline.py): no threshold of its own, so a topic alerts on what asking it would have
found. A readout with no such point does not answer the topic.

`arrivals` says which readouts are new or changed since a front end last looked: a hash of each
readout as the index stores it, read without parsing it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from embeddings.model.blas import blas_threads
from embeddings.search.query import read_question
from embeddings.records import Hit
from embeddings.search.searcher import Searcher
from embeddings.index.store import StoredIndex


@dataclass(frozen=True)
class TopicMatch:
    """A new readout's point that answers topic number `topic` (its place in the list given)."""

    topic: int
    hit: Hit
    point_key: str  # a hash of the point's text: an alert is sent once per chat and point text


def point_key(text: str) -> str:
    """The same text (up to case and spacing) has the same key, in any readout version."""
    return hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Arrival:
    """A readout that is new to a front end, or changed since it last looked."""

    doc: str
    hash: str  # of its line as the index stores it (title, date, points, speakers)
    points: tuple[str, ...]  # its points' keys (`point_key`): an edited readout's old points are known


def arrivals(index: StoredIndex, known: Mapping[str, str]) -> list[Arrival]:
    """The readouts whose hash is not `known[doc]`, in index order. Hashing the stored lines
    costs no parsing; only the readouts that differ are parsed, for their points."""
    shelf = index.readouts
    out = []
    for i, doc in enumerate(index.table.docs):
        h = hashlib.sha256(shelf.raw(i)).hexdigest()[:20]
        if known.get(doc) != h:
            out.append(Arrival(doc, h, tuple(point_key(p.text) for p in shelf[i].points)))
    return out


def match_topics(searcher: Searcher, topics: list[str], docs: list[str]) -> list[TopicMatch]:
    """For each topic, each readout of `docs` that answers it, with its point (docs no longer in
    the index are left out). Topics are encoded together, once."""
    index = searcher.index
    where = {d: i for i, d in enumerate(index.table.docs)}
    readouts = [where[d] for d in dict.fromkeys(docs) if d in where]
    if not topics or not readouts:
        return []
    starts = index.point_starts
    cands = np.concatenate([np.arange(starts[ri], starts[ri + 1], dtype=np.int64) for ri in readouts])
    if not len(cands):
        return []
    vectors = searcher.encoder.encode_queries(topics)
    out: list[TopicMatch] = []
    with blas_threads(1):  # small products: see blas.py
        for t, (topic, vec) in enumerate(zip(topics, vectors)):
            q = read_question(topic)
            vec = np.ascontiguousarray(vec, dtype=np.float32)
            bm25 = index.lexical.scores(q.content or q.text)
            for p in searcher.best_per_readout(q, vec, cands, bm25, readouts=len(readouts)):
                hit = searcher.hit(p.pid, p.fused, q, p.dense)
                out.append(TopicMatch(t, hit, point_key(hit.text)))
    return out
