"""Choose the search weights and the `found` model by k-fold cross-validation over the dev set,
and print the cross-validated figures beside those of the whole set.

    python benchmarks/cv.py [--questions evaluation/readouts-dev.jsonl] [--corpus ../shared/readouts]
                            [--folds 5] [--seed 0] [--json]

A figure measured on the questions the weights were chosen on predicts nothing about questions
nobody tuned on. So the questions are split into k folds (stratified by kind, fixed seed); for each
fold, the ranking weights (a grid over `Settings`) and the confidence model (a logistic regression
over `Evidence`, with its L2 strength and threshold chosen on the training folds by an inner split)
are chosen on the other folds alone, and the held-out fold is scored with them. The pooled
held-out scores are the cross-validated figures. Last, everything is chosen once on the whole set:
those are the settings to ship (printed as the `Settings` fields to write into
embeddings/search/searcher.py), and their figures on the same set are printed beside, to show how
much a figure on the tuning set flatters.

Each question is searched once (encoded, shortlisted, its evidence per candidate kept); every
setting is then a few numpy operations over the kept evidence, so the grid costs seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table  # noqa: E402

GRID = {
    "alpha": (0.6, 0.7, 0.75, 0.8, 0.85, 0.9),
    "speaker_boost": (0.0, 0.025, 0.05, 0.1, 0.15),
    "date_boost": (0.05, 0.1, 0.15, 0.2),
    "country_boost": (0.0, 0.025, 0.05, 0.1),
    "kind_boost": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
    "readout_weight": (0.0, 0.1, 0.2, 0.3, 0.4),
    "preamble_penalty": (0.0, 0.05, 0.1, 0.2),
}
ROUNDS = 3  # passes of coordinate ascent over the grid's axes
L2 = (1e-4, 1e-3, 1e-2)
# the confidence a point needs for found=True: the share of answerable questions found and of
# unanswerable ones not found weigh alike; the grid is the same for every fold
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.1, 0.91, 0.05))
DEPTH = 10  # ranks scored (R@10)


@dataclasses.dataclass
class Case:
    """One question as searched once: its candidates' evidence, which candidates answer it, and
    a way to get any candidate's confidence evidence (computed on first use)."""

    text: str
    kind: str
    answerable: bool
    cands: np.ndarray
    comps: object  # searcher.Components
    right: np.ndarray  # bool per candidate
    query: object
    evidence: dict


def load_cases(questions_path: Path, corpus: Path, index: Path | None):
    from embeddings.engine import Engine
    from embeddings.evaluation import check_docs, is_answer, load_questions

    engine = Engine.load(corpus=corpus, index=index)
    searcher = engine.searcher
    questions = load_questions(questions_path)
    check_docs(questions, list(searcher.index.table.docs), questions_path)
    vecs = searcher.encoder.encode_queries([q.q for q in questions])
    cases = []
    for q, vec in zip(questions, vecs):
        query = searcher.read(q.q)
        cands, bm25 = searcher.shortlist(query, vec)
        comps = searcher.components(query, vec, cands, bm25)
        right = np.zeros(len(cands), dtype=bool)
        if q.answerable:
            for i, pid in enumerate(cands):
                if searcher.index.table.docs[int(searcher.index.point_readout[pid])] == q.doc:
                    right[i] = is_answer(q, searcher.hit(int(pid), 0.0))
        cases.append(Case(q.q, q.kind, q.answerable, cands, comps, right, query, {}))
    return searcher, cases


def ranked(searcher, case: Case, settings) -> np.ndarray:
    searcher.settings = settings
    fused = searcher.fused(case.comps)
    return np.argsort(-fused, kind="stable")[:DEPTH]


def rank_scores(searcher, cases: list[Case], settings) -> dict[str, float]:
    r1 = r3 = r10 = mrr = 0.0
    n = 0
    for c in cases:
        if not c.answerable:
            continue
        n += 1
        order = ranked(searcher, c, settings)
        hit = np.flatnonzero(c.right[order])
        if hit.size:
            r = int(hit[0]) + 1
            r1 += r <= 1
            r3 += r <= 3
            r10 += r <= 10
            mrr += 1 / r
    n = max(n, 1)
    return {"r1": r1 / n, "r3": r3 / n, "r10": r10 / n, "mrr": mrr / n}


