"""Splitting Telegram-HTML text into messages of at most 4096 characters.

Telegram counts the limit on the text *after* entity parsing, in UTF-16 code units, and refuses
a message whose tags do not balance. So the splitter works on tokens (tag, entity, character),
counts only what the user will see, prefers to cut at a paragraph break, then a line break, then
a space, and only then mid-word; at a cut it closes the tags that are open and reopens them at
the start of the next message, so every piece is valid HTML on its own.

It expects the HTML this package renders (text escaped with `html.escape`); it is not a general
HTML parser.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

TELEGRAM_LIMIT = 4096

# A tag, an entity, one whitespace character, or a run of other text (a word, roughly).
_TOKEN_RE = re.compile(
    r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);|\s|[^<&\s]+|.", re.DOTALL
)
_TAG_RE = re.compile(r"<[^<>]*>")
_TAG_NAME_RE = re.compile(r"^</?\s*([A-Za-z][A-Za-z0-9-]*)")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP count twice."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Token:
    raw: str
    kind: str  # "open", "close", "text"
    name: str = ""  # tag name for open/close
    plain: str = ""  # what the user sees, for text

    @property
    def size(self) -> int:
        return utf16_len(self.plain)


def _tokenize(markup: str) -> list[_Token]:
    tokens: list[_Token] = []
    for m in _TOKEN_RE.finditer(markup):
        raw = m.group(0)
        if raw.startswith("<") and len(raw) > 1:
            name_match = _TAG_NAME_RE.match(raw)
            name = name_match.group(1).lower() if name_match else ""
            if raw.startswith("</"):
                tokens.append(_Token(raw, "close", name))
            elif raw.endswith("/>"):
                continue  # Telegram has no self-closing tags; we never emit them
            else:
                tokens.append(_Token(raw, "open", name))
        elif raw.startswith("&") and len(raw) > 1:
            tokens.append(_Token(raw, "text", plain=html.unescape(raw)))
        else:
            tokens.append(_Token(raw, "text", plain=raw))
    return tokens


def plain_text(markup: str) -> str:
    """The text Telegram shows for `markup`: tags dropped, entities decoded."""
    return "".join(t.plain for t in _tokenize(markup))


def plain_length(markup: str) -> int:
    """Telegram's length of `markup`: UTF-16 units of the parsed text."""
    return utf16_len(plain_text(markup))


def _closing(stack: list[_Token]) -> str:
    return "".join(f"</{t.name}>" for t in reversed(stack))


def _opening(stack: list[_Token]) -> str:
    return "".join(t.raw for t in stack)


def split_html(markup: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pieces of `markup`, each valid on its own with at most `limit` visible characters.

    Pieces that would show nothing but whitespace are dropped (Telegram refuses empty texts).
    """
    if limit < 16:
        raise ValueError("limit too small to split sensibly")
    markup = markup.strip()
    # Tags and entities only ever shorten the visible text, so markup that fits as written fits
    # as shown: the common case (an answer of a few points) skips the tokenizer.
    if utf16_len(markup) <= limit:
        return [markup] if html.unescape(_TAG_RE.sub("", markup)).strip() else []
    tokens = _tokenize(markup)
    if sum(t.size for t in tokens) <= limit:
        return [markup] if any(t.plain.strip() for t in tokens) else []

    pieces: list[str] = []
    start_stack: list[_Token] = []
    i = 0
    while i < len(tokens):
        # Skip whitespace at the start of a piece; Telegram would trim it anyway.
        while i < len(tokens) and tokens[i].kind == "text" and not tokens[i].plain.strip():
            i += 1
        if i >= len(tokens):
            break
        stack = list(start_stack)
        length = 0
        # best[prio] = (cut index, stack at cut, visible length before cut)
        best: dict[int, tuple[int, list[_Token], int]] = {}
        j = i
        overflow = False
        while j < len(tokens):
            tok = tokens[j]
            if tok.kind == "text":
                if length + tok.size > limit:
                    overflow = True
                    break
                length += tok.size
            elif tok.kind == "open":
                stack.append(tok)
            elif tok.kind == "close":
                # Pop the matching open tag (our markup is balanced; be lenient otherwise).
                for k in range(len(stack) - 1, -1, -1):
                    if stack[k].name == tok.name:
                        del stack[k]
                        break
            j += 1
            if tok.kind == "text" and tok.plain in (" ", "\n", "\t"):
                prio = 1
                if tok.plain == "\n":
                    prio = 3 if j >= 2 and tokens[j - 2].plain == "\n" else 2
                best[prio] = (j, list(stack), length)
        if not overflow:
            _emit(pieces, start_stack, tokens[i:], [])
            break
        cut: tuple[int, list[_Token], int] | None = None
        for prio in (3, 2, 1):
            cand = best.get(prio)
            # Do not cut so early that the piece is a sliver; a lower-priority break is better.
            if cand is not None and cand[2] >= limit // 3:
                cut = cand
                break
        if cut is None:
            # Hard cut: split the word that does not fit, between two characters.
            word = tokens[j]
            room = limit - length
            if len(word.plain) > 1 and word.raw == word.plain and room > 0:
                head, tail = _fit(word.plain, room)
                if head:
                    tokens[j : j + 1] = [
                        _Token(head, "text", plain=head),
                        _Token(tail, "text", plain=tail),
                    ]
                    j += 1
            cut = (j, list(stack), length)
        k, cut_stack, _ = cut
        if k <= i:  # a single token wider than the limit cannot happen; never loop forever
            k = i + 1
        _emit(pieces, start_stack, tokens[i:k], cut_stack)
        start_stack = cut_stack
        i = k
    return pieces


def _fit(word: str, room: int) -> tuple[str, str]:
    """Split `word` so the head takes at most `room` UTF-16 units."""
    used = 0
    for idx, ch in enumerate(word):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            return word[:idx], word[idx:]
    return word, ""


def _emit(
    pieces: list[str], start_stack: list[_Token], body: list[_Token], end_stack: list[_Token]
) -> None:
    """Append one piece: reopen the tags open at its start, close those open at its end."""
    if not any(t.kind == "text" and t.plain.strip() for t in body):
        return
    piece = _opening(start_stack) + "".join(t.raw for t in body) + _closing(end_stack)
    pieces.append(piece.strip())
