"""The lexical half of retrieval: BM25 over stemmed words (PyStemmer's Snowball English).

Dense vectors from a small model miss exact names and rare terms ("Singapore", "CPTPP", "grave
visits"); BM25 catches them. The index is a sparse matrix of BM25 weights kept as .npy files;
points keep their token ids, so a rebuild tokenizes only new or changed points.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)

# English function words plus readout boilerplate that every point shares
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also said say says stated did does what's anything something thing things
    tell told""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    words = [w.lower().replace("’", "'") for w in WORD.findall(text)]
    parts: list[str] = []
    for w in words:
        # "Japan-Russia" also counts as "japan" and "russia"
        parts.append(w)
        if "-" in w:
            parts.extend(p for p in w.split("-") if p)
    kept = [w.removesuffix("'s") for w in parts]
    kept = [w for w in kept if w and w not in STOPWORDS]
    return _stemmer().stemWords(kept)


def term_ids(tokens: list[str], vocab: dict[str, int]) -> np.ndarray:
    """Token strings as vocabulary ids, adding new words to `vocab` (ids never change, so ids
    stored by an earlier index stay valid)."""
    out = np.empty(len(tokens), dtype=np.int32)
    for i, t in enumerate(tokens):
        tid = vocab.get(t)
        if tid is None:
            tid = vocab[t] = len(vocab)
        out[i] = tid
    return out


def bm25_columns(tokens: np.ndarray, offsets: np.ndarray, n_terms: int, k1: float = 1.2, b: float = 0.75):
    """BM25 weight of every (document, word) pair, as columns per word (CSC: data, indices, indptr).

    Computed from token ids with a few numpy passes, so a rebuild that reuses the token ids of
    unchanged points costs a fraction of a second even for tens of thousands of points.
    """
    n_docs = len(offsets) - 1
    dl = np.diff(offsets).astype(np.float64)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(offsets))
    # (word, document) pairs sorted by word, documents ascending within a word: CSC order at once
    pairs, tf = np.unique(tokens.astype(np.int64) * max(n_docs, 1) + doc_of, return_counts=True)
    terms, docs = pairs // max(n_docs, 1), pairs % max(n_docs, 1)
    df = np.bincount(terms, minlength=n_terms)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    avgdl = float(dl.mean()) if n_docs and dl.sum() else 1.0
    weight = idf[terms] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl[docs] / avgdl))
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    return weight.astype(np.float32), docs.astype(np.int32), indptr


LARGE = 50_000  # documents; past this, `match` skips the commonest words


class Lexical:
    """BM25 over the points, kept as one sparse column of precomputed weights per word.

    The weights are computed at build time from token ids (bm25_columns); a question is scored by
    adding the columns of its words, with numpy alone, so answering needs no search library.
    """

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int], n_docs: int) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr
        self.vocab, self.n_docs = vocab, n_docs
        self._terms: dict[str, tuple[float, np.ndarray]] = {}

    @classmethod
    def from_tokens(cls, tokens: np.ndarray, offsets: np.ndarray, vocab: dict[str, int]) -> "Lexical":
        data, indices, indptr = bm25_columns(tokens, offsets, len(vocab))
        return cls(data, indices, indptr, vocab, len(offsets) - 1)

    @classmethod
    def build(cls, texts: list[str], k1: float = 1.2, b: float = 0.75) -> "Lexical":
        vocab: dict[str, int] = {}
        ids = [term_ids(tokenize(t), vocab) for t in texts]
        offsets = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
        tokens = np.concatenate(ids) if ids else np.zeros(0, np.int32)
        data, indices, indptr = bm25_columns(tokens, offsets, len(vocab), k1, b)
        return cls(data, indices, indptr, vocab, len(texts))

    def save(self, folder: Path) -> None:
        import json

        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "data.npy", self.data)
        np.save(folder / "indices.npy", self.indices)
        np.save(folder / "indptr.npy", self.indptr)
        (folder / "vocab.json").write_text(json.dumps({"n_docs": self.n_docs, "vocab": self.vocab}, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        import json

        meta = json.loads((folder / "vocab.json").read_text())
        return cls(np.load(folder / "data.npy", mmap_mode="r"), np.load(folder / "indices.npy", mmap_mode="r"),
                   np.load(folder / "indptr.npy", mmap_mode="r"), meta["vocab"], int(meta["n_docs"]))

    def _column(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = int(self.indptr[tid]), int(self.indptr[tid + 1])
        return self.indices[s:e], self.data[s:e]

    def idf(self, term: str) -> float:
        """A stemmed word's rarity over the index's texts, as BM25 and `term_coverage` weigh it."""
        tid = self.vocab.get(term)
        df = int(self.indptr[tid + 1] - self.indptr[tid]) if tid is not None and tid + 1 < len(self.indptr) else 0
        n = float(self.n_docs)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def has(self, terms: list[str]) -> bool:
        """Whether some text of the index has one of these stemmed words."""
        for t in terms:
            tid = self.vocab.get(t)
            if tid is not None and tid + 1 < len(self.indptr) and self.indptr[tid + 1] > self.indptr[tid]:
                return True
        return False

    def _term(self, term: str) -> tuple[float, np.ndarray]:
        """A stemmed word's IDF and the sorted texts that have it, kept once looked up: a question's
        topic is checked against several points, and a common word's column at a million texts
        is long (the index is never changed in place, so what is kept stays true)."""
        got = self._terms.get(term)
        if got is None:
            tid = self.vocab.get(term)
            docs = self._column(tid)[0] if tid is not None and tid + 1 < len(self.indptr) else self.indices[:0]
            if len(self._terms) > 100_000:
                self._terms.clear()
            got = self._terms[term] = (self.idf(term), docs)
        return got

    def term_coverage(self, terms: list[str], doc: int) -> float:
        """For stemmed words (a question's topic): the share of them, weighted by rarity (IDF),
        that the text `doc` contains. A word no text has counts fully against it."""
        total = matched = 0.0
        for t in terms:
            idf, docs = self._term(t)
            total += idf
            if len(docs) and _contains(docs, doc):
                matched += idf
        return matched / total if total else 0.0

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every document for the question (zero for those without a word of it).

        A dense array rather than the matching documents and their scores: the searcher looks up
        a few hundred candidates in it and takes the best few hundred from it (`best`), and over
        a million documents listing the matches alone (sorting or scanning for them) cost more
        than the sum. On a large index, words in more than a third of the documents (idf < 1) are
        left out: they hardly change the order and would cost a pass over most documents."""
        total = np.zeros(self.n_docs, dtype=np.float32)
        for t in tokenize(question):
            tid = self.vocab.get(t)
            if tid is None or tid + 1 >= len(self.indptr):
                continue
            docs, vals = self._column(tid)
            if self.n_docs > LARGE and len(docs) * 3 > self.n_docs:
                continue
            total[docs] += vals  # a column lists a document once: plain fancy indexing adds right
        return total


def best(scores: np.ndarray, c: int) -> np.ndarray:
    """The documents with the `c` highest positive scores (fewer when fewer score), in no order.

    Over a million documents a partition of every match took ~3 ms; instead a strided sample
    gives a threshold that about 3c documents pass, and only those are partitioned. The result is
    exact: every document below the threshold is beaten by at least c that pass it (else all the
    matches are partitioned)."""
    found = None
    stride = max(1, c // 4)  # the sample's 12th best is then passed by ~3c documents (fewer than c: 1 in 1,000)
    if len(scores) >= 100 * c:
        sample = scores[::stride]
        cut = np.partition(sample, len(sample) - 12)[len(sample) - 12]
        if cut > 0:
            found = np.flatnonzero(scores >= cut)
            if len(found) < c:
                found = None
    if found is None:
        found = np.flatnonzero(scores > 0)
    if len(found) > c:
        found = found[np.argpartition(-scores[found], c - 1)[:c]]
    return found


def _contains(sorted_ids: np.ndarray, x: int) -> bool:
    """`x in sorted_ids` by bisection (a column of a common word lists hundreds of thousands)."""
    i = int(np.searchsorted(sorted_ids, x))
    return i < len(sorted_ids) and int(sorted_ids[i]) == x
