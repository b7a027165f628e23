"""The `readout` commands' options, errors and output, run in-process in seconds.

The real click commands (`bot.cli.cli`) run through click's `CliRunner`, as `readout ...` in a
terminal, with the model replaced by a stand-in (tests/standin.py) where the engine constructs
its encoder: no model, no subprocess. What the answers say is checked end to end, with the
real model, in test_cli.py and the other `e2e` modules; here it is how the commands behave.
Run this tier alone with `python -m pytest -m fast`.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import BUNDLED
from standin import NAME as STANDIN_MODEL, StandinEncoder

pytestmark = pytest.mark.fast

GRAVE = "What was said about grave visits?"
BORSCHT = "What is the recipe for borscht?"
BUNDLED_DOC = "000_f357f723c89b56b9.txt"
BUNDLED_NAME = "Kishida – Putin telephone talk, 7 October 2021"  # its name (readouts/naming.py); its title is "Japan-Russia Relations"


@pytest.fixture(autouse=True)
def standin_encoder(monkeypatch, tmp_path):
    """Every engine these tests start encodes with the stand-in; the real model fails the test.
    The user's folders are in tmp_path, and no READOUT_* setting of the caller leaks in."""
    import embeddings.model.encoder
    import embeddings.engine

    def no_model(*args, **kwargs):
        pytest.fail("the fast tier loaded the model (embeddings.engine.Encoder must be the stand-in)")

    monkeypatch.setattr(embeddings.engine, "Encoder", StandinEncoder)
    monkeypatch.setattr(embeddings.model.encoder.Encoder, "encode", no_model)
    monkeypatch.setattr(embeddings.model.encoder.Encoder, "encode_queries", no_model)
    for name in [n for n in __import__("os").environ if n.startswith("READOUT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    handlers, level = logging.getLogger().handlers[:], logging.getLogger().level
    yield
    # `readout` points the root logger at the stderr CliRunner gave it, closed once it returns
    logging.getLogger().handlers[:] = handlers
    logging.getLogger().setLevel(level)


def readout(*args: str, input: str | bytes | None = None) -> Result:
    """`readout ARGS`, as typed in a terminal (stdout and stderr apart)."""
    from bot.cli import cli

    return CliRunner().invoke(cli, list(args), input=input, prog_name="readout", terminal_width=100)


def one_error(r: Result, code: int = 1) -> str:
    """The single `readout: error:` line of a failed command, or a failed test."""
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr, r.exception)
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("readout: error:")]
    assert len(errors) == 1, r.stderr
    return errors[0]


def usage_error(r: Result, command: str) -> str:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr, r.exception)
    assert f"Usage: readout {command}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    return r.stderr


@pytest.fixture
def index(tmp_path) -> Path:
    """The bundled corpus indexed by `readout index`."""
    folder = tmp_path / "index"
    r = readout("index", "--index", str(folder))
    assert r.exit_code == 0, (r.stderr, r.exception)
    return folder


