"""A web page (or a text file) turned into a corpus readout: front matter, title, dateline, points.

The main text comes from trafilatura, which drops navigation, footers, cookie banners, share
buttons and sidebars and keeps the structure that matters to the parser: paragraphs stay
paragraphs, sub-headings stay lines of their own, list items stay items. Before it runs, the page
is adjusted so that the numbering survives exactly as published:

- every `<ol>` item gets its number written into its text (`start` and `value` respected), so
  `<ol><li>` points come out as `1. ...`, `2. ...` lines, and items of a list inside a list as
  `(1) ...`, which the parser keeps with the point they belong to;
- inline emphasis (`<b>`, `<em>`, ...) is unwrapped, so no Markdown `**` ends up in the text.

The title is the page's (trafilatura reads `<h1>`, `og:title`, `<title>` and drops the site's
name); the date is the text's dateline when it has one ("March 14, 2023", "Published 2 May 2024",
"June 20, 2022, 15:40"), else the page's publication date from its markup (`<time>`, `<meta>`,
JSON-LD, read by htmldate without guessing from free text), else a full date in the title or the
opening paragraph. A page without a date or without body text is not a readout and is refused with
a one-line reason (`ExtractError`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import yaml

from embeddings.errors import ReadoutError
from embeddings.readouts.dates import coerce_date, date_line, find_date
from embeddings.readouts.parse import ParseError, parse_readout, split_front_matter
from embeddings.records import Readout

log = logging.getLogger(__name__)

MIN_BODY_CHARS = 80  # less than a sentence or two is a listing or a stub, not a readout
_PARSE_LIMIT = 20_000_000  # decompressed bytes trafilatura may read from a saved page


class ExtractError(ReadoutError, ValueError):
    """A page or file that is not a readout we can add; the message says why, in one line."""


@dataclass
class Draft:
    """A readout ready to be written into the corpus."""

    content: str  # the whole .txt file: front matter, then the text
    readout: Readout  # `content` parsed, as the index will see it
    urls: tuple[str, ...] = ()  # every address the page is known by (source, canonical, saved-from)

    @property
    def title(self) -> str:
        return self.readout.title

    @property
    def date(self) -> dt.date:
        assert self.readout.date is not None
        return self.readout.date

    @property
    def source(self) -> str | None:
        return self.readout.source

    @property
    def points(self) -> int:
        return sum(1 for p in self.readout.points if not p.preamble)


# --- dates -----------------------------------------------------------------------------------------

_DATE_PREFIX = re.compile(
    r"^(?:(?:date|published|posted|released|issued|press\s+release)(?:\s+on)?\s*[:\-–—]?\s*)", re.IGNORECASE
)
_DATE_SUFFIX = re.compile(
    r"(?:,|\s+-|\s+–|\s+at)?\s+\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*\([A-Za-z]{2,5}\)|\s+[A-Z]{2,5})?$", re.IGNORECASE
)


def dateline(line: str) -> dt.date | None:
    """The date when the line is a dateline: a date alone, or with a "Published"/"Date:" label in
    front or a time of day after it ("June 20, 2022, 15:40")."""
    s = line.strip()
    if not s or len(s) > 60:
        return None
    d = date_line(s)
    if d:
        return d
    s = _DATE_SUFFIX.sub("", _DATE_PREFIX.sub("", s)).strip()
    return date_line(s) if s else None


def display_date(d: dt.date) -> str:
    return f"{d:%B} {d.day}, {d.year}"


# --- HTML ------------------------------------------------------------------------------------------

_INLINE = ("b", "strong", "i", "em", "u", "mark", "small", "big", "font", "cite", "dfn", "abbr", "sup", "sub", "code", "kbd", "tt")
_HAS_NUMBER = re.compile(r"^\s*(?:\(\d{1,2}\)|\d{1,2}[.)])\s")
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.IGNORECASE)


def _prepare_tree(tree) -> None:
    """Unwrap inline emphasis and write each ordered-list item's number into its text."""
    for el in list(tree.iter(*_INLINE)):
        if el.getparent() is not None:
            el.drop_tag()
    for ol in list(tree.iter("ol")):
        nested = any(a.tag == "li" for a in ol.iterancestors())
        try:
            n = int(ol.get("start", "1").strip())
        except ValueError:
            n = 1
        for li in ol.iterchildren("li"):
            value = (li.get("value") or "").strip()
            if value.isdigit():
                n = int(value)
            prefix = f"({n}) " if nested else f"{n}. "
            for el in li.iter():
                if el.tag in ("ol", "ul") and el is not li:
                    break  # the item has no text of its own before its sub-list
                if el.text and el.text.strip():
                    if not _HAS_NUMBER.match(el.text):
                        el.text = prefix + el.text.lstrip()
                    break
            n += 1
        ol.tag = "ul"  # numbered by hand now; trafilatura would renumber from 1


