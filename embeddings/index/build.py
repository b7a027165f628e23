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
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from embeddings import env
from embeddings.readouts.corpus import Corpus, FileState, fingerprint, parse_file, report
from embeddings.model.encoder import Encoder
from embeddings.index.lexical import Lexical, term_ids, tokenize
from embeddings.records import Point, Readout
from embeddings.index.store import (FORMAT_VERSION, HNSW_EF_SEARCH, Manifest, PointCache, ReadoutTable, StoredIndex, TABLE_RECIPE, TableRow, readout_line,
                    write_index)
from embeddings.index.units import LEXICAL_RECIPE, UNITS_RECIPE, context_line, dense_texts, lexical_text
from embeddings.index.vectors import Vectors, faiss_ivf, tune

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
    points: int  # preambles included
    units: int
    encoded: int  # units that needed the model; the rest came from the previous index
    skipped: int
    seconds: float
    path: Path
    preambles: int = 0  # of `points`, the readouts' opening paragraphs (readout list counts the rest)


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


# A build, step by step: read_readouts (parse changed files, reuse the rest) -> lending (what the
# previous index can lend) -> plan_units (each point's units: rows reused, texts new) -> encode_new
# -> assemble_vectors (grow the previous FAISS index, or make one) -> write_and_publish.


class Entry(NamedTuple):
    """A readout of the corpus: parsed, taken from the previous index, or both."""

    readout: Readout | None  # None: unchanged and in the same file, its stored line is copied unparsed
    previous: int | None  # its number in the previous index, if that index holds it
    file: str


def read_readouts(root: Path, states: dict[str, FileState], previous: StoredIndex | None) -> tuple[list[Entry], int]:
    """The corpus's readouts in file order, and how many files were skipped. Only files whose
    content the previous index does not hold are parsed: a renamed file's readouts are reused,
    renamed. Refuses (CorpusError) a corpus with no readouts."""
    reuse = _reuse_parsed(previous)
    corpus = Corpus(root=root)
    entries: list[Entry] = []
    for rel, state in states.items():
        ids = reuse.get(state.sha256)
        if ids is not None:
            for i in ids:
                old_file = previous.readout_files[i]
                entries.append(Entry(None if old_file == rel else _rename(previous.readouts[i], old_file, rel), i, rel))
        else:
            rs, skipped = parse_file(root, rel)
            corpus.skipped += skipped
            entries += [Entry(r, None, rel) for r in rs]
    report(corpus, len(entries))
    return entries, len(corpus.skipped)


_LOSS = {None: 0, "fp16": 1, "sq8": 2, "sq4": 3}  # how far a storage is from float32


@dataclass
class Lender:
    """What the previous index can lend this build. Its vectors only if they are this model's and
    at least as precise as asked (vectors read back from a compacted index are approximations, so
    asking for float32 again re-encodes); its tokens only if made by this BM25 recipe (another
    recipe may tokenize the same text otherwise: all are redone, in a vocabulary of their own)."""

    index: StoredIndex | None = None
    vectors: bool = False
    tokens: bool = False
    # an unchanged readout brings its points' rows, keys and tokens as slices of the previous
    # index (vectors, tokens and unit recipe all current): no per-point work on a large corpus
    readouts: bool = False
    units: _Spans = field(default_factory=_Spans)  # point text key -> its unit rows (in rows_by_point's order)
    token_spans: _Spans = field(default_factory=_Spans)  # BM25 text key -> its token span


def lending(previous: StoredIndex | None, model: str, compact: str | None) -> Lender:
    if previous is None:
        return Lender()
    settings = previous.manifest.settings
    vectors = (previous.manifest.model == model and previous.vectors.ntotal > 0
               and _LOSS[settings.get("compact")] <= _LOSS[compact])
    tokens = settings.get("lexical", 1) == LEXICAL_RECIPE
    pc = previous.point_cache
    return Lender(previous, vectors, tokens, vectors and tokens and settings.get("units") == UNITS_RECIPE,
                  _Spans(pc.text_keys, previous.point_rows[1]) if vectors else _Spans(),
                  _Spans(pc.lex_keys, pc.offsets) if tokens else _Spans())


@dataclass
class Plan:
    """What the new index holds, before any encoding: its readouts' stored lines and table rows,
    each unit's text key and point, which units take a previous vector row and which texts are new."""

    lines: list[bytes]
    table_rows: list[TableRow]
    n_points: int
    unit_keys: np.ndarray  # per unit: hash of its text
    owners: np.ndarray  # per unit: its point id
    reused_rows: np.ndarray  # rows of the previous index's vectors, for the units at reused_at
    reused_at: np.ndarray
    new_texts: list[str]  # texts to encode, for the units at new_at
    new_at: np.ndarray
    cache: PointCache  # per point: text and BM25 keys, tokens
    vocab: dict[str, int]

    @property
    def n_units(self) -> int:
        return len(self.unit_keys)


