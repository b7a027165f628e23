"""Sanity check for the hand-written dev set (not part of readout itself).

    python3 evaluation/check_devset.py [evaluation/readouts-dev.jsonl] [--corpus ../shared/readouts]

Checks: every line parses; keys and kinds are valid; doc files exist; every `answer_contains` is an
exact substring of exactly one paragraph of its doc (3-8 words); every `point` is printed in its doc
as `N.`, `N ` or `(N)` at the start of a line (after optional spaces/bullet); questions are unique;
every readout is covered. Prints counts per kind. Exits non-zero on any error.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

# Kinds of questions no readout answers (their "doc" is null).
UNANSWERABLE_KINDS = {"unanswerable", "near-miss", "unknown-thing", "never-met", "no-readout-date", "off-topic"}
KINDS = {"paraphrase", "speaker", "keyword", "date", "no_country", "answer-type"} | UNANSWERABLE_KINDS
HERE = Path(__file__).resolve().parent


def body(text: str) -> str:
    """The page text after the YAML front matter."""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return text[end + 4 :]
    return text


def paragraphs(text: str) -> list[str]:
    """Non-empty lines; readouts put each paragraph on one line (some also use blank lines)."""
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def has_point(text: str, n: int) -> bool:
    pat = re.compile(rf"^\s*(?:[-•*]\s*)?(?:\({n}\)|{n}\.(?!\d)|{n}\s)", re.M)
    return bool(pat.search(text))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("devset", nargs="?", default=str(HERE / "readouts-dev.jsonl"))
    ap.add_argument("--corpus", default=str(HERE.parent.parent / "shared" / "readouts"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    docs = {p.name: body(p.read_text(encoding="utf-8")) for p in corpus.glob("*.txt")}

    errors: list[str] = []
    kinds: collections.Counter[str] = collections.Counter()
    covered: collections.Counter[str] = collections.Counter()
    seen_q: set[str] = set()
    for i, line in enumerate(Path(args.devset).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"{i}: blank line")
            continue
        try:
            ex = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{i}: bad JSON: {e}")
            continue
        q, doc, kind = ex.get("q"), ex.get("doc", "MISSING"), ex.get("kind")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{i}: missing q")
        elif q.lower() in seen_q:
            errors.append(f"{i}: duplicate question {q!r}")
        else:
            seen_q.add(q.lower())
        if kind not in KINDS:
            errors.append(f"{i}: bad kind {kind!r}")
        kinds[kind] += 1
        if kind in UNANSWERABLE_KINDS or doc is None:
            if not (kind in UNANSWERABLE_KINDS and doc is None):
                errors.append(f"{i}: doc null <=> kind in {sorted(UNANSWERABLE_KINDS)}")
            if set(ex) - {"q", "doc", "kind"}:
                errors.append(f"{i}: unanswerable with extra keys")
            continue
        if doc not in docs:
            errors.append(f"{i}: no such doc {doc!r}")
            continue
        covered[doc] += 1
        text = docs[doc]
        has_p, has_a = "point" in ex, "answer_contains" in ex
        if has_p == has_a:
            errors.append(f"{i}: need exactly one of point / answer_contains")
        if has_p:
            n = ex["point"]
            if not isinstance(n, int) or not has_point(text, n):
                errors.append(f"{i}: point {n!r} not printed in {doc}")
        if has_a:
            a = ex["answer_contains"]
            words = len(a.split())
            if not 3 <= words <= 8:
                errors.append(f"{i}: answer_contains has {words} words: {a!r}")
            hits = [p for p in paragraphs(text) if a in p]
            if len(hits) != 1 or text.count(a) != 1:
                errors.append(f"{i}: answer_contains {a!r} occurs {text.count(a)}x in {doc}")

    missing = sorted(set(docs) - set(covered))
    if missing:
        errors.append(f"docs never asked about: {missing}")
    for e in errors:
        print("ERROR", e)
    total = sum(kinds.values())
    print(f"{total} questions, {len(covered)}/{len(docs)} readouts covered")
    for k in sorted(KINDS):
        print(f"  {k:15s} {kinds.get(k, 0)}")
    print(f"  (no answer: {sum(kinds.get(k, 0) for k in UNANSWERABLE_KINDS)})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