def choose_ranking(searcher, cases: list[Case], base):
    """The settings with the best MRR on `cases` (then R@1), by coordinate ascent over the grid's
    axes from `base` (a full grid of 115,200 points would cost an hour and fit noise the better);
    ties keep the current value, so the choice is stable."""
    def key_of(s):
        sc = rank_scores(searcher, cases, s)
        return (round(sc["mrr"], 6), round(sc["r1"], 6))

    best = base
    best_key = key_of(best)
    for _ in range(ROUNDS):
        moved = False
        for axis, values in GRID.items():
            for v in values:
                s = dataclasses.replace(best, **{axis: v})
                k = key_of(s)
                if k > best_key:
                    best, best_key, moved = s, k, True
        if not moved:
            break
    return best


def best_point(searcher, case: Case, settings) -> tuple[int, float]:
    i = int(ranked(searcher, case, settings)[0])
    return int(case.cands[i]), float(case.comps.dense[i])


def features(searcher, case: Case, settings) -> np.ndarray | None:
    """The evidence vector of the best point, or None when a hard rule already decides (a
    person no readout has, a person or place not in the readout): those are never found."""
    pid, dense = best_point(searcher, case, settings)
    q = case.query
    if q.unknown_people or not searcher.consistent(q, pid):
        return None
    key = (pid, round(dense, 6))
    if key not in case.evidence:
        case.evidence[key] = np.array(searcher.evidence(q, pid, dense).vector(), dtype=np.float64)
    return case.evidence[key]


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method, classes weighted to balance."""
    n, d = X.shape
    w = np.zeros(d + 1)
    A = np.hstack([X, np.ones((n, 1))])
    pos = max(1, int(y.sum()))
    neg = max(1, n - pos)
    sw = np.where(y > 0, n / (2 * pos), n / (2 * neg))
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(50):
        z = np.clip(A @ w, -30, 30)
        p = 1 / (1 + np.exp(-z))
        g = A.T @ (sw * (p - y)) / n + reg * w
        H = (A * (sw * p * (1 - p))[:, None]).T @ A / n + np.diag(reg + 1e-9)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def confidence(w: np.ndarray, b: float, x: np.ndarray | None) -> float:
    if x is None:
        return 0.0
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, float(x @ w + b)))))


def found_scores(searcher, cases: list[Case], settings, w, b, threshold) -> dict[str, float]:
    ans = [c for c in cases if c.answerable]
    una = [c for c in cases if not c.answerable]
    f = sum(confidence(w, b, features(searcher, c, settings)) >= threshold for c in ans)
    nf = sum(confidence(w, b, features(searcher, c, settings)) < threshold for c in una)
    return {"found": f / max(1, len(ans)), "not_found": nf / max(1, len(una))}


def choose_found(searcher, cases: list[Case], settings, folds: int, seed: int):
    """The L2 strength by an inner cross-validation (balanced accuracy of found), then the model
    fitted on all of `cases` with it; the threshold the balanced accuracy is best at on `cases`.

    The inner split scores each L2 strength at 0.5, where a model with balanced class weights puts
    the even odds, rather than at a threshold of its own: choosing the threshold inside the inner
    split too was measured as the cleaner procedure, and held out it did worse (it makes the L2
    choice noisier), so the outer figures are of this one."""
    def data(cs):
        rows = [(features(searcher, c, settings), c.answerable) for c in cs]
        rows = [(x, y) for x, y in rows if x is not None]
        return np.array([x for x, _ in rows]), np.array([float(y) for _, y in rows])

    inner = split(cases, folds, seed + 1)
    best_l2, best_acc = None, -1.0
    for l2 in L2:
        accs = []
        for k in range(folds):
            train = [c for j, f in enumerate(inner) if j != k for c in f]
            X, y = data(train)
            w, b = fit_logistic(X, y, l2)
            sc = found_scores(searcher, inner[k], settings, w, b, 0.5)
            accs.append((sc["found"] + sc["not_found"]) / 2)
        acc = float(np.mean(accs))
        if acc > best_acc:
            best_l2, best_acc = l2, acc
    X, y = data(cases)
    w, b = fit_logistic(X, y, best_l2)
    best_t, best_acc = 0.5, -1.0
    for t in THRESHOLDS:
        sc = found_scores(searcher, cases, settings, w, b, t)
        acc = (sc["found"] + sc["not_found"]) / 2
        if acc > best_acc + 1e-9:
            best_t, best_acc = t, acc
    return w, b, best_t, best_l2


def split(cases: list[Case], folds: int, seed: int) -> list[list[Case]]:
    """Stratified by kind: each fold gets its share of every kind."""
    rng = np.random.default_rng(seed)
    out: list[list[Case]] = [[] for _ in range(folds)]
    by_kind: dict[str, list[Case]] = {}
    for c in cases:
        by_kind.setdefault(c.kind, []).append(c)
    offset = 0
    for kind in sorted(by_kind):
        group = by_kind[kind]
        order = rng.permutation(len(group))
        for i, j in enumerate(order):
            out[(i + offset) % folds].append(group[j])
        offset += len(group)
    return out


def by_kind(searcher, cases, settings, w, b, threshold) -> dict[str, dict[str, float]]:
    out = {}
    for kind in sorted({c.kind for c in cases}):
        cs = [c for c in cases if c.kind == kind]
        row = {"n": len(cs)}
        if any(c.answerable for c in cs):
            row.update(rank_scores(searcher, cs, settings))
        row.update(found_scores(searcher, cs, settings, w, b, threshold))
        out[kind] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "evaluation" / "readouts-dev.jsonl")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "readouts")
    ap.add_argument("--index", type=Path, default=None)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"cv.py: no corpus folder at {args.corpus} (give --corpus DIR)")

    searcher, cases = load_cases(args.questions, args.corpus, args.index)
    base = searcher.settings
    folds = split(cases, args.folds, args.seed)
    held: list[tuple[list[Case], object, np.ndarray, float, float]] = []
    chosen = []
    for k in range(args.folds):
        train = [c for j, f in enumerate(folds) if j != k for c in f]
        s = choose_ranking(searcher, train, base)
        w, b, t, l2 = choose_found(searcher, train, s, args.folds, args.seed)
        held.append((folds[k], s, w, b, t))
        chosen.append({**{key: getattr(s, key) for key in GRID}, "l2": l2})
        print(f"fold {k + 1}/{args.folds}: {chosen[-1]}", file=sys.stderr)

    def pooled(parts):
        n_ans = sum(1 for cs, *_ in parts for c in cs if c.answerable)
        n_una = sum(1 for cs, *_ in parts for c in cs if not c.answerable)
        out = {"r1": 0.0, "r3": 0.0, "r10": 0.0, "mrr": 0.0, "found": 0.0, "not_found": 0.0}
        for cs, s, w, b, t in parts:
            a = sum(c.answerable for c in cs)
            u = len(cs) - a
            r, f = rank_scores(searcher, cs, s), found_scores(searcher, cs, s, w, b, t)
            for key in ("r1", "r3", "r10", "mrr"):
                out[key] += r[key] * a / max(1, n_ans)
            out["found"] += f["found"] * a / max(1, n_ans)
            out["not_found"] += f["not_found"] * u / max(1, n_una)
        return out, n_ans, n_una

    cv, n_ans, n_una = pooled(held)
    final = choose_ranking(searcher, cases, base)
    w, b, t, l2 = choose_found(searcher, cases, final, args.folds, args.seed)
    full, _, _ = pooled([(cases, final, w, b, t)])
    cv_kinds: dict[str, dict[str, float]] = {}
    for kind in sorted({c.kind for c in cases}):
        parts = [([c for c in cs if c.kind == kind], s, ww, bb, tt) for cs, s, ww, bb, tt in held]
        cv_kinds[kind] = {"n": sum(len(p[0]) for p in parts), **pooled(parts)[0]}
    ship = {**{key: getattr(final, key) for key in GRID}, "confidence_weights": tuple(round(float(x), 3) for x in w),
            "confidence_bias": round(b, 3), "threshold": t}
    if args.json:
        print(json.dumps({"cross_validated": cv, "full_set": full, "by_kind_cross_validated": cv_kinds,
                          "folds": chosen, "ship": ship, "answerable": n_ans, "unanswerable": n_una}, indent=1))
        return
    rows = [["cross-validated", *(f"{cv[k]:.3f}" for k in ("r1", "r3", "r10", "mrr", "found", "not_found"))],
            ["full set (tuned on it)", *(f"{full[k]:.3f}" for k in ("r1", "r3", "r10", "mrr", "found", "not_found"))]]
    print(f"{len(cases)} questions ({n_ans} answerable, {n_una} unanswerable), {args.folds} folds, seed {args.seed}\n")
    print(table(["figures", "R@1", "R@3", "R@10", "MRR", "found", "not found"], rows))
    print()
    krows = []
    for kind, r in cv_kinds.items():
        ans = any(c.answerable for c in cases if c.kind == kind)
        krows.append([kind, str(r["n"]), *((f"{r[k]:.3f}" for k in ("r1", "r3", "mrr", "found")) if ans else ("-",) * 4),
                      "-" if ans else f"{r['not_found']:.3f}"])
    print(table(["kind (cross-validated)", "n", "R@1", "R@3", "MRR", "found", "not found"], krows))
    print("\nsettings chosen on the whole set (write these into embeddings/search/searcher.py Settings):")
    for key, value in ship.items():
        print(f"    {key} = {value}")


if __name__ == "__main__":
    main()
