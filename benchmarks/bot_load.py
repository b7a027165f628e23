"""The Telegram bot under load: the real `readout telegram` process against the local Bot API.

    python benchmarks/bot_load.py [--chats 50] [--questions-per-chat 20] [--mode closed|burst]
                                  [--points 100000] [--flood-limit on|off|both] [--max-rate N]
                                  [--profile PATH]

For each corpus (the bundled one, and a synthetic one of --points points; --points 0 skips it)
it starts `readout telegram` as a subprocess pointed at tests/botapi's FakeBotAPI (the strict local
stand-in for Telegram the tests use), with READOUT_RATE_LIMIT=0, waits until it polls, and has
--chats private chats ask --questions-per-chat questions each:

- closed (default): every chat asks its first question at once, then each chat asks its next
  question as soon as its previous answer arrives (50 users who read fast);
- burst: every question of every chat is queued at once.

Latency is from the moment the update is queued at the Bot API to the bot's sendMessage call
arriving there (`Sent.at`), so it includes the bot's long poll. Answers per second are answers
over the time from the first question to the last answer. The bot's memory is read from
/proc/PID/status: VmRSS when idle after start-up and after the load, VmHWM (peak).

--flood-limit: by default the bot paces its messages to Telegram's broadcast limit of 30 a second
overall (READOUT_MAX_RATE, default 30), which caps answers per second whatever the engine can do.
`off` starts the bot with READOUT_MAX_RATE=0 (no pacing; a 429 would still be waited out), to
show what the engine and the bot do without it; `both` runs both. --max-rate N runs with
READOUT_MAX_RATE=N instead of 30 for `on`.

--profile PATH runs the bot under cProfile (its event-loop thread: PTB, HTTP, handlers, rendering;
not the encode thread) and writes the stats to PATH.<label>.prof (read them with `python -m pstats`).
The load driver and the local Bot API server run in this process, on the same cores as the bot;
'driver CPU ms/answer' is this process's CPU over the answers.

The synthetic corpus's index is built once by engine.build and cached (benchmarks/.cache): with
--vectors generated (default) the model is replaced by hash-derived vectors for that build (the
model would take hours for ~400k texts on a small shared CPU; memory and search cost depend on the
number of vectors, not their values); --vectors model encodes them with the model.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import (
    CACHE,
    QUESTIONS,
    ROOT,
    cached_corpus,
    log,
    machine_line,
    percentile,
    table,
)

TOKEN = "7012345678:AAF-bench_token_for_the_local_bot_api_Xy9"
USERNAME = "readout_bench_bot"
FIRST_CHAT = 6_000_001
PROFILED = """
import cProfile, sys
path = sys.argv.pop(1)
sys.argv[0] = "readout"
from bot.cli import main
prof = cProfile.Profile()
prof.enable()
try:
    main()
finally:
    prof.disable()
    prof.dump_stats(path)
"""


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of `pid`, in MB, and VmRSS's parts: RssAnon (the process's own memory) and
    RssFile (pages of mapped files, above all the index's vectors: shared with the page cache, and
    given back under memory pressure)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out


def top_mappings(pid: int, n: int = 8) -> str:
    """The largest resident parts of `pid` (from /proc/PID/smaps): which files, and how much of
    the process's own memory (heap and anonymous maps), so that an RSS figure can be explained."""
    sizes: dict[str, int] = {}
    name = "?"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and not parts[0].endswith(":"):
            name = parts[5] if len(parts) > 5 else "[anon]"
            name = name.rsplit("/", 2)[-1] if name.startswith("/") else name
        elif parts and parts[0] == "Rss:":
            sizes[name] = sizes.get(name, 0) + int(parts[1])
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v / 1024:.0f}" for k, v in top)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def readout_cmd(profile: Path | None) -> list[str]:
    if profile is not None:
        return [sys.executable, "-c", PROFILED, str(profile)]
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'readout'; from bot.cli import main; main()"]


