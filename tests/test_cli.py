"""The `readout` command as a user runs it: a subprocess, the real model, small real corpora."""

from __future__ import annotations

import json
import shutil

import pytest

from embeddings.search.searcher import Settings
from conftest import BUNDLED, ask_json, cli_env, run_cli

pytestmark = pytest.mark.e2e

SEED_QUESTIONS = {
    "What was said about grave visits?": 5,
    "What did Putin say about North Korea?": 6,
    "Year of Regional Exchanges": 4,
    "Did they talk about the agreement reached in Singapore?": 3,
    "Will the two leaders meet in person?": 7,
}


def test_seed_questions_rank_the_right_point_first(bundled_index, session_tmp):
    questions = list(SEED_QUESTIONS) + ["What is the recipe for borscht?"]
    answers = ask_json(["--index", str(bundled_index), "-k", "3"], questions, cli_env(session_tmp))
    for q, a in zip(questions, answers):
        assert a["question"] == q
        if q in SEED_QUESTIONS:
            assert a["found"] is True, q
            top = a["hits"][0]
            assert top["point"] == SEED_QUESTIONS[q], (q, top)
            assert top["doc"] == "000_f357f723c89b56b9.txt"
            assert top["date"] == "2021-10-07"
            assert top["title"] == "Japan-Russia Relations"
            assert not top["text"].startswith(f"{top['point']}.")
        else:
            assert a["found"] is False
            assert a["hits"], "the nearest points are still listed"
    grave = answers[0]["hits"][0]
    assert "grave visits" in grave["text"]
    assert grave["speakers"] == ["Prime Minister Kishida", "President Putin"]
    assert set(grave) >= {"doc", "title", "date", "point", "text", "score", "speakers", "name", "confidence"}
    assert grave["name"] == "Kishida – Putin telephone talk, 7 October 2021"
    # the score users read is the 0-1 confidence found is decided on, not the ranking sum
    for a in answers:
        for h in a["hits"]:
            assert 0.0 <= h["score"] == h["confidence"] <= 1.0 and h["rank_score"] >= 0.0
        assert a["found"] == (a["hits"][0]["confidence"] >= Settings().threshold)


def test_text_answer_cites_readout_date_point_and_speakers(bundled_index, session_tmp):
    r = run_cli(["ask", "--index", str(bundled_index), "What was said about grave visits?"], cli_env(session_tmp))
    assert r.returncode == 0, r.stderr
    first = r.stdout.split("\n\n")[0]
    # the readout as people say it (who talked, how and when); the page's own title as its source
    assert first.startswith("[1] Kishida – Putin telephone talk, 7 October 2021, point 5  (confidence 0.")
    assert "source: Japan-Russia Relations" in first
    assert "Prime Minister Kishida, President Putin" in first
    assert "grave visits to the four islands by airplane" in first
    assert "Traceback" not in r.stderr

    r = run_cli(["ask", "--index", str(bundled_index), "What is the recipe for borscht?"], cli_env(session_tmp))
    assert r.returncode == 0
    assert r.stdout.startswith("Nothing relevant found")


def test_default_corpus_and_index_build_once_then_reuse(session_tmp, tmp_path):
    env = cli_env(tmp_path)  # fresh cache dir: nothing built yet
    r = run_cli(["ask", "-k", "1", "--json", "What was said about grave visits?"], env)
    assert r.returncode == 0, r.stderr
    assert "building the index first (no index yet)" in r.stderr
    assert json.loads(r.stdout)["hits"][0]["point"] == 5
    assert list((tmp_path / "cache" / "readout" / "indexes").iterdir())
    r = run_cli(["ask", "-k", "1", "--json", "grave visits"], env)
    assert r.returncode == 0 and "building" not in r.stderr


def test_changed_corpus_is_reindexed_and_bad_files_are_skipped(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED, corpus)
    (corpus / "nested").mkdir()
    (corpus / "nested" / "empty.md").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 10)
    (corpus / "latin1.txt").write_bytes("Caf\xe9 talk\n\n1. Something.".encode("latin-1"))
    (corpus / "talks.jsonl").write_text(
        json.dumps({"id": "r1", "title": "Elbonia-Atlantis Talk", "date": "2030-01-05", "source": "https://example.org/r1",
                    "text": "On January 5, President Vale of Elbonia held a talk with President Poseidon of Atlantis.\n"
                            "1. President Vale proposed a joint bridge over the strait.\n"
                            "2. President Poseidon raised tuna fishing quotas."}) + "\n{not json\n"
    )
    env = cli_env(tmp_path)
    index = tmp_path / "index"
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    assert "Indexed 2 readouts" in r.stdout
    for name, reason in [("nested/empty.md", "empty"), ("binary.txt", "binary"), ("latin1.txt", "UTF-8"), ("talks.jsonl line 2", "JSON")]:
        assert any(name in line and reason in line for line in r.stderr.splitlines()), (name, r.stderr)

    a = ask_json(["--corpus", str(corpus), "--index", str(index), "-k", "1"], ["tuna fishing quotas"], env)[0]
    assert a["hits"][0]["doc"] == "talks.jsonl#r1" and a["hits"][0]["point"] == 2 and a["hits"][0]["date"] == "2030-01-05"

    (corpus / "talks.jsonl").unlink()
    r = run_cli(["ask", "--corpus", str(corpus), "--index", str(index), "--json", "-k", "1", "tuna fishing quotas"], env)
    assert r.returncode == 0
    assert "corpus files changed" in r.stderr
    assert json.loads(r.stdout)["hits"][0]["doc"] == "000_f357f723c89b56b9.txt"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["ask", "--corpus", "/nonexistent/corpus", "x"], "no such corpus folder"),
        (["index", "--corpus", "{empty}", "--index", "{tmp}/i"], "no readouts in"),
        (["ask", "--index", "{foreign}", "x"], "not a readout index folder"),
        (["ask", "--model", "{tmp}/no-model-here", "--index", "{tmp}/i2", "x"], "no model folder"),
    ],
)
def test_errors_are_one_line_with_a_next_step(args, needle, tmp_path):
    (tmp_path / "empty").mkdir()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my notes")
    args = [a.format(tmp=tmp_path, empty=tmp_path / "empty", foreign=foreign) for a in args]
    r = run_cli(args, cli_env(tmp_path))
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert lines[-1].startswith("readout: error:") and needle in lines[-1], r.stderr
    assert "Traceback" not in r.stderr
    assert (foreign / "notes.txt").read_text() == "my notes"


