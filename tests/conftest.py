"""Fixtures shared by the tests: the real CLI as a user runs it, one index build per session,
and ../shared (real readouts, benchmarks) when it sits beside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# the Bot API stand-in's helpers assert too: rewritten before any test module imports them
pytest.register_assert_rewrite("botapi", "conftest_telegram")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BUNDLED = ROOT / "corpus"


# The tests' own user folders, made before any test runs: in-process engines and every CLI run
# of the session keep their caches there, never in the user's own. The question encoder that a
# build exports once per model and machine is shared by all of them, as on a user's machine.
_BASE = Path(tempfile.mkdtemp(prefix="readout-tests-"))
os.environ["XDG_CACHE_HOME"] = str(_BASE / "cache")
os.environ["XDG_STATE_HOME"] = str(_BASE / "state")
os.environ["HF_HUB_OFFLINE"] = "1"
QUESTION_ENCODERS = _BASE / "cache" / "readout" / "query-encoders"


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_BASE, ignore_errors=True)


def cli_env(tmp: Path, shared_exports: bool = True, **extra: str) -> dict[str, str]:
    """The environment of a user whose folders are in `tmp`. With `shared_exports`, their cache
    already holds the question encoder (exported by the session's first build that loaded the
    model); without, theirs is a machine where no build has run yet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("READOUT_")}
    env.update({
        "HF_HUB_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "PYTHONWARNINGS": "ignore",
    })
    env.update(extra)
    if shared_exports:
        share_question_encoders(tmp / "cache")
    return env


def share_question_encoders(cache: Path) -> None:
    """Give the user cache folder `cache` the session's exported question encoders."""
    link = cache / "readout" / "query-encoders"
    if not link.exists() and not link.is_symlink():
        QUESTION_ENCODERS.mkdir(parents=True, exist_ok=True)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(QUESTION_ENCODERS, target_is_directory=True)


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
