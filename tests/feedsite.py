"""A local government website for the feed tests: readout pages in the shapes of the real sites
(a foreign ministry's numbered talk, a gov.uk press release, a kremlin.ru news item), pages that
are not readouts, an RSS 2.0 feed, an Atom feed and a feed that answers 500, served over real HTTP
on 127.0.0.1 from a thread.

Feeds answer conditional GETs as servers do: the RSS feed by ETag (If-None-Match), the Atom feed
by Last-Modified (If-Modified-Since). The site counts every request by path, so a test can tell a
feed fetched from a page fetched, and a 304 from a 200. Entries can be added while it runs.

The countries, people and talks are invented (Corvenia, Lutheria, Marivale, Quessa, Brantia).
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --- pages -----------------------------------------------------------------------------------------


def mofa_page(title: str, date_line: str, preamble: str, points: list[str]) -> str:
    """A foreign ministry's talk: a dateline, an overview paragraph and an ordered list of points."""
    items = "\n".join(f"      <li>{html.escape(p)}</li>" for p in points)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | Ministry of Foreign Affairs of Corvenia</title>
<link rel="alternate" type="application/rss+xml" title="What's New" href="/rss/whatsnew.xml">
</head><body>
<div id="header"><p class="skip"><a href="#main">Skip to main content</a></p>
<ul id="gnavi"><li><a href="/index.html">Home</a></li><li><a href="/press/index.html">Press Releases</a></li>
<li><a href="/policy/index.html">Foreign Policy</a></li><li><a href="/region/index.html">Countries &amp; Regions</a></li></ul></div>
<div id="contents"><div id="main">
  <div class="title2"><h1>{html.escape(title)}</h1></div>
  <div class="rightalign">{html.escape(date_line)}</div>
  <div class="main-text">
    <p>{html.escape(preamble)}</p>
    <ol>
{items}
    </ol>
  </div>
  <p class="ar"><a href="/region/index.html">Back to Countries &amp; Regions</a></p>
</div>
<div id="side"><h2>Related Information</h2><ul><li><a href="/press/index.html">Press Conferences</a></li></ul></div></div>
<div id="footer"><ul><li><a href="/about/policy.html">Site Policy</a></li><li><a href="/about/privacy.html">Privacy Policy</a></li></ul>
<p class="copyright">Copyright &copy; Ministry of Foreign Affairs of Corvenia</p></div>
</body></html>
"""


def govuk_page(title: str, lead: str, paragraphs: list[str], iso: str, human: str) -> str:
    """A gov.uk press release: cookie banner, lead paragraph, metadata, paragraphs, footer."""
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en" class="govuk-template"><head><meta charset="utf-8">
<title>{html.escape(title)} - GOV.UK</title>
<meta property="og:title" content="{html.escape(title)}">
<meta name="govuk:first-published-at" content="{iso}T17:35:12+01:00">
<link rel="alternate" type="application/atom+xml" href="/government/news.atom">
</head><body class="govuk-template__body">
<div id="global-cookie-message" class="gem-c-cookie-banner"><h2>Cookies on GOV.UK</h2>
<p>We use some essential cookies to make this website work.</p><button>Accept additional cookies</button></div>
<header role="banner"><a href="/" class="govuk-header__link--homepage">GOV.UK</a>
<nav><ul><li><a href="/browse/benefits">Benefits</a></li><li><a href="/browse/tax">Money and tax</a></li></ul></nav></header>
<main role="main" id="main-content" class="govuk-main-wrapper" lang="en">
  <h1 class="gem-c-title__text govuk-heading-l">{html.escape(title)}</h1>
  <p class="gem-c-lead-paragraph">{html.escape(lead)}</p>
  <div class="gem-c-metadata"><dl><dt>From:</dt><dd><a href="/government/organisations/prime-ministers-office">Prime Minister's Office</a></dd>
  <dt>Published</dt><dd><time datetime="{iso}">{html.escape(human)}</time></dd></dl></div>
  <div class="govuk-govspeak">
{body}
  </div>
</main>
<footer class="govuk-footer"><p>All content is available under the Open Government Licence v3.0</p><p>&copy; Crown copyright</p></footer>
</body></html>
"""


