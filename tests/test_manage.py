"""`readout add`, `readout remove`, `readout list` as a user runs them: the real command as a
subprocess, pages served from a local HTTP server, a copy of the bundled corpus, the real model.

Model loads are few: one `add` of four readouts at once, two `add`s racing each other, one
`remove`, one `ask` that checks everything. Errors and duplicates never load the model (nothing
to index), and extraction and fetching are also tested in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import BUNDLED, cli_env, readout_exe, run_cli

HTML = Path(__file__).resolve().parent / "fixtures" / "html"
PAGES = {"/mofa": "mofa.html", "/govuk": "govuk.html", "/kremlin": "kremlin.html",
         "/subheadings": "subheadings.html", "/about": "about.html", "/nav-only": "nav_only.html"}
HUGE = 50 * 1024 * 1024

PLAIN_READOUT = """Estmark-Ostrava Foreign Ministers' Telephone Call

April 4, 2024

On April 4, Foreign Minister Lena Sorensen of Estmark held a telephone call with Foreign Minister Pavel Dusek of Ostrava.

1. The two ministers welcomed the reopening of the Halden border crossing to freight traffic.
2. Foreign Minister Sorensen proposed a joint task force on wildfire prevention in the border forests.
3. The two ministers agreed to meet in Kesten in June.
"""

TEXT_FILE = """---
title: Ostrava-Valdoria Leaders' Video Conference
date: 2023-11-30
---
On November 30, Chancellor Mirela Brenner of Ostrava and Prime Minister TAKAMURA Ren of Valdoria held a video conference.

- The two leaders launched a joint research programme on tidal energy.
- Chancellor Brenner invited Prime Minister Takamura to the opening of the Kesten opera house.
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # bodies without Content-Length end when the connection closes

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, ctype: str, body: bytes, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, declare_length: bool) -> None:
        """50 MB of paragraphs, written chunk by chunk until the client hangs up."""
        chunk = b"<p>" + b"filler text " * 5000 + b"</p>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if declare_length:
            self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        sent = 0
        try:
            while sent < HUGE:
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.server.huge_sent = sent

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.user_agents.append(self.headers.get("User-Agent"))
        if path in PAGES:
            self._send(200, "text/html; charset=utf-8", (HTML / PAGES[path]).read_bytes())
        elif path == "/plain.txt":
            self._send(200, "text/plain; charset=utf-8", PLAIN_READOUT.encode())
        elif path == "/logo.png":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
        elif path == "/huge":
            self._stream(declare_length=True)
        elif path == "/huge-unsized":
            self._stream(declare_length=False)
        elif path == "/slow":
            time.sleep(3)
            self._send(200, "text/html; charset=utf-8", (HTML / "mofa.html").read_bytes())
        elif path == "/to-ftp":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/readout.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, "text/html; charset=utf-8", b"<html><body><h1>Not Found</h1></body></html>")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.user_agents = []
    httpd.huge_sent = 0
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    return cli_env(tmp, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)


def snapshot(corpus: Path, index: Path) -> dict:
    """Everything a failed command must leave as it was."""
    files = {p.relative_to(corpus).as_posix(): p.read_bytes() for p in sorted(corpus.rglob("*")) if p.is_file()}
    current = index / "current"
    return {"corpus": files, "index": sorted(os.listdir(index)) if index.exists() else None,
            "current": os.readlink(current) if current.is_symlink() else None}


