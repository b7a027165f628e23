"""Property-based tests (Hypothesis) that look for inputs that crash readout.

Three surfaces take text nobody controls: corpus files (any bytes, any front matter, any JSON
line, any file name), questions (any Unicode a terminal or Telegram can deliver, surrogates from
argv included) and the Telegram rendering of whatever the corpus holds. For each the properties
say what must hold for every input rather than what one input gives:

- reading, parsing and indexing a corpus never raise; a file (or JSON line) that cannot be used is
  skipped and named, and the other files are still read; what is read is valid Unicode the index
  can store;
- every question gets a well-formed Answer;
- every message the bot would send is HTML the strict Bot API stand-in (tests/botapi) accepts,
  within Telegram's limits, and splitting an answer into messages loses no visible character.

Runs are reproducible and independent of order and of the clock: derandomize, no example
database, no deadline. The counts below keep the file at about a minute on two cores.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st


from bot.answer_text import cite, format_answer  # noqa: E402
from bot.telegram import buttons, render  # noqa: E402
from bot.telegram.catalog import readout_key  # noqa: E402
from bot.telegram.handlers import SOURCES_PER_PAGE, inline_message, readout_buttons  # noqa: E402
from bot.telegram.split import TELEGRAM_LIMIT, split_html  # noqa: E402
from bot.telegram.state import AnswerState, AnswerStore  # noqa: E402
from botapi.html import parse_html  # noqa: E402
from botapi.server import ApiError, FakeBotAPI  # noqa: E402
from embeddings import engine as engine_module  # noqa: E402
from embeddings.readouts.corpus import NOT_READOUTS, Skipped, fingerprint, parse_file, read_corpus, scan  # noqa: E402
from embeddings.readouts.parse import ParseError, parse_readout  # noqa: E402
from embeddings.records import Answer, Hit, Participant, Point, Readout  # noqa: E402
from embeddings.search.searcher import Searcher  # noqa: E402
from embeddings.index.store import load_index, readout_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# --- how many examples each property runs (the whole file: about a minute on two cores) ----------

FILE_EXAMPLES = 300  # one corpus file of any bytes, parsed
FRONT_MATTER_EXAMPLES = 150  # half-YAML front matter, parsed
JSONL_EXAMPLES = 150  # JSONL files of arbitrary lines, parsed
FILE_NAME_EXAMPLES = 30  # folders of oddly named files, read and scanned
UNREADABLE_EXAMPLES = 20  # folders with broken links, pipes, folders named x.txt, bad bytes
INDEX_EXAMPLES = 20  # real index builds (and an update each) of generated corpora
QUESTION_EXAMPLES = 300  # Engine.ask
ASK_MANY_EXAMPLES = 40  # Engine.ask_many
RENDER_EXAMPLES = 150  # each Telegram rendering property
CLI_EXAMPLES = 100  # the terminal's answer text


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,  # no property may depend on how loaded the machine is
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# --- text ------------------------------------------------------------------------------------------

# every code point but lone surrogates (what a UTF-8 file, Telegram or a terminal can deliver)
CHAR = st.characters(exclude_categories=["Cs"])
SURROGATE = st.characters(categories=["Cs"])
ANY_TEXT = st.text(CHAR, max_size=40)
TEXT_WITH_SURROGATES = st.text(st.one_of(CHAR, SURROGATE), max_size=30)

# what readouts are made of, and what trips parsers: datelines (real and impossible), numbering of
# every style (nested: "1." > "(1)" > "a)" > "1.1"), bullets, headings, page furniture, the
# participants' preamble, bidi and zero-width marks, line and paragraph separators
READOUT_PIECES = [
    "Japan-Russia Summit Telephone Talk", "October 7, 2021", "Monday, April 2, 2012", "7 October 2021",
    "2021-10-07", "February 30, 2021", "2021-13-45", "0000-01-01", "ſeptember 7, 2021", "Sept. 31, 2020",
    "Back to Japan-Russia Relations", "[Provisional Translation]", "[Reference]", "Related Link", "Page Top",
    "On October 7, Mr. KISHIDA Fumio, Prime Minister of Japan, held a summit telephone talk with H.E. Mr. "
    "Putin, Vladimir Vladimirovich, President of the Russian Federation.",
    "The Prime Minister spoke to President Biden this evening.",
    "Vladimir Putin had a telephone conversation with Prime Minister of Japan Fumio Kishida.",
    "The two leaders agreed to continue consultations on grave visits.",
    "Prime Minister Kishida stated that", "President Putin", "Mr. ", "H.E. ", "the two sides",
    "# ", "## ", "1.", "1. ", "(1) ", "1) ", "a) ", "1.1 ", "2. ", "(2) ", "10. ", "99. ", "100. ", "0. ",
    "- ", "• ", "* ", "– ", ", ", ".", ":", "“", "\u200f", "\u202e", "\u00a0", "\u200b", "\ufeff",
    "\x0c", "\x1c", "\u2028", "\u2029", "\x85", "\r", "\t", "\x00",
]
LINE = st.lists(st.one_of(st.sampled_from(READOUT_PIECES), ANY_TEXT), max_size=5).map("".join)
READOUT_TEXT = st.tuples(st.lists(LINE, max_size=20), st.sampled_from(["\n", "\r\n", "\n\n", "\r"])).map(
    lambda t: t[1].join(t[0]))
NESTED = (
    "Japan-Canada Summit Meeting\n\nOctober 7, 2021\n\nThe two leaders met.\n\n1. Bilateral relations\n"
    "(1) Prime Minister Kishida stated that trade matters.\n a) first\n b) second\n1.1 More.\n"
    "(2) The two leaders agreed.\n2. Regional affairs\n(1) North Korea.\n1. Again one.\n3. Three\n"
)


def _huge_line(piece: str) -> str:
    """A title, then one line of 200,000 characters: the body, and the preamble the participants
    are looked for in."""
    return "Title\n\n" + piece * (200_000 // len(piece))


def _numbered(n: int, style: str) -> str:
    return "Title\n\n" + "\n".join(f"{style.format(i)} The leaders discussed item {i}." for i in range(1, n + 1))


HUGE_LINE = st.sampled_from(["word ", "Mr. Abe, ", "1. ", "(", "Prime Minister Kishida ", "x", "\u200f",
                             "On October 7, 2021, ", "H.E. Mr. Putin, President, ",
                             "Mr. Abe, Prime Minister, "]).map(_huge_line)
MANY_NUMBERED = st.builds(_numbered, st.integers(1000, 3000), st.sampled_from(["{}.", "({})", "{})", "{}", "- {}."]))
BIG_TEXT = st.one_of(HUGE_LINE, MANY_NUMBERED, st.just(NESTED))

YAML_PIECES = [
    "title: [unclosed", "title: Japan-Russia Talk", "date: 2021-10-07", "date: 2021-13-45", "date: 2021-02-30",
    "date: 0000-01-01", "date: October 7, 2021", "date: !!timestamp nope", "date: 2021-10-07T25:61:00",
    "date: [2021, 10, 7]", "a: !!int nope", "a: !!float nope", "a: !!binary x", "- a", "42", "~", "null",
    "''", "title: {a: 1}", "title: &a [*a]", "? [a]\n: 1", 'title: "\\udcff"', 'title: "\\0"',
    "source: https://www.mofa.go.jp/erp/rss/page4e_001.html", "source: [a, b]", "title: 12", "title: true",
    "'unterminated", "\t- tab", "key: value: other", "title: |\n  two\n  lines", "[" * 1200, "{a: " * 2000,
    "&a", "*a", "!!python/object:os.system x", "%YAML 1.1", "...", "---", "id: " + "1" * 5000,
]
FRONT_MATTER = st.tuples(
    st.lists(st.one_of(st.sampled_from(YAML_PIECES), ANY_TEXT), max_size=5).map("\n".join),
    st.booleans(),  # with or without the closing ---
    READOUT_TEXT,
).map(lambda t: "---\n" + t[0] + ("\n---\n" if t[1] else "\n") + t[2])

FILE_TEXT = st.one_of(READOUT_TEXT, FRONT_MATTER, BIG_TEXT)
FILE_BYTES = st.one_of(
    FILE_TEXT.map(lambda t: t.encode("utf-8")),
    FILE_TEXT.map(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8")),  # a byte order mark
    st.tuples(READOUT_TEXT, st.sampled_from([b"\xed\xb3\xbf", b"\xff", b"\xc3", b"\x80"]), READOUT_TEXT).map(
        lambda t: t[0].encode() + t[1] + t[2].encode()),  # a lone surrogate as bytes, stray bytes
    READOUT_TEXT.map(lambda t: t.encode("utf-16")),
    st.binary(max_size=300),
)
SUFFIX = st.sampled_from([".txt", ".md", ".jsonl", ".TXT", ".Md"])

# JSON lines: any JSON (strings with lone surrogates too: "\udcff" is valid JSON), objects with
# missing, empty or wrongly typed fields, lines that are not JSON, nesting too deep to decode
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT_WITH_SURROGATES)
JSON_VALUE = st.recursive(
    JSON_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
RECORD = st.fixed_dictionaries({}, optional={
    "text": st.one_of(READOUT_TEXT, TEXT_WITH_SURROGATES, JSON_VALUE),
    "id": st.one_of(JSON_VALUE, st.sampled_from(["1", "a#b", "../x", "same", ""])),
    "title": st.one_of(ANY_TEXT, JSON_VALUE),
    "date": st.one_of(st.sampled_from(["2021-10-07", "2021-13-45", "October 7, 2021", "0000-01-01"]), JSON_VALUE),
    "source": st.one_of(st.just("https://www.kremlin.ru/events/president/news/66874"), JSON_VALUE),
})
JSON_LINE = st.one_of(
    RECORD.map(json.dumps),
    JSON_VALUE.map(json.dumps),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40),
    st.sampled_from(["[" * 100_000, "{", '{"text": "unterminated', "NaN", '{"text": 1e999}', "", "  ",
                     '{"text": "Title\\n\\nThe two leaders met.", "id": ' + "1" * 5000 + "}"]),
)
JSONL = st.lists(JSON_LINE, max_size=8).map("\n".join)


# --- what a parsed readout must be ----------------------------------------------------------------


def _assert_well_formed(r: Readout, rel: str) -> None:
    """A readout the index can store and every front end can show."""
    assert r.doc == rel or r.doc.startswith(rel + "#")
    assert isinstance(r.title, str) and r.title
    assert r.date is None or isinstance(r.date, dt.date)
    assert r.source is None or isinstance(r.source, str)
    assert all(isinstance(p, Participant) for p in r.participants)
    body = [p for p in r.points if not p.preamble]
    assert body, "a readout without points"
    assert all(p.position == 0 for p in r.points if p.preamble) and not any(p.preamble for p in r.points[1:])
    positions = [p.position for p in r.points]
    assert positions == sorted(set(positions))
    for p in r.points:
        assert isinstance(p.text, str) and p.text.strip()
        assert p.number is None or isinstance(p.number, int)
        assert all(isinstance(s, str) for s in p.speakers)
    line = readout_line(r)  # what the index writes: fails on text UTF-8 cannot encode
    assert json.loads(line)["doc"] == r.doc


def _assert_named(skipped: list[Skipped], rel: str) -> None:
    for s in skipped:
        assert s.path == rel or s.path.startswith((rel + " line ", rel + "#")), s
        assert isinstance(s.reason, str) and s.reason


@contextmanager
def _folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="readout-prop-") as tmp:
        yield Path(tmp)


GOOD = "Japan-Russia Relations\n\nOctober 7, 2021\n\n1. Prime Minister Kishida stated that grave visits matter.\n" \
       "2. President Putin stated that he would like to continue consultations.\n"


def _good(suffix: str) -> str:
    """A readout file's text, for a file with `suffix`."""
    return json.dumps({"id": 1, "text": GOOD}) + "\n" if suffix.lower() == ".jsonl" else GOOD


