"""An index update that runs out of disk space says so in one line, leaves the previous index as
it was, and `ask` goes on answering from it with a warning that it is stale.

The disk is a real 3 MB tmpfs (mounting needs root, as CI has; the tests skip elsewhere), filled
to several levels so that the update fails at different places: before encoding, while writing
the readouts, the vectors or the FAISS index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUNDLED, cli_env, run_cli

pytestmark = [pytest.mark.tmpfs, pytest.mark.e2e]

NEW_READOUTS = 3  # few enough new points that the update encodes them without loading torch


@pytest.fixture
def disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _readout(n: int) -> str:
    return (f"Testland-Volcania Relations\n\nMarch {n + 1}, 2024\n\n"
            f"On March {n + 1}, Prime Minister Aster of Testland held a telephone talk with President Brim of Volcania.\n\n"
            f"1. The two leaders discussed geothermal drilling permit number {n} in the northern valley.\n"
            f"2. President Brim said that volcano observatory {n} would share its seismic data daily.\n")


def _fill(disk: Path, leave: int) -> None:
    """Leave `leave` bytes free on the tmpfs."""
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


def _listing(index: Path) -> list[str]:
    return sorted(p.name for p in index.iterdir())


def test_an_update_that_runs_out_of_space_keeps_the_previous_index_answering(disk, tmp_path):
    env = cli_env(tmp_path)
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED, corpus)
    index = disk / "index"
    assert run_cli(["index", "--corpus", str(corpus), "--index", str(index)], env).returncode == 0
    for n in range(NEW_READOUTS):
        (corpus / f"volcania-{n}.txt").write_text(_readout(n))

    # how much the update writes, measured by making it on a roomy disk
    roomy = tmp_path / "roomy"
    shutil.copytree(index, roomy, symlinks=True)
    assert run_cli(["index", "--corpus", str(corpus), "--index", str(roomy)], env).returncode == 0
    new_version = sum(f.stat().st_size for f in (roomy / "current").resolve().rglob("*") if f.is_file())

    before = _listing(index)
    for share in (0.05, 0.3, 0.5, 0.7):
        _fill(disk, int(new_version * share))
        r = run_cli(["index", "--corpus", str(corpus), "--index", str(index)], env)
        assert r.returncode == 1, (share, r.stdout, r.stderr)
        errors = [line for line in r.stderr.splitlines() if "error" in line]
        assert len(errors) == 1 and "no space left" in errors[0] and "MB" in errors[0], (share, r.stderr)
        assert "unexpected" not in r.stderr and "Traceback" not in r.stderr
        assert _listing(index) == before, f"a half-written version was left behind at {share:.0%} free"

        a = run_cli(["ask", "--json", "-k", "1", "--corpus", str(corpus), "--index", str(index),
                     "What was said about grave visits?"], env)
        assert a.returncode == 0, a.stderr
        assert json.loads(a.stdout)["hits"][0]["point"] == 5
        warnings = [line for line in a.stderr.splitlines() if "stale" in line]
        assert len(warnings) == 1 and "no space left" in warnings[0], a.stderr

    (disk / "filler").unlink()
    r = run_cli(["index", "--corpus", str(corpus), "--index", str(index)], env)
    assert r.returncode == 0, r.stderr
    a = run_cli(["ask", "--json", "-k", "1", "--corpus", str(corpus), "--index", str(index),
                 "Which observatory shares seismic data?"], env)
    assert a.returncode == 0 and "stale" not in a.stderr
    assert json.loads(a.stdout)["hits"][0]["doc"].startswith("volcania-")


def test_a_serving_engine_warns_once_and_keeps_its_index_when_a_refresh_runs_out_of_space(disk, tmp_path, caplog):
    from embeddings.engine import Engine, build

    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED, corpus)
    index = disk / "index"
    build(corpus, index)
    engine = Engine.load(corpus, index)
    serving = engine.searcher.index.path
    for n in range(NEW_READOUTS):
        (corpus / f"volcania-{n}.txt").write_text(_readout(n))
    _fill(disk, 16_000)

    with caplog.at_level("WARNING", logger="embeddings.engine"):
        assert engine.refresh() is None
        assert engine.refresh() is None
    assert engine.searcher.index.path == serving
    assert engine.stale and "no space left" in engine.stale
    assert sum("stale" in r.getMessage() for r in caplog.records) == 1
    assert engine.ask("What was said about grave visits?", 1).hits[0].point == 5