def kremlin_page(title: str, iso: str, human: str, paragraphs: list[str]) -> str:
    """A kremlin.ru news item: the article with its time and place, then paragraphs."""
    body = "\n".join(f"    <p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} &bull; President of Russia</title>
<meta property="og:title" content="{html.escape(title)}">
</head><body>
<div class="header"><a class="logo" href="/">President of Russia</a>
<nav class="nav"><ul><li><a href="/events/president/news">News</a></li><li><a href="/events/president/transcripts">Transcripts</a></li></ul></nav></div>
<div class="content"><article class="hentry h-entry" itemscope itemtype="http://schema.org/Article">
  <h1 class="entry-title p-name" itemprop="name">{html.escape(title)}</h1>
  <div class="read__meta"><time class="read__published" datetime="{iso}" itemprop="datePublished">{html.escape(human)}</time>
  <div class="read__place p-location">The Kremlin, Moscow</div></div>
  <div class="entry-content e-content read__internal_content" itemprop="articleBody">
{body}
  </div>
  <div class="read__bottom"><p>Publication status: Published in section: News</p><p>Direct link</p></div>
</article></div>
</body></html>
"""


NOT_A_READOUT = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Consular office hours | Ministry</title></head>
<body><div id="main"><h1>Consular office hours</h1>
<p>The consular section of the embassy is open to visitors on weekdays, except on public holidays of both countries.
Applications for visas and certificates are received in the morning and collected in the afternoon.</p>
<p>Please bring your passport and a copy of each document you submit. Appointments can be booked by telephone.</p>
</div></body></html>
"""

# --- the readouts ----------------------------------------------------------------------------------

WIND_TALK = mofa_page(
    "Corvenia-Lutheria Summit Telephone Talk", "June 3, 2025",
    "On June 3, commencing at 9:00 a.m. for approximately 25 minutes, Mr. HALVARD Eno, Prime Minister of "
    "Corvenia, held a summit telephone talk with H.E. Ms. Petra Lind, President of the Republic of Lutheria. "
    "An overview of the talk is as follows.",
    ["Prime Minister Halvard congratulated President Lind on the opening of the new parliament building in Osk.",
     "The two leaders agreed to build three offshore wind farms in the Grey Sea and to link their power grids "
     "with an undersea cable.",
     "President Lind proposed joint patrols against illegal fishing near the Sorrel Banks, and Prime Minister "
     "Halvard welcomed the proposal.",
     "To conclude, the two leaders confirmed that they would meet in Osk in the autumn."])

GRAVE_TALK = mofa_page(
    "Corvenia-Marivale Summit Telephone Talk", "September 12, 2025",
    "On September 12, commencing at 4:30 p.m. for approximately 30 minutes, Mr. HALVARD Eno, Prime Minister "
    "of Corvenia, held a summit telephone talk with H.E. Mr. Tomas Reyes, President of the Republic of "
    "Marivale. An overview of the talk is as follows.",
    ["Prime Minister Halvard expressed his condolences for the victims of the floods in the south of Marivale.",
     "The two leaders agreed to double the number of direct flights between Port Ilen and Vesk.",
     "Prime Minister Halvard raised the humanitarian issue of the former residents of the Tarn Islands and "
     "asked that their grave visits to the islands, suspended since 2019, be resumed next spring. President "
     "Reyes replied that he would consider resuming the grave visits by boat.",
     "The two leaders also exchanged views on the security situation in the Northern Gulf."])

RAIL_CALL = govuk_page(
    "PM call with President Anselm of Quessa: 12 May 2025",
    "The Prime Minister spoke to President Mara Anselm of Quessa this afternoon.",
    ["The Prime Minister spoke to President Mara Anselm of Quessa this afternoon.",
     "The leaders discussed the new high-speed rail link between the two capitals, and agreed that "
     "engineers from both countries would finish the route survey by the end of the year.",
     "The Prime Minister welcomed the agreement on recognising each other's teaching qualifications.",
     "They agreed to speak again before the trade summit in Vallo."],
    "2025-05-12", "12 May 2025")

GRAIN_CALL = kremlin_page(
    "Telephone conversation with President of Brantia Ilse Varga", "2025-04-22", "April 22, 2025",
    ["Vladimir Putin had a telephone conversation with President of the Republic of Brantia Ilse Varga.",
     "The two leaders discussed the grain corridor across the Brant Sea and the insurance of merchant ships "
     "using it.",
     "Ilse Varga informed the President of Russia about the preparations for the regional water conference "
     "in Kessel.",
     "The leaders agreed to continue contacts."])

GRAVE_CALL = govuk_page(
    "PM call with President Reyes of Marivale: 20 September 2025",
    "The Prime Minister spoke to President Tomas Reyes of Marivale this morning.",
    ["The Prime Minister spoke to President Tomas Reyes of Marivale this morning.",
     "The leaders discussed the resumption of grave visits by former residents of the Tarn Islands, and the "
     "Prime Minister offered boats of the coast guard for the first visits in the spring.",
     "They also agreed to cooperate on offshore wind farms along the Marivale coast.",
     "The leaders agreed to stay in close touch."],
    "2025-09-20", "20 September 2025")

INDEX_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Press Releases | Ministry of Foreign Affairs of Corvenia</title>
<link rel="stylesheet" href="/common/css/base.css">
<link rel="alternate" type="application/rss+xml" title="What's New" href="/rss/whatsnew.xml">
</head><body><h1>Press Releases</h1><ul><li><a href="/press/2025/0603.html">Corvenia-Lutheria Summit Telephone Talk</a></li></ul></body></html>
"""

# --- feeds -----------------------------------------------------------------------------------------


@dataclass
class Item:
    title: str
    path: str  # the entry's page on this site
    published: str  # ISO date
    guid: str | None = None  # RSS: an id that is not the address (isPermaLink="false")


@dataclass
class Feed:
    kind: str  # "rss" or "atom"
    title: str
    items: list[Item] = field(default_factory=list)
    validator: str = "etag"  # how it answers conditional GETs: "etag" or "last-modified"
    broken: bool = False  # answers 500
    version: int = 0  # bumped at each change: the Last-Modified second

    def body(self, base: str) -> bytes:
        if self.kind == "rss":
            items = "\n".join(
                f"""<item><title>{html.escape(i.title)}</title><link>{base}{i.path}</link>
<guid isPermaLink="{'false' if i.guid else 'true'}">{html.escape(i.guid or base + i.path)}</guid>
<pubDate>{email.utils.format_datetime(_date(i.published))}</pubDate><description>{html.escape(i.title)}</description></item>"""
                for i in self.items)
            return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{html.escape(self.title)}</title><link>{base}/</link>
<description>Press releases</description><language>en</language>
{items}
</channel></rss>
""".encode()
        entries = "\n".join(
            f"""<entry><id>tag:{i.path}</id><title>{html.escape(i.title)}</title>
<link rel="alternate" type="text/html" href="{i.path}"/><updated>{i.published}T10:00:00+01:00</updated>
<summary>{html.escape(i.title)}</summary></entry>"""
            for i in self.items)
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en" xml:base="{base}/">
<id>tag:{base}/news</id><title>{html.escape(self.title)}</title><updated>2025-09-20T10:00:00+01:00</updated>
<link rel="self" type="application/atom+xml" href="{base}/government/news.atom"/>
{entries}
</feed>
""".encode()

    @property
    def last_modified(self) -> str:
        return email.utils.formatdate(1_750_000_000 + self.version, usegmt=True)


def _date(iso: str):
    import datetime as dt

    return dt.datetime.fromisoformat(iso + "T10:00:00+00:00")


class Site:
    """The website: `pages` and `feeds` by path; `requests` counts GETs by path, `answers` keeps
    (path, status) of each."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.feeds: dict[str, Feed] = {}
        self.requests: Counter[str] = Counter()
        self.answers: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None
        self.base = ""

    def start(self) -> "Site":
        site = self

        class Handler(_Handler):
            owner = site

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, name="feed-site", daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def add_item(self, feed: str, item: Item) -> None:
        """A new entry, first in the feed (feeds list the newest first)."""
        with self.lock:
            f = self.feeds[feed]
            f.items.insert(0, item)
            f.version += 1

    def page_requests(self) -> int:
        """GETs of anything but the feeds."""
        with self.lock:
            return sum(n for path, n in self.requests.items() if path not in self.feeds)

    def statuses(self, path: str) -> list[int]:
        with self.lock:
            return [s for p, s in self.answers if p == path]


class _Handler(BaseHTTPRequestHandler):
    owner: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, ctype: str | None, body: bytes, headers: dict[str, str] | None = None) -> None:
        path = self.path.split("?")[0]
        with self.owner.lock:
            self.owner.answers.append((path, status))
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        site = self.owner
        path = self.path.split("?")[0]
        with site.lock:
            site.requests[path] += 1
            feed = site.feeds.get(path)
            page = site.pages.get(path)
            body = feed.body(site.base) if feed is not None else None
            broken = feed is not None and feed.broken
            last_modified = feed.last_modified if feed is not None else None
            validator = feed.validator if feed is not None else None
        if feed is not None:
            if broken:
                self._send(500, "text/html; charset=utf-8", b"<html><body><h1>Internal Server Error</h1></body></html>")
                return
            ctype = "application/rss+xml; charset=utf-8" if feed.kind == "rss" else "application/atom+xml; charset=utf-8"
            if validator == "etag":
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, None, b"", {"ETag": etag})
                    return
                self._send(200, ctype, body, {"ETag": etag})
                return
            since = self.headers.get("If-Modified-Since")
            if since:
                try:
                    if email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(last_modified):
                        self._send(304, None, b"", {"Last-Modified": last_modified})
                        return
                except (TypeError, ValueError):
                    pass
            self._send(200, ctype, body, {"Last-Modified": last_modified})
            return
        if page is not None:
            self._send(200, "text/html; charset=utf-8", page)
            return
        self._send(404, "text/html; charset=utf-8", b"<html><body><h1>Not Found</h1></body></html>")


