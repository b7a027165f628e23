"""Building an index from the corpus folder, reusing what the previous index already holds.

A rebuild re-reads only the files whose content changed (a renamed file keeps its parsed readouts)
and re-encodes only texts it has no vector for: vectors are looked up by a hash of the text they
encode, so editing one point of one readout costs one encode, not a corpus. The FAISS and BM25
indexes are then rebuilt from those parts (cheap next to encoding) and published atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import env
from .corpus import Corpus, FileState, fingerprint, parse_file, report
from .encoder import Encoder
from .lexical import Lexical, term_ids, tokenize
from .records import Readout
from .store import (FORMAT_VERSION, HNSW_EF_SEARCH, Manifest, PointCache, ReadoutTable, StoredIndex, TableRow, readout_line,
                    write_index)
from .units import LEXICAL_RECIPE, UNITS_RECIPE, context_line, dense_texts, lexical_text
from .vectors import Vectors, faiss_ivf, tune

log = logging.getLogger(__name__)

PROGRESS_FROM = 256  # texts to encode; smaller builds finish before a bar would be read
HNSW_FROM = 100_000  # vectors, default of $READOUT_HNSW_FROM
HNSW_M = 32
# at 2M generated vectors (HNSW32, efSearch 256, 400-row search): recall@10 against exact search
# 0.974 with 80 (built in 675 s), 1.000 with 200 (1745 s), a search 1.0-1.2 ms either way
HNSW_EF_CONSTRUCTION = 200
DEAD_SHARE = 0.2  # share of rows left by removed points past which an update rebuilds the FAISS index


@dataclass
class BuildReport:
    readouts: int
    points: int
    units: int
    encoded: int  # units that needed the model; the rest came from the previous index
    skipped: int
    seconds: float
    path: Path


def text_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def _reuse_parsed(previous: StoredIndex | None) -> dict[str, list[int]]:
    """The previous index's readouts (by number) per file content hash, so renames reuse them too."""
    if previous is None:
        return {}
    by_file: dict[str, list[int]] = {}
    for i, f in enumerate(previous.readout_files):
        by_file.setdefault(f, []).append(i)
    out: dict[str, list[int]] = {}
    for f, ids in by_file.items():
        state = previous.manifest.files.get(f)
        if state:
            out[FileState(*state).sha256] = ids
    return out


def _rename(r: Readout, old_file: str, new_file: str) -> Readout:
    if old_file == new_file:
        return r
    from dataclasses import replace

    return replace(r, doc=new_file + r.doc[len(old_file):])


def index_kind(n_vectors: int, compact: str | None) -> str:
    """Exact search while it is fast enough, an approximate index past that; vectors as float32
    unless compacted.

    Past `HNSW_FROM` vectors an exact scan costs more than a question's encoding, so the index
    becomes an HNSW graph (recall@10 against exact search is measured in benchmarks/latency.py).
    `compact` stores vectors as float16 ("fp16"), 8-bit ("sq8") or 4-bit ("sq4") codes: a half, a
    quarter or an eighth of the memory, at a cost measured with readout eval. A compact index past
    the threshold is an inverted file (IVF) rather than a graph: HNSW's links take 256 bytes a
    vector beside the 384 of an 8-bit code (at 100k points, 327 MB of vectors file against 190 MB
    as IVF), for some recall (0.978 of the exact top 10 with 8-bit codes on real embeddings, HNSW
    1.000: benchmarks/recall.py).
    """
    if n_vectors >= env.count(env.HNSW_FROM, HNSW_FROM):
        return approximate_kind(n_vectors, compact)
    return _STORAGE[compact]


_STORAGE = {None: "Flat", "fp16": "SQfp16", "sq8": "SQ8", "sq4": "SQ4"}


def approximate_kind(n_vectors: int, compact: str | None) -> str:
    """The approximate index `index_kind` makes past the threshold (benchmarks/recall.py measures
    each on real embeddings)."""
    if compact:
        return f"IVF{ivf_lists(n_vectors)},{_STORAGE[compact]}"
    return f"HNSW{HNSW_M},Flat"


def ivf_lists(n_vectors: int) -> int:
    """About 4 sqrt(n) lists, rounded down to a power of two so that an index growing by a few
    readouts keeps its kind (and is added to, not rebuilt)."""
    return 1 << min(int(math.log2(max(1.0, 4 * math.sqrt(n_vectors)))), int(math.log2(max(1, n_vectors))))


