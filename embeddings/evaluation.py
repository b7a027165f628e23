"""Measuring answer quality on a file of questions with known answers.

A question line is `{"q", "doc", "point"}` (the point's number), `{"q", "doc", "answer_contains"}`
(a phrase of the answering paragraph, for unnumbered readouts and preambles), or `{"q", "doc": null}`
for a question no readout answers; an optional `"kind"` groups the figures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings.errors import Fix, ReadoutError
from embeddings.records import Answer, Hit


class QuestionsError(ReadoutError, ValueError):
    """A questions file that cannot be scored: the line and what is wrong with it."""


@dataclass
class Question:
    q: str
    doc: str | None
    point: int | None = None
    answer_contains: str | None = None
    kind: str = "all"
    line: int = 0  # where it is in its file, for messages

    @property
    def answerable(self) -> bool:
        return self.doc is not None


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split()).casefold()


def is_answer(q: Question, hit: Hit) -> bool:
    if q.doc is None or hit.doc != q.doc:
        return False
    if q.answer_contains is not None:
        return _norm(q.answer_contains) in _norm(hit.text)
    return hit.point == q.point


def load_questions(path: Path) -> list[Question]:
    out: list[Question] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise QuestionsError(f"cannot read {path}: {e.strerror}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise QuestionsError(f"{path} line {n}: not a JSON object ({e.msg})", Fix.QUESTIONS_FORMAT) from None
        if not isinstance(d, dict):
            raise QuestionsError(f"{path} line {n}: not a JSON object", Fix.QUESTIONS_FORMAT)
        if not isinstance(d.get("q"), str) or not d["q"].strip():
            raise QuestionsError(f'{path} line {n}: no question ("q" must be a non-empty string)', Fix.QUESTIONS_FORMAT)
        if d.get("doc") is not None and not isinstance(d["doc"], str):
            raise QuestionsError(f'{path} line {n}: "doc" must be a file name of the corpus, or null')
        if d.get("point") is not None and (isinstance(d["point"], bool) or not isinstance(d["point"], int)):
            raise QuestionsError(f'{path} line {n}: "point" must be a point number')
        q = Question(q=d["q"], doc=d.get("doc"), point=d.get("point"),
                     answer_contains=None if d.get("answer_contains") is None else str(d["answer_contains"]),
                     kind=str(d.get("kind") or "all"), line=n)
        if q.doc is not None and q.point is None and q.answer_contains is None:
            raise QuestionsError(f'{path} line {n}: an answerable question needs "point" or "answer_contains"')
        out.append(q)
    if not out:
        raise QuestionsError(f"{path} has no questions")
    return out


def check_docs(questions: list[Question], docs: list[str], path: Path) -> None:
    """A question whose readout is not in the corpus would score 0 and hide among real misses:
    refuse it, naming its line (another corpus, or a renamed file)."""
    known = set(docs)
    for q in questions:
        if q.doc is not None and q.doc not in known:
            raise QuestionsError(f"{path} line {q.line}: its readout {q.doc} is not in the corpus", Fix.CORPUS_MATCH)


@dataclass
class Scores:
    n: int = 0
    r1: float = 0.0
    r3: float = 0.0
    r10: float = 0.0
    mrr: float = 0.0
    found: float = 0.0  # share of answerable questions with found=True
    n_unanswerable: int = 0
    not_found: float = 0.0  # share of unanswerable questions with found=False

    def as_row(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class Report:
    overall: Scores
    by_kind: dict[str, Scores] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)


def rank_of(q: Question, answer: Answer) -> int | None:
    for i, h in enumerate(answer.hits, start=1):
        if is_answer(q, h):
            return i
    return None


def score(questions: list[Question], answers: list[Answer]) -> Report:
    groups: dict[str, list[tuple[Question, Answer]]] = defaultdict(list)
    for q, a in zip(questions, answers):
        groups["all"].append((q, a))
        if q.kind != "all":
            groups[q.kind].append((q, a))
    out: dict[str, Scores] = {}
    for kind, items in groups.items():
        s = Scores()
        for q, a in items:
            if not q.answerable:
                s.n_unanswerable += 1
                s.not_found += not a.found
                continue
            s.n += 1
            r = rank_of(q, a)
            s.r1 += r is not None and r <= 1
            s.r3 += r is not None and r <= 3
            s.r10 += r is not None and r <= 10
            s.mrr += 1.0 / r if r else 0.0
            s.found += a.found
        if s.n:
            s.r1, s.r3, s.r10, s.mrr, s.found = (x / s.n for x in (s.r1, s.r3, s.r10, s.mrr, s.found))
        if s.n_unanswerable:
            s.not_found /= s.n_unanswerable
        out[kind] = s
    misses = []
    for q, a in zip(questions, answers):
        r = rank_of(q, a) if q.answerable else None
        wrong_found = a.found != q.answerable
        if (q.answerable and r != 1) or wrong_found:
            top = a.hits[0] if a.hits else None
            misses.append({"q": q.q, "kind": q.kind, "expected": q.doc and f"{q.doc} {q.point or q.answer_contains}",
                           "rank": r, "found": a.found, "top": top and f"{top.doc} {top.label}"})
    return Report(overall=out.pop("all"), by_kind=out, misses=misses)
