"""Helpers the benchmark scripts share: synthetic corpora that look like readouts, timing, tables.

Synthetic readouts are stitched from real sentences (the bundled readout, and ../shared/readouts
when it is there) with numbers, names and words varied, so BM25 sees a realistic vocabulary and
document lengths; dense vectors for large sizes are generated (search cost does not depend on
what the vectors say), clustered around topics like real embeddings.
"""

from __future__ import annotations

import random
import shutil
import sys
import re
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

QUESTIONS = [
    "What was said about grave visits?",
    "What did Putin say about North Korea?",
    "Year of Regional Exchanges",
    "Did they talk about the agreement reached in Singapore?",
    "Will the two leaders meet in person?",
    "did they talk about letting former residents visit family burial sites?",
    "What did Macron say after Abe's death?",
    "the February 2020 meeting in Munich",
    "Singapore 2018",
    "Tokyo and Moscow on the peace treaty",
    "who offered condolences over the terror attack?",
    "CPTPP UK accession",
    "sanctions on Russia and support for Ukraine",
    "energy security and critical minerals",
    "free and open Indo-Pacific",
    "abductions issue",
]


def sentence_pool() -> list[str]:
    from embeddings.readouts.corpus import read_corpus
    from embeddings.index.units import sentences

    roots = [ROOT / "corpus"] + ([SHARED / "readouts"] if (SHARED / "readouts").is_dir() else [])
    pool: list[str] = []
    for root in roots:
        for r in read_corpus(root).readouts:
            for p in r.points:
                pool += [s for s in sentences(p.text) if len(s.split()) >= 6]
    return pool


_SWAP = ["economic", "security", "maritime", "energy", "digital", "cultural", "regional", "bilateral",
         "trade", "climate", "health", "defence", "fisheries", "space", "education", "investment"]


def synthetic_points(n: int, seed: int = 0) -> list[str]:
    """`n` point texts of two to four varied real sentences each."""
    rng = random.Random(seed)
    pool = sentence_pool()
    words = re.compile(r"\b(economic|security|regional|bilateral|cooperation|trade|issues?)\b")
    out = []
    for i in range(n):
        sents = rng.sample(pool, rng.randint(2, 4))
        text = " ".join(words.sub(lambda m: rng.choice(_SWAP), s) for s in sents)
        out.append(f"{text} (ref {i})")
    return out


def clustered_vectors(n: int, dim: int = 384, topics: int = 2000, seed: int = 0, chunk: int = 200_000,
                      draw_seed: int | None = None) -> np.ndarray:
    """Unit vectors around `topics` random centres, like embeddings of many texts on few subjects.
    The centres come from `seed`; `draw_seed` (default: the same) draws the vectors around them, so
    another draw_seed gives new vectors of the same subjects: queries from the data's distribution."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, dim)).astype(np.float32)
    if draw_seed is not None:
        rng = np.random.default_rng(draw_seed)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        v = centres[rng.integers(0, topics, e - s)] + 0.9 * rng.standard_normal((e - s, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[s:e] = v
    return out


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table, so figures paste straight into the README."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, cells)])


# --- shared by build.py, update.py, cold.py, bot_load.py ------------------------------------------

CACHE = Path(__file__).resolve().parent / ".cache"


def log(*args: object) -> None:
    """Progress goes to stderr; stdout holds only the tables."""
    import sys

    print(*args, file=sys.stderr, flush=True)


def machine_line() -> str:
    """The machine's load next to every table: figures on a shared machine mean little without it."""
    import os

    one, five, fifteen = os.getloadavg()
    return (f"machine: {os.cpu_count()} cores, load average {one:.2f} / {five:.2f} / {fifteen:.2f} "
            f"(1 / 5 / 15 min) at {time.strftime('%Y-%m-%d %H:%M:%S')}; code: {code_version()}")


def code_version() -> str:
    """The commit measured, and whether the engine or bot had uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "embeddings", "bot"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes in embeddings/ or bot/' if dirty else ''}"


_COUNTRIES = ["Japan", "Russia", "France", "Germany", "India", "Australia", "Canada", "Italy", "Brazil",
              "Viet Nam", "Indonesia", "Mexico", "Poland", "Kenya", "Chile", "Norway", "Egypt", "Peru"]
_KINDS = ["Summit Telephone Talk", "Summit Meeting", "Foreign Ministers' Meeting", "Video Conference"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]


def readout_text(title: str, date: "object", points: list[str]) -> str:
    """A readout file as governments publish them: title line, dateline, numbered points."""
    dateline = f"{_MONTHS[date.month - 1]} {date.day}, {date.year}"
    body = "\n".join(f"  {j}. {t}" for j, t in enumerate(points, start=1))
    return f"{title}\n\n{dateline}\n\n{body}\n"


def synthetic_readouts(n_readouts: int, seed: int = 0, per: int = 6) -> list[tuple[str, str]]:
    """(file name, text) of `n_readouts` synthetic readouts of `per` points each, deterministic for
    a seed, and prefix-stable: the first k readouts of a larger corpus are those of a k-corpus."""
    import datetime as dt

    pts = synthetic_points(n_readouts * per, seed)
    rng = random.Random(seed + 1)
    base = dt.date(2005, 1, 1)
    out = []
    for i in range(n_readouts):
        a, b = rng.sample(_COUNTRIES, 2)
        title = f"{a}-{b} {rng.choice(_KINDS)} {i}"
        date = base + dt.timedelta(days=rng.randrange(7000))
        out.append((f"r{i:06d}.txt", readout_text(title, date, pts[i * per:(i + 1) * per])))
    return out


def write_corpus(folder: Path, readouts: list[tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in readouts:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def link_tree(src: Path, dst: Path) -> Path:
    """A copy of `src` made of hard links (instant, no extra space). Safe to change: the engine
    writes new files and renames, and benchmarks replace files rather than writing into them."""
    import os
    import shutil

    shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
    return dst


class GeneratedEncoder:
    """Stands in for the model when building large indexes: unit vectors derived from each text's
    hash (deterministic), clustered like real embeddings. Search and update costs do not depend on
    what the vectors say; the index is otherwise built by the engine itself (engine.build)."""

    loaded = False  # no model to export the question encoder from: cached_corpus exports with the real one

    def __init__(self, name: str | None = None, device: str | None = None) -> None:
        from embeddings.model.encoder import model_id

        self.name = model_id(name)
        self.dim = 384
        self._centres = np.random.default_rng(12345).standard_normal((2000, self.dim)).astype(np.float32)

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        from embeddings.index.build import text_key

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            k = text_key(t) & 0x7FFFFFFFFFFFFFFF
            out[i] = self._centres[k % 2000] + 0.9 * np.random.default_rng(k).standard_normal(self.dim, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)


def _corpus_key(readouts: list[tuple[str, str]]) -> str:
    import hashlib

    h = hashlib.sha256()
    for name, text in readouts:
        h.update(name.encode() + b"\0" + text.encode() + b"\n")
    return h.hexdigest()[:12]


def _export_queries() -> None:
    """The ONNX question encoder a build with the model leaves in the user's cache (the generated
    vectors' build never loads the model): exported once, with the real model."""
    from embeddings.model.encoder import Encoder

    Encoder().export_for_queries()


