"""Telegram's HTML parse mode, as strict as the real Bot API (and a little stricter).

Written independently of the bot's own renderer and splitter, so that a bug in either is caught
here rather than mirrored. Follows https://core.telegram.org/bots/api#html-style: only the listed
tags, properly nested, entities `&lt; &gt; &amp; &quot;` and numeric ones; the text length that
counts is the parsed text in UTF-16 code units. Stricter than Telegram in one way on purpose:
a bare `&` or `>` in text is refused, because the bot is meant to escape all text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TAG_TO_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}

_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_URL_RE = re.compile(r"^(https?|tg|mailto|ftp)://?[^\s]+$", re.IGNORECASE)


class ParseEntitiesError(ValueError):
    """The text Telegram would refuse with "Bad Request: can't parse entities: ..."."""


def utf16_len(text: str) -> int:
    """Telegram counts lengths and offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    start: int  # utf-16 offset in plain text
    attrs: dict[str, str] = field(default_factory=dict)
    at: int = 0  # byte offset of the tag, for messages


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    m = _ENTITY_RE.match(text, i)
    if not m:
        raise ParseEntitiesError(
            f"Character '&' is reserved and must be escaped at byte offset {_byte_offset(text, i)}"
        )
    body = m.group(1)
    if body in _NAMED:
        return _NAMED[body], m.end()
    code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise ParseEntitiesError(f"Invalid numeric entity at byte offset {_byte_offset(text, i)}")
    return chr(code), m.end()


def _decode_attr(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "&":
            ch, i = _decode_entity(value, i)
            out.append(ch)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[dict]]:
    """(plain text, entities) for `text` in HTML parse mode, or ParseEntitiesError."""
    plain: list[str] = []
    pos16 = 0
    stack: list[_Open] = []
    entities: list[dict] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "<":
            at = _byte_offset(text, i)
            if text.startswith("</", i):
                m = _NAME_RE.match(text, i + 2)
                end = text.find(">", i)
                if not m or end < 0 or text[m.end() : end].strip():
                    raise ParseEntitiesError(f"Can't find end of the tag at byte offset {at}")
                name = m.group(0).lower()
                if not stack:
                    raise ParseEntitiesError(f'Unexpected end tag "{name}" at byte offset {at}')
                top = stack.pop()
                if top.name != name:
                    raise ParseEntitiesError(
                        f'Unmatched end tag at byte offset {at}, expected "</{top.name}>", '
                        f'found "</{name}>"'
                    )
                if pos16 > top.start:
                    entity = {
                        "type": TAG_TO_ENTITY[top.name],
                        "offset": top.start,
                        "length": pos16 - top.start,
                    }
                    if top.name == "a":
                        entity["url"] = top.attrs["href"]
                    if top.name == "blockquote" and "expandable" in top.attrs:
                        entity["type"] = "expandable_blockquote"
                    entities.append(entity)
                i = end + 1
                continue
            m = _NAME_RE.match(text, i + 1)
            if not m:
                raise ParseEntitiesError(f"Unsupported start tag at byte offset {at}")
            name = m.group(0).lower()
            if name not in TAG_TO_ENTITY:
                raise ParseEntitiesError(f'Unsupported start tag "{name}" at byte offset {at}')
            j = m.end()
            attrs: dict[str, str] = {}
            while True:
                while j < n and text[j].isspace():
                    j += 1
                if j >= n:
                    raise ParseEntitiesError(f"Can't find end of the tag at byte offset {at}")
                if text[j] == ">":
                    j += 1
                    break
                am = _ATTR_RE.match(text, j)
                if not am or am.end() == j:
                    raise ParseEntitiesError(f"Invalid tag attribute at byte offset {at}")
                raw = am.group(2)
                value = ""
                if raw is not None:
                    value = raw[1:-1] if raw[0] in "\"'" else raw
                    value = _decode_attr(value)
                attrs[am.group(1).lower()] = value
                j = am.end()
            _check_start_tag(name, attrs, stack, at)
            stack.append(_Open(name, pos16, attrs, at))
            i = j
            continue
        if ch == ">":
            raise ParseEntitiesError(
                f"Character '>' is reserved and must be escaped at byte offset {_byte_offset(text, i)}"
            )
        if ch == "&":
            decoded, i = _decode_entity(text, i)
        else:
            decoded = ch
            i += 1
        plain.append(decoded)
        pos16 += 2 if ord(decoded) > 0xFFFF else 1
    if stack:
        raise ParseEntitiesError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return "".join(plain), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _check_start_tag(name: str, attrs: dict[str, str], stack: list[_Open], at: int) -> None:
    names = [o.name for o in stack]
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise ParseEntitiesError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    if name == "a":
        href = attrs.get("href", "")
        if not _URL_RE.match(href):
            raise ParseEntitiesError(f"Wrong URL {href!r} in an <a> tag at byte offset {at}")
        if "a" in names:
            raise ParseEntitiesError(f"Nested links are not allowed at byte offset {at}")
    if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise ParseEntitiesError(f"Tag \"tg-emoji\" must have emoji-id at byte offset {at}")
    if name == "tg-time" and not attrs.get("unix", "").isdigit():
        raise ParseEntitiesError(f"Tag \"tg-time\" must have unix at byte offset {at}")
    if name == "code" and attrs.get("class") and not (names and names[-1] == "pre"):
        raise ParseEntitiesError(f"Language can be specified only for pre code at byte offset {at}")
    if any(o in ("code", "pre") for o in names) and not (name == "code" and names[-1] == "pre"):
        raise ParseEntitiesError(f'Entities can\'t be nested in "{names[-1]}" at byte offset {at}')
    if name == "blockquote" and "blockquote" in names:
        raise ParseEntitiesError(f"Blockquotes can't be nested at byte offset {at}")


def strip_message(plain: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Trim outer whitespace as Telegram does, shifting and clipping entities to match."""
    lead = len(plain) - len(plain.lstrip())
    stripped = plain.strip()
    lead16 = utf16_len(plain[:lead])
    total16 = utf16_len(stripped)
    out = []
    for e in entities:
        start = max(0, e["offset"] - lead16)
        end = min(total16, e["offset"] + e["length"] - lead16)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out