def list_json(corpus: Path, env: dict) -> list[dict]:
    r = run_cli(["list", "--corpus", str(corpus), "--json"], env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def by_title(rows: list[dict]) -> dict[str, dict]:
    return {r["title"]: r for r in rows}


# --- extraction and fetching, in-process -----------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("name,title,date,numbers,first,junk", [
    ("mofa.html", "Valdoria-Estmark Summit Telephone Talk", "2023-03-14", [1, 2, 3, 4, 5, 6],
     "Prime Minister Takamura congratulated", ["Back to", "Page Top", "Site Policy", "Related Information", "Basic Data"]),
    ("govuk.html", "PM call with Chancellor Brenner of Ostrava: 2 May 2024", "2024-05-02", [None] * 7,
     "Prime Minister Ellis Hart spoke", ["Cookies", "Crown copyright", "Is this page useful", "Share this page", "Benefits"]),
    ("kremlin.html", "Telephone conversation with President of Norvania Dario Vance", "2022-06-20", [None] * 5,
     "Vladimir Putin had a telephone conversation", ["Publication status", "Direct link", "Creative Commons", "Transcripts"]),
    ("subheadings.html", "Norvania-Valdoria Summit Meeting", "2025-09-09", [1, 2, 3, 4],
     "Economy\nPresident Vance welcomed", ["Back to News", "Follow us", "All rights reserved"]),
])
def test_pages_become_readouts_with_title_date_and_numbered_points(name, title, date, numbers, first, junk):
    from embeddings.grow.extract import from_html

    d = from_html((HTML / name).read_bytes())
    assert d.title == title
    assert d.date.isoformat() == date
    points = [p for p in d.readout.points if not p.preamble]
    assert [p.number for p in points] == numbers
    assert points[0].text.startswith(first)
    assert d.content.startswith("---\n") and f"\ndate: {date}\n" in d.content
    for j in junk:
        assert j not in d.content, j
    if name == "subheadings.html":  # bullets under a numbered sub-heading stay with it
        assert "Both sides will share the costs equally." in points[1].text


@pytest.mark.fast
def test_ordered_lists_keep_their_numbers_and_nested_lists_stay_inside():
    from embeddings.grow.extract import from_html

    html = """<html><head><title>A-B Talk | Ministry</title></head><body><div id="main"><h1>A-B Talk</h1>
    <p>[Provisional Translation]</p><p>May 3, 2022</p>
    <p>On May 3, Prime Minister <b>Aldo</b> held a talk with President Berra. An overview is as follows.</p>
    <ol><li><p>Prime Minister Aldo stated that snake_case *matters* [a lot] to the talks here.</p></li>
    <li>The two leaders discussed trade.<ol><li>Tariffs on cheese were raised.</li><li>Quotas on wine were raised.</li></ol></li>
    <li value="3">President Berra invited Prime Minister Aldo to visit.</li></ol></div></body></html>"""
    d = from_html(html)
    points = [p for p in d.readout.points if not p.preamble]
    assert [p.number for p in points] == [1, 2, 3]
    assert points[0].text == "Prime Minister Aldo stated that snake_case *matters* [a lot] to the talks here."
    assert "(1) Tariffs on cheese" in points[1].text and "(2) Quotas on wine" in points[1].text
    assert "\\" not in d.content and "**" not in d.content


@pytest.mark.e2e
@pytest.mark.parametrize("name,reason", [("about.html", "no date"), ("nav_only.html", "too little text")])
def test_pages_that_are_not_readouts_are_refused(name, reason):
    from embeddings.grow.extract import ExtractError, from_html

    with pytest.raises(ExtractError, match=reason) as e:
        from_html((HTML / name).read_bytes())
    assert "\n" not in str(e.value)


@pytest.mark.e2e
@pytest.mark.parametrize("path,needle", [
    ("/missing", "HTTP 404 Not Found"),
    ("/logo.png", "the server sent image/png, not a web page"),
    ("/huge", "the page is 50 MB, more than the 5 MB"),
    ("/huge-unsized", "larger than the 5 MB"),
    ("/to-ftp", "only http and https"),
])
def test_fetch_errors_are_one_line(server, path, needle):
    from embeddings.grow.fetch import FetchError, fetch

    server.huge_sent = None
    with pytest.raises(FetchError) as e:
        fetch(server.base + path)
    assert needle in str(e.value) and "\n" not in str(e.value)
    if path.startswith("/huge"):  # the 50 MB bodies are not read to the end: the server was cut off
        deadline = time.monotonic() + 60
        while server.huge_sent is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.huge_sent is not None and server.huge_sent < HUGE


