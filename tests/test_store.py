"""The index's readout shelf (one JSON line a readout, read and parsed on use) and its table."""

from __future__ import annotations

import datetime as dt

import pytest

from embeddings.records import Participant, Point, Readout
from embeddings.store import ReadoutShelf, readout_line


def _readout(i: int) -> Readout:
    return Readout(
        doc=f"talks/{i}.md", title=f"Talk {i} — Japan–Россия", date=dt.date(2020, 1, 1 + i), source=None,
        participants=[Participant("KISHIDA Fumio", "Kishida", "Prime Minister", "Japan")],
        preamble="On the day,\nthey talked.",
        points=[Point(1, 1, f"First point of {i},\nover two lines.", ["Prime Minister Kishida"]),
                Point(None, 2, "“Quoted” text\twith a tab.")],
    )


def test_shelf_maps_lines_and_parses_on_use(tmp_path):
    readouts = [_readout(i) for i in range(5)]
    lines = [readout_line(r) for r in readouts]
    (tmp_path / "r.jsonl").write_bytes(b"".join(lines))
    for ends in (ReadoutShelf.line_ends(lines), None):  # stored line ends, or found by scanning
        shelf = ReadoutShelf.open(tmp_path / "r.jsonl", ends)
        assert len(shelf) == 5
        assert [shelf.raw(i) for i in range(5)] == lines
        assert shelf[3] == readouts[3] and shelf[-1] == readouts[4]
        assert list(shelf) == readouts
        with pytest.raises(IndexError):
            shelf[5]


def test_an_index_whose_table_predates_the_speakers_column_still_answers_and_gains_it(tmp_path):
    """Indexes written before the table kept each point's speakers parse the readouts for the
    speaker prior instead; the next update writes the column."""
    import json
    import shutil

    from conftest import BUNDLED
    from embeddings.engine import Engine, build
    from embeddings.store import load_index

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(BUNDLED, corpus)
    build(corpus, index)
    question = "What did Kishida say about grave visits?"
    expected = Engine.load(corpus, index).ask(question, 3)
    table_file = index / "current" / "table.json"
    table = json.loads(table_file.read_text())
    assert any("Kishida" in s for points in table["speakers"] for s in points)
    del table["speakers"]
    table_file.write_text(json.dumps(table))

    old = load_index(index)
    assert old.table.speakers is None
    assert [old.point_speakers(p) for p in range(old.n_points)] == [
        "\n".join(p.speakers) for r in old.readouts for p in r.points]
    again = Engine.load(corpus, index).ask(question, 3)
    assert [(h.doc, h.point, h.score) for h in again.hits] == [(h.doc, h.point, h.score) for h in expected.hits]

    (corpus / "extra.txt").write_text("Talk on tides\n\nMarch 3, 2031\n\n1. The leaders discussed tides.\n")
    build(corpus, index)
    assert load_index(index).table.speakers is not None
