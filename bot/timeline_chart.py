"""A timeline drawn as a PNG: a time axis, one mark per readout, a row per counterpart.

Rows are the other country of each readout (the country most of the readouts share is "home";
Japan for MOFA's), or who spoke when every readout is between the same two countries (the grave
visits of three Japan-Russia talks: Kono & Lavrov, Abe, Kishida). Each mark is labelled with a
few words of its point (embeddings/search/excerpt.py). Labels are placed one by one, most relevant
first, right of their mark or staggered above and below it within the row (left of it only at
the right edge); a label that would overlap another label or come near another mark is left
out (or shortened first), and the chart says how many were, so 2 marks and 200
both stay readable. The image is at most 1600 x 1000 pixels (Telegram shows it whole).

matplotlib is imported here only, through its object API and the Agg canvas: no pyplot, no
global backend, so a bot can draw in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple
from pathlib import Path

from bot.timeline_text import entry_name
from embeddings.search.timeline import Timeline, TimelineEntry

log = logging.getLogger(__name__)

DPI = 100
MAX_WIDTH, MAX_HEIGHT = 16.0, 10.0  # inches at DPI: 1600 x 1000 pixels
MAX_ROWS = 18  # past this, the smallest rows share one "other" row
LABEL_PT = 8.0
ROW_LABEL_CHARS = 26
CLEARANCE = 20.0  # pixels between a label and any other mark, so that each label's nearest mark is its own
LABEL_GAP = 12.0  # pixels between labels side by side: "label • label" must not read as one
DATED_LABELS = 12  # up to this many marks, each label starts with its day


class ChartError(Exception):
    """A chart that cannot be written; the message is one line saying where and what to do."""


class Box(NamedTuple):
    """A label's box on the chart, in pixels (matplotlib's display coordinates)."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Drawn:
    """What a chart shows, for the caller's message and for tests."""

    marks: int
    labelled: int
    rows: int
    by: str  # "country" or "speaker"
    width: int  # pixels
    height: int
    undated: int = 0
    boxes: list[Box] = field(default_factory=list)  # the labels'

    def describe(self) -> str:
        unlabelled = self.marks - self.labelled
        text = f"{self.marks} mark{'s' if self.marks != 1 else ''} in {self.rows} row{'s' if self.rows != 1 else ''}"
        if unlabelled:
            text += f", {unlabelled} left unlabelled for space"
        return text


def row_keys(entries: list[TimelineEntry], topic: str = "") -> tuple[str, list[str]]:
    """("country", each entry's other country) or ("speaker", who spoke in each point). The
    other country is not the home one (in most of the readouts), nor one the topic names: on
    "Ukraine", a UK-Ukraine call goes in the United Kingdom's row, a Japan-Ukraine talk in Ukraine's."""
    from embeddings.readouts.aliases import countries_in

    counts = Counter(c for e in entries for c in set(e.countries))
    home = counts.most_common(1)[0][0] if counts and counts.most_common(1)[0][1] * 2 > len(entries) else None
    named = set(countries_in(topic))
    keys = []
    for e in entries:
        others = [c for c in e.countries if c != home]
        keys.append(next((c for c in others if c not in named), None) or (others[0] if others else home)
                    or "country not named")
    pairs = {tuple(sorted(e.countries)) for e in entries}
    if len(pairs) == 1:
        return "speaker", [_speaker(e) for e in entries]
    return "country", keys


def _speaker(e: TimelineEntry) -> str:
    """Who spoke in the point: the first one it names; for "the two ministers", both of the
    talk's participants ("Kono & Lavrov"), since neither said it alone."""
    named = [s for s in e.speakers if not s.lower().startswith("the ")]
    if named:
        return named[0]
    if e.participants:
        return " & ".join(p.split()[-1] for p in e.participants[:2])
    return "speaker not named"


