"""The one object front ends talk to: a corpus, its index kept up to date, and search over it.

`Engine.load` makes sure the index matches the corpus files and the model (building it first
when it is missing or stale), then answers questions. Front ends (CLI, Telegram) hold no retrieval
logic; they call `ask`/`ask_many` and format what comes back.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Callable

from .corpus import CorpusError, FileState, fingerprint, scan
from .encoder import Encoder, ModelError, model_id
from .indexer import BuildReport, build_index
from .records import Answer, Readout
from .search import Searcher, Settings
from .store import FORMAT_VERSION, IndexError_, Manifest, OtherFormat, ReadoutTable, StoredIndex, load_index, read_manifest
from .units import UNITS_RECIPE

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = float(os.environ.get("READOUT_LOCK_TIMEOUT", "600"))


class EngineError(Exception):
    """Anything a user can fix: the message is one line saying what is wrong and what to do."""


def default_corpus() -> Path:
    env = os.environ.get("READOUT_CORPUS")
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve().parent.parent / "corpus"
    if here.is_dir():
        return here
    import readout_corpus  # installed (non-editable) copy of corpus/

    return Path(list(readout_corpus.__path__)[0])


def default_index(corpus: Path) -> Path:
    env = os.environ.get("READOUT_INDEX")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    key = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:12]
    return Path(user_cache_dir("readout")) / "indexes" / f"{corpus.resolve().name}-{key}"


def _known_states(manifest: Manifest | None) -> dict[str, FileState]:
    return {rel: FileState(*v) for rel, v in manifest.files.items()} if manifest else {}


def stale_reason(corpus: Path, index: Path, model: str | None) -> str | None:
    """Why the index must be (re)built before use, or None when it is current. Files are compared
    by size and mtime first and read only when those differ, so this is cheap on large corpora."""
    try:
        manifest = read_manifest(index)
    except OtherFormat:
        return "the index was built by another version of readout"
    if manifest is None:
        return "no index yet"
    if manifest.format != FORMAT_VERSION:
        return "the index was built by another version of readout"
    if model is not None and model_id(model) != manifest.model:
        return f"the index was built with another model ({manifest.model})"
    if manifest.settings.get("units", 1) != UNITS_RECIPE:
        return "the index was built by an older readout (points are now embedded with their context)"
    if manifest.fingerprint != fingerprint(scan(corpus, _known_states(manifest))):
        return "the corpus files changed since the index was built"
    return None


@dataclass
class Paths:
    corpus: Path
    index: Path


def resolve_paths(corpus: Path | str | None, index: Path | str | None) -> Paths:
    c = Path(corpus).expanduser() if corpus else default_corpus()
    i = Path(index).expanduser() if index else default_index(c)
    return Paths(c.resolve(), i.resolve())


def _lock(index: Path, timeout: float = LOCK_TIMEOUT_S):
    from filelock import FileLock

    index.mkdir(parents=True, exist_ok=True)
    return FileLock(str(index / ".lock"), timeout=timeout)


def build(corpus: Path | str | None = None, index: Path | str | None = None, model: str | None = None,
          compact: str | None = None, export_queries: bool = False) -> BuildReport:
    """Bring the index up to date with the corpus (re-encoding only what changed). `compact`
    ("fp16", "sq8", "sq4", or "none") changes how vectors are stored; by default the index keeps its own.
    A build that loads the model also exports its layers for questions (onnx_bert.py);
    `export_queries` does so even when nothing needed encoding (it loads the model, once)."""
    paths = resolve_paths(corpus, index)
    try:
        with _lock(paths.index):
            encoder = _encoder(paths, model)
            report = _build_locked(paths, encoder, compact)
            if export_queries:
                encoder.export_for_queries()
            return report
    except (CorpusError, ModelError, IndexError_) as e:
        raise EngineError(str(e)) from None
    except TimeoutError:
        raise EngineError(f"another readout process is updating {paths.index}; try again when it has finished") from None


def _encoder(paths: Paths, model: str | None) -> Encoder:
    return Encoder(model or _index_model(paths.index))


def _index_model(index: Path) -> str | None:
    try:
        m = read_manifest(index)
    except IndexError_:
        return None
    return m.model if m else None


def _previous(index: Path) -> StoredIndex | None:
    """The published index, to reuse its parsed readouts and vectors; None if there is none usable."""
    try:
        return load_index(index) if read_manifest(index) else None
    except IndexError_ as e:
        log.info("not reusing the previous index: %s", e)
        return None


def _build_locked(paths: Paths, encoder: Encoder, compact: str | None = None) -> BuildReport:
    previous = _previous(paths.index)
    states = scan(paths.corpus, _known_states(previous.manifest if previous else None))
    if compact is None and previous is not None:
        compact = previous.manifest.settings.get("compact")
    compact = None if compact == "none" else compact
    report = build_index(paths.corpus, states, paths.index, encoder, previous, compact)
    if encoder.loaded:  # the build encoded with sentence-transformers: exporting now costs ~1 s
        encoder.export_for_queries()
    return report


@dataclass
class Change:
    """What a reload brought: readouts that appeared and disappeared, and the new totals."""

    added: list[str]
    removed: list[str]
    readouts: int
    points: int

    def describe(self) -> str:
        parts = [f"{self.readouts} readouts, {self.points} points"]
        if self.added:
            parts.append(f"added: {', '.join(self.added)}")
        if self.removed:
            parts.append(f"removed: {', '.join(self.removed)}")
        return "; ".join(parts)


def _ensure_fresh(paths: Paths, model: str | None, encoder: Encoder, on_build: Callable[[str], None] | None,
                  wait: float = LOCK_TIMEOUT_S) -> None:
    reason = stale_reason(paths.corpus, paths.index, model)
    if reason:
        with _lock(paths.index, wait):
            # another process may have built it while we waited for the lock
            reason = stale_reason(paths.corpus, paths.index, model)
            if reason:
                if on_build:
                    on_build(reason)
                _build_locked(paths, encoder)


class Engine:
    """A corpus's index and search over it. `ask` may run in many threads at once; `refresh`
    swaps in a newer index between questions (a question holds the searcher it started with)."""

    def __init__(self, paths: Paths, searcher: Searcher, model: str | None = None) -> None:
        self.paths = paths
        self.searcher = searcher
        self._model_arg = model

    @classmethod
    def load(
        cls,
        corpus: Path | str | None = None,
        index: Path | str | None = None,
        model: str | None = None,
        settings: Settings | None = None,
        on_build: Callable[[str], None] | None = None,
    ) -> "Engine":
        """Open the index, building it first when it is missing or stale (`on_build` hears why)."""
        paths = resolve_paths(corpus, index)
        try:
            encoder = _encoder(paths, model)
            _ensure_fresh(paths, model, encoder, on_build)
            stored = load_index(paths.index, files=False)
        except (CorpusError, ModelError, IndexError_) as e:
            raise EngineError(str(e)) from None
        except TimeoutError:
            raise EngineError(f"another readout process is updating {paths.index}; try again when it has finished") from None
        return cls(paths, Searcher(stored, encoder, settings), model)

    def refresh(self, rebuild: bool = True, on_build: Callable[[str], None] | None = None) -> Change | None:
        """Pick up a newer index: one another process published (`readout index`, `add`,
        `remove`), or, with `rebuild`, one built here because the corpus files changed. Returns
        what changed, or None when the index in use is current. A build that another process
        holds the lock for is left to it; the next refresh picks up its result."""
        old = self.searcher
        try:
            if rebuild:
                _ensure_fresh(self.paths, self._model_arg, old.encoder, on_build, wait=0)
        except TimeoutError:
            log.info("another process is updating %s; not waiting", self.paths.index)
        except (CorpusError, ModelError, IndexError_) as e:
            raise EngineError(str(e)) from None
        current = (self.paths.index / "current").resolve()
        if current == old.index.path:
            return None
        try:
            stored = load_index(self.paths.index, files=False)
        except IndexError_ as e:
            raise EngineError(str(e)) from None
        self.searcher = Searcher(stored, old.encoder, old.settings)
        before, after = set(old.index.table.docs), set(stored.table.docs)
        return Change(sorted(after - before), sorted(before - after), len(stored.readouts), stored.n_points)

    def ask(self, question: str, k: int = 5) -> Answer:
        return self.ask_many([question], k)[0]

    def ask_many(self, questions: list[str], k: int = 5) -> list[Answer]:
        try:
            return self.searcher.answers(questions, k)
        except ModelError as e:
            raise EngineError(str(e)) from None

    def warm_up(self) -> None:
        """Get ready for many questions (a bot, an evaluation): load the question encoder that
        is fastest per question now rather than on the first question."""
        self.searcher.encoder.expect_many_questions()
        self.ask_many(["warm up"], 1)

    @property
    def readouts(self) -> Sequence[Readout]:
        """Every readout, in corpus order; each is parsed from the index when first used."""
        return self.searcher.index.readouts

    @property
    def table(self) -> ReadoutTable:
        """What is known of every readout without parsing it: docs, titles, dates, points."""
        return self.searcher.index.table

    def readout(self, doc: str) -> Readout | None:
        try:
            return self.readouts[self.searcher.index.table.docs.index(doc)]
        except ValueError:
            return None

    @property
    def model(self) -> str:
        return self.searcher.index.manifest.model

    @property
    def n_points(self) -> int:
        return self.searcher.index.n_points
