"""The index folder on disk: written whole into a new version folder, then published by swapping
one symlink, so a reader sees either the old index or the new one and never a half-written one.

    INDEX/
      current -> v-20261126T031900-1234     (the published version)
      v-20261126T031900-1234/
        manifest.json     model, dimension, format, corpus fingerprint and files, counts
        readouts.json     readouts with their points (what answers cite) and their files
        units.npy         for each vector, the point it belongs to (-1: left by a removed point)
        unit_keys.npy     for each vector, a hash of its text: a rebuild re-encodes only new texts
        points.npz        per point: hashes of its text and BM25 text, and its token ids, which a
                          rebuild reuses for unchanged points
        vectors.faiss     the FAISS index of unit vectors
        lexical/          the BM25 index of points
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .dates import coerce_date
from .lexical import Lexical
from .records import Participant, Point, Readout, readout_to_dict

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
HNSW_EF_SEARCH = 256  # recall@10 against exact search: benchmarks/latency.py
CURRENT = "current"


class IndexError_(Exception):
    """An index folder that cannot be used; the message says what to do."""


class OtherFormat(IndexError_):
    """An index of ours written by another version: rebuilt, not refused."""


@dataclass
class Manifest:
    format: int
    model: str
    dim: int
    corpus: str
    fingerprint: str
    readouts: int
    points: int
    units: int
    created: str
    settings: dict[str, Any]
    files: dict[str, list[Any]]  # relative path -> [size, mtime_ns, sha256]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Manifest":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass
class StoredIndex:
    """Everything search needs, loaded into memory."""

    path: Path
    manifest: Manifest
    readouts: list[Readout]
    readout_files: list[str]  # the corpus file each readout comes from
    points: list[tuple[int, int]]  # global point id -> (readout index, point index)
    units: np.ndarray  # unit row -> global point id
    unit_keys: np.ndarray  # unit row -> hash of the unit's text
    point_cache: PointCache
    vectors: Any  # faiss.Index
    lexical: Lexical

    def point(self, pid: int) -> tuple[Readout, Point]:
        ri, pi = self.points[pid]
        r = self.readouts[ri]
        return r, r.points[pi]

    @cached_property
    def point_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The vector rows of each point: rows[starts[p]:starts[p + 1]]. A full build stores rows
        point by point; an update appends rows and leaves those of removed points in the FAISS
        index (an HNSW graph cannot drop them) with -1 in `units`, so rows need not be in order."""
        order = np.argsort(self.units, kind="stable")
        order = order[self.units[order] >= 0]
        starts = np.searchsorted(self.units[order], np.arange(len(self.points) + 1))
        return order.astype(np.int64), starts.astype(np.int64)


@dataclass
class PointCache:
    """What a rebuild can reuse of each point: `text_keys` (hash of the point's text: its units and
    their vectors), `lex_keys` (hash of its BM25 text) and its token ids
    (tokens[offsets[i]:offsets[i+1]], in the vocabulary of the index's lexical part)."""

    text_keys: np.ndarray
    lex_keys: np.ndarray
    tokens: np.ndarray
    offsets: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(path, text_keys=self.text_keys, lex_keys=self.lex_keys, tokens=self.tokens, offsets=self.offsets)

    @classmethod
    def load(cls, path: Path) -> "PointCache":
        with np.load(path) as z:
            return cls(z["text_keys"], z["lex_keys"], z["tokens"], z["offsets"])


def read_manifest(root: Path) -> Manifest | None:
    """The published manifest, or None when there is no index yet."""
    f = root / CURRENT / "manifest.json"
    if not f.exists():
        return None
    try:
        d = json.loads(f.read_text())
        if isinstance(d, dict) and "fingerprint" in d and d.get("format") != FORMAT_VERSION:
            raise OtherFormat(f"{root} holds an index of format {d.get('format')}, this readout reads {FORMAT_VERSION}")
        return Manifest.from_dict(d)
    except (ValueError, KeyError, TypeError) as e:
        raise IndexError_(f"{root} holds an index this version cannot read ({e}); rebuild it with: readout index --index {root}") from None


