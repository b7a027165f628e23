"""The index's readout shelf (one JSON line a readout, read and parsed on use) and its table."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from embeddings.records import Participant, Point, Readout
from embeddings.index.store import ReadoutShelf, readout_line


def _readout(i: int) -> Readout:
    return Readout(
        doc=f"talks/{i}.md", title=f"Talk {i} — Japan–Россия", date=dt.date(2020, 1, 1 + i), source=None,
        participants=[Participant("KISHIDA Fumio", "Kishida", "Prime Minister", "Japan")],
        preamble="On the day,\nthey talked.",
        points=[Point(1, 1, f"First point of {i},\nover two lines.", ["Prime Minister Kishida"]),
                Point(None, 2, "“Quoted” text\twith a tab.")],
    )


@pytest.mark.fast
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


@pytest.mark.e2e
def test_an_index_whose_table_predates_the_speakers_column_still_answers_and_gains_it(tmp_path):
    """Indexes written before the table kept each point's speakers parse the readouts for the
    speaker prior instead; the next update writes the column."""
    import json
    import shutil

    from conftest import BUNDLED
    from embeddings.engine import Engine, build
    from embeddings.index.store import load_index

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


@pytest.mark.fast
def test_table_rows_are_named_and_the_table_keeps_its_columns():
    """A row is read by name (the countries were once taken as `row[-1]`, which had become the
    speakers); the table it makes has the columns table.json has always had, so old indexes load."""
    from dataclasses import asdict

    from embeddings.index.store import ReadoutTable, TableRow

    readouts = [_readout(i) for i in range(3)]
    rows = [ReadoutTable.row(r, f"file{i}.md") for i, r in enumerate(readouts)]
    assert rows[0].countries == ["Japan"]  # from the title; "Россия" is no alias
    assert rows[0].speakers == ["Prime Minister Kishida", ""]
    assert (rows[0].doc, rows[0].file, rows[0].date, rows[0].points, rows[0].preamble) == (
        "talks/0.md", "file0.md", "2020-01-01", 2, False)
    with pytest.raises(TypeError):
        rows[0][-1]  # no positions to get wrong

    table = ReadoutTable.of(rows)
    assert list(table.__dict__) == ["docs", "files", "titles", "dates", "points", "preamble", "countries", "speakers",
                                    "names", "people", "places", "unnamed", "kinds"]
    assert rows[0].people == ["kishida", "fumio"] and rows[0].places == ["Japan"] and len(rows[0].kinds) == 2
    assert table.countries == [r.countries for r in rows] and table.speakers == [r.speakers for r in rows]
    again = ReadoutTable.from_dict(json.loads(json.dumps(table.__dict__)))  # as written to and read from table.json
    assert [again.row_of(i) for i in range(3)] == rows
    assert again.row_of(1, "renamed.md") == TableRow(**{**asdict(rows[1]), "file": "renamed.md"})
    assert ReadoutTable.of([]).docs == [] and ReadoutTable.of([]).speakers == []

    old = {k: v for k, v in table.__dict__.items() if k != "speakers"}  # a table from before the column
    assert ReadoutTable.from_dict(old).row_of(0) is None
    older = {k: v for k, v in table.__dict__.items() if k not in ("names", "people", "places", "unnamed", "kinds")}
    assert ReadoutTable.from_dict(older).row_of(0) is None  # from before who-and-where: rows made again