@pytest.mark.e2e
def test_fetch_time_limit_scheme_and_user_agent(server):
    from embeddings.grow.fetch import FetchError, fetch

    with pytest.raises(FetchError, match=r"no answer from 127\.0\.0\.1 within 1 s"):
        fetch(server.base + "/slow", timeout=1)
    with pytest.raises(FetchError, match="only http:// and https://"):
        fetch("file:///etc/passwd")
    page = fetch(server.base + "/mofa")
    assert page.is_html and page.charset == "utf-8" and b"Skarv Island" in page.body
    assert server.user_agents[-1].startswith("readout/")


# --- the commands ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def added(server, tmp_path_factory):
    """A copy of the bundled corpus to which one `readout add` added four readouts: two pages by
    URL, a saved page and a text file."""
    tmp = tmp_path_factory.mktemp("manage")
    corpus, index = tmp / "corpus", tmp / "index"
    shutil.copytree(BUNDLED, corpus)
    text_file = tmp / "video-conference.txt"
    text_file.write_text(TEXT_FILE)
    env = env_for(tmp)
    r = run_cli(["add", f"{server.base}/mofa", f"{server.base}/govuk", str(HTML / "subheadings.html"), str(text_file),
                 "--corpus", str(corpus), "--index", str(index)], env)
    return {"tmp": tmp, "corpus": corpus, "index": index, "env": env, "result": r}


@pytest.mark.e2e
def test_add_writes_readable_files_and_updates_the_index(added):
    r, corpus = added["result"], added["corpus"]
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    names = sorted(p.name for p in corpus.iterdir())
    assert names == [
        "000_f357f723c89b56b9.txt",
        "2023-03-14-valdoria-estmark-summit-telephone-talk.txt",
        "2023-11-30-ostrava-valdoria-leaders-video-conference.txt",
        "2024-05-02-pm-call-with-chancellor-brenner-of-ostrava-2-may-2024.txt",
        "2025-09-09-norvania-valdoria-summit-meeting.txt",
    ]
    lines = r.stdout.splitlines()
    assert "Added 2023-03-14-valdoria-estmark-summit-telephone-talk.txt: Valdoria-Estmark Summit Telephone Talk (2023-03-14, 6 points)" in lines
    assert sum(l.startswith("Added ") for l in lines) == 4
    assert lines[-1].startswith("Index updated: 5 readouts")
    mofa = (corpus / "2023-03-14-valdoria-estmark-summit-telephone-talk.txt").read_text()
    assert mofa.startswith("---\nsource: http://127.0.0.1:")
    assert "\nfetched: " in mofa and "\n1. Prime Minister Takamura congratulated" in mofa
    copied = (corpus / "2023-11-30-ostrava-valdoria-leaders-video-conference.txt").read_text()
    assert copied.startswith("---\ntitle: Ostrava-Valdoria Leaders' Video Conference\ndate: 2023-11-30\n---\n")
    assert not any(p.name.startswith(".") for p in corpus.iterdir())  # no temporary files left


@pytest.mark.e2e
def test_list_shows_date_title_points_and_source_newest_first(added, server):
    rows = list_json(added["corpus"], added["env"])
    assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    t = by_title(rows)
    assert t["Valdoria-Estmark Summit Telephone Talk"] == {
        "doc": "2023-03-14-valdoria-estmark-summit-telephone-talk.txt", "title": "Valdoria-Estmark Summit Telephone Talk",
        "date": "2023-03-14", "points": 6, "preamble": True, "source": f"{server.base}/mofa"}
    assert t["PM call with Chancellor Brenner of Ostrava: 2 May 2024"]["points"] == 7
    assert t["Norvania-Valdoria Summit Meeting"]["points"] == 4
    assert t["Norvania-Valdoria Summit Meeting"]["source"] is None  # a saved page without a canonical address
    assert t["Ostrava-Valdoria Leaders' Video Conference"]["points"] == 2
    assert t["Japan-Russia Relations"]["date"] == "2021-10-07"

    r = run_cli(["list", "--corpus", str(added["corpus"])], added["env"])
    assert r.returncode == 0
    first = r.stdout.splitlines()[1]
    assert first.startswith("2025-09-09") and "Norvania-Valdoria Summit Meeting" in first


