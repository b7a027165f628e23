"""Fast checks of the bot's parts that need neither the model nor a bot process: HTML splitting
(validated by the strict server's own, independent HTML parser), rendering and escaping,
callback data, limits, the batcher, settings and log redaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import io
import logging
import random
import threading

import pytest


from bot.telegram import buttons, config, render  # noqa: E402
from bot.telegram.batcher import AskBatcher  # noqa: E402
from bot.telegram.catalog import Catalog, readout_key  # noqa: E402
from bot.telegram.limits import AllowList, RateLimiter  # noqa: E402
from bot.telegram.logs import RedactingFormatter  # noqa: E402
from bot.telegram.split import plain_length, split_html  # noqa: E402
from bot.telegram.state import AnswerState, AnswerStore  # noqa: E402
from embeddings.records import Answer, Hit, Point, Readout  # noqa: E402
from botapi.html import ParseEntitiesError, parse_html, strip_message, utf16_len  # noqa: E402

pytestmark = pytest.mark.fast

TOKEN = "7012345678:AAF-test_token_for_the_local_bot_api_Xy9"


def telegram_accepts(piece: str) -> str:
    """The text as Telegram would show it, or a failed test if Telegram would refuse it."""
    try:
        plain, entities = strip_message(*parse_html(piece))
    except ParseEntitiesError as exc:
        pytest.fail(f"Telegram would refuse {piece[:80]!r}: {exc}")
    assert plain, "empty message"
    assert utf16_len(plain) <= 4096
    return plain


def hit(n: int = 5, text: str = "Prime Minister Kishida also stated…", **kw) -> Hit:
    base = dict(doc="000.txt", title="Japan-Russia Relations", date="2021-10-07", point=n, position=n,
                text=text, score=0.7, speakers=["Prime Minister Kishida", "President Putin"],
                source=None)
    base.update(kw)
    return Hit(**base)


# --- splitting ---------------------------------------------------------------------------------


def test_short_text_is_one_piece() -> None:
    assert split_html("<b>a</b> &amp; b") == ["<b>a</b> &amp; b"]
    assert split_html("  \n ") == []


def test_split_on_paragraphs_keeps_every_word() -> None:
    paras = [f"<b>Point {i}</b>\n" + html.escape(f"text {i} & more <x> " * 40) for i in range(40)]
    markup = "\n\n".join(paras)
    pieces = split_html(markup)
    assert len(pieces) > 1
    shown = [telegram_accepts(p) for p in pieces]
    assert all(s.startswith("Point ") for s in shown)  # cut at paragraph boundaries
    assert " ".join("\n\n".join(shown).split()) == " ".join(parse_html(markup)[0].split())


def test_oversized_paragraph_is_hard_split_inside_tags_and_entities() -> None:
    body = html.escape("grave & visits " * 500 + "x" * 5000 + "<&>" * 700)
    markup = f'<blockquote><i>{body}</i></blockquote> <a href="https://example.org/?a=1&amp;b=2">src</a>'
    pieces = split_html(markup)
    shown = [telegram_accepts(p) for p in pieces]
    assert len(pieces) >= 4
    for p in pieces[:-1]:
        assert p.startswith("<blockquote><i>") and p.endswith("</i></blockquote>")
    assert "".join(shown).replace(" ", "") == parse_html(markup)[0].replace(" ", "")


def test_astral_characters_count_twice() -> None:
    markup = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_html(markup)
    assert len(pieces) == 2
    assert all(utf16_len(telegram_accepts(p)) <= 4096 for p in pieces)


def test_random_markup_always_splits_into_valid_pieces() -> None:
    rng = random.Random(7)
    words = ["grave", "visits", "&", "<", ">", '"', "Kishida", "😀", "é", "\n", "\n\n", "x" * 50]
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(1, 60)):
            chunk = html.escape(" ".join(rng.choice(words) for _ in range(rng.randint(1, 120))))
            tag = rng.choice(["", "b", "i", "blockquote", "code"])
            parts.append(f"<{tag}>{chunk}</{tag}>" if tag else chunk)
        markup = rng.choice(["\n\n", " ", "\n"]).join(parts)
        limit = rng.choice([200, 1000, 4096])
        for piece in split_html(markup, limit):
            plain = telegram_accepts(piece)
            assert utf16_len(plain) <= limit
        assert plain_length(markup) == utf16_len(parse_html(markup)[0])


# --- rendering ---------------------------------------------------------------------------------


def test_answer_escapes_corpus_text() -> None:
    evil = hit(text='Leaders said <script>alert("x")</script> & <b>more</b>',
               title="A <i>B</i> & C", speakers=["Dr. <X>"], source="https://example.org/r?a=1&b=<2>")
    ans = Answer("q", True, [evil, hit(4), hit(3), hit(2)])
    markup = render.render_answer(ans)
    plain = telegram_accepts(markup)
    assert 'Leaders said <script>alert("x")</script> & <b>more</b>' in plain
    assert plain.startswith("A <i>B</i> & C — October 7, 2021, point 5")
    assert "Speakers: Dr. <X>" in plain
    # "<" cannot be in a URL: the source is shown as text, escaped, and not made a link
    assert "\nSource: https://example.org/r?a=1&b=<2>\n" in plain
    assert "Source: https://example.org/r?a=1&amp;b=&lt;2&gt;" in markup and "<a href" not in markup


def test_not_found_says_so_and_shows_nearest() -> None:
    markup = render.render_answer(Answer("banana bread", False, [hit(5), hit(6)]))
    plain = telegram_accepts(markup)
    assert plain.startswith("I found nothing relevant to that")
    assert "• Japan-Russia Relations — October 7, 2021, point 5:" in plain


def test_source_link_only_for_urls() -> None:
    mofa = "https://www.mofa.go.jp/erp/rss/northern/page4e_001.html"
    assert render.source_line(mofa) == f'Source: <a href="{mofa}">{mofa}</a>'
    assert '<a href="https://x.org/a?b=1&amp;c=2">' in render.source_line("https://x.org/a?b=1&c=2")
    assert render.source_line("javascript:alert(1)") == "Source: javascript:alert(1)"
    assert render.source_line(None) is None


def test_readout_and_sources_render() -> None:
    r = Readout(doc="a.txt", title="T & U", date=dt.date(2021, 10, 7), source=None, participants=[],
                preamble="On <day> …", points=[Point(None, 0, "pre", preamble=True),
                                                Point(1, 1, "one"), Point(2, 2, "two & three")])
    plain = telegram_accepts(render.render_readout(r, 3))
    # no participants: named by its title and date (readouts/naming.py), so the date is not repeated
    assert plain.startswith("3. T & U, 7 October 2021\n2 points\n\nOn <day> …\n\n1. one\n\n2. two & three")
    cat = Catalog([r])
    plain = telegram_accepts(render.render_sources(cat.page(0, 10), 1, 0, 1))
    assert "1. T & U, 7 October 2021 (2 points)" in plain
    # the catalog's name heads the page; the page title and the address are the source's
    named = Readout(doc="b.txt", title="Japan-Russia Relations", date=dt.date(2021, 10, 7),
                    source="https://www.mofa.go.jp/erp/p.html", participants=[], preamble="",
                    points=[Point(1, 1, "one")])
    plain = telegram_accepts(render.render_readout(named, 4, "Kishida – Putin telephone talk, 7 October 2021"))
    assert plain.startswith("4. Kishida – Putin telephone talk, 7 October 2021\n1 point\n"
                            "Source: Japan-Russia Relations — https://www.mofa.go.jp/erp/p.html\n")
    # an index without names: the title, and the date on its own
    plain = telegram_accepts(render.render_readout(named, 4, ""))
    assert plain.startswith("4. Japan-Russia Relations\nOctober 7, 2021 · 1 point\nSource: https://")
    plain = telegram_accepts(render.render_sources([(1, named), (2, r)], 2, 0, 1,
                                                   ["Kishida – Putin telephone talk, 7 October 2021", ""]))
    assert "1. Kishida – Putin telephone talk, 7 October 2021 (1 point)\n2. T & U — October 7, 2021 (2 points)" in plain


def test_hits_are_headed_by_the_readout_name_and_show_the_title_as_the_source() -> None:
    named = hit(name="Kishida – Putin telephone talk, 7 October 2021", source="https://www.mofa.go.jp/p.html")
    plain = telegram_accepts(render.render_answer(Answer("q", True, [named, hit(4, name=named.name)])))
    assert plain.startswith("Kishida – Putin telephone talk, 7 October 2021 — point 5\n")
    assert "\nSource: Japan-Russia Relations — https://www.mofa.go.jp/p.html" in plain
    assert "• Kishida – Putin telephone talk, 7 October 2021 — point 4: " in plain
    # a name whose day is not the readout's (the talk was the day before the page): both shown
    early = hit(name="Abe – Putin telephone talk, 6 October 2021")
    assert render.hit_heading(early) == "<b>Abe – Putin telephone talk, 6 October 2021</b> — October 7, 2021, point 5"


def test_the_catalog_names_readouts_from_the_index_table_or_by_their_titles() -> None:
    import types

    r = Readout(doc="a.txt", title="Japan-Russia Relations", date=dt.date(2021, 10, 7), source=None,
                participants=[], preamble="", points=[Point(1, 1, "one")])
    table = types.SimpleNamespace(docs=["a.txt"], titles=["Japan-Russia Relations"], dates=["2021-10-07"],
                                  names=["Kishida – Putin telephone talk, 7 October 2021"])
    assert Catalog([r], table).name_of("a.txt") == "Kishida – Putin telephone talk, 7 October 2021"
    table.names = None  # an index written before names were kept
    assert Catalog([r], table).name_of("a.txt") == "Japan-Russia Relations"
    assert Catalog([r]).name_of("a.txt") == "Japan-Russia Relations, 7 October 2021"  # no participants
    assert Catalog([r]).name_of("b.txt") is None


def test_start_and_help_are_valid_html() -> None:
    telegram_accepts(render.render_start(3, ("2019-01-03", "2023-03-14"), "readout_bot"))
    assert "/ask <question>" in telegram_accepts(render.render_help("readout_bot"))


# --- buttons -----------------------------------------------------------------------------------


def test_callback_data_round_trip_and_size() -> None:
    store = AnswerStore()
    aid = store.put(AnswerState("q", True, (), 1))
    kb = buttons.answer_keyboard(aid, 9999, [(readout_key("x" * 500), "T" * 300)] * 3)
    for row in kb.inline_keyboard:
        for b in row:
            assert 1 <= len(b.callback_data.encode()) <= 64
            assert buttons.parse(b.callback_data) is not None
    assert buttons.parse(f"m:{aid}:3") == buttons.More(aid, 3)
    assert buttons.parse("s:2") == buttons.SourcesPage(2)
    for forged in ["", "m::1", "m:a:b", "r:XYZ", "s:-1", "x" * 64, "m:" + "a" * 40 + ":1", None]:
        assert buttons.parse(forged) is None


def test_answer_store_is_bounded() -> None:
    store = AnswerStore(capacity=3)
    ids = [store.put(AnswerState(str(i), True, (), 1)) for i in range(5)]
    assert store.get(ids[0]) is None and store.get(ids[4]).question == "4"
    assert len(store) == 3


# --- limits ------------------------------------------------------------------------------------


def test_rate_limiter_window_and_single_notice() -> None:
    now = [0.0]
    rl = RateLimiter(3, period=60, clock=lambda: now[0])
    assert [rl.check(1).allowed for _ in range(3)] == [True] * 3
    v = rl.check(1)
    assert not v.allowed and v.notify and 59 <= v.retry_in <= 60
    assert not rl.check(1).notify  # told once per burst
    assert rl.check(2).allowed  # other users unaffected
    now[0] = 61
    assert rl.check(1).allowed
    assert RateLimiter(0).check(1).allowed


def test_allow_list() -> None:
    assert AllowList(None).allows(123) and not AllowList(None).restricted
    allow = AllowList(frozenset({1, -100}))
    assert allow.allows(-100) and not allow.allows(2) and not allow.allows(None)


# --- batcher -----------------------------------------------------------------------------------


def test_batcher_batches_concurrent_questions_off_the_loop() -> None:
    calls: list[list[str]] = []
    loop_threads: set[int] = set()

    def ask_many(questions: list[str], k: int) -> list[Answer]:
        loop_threads.add(threading.get_ident())
        calls.append(list(questions))
        return [Answer(q, True, []) for q in questions]

    async def main() -> list[Answer]:
        b = AskBatcher(ask_many, k=5, window=0.02, max_batch=8)
        b.start()
        answers = await asyncio.gather(*(b.ask(f"q{i}") for i in range(20)))
        await b.stop()
        return answers

    answers = asyncio.run(main())
    assert [a.question for a in answers] == [f"q{i}" for i in range(20)]
    assert len(calls) < 20 and max(len(c) for c in calls) <= 8
    assert threading.get_ident() not in loop_threads


def test_batcher_isolates_a_failing_question() -> None:
    def ask_many(questions: list[str], k: int) -> list[Answer]:
        if "bad" in questions:
            raise ValueError("bad question")
        return [Answer(q, True, []) for q in questions]

    async def main() -> list:
        b = AskBatcher(ask_many, k=5, window=0.02)
        b.start()
        out = await asyncio.gather(b.ask("a"), b.ask("bad"), b.ask("c"), return_exceptions=True)
        await b.stop()
        return out

    a, bad, c = asyncio.run(main())
    assert a.question == "a" and c.question == "c" and isinstance(bad, ValueError)


# --- settings and logs -------------------------------------------------------------------------


def test_token_checks(tmp_path) -> None:
    assert config.read_token(None, {"TELEGRAM_BOT_TOKEN": f" {TOKEN}\n"}) == TOKEN
    f = tmp_path / "t"
    f.write_text(TOKEN + "\n")
    assert config.read_token(f, {}) == TOKEN
    for bad in ["", "abc", "123:short", "x123:" + "a" * 35, "123:" + "a" * 35 + " extra"]:
        with pytest.raises(config.ConfigError) as e:
            config.read_token(None, {"TELEGRAM_BOT_TOKEN": bad})
        assert (bad.strip() == "") or bad not in str(e.value)


def test_env_settings() -> None:
    assert config.parse_allowed_chats(" 1, -100 ,") == frozenset({1, -100})
    assert config.parse_allowed_chats("") is None
    with pytest.raises(config.ConfigError):
        config.parse_allowed_chats("1,abc")
    assert config.parse_rate_limit(None) == 20 and config.parse_rate_limit("0") == 0
    with pytest.raises(config.ConfigError):
        config.parse_rate_limit("-1")
    assert config.read_api_url(None, {"TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"}) == (
        "http://127.0.0.1:8081/bot")
    with pytest.raises(config.ConfigError):
        config.check_webhook_url("http://example.org/hook")
    s = config.Settings(token=TOKEN, webhook_url="https://example.org/readout/hook")
    assert s.webhook_path == "readout/hook" and TOKEN not in repr(s)


def test_log_lines_never_show_the_token() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", [TOKEN], verbose=False))
    log = logging.getLogger("test_telegram_units.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
        try:
            raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/getMe")
        except RuntimeError:
            log.exception("boom")
        log.warning("other 123456789:%s", "B" * 35)
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN.split(":")[1] not in out and "B" * 35 not in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 3


# --- the command line: every setting in --help, usage errors ----------------------------------

import ast  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from click.testing import CliRunner  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ENV_NAME_RE = re.compile(r"\b(?:READOUT|TELEGRAM)_[A-Z][A-Z0-9_]*\b")


def env_names_in(files: list[Path]) -> dict[str, str]:
    """Every READOUT_*/TELEGRAM_* name in a string of `files` (code, messages, docstrings): where."""
    found: dict[str, str] = {}
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for name in ENV_NAME_RE.findall(node.value):
                    found.setdefault(name, f"{f.relative_to(REPO)}:{node.lineno}")
    return found


def telegram_help() -> str:
    from bot.cli import cli

    result = CliRunner().invoke(cli, ["telegram", "--help"], prog_name="readout",
                                terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_lists_every_environment_setting_the_bot_reads() -> None:
    shown = telegram_help()
    ours = env_names_in(sorted((REPO / "bot" / "telegram").glob("*.py")))
    assert {"TELEGRAM_BOT_TOKEN", "READOUT_ALLOWED_CHATS", "READOUT_RELOAD_INTERVAL"} <= set(ours)
    missing = {name: where for name, where in ours.items()
               if name not in shown and name not in config.ENGINE_ONLY_ELSEWHERE}
    assert missing == {}, f"add these to config.ENV (they are not in --help): {missing}"
    # The engine's settings too, since the bot loads the engine (all but those of other commands).
    engine = env_names_in(sorted((REPO / "embeddings").rglob("*.py")))
    missing = {name: where for name, where in engine.items()
               if name not in shown and name not in config.ENGINE_ONLY_ELSEWHERE}
    assert missing == {}, f"add these engine settings to config.ENV: {missing}"
    for setting in config.ENV:  # each with its meaning and default, under its own heading
        line = next(line for line in shown.splitlines() if line.strip().startswith(setting.name))
        assert line.split(setting.name, 1)[1].strip(), setting.name
        assert f"[default: {setting.default.split()[0]}" in " ".join(shown.split())
    assert shown.index("Environment:") < shown.index("Environment read by the engine:")
    assert len({s.name for s in config.ENV}) == len(config.ENV)


def test_settings_take_their_defaults_from_the_table() -> None:
    defaults = {s.name: s.default for s in config.ENV}
    assert defaults[config.RATE_LIMIT_ENV] == str(config.parse_rate_limit(None))
    assert defaults[config.MAX_RATE_ENV].startswith(f"{config.parse_max_rate(None):g}")
    assert defaults[config.RELOAD_INTERVAL_ENV] == f"{config.parse_reload_interval(None):g}"
    assert defaults[config.API_URL_ENV] == config.read_api_url(None, {})
    assert config.parse_reload_interval("0") == 0 and config.parse_reload_interval(" 0.5 ") == 0.5
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(config.ConfigError) as e:
            config.parse_reload_interval(bad)
        assert "READOUT_RELOAD_INTERVAL" in str(e.value)


@pytest.mark.parametrize("port", ["0", "-1", "65536", "99999", "http"])
def test_port_out_of_range_is_a_usage_error(port: str) -> None:
    from bot.cli import cli

    result = CliRunner().invoke(cli, ["telegram", "--port", port], prog_name="readout",
                                env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert result.exit_code == 2, result.output
    assert "Usage: readout telegram [OPTIONS]" in result.output
    assert "Invalid value for '--port'" in result.output


def test_ports_in_range_are_accepted() -> None:
    from bot.cli import cli

    for port in ("1", "65535"):  # accepted: the command goes on to the token, which is missing
        result = CliRunner().invoke(cli, ["telegram", "--port", port], prog_name="readout",
                                    env={"TELEGRAM_BOT_TOKEN": None})
        assert result.exit_code == 1 and "no bot token" in result.output, result.output


# --- texts for Telegram users: plain words -----------------------------------------------------

CLI_WORDS_RE = re.compile(
    r"(?<![\w-])--[a-z][a-z-]+|\breadout (?:index|add|remove|ask|eval|list|telegram)\b"
    r"|\b(?:READOUT|TELEGRAM)_[A-Z_]+\b|\$[A-Z_]{3,}")


def test_readout_command_replies_in_plain_words() -> None:
    from bot.telegram.handlers import readout_reply

    assert readout_reply(["3"], 12) == 3 and readout_reply(["+3"], 12) == 3
    assert readout_reply(["012"], 12) == 12
    assert readout_reply(["99"], 12) == "There is no readout 99: /sources lists 12."
    assert readout_reply(["13"], 12) == "There is no readout 13: /sources lists 12."
    assert readout_reply(["0"], 12) == "There is no readout 0: /sources numbers them from 1 to 12."
    assert readout_reply(["-1"], 12) == "There is no readout -1: /sources numbers them from 1 to 12."
    assert readout_reply(["abc"], 12) == (
        "“abc” is not a readout number. Send /readout N, where N is a readout's number in "
        "/sources (from 1 to 12).")
    assert readout_reply([], 12) == (
        "Which readout? Send /readout N, where N is its number in /sources (from 1 to 12).")
    assert readout_reply(["1", "2"], 12).startswith("“1 2” is not a readout number.")
    assert readout_reply(["²"], 12).startswith("“²” is not a readout number.")  # isdigit(), no int
    assert readout_reply(["٣"], 12).startswith("“٣” is not")  # other scripts' digits too
    assert readout_reply(["9" * 4000], 12).startswith("“99999999999999999999999…” is not")
    assert readout_reply(["<b>&"], 12).startswith("“&lt;b&gt;&amp;” is not")  # escaped HTML
    assert readout_reply(["5"], 1) == "There is no readout 5: /sources lists 1."
    assert readout_reply(["0"], 1) == "There is no readout 0: /sources numbers them 1."
    assert readout_reply(["1"], 0) == "I know no readouts yet."
    for args in (["99"], ["0"], ["-1"], ["abc"], [], ["9" * 4000]):
        telegram_accepts(readout_reply(args, 12))


def test_no_text_for_users_names_options_commands_or_variables() -> None:
    from bot.telegram import handlers

    texts = [v for k, v in vars(handlers).items() if k.isupper() and isinstance(v, str)]
    texts += [render.render_start(3, ("2019-01-03", "2023-03-14"), "b"), render.render_help("b"),
              render.render_answer(Answer("q", False, [])), render.render_answer(Answer("q", True, [hit()])),
              render.render_sources([], 0, 0, 1)]
    texts += [handlers.readout_reply(a, 12) for a in (["99"], ["0"], ["x"], [])]
    assert len(texts) > 12
    for text in texts:
        assert not CLI_WORDS_RE.search(text), text
    assert CLI_WORDS_RE.search("give --index a folder") and CLI_WORDS_RE.search("run readout index")


# --- retries: never the same message twice ------------------------------------------------------

import httpx  # noqa: E402
from telegram.error import BadRequest, NetworkError, TimedOut  # noqa: E402

from bot.telegram import retry  # noqa: E402


def raised_from(error: Exception, cause: Exception) -> Exception:
    """`error` as PTB raises it: `raise error from cause` (a real raise sets __cause__)."""
    try:
        raise error from cause
    except Exception as exc:  # noqa: BLE001
        return exc


REQUEST = httpx.Request("POST", "http://127.0.0.1/bot1:x/sendMessage")
NEVER_SENT = {
    "connect refused": lambda: raised_from(NetworkError("httpx.ConnectError: refused"),
                                           httpx.ConnectError("refused", request=REQUEST)),
    "connect timeout": lambda: raised_from(TimedOut(), httpx.ConnectTimeout("t", request=REQUEST)),
    "pool timeout": lambda: raised_from(TimedOut("Pool timeout"), httpx.PoolTimeout("p", request=REQUEST)),
}
TELEGRAM_5XX = {"502": lambda: NetworkError("Bad Gateway (502)"),
                "500": lambda: NetworkError("Internal Server Error (500)")}
MAY_HAVE_ARRIVED = {
    "read timeout": lambda: raised_from(TimedOut(), httpx.ReadTimeout("t", request=REQUEST)),
    "write timeout": lambda: raised_from(TimedOut(), httpx.WriteTimeout("t", request=REQUEST)),
    "dropped": lambda: raised_from(
        NetworkError("httpx.RemoteProtocolError: Server disconnected without sending a response."),
        httpx.RemoteProtocolError("Server disconnected", request=REQUEST)),
    "reset": lambda: raised_from(NetworkError("httpx.ReadError: reset"), httpx.ReadError("reset", request=REQUEST)),
    "unknown": lambda: raised_from(NetworkError("Unknown error in HTTP implementation"), OSError("x")),
}


def run_limited(endpoint: str, failures: list[Exception]) -> tuple[int, object]:
    """Send one call through RetryingRateLimiter whose first tries fail with `failures`:
    (how many times the call went out, its result or the exception it ended in)."""
    tries = []

    async def callback(*args, **kwargs):
        tries.append(1)
        if len(tries) <= len(failures):
            raise failures[len(tries) - 1]
        return {"message_id": 1}

    async def main():
        limiter = retry.RetryingRateLimiter(network_retries=3, backoff=0.001, overall_max_rate=0)
        await limiter.initialize()
        try:
            return await limiter.process_request(callback, (), {}, endpoint, {"chat_id": 5}, None)
        except Exception as exc:  # noqa: BLE001
            return exc
        finally:
            await limiter.shutdown()

    result = asyncio.run(main())
    return len(tries), result


@pytest.mark.parametrize("kind", sorted(NEVER_SENT) + sorted(TELEGRAM_5XX))
def test_send_message_is_retried_when_it_surely_was_not_delivered(kind: str) -> None:
    make = {**NEVER_SENT, **TELEGRAM_5XX}[kind]
    assert not retry.may_have_arrived(make())
    tries, result = run_limited("sendMessage", [make(), make()])
    assert tries == 3 and result == {"message_id": 1}


@pytest.mark.parametrize("kind", sorted(MAY_HAVE_ARRIVED))
def test_send_message_that_may_have_arrived_is_never_sent_again(kind: str, caplog) -> None:
    error = MAY_HAVE_ARRIVED[kind]()
    assert retry.may_have_arrived(error)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.retry"):
        tries, result = run_limited("sendMessage", [error])
    assert tries == 1 and result is error
    assert "it may have been delivered, so it is not sent again" in caplog.text


@pytest.mark.parametrize("endpoint", sorted(retry.REPEATABLE))
def test_calls_a_repeat_cannot_duplicate_are_retried_after_any_network_failure(endpoint: str) -> None:
    failures = [MAY_HAVE_ARRIVED["read timeout"](), NEVER_SENT["connect refused"](), TELEGRAM_5XX["502"]()]
    tries, result = run_limited(endpoint, failures)
    assert tries == 4 and result == {"message_id": 1}


def test_what_is_never_retried() -> None:
    bad = BadRequest("Bad Request: can't parse entities")
    assert run_limited("sendMessage", [bad]) == (1, bad)
    refused = NEVER_SENT["connect refused"]()
    assert run_limited("sendChatAction", [refused]) == (1, refused)  # late "typing…" is worse
    assert run_limited("getMe", [refused]) == (1, refused)  # PTB's bootstrap retries it
    failures = [NEVER_SENT["connect refused"]() for _ in range(4)]
    tries, result = run_limited("sendMessage", failures)  # gives up after 3 retries
    assert tries == 4 and result is failures[-1]


def test_ptb_and_httpx_report_failures_as_the_policy_expects() -> None:
    """The policy reads PTB's exception chain; check it on real requests, not on made-up errors."""
    import socket

    from telegram import Bot
    from telegram.request import HTTPXRequest

    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def main() -> BaseException:
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed}/bot", request=HTTPXRequest())
        try:
            await bot.get_me()
        except Exception as exc:  # noqa: BLE001
            return exc
        raise AssertionError("a closed port answered")

    error = asyncio.run(main())
    assert isinstance(error, NetworkError) and retry.never_reached_telegram(error), repr(error)
    assert not retry.may_have_arrived(error)