# --- 1. corpus files ------------------------------------------------------------------------------


@_settings(FILE_EXAMPLES)
@given(content=FILE_BYTES, suffix=SUFFIX)
@example(content=b"---\ndate: 2021-13-45\n---\nTitle\n\nSome text.\n", suffix=".md")
@example(content=b"---\n" + b"[" * 5000 + b"\n---\nTitle\n\nSome text.\n", suffix=".md")
@example(content=b"Title\n\n\xc5\xbfeptember 7, 2021\n\nSome text.\n", suffix=".txt")
def test_any_file_is_read_or_skipped_by_name(content: bytes, suffix: str) -> None:
    with _folder() as root:
        rel = "sub/readout" + suffix
        (root / "sub").mkdir()
        (root / rel).write_bytes(content)
        readouts, skipped = parse_file(root, rel)
    assert readouts or skipped
    _assert_named(skipped, rel)
    for r in readouts:
        _assert_well_formed(r, rel)


@_settings(FRONT_MATTER_EXAMPLES)
@given(text=FRONT_MATTER)
@example(text="---\ntitle: [unclosed\nTitle\n\nSome text.\n")
@example(text="---\n- a\n- b\n---\nTitle\n\nSome text.\n")
@example(text="---\ndate: !!timestamp nope\n---\nTitle\n\nSome text.\n")
@example(text='---\ntitle: "\\udcff"\n---\nTitle\n\nSome text.\n')
def test_front_matter_gives_a_readout_or_a_parse_error(text: str) -> None:
    try:
        r = parse_readout(text, "x.md")
    except ParseError as e:
        assert str(e)
        return
    _assert_well_formed(r, "x.md")