@pytest.fixture
def corpus(tmp_path) -> Path:
    """Two readouts: a dated .txt without a source and a .jsonl line with one, newer."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "tokyo.txt").write_text(
        "Japan-Elbonia Summit Meeting\n\nMay 1, 2022\n\n"
        "On May 1, Prime Minister Sato held a summit meeting with President Vale of Elbonia.\n\n"
        "1. The two leaders discussed volcano monitoring on the islands.\n"
        "2. Prime Minister Sato raised tuna fishing quotas.\n", encoding="utf-8")
    (folder / "talks.jsonl").write_text(json.dumps({
        "id": "r1", "title": "Elbonia-Atlantis Talk", "date": "2030-01-05", "source": "https://example.org/r1",
        "text": "On January 5, President Vale of Elbonia held a talk with President Poseidon of Atlantis.\n"
                "1. President Vale proposed a joint bridge over the strait.\n"
                "2. President Poseidon raised tuna fishing quotas.\n"
                "3. The two presidents agreed to meet again."}) + "\n", encoding="utf-8")
    return folder


# --- usage errors: exit 2, with the command's usage ----------------------------------------------


@pytest.mark.parametrize("args,needle", [
    (["ask", "-k", "0", GRAVE], "Invalid value for '-k'"),
    (["ask", "-k", "101", GRAVE], "Invalid value for '-k'"),
    (["ask", "-k", "three", GRAVE], "'three' is not a valid integer"),
    (["ask", "--no-such-option", GRAVE], "No such option '--no-such-option'"),
    (["index", "--compact", "zstd"], "Invalid value for '--compact'"),
    (["eval"], "Missing argument 'QUESTIONS'"),
    (["add"], "Missing argument 'SOURCE...'"),
    (["remove"], "Missing argument 'DOC...'"),
    (["telegram", "--port", "0"], "Invalid value for '--port'"),
])
def test_bad_options_are_usage_errors(args, needle, index) -> None:
    shown = usage_error(readout(*args), args[0])
    assert needle in shown


def test_an_unknown_command_is_a_usage_error() -> None:
    r = readout("aks", GRAVE)
    assert r.exit_code == 2 and "No such command 'aks'" in r.stderr


@pytest.mark.parametrize("args", [["ask", "  "], ["ask", "", " "], ["timeline", "  "]])
def test_an_empty_question_or_topic_is_a_usage_error(args, tmp_path) -> None:
    line = one_error(readout(*args), 2)
    assert "is empty" in line and f'readout {args[0]} "' in line
    assert not (tmp_path / "cache" / "readout").exists(), "nothing was built for an empty question"


@pytest.mark.parametrize("args,words", [
    (["--from", "2021-13-01"], "--from"),
    (["--to", "yesterday"], "--to"),
    (["--from", "2022-01-01", "--to", "2021-01-01"], "is after --to"),
])
def test_a_bad_timeline_date_is_a_usage_error(args, words, index) -> None:
    line = one_error(readout("timeline", "--index", str(index), *args, "grave visits"), 2)
    assert words in line


def test_add_with_url_takes_exactly_one_source(tmp_path) -> None:
    line = one_error(readout("add", "--corpus", str(tmp_path / "c"), "--url", "https://example.org/a", "a.txt", "b.txt"), 2)
    assert "exactly one SOURCE" in line


# --- errors a user can fix: one line, exit 1 ----------------------------------------------------------


def test_errors_are_one_line_with_a_next_step(tmp_path) -> None:
    assert "no such corpus folder" in one_error(readout("ask", "--corpus", str(tmp_path / "nowhere"), GRAVE))
    (tmp_path / "empty").mkdir()
    assert "no readouts in" in one_error(readout("index", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i")))
    assert not (tmp_path / "i").exists(), "a failed first build leaves no index folder behind"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my notes")
    assert "not a readout index folder" in one_error(readout("ask", "--index", str(foreign), GRAVE))
    assert (foreign / "notes.txt").read_text() == "my notes" and len(list(foreign.iterdir())) == 1
    f = tmp_path / "a-file"
    f.write_text("hello")
    line = one_error(readout("index", "--index", str(f)))
    assert "is a file, not a folder" in line and "--index" in line


def test_a_bad_setting_is_one_line(index, monkeypatch) -> None:
    monkeypatch.setenv("READOUT_LOCK_TIMEOUT", "soon")
    line = one_error(readout("ask", "--index", str(index), GRAVE))
    assert "READOUT_LOCK_TIMEOUT" in line


# --- readout index --------------------------------------------------------------------------------


def test_index_reports_what_it_encoded_and_reuses_it_next_time(tmp_path) -> None:
    folder = tmp_path / "index"
    r = readout("index", "--index", str(folder), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"readout: indexing {BUNDLED} into {folder}\n"
    report = json.loads(r.stdout)
    assert list(report) == ["corpus", "index", "readouts", "points", "vectors", "encoded", "skipped", "seconds"]
    assert report["corpus"] == str(BUNDLED) and report["index"] == str(folder)
    assert report["readouts"] == 1 and report["skipped"] == 0
    assert report["encoded"] == report["vectors"] >= report["points"] > 0
    assert isinstance(report["seconds"], float)
    again = json.loads(readout("index", "--index", str(folder), "--json").stdout)
    assert again["encoded"] == 0 and again["vectors"] == report["vectors"]

    r = readout("index", "--index", str(folder))
    assert r.exit_code == 0
    n = report["vectors"]
    assert r.stdout.startswith(f"Indexed 1 readout, 7 points and 1 preamble ({n} vectors, {n} reused) in ")
    assert r.stdout.rstrip().endswith(" s")


def test_index_names_the_files_it_skips(corpus, tmp_path) -> None:
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 10)
    (corpus / "empty.md").write_text("")
    r = readout("index", "--corpus", str(corpus), "--index", str(tmp_path / "i"), "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["readouts"] == 2 and report["skipped"] == 2
    for name, reason in [("binary.txt", "binary"), ("empty.md", "empty")]:
        assert any(name in line and reason in line for line in r.stderr.splitlines()), r.stderr


# --- readout ask ----------------------------------------------------------------------------------


def test_ask_json_has_the_documented_keys(index) -> None:
    r = readout("ask", "--index", str(index), "--json", "-k", "4", GRAVE)
    assert r.exit_code == 0, r.stderr
    answer = json.loads(r.stdout)
    assert list(answer)[:3] == ["question", "found", "hits"]
    assert answer["question"] == GRAVE and isinstance(answer["found"], bool)
    assert len(answer["hits"]) == 4
    for hit in answer["hits"]:
        assert set(hit) >= {"doc", "title", "date", "point", "text", "score", "speakers"}
        assert hit["doc"] == BUNDLED_DOC and hit["date"] == "2021-10-07" and hit["title"] == "Japan-Russia Relations"
        assert isinstance(hit["score"], float) and isinstance(hit["speakers"], list)
    scores = [h["score"] for h in answer["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_k_caps_the_points_shown(index) -> None:
    for k in ("1", "3", "100"):
        answer = json.loads(readout("ask", "--index", str(index), "--json", "-k", k, GRAVE).stdout)
        assert len(answer["hits"]) == min(int(k), 8)  # 7 points and the preamble
    assert len(json.loads(readout("ask", "--index", str(index), "--json", GRAVE).stdout)["hits"]) == 3


def test_a_text_answer_cites_what_the_json_answer_holds(index) -> None:
    answer = json.loads(readout("ask", "--index", str(index), "--json", "-k", "2", GRAVE).stdout)
    r = readout("ask", "--index", str(index), "-k", "2", GRAVE)
    assert r.exit_code == 0 and r.stderr == ""
    shown = r.stdout
    if not answer["found"]:
        head, shown = shown.split("\n", 1)
        assert head == "Nothing relevant found. The nearest points are:"
    blocks = shown.strip("\n").split("\n\n")
    assert len(blocks) == 2
    for rank, (block, hit) in enumerate(zip(blocks, answer["hits"]), start=1):
        lines = block.splitlines()
        label = f"point {hit['point']}" if hit["point"] is not None else "preamble"
        # the readout by name, the page title on the source line, and the 0-1 confidence (not the ranking score)
        confidence = f"{hit['confidence']:.2f}" if "confidence" in hit else r"[01]\.\d\d"
        assert re.fullmatch(rf"\[{rank}\] {re.escape(BUNDLED_NAME)}, {label}  \(confidence {confidence}\)", lines[0]), lines[0]
        assert "    source: Japan-Russia Relations" in lines
        if hit["speakers"]:
            assert lines[1] == f"    who: {', '.join(hit['speakers'])}"
        assert f"    from: {BUNDLED_DOC}" in lines
        assert " ".join(" ".join(lines[lines.index(f'    from: {BUNDLED_DOC}') + 1:]).split()) == " ".join(hit["text"].split())


def test_nothing_relevant_says_so_and_still_lists_the_nearest(index) -> None:
    answer = json.loads(readout("ask", "--index", str(index), "--json", "-k", "2", BORSCHT).stdout)
    assert answer["found"] is False and len(answer["hits"]) == 2
    r = readout("ask", "--index", str(index), "-k", "2", BORSCHT)
    head, first = r.stdout.split("\n\n")[:2]
    assert head == "Nothing relevant found. The nearest points are:"  # a blank line, then the points
    assert first.startswith(f"[1] {BUNDLED_NAME}, ")
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert [line[:4] for line in lines if line.startswith("[")] == ["[1] ", "[2] "]


def test_piped_questions_get_one_answer_each_in_order(index) -> None:
    questions = [GRAVE, "", "   ", "North Korea", BORSCHT]
    r = readout("ask", "--index", str(index), "--json", "-k", "1", input="\n".join(questions) + "\n")
    assert r.exit_code == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert [a["question"] for a in answers] == [GRAVE, "North Korea", BORSCHT]  # blank lines skipped
    assert all(len(a["hits"]) == 1 for a in answers)

    r = readout("ask", "--index", str(index), "-k", "1", input="grave visits\nNorth Korea\n")
    assert [line for line in r.stdout.splitlines() if line.startswith("Q: ")] == ["Q: grave visits", "Q: North Korea"]


def test_a_piped_line_that_is_not_utf8_is_answered_and_the_next_too(index) -> None:
    r = readout("ask", "--index", str(index), "--json", input=b"caf\xe9 grave visits\nNorth Korea\n")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["question"] for line in r.stdout.splitlines()] == ["caf\ufffd grave visits", "North Korea"]


def test_the_default_index_is_built_once_then_reused(tmp_path) -> None:
    r = readout("ask", "--json", "-k", "1", GRAVE)
    assert r.exit_code == 0, r.stderr
    assert "readout: building the index first (no index yet):" in r.stderr
    built = list((tmp_path / "cache" / "readout" / "indexes").iterdir())
    assert len(built) == 1 and built[0].name.startswith("corpus-")
    r = readout("ask", "--json", "-k", "1", GRAVE)
    assert r.exit_code == 0 and r.stderr == ""


def test_a_changed_corpus_is_reindexed_before_answering(corpus, tmp_path) -> None:
    where = ["--corpus", str(corpus), "--index", str(tmp_path / "i")]
    assert readout("index", *where).exit_code == 0
    assert readout("ask", *where, "tuna").stderr == ""
    (corpus / "talks.jsonl").unlink()
    r = readout("ask", *where, "--json", "-k", "5", "tuna fishing quotas")
    assert r.exit_code == 0
    assert "building the index first (the corpus files changed since the index was built)" in r.stderr
    assert {h["doc"] for h in json.loads(r.stdout)["hits"]} == {"tokyo.txt"}


def test_the_index_keeps_the_model_it_was_built_with(index) -> None:
    import embeddings.index.store

    assert embeddings.index.store.read_manifest(index).model == STANDIN_MODEL


# --- readout list ---------------------------------------------------------------------------------


def test_list_is_a_table_newest_first_with_a_summary_on_stderr(corpus) -> None:
    r = readout("list", "--corpus", str(corpus))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "DATE        POINTS  FILE            TITLE  (SOURCE)",
        "2030-01-05       3  talks.jsonl#r1  Elbonia-Atlantis Talk  (https://example.org/r1)",
        "2022-05-01       2  tokyo.txt       Japan-Elbonia Summit Meeting",
    ]
    assert r.stderr.splitlines()[-1].startswith("2 readouts, 5 points")
    assert r.stderr.splitlines()[-1].endswith(f" in {corpus}")


def test_list_json_is_an_array_of_readouts(corpus) -> None:
    rows = json.loads(readout("list", "--corpus", str(corpus), "--json").stdout)
    assert [list(row) for row in rows] == [["doc", "title", "date", "points", "preamble", "source"]] * 2
    assert [(r["doc"], r["date"], r["points"], r["source"]) for r in rows] == [
        ("talks.jsonl#r1", "2030-01-05", 3, "https://example.org/r1"), ("tokyo.txt", "2022-05-01", 2, None)]


def test_list_of_the_bundled_corpus_counts_its_preamble() -> None:
    r = readout("list")
    assert r.stdout.splitlines()[1].split() == ["2021-10-07", "7", BUNDLED_DOC, "Japan-Russia", "Relations"]
    assert r.stderr == f"1 readout, 7 points and 1 preamble in {BUNDLED}\n"


def test_list_of_an_empty_corpus_says_so(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    r = readout("list", "--corpus", str(tmp_path / "empty"))
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == f"No readouts in {tmp_path / 'empty'}\n"
    assert json.loads(readout("list", "--corpus", str(tmp_path / "empty"), "--json").stdout) == []


# --- readout timeline -----------------------------------------------------------------------------


def test_timeline_json_has_the_documented_keys(index) -> None:
    r = readout("timeline", "--index", str(index), "--json", "grave visits")
    assert r.exit_code == 0, r.stderr
    tl = json.loads(r.stdout)
    assert list(tl) == ["topic", "entries"] and tl["topic"] == "grave visits"
    for entry in tl["entries"]:
        assert list(entry)[:7] == ["date", "doc", "title", "point", "speakers", "text", "score"]
        assert {"sentence", "phrase", "source", "countries"} <= set(entry)
        assert entry["doc"] == BUNDLED_DOC and entry["sentence"] in entry["text"]


def test_timeline_text_has_a_heading_and_a_line_per_readout(index) -> None:
    tl = json.loads(readout("timeline", "--index", str(index), "--json", "grave visits").stdout)
    r = readout("timeline", "--index", str(index), "grave visits")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    if not tl["entries"]:
        assert lines[0].startswith('No point in the 1 readout is about "grave visits"')
        return
    assert lines[0] == "grave visits: 1 of 1 readout, 2021-10-07"
    e = tl["entries"][0]
    assert lines[2] == f"2021-10-07  Kishida – Putin telephone talk, point {e['point']} — {', '.join(e['speakers'])}"


def test_a_timeline_outside_every_date_says_so_and_exits_0(index) -> None:
    r = readout("timeline", "--index", str(index), "--from", "2030-01-01", "grave visits")
    assert r.exit_code == 0
    assert r.stdout.startswith('No point in the 0 readouts from 2030-01-01 on is about "grave visits"')
    assert json.loads(readout("timeline", "--index", str(index), "--from", "2030-01-01", "--json", "grave visits").stdout) == {
        "topic": "grave visits", "entries": []}


def test_a_chart_into_a_missing_folder_is_one_line(index, tmp_path) -> None:
    line = one_error(readout("timeline", "--index", str(index), "--chart", str(tmp_path / "no" / "t.png"), "grave visits"))
    assert "does not exist" in line


# --- readout eval ---------------------------------------------------------------------------------


@pytest.mark.parametrize("line,needle", [
    ("{not json", "line 1: not a JSON object"),
    ('["q", "doc"]', "line 1: not a JSON object"),
    ('{"doc": "a.txt", "point": 1}', 'line 1: no question ("q" must be a non-empty string)'),
    ('{"q": "x", "doc": 3, "point": 1}', 'line 1: "doc" must be a file name of the corpus, or null'),
    ('{"q": "x", "doc": "a.txt", "point": "five"}', 'line 1: "point" must be a point number'),
    ('{"q": "x", "doc": "a.txt"}', 'line 1: an answerable question needs "point" or "answer_contains"'),
    ('{"q": "x", "doc": "elsewhere.txt", "point": 1}', "line 1: its readout elsewhere.txt is not in the corpus"),
    ("", "has no questions"),
])
def test_eval_refuses_a_bad_line_naming_it(line, needle, index, tmp_path) -> None:
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(line + "\n" if line else "")
    assert needle in one_error(readout("eval", "--index", str(index), str(qfile)))


def test_eval_of_a_missing_file_is_one_line(tmp_path) -> None:
    assert "cannot read" in one_error(readout("eval", str(tmp_path / "nowhere.jsonl")))


def test_eval_prints_a_table_or_json(index, tmp_path) -> None:
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(d) for d in [
        {"q": GRAVE, "doc": BUNDLED_DOC, "point": 5, "kind": "seed"},
        {"q": "Will the two leaders meet in person?", "doc": BUNDLED_DOC, "answer_contains": "looking forward to meeting", "kind": "seed"},
        {"q": BORSCHT, "doc": None, "kind": "unanswerable"},
    ]) + "\n")
    r = readout("eval", "--index", str(index), "--json", str(qfile))
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out) == ["overall", "by_kind", "misses"] and out["misses"] is None
    assert set(out["by_kind"]) == {"seed", "unanswerable"}
    assert out["overall"]["n"] == 2 and out["overall"]["n_unanswerable"] == 1
    assert 0 <= out["overall"]["r1"] <= out["overall"]["r3"] <= out["overall"]["r10"] == 1.0  # 8 points, k=10

    r = readout("eval", "--index", str(index), "--misses", str(qfile))
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["kind", "n", "R@1", "R@3", "R@10", "MRR", "found", "unans.", "not", "found"]
    assert [line.split()[0] for line in lines[1:4]] == ["all", "seed", "unanswerable"]
    assert lines[3].split()[1:7] == ["0", "-", "-", "-", "-", "-"]  # no answerable question of that kind


# --- help, version, logging -----------------------------------------------------------------------


def test_help_lists_every_command() -> None:
    r = readout("--help")
    assert r.exit_code == 0
    commands = r.stdout.split("Commands:")[1].split()
    for command in ("index", "ask", "eval", "telegram", "add", "remove", "list", "timeline", "feeds"):
        assert command in commands
    assert readout("-h").stdout == r.stdout


@pytest.mark.parametrize("command", ["index", "ask", "eval", "add", "remove", "list", "timeline", "telegram", "feeds"])
def test_each_command_has_help_naming_the_settings_of_its_options(command) -> None:
    r = readout(command, "--help")
    assert r.exit_code == 0 and r.stdout.startswith(f"Usage: readout {command} ")
    shown = " ".join(r.stdout.split())
    if "--corpus" in shown:
        assert "Default: $READOUT_CORPUS, else the bundled corpus." in shown
    if "--index" in shown:
        assert "Default: $READOUT_INDEX, else a folder per corpus in your cache directory." in shown
    if command != "feeds":
        assert "-v, --verbose" in shown


def test_eval_help_describes_its_lines() -> None:
    shown = " ".join(readout("eval", "--help").stdout.split())
    assert '{"q", "doc", "point"}' in shown and '"answer_contains"' in shown and '"doc": null' in shown


def test_index_help_lists_the_compact_choices() -> None:
    shown = readout("index", "--help").stdout
    assert "--compact [fp16|sq8|sq4|none]" in shown


def test_version() -> None:
    from importlib.metadata import version

    r = readout("--version")
    assert r.exit_code == 0 and r.stdout == f"readout {version('readout')}\n"


def test_verbose_after_the_command_logs_too(index) -> None:
    quiet = readout("ask", "--index", str(index), GRAVE)
    loud = readout("ask", "--index", str(index), "-vv", GRAVE)
    assert quiet.exit_code == loud.exit_code == 0
    assert quiet.stderr == "" and " DEBUG embeddings.engine: load: corpus " in loud.stderr
    assert loud.stdout == quiet.stdout