_HEADING_MARK = re.compile(r"^\s*#{1,6}\s+")
# trafilatura's Markdown escapes ("1\\.", "\\[", "snake\\_case"): our text is plain, not Markdown
_MD_ESCAPE = re.compile(r"\\([\\`*_~\[\]<>#+\-.)!|{}()])")
_BULLETED_NUMBER = re.compile(r"^(\s*)[-*•]\s+(?=\(?\d{1,2}[.)]\s)")


def _clean_text(text: str) -> list[str]:
    """trafilatura's text as lines: heading marks off, bullets off numbered items, blank lines
    between blocks kept (single), trailing spaces off."""
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _BULLETED_NUMBER.sub(r"\1", _MD_ESCAPE.sub(r"\1", _HEADING_MARK.sub("", raw))).rstrip()
        if not line.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return out


_SITE_NAME = re.compile(
    r"gov\.uk|the white house|president of russia|kremlin|.*\bministry of foreign affairs\b.*"
    r"|.*\bprime minister'?s office\b.*|.*\bdepartment of state\b.*",
    re.IGNORECASE,
)


def _strip_site_name(title: str, sitename: str | None) -> str:
    """"Talk with X | Ministry of Foreign Affairs of Y" -> "Talk with X" (when trafilatura took the
    title from <title> and left the site's name on)."""
    parts = re.split(r"\s+[|•·–—-]\s+", title)
    if len(parts) > 1:
        last = parts[-1].strip()
        if (sitename and last.casefold() == sitename.casefold()) or _SITE_NAME.fullmatch(last):
            return title[: title.rfind(parts[-1])].rstrip(" |•·–—-").strip()
    return title.strip()


def _decode_html(body: bytes | str, charset: str | None) -> bytes | str:
    if isinstance(body, str) or not charset:
        return body
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return body  # the header lied: let trafilatura guess


