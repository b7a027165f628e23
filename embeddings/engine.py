"""The one object front ends talk to: a corpus, its index kept up to date, and search over it.

`Engine.load` makes sure the index matches the corpus files and the model (building it first
when it is missing or stale), then answers questions. Front ends (CLI, Telegram) hold no retrieval
logic; they call `ask`/`ask_many` and format what comes back.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable

from embeddings.errors import Fix, ReadoutError
from embeddings import env
from embeddings.readouts.corpus import CorpusError, FileState, corpus_files, fingerprint, scan
from embeddings.model.encoder import Encoder, ModelError, model_id
from embeddings.records import Answer, Readout
from embeddings.search.searcher import Searcher, Settings
from embeddings.index.store import FORMAT_VERSION, TABLE_RECIPE, IndexError_, Manifest, OtherFormat, ReadoutTable, StoredIndex, load_index, read_manifest
from embeddings.index.units import UNITS_RECIPE

if TYPE_CHECKING:
    from embeddings.index.build import BuildReport
    from embeddings.search.timeline import Span, Timeline
    from collections.abc import Mapping

    from embeddings.search.topics import Arrival, TopicMatch

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 600.0  # default of $READOUT_LOCK_TIMEOUT
RETRY_AFTER_NO_SPACE_S = 60.0  # a long-running process tries a build that ran out of space again after this


class EngineError(ReadoutError):
    """Anything a user can fix: one line saying what is wrong, and the kind of fix (errors.Fix)."""


class NoSpaceError(EngineError):
    """An index update ran out of disk space; the previous index, if any, is untouched."""


def _lock_timeout() -> float:
    return env.seconds(env.LOCK_TIMEOUT, LOCK_TIMEOUT_S)


def default_corpus() -> Path:
    given = os.environ.get(env.CORPUS)
    if given:
        return Path(given).expanduser()
    here = Path(__file__).resolve().parent.parent / "corpus"
    if here.is_dir():
        return here
    import readout_corpus  # installed (non-editable) copy of corpus/

    return Path(list(readout_corpus.__path__)[0])


def default_index(corpus: Path) -> Path:
    given = os.environ.get(env.INDEX)
    if given:
        return Path(given).expanduser()
    from platformdirs import user_cache_dir

    key = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:12]
    return Path(user_cache_dir("readout")) / "indexes" / f"{corpus.resolve().name}-{key}"


def _known_states(manifest: Manifest | None) -> dict[str, FileState]:
    return {rel: FileState(*v) for rel, v in manifest.files.items()} if manifest else {}


def stale_reason(corpus: Path, index: Path, model: str | None) -> str | None:
    """Why the index must be (re)built before use, or None when it is current. Files are compared
    by size and mtime first and read only when those differ, so this is cheap on large corpora."""
    from embeddings.index.units import LEXICAL_RECIPE

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
    if manifest.settings.get("lexical", 1) != LEXICAL_RECIPE:  # its vectors are kept: no encoding
        return "the index's BM25 side was built by an older readout (points now carry their readout's countries)"
    if manifest.settings.get("table", 1) != TABLE_RECIPE:  # vectors and tokens kept: no encoding
        return "the index's table was built by an older readout (it now records who and where each readout is about)"
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


def _lock(index: Path, timeout: float | None = None):
    from filelock import FileLock

    return FileLock(str(index / ".lock"), timeout=_lock_timeout() if timeout is None else timeout)


def _check_index_folder(index: Path) -> None:
    """Refuse, before anything is written, an index path that cannot hold an index: a file, or
    a folder with other things in it (a lock file left there would be litter in a user's folder)."""
    if index.exists() and not index.is_dir():
        raise EngineError(f"the index path {index} is a file, not a folder", Fix.INDEX_NEW, index)
    if index.is_dir() and not (index / "current").exists():
        from embeddings.index.store import check_foreign

        try:
            check_foreign(index)
        except IndexError_ as e:
            raise EngineError.like(e) from None
        except OSError as e:
            raise EngineError(f"cannot read the index folder {index} ({e.strerror})", Fix.INDEX_USABLE, index) from None


@contextmanager
def _index_folder(index: Path):
    """The index folder, created if needed; when the command fails, a folder it created (and
    the parents it created) holding nothing but a lock file is removed again."""
    _check_index_folder(index)
    created = None
    probe = index
    while not probe.exists() and probe != probe.parent:
        created, probe = probe, probe.parent
    try:
        index.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EngineError(f"cannot create the index folder {index} ({e.strerror})", Fix.INDEX_WRITABLE, index) from None
    try:
        yield index
    except BaseException:
        if created is not None and not (index / "current").exists():
            leftovers = [p for p in index.iterdir() if not p.name.startswith(".lock")]
            if not leftovers:
                shutil.rmtree(created, ignore_errors=True)
        raise


def _is_no_space(e: BaseException) -> bool:
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # numpy's writer reports a short write as "N requested and M written", without an errno
    if isinstance(e, OSError) and e.errno is None and " requested and " in str(e):
        return True
    # FAISS writes through its own C++ IO and raises RuntimeError with the C library's message
    return isinstance(e, RuntimeError) and ("No space left" in str(e) or "Disk quota" in str(e))


def _size_of(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def _space_needed(paths: "Paths", states: dict[str, FileState], previous: Manifest | None) -> int:
    """Roughly the bytes a build writes: an update writes a whole new version beside the one in
    use, so the previous version's size scaled by how much the corpus grew, and at least what an
    index of this much text usually takes."""
    corpus_bytes = sum(s.size for s in states.values())
    guess = INDEX_BYTES_PER_CORPUS_BYTE * corpus_bytes
    current = paths.index / "current"
    if previous is not None and current.exists():
        old_bytes = sum(f[0] for f in previous.files.values()) or 1
        guess = max(guess, int(_size_of(current.resolve()) * corpus_bytes / old_bytes))
    return guess


def _free(index: Path) -> int:
    try:
        return shutil.disk_usage(index).free
    except OSError:
        return 0


def _no_space(paths: "Paths", needed: int) -> NoSpaceError:
    """One line: where the disk is full, roughly what the update needed, what is left."""
    current = paths.index / "current"
    free = _free(paths.index)
    kept = "the previous index is unchanged and still answers" if current.exists() else "no index was written"
    return NoSpaceError(
        f"no space left on the disk of {paths.index}: the index update needs about {_mb(needed)}, "
        f"{_mb(free)} free; {kept}", Fix.SPACE, paths.index
    )


def _mb(n: int) -> str:
    return f"{max(n, 0) / 1e6:.1f} MB"


INDEX_BYTES_PER_CORPUS_BYTE = 15  # the bundled corpus's index is ~10x its text, the shared readouts' ~18x


def _check_corpus(paths: "Paths") -> None:
    """A corpus that cannot be used fails before an index folder is made or a build announced."""
    try:
        corpus_files(paths.corpus)
    except CorpusError as e:
        raise EngineError.like(e) from None


def build(corpus: Path | str | None = None, index: Path | str | None = None, model: str | None = None,
          compact: str | None = None, export_queries: bool = False,
          on_start: Callable[[Paths], None] | None = None, encoder: Encoder | None = None) -> BuildReport:
    """Bring the index up to date with the corpus (re-encoding only what changed). `compact`
    ("fp16", "sq8", "sq4", or "none") changes how vectors are stored; by default the index keeps its own.
    A build that loads the model also exports its layers for questions (question_encoder.py);
    `export_queries` does so even when nothing needed encoding (it loads the model, once).
    `on_start` hears when the checks have passed and the build begins. `encoder` is one already
    made (a warm process's, or a deterministic stand-in), used instead of loading `model`."""
    paths = resolve_paths(corpus, index)
    log.debug("build: corpus %s, index %s, model %s", paths.corpus, paths.index, model or "the index's")
    _check_corpus(paths)
    try:
        encoder = encoder or _encoder(paths, model)
        with _index_folder(paths.index), _lock(paths.index):
            if on_start:
                on_start(paths)
            report = _build_locked(paths, encoder, compact)
            if export_queries:
                encoder.export_for_queries()
            return report
    except (CorpusError, ModelError, IndexError_, env.SettingError) as e:
        raise EngineError.like(e) from None
    except TimeoutError:
        raise EngineError(f"another readout process is updating {paths.index}; try again when it has finished") from None


def _encoder(paths: Paths, model: str | None) -> Encoder:
    env.check()
    encoder = Encoder(model or _index_model(paths.index))
    encoder.check()  # a model or device that cannot work fails now, before a build is announced
    return encoder


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
    needed = _space_needed(paths, states, previous.manifest if previous else None)
    if _free(paths.index) < needed // 2:  # surely too little: say so before minutes of encoding
        raise _no_space(paths, needed)
    try:
        from embeddings.index.build import build_index  # only when something is to be built

        report = build_index(paths.corpus, states, paths.index, encoder, previous, compact)
    except (OSError, RuntimeError) as e:
        if _is_no_space(e):
            raise _no_space(paths, needed) from None
        if isinstance(e, OSError):
            raise EngineError(f"cannot write the index in {paths.index} ({e.strerror or e})", Fix.INDEX_WRITABLE, paths.index) from None
        raise
    if encoder.loaded:  # the build encoded with sentence-transformers: exporting now costs ~1 s
        encoder.export_for_queries()
    return report


def readable(question: str) -> str:
    """The question as text the tokenizers take: bytes that were not UTF-8 (which Python hands
    over as lone surrogates, from argv or a file read with surrogateescape) become U+FFFD, and
    control characters become spaces."""
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        question = question.encode("utf-8", "surrogateescape" if _escaped_only(question) else "surrogatepass")
        question = question.decode("utf-8", "replace")
    if any(c < " " or "\x7f" <= c < "\xa0" for c in question):
        question = "".join(" " if c < " " or "\x7f" <= c < "\xa0" else c for c in question)
    return question


def _escaped_only(text: str) -> bool:
    """Whether every surrogate in `text` stands for a byte (surrogateescape's U+DC80..U+DCFF)."""
    return all(not "\ud800" <= c <= "\udfff" or "\udc80" <= c <= "\udcff" for c in text)


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
                  wait: float | None = None) -> None:
    _check_corpus(paths)
    reason = stale_reason(paths.corpus, paths.index, model)
    if reason:
        with _index_folder(paths.index), _lock(paths.index, wait):
            # another process may have built it while we waited for the lock
            reason = stale_reason(paths.corpus, paths.index, model)
            if reason:
                if on_build:
                    on_build(reason)
                _build_locked(paths, encoder)


class Engine:
    """A corpus's index and search over it. `ask` may run in many threads at once; `refresh`
    swaps in a newer index between questions (a question holds the searcher it started with)."""

    def __init__(self, paths: Paths, searcher: Searcher, model: str | None = None, stale: str | None = None) -> None:
        self.paths = paths
        self.searcher = searcher
        self._model_arg = model
        # why the index in use is older than the corpus (an update that could not be written), or None
        self.stale = stale
        self._stale_since = time.monotonic() if stale else None

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
        log.debug("load: corpus %s, index %s, model %s", paths.corpus, paths.index, model or "the index's")
        stale = None
        try:
            encoder = _encoder(paths, model)
            try:
                _ensure_fresh(paths, model, encoder, on_build)
            except NoSpaceError as e:
                if read_manifest(paths.index) is None:
                    raise
                stale = str(e)
                log.warning("answering from the previous index, which is stale: %s", e)
            stored = load_index(paths.index, files=False)
        except (CorpusError, ModelError, IndexError_, env.SettingError) as e:
            raise EngineError.like(e) from None
        except TimeoutError:
            raise EngineError(f"another readout process is updating {paths.index}; try again when it has finished") from None
        return cls(paths, Searcher(stored, encoder, settings), model, stale)

    def refresh(self, rebuild: bool = True, on_build: Callable[[str], None] | None = None) -> Change | None:
        """Pick up a newer index: one another process published (`readout index`, `add`,
        `remove`), or, with `rebuild`, one built here because the corpus files changed. Returns
        what changed, or None when the index in use is current. A build that another process
        holds the lock for is left to it; the next refresh picks up its result."""
        old = self.searcher
        try:
            if rebuild and not self._waiting_for_space():
                _ensure_fresh(self.paths, self._model_arg, old.encoder, on_build, wait=0)
                self.stale = self._stale_since = None
        except TimeoutError:
            log.info("another process is updating %s; not waiting", self.paths.index)
        except NoSpaceError as e:
            if self.stale is None:  # said once, not at every check
                log.warning("still answering from the previous index, which is stale: %s", e)
            self.stale, self._stale_since = str(e), time.monotonic()
        except (CorpusError, ModelError, IndexError_, env.SettingError) as e:
            raise EngineError.like(e) from None
        current = (self.paths.index / "current").resolve()
        if current == old.index.path:
            return None
        try:
            stored = load_index(self.paths.index, files=False)
        except IndexError_ as e:
            raise EngineError.like(e) from None
        self.searcher = Searcher(stored, old.encoder, old.settings)
        before, after = set(old.index.table.docs), set(stored.table.docs)
        return Change(sorted(after - before), sorted(before - after), len(stored.readouts), stored.n_points)

    def _waiting_for_space(self) -> bool:
        """After an update ran out of space, the next try waits a while: each try re-encodes."""
        return self._stale_since is not None and time.monotonic() - self._stale_since < RETRY_AFTER_NO_SPACE_S

    def ask(self, question: str, k: int = 5) -> Answer:
        return self.ask_many([question], k)[0]

    def ask_many(self, questions: list[str], k: int = 5) -> list[Answer]:
        try:
            return self.searcher.answers([readable(q) for q in questions], k)
        except ModelError as e:
            raise EngineError.like(e) from None

    def timeline(self, topic: str, span: Span | None = None) -> Timeline:
        """Every readout's point on `topic`, oldest first, within `span` (embeddings/search/timeline.py)."""
        from embeddings.search.timeline import timeline

        try:
            return timeline(self.searcher, readable(topic), span)
        except ModelError as e:
            raise EngineError.like(e) from None

    def match_topics(self, topics: list[str], docs: list[str]) -> list[TopicMatch]:
        """Which point of each readout of `docs` answers each followed topic, judged as a question's
        answer is (embeddings/search/topics.py): the alerts a new readout sends."""
        from embeddings.search.topics import match_topics

        try:
            return match_topics(self.searcher, [readable(t) for t in topics], docs)
        except ModelError as e:
            raise EngineError.like(e) from None

    def arrivals(self, known: Mapping[str, str]) -> list[Arrival]:
        """The readouts whose content hash is not `known[doc]` (new or edited since a front end
        recorded `known`), with their hashes and point keys (embeddings/search/topics.py)."""
        from embeddings.search.topics import arrivals

        return arrivals(self.searcher.index, known)

    def warm_up(self) -> None:
        """Get ready for many questions (a bot, an evaluation): open the question encoder and
        touch the index now rather than on a user's first question."""
        self.searcher.warm_up()
        self.ask_many(["warm up"], 1)
        log.info("questions encoded by %s", self.searcher.encoder.question_encoder)

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