class _Planner:
    """Collects a plan point by point (plan_units)."""

    def __init__(self, lend: Lender) -> None:
        self.lend, self.old = lend, lend.index
        self.vocab: dict[str, int] = dict(self.old.lexical.vocab) if lend.tokens else {}
        self.unit_keys: list[np.ndarray] = []
        self.owners: list[np.ndarray] = []
        self.reused_rows: list[np.ndarray] = []
        self.reused_at: list[np.ndarray] = []
        self.new_texts: list[str] = []
        self.new_keys: list[int] = []
        self.new_at: list[int] = []
        self.text_keys: list[int] = []
        self.lex_keys: list[int] = []
        self.token_parts: list[np.ndarray] = []
        self.token_lens: list[int] = []
        self.n_units = self.n_points = 0

    def copy_readout(self, i: int) -> None:
        """The previous index's readout i's points, as slices of it."""
        pc, (rows_of, starts) = self.old.point_cache, self.old.point_rows
        a, b = int(self.old.point_starts[i]), int(self.old.point_starts[i + 1])
        rows = rows_of[starts[a]:starts[b]]
        self._reuse(rows)
        self.unit_keys.append(self.old.unit_keys[rows])
        self.owners.append(np.repeat(np.arange(self.n_points, self.n_points + b - a, dtype=np.int32), np.diff(starts[a:b + 1])))
        self.n_units += len(rows)
        self.text_keys.extend(pc.text_keys[a:b].tolist())
        self.lex_keys.extend(pc.lex_keys[a:b].tolist())
        self.token_parts.append(pc.tokens[pc.offsets[a]:pc.offsets[b]])
        self.token_lens.extend(np.diff(pc.offsets[a:b + 1]).tolist())
        self.n_points += b - a

    def add_point(self, r: Readout, p: Point, context: str, countries: str) -> None:
        """A point's units (its vector rows if the previous index has its text, else its texts to
        encode) and its BM25 tokens (copied if the previous index has its BM25 text)."""
        tk = text_key(f"{context}\x1f{p.text}")  # a point's units depend on both
        span = self.lend.units.get(tk)
        if span is not None:
            rows = self.old.point_rows[0][span[0]:span[1]]
            keys = self.old.unit_keys[rows]
            self._reuse(rows)
        else:
            texts = dense_texts(r, p, context)
            keys = np.array([text_key(t) for t in texts], dtype=np.int64)
            self.new_texts += texts
            self.new_keys += keys.tolist()
            self.new_at += range(self.n_units, self.n_units + len(texts))
        self.unit_keys.append(keys)
        self.owners.append(np.full(len(keys), self.n_points, dtype=np.int32))
        self.n_units += len(keys)
        lt = lexical_text(r, p, countries)
        lk = text_key(lt)
        tspan = self.lend.token_spans.get(lk)
        if tspan is not None:
            self.token_parts.append(self.old.point_cache.tokens[tspan[0]:tspan[1]])
        else:
            self.token_parts.append(term_ids(tokenize(lt), self.vocab))
        self.token_lens.append(len(self.token_parts[-1]))
        self.text_keys.append(tk)
        self.lex_keys.append(lk)
        self.n_points += 1

    def _reuse(self, rows: np.ndarray) -> None:
        self.reused_rows.append(rows)
        self.reused_at.append(np.arange(self.n_units, self.n_units + len(rows)))

    def plan(self, lines: list[bytes], table_rows: list[TableRow]) -> Plan:
        new_at = np.array(self.new_at, dtype=np.int64)
        known = self._known(np.array(self.new_keys, dtype=np.int64))
        offsets = np.concatenate([[0], np.cumsum(self.token_lens)]).astype(np.int64)
        tokens = np.concatenate(self.token_parts).astype(np.int32) if self.token_parts else np.zeros(0, np.int32)
        return Plan(
            lines, table_rows, self.n_points, _joined(self.unit_keys, np.int64), _joined(self.owners, np.int32),
            _joined(self.reused_rows, np.int64), _joined(self.reused_at, np.int64),
            [t for t, k in zip(self.new_texts, known) if not k], new_at[~known],
            PointCache(np.asarray(self.text_keys, dtype=np.int64), np.asarray(self.lex_keys, dtype=np.int64), tokens, offsets),
            self.vocab,
        )

    def _known(self, new_keys: np.ndarray) -> np.ndarray:
        """Which new texts another unit of the previous index already has a vector for (units of
        changed points often share a text with a reused one): those rows are reused too."""
        known = np.zeros(len(new_keys), dtype=bool)
        if not self.lend.vectors or not len(new_keys) or not len(self.old.unit_keys):
            return known
        by_key = np.argsort(self.old.unit_keys, kind="stable")
        sorted_keys = self.old.unit_keys[by_key]
        at_key = np.minimum(np.searchsorted(sorted_keys, new_keys), len(sorted_keys) - 1)
        known = sorted_keys[at_key] == new_keys
        self.reused_rows.append(by_key[at_key[known]])
        self.reused_at.append(np.array(self.new_at, dtype=np.int64)[known])
        return known


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def plan_units(entries: list[Entry], lend: Lender) -> Plan:
    """Each readout's stored line and table row, and each of its points' units and tokens: copied
    from the previous index where it has them, made otherwise."""
    planner = _Planner(lend)
    old = lend.index
    lines: list[bytes] = []
    table_rows: list[TableRow] = []
    for r, i, rel in entries:
        if i is not None and lend.readouts:
            planner.copy_readout(i)
            if r is None:
                lines.append(old.readouts.raw(i))
                same = old.manifest.settings.get("table", 1) == TABLE_RECIPE
                table_rows.append((old.table.row_of(i, rel) if same else None) or ReadoutTable.row(old.readouts[i], rel))
            else:
                lines.append(readout_line(r))
                table_rows.append(ReadoutTable.row(r, rel))
            continue
        if r is None:  # unchanged, but indexed by another recipe or model: its points are redone
            r = old.readouts[i]
        lines.append(readout_line(r))
        row = ReadoutTable.row(r, rel)
        table_rows.append(row)
        countries = " ".join(row.countries)  # the table's countries go into the BM25 text too
        context = context_line(r)
        for p in r.points:
            planner.add_point(r, p, context, countries)
    return planner.plan(lines, table_rows)


