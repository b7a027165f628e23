"""The readouts the bot can show, in the order `/sources` lists them (newest first).

The order is fixed once at start, so "/readout 3" means the same readout for the whole life of
the process. Buttons do not use those numbers: they carry a short hash of the readout's stable
`doc` id, so a button pressed after a restart with a different corpus is recognised as stale
instead of opening the wrong readout.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from embeddings.readouts.naming import readout_name
from embeddings.records import Readout
from embeddings.index.store import ReadoutTable


def readout_key(doc: str) -> str:
    """A 10-character id for a readout's `doc`, short enough for callback data."""
    return hashlib.sha1(doc.encode("utf-8")).hexdigest()[:10]


class Catalog:
    """Readouts numbered 1..N newest first, and looked up by number, doc or key.

    It orders the index's table (doc, title, name, date of every readout) and fetches a readout
    from `readouts` only when one is shown, so a bot over tens of thousands of readouts does not
    hold them all parsed. Readouts are shown by name ("Kishida – Putin telephone talk, 7 October
    2021", readouts/naming.py); an index written before names were kept shows their titles.
    """

    def __init__(self, readouts: Sequence[Readout], table: ReadoutTable | None = None) -> None:
        parsed = table is None
        if table is None:
            table = ReadoutTable.of([ReadoutTable.row(r, r.doc) for r in readouts])
        names: list[str] | None = getattr(table, "names", None)  # None in indexes written before names
        if names is None and parsed:
            names = [readout_name(r) for r in readouts]  # parsed already: name them here
        if names is None or len(names) != len(table.docs):
            names = list(table.titles)
        self._names = [n or t for n, t in zip(names, table.titles)]
        self._readouts = readouts
        dates = [dt.date.fromisoformat(d) if d else None for d in table.dates]
        self._ordered: list[int] = sorted(
            range(len(table.docs)),
            key=lambda i: (
                dates[i] is None,
                -(dates[i].toordinal() if dates[i] else 0),
                self._names[i].casefold(),
                table.docs[i],
            ),
        )
        self._dates = [dates[i] for i in self._ordered]
        self._by_doc = {table.docs[i]: i for i in self._ordered}
        self._by_key = {readout_key(table.docs[i]): i for i in self._ordered}
        self._number = {table.docs[i]: n for n, i in enumerate(self._ordered, start=1)}

    def __len__(self) -> int:
        return len(self._ordered)

    @property
    def readouts(self) -> list[Readout]:
        return [self._readouts[i] for i in self._ordered]

    def by_number(self, number: int) -> Readout | None:
        if 1 <= number <= len(self._ordered):
            return self._readouts[self._ordered[number - 1]]
        return None

    def by_doc(self, doc: str) -> Readout | None:
        i = self._by_doc.get(doc)
        return None if i is None else self._readouts[i]

    def by_key(self, key: str) -> Readout | None:
        i = self._by_key.get(key)
        return None if i is None else self._readouts[i]

    def number_of(self, doc: str) -> int | None:
        return self._number.get(doc)

    def name_of(self, doc: str) -> str | None:
        """The readout's name as /sources shows it (its title in an index without names)."""
        i = self._by_doc.get(doc)
        return None if i is None else self._names[i]

    def page(self, page: int, per_page: int) -> list[tuple[int, Readout]]:
        """The (number, readout) pairs on 0-based `page`; empty past the end."""
        start = page * per_page
        return [(start + n + 1, self._readouts[i]) for n, i in enumerate(self._ordered[start : start + per_page])]

    def pages(self, per_page: int) -> int:
        return max(1, -(-len(self._ordered) // per_page))

    def date_span(self) -> tuple[str, str] | None:
        """ISO dates of the oldest and newest dated readouts, for /start."""
        dates = sorted(d for d in self._dates if d is not None)
        if not dates:
            return None
        return dates[0].isoformat(), dates[-1].isoformat()
