"""The bot's worker thread hands freed memory back to the system now and then, not every batch."""

from __future__ import annotations

import ctypes.util

from bot.memory import Trimmer, _malloc_trim


def test_trimmer_runs_the_call_and_trims_at_most_once_an_interval():
    trimmer = Trimmer(interval=3600)
    ask_many = trimmer.after(lambda questions, k: [q.upper() for q in questions][:k])
    assert ask_many(["a", "b"], 1) == ["A"]
    assert ask_many(["c"], 5) == ["C"]
    expected = 1 if _malloc_trim() is not None else 0
    assert trimmer.trims == expected
    # glibc systems (the usual Linux server) have malloc_trim
    if ctypes.util.find_library("c") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert trimmer.trims == 1


def test_trimmer_trims_again_once_the_interval_has_passed():
    trimmer = Trimmer(interval=0)
    call = trimmer.after(lambda: 42)
    assert [call(), call(), call()] == [42, 42, 42]
    assert trimmer.trims == (3 if _malloc_trim() is not None else 0)
