"""Options every `readout` command shares, and the one-line failure they all end in."""

from __future__ import annotations

import sys
from pathlib import Path

import click

corpus_option = click.option(
    "--corpus", type=click.Path(path_type=Path), default=None,
    help="Folder of readouts (.txt, .md, .jsonl). Default: $READOUT_CORPUS, else the bundled corpus.",
)
index_option = click.option(
    "--index", type=click.Path(path_type=Path), default=None,
    help="Index folder, built first if missing or stale. Default: $READOUT_INDEX, else a folder per corpus in your cache directory.",
)
model_option = click.option(
    "--model", default=None, metavar="NAME_OR_PATH",
    help="A sentence-transformers model name or folder. Default: the index's model, else all-MiniLM-L6-v2.",
)


def plural(n: int, word: str) -> str:
    """"1 readout", "2 readouts", "1,200 points"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def counted_points(report) -> str:
    """A build's points as `readout list` counts them (numbered points), and the preambles beside."""
    pre = report.preambles
    return plural(report.points - pre, "point") + (f" and {plural(pre, 'preamble')}" if pre else "")


def fail(message: str, code: int = 1) -> None:
    """`readout: error: <what is wrong and what to do>` on stderr, then exit."""
    click.echo(f"readout: error: {message}", err=True)
    sys.exit(code)
