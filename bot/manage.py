"""`readout add`, `readout remove`, `readout list`: the corpus managed from the command line.

`add` takes web addresses, saved pages (.html, .htm) and readout texts (.txt, .md), turns each into
a corpus file `DATE-TITLE.txt` (front matter: source, title, date, fetched) and updates the index.
`remove` deletes a corpus file and updates the index. `list` shows the readouts, newest first.

How they behave, for scripts:

- All or nothing: every SOURCE is fetched and read before anything is written, and one that fails
  stops the command (one line `readout: error: ...`, exit 1) with the corpus untouched. Files are
  written whole (a hidden temporary file, then a rename), so a reader never sees half a readout.
- A readout that is already in the corpus (the same source address, or the same text) is not
  added again. That is not an error: `add` says which file has it and exits 0, so adding the same
  list of addresses again is safe.
- The corpus is changed under the index's lock (the one index builds take), so two `add`s or
  `remove`s at once take turns; when the lock cannot be had in time, the command says so and
  changes nothing.
- The index is updated after the corpus changed (`embeddings.engine.build`). When that fails, the
  corpus change stays (the corpus is the record; the index is derived from it and `readout ask`
  rebuilds a stale index by itself): the error line says the file was added or removed and that
  the index was not updated, and the exit status is 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.advice import explain
from bot.options import corpus_option, counted_points, fail, index_option, plural
from embeddings.grow.library import (
    ManageError,
    Outcome,
    add_drafts,
    is_url,
    known_readouts,
    list_readouts,
    load_source,
    quiet_libraries,
    remove_docs,
    url_key,
)



# --- the index after a change ----------------------------------------------------------------------


def update_index(corpus: Path, index: Path, what: str) -> None:
    """Bring the index up to date (only changed files are re-read and re-encoded); `what` says what
    already happened to the corpus, for the error line."""
    from embeddings.readouts.corpus import corpus_files
    from embeddings.engine import EngineError, build

    if not corpus_files(corpus):
        click.echo(f"The corpus {corpus} is now empty; the index was left as it was.", err=True)
        return
    click.echo(f"readout: updating the index {index}", err=True)
    try:
        report = build(corpus, index)
    except EngineError as e:
        fail(f"{what}, but could not update the index: {explain(e)}")
    click.echo(f"Index updated: {plural(report.readouts, 'readout')}, {counted_points(report)} in {report.seconds:.1f} s")


# --- the commands ----------------------------------------------------------------------------------


@click.command("add")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@corpus_option
@index_option
@click.option("--url", default=None, metavar="URL",
              help="Record URL as the readout's source address (for a saved page or a text file; one SOURCE only).")
@click.option("--no-index", is_flag=True,
              help="Only write the corpus files; the index catches up on the next readout ask or readout index.")
def add_command(sources: tuple[str, ...], corpus: Path | None, index: Path | None, url: str | None, no_index: bool) -> None:
    """Add readouts: web pages (URL), saved pages (.html, .htm) or readout texts (.txt, .md).

    Each becomes DATE-TITLE.txt in the corpus, with its source, title and date in front matter,
    and the index is updated. A readout the corpus already has (same source address or same text)
    is not added twice; that is not an error. Nothing is written when any SOURCE fails.
    """
    from embeddings.engine import resolve_paths

    quiet_libraries()
    if url is not None:
        if len(sources) != 1:
            fail("--url names one readout's address: give exactly one SOURCE with it", 2)
        from embeddings.grow.fetch import FetchError, check_url

        try:
            url = check_url(url)
        except FetchError as e:
            fail(f"--url {url}: {e}", 2)
    paths = resolve_paths(corpus, index)
    if paths.corpus.exists() and not paths.corpus.is_dir():
        fail(f"the corpus must be a folder, not a file: {paths.corpus}")

    # an address the corpus already has as a source is not even fetched (checked again under the lock)
    by_source = {s: k.doc for k in known_readouts(paths.corpus) for s in k.sources} if url is None else {}
    early: dict[int, Outcome] = {}
    drafts: list[tuple[int, str, object]] = []
    for i, src in enumerate(sources):
        if is_url(src) and url_key(src) in by_source:
            early[i] = Outcome(src, None, duplicate_of=by_source[url_key(src)], why="same source")
            continue
        try:
            drafts.append((i, src, load_source(src, url)))
        except ManageError as e:
            fail(f"cannot add {src}: {explain(e)}" + ("; nothing was added" if len(sources) > 1 else ""))
    try:
        written = add_drafts([(src, d) for _, src, d in drafts], paths.corpus, paths.index)
    except ManageError as e:
        fail(explain(e))
    by_place = {**early, **{i: o for (i, _, _), o in zip(drafts, written)}}
    outcomes = [by_place[i] for i in sorted(by_place)]

    added = [o for o in outcomes if o.doc]
    for o in outcomes:
        d = o.draft
        if o.doc:
            n = plural(d.points, "point")
            click.echo(f"Added {o.doc}: {d.title} ({d.date.isoformat()}, {n})")
        else:
            click.echo(f"Already in the corpus: {o.source} is {o.duplicate_of} ({o.why})")
    if added and not no_index:
        names = ", ".join(o.doc for o in added)
        update_index(paths.corpus, paths.index, f"added {names} to {paths.corpus}")


@click.command("remove")
@click.argument("docs", nargs=-1, required=True, metavar="DOC...")
@corpus_option
@index_option
def remove_command(docs: tuple[str, ...], corpus: Path | None, index: Path | None) -> None:
    """Delete readout DOC from the corpus and update the index.

    DOC is the file's path relative to the corpus, as readout list and answers (doc) show it.
    """
    from embeddings.readouts.corpus import CorpusError
    from embeddings.engine import resolve_paths

    paths = resolve_paths(corpus, index)
    try:
        removed = remove_docs(list(docs), paths.corpus, paths.index)
    except (ManageError, CorpusError) as e:
        fail(explain(e))
    for doc, r in removed:
        about = f": {r.title} ({r.iso_date or 'undated'})" if r is not None else ""
        click.echo(f"Removed {doc}{about}")
    update_index(paths.corpus, paths.index, f"removed {', '.join(d for d, _ in removed)} from {paths.corpus}")


@click.command("list")
@corpus_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of {doc, title, date, points, preamble, source}.")
def list_command(corpus: Path | None, as_json: bool) -> None:
    """List the readouts in the corpus, newest first: date, points, file, title and source."""
    from embeddings.readouts.corpus import CorpusError
    from embeddings.engine import resolve_paths

    root = resolve_paths(corpus, None).corpus
    try:
        rows = list_readouts(root)
    except CorpusError as e:
        fail(explain(e))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"No readouts in {root}", err=True)
        return
    width = max(len(r["doc"]) for r in rows)
    click.echo(f"{'DATE':<10}  {'POINTS':>6}  {'FILE':<{width}}  TITLE  (SOURCE)")
    for r in rows:
        source = f"  ({r['source']})" if r["source"] else ""
        click.echo(f"{r['date'] or 'undated':<10}  {r['points']:>6}  {r['doc']:<{width}}  {r['title']}{source}")
    total = sum(r["points"] for r in rows)
    pre = sum(r["preamble"] for r in rows)
    preambles = f" and {plural(pre, 'preamble')}" if pre else ""
    click.echo(f"{plural(len(rows), 'readout')}, {plural(total, 'point')}{preambles} in {root}", err=True)