def _rows(keys: list[str], dates: list[dt.date]) -> tuple[list[str], list[int]]:
    """Row names, top to bottom in the order each first appears in time, and each mark's row;
    past MAX_ROWS, the rows with the fewest marks go into one last row."""
    first: dict[str, dt.date] = {}
    for k, d in zip(keys, dates):
        first[k] = min(first.get(k, d), d)
    counts = Counter(keys)
    names = sorted(first, key=lambda k: (first[k], k))
    if len(names) > MAX_ROWS:
        keep = set(sorted(names, key=lambda k: (-counts[k], first[k], k))[: MAX_ROWS - 1])
        merged = [k for k in names if k not in keep]
        other = f"{len(merged)} others"
        keys = [k if k in keep else other for k in keys]
        names = [k for k in names if k in keep] + [other]
    at = {k: i for i, k in enumerate(names)}
    return names, [at[k] for k in keys]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;:") + "…"


def _month(d: dt.date) -> str:
    return f"{d:%b} {d.year}"


def draw(tl: Timeline) -> tuple[bytes, Drawn]:
    """The chart of `tl`'s dated entries as PNG bytes, and what it shows."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    entries = tl.dated
    if not entries:
        raise ChartError("no chart: none of the readouts found has a date to place it on a time axis")
    dates = [dt.date.fromisoformat(e.date) for e in entries]  # type: ignore[arg-type]
    by, keys = row_keys(entries, tl.topic)
    names, row_of = _rows(keys, dates)
    n, rows = len(entries), len(names)

    width = MAX_WIDTH if n > 6 else 12.0
    top_in, bottom_in = 0.95, 0.85
    row_in = min(1.1, max(0.34, (MAX_HEIGHT - top_in - bottom_in) / rows))
    height = min(MAX_HEIGHT, top_in + bottom_in + max(rows * row_in, 1.2))
    fig = Figure(figsize=(width, height), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    shown = [_short(k, ROW_LABEL_CHARS) for k in names]
    left = min(0.3, max(0.07, (max(len(s) for s in shown) * 6.6 + 30) / (width * DPI)))
    fig.subplots_adjust(left=left, right=0.98, top=1 - top_in / height, bottom=bottom_in / height)
    ax = fig.add_subplot(1, 1, 1)

    first, last = min(dates), max(dates)
    spread = max((last - first).days, 1)
    pad = dt.timedelta(days=max(120, spread * 0.04))
    ax.set_xlim(mdates.date2num(first - pad), mdates.date2num(last + pad))
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_yticks(range(rows), shown, fontsize=9, parse_math=False)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    for y in range(1, rows):
        ax.axhline(y - 0.5, color="0.93", linewidth=0.8)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    colours = [f"C{i % 10}" for i in range(rows)]
    xs = [mdates.date2num(d) for d in dates]
    size = 46 if n <= 20 else 30 if n <= 80 else 18
    ax.scatter(xs, row_of, s=size, c=[colours[r] for r in row_of], zorder=3, edgecolors="white", linewidths=0.6)

    topic = _short(tl.topic, 70)
    span = _month(first) if first == last else f"{_month(first)} – {_month(last)}"
    fig.suptitle(f"“{topic}” in {n} readout{'s' if n != 1 else ''}, {span}", x=left, ha="left",
                 fontsize=14, y=1 - 0.22 / height, parse_math=False)
    fig.text(left, 1 - 0.55 / height, "one mark per readout: its point on the topic"
             + (", by the other country" if by == "country" else ", by who spoke"),
             fontsize=9, color="0.4", ha="left", va="top", parse_math=False)

    boxes = _label(fig, canvas, ax, entries, xs, row_of, rows, tl.topic)
    notes = []
    if len(boxes) < n:
        notes.append(f"{n - len(boxes)} of {n} marks unlabelled for space (the most relevant are labelled); "
                     "the list has every point")
    if tl.undated:
        notes.append(f"{tl.undated} undated readout{'s' if tl.undated != 1 else ''} not shown")
    if notes:
        fig.text(left, 0.12 / height, "; ".join(notes) + ".", fontsize=8.5, color="0.35", ha="left", va="bottom",
                 parse_math=False)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    w, h = fig.canvas.get_width_height()
    drawn = Drawn(marks=n, labelled=len(boxes), rows=rows, by=by, width=w, height=h, undated=tl.undated,
                  boxes=[Box(b.x0, b.y0, b.x1, b.y1) for b in boxes])
    log.debug("chart of %r: %s", tl.topic, drawn.describe())
    return buf.getvalue(), drawn


def _label(fig, canvas, ax, entries: list[TimelineEntry], xs: list[float], row_of: list[int], rows: int,
           topic: str) -> list:
    """Place the labels, most relevant first: right of the mark, then staggered above and below
    it within its row (with a leader line); left of the mark only where the right edge leaves no
    room, so every label reads as following its mark. A label that fits nowhere without
    overlapping or touching another label, coming near another mark or leaving the chart is left
    out."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    renderer = canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    to_px = ax.transData.transform
    marks = [to_px((x, y)) for x, y in zip(xs, row_of)]
    row_px = area.height / rows
    line = LABEL_PT * DPI / 72 * 1.35
    levels = [0.0]
    step = 1
    while (step * line + line / 2) <= row_px / 2 - 1:
        levels += [step * line, -step * line]
        step += 1
    placed: list = []
    dated_labels = len(entries) <= DATED_LABELS
    r = 5.0  # a mark's radius in pixels, and a little air

    def attempt(i: int, text: str, dy: float, side: int):
        """The label of mark i at offset dy on `side`: (annotation, box, why not) ."""
        ann = ax.annotate(
            text, xy=(xs[i], row_of[i]), xytext=(side * (r + 3) * 72 / DPI, dy * 72 / DPI),
            textcoords="offset points", ha="left" if side > 0 else "right", va="center", fontsize=LABEL_PT,
            color="0.15", zorder=4, annotation_clip=False, parse_math=False,  # "US$ 5 billion" is no formula
            arrowprops=dict(arrowstyle="-", color="0.65", lw=0.6, shrinkA=0, shrinkB=3,
                            relpos=(0 if side > 0 else 1, 0.5)) if dy else None,
        )
        ann.update_positions(renderer)
        box = Text.get_window_extent(ann, renderer)  # the text alone, not its leader line
        box = Bbox.from_extents(box.x0 - 2, box.y0 - 1, box.x1 + 2, box.y1 + 1)
        if box.x1 > fig.bbox.x1 - 4:  # the right margin may take a label's end, not more
            return ann, box, "edge"
        if box.x0 < area.x0 or box.y0 < area.y0 or box.y1 > area.y1:
            return ann, box, "outside"
        spaced = Bbox.from_extents(box.x0 - LABEL_GAP, box.y0, box.x1 + LABEL_GAP, box.y1)
        if any(spaced.overlaps(p) for p in placed) or any(
                j != i and box.x0 - CLEARANCE <= px <= box.x1 + CLEARANCE and box.y0 - r <= py <= box.y1 + r
                for j, (px, py) in enumerate(marks)):
            return ann, box, "crowded"
        return ann, box, None

    for i in sorted(range(len(entries)), key=lambda i: (-entries[i].score, xs[i])):
        for text in _texts(entries[i], topic, dated_labels):
            for dy in levels:
                ann, box, why = attempt(i, text, dy, 1)
                if why == "edge":
                    ann.remove()
                    ann, box, why = attempt(i, text, dy, -1)
                if why is None:
                    placed.append(box)
                    break
                ann.remove()
            else:
                continue
            break
    return placed


def _texts(e: TimelineEntry, topic: str, dated: bool) -> list[str]:
    """A mark's label, and a shorter one without the topic's words for where it does not fit
    ("fisheries quotas for three years", then "three years": the title names the topic)."""
    from embeddings.search.excerpt import without_topic

    full = e.phrase or _short(entry_name(e), 40)
    texts = [full]
    short = without_topic(full, topic)
    if len(short) >= 4 and short != full:
        texts.append(short)
    if dated:  # few marks: the day helps more than the axis's years
        texts = [f"{dt.date.fromisoformat(e.date):%-d %b %Y}: {t}" for t in texts]  # type: ignore[arg-type]
    return texts


def write_chart(tl: Timeline, path: Path) -> Drawn:
    """Draw `tl` and write the PNG to `path`; a path that cannot be written is a ChartError."""
    png, drawn = draw(tl)
    try:
        path.write_bytes(png)
    except OSError as e:
        raise ChartError(f"cannot write the chart to {path} ({e.strerror or e}); give --chart a file you can write") from None
    return drawn
