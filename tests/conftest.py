"""Fixtures shared by the tests: the real CLI as a user runs it, one index build per session,
and ../shared (real readouts, benchmarks) when it sits beside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BUNDLED = ROOT / "corpus"


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("READOUT_")}
    env.update({
        "HF_HUB_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "PYTHONWARNINGS": "ignore",
    })
    env.update(extra)
    return env


def readout_exe() -> list[str]:
    exe = shutil.which("readout")
    return [exe] if exe else [sys.executable, "-m", "bot.cli"]


def run_cli(args: list[str], env: dict[str, str], input: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(readout_exe() + args, input=input, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readout")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "readouts").is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED


@pytest.fixture(scope="session")
def bundled_index(session_tmp) -> Path:
    """The bundled corpus indexed once, by the real `readout index`."""
    index = session_tmp / "bundled-index"
    r = run_cli(["index", "--index", str(index)], cli_env(session_tmp))
    assert r.returncode == 0, r.stderr
    return index


@pytest.fixture(scope="session")
def engine(bundled_index):
    """The engine on the bundled corpus, loaded in this process (one model load per session)."""
    from embeddings.engine import Engine

    return Engine.load(BUNDLED, bundled_index)


def ask_json(args: list[str], questions: list[str], env: dict[str, str]) -> list[dict]:
    r = run_cli(["ask", "--json", *args], env, input="\n".join(questions) + "\n")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) == len(questions)
    return lines
