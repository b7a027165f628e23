"""What went wrong, and what kind of fix it needs: the engine says the first, the front ends word
the second.

The same problem needs different advice in different places: at a terminal "give --corpus DIR",
in the bot's log "set READOUT_CORPUS", in a Telegram chat nothing about configuration at all. So an
error's message states the fact in one line (which folder, which file, which line) and its `fix`
names the remedy; `bot/advice.py` turns a `Fix` into words for the CLI, and the bot never shows an
engine message to a chat.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path


class Fix(Enum):
    """The remedies the engine's errors can call for."""

    CORPUS = "name an existing corpus folder"
    CORPUS_FOLDER = "the corpus must be a folder of readouts"
    CORPUS_EMPTY = "put readouts in the corpus, or name another"
    CORPUS_MATCH = "the questions belong to another corpus"
    INDEX_NEW = "name a new or empty index folder"
    INDEX_USABLE = "name an index folder that can be read"
    INDEX_WRITABLE = "name an index folder that can be written"
    REBUILD = "rebuild the index"
    SPACE = "free disk space or put the index on another disk"
    MODEL = "name a sentence-transformers model or a model folder"
    MODEL_OFFLINE = "name a local model folder, or reach the hub once"
    QUESTIONS_FORMAT = "write the questions file in the documented format"
    READOUTS_LIST = "see the readouts' names"
    FEEDS_LIST = "see the feeds followed"
    FEEDS_FILE = "repair or recreate the feed list"


class ReadoutError(Exception):
    """An error a user can act on: a one-line message, the fix it calls for (if any), and the
    folder or file it is about when the advice needs to name it again."""

    def __init__(self, message: str, fix: Fix | None = None, where: Path | None = None) -> None:
        super().__init__(message)
        self.fix = fix
        self.where = where

    @classmethod
    def like(cls, e: "ReadoutError") -> "ReadoutError":
        """The same message and fix as another of the engine's errors, as this type."""
        return cls(str(e), getattr(e, "fix", None), getattr(e, "where", None))


class ParseError(ReadoutError, ValueError):
    """The text is not a readout we can index (no text, broken front matter). Here rather than in
    readouts/parse.py so that reading a corpus's file list need not import the parser."""
