"""How long one corpus update takes to reach answers, on a large corpus.

    python benchmarks/update.py [--readouts 10000] [--rounds 5] [--vectors generated|model]

A synthetic corpus of --readouts readouts (6 points each) is indexed once and cached in
benchmarks/.cache (the generator is deterministic, so the next run finds it). Each run works on a
hard-linked copy of it. An engine is loaded first (`Engine.load`, as a running bot holds one); then
each round adds one readout, changes one point of another and removes a third, and times, in this
process (no process start counted):

    embeddings.engine.build(...)          what `readout index` / `add` / `remove` run
    engine.refresh(rebuild=False)         the running engine picks up the published index
    engine.ask(<the added readout's unique phrase>)

and checks the answer comes from the new state: the added readout's phrase finds it, the changed
readout's new phrase finds it, the removed readout is gone. The phases of the update are timed
from outside (wrappers around engine functions; no engine code is changed).

--vectors generated (default): the cached base index is built by `engine.build` with the model
replaced by hash-derived vectors (encoding ~240k texts with the model takes hours on a small
shared CPU). The updates themselves run the real engine and the real model on the new texts; the
base vectors are only reused, and their values do not change what an update costs.
--vectors model encodes the base corpus with the model (once; cached).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CACHE,
    cached_corpus,
    link_tree,
    log,
    machine_line,
    median,
    readout_text,
    synthetic_points,
    table,
)


class Timers:
    """Wrap functions to add up the time spent in them, per label, since the last `reset`."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.stage = "build"
        self._undo: list[tuple[object, str, object]] = []

    def reset(self) -> None:
        self.spent.clear()

    def timed(self, fn, label):
        def wrapper(*a, **kw):
            name = label(self) if callable(label) else label
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.spent[name] += time.perf_counter() - t

        return wrapper

    def wrap(self, obj, attr: str, label) -> None:
        fn = getattr(obj, attr)
        self._undo.append((obj, attr, obj.__dict__.get(attr, fn) if isinstance(obj, type) else fn))
        setattr(obj, attr, self.timed(fn, label))

    def undo(self) -> None:
        for obj, attr, fn in reversed(self._undo):
            setattr(obj, attr, fn)


PHASES = [
    # (label, parent or None, description)
    ("build", None, "embeddings.engine.build, whole"),
    ("locked", "build", "build under the index lock"),
    ("previous", "locked", "load the previous index"),
    ("json_loads@build", "previous", "json.loads (table.json, manifest)"),
    ("from_dict@build", "previous", "Readout objects from the JSON (renamed files' only)"),
    ("faiss_read@build", "previous", "map vectors.faiss, read delta.faiss"),
    ("scan", "locked", "scan the corpus (stat every file, hash changed ones)"),
    ("build_index", "locked", "build_index"),
    ("reuse", "build_index", "index the previous readouts by file hash"),
    ("parse", "build_index", "parse changed files"),
    ("text_key", "build_index", "text hashes (text_key) of new points and BM25 texts"),
    ("lexical_text", "build_index", "BM25 texts of new points (lexical_text)"),
    ("countries", "build_index", "table rows of new readouts (ReadoutTable.row: their countries)"),
    ("encode", "build_index", "encode new texts with the model (numpy BERT below 48 texts)"),
    ("model_load", "encode", "load the model's weights"),
    ("reconstruct", "build_index", "copy reused vectors out of the previous index"),
    ("faiss_add", "build_index", "FAISS: add the new vectors (to the previous index, or all to a new one)"),
    ("bm25", "build_index", "BM25: build the weights (Lexical.build / from_tokens)"),
    ("write", "build_index", "write the new version folder and publish it"),
    ("to_dict", "write", "readouts to dicts (readout_to_dict; new and renamed readouts only)"),
    ("json_dumps@build", "write", "json.dumps (new readouts' lines, table.json, manifest)"),
    ("faiss_write", "write", "write vectors.faiss"),
    ("lexical_save", "write", "write the BM25 arrays"),
    ("cache_save", "write", "write points.npz"),
    ("fsync", "write", "fsync every file"),
    ("prune", "write", "remove older versions"),
    ("refresh", None, "engine.refresh(rebuild=False), whole"),
    ("refresh_load", "refresh", "load the new index"),
    ("json_loads@refresh", "refresh_load", "json.loads (table.json, manifest; readouts as used)"),
    ("from_dict@refresh", "refresh_load", "Readout objects from the JSON (as used)"),
    ("faiss_read@refresh", "refresh_load", "read vectors.faiss (memory-mapped)"),
    ("searcher", "refresh", "new Searcher (per-point tables, countries of every readout)"),
    ("ask", None, "engine.ask, first question on the new index"),
]


