"""Dates as readouts print them: "October 7, 2021", "Monday, April 2, 2012", "7 October 2021", "2021-10-07".

A handful of regular expressions cover every government format we have seen; a general date parser
(dateutil, dateparser) would also read "5:30 p.m." or "2018" as dates, which is exactly the kind of
guess that puts a wrong date on a readout.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# ASCII-only case folding ((?a:...)): with Unicode folding "ſept" (long s) and "aprıl" (dotless i)
# match, and their lower() is no key of MONTHS
MONTH_NAMES = r"(?a:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
_MONTH = r"(?P<month>" + MONTH_NAMES + r")\.?"
_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"

_PATTERNS = [
    re.compile(r"(?P<year>\d{4})-(?P<m>\d{1,2})-(?P<day>\d{1,2})"),
    re.compile(_WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.I),
    re.compile(_WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})", re.I),
]


def _build(m: re.Match[str]) -> dt.date | None:
    g = m.groupdict()
    month = int(g["m"]) if g.get("m") else MONTHS[g["month"].lower()]
    try:
        return dt.date(int(g["year"]), month, int(g["day"]))
    except ValueError:
        return None


def find_date(text: str) -> dt.date | None:
    """The first full date anywhere in `text`."""
    best: tuple[int, dt.date] | None = None
    for pat in _PATTERNS:
        for m in pat.finditer(text):
            d = _build(m)
            if d and (best is None or m.start() < best[0]):
                best = (m.start(), d)
            break
    return best[1] if best else None


def date_line(line: str) -> dt.date | None:
    """The date when the whole line reads as a date (a dateline), else None.

    Only whole lines count, so that "On October 7, 2021, ..." in a paragraph does not become the
    readout's date before the real dateline is seen.
    """
    s = line.strip().strip("()[]").strip()
    if not s or len(s) > 40:
        return None
    for pat in _PATTERNS:
        m = pat.fullmatch(s.rstrip("."))
        if m:
            return _build(m)
    return None


def coerce_date(value: object) -> dt.date | None:
    """Front matter and JSONL give dates as `date`, `datetime` or strings in any of the formats above."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        return find_date(value)
    return None
