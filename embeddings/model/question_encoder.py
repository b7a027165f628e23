"""Encoding questions without torch: the model's BERT layers exported once to ONNX, run by onnxruntime.

Importing torch and sentence-transformers takes seconds and holds hundreds of MB; a question is a
dozen word pieces. So questions (a single `readout ask`, a batch on stdin, the bot, `readout eval`)
are encoded here: the model's own tokenizer (`tokenizer.json`, through `tokenizers`), its word
embeddings looked up a row per token from its own `model.safetensors` (mapped: a question reads a
dozen of 30,522 rows), and its encoder layers as an ONNX graph that a build exports once per model,
when it has loaded sentence-transformers anyway (torch's exporter needs torch). The export is kept
in the user's cache, since it depends on the model alone. The tests check the vectors against
sentence-transformers (cosine >= 0.9999).

Covered: sentence-transformers models made of a BERT `Transformer`, mean pooling and optional
`Normalize`, stored as safetensors, such as all-MiniLM-L6-v2. Other models are encoded by
sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

LAYERS = "layers.onnx"
ABOUT = "model.json"  # which model the export is of, so that another model's is never used
_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


def supported(model_dir: Path) -> bool:
    """Whether this encoder reproduces the sentence-transformers model in `model_dir`."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        config = json.loads((model_dir / "config.json").read_text())
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if types not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return False
        pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text())
        mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
            pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
        )
        return bool(
            mean_only
            and config.get("model_type") == "bert"
            and (model_dir / "model.safetensors").exists()
            and (model_dir / "tokenizer.json").exists()
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


def word_embeddings(path: Path) -> np.ndarray:
    """The model's word-embedding table as a read-only view of a memory map of its safetensors
    file: only the pages of the rows a question uses are ever read."""
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (n,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8 : 8 + n])
    for name in ("bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"):
        info = header.get(name)
        if info is None:
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"the word embeddings are stored as {info['dtype']}")
        start, end = info["data_offsets"]
        count = (end - start) // np.dtype(dtype).itemsize
        return np.frombuffer(mm, dtype=dtype, count=count, offset=8 + n + start).reshape(info["shape"])
    raise KeyError("embeddings.word_embeddings.weight")


def _source(model_dir: Path) -> dict[str, Any]:
    """What identifies the model files the export was made from."""
    weights = model_dir / "model.safetensors"
    return {"model_dir": str(model_dir.resolve()), "weights_bytes": weights.stat().st_size}


def exported(folder: Path, model_dir: Path) -> Path | None:
    """The export in `folder` when it is of the model in `model_dir`, else None."""
    try:
        about = json.loads((folder / ABOUT).read_text())
        same = about.get("source") == _source(model_dir)
    except (OSError, ValueError, AttributeError):
        return None
    return folder / LAYERS if same and (folder / LAYERS).is_file() else None


def export(st_model: Any, model_dir: Path, folder: Path) -> Path | None:
    """Export the BERT layers of a loaded sentence-transformers model into `folder` (written to
    a temporary name, then renamed: a reader never sees half a file). None, with the reason
    logged, when the model, the installed packages or the disk do not allow it: questions are then
    encoded by sentence-transformers."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs it; fail here with a clear reason)
        import torch
    except ImportError as e:
        log.info("not exporting the question encoder: %s", e)
        return None
    bert = st_model[0].auto_model.eval()
    dim = int(bert.config.hidden_size)

    class Layers(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            return self.m(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    tmp = folder / f".{LAYERS}.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing, not for users
            torch.onnx.export(
                Layers(bert).cpu(), (torch.zeros((1, 8, dim)), torch.ones((1, 8), dtype=torch.int64)), str(tmp),
                input_names=["inputs_embeds", "attention_mask"], output_names=["hidden"],
                dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "hidden": {0: "batch", 1: "tokens"}},
                opset_version=17, dynamo=False,
            )
        os.replace(tmp, folder / LAYERS)
        (folder / ABOUT).write_text(json.dumps({"source": _source(model_dir)}))
    except Exception as e:  # the exporter raises many kinds; a missing export only costs speed
        log.info("not exporting the question encoder: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        tmp.unlink(missing_ok=True)
        return None
    finally:
        bert.to(st_model.device)
    log.info("exported the question encoder to %s", folder / LAYERS)
    return folder / LAYERS


class QuestionEncoder:
    """Questions through the exported layers, with the model's tokenizer, settings and pooling as
    sentence-transformers reads them."""

    def __init__(self, model_dir: Path, layers: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        st_config = {}
        if (model_dir / "sentence_bert_config.json").exists():
            st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        modules = json.loads((model_dir / "modules.json").read_text())
        self.normalize = modules[-1]["type"].endswith("Normalize")
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(max_len)
        self.tok.no_padding()
        self.word = word_embeddings(model_dir / "model.safetensors")
        self.dim = int(self.word.shape[1])
        opts = ort.SessionOptions()
        # one thread, and no spinning: the bot's event loop needs the other core, and a question's
        # products are too small to gain from more (a build's texts go to sentence-transformers)
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(layers), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Texts of similar lengths are run together, so that little of a batch is padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encs = self.tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            out[idx] = self._forward([encs[i].ids for i in idx])
        return out

    def _forward(self, ids_list: list[list[int]]) -> np.ndarray:
        lens = np.array([len(ids) for ids in ids_list])
        emb = np.zeros((len(ids_list), int(lens.max()), self.dim), dtype=np.float32)
        mask = np.zeros(emb.shape[:2], dtype=np.int64)
        for i, ids in enumerate(ids_list):
            emb[i, : len(ids)] = self.word[ids]
            mask[i, : len(ids)] = 1
        hidden = self.session.run(None, {"inputs_embeds": emb, "attention_mask": mask})[0]
        pooled = np.einsum("btd,bt->bd", hidden, mask.astype(np.float32)) / lens[:, None].astype(np.float32)
        if self.normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)
