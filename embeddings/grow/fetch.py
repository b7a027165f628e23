"""Fetching one web page for `readout add URL`: http(s) only, a time limit, a size cap, an honest
User-Agent, and HTML or plain text only.

Every failure is a `FetchError` whose message is one line saying what is wrong ("HTTP 404 Not
Found", "no answer within 20 s", "the server sent image/png, not a web page"), so that front ends
can print it as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit
from embeddings.errors import ReadoutError

TIMEOUT_S = 20.0  # default of $READOUT_FETCH_TIMEOUT
MAX_BYTES = 5 * 1024 * 1024
# what `readout add` accepts; anything else (images, PDFs, JSON, archives) is refused
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")


def user_agent() -> str:
    """`readout/VERSION (+HOMEPAGE)`: who is asking and where to read about it (the homepage is
    the package's first Project-URL, when its metadata has one)."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata("readout")
        version = meta["Version"]
        urls = [u.split(",", 1)[-1].strip() for u in meta.get_all("Project-URL") or []]
        home = next((u for u in urls + [meta.get("Home-page") or ""] if u.startswith("http")), None)
    except (PackageNotFoundError, KeyError):  # not installed (a bare checkout)
        version, home = "0", None
    return f"readout/{version} (+{home})" if home else f"readout/{version} (diplomatic readouts indexer)"


class FetchError(ReadoutError):
    """A page that cannot be fetched; the message is one line saying why."""


class NotAPage(FetchError):
    """The server sent something of a type readout does not read (an image, a PDF): unlike a
    failed connection, asking again will not change it (a feed check remembers such entries)."""


@dataclass
class Page:
    url: str  # after redirects
    requested: str  # as asked for
    content_type: str  # "text/html", "text/plain", ...
    charset: str | None  # from the Content-Type header, when it says
    body: bytes
    status: int = 200  # 304: not modified since the ETag / Last-Modified given (body empty)
    etag: str | None = None  # validators for the next conditional GET (feeds)
    last_modified: str | None = None

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES


def check_url(url: str) -> str:
    """The URL when readout may fetch it, else a FetchError saying why not."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as e:
        raise FetchError(f"not a valid web address: {url} ({e})") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"{parts.scheme}://" if parts.scheme else "an address without http:// or https://"
        raise FetchError(f"only http:// and https:// addresses can be fetched, not {scheme}")
    if not parts.hostname:
        raise FetchError(f"no host name in {url}")
    return url.strip()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _content_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    main, *params = header.split(";")
    charset = None
    for p in params:
        k, _, v = p.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            charset = v.strip().strip("\"'")
    return main.strip().lower(), charset


def _sniff(body: bytes) -> str:
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in head or b"<head" in head:
        return "text/html"
    return ""


def fetch(url: str, timeout: float | None = None, max_bytes: int = MAX_BYTES,
          types: tuple[str, ...] = HTML_TYPES + TEXT_TYPES, what: str = "a web page or text",
          headers: dict[str, str] | None = None) -> Page:
    """GET `url`, following redirects (http and https only); refuse what is not of `types` (HTML or
    text; `what` names them in the error), what is larger than `max_bytes` (reading stops there)
    and what takes longer than `timeout` seconds. `headers` are added to the request; with
    If-None-Match or If-Modified-Since among them, a 304 comes back as a Page of status 304."""
    import httpx

    from embeddings.env import FETCH_TIMEOUT, SettingError, seconds

    if timeout is None:
        try:
            timeout = seconds(FETCH_TIMEOUT, TIMEOUT_S) or TIMEOUT_S
        except SettingError as e:
            raise FetchError(str(e)) from None
    url = check_url(url)
    host = urlsplit(url).hostname
    deadline = time.monotonic() + timeout
    conditional = bool(headers) and any(k.lower() in ("if-none-match", "if-modified-since") for k in headers)
    headers = {
        "User-Agent": user_agent(),
        "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1",
        **(headers or {}),
    }
    try:
        client = httpx.Client(follow_redirects=True, timeout=httpx.Timeout(timeout), headers=headers, max_redirects=10)
        with client, client.stream("GET", url) as r:
            final = str(r.url)
            host = r.url.host or host
            if r.status_code >= 400:
                raise FetchError(f"HTTP {r.status_code} {r.reason_phrase or ''}".strip() + f" from {final}")
            if r.status_code == 304 and conditional:
                return Page(url=final, requested=url, content_type="", charset=None, body=b"", status=304,
                            etag=r.headers.get("etag"), last_modified=r.headers.get("last-modified"))
            if r.status_code >= 300:
                raise FetchError(f"HTTP {r.status_code} redirect without a usable Location from {final}")
            ctype, charset = _content_type(r.headers.get("content-type"))
            if ctype and ctype not in types:
                raise NotAPage(f"the server sent {ctype}, not {what} ({final})")
            validators = r.headers.get("etag"), r.headers.get("last-modified")
            declared = r.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    f"the page is {_mb(int(declared))}, more than the {_mb(max_bytes)} readout reads ({final})"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"the page is larger than the {_mb(max_bytes)} readout reads ({final})")
                if time.monotonic() > deadline:
                    raise FetchError(f"{host} took longer than {timeout:g} s to send the page")
                chunks.append(chunk)
    except FetchError:
        raise
    except httpx.TimeoutException:
        raise FetchError(f"no answer from {host} within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"too many redirects from {url}") from None
    except httpx.UnsupportedProtocol as e:
        raise FetchError(f"redirected to an address readout does not fetch (only http and https): {_first_line(e)}") from None
    except httpx.ConnectError as e:
        raise FetchError(f"cannot connect to {host} ({_first_line(e)})") from None
    except httpx.HTTPError as e:
        raise FetchError(f"cannot fetch {url} ({type(e).__name__}: {_first_line(e)})") from None
    except httpx.InvalidURL as e:
        raise FetchError(f"not a valid web address: {url} ({_first_line(e)})") from None
    body = b"".join(chunks)
    if not ctype:
        ctype = _sniff(body)
        if not ctype:
            raise FetchError(f"the server did not say what it sent, and it does not look like a web page ({final})")
    if not body.strip():
        raise FetchError(f"the page is empty ({final})")
    return Page(url=final, requested=url, content_type=ctype, charset=charset, body=body,
                etag=validators[0], last_modified=validators[1])


def _first_line(e: BaseException) -> str:
    s = str(e).strip() or type(e).__name__
    return s.splitlines()[0]


def decode_text(body: bytes, charset: str | None) -> str:
    """Plain text as the server labelled it, else UTF-8; a FetchError when it is neither."""
    for enc in [c for c in (charset, "utf-8-sig") if c]:
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    raise FetchError("the text is not UTF-8 and the server did not say which encoding it is in")
