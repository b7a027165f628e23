"""A cold `readout ask "..."`: a new process per question, its wall time and peak memory.

    python benchmarks/cold.py [--runs 5] [--readouts 10000]

Runs, round-robin so the machine's noise hits all alike (one untimed run of each first, so the
files are in the OS page cache: "cold" is a new process, not a cold disk):

- `python -c pass` and `readout --help`: the floors (interpreter start; the CLI's imports);
- `readout ask QUESTION` on the bundled corpus, its index prebuilt (in benchmarks/.cache);
- `readout ask QUESTION` on a synthetic corpus of --readouts readouts (the index update.py caches;
  built here if missing; --readouts 0 skips it).

`readout` is the console script beside this Python; when `readout` on PATH is something else (a
pyenv shim, say) it is timed too. Wall time is measured here around the whole child process;
peak RSS is /usr/bin/time's %M when present, else getrusage(RUSAGE_CHILDREN).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, ROOT, cached_corpus, log, machine_line, median, readout_exe, table

QUESTION = "What was said about grave visits?"
GNU_TIME = "/usr/bin/time"


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one run of `cmd`."""
    if os.path.exists(GNU_TIME):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
            t = time.perf_counter()
            p = subprocess.run([GNU_TIME, "-f", "%e %M", "-o", f.name, *cmd], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t
            rss_mb = int(f.read().split()[-1]) / 1024
    else:  # the largest child so far: good enough when the first command is the smallest
        t = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with {p.returncode}: {p.stderr.strip()[-500:]}")
    return wall, rss_mb, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    ap.add_argument("--readouts", type=int, default=10000, help="size of the large synthetic corpus; 0 skips it")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--question", default=QUESTION)
    args = ap.parse_args()

    from embeddings.engine import build, stale_reason

    env = {k: v for k, v in os.environ.items() if not k.startswith(("READOUT_", "TELEGRAM_"))}
    env["HF_HUB_OFFLINE"] = "1"
    bundled, bundled_index = ROOT / "corpus", CACHE / "bundled-index"
    if stale_reason(bundled, bundled_index, None):
        log(f"building the bundled corpus's index in {bundled_index} (untimed)")
    build(bundled, bundled_index, export_queries=True)  # as `readout index`: with the question encoder
    exe = readout_exe()
    cmds: list[tuple[str, str, list[str]]] = [
        ("python -c pass", "", [sys.executable, "-c", "pass"]),
        ("readout --help", "", [*exe, "--help"]),
        ("readout ask", "bundled (1 readout)", [*exe, "ask", args.question, "--corpus", str(bundled), "--index", str(bundled_index)]),
    ]
    shim = shutil.which("readout")
    if shim and Path(shim).resolve() != Path(exe[0]).resolve() and len(exe) == 1:
        cmds.append((f"readout ask via PATH ({shim})", "bundled (1 readout)",
                     [shim, "ask", args.question, "--corpus", str(bundled), "--index", str(bundled_index)]))
    if args.readouts:
        corpus, index = cached_corpus(args.readouts, args.seed, "generated")
        from embeddings.index.store import read_manifest

        m = read_manifest(index)
        cmds.append(("readout ask", f"synthetic ({m.readouts:,} readouts, {m.points:,} points, {m.units:,} vectors, "
                                    f"{m.settings.get('faiss')})",
                     [*exe, "ask", args.question, "--corpus", str(corpus), "--index", str(index)]))

    walls: dict[int, list[float]] = {i: [] for i in range(len(cmds))}
    rss: dict[int, list[float]] = {i: [] for i in range(len(cmds))}
    for i, (name, where, cmd) in enumerate(cmds):
        _, _, out = run_once(cmd, env)  # untimed: page cache, .pyc files
        if "ask" in cmd and "[1]" not in out:
            raise SystemExit(f"{name} on {where} gave no answer:\n{out}")
    for r in range(args.runs):
        for i, (name, where, cmd) in enumerate(cmds):
            w, m, _ = run_once(cmd, env)
            walls[i].append(w)
            rss[i].append(m)
        log(f"  run {r + 1}: " + ", ".join(f"{walls[i][-1]:.2f} s" for i in range(len(cmds))))

    rows = []
    for i, (name, where, _) in enumerate(cmds):
        target = "≤ 0.5 s, ≤ 200 MB" if name == "readout ask" and where.startswith("bundled") else ""
        rows.append([name, where or "-", f"{median(walls[i]):.2f}", f"{min(walls[i]):.2f}", f"{max(walls[i]):.2f}",
                     f"{median(rss[i]):.0f}", target])
    print(f"### Cold start: a new process per question (median of {args.runs} runs)\n")
    print(table(["command", "corpus", "wall s (median)", "min s", "max s", "peak RSS MB", "target"], rows))
    print(f"\nQuestion: \"{args.question}\". Runs interleaved; page cache warm (one untimed run each first). "
          f"Peak RSS from {'/usr/bin/time %M' if os.path.exists(GNU_TIME) else 'getrusage(RUSAGE_CHILDREN)'}.")
    print(machine_line())


if __name__ == "__main__":
    main()