def new_faiss_index(kind: str, dim: int):
    import faiss

    index = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    if kind.startswith("HNSW"):
        faiss.downcast_index(index).hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    ivf = faiss_ivf(index)
    if ivf is not None:  # search re-scores candidates from their stored vectors: find them by row
        ivf.make_direct_map()
    return index


def faiss_index_of(kind: str, vectors: np.ndarray):
    """A FAISS index of `kind` holding `vectors`, set up for search as `load_index` sets it up."""
    index = new_faiss_index(kind, vectors.shape[1])
    train(index, vectors)
    index.add(vectors)
    tune(index, HNSW_EF_SEARCH)
    return index


def train(index, vectors: np.ndarray) -> None:
    """Learn what the index needs from the vectors: each dimension's range for 8-bit codes, the
    lists' centres for an IVF. K-means over every vector would take minutes at a million; 64
    vectors a list place the centres as well (FAISS asks for 39)."""
    if index.is_trained:
        return
    ivf = faiss_ivf(index)
    if ivf is not None and len(vectors) > 64 * ivf.nlist:
        rng = np.random.default_rng(0)
        vectors = vectors[np.sort(rng.choice(len(vectors), 64 * ivf.nlist, replace=False))]
    index.train(vectors)


def _grow(index, rows: np.ndarray, at: np.ndarray, fresh: np.ndarray | None, fresh_at: np.ndarray,
          keys: np.ndarray, owners: np.ndarray, old_keys: np.ndarray):
    """Update the previous vectors in place: reused units keep their rows, new ones are added at
    the end (to the delta, see vectors.py), and rows no point uses any more stay, marked -1 in
    `units`. Rebuilding an HNSW graph of 240k vectors took 118 s for a one-readout change. Returns (index, units, unit_keys) per row, or None when more than
    `DEAD_SHARE` of the rows would be dead, so that a full rebuild sheds them."""
    n_old = index.ntotal
    # a row can stand for one unit only; other units with the same text get a copy of it
    if not len(rows) or np.bincount(rows, minlength=n_old).max() <= 1:
        kept = np.ones(len(rows), dtype=bool)  # the usual case, without np.unique's sort
    else:
        _, first = np.unique(rows, return_index=True)
        kept = np.zeros(len(rows), dtype=bool)
        kept[first] = True
    add_at = np.concatenate([fresh_at, at[~kept]])
    n_rows = n_old + len(add_at)
    if n_rows - len(owners) > DEAD_SHARE * n_rows:
        return None
    parts = ([fresh] if fresh is not None else []) + ([index.reconstruct_batch(rows[~kept])] if (~kept).any() else [])
    if parts:
        index.add(np.ascontiguousarray(np.vstack(parts), dtype=np.float32))
    row_of = np.empty(len(owners), dtype=np.int64)
    row_of[at[kept]] = rows[kept]
    row_of[add_at] = n_old + np.arange(len(add_at))
    units = np.full(n_rows, -1, dtype=np.int32)
    units[row_of] = owners
    row_keys = np.concatenate([old_keys, np.zeros(len(add_at), dtype=np.int64)])
    row_keys[row_of] = keys
    return index, units, row_keys


class _Spans:
    """Key -> (start, end) of the previous index's point with that key, made on first use: an
    update whose points are all unchanged readouts' never looks one up."""

    def __init__(self, keys: np.ndarray | None = None, bounds: np.ndarray | None = None) -> None:
        self._keys, self._bounds = keys, bounds
        self._spans: dict[int, tuple[int, int]] | None = None

    def get(self, key: int) -> tuple[int, int] | None:
        if self._spans is None:
            b = self._bounds.tolist() if self._bounds is not None else []
            keys = self._keys.tolist() if self._keys is not None else []
            self._spans = {k: (b[i], b[i + 1]) for i, k in enumerate(keys)}
        return self._spans.get(key)


