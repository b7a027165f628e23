"""Managing a corpus folder: reading new readouts from pages and files, refusing duplicates,
writing files whole, removing readouts, and listing them.

The `readout add`, `remove` and `list` commands (bot/manage.py) are a thin layer over this.
All-or-nothing: every source is read before anything is written; files are written whole (a
hidden temporary file, then a rename); the corpus is changed under the index's lock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from embeddings.errors import Fix, ReadoutError

MAX_FILE_BYTES = 50 * 1024 * 1024  # a saved page with its images inlined can be large
PAGE_SUFFIXES = (".html", ".htm", ".xhtml")
TEXT_SUFFIXES = (".txt", ".md")


class ManageError(ReadoutError):
    """Something the user can fix; the message is one line."""


class NotAReadout(ManageError):
    """The source was read, and it is not a readout (no date, no body text, an image): reading it
    again will not change that, so a feed check remembers it instead of fetching it every time."""


def one_line(message: object) -> str:
    return " ".join(str(message).split())


def quiet_libraries() -> None:
    """trafilatura and htmldate log their doubts as warnings; ours are the one-line errors."""
    if logging.getLogger().level >= logging.WARNING:
        for name in ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


# --- reading a source ------------------------------------------------------------------------------


def is_url(source: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", source.strip()) is not None


def load_source(source: str, url: str | None = None):
    """A `Draft` of the readout SOURCE holds: a web address, a saved page or a readout text.
    `url` is recorded as the source address instead of the one found."""
    from embeddings.grow.extract import ExtractError, from_html, from_text
    from embeddings.grow.fetch import FetchError, NotAPage, decode_text, fetch

    try:
        if is_url(source):
            page = fetch(source)
            now = dt.datetime.now(dt.timezone.utc)
            if page.is_html:
                draft = from_html(page.body, source=url or page.url, charset=page.charset, fetched=now)
            else:
                draft = from_text(decode_text(page.body, page.charset), source=url or page.url, fetched=now)
            draft.urls = tuple(dict.fromkeys([*draft.urls, page.url, page.requested]))
            return draft
        path = Path(source).expanduser()
        if not path.exists():
            hint = ""
            if re.match(r"^(?:www\.)?[\w\-]+(?:\.[\w\-]+)+/", source):
                hint = f"; for a web page give its whole address, https://{source}"
            raise ManageError(f"no such file{hint}")
        if path.is_dir():
            raise ManageError("a folder, not a readout (give its files, or a web address)")
        suffix = path.suffix.lower()
        if suffix not in PAGE_SUFFIXES + TEXT_SUFFIXES:
            raise ManageError(
                "only web addresses (http, https), saved pages (.html, .htm) and readout texts (.txt, .md) can be added"
            )
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ManageError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
        if suffix in PAGE_SUFFIXES:
            return from_html(data, source=url)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ManageError(f"not UTF-8 text (byte {e.start}); save it as UTF-8 first") from None
        return from_text(text, source=url)
    except (NotAPage, ExtractError) as e:
        raise NotAReadout(str(e)) from None
    except FetchError as e:
        raise ManageError(str(e)) from None
    except OSError as e:
        raise ManageError(f"cannot read it ({e.strerror or e})") from None


# --- what the corpus already holds -----------------------------------------------------------------


def url_key(u: str) -> str:
    """Addresses that name the same page compare equal: scheme, "www.", default port, trailing
    slash and fragment do not matter."""
    u = u.strip()
    try:
        p = urlsplit(u)
        if p.scheme.lower() in ("http", "https") and p.hostname:
            host = p.hostname.lower().removeprefix("www.")
            port = f":{p.port}" if p.port and p.port not in (80, 443) else ""
            query = f"?{p.query}" if p.query else ""
            return f"{host}{port}{p.path.rstrip('/')}{query}"
    except ValueError:
        pass
    return u


def text_key(readout) -> str:
    """The readout's points, folded (case, punctuation, spacing): the same talk published twice,
    or fetched once and copied in once, has the same key."""
    import hashlib

    norm = "\n".join(" ".join(re.sub(r"[\W_]+", " ", p.text.casefold()).split()) for p in readout.points)
    return hashlib.sha256(norm.encode()).hexdigest()


@dataclass
class Known:
    doc: str
    sources: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)


def known_readouts(root: Path) -> list[Known]:
    """Source addresses and text keys of every readout file in the corpus (unreadable files are
    the corpus reader's business, not ours: they are left out)."""
    from embeddings.readouts.corpus import corpus_files
    from embeddings.readouts.parse import ParseError, parse_readout, split_front_matter

    out: list[Known] = []
    if not root.is_dir():
        return out
    for path in corpus_files(root):
        rel = path.relative_to(root).as_posix()
        known = Known(rel)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        if path.suffix.lower() == ".jsonl":
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                    if rec.get("source"):
                        known.sources.add(url_key(str(rec["source"])))
                    known.texts.add(text_key(parse_readout(rec["text"], rel, meta=rec)))
                except (ValueError, TypeError, KeyError, AttributeError, ParseError):
                    continue
        else:
            try:
                front, _ = split_front_matter(text)
                if front.get("source"):
                    known.sources.add(url_key(str(front["source"])))
                known.texts.add(text_key(parse_readout(text, rel)))
            except ParseError:
                pass
        out.append(known)
    return out


def find_duplicate(draft, known: list[Known]) -> tuple[str, str] | None:
    """(file, "same source" | "same text") when the corpus already has the readout."""
    urls = {url_key(u) for u in draft.urls}
    key = text_key(draft.readout)
    for k in known:
        if urls & k.sources:
            return k.doc, "same source"
    for k in known:
        if key in k.texts:
            return k.doc, "same text"
    return None


# --- writing ---------------------------------------------------------------------------------------


def slug(title: str, max_len: int = 60) -> str:
    s = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    s = re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()
    if len(s) > max_len:
        s = s[:max_len].rsplit("-", 1)[0]
    return s or "readout"


def file_name(draft, root: Path, taken: set[str]) -> str:
    base = f"{draft.date.isoformat()}-{slug(draft.title)}"
    name, n = f"{base}.txt", 1
    while name.casefold() in taken or (root / name).exists():
        n += 1
        name = f"{base}-{n}.txt"
    return name


def write_atomic(path: Path, content: str) -> None:
    """Write the whole file or nothing: a hidden temporary file (the corpus reader skips hidden
    files) renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass
class Outcome:
    source: str
    draft: object
    doc: str | None = None  # the file written
    duplicate_of: str | None = None
    why: str | None = None


def _locked(index: Path):
    from embeddings.engine import _lock

    return _lock(index)


def _busy(index: Path) -> str:
    return f"another readout process is updating {index}; try again when it has finished"


def add_drafts(drafts: list[tuple[str, object]], corpus: Path, index: Path) -> list[Outcome]:
    """Write the drafts that are not in the corpus yet, under the index lock. All or nothing: a
    failed write removes the files this call wrote."""
    outcomes = [Outcome(src, d) for src, d in drafts]
    written: list[Path] = []
    try:
        with _locked(index):
            corpus.mkdir(parents=True, exist_ok=True)
            known = known_readouts(corpus)
            taken: set[str] = set()
            for o in outcomes:
                dup = find_duplicate(o.draft, known)
                if dup:
                    o.duplicate_of, o.why = dup
                    continue
                name = file_name(o.draft, corpus, taken)
                taken.add(name.casefold())
                write_atomic(corpus / name, o.draft.content)
                written.append(corpus / name)
                o.doc = name
                known.append(Known(name, {url_key(u) for u in o.draft.urls}, {text_key(o.draft.readout)}))
    except TimeoutError:
        raise ManageError(_busy(index)) from None
    except OSError as e:
        for p in written:
            p.unlink(missing_ok=True)
        where = e.filename or corpus
        raise ManageError(f"cannot write to {where} ({e.strerror or e}); nothing was added") from None
    return outcomes


def resolve_doc(doc: str, corpus: Path) -> Path:
    """The corpus file DOC names: a path relative to the corpus (as `readout list` and answers'
    `doc` show it), or a path to a file inside the corpus."""
    from embeddings.readouts.corpus import corpus_files

    if "#" in doc and doc.split("#", 1)[0].lower().endswith(".jsonl"):
        file = doc.split("#", 1)[0]
        raise ManageError(f"{doc} is one readout inside {file}; delete its line from that file (remove deletes whole files)")
    def norm(p: Path) -> Path:  # not resolve(): a readout may be a symlink to a file elsewhere
        return Path(os.path.normpath(p.absolute()))

    files = {norm(p) for p in corpus_files(corpus)}
    for candidate in (corpus / doc, Path(doc).expanduser()):
        p = norm(candidate)
        if p in files:
            return p
    raise ManageError(f"no readout {doc} in {corpus}", Fix.READOUTS_LIST, corpus)


def remove_docs(docs: list[str], corpus: Path, index: Path) -> list[tuple[str, object]]:
    """Delete the readout files, under the index lock; (doc, parsed readout or None) for each."""
    from embeddings.readouts.parse import ParseError, parse_readout

    paths = [resolve_doc(d, corpus) for d in docs]  # all must exist before any is deleted
    removed = []
    try:
        with _locked(index):
            for p in dict.fromkeys(paths):
                rel = p.relative_to(corpus).as_posix()
                try:
                    r = parse_readout(p.read_text(encoding="utf-8-sig"), rel)
                except (OSError, UnicodeDecodeError, ParseError):
                    r = None
                p.unlink()
                removed.append((rel, r))
    except TimeoutError:
        raise ManageError(_busy(index)) from None
    except OSError as e:
        done = ", ".join(d for d, _ in removed)
        raise ManageError(
            f"cannot delete {e.filename} ({e.strerror or e})" + (f"; removed {done}" if done else "; nothing was removed")
        ) from None
    return removed


def list_readouts(corpus: Path) -> list[dict]:
    """Every readout in the corpus as {doc, title, date, points, source}, newest first."""
    from embeddings.readouts.corpus import CorpusError, corpus_files, read_corpus

    if not corpus_files(corpus):
        return []
    try:
        readouts = read_corpus(corpus).readouts
    except CorpusError:  # files, but none readable: the reader said why, file by file
        return []
    rows = [
        {
            "doc": r.doc,
            "title": r.title,
            "date": r.iso_date,
            "points": sum(1 for p in r.points if not p.preamble),
            "preamble": any(p.preamble for p in r.points),
            "source": r.source,
        }
        for r in readouts
    ]
    rows.sort(key=lambda d: d["doc"])
    rows.sort(key=lambda d: d["date"] or "", reverse=True)  # undated last
    return rows
