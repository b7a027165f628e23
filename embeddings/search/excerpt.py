"""The few words of a point worth showing for a topic: its key sentence and a short phrase.

A timeline lists one point per readout, and a point can run to a paragraph of several bullets
(MOFA's "Issue of concluding a peace treaty / • business mission ... / • grave visit ..."). Its
first sentence is then often about something else, so a list line shows the first sentence that
has the most of the topic's words, and a chart mark the words around the first of them ("grave
visits by airplane"). Matching is by the BM25 tokenizer's stems, so "visit" matches "visits".
"""

from __future__ import annotations

import re

from embeddings.index.lexical import STOPWORDS, tokenize

PHRASE_CHARS = 48  # a chart label: ~260 pixels at 8 points, a sixth of the chart's width

_BULLET = re.compile(r"^\s*(?:[•·\-–*]|\(\w{1,3}\)|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?][\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Ms|Mrs|Dr|St|No|Nos|Jr|Sr|Gen|Lt|Col|Prof|Sen|Rep|Gov|Amb|vs|etc|approx|cf)|\b(?:[A-Z]\.)+[A-Z]?)\.$")
_PAUSES = ",;:()"
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
# words that join a topic word to what it is about, like stopwords, but that the BM25 list keeps
_CONNECTORS = frozenset("""including regarding concerning such toward towards via upon within along across among
    amid around beyond near despite per behind beside inside outside onto throughout without""".split())
# who-said-what verbs: they end a run of content words ("discussed North Korea's nuclear" is
# "North Korea's nuclear")
_VERBS = frozenset("""stated noted expressed explained confirmed agreed affirmed welcomed shared stressed
    emphasized emphasised conveyed requested asked mentioned discussed reviewed raised addressed underlined
    underscored reiterated highlighted exchanged spoke condemned proposed offered thanked suggested urged
    called invited hoped pledged promised announced congratulated praised recalled added replied""".split())
# who said it, before what was said: "Prime Minister Abe expressed his hope that ..."
_REPORTING = re.compile(
    r"^.{0,90}?\b(?:" + "|".join(sorted(_VERBS | {"said", "pointed out", "exchanged views on", "spoke about"},
                                         key=len, reverse=True)) + r")\b"
    r"(?:\s+(?:the\s+view|the\s+recognition|his|her|their|its))?(?:\s+(?:that|on|of|about|to))?\s+",
    re.I,
)


def sentences(text: str) -> list[str]:
    """The point's sentences, bullets and headings (a heading is a line without an ending
    stop), in order, bullet marks removed."""
    out: list[str] = []
    for line in text.splitlines():
        while _BULLET.match(line):  # "• (1) Regarding North Korea"
            line = _BULLET.sub("", line, count=1)
        line = line.strip()
        if not line:
            continue
        start = 0
        for m in _SENTENCE_END.finditer(line):
            head = line[start:m.start() + 1]
            if _ABBREVIATION.search(head):
                continue  # "Mr. Abe", "U.S. forces": not the end of a sentence
            out.append(line[start:m.end()].strip())
            start = m.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return out


def _is_heading(s: str) -> bool:
    return not s.rstrip("\"”’)").endswith((".", "!", "?", ":", ";")) and len(s.split()) <= 12


def _topic_stems(topic: str) -> set[str]:
    return {t for t in tokenize(topic) if len(t) > 2 or t.isdigit()}


def key_sentence(text: str, topic: str) -> str:
    """The first sentence with the most of the topic's words; the first sentence that is not a
    heading when none has any (a point found by meaning alone)."""
    parts = sentences(text)
    if not parts:
        return text.strip()
    stems = _topic_stems(topic)
    best, best_n = None, 0
    for s in parts:
        n = len(stems & set(tokenize(s)))
        if n > best_n:
            best, best_n = s, n
    if best is not None:
        return best
    return next((s for s in parts if not _is_heading(s)), parts[0])


