"""Encoding questions without torch: a BERT forward pass in numpy, over the model's own files.

Importing torch and sentence-transformers takes seconds and holds ~500 MB; a question is a dozen
word pieces, which numpy runs through a 6-layer MiniLM in milliseconds. So `readout ask` and the bot
encode questions here, reading the same `model.safetensors` and `tokenizer.json` that
sentence-transformers reads (no export step, nothing extra to keep in sync), and fall back to
sentence-transformers for models this does not cover. Indexing, which encodes thousands of texts,
stays on sentence-transformers.

Covered: sentence-transformers models made of a BERT `Transformer` (absolute positions, GELU), mean
pooling, and optional `Normalize`, stored as float32 safetensors, such as all-MiniLM-L6-v2. The test
suite checks the vectors against sentence-transformers (cosine >= 0.9999).
"""

from __future__ import annotations

import json
import math
import mmap
import struct
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors as read-only views of a memory map: only the pages a question touches are read
    (of 30,522 word-embedding rows, a question needs a dozen)."""
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (n,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"tensor {name} has dtype {info['dtype']}")
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(mm, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize, offset=base + start).reshape(info["shape"])
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1e-7 (Abramowitz & Stegun 7.1.26), enough for GELU to match torch's to float noise.
    In place where it can: it was a fifth of a question's encoding with a temporary per step."""
    a = np.abs(x)
    t = a * 0.3275911
    t += 1.0
    np.reciprocal(t, out=t)
    y = t * 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        y += c
        y *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y *= a
    np.subtract(1.0, y, out=y)
    return np.copysign(y, x, out=y)


def _gelu(x: np.ndarray) -> np.ndarray:
    e = _erf(x * (1.0 / math.sqrt(2.0)))
    e += 1.0
    e *= x
    e *= 0.5
    return e


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


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
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and (model_dir / "model.safetensors").exists()
            and (model_dir / "tokenizer.json").exists()
        )
    except (OSError, ValueError, KeyError, IndexError):
        return False


class NumpyBert:
    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.config = json.loads((model_dir / "config.json").read_text())
        st_config = {}
        if (model_dir / "sentence_bert_config.json").exists():
            st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_len = int(st_config.get("max_seq_length") or self.config.get("max_position_embeddings", 512))
        modules = json.loads((model_dir / "modules.json").read_text())
        self.normalize = modules[-1]["type"].endswith("Normalize")
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(self.max_len)
        self.tok.no_padding()
        w = _read_safetensors(model_dir / "model.safetensors")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
        self.w = {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}
        self.heads = int(self.config["num_attention_heads"])
        self.layers = int(self.config["num_hidden_layers"])
        self.eps = float(self.config.get("layer_norm_eps", 1e-12))
        self.dim = int(self.config["hidden_size"])

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def encode(self, texts: list[str], batch_size: int = 32, threads: int = 1) -> np.ndarray:
        """`threads`: BLAS threads; one for questions (see below), more for a build's texts."""
        from threadpoolctl import threadpool_limits

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encs = self.tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))  # batch similar lengths
        # matrices this small run fastest on one BLAS thread; more threads spin and wait, and on a
        # busy machine (the bot's event loop, a build next door) take a hundred times longer
        with threadpool_limits(limits=threads, user_api="blas"):
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                out[idx] = self._forward([encs[i].ids for i in idx])
        return out

    def _forward(self, ids_list: list[list[int]]) -> np.ndarray:
        w, H = self.w, self.heads
        B, L = len(ids_list), max(len(i) for i in ids_list)
        ids = np.zeros((B, L), dtype=np.int64)
        mask = np.zeros((B, L), dtype=np.float32)
        for b, seq in enumerate(ids_list):
            ids[b, : len(seq)] = seq
            mask[b, : len(seq)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:L][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        ).astype(np.float32)
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        D = x.shape[-1]
        d = D // H
        add_mask = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = self._dense(x, f"{p}.attention.self.query").reshape(B, L, H, d).transpose(0, 2, 1, 3)
            k = self._dense(x, f"{p}.attention.self.key").reshape(B, L, H, d).transpose(0, 2, 3, 1)
            v = self._dense(x, f"{p}.attention.self.value").reshape(B, L, H, d).transpose(0, 2, 1, 3)
            scores = (q @ k) / math.sqrt(d) + add_mask
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, L, D)
            x = _layer_norm(self._dense(ctx, f"{p}.attention.output.dense") + x,
                            w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"], self.eps)
            h = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = _layer_norm(self._dense(h, f"{p}.output.dense") + x,
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        if self.normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)
