"""Reading a corpus folder: which files are readouts, which cannot be read and why, and a
fingerprint that tells whether an index was built from exactly these files."""

from __future__ import annotations

import hashlib
import os
import json
import stat
import logging
from dataclasses import dataclass, field
from pathlib import Path

from embeddings.errors import Fix, ParseError, ReadoutError
from embeddings.records import Readout

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".jsonl")
# a corpus folder's own documentation is not a readout
NOT_READOUTS = ("readme", "license", "licence", "changelog", "contributing")


class CorpusError(ReadoutError):
    """A corpus that cannot be used at all."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class Corpus:
    root: Path
    readouts: list[Readout] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return sum(len(r.points) for r in self.readouts)


def corpus_files(root: Path) -> list[Path]:
    """Readout files below `root`, in a stable order; hidden files and folders, and README-like
    files that describe the folder, are left out."""
    _check_root(root)
    return [root / rel for rel in _readout_files(root)]


def _check_root(root: Path) -> None:
    if not root.exists():
        raise CorpusError(f"no such corpus folder: {root}", Fix.CORPUS, root)
    if not root.is_dir():
        raise CorpusError(f"the corpus must be a folder, not a file: {root}", Fix.CORPUS_FOLDER, root)


def _readout_files(root: Path, unreadable: bool = False) -> list[str]:
    """Relative POSIX paths of the readout files, sorted. os.scandir and string paths: pathlib's
    rglob and relative_to took 0.7 s on a 10,000-file corpus, on every update. With `unreadable`,
    also the entries named like readouts that are no file to read (a broken link, a pipe), so
    that the reader can say it skipped them rather than leave them out without a word."""
    out: list[str] = []
    stack = [("", str(root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            rel = prefix + e.name
            try:
                if e.is_dir():
                    stack.append((rel + "/", e.path))
                    continue
                if not (e.is_file() or unreadable):
                    continue
            except OSError:
                continue
            stem, dot, suffix = e.name.rpartition(".")
            if dot and "." + suffix.lower() in SUFFIXES and stem.lower() not in NOT_READOUTS:
                out.append(rel)
    return sorted(out)


@dataclass(frozen=True)
class FileState:
    """What the index remembers of a corpus file: its stat, to notice changes without reading it,
    and its content hash, to tell a real change (or a rename) from a touch."""

    size: int
    mtime_ns: int
    sha256: str


def scan(root: Path, known: dict[str, FileState] | None = None) -> dict[str, FileState]:
    """The state of every readout file; files whose size and mtime match `known` are not re-read."""
    known = known or {}
    out: dict[str, FileState] = {}
    _check_root(root)
    for rel in _readout_files(root, unreadable=True):
        p = root / rel
        try:
            st = os.stat(p)
        except OSError:
            try:
                st = os.lstat(p)  # a broken link: its own state, so a fixed link is noticed
            except OSError:
                continue  # gone since it was listed
        prev = known.get(rel)
        if prev and prev.size == st.st_size and prev.mtime_ns == st.st_mtime_ns:
            out[rel] = prev
            continue
        if not stat.S_ISREG(st.st_mode):  # a pipe would block the read, a device never end it
            out[rel] = FileState(st.st_size, st.st_mtime_ns, "unreadable:not a regular file")
            continue
        if not _storable(rel):  # parse_file skips it; by its content hash, a copy of another
            # file's readouts would be indexed under this name, which the index cannot write
            out[rel] = FileState(st.st_size, st.st_mtime_ns, "unreadable:name is not UTF-8")
            continue
        try:
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError as e:
            digest = f"unreadable:{e.errno}"
        out[rel] = FileState(st.st_size, st.st_mtime_ns, digest)
    return out


def _storable(rel: str) -> bool:
    """Whether a name can be written to the index: os.scandir gives bytes that are not UTF-8 as
    lone surrogates, which UTF-8 cannot encode."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fingerprint(states: dict[str, FileState]) -> str:
    """A hash of every readout file's relative path and content: equal fingerprints, equal corpora."""
    h = hashlib.sha256()
    for rel in sorted(states):
        # surrogateescape: a file name that is not UTF-8 comes from os.scandir with surrogates
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + states[rel].sha256.encode() + b"\n")
    return h.hexdigest()


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ParseError("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 text (byte {e.start})") from None


def _read_jsonl(path: Path, rel: str, text: str, corpus: Corpus) -> None:
    from embeddings.readouts.parse import parse_readout

    n_ok = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{rel} line {lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            corpus.skipped.append(Skipped(where, f"not JSON ({e.msg})"))
            continue
        except (ValueError, RecursionError) as e:  # valid JSON that Python will not decode
            why = "nested too deeply" if isinstance(e, RecursionError) else "a number of more than 4,300 digits"
            corpus.skipped.append(Skipped(where, f"not JSON we can read ({why})"))
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
            corpus.skipped.append(Skipped(where, 'not an object with a "text" string'))
            continue
        rid = str(rec.get("id") or lineno)
        try:
            corpus.readouts.append(parse_readout(rec["text"], f"{rel}#{rid}", meta=rec))
            n_ok += 1
        except ParseError as e:
            corpus.skipped.append(Skipped(f"{rel}#{rid}", str(e)))
    if n_ok == 0 and not any(s.path.startswith(rel) for s in corpus.skipped):
        corpus.skipped.append(Skipped(rel, "empty file"))


def parse_file(root: Path, rel: str) -> tuple[list[Readout], list[Skipped]]:
    """The readouts of one corpus file, and what in it could not be read."""
    path = root / rel
    corpus = Corpus(root=root)
    try:
        _check_regular(path)
        data = path.read_bytes()
        if not data.strip():
            raise ParseError("empty file")
        text = _decode(data)
        if path.suffix.lower() == ".jsonl":
            _read_jsonl(path, rel, text, corpus)
        else:
            from embeddings.readouts.parse import parse_readout  # the parser: only when a file is read

            corpus.readouts.append(parse_readout(text, rel))
    except OSError as e:
        corpus.skipped.append(Skipped(rel, f"cannot read ({e.strerror})"))
    except ParseError as e:
        corpus.skipped.append(Skipped(rel, str(e)))
    return corpus.readouts, corpus.skipped


def _check_regular(path: Path) -> None:
    """Only regular files are read: a pipe named like a readout would block the read, a device
    never end it. OSError (the file is gone, or may not be read) is the caller's to report."""
    if path.is_symlink() and not path.exists():
        raise ParseError("broken link (nothing at the path it points to)")
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ParseError("not a regular file (a pipe, socket or device named like a readout)")


def read_corpus(root: Path) -> Corpus:
    """Parse every readout file; unreadable ones are logged (one line each) and skipped."""
    root = root.resolve()
    corpus = Corpus(root=root)
    _check_root(root)
    for rel in _readout_files(root, unreadable=True):
        readouts, skipped = parse_file(root, rel)
        corpus.readouts += readouts
        corpus.skipped += skipped
    report(corpus)
    return corpus


def report(corpus: Corpus, n_readouts: int | None = None) -> None:
    """Log what was skipped; refuse a corpus with no readouts (`n_readouts` when they are not in
    `corpus.readouts`: an update takes unchanged ones from the index without parsing them)."""
    for s in corpus.skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    if not (corpus.readouts if n_readouts is None else n_readouts):
        raise CorpusError(f"no readouts in {corpus.root}", Fix.CORPUS_EMPTY, corpus.root)