def test_front_matter_aliases_do_not_blow_up_the_title() -> None:
    """Six lines of YAML aliases make a title of 9**6 lists; printing it took 35 MB, and each
    level more nine times that. A title that is not text is no title: the first line is."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 7)]
    r = parse_readout("---\n" + "\n".join(lines) + "\ntitle: *a6\nsource: *a6\n---\n" + GOOD, "x.md")
    assert r.title == "Japan-Russia Relations" and r.source is None


@_settings(JSONL_EXAMPLES)
@given(text=JSONL)
@example(text='{"text": "Title\\n\\nHello \\udcff world, said the two leaders.", "id": 1}')
@example(text='{"text": "Title\\n\\nThe two leaders met.", "id": "\\udcff"}')
@example(text='{"text": "Title\\n\\nThe two leaders met.", "title": "\\ud800"}')
@example(text="[" * 100_000)
@example(text='{"text": "Title\\n\\nThe two leaders met.", "id": ' + "1" * 5000 + "}")
def test_every_jsonl_line_is_a_readout_or_named(text: str) -> None:
    with _folder() as root:
        (root / "r.jsonl").write_text(text, encoding="utf-8")
        readouts, skipped = parse_file(root, "r.jsonl")
    _assert_named(skipped, "r.jsonl")
    for r in readouts:
        _assert_well_formed(r, "r.jsonl")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines:  # each line is one readout or one skipped entry: none is dropped without a word
        assert len(readouts) + len(skipped) == len(lines)
    else:
        assert readouts == [] and [s.path for s in skipped] == ["r.jsonl"]


# file names: any character a Linux name may hold, and bytes that are not UTF-8 (os.scandir hands
# those over as lone surrogates, U+DC80..U+DCFF)
NAME_CHAR = st.one_of(st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
                      st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF))
FILE_NAMES = st.lists(st.tuples(st.text(NAME_CHAR, min_size=1, max_size=30), SUFFIX), max_size=5,
                      unique_by=lambda t: os.fsencode(t[0] + t[1]).lower())


def _expected_listed(name: str) -> bool:
    """Hidden files and a folder's own README are not readouts."""
    stem = name.rpartition(".")[0]
    return not name.startswith(".") and stem.lower() not in NOT_READOUTS


