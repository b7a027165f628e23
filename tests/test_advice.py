"""The engine says what is wrong; the front ends say what to do. These read the engine's code for
messages that name a command-line option or command (advice that belongs to bot/advice.py), and
check that every kind of fix has words at the terminal and in the bot's log."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.advice import BOT, CLI, explain
from embeddings.errors import Fix, ReadoutError
from embeddings.readouts.corpus import CorpusError, scan

pytestmark = pytest.mark.fast

ENGINE = Path(__file__).resolve().parents[1] / "embeddings"
# an option, or a command as one types it ("readout index --index X", "with readout feeds add URL"),
# not the words of a sentence ("is not a readout index folder")
CLI_WORDS = re.compile(r"(?<![\w-])--[a-z][a-z-]+"
                       r"|\breadout (ask|index|list|eval|add|remove|feeds|telegram|timeline)( --| [A-Z]{2,}|\s*$|[;,)])")


def raised_texts(path: Path) -> list[tuple[int, str]]:
    """The literal text of every exception raised or returned as one in a module."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Raise, ast.Return)) and isinstance(getattr(node, "exc", None) or getattr(node, "value", None), ast.Call):
            call = node.exc if isinstance(node, ast.Raise) else node.value
            name = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if not name.endswith(("Error", "_", "Readout", "Page", "Format")):
                continue
            text = "".join(c.value for arg in call.args for c in ast.walk(arg)
                           if isinstance(c, ast.Constant) and isinstance(c.value, str))
            out.append((node.lineno, text))
    return out


def test_no_engine_error_names_an_option_or_a_command() -> None:
    found = {f"{p.relative_to(ENGINE)}:{line}": text
             for p in sorted(ENGINE.rglob("*.py")) for line, text in raised_texts(p) if CLI_WORDS.search(text)}
    assert found == {}, "word this advice in bot/advice.py and raise the error with a Fix"
    # the scan sees raises at all (a scan that finds none would pass whatever the code says)
    assert any("no such corpus folder" in t for _, t in raised_texts(ENGINE / "readouts" / "corpus.py"))


def test_every_fix_has_words_at_the_terminal_and_in_the_bot_log() -> None:
    assert set(CLI) == set(Fix) and set(BOT) == set(Fix)
    e = ReadoutError("something is wrong", Fix.CORPUS)
    assert explain(e) == "something is wrong; give --corpus DIR or set READOUT_CORPUS"
    assert "READOUT_CORPUS" in explain(e, BOT)
    assert explain(ReadoutError("a  plain\nfact")) == "a plain fact"


def test_a_missing_corpus_says_what_is_wrong_and_the_cli_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as e:
        scan(tmp_path / "nowhere")
    assert str(e.value) == f"no such corpus folder: {tmp_path / 'nowhere'}"
    assert e.value.fix is Fix.CORPUS and e.value.where == tmp_path / "nowhere"
    assert explain(e.value).endswith("; give --corpus DIR or set READOUT_CORPUS")
