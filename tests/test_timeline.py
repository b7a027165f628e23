"""`readout timeline`: every readout's point on a topic, oldest first, with a chart.

The real CLI and the real model on a small corpus written here: invented countries (Testland and
its partners) and leaders, five readouts with a point on lighthouse repairs (one undated), one
where "repairs" means mending relations, and one about something else entirely. The ../shared
check (grave visits in the real readouts) is marked `shared`.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUNDLED, ROOT, cli_env, run_cli

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]

# (file, title, date or None, the other leader, points); point texts name who speaks
READOUTS = [
    ("a.txt", "Testland-Exampleland Relations", "2017-03-14", "Prime Minister BETA Bruno of Exampleland", [
        "The two leaders discussed cooperation on renewable energy and offshore wind farms.",
        "President ALPHA Anna raised the repair of the old lighthouses on the shared coast, and Prime Minister "
        "BETA Bruno agreed to send engineers to repair them.",
        "The two leaders agreed to meet again next year.",
    ]),
    ("b.txt", "Testland-Sampleland Relations", "2019-06-02", "Prime Minister GAMMA Greta of Sampleland", [
        "Prime Minister GAMMA Greta expressed her thanks for the support after the floods.",
        "The two leaders discussed a new rail link between the two capitals.",
        "President ALPHA Anna proposed joint repairs of the lighthouses along the northern strait, "
        "where the lighthouse lamps have failed.",
    ]),
    ("c.txt", "Testland-Demoland Relations", "2020-12-30", "Prime Minister DELTA Dora of Demoland", [
        "The two leaders agreed to fund lighthouse repairs on the islands before the winter storms.",
        "They exchanged views on student exchanges and scholarships.",
    ]),
    ("d.txt", "Testland-Dummyland Relations", "2020-02-10", "Prime Minister EPSILON Emil of Dummyland", [
        "The two leaders reviewed customs procedures at the shared border.",
        "Prime Minister EPSILON Emil thanked President ALPHA Anna for the repaired lighthouse at the "
        "harbour entrance and asked for help with repairs to two more lighthouses.",
    ]),
    ("e.txt", "Testland-Stubland Relations", "2022-08-09", "Prime Minister ZETA Zoran of Stubland", [
        "The two leaders stressed that repairs to the trust between the two governments would take time "
        "after the dispute over the election.",
        "They agreed to resume regular consultations between their foreign ministries.",
    ]),
    ("f.txt", "Testland-Mockland Relations", "2021-05-30", "Prime Minister ETA Elke of Mockland", [
        "The two leaders discussed pandemic supplies and vaccine logistics.",
        "They agreed to share cold-chain storage capacity.",
    ]),
    ("g.txt", "Testland-Fakeland Relations", None, "Prime Minister THETA Theo of Fakeland", [
        "President ALPHA Anna and Prime Minister THETA Theo agreed on a programme to repair lighthouses "
        "along the coast of both countries.",
        "They discussed tourism visas for short stays.",
    ]),
]
TOPIC = "lighthouse repairs"
WITH_TOPIC = ["a.txt", "b.txt", "d.txt", "c.txt", "g.txt"]  # oldest first, the undated one last


def readout_text(title: str, iso: str | None, other: str, points: list[str]) -> str:
    lines = [title, ""]
    when = ""
    if iso:
        y, m, d = (int(x) for x in iso.split("-"))
        lines += [f"{MONTHS[m - 1]} {d}, {y}", ""]
        when = f"On {MONTHS[m - 1]} {d}, commencing at 10:00 a.m. for approximately 30 minutes, "
    lines += [f" {when}President ALPHA Anna of Testland held a telephone talk with {other}. An overview of "
              "the talk is as follows.", ""]
    lines += [f"  {i}. {t}" for i, t in enumerate(points, start=1)]
    return "\n".join(lines) + "\n"


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, title, iso, other, points in READOUTS:
        (folder / name).write_text(readout_text(title, iso, other, points), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tl_env(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("timeline")
    corpus = write_corpus(tmp / "corpus")
    index = tmp / "index"
    env = cli_env(tmp)
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    return {"tmp": tmp, "env": env, "args": ["--corpus", str(corpus), "--index", str(index)]}


def timeline(tl_env: dict, *args: str) -> subprocess.CompletedProcess:
    return run_cli(["timeline", *tl_env["args"], *args], tl_env["env"])


def entries(tl_env: dict, *args: str) -> list[dict]:
    r = timeline(tl_env, "--json", *args)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"topic", "entries"}
    return out["entries"]


# --- ordering and content -------------------------------------------------------------------------


@pytest.mark.e2e
def test_every_readout_on_the_topic_oldest_first_and_undated_last(tl_env) -> None:
    got = entries(tl_env, TOPIC)
    assert [e["doc"] for e in got] == WITH_TOPIC
    assert [e["date"] for e in got] == ["2017-03-14", "2019-06-02", "2020-02-10", "2020-12-30", None]
    assert [e["point"] for e in got] == [2, 3, 2, 1, 1]
    for e in got:
        assert {"date", "doc", "title", "point", "speakers", "text", "score"} <= set(e)
        assert "lighthouse" in e["text"].lower()
        assert 0.37 <= e["score"] <= 1
        assert e["title"].startswith("Testland-")
    assert "President Alpha" in got[0]["speakers"] and "Prime Minister Beta" in got[0]["speakers"]


@pytest.mark.e2e
def test_a_word_in_another_sense_and_other_topics_are_left_out(tl_env) -> None:
    docs = [e["doc"] for e in entries(tl_env, TOPIC)]
    assert "e.txt" not in docs  # "repairs to the trust between the two governments"
    assert "f.txt" not in docs


@pytest.mark.e2e
def test_text_lists_one_line_per_readout_and_its_sentence(tl_env) -> None:
    r = timeline(tl_env, TOPIC)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{TOPIC}: 5 of 7 readouts, 2017-03-14 to 2020-12-30 (1 undated, listed last)"
    heads = [l for l in lines[2:] if not l.startswith("    ")]
    # each readout by name, its day once (the title where the index keeps no names)
    assert heads[0].startswith(("2017-03-14  Alpha – Beta telephone talk, point 2 — President Alpha",
                                "2017-03-14  Testland-Exampleland Relations, point 2 — President Alpha"))
    assert heads[-1].startswith(("undated     Alpha – Theta telephone talk, point 1",
                                 "undated     Testland-Fakeland Relations, point 1"))
    assert len(heads) == 5
    # the sentence shown is the one about lighthouses, not the point's first
    b = lines.index(next(l for l in heads if l.startswith("2019-06-02")))
    assert "lighthouses along the northern strait" in " ".join(lines[b + 1:b + 3])


# --- date filters ---------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("args,docs", [
    (["--from", "2020", "--to", "2020"], ["d.txt", "c.txt"]),  # --to 2020: to 31 December
    (["--from", "2019-06"], ["b.txt", "d.txt", "c.txt"]),
    (["--to", "2019-06"], ["a.txt", "b.txt"]),  # the end of June 2019
    (["--from", "2019-06-03", "--to", "2020-02-10"], ["d.txt"]),
    (["--to", "2016"], []),
])
def test_date_filters_are_inclusive_and_drop_undated(tl_env, args, docs) -> None:
    assert [e["doc"] for e in entries(tl_env, TOPIC, *args)] == docs


@pytest.mark.e2e
@pytest.mark.parametrize("args,words", [
    (["--from", "2020-13"], "--from"),
    (["--to", "yesterday"], "--to"),
    (["--from", "2021-02-30"], "--from"),
    (["--from", "2021", "--to", "2020"], "after"),
])
def test_a_bad_date_is_a_one_line_usage_error(tl_env, args, words) -> None:
    r = timeline(tl_env, TOPIC, *args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("readout: error: ") and words in r.stderr and "Traceback" not in r.stderr


# --- nothing found --------------------------------------------------------------------------------


@pytest.mark.e2e
def test_nothing_on_the_topic_says_so_and_exits_0(tl_env) -> None:
    topic = "chess tournament results"
    assert entries(tl_env, topic) == []
    r = timeline(tl_env, topic, "--chart", str(tl_env["tmp"] / "none.png"))
    assert r.returncode == 0, r.stderr
    assert "No point in the 7 readouts is about" in r.stdout
    assert "no chart written" in r.stderr
    assert not (tl_env["tmp"] / "none.png").exists()


# --- the chart ------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.e2e
def test_chart_is_a_png_within_1600_by_1000(tl_env) -> None:
    out = tl_env["tmp"] / "lighthouses.png"
    r = timeline(tl_env, TOPIC, "--chart", str(out))
    assert r.returncode == 0, r.stderr
    w, h = png_size(out.read_bytes())
    assert w <= 1600 and h <= 1000
    assert f"chart written to {out} (4 marks in 4 rows)" in r.stderr  # the undated one is not on it


@pytest.mark.e2e
def test_chart_that_cannot_be_written_is_one_line_and_exit_1(tl_env) -> None:
    r = timeline(tl_env, TOPIC, "--chart", str(tl_env["tmp"] / "no-such-folder" / "x.png"))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = timeline(tl_env, TOPIC, "--chart", str(tl_env["tmp"]))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "is a folder" in r.stderr


@pytest.mark.e2e
def test_without_chart_matplotlib_is_not_imported(tl_env) -> None:
    code = ("import sys; from bot.cli import cli\n"
            "try:\n    cli(sys.argv[1:], prog_name='readout', standalone_mode=False)\n"
            "finally:\n    print('matplotlib' in sys.modules, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code, "timeline", *tl_env["args"], TOPIC],
                       capture_output=True, text=True, env=tl_env["env"], cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "False"


# --- in-process units: dates, excerpts, chart layout ----------------------------------------------


@pytest.mark.fast
def test_date_bounds() -> None:
    import datetime as dt

    from embeddings.search.timeline import DateError, Span, parse_bound

    assert parse_bound("2020") == dt.date(2020, 1, 1)
    assert parse_bound("2020", end=True) == dt.date(2020, 12, 31)
    assert parse_bound("2020-02", end=True) == dt.date(2020, 2, 29)
    assert parse_bound("2021-2", end=True) == dt.date(2021, 2, 28)
    assert parse_bound("2020-12", end=True) == dt.date(2020, 12, 31)
    assert parse_bound("2020-08-31", end=True) == dt.date(2020, 8, 31)
    for bad in ("20", "2020/01", "2020-00", "2020-02-30", "last year", ""):
        with pytest.raises(DateError):
            parse_bound(bad)
    span = Span(dt.date(2020, 1, 1), None)
    assert span.keeps("2020-01-01") and not span.keeps("2019-12-31") and not span.keeps(None)
    assert Span().keeps(None)


@pytest.mark.fast
def test_key_sentence_and_phrase() -> None:
    from embeddings.search.excerpt import around, key_phrase, key_sentence, sentences

    point = ("Issue of concluding a peace treaty\n• With regard to the joint economic activities, a business "
             "mission will be sent to the islands.\n• The two ministers welcomed that humanitarian measures, "
             "including the holding of a grave visit by airplane for the second straight year, are realized.")
    s = key_sentence(point, "grave visits")
    assert s.startswith("The two ministers welcomed") and "grave visit" in s
    assert key_phrase(s, "grave visits") == "grave visit by airplane"
    assert key_phrase("The two leaders confirmed that feasibility studies for the rail link would be "
                      "completed.", "grave visits") == "feasibility studies for the rail link"
    assert sentences("Mr. Abe met U.S. President Trump. They talked.") == ["Mr. Abe met U.S. President Trump.",
                                                                         "They talked."]
    long = "word " * 100 + "about North Korea."
    cut = around(long, "North Korea", 120)
    assert len(cut) <= 120 and "North Korea" in cut and cut.startswith("…")


def fake_timeline(n: int, rows: int):
    import datetime as dt
    import random

    from embeddings.search.timeline import Timeline, TimelineEntry

    rng = random.Random(n)
    phrases = ["fisheries quotas for three years", "fisheries quotas and catch reporting",
               "joint patrols of the fishing grounds", "a larger share of the herring catch"]
    out = []
    for i in range(n):
        d = dt.date(2001, 1, 1) + dt.timedelta(days=rng.randrange(8000))
        country = f"Land{rng.randrange(rows)}"
        out.append(TimelineEntry(
            date=d.isoformat(), doc=f"{i}.txt", title=f"Testland-{country} Relations", point=1, position=1,
            preamble=False, speakers=["President Alpha"], participants=["President Alpha"],
            countries=["Testland", country], text="-", sentence="-", phrase=rng.choice(phrases),
            score=rng.random()))
    out.sort(key=lambda e: e.date)
    return Timeline("fisheries quotas", out, n)


@pytest.mark.fast
@pytest.mark.parametrize("n,rows", [(2, 2), (10, 4), (60, 25), (200, 30)])
def test_chart_labels_never_overlap_and_the_size_holds(n, rows) -> None:
    from bot.timeline_chart import MAX_ROWS, draw

    png, drawn = draw(fake_timeline(n, rows))
    w, h = png_size(png)
    assert (w, h) == (drawn.width, drawn.height) and w <= 1600 and h <= 1000
    assert drawn.marks == n and drawn.rows <= MAX_ROWS
    boxes = drawn.boxes
    assert len(boxes) == drawn.labelled
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0, (a, b)
        assert 0 <= a.x0 and a.x1 <= w and 0 <= a.y0 and a.y1 <= h
    if n <= 10:
        assert drawn.labelled == n  # few marks: every one labelled


@pytest.mark.fast
def test_rows_by_speaker_when_every_readout_has_the_same_pair() -> None:
    from bot.timeline_chart import row_keys

    tl = fake_timeline(3, 1)
    for e, who in zip(tl.entries, ["Foreign Minister Kono", "Prime Minister Abe", "Prime Minister Kishida"]):
        e.speakers = [who]
    assert row_keys(tl.entries) == ("speaker", ["Foreign Minister Kono", "Prime Minister Abe", "Prime Minister Kishida"])
    tl.entries[0].countries = ["Testland", "Otherland"]
    by, keys = row_keys(tl.entries)
    assert by == "country" and keys[0] == "Otherland"


# --- the real readouts ----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.shared
def test_grave_visits_in_the_shared_readouts(shared, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(shared / "readouts", corpus)
    for f in BUNDLED.iterdir():
        if f.is_file():
            shutil.copy(f, corpus / f.name)
    env = cli_env(tmp_path)
    r = run_cli(["timeline", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--json", "grave visits"], env)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)["entries"]
    assert [(e["date"], e["doc"], e["point"]) for e in got] == [
        ("2018-07-31", "mofa-2018-07-31-japan-russia-fm-meeting.txt", 2),
        ("2020-08-31", "mofa-2020-08-31-japan-russia-teltalk.txt", 3),
        ("2021-10-07", "000_f357f723c89b56b9.txt", 5),
    ]
    for e in got:
        assert "grave visit" in e["text"]
        assert "former island residents" in e["text"] or "Four Northern Islands" in e["text"]
        assert "grave threat" not in e["text"] and "grave concern" not in e["text"]
