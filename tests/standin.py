"""A stand-in for the model in the fast tests: no torch, no onnxruntime, no files.

`StandinEncoder` offers the engine what `embeddings.model.encoder.Encoder` offers it (name, dim,
loaded, check(), encode(), encode_queries(), question_encoder, export_for_queries()), and
returns unit vectors made from a hash of each word: the same text always gets the same vector,
and texts that share words are near, so search, `found` and ranking behave like a (poor) model.
Tests put it where the engine constructs its encoder (`embeddings.engine.Encoder`), so the real
click commands run in-process without loading the model; see `standin_encoder` in
tests/test_fast_cli.py.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from embeddings.model.encoder import ModelError, model_id

DIM = 64
NAME = "readout-tests/hashed-words"
_WORD_RE = re.compile(r"[^\W_]+")


def _word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


class StandinEncoder:
    """Deterministic vectors from the words of each text (lower-cased; a text with no words gets
    a vector of its own all the same, so every vector is a unit vector)."""

    loaded = False  # never loads sentence-transformers
    question_encoder = "stand-in"

    def __init__(self, name: str | None = None, device: str | None = None, exports: Path | None = None) -> None:
        self.name = NAME if name is None else model_id(name)
        self.dim = DIM
        self.texts_encoded = 0  # how many texts `encode` was given: what a build re-encoded

    def check(self) -> None:
        """As the real one: a model path that does not exist fails at once, in one line."""
        if self.name.startswith((".", "/", "~")) and not Path(self.name).expanduser().is_dir():
            raise ModelError(f"no model folder at {self.name} (give --model a sentence-transformers name or an existing path)")

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD_RE.findall(text.lower()) or [f"\0{text}"]
            for w in words:
                out[i] += _word_vector(w)
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm > 0 else _word_vector("\0") / np.linalg.norm(_word_vector("\0"))
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    def export_for_queries(self) -> bool:
        return False  # nothing to export: questions are encoded as texts are
