"""The index folder on disk: written whole into a new version folder, then published by swapping
one symlink, so a reader sees either the old index or the new one and never a half-written one.

    INDEX/
      current -> v-20261126T031900-1234     (the published version)
      v-20261126T031900-1234/
        manifest.json     model, dimension, format, corpus fingerprint and files, counts
        readouts.jsonl    one readout a line, with its points (what answers cite), parsed on use
        readouts.ends.npy where each line ends, so readers map the file without scanning it
        table.json        per readout: doc, file, date, number of points, preamble, countries,
                          its points' speakers
        units.npy         for each vector, the point it belongs to (-1: left by a removed point)
        unit_keys.npy     for each vector, a hash of its text: a rebuild re-encodes only new texts
        points.npz        per point: hashes of its text and BM25 text, and its token ids, which a
                          rebuild reuses for unchanged points
        vectors.faiss     the FAISS index of unit vectors (memory-mapped; hard-linked across versions)
        delta.faiss       vectors added since vectors.faiss was written (embeddings/index/vectors.py)
        lexical/          the BM25 index of points

Loading is cheap so that a process picks up a new index at once: readouts are parsed when an
answer needs them (a 10,000-readout index took 1.9 s to parse whole), and the vectors are mapped,
not read. An update copies the lines of unchanged readouts as they are, and adds its vectors to a
small delta beside the unchanged (linked) vectors file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import mmap
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import Fix, ReadoutError
from embeddings.readouts.aliases import countries_in
from embeddings.readouts.dates import coerce_date
from embeddings.index.lexical import Lexical
from embeddings.records import Participant, Point, Readout, readout_to_dict
from embeddings.index.vectors import Vectors

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
READABLE_FORMATS = (3, 4)  # 3: readouts.json; read to reuse its vectors, then rebuilt
HNSW_EF_SEARCH = 256  # recall@10 against exact search: benchmarks/latency.py
CURRENT = "current"


class IndexError_(ReadoutError):
    """An index folder that cannot be used."""


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


class ReadoutShelf(Sequence):
    """The readouts of an index, one JSON line each, parsed when first asked for (and a thousand
    kept parsed): a question needs a handful of them, an update none."""

    KEEP = 1024

    def __init__(self, blob: "bytes | mmap.mmap | _FileLines", ends: np.ndarray | None = None) -> None:
        """`ends`: where each line ends (its newline), when known; else the blob is scanned for them."""
        self._blob = blob
        if ends is None:
            whole = blob[0:len(blob)] if isinstance(blob, _FileLines) else blob
            ends = np.flatnonzero(np.frombuffer(whole, dtype=np.uint8) == 10) if len(blob) else np.zeros(0, np.int64)
        self._starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if len(ends) else np.zeros(0, np.int64)
        self._ends = np.asarray(ends, dtype=np.int64)
        self._parsed: OrderedDict[int, Readout] = OrderedDict()
        self._lock = threading.Lock()  # the bot reads readouts from its event loop and its search thread

    @classmethod
    def open(cls, path: Path, ends: np.ndarray | None) -> "ReadoutShelf":
        """Read lines from the file as they are asked for: a bot over 100,000 points shows a few
        readouts a question (the file held in memory was 60 MB of its RSS, and mapped, each line
        read pulled the megabyte around it into the RSS: the page cache hands out large pages)."""
        if not hasattr(os, "pread"):  # not on Windows: map it instead
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size == 0:
                    return cls(b"", ends)
                return cls(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), ends)
        return cls(_FileLines(path), ends)

    @staticmethod
    def line_ends(lines: list[bytes]) -> np.ndarray:
        return (np.cumsum([len(x) for x in lines], dtype=np.int64) - 1) if lines else np.zeros(0, np.int64)

    @classmethod
    def of(cls, readouts: list[Readout]) -> "ReadoutShelf":
        return cls(b"".join(readout_line(r) for r in readouts))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> Readout:  # type: ignore[override]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        with self._lock:
            r = self._parsed.get(i)
            if r is not None:
                self._parsed.move_to_end(i)
                return r
        r = _readout_from_dict(json.loads(self.raw(i)))
        with self._lock:
            self._parsed[i] = r
            if len(self._parsed) > self.KEEP:
                self._parsed.popitem(last=False)
        return r

    def raw(self, i: int) -> bytes:
        """Readout i's line as stored, newline included: what an update copies for an unchanged readout."""
        return self._blob[self._starts[i]:self._ends[i] + 1]


