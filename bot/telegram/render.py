"""Telegram-HTML for answers, points, readouts and help texts.

Every piece of corpus or user text goes through `esc` (html.escape), so a readout or question
containing `<`, `&` or `"` can never break the markup or inject a link; the only tags are the
ones written here. Functions return one HTML string; `split.split_html` cuts it into messages.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence

from embeddings.readouts.naming import readout_name
from embeddings.readouts.shown import names_date, shorten
from embeddings.records import Answer, Hit, Readout

EXAMPLE_QUESTION = "What was said about grave visits?"
SHORT_POINT = 220  # characters of a point shown under "Also relevant"
ALSO_SHOWN = 2  # shortened points under the best one
MORE_PAGE = 3  # points per "More results" message
# characters of a name (or title) in /sources: its pages are edited in place, so a page must stay
# one message; ten such names (300 UTF-16 units each at worst) and their dates fit in 4096
SOURCES_TITLE = 150
SOURCE_TITLE = 200  # characters of the page title on a "Source:" line

_URL_RE = re.compile(r"^https?://[^\s<>\"']+$")


def esc(text: str | None) -> str:
    """Escape corpus/user text for Telegram HTML (quotes too, so it is safe in attributes)."""
    return html.escape(text or "", quote=True)


def human_date(iso: str | None) -> str | None:
    """ "2021-10-07" -> "October 7, 2021" (the way the readouts write dates); bad input kept."""
    if not iso:
        return None
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d:%B} {d.day}, {d.year}"


def source_line(source: str | None, title: str | None = None) -> str | None:
    """`Source: <link>` for a URL, or the source as plain text; with `title` (the page's own
    title), `Source: Japan-Russia Relations — <link>`. None when there is neither."""
    source = (source or "").strip()
    title = shorten(title, SOURCE_TITLE) if title and title.strip() else ""
    if not source:
        return f"Source: {esc(title)}" if title else None
    if _URL_RE.match(source):
        shown = f'<a href="{esc(source)}">{esc(shorten(source, 80))}</a>'
    else:
        shown = esc(source)
    return f"Source: {esc(title)} — {shown}" if title else f"Source: {shown}"


def heading_name(name: str | None, title: str) -> str:
    """What a readout is called in a heading: its name (who talked, how and when), or its page
    title when it has none (an index written before names were kept)."""
    return " ".join((name or "").split()) or title


def page_title(name: str | None, title: str) -> str | None:
    """The page title for the "Source:" line, when the heading does not already show it."""
    shown = heading_name(name, title)
    clean = " ".join(title.split())
    return None if not clean or clean.casefold() in shown.casefold() else clean


def hit_heading(hit: Hit) -> str:
    """`<b>Kishida – Putin telephone talk, 7 October 2021</b> — point 5`: the readout's name, and
    its date when the name does not say it (`<b>Japan-Russia Relations</b> — October 7, 2021, point 5`)."""
    name = heading_name(hit.name, hit.title)
    date = None if names_date(name, hit.date) else human_date(hit.date)
    where = ", ".join(p for p in (date, hit.label) if p)
    return f"<b>{esc(name)}</b> — {esc(where)}" if where else f"<b>{esc(name)}</b>"


def render_hit(hit: Hit) -> str:
    """A point in full: heading, the whole text, who spoke, and the source."""
    lines = [hit_heading(hit), f"<blockquote>{esc(hit.text.strip())}</blockquote>"]
    if hit.speakers:
        lines.append(f"Speakers: {esc(', '.join(hit.speakers))}")
    src = source_line(hit.source, page_title(hit.name, hit.title))
    if src:
        lines.append(src)
    return "\n".join(lines)


def render_hit_short(hit: Hit) -> str:
    """A point in one bullet: heading and the start of its text."""
    return f"• {hit_heading(hit)}: {esc(shorten(hit.text, SHORT_POINT))}"


def render_answer(answer: Answer) -> str:
    """The reply to a question: best point in full, the next ones shortened.

    When nothing passed the relevance threshold the reply says so first, and shows the nearest
    points as what they are: nearest, probably not the answer.
    """
    hits = answer.hits
    if not hits:
        return "Nothing in the readouts I know answers that. Try other words, or see /sources."
    if not answer.found:
        parts = [
            "I found nothing relevant to that in the readouts I know. "
            "The nearest points, probably not what you asked:",
            *(render_hit_short(h) for h in hits[: 1 + ALSO_SHOWN]),
        ]
        return "\n\n".join(parts)
    parts = [render_hit(hits[0])]
    also = hits[1 : 1 + ALSO_SHOWN]
    if also:
        parts.append("<b>Also relevant</b>\n" + "\n".join(render_hit_short(h) for h in also))
    return "\n\n".join(parts)


def first_more(answer_hits: Sequence[Hit]) -> int | None:
    """Index of the first hit not shown in the answer, or None when all were shown."""
    start = 1 + ALSO_SHOWN
    return start if len(answer_hits) > start else None


def render_more(question: str, hits: Sequence[Hit], start: int, found: bool) -> str:
    """A "More results" message: the points `start`..`start+MORE_PAGE` in full."""
    page = hits[start : start + MORE_PAGE]
    end = start + len(page)
    kind = "More results" if found else "More of the nearest points"
    head = (
        f"<b>{kind}</b> ({start + 1}–{end} of {len(hits)}) for <i>{esc(shorten(question, 120))}</i>"
    )
    return "\n\n".join([head, *(render_hit(h) for h in page)])


def render_readout(readout: Readout, number: int | None = None, name: str | None = None) -> str:
    """A whole readout: name, date, source (with the page title), preamble and every point
    (split by the caller). `name` is the catalog's; without it, the readout's own (naming.py)."""
    if name is None:
        name = readout_name(readout)
    name = heading_name(name, readout.title)
    title = f"<b>{esc(name)}</b>"
    if number is not None:
        title = f"{number}. {title}"
    points = [p for p in readout.points if not p.preamble]
    date = None if names_date(name, readout.iso_date) else human_date(readout.iso_date)
    meta = [date, f"{len(points)} point{'s' if len(points) != 1 else ''}"]
    head = [title, esc(" · ".join(m for m in meta if m))]
    src = source_line(readout.source, page_title(name, readout.title))
    if src:
        head.append(src)
    parts = ["\n".join(head)]
    if readout.preamble.strip():
        parts.append(f"<i>{esc(readout.preamble.strip())}</i>")
    for p in points:
        mark = f"<b>{p.number}.</b> " if p.number is not None else ""
        parts.append(mark + esc(p.text.strip()))
    return "\n\n".join(parts)


def render_sources(
    entries: Sequence[tuple[int, Readout]], total: int, page: int, pages: int,
    names: Sequence[str] | None = None,
) -> str:
    """One page of `/sources`: numbered readouts by name, newest first. `names` are the
    catalog's, one per entry; without them, each readout's own (naming.py)."""
    if not total:
        return "I know no readouts yet."
    head = f"<b>Readouts I know</b>: {total}, newest first"
    if pages > 1:
        head += f" (page {page + 1} of {pages})"
    lines = []
    for i, (number, r) in enumerate(entries):
        name = heading_name(names[i] if names is not None and i < len(names) else readout_name(r), r.title)
        date = None if names_date(name, r.iso_date) else human_date(r.iso_date)
        n_points = sum(1 for p in r.points if not p.preamble)
        lines.append(
            f"{number}. <b>{esc(shorten(name, SOURCES_TITLE))}</b>"
            + (f" — {esc(date)}" if date else "")
            + f" ({n_points} point{'s' if n_points != 1 else ''})"
        )
    return "\n\n".join([head, "\n".join(lines), "Read one in full with /readout N."])


def render_start(count: int, span: tuple[str, str] | None, username: str | None) -> str:
    """/start: what the bot knows, how many readouts, and an example question."""
    known = f"I know <b>{count}</b> readout{'s' if count != 1 else ''}"
    if span:
        first, last = (human_date(d) for d in span)
        known += (
            f", dated {esc(first)}" if first == last else f", dated {esc(first)} to {esc(last)}"
        )
    text = [
        "I answer questions about <b>diplomatic readouts</b>: the official summaries of leaders' "
        "calls and talks, each a dated page with a preamble and numbered points.",
        known + ".",
        f"Ask in plain words, for example:\n<i>{esc(EXAMPLE_QUESTION)}</i>",
        "/sources lists the readouts, /help tells more.",
    ]
    return "\n\n".join(text)


def render_help(username: str | None) -> str:
    """/help: how to ask in private, in groups and inline, and the commands."""
    mention = f"@{esc(username)}" if username else "my @username"
    return "\n\n".join(
        [
            "<b>How to ask</b>",
            "In a private chat, send any question as a message.",
            f"In a group, use /ask &lt;question&gt;, mention {mention} in your message, "
            "or reply to one of my messages.",
            f"In any chat, type {mention} and a few words (e.g. <i>{mention} grave visits</i>) "
            "to pick a point to post.",
            "<b>Commands</b>\n"
            "/ask &lt;question&gt; — ask a question\n"
            "/sources — the readouts I know, newest first\n"
            "/readout N — read readout N from /sources in full\n"
            "/timeline &lt;topic&gt; — every readout's point on a topic, oldest first, with a chart\n"
            "/follow &lt;topic&gt; — get each new readout's point on a topic\n"
            "/following — the topics this chat follows, with buttons to stop them\n"
            "/unfollow N — stop following topic N of /following\n"
            "/start — what I know\n"
            "/help — this help",
            "Each answer shows the best matching point with its readout, date and point number; "
            "<b>More results</b> shows the next points and <b>Full readout</b> the whole readout.",
            "<b>Following a topic</b>\n"
            "Send e.g. <i>/follow grave visits</i> (here, or in a group for the whole group). "
            "When a new readout arrives with a point on it, I send that point to this chat, "
            "once. A chat follows at most 20 topics.",
        ]
    )


def render_inline(hit: Hit, found: bool) -> str:
    """The message an inline result posts: the point with its readout, date and source."""
    text = render_hit(hit)
    if not found:
        text = "<i>Nearest point (may not answer the question):</i>\n" + text
    return text
