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

import itertools
import json
import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .blas import blas_threads

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def _read_safetensors(path: Path, copy: Callable[[str], bool]) -> dict[str, np.ndarray]:
    """Tensors for which `copy(name)` is false are read-only views of a memory map: only the pages
    a question touches are read (of 30,522 word-embedding rows, a question needs a dozen). The
    others are read into memory of their own, so that nothing keeps their file pages mapped."""
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
            count = (end - start) // np.dtype(dtype).itemsize
            if copy(name):
                f.seek(base + start)
                out[name] = np.fromfile(f, dtype=dtype, count=count).reshape(info["shape"])
            else:
                out[name] = np.frombuffer(mm, dtype=dtype, count=count, offset=base + start).reshape(info["shape"])
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
    x = x - x.mean(-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var *= 1.0 / x.shape[-1]
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= w
    x += b
    return x


def _linear(x: np.ndarray, w: np.ndarray, b: np.ndarray, residual: np.ndarray | None = None) -> np.ndarray:
    """x @ w + b (+ residual), adding in place into the product's fresh array."""
    y = x @ w
    y += b
    if residual is not None:
        y += residual
    return y


@dataclass
class _Layer:
    """One encoder layer's weights, laid out for `x @ w`: transposed once at load into contiguous
    (in, out) matrices, which BLAS multiplies faster than the stored (out, in) ones read through .T,
    and query/key/value side by side so that one product makes all three."""

    qkv_w: np.ndarray
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    norm1_w: np.ndarray
    norm1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    norm2_w: np.ndarray
    norm2_b: np.ndarray


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


class QuestionEncoder:
    """What the encoders without torch share: the model's tokenizer and settings as
    sentence-transformers reads them, and batching of similar lengths; subclasses give `_forward`
    (token ids of a batch -> pooled vectors) and `dim`."""

    dim: int

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        st_config = {}
        if (model_dir / "sentence_bert_config.json").exists():
            st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        modules = json.loads((model_dir / "modules.json").read_text())
        self.normalize = modules[-1]["type"].endswith("Normalize")
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(self.max_len)
        self.tok.no_padding()

    def encode(self, texts: list[str], batch_size: int = 32, threads: int = 1) -> np.ndarray:
        """`threads`: BLAS threads; one for questions (see blas.py), more for a build's texts."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encs = self.tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))  # batch similar lengths
        with blas_threads(threads):
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                out[idx] = self._forward([encs[i].ids for i in idx])
        return out

    def _forward(self, ids_list: list[list[int]]) -> np.ndarray:
        raise NotImplementedError

    def _finish(self, pooled: np.ndarray) -> np.ndarray:
        if self.normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)


class NumpyBert(QuestionEncoder):
    def __init__(self, model_dir: Path) -> None:
        super().__init__(model_dir)
        self.config = json.loads((model_dir / "config.json").read_text())
        # the encoder layers are used whole by every question: read them into memory and lay them
        # out for the products; the embedding tables are looked up a row per token: keep them mapped
        w = _read_safetensors(model_dir / "model.safetensors", copy=lambda name: "embeddings." not in name)
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
        w = {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}
        self.heads = int(self.config["num_attention_heads"])
        self.eps = float(self.config.get("layer_norm_eps", 1e-12))
        self.dim = int(self.config["hidden_size"])
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0].astype(np.float32)
        self.norm_w = w["embeddings.LayerNorm.weight"].astype(np.float32)
        self.norm_b = w["embeddings.LayerNorm.bias"].astype(np.float32)

        # each stored matrix is let go once laid out, so that loading never holds the weights twice
        def t(name: str) -> np.ndarray:
            return np.ascontiguousarray(w.pop(f"{name}.weight").T, dtype=np.float32)

        def b(name: str, part: str = "bias") -> np.ndarray:
            return np.asarray(w.pop(f"{name}.{part}"), dtype=np.float32)

        self.layers: list[_Layer] = []
        for i in range(int(self.config["num_hidden_layers"])):
            p = f"encoder.layer.{i}"
            qkv = [f"{p}.attention.self.{n}" for n in ("query", "key", "value")]
            scale = 1.0 / math.sqrt(self.dim // self.heads)  # folded into the query weights
            self.layers.append(_Layer(
                qkv_w=np.ascontiguousarray(np.concatenate([t(qkv[0]) * scale, t(qkv[1]), t(qkv[2])], axis=1)),
                qkv_b=np.concatenate([b(qkv[0]) * scale, b(qkv[1]), b(qkv[2])]),
                out_w=t(f"{p}.attention.output.dense"), out_b=b(f"{p}.attention.output.dense"),
                norm1_w=b(f"{p}.attention.output.LayerNorm", "weight"), norm1_b=b(f"{p}.attention.output.LayerNorm"),
                up_w=t(f"{p}.intermediate.dense"), up_b=b(f"{p}.intermediate.dense"),
                down_w=t(f"{p}.output.dense"), down_b=b(f"{p}.output.dense"),
                norm2_w=b(f"{p}.output.LayerNorm", "weight"), norm2_b=b(f"{p}.output.LayerNorm"),
            ))

    def _forward(self, ids_list: list[list[int]]) -> np.ndarray:
        """The texts' tokens packed into one (tokens, hidden) matrix with no padding: every layer
        but attention works token by token, so a batch costs one product per weight matrix, over
        the tokens there are (a padded (batch, length, hidden) array cost a product per text and
        the padding's arithmetic: twice the time for a batch of questions)."""
        lens = np.fromiter(map(len, ids_list), dtype=np.int64, count=len(ids_list))
        starts = np.zeros_like(lens)
        np.cumsum(lens[:-1], out=starts[1:])
        ids = np.fromiter(itertools.chain.from_iterable(ids_list), dtype=np.int64, count=int(lens.sum()))
        pos = np.arange(len(ids)) - np.repeat(starts, lens)
        x = self.word[ids].astype(np.float32)  # a fresh array, float32 whatever the file stores
        x += self.position[pos]
        x += self.token_type
        x = _layer_norm(x, self.norm_w, self.norm_b, self.eps)
        attend = self._attention_one if len(lens) == 1 else self._attention_padded(lens, pos)
        for layer in self.layers:
            ctx = attend(_linear(x, layer.qkv_w, layer.qkv_b))
            x = _layer_norm(_linear(ctx, layer.out_w, layer.out_b, x), layer.norm1_w, layer.norm1_b, self.eps)
            h = _gelu(_linear(x, layer.up_w, layer.up_b))
            x = _layer_norm(_linear(h, layer.down_w, layer.down_b, x), layer.norm2_w, layer.norm2_b, self.eps)
        return self._finish(np.add.reduceat(x, starts, axis=0) / lens[:, None].astype(np.float32))

    def _heads(self, m: np.ndarray) -> np.ndarray:
        """(..., length, hidden) -> (..., heads, length, head size)."""
        *lead, n, D = m.shape
        return m.reshape(*lead, n, self.heads, D // self.heads).swapaxes(-2, -3)

    def _attention_one(self, qkv: np.ndarray) -> np.ndarray:
        D = self.dim
        q, k, v = (self._heads(qkv[:, i * D : (i + 1) * D]) for i in range(3))
        scores = q @ k.swapaxes(-1, -2)
        return self._context(scores, v).swapaxes(0, 1).reshape(-1, D)

    def _attention_padded(self, lens: np.ndarray, pos: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """Attention for several texts: each text attends to its own tokens only, so the packed
        rows are laid out (texts, longest, ...) with a mask over the padding, for this step alone."""
        B, L, D = len(lens), int(lens.max()), self.dim
        rows = np.repeat(np.arange(B), lens) * L + pos
        mask = np.full((B * L,), np.finfo(np.float32).min, dtype=np.float32)
        mask[rows] = 0.0
        mask = mask.reshape(B, 1, 1, L)

        def attend(qkv: np.ndarray) -> np.ndarray:
            padded = np.zeros((B * L, 3 * D), dtype=np.float32)
            padded[rows] = qkv
            padded = padded.reshape(B, L, 3 * D)
            q, k, v = (self._heads(padded[..., i * D : (i + 1) * D]) for i in range(3))
            scores = q @ k.swapaxes(-1, -2)
            scores += mask
            ctx = self._context(scores, v)  # (B, heads, L, head size)
            return ctx.swapaxes(1, 2).reshape(B * L, D)[rows]

        return attend

    @staticmethod
    def _context(scores: np.ndarray, v: np.ndarray) -> np.ndarray:
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        return scores @ v