def _chunks(words: list[str], pause: list[bool]) -> list[tuple[int, int]]:
    """Runs of content words, as (start, end) word indexes: "the issue of grave visits by
    airplane" -> issue | grave visits | airplane. `pause[i]`: a comma or the like comes before
    word i, which ends a run too ("North Korea, Prime Minister Abe")."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, w in enumerate(words):
        low = w.lower()
        content = low not in STOPWORDS and low not in _CONNECTORS and low not in _VERBS
        if content and start is not None and pause[i]:
            runs.append((start, i))
            start = i
        elif content and start is None:
            start = i
        elif not content and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(words)))
    return runs


def key_phrase(sentence: str, topic: str, limit: int = PHRASE_CHARS) -> str:
    """A chart label: the run of words holding the first topic word and the run after it
    ("grave visits by airplane"); the run before it instead when the topic's words would be all
    it says ("ship-to-ship transfers by North Korea"). For a point found by meaning alone, the
    first runs of what was said ("feasibility studies for the rail link"). At most `limit`
    characters, cut at words."""
    stems = _topic_stems(topic)
    runs, text_of, words = _runs(sentence)
    joined = _joiner(sentence, runs, words)
    first = next((n for n, (a, b) in enumerate(runs) if any(stems & set(tokenize(w)) for w in words[a:b])), None)
    if first is None:  # no topic word: skip who said it, keep what was said
        clause = _REPORTING.sub("", sentence, count=1) or sentence
        runs, text_of, words = _runs(clause)
        joined = _joiner(clause, runs, words)
        first = 0
    if not runs:
        return _balanced(sentence[:limit].strip())
    options = [runs[first:first + 2] if joined(first) else runs[first:first + 1], runs[first:first + 1]]
    if set(tokenize(text_of(options[0]))) <= stems and first > 0 and joined(first - 1):
        options = [runs[first - 1:first + 1], *options]  # "North Korea" alone says nothing new
    phrase = next((text_of(o) for o in options if len(text_of(o)) <= limit), text_of(options[-1]))
    if len(phrase) > limit:  # one long run: whole words up to the limit
        cut = phrase[:limit + 1]
        phrase = cut[:cut.rfind(" ")] if " " in cut else cut[:limit]
    return _balanced(phrase.strip(" ,;:.-–"))


def _runs(text: str):
    """The runs of content words of `text`, a function from runs to the text they span, and the
    words."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    words = [text[a:b] for a, b in spans]

    def text_of(rs: list[tuple[int, int]]) -> str:
        return text[spans[rs[0][0]][0]:spans[rs[-1][1] - 1][1]] if rs else ""

    pause = [i > 0 and any(c in text[spans[i - 1][1]:spans[i][0]] for c in _PAUSES) for i in range(len(spans))]
    return _chunks(words, pause), text_of, words


def _joiner(text: str, runs: list[tuple[int, int]], words: list[str]):
    """Whether run n and run n + 1 belong in one label: not across a comma or semicolon ("North
    Korea, Prime Minister Abe said") unless a joining word follows it (", including the")."""
    starts = [m.start() for m in _WORD.finditer(text)]
    ends = [m.end() for m in _WORD.finditer(text)]

    def joined(n: int) -> bool:
        if n + 1 >= len(runs):
            return False
        a, b = runs[n][1], runs[n + 1][0]
        gap = text[ends[a - 1]:starts[b]]
        return not any(c in gap for c in _PAUSES) or any(w.lower() in _CONNECTORS for w in words[a:b])

    return joined


def _balanced(phrase: str) -> str:
    """A label cut inside a quotation gets its other mark: “charm offensive”."""
    opening, closing = phrase.count("“"), phrase.count("”")
    if opening > closing:
        phrase += "”"
    elif closing > opening:
        phrase = "“" + phrase
    if phrase.count('"') % 2:
        # a lone mark early on closes a quotation begun before the label; late, it opens one
        phrase = '"' + phrase if phrase.find('"') < len(phrase) // 2 else phrase + '"'
    return phrase


def around(sentence: str, topic: str, limit: int) -> str:
    """`sentence` in at most `limit` characters, cut at words, with its first topic word in view:
    its start when the word is near it, else "…" and the words just before the topic word (a
    run-on MOFA sentence names North Korea after 300 characters about ship visits)."""
    text = " ".join(sentence.split())
    if len(text) <= limit:
        return text
    stems = _topic_stems(topic)
    at = next((m.start() for m in _WORD.finditer(text) if stems & set(tokenize(m.group(0)))), 0)
    start = 0
    if at + 60 > limit:
        want = max(0, min(at - limit // 3, len(text) - limit + 2))  # fill the room to the end
        start = text.find(" ", want) + 1 or want
    end = start + limit - (2 if start else 1)
    piece = text[start:end]
    if end < len(text) and " " in piece:
        piece = piece[:piece.rfind(" ")].rstrip(" ,;:")
    return ("…" if start else "") + piece + ("…" if start + len(piece) < len(text) else "")


def without_topic(phrase: str, topic: str) -> str:
    """A label's words after the topic's own ("fisheries quotas for three years" -> "three
    years"): for a crowded chart, whose title already names the topic. "" when nothing is left."""
    stems = _topic_stems(topic)
    for m in _WORD.finditer(phrase):
        w = m.group(0)
        low = w.lower()
        if low in STOPWORDS or low in _CONNECTORS or low in _VERBS or set(tokenize(w)) & stems:
            continue
        return _balanced(phrase[m.start():].strip(" ,;:.-–"))
    return ""
