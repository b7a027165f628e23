"""Government feeds (RSS 2.0, Atom) that bring new readouts into a corpus by themselves.

The feeds a corpus follows are kept with it, in the hidden file `.readout-feeds.json` in the corpus
folder (the corpus reader skips hidden files, so it is never read as a readout), so that the CLI
(`readout feeds ...`, bot/feeds.py) and the bot (bot/telegram/feed_job.py) share one list. It is
written whole (a temporary file renamed into place) and under the index lock that `readout add`
and `remove` take, so a check, an add and a remove in several processes take turns.

A check fetches every feed with a conditional GET (the ETag and Last-Modified of its last answer),
so a feed with nothing new costs one small request and no page is fetched. Each entry whose page
the corpus does not have yet is added exactly as `readout add URL` adds a page: embeddings/grow/library.py
reads it (`load_source`: the same fetch limits and extraction) and writes it (`add_drafts`: the same
duplicate rule, whole files, under the lock). What became of every entry is remembered per feed:
added, already in the corpus, not a readout (remembered, so it is not fetched again), or failed
(a page that could not be fetched is tried again at the next check). The validators of a feed are
kept only when every entry of it was settled, so that a failed or deferred entry is not hidden
behind a "304 Not Modified" at the next check.

Every failure is one line (a `FeedError`, or a feed's `error`), and one failing feed does not stop
the others.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from embeddings.errors import Fix, ReadoutError
from embeddings.grow.library import (
    ManageError,
    NotAReadout,
    _busy,
    _locked,
    add_drafts,
    known_readouts,
    load_source,
    one_line,
    url_key,
    write_atomic,
)

log = logging.getLogger(__name__)

FEEDS_FILE = ".readout-feeds.json"
FILE_VERSION = 1
# what a feed is served as; some servers send HTML or plain-text types for them, feedparser decides
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml",
              "application/rdf+xml", "application/x-rss+xml", "application/x-atom+xml")
ALTERNATE_TYPES = ("application/rss+xml", "application/atom+xml")
FEED_ACCEPT = "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,text/html;q=0.5,*/*;q=0.1"
MAX_PAGES_PER_FEED = 50  # pages one check fetches from one feed; the rest wait for the next check
MAX_REMEMBERED = 2000  # entries remembered per feed (the oldest are forgotten first)

ADDED, IN_CORPUS, NOT_A_READOUT, FAILED = "added", "in corpus", "not a readout", "failed"


class FeedError(ReadoutError):
    """A feed command that cannot be done; the message is one line saying why."""


# --- what is kept ----------------------------------------------------------------------------------


@dataclass
class Entry:
    """What became of one entry of a feed: `status` is ADDED, IN_CORPUS, NOT_A_READOUT or FAILED."""

    status: str
    doc: str | None = None  # the corpus file that has it
    why: str | None = None  # why it was skipped or failed


@dataclass
class Feed:
    """A followed feed, as `.readout-feeds.json` keeps it."""

    url: str
    added: str  # when it was registered (UTC, ISO 8601)
    title: str | None = None
    last_check: str | None = None
    last_result: str | None = None  # "2 new readouts", "not modified", "failed: HTTP 500 ..."
    etag: str | None = None
    last_modified: str | None = None
    readouts_added: int = 0
    entries: dict[str, Entry] = field(default_factory=dict)  # by url_key of the entry's page

    @property
    def entries_seen(self) -> int:
        return len(self.entries)

    def summary(self) -> dict[str, Any]:
        """The `readout feeds list --json` shape."""
        return {"url": self.url, "title": self.title, "added": self.added, "last_check": self.last_check,
                "last_result": self.last_result, "entries_seen": self.entries_seen,
                "readouts_added": self.readouts_added}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Feed":
        entries = {k: Entry(**v) for k, v in (d.get("entries") or {}).items()}
        known = {k: d.get(k) for k in cls.__dataclass_fields__ if k not in ("entries",) and k in d}
        return cls(**{**known, "entries": entries})


def feeds_path(corpus: Path) -> Path:
    return corpus / FEEDS_FILE


def load_feeds(corpus: Path) -> list[Feed]:
    """The feeds the corpus follows (none when it has no feed list)."""
    path = feeds_path(corpus)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise FeedError(f"cannot read the feed list {path} ({e.strerror or e})") from None
    try:
        d = json.loads(raw)
        return [Feed.from_dict(f) for f in d["feeds"]]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise FeedError(f"the feed list {path} is damaged ({type(e).__name__}: {one_line(e)[:80]})",
                        Fix.FEEDS_FILE, path) from None


def _save(corpus: Path, feeds: list[Feed]) -> None:
    data = {"version": FILE_VERSION, "feeds": [asdict(f) for f in feeds]}
    write_atomic(feeds_path(corpus), json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _change(corpus: Path, index: Path, apply: Callable[[list[Feed]], Any]) -> Any:
    """Read the feed list, `apply` a change to it and write it back, all under the index lock (so a
    check in the bot and an add in a terminal do not lose each other's changes)."""
    try:
        with _locked(index):
            corpus.mkdir(parents=True, exist_ok=True)
            feeds = load_feeds(corpus)
            result = apply(feeds)
            _save(corpus, feeds)
            return result
    except TimeoutError:
        raise FeedError(_busy(index)) from None
    except OSError as e:
        raise FeedError(f"cannot write the feed list in {corpus} ({e.strerror or e})") from None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def find_feed(feeds: list[Feed], url: str) -> Feed | None:
    key = url_key(url)
    return next((f for f in feeds if url_key(f.url) == key), None)


# --- reading a feed --------------------------------------------------------------------------------


@dataclass
class Parsed:
    """A feed as fetched: its address after redirects, title and entries' page addresses."""

    url: str
    title: str | None
    links: list[str]  # each entry's page (its link, else an id that is an address), in feed order
    unlinked: int = 0  # entries without an address to fetch
    page: Any = None  # the fetch.Page, for its validators


class _Alternates(HTMLParser):
    """`<link rel="alternate" type="application/rss+xml" href="...">` (or atom+xml) of a page."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href"):
            self.base = urljoin(self.base, a["href"].strip())
        if tag != "link" or not a.get("href"):
            return
        rel = a.get("rel", "").lower().split()
        kind = a.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in ALTERNATE_TYPES:
            self.found.append(urljoin(self.base, a["href"].strip()))


def _fetch(url: str, etag: str | None = None, modified: str | None = None):
    from embeddings.grow.fetch import HTML_TYPES, TEXT_TYPES, fetch

    headers = {"Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    return fetch(url, types=FEED_TYPES + HTML_TYPES + TEXT_TYPES, what="a feed or a web page", headers=headers)


def _parse(page) -> Parsed | None:
    """The feed in a fetched page, or None when it holds none (an HTML page, JSON, ...)."""
    import feedparser

    ctype = page.content_type + (f"; charset={page.charset}" if page.charset else "")
    # a stream, never a string: feedparser would take a string for an address or a file name to open
    d = feedparser.parse(io.BytesIO(page.body), response_headers={"content-location": page.url, "content-type": ctype})
    if not d.get("version") and not d.get("entries"):
        return None
    links: list[str] = []
    unlinked = 0
    for e in d.entries:
        link = (e.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            ident = (e.get("id") or "").strip()
            link = ident if ident.startswith(("http://", "https://")) else ""
        if link:
            links.append(link)
        else:
            unlinked += 1
    title = " ".join((d.feed.get("title") or "").split()) or None
    return Parsed(url=page.url, title=title, links=list(dict.fromkeys(links)), unlinked=unlinked, page=page)


def _alternates(page) -> list[str]:
    if not page.is_html:
        return []
    finder = _Alternates(page.url)
    try:
        finder.feed(page.body.decode(page.charset or "utf-8", "replace"))
    except (LookupError, AssertionError):  # an unknown charset; a page the parser gives up on
        finder.feed(page.body.decode("utf-8", "replace"))
    return list(dict.fromkeys(finder.found))


def discover(url: str) -> Parsed:
    """The feed at `url`, or the one the page at `url` links to as its RSS or Atom alternate."""
    from embeddings.grow.fetch import FetchError

    try:
        page = _fetch(url)
    except FetchError as e:
        raise FeedError(f"cannot read {url}: {e}") from None
    parsed = _parse(page)
    if parsed is not None:
        return parsed
    links = _alternates(page)
    if not links:
        kind = "web page" if page.is_html else page.content_type or "document"
        raise FeedError(f"{url} is a {kind}, not an RSS or Atom feed, and links to no feed; give the feed's own address")
    errors = []
    for link in links:
        try:
            parsed = _parse(_fetch(link))
        except FetchError as e:
            errors.append(f"{link}: {e}")
            continue
        if parsed is not None:
            return parsed
        errors.append(f"{link} is not an RSS or Atom feed")
    raise FeedError(f"the page {url} links to a feed that cannot be read ({'; '.join(errors)})")


# --- the commands' work ----------------------------------------------------------------------------


@dataclass
class Registered:
    feed: Feed
    already: bool  # it was followed before
    found_on: str | None = None  # the page the feed was found on, when the address was a page's
    entries: int = 0


def add_feed(url: str, corpus: Path, index: Path) -> Registered:
    """Follow the feed at `url` (or the feed the page at `url` links to). It is read once to make
    sure it is a feed; its readouts come with the next check."""
    from embeddings.grow.fetch import FetchError, check_url

    try:
        url = check_url(url)
    except FetchError as e:
        raise FeedError(str(e)) from None
    existing = find_feed(load_feeds(corpus), url) if corpus.is_dir() else None
    if existing is not None:
        return Registered(existing, already=True)
    parsed = discover(url)
    found_on = url if url_key(parsed.url) != url_key(url) else None

    def register(feeds: list[Feed]) -> Registered:
        same = find_feed(feeds, parsed.url)
        if same is not None:
            return Registered(same, already=True, found_on=found_on)
        feed = Feed(url=parsed.url, added=_now(), title=parsed.title)
        feeds.append(feed)
        return Registered(feed, already=False, found_on=found_on, entries=len(parsed.links))

    return _change(corpus, index, register)


def remove_feed(url: str, corpus: Path, index: Path) -> Feed:
    """Stop following the feed `url` (as `readout feeds list` shows it); its readouts stay."""
    if not corpus.is_dir() or find_feed(load_feeds(corpus), url) is None:
        raise FeedError(f"{corpus} follows no feed {url}", Fix.FEEDS_LIST, corpus)

    def drop(feeds: list[Feed]) -> Feed:
        feed = find_feed(feeds, url)
        if feed is None:
            raise FeedError(f"{corpus} follows no feed {url}", Fix.FEEDS_LIST, corpus)
        feeds.remove(feed)
        return feed

    return _change(corpus, index, drop)


@dataclass
class EntryNote:
    """One entry a check did something with, for the report."""

    url: str
    why: str | None = None
    doc: str | None = None  # the corpus file that has it (added, or already there)


@dataclass
class AddedReadout:
    doc: str
    title: str
    date: str
    points: int
    url: str  # the entry's page
    feed: str


@dataclass
class FeedResult:
    """What one feed's check came to."""

    url: str
    title: str | None = None
    error: str | None = None  # the feed failed (unreachable, 404, not a feed, too big)
    not_modified: bool = False
    entries: int = 0  # entries the feed lists now
    new: int = 0  # of them, not seen before
    added: list[AddedReadout] = field(default_factory=list)
    already: list[EntryNote] = field(default_factory=list)  # their page is in the corpus
    skipped: list[EntryNote] = field(default_factory=list)  # not a readout (remembered)
    failed: list[EntryNote] = field(default_factory=list)  # could not be fetched (tried again next time)
    deferred: int = 0  # entries left for the next check (MAX_PAGES_PER_FEED)

    @property
    def ok(self) -> bool:
        return self.error is None

    def outcome(self) -> str:
        """One phrase for `feeds list`: what the last check found."""
        if self.error:
            return f"failed: {self.error}"
        if self.not_modified:
            return "not modified"
        n = len(self.added)
        parts = [f"{n} new readout{'' if n == 1 else 's'}"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} not a readout")
        if self.failed:
            parts.append(f"{len(self.failed)} could not be fetched")
        if self.deferred:
            parts.append(f"{self.deferred} left for the next check")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


@dataclass
class CheckReport:
    feeds: list[FeedResult]
    error: str | None = None  # the new readouts could not be written (nothing was added)
    stopped: bool = False  # asked to stop before every feed was checked

    @property
    def added(self) -> list[AddedReadout]:
        return [a for f in self.feeds for a in f.added]

    @property
    def all_failed(self) -> bool:
        return bool(self.feeds) and all(not f.ok for f in self.feeds)

    def to_dict(self) -> dict[str, Any]:
        return {"feeds": [f.to_dict() for f in self.feeds], "added": [asdict(a) for a in self.added],
                "error": self.error}


@dataclass
class _Pending:
    """An entry's page read this check, waiting to be written with the others."""

    result: FeedResult
    key: str
    link: str
    draft: Any


def check_feeds(corpus: Path, index: Path, should_stop: Callable[[], bool] | None = None) -> CheckReport:
    """Fetch every feed the corpus follows and add the readouts of entries the corpus does not have.

    Pages are read first (outside the lock: fetching takes seconds), then written together by
    `add_drafts` under the lock, then the feed list is updated under the lock. The index is not
    touched: the caller updates it once (the CLI builds it, the bot refreshes its engine).
    `should_stop` is asked between fetches (the bot stops a check when it shuts down)."""
    from embeddings.grow.fetch import FetchError

    stop = should_stop or (lambda: False)
    feeds = load_feeds(corpus) if corpus.is_dir() else []
    report = CheckReport([])
    if not feeds:
        return report
    known: dict[str, str] | None = None  # source address -> corpus file, read when first needed

    def in_corpus(key: str) -> str | None:
        nonlocal known
        if known is None:  # every file is read: not for a check where every feed says "not modified"
            known = {s: k.doc for k in known_readouts(corpus) for s in k.sources}
        return known.get(key)

    pending: list[_Pending] = []
    claimed: dict[str, _Pending] = {}  # pages two feeds list are fetched once...
    mirrors: list[tuple[_Pending, FeedResult, str]] = []  # ...and settled alike for the second feed
    notes: dict[str, dict[str, Entry]] = {}  # feed url -> entries settled this check
    validators: dict[str, tuple[str | None, str | None]] = {}
    for feed in feeds:
        if stop():
            report.stopped = True
            break
        result = FeedResult(url=feed.url, title=feed.title)
        report.feeds.append(result)
        settled = notes.setdefault(feed.url, {})
        try:
            page = _fetch(feed.url, feed.etag, feed.last_modified)
        except FetchError as e:
            result.error = str(e)
            continue
        if page.status == 304:
            result.not_modified = True
            continue
        parsed = _parse(page)
        if parsed is None:
            result.error = f"{feed.url} is not an RSS or Atom feed (the server sent {page.content_type or 'something else'})"
            continue
        result.title = parsed.title or feed.title
        result.entries = len(parsed.links)
        fetched = 0
        complete = True
        for link in parsed.links:
            key = url_key(link)
            before = feed.entries.get(key)
            if before is not None and before.status != FAILED:
                continue
            result.new += before is None
            doc = in_corpus(key)
            if doc is not None:
                settled[key] = Entry(IN_CORPUS, doc=doc, why="same source")
                result.already.append(EntryNote(link, "same source", doc))
                continue
            if key in claimed:  # another feed lists the same page: it is written once, for both
                mirrors.append((claimed[key], result, key))
                continue
            if fetched >= MAX_PAGES_PER_FEED or stop():
                result.deferred += 1
                complete = False
                continue
            fetched += 1
            try:
                draft = load_source(link)
            except NotAReadout as e:
                settled[key] = Entry(NOT_A_READOUT, why=one_line(e))
                result.skipped.append(EntryNote(link, one_line(e)))
                continue
            except ManageError as e:
                settled[key] = Entry(FAILED, why=one_line(e))
                result.failed.append(EntryNote(link, one_line(e)))
                complete = False
                continue
            p = _Pending(result, key, link, draft)
            pending.append(p)
            claimed[key] = p
        if complete:
            validators[feed.url] = (parsed.page.etag, parsed.page.last_modified)

    if pending:
        try:
            outcomes = add_drafts([(p.link, p.draft) for p in pending], corpus, index)
        except ManageError as e:
            report.error = one_line(e)
            for p in pending:
                notes[p.result.url][p.key] = Entry(FAILED, why=report.error)
                validators.pop(p.result.url, None)
        else:
            for p, o in zip(pending, outcomes):
                d = p.draft
                if o.doc:
                    notes[p.result.url][p.key] = Entry(ADDED, doc=o.doc)
                    p.result.added.append(AddedReadout(o.doc, d.title, d.date.isoformat(), d.points, p.link, p.result.url))
                else:
                    notes[p.result.url][p.key] = Entry(IN_CORPUS, doc=o.duplicate_of, why=o.why)
                    p.result.already.append(EntryNote(p.link, o.why, o.duplicate_of))
    for p, result, key in mirrors:
        first = notes[p.result.url][p.key]
        notes[result.url][key] = first if first.status == FAILED else Entry(IN_CORPUS, doc=first.doc, why="listed by another feed")
        if first.status == FAILED:
            validators.pop(result.url, None)

    checked = _now()

    def record(current: list[Feed]) -> None:
        for result in report.feeds:
            feed = find_feed(current, result.url)
            if feed is None:  # removed while it was being checked
                continue
            feed.last_check = checked
            feed.last_result = result.outcome()
            if result.title:
                feed.title = result.title
            if result.ok and not result.not_modified:
                feed.etag, feed.last_modified = validators.get(result.url, (None, None))
            feed.entries.update(notes.get(result.url, {}))
            for key in list(feed.entries)[: max(0, len(feed.entries) - MAX_REMEMBERED)]:
                del feed.entries[key]
            feed.readouts_added += len(result.added)

    try:
        _change(corpus, index, record)
    except FeedError as e:  # the readouts are written: the next check finds them in the corpus
        log.warning("the feed list was not updated: %s", e)
        report.error = report.error or f"the new readouts were added, but the feed list was not updated: {e}"
    return report


def next_check_in(corpus: Path, every: float) -> float:
    """Seconds until the feeds are due (0 when never checked, or checked `every` seconds ago), so
    that a bot restarted often still checks them every `every` seconds, and not at every start."""
    try:
        feeds = load_feeds(corpus) if corpus.is_dir() else []
    except FeedError:
        return 0.0
    last = []
    for f in feeds:
        if f.last_check is None:
            return 0.0
        try:
            last.append(dt.datetime.fromisoformat(f.last_check.replace("Z", "+00:00")))
        except ValueError:
            return 0.0
    if not last:
        return every
    age = (dt.datetime.now(dt.timezone.utc) - min(last)).total_seconds()
    return max(0.0, min(every, every - age))
