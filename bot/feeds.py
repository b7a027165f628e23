"""`readout feeds add|list|remove|check`: follow government feeds (RSS 2.0, Atom) from the command line.

A thin click layer over embeddings/grow/feeds.py, which keeps the feed list with the corpus (so the
bot checks the same feeds) and adds each new entry's page as `readout add URL` would. `check`
updates the index once, after all feeds were read, as `readout add` does after its pages.

For scripts: a feed that fails is one line on stderr and the other feeds still run; the exit status
is 1 only when every feed failed (or the readouts or the index could not be written). `--json`
prints one JSON object instead of the lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.advice import explain
from bot.options import corpus_option, counted_points, fail, index_option, plural


def _entries(n: int, more: str = "") -> str:
    return f"{n:,} {more}" + ("entry" if n == 1 else "entries")


def _paths(corpus: Path | None, index: Path | None):
    from embeddings.engine import resolve_paths

    paths = resolve_paths(corpus, index)
    if paths.corpus.exists() and not paths.corpus.is_dir():
        fail(f"the corpus must be a folder, not a file: {paths.corpus}")
    return paths


@click.group("feeds")
def feeds_group() -> None:
    """Follow RSS and Atom feeds: their new readouts are added to the corpus by readout feeds check
    (and by the Telegram bot, every READOUT_FEEDS_INTERVAL seconds)."""


@feeds_group.command("add")
@click.argument("url")
@corpus_option
@index_option
def add_command(url: str, corpus: Path | None, index: Path | None) -> None:
    """Follow the feed at URL, or the feed that the web page at URL links to.

    The feed list is kept in the corpus folder (.readout-feeds.json), shared with the bot.
    Its readouts are added by the next readout feeds check.
    """
    from embeddings.grow.feeds import FeedError, add_feed
    from embeddings.grow.library import quiet_libraries

    quiet_libraries()
    paths = _paths(corpus, index)
    try:
        done = add_feed(url, paths.corpus, paths.index)
    except FeedError as e:
        fail(explain(e))
    feed = done.feed
    if done.already:
        click.echo(f"Already following {feed.url}" + (f": {feed.title}" if feed.title else ""))
        return
    if done.found_on:
        click.echo(f"Found the feed {feed.url} on {done.found_on}")
    title = f": {feed.title}" if feed.title else ""
    click.echo(f"Following {feed.url}{title} ({_entries(done.entries)})")
    click.echo("readout feeds check adds its readouts to the corpus.", err=True)


@feeds_group.command("remove")
@click.argument("url")
@corpus_option
@index_option
def remove_command(url: str, corpus: Path | None, index: Path | None) -> None:
    """Stop following the feed URL (as readout feeds list shows it). Its readouts stay in the corpus."""
    from embeddings.grow.feeds import FeedError, remove_feed

    paths = _paths(corpus, index)
    try:
        feed = remove_feed(url, paths.corpus, paths.index)
    except FeedError as e:
        fail(explain(e))
    click.echo(f"No longer following {feed.url}" + (f": {feed.title}" if feed.title else ""))


@feeds_group.command("list")
@corpus_option
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON array of {url, title, added, last_check, last_result, entries_seen, readouts_added}.")
def list_command(corpus: Path | None, as_json: bool) -> None:
    """List the followed feeds: last check and what it found, entries seen, readouts added."""
    from embeddings.grow.feeds import FeedError, load_feeds

    paths = _paths(corpus, None)
    try:
        feeds = load_feeds(paths.corpus) if paths.corpus.is_dir() else []
    except FeedError as e:
        fail(explain(e))
    if as_json:
        click.echo(json.dumps([f.summary() for f in feeds], ensure_ascii=False))
        return
    if not feeds:
        click.echo(f"No feeds followed in {paths.corpus}; follow one with: readout feeds add URL", err=True)
        return
    width = max(len(f.url) for f in feeds)
    click.echo(f"{'FEED':<{width}}  {'LAST CHECK':<20}  {'ENTRIES':>7}  {'ADDED':>5}  RESULT")
    for f in feeds:
        last = (f.last_check or "never").replace("T", " ").removesuffix("Z")
        click.echo(f"{f.url:<{width}}  {last:<20}  {f.entries_seen:>7}  {f.readouts_added:>5}  {f.last_result or ''}")


def _print_report(report) -> None:
    for r in report.feeds:
        if r.error:
            click.echo(f"readout: feed {r.url} failed: {r.error}", err=True)
            continue
        if r.not_modified:
            click.echo(f"Feed {r.url}: not modified")
            continue
        click.echo(f"Feed {r.url}: {_entries(r.entries)}, {r.new} new")
        for a in r.added:
            click.echo(f"Added {a.doc}: {a.title} ({a.date}, {plural(a.points, 'point')}) from {a.url}")
        for n in r.already:
            if n.doc:
                click.echo(f"Already in the corpus: {n.url} is {n.doc} ({n.why})")
        for n in r.skipped:
            click.echo(f"Skipped {n.url}: not a readout ({n.why})")
        for n in r.failed:
            click.echo(f"readout: could not fetch {n.url} ({n.why}); it is tried again at the next check", err=True)
        if r.deferred:
            click.echo(f"{_entries(r.deferred, 'more ')} left for the next check")


@feeds_group.command("check")
@corpus_option
@index_option
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: {feeds: [{url, ok, error, not_modified, entries, new, added, "
                   "already, skipped, failed, deferred}], added, error, index}.")
def check_command(corpus: Path | None, index: Path | None, as_json: bool) -> None:
    """Fetch every followed feed and add the readouts of its new entries, then update the index.

    Feeds are fetched with conditional requests, so a feed with nothing new costs one small request
    and no page. An entry whose page is not a readout is skipped and remembered. A feed that fails
    is one line, and the others still run; the exit status is 1 only when every feed failed.
    """
    from embeddings.engine import EngineError, build
    from embeddings.grow.feeds import FeedError, check_feeds
    from embeddings.grow.library import quiet_libraries

    quiet_libraries()
    paths = _paths(corpus, index)
    try:
        report = check_feeds(paths.corpus, paths.index)
    except FeedError as e:
        fail(explain(e))
    if not report.feeds:
        fail(f"{paths.corpus} follows no feeds; follow one with: readout feeds add URL")
    if not as_json:
        _print_report(report)
    problem, index_info = report.error, None
    if report.added:  # the corpus changed: the index follows, once for every feed
        if not as_json:
            click.echo(f"readout: updating the index {paths.index}", err=True)
        try:
            built = build(paths.corpus, paths.index)
        except EngineError as e:
            names = ", ".join(a.doc for a in report.added)
            problem = f"added {names} to {paths.corpus}, but could not update the index: {' '.join(str(e).split())}"
        else:
            index_info = {"readouts": built.readouts, "points": built.points, "seconds": round(built.seconds, 2)}
            if not as_json:
                click.echo(f"Index updated: {plural(built.readouts, 'readout')}, {counted_points(built)} "
                           f"in {built.seconds:.1f} s")
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "error": problem, "index": index_info}, ensure_ascii=False))
    elif not report.added and not report.all_failed:
        failed = sum(not r.ok for r in report.feeds)
        click.echo(f"No new readouts from {plural(len(report.feeds), 'feed')}" + (f" ({failed} failed)" if failed else ""),
                   err=True)
    if problem:
        fail(problem)
    if report.all_failed:
        if as_json:
            raise SystemExit(1)
        fail(f"every feed failed ({len(report.feeds)}); they stay followed, and the next check tries them again")
