"""The readouts the bot can show, in the order `/sources` lists them (newest first).

The order is fixed once at start, so "/readout 3" means the same readout for the whole life of
the process. Buttons do not use those numbers: they carry a short hash of the readout's stable
`doc` id, so a button pressed after a restart with a different corpus is recognised as stale
instead of opening the wrong readout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from embeddings.records import Readout


def readout_key(doc: str) -> str:
    """A 10-character id for a readout's `doc`, short enough for callback data."""
    return hashlib.sha1(doc.encode("utf-8")).hexdigest()[:10]


class Catalog:
    """Readouts numbered 1..N newest first, and looked up by number, doc or key."""

    def __init__(self, readouts: Iterable[Readout]) -> None:
        self._ordered: list[Readout] = sorted(
            readouts,
            key=lambda r: (
                r.date is None,
                -(r.date.toordinal() if r.date else 0),
                r.title.casefold(),
                r.doc,
            ),
        )
        self._by_doc = {r.doc: r for r in self._ordered}
        self._by_key = {readout_key(r.doc): r for r in self._ordered}
        self._number = {r.doc: i for i, r in enumerate(self._ordered, start=1)}

    def __len__(self) -> int:
        return len(self._ordered)

    @property
    def readouts(self) -> list[Readout]:
        return list(self._ordered)

    def by_number(self, number: int) -> Readout | None:
        if 1 <= number <= len(self._ordered):
            return self._ordered[number - 1]
        return None

    def by_doc(self, doc: str) -> Readout | None:
        return self._by_doc.get(doc)

    def by_key(self, key: str) -> Readout | None:
        return self._by_key.get(key)

    def number_of(self, doc: str) -> int | None:
        return self._number.get(doc)

    def page(self, page: int, per_page: int) -> list[tuple[int, Readout]]:
        """The (number, readout) pairs on 0-based `page`; empty past the end."""
        start = page * per_page
        return [(start + i + 1, r) for i, r in enumerate(self._ordered[start : start + per_page])]

    def pages(self, per_page: int) -> int:
        return max(1, -(-len(self._ordered) // per_page))

    def date_span(self) -> tuple[str, str] | None:
        """ISO dates of the oldest and newest dated readouts, for /start."""
        dates = sorted(r.date for r in self._ordered if r.date is not None)
        if not dates:
            return None
        return dates[0].isoformat(), dates[-1].isoformat()
