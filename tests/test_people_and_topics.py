"""People and places from the corpus itself, a "nothing found" that reads the topic, and answer
types. The corpus is tests/fixtures/invented/: six readouts between invented countries and leaders
that no built-in table knows (Norland's Prime Minister Rask, Veltria's President Varesh, ...), in
the MOFA, gov.uk and Kremlin shapes; tests/fixtures/invented-questions.jsonl asks it questions a
user would, some naming a leader who is not in the readout that has the topic, some a person no
readout has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import cli_env, run_cli
from embeddings.search.searcher import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
INVENTED = FIXTURES / "invented"
QUESTIONS = [json.loads(line) for line in (FIXTURES / "invented-questions.jsonl").read_text().splitlines() if line.strip()]


# --- fast: what the index table records, and how a question is read ----------------------------------

@pytest.fixture(scope="module")
def invented():
    from embeddings.readouts.corpus import read_corpus

    return {r.doc: r for r in read_corpus(INVENTED).readouts}


@pytest.mark.fast
def test_a_readout_records_its_people_and_places_as_the_parser_reads_them(invented):
    from embeddings.readouts.facts import readout_facts

    f = readout_facts(invented["nmfa-2023-03-14-norland-veltria-teltalk.txt"])
    assert {"rask", "henrik", "varesh", "lucan"} <= set(f.people)
    assert {"Norland", "Veltria"} <= set(f.places)  # "the Republic of Norland" as a user names it
    # gov.uk's shape leaves its own leader unnamed: a rank, whoever holds it
    g = readout_facts(invented["kgov-2023-05-02-pm-call-with-president-varesh.txt"])
    assert "varesh" in g.people and "rask" not in g.people
    assert any(u.startswith("Prime Minister|") for u in g.unnamed)


@pytest.mark.fast
def test_the_index_table_keeps_them_so_search_never_parses_for_them(tmp_path):
    from embeddings import engine
    from standin import StandinEncoder

    engine.build(INVENTED, tmp_path / "index", encoder=StandinEncoder())
    from embeddings.index.store import load_index

    table = load_index(tmp_path / "index", files=False).table
    i = table.docs.index("vpres-2023-10-03-varesh-zeldorf-telephone-conversation.txt")
    assert {"varesh", "zeldorf"} <= set(table.people[i]) and {"Veltria", "Zandria"} <= set(table.places[i])
    assert table.names[i].startswith("Varesh – Zeldorf")
    assert len(table.kinds[i]) == table.points[i]


@pytest.mark.fast
def test_a_question_names_people_of_this_corpus_and_a_titled_stranger_is_no_one():
    from embeddings.search.query import CorpusNames, read_question

    names = CorpusNames.of([["henrik", "rask"], ["lucan", "varesh"]], [["Norland", "Veltria", "Japan"]])
    q = read_question("What did Varesh and Rask agree about herring quotas in March 2023?", names)
    assert [x.surname for x in q.leaders] == ["Varesh", "Rask"] and not q.unknown_people
    assert q.topic_terms == ["herring", "quota"]  # names, the date and the talk words set aside
    q = read_question("What did President Okafor say about fisheries?", names)
    assert q.unknown_people == ["President Okafor"]
    q = read_question("What did President Putin say about fisheries?", names)  # the built-in table knows him
    assert not q.unknown_people and [x.surname for x in q.leaders] == ["Putin"]
    q = read_question("Did Norland raise energy prices with Veltria?", names)
    assert q.countries == ["Norland", "Veltria"] and q.topic_terms == ["energi", "price"]
    # without the corpus's names, an invented person is not read as one (the table does not know him)
    assert read_question("What did Varesh say?").leaders == []


@pytest.mark.fast
@pytest.mark.parametrize("question, kind", [
    ("How many scholarships will Norland offer?", "NUMBER"), ("How much will the rail link cost?", "NUMBER"),
    ("How long did the call last?", "DURATION"), ("When will the summit be held?", "DATE"),
    ("On what date is the council summit?", "DATE"), ("Where will the summit take place?", "PLACE"),
    ("In which city will they meet?", "PLACE"), ("Who was appointed envoy?", "PERSON"),
    ("What did they say about herring?", None),
])
def test_a_question_says_which_kind_of_answer_it_asks_for(question, kind):
    from embeddings.readouts import facts

    assert facts.asks_for(question) == (getattr(facts, kind) if kind else 0)


@pytest.mark.fast
def test_a_point_says_which_kinds_of_answer_it_holds():
    from embeddings.readouts.facts import DATE, DURATION, NUMBER, PERSON, PLACE, point_kinds

    k = point_kinds("Norland would offer 150 scholarships a year, starting in the autumn.")
    assert k & NUMBER and not k & DURATION
    assert point_kinds("The talk lasted for about 35 minutes.") & DURATION
    assert point_kinds("The summit will be held on June 12 and 13.") & DATE
    assert point_kinds("President Varesh invited him to visit Castavel.") & PLACE
    assert point_kinds("They welcomed the appointment of Ambassador Selmi.") & PERSON
    assert point_kinds("The two leaders exchanged views on the regional situation.") == 0


# --- the real model, the real CLI ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def invented_answers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("invented")
    r = run_cli(["ask", "--corpus", str(INVENTED), "--index", str(tmp / "index"), "--json", "-k", "3"], cli_env(tmp),
                input="\n".join(q["q"] for q in QUESTIONS) + "\n")
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


@pytest.mark.e2e
def test_questions_on_invented_readouts_are_answered_from_the_right_readout(invented_answers):
    answerable = [(q, a) for q, a in zip(QUESTIONS, invented_answers) if q["doc"]]
    assert len(answerable) >= 10
    for q, a in answerable:
        assert a["found"] is True, q["q"]
        top = a["hits"][0]
        assert top["doc"] == q["doc"] and q["answer_contains"] in top["text"], (q["q"], top["doc"], top["point"])


@pytest.mark.e2e
def test_a_leader_not_in_the_readout_or_in_no_readout_gets_nothing_found(invented_answers):
    """"What did Zeldorf say about the herring quota?" is not answered by the Rask-Varesh talk that
    has the quota; "President Okafor" is no one in this corpus."""
    refused = [(q, a) for q, a in zip(QUESTIONS, invented_answers) if not q["doc"]]
    kinds = {q["kind"] for q, _ in refused}
    assert kinds == {"wrong-leader", "unknown-person"}
    for q, a in refused:
        assert a["found"] is False, (q["q"], a["hits"][0]["doc"], a["hits"][0]["confidence"])
        assert a["hits"], "the nearest points are still listed"
        assert a["hits"][0]["confidence"] < Settings().threshold


@pytest.mark.e2e
def test_the_topic_decides_found_not_the_names(bundled_index, session_tmp):
    """Both names are in every point of the seed's talk; a topic it never mentions is not found."""
    from conftest import ask_json

    asked = ["Did Kishida and Putin discuss fishing quotas?", "What did Kishida and Putin say about grave visits?",
             "Did Kishida and Putin talk about the Zaporizhzhia nuclear plant?"]
    a = ask_json(["--index", str(bundled_index), "-k", "1"], asked, cli_env(session_tmp))
    assert [x["found"] for x in a] == [False, True, False]
    assert a[1]["hits"][0]["point"] == 5 and a[1]["hits"][0]["confidence"] > a[0]["hits"][0]["confidence"]


@pytest.mark.e2e
def test_a_question_of_how_many_prefers_the_point_with_the_number(tmp_path):
    """Two points on scholarships; "how many" is answered by the one that holds a number."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "talk.txt").write_text(
        "Norland-Veltria Telephone Talk\n\nMarch 14, 2023\n\n"
        "On March 14, Mr. RASK Henrik, Prime Minister of the Republic of Norland, held a telephone talk with "
        "Mr. VARESH Lucan, President of the Republic of Veltria.\n\n"
        "1. The two leaders discussed scholarships for Veltrian students at universities in Norland and agreed "
        "that exchanges of students are a foundation of the friendship between the two countries.\n"
        "2. Prime Minister Rask announced that Norland would offer 150 scholarships a year to Veltrian students.\n"
        "3. The two leaders exchanged views on the regional situation.\n"
    )
    r = run_cli(["ask", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--json", "-k", "2",
                 "How many scholarships did Norland offer Veltrian students?"], cli_env(tmp_path))
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["found"] is True and a["hits"][0]["point"] == 2, a["hits"]