def from_html(
    html: bytes | str,
    source: str | None = None,
    charset: str | None = None,
    fetched: dt.datetime | None = None,
) -> Draft:
    """The readout on a web page. `source` is the page's address (for a saved file: its canonical
    address when the page names one; `--source` overrides)."""
    from lxml.etree import LxmlError
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    text = _decode_html(html, charset)
    saved_from = None
    head = text[:4096] if isinstance(text, str) else text[:4096].decode("latin-1")
    m = _SAVED_FROM.search(head)
    if m:
        saved_from = m.group(1)
    try:
        tree = load_html(text, max_size=_PARSE_LIMIT)
    except (ValueError, TypeError, LxmlError) as e:  # lxml rejects some inputs outright
        raise ExtractError(f"not an HTML page ({type(e).__name__})") from None
    if tree is None:
        raise ExtractError("not an HTML page (the parser found no document in it)")
    _prepare_tree(tree)
    doc = bare_extraction(
        tree,
        url=source,
        with_metadata=True,
        include_comments=False,
        include_formatting=True,  # keeps headings and list items on lines of their own
        include_tables=True,
        include_links=False,
        include_images=False,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"},
    )
    if doc is None or not (doc.text or "").strip():
        raise ExtractError("no main text on the page (is it an index or a search page rather than a readout?)")
    lines = _clean_text(doc.text)

    title = _strip_site_name(doc.title, doc.sitename) if doc.title else ""
    if not title:
        title = next((ln.strip() for ln in lines if ln.strip()), "")

    # the dateline, then the title at the top of the text, come off: we write both ourselves
    date = None
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    drop: set[int] = set()
    for i in nonblank[:8]:
        ln = lines[i].strip()
        d = dateline(ln)
        if d is not None:
            date = date or d
            drop.add(i)
        elif ln.casefold() == title.casefold() and i in nonblank[:3]:
            drop.add(i)
    body_lines = [ln for i, ln in enumerate(lines) if i not in drop]
    while body_lines and body_lines[0] == "":
        body_lines.pop(0)
    body = "\n".join(body_lines).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    if len(body) < MIN_BODY_CHARS:
        raise ExtractError(f"too little text on the page to be a readout ({len(body)} characters)")

    if date is None and doc.date:
        date = coerce_date(doc.date)
    if date is None:
        date = find_date(title)
    if date is None:
        first_para = next((p for p in body.split("\n\n") if len(p.split()) > 12), "")
        date = find_date(first_para)
    if date is None:
        raise ExtractError(
            "no date on the page (no dateline in the text, no publication date in its markup): "
            "a readout is dated; is this a readout page?"
        )

    meta: dict[str, Any] = {}
    url = source or doc.url or saved_from
    if url:
        meta["source"] = url
    meta["title"] = title
    meta["date"] = date
    if fetched is not None:
        meta["fetched"] = _utc(fetched)
    content = front_matter(meta) + f"{title}\n\n{display_date(date)}\n\n{body}\n"
    return _draft(content, (source, doc.url, saved_from))


# --- text ------------------------------------------------------------------------------------------


def from_text(text: str, source: str | None = None, fetched: dt.datetime | None = None) -> Draft:
    """A readout given as text (a .txt/.md file, or a text/plain page): its front matter is kept,
    and `source`, the title and the date are added when it lacks them."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise ExtractError("binary file, not text")
    try:
        front, body = split_front_matter(text)
        r = parse_readout(text, "(new)")
    except ParseError as e:
        raise ExtractError(str(e)) from None
    if r.date is None:
        raise ExtractError(
            "no date in the text (no dateline, no date in its front matter): add a line "
            "'date: YYYY-MM-DD' to its front matter"
        )
    meta: dict[str, Any] = {}
    if source:
        meta["source"] = source
    for k, v in front.items():
        if k == "source" and source:
            continue
        meta[k] = v
    if not str(meta.get("title") or "").strip():
        meta["title"] = r.title
    if coerce_date(meta.get("date")) is None:
        meta["date"] = r.date
    if fetched is not None:
        meta["fetched"] = _utc(fetched)
    return _draft(front_matter(meta) + body.lstrip("\r\n").rstrip() + "\n", (meta.get("source"), front.get("source")))


# --- both ------------------------------------------------------------------------------------------


def front_matter(meta: dict[str, Any]) -> str:
    dumped = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False)
    return f"---\n{dumped}---\n"


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _draft(content: str, urls: tuple[Any, ...] = ()) -> Draft:
    try:
        r = parse_readout(content, "(new)")
    except ParseError as e:
        raise ExtractError(f"not a readout: {e}") from None
    if r.date is None:  # cannot happen: we always write one
        raise ExtractError("no date")
    seen: list[str] = []
    for u in (r.source, *urls):
        if u and isinstance(u, str) and u not in seen:
            seen.append(u)
    return Draft(content=content, readout=r, urls=tuple(seen))
