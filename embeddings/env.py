"""The engine's settings from the environment, read and checked in one place.

A setting a user mistyped must say so: `READOUT_DEVICE=gpu` silently encoding on the CPU, or
`READOUT_LOCK_TIMEOUT=ten` crashing at import, would each cost a user an afternoon. Every value is
read when it is used (not at import), so a bad one surfaces as a `SettingError` that the front ends
print in one line.
"""

from __future__ import annotations

import os
import re

from embeddings.errors import ReadoutError

DEVICE = "READOUT_DEVICE"
LOCK_TIMEOUT = "READOUT_LOCK_TIMEOUT"
FETCH_TIMEOUT = "READOUT_FETCH_TIMEOUT"
DELTA_MAX = "READOUT_DELTA_MAX"
HNSW_FROM = "READOUT_HNSW_FROM"
CORPUS = "READOUT_CORPUS"
INDEX = "READOUT_INDEX"

_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


class SettingError(ReadoutError, ValueError):
    """An environment setting with a value readout cannot use; the message names it and the
    values it takes."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def device() -> str:
    """Where sentence-transformers encodes: cpu (the default), cuda, cuda:N or mps."""
    value = _raw(DEVICE)
    if value is None:
        return "cpu"
    if not _DEVICE.match(value.lower()):
        raise SettingError(f"{DEVICE}={value} is not a device; use cpu, cuda, cuda:N or mps (or unset it for the CPU)")
    return value.lower()


def seconds(name: str, default: float) -> float:
    """A duration in seconds, 0 or more."""
    value = _raw(name)
    if value is None:
        return default
    try:
        s = float(value)
    except ValueError:
        s = -1.0
    if not s >= 0 or s == float("inf"):
        raise SettingError(f"{name}={value} is not a number of seconds (e.g. {name}={default:g})")
    return s


def count(name: str, default: int) -> int:
    """A whole number, 0 or more."""
    value = _raw(name)
    if value is None:
        return default
    try:
        n = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        n = -1
    if n < 0:
        raise SettingError(f"{name}={value} is not a whole number (e.g. {name}={default})")
    return n


def check() -> None:
    """Read every setting once, so that a mistyped one fails at start, not when first needed."""
    device()
    seconds(LOCK_TIMEOUT, 600.0)
    seconds(FETCH_TIMEOUT, 20.0)
    count(DELTA_MAX, 0)
    count(HNSW_FROM, 0)
