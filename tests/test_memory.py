"""The bot's worker thread hands freed memory back to the system now and then, not every batch."""

from __future__ import annotations

import platform

import pytest

from bot.memory import Trimmer, _malloc_trim

# glibc (the usual Linux server) has malloc_trim; elsewhere the trimmer only runs the call
TRIMS = _malloc_trim() is not None

pytestmark = pytest.mark.fast


def test_glibc_has_malloc_trim():
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert TRIMS


def test_trimmer_runs_the_call_and_trims_at_most_once_an_interval():
    trimmer = Trimmer(interval=3600)
    ask_many = trimmer.after(lambda questions, k: [q.upper() for q in questions][:k])
    assert ask_many(["a", "b"], 1) == ["A"]
    assert ask_many(["c"], 5) == ["C"]
    assert trimmer.trims == (1 if TRIMS else 0)


def test_trimmer_trims_again_once_the_interval_has_passed_and_after_a_failure():
    trimmer = Trimmer(interval=0)
    call = trimmer.after(lambda: 42)
    assert [call(), call(), call()] == [42, 42, 42]

    def broken() -> None:
        raise ValueError("a batch failed")

    try:
        trimmer.after(broken)()
    except ValueError:
        pass
    assert trimmer.trims == (4 if TRIMS else 0)
