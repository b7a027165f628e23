"""The FAISS side of an index: a base index, and a small exact `delta` of the rows added since.

An update used to write the whole vectors file again (1 s for 300k vectors, and 1 s more to fsync
it) after reading it whole into memory to add a few rows. Now the new rows go to a flat delta,
the unchanged base file is hard-linked into the new version folder, and readers map it rather
than read it. Once the delta passes `DELTA_MAX` rows it is folded into the base: the base is read
into memory, the rows are added (to the HNSW graph, when it is one) and it is written anew.

Rows are numbered across both: base rows first, then delta rows. Search asks both and keeps the
best; the delta is searched exactly.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import env

log = logging.getLogger(__name__)

DELTA_MAX = 20000  # rows, default of $READOUT_DELTA_MAX; an exact scan of 20k takes ~3 ms
BASE, DELTA = "vectors.faiss", "delta.faiss"


class Vectors:
    def __init__(self, base: Any, delta: Any | None = None, base_file: Path | None = None) -> None:
        import faiss

        self.base = base
        self.delta = delta if delta is not None else faiss.IndexFlatIP(base.d)
        self.base_file = base_file  # where the base came from, while it is unchanged (to link it)
        self._flat: np.ndarray | None = None
        self._flat_of: Any = None  # the base `_flat` views (FAISS owns the memory: keep them together)

    @property
    def ntotal(self) -> int:
        return self.base.ntotal + self.delta.ntotal

    @property
    def d(self) -> int:
        return self.base.d

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nb = self.base.ntotal
        if not self.delta.ntotal:
            return self.base.search(x, k)
        D2, I2 = self.delta.search(x, min(k, self.delta.ntotal))
        I2 = np.where(I2 >= 0, I2 + nb, -1)
        if not nb:
            return D2, I2
        D1, I1 = self.base.search(x, k)
        D, I = np.hstack([D1, D2]), np.hstack([I1, I2])
        D = np.where(I >= 0, D, -np.inf)
        order = np.argsort(-D, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        nb = self.base.ntotal
        flat = self._flat_base()
        if flat is not None and not self.delta.ntotal:
            return flat[rows]
        out = np.empty((len(rows), self.d), dtype=np.float32)
        in_base = rows < nb
        if in_base.any():
            out[in_base] = flat[rows[in_base]] if flat is not None else self.base.reconstruct_batch(rows[in_base])
        if (~in_base).any():
            out[~in_base] = self.delta.reconstruct_batch(rows[~in_base] - nb)
        return out

    def _flat_base(self) -> np.ndarray | None:
        """The base's float32 vectors as a (rows, d) array over FAISS's own memory (or its file's
        map), when it keeps them plainly (Flat, HNSW over Flat): search re-scores a thousand rows a
        question, which FAISS's reconstruct_batch copied one by one (1-2 ms at a million points).
        None for coded vectors (fp16, 8-bit, IVF lists)."""
        if self._flat_of is not self.base:
            import faiss

            inner = faiss.downcast_index(self.base)
            store = faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) else inner
            view = None
            if type(store) in (faiss.IndexFlatIP, faiss.IndexFlatL2, faiss.IndexFlat) and store.ntotal:
                view = faiss.rev_swig_ptr(store.get_xb(), store.ntotal * store.d).reshape(store.ntotal, store.d)
            self._flat, self._flat_of = view, self.base
        return self._flat

    def reconstruct_n(self, i0: int, n: int) -> np.ndarray:
        return self.reconstruct_batch(np.arange(i0, i0 + n))

    def add(self, x: np.ndarray) -> None:
        self.delta.add(np.ascontiguousarray(x, dtype=np.float32))
        if self.delta.ntotal > env.count(env.DELTA_MAX, DELTA_MAX):
            self.fold()

    def fold(self) -> None:
        """Move the delta's rows into the base (which then has to be written whole)."""
        import faiss

        base = faiss.read_index(str(self.base_file)) if self.base_file is not None else self.base
        log.info("folding %d new vectors into the index of %d", self.delta.ntotal, base.ntotal)
        base.add(self.delta.reconstruct_n(0, self.delta.ntotal))
        tune(base, None)
        self.base, self.base_file = base, None
        self.delta = faiss.IndexFlatIP(base.d)

    def save(self, folder: Path) -> None:
        import faiss

        if self.base_file is not None and self.base_file.exists():
            try:
                os.link(self.base_file, folder / BASE)
            except OSError:  # a file system without hard links
                shutil.copyfile(self.base_file, folder / BASE)
        else:
            faiss.write_index(self.base, str(folder / BASE))
        if self.delta.ntotal:
            faiss.write_index(self.delta, str(folder / DELTA))

    @classmethod
    def load(cls, folder: Path, ef_search: int | None = None) -> "Vectors":
        """Map the base (no read, pages shared with the page cache; a mapped index must never be
        added to, which is why `add` goes to the delta and `fold` reads the base anew) and read
        the small delta. FAISS maps flat codes with IO_FLAG_MMAP_IFC and an IVF's lists with
        IO_FLAG_MMAP; neither flag reads the other kind, so the file's own header decides."""
        import faiss

        with open(folder / BASE, "rb") as f:
            head = f.read(4)
        flag = faiss.IO_FLAG_MMAP if head.startswith(b"Iw") else faiss.IO_FLAG_MMAP_IFC  # "Iw..": an IVF
        base = faiss.read_index(str(folder / BASE), flag)
        tune(base, ef_search)
        delta = faiss.read_index(str(folder / DELTA)) if (folder / DELTA).exists() else None
        return cls(base, delta, folder / BASE)


def faiss_ivf(index: Any):
    """The inverted file inside `index`, or None when it is not one."""
    import faiss

    return faiss.try_extract_index_ivf(index)


def ivf_probes(nlist: int) -> int:
    """Lists a question visits: an eighth of them. Sentence embeddings are not clustered the way
    generated test vectors are: on SciFact's 63k real vectors (benchmarks/recall.py) an eighth
    finds 97.8% of the exact top 10 with 8-bit codes, 1/32 only 92.7% (generated vectors: 100% from
    1/128). At 500k vectors in 2048 lists, 256 probes take ~5 ms."""
    return min(nlist, max(16, nlist // 8))


def tune(index: Any, ef_search: int | None) -> None:
    """Search-time settings, which FAISS does not keep in the file."""
    import faiss

    inner = faiss.downcast_index(index)
    if ef_search is not None and hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = ef_search
    ivf = faiss_ivf(index)
    if ivf is not None:
        ivf.nprobe = ivf_probes(ivf.nlist)
