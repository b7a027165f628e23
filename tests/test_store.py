"""The index's readout shelf: one JSON line a readout, mapped and parsed on use."""

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