def install(t: Timers) -> None:
    """Wrap what this version of the engine has (missing functions are skipped)."""
    import json

    import faiss

    from embeddings import engine
    from embeddings.index import build as indexer, store
    from embeddings.model import question_encoder
    from embeddings.model.encoder import Encoder

    staged = lambda kind: (lambda s: f"{kind}@{s.stage}")
    wraps = [
        (engine, "_build_locked", "locked"),
        (engine, "scan", "scan"),
        (engine, "load_index", lambda s: "refresh_load" if s.stage == "refresh" else "load_index@build"),
        (engine, "build_index", "build_index"),
        (engine, "Searcher", "searcher"),
        (indexer, "_reuse_parsed", "reuse"),
        (indexer, "parse_file", "parse"),
        (indexer, "text_key", "text_key"),
        (indexer, "lexical_text", "lexical_text"),
        (indexer.ReadoutTable, "row", "countries"),
        (Encoder, "encode", "encode"),
        (question_encoder.QuestionEncoder, "__init__", "model_load"),
        (indexer.Lexical, "build", "bm25"),
        (indexer.Lexical, "from_tokens", "bm25"),
        (indexer, "write_index", "write"),
        (store, "readout_to_dict", "to_dict"),
        (store, "_readout_from_dict", staged("from_dict")),
        (json, "dumps", staged("json_dumps")),
        (json, "loads", staged("json_loads")),
        (faiss, "write_index", "faiss_write"),
        (faiss, "read_index", staged("faiss_read")),
        (store.Lexical, "save", "lexical_save"),
        (os, "fsync", "fsync"),
        (store, "_prune", "prune"),
    ]
    if hasattr(store, "PointCache"):
        wraps.append((store.PointCache, "save", "cache_save"))
    for obj, attr, label in wraps:
        if hasattr(obj, attr):
            t.wrap(obj, attr, label)

    real_previous = engine._previous

    def previous(index):
        t0 = time.perf_counter()
        prev = real_previous(index)
        t.spent["previous"] += time.perf_counter() - t0
        if prev is not None:
            for attr in ("reconstruct_batch", "reconstruct_n"):
                setattr(prev.vectors, attr, t.timed(getattr(prev.vectors, attr), "reconstruct"))
            prev.vectors.add = t.timed(prev.vectors.add, "faiss_add")  # an update grows the previous index
        return prev

    engine._previous = previous
    t._undo.append((engine, "_previous", real_previous))

    real_new = indexer.new_faiss_index

    def new_faiss_index(kind, dim):
        index = real_new(kind, dim)
        index.add = t.timed(index.add, "faiss_add")
        return index

    indexer.new_faiss_index = new_faiss_index
    t._undo.append((indexer, "new_faiss_index", real_new))


