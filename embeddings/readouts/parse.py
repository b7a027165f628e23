"""Turning a readout's text into a `Readout`: metadata, participants, preamble and points.

Readouts come in a few house styles: MOFA/Kantei number their points (`1.`, `1 `, `(1)`, or a
numbered sub-heading followed by paragraphs and bullets), the UK, US, Kremlin and Canada write plain
paragraphs, some use `-`/`•` bullets. Around the body sit navigation and footers ("Back to ...",
"Related Link", "[Provisional Translation]", reference lists). The parser works line by line:

1. the front matter and the header (title, dateline, section names) are taken off;
2. the numbering style is the style of the first line numbered 1; only lines of that style that
   continue the sequence start a new point, so sub-items such as "(1)" under "3." and unnumbered
   follow-on paragraphs stay with the point they belong to;
3. without a numbered sequence, bullets are the points, else every paragraph is;
4. speakers are the participants (from the preamble) and collectives ("the two leaders") that a
   point names.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from embeddings.errors import ParseError
from embeddings.readouts.aliases import countries_in, leader_named
from embeddings.readouts.dates import coerce_date, date_line
from embeddings.records import Participant, Point, Readout, short_role


# --- lines ---------------------------------------------------------------------------------------

_JUNK = re.compile(
    r"""^(?:
        back\s+to\b.* | page\s+top | top\s+of\s+page | print | share | tweet
      | \[?\(?\s*provisional\s+translation\s*\)?\]?\.?
      | \(?\s*\*.*foregoing\s+is\s+a\s+provisional\s+translation.* | \(?\*?\s*the\s+foregoing\s+is\s+a\s+provisional.*
      | \(\s*photo\b.* | photo\s*:.* | \[\s*photo.*
      | press\s+releases? | related\s+(?:links?|information)\s*:?
      | (?:see|read)\s+also\s*:?
    )$""",
    re.I | re.X,
)
# A line that ends the body: what follows is a reference list or related links, not the talk.
_END = re.compile(r"^(?:\[\s*reference\s*\]|reference\s*:|related\s+links?\b|\(reference\))", re.I)

_NUMBERED = re.compile(
    r"""^(?:[•·\-\*–]\s*)?(?:
        \((?P<paren>\d{1,2})\)
      | (?P<rparen>\d{1,2})\)
      | (?P<dot>\d{1,2})\.(?!\d)
      | (?P<bare>\d{1,2})(?=\s+["“'(A-Z])
    )\s*(?P<rest>.*)$""",
    re.X,
)
_BULLET = re.compile(r"^[•·\-\*–]\s+(?P<rest>.+)$")
_BULLET_PREFIX = re.compile(r"^[•·\-\*–]\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")


@dataclass
class _Line:
    text: str
    kind: str  # "numbered", "bullet", "para"
    style: str | None = None
    number: int | None = None
    rest: str = ""


def _classify(line: str) -> _Line:
    m = _NUMBERED.match(line)
    if m:
        style = next(s for s in ("paren", "rparen", "dot", "bare") if m.group(s))
        rest = m.group("rest").strip()
        if rest:
            return _Line(line, "numbered", style, int(m.group(style)), rest)
    b = _BULLET.match(line)
    if b:
        return _Line(line, "bullet", rest=b.group("rest").strip())
    return _Line(line, "para", rest=line)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML between `---` lines at the very top; a file without it is all body."""
    if not text.startswith("---"):
        return {}, text
    m = re.match(r"---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, re.S)
    if not m:
        return {}, text
    import yaml  # only files with front matter pay for it

    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        raise ParseError(f"front matter is not valid YAML ({_first_line(e)})") from None
    except (ValueError, TypeError, AttributeError) as e:
        # PyYAML's constructors raise these, not YAMLError, for a scalar that matches its type's
        # pattern but not its range ("date: 2021-13-45", "!!int x", "!!timestamp x")
        raise ParseError(f"front matter has a value YAML cannot read ({_first_line(e)})") from None
    except RecursionError:
        raise ParseError("front matter is nested too deeply to read") from None
    if not isinstance(meta, dict):
        raise ParseError("front matter is not a YAML mapping of keys to values")
    return meta, text[m.end():]


def _first_line(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0]


def _meta_text(value: Any) -> str | None:
    """A title or source given as a scalar, as text. Anything else (a list, a mapping) is a
    mistake in the metadata, and printing it could take forever: YAML aliases nest a few lines
    into billions of items."""
    if isinstance(value, (str, int, float, dt.date)) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _check_unicode(value: str, what: str) -> None:
    """Refuse text with a lone surrogate, as a file that is not UTF-8 is refused: the index
    writes UTF-8, which has no encoding for one. JSON ("\\udcff") and YAML escapes can hold one,
    and so can a file name that is not UTF-8 (os.scandir hands its bytes over as surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ParseError(f"{what} is not valid Unicode (a lone surrogate {value[e.start]!r} at {e.start})") from None


def _lines(body: str) -> list[str]:
    """Non-empty, whitespace-folded lines; a line starting in lower case continues the one before
    (hard-wrapped Markdown), everything else keeps the publisher's line structure."""
    out: list[str] = []
    prev_blank = True
    for raw in body.replace("\u00a0", " ").replace("\u200b", "").splitlines():
        line = " ".join(raw.split())
        if not line:
            prev_blank = True
            continue
        line = _MD_HEADING.sub("", line)
        if out and not prev_blank and line[:1].islower():
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        prev_blank = False
    return out


def _is_heading(line: str) -> bool:
    """Short lines without closing punctuation: page titles, section names, photo captions."""
    return len(line.split()) <= 12 and not re.search(r"[.!?:;”\"]$", line)


# --- participants and speakers ---------------------------------------------------------------------

_ROLE_WORDS = (
    r"(?:(?:Acting\s+|Vice\s+|Deputy\s+|Former\s+)?"
    r"(?:Prime\s+Minister|President|Chancellor|Premier|Foreign\s+Minister|Minister|Secretary(?:\s+of\s+State)?"
    r"|State\s+Counsellor|King|Queen|Emperor|Crown\s+Prince|Governor[- ]General|Chief\s+Cabinet\s+Secretary))"
)
_HONORIFIC = re.compile(
    r"(?:\bH\.\s?E\.|\bHis\s+Excellency|\bHer\s+Excellency|\bthe\s+Honou?rable|\bHon\.|\bMr\.|\bMs\.|\bMrs\.|\bDr\.)\s+"
    r"(?:(?:Mr|Ms|Mrs|Dr)\.\s+)?"
)
_ROLE_SEGMENT = re.compile(
    r"^\s*(?:the\s+)?(?P<role>" + _ROLE_WORDS + r"(?:\s+for\s+[A-Z][\w\s]*?)?)"
    r"(?:\s+of\s+(?P<country>(?:the\s+)?[A-Z][\w'’\-]*(?:\s+(?:of\s+)?[A-Z][\w'’\-]*)*))?"
    r"(?=$|\s+(?:held|had|and|on|for|via|spoke|met)\b|[\s(])",
)
_NAME_TOKEN = r"[A-ZÀ-ÖØ-Þ][\w'’\-.]*"
_ROLE_FIRST = re.compile(
    r"(?<![Ff]ormer )(?:(?P<adj>(?!(?:Prime|Foreign|Vice|Deputy|Acting|Former|Crown|Chief|The|With|And)\b)[A-Z][a-z]+)\s+)?"
    r"(?<![Ff]ormer )(?<!Prime )(?<!Foreign )(?<!Vice )(?<!Deputy )(?<!Chief )(?<!Cabinet )(?P<role>" + _ROLE_WORDS + r")"
    r"(?:\s+of\s+(?P<country1>(?:the\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*))?"
    r"\s+(?P<name>" + _NAME_TOKEN + r"(?:\s+" + _NAME_TOKEN + r"){0,3})"
    r"(?:,\s+Jr\.)?(?:\s+of\s+(?P<country2>(?:the\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*))?"
)
_SUFFIXES = {"Jr.", "Jr", "Sr.", "MP", "M.P.", "II", "III", "AC", "KC"}
_STOP_NAMES = {
    "The", "He", "She", "They", "In", "On", "At", "Regarding", "Of", "And", "An", "A", "This", "Today",
    "Republic", "Federation", "Kingdom", "States", "Union", "Government", "Affairs", "Japan", "Ukraine",
}
_COLLECTIVES = [
    (re.compile(r"\b(?:the\s+two|both|the)\s+(?:leaders|heads\s+of\s+(?:state|government))\b", re.I), "the two leaders"),
    (re.compile(r"\b(?:the\s+two|both|the)\s+prime\s+ministers\b", re.I), "the two leaders"),
    (re.compile(r"\b(?:the\s+two|both|the)\s+(?:foreign\s+)?ministers\b", re.I), "the two ministers"),
    (re.compile(r"\bthe\s+two\s+sides\b", re.I), "the two sides"),
]


def _surname(name_tokens: list[str], text: str, mentions: dict[str, int]) -> str:
    """`mentions` remembers how often `text` repeats each token: a preamble that names people
    thousands of times would otherwise search the whole text again for every name."""
    tokens = [t.rstrip(",") for t in name_tokens if t.rstrip(",") not in _SUFFIXES]
    tokens = [t if re.fullmatch(r"[A-Z]\.", t) else t.rstrip(".") for t in tokens]
    tokens = [t for t in tokens if not re.fullmatch(r"[A-Z]\.", t)] or tokens
    if not tokens:
        return ""
    caps = [t for t in tokens if len(t) > 1 and t.isupper()]
    if caps:  # MOFA writes family names in capitals: "KISHIDA Fumio"
        return caps[0].capitalize() if caps[0].isascii() else caps[0][0] + caps[0][1:].lower()
    # "Kishida Fumio" vs "Shinzo Abe": the token the text repeats after a title is the surname
    for t in tokens:
        if t not in mentions:
            mentions[t] = len(re.findall(r"\b" + re.escape(t) + r"\b", text))
    counts = {t: mentions[t] for t in tokens}
    best = max(counts.values())
    tied = [t for t in tokens if counts[t] == best]
    known = [t for t in tied if leader_named(t)]
    return (known or tied)[-1]


def _clean_role(role: str) -> str:
    return " ".join(role.split()).replace("Former ", "")


def find_participants(preamble: str, text: str) -> list[Participant]:
    """People the preamble introduces, as "<honorific> <name>, <role> of <country>" or
    "<role> [of <country>] <name>"; leaders the alias table knows fill in a missing role."""
    found: dict[str, Participant] = {}
    mentions: dict[str, int] = {}

    def add(surname: str, name: str, role: str, country: str | None) -> None:
        if not surname or surname in _STOP_NAMES or surname.lower() in found:
            return
        if countries_in(surname) and not leader_named(surname):
            return
        found[surname.lower()] = Participant(name=name, surname=surname, role=_clean_role(role), country=country)

    # UK/US style: "The Prime Minister spoke to ...": the publisher's own leader, never named
    own = re.match(r"^(?:The|the)\s+(Prime\s+Minister|President|PM)\b(?!\s+of\b)", preamble.strip())
    if own:
        role = "Prime Minister" if own.group(1) == "PM" else " ".join(own.group(1).split())
        found["<own>"] = Participant(name="", surname="", role=role, country=None)

    for m in _HONORIFIC.finditer(preamble):
        segments = preamble[m.end():].split(",", 3)  # the name and role are in the first three
        name_parts: list[str] = []
        for seg in segments[:3]:
            rm = _ROLE_SEGMENT.match(seg)
            if rm:
                name = ", ".join(p.strip() for p in name_parts)
                tokens = name_parts[0].split() if name_parts else []
                surname = _surname(tokens, text, mentions) if len(name_parts) == 1 else (tokens[0] if tokens else "")
                country = rm.group("country")
                add(surname, name, rm.group("role"), country.strip() if country else None)
                break
            if not re.match(r"^\s*" + _NAME_TOKEN, seg) or len(seg.split()) > 5:
                break
            if seg.strip() not in _SUFFIXES:
                name_parts.append(seg.strip())
    for m in _ROLE_FIRST.finditer(preamble):
        tokens = m.group("name").split()
        # stop the name at the first word that is not a name ("Abe held", "Noda and")
        kept = []
        for t in tokens:
            if t.rstrip(".,") in _STOP_NAMES:
                break
            kept.append(t)
            if t.endswith(".") and len(t) > 3:  # "Federation." ends the sentence
                break
        if not kept:
            continue
        surname = _surname(kept, text, mentions)
        country = m.group("country1") or m.group("country2") or m.group("adj")
        if m.group("country1") and countries_in(f"{m.group('country1')} {kept[0]}") != countries_in(m.group("country1")):
            continue  # "Prime Minister of New Zealand": the "name" is the rest of the country
        add(surname, " ".join(kept), m.group("role"), country)
    # Kremlin style: "Vladimir Putin had a telephone conversation with ..."
    for m in re.finditer(r"(" + _NAME_TOKEN + r"(?:\s+" + _NAME_TOKEN + r"){0,2})", preamble):
        for t in m.group(1).split():
            leader = leader_named(t.strip(".,"))
            if leader and t.strip(".,") == leader.surname and not any(
                leader.surname in p.name.split() for p in found.values()
            ):
                add(leader.surname, m.group(1), leader.role, leader.country)
    return list(found.values())


def find_speakers(text: str, participants: list[Participant]) -> list[str]:
    """Who speaks or acts in a point: participants named in it (by surname, or by role when the
    role is unambiguous) and collectives such as "the two leaders", in order of appearance."""
    hits: list[tuple[int, str]] = []
    unnamed_roles = {p.role for p in participants if not p.surname}
    for p in participants:
        role = short_role(p.role)
        role_re = re.escape(role).replace(r"\ ", r"\s+")
        if role == "Prime Minister":
            role_re = r"(?:Prime\s+Minister|PM)"
        bare_role = r"\b(?:the|The)\s+" + role_re + r"\b(?!\s+of\b)(?!\s+[A-Z])"
        if not p.surname:
            m = re.search(bare_role, text)
            if m:
                hits.append((m.start(), p.label))
            continue
        names = f"(?:{re.escape(p.surname)}|{re.escape(p.surname.upper())})"  # MOFA: "KISHIDA Fumio"
        m = re.search(r"(?<!former )(?<!Former )\b" + names + r"\b", text)
        if not m and p.country:
            country = re.escape(re.sub(r"^the\s+", "", p.country))
            m = re.search(r"\b(?:the|The)\s+" + role_re + r"\s+of\s+(?:the\s+)?" + country, text)
        if not m and p.role not in unnamed_roles and sum(short_role(q.role) == role for q in participants) == 1:
            m = re.search(bare_role, text)
        if m:
            hits.append((m.start(), p.label))
    for pat, label in _COLLECTIVES:
        m = pat.search(text)
        if m:
            hits.append((m.start(), label))
    out: list[str] = []
    for _, label in sorted(hits):
        if label not in out:
            out.append(label)
    return out


# --- the readout -----------------------------------------------------------------------------------


def parse_readout(text: str, doc: str, meta: dict[str, Any] | None = None) -> Readout:
    """Parse one readout. `meta` (JSONL fields) wins over front matter, which wins over the text."""
    if "\x00" in text:
        raise ParseError("binary file, not text")
    _check_unicode(doc, "the file name or JSONL id")
    _check_unicode(text, "the text")
    front, body = split_front_matter(text)
    meta = {**front, **{k: v for k, v in (meta or {}).items() if v not in (None, "")}}
    lines = [ln for ln in _lines(body)]
    if not lines:
        raise ParseError("no text")

    title = _meta_text(meta.get("title")) or lines[0]
    date: dt.date | None = coerce_date(meta.get("date"))
    source = _meta_text(meta.get("source"))
    for value, what in ((title, "the title"), (source, "the source")):
        if value is not None:
            _check_unicode(value, what)

    # Header: whatever precedes the title line when the title is printed near the top
    # ("Press Releases"), the title itself, datelines, section names and junk.
    norm_title = title.casefold().strip(" \"'")
    for i, ln in enumerate(lines[:6]):
        if ln.casefold().strip(" \"'") == norm_title:
            lines = lines[i + 1:]
            break
    body_lines: list[str] = []
    seen: set[str] = set()
    for ln in lines:
        if _END.match(ln):
            break
        d = date_line(ln)
        if d is not None:
            date = date or d
            continue
        if _JUNK.match(_BULLET_PREFIX.sub("", ln)) or ln.casefold() == norm_title or ln in seen:
            continue
        seen.add(ln)
        body_lines.append(ln)
    if not body_lines:
        raise ParseError("no body text after the title and date")

    classified = [_classify(ln) for ln in body_lines]
    first = next((c for c in classified if c.kind == "numbered" and c.number == 1), None)
    preamble_lines: list[str] = []
    blocks: list[tuple[int | None, list[str]]] = []  # (number, lines)

    if first is not None:
        style, expected = first.style, 1
        for c in classified:
            if c.kind == "numbered" and c.style == style and c.number == 1 and expected == 2 and len(blocks) == 1:
                # the preamble itself was numbered "1." and the real points start again at 1
                preamble_lines += blocks.pop()[1]
                blocks.append((1, [c.rest]))
            elif c.kind == "numbered" and c.style == style and expected <= c.number <= expected + 1:
                blocks.append((c.number, [c.rest]))
                expected = c.number + 1
            elif not blocks:
                preamble_lines.append(c.text)
            else:
                blocks[-1][1].append(c.text)
    elif any(c.kind == "bullet" for c in classified):
        for c in classified:
            if c.kind == "bullet":
                blocks.append((None, [c.rest]))
            elif not blocks:
                preamble_lines.append(c.text)
            else:
                blocks.append((None, [c.text]))
    else:
        paras = list(body_lines)
        while len(paras) > 1 and _is_heading(paras[0]):
            paras.pop(0)  # section names above the first paragraph
        blocks = [(None, [p]) for p in paras]

    # Headings above the preamble's first sentence are page furniture, not preamble.
    while len(preamble_lines) > 1 and _is_heading(preamble_lines[0]):
        preamble_lines.pop(0)
    if preamble_lines and all(_is_heading(p) for p in preamble_lines):
        preamble_lines = []
    preamble = "\n".join(preamble_lines)
    intro = preamble or (blocks[0][1][0] if blocks else "")
    participants = find_participants(intro, body)

    points: list[Point] = []
    if preamble:
        points.append(Point(None, 0, preamble, find_speakers(preamble, participants), preamble=True))
    for pos, (number, texts) in enumerate(blocks, start=1):
        t = "\n".join(texts).strip()
        if t:
            points.append(Point(number, pos, t, find_speakers(t, participants)))
    if not any(not p.preamble for p in points):
        raise ParseError("no points found in the text")
    return Readout(doc=doc, title=title, date=date, source=source, participants=participants,
                   preamble=preamble, points=points)