@_settings(FILE_NAME_EXAMPLES)
@given(names=FILE_NAMES)
@example(names=[("\udcff", ".txt"), ("\u202eevil", ".md")])
def test_odd_file_names_are_read_or_named(names: list[tuple[str, str]]) -> None:
    with _folder() as root:
        (root / "good.txt").write_text(GOOD)
        rels = []
        for stem, suffix in names:
            raw = os.fsencode(stem + suffix)
            if len(raw) > 255 or raw.lower() == b"good.txt":
                continue
            with open(os.fsencode(root) + b"/" + raw, "wb") as f:
                f.write(_good(suffix).encode())
            rels.append(os.fsdecode(raw))  # bytes that happen to form UTF-8 come back decoded
        corpus = read_corpus(root)
        states = scan(root)
        assert fingerprint(states) == fingerprint(scan(root, states))
    docs = {r.doc for r in corpus.readouts}
    named = {s.path for s in corpus.skipped}
    assert "good.txt" in docs
    for rel in rels:
        if _expected_listed(rel):
            assert rel in docs or rel + "#1" in docs or rel in named or rel + "#1" in named, rel
            assert rel in states
        else:
            assert rel not in docs and rel not in named
    for r in corpus.readouts:
        _assert_well_formed(r, r.doc)


UNREADABLE_KINDS = st.lists(st.sampled_from(["broken-link", "fifo", "folder", "bad-bytes", "binary", "empty"]),
                            min_size=1, max_size=6)


