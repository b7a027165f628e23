"""`readout eval`: figures computed from real answers on the bundled corpus."""

from __future__ import annotations

import json

import pytest

from conftest import cli_env, run_cli
from embeddings.evaluation import Question, is_answer, score
from embeddings.records import Answer, Hit


def hit(doc, point, text="t"):
    return Hit(doc=doc, title="T", date=None, point=point, position=point or 1, text=text, score=0.5, speakers=[])


@pytest.mark.fast
def test_scoring_by_point_phrase_and_unanswerable():
    qs = [Question("a", "d.txt", point=2, kind="k1"), Question("b", "d.txt", answer_contains="Grave  visits", kind="k2"),
          Question("c", None, kind="unanswerable")]
    answers = [Answer("a", True, [hit("d.txt", 1), hit("d.txt", 2)]),
               Answer("b", False, [hit("d.txt", 3, "about grave visits here")]),
               Answer("c", False, [hit("d.txt", 1)])]
    assert is_answer(qs[1], answers[1].hits[0])
    r = score(qs, answers)
    assert (r.overall.n, r.overall.r1, r.overall.r3, r.overall.mrr) == (2, 0.5, 1.0, 0.75)
    assert r.overall.found == 0.5 and r.overall.not_found == 1.0
    assert r.by_kind["k1"].r1 == 0.0 and r.by_kind["k2"].r1 == 1.0


@pytest.mark.e2e
def test_eval_command_on_the_bundled_corpus(bundled_index, session_tmp, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(d) for d in [
        {"q": "What was said about grave visits?", "doc": "000_f357f723c89b56b9.txt", "point": 5, "kind": "seed"},
        {"q": "Will the two leaders meet in person?", "doc": "000_f357f723c89b56b9.txt", "answer_contains": "looking forward to meeting", "kind": "seed"},
        {"q": "What is the recipe for borscht?", "doc": None, "kind": "unanswerable"},
    ]) + "\n")
    r = run_cli(["eval", "--index", str(bundled_index), "--json", str(qfile)], cli_env(session_tmp))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["overall"]["r1"] == 1.0 and out["overall"]["mrr"] == 1.0
    assert out["overall"]["n_unanswerable"] == 1 and out["overall"]["not_found"] == 1.0
    r = run_cli(["eval", "--index", str(bundled_index), str(qfile)], cli_env(session_tmp))
    assert r.stdout.splitlines()[0].split()[:4] == ["kind", "n", "R@1", "R@3"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "x", "doc": "a.txt"}\n')
    r = run_cli(["eval", "--index", str(bundled_index), str(bad)], cli_env(session_tmp))
    assert r.returncode == 1 and "needs" in r.stderr and "Traceback" not in r.stderr