class _FileLines:
    """Byte ranges of a file by `pread`: the pages stay in the kernel's page cache (shared, and
    reclaimable) and out of the process's RSS. Kept open for the index's lifetime, like a map."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._size = os.fstat(self._fd).st_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, span: slice) -> bytes:
        start, stop = int(span.start or 0), int(min(self._size, span.stop if span.stop is not None else self._size))
        return os.pread(self._fd, max(0, stop - start), start)

    def __del__(self) -> None:
        try:
            os.close(self._fd)
        except (OSError, AttributeError):
            pass


def readout_line(r: Readout) -> bytes:
    return json.dumps(readout_to_dict(r), ensure_ascii=False).encode() + b"\n"


@dataclass(slots=True)
class TableRow:
    """One readout's entry in the `ReadoutTable`, by name and not by position: the indexer once
    took `row[-1]` for the countries after the speakers column went in last, and indexed speaker
    labels as countries. A dataclass with slots cannot be indexed, and is made quicker than a
    NamedTuple (0.44 against 0.59 us): an update makes one per readout."""

    doc: str
    file: str  # the corpus file the readout comes from
    title: str
    date: str | None  # ISO date
    points: int  # how many points it has
    preamble: bool  # whether its first point is its preamble
    countries: list[str]  # countries its title and preamble name
    speakers: list[str]  # per point, who speaks in it, one per line
    name: str  # the readout as people say it: who talked, how and when
    people: list[str]  # lower-case name words of everyone it has or names (readouts/facts.py)
    places: list[str]  # countries it is between or names
    unnamed: list[str]  # "role|country" of participants it leaves unnamed
    kinds: list[int]  # per point, the kinds of answer it holds (facts.point_kinds bits)


# ReadoutTable column -> its TableRow field (table.json keeps the columns under these names)
TABLE_COLUMNS = {"docs": "doc", "files": "file", "titles": "title", "dates": "date", "points": "points",
                 "preamble": "preamble", "countries": "countries", "speakers": "speakers", "names": "name",
                 "people": "people", "places": "places", "unnamed": "unnamed", "kinds": "kinds"}
# how readouts become table rows (readouts/facts.py, naming.py): an index of another recipe has its
# rows made again from its parsed readouts on the next update, its vectors and tokens kept
TABLE_RECIPE = 2
# columns indexes written by earlier versions lack: their rows are made again from the parsed readouts
LATER_COLUMNS = ("speakers", "names", "people", "places", "unnamed", "kinds")


@dataclass
class ReadoutTable:
    """Per readout, what search and updates need without parsing it."""

    docs: list[str]
    files: list[str]  # the corpus file each readout comes from
    titles: list[str]
    dates: list[str | None]  # ISO dates
    points: list[int]  # how many points it has
    preamble: list[bool]  # whether its first point is its preamble
    countries: list[list[str]]  # countries its title and preamble name (the question's country prior)
    # per point, who speaks in it, one per line (the speaker prior): without it a question naming a
    # leader parsed the readout of each of its ~400 candidates (at 100k points that mapped the whole
    # readouts file into the bot's memory). None in indexes written before it was kept.
    speakers: list[list[str]] | None = None
    # what a question's names are matched against (readouts/facts.py), and each readout's name as
    # people say it (readouts/naming.py): read at build time, so search never parses readouts for them
    names: list[str] | None = None
    people: list[list[str]] | None = None
    places: list[list[str]] | None = None
    unnamed: list[list[str]] | None = None
    kinds: list[list[int]] | None = None  # per point, the kinds of answer it holds

    @staticmethod
    def row(r: Readout, file: str) -> TableRow:
        # build time only: answering a question never needs these modules (nor their patterns)
        from embeddings.readouts.facts import point_kinds, readout_facts
        from embeddings.readouts.naming import readout_name

        facts = readout_facts(r)
        return TableRow(doc=r.doc, file=file, title=r.title, date=r.iso_date, points=len(r.points),
                        preamble=bool(r.points and r.points[0].preamble),
                        countries=countries_in(f"{r.title}\n{r.preamble}"),
                        speakers=["\n".join(p.speakers) for p in r.points],
                        name=readout_name(r), people=facts.people, places=facts.places, unnamed=facts.unnamed,
                        kinds=[point_kinds(p.text) for p in r.points])

    @classmethod
    def of(cls, rows: list[TableRow]) -> "ReadoutTable":
        return cls(**{col: [getattr(row, field) for row in rows] for col, field in TABLE_COLUMNS.items()})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ReadoutTable":
        table = cls(**{k: d[k] if k not in LATER_COLUMNS else d.get(k) for k in cls.__dataclass_fields__})
        # most readouts name the same few countries, and most points the same speakers: share them
        same: dict[Any, Any] = {}
        table.countries = [same.setdefault(tuple(c), c) for c in table.countries]
        for col in ("speakers", "places", "unnamed", "kinds"):
            values = getattr(table, col)
            if values is not None:
                setattr(table, col, [same.setdefault((col, tuple(v)), v) for v in values])
        return table

    def row_of(self, i: int, file: str | None = None) -> TableRow | None:
        """Readout i's row as `row` makes it (in another file, when renamed); None when this table
        predates a column, so that the caller makes the row from the parsed readout."""
        if any(getattr(self, col) is None for col in LATER_COLUMNS):
            return None
        return TableRow(doc=self.docs[i], file=file or self.files[i], title=self.titles[i], date=self.dates[i],
                        points=self.points[i], preamble=self.preamble[i], countries=self.countries[i],
                        speakers=self.speakers[i], name=self.names[i], people=self.people[i],  # type: ignore[index]
                        places=self.places[i], unnamed=self.unnamed[i], kinds=self.kinds[i])  # type: ignore[index]


@dataclass
class StoredIndex:
    """Everything search needs: readouts (parsed on use), vectors, BM25."""

    path: Path
    manifest: Manifest
    readouts: ReadoutShelf
    table: ReadoutTable
    units: np.ndarray  # unit row -> global point id
    unit_keys: np.ndarray  # unit row -> hash of the unit's text
    point_cache: PointCache
    vectors: Vectors
    lexical: Lexical

    @classmethod
    def of(cls, readouts: list[Readout], files: list[str], units: np.ndarray, vectors: Any, lexical: Lexical,
           manifest: Manifest | None = None, unit_keys: np.ndarray | None = None, point_cache: PointCache | None = None,
           path: Path = Path(".")) -> "StoredIndex":
        """An index held in memory only (benchmarks build these); `vectors` a Vectors or a FAISS index."""
        return cls(path, manifest, ReadoutShelf.of(readouts), ReadoutTable.of([ReadoutTable.row(r, f) for r, f in zip(readouts, files)]),
                   units, unit_keys if unit_keys is not None else np.zeros(len(units), np.int64),
                   point_cache or PointCache(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(1, np.int64)),
                   vectors if isinstance(vectors, Vectors) else Vectors(vectors), lexical)

    @property
    def readout_files(self) -> list[str]:
        return self.table.files

    @cached_property
    def point_starts(self) -> np.ndarray:
        """Readout r's points are the global point ids point_starts[r] .. point_starts[r + 1]."""
        return np.concatenate([[0], np.cumsum(np.asarray(self.table.points, dtype=np.int64))]).astype(np.int64)

    @cached_property
    def point_readout(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.table.points), dtype=np.int32), self.table.points)

    @cached_property
    def point_preamble(self) -> np.ndarray:
        first = self.point_starts[:-1][np.asarray(self.table.preamble, dtype=bool)]
        out = np.zeros(self.n_points, dtype=bool)
        out[first] = True
        return out

    @property
    def n_points(self) -> int:
        return int(self.point_starts[-1])

    def point_speakers(self, pid: int) -> str:
        """Who speaks in point `pid`, one per line, without parsing its readout when the table has it."""
        ri = int(self.point_readout[pid])
        if self.table.speakers is not None:
            return self.table.speakers[ri][pid - int(self.point_starts[ri])]
        return "\n".join(self.point(pid)[1].speakers)

    def point(self, pid: int) -> tuple[Readout, Point]:
        ri = int(self.point_readout[pid])
        r = self.readouts[ri]
        return r, r.points[pid - int(self.point_starts[ri])]

    @cached_property
    def point_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The vector rows of each point: rows[starts[p]:starts[p + 1]]."""
        return rows_by_point(self.units, self.n_points)


def rows_by_point(units: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """A full build stores vector rows point by point; an update appends rows and leaves those of
    removed points in the FAISS index (an HNSW graph cannot drop them) with -1 in `units`, so rows
    need not be in point order. Returns (rows, starts): point p's rows are rows[starts[p]:starts[p + 1]]."""
    order = np.argsort(units, kind="stable")
    order = order[units[order] >= 0]
    starts = np.searchsorted(units[order], np.arange(n_points + 1))
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


