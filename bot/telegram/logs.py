"""Logging for the bot: one line per event, and never the bot token.

The token is part of every Bot API URL (`.../bot<TOKEN>/sendMessage`), and httpx logs those URLs
at INFO; PTB and httpx exceptions can quote them too. So httpx is held at WARNING and, as a
second line of defence, the handler's formatter scrubs the token (and anything shaped like a
`bot<id>:<secret>` URL segment) from every finished line, exception text included.

Without `-v`, exception tracebacks are folded to `ExcType: message` so that a failure costs one
line in the journal; with `-v` the traceback is kept (still scrubbed).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_TOKENISH = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,}")


class RedactingFormatter(logging.Formatter):
    """Formats a record, folds its traceback unless verbose, and removes secrets from the result."""

    def __init__(self, fmt: str, secrets: Iterable[str], verbose: bool) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]
        self._verbose = verbose

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return _TOKENISH.sub("<token>", text)

    def format(self, record: logging.LogRecord) -> str:
        if not self._verbose and record.exc_info:
            exc = record.exc_info[1]
            # Copy so other handlers (if any) still see the original record.
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info = None
            record.exc_text = None
            if exc is not None:
                record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
                record.args = None
        text = super().format(record)
        if not self._verbose:
            text = " | ".join(line for line in text.splitlines() if line.strip())
        return self.scrub(text)


def setup_logging(verbose: bool, secrets: Iterable[str] = ()) -> None:
    """Send log lines to stderr (journald picks them up under systemd), scrubbed of `secrets`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets, verbose)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    # The handler filters too: some libraries (bm25s) set their own loggers to DEBUG on import.
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request URL, token included, at INFO; httpcore is chatty at DEBUG.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # PTB's own INFO lines are useful ("Application started"); its DEBUG lines only with -v.
    logging.getLogger("telegram").setLevel(logging.DEBUG if verbose else logging.INFO)
    # Third-party libraries that load the model are noisy at INFO.
    for name in (
        "sentence_transformers",
        "transformers",
        "torch",
        "faiss",
        "urllib3",
        "filelock",
        "bm25s",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
