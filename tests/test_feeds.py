"""`readout feeds add|list|remove|check` as a user runs them: the real command as a subprocess, a
local website (tests/feedsite.py) serving an RSS and an Atom feed of readout pages in the shapes
of the real sites, pages that are not readouts and a feed that answers 500, and the real model.

Model loads are two: the first check adds three readouts and updates the index, and one `ask`
checks what it indexed. The rest (a second check with nothing new, errors, the feed list) loads
no model. What a check remembers between runs is also tested in-process, against the same site.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import BUNDLED, cli_env, run_cli
from feedsite import GRAVE_TALK, Feed, Item, standard_site

RSS, ATOM, BROKEN = "/rss/whatsnew.xml", "/government/news.atom", "/broken/feed.xml"
ADDED_BY_CHECK = {
    "2025-06-03-corvenia-lutheria-summit-telephone-talk.txt",
    "2025-05-12-pm-call-with-president-anselm-of-quessa-12-may-2025.txt",
    "2025-04-22-telephone-conversation-with-president-of-brantia-ilse-varga.txt",
}


@pytest.fixture(scope="module")
def site():
    s = standard_site().start()
    yield s
    s.stop()


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    return cli_env(tmp, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)


def feeds_cli(args: list[str], corpus: Path, index: Path, env: dict[str, str], with_index: bool = True):
    where = ["--corpus", str(corpus)] + (["--index", str(index)] if with_index else [])
    return run_cli(["feeds", *args, *where], env)


@pytest.fixture(scope="module")
def checked(site, tmp_path_factory):
    """A copy of the bundled corpus following three feeds (one found through a page that links to
    it), checked once by `readout feeds check` while the third feed answers 500."""
    tmp = tmp_path_factory.mktemp("feeds")
    corpus, index = tmp / "corpus", tmp / "index"
    shutil.copytree(BUNDLED, corpus)
    env = env_for(tmp)
    added = [feeds_cli(["add", site.base + path], corpus, index, env)
             for path in ("/press/index.html", ATOM, BROKEN)]
    site.feeds[BROKEN].broken = True
    before = site.page_requests()
    result = feeds_cli(["check"], corpus, index, env)
    return {"tmp": tmp, "corpus": corpus, "index": index, "env": env, "added": added, "result": result,
            "pages": site.page_requests() - before}


@pytest.mark.e2e
def test_add_finds_the_feed_a_page_links_to_and_keeps_the_list_with_the_corpus(checked, site):
    first, atom, broken = checked["added"]
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"Found the feed {site.base}{RSS} on {site.base}/press/index.html",
        f"Following {site.base}{RSS}: What's New - Ministry of Foreign Affairs of Corvenia (2 entries)",
    ]
    assert atom.stdout.splitlines() == [f"Following {site.base}{ATOM}: News and communications - GOV.UK (3 entries)"]
    assert broken.returncode == 0 and "Traceback" not in broken.stderr
    # the list lives in the corpus folder, hidden: it is not a readout
    assert (checked["corpus"] / ".readout-feeds.json").is_file()
    listed = json.loads(run_cli(["list", "--corpus", str(checked["corpus"]), "--json"], checked["env"]).stdout)
    assert all(not r["doc"].startswith(".") for r in listed)
    again = feeds_cli(["add", site.base + RSS + "/"], checked["corpus"], checked["index"], checked["env"])
    assert again.returncode == 0 and again.stdout.startswith(f"Already following {site.base}{RSS}")


@pytest.mark.e2e
def test_check_adds_new_entries_as_readout_add_does_and_updates_the_index_once(checked, site):
    r, corpus = checked["result"], checked["corpus"]
    assert r.returncode == 0, r.stderr  # one feed failed, the others did not
    assert "Traceback" not in r.stderr
    out = r.stdout.splitlines()
    assert f"Feed {site.base}{RSS}: 2 entries, 2 new" in out
    assert (f"Added 2025-06-03-corvenia-lutheria-summit-telephone-talk.txt: Corvenia-Lutheria Summit Telephone "
            f"Talk (2025-06-03, 4 points) from {site.base}/press/2025/0603.html") in out
    assert any(line.startswith(f"Skipped {site.base}/press/consular-hours.html: not a readout (no date on the page")
               for line in out)
    # the Atom feed lists the ministry's talk again under another address: the duplicate rule holds
    assert (f"Already in the corpus: {site.base}/mirror/corvenia-lutheria-talk.html is "
            "2025-06-03-corvenia-lutheria-summit-telephone-talk.txt (same text)") in out
    assert sum(line.startswith("Added ") for line in out) == 3
    assert out[-1].startswith("Index updated: 4 readouts")
    failed = [line for line in r.stderr.splitlines() if BROKEN in line]
    assert failed == [f"readout: feed {site.base}{BROKEN} failed: HTTP 500 Internal Server Error from {site.base}{BROKEN}"]
    assert r.stderr.count("updating the index") == 1
    names = {p.name for p in corpus.iterdir()}
    assert ADDED_BY_CHECK <= names and not any(n.endswith(".tmp") for n in names)
    text = (corpus / "2025-05-12-pm-call-with-president-anselm-of-quessa-12-may-2025.txt").read_text()
    assert text.startswith(f"---\nsource: {site.base}/government/news/pm-call-with-president-anselm-of-quessa-12-may-2025\n")
    assert "\nfetched: " in text
    assert checked["pages"] == 5  # 3 readouts, the mirror and the page that is not one; each once

    a = run_cli(["ask", "--json", "--corpus", str(corpus), "--index", str(checked["index"])], checked["env"],
                input="What was said about the grain corridor across the Brant Sea?\n")
    assert a.returncode == 0, a.stderr
    assert "building the index" not in a.stderr  # the check left it up to date
    top = json.loads(a.stdout)["hits"][0]
    assert top["title"] == "Telephone conversation with President of Brantia Ilse Varga" and top["date"] == "2025-04-22"


@pytest.mark.e2e
def test_a_second_check_with_nothing_new_fetches_no_page(checked, site):
    before = site.page_requests()
    r = feeds_cli(["check", "--json"], checked["corpus"], checked["index"], checked["env"])
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["added"] == [] and report["index"] is None and report["error"] is None
    by_url = {f["url"]: f for f in report["feeds"]}
    assert by_url[site.base + RSS]["not_modified"] and by_url[site.base + ATOM]["not_modified"]
    assert by_url[site.base + BROKEN]["ok"] is False and "HTTP 500" in by_url[site.base + BROKEN]["error"]
    assert site.page_requests() == before  # no entry's page was fetched again
    assert site.statuses(RSS)[-1] == 304 and site.statuses(ATOM)[-1] == 304  # ETag, Last-Modified
    assert "updating the index" not in r.stderr


@pytest.mark.e2e
def test_list_shows_last_check_entries_seen_and_readouts_added(checked, site):
    r = feeds_cli(["list", "--json"], checked["corpus"], checked["index"], checked["env"], with_index=False)
    assert r.returncode == 0, r.stderr
    rows = {f["url"]: f for f in json.loads(r.stdout)}
    assert rows[site.base + RSS]["entries_seen"] == 2 and rows[site.base + RSS]["readouts_added"] == 1
    assert rows[site.base + ATOM]["entries_seen"] == 3 and rows[site.base + ATOM]["readouts_added"] == 2
    assert rows[site.base + ATOM]["last_result"] == "not modified"
    assert rows[site.base + BROKEN]["last_result"].startswith("failed: HTTP 500")
    assert all(f["last_check"] for f in rows.values())
    text = feeds_cli(["list"], checked["corpus"], checked["index"], checked["env"], with_index=False)
    header, *lines = text.stdout.splitlines()
    assert header.split() == ["FEED", "LAST", "CHECK", "ENTRIES", "ADDED", "RESULT"]
    assert len(lines) == 3 and lines[0].startswith(site.base + RSS)


@pytest.mark.e2e
def test_when_every_feed_fails_the_exit_status_is_1_and_remove_drops_a_feed(checked, site, tmp_path):
    corpus, index, env = tmp_path / "corpus", tmp_path / "index", env_for(tmp_path)
    shutil.copytree(BUNDLED, corpus)
    site.feeds[BROKEN].broken = False
    assert feeds_cli(["add", site.base + BROKEN], corpus, index, env).returncode == 0
    site.feeds[BROKEN].broken = True
    r = feeds_cli(["check"], corpus, index, env)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"readout: feed {site.base}{BROKEN} failed: HTTP 500 Internal Server Error from {site.base}{BROKEN}",
        "readout: error: every feed failed (1); they stay followed, and the next check tries them again",
    ]
    r = feeds_cli(["remove", site.base + BROKEN], corpus, index, env)
    assert r.returncode == 0 and r.stdout.strip() == f"No longer following {site.base}{BROKEN}: Broken"
    again = feeds_cli(["remove", site.base + BROKEN], corpus, index, env)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "follows no feed" in again.stderr and "readout feeds list" in again.stderr
    r = feeds_cli(["check"], corpus, index, env)
    assert r.returncode == 1 and r.stderr.strip() == (
        f"readout: error: {corpus} follows no feeds; follow one with: readout feeds add URL")


@pytest.mark.e2e
@pytest.mark.parametrize("url,needle", [
    ("ftp://127.0.0.1/feed.xml", "only http:// and https:// addresses"),
    ("{base}/press/consular-hours.html", "is a web page, not an RSS or Atom feed, and links to no feed"),
    ("{base}/press/2025/gone.html", "links to a feed that cannot be read"),  # its feed is gone (404)
    ("{base}/no-such-feed.xml", "HTTP 404 Not Found"),
    ("http://127.0.0.1:9/feed.xml", "cannot connect to 127.0.0.1"),
])
def test_bad_feeds_are_one_line_and_change_nothing(site, tmp_path, url, needle):
    corpus, index, env = tmp_path / "corpus", tmp_path / "index", env_for(tmp_path)
    shutil.copytree(BUNDLED, corpus)
    site.pages["/press/2025/gone.html"] = GRAVE_TALK.replace("/rss/whatsnew.xml", "/rss/gone.xml").encode()
    r = feeds_cli(["add", url.format(base=site.base)], corpus, index, env)
    assert r.returncode == 1, r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("readout: error: ") and needle in lines[0], lines
    assert not (corpus / ".readout-feeds.json").exists()


@pytest.mark.e2e
def test_a_held_lock_is_a_clear_error(site, tmp_path):
    from filelock import FileLock

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(BUNDLED, corpus)
    index.mkdir()
    with FileLock(str(index / ".lock")):
        r = feeds_cli(["add", site.base + ATOM], corpus, index, env_for(tmp_path, READOUT_LOCK_TIMEOUT="1"))
    assert r.returncode == 1
    assert r.stderr.strip() == f"readout: error: another readout process is updating {index}; try again when it has finished"
    assert not (corpus / ".readout-feeds.json").exists()


# --- what a check remembers, in-process ------------------------------------------------------------


@pytest.mark.e2e
def test_failed_pages_are_tried_again_and_pages_that_are_not_readouts_are_not(site, tmp_path, monkeypatch):
    """A page that could not be fetched keeps its feed from being answered 304 (its validators are
    not kept) and is fetched again at the next check; one that is not a readout is not."""
    from embeddings.grow import feeds

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    site.feeds["/rss/flaky.xml"] = Feed("rss", "Flaky", [
        Item("Consular office hours", "/press/consular-hours.html", "2025-06-05", guid="c1"),
        Item("A talk not online yet", "/press/2025/later.html", "2025-09-12"),
    ])
    feeds.add_feed(site.base + "/rss/flaky.xml", corpus, index)
    first = feeds.check_feeds(corpus, index).feeds[0]
    assert [n.url for n in first.failed] == [site.base + "/press/2025/later.html"]
    assert "HTTP 404" in first.failed[0].why and len(first.skipped) == 1
    assert feeds.load_feeds(corpus)[0].etag is None  # not settled: no 304 next time

    site.pages["/press/2025/later.html"] = GRAVE_TALK.encode()
    counted = dict(site.requests)
    second = feeds.check_feeds(corpus, index).feeds[0]
    assert [a.doc for a in second.added] == ["2025-09-12-corvenia-marivale-summit-telephone-talk.txt"]
    assert site.requests["/press/consular-hours.html"] == counted["/press/consular-hours.html"]  # remembered
    kept = feeds.load_feeds(corpus)[0]
    assert kept.etag and kept.entries_seen == 2 and kept.readouts_added == 1
    assert kept.entries[feeds.url_key(site.base + "/press/consular-hours.html")].status == feeds.NOT_A_READOUT

    # a readout removed from the corpus by hand is not added back by the next check
    (corpus / "2025-09-12-corvenia-marivale-summit-telephone-talk.txt").unlink()
    site.add_item("/rss/flaky.xml", Item("Consular office hours (updated)", "/press/consular-hours.html?v=2", "2025-09-13"))
    third = feeds.check_feeds(corpus, index).feeds[0]
    assert third.added == [] and third.new == 1
    assert not (corpus / "2025-09-12-corvenia-marivale-summit-telephone-talk.txt").exists()


@pytest.mark.fast
def test_a_damaged_feed_list_is_one_line_and_the_corpus_reader_never_sees_it(tmp_path):
    from embeddings.readouts.corpus import corpus_files
    from embeddings.grow.feeds import FEEDS_FILE, FeedError, load_feeds, next_check_in

    (tmp_path / "talk.txt").write_text("A-B Talk\n\nMay 3, 2022\n\n1. They talked.\n")
    (tmp_path / FEEDS_FILE).write_text("{not json")
    assert [p.name for p in corpus_files(tmp_path)] == ["talk.txt"]
    with pytest.raises(FeedError) as e:
        load_feeds(tmp_path)
    from bot.advice import explain
    from embeddings.errors import Fix

    assert "\n" not in str(e.value) and "is damaged" in str(e.value) and e.value.fix is Fix.FEEDS_FILE
    assert "readout feeds add" in explain(e.value) and "readout" not in str(e.value).replace(".readout-feeds", "")
    assert next_check_in(tmp_path, 3600) == 0.0
    (tmp_path / FEEDS_FILE).write_text(json.dumps({"version": 1, "feeds": [
        {"url": "http://x/feed", "added": "2025-01-01T00:00:00Z", "last_check": "2999-01-01T00:00:00Z"}]}))
    assert next_check_in(tmp_path, 3600) == 3600  # checked "just now": due a whole interval later


@pytest.mark.e2e
def test_a_page_two_feeds_list_is_fetched_once_and_settled_for_both(site, tmp_path, monkeypatch):
    from embeddings.grow import feeds

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    site.pages["/press/2025/shared.html"] = GRAVE_TALK.encode()
    for name in ("/rss/one.xml", "/rss/two.xml"):
        site.feeds[name] = Feed("rss", name, [Item("Shared talk", "/press/2025/shared.html", "2025-09-12")])
        feeds.add_feed(site.base + name, corpus, index)
    report = feeds.check_feeds(corpus, index)
    assert [len(f.added) for f in report.feeds] == [1, 0] and site.requests["/press/2025/shared.html"] == 1
    key = feeds.url_key(site.base + "/press/2025/shared.html")
    one, two = feeds.load_feeds(corpus)
    assert one.entries[key].status == feeds.ADDED and two.entries[key].status == feeds.IN_CORPUS
    assert two.entries[key].doc == one.entries[key].doc and one.etag and two.etag
