"""`readout timeline TOPIC` from a new process: wall time without and with `--chart`.

    python benchmarks/timeline.py [--runs 5] [--topic "grave visits"]

The corpus is ../shared/readouts plus the bundled corpus/ (60 readouts), copied into
benchmarks/.cache/timeline-corpus and indexed once there (untimed). Each command runs once untimed
(files in the page cache, the question encoder exported), then --runs times round-robin, a new
process each time; the table gives medians and the slowest run. Floors beside them: `python -c
pass` and `readout ask` of the same topic. The target is "well under 2 s" for the timeline
without a chart; this script reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, SHARED, log, machine_line, median, readout_exe, real_corpus, table


def corpus() -> Path:
    if not (SHARED / "readouts").is_dir():
        sys.exit("benchmarks/timeline.py needs ../shared/readouts beside the checkout")
    return real_corpus("timeline-corpus")


def run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--topic", default="grave visits")
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("READOUT_")}
    env.update({"HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(CACHE / "timeline-xdg"), "PYTHONWARNINGS": "ignore"})
    folder = corpus()
    index = CACHE / "timeline-index"
    where = ["--corpus", str(folder), "--index", str(index)]
    exe = readout_exe()
    log(f"indexing {folder} (once)")
    run([*exe, "index", *where], env)
    chart = CACHE / "timeline-chart.png"
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        (f"readout ask \"{args.topic}\"", [*exe, "ask", *where, args.topic]),
        (f"readout timeline \"{args.topic}\"", [*exe, "timeline", *where, args.topic]),
        (f"readout timeline \"{args.topic}\" --json", [*exe, "timeline", *where, "--json", args.topic]),
        (f"readout timeline \"{args.topic}\" --chart F.png", [*exe, "timeline", *where, "--chart", str(chart), args.topic]),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _, cmd in cases:  # untimed: page cache, exported question encoder
        run(cmd, env)
    for i in range(args.runs):
        log(f"run {i + 1}/{args.runs}")
        for name, cmd in cases:
            times[name].append(run(cmd, env))
    print(machine_line())
    print(f"corpus: {len(list(folder.iterdir()))} files in {folder}; {args.runs} runs each, a new process per run\n")
    print(table(["command", "median s", "slowest s"],
                [[name, f"{median(ts):.2f}", f"{max(ts):.2f}"] for name, ts in times.items()]))


if __name__ == "__main__":
    main()