def _readout_from_dict(d: dict[str, Any]) -> Readout:
    return Readout(
        doc=d["doc"],
        title=d["title"],
        date=coerce_date(d["date"]),
        source=d.get("source"),
        participants=[Participant(**p) for p in d.get("participants", [])],
        preamble=d.get("preamble", ""),
        points=[Point(**p) for p in d["points"]],
    )


def write_index(root: Path, manifest: Manifest, readouts: list[Readout], readout_files: list[str],
                units: np.ndarray, unit_keys: np.ndarray, vectors: Any, lexical: Lexical, cache: PointCache) -> Path:
    import faiss

    root.mkdir(parents=True, exist_ok=True)
    _check_foreign(root)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    final = root / f"v-{stamp}-{os.getpid()}"
    tmp = root / f".tmp-{final.name}"
    tmp.mkdir()
    try:
        (tmp / "readouts.json").write_text(json.dumps(
            [{"file": f, **readout_to_dict(r)} for r, f in zip(readouts, readout_files)], ensure_ascii=False))
        np.save(tmp / "units.npy", units.astype(np.int32))
        np.save(tmp / "unit_keys.npy", unit_keys.astype(np.int64))
        cache.save(tmp / "points.npz")
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        lexical.save(tmp / "lexical")
        # the manifest goes last: a version folder with a manifest is complete
        (tmp / "manifest.json").write_text(json.dumps(manifest.__dict__, indent=2))
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        tmp.rename(final)
        link = root / f".{CURRENT}-{os.getpid()}"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(final.name)
        os.replace(link, root / CURRENT)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep=final.name)
    return final


def _check_foreign(root: Path) -> None:
    """Refuse to write into a folder that holds something other than readout indexes."""
    ours = {CURRENT}
    for entry in root.iterdir():
        if entry.name in ours or entry.name.startswith(("v-", ".tmp-v-", f".{CURRENT}-", ".lock")):
            continue
        raise IndexError_(
            f"{root} is not a readout index folder (it holds {entry.name}); give --index an empty or new folder"
        )


def _prune(root: Path, keep: str, grace_s: float = 60.0) -> None:
    """Remove older versions and leftovers of killed builds; a version replaced less than a
    minute ago stays, for readers that resolved `current` just before the swap."""
    now = time.time()
    for entry in root.iterdir():
        if entry.name == keep or entry.name == CURRENT:
            continue
        if entry.name.startswith(("v-", ".tmp-v-")) and now - entry.stat().st_mtime > grace_s:
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".tmp-v-") and not _pid_alive(entry.name.rsplit("-", 1)[-1]):
            shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True


def load_index(root: Path) -> StoredIndex:
    import faiss

    manifest = read_manifest(root)
    if manifest is None:
        raise IndexError_(f"no index in {root}; build one with: readout index --index {root}")
    path = (root / CURRENT).resolve()
    try:
        raw = json.loads((path / "readouts.json").read_text())
        readouts = [_readout_from_dict(d) for d in raw]
        files = [d["file"] for d in raw]
        units = np.load(path / "units.npy")
        unit_keys = np.load(path / "unit_keys.npy")
        cache = PointCache.load(path / "points.npz")
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        if "HNSW" in manifest.settings.get("faiss", ""):
            faiss.downcast_index(vectors).hnsw.efSearch = HNSW_EF_SEARCH
        lexical = Lexical.load(path / "lexical")
    except Exception as e:  # a damaged or foreign folder: say so in one line
        raise IndexError_(f"the index in {root} is damaged ({type(e).__name__}: {str(e)[:120]}); rebuild it with: readout index --index {root}") from None
    points = [(ri, pi) for ri, r in enumerate(readouts) for pi in range(len(r.points))]
    if vectors.ntotal != len(units) or vectors.d != manifest.dim:
        raise IndexError_(f"the index in {root} is inconsistent; rebuild it with: readout index --index {root}")
    return StoredIndex(path, manifest, readouts, files, points, units, unit_keys, cache, vectors, lexical)
