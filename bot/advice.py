"""The words a front end puts on the engine's errors: the engine says what is wrong
(embeddings/errors.py), and here is what to do about it, in the terms of the place it is read.

At a terminal the advice names options and commands; in the bot's log it names the environment
settings the bot is configured by. A Telegram chat never sees either (bot/telegram/handlers.py
answers it in plain words and logs the rest).
"""

from __future__ import annotations

import os
from typing import Callable

from embeddings import env
from embeddings.errors import Fix, ReadoutError

Words = dict[Fix, Callable[[ReadoutError], str]]


def _index_elsewhere(e: ReadoutError) -> str:
    if os.environ.get(env.INDEX):
        return f"set {env.INDEX} or give --index a folder you can write to"
    return f"give --index a folder you can write to (or set XDG_CACHE_HOME or {env.INDEX})"


def _rebuild(e: ReadoutError) -> str:
    return f"build it with: readout index --index {e.where}" if e.where else "build it with: readout index"


CLI: Words = {
    Fix.CORPUS: lambda e: f"give --corpus DIR or set {env.CORPUS}",
    Fix.CORPUS_FOLDER: lambda e: "put readouts in a folder and give --corpus DIR",
    Fix.CORPUS_EMPTY: lambda e: "add .txt, .md or .jsonl readouts there, or give another --corpus DIR",
    Fix.CORPUS_MATCH: lambda e: "is --corpus the right folder?",
    Fix.INDEX_NEW: lambda e: "give --index a new or empty folder",
    Fix.INDEX_USABLE: lambda e: "give --index a folder you can use",
    Fix.INDEX_WRITABLE: _index_elsewhere,
    Fix.REBUILD: _rebuild,
    Fix.SPACE: lambda e: "free some space, or give --index a folder on another disk",
    Fix.MODEL: lambda e: "give --model a sentence-transformers model name or a local model folder",
    Fix.MODEL_OFFLINE: lambda e: "give --model a local model folder (or run where the hub is reachable once)",
    Fix.QUESTIONS_FORMAT: lambda e: "see readout eval --help",
    Fix.READOUTS_LIST: lambda e: "readout list shows the readouts by the names remove takes",
    Fix.FEEDS_LIST: lambda e: "readout feeds list shows the feeds it follows",
    Fix.FEEDS_FILE: lambda e: "fix it, or delete it and add the feeds again with: readout feeds add URL",
}

# The bot is configured by its environment (readout telegram --help lists it); its options work too.
BOT: Words = {
    **CLI,
    Fix.CORPUS: lambda e: f"set {env.CORPUS} to a folder of readouts (or give --corpus)",
    Fix.CORPUS_EMPTY: lambda e: f"add .txt, .md or .jsonl readouts there, or set {env.CORPUS} to another folder",
    Fix.INDEX_NEW: lambda e: f"set {env.INDEX} to a new or empty folder (or give --index)",
    Fix.INDEX_USABLE: lambda e: f"set {env.INDEX} to a folder the bot can use (or give --index)",
    Fix.INDEX_WRITABLE: lambda e: f"set {env.INDEX} to a folder the bot can write to (or give --index)",
    Fix.REBUILD: lambda e: "restart the bot, which rebuilds it (or run readout index)",
    Fix.SPACE: lambda e: f"free some space, or set {env.INDEX} to a folder on another disk",
}


def explain(e: BaseException, words: Words = CLI) -> str:
    """One line: what is wrong, then what to do about it here."""
    message = " ".join(str(e).split()) or type(e).__name__
    fix = getattr(e, "fix", None)
    if fix is None or fix not in words:
        return message
    return f"{message}; {words[fix](e)}"