def run_load(corpus: Path, index: Path, label: str, flood_limit: bool, args) -> list[object]:
    from botapi import FakeBotAPI, stop

    api = FakeBotAPI(TOKEN, username=USERNAME)
    api.start()
    tmp = Path(tempfile.mkdtemp(prefix="readout-bench-bot-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READOUT_", "TELEGRAM_"))}
    env.update({"TELEGRAM_API_URL": api.base_url, "TELEGRAM_BOT_TOKEN": TOKEN, "READOUT_RATE_LIMIT": "0",
                "READOUT_MAX_RATE": str(args.max_rate if flood_limit else 0),
                # the bot runs this tree's code, whatever the installed package points at
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "XDG_CACHE_HOME": str(tmp / "cache")})
    # its own cache, but with the question encoder a build with the model leaves in the user's
    from embeddings.model.encoder import Encoder

    exported = Encoder().exports
    if exported.is_dir():
        (tmp / "cache" / "readout" / "query-encoders").mkdir(parents=True)
        (tmp / "cache" / "readout" / "query-encoders" / exported.name).symlink_to(exported)
    err = open(tmp / "stderr.txt", "wb")
    t_start = time.monotonic()
    profile = None
    if args.profile:
        profile = Path(f"{args.profile}.{'bundled' if corpus == ROOT / 'corpus' else 'synthetic'}-"
                       f"{'on' if flood_limit else 'off'}.prof").resolve()
    proc = subprocess.Popen([*readout_cmd(profile), "telegram", "--corpus", str(corpus), "--index", str(index)],
                            env=env, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, cwd=tmp)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise SystemExit(f"the bot exited with {proc.returncode}: {(tmp / 'stderr.txt').read_text()[-2000:]}")
            # the bot registers its commands once the engine is loaded, then polls (a getUpdates
            # call is recorded when it returns, up to a long poll later: not part of start-up)
            return any(c.method == "setmycommands" for c in api.calls)

        api.wait_for(ready, 600, "the bot to register its commands")
        startup = time.monotonic() - t_start
        idle = proc_status(proc.pid)
        log(f"  {label}: idle, resident MB by mapping: {top_mappings(proc.pid)}")
        # warm up: a few questions from a chat of its own, one after another
        for q in QUESTIONS[:3]:
            api.send_text(FIRST_CHAT - 1, q)
        api.wait_messages(FIRST_CHAT - 1, 3, timeout=120)
        log(f"  {label}: bot ready in {startup:.1f} s, idle RSS {idle['VmRSS']:.0f} MB; "
            f"{args.chats} chats x {args.questions_per_chat} questions ({args.mode})")

        chats = list(range(FIRST_CHAT, FIRST_CHAT + args.chats))
        n_q = args.questions_per_chat
        asked = {c: [] for c in chats}  # enqueue times, in order

        def ask(c: int) -> None:
            k = len(asked[c])
            q = QUESTIONS[(c + k) % len(QUESTIONS)]
            asked[c].append(time.monotonic())
            api.send_text(c, q)

        with api.cond:
            seen = len(api.sent)
            calls0 = len(api.calls)
        cpu0 = proc_cpu(proc.pid)
        driver0 = proc_cpu(os.getpid())
        t0 = time.monotonic()
        if args.mode == "burst":
            for _ in range(n_q):
                for c in chats:
                    ask(c)
        else:
            for c in chats:
                ask(c)
        answered = {c: [] for c in chats}  # Sent.at of answers, in order
        total = len(chats) * n_q
        got = 0
        deadline = time.monotonic() + args.timeout
        chat_set = set(chats)
        while got < total:
            with api.cond:
                while len(api.sent) == seen:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"timed out: {got} of {total} answers after {args.timeout} s")
                    api.cond.wait(0.5)
                new, seen = api.sent[seen:], len(api.sent)
            for s in new:
                if s.method != "sendMessage" or s.chat_id not in chat_set:
                    continue
                answered[s.chat_id].append(s.at)
                got += 1
                if args.mode == "closed" and len(asked[s.chat_id]) < n_q:
                    ask(s.chat_id)
        t_end = max(max(v) for v in answered.values())
        lat = [a - q for c in chats for q, a in zip(asked[c], answered[c])]
        cpu = proc_cpu(proc.pid) - cpu0
        driver = proc_cpu(os.getpid()) - driver0
        after = proc_status(proc.pid)
        with api.cond:
            typing = sum(1 for c, _ in api.chat_actions if c in chat_set)
            rejected = len(api.rejections)
            methods = Counter(c.method for c in api.calls[calls0:])
        wall = t_end - t0
        log(f"  {label}: {total} answers in {wall:.1f} s; p50 {percentile(lat, 50) * 1e3:.0f} ms, "
            f"p99 {percentile(lat, 99) * 1e3:.0f} ms; bot CPU {cpu:.1f} s; RSS {after['VmRSS']:.0f} MB, peak {after['VmHWM']:.0f} MB")
        log(f"  {label}: resident MB by mapping: {top_mappings(proc.pid)}")
        log(f"  {label}: Bot API calls per answer: "
            + ", ".join(f"{m} {n / total:.2f}" for m, n in methods.most_common()))
        return [label, f"{args.max_rate:g}/s" if flood_limit else "off", total, f"{total / wall:.1f}", f"{percentile(lat, 50) * 1e3:.0f}",
                f"{percentile(lat, 99) * 1e3:.0f}", f"{max(lat) * 1e3:.0f}", f"{cpu / total * 1e3:.1f}",
                f"{driver / total * 1e3:.1f}", typing, rejected,
                f"{idle['VmRSS']:.0f}", f"{after['VmRSS']:.0f}", f"{after['RssAnon']:.0f} / {after['RssFile']:.0f}",
                f"{after['VmHWM']:.0f}", f"{startup:.1f}"]
    finally:
        stop(proc, timeout=30)
        err.close()
        lines = (tmp / "stderr.txt").read_text(errors="replace").splitlines()
        if lines:
            log(f"  the bot's stderr ({len(lines)} lines), last ones:")
            for line in lines[-args.log_lines:]:
                log(f"    {line[:300]}")
        api.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--chats", type=int, default=50)
    ap.add_argument("--questions-per-chat", type=int, default=20)
    ap.add_argument("--mode", choices=["closed", "burst"], default="closed")
    ap.add_argument("--points", type=int, default=100000, help="points in the large synthetic corpus (0 skips it)")
    ap.add_argument("--vectors", choices=["generated", "model"], default="generated")
    ap.add_argument("--compact", choices=["fp16", "sq8", "sq4"], default=None, help="build the large index compacted")
    ap.add_argument("--flood-limit", choices=["on", "off", "both"], default="both")
    ap.add_argument("--max-rate", type=float, default=30, help="READOUT_MAX_RATE for --flood-limit on")
    ap.add_argument("--profile", metavar="PATH", default=None, help="cProfile the bot into PATH.<run>.prof")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-lines", type=int, default=5, help="lines of the bot's stderr to show (on stderr)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds to wait for all answers")
    args = ap.parse_args()

    from embeddings.engine import build, stale_reason

    corpora = []
    bundled_index = CACHE / "bundled-index"
    if stale_reason(ROOT / "corpus", bundled_index, None):
        log(f"building the bundled corpus's index in {bundled_index}")
    build(ROOT / "corpus", bundled_index, export_queries=True)  # as `readout index`: with the question encoder
    corpora.append((ROOT / "corpus", bundled_index, "bundled (1 readout, 7 points)"))
    if args.points:
        n_readouts = -(-args.points // 6)
        corpus, index = cached_corpus(n_readouts, args.seed, args.vectors, args.compact)
        from embeddings.index.store import read_manifest

        m = read_manifest(index)
        corpora.append((corpus, index, f"synthetic ({m.readouts:,} readouts, {m.points:,} points, {m.units:,} "
                                       f"vectors, {m.settings.get('faiss')}, {args.vectors} vectors)"))
    floods = {"on": [True], "off": [False], "both": [True, False]}[args.flood_limit]
    rows = []
    for corpus, index, label in corpora:
        for flood in floods:
            rows.append(run_load(corpus, index, label, flood, args))
    print(f"### Telegram bot under load: {args.chats} chats x {args.questions_per_chat} questions, "
          f"{'each chat asks its next question when its answer arrives' if args.mode == 'closed' else 'all questions queued at once'}\n")
    print(table(["corpus", "flood limit", "answers", "answers/s", "p50 ms", "p99 ms", "max ms", "bot CPU ms/answer", "driver CPU ms/answer", "typing…",
                 "refused by API", "RSS idle MB", "RSS after MB", "after: anon / file MB", "peak RSS MB", "start-up s"], rows))
    print("\nLatency: update queued at the Bot API → the bot's sendMessage arrives there. 'typing…': sendChatAction "
          "calls (the bot sends one when an answer takes over 0.7 s and no more than a batch of questions is waiting). "
          "'bot CPU ms/answer': the bot process's CPU time during the load over the answers (its threads share one "
          "GIL and use about one core, so about 1000 / that bounds answers/s). Targets: ≥ 50 answers/s, p99 < 1 s, "
          "RSS < 400 MB at 100k points (met with --compact sq4; float32 vectors and their HNSW graph, the default, "
          "take about 1 GB). 'anon / file': the RSS after the load split into the process's own "
          "memory and pages of mapped files (the index's vectors, shared with the page cache and given back under "
          "memory pressure).")
    print(machine_line())


if __name__ == "__main__":
    main()
