"""Encoding questions with onnxruntime: the model's encoder layers exported once to ONNX.

The numpy encoder (bert_numpy.py) needs no export, but a question costs it ~9 ms on one core,
three quarters of it in six layers of small matrix products that numpy hands to BLAS one by one;
onnxruntime runs the same layers from one graph in ~5.5 ms (one thread each, questions one at a
time). So when an index is built with sentence-transformers (torch is loaded then anyway), the
model's BERT layers are exported, once per model, into the user's cache (Encoder.exports), and
processes that answer many questions use them when onnxruntime is installed.

Only the layers are exported: the word embeddings (47 MB of all-MiniLM-L6-v2's 90 MB) are looked
up a row per token from the model's own safetensors file, mapped, as bert_numpy does, so the
session holds the layers' 43 MB, as the numpy encoder does (the bot's RSS still grew ~35 MB, 21
of them the onnxruntime library). Tokenizing, pooling and normalising are bert_numpy's. The test
suite checks the vectors against sentence-transformers (cosine >= 0.9999).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .bert_numpy import QuestionEncoder, _read_safetensors

log = logging.getLogger(__name__)

LAYERS = "layers.onnx"
ABOUT = "model.json"  # which model the export is of, so that another model's is never used


def _source(model_dir: Path) -> dict[str, Any]:
    """What identifies the model files the export was made from."""
    weights = model_dir / "model.safetensors"
    return {"model_dir": str(model_dir.resolve()), "weights_bytes": weights.stat().st_size}


def exported(folder: Path, model_dir: Path) -> Path | None:
    """The export in `folder` when it is of the model in `model_dir`, else None."""
    try:
        about = json.loads((folder / ABOUT).read_text())
    except (OSError, ValueError):
        return None
    try:
        same = about.get("source") == _source(model_dir)
    except OSError:
        return None
    return folder / LAYERS if same and (folder / LAYERS).is_file() else None


def export(st_model: Any, model_dir: Path, folder: Path) -> Path | None:
    """Export the BERT layers of a loaded sentence-transformers model into `folder` (written to
    a temporary name, then renamed: a reader never sees half a file). None, with the reason
    logged, when the model or the installed packages do not allow it (the numpy encoder serves)."""
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

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{LAYERS}.{os.getpid()}"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing, not for users
            torch.onnx.export(
                Layers(bert), (torch.zeros((1, 8, dim)), torch.ones((1, 8), dtype=torch.int64)), str(tmp),
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
    log.info("exported the question encoder to %s", folder / LAYERS)
    return folder / LAYERS


class OnnxBert(QuestionEncoder):
    """Questions through the exported layers; the same tokenizer and pooling as bert_numpy."""

    def __init__(self, model_dir: Path, layers: Path) -> None:
        import onnxruntime as ort

        super().__init__(model_dir)
        tables = _read_safetensors(model_dir / "model.safetensors", copy=lambda name: False)  # all mapped
        self.word = tables.get("bert.embeddings.word_embeddings.weight", tables.get("embeddings.word_embeddings.weight"))
        if self.word is None:
            raise KeyError("embeddings.word_embeddings.weight")
        self.dim = int(self.word.shape[1])
        opts = ort.SessionOptions()
        # one thread, and no spinning: the bot's event loop needs the other core (see blas.py)
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(layers), opts, providers=["CPUExecutionProvider"])

    def _forward(self, ids_list: list[list[int]]) -> np.ndarray:
        lens = np.array([len(ids) for ids in ids_list])
        emb = np.zeros((len(ids_list), int(lens.max()), self.dim), dtype=np.float32)
        mask = np.zeros(emb.shape[:2], dtype=np.int64)
        for i, ids in enumerate(ids_list):
            emb[i, : len(ids)] = self.word[ids]
            mask[i, : len(ids)] = 1
        hidden = self.session.run(None, {"inputs_embeds": emb, "attention_mask": mask})[0]
        return self._finish(np.einsum("btd,bt->bd", hidden, mask.astype(np.float32)) / lens[:, None].astype(np.float32))