def standard_site() -> Site:
    """The site the tests start from: a ministry's RSS feed (a talk, a page that is not a readout),
    a gov.uk-like Atom feed (a call, a kremlin-like item, and the ministry's talk again under
    another address), a feed that answers 500, and an index page that links to the RSS feed."""
    site = Site()
    site.pages.update({
        "/press/2025/0603.html": WIND_TALK.encode(),
        "/press/2025/0912.html": GRAVE_TALK.encode(),
        "/press/consular-hours.html": NOT_A_READOUT.encode(),
        "/press/index.html": INDEX_PAGE.encode(),
        "/government/news/pm-call-with-president-anselm-of-quessa-12-may-2025": RAIL_CALL.encode(),
        "/government/news/pm-call-with-president-reyes-of-marivale-20-september-2025": GRAVE_CALL.encode(),
        "/events/president/news/80112": GRAIN_CALL.encode(),
        "/mirror/corvenia-lutheria-talk.html": WIND_TALK.encode(),  # the same talk, another address
    })
    site.feeds["/rss/whatsnew.xml"] = Feed("rss", "What's New - Ministry of Foreign Affairs of Corvenia", [
        Item("Consular office hours", "/press/consular-hours.html", "2025-06-05", guid="mofa-0605-consular"),
        Item("Corvenia-Lutheria Summit Telephone Talk", "/press/2025/0603.html", "2025-06-03"),
    ], validator="etag")
    site.feeds["/government/news.atom"] = Feed("atom", "News and communications - GOV.UK", [
        Item("PM call with President Anselm of Quessa: 12 May 2025",
             "/government/news/pm-call-with-president-anselm-of-quessa-12-may-2025", "2025-05-12"),
        Item("Telephone conversation with President of Brantia Ilse Varga", "/events/president/news/80112", "2025-04-22"),
        Item("Corvenia-Lutheria Summit Telephone Talk (mirror)", "/mirror/corvenia-lutheria-talk.html", "2025-06-03"),
    ], validator="last-modified")
    site.feeds["/broken/feed.xml"] = Feed("rss", "Broken", [], broken=False)
    return site


def wait_until(predicate, timeout: float, what: str, every: float = 0.2):
    """Poll `predicate` until it is truthy (returns its value); a generous deadline, no timing asserts."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