def cpu_seconds() -> float:
    """CPU time of this process so far (all threads): on a shared machine it says what the update
    costs apart from waiting for a core."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def replace_file(path: Path, text: str) -> None:
    """Write `text` to `path` by renaming a new file into place (never through a hard link)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--readouts", type=int, default=10000, help="readouts in the base corpus (default 10000)")
    ap.add_argument("--rounds", type=int, default=5, help="updates to time (default 5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vectors", choices=["generated", "model"], default="generated",
                    help="how the cached base index got its vectors (default generated; see above)")
    args = ap.parse_args()

    import datetime as dt

    from embeddings.engine import Engine, build
    from embeddings.readouts.parse import parse_readout

    base_corpus, base_index = cached_corpus(args.readouts, args.seed, args.vectors)
    work = CACHE / f"work-update-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    corpus = link_tree(base_corpus, work / "corpus")
    index = link_tree(base_index, work / "index")
    try:
        t0 = time.perf_counter()
        engine = Engine.load(corpus, index)
        engine.warm_up()
        log(f"engine loaded in {time.perf_counter() - t0:.1f} s: {len(engine.readouts)} readouts, "
            f"{engine.n_points} points, {engine.searcher.index.vectors.ntotal} vectors "
            f"({engine.searcher.index.manifest.settings.get('faiss')})")
        base_units = engine.searcher.index.vectors.ntotal
        timers = Timers()
        install(timers)
        extra = synthetic_points(6 * args.rounds, seed=args.seed + 1000)  # text no base readout has
        results, per_phase = [], defaultdict(list)
        for r in range(args.rounds):
            tag = f"{os.getpid() % 10000:04d}{r:02d}"
            add_phrase = f"quorvex{tag} lighthouse protocol"
            chg_phrase = f"zentrabil{tag} fisheries charter"
            added = f"new-{tag}.txt"
            pts = extra[6 * r:6 * r + 6]
            pts[2] = f"The two leaders signed the Quorvex{tag} lighthouse protocol on coastal navigation."
            replace_file(corpus / added, readout_text(f"Zanthia-Morvel Summit Telephone Talk {tag}",
                                                      dt.date(2026, 11, 1 + r % 28), pts))
            changed = f"r{(101 + 37 * r) % args.readouts:06d}.txt"
            old = (corpus / changed).read_text(encoding="utf-8")
            lines = old.splitlines()
            i = next(k for k, line in enumerate(lines) if line.lstrip().startswith("4. "))
            lines[i] = f"  4. The two ministers adopted the Zentrabil{tag} fisheries charter for the northern waters."
            replace_file(corpus / changed, "\n".join(lines) + "\n")
            removed = f"r{(202 + 41 * r) % args.readouts:06d}.txt"
            removed_text = parse_readout((corpus / removed).read_text(encoding="utf-8"), removed).points[0].text
            (corpus / removed).unlink()

            timers.reset()
            timers.stage = "build"
            cpu0 = cpu_seconds()
            t0 = time.perf_counter()
            rep = build(corpus, index)
            t1 = time.perf_counter()
            timers.stage = "refresh"
            change = engine.refresh(rebuild=False)
            t2 = time.perf_counter()
            answer = engine.ask(add_phrase)
            t3 = time.perf_counter()
            cpu = cpu_seconds() - cpu0
            timers.stage = "check"

            assert change is not None and added in change.added and removed in change.removed, change
            assert answer.hits[0].doc == added, f"the added readout was not found: {answer.hits[0].doc}"
            top_chg = engine.ask(chg_phrase).hits[0]
            assert top_chg.doc == changed and "Zentrabil" in top_chg.text, f"the changed point was not found: {top_chg}"
            assert removed not in {x.doc for x in engine.readouts}
            assert all(h.doc != removed for h in engine.ask(removed_text, 10).hits), "the removed readout is still found"

            spent = dict(timers.spent)
            spent.update(build=t1 - t0, refresh=t2 - t1, ask=t3 - t2)
            spent["previous"] = spent.get("previous", 0.0)
            for name, _, _ in PHASES:
                per_phase[name].append(spent.get(name, 0.0))
            results.append((t3 - t0, rep.encoded, rep.units, cpu))
            log(f"  round {r + 1}: {t3 - t0:.2f} s, CPU {cpu:.2f} s (build {t1 - t0:.2f}, refresh {t2 - t1:.2f}, ask {t3 - t2:.3f}); "
                f"encoded {rep.encoded} of {rep.units} texts")
        timers.undo()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    totals = [x[0] for x in results]
    print(f"### Update: add + change + remove one readout each, on {args.readouts:,} readouts "
          f"({engine.n_points:,} points, {base_units:,} vectors, {args.vectors} base vectors)\n")
    print(table(["rounds", "update → answer, median s", "min s", "max s", "CPU s (median)", "texts encoded per update", "target"],
                [[len(totals), f"{median(totals):.2f}", f"{min(totals):.2f}", f"{max(totals):.2f}",
                  f"{median([x[3] for x in results]):.2f}", f"{median([x[1] for x in results]):.0f}", "≤ 3 s"]]))
    print()
    tot = median(totals)
    rest_of = {
        "build_index": "the rest: loops over readouts and new points (key lookups, BM25 token ids), manifest",
        "write": "the rest: write readouts.jsonl and table.json, units/keys .npy, rename and symlink",
        "previous": "the rest: readouts.jsonl read and split into lines, BM25 arrays (memory-mapped), .npy files",
        "refresh_load": "the rest: readouts.jsonl read and split into lines, BM25 arrays (memory-mapped), .npy files",
        "locked": "the rest",
        "build": "the rest: Encoder(), lock, reading the manifest",
        "refresh": "the rest",
    }
    rows: list[list[str]] = []

    def emit(name: str, what: str, depth: int) -> None:
        m = median(per_phase[name])
        rows.append([("· " * depth) + what, f"{m:.3f}", f"{100 * m / tot:.0f}%"])
        kids = [(n, w) for n, p, w in PHASES if p == name]
        for n, w in kids:
            emit(n, w, depth + 1)
        if kids and name in rest_of:
            rest = median([sum(v) for v in zip(per_phase[name], *[[-x for x in per_phase[n]] for n, _ in kids])])
            rows.append([("· " * (depth + 1)) + rest_of[name], f"{rest:.3f}", f"{100 * rest / tot:.0f}%"])

    for name, parent, what in PHASES:
        if parent is None:
            emit(name, what, 0)
    print(table(["phase (nested phases are part of the one above)", "median s", "share of update"], rows))
    print(f"\nMedians over {len(totals)} rounds (each phase's own median, so they need not add up exactly). "
          "Timed from outside with wrappers; no engine code changed. The wrappers on per-point functions "
          "(text_key, lexical_text) add about a microsecond per call to the update.")
    print(machine_line())


if __name__ == "__main__":
    main()