def encode_new(plan: Plan, encoder: Encoder) -> np.ndarray | None:
    """The vectors of the plan's new texts, in order (None when there are none); a bar on a
    terminal only for builds long enough to watch."""
    if not plan.new_texts:
        return None
    show = len(plan.new_texts) >= PROGRESS_FROM and sys.stderr.isatty()
    return encoder.encode(plan.new_texts, progress=show)


class Assembled(NamedTuple):
    index: Vectors
    units: np.ndarray  # per vector row: its point id, -1 for a row no point uses any more
    unit_keys: np.ndarray  # per vector row: hash of its text
    dim: int
    kind: str  # the FAISS index factory string


def assemble_vectors(plan: Plan, fresh: np.ndarray | None, lend: Lender, compact: str | None, encoder: Encoder) -> Assembled:
    """The new index's vectors: the previous FAISS index grown in place when it is of the kind
    this size asks for (no graph to rebuild), else a new index of reused and fresh vectors. The
    encoder is asked its dimension only when neither fresh nor previous vectors tell it (asking
    may load the model)."""
    old = lend.index.vectors if lend.index is not None else None
    dim = fresh.shape[1] if fresh is not None else (old.d if old is not None else encoder.dim)
    kind = index_kind(plan.n_units, compact)
    if lend.vectors and lend.index.manifest.settings.get("faiss") == kind:
        grown = _grow(old, plan.reused_rows, plan.reused_at, fresh, plan.new_at, plan.unit_keys, plan.owners,
                      lend.index.unit_keys)
        if grown is not None:
            return Assembled(*grown, dim, kind)
    vectors = np.empty((plan.n_units, dim), dtype=np.float32)
    if fresh is not None:
        vectors[plan.new_at] = fresh
    rows = plan.reused_rows
    if len(rows):  # past half the rows, one pass over all of them is quicker than a gather
        vectors[plan.reused_at] = (old.reconstruct_n(0, old.ntotal)[rows] if len(rows) > old.ntotal // 2
                                   else old.reconstruct_batch(rows))
    return Assembled(Vectors(faiss_index_of(kind, vectors)), plan.owners, plan.unit_keys, dim, kind)


def write_and_publish(root: Path, states: dict[str, FileState], index_root: Path, model: str, compact: str | None,
                      plan: Plan, vectors: Assembled) -> Path:
    """Write a new version of the index with its manifest and publish it (store.write_index)."""
    manifest = Manifest(
        format=FORMAT_VERSION,
        model=model,
        dim=vectors.dim,
        corpus=str(root),
        fingerprint=fingerprint(states),
        readouts=len(plan.lines),
        points=plan.n_points,
        units=plan.n_units,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        settings={"faiss": vectors.kind, "compact": compact, "units": UNITS_RECIPE, "lexical": LEXICAL_RECIPE,
                  "table": TABLE_RECIPE},
        files={rel: [s.size, s.mtime_ns, s.sha256] for rel, s in states.items()},
    )
    lexical = Lexical.from_tokens(plan.cache.tokens, plan.cache.offsets, plan.vocab)
    return write_index(index_root, manifest, plan.lines, ReadoutTable.of(plan.table_rows), vectors.units, vectors.unit_keys,
                       vectors.index, lexical, plan.cache)


def build_index(root: Path, states: dict[str, FileState], index_root: Path, encoder: Encoder,
                previous: StoredIndex | None = None, compact: str | None = None) -> BuildReport:
    """Index the corpus's files (`states`, from corpus.scan), reusing what `previous` holds."""
    t0 = time.perf_counter()
    entries, skipped = read_readouts(root, states, previous)
    lend = lending(previous, encoder.name, compact)
    plan = plan_units(entries, lend)
    fresh = encode_new(plan, encoder)
    vectors = assemble_vectors(plan, fresh, lend, compact, encoder)
    path = write_and_publish(root, states, index_root, encoder.name, compact, plan, vectors)
    return BuildReport(len(entries), plan.n_points, plan.n_units, len(plan.new_texts), skipped, time.perf_counter() - t0, path,
                       preambles=sum(row.preamble for row in plan.table_rows))