def _make_unreadable(root: Path, kind: str, i: int) -> tuple[str | None, str | None]:
    """Make one entry of `kind`: (the name the reader must skip and name, a readout it must read)."""
    if kind == "broken-link":
        os.symlink(root / f"gone{i}.txt", root / f"link{i}.txt")
        return f"link{i}.txt", None
    if kind == "fifo":
        os.mkfifo(root / f"pipe{i}.md")
        return f"pipe{i}.md", None
    if kind == "folder":  # a folder named like a readout is a folder: what is in it is read
        (root / f"folder{i}.txt").mkdir()
        (root / f"folder{i}.txt" / "inner.md").write_text(GOOD)
        return None, f"folder{i}.txt/inner.md"
    data = {"bad-bytes": b"Title\n\ngrave \xff visits\n", "binary": b"\x00\x01\x02 PNG", "empty": b" \n\t\n"}[kind]
    (root / f"{kind}{i}.jsonl").write_bytes(data)
    return f"{kind}{i}.jsonl", None


@_settings(UNREADABLE_EXAMPLES)
@given(kinds=UNREADABLE_KINDS, others=st.lists(st.tuples(READOUT_TEXT.map(str.encode), SUFFIX), max_size=3))
def test_unreadable_entries_are_named_and_the_rest_read(kinds: list[str], others: list[tuple[bytes, str]]) -> None:
    with _folder() as root:
        (root / "good.txt").write_text(GOOD)
        for i, (content, suffix) in enumerate(others):
            (root / f"other{i}{suffix}").write_bytes(content)
        made = [_make_unreadable(root, kind, i) for i, kind in enumerate(kinds)]
        corpus = read_corpus(root)
        states = scan(root)  # never reads a pipe (that would block) nor stops at a broken link
    docs = {r.doc for r in corpus.readouts}
    named = {s.path for s in corpus.skipped}
    assert "good.txt" in docs
    for skip, read in made:
        assert skip is None or (skip in named and skip in states), skip
        assert read is None or read in docs, read
    for i, _ in enumerate(others):
        rel = next(s for s in states if s.startswith(f"other{i}."))
        assert rel in docs or any(p == rel or p.startswith((rel + " line ", rel + "#")) for p in named)


# --- indexing: the shipped build, with the benchmarks' deterministic stand-in for the model -------