class LazyPointCache:
    """A PointCache read on first use: only updates need it (24 MB of a bot's memory at 100k points)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cache: PointCache | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._cache is None:
            self._cache = PointCache.load(self._path)
        return getattr(self._cache, name)


def read_manifest(root: Path) -> Manifest | None:
    """The published manifest, or None when there is no index yet."""
    f = root / CURRENT / "manifest.json"
    if not f.exists():
        return None
    try:
        d = json.loads(f.read_text())
        if isinstance(d, dict) and "fingerprint" in d and d.get("format") not in READABLE_FORMATS:
            raise OtherFormat(f"{root} holds an index of format {d.get('format')}, this readout reads {FORMAT_VERSION}")
        return Manifest.from_dict(d)
    except (ValueError, KeyError, TypeError) as e:
        raise IndexError_(f"{root} holds an index this version cannot read ({e})", Fix.REBUILD, root) from None


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


def write_index(root: Path, manifest: Manifest, lines: list[bytes], table: ReadoutTable,
                units: np.ndarray, unit_keys: np.ndarray, vectors: Any, lexical: Lexical, cache: PointCache) -> Path:
    """`lines`: each readout's JSON line (`readout_line`, or an unchanged one's `ReadoutShelf.raw`)."""
    root.mkdir(parents=True, exist_ok=True)
    check_foreign(root)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    final = root / f"v-{stamp}-{os.getpid()}"
    tmp = root / f".tmp-{final.name}"
    tmp.mkdir()
    try:
        (tmp / "readouts.jsonl").write_bytes(b"".join(lines))
        np.save(tmp / "readouts.ends.npy", ReadoutShelf.line_ends(lines))
        (tmp / "table.json").write_text(json.dumps(table.__dict__, ensure_ascii=False))
        np.save(tmp / "units.npy", units.astype(np.int32))
        np.save(tmp / "unit_keys.npy", unit_keys.astype(np.int64))
        cache.save(tmp / "points.npz")
        vectors.save(tmp)
        lexical.save(tmp / "lexical")
        # the manifest goes last: a version folder with a manifest is complete
        (tmp / "manifest.json").write_text(json.dumps(manifest.__dict__))
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


def check_foreign(root: Path) -> None:
    """Refuse to write into a folder that holds something other than readout indexes."""
    ours = {CURRENT}
    for entry in root.iterdir():
        if entry.name in ours or entry.name.startswith(("v-", ".tmp-v-", f".{CURRENT}-", ".lock")):
            continue
        raise IndexError_(f"{root} is not a readout index folder (it holds {entry.name})", Fix.INDEX_NEW, root)


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


def load_index(root: Path, files: bool = True) -> StoredIndex:
    """The published index; its vectors memory-mapped (embeddings/index/vectors.py). `files=False`
    leaves out the manifest's record of the corpus files, which only an update reads (at 10,000
    readouts, 12 MB of a bot's memory)."""
    manifest = read_manifest(root)
    if manifest is None:
        raise IndexError_(f"no index in {root}", Fix.REBUILD, root)
    if not files:
        manifest.files = {}
    path = (root / CURRENT).resolve()
    try:
        if manifest.format == 3:
            raw = json.loads((path / "readouts.json").read_text())
            readouts = [_readout_from_dict(d) for d in raw]
            shelf = ReadoutShelf.of(readouts)
            table = ReadoutTable.of([ReadoutTable.row(r, d["file"]) for r, d in zip(readouts, raw)])
        else:
            ends = path / "readouts.ends.npy"
            shelf = ReadoutShelf.open(path / "readouts.jsonl", np.load(ends) if ends.exists() else None)
            table = ReadoutTable.from_dict(json.loads((path / "table.json").read_text()))
        units = np.load(path / "units.npy")
        unit_keys = np.load(path / "unit_keys.npy", mmap_mode="r")  # for updates only: mapped, not read
        cache = LazyPointCache(path / "points.npz")
        vectors = Vectors.load(path, HNSW_EF_SEARCH)
        lexical = Lexical.load(path / "lexical")
    except Exception as e:  # a damaged or foreign folder: say so in one line
        raise IndexError_(f"the index in {root} is damaged ({type(e).__name__}: {str(e)[:120]})", Fix.REBUILD, root) from None
    if vectors.ntotal != len(units) or vectors.d != manifest.dim or len(shelf) != len(table.docs):
        raise IndexError_(f"the index in {root} is inconsistent", Fix.REBUILD, root)
    return StoredIndex(path, manifest, shelf, table, units, unit_keys, cache, vectors, lexical)
