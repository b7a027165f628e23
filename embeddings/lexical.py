"""The lexical half of retrieval: BM25 over stemmed words, through bm25s.

Dense vectors from a small model miss exact names and rare terms ("Singapore", "CPTPP", "grave
visits"); BM25 catches them. bm25s keeps the index as sparse matrices that save and memory-map,
so a large index loads without rebuilding.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)

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
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    parts: list[str] = []
    for w in words:
        # "Japan-Russia" also counts as "japan" and "russia"
        parts.append(w)
        if "-" in w:
            parts.extend(p for p in w.split("-") if p)
    kept = [w.removesuffix("'s") for w in parts]
    kept = [w for w in kept if w and w not in STOPWORDS]
    return _stemmer().stemWords(kept)


class Lexical:
    """BM25 scores of every indexed text for a question."""

    def __init__(self, model) -> None:  # a bm25s.BM25
        self._bm25 = model

    @classmethod
    def build(cls, texts: list[str]) -> "Lexical":
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(max(logging.getLogger().level, logging.WARNING))
        model = bm25s.BM25(k1=1.2, b=0.75)
        tokens = [tokenize(t) or ["\x00empty"] for t in texts]
        model.index(tokens, show_progress=False)
        return cls(model)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=False))

    def coverage(self, question: str, doc: int) -> float:
        """The share of the question's words, weighted by rarity (IDF), that the text `doc` contains.

        Unlike a BM25 score it does not grow with the corpus, so it can serve in a fixed threshold;
        words the index has never seen count fully against it.
        """
        terms = list(dict.fromkeys(tokenize(question)))
        if not terms:
            return 0.0
        vocab = self._bm25.vocab_dict
        sc = self._bm25.scores
        n = float(sc["num_docs"])
        indptr, indices = sc["indptr"], sc["indices"]
        total = matched = 0.0
        for t in terms:
            tid = vocab.get(t)
            df = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
            idf = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
            total += idf
            if tid is not None and doc in indices[indptr[tid]:indptr[tid + 1]]:
                matched += idf
        return matched / total if total else 0.0

    def scores(self, question: str) -> np.ndarray:
        vocab = self._bm25.vocab_dict
        terms = [t for t in tokenize(question) if t in vocab]
        n = int(self._bm25.scores["num_docs"])
        if not terms:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