def _generated_encoder():
    spec = importlib.util.spec_from_file_location("readout_bench_common", ROOT / "benchmarks" / "common.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod.GeneratedEncoder


GeneratedEncoder = _generated_encoder()
INDEX_QUESTIONS = ["What was said about grave visits?", "", "Putin", "2021-10-07", "x" * 10_000, "grave \udcff visits"]


def _build(root: Path, index: Path, encoder) -> "engine_module.BuildReport":
    """What `readout index` runs: the previous index reused, the corpus scanned, the index built
    and published; the model is the deterministic stand-in."""
    return engine_module.build(root, index, encoder=encoder)


@_settings(INDEX_EXAMPLES)
@given(files=st.lists(st.tuples(st.one_of(FILE_BYTES, JSONL.map(str.encode)), SUFFIX), min_size=1, max_size=4),
       names=st.booleans())
@example(files=[(b'{"text": "Title\\n\\nThe two leaders met, \\udcff.", "id": 1}\n', ".jsonl")], names=False)
@example(files=[(b"Title\n\nThe two leaders met in Tokyo.\n", ".txt")], names=True)
def test_any_corpus_builds_an_index_that_answers(files: list[tuple[bytes, str]], names: bool) -> None:
    """A build, then an update that adds a file (the previous index's parts reused), then the
    index loaded and asked."""
    encoder = GeneratedEncoder()
    with _folder() as tmp:
        root, index = tmp / "corpus", tmp / "index"
        root.mkdir()
        (root / "good.txt").write_text(GOOD)
        if names:  # a file name that is not UTF-8, and one that is bidi-reversed
            (Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.txt"))).write_text(GOOD)
            (root / "\u202eevil.md").write_text(GOOD)
        os.symlink(root / "gone.txt", root / "link.txt")
        for i, (content, suffix) in enumerate(files[:-1]):
            (root / f"f{i}{suffix}").write_bytes(content)
        _build(root, index, encoder)
        content, suffix = files[-1]
        (root / f"last{suffix}").write_bytes(content)
        report = _build(root, index, encoder)
        assert engine_module.stale_reason(root, index, None) is None
        corpus = read_corpus(root)
        assert (report.readouts, report.skipped) == (len(corpus.readouts), len(corpus.skipped))
        searcher = Searcher(load_index(index, files=False), encoder)
        eng = engine_module.Engine(engine_module.resolve_paths(root, index), searcher)
        assert sorted(eng.table.docs) == sorted(r.doc for r in corpus.readouts)
        for a in eng.ask_many(INDEX_QUESTIONS, k=3):
            _assert_answer(a, set(eng.table.docs), 3)


# --- 2. questions ---------------------------------------------------------------------------------

QUESTION_PIECES = [
    "What", "did", "Putin", "Kishida", "say", "about", "grave visits", "the two leaders", "?", "2021",
    "2021-10-07", "7 October 2021", "October", "May", "Sept.", "ſept", "Japan", "Moscow", "the", "of", "and",
    "North Korea", "Singapore", "when", "how long", "who called", "Mr.", "President", "Prime Minister",
    "\u200f", "\u202e", "\x00", "\x1b[31m", "\r\n", "\t", "’s", "-", "''", "<b>", "&amp;", "#1", "(1)",
]
SPECIAL_QUESTIONS = [
    "", " ", "\t\n\r ", "\u3000\u200b", "?", "...!!!?,;:", "the of and to a", "what did they say",
    "2021-10-07", "7 October 2021", "Putin", "Kishida", "Putin?", "grave \udcff visits", "\udcff",
    "\ud800\udc00", "\x00", "\x00\x01\x02\x7f", "x" * 100_000, "grave visits " * 8_000, "Putin " * 20_000,
    "ſept 2021", "1.", "(1)", "\u202egrave visits",
]
QUESTION = st.one_of(
    st.text(CHAR, max_size=200),
    st.lists(st.one_of(st.sampled_from(QUESTION_PIECES), ANY_TEXT), max_size=8).map(" ".join),
    st.tuples(ANY_TEXT, SURROGATE, ANY_TEXT).map("".join),  # argv bytes that are not UTF-8
    st.sampled_from(SPECIAL_QUESTIONS),
)


def _assert_answer(a: Answer, docs: set[str], k: int) -> None:
    assert isinstance(a, Answer)
    assert type(a.found) is bool
    assert isinstance(a.hits, list) and 1 <= len(a.hits) <= k  # a non-empty corpus has a nearest point
    for h in a.hits:
        assert isinstance(h, Hit)
        assert isinstance(h.score, float) and math.isfinite(h.score)
        assert h.doc in docs and isinstance(h.text, str) and isinstance(h.label, str)
    json.dumps(a.to_dict())  # the CLI's --json


@pytest.mark.e2e
@_settings(QUESTION_EXAMPLES)
@given(question=QUESTION)
@example(question="grave \udcff visits")
@example(question="x" * 100_000)
@example(question="")
def test_any_question_gets_a_well_formed_answer(engine, question: str) -> None:
    _assert_answer(engine.ask(question, k=5), set(engine.table.docs), 5)


@pytest.mark.e2e
@_settings(ASK_MANY_EXAMPLES)
@given(questions=st.lists(QUESTION, min_size=1, max_size=6), k=st.integers(1, 12))
def test_ask_many_answers_each_question_in_order(engine, questions: list[str], k: int) -> None:
    answers = engine.ask_many(questions, k=k)
    assert len(answers) == len(questions)
    for q, a in zip(questions, answers):
        _assert_answer(a, set(engine.table.docs), k)
        if q.isascii() and q.isprintable():  # as asked (only what the tokenizer cannot take is changed)
            assert a.question == q


@pytest.mark.e2e
@pytest.mark.parametrize("text", ["What did Kıshida say?", "talks in ſingapore"])
def test_names_spelled_with_unicode_look_alikes(engine, text: str) -> None:
    """Found by the properties above: re.I folds 'ı' to 'i' and 'ſ' to 's', and the lookup of the
    match crashed asking and, in a preamble, parsing (and so the whole build)."""
    _assert_answer(engine.ask(text), set(engine.table.docs), 5)
    _assert_well_formed(parse_readout(f"Title\n\nMr. {text} met the two leaders.\n1. They agreed.", "x.md"), "x.md")


# --- 3. Telegram rendering ------------------------------------------------------------------------

API = FakeBotAPI("7012345678:AAF-test_token_for_the_local_bot_api_Xy9")  # its rules, never started

HTML_PIECES = ["<b>", "</b>", "<a href='x'>", "</a>", "&amp;", "&", "&#0;", "&lt;", "<", ">", '"', "'",
               "<blockquote>", "</i>", "&#xD800;", "<tg-spoiler>", "\u200f", "\U0001f1ef\U0001f1f5", "\n\n",
               "\r\n", " ", "\u2028", "\x1c", "\t", "—", "…", "\ufeff"]
TG_TEXT = st.one_of(
    st.text(CHAR, max_size=300),
    st.lists(st.one_of(st.sampled_from(HTML_PIECES), ANY_TEXT), max_size=12).map("".join),
    st.builds(lambda piece, n: piece * n, st.sampled_from(["word ", "𝔸", "&<>", "\n", "x", "ab\n\n", "é "]),
              st.integers(500, 9000)),
)
SHORT_TEXT = st.one_of(st.text(CHAR, max_size=40), st.sampled_from(HTML_PIECES))
ISO_DATE = st.one_of(st.none(), st.dates().map(dt.date.isoformat), st.text(CHAR, max_size=12))
SOURCE = st.one_of(st.none(), SHORT_TEXT, st.text(st.characters(exclude_categories=["Cs", "Z", "C"]), min_size=1,
                                                  max_size=60).map(lambda s: "https://" + s))
HIT = st.builds(
    Hit, doc=st.text(CHAR, min_size=1, max_size=40), title=st.one_of(SHORT_TEXT, TG_TEXT), date=ISO_DATE,
    point=st.one_of(st.none(), st.integers(-5, 10**6)), position=st.integers(0, 10**6), text=TG_TEXT,
    score=st.floats(-2, 2), speakers=st.lists(SHORT_TEXT, max_size=4), source=SOURCE, preamble=st.booleans())
HITS = st.lists(HIT, min_size=0, max_size=8)
POINT = st.builds(Point, number=st.one_of(st.none(), st.integers(0, 99)), position=st.integers(1, 500),
                  text=TG_TEXT, preamble=st.just(False))
READOUT = st.builds(
    Readout, doc=st.text(CHAR, min_size=1, max_size=40), title=st.one_of(SHORT_TEXT, TG_TEXT),
    date=st.one_of(st.none(), st.dates()), source=SOURCE, participants=st.just([]), preamble=TG_TEXT,
    points=st.lists(POINT, max_size=12))


def _sent(markup: str) -> list[str]:
    """The messages `handlers.send_html` sends for `markup`, each checked as the stand-in checks."""
    pieces = split_html(markup, TELEGRAM_LIMIT) or ["…"]
    for piece in pieces:
        _accepted(piece)
    return pieces


def _accepted(text: str) -> str:
    """The text the user sees, or a failure saying why the Bot API would refuse `text`."""
    try:
        plain, _ = API.text_of(text, "HTML")  # parses, strips, refuses empty and over 4096 UTF-16 units
    except ApiError as e:
        pytest.fail(f"the Bot API would refuse {text[:200]!r}: {e}")
    return plain


def _visible(markup: str) -> str:
    return "".join(parse_html(markup)[0].split())


def _check_keyboard(markup) -> None:
    if markup is None:
        return
    try:
        API.markup_of(markup.to_dict())  # button text non-empty, callback data of 1-64 bytes
    except ApiError as e:
        pytest.fail(f"the Bot API would refuse the keyboard {markup.to_dict()}: {e}")


@_settings(RENDER_EXAMPLES)
@given(question=TG_TEXT, found=st.booleans(), hits=HITS)
def test_answer_messages_are_accepted_and_lose_nothing(question: str, found: bool, hits: list[Hit]) -> None:
    markup = render.render_answer(Answer(question, found, hits))
    pieces = _sent(markup)
    if hits:
        assert "".join(_visible(p) for p in pieces) == _visible(markup)
    answer_id = AnswerStore().put(AnswerState(question, found, tuple(hits), 1))
    _check_keyboard(buttons.answer_keyboard(answer_id, render.first_more(hits), readout_buttons(hits[:1])))
    for start in range(render.first_more(hits) or len(hits), len(hits), render.MORE_PAGE):
        nxt = start + render.MORE_PAGE
        _sent(render.render_more(question, hits, start, found))
        _check_keyboard(buttons.answer_keyboard(answer_id, nxt if nxt < len(hits) else None,
                                                readout_buttons(hits[start:nxt])))


@_settings(RENDER_EXAMPLES)
@given(hit=HIT, found=st.booleans())
def test_inline_result_is_one_accepted_message(hit: Hit, found: bool) -> None:
    _accepted(inline_message(hit, found))


@_settings(RENDER_EXAMPLES)
@given(readout=READOUT, number=st.one_of(st.none(), st.integers(1, 10**6)))
def test_full_readout_messages_are_accepted(readout: Readout, number: int | None) -> None:
    markup = render.render_readout(readout, number)
    pieces = _sent(markup)
    assert "".join(_visible(p) for p in pieces) == _visible(markup)


@_settings(RENDER_EXAMPLES)
@given(readouts=st.lists(READOUT, min_size=1, max_size=SOURCES_PER_PAGE), page=st.integers(0, 50),
       more=st.integers(0, 10**5), keys=st.lists(st.tuples(st.text(CHAR, min_size=1), SHORT_TEXT), max_size=3))
def test_a_sources_page_is_one_accepted_message(readouts: list[Readout], page: int, more: int,
                                                keys: list[tuple[str, str]]) -> None:
    """Pages of /sources are edited in place (edit_message_text, one message), so each must fit
    in one message whatever the titles."""
    pages = page + 1 + more % 3
    total = SOURCES_PER_PAGE * page + len(readouts) + more
    entries = [(SOURCES_PER_PAGE * page + i + 1, r) for i, r in enumerate(readouts)]
    _accepted(render.render_sources(entries, total, page, pages))
    _check_keyboard(buttons.sources_keyboard(page, pages))
    _check_keyboard(buttons.answer_keyboard(None, None, [(readout_key(doc), t) for doc, t in keys]))


# --- the terminal's answer text --------------------------------------------------------------------


@_settings(CLI_EXAMPLES)
@given(question=ANY_TEXT, found=st.booleans(), hits=HITS, width=st.integers(20, 200))
def test_terminal_answer_cites_every_hit(question: str, found: bool, hits: list[Hit], width: int) -> None:
    text = format_answer(Answer(question, found, hits), width)
    assert isinstance(text, str) and text
    for h in hits:
        assert cite(h) in text
