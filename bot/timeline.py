"""`readout timeline TOPIC`: every readout's point on a topic, oldest first, optionally charted.

A thin click layer: the engine finds the points (embeddings/search/timeline.py), bot/timeline_text.py
prints them, bot/timeline_chart.py draws them. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from bot.advice import explain
from bot.options import corpus_option, fail, index_option, model_option


def _span(start: str | None, end: str | None):
    """The --from/--to filter, or a usage error (exit 2) in one line."""
    from embeddings.search.timeline import DateError, Span, parse_bound

    def bound(option: str, text: str | None, last: bool):
        try:
            return parse_bound(text, end=last) if text else None
        except DateError as e:
            fail(f"{option}: {e}", 2)

    span = Span(bound("--from", start, False), bound("--to", end, True))
    if span.start and span.end and span.start > span.end:
        fail(f"--from {start} is after --to {end}; give the earlier date to --from", 2)
    return span


def check_chart_path(path: Path) -> None:
    """Fail before any searching when the chart surely cannot be written there."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"cannot write the chart to {path}: it is a folder; give --chart a file name such as timeline.png")
    if not folder.is_dir():
        fail(f"cannot write the chart to {path}: the folder {folder} does not exist; create it or give --chart another path")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"cannot write the chart to {path}: permission denied; give --chart a file you can write")


@click.command("timeline")
@corpus_option
@index_option
@model_option
@click.option("--from", "start", metavar="DATE", default=None,
              help="Only readouts from DATE on: YYYY, YYYY-MM or YYYY-MM-DD (its first day).")
@click.option("--to", "end", metavar="DATE", default=None,
              help="Only readouts up to DATE: YYYY, YYYY-MM or YYYY-MM-DD (its last day: --to 2020 is to the end of 2020).")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"topic", "entries": [{"date", "doc", "title", "point", "speakers", "text", "score", ...}]}.')
@click.option("--chart", type=click.Path(path_type=Path), default=None, metavar="FILE.png",
              help="Also draw the timeline as a PNG chart (at most 1600 x 1000 pixels).")
@click.argument("topic", nargs=-1)
def timeline_command(corpus: Path | None, index: Path | None, model: str | None, start: str | None,
                     end: str | None, as_json: bool, chart: Path | None, topic: tuple[str, ...]) -> None:
    """Every readout's point on TOPIC, oldest first, with who said it.

    From each readout, the point that best answers TOPIC, when it is relevant enough to answer
    a question about it (the same test as `readout ask`); readouts with no such point are left
    out. Undated readouts are listed last, and left out when --from or --to is given.
    """
    text = " ".join(topic).strip()
    if not text:
        fail('the topic is empty; give one, e.g. readout timeline "grave visits"', 2)
    span = _span(start, end)
    if chart is not None:
        check_chart_path(chart)
    from bot.cli import _load_engine
    from embeddings.engine import EngineError

    engine = _load_engine(corpus, index, model)
    try:
        tl = engine.timeline(text, span)
    except EngineError as e:
        fail(explain(e))
    if as_json:
        click.echo(json.dumps(tl.to_dict(), ensure_ascii=False))
    else:
        from bot.timeline_text import format_timeline

        click.echo(format_timeline(tl))
    if chart is not None:
        _write_chart(tl, chart)


def _write_chart(tl, path: Path) -> None:
    if not tl.entries:
        click.echo("readout: no chart written: there is nothing to draw", err=True)
        return
    from bot.timeline_chart import ChartError, write_chart

    try:
        drawn = write_chart(tl, path)
    except ChartError as e:
        fail(explain(e))
    click.echo(f"readout: chart written to {path} ({drawn.describe()})", err=True)