def build_index(root: Path, states: dict[str, FileState], index_root: Path, encoder: Encoder,
                previous: StoredIndex | None = None, compact: str | None = None) -> BuildReport:
    t0 = time.perf_counter()
    reuse = _reuse_parsed(previous)
    corpus = Corpus(root=root)
    # per readout: a parsed one to write, and/or the number of the previous index's readout it
    # is (None, i: unchanged and in the same file, so its stored line is copied unparsed)
    entries: list[tuple[Readout | None, int | None]] = []
    files: list[str] = []
    for rel, state in states.items():
        ids = reuse.get(state.sha256)
        if ids is not None:
            for i in ids:
                old_file = previous.readout_files[i]
                entries.append((None if old_file == rel else _rename(previous.readouts[i], old_file, rel), i))
            files += [rel] * len(ids)
        else:
            rs, skipped = parse_file(root, rel)
            corpus.skipped += skipped
            entries += [(r, None) for r in rs]
            files += [rel] * len(rs)
    report(corpus, len(entries))

    # vectors read back from a compacted index are approximations: reuse them only into an index
    # at most as precise, so that asking for float32 again re-encodes
    loss = {None: 0, "fp16": 1, "sq8": 2, "sq4": 3}
    reuse_vectors = (previous is not None and previous.manifest.model == encoder.name and previous.vectors.ntotal > 0
                     and loss[previous.manifest.settings.get("compact")] <= loss[compact])
    old_units = _Spans()  # point text key -> its unit rows in the previous index
    old_tokens = _Spans()  # BM25 text key -> its token span in the previous index
    vocab: dict[str, int] = {}
    # tokens made by another BM25 recipe are not this one's, even where the text is the same (a
    # tokenizer change): all are redone, in a vocabulary of their own, while the vectors are kept
    same_lexical = previous is not None and previous.manifest.settings.get("lexical", 1) == LEXICAL_RECIPE
    if previous is not None:
        pc = previous.point_cache
        prev_rows, starts = previous.point_rows
        if reuse_vectors:
            old_units = _Spans(pc.text_keys, starts)
        if same_lexical:
            old_tokens = _Spans(pc.lex_keys, pc.offsets)
            vocab = dict(previous.lexical.vocab)

    unit_keys: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    reused_rows: list[np.ndarray] = []  # previous rows, in the order of reused units
    reused_at: list[np.ndarray] = []  # where those go in the new index
    new_texts: list[str] = []
    new_at: list[int] = []
    text_keys, lex_keys, token_parts, token_lens = [], [], [], []
    n_units = 0
    pid = 0
    # an unchanged readout (same file content, same recipes, same model) brings its points' rows,
    # keys and tokens as slices of the previous index: no per-point work on a large corpus
    same_recipe = reuse_vectors and same_lexical and previous.manifest.settings.get("units") == UNITS_RECIPE
    if same_recipe:
        unit_counts, token_counts = np.diff(starts), np.diff(pc.offsets)
    lines: list[bytes] = []
    table_rows: list[TableRow] = []
    for (r, i), rel in zip(entries, files):
        if i is not None and same_recipe:
            a, b = int(previous.point_starts[i]), int(previous.point_starts[i + 1])
            rows = prev_rows[starts[a]:starts[b]]
            reused_rows.append(rows)
            reused_at.append(np.arange(n_units, n_units + len(rows)))
            unit_keys.append(previous.unit_keys[rows])
            owner.append(np.repeat(np.arange(pid, pid + b - a, dtype=np.int32), unit_counts[a:b]))
            n_units += len(rows)
            text_keys.extend(pc.text_keys[a:b].tolist())
            lex_keys.extend(pc.lex_keys[a:b].tolist())
            token_parts.append(pc.tokens[pc.offsets[a]:pc.offsets[b]])
            token_lens.extend(token_counts[a:b].tolist())
            pid += b - a
            if r is None:
                lines.append(previous.readouts.raw(i))
                table_rows.append(previous.table.row_of(i, rel) or ReadoutTable.row(previous.readouts[i], rel))
            else:
                lines.append(readout_line(r))
                table_rows.append(ReadoutTable.row(r, rel))
            continue
        if r is None:  # unchanged, but indexed by another recipe or model: its points are redone
            r = previous.readouts[i]
        lines.append(readout_line(r))
        row = ReadoutTable.row(r, rel)
        table_rows.append(row)
        countries = " ".join(row.countries)  # the table's countries go into the BM25 text too
        context = context_line(r)
        for p in r.points:
            tk = text_key(f"{context}\x1f{p.text}")  # a point's units depend on both
            span = old_units.get(tk)
            if span is not None:
                rows = prev_rows[span[0]:span[1]]
                keys = previous.unit_keys[rows]
                reused_rows.append(rows)
                reused_at.append(np.arange(n_units, n_units + len(keys)))
            else:
                texts = dense_texts(r, p, context)
                keys = np.array([text_key(t) for t in texts], dtype=np.int64)
                new_texts += texts
                new_at += range(n_units, n_units + len(texts))
            unit_keys.append(keys)
            owner.append(np.full(len(keys), pid, dtype=np.int32))
            n_units += len(keys)
            lt = lexical_text(r, p, countries)
            lk = text_key(lt)
            tspan = old_tokens.get(lk)
            if tspan is not None:
                token_parts.append(previous.point_cache.tokens[tspan[0]:tspan[1]])
            else:
                token_parts.append(term_ids(tokenize(lt), vocab))
            token_lens.append(len(token_parts[-1]))
            text_keys.append(tk)
            lex_keys.append(lk)
            pid += 1

    # units of changed points whose text another (reused) unit already has need no encoding either
    new_keys = np.array([text_key(t) for t in new_texts], dtype=np.int64)
    known = np.zeros(len(new_keys), dtype=bool)
    if reuse_vectors and len(new_keys):
        by_key = np.argsort(previous.unit_keys, kind="stable")
        sorted_keys = previous.unit_keys[by_key]
        at_key = np.minimum(np.searchsorted(sorted_keys, new_keys), max(len(sorted_keys) - 1, 0))
        known = sorted_keys[at_key] == new_keys if len(sorted_keys) else known
        for i in np.flatnonzero(known):
            reused_rows.append(by_key[at_key[i]:at_key[i] + 1])
            reused_at.append(np.array([new_at[i]]))
    todo = [i for i in range(len(new_keys)) if not known[i]]
    show = len(todo) >= PROGRESS_FROM and sys.stderr.isatty()
    fresh = encoder.encode([new_texts[i] for i in todo], progress=show) if todo else None
    old = previous.vectors if previous is not None else None
    dim = fresh.shape[1] if fresh is not None else (old.d if old is not None else encoder.dim)
    fresh_at = np.array([new_at[i] for i in todo], dtype=np.int64)
    rows = np.concatenate(reused_rows) if reused_rows else np.zeros(0, np.int64)
    at = np.concatenate(reused_at) if reused_at else np.zeros(0, np.int64)
    keys = np.concatenate(unit_keys) if unit_keys else np.zeros(0, np.int64)
    owners = np.concatenate(owner) if owner else np.zeros(0, np.int32)
    offsets = np.concatenate([[0], np.cumsum(token_lens)]).astype(np.int64)
    tokens = np.concatenate(token_parts).astype(np.int32) if token_parts else np.zeros(0, np.int32)
    cache = PointCache(np.asarray(text_keys, dtype=np.int64), np.asarray(lex_keys, dtype=np.int64), tokens, offsets)
    kind = index_kind(n_units, compact)
    grown = None
    if reuse_vectors and previous.manifest.settings.get("faiss") == kind:
        grown = _grow(old, rows, at, fresh, fresh_at, keys, owners, previous.unit_keys)
    if grown is not None:  # the previous FAISS index with rows added: no graph to rebuild
        index, units, keys = grown
    else:
        vectors = np.empty((n_units, dim), dtype=np.float32)
        if fresh is not None:
            vectors[fresh_at] = fresh
        if len(rows):
            vectors[at] = old.reconstruct_n(0, old.ntotal)[rows] if len(rows) > old.ntotal // 2 else old.reconstruct_batch(rows)
        index = Vectors(faiss_index_of(kind, vectors))
        units = owners
    manifest = Manifest(
        format=FORMAT_VERSION,
        model=encoder.name,
        dim=dim,
        corpus=str(root),
        fingerprint=fingerprint(states),
        readouts=len(entries),
        points=pid,
        units=n_units,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        settings={"faiss": kind, "compact": compact, "units": UNITS_RECIPE, "lexical": LEXICAL_RECIPE},
        files={rel: [s.size, s.mtime_ns, s.sha256] for rel, s in states.items()},
    )
    path = write_index(index_root, manifest, lines, ReadoutTable.of(table_rows), units, keys, index,
                       Lexical.from_tokens(tokens, offsets, vocab), cache)
    return BuildReport(len(entries), pid, n_units, len(todo), len(corpus.skipped), time.perf_counter() - t0, path)