def test_usage_errors_exit_2(tmp_path):
    r = run_cli(["ask", "-k", "0", "x"], cli_env(tmp_path))
    assert r.returncode == 2
    r = run_cli(["ask", "  "], cli_env(tmp_path))
    assert r.returncode == 2 and "empty" in r.stderr


def test_killed_build_leaves_previous_index_usable(bundled_index, tmp_path):
    """`readout index` killed (SIGKILL) at moments spread over a whole build, writing included:
    the previous index always answers, and the next build clears what the killed one left."""
    import os
    import signal
    import subprocess
    import time

    from conftest import readout_exe

    index = tmp_path / "index"
    shutil.copytree(bundled_index, index, symlinks=True)
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED, corpus)
    (corpus / "more.txt").write_text("Another Talk\n\nMay 1, 2030\n\n1. The leaders discussed volcano monitoring.\n")
    env = cli_env(tmp_path)
    cmd = readout_exe() + ["index", "--corpus", str(corpus), "--index", str(index)]

    scratch = tmp_path / "scratch-index"  # time an uninterrupted build of the same change
    shutil.copytree(bundled_index, scratch, symlinks=True)
    t0 = time.monotonic()
    assert run_cli(["index", "--corpus", str(corpus), "--index", str(scratch)], env).returncode == 0
    full = time.monotonic() - t0

    before = (index / "current").resolve()
    for frac in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * frac)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        current = (index / "current").resolve()
        assert current.is_dir() and (current / "manifest.json").exists()
        if current != before:  # the build had published before the kill: that index is whole too
            break
    a = ask_json(["--index", str(index), "-k", "1"], ["What was said about grave visits?"], env)[0]
    assert a["hits"][0]["point"] == 5
    r = run_cli(cmd[len(readout_exe()):], env)
    assert r.returncode == 0, r.stderr
    assert not list(index.glob(".tmp-*")), "leftovers of killed builds are removed"


def _as_format_3(index) -> None:
    """Turn a published index into the layout of readout's previous release: readouts.json (a
    list of readouts with their file) instead of readouts.jsonl + table.json, the point-by-point
    unit recipe 1, format 3. The vectors stay as they are: they are what the upgrade must reuse."""
    v = (index / "current").resolve()
    table = json.loads((v / "table.json").read_text())
    lines = (v / "readouts.jsonl").read_text().splitlines()
    (v / "readouts.json").write_text(json.dumps([{"file": f, **json.loads(line)} for f, line in zip(table["files"], lines)]))
    (v / "readouts.jsonl").unlink()
    (v / "table.json").unlink()
    manifest = json.loads((v / "manifest.json").read_text())
    manifest["format"] = 3
    manifest["settings"].pop("units")
    (v / "manifest.json").write_text(json.dumps(manifest))
    assert not (v / "delta.faiss").exists()


def test_index_of_the_previous_release_is_rebuilt_reusing_its_vectors(bundled_index, tmp_path):
    """Upgrading readout must not cost a re-encoding of the corpus: the old index is read once
    for its vectors, then replaced by one in the current format."""
    index = tmp_path / "index"
    shutil.copytree(bundled_index, index, symlinks=True)
    _as_format_3(index)
    old_vectors = (index / "current" / "vectors.faiss").stat().st_ino
    env = cli_env(tmp_path)
    r = run_cli(["ask", "--index", str(index), "-k", "1", "--json", "What was said about grave visits?"], env)
    assert r.returncode == 0, r.stderr
    assert "built by another version of readout" in r.stderr
    assert json.loads(r.stdout)["hits"][0]["point"] == 5
    manifest = json.loads((index / "current" / "manifest.json").read_text())
    assert manifest["format"] == 4 and (index / "current" / "table.json").exists()
    # every vector was found again by its text: the vectors file is the old one, linked
    assert (index / "current" / "vectors.faiss").stat().st_ino == old_vectors
    assert not (index / "current" / "delta.faiss").exists()
    r = run_cli(["index", "--index", str(index), "--json"], env)
    assert json.loads(r.stdout)["encoded"] == 0  # nothing changed since, nothing encoded