def cached_corpus(n_readouts: int, seed: int = 0, vectors: str = "generated", compact: str | None = None) -> tuple[Path, Path]:
    """(corpus folder, index folder) of a synthetic corpus, built once and kept in benchmarks/.cache.

    The key is a hash of the generated files, so a changed generator (or sentence pool) builds
    anew. The index is built by `embeddings.engine.build`; with vectors="generated" the model is
    replaced by `GeneratedEncoder` for this build only (later updates encode with the real model
    and reuse these vectors by text hash, exactly as with model vectors). A smaller cached corpus of
    the same seed is a prefix of this one: its index seeds the build, so only new texts are encoded.
    Never change the returned folders in place: copy them with `link_tree`."""
    import shutil

    readouts = synthetic_readouts(n_readouts, seed)
    key = _corpus_key(readouts)
    tag = f"{vectors}" + (f"-{compact}" if compact else "")
    home = CACHE / f"synth-{n_readouts}-s{seed}-{tag}-{key}"
    corpus, index = home / "corpus", home / "index"
    if (home / "complete").exists():
        from embeddings.engine import stale_reason

        from embeddings.index.build import index_kind
        from embeddings.index.store import read_manifest

        reason = stale_reason(corpus, index, None)
        if reason is None:
            m = read_manifest(index)
            if m.settings.get("faiss") == index_kind(m.units, compact):
                _export_queries()
                return corpus, index
            reason = f"this version of the engine makes a {index_kind(m.units, compact)} index, not {m.settings.get('faiss')}"
        log(f"the cached index in {home} cannot be used as it is ({reason}); updating it")
        _build_cached(corpus, index, vectors, compact, n_readouts, home)
        return corpus, index
    shutil.rmtree(home, ignore_errors=True)
    log(f"writing {n_readouts} synthetic readouts to {corpus}")
    write_corpus(corpus, readouts)
    smaller = sorted(
        (p for p in CACHE.glob(f"synth-*-s{seed}-{tag}-*") if (p / "complete").exists()
         and int(p.name.split("-")[1]) < n_readouts),
        key=lambda p: int(p.name.split("-")[1]))
    if smaller:
        log(f"seeding the index from {smaller[-1].name} (its vectors are reused)")
        link_tree(smaller[-1] / "index", index)
    _build_cached(corpus, index, vectors, compact, n_readouts, home)
    return corpus, index


def _build_cached(corpus: Path, index: Path, vectors: str, compact: str | None, n_readouts: int, home: Path) -> None:
    from embeddings import engine

    log(f"building the index of {n_readouts} readouts with {vectors} vectors (once; cached in {home})...")
    t = time.perf_counter()
    if vectors == "generated":
        real = engine.Encoder
        engine.Encoder = GeneratedEncoder
        try:
            rep = engine.build(corpus, index, compact=compact or "none")
        finally:
            engine.Encoder = real
    else:
        rep = engine.build(corpus, index, compact=compact or "none")
    log(f"built {rep.readouts} readouts, {rep.points} points, {rep.units} vectors ({rep.encoded} encoded) "
        f"in {time.perf_counter() - t:.0f} s")
    _export_queries()
    (home / "complete").write_text(f"{rep.readouts} {rep.points} {rep.units}\n")


def readout_exe() -> list[str]:
    """The console script beside this Python, else the one on PATH, else the CLI's module."""
    exe = Path(sys.executable).parent / "readout"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("readout")
    return [found] if found else [sys.executable, "-c", "from bot.cli import main; main()"]


def real_corpus(name: str) -> Path:
    """../shared/readouts and corpus/ in one folder of the cache (copied again when either
    changed); the bundled readout alone where ../shared is not beside the checkout."""
    folder = CACHE / name
    shared = sorted((SHARED / "readouts").iterdir()) if (SHARED / "readouts").is_dir() else []
    folder.mkdir(parents=True, exist_ok=True)
    for f in [*shared, *sorted((ROOT / "corpus").iterdir())]:
        if f.is_file() and (not (folder / f.name).exists() or (folder / f.name).read_bytes() != f.read_bytes()):
            shutil.copy(f, folder / f.name)
    return folder