@pytest.mark.e2e
def test_a_readout_already_in_the_corpus_is_not_added_twice(added, server):
    corpus, index, env = added["corpus"], added["index"], added["env"]
    before = snapshot(corpus, index)
    # the same address (with a trailing slash: not even fetched), and the same page saved to a
    # file: its canonical address is another, but its text is the same
    r = run_cli(["add", f"{server.base}/mofa/", str(HTML / "mofa.html"), "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"Already in the corpus: {server.base}/mofa/ is 2023-03-14-valdoria-estmark-summit-telephone-talk.txt (same source)",
        f"Already in the corpus: {HTML / 'mofa.html'} is 2023-03-14-valdoria-estmark-summit-telephone-talk.txt (same text)",
    ]
    assert "updating the index" not in r.stderr
    assert snapshot(corpus, index) == before


@pytest.mark.e2e
@pytest.mark.parametrize("sources,needle", [
    (["{base}/missing"], "cannot add {base}/missing: HTTP 404 Not Found"),
    (["{base}/logo.png"], "the server sent image/png, not a web page"),
    (["{base}/huge"], "the page is 50 MB, more than the 5 MB readout reads"),
    (["{base}/huge-unsized"], "the page is larger than the 5 MB readout reads"),
    (["{base}/about"], "no date on the page"),
    (["{base}/nav-only"], "too little text on the page"),
    (["ftp://127.0.0.1/readout.html"], "only http:// and https:// addresses"),
    (["{html}/no-such-page.html"], "no such file"),
    (["{html}/../../test_manage.py"], "only web addresses (http, https), saved pages (.html, .htm) and readout texts"),
    (["{base}/kremlin", "{base}/missing"], "HTTP 404 Not Found from {base}/missing; nothing was added"),
])
def test_errors_are_one_line_and_change_nothing(added, server, sources, needle):
    corpus, index, env = added["corpus"], added["index"], added["env"]
    before = snapshot(corpus, index)
    args = [s.format(base=server.base, html=HTML) for s in sources]
    r = run_cli(["add", *args, "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("readout: error: ") and needle.format(base=server.base) in lines[0], lines[0]
    assert r.stdout == ""
    assert snapshot(corpus, index) == before


@pytest.mark.e2e
def test_remove_errors_are_one_line_and_change_nothing(added):
    corpus, index, env = added["corpus"], added["index"], added["env"]
    before = snapshot(corpus, index)
    for doc, needle in [("no-such.txt", "no readout no-such.txt in"), ("../index/.lock", "no readout"),
                        ("talks.jsonl#r1", "one readout inside talks.jsonl")]:
        r = run_cli(["remove", doc, "--corpus", str(corpus), "--index", str(index)], env)
        assert r.returncode == 1
        assert r.stderr.startswith("readout: error: ") and needle in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert snapshot(corpus, index) == before


@pytest.mark.e2e
def test_a_held_lock_is_a_clear_error_and_changes_nothing(added, server):
    from filelock import FileLock

    corpus, index = added["corpus"], added["index"]
    before = snapshot(corpus, index)
    env = env_for(added["tmp"], READOUT_LOCK_TIMEOUT="1")
    with FileLock(str(index / ".lock")):
        r = run_cli(["add", f"{server.base}/kremlin", "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 1
    assert r.stderr.strip() == f"readout: error: another readout process is updating {index}; try again when it has finished"
    assert snapshot(corpus, index) == before


@pytest.mark.e2e
def test_no_index_writes_the_file_only_and_url_names_the_source(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(BUNDLED, corpus)
    talk = tmp_path / "talk.md"
    talk.write_text(PLAIN_READOUT.replace("Estmark-Ostrava Foreign Ministers' Telephone Call", "# Estmark-Ostrava Call"))
    unreachable = "http://127.0.0.1:9/estmark-ostrava-call"  # nothing listens there
    env = env_for(tmp_path)
    r = run_cli(["add", str(talk), "--url", unreachable, "--no-index", "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Added 2024-04-04-estmark-ostrava-call.txt: Estmark-Ostrava Call (2024-04-04, 3 points)\n"
    text = (corpus / "2024-04-04-estmark-ostrava-call.txt").read_text()
    assert text.startswith(f"---\nsource: {unreachable}\ntitle: Estmark-Ostrava Call\ndate: 2024-04-04\n---\n# Estmark-Ostrava Call\n")
    assert not (index / "current").exists()
    # an address the corpus already has is not fetched again
    r = run_cli(["add", unreachable + "/", "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Already in the corpus: {unreachable}/ is 2024-04-04-estmark-ostrava-call.txt (same source)\n"
    r = run_cli(["add", "a.txt", "b.txt", "--url", unreachable, "--corpus", str(corpus)], env)
    assert r.returncode == 2 and "give exactly one SOURCE" in r.stderr


@pytest.mark.e2e
def test_when_the_index_cannot_be_updated_the_file_stays_and_the_error_says_so(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "notes"
    shutil.copytree(BUNDLED, corpus)
    index.mkdir()
    (index / "notes.txt").write_text("my notes")
    r = run_cli(["add", str(HTML / "kremlin.html"), "--corpus", str(corpus), "--index", str(index)], env_for(tmp_path))
    assert r.returncode == 1
    name = "2022-06-20-telephone-conversation-with-president-of-norvania-dario.txt"
    assert r.stdout.startswith(f"Added {name}: ")
    error = r.stderr.splitlines()[-1]
    assert error.startswith(f"readout: error: added {name} to {corpus}, but could not update the index: ")
    assert "not a readout index folder" in error
    assert (corpus / name).exists() and (index / "notes.txt").read_text() == "my notes"


@pytest.mark.e2e
def test_two_adds_at_once_then_remove_then_ask(added, server, tmp_path):
    """Two `add`s racing for the same corpus and index both land; `remove` takes a readout out;
    the index then answers from exactly the files in the corpus."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(added["corpus"], corpus)
    shutil.copytree(added["index"], index, symlinks=True)
    env = env_for(tmp_path)
    procs = [subprocess.Popen(readout_exe() + ["add", url, "--corpus", str(corpus), "--index", str(index)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for url in (f"{server.base}/kremlin", f"{server.base}/plain.txt")]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.startswith("Added ") and "Index updated: " in out
    t = by_title(list_json(corpus, env))
    assert t["Telephone conversation with President of Norvania Dario Vance"]["date"] == "2022-06-20"
    assert t["Telephone conversation with President of Norvania Dario Vance"]["points"] == 5
    assert t["Estmark-Ostrava Foreign Ministers' Telephone Call"]["points"] == 3
    assert t["Estmark-Ostrava Foreign Ministers' Telephone Call"]["source"] == f"{server.base}/plain.txt"

    govuk = t["PM call with Chancellor Brenner of Ostrava: 2 May 2024"]["doc"]
    r = run_cli(["remove", govuk, "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"Removed {govuk}: PM call with Chancellor Brenner of Ostrava: 2 May 2024 (2024-05-02)"
    assert not (corpus / govuk).exists()
    assert len(list_json(corpus, env)) == 6

    questions = {
        "Were the lighthouse keepers detained on Skarv Island discussed?": ("Valdoria-Estmark Summit Telephone Talk", 4),
        "What was agreed about an undersea power cable?": ("Norvania-Valdoria Summit Meeting", 2),
        "What did they say about the grain terminal?": ("Telephone conversation with President of Norvania Dario Vance", None),
        "Who proposed a task force on wildfire prevention?": ("Estmark-Ostrava Foreign Ministers' Telephone Call", 2),
        "tidal energy research programme": ("Ostrava-Valdoria Leaders' Video Conference", None),
    }
    r = run_cli(["ask", "--json", "-k", "3", "--corpus", str(corpus), "--index", str(index)], env,
                input="\n".join([*questions, "the rail bridge at Kesten swept away by the flood"]) + "\n")
    assert r.returncode == 0, r.stderr
    assert "building the index" not in r.stderr  # add and remove left it up to date
    answers = [json.loads(l) for l in r.stdout.splitlines()]
    for a, (title, point) in zip(answers, questions.values()):
        top = a["hits"][0]
        assert (top["title"], top["point"]) == (title, point), (a["question"], top)
    assert top["date"] and top["doc"].endswith(".txt")
    assert all(h["doc"] != govuk for h in answers[-1]["hits"])  # removed from the index too
