"""`readout eval`: answer a file of questions and print how often the right point comes first."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.advice import explain
from bot.options import corpus_option, fail, index_option, model_option


@click.command("eval")
@corpus_option
@index_option
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("--misses", is_flag=True, help="Also list the questions answered wrongly.")
@click.argument("questions", type=click.Path(path_type=Path))
def eval_command(corpus: Path | None, index: Path | None, model: str | None, as_json: bool, misses: bool, questions: Path) -> None:
    """Measure R@1, R@3, R@10, MRR and `found` on QUESTIONS.jsonl.

    Lines: {"q", "doc", "point"} or {"q", "doc", "answer_contains"}; {"q", "doc": null} for
    questions no readout answers; an optional "kind" groups the figures.
    """
    from bot.cli import _load_engine
    from embeddings.evaluation import QuestionsError, check_docs, load_questions, score

    try:
        qs = load_questions(questions)
    except QuestionsError as e:
        fail(explain(e))
    engine = _load_engine(corpus, index, model)
    try:
        check_docs(qs, list(engine.table.docs), questions)
    except QuestionsError as e:
        fail(explain(e))
    answers = engine.ask_many([q.q for q in qs], k=10)
    report = score(qs, answers)
    if as_json:
        click.echo(json.dumps({"overall": report.overall.as_row(),
                               "by_kind": {k: v.as_row() for k, v in report.by_kind.items()},
                               "misses": report.misses if misses else None}))
        return
    head = f"{'kind':<14}{'n':>5}{'R@1':>7}{'R@3':>7}{'R@10':>7}{'MRR':>7}{'found':>7}{'unans.':>8}{'not found':>11}"
    click.echo(head)
    for kind, s in [("all", report.overall), *sorted(report.by_kind.items())]:
        ans = f"{s.r1:7.3f}{s.r3:7.3f}{s.r10:7.3f}{s.mrr:7.3f}{s.found:7.3f}" if s.n else f"{'-':>7}" * 5
        una = f"{s.n_unanswerable:8d}{s.not_found:11.3f}" if s.n_unanswerable else f"{0:8d}{'-':>11}"
        click.echo(f"{kind:<14}{s.n:5d}{ans}{una}")
    if misses:
        click.echo("")
        for m in report.misses:
            click.echo(f"- [{m['kind']}] {m['q']}\n    expected {m['expected']}, rank {m['rank']}, found={m['found']}, top: {m['top']}")
